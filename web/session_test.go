package web_test

import (
	"net/http"
	"testing"

	"github.com/PuerkitoBio/goquery"

	"checkout/reqctx"
)

// TestPagesWithoutAFormStartNoSession: a page view that shows no form (a
// status poll, the receipt, a notice) reads and writes no session, so it
// sets no cookie; the checkout page, which has forms, starts the session
// once, and a later view with the cookie leaves it as it is.
func TestPagesWithoutAFormStartNoSession(t *testing.T) {
	e := newEnv(t, envOptions{})
	open := e.createCheckout("order-session-open")
	paid := e.createCheckout("order-session-paid")
	_, _, order := e.startPesapal(paid)
	if err := e.sim.PesapalComplete(order.TrackingID, false); err != nil {
		t.Fatal(err)
	}
	if status, _ := e.ipn(order); status != http.StatusOK {
		t.Fatalf("IPN: %d", status)
	}

	for _, tc := range []struct {
		name, path, accept string
		status             int
	}{
		{"status partial", "/c/" + open + "/status", "", http.StatusOK},
		{"status as JSON", "/c/" + open + "/status", "application/json", http.StatusOK},
		{"receipt", "/c/" + paid, "", http.StatusOK},
		{"unknown checkout", "/c/chk_unknown", "", http.StatusNotFound},
		{"return without a reference", "/return/pesapal", "", http.StatusBadRequest},
	} {
		t.Run(tc.name, func(t *testing.T) {
			req, err := http.NewRequest(http.MethodGet, e.app.URL+tc.path, nil)
			if err != nil {
				t.Fatal(err)
			}
			if tc.accept != "" {
				req.Header.Set("Accept", tc.accept)
			}
			r := e.browser().send(req)
			if r.status != tc.status {
				t.Fatalf("status %d, want %d", r.status, tc.status)
			}
			if got := r.header.Values("Set-Cookie"); len(got) != 0 {
				t.Fatalf("a page without a form set cookies %q", got)
			}
		})
	}

	b := e.browser()
	first := b.fetch(e.app.URL + "/c/" + open)
	if first.status != http.StatusOK || first.cookie(customerCookie) == nil || csrfToken(first.page) == "" {
		t.Fatalf("first view of the checkout page: %d, cookie %v, token %q; want 200 with the session cookie and a token",
			first.status, first.cookie(customerCookie), csrfToken(first.page))
	}
	again := b.fetch(e.app.URL + "/c/" + open)
	if got := again.header.Values("Set-Cookie"); len(got) != 0 {
		t.Fatalf("a second view with the session set cookies %q", got)
	}
	// Each answer masks the token afresh (reqctx.MaskCSRF); the session's
	// token under the mask stays the same.
	if reqctx.UnmaskCSRF(csrfToken(again.page)) != reqctx.UnmaskCSRF(csrfToken(first.page)) {
		t.Fatalf("token changed from %q to %q between two views", csrfToken(first.page), csrfToken(again.page))
	}
}

// TestCheckoutPageFormsCarryOneMaskedTokenPerAnswer: the checkout page's
// forms (method choice, M-Pesa prompt, cancel) carry the session's token
// masked once for the answer, the same value in each, never the bare
// token; the next answer carries a new mask of the same token.
func TestCheckoutPageFormsCarryOneMaskedTokenPerAnswer(t *testing.T) {
	e := newEnv(t, envOptions{stk: "pokeapay"})
	status, obj := e.api(http.MethodPost, "/api/v1/checkouts", `{"amount": "500", "currency": "KES", "reference": "mask-once",
		"description": "Sugar", "customer": {"email": "a@example.com"}, "cancel_url": "https://shop.example/cart"}`)
	if status != http.StatusCreated {
		t.Fatalf("create: %d %v", status, obj)
	}
	b := e.browser()
	tokens := func(p page) []string {
		var got []string
		p.doc.Find(`form[method="post"]`).Each(func(_ int, f *goquery.Selection) {
			got = append(got, f.Find(`input[name="csrf_token"]`).AttrOr("value", ""))
		})
		return got
	}
	first := b.get(e.app.URL + "/c/" + obj["id"].(string))
	again := b.get(e.app.URL + "/c/" + obj["id"].(string))
	one, two := tokens(first), tokens(again)
	if len(one) != 3 || len(two) != 3 {
		t.Fatalf("POST forms: %d and %d, want 3 (method choice, M-Pesa prompt, cancel)", len(one), len(two))
	}
	session := reqctx.UnmaskCSRF(one[0])
	if session == "" || session == one[0] {
		t.Fatalf("token %q: not masked", one[0])
	}
	for i := range 3 {
		if one[i] != one[0] || two[i] != two[0] {
			t.Fatalf("the forms of one answer carry different tokens: %q, %q", one, two)
		}
	}
	if two[0] == one[0] || reqctx.UnmaskCSRF(two[0]) != session {
		t.Fatalf("second answer's token %q: want a new mask of the session's token (first %q)", two[0], one[0])
	}
}
