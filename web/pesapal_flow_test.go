package web_test

import (
	"context"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"checkout/gateway"
	"checkout/store"
	"checkout/web"
)

func TestPesapalPaymentThroughSimulatorShowsReceiptAndPaysOnce(t *testing.T) {
	e := newEnv(t, envOptions{duplicates: 1}) // every IPN arrives twice
	id := e.createCheckout("order-1")
	b, frame, order := e.startPesapal(id)

	src := frame.doc.Find("iframe").AttrOr("src", "")
	if !strings.HasPrefix(src, e.simSrv.URL+"/sandbox/pesapal/pay?OrderTrackingId=") {
		t.Fatalf("iframe src = %q", src)
	}
	if order.Amount != gateway.Amount(150000) || order.Currency != "KES" || order.RedirectMode != "TOP_WINDOW" ||
		order.CallbackURL != e.app.URL+"/return/pesapal" {
		t.Fatalf("order sent to Pesapal: %+v", order)
	}

	// The customer presses Pay inside the iframe; the simulator sends the
	// browser to our callback URL.
	payPage := b.get(src)
	result := b.submit(payPage, "form", url.Values{"action": {"pay"}})
	if result.status != http.StatusOK || !strings.Contains(result.url, "/return/pesapal?") {
		t.Fatalf("after Pay: %d at %s", result.status, result.url)
	}
	if !strings.Contains(result.body, "KES 1,500.00") {
		t.Fatalf("result page lacks the amount:\n%s", result.body)
	}
	co := e.checkout(id)
	if co.Status != store.StatusPaid {
		t.Fatalf("status after return = %s", co.Status)
	}
	sim, _ := e.sim.PesapalOrder(order.TrackingID)
	if co.Receipt == "" || co.Receipt != sim.ConfirmationCode || co.Provider != "pesapal" || co.PaidAt == nil {
		t.Fatalf("paid checkout: receipt %q (simulator %q), provider %q, paid_at %v", co.Receipt, sim.ConfirmationCode, co.Provider, co.PaidAt)
	}

	// The IPNs (two of them) come after the return; nothing changes again.
	e.sim.WaitIPNs()
	if got := e.sim.IPNsSent(); got < 2 {
		t.Fatalf("IPNs sent = %d, want 2", got)
	}
	if n := e.transitions(id, store.StatusPaid); n != 1 {
		t.Fatalf("transitions to paid = %d, want 1", n)
	}
	if e.checkout(id).Review {
		t.Fatal("the duplicate IPN flagged the paid checkout for review")
	}

	receipt := b.get(e.app.URL + "/c/" + id)
	if h := receipt.doc.Find("h1").Text(); !strings.Contains(h, "Payment received") {
		t.Fatalf("receipt heading = %q", h)
	}
	if !strings.Contains(receipt.body, co.Receipt) {
		t.Fatal("receipt page does not show the confirmation code")
	}

	status, obj := e.api(http.MethodGet, "/api/v1/checkouts/"+id, "")
	if status != http.StatusOK || obj["status"] != "paid" || obj["receipt"] != co.Receipt || obj["amount"] != "1500.00" ||
		obj["method"] != "pesapal" || obj["provider_reference"] != order.TrackingID || obj["paid_at"] == nil {
		t.Fatalf("API view of the paid checkout: %d %v", status, obj)
	}
}

func TestConcurrentIdenticalIPNsMakeOneTransition(t *testing.T) {
	// 25 notifications of one reference at once are past the limit per
	// reference (TestEachLimitAnswers429WithRetryAfterAndRecovers): this
	// test is about what gets through, so its limit lets them all in.
	e := newEnv(t, envOptions{limits: web.Limits{Reference: web.Rate{Every: time.Millisecond, Burst: 25}}})
	id := e.createCheckout("order-25")
	_, _, order := e.startPesapal(id)
	if err := e.sim.PesapalComplete(order.TrackingID, false); err != nil {
		t.Fatal(err)
	}

	var wg sync.WaitGroup
	codes := make(chan int, 25)
	for i := 0; i < 25; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			status, ack := e.ipn(order)
			if ack["status"] != float64(status) || ack["orderTrackingId"] != order.TrackingID {
				t.Errorf("ack %v with HTTP %d", ack, status)
			}
			codes <- status
		}()
	}
	wg.Wait()
	close(codes)
	for c := range codes {
		if c != http.StatusOK {
			t.Errorf("IPN answered %d, want 200", c)
		}
	}
	if n := e.transitions(id, store.StatusPaid); n != 1 {
		t.Fatalf("transitions to paid = %d, want exactly 1", n)
	}
	if co := e.checkout(id); co.Status != store.StatusPaid || co.Review {
		t.Fatalf("status = %s, review = %v: a repeated notification must change nothing", co.Status, co.Review)
	}
	evs, err := e.store.Events(context.Background(), id)
	if err != nil {
		t.Fatal(err)
	}
	notes := 0
	for _, ev := range evs {
		if ev.Kind == store.EventNotification {
			notes++
			if !strings.Contains(ev.Payload, order.TrackingID) {
				t.Errorf("notification stored without its raw payload: %q", ev.Payload)
			}
		}
	}
	if notes != 25 {
		t.Fatalf("stored notifications = %d, want 25", notes)
	}
}

func TestIPNWhoseStatusQueryFailsAnswers500AndReconcilerPaysLater(t *testing.T) {
	e := newEnv(t, envOptions{})
	id := e.createCheckout("order-retry")
	_, _, order := e.startPesapal(id)
	if err := e.sim.PesapalComplete(order.TrackingID, false); err != nil {
		t.Fatal(err)
	}

	e.sim.FailStatusQueries(100)
	status, ack := e.ipn(order)
	if status != http.StatusInternalServerError || ack["status"] != float64(500) {
		t.Fatalf("IPN with a failing status query: HTTP %d ack %v, want 500", status, ack)
	}
	if co := e.checkout(id); co.Status != store.StatusPending {
		t.Fatalf("status = %s, want pending", co.Status)
	}

	// Pesapal recovers; no new IPN comes. The reconciler's first check is
	// due 60 s after the payment started.
	e.sim.FailStatusQueries(0)
	sent := e.sim.IPNsSent()
	if err := e.svc.Reconcile(context.Background()); err != nil {
		t.Fatal(err)
	}
	if co := e.checkout(id); co.Status != store.StatusPending {
		t.Fatalf("the reconciler checked before the first check was due: %s", co.Status)
	}
	e.clock.Advance(61 * time.Second)
	if err := e.svc.Reconcile(context.Background()); err != nil {
		t.Fatal(err)
	}
	co := e.checkout(id)
	if co.Status != store.StatusPaid || co.Receipt == "" {
		t.Fatalf("after reconcile: %s receipt %q, want paid", co.Status, co.Receipt)
	}
	if e.sim.IPNsSent() != sent {
		t.Fatal("an IPN was sent; the reconciler should have found the payment alone")
	}
	if n := e.transitions(id, store.StatusPaid); n != 1 {
		t.Fatalf("transitions to paid = %d", n)
	}
}

func TestNotificationsThatMustChangeNothing(t *testing.T) {
	t.Run("amount mismatch is flagged, not paid", func(t *testing.T) {
		e := newEnv(t, envOptions{})
		id := e.createCheckout("order-short")
		_, _, order := e.startPesapal(id)
		if err := e.sim.PesapalCompleteAmount(order.TrackingID, gateway.Amount(100), false); err != nil {
			t.Fatal(err)
		}
		status, _ := e.ipn(order)
		if status != http.StatusOK {
			t.Fatalf("IPN answered %d; the status was confirmed, so 200", status)
		}
		co := e.checkout(id)
		if co.Status != store.StatusPending || !co.Review || co.Receipt != "" || co.PaidAt != nil {
			t.Fatalf("after a short payment: status %s review %v receipt %q", co.Status, co.Review, co.Receipt)
		}
		as, err := e.store.Attempts(context.Background(), id)
		if err != nil {
			t.Fatal(err)
		}
		if as[0].Status != store.AttemptPending || !as[0].Review || !strings.Contains(as[0].ReviewReason, "1.00") {
			t.Fatalf("attempt: %s review %v %q", as[0].Status, as[0].Review, as[0].ReviewReason)
		}
		if n := e.transitions(id, store.StatusPaid); n != 0 {
			t.Fatal("a transition to paid was written")
		}
	})

	t.Run("unknown tracking id", func(t *testing.T) {
		e := newEnv(t, envOptions{})
		id := e.createCheckout("order-x")
		before := e.sim.StatusQueries()
		status, ack := e.ipn(sandboxOrder("7e6b62d9-883e-440f-a63e-e1105bbfadc3", "pay_unknown"))
		if status != http.StatusInternalServerError || ack["status"] != float64(500) {
			t.Fatalf("unknown IPN: HTTP %d ack %v", status, ack)
		}
		if e.sim.StatusQueries() != before {
			t.Fatal("an unknown notification made a status query")
		}
		if co := e.checkout(id); co.Status != store.StatusOpen {
			t.Fatalf("an unrelated checkout changed: %s", co.Status)
		}
	})

	t.Run("IPN while Pesapal says pending", func(t *testing.T) {
		e := newEnv(t, envOptions{})
		id := e.createCheckout("order-wait")
		_, _, order := e.startPesapal(id)
		status, _ := e.ipn(order)
		if status != http.StatusOK {
			t.Fatalf("IPN answered %d", status)
		}
		co := e.checkout(id)
		if co.Status != store.StatusPending || co.Receipt != "" || co.Message != "" {
			t.Fatalf("after a pending IPN: %s %q %q", co.Status, co.Receipt, co.Message)
		}
	})
}

func TestExpiredPesapalTokenIsRenewedWithoutTheCustomerNoticing(t *testing.T) {
	e := newEnv(t, envOptions{})
	id1 := e.createCheckout("order-t1")
	e.startPesapal(id1)
	issued := e.sim.TokensIssued()

	// Pesapal's tokens live five minutes; ours is now stale at Pesapal's side.
	e.sim.ExpireTokens()
	id2 := e.createCheckout("order-t2")
	_, frame, order := e.startPesapal(id2)
	if frame.doc.Find("iframe").Length() != 1 {
		t.Fatal("the second customer did not get the payment page")
	}
	if e.sim.TokensIssued() != issued+1 {
		t.Fatalf("tokens issued = %d, want %d (one renewal)", e.sim.TokensIssued(), issued+1)
	}
	if order.Amount != 150000 {
		t.Fatalf("order amount = %v", order.Amount)
	}

	// And renewal on our clock: past the expiry, a new token is fetched
	// before the call.
	e.clock.Advance(6 * time.Minute)
	if _, err := e.pesapal.GetTransactionStatus(context.Background(), order.TrackingID); err != nil {
		t.Fatal(err)
	}
	if e.sim.TokensIssued() != issued+2 {
		t.Fatalf("tokens issued = %d, want %d", e.sim.TokensIssued(), issued+2)
	}
}
