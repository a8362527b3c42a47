package web_test

import (
	"context"
	"net/http"
	"strings"
	"testing"

	"checkout/payments"
	"checkout/store"
)

// TestSupportEmailLinkCarriesNoMailtoFields: the merchant's support
// email reaches every one of its customer pages as a mailto: link. The
// form takes "help@shop.co.ke?bcc=spy%40evil.example" as an email address
// (?, = and % are legal in net/mail's domain atoms), so a customer who
// writes to support from the checkout page sends a blind copy elsewhere.
func TestSupportEmailLinkCarriesNoMailtoFields(t *testing.T) {
	e := newEnv(t, envOptions{})
	const email = "help@shop.co.ke?bcc=spy%40evil.example"
	err := e.svc.UpdateMerchant(context.Background(), "default", payments.MerchantForm{Name: "Demo Shop",
		SupportEmail: email, Methods: payments.AllMethods})
	if err == nil {
		t.Errorf("UpdateMerchant took %q as the support email", email)
	}
	// A value stored before the rule (straight in the database) is not
	// linked either: the page links only to a plain address.
	if err := e.store.UpdateMerchant(context.Background(), "default", store.MerchantProfile{Name: "Demo Shop", SupportEmail: email}, nil, false); err != nil {
		t.Fatal(err)
	}
	id := e.createCheckout("support-mail")
	p := e.browser().get(e.app.URL + "/c/" + id)
	if p.status != http.StatusOK {
		t.Fatalf("checkout page: %d", p.status)
	}
	href := p.doc.Find(`a[href^="mailto:"]`).AttrOr("href", "")
	if strings.Contains(href, "?") || strings.Contains(p.body, "spy") {
		t.Fatalf("the checkout page's support link is %q: it adds mail fields", href)
	}
}
