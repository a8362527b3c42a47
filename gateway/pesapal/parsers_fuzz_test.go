package pesapal

import (
	"encoding/json"
	"errors"
	"path/filepath"
	"strings"
	"testing"

	"checkout/gateway"
)

// fuzzFixtures returns the bytes of every testdata file matching pattern,
// for seeding a fuzz target with the document's examples.
func fuzzFixtures(f *testing.F, pattern string) [][]byte {
	f.Helper()
	names, err := filepath.Glob(filepath.Join("testdata", pattern))
	if err != nil || len(names) == 0 {
		f.Fatalf("no fixture matches %s (%v)", pattern, err)
	}
	var out [][]byte
	for _, n := range names {
		out = append(out, readTestdata(f, filepath.Base(n)))
	}
	return out
}

// FuzzTransactionStatus feeds GetTransactionStatus's answer reader and
// Result any HTTP status and body: whatever comes back is an *Error or a
// result, a success only from a 2xx answer whose status_code is 1 and whose
// description (if any) says COMPLETED, and no error text carries the
// credentials.
func FuzzTransactionStatus(f *testing.F) {
	for _, b := range fuzzFixtures(f, "*gettransactionstatus*.json") {
		for _, status := range []int{200, 400, 500} {
			f.Add(status, b)
		}
	}
	for _, b := range fuzzFixtures(f, "doc-error-object.json") {
		f.Add(200, b)
	}
	for _, s := range []string{
		`{"status_code":1,"payment_status_description":"Completed","amount":"1,500.00","status":"200"}`,
		`{"status_code":1,"payment_status_description":"Failed","status":"200"}`,
		`{"status_code":1,"error":{"code":"payment_details_not_found"},"status":"200"}`,
		`{"status_code":1,"status":"500","message":"` + testSecret + ` bearer-token-xyz"}`,
		`{"status_code":"1"}`, `{"status_code":3,"amount":null}`, `{"status_code":7}`,
		`{"error_type":"api_error","code":"Payment_Details_Not_Found","message":"Pending Payment"}`,
		`[]`, `null`, ``, `<html>`,
	} {
		f.Add(200, []byte(s))
	}
	c, err := New(Config{BaseURL: "http://127.0.0.1:1", ConsumerKey: testKey, ConsumerSecret: testSecret})
	if err != nil {
		f.Fatal(err)
	}
	const (
		id     = "7e6b62d9-883e-440f-a63e-e1105bbfadc3"
		bearer = "bearer-token-xyz"
	)
	f.Fuzz(func(t *testing.T, status int, body []byte) {
		a := answer{Status: status, ContentType: "application/json", Body: body, Bearer: bearer}
		if _, pending := pendingAnswerParsed(a); pending && !mayHoldPendingCode(body) {
			t.Fatalf("pending answer %q screened out as not pending", body)
		}
		ts, err := c.readTransactionStatus("get transaction status", id, a)
		if err != nil {
			var e *Error
			if !errors.As(err, &e) {
				t.Fatalf("error %v is not an *Error", err)
			}
			for _, secret := range []string{testSecret, testKey, bearer} {
				if strings.Contains(err.Error(), secret) {
					t.Fatalf("error %q carries a credential", err)
				}
			}
			return
		}
		if ts.OrderTrackingID != id {
			t.Fatalf("tracking id %q, want %q", ts.OrderTrackingID, id)
		}
		r := ts.Result()
		if r.ProviderReference != id || r.Reference != ts.MerchantReference {
			t.Fatalf("references %q / %q from %+v", r.Reference, r.ProviderReference, ts)
		}
		if r.HasAmount {
			if r.Amount < 0 {
				t.Fatalf("negative amount %d", r.Amount)
			}
			if back, err := gateway.ParseAmount(r.Amount.String()); err != nil || back != r.Amount {
				t.Fatalf("amount %d does not re-parse: %d, %v", r.Amount, back, err)
			}
		}
		switch r.Status {
		case gateway.StatusPending, gateway.StatusFailed, gateway.StatusReversed:
			return
		case gateway.StatusSucceeded:
		default:
			t.Fatalf("status %q from %q", r.Status, body)
		}
		// What the document calls COMPLETED, read independently.
		var probe struct {
			StatusCode  int    `json:"status_code"`
			Description string `json:"payment_status_description"`
			Status      string `json:"status"`
		}
		switch {
		case status < 200 || status > 299:
			t.Fatalf("success from HTTP %d: %q", status, body)
		case json.Unmarshal(body, &probe) != nil:
			t.Fatalf("success from a body that is not the status object: %q", body)
		case probe.StatusCode != StatusCodeCompleted:
			t.Fatalf("success with status_code %d: %q", probe.StatusCode, body)
		case !strings.EqualFold(strings.TrimSpace(probe.Description), "completed") && strings.TrimSpace(probe.Description) != "":
			t.Fatalf("success with description %q", probe.Description)
		case probe.Status != "" && !strings.HasPrefix(probe.Status, "2"):
			t.Fatalf("success with status %q", probe.Status)
		case ts.PendingPayment():
			t.Fatalf("success from a pending answer: %q", body)
		}
	})
}

// seedNotificationFixtures seeds FuzzParseNotification with the document's
// IPN and callback examples (GET query strings and the POST body) and with
// a POST body just over the size limit.
func seedNotificationFixtures(f *testing.F) {
	for _, q := range fuzzFixtures(f, "*.query") {
		f.Add("GET", strings.TrimSpace(string(q)), "", []byte(nil))
		f.Add("POST", strings.TrimSpace(string(q)), "", []byte(nil))
	}
	for _, b := range fuzzFixtures(f, "doc-ipn-post.json") {
		f.Add("POST", "", "application/json", b)
		f.Add("POST", "", "", b)
		padded := append(append([]byte{}, b[:len(b)-1]...), `,"pad":"`...)
		padded = append(append(padded, strings.Repeat("x", maxNotificationBody)...), `"}`...)
		f.Add("POST", "", "application/json", padded)
	}
}

// Found by FuzzTransactionStatus: an answer whose "status" echoes a
// credential put it in the error text unredacted.
func TestStatusTextInAnErrorIsRedacted(t *testing.T) {
	c, err := New(Config{BaseURL: "http://127.0.0.1:1", ConsumerKey: testKey, ConsumerSecret: testSecret})
	if err != nil {
		t.Fatal(err)
	}
	body := []byte(`{"status":"500 ` + testSecret + ` ` + testKey + ` tok-12345"}`)
	_, err = c.readTransactionStatus("get transaction status", "t1", answer{Status: 200, Body: body, Bearer: "tok-12345"})
	var e *Error
	if !errors.As(err, &e) {
		t.Fatalf("err = %v, want an *Error", err)
	}
	if want := "answer has status 500 [redacted] [redacted] [redacted]"; e.Message != want {
		t.Fatalf("message %q, want %q", e.Message, want)
	}
}
