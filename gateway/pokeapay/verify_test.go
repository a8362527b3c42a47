package pokeapay

import (
	"context"
	"errors"
	"net/http"
	"net/url"
	"reflect"
	"strings"
	"testing"
	"time"

	"checkout/gateway"
)

func TestVerifyPaymentSendsTheDocumentQuery(t *testing.T) {
	tests := []struct {
		name       string
		billRef    string
		amount     gateway.Amount
		typ        string
		wantAmount string
	}{
		{"M-Pesa, whole shillings", "pay_01J9ZK4M7Q", 150000, TypeMPesa, "1500.00"},
		{"card, cents", "ORD-123", 123456789, TypeCard, "1234567.89"},
		{"small amount", "949", 1000, TypeMPesa, "10.00"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newCore(t, jsonAnswer(`{"status":"`+StatusValueSuccess+`"}`))
			c := f.client(&sleepRecorder{})

			if _, err := c.VerifyPayment(t.Context(), tt.billRef, tt.amount, tt.typ); err != nil {
				t.Fatal(err)
			}

			reqs := f.requests()
			if len(reqs) != 1 {
				t.Fatalf("requests = %d, want 1", len(reqs))
			}
			r := reqs[0]
			if r.Method != http.MethodGet || r.Path != "/api/payment/status" || r.Body != "" {
				t.Errorf("request = %s %s with body %q, want GET /api/payment/status without body", r.Method, r.Path, r.Body)
			}
			want := map[string]string{
				"amount":   tt.wantAmount,
				"hash":     VerificationHash(testKey, tt.billRef, testOC),
				"type":     tt.typ,
				"bill_ref": tt.billRef,
				"oc":       testOC,
			}
			if len(r.Query) != len(want) {
				t.Errorf("query %q has %d parameters, want %d", r.RawQuery, len(r.Query), len(want))
			}
			for k, v := range want {
				if vals := r.Query[k]; len(vals) != 1 || vals[0] != v {
					t.Errorf("%s = %q, want exactly %q", k, vals, v)
				}
			}
			if !strings.HasPrefix(r.RawQuery, "amount=") || !strings.Contains(r.RawQuery, "&hash=") ||
				!strings.HasSuffix(r.RawQuery, "&oc="+testOC) {
				t.Errorf("query %q is not in the document's order amount, hash, type, bill_ref, oc", r.RawQuery)
			}
		})
	}
}

func TestVerifyPaymentMapsTheThreeStatuses(t *testing.T) {
	tests := []struct {
		name        string
		billRef     string
		contentType string
		body        string
		wantStatus  string
		wantGateway gateway.Status
		wantRef     string
	}{
		{"JSON success", "ORD-1", "application/json", `{"status":"c4812ee2b789226193ad2511495fa559","oref":"ORD-1"}`,
			StatusValueSuccess, gateway.StatusSucceeded, "ORD-1"},
		{"JSON failed", "ORD-1", "application/json", `{"status":"ccc0377a8afbf50e7094f5c23a8af223","oref":"ORD-1"}`,
			StatusValueFailed, gateway.StatusFailed, "ORD-1"},
		{"JSON pending without oref", "ORD-1", "application/json", `{"status":"c69f06e1a9b016d133907b4e5f5864d2"}`,
			StatusValuePending, gateway.StatusPending, "ORD-1"},
		{"JSON with a numeric oref and other fields", "949", "application/json",
			`{"oref":949,"status":"c4812ee2b789226193ad2511495fa559","message":"valid"}`,
			StatusValueSuccess, gateway.StatusSucceeded, "949"},
		{"plain-text success", "ORD-1", "text/plain", "c4812ee2b789226193ad2511495fa559\n",
			StatusValueSuccess, gateway.StatusSucceeded, "ORD-1"},
		{"plain-text failed without content type", "ORD-1", "", "ccc0377a8afbf50e7094f5c23a8af223",
			StatusValueFailed, gateway.StatusFailed, "ORD-1"},
		{"plain-text pending as HTML content type", "ORD-1", "text/html", " c69f06e1a9b016d133907b4e5f5864d2 ",
			StatusValuePending, gateway.StatusPending, "ORD-1"},
		{"JSON string", "ORD-1", "application/json", `"c4812ee2b789226193ad2511495fa559"`,
			StatusValueSuccess, gateway.StatusSucceeded, "ORD-1"},
		{"upper-case value", "ORD-1", "text/plain", "C4812EE2B789226193AD2511495FA559",
			StatusValueSuccess, gateway.StatusSucceeded, "ORD-1"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newCore(t, text(http.StatusOK, tt.contentType, tt.body))
			c := f.client(&sleepRecorder{})
			v, err := c.VerifyPayment(t.Context(), tt.billRef, 100000, TypeMPesa)
			if err != nil {
				t.Fatal(err)
			}

			want := Verification{Status: tt.wantStatus, OrderRef: tt.wantRef, Raw: []byte(tt.body)}
			if !reflect.DeepEqual(v, want) {
				t.Errorf("verification:\n got %+v (raw %q)\nwant %+v (raw %q)", v, v.Raw, want, want.Raw)
			}
			if got := v.GatewayStatus(); got != tt.wantGateway {
				t.Errorf("GatewayStatus() = %s, want %s", got, tt.wantGateway)
			}
		})
	}
}

func TestVerifyPaymentNeverTurnsAnUnknownAnswerIntoSuccess(t *testing.T) {
	tests := []struct {
		name        string
		status      int
		contentType string
		body        string
		want        Error
		wantHits    int
	}{
		{"unknown JSON status", http.StatusOK, "application/json", `{"status":"success"}`,
			Error{HTTPStatus: 200, Code: "success", Message: "unexpected answer: status is none of the documented values", Op: "verify payment"}, 1},
		{"unknown status with a message", http.StatusOK, "application/json", `{"status":"error","message":"Invalid hash"}`,
			Error{HTTPStatus: 200, Code: "error", Message: "unexpected answer: status is none of the documented values: Invalid hash", Op: "verify payment"}, 1},
		{"a success value with one character changed", http.StatusOK, "text/plain", "c4812ee2b789226193ad2511495fa558",
			Error{HTTPStatus: 200, Code: "c4812ee2b789226193ad2511495fa558", Message: "unexpected answer: status is none of the documented values", Op: "verify payment"}, 1},
		{"success value inside a sentence", http.StatusOK, "text/plain", "status: c4812ee2b789226193ad2511495fa559",
			Error{HTTPStatus: 200, Message: "unexpected answer: not a documented status value (text/plain, 40 bytes)", Op: "verify payment"}, 1},
		{"HTML page", http.StatusOK, "text/html", "<html><body>Maintenance</body></html>",
			Error{HTTPStatus: 200, Message: "unexpected answer: not a documented status value (text/html, 37 bytes)", Op: "verify payment"}, 1},
		{"JSON without status", http.StatusOK, "application/json", `{"oref":"ORD-1"}`,
			Error{HTTPStatus: 200, Message: "unexpected answer", Op: "verify payment", Err: errNoStatus}, 1},
		{"empty body", http.StatusOK, "", "",
			Error{HTTPStatus: 200, Message: "unexpected answer", Op: "verify payment", Err: errNoStatus}, 1},
		{"answer about another oref", http.StatusOK, "application/json", `{"status":"c4812ee2b789226193ad2511495fa559","oref":"ORD-2"}`,
			Error{HTTPStatus: 200, Message: `answer is about another oref (asked "ORD-1", got "ORD-2")`, Op: "verify payment"}, 1},
		{"success value under HTTP 404", http.StatusNotFound, "text/plain", "c4812ee2b789226193ad2511495fa559",
			Error{HTTPStatus: 404, Message: "Not Found", Op: "verify payment"}, 1},
		{"400 with a JSON message is not retried", http.StatusBadRequest, "application/json", `{"message":"bad hash"}`,
			Error{HTTPStatus: 400, Message: "bad hash", Op: "verify payment"}, 1},
		{"401 with a JSON error is not retried", http.StatusUnauthorized, "application/json", `{"error":"hash does not match"}`,
			Error{HTTPStatus: 401, Message: "hash does not match", Op: "verify payment"}, 1},
		{"400 with an error object falls back to the status text", http.StatusBadRequest, "application/json", `{"error":{"code":1}}`,
			Error{HTTPStatus: 400, Message: "Bad Request", Op: "verify payment"}, 1},
		{"503 three times gives up", http.StatusServiceUnavailable, "", "",
			Error{HTTPStatus: 503, Message: "Service Unavailable", Op: "verify payment"}, 3},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newCore(t, text(tt.status, tt.contentType, tt.body))
			c := f.client(&sleepRecorder{})

			v, err := c.VerifyPayment(t.Context(), "ORD-1", 100000, TypeMPesa)

			if err == nil {
				t.Fatalf("answer accepted as %+v", v)
			}
			if !reflect.DeepEqual(v, Verification{}) {
				t.Errorf("verification %+v came with an error", v)
			}
			e := asError(t, err)
			if e.HTTPStatus != tt.want.HTTPStatus || e.Code != tt.want.Code || e.Message != tt.want.Message ||
				e.Op != tt.want.Op || e.transport {
				t.Errorf("error = %+v\nwant    %+v", *e, tt.want)
			}
			if tt.want.Err != nil && !errors.Is(e, tt.want.Err) {
				t.Errorf("error %v does not wrap %v", e, tt.want.Err)
			}
			if tt.want.Err == nil && e.Err != nil {
				t.Errorf("error wraps %v, want nothing", e.Err)
			}
			if got := len(f.requests()); got != tt.wantHits {
				t.Errorf("requests = %d, want %d", got, tt.wantHits)
			}
		})
	}
}

func TestVerifyPaymentRetriesOnlyWhatIsSafe(t *testing.T) {
	success := jsonAnswer(`{"status":"` + StatusValueSuccess + `"}`)
	unavailable := text(http.StatusServiceUnavailable, "text/html", "<h1>503</h1>")
	tests := []struct {
		name       string
		answers    []http.HandlerFunc
		wantHits   int
		wantWaits  []time.Duration // upper bounds; each wait is between half and all of it
		wantStatus int             // HTTPStatus of the error; -1 for success
	}{
		{"503 then success", []http.HandlerFunc{unavailable, success}, 2, []time.Duration{500 * time.Millisecond}, -1},
		{"503 twice then success", []http.HandlerFunc{unavailable, unavailable, success}, 3,
			[]time.Duration{500 * time.Millisecond, time.Second}, -1},
		{"dropped connection then success", []http.HandlerFunc{dropConnection, success}, 2, []time.Duration{500 * time.Millisecond}, -1},
		{"500 three times gives up", []http.HandlerFunc{text(http.StatusInternalServerError, "", "")}, 3,
			[]time.Duration{500 * time.Millisecond, time.Second}, http.StatusInternalServerError},
		{"403 is not retried", []http.HandlerFunc{text(http.StatusForbidden, "", "")}, 1, nil, http.StatusForbidden},
		{"unknown status is not retried", []http.HandlerFunc{jsonAnswer(`{"status":"x"}`), success}, 1, nil, http.StatusOK},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newCore(t, sequence(tt.answers...))
			sleeper := &sleepRecorder{}
			c := f.client(sleeper)

			v, err := c.VerifyPayment(t.Context(), "ORD-1", 100000, TypeMPesa)

			if tt.wantStatus == -1 {
				if err != nil {
					t.Fatalf("call failed: %v", err)
				}
				if v.Status != StatusValueSuccess || v.OrderRef != "ORD-1" {
					t.Errorf("verification = %+v", v)
				}
			} else if e := asError(t, err); e.HTTPStatus != tt.wantStatus {
				t.Errorf("HTTPStatus = %d, want %d", e.HTTPStatus, tt.wantStatus)
			}
			if got := len(f.requests()); got != tt.wantHits {
				t.Errorf("requests = %d, want %d", got, tt.wantHits)
			}
			waits := sleeper.Waits()
			if len(waits) != len(tt.wantWaits) {
				t.Fatalf("waits = %v, want %d of them", waits, len(tt.wantWaits))
			}
			for i, w := range waits {
				if w < tt.wantWaits[i]/2 || w > tt.wantWaits[i] {
					t.Errorf("wait %d = %v, want between %v and %v", i, w, tt.wantWaits[i]/2, tt.wantWaits[i])
				}
			}
		})
	}
}

func TestVerifyPaymentTimeoutIsDeadlineExceeded(t *testing.T) {
	tests := []struct {
		name      string
		timeout   time.Duration // Config.Timeout
		ctxLimit  time.Duration // the caller's deadline; 0 for none
		wantHits  int
		wantWaits int
	}{
		{"per-call timeout, three tries", 30 * time.Millisecond, 0, 3, 2},
		{"caller's deadline stops without retry", 10 * time.Second, 30 * time.Millisecond, 1, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newCore(t, hang)
			sleeper := &sleepRecorder{}
			var logs lockedBuffer
			c := f.client(sleeper, func(cfg *Config) { cfg.Timeout, cfg.Logger = tt.timeout, debugLogger(&logs) })
			ctx := t.Context()
			if tt.ctxLimit > 0 {
				var cancel context.CancelFunc
				ctx, cancel = context.WithTimeout(ctx, tt.ctxLimit)
				defer cancel()
			}

			start := time.Now()
			_, err := c.VerifyPayment(ctx, "ORD-1", 100000, TypeMPesa)
			elapsed := time.Since(start)

			if !errors.Is(err, context.DeadlineExceeded) {
				t.Fatalf("error %v does not match context.DeadlineExceeded", err)
			}
			e := asError(t, err)
			if e.HTTPStatus != 0 || e.Message != "timed out" || e.Op != "verify payment" || !e.transport {
				t.Errorf("error = %+v, want a transport timeout", *e)
			}
			if elapsed > 3*time.Second {
				t.Errorf("took %v; the timeout did not stop the call", elapsed)
			}
			if got := len(f.requests()); got != tt.wantHits {
				t.Errorf("requests = %d, want %d", got, tt.wantHits)
			}
			if got := len(sleeper.Waits()); got != tt.wantWaits {
				t.Errorf("backoff waits = %d, want %d", got, tt.wantWaits)
			}
			// net/http puts the URL in its errors; the query holds a hash.
			hash := VerificationHash(testKey, "ORD-1", testOC)
			for _, s := range []string{err.Error(), logs.String()} {
				if strings.Contains(s, hash) || strings.Contains(s, testKey) {
					t.Errorf("hash or key leaked into %q", s)
				}
			}
		})
	}
}

func TestVerifyPaymentStopsWhenBackoffIsCancelled(t *testing.T) {
	f := newCore(t, text(http.StatusBadGateway, "", ""))
	sleeper := &sleepRecorder{Err: context.Canceled}
	c := f.client(sleeper)

	_, err := c.VerifyPayment(t.Context(), "ORD-1", 100000, TypeMPesa)

	if !errors.Is(err, context.Canceled) {
		t.Fatalf("error %v does not match context.Canceled", err)
	}
	e := asError(t, err)
	if e.Op != "verify payment" || e.Message != "stopped before retrying (HTTP 502)" || e.HTTPStatus != 0 || e.Code != "" {
		t.Errorf("error = %+v", *e)
	}
	if got := len(f.requests()); got != 1 {
		t.Errorf("requests = %d, want 1", got)
	}
}

func TestVerifyPaymentRefusesBadArgumentsBeforeSending(t *testing.T) {
	tests := []struct {
		name    string
		billRef string
		amount  gateway.Amount
		typ     string
		wantErr string
	}{
		{"no bill_ref", " ", 100, TypeMPesa, "bill_ref is required"},
		{"bill_ref of 51 characters", strings.Repeat("b", 51), 100, TypeMPesa, "bill_ref is longer than 50 characters"},
		{"bill_ref with a newline", "a\nb", 100, TypeMPesa, "bill_ref contains a character that is not printable"},
		{"zero amount", "ORD-1", 0, TypeMPesa, "amount must be more than zero"},
		{"type M", "ORD-1", 100, "M", `type must be "m" or "c"`},
		{"no type", "ORD-1", 100, "", `type must be "m" or "c"`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newCore(t, jsonAnswer(`{"status":"`+StatusValueSuccess+`"}`))
			c := f.client(&sleepRecorder{})

			_, err := c.VerifyPayment(t.Context(), tt.billRef, tt.amount, tt.typ)

			if !errors.Is(err, ErrInvalidRequest) {
				t.Fatalf("error %v does not wrap ErrInvalidRequest", err)
			}
			if want := "pokeapay: verify payment: invalid request: " + tt.wantErr; err.Error() != want {
				t.Errorf("error = %q\nwant    %q", err, want)
			}
			if got := len(f.requests()); got != 0 {
				t.Errorf("requests = %d, want none", got)
			}
		})
	}
}

func TestGatewayStatusOfAnUnknownValueIsPending(t *testing.T) {
	if got := (Verification{Status: "anything"}).GatewayStatus(); got != gateway.StatusPending {
		t.Errorf("GatewayStatus() = %s, want pending", got)
	}
}

func TestVerificationSendsTheAmountStringTheLinkCarried(t *testing.T) {
	for _, amount := range []gateway.Amount{1, 1000, 150000, 150050, 123456700} {
		t.Run(amount.String(), func(t *testing.T) {
			f := newCore(t, jsonAnswer(`{"status":"c4812ee2b789226193ad2511495fa559"}`))
			c := f.client(&sleepRecorder{})
			link, err := c.CheckoutURL(CheckoutRequest{OrderRef: "pay_1", Amount: amount, Phone: "254722000000",
				Email: "a@example.com", CallbackURL: "https://shop.example/r"})
			if err != nil {
				t.Fatal(err)
			}
			u, err := url.Parse(link)
			if err != nil {
				t.Fatal(err)
			}
			if _, err := c.Confirm(t.Context(), gateway.Query{AttemptID: "pay_1", Amount: amount}); err != nil {
				t.Fatalf("Confirm: %v", err)
			}
			amt := u.Query().Get("amt")
			if got := f.requests()[0].Query.Get("amount"); got != amt || amt != WireAmount(amount) {
				t.Errorf("verification amount %q, link amt %q: not the same string", got, amt)
			}
			if !strings.Contains(amt, ".") || len(amt)-strings.Index(amt, ".") != 3 {
				t.Errorf("amt %q does not have two decimals", amt)
			}
		})
	}
}

func TestVerificationWithAnUnreadableAmountIsAnError(t *testing.T) {
	f := newCore(t, jsonAnswer(`{"status":"c4812ee2b789226193ad2511495fa559","amount":"1,500"}`))
	c := f.client(&sleepRecorder{})
	v, err := c.VerifyPayment(t.Context(), "pay_1", 150000, TypeMPesa)
	e := asError(t, err)
	if e.Message != `unexpected answer: amount "1,500" is not an amount` || e.HTTPStatus != 200 || !reflect.DeepEqual(v, Verification{}) {
		t.Fatalf("VerifyPayment = %+v, %#v", v, e)
	}
}
