package web_test

import (
	"net/http"
	"net/url"
	"strings"
	"testing"

	"checkout/store"
)

func TestCancelAndReturnLandsOnOurPageWithALinkBackToTheShop(t *testing.T) {
	e := newEnv(t, envOptions{})
	status, obj := e.api(http.MethodPost, "/api/v1/checkouts", `{"amount": "500", "currency": "KES", "reference": "cancel-1",
		"description": "Sugar", "customer": {"email": "a@example.com"}, "cancel_url": "https://shop.example/cart?id=7"}`)
	if status != http.StatusCreated {
		t.Fatalf("create: %d %v", status, obj)
	}
	id := obj["id"].(string)
	b := e.browser()
	p := b.get(e.app.URL + "/c/" + id)
	after := b.submit(p, "form.cancel-form", nil)
	// The form post stays on our origin (a redirect to the shop would be
	// blocked by the page's form-action policy); the page links back.
	if after.status != http.StatusGone || after.url != e.app.URL+"/c/"+id {
		t.Fatalf("after cancel: %d at %s", after.status, after.url)
	}
	link := after.doc.Find(`a[href="https://shop.example/cart?checkout_id=` + id + `&id=7"]`)
	if link.Length() != 1 || !strings.Contains(link.Text(), "Return to Demo Shop") {
		t.Fatalf("no link back to the shop:\n%s", after.body)
	}
	if co := e.checkout(id); co.Status != store.StatusCancelled {
		t.Fatalf("status %s", co.Status)
	}
}

func TestCancelWhileThePaymentWentThroughShowsTheReceipt(t *testing.T) {
	e := newEnv(t, envOptions{})
	status, obj := e.api(http.MethodPost, "/api/v1/checkouts", `{"amount": "500", "currency": "KES", "reference": "cancel-2",
		"description": "Sugar", "customer": {"email": "a@example.com"}, "cancel_url": "https://shop.example/cart"}`)
	if status != http.StatusCreated {
		t.Fatalf("create: %d %v", status, obj)
	}
	id := obj["id"].(string)
	b, _, order := e.startPesapal(id)
	// Paid at Pesapal; the IPN has not arrived when the customer cancels.
	if err := e.sim.PesapalComplete(order.TrackingID, false); err != nil {
		t.Fatal(err)
	}
	p := b.get(e.app.URL + "/c/" + id)
	after := b.submit(p, "form.cancel-form", nil)
	if after.status != http.StatusOK || !strings.Contains(after.doc.Find("h1").Text(), "Payment received") {
		t.Fatalf("after cancel: %d\n%s", after.status, after.body)
	}
	if co := e.checkout(id); co.Status != store.StatusPaid {
		t.Fatalf("status %s, want paid", co.Status)
	}
}

func TestContactTypedForPesapalIsKeptOnTheOrder(t *testing.T) {
	e := newEnv(t, envOptions{})
	status, obj := e.api(http.MethodPost, "/api/v1/checkouts", `{"amount": "250", "currency": "KES", "reference": "contact-1", "description": "Tea"}`)
	if status != http.StatusCreated {
		t.Fatalf("create: %d %v", status, obj)
	}
	id := obj["id"].(string)
	b := e.browser()
	p := b.get(e.app.URL + "/c/" + id)
	b.submit(p, "form.method-choice", url.Values{"method": {"pesapal"}, "contact": {"0712 345 678"}})
	co := e.checkout(id)
	if co.CustomerPhone != "254712345678" || co.CustomerEmail != "" {
		t.Fatalf("customer phone %q email %q", co.CustomerPhone, co.CustomerEmail)
	}
}

func TestReceiptReturnsToTheShopWithTheCheckoutIDAndGoesThereBySelf(t *testing.T) {
	e := newEnv(t, envOptions{})
	status, obj := e.api(http.MethodPost, "/api/v1/checkouts", `{"amount": "500", "currency": "KES", "reference": "return-1",
		"description": "Sugar", "customer": {"email": "a@example.com"}, "success_url": "https://shop.example/thanks"}`)
	if status != http.StatusCreated {
		t.Fatalf("create: %d %v", status, obj)
	}
	id := obj["id"].(string)
	b, _, order := e.startPesapal(id)
	if err := e.sim.PesapalComplete(order.TrackingID, true); err != nil {
		t.Fatal(err)
	}
	e.sim.WaitIPNs()
	p := b.get(e.app.URL + "/c/" + id)
	want := "https://shop.example/thanks?checkout_id=" + id
	if p.doc.Find(`.actions a[href="`+want+`"]`).Length() != 1 {
		t.Fatalf("no return link to %s:\n%s", want, p.body)
	}
	script := p.doc.Find("script[nonce]").Last().Text()
	if !strings.Contains(script, "setTimeout") || !strings.Contains(p.body, "Taking you back to Demo Shop") {
		t.Fatal("the receipt does not go back to the shop by itself")
	}
}
