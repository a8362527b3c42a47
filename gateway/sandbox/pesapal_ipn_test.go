package sandbox

import (
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"reflect"
	"strings"
	"sync"
	"testing"
	"time"

	"checkout/gateway"
)

// ipnOrder submits an order of KES 1,500.50 whose IPN goes to rc with the
// given method; the IPN and callback URLs carry a parameter of their own.
func (e *testEnv) ipnOrder(rc *ipnReceiver, method, ref string) string {
	e.t.Helper()
	token := e.token()
	ipnID := e.registerIPN(token, rc.srv.URL+"/ipn/pesapal?src=sandbox", method)
	body := orderBody(ref, ipnID, "https://shop.example/return/pesapal?lang=sw")
	body["amount"] = json.Number("1500.50")
	return e.submit(token, body)
}

func TestPayRedirectsToCallbackCompletesOrderAndSendsIPN(t *testing.T) {
	for _, method := range []string{"GET", "POST"} {
		t.Run("IPN by "+method, func(t *testing.T) {
			rc := newIPNReceiver(t, nil)
			e := newEnv(t, nil)
			id := e.ipnOrder(rc, method, "att_pay_"+method)
			ref := "att_pay_" + method

			resp, _ := e.postPay("OrderTrackingId=" + id + "&method=visa&action=pay")
			q := callbackParams(t, resp, "https://shop.example/return/pesapal?lang=sw&OrderTrackingId=")
			wantQuery := url.Values{
				"lang":                   {"sw"},
				"OrderTrackingId":        {id},
				"OrderMerchantReference": {ref},
				"OrderNotificationType":  {"CALLBACKURL"},
			}
			if !reflect.DeepEqual(q, wantQuery) {
				t.Errorf("callback query = %v, want %v", q, wantQuery)
			}
			if want := "https://shop.example/return/pesapal?lang=sw&OrderTrackingId=" + id +
				"&OrderMerchantReference=" + ref + "&OrderNotificationType=CALLBACKURL"; resp.Header.Get("Location") != want {
				t.Errorf("Location = %q, want %q", resp.Header.Get("Location"), want)
			}

			o, _ := e.sb.PesapalOrder(id)
			if o.StatusCode != PesapalStatusCompleted || o.PaymentMethod != "Visa" || o.PaymentAccount != "424242**4242" ||
				o.PaidAmount != 150050 || !o.ProcessedAt.Equal(e.clock.Now()) {
				t.Errorf("order after Pay = %+v", o)
			}
			_, body := e.status(e.token(), id)
			checkJSON(t, "completed answer", body, map[string]any{
				"payment_method":             "Visa",
				"amount":                     json.Number("1500.5"),
				"created_date":               "2026-03-14T09:26:53.5897932",
				"confirmation_code":          matches(codePattern),
				"payment_status_description": "Completed",
				"description":                "",
				"message":                    "Request processed successfully",
				"payment_account":            "424242**4242",
				"call_back_url":              "https://shop.example/return/pesapal?lang=sw&OrderTrackingId=" + id + "&OrderMerchantReference=" + ref,
				"status_code":                json.Number("1"),
				"merchant_reference":         ref,
				"payment_status_code":        "",
				"currency":                   "KES",
				"error":                      map[string]any{"error_type": nil, "code": nil, "message": nil, "call_back_url": nil},
				"status":                     "200",
			})
			if body["confirmation_code"] != o.ConfirmationCode {
				t.Errorf("confirmation_code = %v, order has %q", body["confirmation_code"], o.ConfirmationCode)
			}

			got := rc.next(t)
			want := ipnRequest{Method: method, Path: "/ipn/pesapal"}
			switch method {
			case "GET":
				want.Query = url.Values{
					"src":                    {"sandbox"},
					"OrderTrackingId":        {id},
					"OrderMerchantReference": {ref},
					"OrderNotificationType":  {"IPNCHANGE"},
				}
			case "POST":
				want.Query = url.Values{"src": {"sandbox"}}
				want.ContentType = "application/json"
				want.Body = `{"OrderNotificationType":"IPNCHANGE","OrderTrackingId":"` + id + `","OrderMerchantReference":"` + ref + `"}`
			}
			if !reflect.DeepEqual(got, want) {
				t.Errorf("IPN =\n%+v\nwant\n%+v", got, want)
			}
			e.sb.WaitIPNs()
			if n := e.sb.IPNsSent(); n != 1 {
				t.Errorf("IPNsSent() = %d, want 1", n)
			}
			if n := rc.count(); n != 1 {
				t.Errorf("receiver got %d IPNs, want 1", n)
			}
		})
	}
}

func TestDeclineRedirectsToCallbackAndMarksOrderFailed(t *testing.T) {
	rc := newIPNReceiver(t, nil)
	e := newEnv(t, nil)
	id := e.ipnOrder(rc, "GET", "att_decline")

	resp, _ := e.postPay("OrderTrackingId=" + id + "&method=mpesa&action=decline")
	q := callbackParams(t, resp, "https://shop.example/return/pesapal?lang=sw&")
	if q.Get("OrderTrackingId") != id || q.Get("OrderMerchantReference") != "att_decline" || q.Get("OrderNotificationType") != "CALLBACKURL" {
		t.Errorf("callback query = %v", q)
	}
	_, body := e.status(e.token(), id)
	checkJSON(t, "failed answer", body, map[string]any{
		"payment_method":             "MPESA",
		"amount":                     json.Number("1500.5"),
		"created_date":               "2026-03-14T09:26:53.5897932",
		"confirmation_code":          matches(codePattern),
		"payment_status_description": "Failed",
		"description":                "Unable to Authorize Transaction.Kindly contact your bank for assistance",
		"message":                    "Request processed successfully",
		"payment_account":            "2547*****678", // from billing phone 0712 345 678
		"call_back_url":              "https://shop.example/return/pesapal?lang=sw&OrderTrackingId=" + id + "&OrderMerchantReference=att_decline",
		"status_code":                json.Number("2"),
		"merchant_reference":         "att_decline",
		"payment_status_code":        "",
		"currency":                   "KES",
		"error":                      map[string]any{"error_type": nil, "code": nil, "message": nil, "call_back_url": nil},
		"status":                     "200",
	})
	if got := rc.next(t); got.Query.Get("OrderTrackingId") != id || got.Query.Get("OrderNotificationType") != "IPNCHANGE" {
		t.Errorf("IPN = %+v", got)
	}
}

func TestSecondPostForAFinalOrderChangesNothing(t *testing.T) {
	rc := newIPNReceiver(t, nil)
	e := newEnv(t, nil)
	id := e.ipnOrder(rc, "POST", "att_twice")

	resp, _ := e.postPay("OrderTrackingId=" + id + "&action=pay")
	callbackParams(t, resp, "https://shop.example/return/pesapal?")
	e.sb.WaitIPNs()
	before, _ := e.sb.PesapalOrder(id)
	if before.StatusCode != PesapalStatusCompleted || before.PaymentMethod != "MPESA" {
		t.Fatalf("order after Pay without a method = %+v, want completed by MPESA", before)
	}

	e.clock.Add(time.Minute)
	resp, _ = e.postPay("OrderTrackingId=" + id + "&action=decline&method=visa")
	q := callbackParams(t, resp, "https://shop.example/return/pesapal?")
	if q.Get("OrderTrackingId") != id {
		t.Errorf("callback query = %v", q)
	}
	e.sb.WaitIPNs()
	if after, _ := e.sb.PesapalOrder(id); after != before {
		t.Errorf("order changed:\n%+v\nwas\n%+v", after, before)
	}
	if n := e.sb.IPNsSent(); n != 1 {
		t.Errorf("IPNsSent() = %d, want 1 (no IPN for the second POST)", n)
	}
}

func TestDuplicateIPNRateOneSendsEveryIPNTwice(t *testing.T) {
	rc := newIPNReceiver(t, nil)
	e := newEnv(t, func(c *Config) { c.DuplicateIPNRate = 1 })
	id := e.ipnOrder(rc, "GET", "att_dup")
	if err := e.sb.PesapalComplete(id, true); err != nil {
		t.Fatal(err)
	}
	e.sb.WaitIPNs()
	for i := range 2 {
		if got := rc.next(t); got.Query.Get("OrderTrackingId") != id || got.Query.Get("OrderMerchantReference") != "att_dup" {
			t.Errorf("IPN %d = %+v", i+1, got)
		}
	}
	if n := e.sb.IPNsSent(); n != 2 {
		t.Errorf("IPNsSent() = %d, want 2", n)
	}
}

func TestDuplicateIPNRateZeroSendsEveryIPNOnce(t *testing.T) {
	rc := newIPNReceiver(t, nil)
	e := newEnv(t, func(c *Config) { c.DuplicateIPNRate = 0 })
	for i := range 10 {
		id := e.ipnOrder(rc, "GET", fmt.Sprint("att_once_", i))
		if err := e.sb.PesapalComplete(id, true); err != nil {
			t.Fatal(err)
		}
	}
	e.sb.WaitIPNs()
	if n := rc.count(); n != 10 {
		t.Errorf("receiver got %d IPNs for 10 payments, want 10", n)
	}
}

func TestIPNIsRetriedUntilAcknowledged(t *testing.T) {
	cases := []struct {
		name   string
		refuse func(w http.ResponseWriter)
	}{
		{"HTTP 500 with status 500", func(w http.ResponseWriter) { ack(w, 500, "IPNCHANGE", "", "") }},
		{"HTTP 200 with status 500", func(w http.ResponseWriter) {
			w.Header().Set("Content-Type", "application/json")
			fmt.Fprint(w, `{"orderNotificationType":"IPNCHANGE","status":500}`)
		}},
		{"HTTP 200 without JSON", func(w http.ResponseWriter) { fmt.Fprint(w, "OK") }},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			rc := newIPNReceiver(t, func(n int, w http.ResponseWriter, r *http.Request) {
				if n == 1 {
					c.refuse(w)
					return
				}
				ack(w, 200, "IPNCHANGE", r.URL.Query().Get("OrderTrackingId"), r.URL.Query().Get("OrderMerchantReference"))
			})
			e := newEnv(t, func(c *Config) { c.IPNRetries = 3 })
			id := e.ipnOrder(rc, "GET", "att_retry")
			if err := e.sb.PesapalComplete(id, true); err != nil {
				t.Fatal(err)
			}
			e.sb.WaitIPNs()
			for i := range 2 {
				if got := rc.next(t); got.Query.Get("OrderTrackingId") != id {
					t.Errorf("try %d = %+v", i+1, got)
				}
			}
			if n := e.sb.IPNsSent(); n != 2 {
				t.Errorf("IPNsSent() = %d, want 2 (one refused, one acknowledged)", n)
			}
		})
	}
}

func TestIPNIsGivenUpAfterIPNRetries(t *testing.T) {
	rc := newIPNReceiver(t, func(n int, w http.ResponseWriter, r *http.Request) { ack(w, 500, "IPNCHANGE", "", "") })
	e := newEnv(t, func(c *Config) { c.IPNRetries = 2 })
	id := e.ipnOrder(rc, "POST", "att_giveup")
	if err := e.sb.PesapalComplete(id, true); err != nil {
		t.Fatal(err)
	}
	e.sb.WaitIPNs()
	if n := e.sb.IPNsSent(); n != 3 {
		t.Errorf("IPNsSent() = %d, want 3 (the first try and 2 retries)", n)
	}
	if n := rc.count(); n != 3 {
		t.Errorf("receiver got %d tries, want 3", n)
	}
}

func TestNegativeIPNRetriesMeansASingleTry(t *testing.T) {
	rc := newIPNReceiver(t, func(n int, w http.ResponseWriter, r *http.Request) { ack(w, 500, "IPNCHANGE", "", "") })
	e := newEnv(t, func(c *Config) { c.IPNRetries = -1 })
	id := e.ipnOrder(rc, "GET", "att_single")
	if err := e.sb.PesapalComplete(id, true); err != nil {
		t.Fatal(err)
	}
	e.sb.WaitIPNs()
	if n := rc.count(); n != 1 {
		t.Errorf("receiver got %d tries, want 1", n)
	}
}

func TestTestHooksCompleteDeclineAndReverse(t *testing.T) {
	rc := newIPNReceiver(t, nil)
	e := newEnv(t, nil)
	token := e.token()

	short := e.ipnOrder(rc, "GET", "att_short")
	if err := e.sb.PesapalCompleteAmount(short, gateway.Amount(100000), false); err != nil {
		t.Fatal(err)
	}
	_, body := e.status(token, short)
	if body["amount"] != json.Number("1000") || body["status_code"] != json.Number("1") {
		t.Errorf("short payment: amount %v status_code %v, want 1000 and 1", body["amount"], body["status_code"])
	}
	if o, _ := e.sb.PesapalOrder(short); o.Amount != 150050 || o.PaidAmount != 100000 || o.PaymentMethod != "MPESA" ||
		!matches(codePattern).ok(o.ConfirmationCode) {
		t.Errorf("short payment order = %+v", o)
	}

	if err := e.sb.PesapalComplete(short, false); !errors.Is(err, ErrOrderFinal) {
		t.Errorf("PesapalComplete on a completed order = %v, want ErrOrderFinal", err)
	}
	if err := e.sb.PesapalDecline(short, false); !errors.Is(err, ErrOrderFinal) {
		t.Errorf("PesapalDecline on a completed order = %v, want ErrOrderFinal", err)
	}
	for name, err := range map[string]error{
		"PesapalComplete":       e.sb.PesapalComplete("nope", false),
		"PesapalCompleteAmount": e.sb.PesapalCompleteAmount("nope", 1, false),
		"PesapalDecline":        e.sb.PesapalDecline("nope", false),
		"PesapalReverse":        e.sb.PesapalReverse("nope"),
		"SendIPN":               e.sb.SendIPN("nope"),
	} {
		if !errors.Is(err, ErrUnknownOrder) {
			t.Errorf("%s on an unknown order = %v, want ErrUnknownOrder", name, err)
		}
	}

	pending := e.ipnOrder(rc, "GET", "att_reverse")
	if err := e.sb.PesapalReverse(pending); err == nil {
		t.Error("PesapalReverse of a pending order succeeded")
	}
	if err := e.sb.PesapalComplete(pending, false); err != nil {
		t.Fatal(err)
	}
	e.clock.Add(time.Hour)
	if err := e.sb.PesapalReverse(pending); err != nil {
		t.Fatal(err)
	}
	_, body = e.status(e.token(), pending)
	if body["status_code"] != json.Number("3") || body["payment_status_description"] != "Reversed" ||
		body["description"] != "Transaction reversed" || body["created_date"] != "2026-03-14T09:26:53.5897932" ||
		body["status"] != "200" {
		t.Errorf("reversed answer = %v", body)
	}
	if err := e.sb.PesapalReverse(pending); err == nil {
		t.Error("a second PesapalReverse succeeded")
	}

	declined := e.ipnOrder(rc, "GET", "att_hook_decline")
	if err := e.sb.PesapalDecline(declined, true); err != nil {
		t.Fatal(err)
	}
	if got := rc.next(t); got.Query.Get("OrderTrackingId") != declined {
		t.Errorf("IPN after PesapalDecline = %+v", got)
	}
	e.sb.WaitIPNs()
	if n := e.sb.IPNsSent(); n != 1 {
		t.Errorf("IPNsSent() = %d, want 1 (only PesapalDecline asked for one)", n)
	}
}

func TestSendIPNSendsOnceAndReportsTheAcknowledgement(t *testing.T) {
	var mu sync.Mutex
	status := 200
	rc := newIPNReceiver(t, func(n int, w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		defer mu.Unlock()
		ack(w, status, "IPNCHANGE", "", "")
	})
	e := newEnv(t, nil)
	id := e.ipnOrder(rc, "POST", "att_send")

	if err := e.sb.SendIPN(id); err != nil {
		t.Errorf("acknowledged IPN: SendIPN = %v, want nil", err)
	}
	if got := rc.next(t); got.Method != "POST" || !strings.Contains(got.Body, `"OrderTrackingId":"`+id+`"`) {
		t.Errorf("IPN = %+v", got)
	}

	mu.Lock()
	status = 500
	mu.Unlock()
	if err := e.sb.SendIPN(id); err == nil || !strings.Contains(err.Error(), "HTTP 500") {
		t.Errorf("refused IPN: SendIPN = %v, want an error naming HTTP 500", err)
	}
	if n := e.sb.IPNsSent(); n != 2 {
		t.Errorf("IPNsSent() = %d, want 2 (SendIPN does not retry)", n)
	}
}

func TestCloseCancelsIPNsUnderWayAndWaitsForThem(t *testing.T) {
	started := make(chan struct{})
	var once sync.Once
	rc := newIPNReceiver(t, func(n int, w http.ResponseWriter, r *http.Request) {
		once.Do(func() { close(started) })
		<-r.Context().Done() // never answers: only the sender's cancellation ends it
	})
	e := newEnv(t, nil)
	id := e.ipnOrder(rc, "GET", "att_close")
	if err := e.sb.PesapalComplete(id, true); err != nil {
		t.Fatal(err)
	}
	select {
	case <-started:
	case <-time.After(5 * time.Second):
		t.Fatal("the IPN never started")
	}

	done := make(chan struct{})
	go func() { e.sb.Close(); close(done) }()
	select {
	case <-done:
	case <-time.After(5 * time.Second):
		t.Fatal("Close did not return")
	}
	e.sb.mu.Lock()
	inflight := e.sb.inflight
	e.sb.mu.Unlock()
	if inflight != 0 {
		t.Errorf("%d IPN goroutines still running after Close", inflight)
	}

	// After Close nothing is scheduled or sent.
	other := e.ipnOrder(rc, "GET", "att_after_close")
	if err := e.sb.PesapalComplete(other, true); err != nil {
		t.Fatal(err)
	}
	if err := e.sb.SendIPN(other); err == nil {
		t.Error("SendIPN after Close succeeded")
	}
	e.sb.mu.Lock()
	inflight = e.sb.inflight
	e.sb.mu.Unlock()
	if inflight != 0 || rc.count() != 1 {
		t.Errorf("after Close: %d goroutines, %d IPNs received; want 0 and 1", inflight, rc.count())
	}
}

func TestCloseDoesNotWaitForTheIPNDelay(t *testing.T) {
	rc := newIPNReceiver(t, nil)
	e := newEnv(t, func(c *Config) { c.IPNDelay = time.Hour })
	id := e.ipnOrder(rc, "GET", "att_waiting")
	if err := e.sb.PesapalComplete(id, true); err != nil {
		t.Fatal(err)
	}
	begin := time.Now()
	e.sb.Close()
	if d := time.Since(begin); d > 5*time.Second {
		t.Errorf("Close took %v", d)
	}
	if n := e.sb.IPNsSent(); n != 0 || rc.count() != 0 {
		t.Errorf("IPNs sent = %d, received = %d; want none", n, rc.count())
	}
}

func TestConcurrentPaymentsAndQueriesAreSafe(t *testing.T) {
	rc := newIPNReceiver(t, nil)
	e := newEnv(t, func(c *Config) { c.DuplicateIPNRate = 0.5 })
	token := e.token()
	ipnID := e.registerIPN(token, rc.srv.URL+"/ipn", "POST")
	const n = 12
	ids := make([]string, n)
	for i := range n {
		ids[i] = e.submit(token, orderBody(fmt.Sprint("att_conc_", i), ipnID, "https://shop.example/return"))
	}
	client := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	var wg sync.WaitGroup
	for i, id := range ids {
		wg.Go(func() {
			action := "pay"
			if i%3 == 0 {
				action = "decline"
			}
			resp, err := client.PostForm(e.srv.URL+PesapalPayPath, url.Values{"OrderTrackingId": {id}, "action": {action}})
			if err != nil {
				t.Error(err)
				return
			}
			resp.Body.Close()
			if resp.StatusCode != http.StatusSeeOther {
				t.Errorf("%s: HTTP %d, want 303", id, resp.StatusCode)
			}
			req, _ := http.NewRequest("GET", e.apiURL("/api/Transactions/GetTransactionStatus?orderTrackingId="+id), nil)
			req.Header.Set("Authorization", "Bearer "+token)
			if resp, err = client.Do(req); err != nil {
				t.Error(err)
				return
			}
			resp.Body.Close()
			e.sb.PesapalOrderByReference(fmt.Sprint("att_conc_", i))
			_ = e.sb.IPNsSent()
		})
	}
	wg.Wait()
	e.sb.WaitIPNs()
	if got, sent := rc.count(), e.sb.IPNsSent(); got < n || got > 2*n || got != sent {
		t.Errorf("received %d IPNs, sent %d; want the same count between %d and %d", got, sent, n, 2*n)
	}
	if q := e.sb.StatusQueries(); q != n {
		t.Errorf("StatusQueries() = %d, want %d", q, n)
	}
	for i, id := range ids {
		want := PesapalStatusCompleted
		if i%3 == 0 {
			want = PesapalStatusFailed
		}
		if o, _ := e.sb.PesapalOrder(id); o.StatusCode != want {
			t.Errorf("order %d: status_code %d, want %d", i, o.StatusCode, want)
		}
	}
}
