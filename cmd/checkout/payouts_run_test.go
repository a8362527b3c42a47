package main

import (
	"context"
	"net/http"
	"path/filepath"
	"testing"
	"time"

	"checkout/gateway"
	"checkout/gateway/sandbox"
)

// TestSandboxPayoutOverTheAPIReachesThePhoneThroughEachProvider starts the
// whole app in sandbox mode once with CHECKOUT_PAYOUT_PROVIDER=pokeapay and
// once with pochipay, sends a payout over the API, and waits for the
// sandbox phone to receive it: the wiring (the payout client, its
// callback route, the background worker) carries it end to end.
func TestSandboxPayoutOverTheAPIReachesThePhoneThroughEachProvider(t *testing.T) {
	for _, provider := range []string{"pokeapay", "pochipay"} {
		t.Run(provider, func(t *testing.T) {
			addr := freeAddr(t)
			env := map[string]string{"CHECKOUT_ADDR": addr, "CHECKOUT_PUBLIC_URL": "http://" + addr,
				"CHECKOUT_DB": filepath.Join(t.TempDir(), "checkout.db"), "CHECKOUT_API_KEY": runTestKey,
				"CHECKOUT_PAYOUT_PROVIDER": provider}
			a, _ := startApp(t, env, nil)
			obj := apiCall(t, a.URL, http.MethodPost, "/api/v1/payouts",
				`{"amount": "250", "phone": "0712 345 678", "name": "Jane Doe", "reference": "wiring-`+provider+`"}`)
			id, _ := obj["id"].(string)
			if id == "" || obj["provider"] != provider {
				t.Fatalf("create payout: %v", obj)
			}
			var got []sandbox.Payout
			waitFor(t, "the phone receives the payout", func() bool {
				got = a.Sandbox.PhoneReceived("254712345678")
				return len(got) > 0
			})
			if len(got) != 1 || got[0].Provider != provider || got[0].Amount != gateway.Amount(250_00) {
				t.Fatalf("the phone received %+v, want KES 250.00 through %s", got, provider)
			}
			waitFor(t, "payout succeeded", func() bool {
				obj = apiCall(t, a.URL, http.MethodGet, "/api/v1/payouts/"+id, "")
				return obj["status"] == "succeeded"
			})
			if obj["status"] != "succeeded" || obj["receipt"] != got[0].Receipt {
				t.Fatalf("payout = %v, want succeeded with receipt %s", obj, got[0].Receipt)
			}
		})
	}
}

// waitFor polls cond (the app's workers and the simulator's callbacks are
// asynchronous) until it holds or 20 s pass.
func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("%s: not after 20 s", what)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// TestSandboxPesapalRefundOverTheAPIIsSentByTheRunningApp: the whole app
// in sandbox mode takes a Pesapal M-Pesa payment and refunds it over the
// API; its worker sends the refund request to the simulator.
func TestSandboxPesapalRefundOverTheAPIIsSentByTheRunningApp(t *testing.T) {
	addr := freeAddr(t)
	env := map[string]string{"CHECKOUT_ADDR": addr, "CHECKOUT_PUBLIC_URL": "http://" + addr,
		"CHECKOUT_DB": filepath.Join(t.TempDir(), "checkout.db"), "CHECKOUT_API_KEY": runTestKey}
	a, _ := startApp(t, env, nil)
	obj := apiCall(t, a.URL, http.MethodPost, "/api/v1/checkouts",
		`{"amount": "1500", "currency": "KES", "reference": "refund-wiring", "description": "Refund", "customer": {"email": "a@example.com"}}`)
	id, _ := obj["id"].(string)
	if id == "" {
		t.Fatalf("create: %v", obj)
	}
	attempt, err := a.Service.StartPesapal(context.Background(), id, "")
	if err != nil {
		t.Fatal(err)
	}
	if err := a.Sandbox.PesapalCompleteWith(attempt.ProviderReference, "mpesa", true); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "checkout paid", func() bool {
		return apiCall(t, a.URL, http.MethodGet, "/api/v1/checkouts/"+id, "")["status"] == "paid"
	})
	obj = apiCall(t, a.URL, http.MethodPost, "/api/v1/checkouts/"+id+"/refunds", `{"reason": "wiring"}`)
	refundID, _ := obj["id"].(string)
	if refundID == "" || obj["provider"] != "pesapal" {
		t.Fatalf("refund: %v", obj)
	}
	waitFor(t, "refund succeeded", func() bool {
		return apiCall(t, a.URL, http.MethodGet, "/api/v1/refunds/"+refundID, "")["status"] == "succeeded"
	})
	if rs := a.Sandbox.PesapalRefunds(); len(rs) != 1 || rs[0].Amount != gateway.Amount(1500_00) {
		t.Fatalf("the simulator's refunds = %+v", rs)
	}
	if co := apiCall(t, a.URL, http.MethodGet, "/api/v1/checkouts/"+id, ""); co["amount_refunded"] != "1500.00" {
		t.Errorf("amount_refunded = %v", co["amount_refunded"])
	}
}
