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

// startPokeaPay has a customer choose PokeaPay; the browser follows the
// redirect to the simulated hosted page. It returns the browser, that page
// and the attempt (whose id is the oref PokeaPay sees).
func (e *env) startPokeaPay(id string) (*browser, page, store.Attempt) {
	e.t.Helper()
	b := e.browser()
	p := b.get(e.app.URL + "/c/" + id)
	hosted := b.submit(p, "form.method-choice", url.Values{"method": {"pokeapay"}})
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
		params.Get("cb") != e.app.URL+"/return/pokeapay" || params.Get("eml") != "jane@example.com" || params.Get("curr") != "KES" {
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

	// The IPN (twice) brings the receipt and changes nothing else.
	e.sim.WaitIPNs()
	order, _ := e.sim.PokeaPayOrder(a.ID)
	co := e.checkout(id)
	if co.Receipt == "" || co.Receipt != order.ReferenceNo || co.Review {
		t.Fatalf("receipt %q (PokeaPay %q), review %v", co.Receipt, order.ReferenceNo, co.Review)
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

	t.Run("amount mismatch is flagged, not paid, and not reopened later", func(t *testing.T) {
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
		check := func(when string) {
			co := e.checkout(id)
			if co.Status != store.StatusPending || !co.Review || co.PaidAt != nil {
				t.Fatalf("%s: status %s review %v", when, co.Status, co.Review)
			}
			att, err := e.store.Attempt(context.Background(), a.ID)
			if err != nil {
				t.Fatal(err)
			}
			if att.Status != store.AttemptPending || !att.Review || !strings.Contains(att.ReviewReason, "1.00") {
				t.Fatalf("%s: attempt %s review %v %q", when, att.Status, att.Review, att.ReviewReason)
			}
		}
		check("after the IPN")
		// The verification answers "failed" for the wrong amount; the
		// reconciler must not reopen the checkout for a second payment.
		e.clock.Advance(2 * time.Minute)
		if err := e.svc.Reconcile(context.Background()); err != nil {
			t.Fatal(err)
		}
		check("after the reconciler")
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
	if co.Status != store.StatusPaid || co.Receipt != order.ReferenceNo || co.Review {
		t.Fatalf("status %s receipt %q review %v", co.Status, co.Receipt, co.Review)
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
