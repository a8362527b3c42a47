package pochipay

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
	"checkout/gateway/internal/fixture"
	"checkout/gateway/internal/httpxtest"
)

// payouts returns a Payouts for this fake with its clock and the given
// sleeper, with cfg changed by mods.
func (f *fakePochipay) payouts(sleeper *sleepRecorder, mods ...func(*Config)) *Payouts {
	f.T.Helper()
	cfg := Config{
		BaseURL:    f.URL(),
		Email:      testEmail,
		Password:   testPassword,
		HTTPClient: f.Srv.Client(),
		Timeout:    5 * time.Second,
		Now:        f.Clock.Now,
		Sleep:      sleeper.Sleep,
	}
	for _, m := range mods {
		m(&cfg)
	}
	p, err := NewPayouts(cfg)
	if err != nil {
		f.T.Fatalf("NewPayouts: %v", err)
	}
	return p
}

// examplePayout is the payout of assumed-disbursement-send-to-mobile-request.json,
// with our rule that requestId and trackingReference are the same
// reference.
func examplePayout() gateway.PayoutRequest {
	return gateway.PayoutRequest{Reference: "po_3Kx8vT1q-1", Phone: "254712345678", Name: "John Doe", Amount: 10000,
		Currency: "KES", Description: "Refund ORDER-1001",
		CallbackURL: "https://checkout.example.com/callback/pochipay-payout"}
}

func TestPayoutSendWritesTheAssumedRequestAndReadsItsAnswer(t *testing.T) {
	f := newFake(t, map[string]http.HandlerFunc{
		pathSendToMobile: raw(http.StatusOK, string(example(t, "assumed-disbursement-send-to-mobile-response.json"))),
	})
	p := f.payouts(&sleepRecorder{})
	started, err := p.Send(context.Background(), examplePayout())
	if err != nil {
		t.Fatalf("Send: %v", err)
	}
	if started.ProviderReference != "" || string(started.Raw) != string(example(t, "assumed-disbursement-send-to-mobile-response.json")) {
		t.Errorf("started = %q, raw %s", started.ProviderReference, started.Raw)
	}
	reqs := f.Requests(pathSendToMobile)
	if len(reqs) != 1 {
		t.Fatalf("%d send-to-mobile requests, want 1", len(reqs))
	}
	if reqs[0].Authorization != "Bearer "+tokenName(1) || reqs[0].Method != http.MethodPost {
		t.Errorf("request %s with Authorization %q", reqs[0].Method, reqs[0].Authorization)
	}
	want := example(t, "assumed-disbursement-send-to-mobile-request.json")
	fixture.SameShape(t, "send-to-mobile", want, []byte(reqs[0].Body))
	var got, w sendToMobileRequest
	if err := json.Unmarshal([]byte(reqs[0].Body), &got); err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(want, &w); err != nil {
		t.Fatal(err)
	}
	// The example's requestId is "po_3Kx8vT1q"; ours is the tracking
	// reference itself (one recipient per request).
	w.RequestID = "po_3Kx8vT1q-1"
	if !reflect.DeepEqual(got, w) {
		t.Errorf("request = %+v\nwant      %+v", got, w)
	}
}

func TestPayoutSendRefusalsAreNotStarted(t *testing.T) {
	for _, tt := range []struct {
		name string
		h    http.HandlerFunc
		want string
	}{
		{"400 example", raw(http.StatusBadRequest, string(example(t, "assumed-disbursement-send-to-mobile-error.json"))), "Insufficient balance"},
		{"200 with errors", raw(http.StatusOK, `{"result":null,"message":"Invalid phone","errors":["Invalid phone"]}`), "Invalid phone"},
		{"422 not JSON", httpxtest.Raw(http.StatusUnprocessableEntity, "text/html", "<p>no</p>"), "not JSON"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			f := newFake(t, map[string]http.HandlerFunc{pathSendToMobile: tt.h})
			_, err := f.payouts(&sleepRecorder{}).Send(context.Background(), examplePayout())
			if !errors.Is(err, gateway.ErrNotStarted) || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("error %v: want ErrNotStarted saying %q", err, tt.want)
			}
		})
	}
}

func TestPayoutSendThatMayHaveReachedPochipayIsNotRetried(t *testing.T) {
	for _, tt := range []struct {
		name string
		h    http.HandlerFunc
	}{
		{"500", raw(http.StatusInternalServerError, `{"result":null,"message":"oops","errors":["oops"]}`)},
		{"502 html", httpxtest.Raw(http.StatusBadGateway, "text/html", "<p>bad gateway</p>")},
		// A 408, 409, 425 or 429 may come after the request was forwarded.
		{"408", raw(http.StatusRequestTimeout, `{"result":null,"message":"Request timeout","errors":["Request timeout"]}`)},
		{"409", raw(http.StatusConflict, `{"result":null,"message":"Duplicate requestId","errors":["Duplicate requestId"]}`)},
		{"425", httpxtest.Raw(http.StatusTooEarly, "text/plain", "too early")},
		{"429", raw(http.StatusTooManyRequests, `{"result":null,"message":"Too many requests","errors":["Too many requests"]}`)},
		{"200 without result", raw(http.StatusOK, `{"result":null,"message":"ok","errors":[]}`)},
		{"200 not JSON", httpxtest.Raw(http.StatusOK, "text/html", "<p>ok</p>")},
		{"timeout", hang},
		{"dropped", dropConnection},
	} {
		t.Run(tt.name, func(t *testing.T) {
			f := newFake(t, map[string]http.HandlerFunc{pathSendToMobile: tt.h})
			s := &sleepRecorder{}
			p := f.payouts(s, func(c *Config) { c.Timeout = 200 * time.Millisecond })
			_, err := p.Send(context.Background(), examplePayout())
			if err == nil || errors.Is(err, gateway.ErrNotStarted) {
				t.Fatalf("error %v: want one that leaves the payout possibly sent", err)
			}
			if n := len(f.Requests(pathSendToMobile)); n != 1 {
				t.Errorf("%d sends, want exactly 1", n)
			}
		})
	}
}

func TestPayoutSendRefusedBeforeSending(t *testing.T) {
	for _, tt := range []struct {
		name string
		mod  func(*gateway.PayoutRequest)
	}{
		{"no reference", func(r *gateway.PayoutRequest) { r.Reference = "" }},
		{"bad phone", func(r *gateway.PayoutRequest) { r.Phone = "0712345678" }},
		{"cents", func(r *gateway.PayoutRequest) { r.Amount = 10050 }},
		{"zero", func(r *gateway.PayoutRequest) { r.Amount = 0 }},
		{"USD", func(r *gateway.PayoutRequest) { r.Currency = "USD" }},
		{"no callback", func(r *gateway.PayoutRequest) { r.CallbackURL = "/callback" }},
	} {
		t.Run(tt.name, func(t *testing.T) {
			f := newFake(t, map[string]http.HandlerFunc{pathSendToMobile: raw(http.StatusOK, `{}`)})
			r := examplePayout()
			tt.mod(&r)
			_, err := f.payouts(&sleepRecorder{}).Send(context.Background(), r)
			if !errors.Is(err, gateway.ErrNotStarted) || !errors.Is(err, ErrInvalidRequest) {
				t.Fatalf("error %v: want ErrNotStarted and ErrInvalidRequest", err)
			}
			if f.Tokens() != 0 || len(f.Requests(pathSendToMobile)) != 0 {
				t.Error("something was sent")
			}
		})
	}
}

func TestPayoutStatusReadsTheAssumedAnswers(t *testing.T) {
	const ref = "po_3Kx8vT1q-1"
	for _, tt := range []struct {
		name   string
		status int
		body   string
		want   gateway.PayoutResult
	}{
		{"pending", http.StatusOK, string(example(t, "assumed-disbursement-status-pending.json")),
			gateway.PayoutResult{Status: gateway.StatusPending, Reference: ref, Verified: true}},
		{"completed", http.StatusOK, string(example(t, "assumed-disbursement-status-completed.json")),
			gateway.PayoutResult{Status: gateway.StatusSucceeded, Reference: ref, Receipt: "SGR8XYZ789", Code: "0", Verified: true}},
		{"not found", http.StatusNotFound, string(example(t, "assumed-disbursement-status-notfound.json")),
			gateway.PayoutResult{Status: gateway.StatusNotFound, Reference: ref, Message: "Transaction not found", Verified: true}},
		{"failed", http.StatusOK, `{"result":{"trackingReference":"po_3Kx8vT1q-1","status":"Failed","failReason":"The balance is insufficient for the transaction."},"errors":[]}`,
			gateway.PayoutResult{Status: gateway.StatusFailed, Reference: ref, Code: "1", Message: "The balance is insufficient for the transaction.", Verified: true}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			f := newFake(t, map[string]http.HandlerFunc{pathDisbursementStatus: raw(tt.status, tt.body)})
			got, err := f.payouts(&sleepRecorder{}).Status(context.Background(), ref)
			if err != nil {
				t.Fatalf("Status: %v", err)
			}
			if string(got.Raw) != tt.body {
				t.Errorf("raw = %s", got.Raw)
			}
			got.Raw = nil
			if !reflect.DeepEqual(got, tt.want) {
				t.Errorf("result = %+v\nwant     %+v", got, tt.want)
			}
			reqs := f.Requests(pathDisbursementStatus)
			if len(reqs) != 1 {
				t.Fatalf("%d status requests", len(reqs))
			}
			fixture.SameShape(t, "status request", example(t, "assumed-disbursement-status-request.json"), []byte(reqs[0].Body))
			if reqs[0].Body != `{"trackingReference":"po_3Kx8vT1q-1"}` {
				t.Errorf("request body = %s", reqs[0].Body)
			}
		})
	}
}

func TestPayoutStatusNeverGuessesFromAnUnclearAnswer(t *testing.T) {
	for _, tt := range []struct {
		name   string
		status int
		body   string
	}{
		{"another reference", http.StatusOK, `{"result":{"trackingReference":"999","status":"Completed"},"errors":[]}`},
		{"no status", http.StatusOK, `{"result":{"trackingReference":"po_3Kx8vT1q-1"},"errors":[]}`},
		{"unknown status", http.StatusOK, `{"result":{"status":"Reversing"},"errors":[]}`},
		{"completed with a fail reason", http.StatusOK, `{"result":{"status":"Completed","failReason":"odd"},"errors":[]}`},
		{"404 route", http.StatusNotFound, `{"message":"Route not found"}`},
		{"404 html", http.StatusNotFound, `<html>404</html>`},
		{"400", http.StatusBadRequest, `{"result":null,"message":"bad","errors":["bad"]}`},
	} {
		t.Run(tt.name, func(t *testing.T) {
			f := newFake(t, map[string]http.HandlerFunc{pathDisbursementStatus: raw(tt.status, tt.body)})
			r, err := f.payouts(&sleepRecorder{}).Status(context.Background(), "po_3Kx8vT1q-1")
			if err == nil {
				t.Fatalf("Status = %+v, want an error", r)
			}
			asError(t, err)
		})
	}
}

func TestPayoutStatusIsRetriedOn5xx(t *testing.T) {
	f := newFake(t, map[string]http.HandlerFunc{pathDisbursementStatus: sequence(
		raw(http.StatusBadGateway, `{}`), raw(http.StatusOK, string(example(t, "assumed-disbursement-status-completed.json"))))})
	s := &sleepRecorder{}
	r, err := f.payouts(s).Status(context.Background(), "po_3Kx8vT1q-1")
	if err != nil || r.Status != gateway.StatusSucceeded {
		t.Fatalf("Status = %+v, %v", r, err)
	}
	if n := len(f.Requests(pathDisbursementStatus)); n != 2 || len(s.Waits()) != 1 {
		t.Errorf("%d tries, %d waits; want 2 and 1", n, len(s.Waits()))
	}
}

func TestPayoutCallbackReadsTheAssumedExamplesUnverified(t *testing.T) {
	p := newFake(t, nil).payouts(&sleepRecorder{})
	for _, tt := range []struct {
		name string
		want gateway.PayoutResult
	}{
		{"assumed-disbursement-callback-success.json", gateway.PayoutResult{Status: gateway.StatusSucceeded,
			Reference: "po_3Kx8vT1q-1", Receipt: "SGR8XYZ789", Code: "0"}},
		{"assumed-disbursement-callback-failed.json", gateway.PayoutResult{Status: gateway.StatusFailed,
			Reference: "po_3Kx8vT1q-1", Message: "The recipient is not a registered M-Pesa customer"}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			body := example(t, tt.name)
			got, err := p.ParseCallback("application/json", body)
			if err != nil {
				t.Fatal(err)
			}
			if string(got.Raw) != string(body) {
				t.Errorf("raw = %s", got.Raw)
			}
			got.Raw = nil
			if !reflect.DeepEqual(got, tt.want) {
				t.Errorf("callback = %+v\nwant       %+v", got, tt.want)
			}
		})
	}
}

func TestPayoutCallbackRefusesWhatIsNotOne(t *testing.T) {
	p := newFake(t, nil).payouts(&sleepRecorder{})
	for name, body := range map[string]string{
		"not JSON":          `successful=true`,
		"no reference":      `{"successful":true}`,
		"no successful":     `{"trackingReference":"123456789012"}`,
		"odd successful":    `{"trackingReference":"123456789012","successful":"yes"}`,
		"control character": `{"trackingReference":"12\u0000","successful":true}`,
		"too large":         `{"trackingReference":"1","successful":true,"x":"` + strings.Repeat("a", 17<<10) + `"}`,
	} {
		t.Run(name, func(t *testing.T) {
			if r, err := p.ParseCallback("application/json", []byte(body)); !errors.Is(err, ErrInvalidCallback) {
				t.Fatalf("ParseCallback = %+v, %v; want ErrInvalidCallback", r, err)
			}
		})
	}
}

func TestPayoutBalanceReadsTheAssumedAnswer(t *testing.T) {
	f := newFake(t, map[string]http.HandlerFunc{
		pathBalance: raw(http.StatusOK, string(example(t, "assumed-account-balance-response.json"))),
	})
	amt, cur, err := f.payouts(&sleepRecorder{}).Balance(context.Background())
	if err != nil || amt != 1500050 || cur != "KES" {
		t.Fatalf("Balance = %v %s, %v; want 15000.50 KES", amt, cur, err)
	}
	reqs := f.Requests(pathBalance)
	if len(reqs) != 1 || reqs[0].Method != http.MethodGet || reqs[0].Body != "" {
		t.Errorf("requests = %+v", reqs)
	}
}

func TestPayoutBalanceNamesAMissingOrBadBalance(t *testing.T) {
	for body, want := range map[string]string{
		`{"result":{"currency":"KES"},"errors":[]}`:                   "result.balance",
		`{"result":{"currency":"KES","balance":true},"errors":[]}`:    "result.balance",
		`{"result":{"currency":"KES","balance":"1.234"},"errors":[]}`: "result.balance",
	} {
		f := newFake(t, map[string]http.HandlerFunc{pathBalance: raw(http.StatusOK, body)})
		if _, _, err := f.payouts(&sleepRecorder{}).Balance(context.Background()); err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("%s: error %v, want one naming %s", body, err, want)
		}
	}
}

func TestPayoutCancelSendsTheAssumedRequest(t *testing.T) {
	f := newFake(t, map[string]http.HandlerFunc{
		pathDisbursementCancel: raw(http.StatusOK, string(example(t, "assumed-disbursement-cancel-response.json"))),
	})
	if err := f.payouts(&sleepRecorder{}).CancelPayout(context.Background(), "po_3Kx8vT1q-1"); err != nil {
		t.Fatalf("CancelPayout: %v", err)
	}
	reqs := f.Requests(pathDisbursementCancel)
	if len(reqs) != 1 {
		t.Fatalf("%d cancel requests", len(reqs))
	}
	want := example(t, "assumed-disbursement-cancel-request.json")
	fixture.SameShape(t, "cancel", want, []byte(reqs[0].Body))
	var got, w trackingRequest
	_ = json.Unmarshal([]byte(reqs[0].Body), &got)
	_ = json.Unmarshal(want, &w)
	if got != w {
		t.Errorf("cancel request = %+v, want %+v", got, w)
	}
}

func TestPayoutCancelRefusedIsAnError(t *testing.T) {
	for _, h := range []http.HandlerFunc{
		raw(http.StatusBadRequest, `{"result":null,"message":"Transaction has not been pending for 24 hours","errors":["Transaction has not been pending for 24 hours"]}`),
		raw(http.StatusOK, `{"result":null,"message":"Cannot cancel","errors":["Cannot cancel"]}`),
	} {
		f := newFake(t, map[string]http.HandlerFunc{pathDisbursementCancel: h})
		if err := f.payouts(&sleepRecorder{}).CancelPayout(context.Background(), "po_3Kx8vT1q-1"); err == nil {
			t.Error("a refused cancel is not an error")
		}
	}
}

func TestPayoutCallsShareOneToken(t *testing.T) {
	f := newFake(t, map[string]http.HandlerFunc{
		pathSendToMobile:       raw(http.StatusOK, string(example(t, "assumed-disbursement-send-to-mobile-response.json"))),
		pathDisbursementStatus: raw(http.StatusOK, string(example(t, "assumed-disbursement-status-pending.json"))),
		pathBalance:            raw(http.StatusOK, string(example(t, "assumed-account-balance-response.json"))),
	})
	p := f.payouts(&sleepRecorder{})
	ctx := context.Background()
	if _, _, err := p.Balance(ctx); err != nil {
		t.Fatal(err)
	}
	if _, err := p.Send(ctx, examplePayout()); err != nil {
		t.Fatal(err)
	}
	if _, err := p.Status(ctx, "po_3Kx8vT1q-1"); err != nil {
		t.Fatal(err)
	}
	if f.Tokens() != 1 {
		t.Errorf("%d token requests, want 1", f.Tokens())
	}
	if p.Name() != "pochipay" {
		t.Errorf("Name = %q", p.Name())
	}
}
