package sandbox

import (
	"bytes"
	"encoding/json"
	"net/http"
	"testing"
	"time"

	"checkout/gateway"
	"checkout/gateway/internal/fixture"
)

// pochiSendBody is the assumed send-to-mobile example with its requestId,
// trackingReference, phone, amount and callback replaced.
func pochiSendBody(t *testing.T, requestID, tracking, phone string, amount int, callback string) map[string]any {
	t.Helper()
	var body map[string]any
	if err := json.Unmarshal(pochiExample(t, "assumed-disbursement-send-to-mobile-request.json"), &body); err != nil {
		t.Fatal(err)
	}
	body["requestId"], body["callbackUrl"] = requestID, callback
	r := body["recipients"].([]any)[0].(map[string]any)
	r["trackingReference"], r["phoneNumber"], r["amount"] = tracking, phone, amount
	return body
}

// pochiPost posts body to a Pochipay path with the token.
func (e *testEnv) pochiPost(token, path string, body any) (*http.Response, []byte) {
	e.t.Helper()
	return e.do("POST", e.pochiURL(path), token, body)
}

// pochiSendOK sends and fails unless the send is taken, checking the
// answer's shape.
func (e *testEnv) pochiSendOK(token string, body map[string]any) {
	e.t.Helper()
	resp, raw := e.pochiPost(token, "/disbursement/send-to-mobile", body)
	if resp.StatusCode != 200 {
		e.t.Fatalf("send-to-mobile: HTTP %d %s", resp.StatusCode, raw)
	}
	fixture.SameShape(e.t, "send-to-mobile answer", pochiExample(e.t, "assumed-disbursement-send-to-mobile-response.json"), raw)
	if got := decodeObject(e.t, raw)["result"].(map[string]any)["requestId"]; got != body["requestId"] {
		e.t.Errorf("answer's requestId = %v, want %v", got, body["requestId"])
	}
}

// pochiPayoutStatus calls disbursement/transaction-status.
func (e *testEnv) pochiPayoutStatus(token, tracking string) (*http.Response, []byte) {
	e.t.Helper()
	return e.pochiPost(token, "/disbursement/transaction-status", map[string]string{"trackingReference": tracking})
}

// pochiBalance reads account/balance and checks its shape.
func (e *testEnv) pochiBalance(token string) json.Number {
	e.t.Helper()
	resp, raw := e.do("GET", e.pochiURL("/account/balance"), token, nil)
	if resp.StatusCode != 200 {
		e.t.Fatalf("balance: HTTP %d %s", resp.StatusCode, raw)
	}
	fixture.SameShape(e.t, "balance", pochiExample(e.t, "assumed-account-balance-response.json"), raw)
	res := decodeObject(e.t, raw)["result"].(map[string]any)
	if res["currency"] != "KES" {
		e.t.Errorf("currency = %v", res["currency"])
	}
	return res["balance"].(json.Number)
}

func TestPochipaySendToMobileExampleIsTakenPaidAndCalledBackInTheExamplesShapes(t *testing.T) {
	rc := callbackReceiver(t, nil)
	e := newSTKEnv(t, nil)
	token := e.pochiToken()
	if got := e.pochiBalance(token); got != "1000000" {
		t.Errorf("starting balance = %s, want 1000000", got)
	}
	e.pochiSendOK(token, pochiSendBody(t, "481516234200", "481516234200", stkPhone, 100, rc.srv.URL+"/callback/pochipay-payout"))

	req := rc.next(t)
	got := checkCallback(t, req, "/callback/pochipay-payout")
	fixture.SameShape(t, "callback", pochiExample(t, "assumed-disbursement-callback-success.json"), []byte(req.Body))
	checkJSON(t, "callback", got, map[string]any{
		"successful": true, "requestId": "481516234200", "trackingReference": "481516234200",
		"thirdPartyReference": matches(receiptPattern), "failReason": nil,
	})

	resp, raw := e.pochiPayoutStatus(token, "481516234200")
	if resp.StatusCode != 200 {
		t.Fatalf("status: HTTP %d %s", resp.StatusCode, raw)
	}
	fixture.SameShape(t, "status completed", pochiExample(t, "assumed-disbursement-status-completed.json"), raw)
	res := decodeObject(t, raw)["result"].(map[string]any)
	if res["status"] != "Completed" || res["thirdPartyReference"] != got["thirdPartyReference"] {
		t.Errorf("status result = %v, want Completed with the callback's receipt", res)
	}
	if b := e.pochiBalance(token); b != "999900" {
		t.Errorf("balance after KES 100 = %s, want 999900", b)
	}
	received := e.sb.PhoneReceived(stkPhone)
	if len(received) != 1 || received[0].Amount != 100_00 || received[0].Provider != PayoutPochipay ||
		received[0].Description != "Refund ORDER-1001" {
		t.Errorf("PhoneReceived = %+v, want KES 100 from pochipay", received)
	}
	e.sb.WaitIPNs()
	if rc.count() != 1 || e.sb.PayoutCallbacksSent(PayoutPochipay) != 1 {
		t.Errorf("callbacks received %d, want exactly 1", rc.count())
	}
}

func TestPochipayBalanceDecreasesWithEachSendAndASendAboveItIsRefused(t *testing.T) {
	e := newSTKEnv(t, func(c *Config) { c.PochipayBalance = 500_00 })
	token := e.pochiToken()
	e.pochiSendOK(token, pochiSendBody(t, "100000000001", "100000000001", stkPhone, 300, "https://shop.example/cb"))
	if b := e.pochiBalance(token); b != "200" {
		t.Fatalf("balance = %s, want 200", b)
	}
	resp, raw := e.pochiPost(token, "/disbursement/send-to-mobile",
		pochiSendBody(t, "100000000002", "100000000002", stkPhone2, 300, "https://shop.example/cb"))
	if resp.StatusCode != 400 {
		t.Fatalf("send above the balance: HTTP %d %s, want 400", resp.StatusCode, raw)
	}
	fixture.SameShape(t, "refused send", pochiExample(t, "assumed-disbursement-send-to-mobile-error.json"), raw)
	checkJSON(t, "refused send", decodeObject(t, raw), map[string]any{
		"result": nil, "message": "Insufficient balance", "errors": []any{"Insufficient balance"},
	})
	if b := e.pochiBalance(token); b != "200" {
		t.Errorf("balance after a refused send = %s, want 200", b)
	}
	if _, ok := e.sb.PayoutByReference(PayoutPochipay, "100000000002"); ok {
		t.Error("the refused send was recorded")
	}
	// The whole balance can go.
	e.pochiSendOK(token, pochiSendBody(t, "100000000003", "100000000003", stkPhone2, 200, "https://shop.example/cb"))
	if b := e.sb.PochipayBalance(); b != 0 {
		t.Errorf("balance = %v, want 0", b)
	}
	// A failed send gives its money back.
	e.sb.SetPochipayBalance(1000_00)
	e.sb.PayoutNext(stkPhone, PayoutFault{Fail: true})
	e.pochiSendOK(token, pochiSendBody(t, "100000000004", "100000000004", stkPhone, 400, "https://shop.example/cb"))
	if b := e.sb.PochipayBalance(); b != gateway.Amount(1000_00) {
		t.Errorf("balance after a failed send = %v, want 1000.00", b)
	}
}

func TestPochipayDuplicateRequestIdOrTrackingReferenceIsRefusedAndNeverPaidTwice(t *testing.T) {
	e := newSTKEnv(t, nil)
	token := e.pochiToken()
	e.pochiSendOK(token, pochiSendBody(t, "200000000001", "200000000001", stkPhone, 100, "https://shop.example/cb"))
	for _, tc := range []struct{ name, requestID, tracking, want string }{
		{"same requestId", "200000000001", "200000000009", pochipayDuplicateRequest},
		{"same trackingReference", "200000000009", "200000000001", pochipayDuplicateTracking},
	} {
		resp, raw := e.pochiPost(token, "/disbursement/send-to-mobile",
			pochiSendBody(t, tc.requestID, tc.tracking, stkPhone, 100, "https://shop.example/cb"))
		if resp.StatusCode != 400 {
			t.Errorf("%s: HTTP %d %s, want 400", tc.name, resp.StatusCode, raw)
			continue
		}
		fixture.SameShape(t, tc.name, pochiExample(t, "assumed-disbursement-send-to-mobile-error.json"), raw)
		if got := decodeObject(t, raw)["message"]; got != tc.want {
			t.Errorf("%s: message %v, want %q", tc.name, got, tc.want)
		}
	}
	if got := e.sb.PhoneReceived(stkPhone); len(got) != 1 {
		t.Errorf("phone received %d payouts, want 1", len(got))
	}
	if b := e.sb.PochipayBalance(); b != DefaultPochipayBalance-100_00 {
		t.Errorf("balance = %v, want one KES 100 taken", b)
	}
}

func TestPochipaySendToMobileListsEveryProblem(t *testing.T) {
	e := newSTKEnv(t, nil)
	token := e.pochiToken()
	body := map[string]any{
		"callbackUrl": "not a url",
		"recipients": []any{map[string]any{
			"amount": 10.5, "trackingReference": "", "phoneNumber": "0712345678",
		}},
	}
	resp, raw := e.pochiPost(token, "/disbursement/send-to-mobile", body)
	if resp.StatusCode != 400 {
		t.Fatalf("HTTP %d %s, want 400", resp.StatusCode, raw)
	}
	checkJSON(t, "problems", decodeObject(t, raw), map[string]any{
		"result":  nil,
		"message": "One or more validation errors occurred.",
		"errors": []any{
			"CallbackUrl must be an absolute http or https URL",
			"RequestId is required",
			"Recipients[0].Amount must be a whole number of shillings greater than 0",
			"Recipients[0].TrackingReference is required",
			"Recipients[0].PhoneNumber must be 2547XXXXXXXX or 2541XXXXXXXX (254, then 7 or 1, then 8 digits)",
		},
	})
	resp, raw = e.do("POST", e.pochiURL("/disbursement/send-to-mobile"), "", pochiSendBody(t, "1", "1", stkPhone, 1, "https://x.example/"))
	if resp.StatusCode != 401 {
		t.Errorf("without a token: HTTP %d %s, want 401", resp.StatusCode, raw)
	}
	if n := len(e.sb.Payouts()); n != 0 {
		t.Errorf("%d payouts recorded, want none", n)
	}
}

func TestPochipayPayoutStatusIsPendingThenCompletedAndUnknownIs404(t *testing.T) {
	rc := callbackReceiver(t, nil)
	e := newSTKEnv(t, nil)
	token := e.pochiToken()
	e.sb.PayoutNext(stkPhone, PayoutFault{Hold: true})
	e.pochiSendOK(token, pochiSendBody(t, "300000000001", "300000000001", stkPhone, 100, rc.srv.URL+"/cb"))

	resp, raw := e.pochiPayoutStatus(token, "300000000001")
	if resp.StatusCode != 200 {
		t.Fatalf("status: HTTP %d %s", resp.StatusCode, raw)
	}
	fixture.SameShape(t, "pending", pochiExample(t, "assumed-disbursement-status-pending.json"), raw)
	checkJSON(t, "pending", decodeObject(t, raw)["result"].(map[string]any), map[string]any{
		"trackingReference": "300000000001", "status": "Pending", "thirdPartyReference": nil,
		"narrationId": matches(guidPattern), "failReason": nil,
	})
	if r := e.sb.PhoneReceived(stkPhone); len(r) != 0 {
		t.Errorf("a pending payout reached the phone: %+v", r)
	}
	if err := e.sb.PayoutFinish(PayoutPochipay, "300000000001", true, true); err != nil {
		t.Fatal(err)
	}
	if got := checkCallback(t, rc.next(t), "/cb"); got["successful"] != true {
		t.Errorf("callback = %v", got)
	}
	resp, raw = e.pochiPayoutStatus(token, "300000000001")
	fixture.SameShape(t, "completed", pochiExample(t, "assumed-disbursement-status-completed.json"), raw)
	if resp.StatusCode != 200 || decodeObject(t, raw)["result"].(map[string]any)["status"] != "Completed" {
		t.Errorf("status: HTTP %d %s, want Completed", resp.StatusCode, raw)
	}
	if err := e.sb.PayoutFinish(PayoutPochipay, "300000000001", false, true); err != ErrPayoutFinal {
		t.Errorf("finishing twice: %v, want ErrPayoutFinal", err)
	}

	resp, raw = e.pochiPayoutStatus(token, "399999999999")
	if resp.StatusCode != 404 {
		t.Errorf("unknown: HTTP %d %s, want 404", resp.StatusCode, raw)
	}
	fixture.SameShape(t, "not found", pochiExample(t, "assumed-disbursement-status-notfound.json"), raw)
	checkJSON(t, "not found", decodeObject(t, raw), decodeObject(t, pochiExample(t, "assumed-disbursement-status-notfound.json")))

	e.sb.FailPayoutStatusQueries(1)
	if resp, raw := e.pochiPayoutStatus(token, "300000000001"); resp.StatusCode != 503 {
		t.Errorf("failing status: HTTP %d %s, want 503", resp.StatusCode, raw)
	}
	if n := e.sb.PayoutStatusQueries(); n != 4 {
		t.Errorf("status queries = %d, want 4", n)
	}
}

func TestPochipayFailedSendIsCalledBackAsAFailureAndReadsFailed(t *testing.T) {
	rc := callbackReceiver(t, nil)
	e := newSTKEnv(t, nil)
	token := e.pochiToken()
	e.sb.PayoutNext(stkPhone, PayoutFault{Fail: true})
	e.pochiSendOK(token, pochiSendBody(t, "400000000001", "400000000001", stkPhone, 100, rc.srv.URL+"/cb"))
	req := rc.next(t)
	fixture.SameShape(t, "failed callback", pochiExample(t, "assumed-disbursement-callback-failed.json"), []byte(req.Body))
	checkJSON(t, "failed callback", decodeObject(t, []byte(req.Body)), map[string]any{
		"successful": false, "requestId": "400000000001", "trackingReference": "400000000001",
		"thirdPartyReference": nil, "failReason": "The recipient is not a registered M-Pesa customer",
	})
	_, raw := e.pochiPayoutStatus(token, "400000000001")
	checkJSON(t, "failed status", decodeObject(t, raw)["result"].(map[string]any), map[string]any{
		"trackingReference": "400000000001", "status": "Failed", "thirdPartyReference": nil,
		"narrationId": nil, "failReason": "The recipient is not a registered M-Pesa customer",
	})
}

func TestPochipayCallbackIsSentOnceOrTwiceWhenAsked(t *testing.T) {
	rc := callbackReceiver(t, nil)
	e := newSTKEnv(t, nil)
	token := e.pochiToken()
	e.pochiSendOK(token, pochiSendBody(t, "500000000001", "500000000001", stkPhone, 100, rc.srv.URL+"/cb"))
	e.sb.WaitIPNs()
	if rc.count() != 1 {
		t.Fatalf("callbacks = %d, want 1", rc.count())
	}
	e.sb.PayoutNext(stkPhone, PayoutFault{TwiceCallback: true})
	e.pochiSendOK(token, pochiSendBody(t, "500000000002", "500000000002", stkPhone, 100, rc.srv.URL+"/cb"))
	e.sb.WaitIPNs()
	if rc.count() != 3 {
		t.Errorf("callbacks = %d, want 3 (once, then twice)", rc.count())
	}
	e.sb.PayoutNext(stkPhone, PayoutFault{NoCallback: true})
	e.pochiSendOK(token, pochiSendBody(t, "500000000003", "500000000003", stkPhone, 100, rc.srv.URL+"/cb"))
	e.sb.WaitIPNs()
	if rc.count() != 3 {
		t.Errorf("callbacks = %d, want still 3", rc.count())
	}
	if r := e.sb.PhoneReceived(stkPhone); len(r) != 3 {
		t.Errorf("phone received %d payouts, want 3", len(r))
	}
}

func TestPochipayLateAnswerTimesTheClientOutAndTheStatusCallSaysCompleted(t *testing.T) {
	e := newSTKEnv(t, nil)
	token := e.pochiToken()
	e.sb.PayoutNext(stkPhone, PayoutFault{Late: true, NoCallback: true})
	raw, _ := json.Marshal(pochiSendBody(t, "600000000001", "600000000001", stkPhone, 250, "https://shop.example/cb"))
	req, _ := http.NewRequest("POST", e.pochiURL("/disbursement/send-to-mobile"), bytes.NewReader(raw))
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Authorization", "Bearer "+token)
	client := &http.Client{Timeout: 300 * time.Millisecond}
	if resp, err := client.Do(req); err == nil {
		resp.Body.Close()
		t.Fatalf("the late answer came in time: HTTP %d", resp.StatusCode)
	}
	resp, body := e.pochiPayoutStatus(token, "600000000001")
	if resp.StatusCode != 200 || decodeObject(t, body)["result"].(map[string]any)["status"] != "Completed" {
		t.Errorf("status after the timeout: HTTP %d %s, want Completed", resp.StatusCode, body)
	}
	if b := e.sb.PochipayBalance(); b != DefaultPochipayBalance-250_00 {
		t.Errorf("balance = %v, want KES 250 taken", b)
	}
}

func TestPochipayCancelTakesOnlyAPayoutPendingForADay(t *testing.T) {
	e := newSTKEnv(t, nil)
	token := e.pochiToken()
	cancel := func(tracking string) (*http.Response, []byte) {
		token = e.pochiToken() // a day later, the morning's token has expired
		return e.pochiPost(token, "/disbursement/cancel", map[string]string{"trackingReference": tracking})
	}
	e.sb.PayoutNext(stkPhone, PayoutFault{Hold: true})
	e.pochiSendOK(token, pochiSendBody(t, "700000000001", "700000000001", stkPhone, 1000, "https://shop.example/cb"))
	e.pochiSendOK(token, pochiSendBody(t, "700000000002", "700000000002", stkPhone2, 100, "https://shop.example/cb"))
	e.clock.Add(23*time.Hour + 59*time.Minute)
	resp, raw := cancel("700000000001")
	if resp.StatusCode != 400 || decodeObject(t, raw)["message"] != pochipayCancelTooSoon {
		t.Errorf("cancel before 24 h: HTTP %d %s, want 400 %q", resp.StatusCode, raw, pochipayCancelTooSoon)
	}
	e.clock.Add(time.Minute)
	resp, raw = cancel("700000000001")
	if resp.StatusCode != 200 {
		t.Fatalf("cancel after 24 h: HTTP %d %s", resp.StatusCode, raw)
	}
	fixture.SameShape(t, "cancel", pochiExample(t, "assumed-disbursement-cancel-response.json"), raw)
	_, raw = e.pochiPayoutStatus(token, "700000000001")
	if res := decodeObject(t, raw)["result"].(map[string]any); res["status"] != "Failed" || res["failReason"] != pochipayCancelledReason {
		t.Errorf("status after cancel = %v, want Failed, cancelled", res)
	}
	if b := e.sb.PochipayBalance(); b != DefaultPochipayBalance-100_00 {
		t.Errorf("balance = %v, want the cancelled KES 1,000 back", b)
	}
	for _, tc := range []struct{ ref, want string }{
		{"700000000001", pochipayCancelNotPending}, // cancelled already
		{"700000000002", pochipayCancelNotPending}, // completed
	} {
		if resp, raw := cancel(tc.ref); resp.StatusCode != 400 || decodeObject(t, raw)["message"] != tc.want {
			t.Errorf("cancel %s: HTTP %d %s, want 400 %q", tc.ref, resp.StatusCode, raw, tc.want)
		}
	}
	if resp, raw := cancel("799999999999"); resp.StatusCode != 404 {
		t.Errorf("cancel unknown: HTTP %d %s, want 404", resp.StatusCode, raw)
	}
	if err := e.sb.PayoutFinish(PayoutPochipay, "700000000001", true, false); err != ErrPayoutFinal {
		t.Errorf("finishing a cancelled payout: %v, want ErrPayoutFinal", err)
	}
}
