package web_test

import (
	"context"
	"net/http"
	"strings"
	"testing"
	"time"

	"checkout/gateway"
	"checkout/gateway/pesapal"
	"checkout/payments"
	"checkout/store"
)

// attemptBeforeItsTrackingID records a Pesapal attempt as the app does just
// before Pesapal's answer: no tracking id of ours yet.
func (e *env) attemptBeforeItsTrackingID(checkoutID string) store.Attempt {
	e.t.Helper()
	a := &store.Attempt{ID: store.NewID("pay", e.clock.Now()), CheckoutID: checkoutID, Provider: payments.ProviderPesapal,
		Method: payments.MethodPesapal}
	if err := e.store.StartAttempt(context.Background(), a, time.Minute, "customer"); err != nil {
		e.t.Fatal(err)
	}
	return *a
}

func TestForgedPesapalNotificationWithAnotherOrdersTrackingIDChangesNothing(t *testing.T) {
	e := newEnv(t, envOptions{})
	id := e.createCheckout("claimed-1")
	a := e.attemptBeforeItsTrackingID(id)

	// An order on the same Pesapal account that is not ours (another shop
	// of the merchant's), paid for another amount.
	other := e.pesapalOrder("other-shop-7", gateway.Amount(100))
	if err := e.sim.PesapalComplete(other, false); err != nil {
		t.Fatal(err)
	}

	status, ack := e.ipn(sandboxOrder(other, a.ID))
	if status != http.StatusInternalServerError || ack["status"] != float64(500) {
		t.Fatalf("forged IPN: HTTP %d ack %v, want 500 (not ours yet: notify again)", status, ack)
	}
	co := e.checkout(id)
	if co.Status != store.StatusPending || co.Review || co.Receipt != "" {
		t.Fatalf("after the forged IPN: status %s review %v receipt %q", co.Status, co.Review, co.Receipt)
	}
	att, err := e.store.Attempt(context.Background(), a.ID)
	if err != nil {
		t.Fatal(err)
	}
	if att.Status != store.AttemptPending || att.Review || att.ProviderReference != "" || att.Receipt != "" {
		t.Fatalf("attempt: %s review %v tracking id %q receipt %q", att.Status, att.Review, att.ProviderReference, att.Receipt)
	}
	evs, err := e.store.Events(context.Background(), id)
	if err != nil {
		t.Fatal(err)
	}
	if evs[0].Kind != store.EventError || !strings.Contains(evs[0].Message, "does not name this attempt") || evs[0].Payload != "" {
		t.Fatalf("newest event %+v", evs[0])
	}
}

// pesapalOrder submits an order to Pesapal as the app does and returns its
// tracking id.
func (e *env) pesapalOrder(merchantRef string, amount gateway.Amount) string {
	e.t.Helper()
	ctx := context.Background()
	ipnID, err := e.pesapal.EnsureIPN(ctx, e.app.URL+"/ipn/pesapal", "POST")
	if err != nil {
		e.t.Fatal(err)
	}
	resp, err := e.pesapal.SubmitOrderRequest(ctx, pesapal.OrderRequest{ID: merchantRef, Currency: "KES", Amount: amount,
		Description: "Two bags of coffee", CallbackURL: e.app.URL + "/return/pesapal", NotificationID: ipnID,
		BillingAddress: pesapal.BillingAddress{EmailAddress: "jane@example.com"}})
	if err != nil {
		e.t.Fatal(err)
	}
	return resp.OrderTrackingID
}

func TestPesapalNotificationThatOvertakesOurTrackingIDStillPays(t *testing.T) {
	e := newEnv(t, envOptions{})
	id := e.createCheckout("claimed-3")
	a := e.attemptBeforeItsTrackingID(id)
	// Pesapal has the order (its answer to us is still on its way) and the
	// customer paid.
	tracking := e.pesapalOrder(a.ID, gateway.Amount(150000))
	if err := e.sim.PesapalComplete(tracking, false); err != nil {
		t.Fatal(err)
	}
	if status, ack := e.ipn(sandboxOrder(tracking, a.ID)); status != http.StatusOK {
		t.Fatalf("IPN: HTTP %d ack %v", status, ack)
	}
	co := e.checkout(id)
	sim, _ := e.sim.PesapalOrder(tracking)
	if co.Status != store.StatusPaid || co.Review || co.Receipt != sim.ConfirmationCode || co.ProviderReference != tracking {
		t.Fatalf("status %s review %v receipt %q (Pesapal %q) tracking id %q", co.Status, co.Review, co.Receipt,
			sim.ConfirmationCode, co.ProviderReference)
	}
}

func TestPesapalReturnNamingAnotherOrdersTrackingIDShowsTheCheckoutAsItStands(t *testing.T) {
	e := newEnv(t, envOptions{})
	id := e.createCheckout("claimed-return-1")
	a := e.attemptBeforeItsTrackingID(id)
	other := e.pesapalOrder("other-shop-8", gateway.Amount(100))

	// The customer's browser comes back with a tracking id that Pesapal
	// does not tie to our attempt: nothing changes, and the customer sees
	// the order as it stands (not an error page).
	b := e.browser()
	page := b.get(e.app.URL + "/return/pesapal?OrderTrackingId=" + other + "&OrderMerchantReference=" + a.ID +
		"&OrderNotificationType=CALLBACKURL")
	if page.status != http.StatusOK || !strings.Contains(page.body, "KES 1,500.00") {
		t.Fatalf("return page: HTTP %d\n%s", page.status, page.body)
	}
	co := e.checkout(id)
	if co.Status != store.StatusPending || co.Review || co.Receipt != "" {
		t.Fatalf("after the return: status %s review %v receipt %q", co.Status, co.Review, co.Receipt)
	}
}
