package store

import (
	"context"
	"errors"
	"fmt"
	"reflect"
	"testing"
	"time"
)

// recordingPayload is a WebhookPayloadFunc whose body names what it was
// given: the event, the checkout as it is after the change, and the time.
func recordingPayload(co *Checkout, eventType string, at time.Time) ([]byte, error) {
	return []byte(payloadFor(co.ID, eventType, co.Status, at)), nil
}

func payloadFor(id, eventType string, status Status, at time.Time) string {
	return fmt.Sprintf(`{"type":%q,"id":%q,"status":%q,"at":%q}`, eventType, id, status, at.Format(time.RFC3339Nano))
}

func deliveriesOf(t *testing.T, s *Store, checkoutID string) []WebhookDelivery {
	t.Helper()
	ds, err := s.WebhookDeliveries(context.Background(), checkoutID)
	if err != nil {
		t.Fatalf("WebhookDeliveries(%s): %v", checkoutID, err)
	}
	return ds
}

// TestAStatusChangeToAnnounceIsRefusedByAStoreWithoutAPayloadBuilder: a
// store opened alone (no payments service gave it a WebhookPayloadFunc)
// refuses every status change that has a webhook to write, changing
// nothing and queueing nothing, instead of sending a body of another
// shape. The same change through WithWebhookPayload's store writes the
// builder's body, built from the checkout as it is after the change at the
// store's clock, in the change's transaction; making that store left the
// first one as it was.
func TestAStatusChangeToAnnounceIsRefusedByAStoreWithoutAPayloadBuilder(t *testing.T) {
	ctx := context.Background()
	bare, clk := newTestEnv(t)
	full := bare.WithWebhookPayload(recordingPayload)
	if err := bare.SetMerchantWebhook(ctx, testMerchantID, "https://shop.example/hooks", "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"); err != nil {
		t.Fatal(err)
	}
	pendingAttempt := func(t *testing.T) (*Checkout, *Attempt) {
		co := newCheckout(t, full, nil)
		return co, startAttempt(t, full, co.ID, "pesapal", "pesapal", time.Minute)
	}

	cases := []struct {
		name string
		// setup makes the checkout; change is the status change, made by
		// the store it is given.
		setup  func(t *testing.T) (checkoutID string, change func(s *Store) error)
		event  string
		status Status
	}{
		{"cancel", func(t *testing.T) (string, func(*Store) error) {
			co := newCheckout(t, full, nil)
			return co.ID, func(s *Store) error { _, err := s.Cancel(ctx, co.ID, "customer"); return err }
		}, WebhookCheckoutCancelled, StatusCancelled},
		{"expire", func(t *testing.T) (string, func(*Store) error) {
			co := newCheckout(t, full, func(co *Checkout) { co.ExpiresAt = clk.Now().Add(-time.Minute) })
			return co.ID, func(s *Store) error { _, err := s.Expire(ctx, co.ID, "reconciler"); return err }
		}, WebhookCheckoutExpired, StatusExpired},
		{"paid", func(t *testing.T) (string, func(*Store) error) {
			co, a := pendingAttempt(t)
			return co.ID, func(s *Store) error { _, err := s.ApplyResult(ctx, a.ID, succeeded(a, "QK1")); return err }
		}, WebhookCheckoutPaid, StatusPaid},
		{"failed", func(t *testing.T) (string, func(*Store) error) {
			co, a := pendingAttempt(t)
			return co.ID, func(s *Store) error { _, err := s.ApplyResult(ctx, a.ID, failed("Declined")); return err }
		}, WebhookPaymentFailed, StatusOpen},
		{"not started", func(t *testing.T) (string, func(*Store) error) {
			co, a := pendingAttempt(t)
			return co.ID, func(s *Store) error { _, err := s.AttemptNotStarted(ctx, a.ID, "Nothing was charged.", ""); return err }
		}, WebhookPaymentFailed, StatusOpen},
		{"reversed", func(t *testing.T) (string, func(*Store) error) {
			co, a := pendingAttempt(t)
			applyResult(t, full, a.ID, succeeded(a, "QK2"))
			return co.ID, func(s *Store) error { _, err := s.ApplyResult(ctx, a.ID, reversed(a)); return err }
		}, WebhookCheckoutReversed, StatusReversed},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			id, change := tc.setup(t)
			clk.Advance(time.Millisecond) // delivery ids order by millisecond
			before, deliveriesBefore := takeSnapshot(t, bare, id), deliveriesOf(t, bare, id)

			if err := change(bare); !errors.Is(err, ErrNoWebhookPayload) {
				t.Fatalf("change without a payload builder: err = %v, want ErrNoWebhookPayload", err)
			}
			assertFields(t, "after the refused change", takeSnapshot(t, bare, id), before)
			if got := deliveriesOf(t, bare, id); !reflect.DeepEqual(got, deliveriesBefore) {
				t.Fatalf("deliveries after the refused change = %+v, want %+v", got, deliveriesBefore)
			}

			if err := change(full); err != nil {
				t.Fatalf("change with a payload builder: %v", err)
			}
			if got := loadCheckout(t, bare, id).Status; got != tc.status {
				t.Fatalf("status = %s, want %s", got, tc.status)
			}
			ds := deliveriesOf(t, bare, id)
			if len(ds) != len(deliveriesBefore)+1 {
				t.Fatalf("deliveries = %+v, want one more than %d", ds, len(deliveriesBefore))
			}
			now := clk.Now()
			d := ds[len(ds)-1]
			want := WebhookDelivery{ID: d.ID, MerchantID: testMerchantID, CheckoutID: id, EventType: tc.event,
				Payload: payloadFor(id, tc.event, tc.status, now), Status: DeliveryPending, NextAttemptAt: &now,
				CreatedAt: now}
			assertFields(t, "delivery", d, want)
		})
	}
}

// TestAStoreWithoutAPayloadBuilderChangesStatusesOfMerchantsWithoutWebhooks:
// with no webhook URL there is nothing to announce, so a store opened
// alone makes the change and queues nothing.
func TestAStoreWithoutAPayloadBuilderChangesStatusesOfMerchantsWithoutWebhooks(t *testing.T) {
	s, _ := newTestEnv(t)
	co := newCheckout(t, s, nil)
	if _, err := s.Cancel(context.Background(), co.ID, "customer"); err != nil {
		t.Fatal(err)
	}
	if got := loadCheckout(t, s, co.ID).Status; got != StatusCancelled {
		t.Fatalf("status = %s, want cancelled", got)
	}
	if ds := deliveriesOf(t, s, co.ID); len(ds) != 0 {
		t.Fatalf("deliveries = %+v, want none", ds)
	}
}

// TestTheWebhookIsBuiltFromTheCheckoutAsStored: the payload builder is
// given the checkout as the change left it, every field equal to what a read
// after the commit returns (the outbox builds it from the checkout the
// transaction holds, with the columns the change wrote set on it, instead
// of reading the row again). Each change writes different columns; the
// checkout carries customer details, metadata and a provider reference set
// before the change, so a field the change does not write is kept too.
func TestTheWebhookIsBuiltFromTheCheckoutAsStored(t *testing.T) {
	ctx := context.Background()
	bare, clk := newTestEnv(t)
	var given []Checkout
	s := bare.WithWebhookPayload(func(co *Checkout, eventType string, at time.Time) ([]byte, error) {
		given = append(given, *co)
		return recordingPayload(co, eventType, at)
	})
	if err := s.SetMerchantWebhook(ctx, testMerchantID, "https://shop.example/hooks", "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"); err != nil {
		t.Fatal(err)
	}
	full := func(co *Checkout) {
		co.CustomerName, co.CustomerEmail, co.CustomerPhone = "Wanjiru Kamau", "wanjiru@example.com", "254712345678"
		co.SuccessURL, co.CancelURL, co.Metadata = "https://shop.example/ok", "https://shop.example/back", `{"order":"7"}`
	}
	pendingAttempt := func(t *testing.T, mod func(*Checkout)) (*Checkout, *Attempt) {
		co := newCheckout(t, s, func(co *Checkout) { full(co); mod(co) })
		a := startAttempt(t, s, co.ID, "pesapal", "pesapal", time.Minute)
		if err := s.AttemptStarted(ctx, a.ID, "track-"+a.ID, "https://pay.example/"+a.ID, "{}"); err != nil {
			t.Fatal(err)
		}
		clk.Advance(time.Second)
		return co, a
	}
	none := func(*Checkout) {}
	cases := []struct {
		name   string
		change func(t *testing.T) string // the checkout's id
	}{
		{"cancel", func(t *testing.T) string {
			co := newCheckout(t, s, full)
			clk.Advance(time.Second)
			if _, err := s.Cancel(ctx, co.ID, "customer"); err != nil {
				t.Fatal(err)
			}
			return co.ID
		}},
		{"expire", func(t *testing.T) string {
			co := newCheckout(t, s, func(co *Checkout) { full(co); co.ExpiresAt = clk.Now().Add(time.Second) })
			clk.Advance(2 * time.Second)
			if _, err := s.Expire(ctx, co.ID, "reconciler"); err != nil {
				t.Fatal(err)
			}
			return co.ID
		}},
		{"paid", func(t *testing.T) string {
			co, a := pendingAttempt(t, none)
			r := succeeded(a, "QK1")
			r.Notification = &Event{CheckoutID: co.ID, AttemptID: a.ID, Kind: EventNotification, Source: "ipn:test"}
			if out := applyResult(t, s, a.ID, r); out != OutcomePaid {
				t.Fatalf("outcome %s, want paid", out)
			}
			return co.ID
		}},
		{"paid, no provider reference in the answer", func(t *testing.T) string {
			co, a := pendingAttempt(t, none)
			r := succeeded(a, "QK3")
			r.ProviderReference = ""
			if out := applyResult(t, s, a.ID, r); out != OutcomePaid {
				t.Fatalf("outcome %s, want paid", out)
			}
			return co.ID
		}},
		{"failed", func(t *testing.T) string {
			co, a := pendingAttempt(t, none)
			if out := applyResult(t, s, a.ID, failed("Declined by the bank")); out != OutcomeFailed {
				t.Fatalf("outcome %s, want failed", out)
			}
			return co.ID
		}},
		{"reversed", func(t *testing.T) string {
			co, a := pendingAttempt(t, none)
			applyResult(t, s, a.ID, succeeded(a, "QK2"))
			clk.Advance(time.Second)
			if out := applyResult(t, s, a.ID, reversed(a)); out != OutcomeReversed {
				t.Fatalf("outcome %s, want reversed", out)
			}
			return co.ID
		}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			given = nil
			id := tc.change(t)
			if len(given) == 0 {
				t.Fatal("the payload builder was not called")
			}
			assertFields(t, "checkout given to the payload builder", given[len(given)-1], loadCheckout(t, bare, id))
		})
	}
}
