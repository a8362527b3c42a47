package payments

import (
	"encoding/json"
	"maps"
	"slices"
	"testing"
	"time"

	"checkout/gateway"
	"checkout/store"
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

// TestEveryWebhookEventIsTheEnvelopeWithLivemode: each event a status
// change writes (payment.failed, checkout.cancelled, checkout.expired,
// checkout.paid, checkout.reversed), whether the change came through the
// service or through its store directly, is stored as the one envelope:
// exactly type, timestamp (the delivery's time), livemode and data, data
// being the whole checkout object of that checkout with the same
// livemode. No event goes out in another shape.
func TestEveryWebhookEventIsTheEnvelopeWithLivemode(t *testing.T) {
	objectKeys := jsonKeys(t, "checkout object", mustJSON(t, CheckoutObject{}))
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
			failedCo, _ := e.pending("failed", gateway.Result{Status: gateway.StatusFailed, Message: "Declined by the bank"})
			e.notify("failed")
			cancelled, _ := e.pending("cancelled", gateway.Result{Status: gateway.StatusPending})
			if _, err := e.st.Cancel(e.ctx, cancelled.ID, "customer"); err != nil {
				t.Fatal(err)
			}
			expired, _ := e.pending("expired", gateway.Result{Status: gateway.StatusPending})
			reversed, _ := e.pending("reversed", paid)
			e.notify("reversed")
			e.clock.add(time.Millisecond) // ids order by millisecond
			e.fake.mu.Lock()
			e.fake.results["trk-reversed"] = gateway.Result{Status: gateway.StatusReversed}
			e.fake.mu.Unlock()
			e.notify("reversed")
			e.clock.add(time.Hour)
			if _, err := e.st.Expire(e.ctx, expired.ID, "reconciler"); err != nil {
				t.Fatal(err)
			}

			seen := map[string]bool{}
			for _, co := range []*store.Checkout{failedCo, cancelled, expired, reversed} {
				for _, d := range e.deliveries(co.ID) {
					seen[d.EventType] = true
					what := d.EventType + " payload"
					raw := []byte(d.Payload)
					if got := jsonKeys(t, what, raw); !slices.Equal(got, []string{"data", "livemode", "timestamp", "type"}) {
						t.Errorf("%s: keys = %v, want data, livemode, timestamp, type: %s", what, got, raw)
					}
					assertLivemode(t, what, raw, tc.livemode)
					var env struct {
						Type      string          `json:"type"`
						Timestamp string          `json:"timestamp"`
						Data      json.RawMessage `json:"data"`
					}
					if err := json.Unmarshal(raw, &env); err != nil {
						t.Fatal(err)
					}
					if env.Type != d.EventType || env.Timestamp != d.CreatedAt.UTC().Format(time.RFC3339) {
						t.Errorf("%s: type %q timestamp %q, want %q %q", what, env.Type, env.Timestamp, d.EventType,
							d.CreatedAt.UTC().Format(time.RFC3339))
					}
					if got := jsonKeys(t, what+" data", env.Data); !slices.Equal(got, objectKeys) {
						t.Errorf("%s: data keys = %v, want the checkout object's %v", what, got, objectKeys)
					}
					assertLivemode(t, what+" data", env.Data, tc.livemode)
					var data struct {
						ID string `json:"id"`
					}
					if err := json.Unmarshal(env.Data, &data); err != nil || data.ID != co.ID {
						t.Errorf("%s: data.id = %q (%v), want %s", what, data.ID, err, co.ID)
					}
				}
			}
			for _, typ := range store.WebhookEventTypes {
				if !seen[typ] {
					t.Errorf("no %s delivery was written", typ)
				}
			}
		})
	}
}

func mustJSON(t *testing.T, v any) []byte {
	t.Helper()
	raw, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return raw
}

// jsonKeys lists the keys of the JSON object raw, sorted.
func jsonKeys(t *testing.T, what string, raw []byte) []string {
	t.Helper()
	var m map[string]json.RawMessage
	if err := json.Unmarshal(raw, &m); err != nil {
		t.Fatalf("%s: %v", what, err)
	}
	return slices.Sorted(maps.Keys(m))
}
