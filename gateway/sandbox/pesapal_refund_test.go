package sandbox

import (
	"bytes"
	"encoding/json"
	"net/http"
	"strings"
	"testing"
	"time"

	"checkout/gateway/internal/fixture"
)

// pesapalExample reads one of the Pesapal client's example bodies.
func pesapalExample(t *testing.T, name string) []byte {
	t.Helper()
	return fixture.Read(t, "../pesapal/testdata", name)
}

// paidOrder submits an order of KES 1,500 and pays it with method
// ("mpesa" or "visa"); it returns the order.
func (e *testEnv) paidOrder(token, id, method string) Order {
	e.t.Helper()
	ipn := e.registerIPN(token, "https://shop.example/ipn", "GET")
	tracking := e.submit(token, orderBody(id, ipn, "https://shop.example/return"))
	if err := e.sb.PesapalCompleteWith(tracking, method, false); err != nil {
		e.t.Fatal(err)
	}
	o, _ := e.sb.PesapalOrder(tracking)
	return o
}

// refundBody is the assumed RefundRequest example with its code and amount
// replaced.
func refundBody(t *testing.T, code string, amount any) map[string]any {
	t.Helper()
	var body map[string]any
	if err := json.Unmarshal(pesapalExample(t, "assumed-refundrequest-request.json"), &body); err != nil {
		t.Fatal(err)
	}
	body["confirmation_code"], body["amount"] = code, amount
	return body
}

// refund sends a RefundRequest.
func (e *testEnv) refund(token string, body any) (*http.Response, []byte) {
	e.t.Helper()
	return e.do("POST", e.apiURL("/api/Transactions/RefundRequest"), token, body)
}

// refundRefused checks a refusal in the document's Error Object.
func (e *testEnv) refundRefused(label string, resp *http.Response, raw []byte, status int, code string) {
	e.t.Helper()
	if resp.StatusCode != status {
		e.t.Errorf("%s: HTTP %d %s, want %d", label, resp.StatusCode, raw, status)
		return
	}
	fixture.SameShape(e.t, label, pesapalExample(e.t, "doc-error-object.json"), raw)
	checkJSON(e.t, label, decodeObject(e.t, raw), errorWant(code))
}

func TestPesapalFullRefundOfAnMpesaPaymentGoesBackToThePhone(t *testing.T) {
	e := newEnv(t, nil)
	token := e.token()
	o := e.paidOrder(token, "ORD-1", "mpesa")
	if o.PaymentMethod != "MPESA" {
		t.Fatalf("payment_method = %q, want MPESA", o.PaymentMethod)
	}
	resp, raw := e.refund(token, refundBody(t, o.ConfirmationCode, "1500.00"))
	if resp.StatusCode != 200 {
		t.Fatalf("refund: HTTP %d %s", resp.StatusCode, raw)
	}
	checkJSON(t, "refund answer", decodeObject(t, raw), decodeObject(t, pesapalExample(t, "assumed-refundrequest-response.json")))

	refunds := e.sb.PesapalRefunds()
	if len(refunds) != 1 || refunds[0].Amount != 1500_00 || refunds[0].TrackingID != o.TrackingID ||
		refunds[0].Username != "John Doe" || refunds[0].Remarks != "Service not offered" || refunds[0].Phone != "254712345678" {
		t.Errorf("PesapalRefunds = %+v", refunds)
	}
	received := e.sb.PhoneReceived("254712345678")
	if len(received) != 1 || received[0].Provider != PayoutPesapal || received[0].Amount != 1500_00 {
		t.Errorf("PhoneReceived = %+v, want KES 1,500 back from Pesapal", received)
	}
	if got, _ := e.sb.PesapalOrder(o.TrackingID); got.RefundedAmount != 1500_00 {
		t.Errorf("order's RefundedAmount = %v", got.RefundedAmount)
	}
	// The payment page of the refunded order says so.
	req, _ := http.NewRequest("GET", e.srv.URL+PesapalPayPath+"?OrderTrackingId="+o.TrackingID, nil)
	_, page := e.send(req)
	if !strings.Contains(string(page), "Refunded KES 1,500.00 on ") {
		t.Errorf("payment page does not show the refund:\n%s", page)
	}
}

func TestPesapalPartialRefundOfACardPaymentIsTakenAndTheAmountAsANumberToo(t *testing.T) {
	e := newEnv(t, nil)
	token := e.token()
	o := e.paidOrder(token, "ORD-2", "visa")
	if o.PaymentMethod != "Visa" {
		t.Fatalf("payment_method = %q, want Visa", o.PaymentMethod)
	}
	resp, raw := e.refund(token, refundBody(t, o.ConfirmationCode, json.Number("600.50")))
	if resp.StatusCode != 200 {
		t.Fatalf("partial card refund: HTTP %d %s", resp.StatusCode, raw)
	}
	refunds := e.sb.PesapalRefunds()
	if len(refunds) != 1 || refunds[0].Amount != 600_50 || refunds[0].PaymentMethod != "Visa" || refunds[0].Phone != "" {
		t.Errorf("PesapalRefunds = %+v", refunds)
	}
	if n := len(e.sb.Payouts()); n != 0 {
		t.Errorf("a card refund was shown as money to a phone: %+v", e.sb.Payouts())
	}
}

func TestPesapalRefundRefusesWhatPesapalsRulesForbid(t *testing.T) {
	e := newEnv(t, nil)
	token := e.token()
	mpesa := e.paidOrder(token, "ORD-M", "mpesa")
	card := e.paidOrder(token, "ORD-C", "visa")
	ipn := e.registerIPN(token, "https://shop.example/ipn", "GET")
	declinedID := e.submit(token, orderBody("ORD-D", ipn, "https://shop.example/return"))
	if err := e.sb.PesapalDecline(declinedID, false); err != nil {
		t.Fatal(err)
	}
	declined, _ := e.sb.PesapalOrder(declinedID)
	reversed := e.paidOrder(token, "ORD-R", "visa")
	if err := e.sb.PesapalReverse(reversed.TrackingID); err != nil {
		t.Fatal(err)
	}

	for _, tc := range []struct {
		name   string
		body   map[string]any
		status int
		code   string
	}{
		{"unknown code", refundBody(t, "NOSUCHCODE", "10.00"), 404, "invalid_confirmation_code"},
		{"declined payment", refundBody(t, declined.ConfirmationCode, "10.00"), 400, "payment_not_completed"},
		{"reversed payment", refundBody(t, reversed.ConfirmationCode, "10.00"), 400, "payment_not_completed"},
		{"partial M-Pesa", refundBody(t, mpesa.ConfirmationCode, "1000.00"), 400, "partial_refund_not_allowed"},
		{"above the paid amount", refundBody(t, card.ConfirmationCode, "1500.01"), 400, "invalid_amount"},
		{"zero", refundBody(t, card.ConfirmationCode, "0"), 400, "invalid_amount"},
		{"no amount", refundBody(t, card.ConfirmationCode, nil), 400, "invalid_amount"},
		{"no code", refundBody(t, "", "10.00"), 400, "invalid_confirmation_code"},
		{"no username", func() map[string]any {
			b := refundBody(t, card.ConfirmationCode, "10.00")
			b["username"] = ""
			return b
		}(), 400, "invalid_username"},
		{"no remarks", func() map[string]any {
			b := refundBody(t, card.ConfirmationCode, "10.00")
			delete(b, "remarks")
			return b
		}(), 400, "invalid_remarks"},
	} {
		resp, raw := e.refund(token, tc.body)
		e.refundRefused(tc.name, resp, raw, tc.status, tc.code)
	}
	if n := len(e.sb.PesapalRefunds()); n != 0 {
		t.Fatalf("%d refunds recorded by refused requests", n)
	}

	// One refund per payment: a second one, even of what is left, is refused.
	if resp, raw := e.refund(token, refundBody(t, card.ConfirmationCode, "500.00")); resp.StatusCode != 200 {
		t.Fatalf("first card refund: HTTP %d %s", resp.StatusCode, raw)
	}
	resp, raw := e.refund(token, refundBody(t, card.ConfirmationCode, "500.00"))
	e.refundRefused("second refund", resp, raw, 409, "refund_exists")
	if n := len(e.sb.PesapalRefunds()); n != 1 {
		t.Errorf("%d refunds recorded, want 1", n)
	}

	resp, raw = e.refund("", refundBody(t, mpesa.ConfirmationCode, "1500.00"))
	if resp.StatusCode != 401 {
		t.Errorf("no token: HTTP %d %s, want 401", resp.StatusCode, raw)
	}
	e.sb.FailRefunds(1)
	resp, raw = e.refund(token, refundBody(t, mpesa.ConfirmationCode, "1500.00"))
	e.refundRefused("FailRefunds", resp, raw, 503, "service_unavailable")
	if n := len(e.sb.PesapalRefunds()); n != 1 {
		t.Errorf("%d refunds recorded, want still 1", n)
	}
}

func TestPesapalCompleteWithRefusesAnUnknownMethod(t *testing.T) {
	e := newEnv(t, nil)
	token := e.token()
	ipn := e.registerIPN(token, "https://shop.example/ipn", "GET")
	tracking := e.submit(token, orderBody("ORD-X", ipn, "https://shop.example/return"))
	if err := e.sb.PesapalCompleteWith(tracking, "bitcoin", false); err == nil {
		t.Error("an unknown method was accepted")
	}
	if o, _ := e.sb.PesapalOrder(tracking); o.StatusCode != PesapalStatusInvalid {
		t.Errorf("status_code = %d, want still pending", o.StatusCode)
	}
}

func TestPesapalLateRefundIsTakenThoughTheClientTimesOut(t *testing.T) {
	e := newEnv(t, nil)
	token := e.token()
	o := e.paidOrder(token, "ORD-L", "mpesa")
	e.sb.LateRefunds(1)
	raw, _ := json.Marshal(refundBody(t, o.ConfirmationCode, "1500.00"))
	req, _ := http.NewRequest("POST", e.apiURL("/api/Transactions/RefundRequest"), bytes.NewReader(raw))
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Authorization", "Bearer "+token)
	client := &http.Client{Timeout: 300 * time.Millisecond}
	if resp, err := client.Do(req); err == nil {
		resp.Body.Close()
		t.Fatalf("the late answer came in time: HTTP %d", resp.StatusCode)
	}
	if r := e.sb.PesapalRefunds(); len(r) != 1 || r[0].Amount != 1500_00 {
		t.Fatalf("PesapalRefunds = %+v, want the refund taken", r)
	}
	// Asking again is refused: one refund per payment.
	resp, body := e.refund(token, refundBody(t, o.ConfirmationCode, "1500.00"))
	e.refundRefused("after a timeout", resp, body, 409, "refund_exists")
}
