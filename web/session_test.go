package web_test

import (
	"net/http"
	"testing"

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
