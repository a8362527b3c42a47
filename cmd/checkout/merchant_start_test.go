package main

import (
	"bytes"
	"context"
	"net/http"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"checkout/store"
)

// TestStartsKeepTheAdminsMerchantNameUnlessTheVariableSetsOne: a restart
// without CHECKOUT_MERCHANT_NAME leaves the default merchant's name as the
// admin set it; with the variable, the variable's name is applied. The
// CHECKOUT_API_KEY works through api_keys across the restarts, and a
// changed one replaces it.
func TestStartsKeepTheAdminsMerchantNameUnlessTheVariableSetsOne(t *testing.T) {
	db := filepath.Join(t.TempDir(), "checkout.db")
	env := sandboxEnv(t, db)
	a, stop := runWith(t, env, runOptions{})
	if st, _, b := call(t, http.MethodGet, a.URL+"/api/v1/payment_links", "", true); st != http.StatusOK {
		t.Fatalf("the configured key: %d %s", st, b)
	}
	if err := stop(); err != nil {
		t.Fatal(err)
	}
	rename := func(name string) {
		t.Helper()
		st, err := store.Open(context.Background(), db, store.Options{})
		if err != nil {
			t.Fatal(err)
		}
		defer st.Close()
		if err := st.UpdateMerchant(context.Background(), "default", store.MerchantProfile{Name: name}, nil, false); err != nil {
			t.Fatal(err)
		}
	}
	nameNow := func() string {
		t.Helper()
		st, err := store.Open(context.Background(), db, store.Options{})
		if err != nil {
			t.Fatal(err)
		}
		defer st.Close()
		m, err := st.Merchant(context.Background(), "default")
		if err != nil {
			t.Fatal(err)
		}
		return m.Name
	}
	rename("Duka la Mama")

	a, stop = runWith(t, env, runOptions{})
	if st, _, _ := call(t, http.MethodGet, a.URL+"/api/v1/payment_links", "", true); st != http.StatusOK {
		t.Errorf("the configured key after a restart: %d", st)
	}
	if err := stop(); err != nil {
		t.Fatal(err)
	}
	if got := nameNow(); got != "Duka la Mama" {
		t.Errorf("after a restart without CHECKOUT_MERCHANT_NAME the name is %q, want the admin's", got)
	}

	env["CHECKOUT_MERCHANT_NAME"] = "Set By Variable"
	env["CHECKOUT_API_KEY"] = "sk_sandbox_the_next_key_0123456789ab"
	a, stop = runWith(t, env, runOptions{})
	if st, _, _ := call(t, http.MethodGet, a.URL+"/api/v1/payment_links", "", true); st != http.StatusUnauthorized {
		t.Errorf("the replaced key: %d, want 401", st)
	}
	if err := stop(); err != nil {
		t.Fatal(err)
	}
	if got := nameNow(); got != "Set By Variable" {
		t.Errorf("with CHECKOUT_MERCHANT_NAME the name is %q", got)
	}
}

// syncBuffer is a bytes.Buffer safe for the app's goroutine and the test.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// TestAStartKeepsTheKeyAnOwnerRevokedAndSaysSo: an owner revokes the
// CHECKOUT_API_KEY key in the admin. The next start with the same
// variable leaves it revoked (the API refuses it), keeps its row, and its
// start-up text says in one line that CHECKOUT_API_KEY is not active.
func TestAStartKeepsTheKeyAnOwnerRevokedAndSaysSo(t *testing.T) {
	db := filepath.Join(t.TempDir(), "checkout.db")
	env := sandboxEnv(t, db)
	a, stop := runWith(t, env, runOptions{})
	o, err := a.Store.MerchantByAPIKey(context.Background(), runTestKey)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := a.Store.RevokeAPIKey(context.Background(), "default", o.Key.ID); err != nil {
		t.Fatal(err)
	}
	if err := stop(); err != nil {
		t.Fatal(err)
	}

	var out syncBuffer
	a, _ = runWithOut(t, env, runOptions{}, &out)
	if st, _, _ := call(t, http.MethodGet, a.URL+"/api/v1/payment_links", "", true); st != http.StatusUnauthorized {
		t.Errorf("the key the owner revoked, after a start: %d, want 401", st)
	}
	after, err := a.Store.MerchantByAPIKey(context.Background(), runTestKey)
	if err != nil || after.Key.ID != o.Key.ID || after.Key.RevokedAt == nil {
		t.Errorf("the revoked key's row after a start: %+v, %v; want the same row, revoked", after, err)
	}
	var said []string
	for _, l := range strings.Split(out.String(), "\n") {
		if strings.Contains(l, "CHECKOUT_API_KEY") && strings.Contains(l, "NOT active") {
			said = append(said, l)
		}
	}
	if len(said) != 1 {
		t.Errorf("start-up text: want one line saying CHECKOUT_API_KEY is not active, got:\n%s", out.String())
	}
}
