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

// ppIPNKeys are the IPN body's keys, as the document's sample writes them.
var ppIPNKeys = []string{"billreference", "amount", "accountname", "accountno", "fees", "referenceno", "method"}

// checkPokeaPayIPN checks one IPN request: a JSON POST to /ipn/pokeapay
// with exactly the document's keys, every value a string, equal to want.
func checkPokeaPayIPN(t *testing.T, got ipnRequest, want map[string]string) {
	t.Helper()
	if got.Method != "POST" || got.Path != "/ipn/pokeapay" || got.ContentType != "application/json" ||
		!reflect.DeepEqual(got.Query, url.Values{"src": {"sandbox"}}) {
		t.Errorf("IPN request = %+v, want a JSON POST to /ipn/pokeapay?src=sandbox", got)
	}
	var body map[string]any
	if err := json.Unmarshal([]byte(got.Body), &body); err != nil {
		t.Fatalf("IPN body is not a JSON object: %v: %s", err, got.Body)
	}
	for _, k := range ppIPNKeys { // the document's key order
		if i := strings.Index(got.Body, `"`+k+`":`); i < 0 {
			t.Errorf("IPN body lacks %q: %s", k, got.Body)
		}
	}
	if len(body) != len(ppIPNKeys) {
		t.Errorf("IPN body has %d keys, want %d (%v): %s", len(body), len(ppIPNKeys), ppIPNKeys, got.Body)
	}
	for k, w := range want {
		if body[k] != w {
			t.Errorf("IPN %s = %#v, want %q", k, body[k], w)
		}
	}
}

func TestPokeaPayPayRedirectsToCbWithTheReturnParameters(t *testing.T) {
	rc := ppReceiver(t, nil)
	e := newPokeaPayEnv(t, rc.srv.URL+"/ipn/pokeapay?src=sandbox", nil)
	e.openCheckout(ppParams())

	resp, _ := e.postCheckout(url.Values{"oref": {ppRef}, "type": {"m"}, "action": {"pay"}})
	want := ppReturn + "&oref=" + ppRef + "&hsh=" + ppReturnHash + "&type=m&amount=1500.00&status=1"
	if resp.StatusCode != http.StatusSeeOther || resp.Header.Get("Location") != want {
		t.Errorf("HTTP %d Location %q, want 303 to %q", resp.StatusCode, resp.Header.Get("Location"), want)
	}
	q := callbackParams(t, resp, ppReturn+"&")
	if want := (url.Values{
		"lang": {"sw"}, "oref": {ppRef}, "hsh": {ppReturnHash}, "type": {"m"}, "amount": {"1500.00"}, "status": {"1"},
	}); !reflect.DeepEqual(q, want) {
		t.Errorf("return query = %v, want %v", q, want)
	}
	// The return hash is checked independently: OpenSSL's value above, and
	// the test's own HMAC.
	if q.Get("hsh") != ppHMAC(ppRef, ppOutlet) {
		t.Errorf("hsh = %s, want HMAC-SHA1(key, oref . oc)", q.Get("hsh"))
	}

	o, _ := e.sb.PokeaPayOrder(ppRef)
	if o.Status != PokeaPayPaid || o.Type != "m" || o.PaidAmount != 150000 || o.Cancelled ||
		!matches(codePattern).ok(o.ReferenceNo) || !o.UpdatedAt.Equal(e.clock.Now()) {
		t.Errorf("order after Pay = %+v", o)
	}

	checkPokeaPayIPN(t, rc.next(t), map[string]string{
		"billreference": ppRef,
		"amount":        "1500.00",
		"accountname":   "Wanjiku Kamau",
		"accountno":     "254712345678",
		"fees":          "0.00",
		"referenceno":   o.ReferenceNo,
		"method":        "MPESA",
	})
	e.sb.WaitIPNs()
	if n := e.sb.PokeaPayIPNsSent(); n != 1 {
		t.Errorf("PokeaPayIPNsSent() = %d, want 1", n)
	}
	if n := e.sb.IPNsSent(); n != 0 {
		t.Errorf("Pesapal IPNsSent() = %d, want 0", n)
	}
}

func TestPokeaPayIPNNamesTheAccountOfTheMethod(t *testing.T) {
	cases := []struct {
		name, typ, tel, amt string
		want                map[string]string
	}{
		{"card", "c", "254712345678", "1500", map[string]string{"accountno": "424242******4242", "method": "CARD", "amount": "1500.00"}},
		{"M-Pesa from 07 phone", "m", "0712 345-678", "99.5", map[string]string{"accountno": "254712345678", "method": "MPESA", "amount": "99.50"}},
		{"M-Pesa from 01 phone", "m", "+254 110 000 111", "10", map[string]string{"accountno": "254110000111", "method": "MPESA", "amount": "10.00"}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			rc := ppReceiver(t, nil)
			e := newPokeaPayEnv(t, rc.srv.URL+"/ipn/pokeapay?src=sandbox", nil)
			e.openCheckout(ppOrder("ORD-acct", "tel", c.tel, "amt", c.amt))
			resp, _ := e.postCheckout(url.Values{"oref": {"ORD-acct"}, "type": {c.typ}, "action": {"pay"}})
			q := callbackParams(t, resp, ppReturn)
			if q.Get("type") != c.typ || q.Get("amount") != c.amt || q.Get("status") != "1" {
				t.Errorf("return query = %v", q)
			}
			c.want["billreference"] = "ORD-acct"
			checkPokeaPayIPN(t, rc.next(t), c.want)
		})
	}
}

func TestPokeaPayDeclineAndCancelFailTheOrderWithoutIPN(t *testing.T) {
	for _, action := range []string{"decline", "cancel"} {
		t.Run(action, func(t *testing.T) {
			rc := ppReceiver(t, nil)
			e := newPokeaPayEnv(t, rc.srv.URL+"/ipn/pokeapay?src=sandbox", nil)
			e.openCheckout(ppParams())

			resp, _ := e.postCheckout(url.Values{"oref": {ppRef}, "type": {"c"}, "action": {action}})
			want := ppReturn + "&oref=" + ppRef + "&hsh=" + ppReturnHash + "&type=c&amount=1500.00&status=0"
			if resp.StatusCode != http.StatusSeeOther || resp.Header.Get("Location") != want {
				t.Errorf("HTTP %d Location %q, want 303 to %q", resp.StatusCode, resp.Header.Get("Location"), want)
			}
			o, _ := e.sb.PokeaPayOrder(ppRef)
			if o.Status != PokeaPayFailed || o.Cancelled != (action == "cancel") || o.ReferenceNo != "" || o.PaidAmount != 0 {
				t.Errorf("order = %+v", o)
			}
			if s := e.verifyStatus(ppRef, "1500.00", "c"); s != PokeaPayVerifyFailed {
				t.Errorf("verification = %s, want failed", s)
			}
			e.sb.WaitIPNs()
			if n := e.sb.PokeaPayIPNsSent(); n != 0 || rc.count() != 0 {
				t.Errorf("IPNs sent %d, received %d; want none", n, rc.count())
			}
			if err := e.sb.SendPokeaPayIPN(ppRef); err == nil {
				t.Error("SendPokeaPayIPN of a failed order succeeded")
			}
		})
	}
}

func TestPokeaPaySecondPostForAFinalOrderChangesNothing(t *testing.T) {
	rc := ppReceiver(t, nil)
	e := newPokeaPayEnv(t, rc.srv.URL+"/ipn/pokeapay?src=sandbox", nil)
	e.openCheckout(ppParams())
	resp, _ := e.postCheckout(url.Values{"oref": {ppRef}, "action": {"pay"}}) // no type: M-Pesa
	first := resp.Header.Get("Location")
	e.sb.WaitIPNs()
	before, _ := e.sb.PokeaPayOrder(ppRef)
	if before.Status != PokeaPayPaid || before.Type != "m" {
		t.Fatalf("order after Pay without a type = %+v, want paid by M-Pesa", before)
	}

	e.clock.Add(time.Minute)
	for _, action := range []string{"decline", "cancel", "pay"} {
		resp, _ = e.postCheckout(url.Values{"oref": {ppRef}, "type": {"c"}, "action": {action}})
		if resp.StatusCode != http.StatusSeeOther || resp.Header.Get("Location") != first {
			t.Errorf("%s again: HTTP %d Location %q, want 303 to %q", action, resp.StatusCode, resp.Header.Get("Location"), first)
		}
	}
	e.sb.WaitIPNs()
	if after, _ := e.sb.PokeaPayOrder(ppRef); after != before {
		t.Errorf("order changed:\n%+v\nwas\n%+v", after, before)
	}
	if n := e.sb.PokeaPayIPNsSent(); n != 1 {
		t.Errorf("PokeaPayIPNsSent() = %d, want 1 (none for the later POSTs)", n)
	}

	e.openCheckout(ppOrder("ORD-declined"))
	e.postCheckout(url.Values{"oref": {"ORD-declined"}, "action": {"decline"}})
	resp, _ = e.postCheckout(url.Values{"oref": {"ORD-declined"}, "type": {"c"}, "action": {"pay"}})
	if q := callbackParams(t, resp, ppReturn); q.Get("status") != "0" || q.Get("type") != "m" {
		t.Errorf("pay after decline: return query %v, want status 0 and the type of the decline", q)
	}
	if o, _ := e.sb.PokeaPayOrder("ORD-declined"); o.Status != PokeaPayFailed {
		t.Errorf("pay after decline changed the order: %+v", o)
	}
}

func TestPokeaPayFormRejectsBadInput(t *testing.T) {
	e := newPokeaPayEnv(t, "", nil)
	e.openCheckout(ppParams())
	cases := []struct {
		name   string
		form   url.Values
		status int
		text   string
	}{
		{"unknown order", url.Values{"oref": {"nope"}, "action": {"pay"}}, 404, "Unknown order"},
		{"no action", url.Values{"oref": {ppRef}}, 400, "Choose Pay, Decline or Cancel."},
		{"bad action", url.Values{"oref": {ppRef}, "action": {"refund"}}, 400, "Choose Pay, Decline or Cancel."},
		{"bad type", url.Values{"oref": {ppRef}, "action": {"pay"}, "type": {"b"}}, 400, "Choose M-Pesa or Card."},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			resp, page := e.postCheckout(c.form)
			if resp.StatusCode != c.status || !strings.Contains(page, c.text) {
				t.Errorf("HTTP %d, want %d with %q:\n%s", resp.StatusCode, c.status, c.text, page)
			}
			checkPageHeaders(t, resp, page)
		})
	}
	if o, _ := e.sb.PokeaPayOrder(ppRef); o.Status != PokeaPayPending {
		t.Errorf("bad input changed the order: %+v", o)
	}
}

func TestPokeaPayDuplicateIPNRateOneSendsEveryIPNTwice(t *testing.T) {
	rc := ppReceiver(t, nil)
	e := newPokeaPayEnv(t, rc.srv.URL+"/ipn/pokeapay?src=sandbox", func(c *Config) { c.DuplicateIPNRate = 1 })
	e.openCheckout(ppParams())
	if err := e.sb.PokeaPayComplete(ppRef, "m", true); err != nil {
		t.Fatal(err)
	}
	e.sb.WaitIPNs()
	o, _ := e.sb.PokeaPayOrder(ppRef)
	for range 2 {
		checkPokeaPayIPN(t, rc.next(t), map[string]string{"billreference": ppRef, "referenceno": o.ReferenceNo})
	}
	if n := e.sb.PokeaPayIPNsSent(); n != 2 || rc.count() != 2 {
		t.Errorf("IPNs sent %d, received %d; want 2", n, rc.count())
	}
}

func TestPokeaPayIPNIsRetriedUntilA2xxAnswer(t *testing.T) {
	rc := ppReceiver(t, func(n int, w http.ResponseWriter, r *http.Request) {
		switch n {
		case 1:
			w.WriteHeader(500)
		case 2:
			w.WriteHeader(302) // not 2xx either
		default:
			w.WriteHeader(204)
		}
	})
	e := newPokeaPayEnv(t, rc.srv.URL+"/ipn/pokeapay?src=sandbox", func(c *Config) { c.IPNRetries = 3 })
	e.openCheckout(ppParams())
	if err := e.sb.PokeaPayComplete(ppRef, "c", true); err != nil {
		t.Fatal(err)
	}
	e.sb.WaitIPNs()
	for range 3 {
		checkPokeaPayIPN(t, rc.next(t), map[string]string{"billreference": ppRef, "method": "CARD"})
	}
	if n := e.sb.PokeaPayIPNsSent(); n != 3 || rc.count() != 3 {
		t.Errorf("IPNs sent %d, received %d; want 3 (two refused, one acknowledged)", n, rc.count())
	}
}

func TestPokeaPayIPNIsGivenUpAfterIPNRetries(t *testing.T) {
	rc := ppReceiver(t, func(n int, w http.ResponseWriter, r *http.Request) { w.WriteHeader(500) })
	e := newPokeaPayEnv(t, rc.srv.URL+"/ipn/pokeapay?src=sandbox", func(c *Config) { c.IPNRetries = 2 })
	e.openCheckout(ppParams())
	if err := e.sb.PokeaPayComplete(ppRef, "m", true); err != nil {
		t.Fatal(err)
	}
	e.sb.WaitIPNs()
	if n := e.sb.PokeaPayIPNsSent(); n != 3 || rc.count() != 3 {
		t.Errorf("IPNs sent %d, received %d; want 3 (the first try and 2 retries)", n, rc.count())
	}
}

func TestPokeaPayNoIPNURLMeansNoIPN(t *testing.T) {
	e := newPokeaPayEnv(t, "", nil)
	e.openCheckout(ppParams())
	if resp, _ := e.postCheckout(url.Values{"oref": {ppRef}, "action": {"pay"}}); resp.StatusCode != 303 {
		t.Fatalf("HTTP %d", resp.StatusCode)
	}
	e.sb.WaitIPNs()
	if n := e.sb.PokeaPayIPNsSent(); n != 0 {
		t.Errorf("PokeaPayIPNsSent() = %d, want 0", n)
	}
	if err := e.sb.SendPokeaPayIPN(ppRef); err == nil || !strings.Contains(err.Error(), "PokeaPayIPNURL") {
		t.Errorf("SendPokeaPayIPN = %v, want an error naming PokeaPayIPNURL", err)
	}
}

func TestPokeaPayHooksCompleteDeclineAndReportErrors(t *testing.T) {
	rc := ppReceiver(t, nil)
	e := newPokeaPayEnv(t, rc.srv.URL+"/ipn/pokeapay?src=sandbox", nil)

	e.openCheckout(ppOrder("ORD-short"))
	if err := e.sb.PokeaPayCompleteAmount("ORD-short", "m", gateway.Amount(100000), true); err != nil {
		t.Fatal(err)
	}
	checkPokeaPayIPN(t, rc.next(t), map[string]string{"billreference": "ORD-short", "amount": "1000.00"})
	if o, _ := e.sb.PokeaPayOrder("ORD-short"); o.Amount != 150000 || o.PaidAmount != 100000 || o.Status != PokeaPayPaid {
		t.Errorf("short payment order = %+v", o)
	}

	if err := e.sb.PokeaPayComplete("ORD-short", "m", false); !errors.Is(err, ErrPokeaPayOrderFinal) {
		t.Errorf("PokeaPayComplete on a paid order = %v, want ErrPokeaPayOrderFinal", err)
	}
	if err := e.sb.PokeaPayDecline("ORD-short"); !errors.Is(err, ErrPokeaPayOrderFinal) {
		t.Errorf("PokeaPayDecline on a paid order = %v, want ErrPokeaPayOrderFinal", err)
	}
	for name, err := range map[string]error{
		"PokeaPayComplete":       e.sb.PokeaPayComplete("nope", "m", false),
		"PokeaPayCompleteAmount": e.sb.PokeaPayCompleteAmount("nope", "c", 1, false),
		"PokeaPayDecline":        e.sb.PokeaPayDecline("nope"),
		"SendPokeaPayIPN":        e.sb.SendPokeaPayIPN("nope"),
	} {
		if !errors.Is(err, ErrPokeaPayUnknownOrder) {
			t.Errorf("%s on an unknown order = %v, want ErrPokeaPayUnknownOrder", name, err)
		}
	}

	e.openCheckout(ppOrder("ORD-type"))
	if err := e.sb.PokeaPayComplete("ORD-type", "x", false); err == nil {
		t.Error("PokeaPayComplete with type x succeeded")
	}
	if err := e.sb.SendPokeaPayIPN("ORD-type"); err == nil {
		t.Error("SendPokeaPayIPN of a pending order succeeded")
	}
	if o, _ := e.sb.PokeaPayOrder("ORD-type"); o.Status != PokeaPayPending {
		t.Errorf("order = %+v, want pending", o)
	}
	if err := e.sb.PokeaPayDecline("ORD-type"); err != nil {
		t.Fatal(err)
	}
	if o, _ := e.sb.PokeaPayOrder("ORD-type"); o.Status != PokeaPayFailed || o.Cancelled {
		t.Errorf("declined order = %+v", o)
	}
	e.sb.WaitIPNs()
	if n := e.sb.PokeaPayIPNsSent(); n != 1 {
		t.Errorf("PokeaPayIPNsSent() = %d, want 1 (only the short payment)", n)
	}
}

func TestSendPokeaPayIPNSendsOnceAndReportsTheAnswer(t *testing.T) {
	var mu sync.Mutex
	status := 200
	rc := ppReceiver(t, func(n int, w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		defer mu.Unlock()
		w.WriteHeader(status)
	})
	e := newPokeaPayEnv(t, rc.srv.URL+"/ipn/pokeapay?src=sandbox", nil)
	e.openCheckout(ppParams())
	if err := e.sb.PokeaPayComplete(ppRef, "c", false); err != nil {
		t.Fatal(err)
	}
	if err := e.sb.SendPokeaPayIPN(ppRef); err != nil {
		t.Errorf("acknowledged IPN: SendPokeaPayIPN = %v", err)
	}
	checkPokeaPayIPN(t, rc.next(t), map[string]string{"billreference": ppRef, "accountno": "424242******4242", "method": "CARD"})

	mu.Lock()
	status = 500
	mu.Unlock()
	if err := e.sb.SendPokeaPayIPN(ppRef); err == nil || !strings.Contains(err.Error(), "HTTP 500") {
		t.Errorf("refused IPN: SendPokeaPayIPN = %v, want an error naming HTTP 500", err)
	}
	if n := e.sb.PokeaPayIPNsSent(); n != 2 {
		t.Errorf("PokeaPayIPNsSent() = %d, want 2 (SendPokeaPayIPN does not retry)", n)
	}
}

func TestPokeaPayCloseCancelsIPNsUnderWayAndWaitsForThem(t *testing.T) {
	started := make(chan struct{})
	var once sync.Once
	rc := ppReceiver(t, func(n int, w http.ResponseWriter, r *http.Request) {
		once.Do(func() { close(started) })
		<-r.Context().Done() // never answers: only the sender's cancellation ends it
	})
	e := newPokeaPayEnv(t, rc.srv.URL+"/ipn/pokeapay?src=sandbox", nil)
	e.openCheckout(ppParams())
	if err := e.sb.PokeaPayComplete(ppRef, "m", true); err != nil {
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
	e.openCheckout(ppOrder("ORD-after-close"))
	if err := e.sb.PokeaPayComplete("ORD-after-close", "m", true); err != nil {
		t.Fatal(err)
	}
	if err := e.sb.SendPokeaPayIPN("ORD-after-close"); err == nil {
		t.Error("SendPokeaPayIPN after Close succeeded")
	}
	e.sb.mu.Lock()
	inflight = e.sb.inflight
	e.sb.mu.Unlock()
	if inflight != 0 || rc.count() != 1 {
		t.Errorf("after Close: %d goroutines, %d IPNs received; want 0 and 1", inflight, rc.count())
	}
}

func TestPokeaPayCloseDoesNotWaitForTheIPNDelay(t *testing.T) {
	rc := ppReceiver(t, nil)
	e := newPokeaPayEnv(t, rc.srv.URL+"/ipn/pokeapay?src=sandbox", func(c *Config) { c.IPNDelay = time.Hour })
	e.openCheckout(ppParams())
	if err := e.sb.PokeaPayComplete(ppRef, "m", true); err != nil {
		t.Fatal(err)
	}
	begin := time.Now()
	e.sb.Close()
	if d := time.Since(begin); d > 5*time.Second {
		t.Errorf("Close took %v", d)
	}
	if n := e.sb.PokeaPayIPNsSent(); n != 0 || rc.count() != 0 {
		t.Errorf("IPNs sent %d, received %d; want none", n, rc.count())
	}
}

func TestPokeaPayConcurrentPaymentsAndVerificationsAreSafe(t *testing.T) {
	rc := ppReceiver(t, nil)
	e := newPokeaPayEnv(t, rc.srv.URL+"/ipn/pokeapay?src=sandbox", func(c *Config) { c.DuplicateIPNRate = 0.5 })
	const n = 12
	client := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() {
			oref := fmt.Sprint("ORD-conc-", i)
			q := ppOrder(oref)
			if err := e.sb.PokeaPayOpen(e.sb.PokeaPayCheckoutURL() + "?" + q.Encode()); err != nil {
				t.Error(err)
				return
			}
			action := "pay"
			if i%3 == 0 {
				action = "decline"
			}
			resp, err := client.PostForm(e.srv.URL+PokeaPayPayPath, url.Values{"oref": {oref}, "type": {"m"}, "action": {action}})
			if err != nil {
				t.Error(err)
				return
			}
			resp.Body.Close()
			if resp.StatusCode != http.StatusSeeOther {
				t.Errorf("%s: HTTP %d, want 303", oref, resp.StatusCode)
			}
			vq := url.Values{"amount": {"1500"}, "hash": {ppHMAC(oref, ppOutlet)}, "type": {"m"}, "bill_ref": {oref}, "oc": {ppOutlet}}
			if resp, err = client.Get(e.sb.PokeaPayCoreURL() + "/api/payment/status?" + vq.Encode()); err != nil {
				t.Error(err)
				return
			}
			resp.Body.Close()
			e.sb.PokeaPayOrder(oref)
			_ = e.sb.PokeaPayIPNsSent()
		})
	}
	wg.Wait()
	e.sb.WaitIPNs()
	paid := n - (n+2)/3
	if got, sent := rc.count(), e.sb.PokeaPayIPNsSent(); got < paid || got > 2*paid || got != sent {
		t.Errorf("received %d IPNs, sent %d; want the same count between %d and %d", got, sent, paid, 2*paid)
	}
	if v := e.sb.PokeaPayVerifications(); v != n {
		t.Errorf("PokeaPayVerifications() = %d, want %d", v, n)
	}
}
