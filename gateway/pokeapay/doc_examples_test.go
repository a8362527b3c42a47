package pokeapay

import (
	"context"
	"errors"
	"net/http"
	"net/url"
	"os"
	"reflect"
	"strings"
	"testing"

	"checkout/gateway"
	"checkout/gateway/internal/fixture"
)

// These tests hold the client to every example of the PokeaPay documents
// (shared/providers/pokeapay-postman-collection.json and
// pokeapay-b2c-remittance.txt), copied verbatim into testdata/doc-*. Each
// response is served with the HTTP status the document saved it with and
// read through the client's real path; each request is built by the client
// and compared with the example. What the documents leave open is in
// testdata/ASSUMED.md.

// doc reads a fixture from testdata/.
func doc(t testing.TB, name string) []byte {
	t.Helper()
	return fixture.Read(t, "testdata", name)
}

// TestEveryFixtureIsListed keeps testdata/ and this file in step: every
// fixture is read by a test here.
func TestEveryFixtureIsListed(t *testing.T) {
	read := map[string]bool{}
	for _, names := range [][]string{docPushAnswers(), docQueryAnswers(), docOtherFixtures} {
		for _, n := range names {
			read[n] = true
		}
	}
	entries, err := os.ReadDir("testdata")
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range entries {
		// fuzz is go test's fuzz corpus, not a document example.
		if n := e.Name(); n != "ASSUMED.md" && n != "fuzz" && !read[n] {
			t.Errorf("testdata/%s is read by no document example test", n)
		}
	}
}

// docOtherFixtures are the fixtures read by the tests below other than the
// push and query answers.
var docOtherFixtures = []string{
	"doc-login-request.json", "doc-login-success.json", "doc-login-error.json",
	"doc-stk-push-request.json", "doc-stk-query-request.json",
	"doc-stk-callback-success.json", "doc-stk-callback-failed.json",
	"doc-checkout-request.query", "doc-return-status.query", "doc-return-sstatus.query",
	"doc-verify-request.query", "doc-ipn.json",
	"assumed-verify-success.json", "assumed-verify-failed.json", "assumed-verify-pending.json",
	"assumed-stk-query-not-found.json", "assumed-stk-unauthorized.json",
	"doc-b2c-request.txt", "doc-b2c-request-headers.txt", "doc-b2c-signature.txt",
	"doc-b2c-response.json", "doc-b2c-result-success.json", "doc-b2c-result-failed.txt",
}

func docPushAnswers() []string {
	var out []string
	for _, c := range pushExamples {
		out = append(out, c.file)
	}
	return out
}

func docQueryAnswers() []string {
	var out []string
	for _, c := range queryExamples {
		out = append(out, c.file)
	}
	return out
}

// pushMeaning is what a push answer means: accepted (with the orderRef it
// echoes), the phone busy with another prompt, or refused with a text.
type pushMeaning struct {
	accepted bool
	busy     bool
	message  string // the error's Message when not accepted
}

// pushExamples are the push answers the document saved, with the status it
// saved them with. Its names are swapped: "Error" (200) is the accepted
// push, "Success" (422) is "Unable to lock subscriber". The callback
// requests' saved answers are copies of the push answers (their
// originalRequest is the push), read the same way.
var pushExamples = []struct {
	file   string
	status int
	want   pushMeaning
}{
	{"doc-stk-push-error.json", 200, pushMeaning{accepted: true}},
	{"doc-stk-push-invalid-inputs.json", 200, pushMeaning{message: `"phone" with value "2547xxxxxxxx" fails to match the required pattern: /^(254(7|1)\d{8})$/`}},
	{"doc-stk-push-success.json", 422, pushMeaning{busy: true, message: "Unableto lock subscriber, a transaction is already in process for the current subscriber"}},
	{"doc-stk-callback-success-answer-error.json", 400, pushMeaning{busy: true, message: "Unableto lock subscriber, a transaction is already in process for the current subscriber"}},
	{"doc-stk-callback-success-answer-success.json", 200, pushMeaning{accepted: true}},
	{"doc-stk-callback-success-answer-invalid-inputs.json", 422, pushMeaning{message: `"phone" with value "2547xxxxxxxx" fails to match the required pattern: /^(254(7|1)\d{8})$/`}},
	{"doc-stk-callback-failed-answer-success.json", 200, pushMeaning{accepted: true}},
	{"doc-stk-callback-failed-answer-error.json", 400, pushMeaning{busy: true, message: "Unableto lock subscriber, a transaction is already in process for the current subscriber"}},
	{"doc-stk-callback-failed-answer-invalid-inputs.json", 422, pushMeaning{message: `"phone" with value "2547xxxxxxxx" fails to match the required pattern: /^(254(7|1)\d{8})$/`}},
}

// docPush is a push like the document's example request.
func docPush() gateway.STKRequest {
	return gateway.STKRequest{Reference: "some_order", Phone: "254717892018", Amount: 100,
		CallbackURL: "https://shop.example.test/callback/pokeapay-stk", AccountReference: "v1",
		CustomerName: "Bolton", CustomerEmail: "bolt@gmail.com"}
}

func TestDocumentExamplesSTKPush(t *testing.T) {
	for _, tc := range pushExamples {
		t.Run(tc.file, func(t *testing.T) {
			body := doc(t, tc.file)
			f := newSTKFake(t)
			f.set(func(f *stkFake) { f.push = stkJSON(tc.status, string(body)) })
			c := f.client(&sleepRecorder{})

			got, err := c.Push(context.Background(), docPush())

			if tc.want.accepted {
				if err != nil {
					t.Fatalf("Push: %v", err)
				}
				want := gateway.STKStarted{ProviderReference: "some_order", Raw: body}
				if !reflect.DeepEqual(got, want) {
					t.Fatalf("Push = %+v, want %+v", got, want)
				}
				return
			}
			e := asError(t, err)
			if e.HTTPStatus != tc.status || e.Message != tc.want.message || e.Op != "stk push" {
				t.Errorf("error = %#v, want HTTP %d and message %q", e, tc.status, tc.want.message)
			}
			if busy := errors.Is(err, gateway.ErrSubscriberBusy); busy != tc.want.busy {
				t.Errorf("errors.Is(err, ErrSubscriberBusy) = %v, want %v", busy, tc.want.busy)
			}
			if !reflect.DeepEqual(got, gateway.STKStarted{}) {
				t.Errorf("Push = %+v with an error", got)
			}
		})
	}
}

// queryExamples are the Transaction Query answers the document saved (the
// "Transaction Query Success" example has no status: served as 200), and
// the two callback bodies, which the query is taken to answer too.
var queryExamples = []struct {
	file    string
	status  int
	want    gateway.Result // Reference, ProviderReference, Currency, Method and Raw are filled in
	wantErr string         // the error's Message; "" when want applies
}{
	{file: "doc-stk-query-error.json", status: 400, want: gateway.Result{Status: gateway.StatusPending}},
	{file: "doc-stk-query-invalid-inputs.json", status: 422,
		wantErr: `"phone" with value "2547xxxxxxxx" fails to match the required pattern: /^(254(7|1)\d{8})$/`},
	{file: "doc-stk-query-initiated.json", status: 200, want: gateway.Result{Status: gateway.StatusPending}},
	{file: "doc-stk-query-success.json", status: 200,
		want: gateway.Result{Status: gateway.StatusSucceeded, Amount: 100, HasAmount: true, Receipt: "receipt"}},
	{file: "doc-stk-callback-success.json", status: 200,
		want: gateway.Result{Status: gateway.StatusSucceeded, Amount: 100, HasAmount: true, Receipt: "receipt"}},
	{file: "doc-stk-callback-failed.json", status: 200,
		want: gateway.Result{Status: gateway.StatusFailed, Message: "Failed Reason"}},
	{file: "assumed-stk-query-not-found.json", status: 404,
		want: gateway.Result{Status: gateway.StatusNotFound, Message: "Transaction not found"}},
}

func TestDocumentExamplesSTKQuery(t *testing.T) {
	for _, tc := range queryExamples {
		t.Run(tc.file, func(t *testing.T) {
			body := doc(t, tc.file)
			f := newSTKFake(t)
			f.set(func(f *stkFake) { f.query = stkJSON(tc.status, string(body)) })
			c := f.client(&sleepRecorder{})
			q := gateway.Query{AttemptID: "some_order", Amount: 100, Currency: "KES", Phone: "254722705138"}

			got, err := c.Confirm(context.Background(), q)

			if tc.wantErr != "" {
				e := asError(t, err)
				if e.HTTPStatus != tc.status || e.Message != tc.wantErr {
					t.Errorf("error = %#v, want HTTP %d and %q", e, tc.status, tc.wantErr)
				}
				if !reflect.DeepEqual(got, gateway.Result{}) {
					t.Errorf("Confirm = %+v with an error", got)
				}
				return
			}
			if err != nil {
				t.Fatalf("Confirm: %v", err)
			}
			want := tc.want
			want.Reference, want.ProviderReference, want.Currency, want.Method = "some_order", "some_order", "KES", "M-Pesa"
			want.Raw = body
			if !reflect.DeepEqual(got, want) {
				t.Errorf("Confirm = %+v\nwant      %+v", got, want)
			}
		})
	}
}

func TestDocumentExamplesSTKCallbacks(t *testing.T) {
	c := newSTKFake(t).client(&sleepRecorder{})
	for _, tc := range []struct {
		file string
		want gateway.STKCallback
	}{
		{"doc-stk-callback-success.json", gateway.STKCallback{Reference: "some_order", ProviderReference: "some_order",
			Successful: true, Message: "Transaction completed successfully"}},
		{"doc-stk-callback-failed.json", gateway.STKCallback{Reference: "some_order", ProviderReference: "some_order",
			Successful: false, Message: "Failed Reason"}},
	} {
		t.Run(tc.file, func(t *testing.T) {
			got, err := c.ParseCallback("application/json", doc(t, tc.file))
			if err != nil {
				t.Fatalf("ParseCallback: %v", err)
			}
			if !reflect.DeepEqual(got, tc.want) {
				t.Errorf("ParseCallback = %+v, want %+v", got, tc.want)
			}
		})
	}
}

const docToken = "eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJ1c2VySW5mbyI6eyJ1c2VySWQiOjIsInJvbGVzIjpbeyJpZCI6Miwicm9sZU5hbWUiOiJBZG1pbmlzdHJhdG9yIn1dfSwiaWF0IjoxNjA4NzMxOTkzLCJleHAiOjE2MDg3MzU1OTN9.1YUH0_2oAICeJx4yLKGzd1uN3FA2IoGHL9lnzBf8_hE"

func TestDocumentExamplesLogin(t *testing.T) {
	t.Run("doc-login-success.json", func(t *testing.T) {
		f := newSTKFake(t)
		f.set(func(f *stkFake) { f.login = stkJSON(http.StatusOK, string(doc(t, "doc-login-success.json"))) })
		c := f.client(&sleepRecorder{})
		tok, err := c.bearer(context.Background())
		if err != nil || tok != docToken {
			t.Fatalf("token = %q, %v; want the document's token", tok, err)
		}
	})
	t.Run("doc-login-error.json", func(t *testing.T) {
		f := newSTKFake(t)
		f.set(func(f *stkFake) { f.login = stkJSON(http.StatusBadRequest, string(doc(t, "doc-login-error.json"))) })
		c := f.client(&sleepRecorder{})
		_, err := c.bearer(context.Background())
		e := asError(t, err)
		if e.Op != "login" || e.HTTPStatus != 400 || e.Message != "The credentials you provided are incorrect" {
			t.Fatalf("error = %#v", e)
		}
	})
}

// sameShape compares a request body with the document's example and returns
// the differences (fixture.Diff), failing on a body that is not JSON.
func sameShape(t *testing.T, name string, got string) []string {
	t.Helper()
	d, err := fixture.Diff(doc(t, name), []byte(got))
	if err != nil {
		t.Fatalf("%s: %v", name, err)
	}
	return d
}

// sameShapeBytes is sameShape for an example that is not a file as is.
func sameShapeBytes(t *testing.T, want, got []byte) []string {
	t.Helper()
	d, err := fixture.Diff(want, got)
	if err != nil {
		t.Fatal(err)
	}
	return d
}

func TestDocumentExampleRequestsSTK(t *testing.T) {
	f := newSTKFake(t)
	c := f.client(&sleepRecorder{})
	if _, err := c.Push(context.Background(), docPush()); err != nil {
		t.Fatalf("Push: %v", err)
	}
	bare := docPush()
	bare.AccountReference, bare.CustomerName, bare.CustomerEmail = "", "", ""
	bare.Reference = "pay_2"
	if _, err := c.Push(context.Background(), bare); err != nil {
		t.Fatalf("Push without optional fields: %v", err)
	}
	if _, err := c.Confirm(context.Background(), gateway.Query{AttemptID: "pay_1", Amount: 100, Phone: "254722705138"}); err != nil {
		t.Fatalf("Confirm: %v", err)
	}
	reqs := f.requests()
	if len(reqs) != 4 {
		t.Fatalf("requests = %v", f.paths())
	}
	login, push, pushBare, query := reqs[0], reqs[1], reqs[2], reqs[3]

	if d := sameShape(t, "doc-login-request.json", login.Body); len(d) != 0 {
		t.Errorf("login body differs from the example: %v", d)
	}
	if login.Authorization != "" {
		t.Errorf("login Authorization = %q, want none", login.Authorization)
	}
	// variable2 has no use here and is never sent.
	if d, want := sameShape(t, "doc-stk-push-request.json", push.Body), []string{"$.variable2: missing here"}; !reflect.DeepEqual(d, want) {
		t.Errorf("push body differs from the example: %v, want only %v", d, want)
	}
	want := []string{"$.customerEmail: missing here", "$.customerName: missing here", "$.variable1: missing here", "$.variable2: missing here"}
	if d := sameShape(t, "doc-stk-push-request.json", pushBare.Body); !reflect.DeepEqual(d, want) {
		t.Errorf("push body without optional values: %v, want exactly %v left out", d, want)
	}
	if strings.Contains(pushBare.Body, `""`) {
		t.Errorf("push body sends an empty string: %s", pushBare.Body)
	}
	if d := sameShape(t, "doc-stk-query-request.json", query.Body); len(d) != 0 {
		t.Errorf("query body differs from the example: %v", d)
	}
	// The example's header holds the token alone: "Authorization: eyJ...".
	tok := push.Authorization
	if !strings.HasPrefix(tok, "eyJ") || strings.ContainsAny(tok, " ") {
		t.Errorf("push Authorization = %q, want the bare token", tok)
	}
	for _, r := range []stkSeen{pushBare, query} {
		if r.Authorization != tok {
			t.Errorf("%s Authorization = %q, want the bare token %q", r.Path, r.Authorization, tok)
		}
	}
}

// queryKeys lists a raw query's parameter names in order.
func queryKeys(raw string) []string {
	var keys []string
	for _, pair := range strings.Split(raw, "&") {
		k, _, _ := strings.Cut(pair, "=")
		keys = append(keys, k)
	}
	return keys
}

func TestDocumentExampleCheckoutParameters(t *testing.T) {
	example := string(doc(t, "doc-checkout-request.query"))
	c := newClient(t, true)
	link, err := c.CheckoutURL(CheckoutRequest{OrderRef: "11", Amount: 100, Currency: "KES", CustomerName: "John Doe",
		Email: "john@email.com", Phone: "254722000000", CallbackURL: "http://examplecallback.com"})
	if err != nil {
		t.Fatal(err)
	}
	u, err := url.Parse(link)
	if err != nil {
		t.Fatal(err)
	}
	if got, want := queryKeys(u.RawQuery), queryKeys(example); !reflect.DeepEqual(got, want) {
		t.Errorf("link parameters = %v, want the document's %v", got, want)
	}
	ex, err := url.ParseQuery(example)
	if err != nil {
		t.Fatal(err)
	}
	q := u.Query()
	for _, k := range []string{"oc", "live", "cn", "eml", "curr", "oref", "cb", "v1", "v2"} {
		if q.Get(k) != ex.Get(k) {
			t.Errorf("%s = %q, the example's is %q", k, q.Get(k), ex.Get(k))
		}
	}
	// The example's amt is "1"; the parameter's own description asks for
	// "1234.00", which is what is sent (ASSUMED.md, "Verification amount").
	if ex.Get("amt") != "1" || q.Get("amt") != "1.00" {
		t.Errorf("amt = %q (example %q), want 1.00", q.Get("amt"), ex.Get("amt"))
	}
}

func TestDocumentExampleReturnURLs(t *testing.T) {
	c := newClient(t, true)
	for _, name := range []string{"doc-return-status.query", "doc-return-sstatus.query"} {
		t.Run(name, func(t *testing.T) {
			q, err := url.ParseQuery(string(doc(t, name)))
			if err != nil {
				t.Fatal(err)
			}
			got, err := c.ParseReturn(q)
			if err != nil {
				t.Fatalf("ParseReturn: %v", err)
			}
			want := Return{OrderRef: "23", Hash: "aei7p7yrx4ae34", Type: TypeMPesa, Amount: "100", Status: "1"}
			if got != want {
				t.Errorf("ParseReturn = %+v, want %+v", got, want)
			}
			// The example's hsh is a placeholder: it proves nothing.
			if err := c.VerifyReturn(got); !errors.Is(err, ErrBadHash) {
				t.Errorf("VerifyReturn = %v, want ErrBadHash", err)
			}
		})
	}
}

func TestDocumentExampleVerification(t *testing.T) {
	example := string(doc(t, "doc-verify-request.query"))
	for _, tc := range []struct {
		file string
		want Verification // Raw is the body
	}{
		{"assumed-verify-success.json", Verification{Status: StatusValueSuccess, OrderRef: "949"}},
		{"assumed-verify-failed.json", Verification{Status: StatusValueFailed, OrderRef: "949"}},
		{"assumed-verify-pending.json", Verification{Status: StatusValuePending, OrderRef: "949"}},
	} {
		t.Run(tc.file, func(t *testing.T) {
			body := doc(t, tc.file)
			f := newCore(t, jsonAnswer(string(body)))
			c := f.client(&sleepRecorder{}, func(cfg *Config) { cfg.OutletCode = "OTC100014" })

			got, err := c.VerifyPayment(context.Background(), "949", 1000, TypeMPesa)
			if err != nil {
				t.Fatalf("VerifyPayment: %v", err)
			}
			want := tc.want
			want.Raw = body
			if !reflect.DeepEqual(got, want) {
				t.Errorf("VerifyPayment = %+v, want %+v", got, want)
			}
			reqs := f.requests()
			if len(reqs) != 1 {
				t.Fatalf("requests = %d", len(reqs))
			}
			if got, want := queryKeys(reqs[0].RawQuery), queryKeys(example); !reflect.DeepEqual(got, want) {
				t.Errorf("verification parameters = %v, want the document's %v", got, want)
			}
			ex, err := url.ParseQuery(example)
			if err != nil {
				t.Fatal(err)
			}
			for _, k := range []string{"type", "bill_ref", "oc"} {
				if reqs[0].Query.Get(k) != ex.Get(k) {
					t.Errorf("%s = %q, the example's is %q", k, reqs[0].Query.Get(k), ex.Get(k))
				}
			}
			// The example sends "10"; the link's amt for 10 shillings is
			// "10.00", and the verification sends what the link carried.
			if got := reqs[0].Query.Get("amount"); got != "10.00" || ex.Get("amount") != "10" {
				t.Errorf("amount = %q (example %q), want 10.00", got, ex.Get("amount"))
			}
		})
	}
}

func TestDocumentExampleIPN(t *testing.T) {
	// The document's IPN is a template: every value is "". Without a
	// billreference it names no order, so it is refused.
	_, err := ParseIPN("application/json", doc(t, "doc-ipn.json"))
	if !errors.Is(err, ErrInvalidIPN) || !strings.Contains(err.Error(), "billreference is missing") {
		t.Fatalf("ParseIPN = %v, want ErrInvalidIPN for the missing billreference", err)
	}
	// The same keys with values are read field for field.
	filled := strings.NewReplacer(
		`"billreference":""`, `"billreference":"pay_1"`, `"amount":""`, `"amount":"1500.00"`,
		`"accountname":""`, `"accountname":"JOHN DOE"`, `"accountno":""`, `"accountno":"254722000000"`,
		`"fees":""`, `"fees":"15"`, `"referenceno":""`, `"referenceno":"QLD82TMWJE"`, `"method":""`, `"method":"MPESA"`,
	).Replace(string(doc(t, "doc-ipn.json")))
	got, err := ParseIPN("application/json", []byte(filled))
	if err != nil {
		t.Fatalf("ParseIPN: %v", err)
	}
	want := IPN{BillReference: "pay_1", Amount: "1500.00", AccountName: "JOHN DOE", AccountNo: "254722000000",
		Fees: "15", ReferenceNo: "QLD82TMWJE", Method: "MPESA"}
	if got != want {
		t.Errorf("ParseIPN = %+v, want %+v", got, want)
	}
}
