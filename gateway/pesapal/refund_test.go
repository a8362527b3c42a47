package pesapal

import (
	"context"
	"errors"
	"net/http"
	"reflect"
	"strings"
	"testing"
	"time"

	"checkout/gateway"
	"checkout/gateway/internal/httpxtest"
)

// docRefund is the refund the assumed request fixture carries.
func docRefund() gateway.RefundRequest {
	return gateway.RefundRequest{Receipt: "AA11BB22", Amount: 10000, Currency: "KES", Username: "John Doe",
		Remarks: "Service not offered"}
}

func TestRefundSendsTheAssumedRequestAndReadsTheAssumedAnswer(t *testing.T) {
	f := newFake(t, map[string]http.HandlerFunc{
		pathRefundRequest: raw(http.StatusOK, string(readTestdata(t, "assumed-refundrequest-response.json"))),
	})
	c := f.client(&sleepRecorder{})
	ans, err := c.Refund(context.Background(), docRefund())
	if err != nil {
		t.Fatalf("Refund: %v", err)
	}
	if ans.Message != "Refund request successfully" {
		t.Errorf("message = %q", ans.Message)
	}
	if string(ans.Raw) != string(readTestdata(t, "assumed-refundrequest-response.json")) {
		t.Errorf("raw = %s", ans.Raw)
	}
	reqs := f.Requests(pathRefundRequest)
	if len(reqs) != 1 {
		t.Fatalf("%d refund requests, want 1", len(reqs))
	}
	r := reqs[0]
	if r.Method != http.MethodPost || r.Authorization != "Bearer "+tokenName(1) || r.ContentType != "application/json" {
		t.Errorf("request %s, Authorization %q, Content-Type %q", r.Method, r.Authorization, r.ContentType)
	}
	if got, want := decodeJSON(t, "got", []byte(r.Body)), decodeJSON(t, "want", readTestdata(t, "assumed-refundrequest-request.json")); !reflect.DeepEqual(got, want) {
		t.Errorf("body = %s, want the values of the fixture", r.Body)
	}
}

func TestRefundRenewsARefusedTokenOnce(t *testing.T) {
	f := newFake(t, map[string]http.HandlerFunc{
		pathRefundRequest: sequence(raw(http.StatusUnauthorized, `{"error":{"code":"invalid_token","message":"expired"}}`),
			raw(http.StatusOK, `{"status":"200","message":"Refund request successfully"}`)),
	})
	c := f.client(&sleepRecorder{})
	if _, err := c.Refund(context.Background(), docRefund()); err != nil {
		t.Fatalf("Refund: %v", err)
	}
	reqs := f.Requests(pathRefundRequest)
	if len(reqs) != 2 || f.Tokens() != 2 || reqs[1].Authorization != "Bearer "+tokenName(2) {
		t.Fatalf("%d refund requests with %d tokens; want 2 and 2, the second with the new token", len(reqs), f.Tokens())
	}
}

func TestRefundRefusalsSayNothingWillBeRefunded(t *testing.T) {
	for _, tt := range []struct {
		name, body string
		status     int
		want       string
	}{
		{"4xx with error object", `{"error":{"error_type":"api_error","code":"refund_exists","message":"A refund already exists for this payment"},"status":"400"}`,
			http.StatusBadRequest, "A refund already exists"},
		{"4xx without body", ``, http.StatusForbidden, "empty answer"},
		{"200 with status 500 and error object", `{"error":{"error_type":"api_error","code":"invalid_amount","message":"Mobile money refunds must be in full"},"status":"500"}`,
			http.StatusOK, "Mobile money refunds must be in full"},
		{"200 with status 400 and a message", `{"status":"400","message":"Payment not completed"}`, http.StatusOK, "Payment not completed"},
		{"200 with numeric status and a message", `{"status":500,"message":"Refund not allowed"}`, http.StatusOK, "Refund not allowed"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			f := newFake(t, map[string]http.HandlerFunc{pathRefundRequest: raw(tt.status, tt.body)})
			c := f.client(&sleepRecorder{})
			_, err := c.Refund(context.Background(), docRefund())
			if !errors.Is(err, gateway.ErrNotStarted) {
				t.Fatalf("error %v does not wrap ErrNotStarted", err)
			}
			if !strings.Contains(err.Error(), tt.want) {
				t.Errorf("error %q does not say %q", err, tt.want)
			}
			if n := len(f.Requests(pathRefundRequest)); n != 1 {
				t.Errorf("%d refund requests, want 1", n)
			}
		})
	}
}

func TestRefundThatMayHaveBeenAcceptedIsAPlainErrorAndNotRetried(t *testing.T) {
	for _, tt := range []struct {
		name string
		h    http.HandlerFunc
	}{
		{"5xx", raw(http.StatusInternalServerError, `{"error":{"code":"server_error","message":"oops"}}`)},
		{"502 html", httpxtest.Raw(http.StatusBadGateway, "text/html", "<html>bad gateway</html>")},
		// A 408, 409, 425 or 429 may come after the request was forwarded.
		{"408", raw(http.StatusRequestTimeout, `{"error":{"code":"timeout","message":"Request timeout"}}`)},
		{"409", raw(http.StatusConflict, `{"error":{"code":"conflict","message":"In progress"}}`)},
		{"425", httpxtest.Raw(http.StatusTooEarly, "text/plain", "too early")},
		{"429", raw(http.StatusTooManyRequests, `{"error":{"code":"rate_limited","message":"Too many requests"}}`)},
		{"200 not JSON", httpxtest.Raw(http.StatusOK, "text/html", "<html>ok</html>")},
		{"200 without status", raw(http.StatusOK, `{"message":"done"}`)},
		{"200 with status 500 and nothing said", raw(http.StatusOK, `{"status":"500"}`)},
		{"200 with status 200 and an error object", raw(http.StatusOK, `{"status":"200","error":{"code":"x","message":"odd"}}`)},
		{"dropped connection", dropConnection},
		{"timeout", hang},
	} {
		t.Run(tt.name, func(t *testing.T) {
			f := newFake(t, map[string]http.HandlerFunc{pathRefundRequest: tt.h})
			c := f.client(&sleepRecorder{}, func(cfg *Config) { cfg.Timeout = 200 * time.Millisecond })
			_, err := c.Refund(context.Background(), docRefund())
			if err == nil || errors.Is(err, gateway.ErrNotStarted) {
				t.Fatalf("error %v: want a plain error (the refund may have been accepted)", err)
			}
			asError(t, err)
			if n := len(f.Requests(pathRefundRequest)); n != 1 {
				t.Errorf("%d refund requests, want exactly 1 (never retried)", n)
			}
		})
	}
}

func TestRefundRefusedBeforeSendingSendsNothing(t *testing.T) {
	for _, tt := range []struct {
		name string
		mod  func(*gateway.RefundRequest)
	}{
		{"no receipt", func(r *gateway.RefundRequest) { r.Receipt = " " }},
		{"zero amount", func(r *gateway.RefundRequest) { r.Amount = 0 }},
		{"no username", func(r *gateway.RefundRequest) { r.Username = "" }},
		{"no remarks", func(r *gateway.RefundRequest) { r.Remarks = "" }},
		{"remarks with a control character", func(r *gateway.RefundRequest) { r.Remarks = "a\x00b" }},
		{"remarks too long", func(r *gateway.RefundRequest) { r.Remarks = strings.Repeat("x", 256) }},
	} {
		t.Run(tt.name, func(t *testing.T) {
			f := newFake(t, map[string]http.HandlerFunc{pathRefundRequest: raw(http.StatusOK, `{"status":"200"}`)})
			c := f.client(&sleepRecorder{})
			r := docRefund()
			tt.mod(&r)
			_, err := c.Refund(context.Background(), r)
			if !errors.Is(err, gateway.ErrNotStarted) || !errors.Is(err, ErrInvalidRequest) {
				t.Fatalf("error %v: want ErrNotStarted and ErrInvalidRequest", err)
			}
			if f.Tokens() != 0 || len(f.Requests(pathRefundRequest)) != 0 {
				t.Errorf("something was sent")
			}
		})
	}
}

func TestRefundWhoseTokenRequestFailsIsNotStarted(t *testing.T) {
	f := newFake(t, map[string]http.HandlerFunc{pathRefundRequest: raw(http.StatusOK, `{"status":"200"}`)},
		func(f *fakePesapal) {
			f.TokenHandler = raw(http.StatusOK, `{"token":null,"error":{"code":"invalid_consumer_key_or_secret_provided","message":"bad key"},"status":"500"}`)
		})
	c := f.client(&sleepRecorder{})
	_, err := c.Refund(context.Background(), docRefund())
	if !errors.Is(err, gateway.ErrNotStarted) {
		t.Fatalf("error %v does not wrap ErrNotStarted", err)
	}
	if len(f.Requests(pathRefundRequest)) != 0 {
		t.Error("the refund was sent without a token")
	}
}
