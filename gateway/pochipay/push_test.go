package pochipay

import (
	"context"
	"errors"
	"net/http"
	"reflect"
	"strings"
	"testing"
	"time"

	"checkout/gateway"
)

// pushRequest is a valid prompt for KES 1,500.
func pushRequest() gateway.STKRequest {
	return gateway.STKRequest{
		Reference:        "pay_01",
		Phone:            "254712345678",
		Amount:           150000,
		CallbackURL:      "https://shop.example.co.ke/callback/pochipay",
		AccountReference: "INV-1001",
		Description:      "Order INV-1001",
		CustomerName:     "Wanjiru Kamau",
		CustomerEmail:    "wanjiru@example.co.ke",
	}
}

func TestPushSendsEveryFieldWithTheRightTypes(t *testing.T) {
	const accepted = `{"result":{"collectionId":"col_123","isProcessing":true},"message":"Success","errors":[]}`
	tests := []struct {
		name     string
		change   func(*gateway.STKRequest)
		answer   string
		wantBody string
		want     gateway.STKStarted
	}{
		{
			name:   "every field",
			answer: accepted,
			wantBody: `{"orderId":"pay_01","billRefNumber":"INV-1001","phoneNumber":"254712345678","amount":1500,` +
				`"narration":"Order INV-1001","callbackUrl":"https://shop.example.co.ke/callback/pochipay"}`,
			want: gateway.STKStarted{ProviderReference: "col_123", Raw: []byte(accepted)},
		},
		{
			name: "no account reference or description: the reference stands in",
			change: func(r *gateway.STKRequest) {
				r.AccountReference, r.Description, r.Phone, r.Amount = "", "", "254112345678", 100
			},
			answer: `{"result":{"collectionId":98765,"isProcessing":"false"}}`,
			wantBody: `{"orderId":"pay_01","billRefNumber":"pay_01","phoneNumber":"254112345678","amount":1,` +
				`"narration":"pay_01","callbackUrl":"https://shop.example.co.ke/callback/pochipay"}`,
			want: gateway.STKStarted{ProviderReference: "98765", Raw: []byte(`{"result":{"collectionId":98765,"isProcessing":"false"}}`)},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newFake(t, map[string]http.HandlerFunc{pathCollect: raw(http.StatusOK, tt.answer)})
			c := f.client(&sleepRecorder{})
			r := pushRequest()
			if tt.change != nil {
				tt.change(&r)
			}

			got, err := c.Push(t.Context(), r)

			if err != nil {
				t.Fatalf("Push: %v", err)
			}
			if !reflect.DeepEqual(got, tt.want) {
				t.Errorf("started = %+v (raw %s), want %+v (raw %s)", got, got.Raw, tt.want, tt.want.Raw)
			}
			reqs := f.Requests(pathCollect)
			if len(reqs) != 1 {
				t.Fatalf("push requests = %d, want 1", len(reqs))
			}
			req := reqs[0]
			want := seenRequest{Method: http.MethodPost, Path: "/collections/mpesa", Authorization: "Bearer " + tokenName(1),
				Accept: "application/json", ContentType: "application/json", Body: tt.wantBody}
			if req != want {
				t.Errorf("request:\n got %+v\nwant %+v", req, want)
			}
		})
	}
}

func TestPushRefusesBadPhonesAndCentsWithoutARequest(t *testing.T) {
	tests := []struct {
		name    string
		change  func(*gateway.STKRequest)
		wantErr string
	}{
		{"local 07 number", func(r *gateway.STKRequest) { r.Phone = "0712345678" }, "phone must be 254 followed by 7 or 1 and 8 digits"},
		{"plus sign", func(r *gateway.STKRequest) { r.Phone = "+254712345678" }, "phone must be 254 followed by 7 or 1 and 8 digits"},
		{"spaces", func(r *gateway.STKRequest) { r.Phone = "254 712 345 678" }, "phone must be 254 followed by 7 or 1 and 8 digits"},
		{"one digit short", func(r *gateway.STKRequest) { r.Phone = "25471234567" }, "phone must be 254 followed by 7 or 1 and 8 digits"},
		{"one digit long", func(r *gateway.STKRequest) { r.Phone = "2547123456789" }, "phone must be 254 followed by 7 or 1 and 8 digits"},
		{"not 7 or 1 after 254", func(r *gateway.STKRequest) { r.Phone = "254812345678" }, "phone must be 254 followed by 7 or 1 and 8 digits"},
		{"other country", func(r *gateway.STKRequest) { r.Phone = "255712345678" }, "phone must be 254 followed by 7 or 1 and 8 digits"},
		{"non-ASCII digits", func(r *gateway.STKRequest) { r.Phone = "254٧12345678" }, "phone must be 254 followed by 7 or 1 and 8 digits"},
		{"no phone", func(r *gateway.STKRequest) { r.Phone = "" }, "phone must be 254 followed by 7 or 1 and 8 digits"},
		{"cents", func(r *gateway.STKRequest) { r.Amount = 150050 }, "amount 1500.50 has cents; M-Pesa takes whole shillings"},
		{"one cent", func(r *gateway.STKRequest) { r.Amount = 1 }, "amount 0.01 has cents; M-Pesa takes whole shillings"},
		{"zero amount", func(r *gateway.STKRequest) { r.Amount = 0 }, "amount must be more than zero"},
		{"negative amount", func(r *gateway.STKRequest) { r.Amount = -100 }, "amount must be more than zero"},
		{"no reference", func(r *gateway.STKRequest) { r.Reference = " " }, "reference is required"},
		{"control character", func(r *gateway.STKRequest) { r.Description = "a\nb" },
			"reference, account reference and description must be printable text"},
		{"no callback URL", func(r *gateway.STKRequest) { r.CallbackURL = "" }, "callback URL must be an absolute http(s) URL"},
		{"relative callback URL", func(r *gateway.STKRequest) { r.CallbackURL = "/callback/pochipay" }, "callback URL must be an absolute http(s) URL"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newFake(t, map[string]http.HandlerFunc{pathCollect: raw(http.StatusOK, `{"result":{"collectionId":"x"}}`)})
			c := f.client(&sleepRecorder{})
			r := pushRequest()
			tt.change(&r)

			_, err := c.Push(t.Context(), r)

			if want := "pochipay: push: invalid request: " + tt.wantErr; err == nil || err.Error() != want {
				t.Fatalf("error = %v, want %q", err, want)
			}
			if !errors.Is(err, ErrInvalidRequest) {
				t.Errorf("error does not wrap ErrInvalidRequest")
			}
			if e := asError(t, err); e.HTTPStatus != 0 || e.Op != "push" || len(e.Messages) != 0 {
				t.Errorf("error = %+v", *e)
			}
			if r.Phone != "" && strings.Contains(err.Error(), r.Phone) {
				t.Errorf("error %q quotes the customer's number", err)
			}
			if n, tok := len(f.Requests(pathCollect)), f.Tokens(); n != 0 || tok != 0 {
				t.Errorf("requests = %d, token requests = %d, want none", n, tok)
			}
		})
	}
}

func TestPushToABusyPhoneWrapsErrSubscriberBusy(t *testing.T) {
	tests := []struct {
		name   string
		status int
		body   string
		msgs   []string
	}{
		{
			name:   "Safaricom's lock subscriber text",
			status: http.StatusBadRequest,
			body:   `{"result":null,"message":"Bad Request","errors":["Unable to lock subscriber, a transaction is already in process for the current subscriber"]}`,
			msgs:   []string{"Bad Request", "Unable to lock subscriber, a transaction is already in process for the current subscriber"},
		},
		{
			name:   "code 1001 in a 200",
			status: http.StatusOK,
			body:   `{"result":null,"errors":[{"code":1001,"message":"Request failed"}]}`,
			msgs:   []string{"1001: Request failed"},
		},
		{
			name:   "already in progress as the message",
			status: http.StatusConflict,
			body:   `{"message":"A transaction is already in progress for this number","errors":[]}`,
			msgs:   []string{"A transaction is already in progress for this number"},
		},
		{
			name:   "ASP.NET validation map",
			status: http.StatusBadRequest,
			body:   `{"title":"One or more validation errors occurred.","status":400,"errors":{"PhoneNumber":["Unable to LOCK subscriber"]}}`,
			msgs:   []string{"PhoneNumber: Unable to LOCK subscriber"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newFake(t, map[string]http.HandlerFunc{pathCollect: raw(tt.status, tt.body)})
			sleeper := &sleepRecorder{}
			c := f.client(sleeper)

			_, err := c.Push(t.Context(), pushRequest())

			if !errors.Is(err, gateway.ErrSubscriberBusy) {
				t.Fatalf("error = %v, want one wrapping gateway.ErrSubscriberBusy", err)
			}
			e := asError(t, err)
			if e.HTTPStatus != tt.status || e.Op != "push" || !equalStrings(e.Messages, tt.msgs) || e.Err != gateway.ErrSubscriberBusy {
				t.Errorf("error = %+v, want HTTP %d messages %q", *e, tt.status, tt.msgs)
			}
			if n, w := len(f.Requests(pathCollect)), len(sleeper.Waits()); n != 1 || w != 0 {
				t.Errorf("requests = %d, waits = %d, want 1 request and no wait", n, w)
			}
		})
	}
}

func TestPushOtherRefusalsAreNotBusy(t *testing.T) {
	tests := []struct {
		name    string
		status  int
		body    string
		wantErr string
		msgs    []string
	}{
		{"1001 inside a phone number", http.StatusBadRequest, `{"errors":["Invalid phone number 254710011234"]}`,
			"pochipay: push: HTTP 400: Invalid phone number 254710011234", []string{"Invalid phone number 254710011234"}},
		{"other refusal", http.StatusBadRequest, `{"message":"Insufficient float","errors":[]}`,
			"pochipay: push: HTTP 400: Insufficient float", []string{"Insufficient float"}},
		{"server error without a body", http.StatusInternalServerError, ``,
			"pochipay: push: HTTP 500: empty answer (Internal Server Error)", nil},
		{"answer without a collection id", http.StatusOK, `{"result":{"isProcessing":true},"errors":[]}`,
			"pochipay: push: HTTP 200: answer has no result.collectionId", nil},
		{"answer without a result", http.StatusOK, `{"result":null,"message":"Accepted","errors":[]}`,
			"pochipay: push: HTTP 200: Accepted: answer has no result", []string{"Accepted"}},
		{"answer that is not an object", http.StatusOK, `["col_123"]`,
			"pochipay: push: HTTP 200: unexpected answer: json: cannot unmarshal array into Go value of type pochipay.envelope", nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newFake(t, map[string]http.HandlerFunc{pathCollect: raw(tt.status, tt.body)})
			c := f.client(&sleepRecorder{})

			_, err := c.Push(t.Context(), pushRequest())

			if err == nil || err.Error() != tt.wantErr {
				t.Fatalf("error = %v, want %q", err, tt.wantErr)
			}
			if errors.Is(err, gateway.ErrSubscriberBusy) {
				t.Errorf("error wraps gateway.ErrSubscriberBusy")
			}
			if e := asError(t, err); e.HTTPStatus != tt.status || e.Op != "push" || !equalStrings(e.Messages, tt.msgs) {
				t.Errorf("error = %+v", *e)
			}
		})
	}
}

func TestPushIsNotRetriedOn503OrTimeout(t *testing.T) {
	tests := []struct {
		name       string
		handler    http.HandlerFunc
		wantStatus int
		wantIs     error
	}{
		{"503", raw(http.StatusServiceUnavailable, `{"message":"Service Unavailable"}`), http.StatusServiceUnavailable, nil},
		{"timeout", hang, 0, context.DeadlineExceeded},
		{"dropped connection", dropConnection, 0, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newFake(t, map[string]http.HandlerFunc{pathCollect: tt.handler})
			sleeper := &sleepRecorder{}
			c := f.client(sleeper, func(cfg *Config) { cfg.Timeout = 50 * time.Millisecond })

			_, err := c.Push(t.Context(), pushRequest())

			e := asError(t, err)
			if e.HTTPStatus != tt.wantStatus || e.Op != "push" {
				t.Errorf("error = %+v, want HTTP %d", *e, tt.wantStatus)
			}
			if tt.wantIs != nil && !errors.Is(err, tt.wantIs) {
				t.Errorf("error = %v, want %v", err, tt.wantIs)
			}
			if n := len(f.Requests(pathCollect)); n != 1 {
				t.Errorf("push requests = %d, want exactly 1", n)
			}
			if w := sleeper.Waits(); len(w) != 0 {
				t.Errorf("waits = %v, want none", w)
			}
		})
	}
}

func TestClientIsAnSTKProvider(t *testing.T) {
	var p gateway.STKProvider
	c, err := New(Config{Email: testEmail, Password: testPassword})
	if err != nil {
		t.Fatal(err)
	}
	p = c
	if p.Name() != "pochipay" {
		t.Errorf("Name() = %q", p.Name())
	}
}

// A push error says whether a prompt may be on the phone: it wraps
// gateway.ErrNotStarted only when nothing was started (refused before
// sending, the token request failed, a 4xx, Pochipay's "errors" in a 200, a
// busy phone); an error from the push exchange that is no clear refusal
// leaves it possibly started.
func TestPushErrorSaysWhetherAPromptMayHaveStarted(t *testing.T) {
	tests := []struct {
		name       string
		token      http.HandlerFunc // nil: the fake's token
		push       http.HandlerFunc
		request    func(r *gateway.STKRequest)
		notStarted bool
		wantPushes int
	}{
		{name: "token request answering 502", token: raw(http.StatusBadGateway, `{"message":"Bad Gateway"}`),
			notStarted: true, wantPushes: 0},
		{name: "token request refused", token: raw(http.StatusBadRequest, `{"result":null,"message":"Invalid credentials","errors":[]}`),
			notStarted: true, wantPushes: 0},
		{name: "request refused before sending", request: func(r *gateway.STKRequest) { r.Amount = 150050 },
			notStarted: true, wantPushes: 0},
		{name: "HTTP 400 refusal", push: raw(http.StatusBadRequest, `{"message":"Insufficient float","errors":[]}`),
			notStarted: true, wantPushes: 1},
		{name: "errors in a 200", push: raw(http.StatusOK, `{"result":null,"errors":["Invalid phone number"]}`),
			notStarted: true, wantPushes: 1},
		{name: "busy phone", push: raw(http.StatusOK, `{"result":null,"errors":[{"code":1001,"message":"Request failed"}]}`),
			notStarted: true, wantPushes: 1},
		{name: "rate limited with an HTML page", push: func(w http.ResponseWriter, _ *http.Request) {
			writeRaw(w, http.StatusTooManyRequests, "text/html", "<h1>slow down</h1>")
		}, notStarted: true, wantPushes: 1},
		{name: "HTTP 500 without a body", push: raw(http.StatusInternalServerError, ``), wantPushes: 1},
		{name: "HTTP 503 with a message", push: raw(http.StatusServiceUnavailable, `{"message":"Service Unavailable"}`), wantPushes: 1},
		{name: "HTTP 200 not JSON", push: func(w http.ResponseWriter, _ *http.Request) {
			writeRaw(w, http.StatusOK, "text/html", "<html>ok</html>")
		}, wantPushes: 1},
		{name: "HTTP 200 without a result", push: raw(http.StatusOK, `{"result":null,"message":"Accepted","errors":[]}`), wantPushes: 1},
		{name: "HTTP 200 without a collection id", push: raw(http.StatusOK, `{"result":{"isProcessing":true},"errors":[]}`), wantPushes: 1},
		{name: "timeout", push: hang, wantPushes: 1},
		{name: "dropped connection", push: dropConnection, wantPushes: 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			routes := map[string]http.HandlerFunc{}
			if tt.push != nil {
				routes[pathCollect] = tt.push
			}
			f := newFake(t, routes, func(f *fakePochipay) { f.TokenHandler = tt.token })
			sleeper := &sleepRecorder{}
			c := f.client(sleeper, func(cfg *Config) { cfg.Timeout = 200 * time.Millisecond })
			r := pushRequest()
			if tt.request != nil {
				tt.request(&r)
			}

			got, err := c.Push(t.Context(), r)

			if err == nil {
				t.Fatalf("Push = %+v, want an error", got)
			}
			asError(t, err) // still a *Error
			if ns := errors.Is(err, gateway.ErrNotStarted); ns != tt.notStarted {
				t.Fatalf("errors.Is(%v, ErrNotStarted) = %v, want %v", err, ns, tt.notStarted)
			}
			if !reflect.DeepEqual(got, gateway.STKStarted{}) {
				t.Errorf("Push = %+v with an error", got)
			}
			if n := len(f.Requests(pathCollect)); n != tt.wantPushes {
				t.Errorf("push requests = %d, want %d", n, tt.wantPushes)
			}
			if w := sleeper.Waits(); len(w) != 0 {
				t.Errorf("waits = %v, want none", w)
			}
		})
	}
}
