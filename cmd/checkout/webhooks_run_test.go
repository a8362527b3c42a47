package main

import (
	"bytes"
	"context"
	"io"
	"net/http"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"checkout/gateway/sandbox"
	"checkout/payments"
)

// TestSandboxPaymentSendsASignedEventToTheInbox: in sandbox mode with no
// CHECKOUT_WEBHOOK_URL the default merchant's webhook is the sandbox inbox,
// so paying a checkout shows a verified checkout.paid there.
func TestSandboxPaymentSendsASignedEventToTheInbox(t *testing.T) {
	addr := freeAddr(t)
	env := map[string]string{"CHECKOUT_ADDR": addr, "CHECKOUT_PUBLIC_URL": "http://" + addr,
		"CHECKOUT_DB": filepath.Join(t.TempDir(), "checkout.db"), "CHECKOUT_API_KEY": runTestKey}
	var mu sync.Mutex
	var out bytes.Buffer
	w := writerFunc(func(p []byte) (int, error) { mu.Lock(); defer mu.Unlock(); return out.Write(p) })
	ctx, cancel := context.WithCancel(context.Background())
	ready := make(chan *app, 1)
	done := make(chan error, 1)
	go func() {
		done <- run(ctx, func(k string) string { return env[k] }, w, runOptions{Ready: func(a *app) { ready <- a }})
	}()
	var a *app
	select {
	case a = <-ready:
	case err := <-done:
		cancel()
		t.Fatalf("app did not start: %v", err)
	case <-time.After(20 * time.Second):
		cancel()
		t.Fatal("app did not start in time")
	}
	defer func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("app stopped with %v", err)
		}
	}()

	inbox := "http://" + addr + sandbox.WebhooksPath
	mu.Lock()
	banner := out.String()
	mu.Unlock()
	if want := "  Webhook inbox: " + inbox + "  (signed events arrive here)"; !strings.Contains(banner, want) {
		t.Errorf("banner lacks %q:\n%s", want, banner)
	}
	if strings.Contains(banner, "whsec_") {
		t.Errorf("banner shows the webhook secret:\n%s", banner)
	}
	m, err := a.Store.Merchant(context.Background(), "default")
	if err != nil {
		t.Fatal(err)
	}
	if m.WebhookURL != inbox {
		t.Fatalf("default merchant's webhook URL = %q, want %q", m.WebhookURL, inbox)
	}
	if _, err := payments.ParseWebhookSecret(m.WebhookSecret); err != nil {
		t.Fatalf("default merchant's webhook secret: %v", err)
	}

	obj := apiCall(t, a.URL, http.MethodPost, "/api/v1/checkouts",
		`{"amount": "1500", "currency": "KES", "reference": "inbox-1", "description": "Inbox", "customer": {"email": "a@example.com"}}`)
	id, _ := obj["id"].(string)
	if id == "" {
		t.Fatalf("create: %v", obj)
	}
	attempt, err := a.Service.StartPesapal(context.Background(), id, "")
	if err != nil {
		t.Fatal(err)
	}
	if err := a.Sandbox.PesapalComplete(attempt.ProviderReference, true); err != nil {
		t.Fatal(err)
	}

	deadline := time.Now().Add(10 * time.Second)
	var got sandbox.WebhookDelivery
	for found := false; !found; {
		for _, d := range a.Sandbox.WebhookDeliveries() {
			if d.Type == "checkout.paid" && d.CheckoutID == id {
				got, found = d, true
				break
			}
		}
		if !found {
			if time.Now().After(deadline) {
				t.Fatalf("no checkout.paid for %s in the inbox after 10 s; it holds %+v", id, a.Sandbox.WebhookDeliveries())
			}
			time.Sleep(50 * time.Millisecond)
		}
	}
	if !got.Verified || got.Reason != "" || got.Status != "paid" || !strings.HasPrefix(got.ID, "msg_") {
		t.Fatalf("delivery = %+v, want a verified checkout.paid", got)
	}

	// The page lists it.
	resp, err := http.Get(a.URL + sandbox.WebhooksPath)
	if err != nil {
		t.Fatal(err)
	}
	page, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK || !strings.Contains(string(page), "<code>"+id+"</code>, paid") ||
		!strings.Contains(string(page), "✓ verified") {
		t.Fatalf("inbox page: HTTP %d\n%s", resp.StatusCode, page)
	}
	if csp := resp.Header.Values("Content-Security-Policy"); len(csp) != 1 || !strings.Contains(csp[0], "form-action 'none'") {
		t.Errorf("inbox page CSP = %q, want the page's own", csp)
	}
}
