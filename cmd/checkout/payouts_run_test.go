package main

import (
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
			deadline := time.Now().Add(20 * time.Second)
			var got []sandbox.Payout
			for {
				got = a.Sandbox.PhoneReceived("254712345678")
				if len(got) > 0 || time.Now().After(deadline) {
					break
				}
				time.Sleep(20 * time.Millisecond) // the worker and the callback are asynchronous
			}
			if len(got) != 1 || got[0].Provider != provider || got[0].Amount != gateway.Amount(250_00) {
				t.Fatalf("the phone received %+v, want KES 250.00 through %s", got, provider)
			}
			for {
				obj = apiCall(t, a.URL, http.MethodGet, "/api/v1/payouts/"+id, "")
				if obj["status"] == "succeeded" || time.Now().After(deadline) {
					break
				}
				time.Sleep(20 * time.Millisecond)
			}
			if obj["status"] != "succeeded" || obj["receipt"] != got[0].Receipt {
				t.Fatalf("payout = %v, want succeeded with receipt %s", obj, got[0].Receipt)
			}
		})
	}
}
