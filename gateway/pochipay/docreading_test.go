package pochipay_test

// A second, independent reading of shared/providers/pochipay-api.txt and the
// Pochipay notes of shared/providers/README.md, written without looking at the
// client's implementation or its own tests (only `go doc -all`).
//
// The published page lost every sample body; it still says:
//   - POST https://app.pochipay.com/api/v1/account/token, "Headers: None",
//     body email + password; the token expires after 3600 seconds; use it as
//     "Authorization: Bearer your-access-token". (The page says "Save the
//     access_token"; the README quotes the answer as result.accessToken.)
//   - POST /collections/mpesa initiates a collection (200, 400 answers).
//   - The collection callback is a JSON POST.
//   - GET /collections/mpesa/collection-query (by MpesaReference,
//     BillReferenceNumber or OrderId) answers Success / Failed / Pending with
//     200 and "Not Found Response (404)".
//   - POST /collections/mpesa/transaction-status answers 200, "404 Not Found"
//     and 400.
//   - Only KES.
//
// The bodies below are therefore the README's: readmeTokenResponse is quoted
// verbatim from it (token value aside: the README writes "..."); the others
// are built from the README's field lists, wrapped the README's way
// ({"result", "message", "errors"}), with values chosen here. What they mean:
//   - push request: {orderId, billRefNumber, phoneNumber "2547XXXXXXXX",
//     amount, narration, callbackUrl}; answer result {collectionId,
//     isProcessing}; collectionId is what transaction-status takes.
//   - callback: {orderId, billRefNumber, phoneNumber, amount,
//     thirdPartyReference (the M-Pesa receipt), isSuccessful, failReason,
//     resultDescription}.
//   - status answers: result {status: Complete | Failed | Pending,
//     isSuccessful, mpesaReference (the M-Pesa receipt), ...}. Complete is a
//     success; Failed a failure; Pending pending. An answer without an amount
//     cannot say how much was paid (HasAmount false).
//   - 404 from either status call: Pochipay has no record: StatusNotFound.

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"strings"
	"testing"
	"time"

	"checkout/gateway"
	"checkout/gateway/internal/httpxtest"
	"checkout/gateway/pochipay"
)

const readmeAccessToken = "eyJhbGciOiJIUzI1NiJ9.cG9jaGlwYXktc2Vjb25kLXJlYWRpbmc.c2ln"

// README, verbatim except the "..." token value.
const readmeTokenResponse = `{"result": {"accessToken": "` + readmeAccessToken + `", "tokenType": "Bearer", "expiresIn": 3600}, "errors": []}`

// Built from the README's push answer shape.
const pushResponse = `{"result": {"collectionId": "c0ll-7d1f-4a2b-9e55-000000000001", "isProcessing": true}, "message": "Collection initiated", "errors": []}`

// Built from the README's wrapping: a 400 with message and errors.
const push400Response = `{"result": null, "message": "Validation failed", "errors": ["Invalid phone number"]}`

// Built from the README's callback field list.
const (
	callbackSuccess = `{"orderId": "att_01HZX", "billRefNumber": "ORD-1001", "phoneNumber": "254712345678", "amount": 100, "thirdPartyReference": "SGR7XK2P1Q", "isSuccessful": true, "failReason": null, "resultDescription": "The service request is processed successfully."}`
	callbackFailed  = `{"orderId": "att_01HZX", "billRefNumber": "ORD-1001", "phoneNumber": "254712345678", "amount": 100, "thirdPartyReference": null, "isSuccessful": false, "failReason": "Request cancelled by user", "resultDescription": "Request cancelled by user"}`
)

// Built from the README's status answer shape: result {status, isSuccessful,
// mpesaReference, ...}.
const (
	statusComplete         = `{"result": {"status": "Complete", "isSuccessful": true, "mpesaReference": "SGR7XK2P1Q", "amount": 100, "orderId": "att_01HZX"}, "message": "", "errors": []}`
	statusCompleteNoAmount = `{"result": {"status": "Complete", "isSuccessful": true, "mpesaReference": "SGR7XK2P1Q"}, "message": "", "errors": []}`
	statusFailed           = `{"result": {"status": "Failed", "isSuccessful": false, "mpesaReference": null, "failReason": "Request cancelled by user", "resultDescription": "Request cancelled by user"}, "message": "", "errors": []}`
	statusPending          = `{"result": {"status": "Pending", "isSuccessful": false, "mpesaReference": null}, "message": "", "errors": []}`
	statusNotFound         = `{"result": null, "message": "Collection not found", "errors": ["Collection not found"]}`
	statusUnknown          = `{"result": {"status": "Processing?", "isSuccessful": true, "mpesaReference": "SGR7XK2P1Q"}, "message": "", "errors": []}`
	statusContradictory    = `{"result": {"status": "Complete", "isSuccessful": false, "mpesaReference": "SGR7XK2P1Q", "amount": 100}, "message": "", "errors": []}`
)

const (
	tokenPath   = "/api/v1/account/token"
	pushPath    = "/api/v1/collections/mpesa"
	statusPath  = "/api/v1/collections/mpesa/transaction-status"
	queryPath   = "/api/v1/collections/mpesa/collection-query"
	testEmail   = "merchant@example.co.ke"
	testPass    = "s3cr3t-Pochi!pass"
	collection1 = "c0ll-7d1f-4a2b-9e55-000000000001"
)

// The document server and clock shared with the other clients' tests.
type (
	seenRequest = httpxtest.DocRequest
	docServer   = httpxtest.DocServer
	clock       = httpxtest.Clock
)

var noSleep = httpxtest.NoSleep

// route is a fixed answer of the document server.
type route struct {
	status int
	body   string
}

// newDocServer serves routes, and the document's token answer unless
// routes has one.
func newDocServer(t *testing.T, routes map[string]route) *docServer {
	all := map[string]httpxtest.Route{}
	for path, r := range routes {
		all[path] = httpxtest.Route{Status: r.status, Body: r.body}
	}
	return httpxtest.NewDocServer(t, all, tokenPath, httpxtest.Route{Status: 200, Body: readmeTokenResponse})
}

var t0 = time.Date(2025, 10, 1, 9, 0, 0, 0, time.UTC)

func newDocClient(t *testing.T, d *docServer, clk *clock) *pochipay.Client {
	t.Helper()
	if clk == nil {
		clk = httpxtest.NewClock(t0)
	}
	c, err := pochipay.New(pochipay.Config{
		BaseURL:    d.Srv.URL + "/api/v1",
		Email:      testEmail,
		Password:   testPass,
		HTTPClient: d.Srv.Client(),
		Timeout:    5 * time.Second,
		Now:        clk.Now,
		Sleep:      noSleep,
	})
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	return c
}

func decodeObject(t *testing.T, b []byte) map[string]any {
	t.Helper()
	dec := json.NewDecoder(strings.NewReader(string(b)))
	dec.UseNumber()
	var m map[string]any
	if err := dec.Decode(&m); err != nil {
		t.Fatalf("body is not a JSON object: %v\n%s", err, b)
	}
	return m
}

func checkBearer(t *testing.T, s seenRequest) {
	t.Helper()
	if got, want := s.Header.Get("Authorization"), "Bearer "+readmeAccessToken; got != want {
		t.Errorf("%s %s: Authorization = %q, want %q", s.Method, s.Path, got, want)
	}
}

func stkRequest() gateway.STKRequest {
	return gateway.STKRequest{
		Reference:        "att_01HZX",
		Phone:            "254712345678",
		Amount:           10000, // KES 100
		CallbackURL:      "https://checkout.example.co.ke/pochipay/callback",
		AccountReference: "ORD-1001",
		Description:      "Order ORD-1001",
	}
}

// --- Token ----------------------------------------------------------------

func TestDocReading_Token_EmailPasswordBodyAndBearerUse(t *testing.T) {
	d := newDocServer(t, map[string]route{pushPath: {200, pushResponse}})
	c := newDocClient(t, d, nil)
	if _, err := c.Push(context.Background(), stkRequest()); err != nil {
		t.Fatalf("Push: %v", err)
	}
	toks := d.Requests(tokenPath)
	if len(toks) != 1 {
		t.Fatalf("token requests = %d, want 1", len(toks))
	}
	tr := toks[0]
	if tr.Method != http.MethodPost {
		t.Errorf("token method = %s, want POST", tr.Method)
	}
	if tr.Header.Get("Authorization") != "" {
		t.Errorf("token request carries Authorization %q; the page says Headers: None", tr.Header.Get("Authorization"))
	}
	b := decodeObject(t, tr.Body)
	if b["email"] != testEmail || b["password"] != testPass {
		t.Errorf("token body = %s, want email and password", tr.Body)
	}
	checkBearer(t, d.Requests(pushPath)[0])
}

// "The token expires after 3600 seconds": reused within the hour, renewed
// after it.
func TestDocReading_Token_ReusedWithinHourRenewedAfter(t *testing.T) {
	d := newDocServer(t, map[string]route{statusPath: {200, statusPending}})
	clk := httpxtest.NewClock(t0)
	c := newDocClient(t, d, clk)
	q := gateway.Query{AttemptID: "att_01HZX", ProviderReference: collection1, Amount: 10000, Currency: "KES", Phone: "254712345678"}
	for i := 0; i < 2; i++ {
		if _, err := c.Confirm(context.Background(), q); err != nil {
			t.Fatalf("Confirm: %v", err)
		}
	}
	if n := len(d.Requests(tokenPath)); n != 1 {
		t.Errorf("token requests within the hour = %d, want 1", n)
	}
	clk.Set(t0.Add(3601 * time.Second))
	if _, err := c.Confirm(context.Background(), q); err != nil {
		t.Fatalf("Confirm: %v", err)
	}
	if n := len(d.Requests(tokenPath)); n != 2 {
		t.Errorf("token requests after 3600 s = %d, want 2", n)
	}
}

func TestDocReading_Token_RefusedIsErrorWithoutCredentials(t *testing.T) {
	d := newDocServer(t, map[string]route{
		tokenPath: {400, `{"result": null, "message": "Invalid credentials", "errors": ["Invalid email or password"]}`},
		pushPath:  {200, pushResponse},
	})
	c := newDocClient(t, d, nil)
	_, err := c.Push(context.Background(), stkRequest())
	if err == nil {
		t.Fatal("Push succeeded without a token")
	}
	if s := err.Error(); strings.Contains(s, testPass) || strings.Contains(s, testEmail) {
		t.Errorf("error text leaks a credential: %v", err)
	}
	if !strings.Contains(err.Error(), "Invalid email or password") && !strings.Contains(err.Error(), "Invalid credentials") {
		t.Errorf("error text %q does not carry Pochipay's message", err)
	}
	if n := len(d.Requests(pushPath)); n != 0 {
		t.Errorf("push sent without a token")
	}
}

// --- Push (M-Pesa collection) ---------------------------------------------

func TestDocReading_Push_RequestFieldsAndCollectionID(t *testing.T) {
	d := newDocServer(t, map[string]route{pushPath: {200, pushResponse}})
	c := newDocClient(t, d, nil)
	st, err := c.Push(context.Background(), stkRequest())
	if err != nil {
		t.Fatalf("Push: %v", err)
	}
	if st.ProviderReference != collection1 {
		t.Errorf("ProviderReference = %q, want the collectionId %q", st.ProviderReference, collection1)
	}
	reqs := d.Requests(pushPath)
	if len(reqs) != 1 {
		t.Fatalf("push requests = %d", len(reqs))
	}
	r := reqs[0]
	if r.Method != http.MethodPost {
		t.Errorf("method = %s, want POST", r.Method)
	}
	checkBearer(t, r)
	if ct := r.Header.Get("Content-Type"); !strings.HasPrefix(ct, "application/json") {
		t.Errorf("Content-Type = %q", ct)
	}
	b := decodeObject(t, r.Body)
	for k, want := range map[string]string{
		"orderId":       "att_01HZX",
		"billRefNumber": "ORD-1001",
		"phoneNumber":   "254712345678",
		"narration":     "Order ORD-1001",
		"callbackUrl":   "https://checkout.example.co.ke/pochipay/callback",
	} {
		if got, ok := b[k].(string); !ok || got != want {
			t.Errorf("%s = %#v, want string %q", k, b[k], want)
		}
	}
	// amount: whole shillings, 100 (not cents). The README gives no type;
	// a number or a string of the number are both read as right.
	switch v := b["amount"].(type) {
	case json.Number:
		if f, err := v.Float64(); err != nil || f != 100 {
			t.Errorf("amount = %s, want 100 (shillings)", v)
		}
	case string:
		if v != "100" && v != "100.00" {
			t.Errorf("amount = %q, want 100 (shillings)", v)
		}
	default:
		t.Errorf("amount = %#v, want 100", b["amount"])
	}
	for k := range b {
		switch k {
		case "orderId", "billRefNumber", "phoneNumber", "amount", "narration", "callbackUrl":
		default:
			t.Logf("push body carries a field the README does not list: %q", k)
		}
	}
}

// M-Pesa amounts are whole shillings (README): 100.50 is refused before
// anything is sent; so is a phone not in 2547XXXXXXXX form.
func TestDocReading_Push_CentsOrBadPhoneRefusedBeforeSending(t *testing.T) {
	for name, mutate := range map[string]func(*gateway.STKRequest){
		"amount with cents":   func(r *gateway.STKRequest) { r.Amount = 10050 },
		"phone 07XXXXXXXX":    func(r *gateway.STKRequest) { r.Phone = "0712345678" },
		"phone +2547XXXXXXXX": func(r *gateway.STKRequest) { r.Phone = "+254712345678" },
		"phone too short":     func(r *gateway.STKRequest) { r.Phone = "25471234567" },
	} {
		t.Run(name, func(t *testing.T) {
			d := newDocServer(t, map[string]route{pushPath: {200, pushResponse}})
			c := newDocClient(t, d, nil)
			r := stkRequest()
			mutate(&r)
			_, err := c.Push(context.Background(), r)
			if !errors.Is(err, pochipay.ErrInvalidRequest) {
				t.Errorf("err = %v, want ErrInvalidRequest", err)
			}
			if n := len(d.Requests(pushPath)); n != 0 {
				t.Errorf("sent anyway (%d requests)", n)
			}
		})
	}
}

// "Response (400 Bad Request)": an error carrying Pochipay's messages.
func TestDocReading_Push_400IsErrorWithMessages(t *testing.T) {
	d := newDocServer(t, map[string]route{pushPath: {400, push400Response}})
	c := newDocClient(t, d, nil)
	_, err := c.Push(context.Background(), stkRequest())
	var pe *pochipay.Error
	if !errors.As(err, &pe) {
		t.Fatalf("err = %v, want *pochipay.Error", err)
	}
	if pe.HTTPStatus != 400 || !strings.Contains(strings.Join(pe.Messages, "|"), "Invalid phone number") {
		t.Errorf("error = %+v", pe)
	}
	if n := len(d.Requests(pushPath)); n != 1 {
		t.Errorf("push sent %d times, want once", n)
	}
}

// A 200 whose result has no collectionId is not a started prompt the client
// can query (README: a missing field is an error that names it).
func TestDocReading_Push_AnswerWithoutCollectionIDIsError(t *testing.T) {
	d := newDocServer(t, map[string]route{pushPath: {200, `{"result": {"isProcessing": true}, "message": "", "errors": []}`}})
	c := newDocClient(t, d, nil)
	_, err := c.Push(context.Background(), stkRequest())
	if err == nil || !strings.Contains(err.Error(), "collectionId") {
		t.Errorf("err = %v, want an error naming collectionId", err)
	}
}

// --- Callback -------------------------------------------------------------

func TestDocReading_ParseCallback_Success(t *testing.T) {
	c := newDocClient(t, newDocServer(t, map[string]route{}), nil)
	cb, err := c.ParseCallback("application/json", []byte(callbackSuccess))
	if err != nil {
		t.Fatalf("ParseCallback: %v", err)
	}
	if cb.Reference != "att_01HZX" || !cb.Successful {
		t.Errorf("callback = %+v, want Reference att_01HZX, Successful", cb)
	}
}

func TestDocReading_ParseCallback_FailedCarriesFailReason(t *testing.T) {
	c := newDocClient(t, newDocServer(t, map[string]route{}), nil)
	cb, err := c.ParseCallback("application/json", []byte(callbackFailed))
	if err != nil {
		t.Fatalf("ParseCallback: %v", err)
	}
	if cb.Reference != "att_01HZX" || cb.Successful || !strings.Contains(cb.Message, "Request cancelled by user") {
		t.Errorf("callback = %+v, want not successful with the failReason", cb)
	}
}

func TestDocReading_ParseCallback_WithoutOrderIDRefused(t *testing.T) {
	c := newDocClient(t, newDocServer(t, map[string]route{}), nil)
	_, err := c.ParseCallback("application/json", []byte(`{"billRefNumber": "ORD-1001", "isSuccessful": true}`))
	if !errors.Is(err, pochipay.ErrInvalidCallback) {
		t.Errorf("err = %v, want ErrInvalidCallback", err)
	}
}

// --- Confirm --------------------------------------------------------------

func byCollection() gateway.Query {
	return gateway.Query{AttemptID: "att_01HZX", ProviderReference: collection1, Amount: 10000, Currency: "KES", Phone: "254712345678"}
}

func byOrder() gateway.Query {
	return gateway.Query{AttemptID: "att_01HZX", Amount: 10000, Currency: "KES", Phone: "254712345678"}
}

func TestDocReading_Confirm_TransactionStatusRequest(t *testing.T) {
	d := newDocServer(t, map[string]route{statusPath: {200, statusComplete}})
	c := newDocClient(t, d, nil)
	if _, err := c.Confirm(context.Background(), byCollection()); err != nil {
		t.Fatalf("Confirm: %v", err)
	}
	reqs := d.Requests(statusPath)
	if len(reqs) != 1 {
		t.Fatalf("transaction-status requests = %d, want 1", len(reqs))
	}
	r := reqs[0]
	if r.Method != http.MethodPost {
		t.Errorf("method = %s, want POST", r.Method)
	}
	checkBearer(t, r)
	b := decodeObject(t, r.Body)
	if b["collectionId"] != collection1 {
		t.Errorf("body = %s, want collectionId %q", r.Body, collection1)
	}
}

func TestDocReading_Confirm_CollectionQueryByOrderIdWhenNoCollectionID(t *testing.T) {
	d := newDocServer(t, map[string]route{queryPath: {200, statusComplete}})
	c := newDocClient(t, d, nil)
	res, err := c.Confirm(context.Background(), byOrder())
	if err != nil {
		t.Fatalf("Confirm: %v", err)
	}
	if res.Status != gateway.StatusSucceeded {
		t.Errorf("status = %q, want succeeded", res.Status)
	}
	reqs := d.Requests(queryPath)
	if len(reqs) != 1 {
		t.Fatalf("collection-query requests = %d, want 1", len(reqs))
	}
	r := reqs[0]
	if r.Method != http.MethodGet {
		t.Errorf("method = %s, want GET", r.Method)
	}
	checkBearer(t, r)
	if got := r.Query.Get("OrderId"); got != "att_01HZX" {
		t.Errorf("OrderId query = %q (query %v)", got, r.Query)
	}
}

func TestDocReading_Confirm_CompleteIsSucceededWithMpesaReferenceReceiptAndAmount(t *testing.T) {
	for _, q := range []gateway.Query{byCollection(), byOrder()} {
		d := newDocServer(t, map[string]route{statusPath: {200, statusComplete}, queryPath: {200, statusComplete}})
		c := newDocClient(t, d, nil)
		res, err := c.Confirm(context.Background(), q)
		if err != nil {
			t.Fatalf("Confirm: %v", err)
		}
		if res.Status != gateway.StatusSucceeded || res.Receipt != "SGR7XK2P1Q" {
			t.Errorf("status %q receipt %q, want succeeded with receipt SGR7XK2P1Q", res.Status, res.Receipt)
		}
		if !res.HasAmount || res.Amount != 10000 {
			t.Errorf("amount = %v (has %v), want KES 100", res.Amount, res.HasAmount)
		}
	}
}

func TestDocReading_Confirm_CompleteWithoutAmountIsSucceededHasAmountFalse(t *testing.T) {
	for _, q := range []gateway.Query{byCollection(), byOrder()} {
		d := newDocServer(t, map[string]route{statusPath: {200, statusCompleteNoAmount}, queryPath: {200, statusCompleteNoAmount}})
		c := newDocClient(t, d, nil)
		res, err := c.Confirm(context.Background(), q)
		if err != nil {
			t.Fatalf("Confirm: %v", err)
		}
		if res.Status != gateway.StatusSucceeded || res.HasAmount || res.Receipt != "SGR7XK2P1Q" {
			t.Errorf("status %q has amount %v receipt %q, want succeeded, HasAmount false, receipt SGR7XK2P1Q", res.Status, res.HasAmount, res.Receipt)
		}
	}
}

func TestDocReading_Confirm_FailedIsFailedWithReason(t *testing.T) {
	for _, q := range []gateway.Query{byCollection(), byOrder()} {
		d := newDocServer(t, map[string]route{statusPath: {200, statusFailed}, queryPath: {200, statusFailed}})
		c := newDocClient(t, d, nil)
		res, err := c.Confirm(context.Background(), q)
		if err != nil {
			t.Fatalf("Confirm: %v", err)
		}
		if res.Status != gateway.StatusFailed {
			t.Errorf("status = %q, want failed", res.Status)
		}
		if !strings.Contains(res.Message, "Request cancelled by user") {
			t.Errorf("Message = %q, want the failReason", res.Message)
		}
	}
}

func TestDocReading_Confirm_PendingIsPending(t *testing.T) {
	for _, q := range []gateway.Query{byCollection(), byOrder()} {
		d := newDocServer(t, map[string]route{statusPath: {200, statusPending}, queryPath: {200, statusPending}})
		c := newDocClient(t, d, nil)
		res, err := c.Confirm(context.Background(), q)
		if err != nil {
			t.Fatalf("Confirm: %v", err)
		}
		if res.Status != gateway.StatusPending {
			t.Errorf("status = %q, want pending", res.Status)
		}
	}
}

// "Not Found Response (404)" on both calls: Pochipay has no record.
func TestDocReading_Confirm_404IsNotFound(t *testing.T) {
	for name, q := range map[string]gateway.Query{"transaction-status": byCollection(), "collection-query": byOrder()} {
		d := newDocServer(t, map[string]route{statusPath: {404, statusNotFound}, queryPath: {404, statusNotFound}})
		c := newDocClient(t, d, nil)
		res, err := c.Confirm(context.Background(), q)
		if err != nil {
			t.Errorf("%s: Confirm: %v, want StatusNotFound", name, err)
			continue
		}
		if res.Status != gateway.StatusNotFound {
			t.Errorf("%s: status = %q, want not_found", name, res.Status)
		}
	}
}

// "Response (400 Bad Request)" of transaction-status: an error, not a status.
func TestDocReading_Confirm_400IsError(t *testing.T) {
	d := newDocServer(t, map[string]route{statusPath: {400, `{"result": null, "message": "Invalid request", "errors": ["collectionId is required"]}`}})
	c := newDocClient(t, d, nil)
	res, err := c.Confirm(context.Background(), byCollection())
	if err == nil {
		t.Fatalf("Confirm = %+v, want an error", res)
	}
	if !strings.Contains(err.Error(), "collectionId is required") {
		t.Errorf("error %q lacks Pochipay's message", err)
	}
}

// Only Complete, Failed and Pending are documented: anything else, and a
// Complete that says it was not successful, is never a success.
func TestDocReading_Confirm_UnknownOrContradictoryStatusNeverSucceeded(t *testing.T) {
	for name, body := range map[string]string{"unknown status": statusUnknown, "Complete with isSuccessful false": statusContradictory} {
		d := newDocServer(t, map[string]route{statusPath: {200, body}})
		c := newDocClient(t, d, nil)
		res, err := c.Confirm(context.Background(), byCollection())
		if err == nil && res.Status == gateway.StatusSucceeded {
			t.Errorf("%s read as succeeded", name)
		}
	}
}
