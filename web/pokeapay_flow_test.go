package web_test

import (
	"context"
	"io"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/PuerkitoBio/goquery"

	"checkout/gateway"
	"checkout/gateway/pokeapay"
	"checkout/store"
)

// startPokeaPay has a customer choose PokeaPay, give the phone number
// PokeaPay asks for when the checkout has none (0712 345 678), and follow
// the redirect to the simulated hosted page. It returns the browser, that
// page and the attempt (whose id is the oref PokeaPay sees).
func (e *env) startPokeaPay(id string) (*browser, page, store.Attempt) {
	e.t.Helper()
	b := e.browser()
	p := b.get(e.app.URL + "/c/" + id)
	hosted := b.submit(p, "form.method-choice", url.Values{"method": {"pokeapay"}})
	if hosted.doc.Find("form.contact-step").Length() == 1 {
		hosted = b.submit(hosted, "form.contact-step", url.Values{"customer_phone": {"0712 345 678"}})
	}
	if hosted.status != http.StatusOK || !strings.HasPrefix(hosted.url, e.sim.PokeaPayCheckoutURL()) {
		e.t.Fatalf("after choosing PokeaPay: %d at %s:\n%s", hosted.status, hosted.url, hosted.body)
	}
	as, err := e.store.Attempts(context.Background(), id)
	if err != nil || len(as) != 1 {
		e.t.Fatalf("attempts: %v %d", err, len(as))
	}
	return b, hosted, as[0]
}

// pokeapayIPN posts PokeaPay's IPN as the document shows it.
func (e *env) pokeapayIPN(body string) (int, string) {
	e.t.Helper()
	resp, err := http.Post(e.app.URL+"/ipn/pokeapay", "application/json", strings.NewReader(body))
	if err != nil {
		e.t.Fatal(err)
	}
	defer resp.Body.Close()
	answer, err := io.ReadAll(resp.Body)
	if err != nil {
		e.t.Fatal(err)
	}
	return resp.StatusCode, string(answer)
}

func ipnBody(oref, amount, receipt string) string {
	return `{"billreference":"` + oref + `","amount":"` + amount + `","accountname":"Jane","accountno":"254712345678",` +
		`"fees":"0.00","referenceno":"` + receipt + `","method":"MPESA"}`
}

func TestPokeaPayPaymentThroughSimulatorShowsReceipt(t *testing.T) {
	e := newEnv(t, envOptions{duplicates: 1})
	id := e.createCheckout("pk-1")
	b, hosted, a := e.startPokeaPay(id)

	q, err := url.Parse(hosted.url)
	if err != nil {
		t.Fatal(err)
	}
	params := q.Query()
	if params.Get("oref") != a.ID || params.Get("amt") != "1500.00" || params.Get("oc") != testOutlet ||
		params.Get("cb") != e.app.URL+"/return/pokeapay" || params.Get("eml") != "jane@example.com" ||
		params.Get("tel") != "254712345678" || params.Get("curr") != "KES" {
		t.Fatalf("checkout URL parameters: %v", params)
	}
	if !strings.Contains(hosted.body, "KES 1,500.00") {
		t.Fatalf("hosted page lacks the amount:\n%s", hosted.body)
	}

	result := b.submit(hosted, "form", url.Values{"action": {"pay"}, "type": {"m"}})
	if result.status != http.StatusOK || !strings.Contains(result.url, "/return/pokeapay?") {
		t.Fatalf("after Pay: %d at %s\n%s", result.status, result.url, result.body)
	}
	if co := e.checkout(id); co.Status != store.StatusPaid || co.Provider != "pokeapay" || co.Method != "pokeapay" {
		t.Fatalf("after the return: %s provider %q", co.Status, co.Provider)
	}

	// The IPN (twice) changes nothing: the receipt is the verification's
	// own, if it carries one, never the IPN's referenceno.
	e.sim.WaitIPNs()
	co := e.checkout(id)
	if want := e.verifiedPokeaPay(a).Receipt; co.Receipt != want || co.Review {
		t.Fatalf("receipt %q (the verification's %q), review %v", co.Receipt, want, co.Review)
	}
	if n := e.transitions(id, store.StatusPaid); n != 1 {
		t.Fatalf("transitions to paid = %d", n)
	}
	receipt := b.get(e.app.URL + "/c/" + id)
	if !strings.Contains(receipt.doc.Find("h1").Text(), "Payment received") || !strings.Contains(receipt.body, co.Receipt) {
		t.Fatalf("receipt page:\n%s", receipt.body)
	}
}

func TestPokeaPayReturnsThatMustChangeNothing(t *testing.T) {
	e := newEnv(t, envOptions{})
	id := e.createCheckout("pk-2")
	b, _, a := e.startPokeaPay(id)

	t.Run("wrong hash", func(t *testing.T) {
		before := e.sim.PokeaPayVerifications()
		p := b.get(e.app.URL + "/return/pokeapay?oref=" + a.ID + "&hsh=0123456789abcdef0123456789abcdef01234567&type=m&amount=1500.00&status=1")
		if p.status != http.StatusBadRequest || !strings.Contains(p.body, "could not confirm") {
			t.Fatalf("forged return: %d\n%s", p.status, p.body)
		}
		if e.sim.PokeaPayVerifications() != before {
			t.Fatal("a forged return made a verification call")
		}
		if co := e.checkout(id); co.Status != store.StatusPending {
			t.Fatalf("status = %s", co.Status)
		}
	})

	t.Run("right hash while PokeaPay says pending", func(t *testing.T) {
		hsh := pokeapay.ReturnHash(testHashKey, a.ID, testOutlet)
		p := b.get(e.app.URL + "/return/pokeapay?oref=" + a.ID + "&hsh=" + hsh + "&type=m&amount=1500.00&sstatus=1")
		if p.status != http.StatusOK {
			t.Fatalf("status %d", p.status)
		}
		co := e.checkout(id)
		if co.Status != store.StatusPending || co.Receipt != "" {
			t.Fatalf("a return that says paid, unconfirmed, changed the order: %s %q", co.Status, co.Receipt)
		}
		if p.doc.Find("[hx-get]").Length() == 0 {
			t.Fatal("the pending result page does not poll the live status")
		}
	})
}

func TestPokeaPayIPNsThatMustChangeNothing(t *testing.T) {
	t.Run("unknown reference", func(t *testing.T) {
		e := newEnv(t, envOptions{})
		id := e.createCheckout("pk-3")
		before := e.sim.PokeaPayVerifications()
		status, _ := e.pokeapayIPN(ipnBody("pay_nobody", "1500.00", "RX1"))
		if status != http.StatusNotFound {
			t.Fatalf("unknown IPN answered %d, want 404", status)
		}
		if e.sim.PokeaPayVerifications() != before {
			t.Fatal("an unknown IPN made a verification call")
		}
		if co := e.checkout(id); co.Status != store.StatusOpen {
			t.Fatalf("status = %s", co.Status)
		}
	})

	t.Run("a payment of another amount fails on PokeaPay's word; the IPN's amount is only in the timeline", func(t *testing.T) {
		e := newEnv(t, envOptions{})
		id := e.createCheckout("pk-4")
		_, _, a := e.startPokeaPay(id)
		if err := e.sim.PokeaPayCompleteAmount(a.ID, "m", gateway.Amount(100), false); err != nil {
			t.Fatal(err)
		}
		status, _ := e.pokeapayIPN(ipnBody(a.ID, "1.00", "RX2"))
		if status != http.StatusOK {
			t.Fatalf("IPN answered %d", status)
		}
		// The verification, asked with the order's amount, answers
		// "failed": the attempt fails and the customer can pay again.
		co := e.checkout(id)
		if co.Status != store.StatusOpen || co.Review || co.Receipt != "" || co.PaidAt != nil || co.Message == "" {
			t.Fatalf("after the IPN: status %s review %v receipt %q message %q", co.Status, co.Review, co.Receipt, co.Message)
		}
		att, err := e.store.Attempt(context.Background(), a.ID)
		if err != nil {
			t.Fatal(err)
		}
		if att.Status != store.AttemptFailed || att.Review || att.Receipt != "" {
			t.Fatalf("attempt %s review %v receipt %q", att.Status, att.Review, att.Receipt)
		}
		if ev := e.ipnEvent(id); !strings.Contains(ev.Message, `amount "1.00"`) || !strings.Contains(ev.Message, `referenceno "RX2"`) {
			t.Fatalf("the IPN's claims are not in the timeline: %q", ev.Message)
		}
	})
}

func TestConcurrentDuplicatePokeaPayIPNsMakeOneTransition(t *testing.T) {
	e := newEnv(t, envOptions{})
	id := e.createCheckout("pk-5")
	_, _, a := e.startPokeaPay(id)
	if err := e.sim.PokeaPayComplete(a.ID, "m", false); err != nil {
		t.Fatal(err)
	}
	order, _ := e.sim.PokeaPayOrder(a.ID)
	var wg sync.WaitGroup
	for i := 0; i < 10; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if status, body := e.pokeapayIPN(ipnBody(a.ID, "1500.00", order.ReferenceNo)); status != http.StatusOK {
				t.Errorf("IPN answered %d %s", status, body)
			}
		}()
	}
	wg.Wait()
	co := e.checkout(id)
	if want := e.verifiedPokeaPay(a).Receipt; co.Status != store.StatusPaid || co.Receipt != want || co.Review {
		t.Fatalf("status %s receipt %q (the verification's %q) review %v", co.Status, co.Receipt, want, co.Review)
	}
	if n := e.transitions(id, store.StatusPaid); n != 1 {
		t.Fatalf("transitions to paid = %d, want 1", n)
	}
}

func TestLostPokeaPayReturnAndIPNAreRecoveredByTheReconciler(t *testing.T) {
	e := newEnv(t, envOptions{})
	id := e.createCheckout("pk-6")
	_, _, a := e.startPokeaPay(id)
	// The customer paid by card and closed the browser; the IPN was lost.
	if err := e.sim.PokeaPayComplete(a.ID, "c", false); err != nil {
		t.Fatal(err)
	}
	e.clock.Advance(61 * time.Second)
	if err := e.svc.Reconcile(context.Background()); err != nil {
		t.Fatal(err)
	}
	co := e.checkout(id)
	if co.Status != store.StatusPaid {
		t.Fatalf("status after reconcile = %s, want paid", co.Status)
	}
	if e.sim.PokeaPayIPNsSent() != 0 {
		t.Fatal("an IPN was sent")
	}
}

func TestDeclinedPokeaPayPaymentReopensTheCheckoutForAnotherTry(t *testing.T) {
	e := newEnv(t, envOptions{})
	id := e.createCheckout("pk-7")
	b, hosted, a := e.startPokeaPay(id)
	result := b.submit(hosted, "form", url.Values{"action": {"decline"}, "type": {"m"}})
	if result.status != http.StatusOK {
		t.Fatalf("after Decline: %d", result.status)
	}
	co := e.checkout(id)
	if co.Status != store.StatusOpen || co.Message == "" {
		t.Fatalf("after decline: %s %q, want open with a message", co.Status, co.Message)
	}
	var retryURL string
	result.doc.Find("a").Each(func(_ int, s *goquery.Selection) {
		if strings.Contains(s.Text(), "Try again") {
			retryURL = s.AttrOr("href", "")
		}
	})
	if retryURL != "/c/"+id {
		t.Fatalf("Try again link = %q", retryURL)
	}
	// Trying again makes a new attempt with a new oref.
	e.clock.Advance(time.Second)
	again := b.get(e.app.URL + retryURL)
	hosted2 := b.submit(again, "form.method-choice", url.Values{"method": {"pokeapay"}})
	if hosted2.status != http.StatusOK {
		t.Fatalf("second try: %d", hosted2.status)
	}
	as, err := e.store.Attempts(context.Background(), id)
	if err != nil || len(as) != 2 || as[0].ID == a.ID || as[0].Status != store.AttemptPending {
		t.Fatalf("attempts after retry: %v %+v", err, as)
	}
}

func TestAdminRecheckPaysPokeaPayOrderWhoseReturnAndIPNNeverCame(t *testing.T) {
	e := newEnv(t, envOptions{})
	b := e.adminBrowser()
	id := e.createCheckout("pk-8")
	_, _, a := e.startPokeaPay(id)
	if err := e.sim.PokeaPayComplete(a.ID, "m", false); err != nil {
		t.Fatal(err)
	}
	p := b.get(e.app.URL + "/admin/orders/" + id)
	after := b.submit(p, "form[action$='/recheck']", nil)
	if after.status != http.StatusOK || !strings.HasSuffix(after.url, "?flash=rechecked") {
		t.Fatalf("after re-check: %d at %s", after.status, after.url)
	}
	if co := e.checkout(id); co.Status != store.StatusPaid {
		t.Fatalf("after re-check: %s, want paid", co.Status)
	}
	if top := timeline(after)[0]; top != (timelineEvent{kind: "transition", source: "admin:" + adminEmail, from: "Pending", to: "Paid"}) {
		t.Fatalf("newest event %+v", top)
	}
}

// verifiedPokeaPay asks PokeaPay's verification about an attempt the way the
// app does, with a client of its own: what it answers is the only source of
// a receipt.
func (e *env) verifiedPokeaPay(a store.Attempt) gateway.Result {
	e.t.Helper()
	pk, err := pokeapay.New(pokeapay.Config{CheckoutURL: e.sim.PokeaPayCheckoutURL(), CoreURL: e.sim.PokeaPayCoreURL(),
		OutletCode: testOutlet, HashKey: testHashKey, Sleep: func(context.Context, time.Duration) error { return nil }})
	if err != nil {
		e.t.Fatal(err)
	}
	res, err := pk.Confirm(context.Background(), gateway.Query{AttemptID: a.ID, ProviderReference: a.ID,
		Amount: gateway.Amount(a.Amount), Currency: a.Currency})
	if err != nil {
		e.t.Fatal(err)
	}
	return res
}

// ipnEvent is the newest PokeaPay IPN in a checkout's timeline.
func (e *env) ipnEvent(id string) store.Event {
	e.t.Helper()
	evs, err := e.store.Events(context.Background(), id)
	if err != nil {
		e.t.Fatal(err)
	}
	for _, ev := range evs {
		if ev.Source == "ipn:pokeapay" && ev.Kind == store.EventNotification {
			return ev
		}
	}
	e.t.Fatal("no PokeaPay IPN in the timeline")
	return store.Event{}
}

func TestForgedPokeaPayIPNChangesNoReceiptAndNoReviewFlag(t *testing.T) {
	t.Run("another amount while PokeaPay says pending, then PokeaPay's failed still fails the attempt", func(t *testing.T) {
		e := newEnv(t, envOptions{})
		id := e.createCheckout("pk-forged-1")
		b, hosted, a := e.startPokeaPay(id)
		if status, body := e.pokeapayIPN(ipnBody(a.ID, "1.00", "FORGED1")); status != http.StatusOK {
			t.Fatalf("IPN answered %d %s", status, body)
		}
		co := e.checkout(id)
		if co.Status != store.StatusPending || co.Review || co.Receipt != "" {
			t.Fatalf("after the forged IPN: status %s review %v receipt %q", co.Status, co.Review, co.Receipt)
		}
		att, err := e.store.Attempt(context.Background(), a.ID)
		if err != nil {
			t.Fatal(err)
		}
		if att.Status != store.AttemptPending || att.Review || att.Receipt != "" {
			t.Fatalf("attempt after the forged IPN: %s review %v receipt %q", att.Status, att.Review, att.Receipt)
		}
		if ev := e.ipnEvent(id); !strings.Contains(ev.Message, `referenceno "FORGED1"`) || !strings.Contains(ev.Payload, "FORGED1") {
			t.Fatalf("the IPN's claims are not in the timeline: %q %q", ev.Message, ev.Payload)
		}

		// The customer declines on PokeaPay's page: PokeaPay's own "failed".
		result := b.submit(hosted, "form", url.Values{"action": {"decline"}, "type": {"m"}})
		if result.status != http.StatusOK {
			t.Fatalf("after Decline: %d", result.status)
		}
		co = e.checkout(id)
		if co.Status != store.StatusOpen || co.Review || co.Message == "" {
			t.Fatalf("after PokeaPay's failed: status %s review %v message %q", co.Status, co.Review, co.Message)
		}
		if att, err = e.store.Attempt(context.Background(), a.ID); err != nil || att.Status != store.AttemptFailed || att.Review {
			t.Fatalf("attempt after PokeaPay's failed: %v %s review %v", err, att.Status, att.Review)
		}
	})

	t.Run("after a verified success the receipt stays the verification's", func(t *testing.T) {
		e := newEnv(t, envOptions{})
		id := e.createCheckout("pk-forged-2")
		b, hosted, a := e.startPokeaPay(id)
		if result := b.submit(hosted, "form", url.Values{"action": {"pay"}, "type": {"m"}}); result.status != http.StatusOK {
			t.Fatalf("after Pay: %d", result.status)
		}
		paid := e.checkout(id)
		if paid.Status != store.StatusPaid {
			t.Fatalf("after the return: %s", paid.Status)
		}
		for _, amount := range []string{"1500.00", "1.00"} {
			if status, body := e.pokeapayIPN(ipnBody(a.ID, amount, "FORGED2")); status != http.StatusOK {
				t.Fatalf("IPN answered %d %s", status, body)
			}
		}
		co := e.checkout(id)
		if co.Status != store.StatusPaid || co.Receipt != paid.Receipt || co.Receipt == "FORGED2" || co.Review {
			t.Fatalf("after the forged IPNs: status %s receipt %q (was %q) review %v", co.Status, co.Receipt, paid.Receipt, co.Review)
		}
		att, err := e.store.Attempt(context.Background(), a.ID)
		if err != nil {
			t.Fatal(err)
		}
		if att.Status != store.AttemptSucceeded || att.Receipt != paid.Receipt || att.Review {
			t.Fatalf("attempt: %s receipt %q review %v", att.Status, att.Receipt, att.Review)
		}
		if n := e.transitions(id, store.StatusPaid); n != 1 {
			t.Fatalf("transitions to paid = %d", n)
		}
	})
}
