package pokeapay_test

// A second, independent reading of PokeaPay's documents, written from
//
//   - shared/providers/pokeapay-postman-collection.json (the Postman collection),
//   - shared/providers/pokeapay-b2c-remittance.txt (B2C remittance),
//   - the PokeaPay notes of shared/providers/README.md,
//
// and from the client's exported API only (go doc). The document's example
// bodies are copied verbatim (extracted byte for byte from the collection and
// the text file) and served from an httptest.Server with the HTTP status the
// document gives them. They are kept
// as Go strings in docreading_fixtures_test.go (map docFixtures, keyed by the
// names used below) rather than under testdata/, whose inventory another test
// of the package checks.
//
// What each example means, as this reading understands it:
//
// REST API (folder "API Integration", root https://saf.pokeapay.com/api/v1/)
//
//   - login-request.json: POST {root}/login {"email", "password"}, both strings.
//     The "Authentication" folder has Postman auth "bearer <token>", a Postman
//     placeholder inherited by the login request itself; it says nothing about
//     the token's form on later calls.
//   - login-200-success.json (HTTP 200): success true, the token (a JWT, iat
//     1608731993, exp 1608735593, one hour) is data.token.
//   - login-400-error.json (HTTP 400): success false, the reason is "error":
//     "The credentials you provided are incorrect". Wrong credentials: nothing
//     else can be done; the text is what to show the operator.
//   - stk-push-request.json / stk-push-request-filled.json: POST
//     {root}/stkPush/transaction with amount (a JSON number, 1), phone (a
//     string 2547..., pattern ^(254(7|1)\d{8})$ from the validation error),
//     callBackUrl, outletCode, orderRef, variable1, variable2, customerName,
//     customerEmail (strings). The filled example sends the header
//     "Authorization: <token>" with no "Bearer " in front: the token is sent
//     bare.
//   - stk-push-200-named-error.json (HTTP 200, saved under the name "Error"):
//     the body is success true "Transaction initiated successfully" with
//     data {orderRef, amount, phone}. The body is what counts: the prompt was
//     sent; the saved name is a mislabel.
//   - stk-push-200-invalid-inputs.json (HTTP 200, "Invalid/Missing Inputs"):
//     success false, "error" is Joi's validation text about the phone; data
//     echoes the request. Nothing was sent to the phone: a refused request.
//   - stk-push-422-named-success-lock.json (HTTP 422, saved as "Success"):
//     success false "Unableto lock subscriber, a transaction is already in
//     process for the current subscriber": the phone already has a prompt.
//     README: tell the customer to finish or wait, do not mark failed.
//     The same body is also saved with HTTP 400 (under the callback requests and
//     the query): same meaning whatever the status.
//   - stk-callback-success.json: PokeaPay POSTs to callBackUrl success true
//     "Transaction completed successfully" with data.receipt (the M-Pesa
//     receipt), payer names, orderRef (ours), amount 1, phone, outletCode,
//     variable1/2. The paid case.
//   - stk-callback-failed.json: success false, message "Failed Reason" (the
//     reason text goes there), data without receipt. The failed case.
//   - query-request.json: POST {root}/transaction/query {"amount": 1 (number),
//     "phone", "outletCode", "orderRef"} with the bare token in Authorization.
//   - query-nostatus-success.json (no HTTP status saved; served as 200):
//     the completed answer, same shape as the success callback: succeeded,
//     receipt "receipt", amount 1 KES.
//   - query-200-initiated.json (HTTP 200, "stkPush Transaction POST Success"):
//     success true "Transaction initiated successfully": the prompt exists but
//     is not completed: pending.
//   - query-400-error-lock.json (HTTP 400): "Unableto lock subscriber": the
//     phone is busy with a prompt; not a failure of our payment (README), and
//     not a success.
//   - query-422-invalid-inputs.json (HTTP 422): the query itself was refused
//     (validation): says nothing about the payment, so an error, not "failed".
//   - No "failed" or "not found" answer of the query is documented. This
//     reading assumes a failed query answer looks like the failed callback
//     (success false, "message", data) — marked "Reading" below.
//
// Web checkout (folder "Payment Gateway Integration")
//
//   - Checkout: GET https://pay.pokeapay.com/ with oc (UPPERCASE), live (1 live,
//     0 demo, 1 by default), cn, eml, tel, curr (KES), oref, cb, amt (no
//     thousands separator: 1234.00 not 1,234.00), hsh, v1, v2 (optional).
//     hsh = hash_hmac('sha1', live.oref.amount.phone.email.outlet_code,
//     hash_key): lowercase hex of HMAC-SHA1, no separators. The example's hsh
//     (e8e66bed...) cannot be checked: the key is not given.
//   - return-url.txt: the customer comes back to cb with
//     oref=23&hsh=...&type=m&amount=100&sstatus=1; the text spells it status=1
//     (1 paid, 0 pending); type m M-Pesa, c card. hsh = HMAC-SHA1(oref.outlet).
//     The example's hsh "aei7p7yrx4ae34" is a placeholder, not a SHA-1 hex.
//     README: accept both spellings; the return is no proof of payment.
//   - verify-url.txt: GET https://core.pokeapay.com/api/payment/status with
//     amount, hash, type, bill_ref (our oref), oc. The answer has a "status"
//     variable: c4812ee2... success, ccc0377a... failed ("Not all parameters
//     fulfilled"), c69f06e1... pending ("Incoming Mobile Money Transaction Not
//     found. Please try again in 5 minutes" — pending, NOT not-found), and
//     "oref". The answer's format (JSON? text?) is not shown: this reading
//     serves {"status": ..., "oref": ...} and, as the other reading, the
//     bare status text. README: hash = HMAC-SHA1(bill_ref.oc).
//
// IPN (folder "IPN")
//
//   - ipn.json: POST to our URL, JSON with string fields billreference (our
//     oref), amount, accountname, accountno, fees, referenceno, method. The
//     document's body is an empty template; no signature.
//
// B2C (pokeapay-b2c-remittance.txt)
//
//   - b2c-request.txt: POST {B2C root}/remittance/momo/mpesa, nested source
//     {customer_code, account_no}, destination {country_code, name,
//     mobile_number}, transfer {reference, currency, amount (string "100"),
//     date, description, channel ("234432" string in the example, "numeric"
//     in the table)}, result_url; headers "Authorization: Bearer <token>" and
//     "signature": Base64 of the private-key signature (SHA-256) over
//     transfer.amount . transfer.currency . transfer.reference .
//     source.account_no. The example is not valid JSON (a trailing comma after
//     mobile_number).
//   - b2c-response.json: {"code": 0, "success": true, ...}: request accepted.
//   - b2c-result-success.json: result_code 0, transaction_id QLD82TMWJE,
//     amount "100", fees "2": money sent.
//   - b2c-result-failed.txt: result_code 1032, "Bad Request - Invalid Account
//     number": not sent. Not valid JSON as printed (a comma is missing after
//     "reference" : "12232").

import (
	"context"
	"crypto"
	"crypto/hmac"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha1"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"reflect"
	"regexp"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"checkout/gateway"
	"checkout/gateway/pokeapay"
)

func docFixture(t *testing.T, name string) string {
	t.Helper()
	s, ok := docFixtures[name]
	if !ok {
		t.Fatalf("no document example %q", name)
	}
	return s
}

func hmacSHA1Hex(key, msg string) string {
	m := hmac.New(sha1.New, []byte(key))
	m.Write([]byte(msg))
	return hex.EncodeToString(m.Sum(nil))
}

func noSleep(ctx context.Context, d time.Duration) error { return ctx.Err() }

// ---------------------------------------------------------------------------
// REST API fake

type recordedRequest struct {
	Method, Path, Auth, ContentType string
	Query                           url.Values
	Body                            []byte
}

type answer struct {
	status int
	body   string
}

type docServer struct {
	t       *testing.T
	mu      sync.Mutex
	reqs    []recordedRequest
	answers map[string]answer // by path
	byType  map[string]answer // verification answers by "type"
	srv     *httptest.Server
}

func newDocServer(t *testing.T, answers map[string]answer) *docServer {
	d := &docServer{t: t, answers: answers}
	d.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		d.mu.Lock()
		d.reqs = append(d.reqs, recordedRequest{r.Method, r.URL.Path, r.Header.Get("Authorization"), r.Header.Get("Content-Type"), r.URL.Query(), body})
		a, ok := d.answers[r.URL.Path]
		if bt, ok2 := d.byType[r.URL.Query().Get("type")]; ok2 && r.URL.Path == "/api/payment/status" {
			a, ok = bt, true
		}
		d.mu.Unlock()
		if !ok {
			http.NotFound(w, r)
			return
		}
		w.Header().Set("Content-Type", "application/json; charset=utf-8")
		w.WriteHeader(a.status)
		io.WriteString(w, a.body)
	}))
	t.Cleanup(d.srv.Close)
	return d
}

func (d *docServer) requests(path string) []recordedRequest {
	d.mu.Lock()
	defer d.mu.Unlock()
	var out []recordedRequest
	for _, r := range d.reqs {
		if r.Path == path {
			out = append(out, r)
		}
	}
	return out
}

// docTokenTime is the login example's Date header (Wed, 23 Dec 2020 13:59:53
// GMT), which is the token's iat: the document's token is fresh then.
var docTokenTime = time.Unix(1608731993, 0)

const docToken = "eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJ1c2VySW5mbyI6eyJ1c2VySWQiOjIsInJvbGVzIjpbeyJpZCI6Miwicm9sZU5hbWUiOiJBZG1pbmlzdHJhdG9yIn1dfSwiaWF0IjoxNjA4NzMxOTkzLCJleHAiOjE2MDg3MzU1OTN9.1YUH0_2oAICeJx4yLKGzd1uN3FA2IoGHL9lnzBf8_hE"

const (
	testEmail    = "merchant@example.co.ke"
	testPassword = "s3cret-Pa55word!"
)

func newDocSTK(t *testing.T, d *docServer, outlet string) *pokeapay.STKClient {
	t.Helper()
	c, err := pokeapay.NewSTK(pokeapay.STKConfig{
		APIURL:     d.srv.URL,
		Email:      testEmail,
		Password:   testPassword,
		OutletCode: outlet,
		Now:        func() time.Time { return docTokenTime },
		Sleep:      noSleep,
		Timeout:    5 * time.Second,
	})
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func loginOK(t *testing.T) answer { return answer{200, docFixture(t, "login-200-success.json")} }

// docPushRequest is the filled push example's values.
func docPushRequest() gateway.STKRequest {
	return gateway.STKRequest{
		Reference:     "some_order",
		Phone:         "254717892018",
		Amount:        100, // 1 KES, the example's "amount": 1
		CallbackURL:   "https://sandbox.safaricom.co.ke/mpesa/b2c/v1",
		CustomerName:  "Bolton",
		CustomerEmail: "bolt@gmail.com",
	}
}

func docQuery() gateway.Query {
	return gateway.Query{AttemptID: "some_order", Amount: 100, Currency: "KES", Phone: "254722705138"}
}

func decodeObject(t *testing.T, b []byte) map[string]any {
	t.Helper()
	dec := json.NewDecoder(strings.NewReader(string(b)))
	dec.UseNumber()
	var m map[string]any
	if err := dec.Decode(&m); err != nil {
		t.Fatalf("request body is not a JSON object: %v: %s", err, b)
	}
	return m
}

func keys(m map[string]any) []string {
	var k []string
	for x := range m {
		k = append(k, x)
	}
	sort.Strings(k)
	return k
}

// ---------------------------------------------------------------------------
// Login

func TestDocLoginIsPostOfEmailAndPasswordStrings(t *testing.T) {
	d := newDocServer(t, map[string]answer{
		"/login":               loginOK(t),
		"/stkPush/transaction": {200, docFixture(t, "stk-push-200-named-error.json")},
	})
	c := newDocSTK(t, d, "OTC100001")
	if _, err := c.Push(context.Background(), docPushRequest()); err != nil {
		t.Fatalf("Push: %v", err)
	}
	logins := d.requests("/login")
	if len(logins) != 1 {
		t.Fatalf("got %d logins, want 1", len(logins))
	}
	if logins[0].Method != http.MethodPost {
		t.Errorf("login method %s, want POST", logins[0].Method)
	}
	got := decodeObject(t, logins[0].Body)
	want := map[string]any{"email": testEmail, "password": testPassword}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("login body %v, want %v (document: {\"email\", \"password\"})", got, want)
	}
}

func TestDocLoginError400ReturnsPokeaPayTextAndNoPush(t *testing.T) {
	d := newDocServer(t, map[string]answer{
		"/login":               {400, docFixture(t, "login-400-error.json")},
		"/stkPush/transaction": {200, docFixture(t, "stk-push-200-named-error.json")},
	})
	c := newDocSTK(t, d, "OTC100001")
	_, err := c.Push(context.Background(), docPushRequest())
	if err == nil {
		t.Fatal("Push succeeded after a refused login")
	}
	if !strings.Contains(err.Error(), "The credentials you provided are incorrect") {
		t.Errorf("error %q does not carry PokeaPay's text", err)
	}
	if strings.Contains(err.Error(), testPassword) || strings.Contains(err.Error(), testEmail) {
		t.Errorf("error %q leaks a credential", err)
	}
	if n := len(d.requests("/stkPush/transaction")); n != 0 {
		t.Errorf("%d pushes sent without a token", n)
	}
}

// ---------------------------------------------------------------------------
// STK push

func TestDocPushSendsLoginTokenBareInAuthorizationHeader(t *testing.T) {
	d := newDocServer(t, map[string]answer{
		"/login":               loginOK(t),
		"/stkPush/transaction": {200, docFixture(t, "stk-push-200-named-error.json")},
	})
	c := newDocSTK(t, d, "OTC100001")
	if _, err := c.Push(context.Background(), docPushRequest()); err != nil {
		t.Fatalf("Push: %v", err)
	}
	pushes := d.requests("/stkPush/transaction")
	if len(pushes) != 1 {
		t.Fatalf("got %d pushes, want 1", len(pushes))
	}
	if pushes[0].Auth != docToken {
		t.Errorf("Authorization %q, want the login's data.token, bare (document's example header has no \"Bearer \")", pushes[0].Auth)
	}
}

func TestDocPushRequestFieldsNamesAndTypes(t *testing.T) {
	d := newDocServer(t, map[string]answer{
		"/login":               loginOK(t),
		"/stkPush/transaction": {200, docFixture(t, "stk-push-200-named-error.json")},
	})
	c := newDocSTK(t, d, "OTC100001")
	if _, err := c.Push(context.Background(), docPushRequest()); err != nil {
		t.Fatalf("Push: %v", err)
	}
	pushes := d.requests("/stkPush/transaction")
	if len(pushes) != 1 {
		t.Fatalf("got %d pushes, want 1", len(pushes))
	}
	p := pushes[0]
	if p.Method != http.MethodPost {
		t.Errorf("method %s, want POST", p.Method)
	}
	if !strings.HasPrefix(p.ContentType, "application/json") {
		t.Errorf("Content-Type %q, want application/json (document's header)", p.ContentType)
	}
	body := decodeObject(t, p.Body)
	documented := map[string]bool{"amount": true, "phone": true, "callBackUrl": true, "outletCode": true, "orderRef": true,
		"variable1": true, "variable2": true, "customerName": true, "customerEmail": true}
	for _, k := range keys(body) {
		if !documented[k] {
			t.Errorf("field %q is not in the document's push body", k)
		}
	}
	amt, ok := body["amount"].(json.Number)
	if !ok {
		t.Errorf("amount %#v is not a JSON number (document: \"amount\": 1)", body["amount"])
	} else if f, _ := amt.Float64(); f != 1 {
		t.Errorf("amount %s, want 1 (shillings)", amt)
	}
	wantStr := map[string]string{
		"phone": "254717892018", "callBackUrl": "https://sandbox.safaricom.co.ke/mpesa/b2c/v1",
		"outletCode": "OTC100001", "orderRef": "some_order", "customerName": "Bolton", "customerEmail": "bolt@gmail.com",
	}
	for k, v := range wantStr {
		if body[k] != v {
			t.Errorf("%s = %#v, want string %q", k, body[k], v)
		}
	}
	for _, k := range []string{"variable1", "variable2"} {
		if v, ok := body[k]; ok && v == "" {
			t.Errorf("%s sent as an empty string", k)
		}
	}
}

func TestDocPushSuccessBodySavedAsErrorStartsThePrompt(t *testing.T) {
	d := newDocServer(t, map[string]answer{
		"/login":               loginOK(t),
		"/stkPush/transaction": {200, docFixture(t, "stk-push-200-named-error.json")},
	})
	c := newDocSTK(t, d, "OTC100001")
	started, err := c.Push(context.Background(), docPushRequest())
	if err != nil {
		t.Fatalf("Push: %v (body: success true, \"Transaction initiated successfully\")", err)
	}
	if started.ProviderReference != "some_order" {
		t.Errorf("ProviderReference %q, want the orderRef some_order", started.ProviderReference)
	}
}

func TestDocPushLockSubscriber422IsSubscriberBusy(t *testing.T) {
	d := newDocServer(t, map[string]answer{
		"/login":               loginOK(t),
		"/stkPush/transaction": {422, docFixture(t, "stk-push-422-named-success-lock.json")},
	})
	c := newDocSTK(t, d, "OTC100001")
	_, err := c.Push(context.Background(), docPushRequest())
	if !errors.Is(err, gateway.ErrSubscriberBusy) {
		t.Errorf("Push error %v, want gateway.ErrSubscriberBusy", err)
	}
}

func TestDocPushLockSubscriber400IsSubscriberBusy(t *testing.T) {
	d := newDocServer(t, map[string]answer{
		"/login":               loginOK(t),
		"/stkPush/transaction": {400, docFixture(t, "query-400-error-lock.json")},
	})
	c := newDocSTK(t, d, "OTC100001")
	_, err := c.Push(context.Background(), docPushRequest())
	if !errors.Is(err, gateway.ErrSubscriberBusy) {
		t.Errorf("Push error %v, want gateway.ErrSubscriberBusy", err)
	}
	if n := len(d.requests("/stkPush/transaction")); n != 1 {
		t.Errorf("push sent %d times, want once (never retried)", n)
	}
}

func TestDocPushInvalidInputs200IsErrorWithPokeaPayText(t *testing.T) {
	d := newDocServer(t, map[string]answer{
		"/login":               loginOK(t),
		"/stkPush/transaction": {200, docFixture(t, "stk-push-200-invalid-inputs.json")},
	})
	c := newDocSTK(t, d, "OTC100001")
	_, err := c.Push(context.Background(), docPushRequest())
	if err == nil {
		t.Fatal("Push succeeded on success false (HTTP 200)")
	}
	if errors.Is(err, gateway.ErrSubscriberBusy) {
		t.Errorf("validation failure read as subscriber busy: %v", err)
	}
	if !strings.Contains(err.Error(), "fails to match the required pattern") {
		t.Errorf("error %q does not carry PokeaPay's text", err)
	}
}

func TestDocPushPhonePatternCheckedBeforeSending(t *testing.T) {
	d := newDocServer(t, map[string]answer{
		"/login":               loginOK(t),
		"/stkPush/transaction": {200, docFixture(t, "stk-push-200-named-error.json")},
	})
	c := newDocSTK(t, d, "OTC100001")
	for _, phone := range []string{"2547xxxxxxxx", "0717892018", "+254717892018", "25471789201", "254817892018"} {
		r := docPushRequest()
		r.Phone = phone
		_, err := c.Push(context.Background(), r)
		if !errors.Is(err, pokeapay.ErrInvalidRequest) {
			t.Errorf("phone %q: error %v, want ErrInvalidRequest (pattern ^(254(7|1)\\d{8})$)", phone, err)
		}
	}
	if n := len(d.requests("/stkPush/transaction")); n != 0 {
		t.Errorf("%d pushes sent with phones outside the pattern", n)
	}
	r := docPushRequest()
	r.Phone = "254112345678" // 2541 is in the pattern
	if _, err := c.Push(context.Background(), r); err != nil {
		t.Errorf("phone 254112345678 (matches (254(7|1)\\d{8})): %v", err)
	}
}

// ---------------------------------------------------------------------------
// STK callback

func TestDocCallbackSuccessNamesOrderRefAndClaimsSuccess(t *testing.T) {
	d := newDocServer(t, nil)
	c := newDocSTK(t, d, "OTC100001")
	cb, err := c.ParseCallback("application/json", []byte(docFixture(t, "stk-callback-success.json")))
	if err != nil {
		t.Fatalf("ParseCallback: %v", err)
	}
	if cb.Reference != "some_order" || !cb.Successful || cb.Message != "Transaction completed successfully" {
		t.Errorf("got %+v, want Reference some_order, Successful, Message \"Transaction completed successfully\"", cb)
	}
}

func TestDocCallbackFailedNamesOrderRefAndCarriesReason(t *testing.T) {
	d := newDocServer(t, nil)
	c := newDocSTK(t, d, "OTC100001")
	cb, err := c.ParseCallback("application/json", []byte(docFixture(t, "stk-callback-failed.json")))
	if err != nil {
		t.Fatalf("ParseCallback: %v", err)
	}
	if cb.Reference != "some_order" || cb.Successful || cb.Message != "Failed Reason" {
		t.Errorf("got %+v, want Reference some_order, not Successful, Message \"Failed Reason\"", cb)
	}
}

// ---------------------------------------------------------------------------
// Transaction query (STKClient.Confirm)

func TestDocQueryRequestIsPostOfFourFieldsWithBareToken(t *testing.T) {
	d := newDocServer(t, map[string]answer{
		"/login":             loginOK(t),
		"/transaction/query": {200, docFixture(t, "query-nostatus-success.json")},
	})
	c := newDocSTK(t, d, "OTC8")
	if _, err := c.Confirm(context.Background(), docQuery()); err != nil {
		t.Fatalf("Confirm: %v", err)
	}
	qs := d.requests("/transaction/query")
	if len(qs) != 1 {
		t.Fatalf("got %d queries, want 1", len(qs))
	}
	q := qs[0]
	if q.Method != http.MethodPost {
		t.Errorf("method %s, want POST", q.Method)
	}
	if q.Auth != docToken {
		t.Errorf("Authorization %q, want the bare token (document's example)", q.Auth)
	}
	body := decodeObject(t, q.Body)
	if got := keys(body); !reflect.DeepEqual(got, []string{"amount", "orderRef", "outletCode", "phone"}) {
		t.Errorf("query fields %v, want exactly amount, phone, outletCode, orderRef", got)
	}
	if n, ok := body["amount"].(json.Number); !ok {
		t.Errorf("amount %#v is not a JSON number", body["amount"])
	} else if f, _ := n.Float64(); f != 1 {
		t.Errorf("amount %s, want 1", n)
	}
	want := map[string]string{"phone": "254722705138", "outletCode": "OTC8", "orderRef": "some_order"}
	for k, v := range want {
		if body[k] != v {
			t.Errorf("%s = %#v, want %q", k, body[k], v)
		}
	}
}

func TestDocQueryCompletedAnswerIsSucceededWithReceiptAndAmount(t *testing.T) {
	d := newDocServer(t, map[string]answer{
		"/login":             loginOK(t),
		"/transaction/query": {200, docFixture(t, "query-nostatus-success.json")},
	})
	c := newDocSTK(t, d, "OTC8")
	res, err := c.Confirm(context.Background(), docQuery())
	if err != nil {
		t.Fatalf("Confirm: %v", err)
	}
	if res.Status != gateway.StatusSucceeded {
		t.Errorf("status %s, want succeeded", res.Status)
	}
	if res.Receipt != "receipt" {
		t.Errorf("receipt %q, want data.receipt \"receipt\"", res.Receipt)
	}
	if !res.HasAmount || res.Amount != 100 {
		t.Errorf("amount %d (has %v), want 100 cents (data.amount 1)", res.Amount, res.HasAmount)
	}
	if res.Reference != "some_order" {
		t.Errorf("reference %q, want some_order", res.Reference)
	}
}

// The document's completed answer carries no M-Pesa result code, and
// gateway.Result.Code is "the M-Pesa result code when the provider reports
// one": none is reported, so none should be invented.
func TestDocQueryCompletedAnswerReportsNoResultCode(t *testing.T) {
	d := newDocServer(t, map[string]answer{
		"/login":             loginOK(t),
		"/transaction/query": {200, docFixture(t, "query-nostatus-success.json")},
	})
	c := newDocSTK(t, d, "OTC8")
	res, err := c.Confirm(context.Background(), docQuery())
	if err != nil {
		t.Fatalf("Confirm: %v", err)
	}
	if res.Code != "" {
		t.Errorf("Code %q, but the document's answer has no result code", res.Code)
	}
}

func TestDocQueryInitiatedAnswerIsPending(t *testing.T) {
	d := newDocServer(t, map[string]answer{
		"/login":             loginOK(t),
		"/transaction/query": {200, docFixture(t, "query-200-initiated.json")},
	})
	c := newDocSTK(t, d, "OTC8")
	res, err := c.Confirm(context.Background(), docQuery())
	if err != nil {
		t.Fatalf("Confirm: %v", err)
	}
	if res.Status != gateway.StatusPending {
		t.Errorf("status %s, want pending (\"Transaction initiated successfully\": prompt sent, not completed)", res.Status)
	}
}

func TestDocQueryLockSubscriber400IsNeitherFailedNorSucceeded(t *testing.T) {
	d := newDocServer(t, map[string]answer{
		"/login":             loginOK(t),
		"/transaction/query": {400, docFixture(t, "query-400-error-lock.json")},
	})
	c := newDocSTK(t, d, "OTC8")
	res, err := c.Confirm(context.Background(), docQuery())
	if err == nil && (res.Status == gateway.StatusFailed || res.Status == gateway.StatusSucceeded) {
		t.Errorf("status %s for \"Unableto lock subscriber\": a prompt in progress is neither failed nor paid", res.Status)
	}
}

func TestDocQueryInvalidInputs422IsAnErrorWithTextNotAStatus(t *testing.T) {
	d := newDocServer(t, map[string]answer{
		"/login":             loginOK(t),
		"/transaction/query": {422, docFixture(t, "query-422-invalid-inputs.json")},
	})
	c := newDocSTK(t, d, "OTC8")
	res, err := c.Confirm(context.Background(), docQuery())
	if err == nil {
		t.Fatalf("Confirm gave status %s for a refused query; want an error (the query was refused, the payment's state is unknown)", res.Status)
	}
	if !strings.Contains(err.Error(), "fails to match the required pattern") {
		t.Errorf("error %q does not carry PokeaPay's text", err)
	}
}

// Reading (undocumented): a failed transaction's query answer is shaped like
// the failed callback: success false, "message" (no "error"), data.
func TestReadingQueryAnswerShapedLikeFailedCallbackIsFailed(t *testing.T) {
	d := newDocServer(t, map[string]answer{
		"/login":             loginOK(t),
		"/transaction/query": {200, docFixture(t, "stk-callback-failed.json")},
	})
	c := newDocSTK(t, d, "OTC8")
	res, err := c.Confirm(context.Background(), docQuery())
	if err != nil {
		t.Fatalf("Confirm: %v", err)
	}
	if res.Status != gateway.StatusFailed {
		t.Errorf("status %s, want failed", res.Status)
	}
	if !strings.Contains(res.Message, "Failed Reason") {
		t.Errorf("message %q, want PokeaPay's reason \"Failed Reason\"", res.Message)
	}
}

// ---------------------------------------------------------------------------
// Web checkout

const (
	docHashKey = "second-reading-hash-key"
	docOutlet  = "OCT00001"
)

func newDocClient(t *testing.T, coreURL, outlet string, live bool) *pokeapay.Client {
	t.Helper()
	c, err := pokeapay.New(pokeapay.Config{CoreURL: coreURL, OutletCode: outlet, HashKey: docHashKey, Live: live, Sleep: noSleep, Timeout: 5 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// docCheckout is the checkout example's values (tel normalised: the example's
// "254722 XXX XXX" is a placeholder).
func docCheckout() pokeapay.CheckoutRequest {
	return pokeapay.CheckoutRequest{
		OrderRef: "11", Amount: 100, Currency: "KES", CustomerName: "John Doe",
		Email: "john@email.com", Phone: "254722000000", CallbackURL: "http://examplecallback.com",
	}
}

func TestDocCheckoutURLIsPayPokeapayWithDocumentParameters(t *testing.T) {
	c := newDocClient(t, "", docOutlet, true)
	raw, err := c.CheckoutURL(docCheckout())
	if err != nil {
		t.Fatalf("CheckoutURL: %v", err)
	}
	u, err := url.Parse(raw)
	if err != nil {
		t.Fatal(err)
	}
	if u.Scheme+"://"+u.Host+u.Path != "https://pay.pokeapay.com/" {
		t.Errorf("URL %s, want https://pay.pokeapay.com/?...", raw)
	}
	q := u.Query()
	want := map[string]string{"oc": docOutlet, "live": "1", "cn": "John Doe", "eml": "john@email.com",
		"tel": "254722000000", "curr": "KES", "oref": "11", "cb": "http://examplecallback.com"}
	for k, v := range want {
		if q.Get(k) != v {
			t.Errorf("%s = %q, want %q", k, q.Get(k), v)
		}
	}
	amt, err := gateway.ParseAmount(q.Get("amt"))
	if err != nil || amt != 100 {
		t.Errorf("amt %q, want 1 shilling written without separators", q.Get("amt"))
	}
	if !regexp.MustCompile(`^[0-9a-f]{40}$`).MatchString(q.Get("hsh")) {
		t.Errorf("hsh %q is not a lowercase SHA-1 hex", q.Get("hsh"))
	}
}

func TestDocCheckoutHshIsHMACSHA1OfLiveOrefAmtTelEmlOc(t *testing.T) {
	for _, live := range []bool{true, false} {
		c := newDocClient(t, "", docOutlet, live)
		raw, err := c.CheckoutURL(docCheckout())
		if err != nil {
			t.Fatalf("CheckoutURL: %v", err)
		}
		u, _ := url.Parse(raw)
		q := u.Query()
		wantLive := map[bool]string{true: "1", false: "0"}[live]
		if q.Get("live") != wantLive {
			t.Errorf("live=%q, want %q", q.Get("live"), wantLive)
		}
		want := hmacSHA1Hex(docHashKey, q.Get("live")+q.Get("oref")+q.Get("amt")+q.Get("tel")+q.Get("eml")+q.Get("oc"))
		if q.Get("hsh") != want {
			t.Errorf("live=%v: hsh %q, want HMAC-SHA1(key, live.oref.amt.tel.eml.oc) = %q", live, q.Get("hsh"), want)
		}
	}
}

func TestDocCheckoutAmountHasNoThousandsSeparator(t *testing.T) {
	c := newDocClient(t, "", docOutlet, true)
	r := docCheckout()
	r.Amount = 123400 // 1234.00
	raw, err := c.CheckoutURL(r)
	if err != nil {
		t.Fatalf("CheckoutURL: %v", err)
	}
	u, _ := url.Parse(raw)
	amt := u.Query().Get("amt")
	if strings.Contains(amt, ",") {
		t.Errorf("amt %q has a thousands separator (document: amt=1234.00 and NOT amt=1,234.00)", amt)
	}
	if a, err := gateway.ParseAmount(amt); err != nil || a != 123400 {
		t.Errorf("amt %q, want 1234", amt)
	}
}

// The example's tel is "254722 XXX XXX", with spaces: whatever is sent as tel
// is what the hash covers.
func TestDocCheckoutHshCoversTelAsSentWithSpaces(t *testing.T) {
	c := newDocClient(t, "", docOutlet, true)
	r := docCheckout()
	r.Phone = "254722 123 456"
	raw, err := c.CheckoutURL(r)
	if err != nil {
		t.Skipf("CheckoutURL refuses a spaced tel: %v", err)
	}
	u, _ := url.Parse(raw)
	q := u.Query()
	want := hmacSHA1Hex(docHashKey, q.Get("live")+q.Get("oref")+q.Get("amt")+q.Get("tel")+q.Get("eml")+q.Get("oc"))
	if q.Get("hsh") != want {
		t.Errorf("hsh %q, want %q over tel %q", q.Get("hsh"), want, q.Get("tel"))
	}
}

func TestDocCheckoutOutletCodeMustBeUppercase(t *testing.T) {
	if _, err := pokeapay.New(pokeapay.Config{OutletCode: "oct00001", HashKey: docHashKey}); err == nil {
		t.Errorf("New accepted a lowercase outlet code (document: \"UPPERCASE ACCEPTED ONLY\")")
	}
}

func TestDocCheckoutHashFunctionMatchesPHPSample(t *testing.T) {
	got := pokeapay.CheckoutHash(docHashKey, "1", "11", "1", "254722000000", "john@email.com", docOutlet)
	want := hmacSHA1Hex(docHashKey, "1"+"11"+"1"+"254722000000"+"john@email.com"+docOutlet)
	if got != want {
		t.Errorf("CheckoutHash %q, want %q", got, want)
	}
}

// ---------------------------------------------------------------------------
// Return URL

func TestDocReturnHashIsHMACSHA1OfOrefOutlet(t *testing.T) {
	want := hmacSHA1Hex(docHashKey, "23"+docOutlet)
	if got := pokeapay.ReturnHash(docHashKey, "23", docOutlet); got != want {
		t.Errorf("ReturnHash %q, want HMAC-SHA1(oref.outlet) %q", got, want)
	}
	c := newDocClient(t, "", docOutlet, true)
	if err := c.VerifyReturn(pokeapay.Return{OrderRef: "23", Hash: want, Type: "m", Amount: "100", Status: "1"}); err != nil {
		t.Errorf("VerifyReturn with HMAC-SHA1(oref.outlet): %v", err)
	}
	if err := c.VerifyReturn(pokeapay.Return{OrderRef: "24", Hash: want, Type: "m", Amount: "100", Status: "1"}); !errors.Is(err, pokeapay.ErrBadHash) {
		t.Errorf("VerifyReturn for another oref: %v, want ErrBadHash", err)
	}
}

func TestDocReturnExampleParsesWithStatusAndSstatus(t *testing.T) {
	c := newDocClient(t, "", docOutlet, true)
	line := strings.TrimSpace(docFixture(t, "return-url.txt"))
	_, rawQuery, _ := strings.Cut(line, "?")
	for _, rq := range []string{rawQuery, strings.Replace(rawQuery, "sstatus=", "status=", 1)} {
		q, err := url.ParseQuery(rq)
		if err != nil {
			t.Fatal(err)
		}
		r, err := c.ParseReturn(q)
		if err != nil {
			t.Fatalf("ParseReturn(%s): %v", rq, err)
		}
		want := pokeapay.Return{OrderRef: "23", Hash: "aei7p7yrx4ae34", Type: pokeapay.TypeMPesa, Amount: "100", Status: "1"}
		if r != want {
			t.Errorf("ParseReturn(%s) = %+v, want %+v", rq, r, want)
		}
	}
}

func TestDocReturnExamplePlaceholderHashIsRefused(t *testing.T) {
	c := newDocClient(t, "", docOutlet, true)
	err := c.VerifyReturn(pokeapay.Return{OrderRef: "23", Hash: "aei7p7yrx4ae34", Type: "m", Amount: "100", Status: "1"})
	if !errors.Is(err, pokeapay.ErrBadHash) {
		t.Errorf("VerifyReturn(example hsh) = %v, want ErrBadHash", err)
	}
}

// ---------------------------------------------------------------------------
// Payment verification

func verifyBody(status, oref string) string {
	return `{"status":"` + status + `","oref":"` + oref + `"}`
}

func TestDocVerifyRequestIsGetWithDocumentParameters(t *testing.T) {
	d := newDocServer(t, map[string]answer{"/api/payment/status": {200, verifyBody(pokeapay.StatusValueSuccess, "949")}})
	c := newDocClient(t, d.srv.URL, "OTC100014", true)
	if _, err := c.VerifyPayment(context.Background(), "949", 1000, pokeapay.TypeMPesa); err != nil {
		t.Fatalf("VerifyPayment: %v", err)
	}
	rs := d.requests("/api/payment/status")
	if len(rs) != 1 {
		t.Fatalf("got %d verification requests, want 1", len(rs))
	}
	r := rs[0]
	if r.Method != http.MethodGet {
		t.Errorf("method %s, want GET", r.Method)
	}
	var ks []string
	for k := range r.Query {
		ks = append(ks, k)
	}
	sort.Strings(ks)
	if !reflect.DeepEqual(ks, []string{"amount", "bill_ref", "hash", "oc", "type"}) {
		t.Errorf("parameters %v, want amount, hash, type, bill_ref, oc", ks)
	}
	if got := r.Query.Get("bill_ref"); got != "949" {
		t.Errorf("bill_ref %q, want 949", got)
	}
	if got := r.Query.Get("oc"); got != "OTC100014" {
		t.Errorf("oc %q, want OTC100014", got)
	}
	if got := r.Query.Get("type"); got != "m" {
		t.Errorf("type %q, want m", got)
	}
	if a, err := gateway.ParseAmount(r.Query.Get("amount")); err != nil || a != 1000 {
		t.Errorf("amount %q, want 10", r.Query.Get("amount"))
	}
	if got, want := r.Query.Get("hash"), hmacSHA1Hex(docHashKey, "949"+"OTC100014"); got != want {
		t.Errorf("hash %q, want HMAC-SHA1(bill_ref.oc) %q (README)", got, want)
	}
}

func TestDocVerifyStatusValuesMapToSucceededFailedPending(t *testing.T) {
	cases := map[string]gateway.Status{
		"c4812ee2b789226193ad2511495fa559": gateway.StatusSucceeded,
		"ccc0377a8afbf50e7094f5c23a8af223": gateway.StatusFailed,
		"c69f06e1a9b016d133907b4e5f5864d2": gateway.StatusPending, // "Pending: ... Not found. Please try again in 5 minutes."
	}
	for value, want := range cases {
		d := newDocServer(t, map[string]answer{"/api/payment/status": {200, verifyBody(value, "949")}})
		c := newDocClient(t, d.srv.URL, "OTC100014", true)
		v, err := c.VerifyPayment(context.Background(), "949", 1000, pokeapay.TypeMPesa)
		if err != nil {
			t.Errorf("%s: VerifyPayment: %v", value, err)
			continue
		}
		if v.Status != value || v.GatewayStatus() != want {
			t.Errorf("%s: got %q -> %s, want %s", value, v.Status, v.GatewayStatus(), want)
		}
	}
}

func TestDocVerifyUnknownStatusIsNeverSuccess(t *testing.T) {
	d := newDocServer(t, map[string]answer{"/api/payment/status": {200, verifyBody("aei7p7yrx4ae34", "949")}})
	c := newDocClient(t, d.srv.URL, "OTC100014", true)
	v, err := c.VerifyPayment(context.Background(), "949", 1000, pokeapay.TypeMPesa)
	if err == nil && v.GatewayStatus() == gateway.StatusSucceeded {
		t.Errorf("an undocumented status value was read as success")
	}
}

func confirmWith(t *testing.T, m, card string) (gateway.Result, error) {
	d := newDocServer(t, nil)
	d.byType = map[string]answer{"m": {200, verifyBody(m, "949")}, "c": {200, verifyBody(card, "949")}}
	c := newDocClient(t, d.srv.URL, "OTC100014", true)
	return c.Confirm(context.Background(), gateway.Query{AttemptID: "949", Amount: 1000, Currency: "KES"})
}

func TestDocConfirmSuccessValueIsSucceededForTheAmountAsked(t *testing.T) {
	res, err := confirmWith(t, pokeapay.StatusValueSuccess, pokeapay.StatusValueFailed)
	if err != nil {
		t.Fatalf("Confirm: %v", err)
	}
	if res.Status != gateway.StatusSucceeded {
		t.Errorf("status %s, want succeeded", res.Status)
	}
	if res.Reference != "949" {
		t.Errorf("reference %q, want 949", res.Reference)
	}
	if !res.HasAmount || res.Amount != 1000 {
		t.Errorf("amount %d (has %v), want the amount asked about, 1000 cents", res.Amount, res.HasAmount)
	}
}

func TestDocConfirmPendingValueIsPendingNotNotFound(t *testing.T) {
	res, err := confirmWith(t, pokeapay.StatusValuePending, pokeapay.StatusValueFailed)
	if err != nil {
		t.Fatalf("Confirm: %v", err)
	}
	if res.Status != gateway.StatusPending {
		t.Errorf("status %s, want pending (\"Incoming Mobile Money Transaction Not found. Please try again in 5 minutes.\")", res.Status)
	}
}

func TestDocConfirmFailedValueIsFailed(t *testing.T) {
	res, err := confirmWith(t, pokeapay.StatusValueFailed, pokeapay.StatusValueFailed)
	if err != nil {
		t.Fatalf("Confirm: %v", err)
	}
	if res.Status != gateway.StatusFailed {
		t.Errorf("status %s, want failed", res.Status)
	}
}

// Unclear: the document never shows the verification's answer body, only that
// it has a "status" variable (and "oref"). The other reading is that the body
// is the status value itself, as plain text.
func TestUnclearVerifyAnswerAsBareStatusText(t *testing.T) {
	d := newDocServer(t, map[string]answer{"/api/payment/status": {200, pokeapay.StatusValueSuccess}})
	c := newDocClient(t, d.srv.URL, "OTC100014", true)
	v, err := c.VerifyPayment(context.Background(), "949", 1000, pokeapay.TypeMPesa)
	if err != nil {
		t.Fatalf("VerifyPayment with a bare status body: %v", err)
	}
	if v.GatewayStatus() != gateway.StatusSucceeded {
		t.Errorf("status %s, want succeeded", v.GatewayStatus())
	}
}

// ---------------------------------------------------------------------------
// IPN

func TestDocIPNTemplateWithEmptyBillReferenceIsRefused(t *testing.T) {
	_, err := pokeapay.ParseIPN("application/json", []byte(docFixture(t, "ipn.json")))
	if !errors.Is(err, pokeapay.ErrInvalidIPN) {
		t.Errorf("ParseIPN(document's empty template) = %v, want ErrInvalidIPN (no billreference)", err)
	}
}

func TestDocIPNFieldsAreReadByDocumentNames(t *testing.T) {
	// The document's template, filled in (same keys, same \r\n layout).
	body := strings.NewReplacer(
		`"billreference":""`, `"billreference":"11"`,
		`"amount":""`, `"amount":"1500.00"`,
		`"accountname":""`, `"accountname":"John Doe"`,
		`"accountno":""`, `"accountno":"254722000000"`,
		`"fees":""`, `"fees":"15"`,
		`"referenceno":""`, `"referenceno":"QLD82TMWJE"`,
		`"method":""`, `"method":"mpesa"`,
	).Replace(docFixture(t, "ipn.json"))
	n, err := pokeapay.ParseIPN("application/json", []byte(body))
	if err != nil {
		t.Fatalf("ParseIPN: %v", err)
	}
	want := pokeapay.IPN{BillReference: "11", Amount: "1500.00", AccountName: "John Doe", AccountNo: "254722000000",
		Fees: "15", ReferenceNo: "QLD82TMWJE", Method: "mpesa"}
	if n != want {
		t.Errorf("got %+v, want %+v", n, want)
	}
	if a, ok := n.AmountCents(); !ok || a != 150000 {
		t.Errorf("AmountCents %d %v, want 150000", a, ok)
	}
}

// ---------------------------------------------------------------------------
// B2C

func docB2CRequest() pokeapay.B2CRequest {
	return pokeapay.B2CRequest{
		Source:      pokeapay.B2CSource{CustomerCode: "XXXXXXXX", AccountNo: "XXXXX"},
		Destination: pokeapay.B2CDestination{CountryCode: "KES", Name: "John Doe", MobileNumber: "2547XXXXXXXXXXX"},
		Transfer: pokeapay.B2CTransfer{Reference: "12232", Currency: "KES", Amount: "100", Date: "2020-10-23",
			Description: "Dividend remitting", Channel: pokeapay.B2CChannelMPesa},
		ResultURL: "https://webhook.site/dd12b3f6-5e5b-452e-96ee-63fac3c0e73e",
	}
}

func TestDocB2CRequestJSONMatchesExampleNesting(t *testing.T) {
	// The example has a trailing comma after mobile_number; remove it to read it.
	example := regexp.MustCompile(`,\s*}`).ReplaceAllString(docFixture(t, "b2c-request.txt"), "}")
	var want, got map[string]any
	if err := json.Unmarshal([]byte(example), &want); err != nil {
		t.Fatalf("example: %v", err)
	}
	b, err := json.Marshal(docB2CRequest())
	if err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(b, &got); err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("B2C body\n got %v\nwant %v", got, want)
	}
	if pokeapay.B2CPath != "/remittance/momo/mpesa" {
		t.Errorf("B2CPath %q", pokeapay.B2CPath)
	}
}

func TestDocB2CSigningStringIsAmountCurrencyReferenceAccountNo(t *testing.T) {
	if got, want := pokeapay.B2CSigningString(docB2CRequest()), "100"+"KES"+"12232"+"XXXXX"; got != want {
		t.Errorf("signing string %q, want %q", got, want)
	}
}

// Reading: "A SHA-256 signature ... signed with Private Key and Base64
// encoded" is taken as RSA PKCS #1 v1.5 with SHA-256 (openssl_sign's
// default), standard Base64. The document does not name the padding.
func TestReadingB2CSignatureIsRSASHA256PKCS1v15Base64(t *testing.T) {
	key, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	r := docB2CRequest()
	sig, err := pokeapay.SignB2C(key, r)
	if err != nil {
		t.Fatalf("SignB2C: %v", err)
	}
	raw, err := base64.StdEncoding.DecodeString(sig)
	if err != nil {
		t.Fatalf("signature %q is not standard Base64: %v", sig, err)
	}
	digest := sha256.Sum256([]byte("100KES12232XXXXX"))
	if err := rsa.VerifyPKCS1v15(&key.PublicKey, crypto.SHA256, digest[:], raw); err != nil {
		t.Errorf("signature does not verify as RSA-SHA256 PKCS#1 v1.5 over amount.currency.reference.account_no: %v", err)
	}
}

func TestDocB2CAnswerIsAccepted(t *testing.T) {
	var a pokeapay.B2CAnswer
	if err := json.Unmarshal([]byte(docFixture(t, "b2c-response.json")), &a); err != nil {
		t.Fatal(err)
	}
	if !a.Accepted() {
		t.Errorf("%+v not Accepted; the example is code 0, success true", a)
	}
}

func TestDocB2CSuccessResultSucceededWithAmount(t *testing.T) {
	var r pokeapay.B2CResult
	if err := json.Unmarshal([]byte(docFixture(t, "b2c-result-success.json")), &r); err != nil {
		t.Fatal(err)
	}
	if !r.Succeeded() || r.TransactionID != "QLD82TMWJE" || r.Reference != "12232" || r.Fees != "2" {
		t.Errorf("got %+v, want success, QLD82TMWJE, 12232, fees 2", r)
	}
	if a, err := r.AmountCents(); err != nil || a != 10000 {
		t.Errorf("AmountCents %d %v, want 10000", a, err)
	}
}

func TestDocB2CFailedResultIsNotSucceeded(t *testing.T) {
	// The example misses a comma after "reference" : "12232"; add it to read it.
	fixed := strings.Replace(docFixture(t, "b2c-result-failed.txt"), `"12232"`+"\n", `"12232",`+"\n", 1)
	var r pokeapay.B2CResult
	if err := json.Unmarshal([]byte(fixed), &r); err != nil {
		t.Fatal(err)
	}
	if r.Succeeded() || r.ResultCode.String() != "1032" || r.ResultDescription != "Bad Request - Invalid Account number" {
		t.Errorf("got %+v, want not succeeded, code 1032", r)
	}
	if _, err := r.AmountCents(); err == nil {
		t.Errorf("AmountCents of a result without amount: no error")
	}
}
