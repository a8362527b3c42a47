package pokeapay

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"reflect"
	"strings"
	"testing"
	"time"

	"checkout/gateway"
)

func TestSTKPushSendsEveryDocumentedField(t *testing.T) {
	f := newSTKFake(t)
	c := f.client(&sleepRecorder{})
	got, err := c.Push(context.Background(), stkPushOK())
	if err != nil {
		t.Fatalf("Push: %v", err)
	}
	const answer = `{"success":true,"message":"Transaction initiated successfully","data":{"orderRef":"pay_1","amount":1500,"phone":"254712345678"}}`
	if want := (gateway.STKStarted{ProviderReference: "pay_1", Raw: []byte(answer)}); !reflect.DeepEqual(got, want) {
		t.Fatalf("Push = %+v, want %+v", got, want)
	}

	reqs := f.requests()
	if len(reqs) != 2 {
		t.Fatalf("requests = %v", f.paths())
	}
	push := reqs[1]
	if push.Method != http.MethodPost || push.Path != "/api/v1/stkPush/transaction" ||
		push.ContentType != "application/json" || push.Accept != "application/json" ||
		!strings.HasPrefix(push.Authorization, "ey") {
		t.Fatalf("push request = %+v", push)
	}
	body := decodeBody(t, push.Body)
	want := map[string]any{
		"amount":        json.Number("1500"), // a JSON number, whole shillings
		"phone":         "254712345678",
		"callBackUrl":   "https://shop.example.test/callback/pokeapay-stk?x=1&y=2",
		"outletCode":    stkTestOutlet,
		"orderRef":      "pay_1",
		"variable1":     "INV-1001",
		"customerName":  "Wanjiku Kamau",
		"customerEmail": "wanjiku@example.test",
	}
	if !reflect.DeepEqual(body, want) {
		t.Fatalf("push body = %v\nwant %v", body, want)
	}
	if !strings.Contains(push.Body, `"amount":1500,`) {
		t.Fatalf("amount is not written as a plain integer: %s", push.Body)
	}
}

func TestSTKPushLeavesOutOptionalFieldsWithoutValue(t *testing.T) {
	f := newSTKFake(t)
	c := f.client(&sleepRecorder{})
	r := gateway.STKRequest{Reference: "pay_1", Phone: "254112345678", Amount: 100, CallbackURL: "http://localhost:8080/cb"}
	if _, err := c.Push(context.Background(), r); err != nil {
		t.Fatalf("Push: %v", err)
	}
	body := decodeBody(t, f.requests()[1].Body)
	want := map[string]any{"amount": json.Number("1"), "phone": "254112345678", "callBackUrl": "http://localhost:8080/cb",
		"outletCode": stkTestOutlet, "orderRef": "pay_1"}
	if !reflect.DeepEqual(body, want) {
		t.Fatalf("push body = %v\nwant %v", body, want)
	}
}

func TestSTKPushRefusesBadRequestsWithoutAnyRequest(t *testing.T) {
	tests := []struct {
		name string
		mod  func(r *gateway.STKRequest)
	}{
		{"local phone", func(r *gateway.STKRequest) { r.Phone = "0712345678" }},
		{"plus sign", func(r *gateway.STKRequest) { r.Phone = "+254712345678" }},
		{"254 then 8", func(r *gateway.STKRequest) { r.Phone = "254812345678" }},
		{"one digit short", func(r *gateway.STKRequest) { r.Phone = "25471234567" }},
		{"one digit long", func(r *gateway.STKRequest) { r.Phone = "2547123456789" }},
		{"space before", func(r *gateway.STKRequest) { r.Phone = " 254712345678" }},
		{"newline after", func(r *gateway.STKRequest) { r.Phone = "254712345678\n" }},
		{"document placeholder", func(r *gateway.STKRequest) { r.Phone = "2547xxxxxxxx" }},
		{"non-ASCII digits", func(r *gateway.STKRequest) { r.Phone = "254٧12345678" }},
		{"amount with cents", func(r *gateway.STKRequest) { r.Amount = 150050 }},
		{"amount of one cent", func(r *gateway.STKRequest) { r.Amount = 1 }},
		{"zero amount", func(r *gateway.STKRequest) { r.Amount = 0 }},
		{"negative amount", func(r *gateway.STKRequest) { r.Amount = -100 }},
		{"no reference", func(r *gateway.STKRequest) { r.Reference = "  " }},
		{"long reference", func(r *gateway.STKRequest) { r.Reference = strings.Repeat("p", 51) }},
		{"reference with a control character", func(r *gateway.STKRequest) { r.Reference = "pay\x00_1" }},
		{"relative callback", func(r *gateway.STKRequest) { r.CallbackURL = "/callback/pokeapay-stk" }},
		{"no callback", func(r *gateway.STKRequest) { r.CallbackURL = "" }},
		{"ftp callback", func(r *gateway.STKRequest) { r.CallbackURL = "ftp://shop.example.test/cb" }},
		{"long customer name", func(r *gateway.STKRequest) { r.CustomerName = strings.Repeat("n", 256) }},
		{"account reference with a newline", func(r *gateway.STKRequest) { r.AccountReference = "INV\n1" }},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			f := newSTKFake(t)
			c := f.client(&sleepRecorder{})
			r := stkPushOK()
			tc.mod(&r)
			got, err := c.Push(context.Background(), r)
			if !errors.Is(err, ErrInvalidRequest) {
				t.Fatalf("Push error = %v, want ErrInvalidRequest", err)
			}
			if e := asError(t, err); e.Op != "stk push" || e.HTTPStatus != 0 {
				t.Fatalf("error = %#v", e)
			}
			if !reflect.DeepEqual(got, gateway.STKStarted{}) {
				t.Fatalf("Push = %+v, want nothing", got)
			}
			if n := len(f.requests()); n != 0 {
				t.Fatalf("%d requests sent (%v), want none, not even a login", n, f.paths())
			}
		})
	}
}

func TestSTKPushSubscriberBusyIsErrSubscriberBusy(t *testing.T) {
	const (
		documentTypo = "Unableto lock subscriber, a transaction is already in process for the current subscriber"
		spelledRight = "Unable to lock subscriber, a transaction is already in process for the current subscriber"
	)
	tests := []struct {
		name    string
		status  int
		body    string
		message string
	}{
		{"HTTP 400, the document's sample", http.StatusBadRequest,
			"{\n    \"success\": false,\n    \"error\": \"" + documentTypo + "\"\n}", documentTypo},
		{"HTTP 422, the document's sample", http.StatusUnprocessableEntity,
			"{\n    \"success\": false,\n    \"error\": \"" + documentTypo + "\"\n}", documentTypo},
		{"HTTP 400 spelled right", http.StatusBadRequest,
			`{"success":false,"error":"` + spelledRight + `"}`, spelledRight},
		{"HTTP 200 in capitals", http.StatusOK,
			`{"success":false,"error":"UNABLE TO LOCK SUBSCRIBER"}`, "UNABLE TO LOCK SUBSCRIBER"},
		{"in message instead of error", http.StatusUnprocessableEntity,
			`{"success":false,"message":"` + spelledRight + `"}`, spelledRight},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			f := newSTKFake(t)
			f.set(func(f *stkFake) { f.push = stkJSON(tc.status, tc.body) })
			sleeper := &sleepRecorder{}
			c := f.client(sleeper)
			got, err := c.Push(context.Background(), stkPushOK())
			if !errors.Is(err, gateway.ErrSubscriberBusy) {
				t.Fatalf("Push error = %v, want ErrSubscriberBusy", err)
			}
			want := &Error{Op: "stk push", HTTPStatus: tc.status, Message: tc.message, Err: gateway.ErrSubscriberBusy}
			if e := asError(t, err); !reflect.DeepEqual(e, want) {
				t.Fatalf("error = %#v, want %#v", e, want)
			}
			if !reflect.DeepEqual(got, gateway.STKStarted{}) {
				t.Fatalf("Push = %+v", got)
			}
			if got := f.paths(); !reflect.DeepEqual(got, []string{"/login", "/stkPush/transaction"}) {
				t.Fatalf("requests = %v", got)
			}
			if w := sleeper.Waits(); len(w) != 0 {
				t.Fatalf("waits = %v", w)
			}
		})
	}
}

func TestSTKPushSuccessFalseIsAnErrorWhateverTheHTTPStatus(t *testing.T) {
	// The document's "Invalid/Missing Inputs" answer, verbatim: it came with
	// HTTP 200 in one sample and 422 in another.
	const validation = "\n{\n    \"success\": false,\n    \"error\": \"\\\"phone\\\" with value \\\"2547xxxxxxxx\\\" fails to match the required pattern: /^(254(7|1)\\\\d{8})$/\",\n    \"data\": {\n        \"amount\": 1,\n        \"phone\": \"2547xxxxxxxx\",\n        \"callBackUrl\": \"call back url\",\n        \"outletCode\": \"outlet code\",\n        \"orderRef\": \"order\",\n        \"variable1\": \"v1\",\n        \"variable2\": \"v2\",\n        \"customerName\": \"customer name\",\n        \"customerEmail\": \"customer email\"\n    }\n}"
	const validationText = `"phone" with value "2547xxxxxxxx" fails to match the required pattern: /^(254(7|1)\d{8})$/`
	tests := []struct {
		name   string
		status int
		body   string
		want   *Error
	}{
		{"validation failure with HTTP 200", http.StatusOK, validation,
			&Error{Op: "stk push", HTTPStatus: 200, Message: validationText}},
		{"validation failure with HTTP 422", http.StatusUnprocessableEntity, validation,
			&Error{Op: "stk push", HTTPStatus: 422, Message: validationText}},
		{"success false without text", http.StatusOK, `{"success":false}`,
			&Error{Op: "stk push", HTTPStatus: 200, Message: "PokeaPay did not start the prompt"}},
		{"no success field", http.StatusOK, `{"message":"Transaction initiated successfully","data":{"orderRef":"pay_1"}}`,
			&Error{Op: "stk push", HTTPStatus: 200, Message: "Transaction initiated successfully"}},
		{"success as a word", http.StatusOK, `{"success":"yes","data":{"orderRef":"pay_1"}}`,
			&Error{Op: "stk push", HTTPStatus: 200, Message: "PokeaPay did not start the prompt"}},
		{"not JSON", http.StatusOK, `OK`,
			&Error{Op: "stk push", HTTPStatus: 200, Message: "answer is not a JSON object (application/json; charset=utf-8, 2 bytes)"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			f := newSTKFake(t)
			f.set(func(f *stkFake) { f.push = stkJSON(tc.status, tc.body) })
			c := f.client(&sleepRecorder{})
			got, err := c.Push(context.Background(), stkPushOK())
			if errors.Is(err, gateway.ErrSubscriberBusy) || errors.Is(err, ErrInvalidRequest) {
				t.Fatalf("error %v wraps the wrong sentinel", err)
			}
			if e := asError(t, err); !reflect.DeepEqual(e, tc.want) {
				t.Fatalf("error = %#v, want %#v", e, tc.want)
			}
			if !reflect.DeepEqual(got, gateway.STKStarted{}) {
				t.Fatalf("Push = %+v", got)
			}
		})
	}
}

func TestSTKPushReadsTheSuccessAnswer(t *testing.T) {
	// The document's success answer, verbatim.
	const documented = "{\n    \"success\": true,\n    \"message\": \"Transaction initiated successfully\",\n    \"data\": {\n        \"orderRef\": \"some_order\",\n        \"amount\": 1,\n        \"phone\": \"254717892018\"\n    }\n}"
	tests := []struct {
		name    string
		status  int
		body    string
		wantRef string
	}{
		{"document sample", http.StatusOK, documented, "some_order"},
		{"success judged by the body, not HTTP 201", http.StatusCreated, documented, "some_order"},
		{"success as a string", http.StatusOK, `{"success":"true","data":{"orderRef":"some_order"}}`, "some_order"},
		{"no data: our reference", http.StatusOK, `{"success":true,"message":"Transaction initiated successfully"}`, "some_order"},
		{"orderRef as a number", http.StatusOK, `{"success":true,"data":{"orderRef":12345}}`, "12345"},
		// Recorded, not refused: the prompt may be on the phone.
		{"another orderRef", http.StatusOK, `{"success":true,"data":{"orderRef":"other"}}`, "other"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			f := newSTKFake(t)
			f.set(func(f *stkFake) { f.push = stkJSON(tc.status, tc.body) })
			c := f.client(&sleepRecorder{})
			r := stkPushOK()
			r.Reference = "some_order"
			got, err := c.Push(context.Background(), r)
			if err != nil {
				t.Fatalf("Push: %v", err)
			}
			if want := (gateway.STKStarted{ProviderReference: tc.wantRef, Raw: []byte(tc.body)}); !reflect.DeepEqual(got, want) {
				t.Fatalf("Push = %+v, want %+v", got, want)
			}
		})
	}
}

func TestSTKPushIsNotRetried(t *testing.T) {
	tests := []struct {
		name    string
		handler http.HandlerFunc
		check   func(t *testing.T, err error)
	}{
		{"HTTP 503 page", text(http.StatusServiceUnavailable, "text/html", "<h1>503</h1>"), func(t *testing.T, err error) {
			want := &Error{Op: "stk push", HTTPStatus: 503, Message: "answer is not a JSON object (text/html, 12 bytes)"}
			if e := asError(t, err); !reflect.DeepEqual(e, want) {
				t.Fatalf("error = %#v, want %#v", e, want)
			}
		}},
		{"HTTP 503 JSON", stkJSON(http.StatusServiceUnavailable, `{"success":false,"error":"Service unavailable"}`), func(t *testing.T, err error) {
			want := &Error{Op: "stk push", HTTPStatus: 503, Message: "Service unavailable"}
			if e := asError(t, err); !reflect.DeepEqual(e, want) {
				t.Fatalf("error = %#v, want %#v", e, want)
			}
		}},
		{"timeout", hang, func(t *testing.T, err error) {
			if !errors.Is(err, context.DeadlineExceeded) {
				t.Fatalf("error = %v, want DeadlineExceeded", err)
			}
			if e := asError(t, err); e.Message != "timed out" || e.HTTPStatus != 0 {
				t.Fatalf("error = %#v", e)
			}
		}},
		{"dropped connection", dropConnection, func(t *testing.T, err error) {
			if e := asError(t, err); e.Message != "network error" || e.HTTPStatus != 0 {
				t.Fatalf("error = %#v", e)
			}
		}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			f := newSTKFake(t)
			f.set(func(f *stkFake) { f.push = tc.handler })
			sleeper := &sleepRecorder{}
			c := f.client(sleeper)
			// Logged in first, so that the short timeout bounds only the push.
			if _, err := c.Confirm(context.Background(), stkQueryOK()); err != nil {
				t.Fatalf("Confirm: %v", err)
			}
			c.be.Timeout = 200 * time.Millisecond
			got, err := c.Push(context.Background(), stkPushOK())
			if err == nil {
				t.Fatalf("Push = %+v, want an error", got)
			}
			tc.check(t, err)
			want := []string{"/login", "/transaction/query", "/stkPush/transaction"}
			if got := f.paths(); !reflect.DeepEqual(got, want) {
				t.Fatalf("requests = %v, want %v", got, want)
			}
			if w := sleeper.Waits(); len(w) != 0 {
				t.Fatalf("waits = %v, want none", w)
			}
		})
	}
}

func TestSTKSecretsNeverInErrorsOrLogs(t *testing.T) {
	echo := func(tokenToo bool) http.HandlerFunc {
		return func(w http.ResponseWriter, r *http.Request) {
			msg := "bad login " + stkTestEmail + " / " + strings.ToUpper(stkTestPassword)
			if tokenToo {
				msg += " token " + strings.TrimPrefix(r.Header.Get("Authorization"), "Bearer ")
			}
			b, err := json.Marshal(map[string]any{"success": false, "error": msg})
			if err != nil {
				panic(err)
			}
			stkJSON(http.StatusBadRequest, string(b))(w, r)
		}
	}
	tests := []struct {
		name string
		mod  func(f *stkFake)
	}{
		{"login error echoing the credentials", func(f *stkFake) { f.login = echo(false) }},
		{"push error echoing the credentials and the token", func(f *stkFake) { f.push = echo(true) }},
		{"query error echoing the credentials and the token", func(f *stkFake) { f.query = echo(true) }},
		{"failed query echoing the token in resultDesc", func(f *stkFake) {
			f.query = func(w http.ResponseWriter, r *http.Request) {
				tok := strings.TrimPrefix(r.Header.Get("Authorization"), "Bearer ")
				stkJSON(http.StatusOK, `{"success":true,"data":{"status":"FAILED","resultCode":"1","resultDesc":"`+tok+` `+stkTestEmail+`"}}`)(w, r)
			}
		}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			f := newSTKFake(t)
			f.set(tc.mod)
			var logs lockedBuffer
			c := f.client(&sleepRecorder{}, func(cfg *STKConfig) { cfg.Logger = debugLogger(&logs) })
			var texts []string
			if _, err := c.Push(context.Background(), stkPushOK()); err != nil {
				texts = append(texts, err.Error())
			}
			res, err := c.Confirm(context.Background(), stkQueryOK())
			if err != nil {
				texts = append(texts, err.Error())
			}
			texts = append(texts, res.Message, string(res.Raw), logs.String())
			var tokens []string
			for _, r := range f.requests() {
				if tok, ok := strings.CutPrefix(r.Authorization, "Bearer "); ok {
					tokens = append(tokens, tok)
				}
			}
			for _, s := range texts {
				for _, secret := range append([]string{stkTestEmail, stkTestPassword, "STKEMAIL", "STKPASSWORD"}, tokens...) {
					if strings.Contains(strings.ToUpper(s), strings.ToUpper(secret)) {
						t.Errorf("%q appears in %q", secret, s)
					}
				}
			}
			if !strings.Contains(strings.Join(texts, "\n"), "[redacted]") {
				t.Errorf("nothing was redacted: %q", texts)
			}
		})
	}
}

// A push error says whether a prompt may be on the phone: it wraps
// gateway.ErrNotStarted only when nothing was started (refused before
// sending, the login failed, no connection, a 4xx, "success": false with
// PokeaPay's reason); an error from the push exchange that is no clear
// refusal leaves it possibly started.
func TestSTKPushErrorSaysWhetherAPromptMayHaveStarted(t *testing.T) {
	const validation = `{"success":false,"error":"\"phone\" with value \"2547xxxxxxxx\" fails to match the required pattern","data":{"orderRef":"pay_1"}}`
	tests := []struct {
		name       string
		login      http.HandlerFunc // nil: the fake's login
		push       http.HandlerFunc
		timeout    time.Duration // after logging in; 0 keeps the client's
		request    func(r *gateway.STKRequest)
		notStarted bool
		wantPaths  []string
	}{
		{name: "login answering 503", login: text(http.StatusServiceUnavailable, "text/plain", "down"),
			notStarted: true, wantPaths: []string{"/login"}},
		{name: "login refused", login: stkJSON(http.StatusBadRequest, `{"success":false,"error":"The credentials you provided are incorrect"}`),
			notStarted: true, wantPaths: []string{"/login"}},
		{name: "request refused before sending", request: func(r *gateway.STKRequest) { r.Phone = "0712345678" },
			notStarted: true, wantPaths: nil},
		{name: "validation refusal with HTTP 422", push: stkJSON(http.StatusUnprocessableEntity, validation),
			notStarted: true, wantPaths: []string{"/login", "/stkPush/transaction"}},
		{name: "validation refusal with HTTP 200", push: stkJSON(http.StatusOK, validation),
			notStarted: true, wantPaths: []string{"/login", "/stkPush/transaction"}},
		{name: "subscriber busy with HTTP 400", push: stkJSON(http.StatusBadRequest, `{"success":false,"error":"Unableto lock subscriber"}`),
			notStarted: true, wantPaths: []string{"/login", "/stkPush/transaction"}},
		{name: "rate limited with an HTML page", push: text(http.StatusTooManyRequests, "text/html", "<h1>slow down</h1>"),
			notStarted: true, wantPaths: []string{"/login", "/stkPush/transaction"}},
		{name: "route not found", push: stkJSON(http.StatusNotFound, `{"success":false,"error":"Route not found"}`),
			notStarted: true, wantPaths: []string{"/login", "/stkPush/transaction"}},
		{name: "HTTP 200 not JSON", push: text(http.StatusOK, "text/html", "<html>ok</html>"),
			wantPaths: []string{"/login", "/stkPush/transaction"}},
		{name: "HTTP 200 larger than 64 KiB", push: stkJSON(http.StatusOK, `{"success":true,"pad":"`+strings.Repeat("x", 70<<10)+`"}`),
			wantPaths: []string{"/login", "/stkPush/transaction"}},
		{name: "HTTP 200 without a success flag", push: stkJSON(http.StatusOK, `{"message":"Transaction initiated successfully","data":{"orderRef":"pay_1"}}`),
			wantPaths: []string{"/login", "/stkPush/transaction"}},
		{name: "HTTP 200 success false without a reason", push: stkJSON(http.StatusOK, `{"success":false}`),
			wantPaths: []string{"/login", "/stkPush/transaction"}},
		{name: "HTTP 500 with a reason", push: stkJSON(http.StatusInternalServerError, `{"success":false,"error":"Internal error"}`),
			wantPaths: []string{"/login", "/stkPush/transaction"}},
		{name: "HTTP 502 page", push: text(http.StatusBadGateway, "text/html", "<h1>502</h1>"),
			wantPaths: []string{"/login", "/stkPush/transaction"}},
		{name: "timeout", push: hang, timeout: 200 * time.Millisecond,
			wantPaths: []string{"/login", "/stkPush/transaction"}},
		{name: "dropped connection", push: dropConnection,
			wantPaths: []string{"/login", "/stkPush/transaction"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			f := newSTKFake(t)
			f.set(func(f *stkFake) {
				if tc.login != nil {
					f.login = tc.login
				}
				if tc.push != nil {
					f.push = tc.push
				}
			})
			sleeper := &sleepRecorder{}
			c := f.client(sleeper)
			if tc.timeout != 0 {
				// Logged in first, so that the short timeout bounds only the
				// push.
				if _, err := c.bearer(context.Background()); err != nil {
					t.Fatalf("login: %v", err)
				}
				c.be.Timeout = tc.timeout
			}
			r := stkPushOK()
			if tc.request != nil {
				tc.request(&r)
			}
			got, err := c.Push(context.Background(), r)
			if err == nil {
				t.Fatalf("Push = %+v, want an error", got)
			}
			asError(t, err) // still a *Error
			if ns := errors.Is(err, gateway.ErrNotStarted); ns != tc.notStarted {
				t.Fatalf("errors.Is(%v, ErrNotStarted) = %v, want %v", err, ns, tc.notStarted)
			}
			if !reflect.DeepEqual(got, gateway.STKStarted{}) {
				t.Fatalf("Push = %+v with an error", got)
			}
			if got := f.paths(); !reflect.DeepEqual(got, tc.wantPaths) {
				t.Fatalf("requests = %v, want %v", got, tc.wantPaths)
			}
			if w := sleeper.Waits(); len(w) != 0 {
				t.Fatalf("waits = %v (a push is never retried)", w)
			}
		})
	}
}

// A connection that is never made sends no push: not started.
func TestSTKPushToAClosedPortIsNotStarted(t *testing.T) {
	f := newSTKFake(t)
	c := f.client(&sleepRecorder{})
	if _, err := c.bearer(context.Background()); err != nil {
		t.Fatalf("login: %v", err)
	}
	f.srv.Close() // the port now refuses connections
	_, err := c.Push(context.Background(), stkPushOK())
	if e := asError(t, err); e.HTTPStatus != 0 || e.Op != "stk push" {
		t.Fatalf("error = %#v", e)
	}
	if !errors.Is(err, gateway.ErrNotStarted) {
		t.Fatalf("error %v does not wrap ErrNotStarted", err)
	}
}
