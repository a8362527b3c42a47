package payments

import (
	"encoding/json"
	"testing"
)

// TestCheckoutObjectsAndWebhookPayloadsCarryLivemode: in test mode the
// checkout object, the checkout.paid payload (its envelope and its data)
// and a webhook.test payload all say "livemode": false; in live mode, true.
func TestCheckoutObjectsAndWebhookPayloadsCarryLivemode(t *testing.T) {
	for _, tc := range []struct {
		name     string
		testMode bool
		livemode bool
	}{
		{"test mode", true, false},
		{"live mode", false, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			e := newWhEnv(t, nil)
			e.testMode = tc.testMode
			e.open()
			co, _ := e.pending("order-1", paid)

			obj, err := e.svc.Object(co)
			if err != nil {
				t.Fatal(err)
			}
			raw, err := json.Marshal(obj)
			if err != nil {
				t.Fatal(err)
			}
			assertLivemode(t, "checkout object", raw, tc.livemode)

			e.notify("order-1")
			if _, err := e.svc.SendTestWebhook(e.ctx, "m"); err != nil {
				t.Fatal(err)
			}
			e.deliver()
			reqs := e.rcv.all()
			if len(reqs) != 2 {
				t.Fatalf("webhooks sent = %d, want checkout.paid and webhook.test", len(reqs))
			}
			for _, r := range reqs {
				var body struct {
					Type string          `json:"type"`
					Data json.RawMessage `json:"data"`
				}
				if err := json.Unmarshal(r.body, &body); err != nil {
					t.Fatal(err)
				}
				assertLivemode(t, body.Type+" payload", r.body, tc.livemode)
				if body.Type == "checkout.paid" {
					assertLivemode(t, "checkout.paid data", body.Data, tc.livemode)
				}
			}
		})
	}
}

// assertLivemode checks that the JSON object raw has "livemode": want.
func assertLivemode(t *testing.T, what string, raw []byte, want bool) {
	t.Helper()
	var m map[string]any
	if err := json.Unmarshal(raw, &m); err != nil {
		t.Fatalf("%s: %v", what, err)
	}
	got, ok := m["livemode"]
	if !ok || got != want {
		t.Errorf("%s: livemode = %v (present %v), want %v: %s", what, got, ok, want, raw)
	}
}
