package web_test

import (
	"context"
	"encoding/json"
	"log/slog"
	"net/http"
	"strings"
	"testing"

	"checkout/handlers"
	"checkout/web"
)

// listIDs are the ids of a list answer's data.
func apiListIDs(t *testing.T, body []byte) []string {
	t.Helper()
	var out struct {
		Data []struct{ ID string }
	}
	if err := json.Unmarshal(body, &out); err != nil {
		t.Fatalf("not a list: %s", body)
	}
	ids := []string{}
	for _, d := range out.Data {
		ids = append(ids, d.ID)
	}
	return ids
}

func idOf(t *testing.T, body []byte) string {
	t.Helper()
	var out struct{ ID string }
	if err := json.Unmarshal(body, &out); err != nil || out.ID == "" {
		t.Fatalf("no id in %s", body)
	}
	return out.ID
}

// TestEveryMerchantAPIRouteKeepsMerchantsApart: for every route of the
// /api/v1 group (read from the engine, so a route added later fails this
// test until it is covered), merchant B's key neither sees nor changes
// merchant A's objects (404, nothing changed), lists hold only the
// caller's objects, and the same Idempotency-Key is each merchant's own.
func TestEveryMerchantAPIRouteKeepsMerchantsApart(t *testing.T) {
	e := transferEnv(t)
	a, b := testAPIKey, otherAPIKey
	call := func(key, method, path, body string, hdr map[string]string) (int, []byte) {
		st, _, out := e.call(key, method, path, body, hdr)
		return st, out
	}
	created := func(key, path, body string, hdr map[string]string) string {
		t.Helper()
		st, out := call(key, http.MethodPost, path, body, hdr)
		if st != http.StatusCreated {
			t.Fatalf("POST %s: %d %s", path, st, out)
		}
		return idOf(t, out)
	}
	notFound := func(what string, st int, body []byte) {
		t.Helper()
		if code, _ := errorOf(t, body); st != http.StatusNotFound || code != "not_found" {
			t.Errorf("%s: %d %s, want 404 not_found", what, st, body)
		}
	}

	// A list's cursor must be one of the caller's own objects of that
	// list: B's list after A's object is 404 naming starting_after (it
	// reveals nothing of A's, not even where the id falls among B's), after
	// an id that is nobody's too, and after its own object it answers.
	cursors := func(list, foreign, own string) {
		t.Helper()
		for _, id := range []string{foreign, own[:len(own)-4] + "zzzz"} {
			st, out := call(b, http.MethodGet, list+"?starting_after="+id, "", nil)
			if code, field := errorOf(t, out); st != http.StatusNotFound || code != "not_found" || field != "starting_after" {
				t.Errorf("B's %s after %s: %d %s, want 404 not_found starting_after", list, id, st, out)
			}
		}
		if st, out := call(b, http.MethodGet, list+"?starting_after="+own, "", nil); st != http.StatusOK || hasID(apiListIDs(t, out), own) {
			t.Errorf("B's %s after its own %s: %d %s", list, own, st, out)
		}
	}

	// A's objects: a paid checkout with a refund, a link, a payout.
	coA := e.createCheckout("iso-a")
	e.payByIPN(coA)
	refA := created(a, "/api/v1/checkouts/"+coA+"/refunds", `{"reason":"damaged"}`, nil)
	linkA := created(a, "/api/v1/payment_links", `{"amount":"100","currency":"KES","description":"A's link"}`, nil)
	poA := created(a, "/api/v1/payouts", `{"amount":100,"phone":"0712345678","reference":"A-1"}`, nil)
	// B's own, so that its lists are not empty by accident.
	coB := created(b, "/api/v1/checkouts", `{"amount":"50","currency":"KES","reference":"iso-b","description":"B's","customer":{"email":"b@example.com"}}`, nil)
	e.payByIPN(coB)
	refB := created(b, "/api/v1/checkouts/"+coB+"/refunds", `{}`, nil)
	linkB := created(b, "/api/v1/payment_links", `{"amount":"50","currency":"KES","description":"B's link"}`, nil)
	poB := created(b, "/api/v1/payouts", `{"amount":50,"phone":"0712345679","reference":"B-1"}`, nil)

	ctx := context.Background()
	covered := map[string]func(){
		"POST /api/v1/checkouts": func() {
			// The same reference and Idempotency-Key as A's: B's own checkout.
			key := map[string]string{"Idempotency-Key": "shared-key-1"}
			idA := created(a, "/api/v1/checkouts", `{"amount":"10","currency":"KES","reference":"same-ref","description":"A"}`, key)
			idB := created(b, "/api/v1/checkouts", `{"amount":"20","currency":"KES","reference":"same-ref","description":"B"}`, key)
			if idA == idB || e.checkout(idA).MerchantID != "default" || e.checkout(idB).MerchantID != "other" {
				t.Errorf("one Idempotency-Key, two merchants: %s and %s", idA, idB)
			}
		},
		"GET /api/v1/checkouts": func() {
			st, out := call(b, http.MethodGet, "/api/v1/checkouts?limit=100", "", nil)
			ids := apiListIDs(t, out)
			if st != http.StatusOK || !hasID(ids, coB) || hasID(ids, coA) {
				t.Errorf("B's checkouts %d %v: want %s and not %s", st, ids, coB, coA)
			}
			for _, id := range ids {
				if e.checkout(id).MerchantID != "other" {
					t.Errorf("B's list holds %s, not B's", id)
				}
			}
			// Filtered by A's status and A's reference: still none of A's.
			for _, q := range []string{"?status=paid", "?reference=iso-a"} {
				st, out := call(b, http.MethodGet, "/api/v1/checkouts"+q, "", nil)
				if ids := apiListIDs(t, out); st != http.StatusOK || hasID(ids, coA) {
					t.Errorf("B's checkouts%s: %d %v, holds A's %s", q, st, ids, coA)
				}
			}
			if st, out := call(a, http.MethodGet, "/api/v1/checkouts?reference=iso-a", "", nil); st != http.StatusOK ||
				strings.Join(apiListIDs(t, out), ",") != coA {
				t.Errorf("A's checkout by its reference: %d %s", st, out)
			}
			cursors("/api/v1/checkouts", coA, coB)
		},
		"GET /api/v1/checkouts/:id": func() {
			st, out := call(b, http.MethodGet, "/api/v1/checkouts/"+coA, "", nil)
			notFound("B reads A's checkout", st, out)
			if st, _ := call(a, http.MethodGet, "/api/v1/checkouts/"+coA, "", nil); st != http.StatusOK {
				t.Errorf("A reads its checkout: %d", st)
			}
		},
		"POST /api/v1/checkouts/:id/refunds": func() {
			before, err := e.svc.CheckoutRefunds(ctx, coA)
			if err != nil {
				t.Fatal(err)
			}
			st, out := call(b, http.MethodPost, "/api/v1/checkouts/"+coA+"/refunds", `{"amount":"1"}`, map[string]string{"Idempotency-Key": "r-b"})
			notFound("B refunds A's checkout", st, out)
			after, _ := e.svc.CheckoutRefunds(ctx, coA)
			if len(after) != len(before) {
				t.Errorf("B's refund of A's checkout made a refund: %d, then %d", len(before), len(after))
			}
		},
		"GET /api/v1/refunds": func() {
			st, out := call(b, http.MethodGet, "/api/v1/refunds", "", nil)
			if ids := apiListIDs(t, out); st != http.StatusOK || strings.Join(ids, ",") != refB {
				t.Errorf("B's refunds: %d %v, want only %s", st, ids, refB)
			}
			cursors("/api/v1/refunds", refA, refB)
		},
		"GET /api/v1/refunds/:id": func() {
			st, out := call(b, http.MethodGet, "/api/v1/refunds/"+refA, "", nil)
			notFound("B reads A's refund", st, out)
		},
		"POST /api/v1/payment_links": func() {
			key := map[string]string{"Idempotency-Key": "shared-link-key"}
			idA := created(a, "/api/v1/payment_links", `{"amount":"10","currency":"KES","description":"A"}`, key)
			idB := created(b, "/api/v1/payment_links", `{"amount":"20","currency":"KES","description":"B"}`, key)
			if idA == idB {
				t.Errorf("one Idempotency-Key, two merchants: the same link %s", idA)
			}
		},
		"GET /api/v1/payment_links": func() {
			st, out := call(b, http.MethodGet, "/api/v1/payment_links?limit=100", "", nil)
			for _, id := range apiListIDs(t, out) {
				if l, err := e.svc.LinkForMerchant(ctx, "other", id); st != http.StatusOK || err != nil || l.MerchantID != "other" {
					t.Errorf("B's list holds %s (%v)", id, err)
				}
			}
			if ids := apiListIDs(t, out); !hasID(ids, linkB) || hasID(ids, linkA) {
				t.Errorf("B's links %v: want %s and not %s", ids, linkB, linkA)
			}
			cursors("/api/v1/payment_links", linkA, linkB)
		},
		"GET /api/v1/payment_links/:id": func() {
			st, out := call(b, http.MethodGet, "/api/v1/payment_links/"+linkA, "", nil)
			notFound("B reads A's link", st, out)
		},
		"POST /api/v1/payment_links/:id/deactivate": func() {
			st, out := call(b, http.MethodPost, "/api/v1/payment_links/"+linkA+"/deactivate", "", nil)
			notFound("B deactivates A's link", st, out)
			if l, err := e.svc.LinkForMerchant(ctx, "default", linkA); err != nil || !l.Active {
				t.Errorf("A's link after B's try: %+v, %v", l, err)
			}
		},
		"POST /api/v1/payouts": func() {
			key := map[string]string{"Idempotency-Key": "shared-payout-key"}
			idA := created(a, "/api/v1/payouts", `{"amount":10,"phone":"0712345678","reference":"P-1"}`, key)
			idB := created(b, "/api/v1/payouts", `{"amount":20,"phone":"0712345678","reference":"P-1"}`, key)
			if idA == idB {
				t.Errorf("one Idempotency-Key, two merchants: the same payout %s", idA)
			}
		},
		"GET /api/v1/payouts": func() {
			st, out := call(b, http.MethodGet, "/api/v1/payouts?limit=100", "", nil)
			if ids := apiListIDs(t, out); st != http.StatusOK || !hasID(ids, poB) || hasID(ids, poA) {
				t.Errorf("B's payouts %v: want %s and not %s", ids, poB, poA)
			}
			for _, id := range apiListIDs(t, out) {
				if _, err := e.svc.PayoutFor(ctx, "other", id); err != nil {
					t.Errorf("B's list holds %s, not B's (%v)", id, err)
				}
			}
			cursors("/api/v1/payouts", poA, poB)
		},
		"GET /api/v1/payouts/:id": func() {
			st, out := call(b, http.MethodGet, "/api/v1/payouts/"+poA, "", nil)
			notFound("B reads A's payout", st, out)
		},
	}

	// Every route the engine serves under /api/v1 is covered above.
	sess := web.NewSessions([]byte("0123456789abcdef0123456789abcdef"), []byte("abcdef0123456789abcdef0123456789"), false)
	log := slog.New(slog.DiscardHandler)
	engine := web.New(handlers.New(e.svc, sess, log), web.Config{Logger: log, Sessions: sess})
	n := 0
	for _, r := range engine.Routes() {
		if !strings.HasPrefix(r.Path, "/api/v1/") {
			continue
		}
		n++
		check, ok := covered[r.Method+" "+r.Path]
		if !ok {
			t.Errorf("%s %s: no isolation check", r.Method, r.Path)
			continue
		}
		t.Run(r.Method+" "+r.Path, func(t *testing.T) { check() })
	}
	if n != len(covered) {
		t.Errorf("the engine has %d API routes, the test covers %d", n, len(covered))
	}
}

func hasID(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}
