package store

import (
	"context"
	"testing"
	"time"
)

// TestBacklogCountsDueAttemptsTheOldestPendingAndQueuedDeliveries: the
// metrics' database figures follow the attempts and deliveries as they
// come due, are settled and delivered.
func TestBacklogCountsDueAttemptsTheOldestPendingAndQueuedDeliveries(t *testing.T) {
	s, clk := newTestEnv(t)
	ctx := context.Background()
	if b, err := s.Backlog(ctx, clk.Now()); err != nil || b != (Backlog{}) {
		t.Fatalf("empty store: Backlog = %+v, %v", b, err)
	}

	first := startAttempt(t, s, newCheckout(t, s, nil).ID, "pesapal", "pesapal", time.Minute)
	started := clk.Now()
	clk.Advance(time.Second)
	second := startAttempt(t, s, newCheckout(t, s, nil).ID, "pochipay", "stk", time.Hour)
	clk.Advance(2 * time.Minute)
	b, err := s.Backlog(ctx, clk.Now())
	if err != nil {
		t.Fatal(err)
	}
	if b.DueAttempts != 1 || !b.OldestPending.Equal(started) || b.PendingDeliveries != 0 {
		t.Fatalf("Backlog = %+v, want 1 due (%s, not %s), oldest %v", b, first.ID, second.ID, started)
	}

	// Paid: the first is no longer pending, and the merchant's webhook is
	// queued with the change.
	if err := s.SetMerchantWebhook(ctx, testMerchantID, "https://shop.example/hooks", "whsec_x"); err != nil {
		t.Fatal(err)
	}
	ws := s.WithWebhookPayload(func(*Checkout, string, time.Time) ([]byte, error) { return []byte(`{}`), nil })
	if out, err := ws.ApplyResult(ctx, first.ID, succeeded(first, "RCPT1")); err != nil || out != OutcomePaid {
		t.Fatalf("ApplyResult = %v, %v", out, err)
	}
	if _, err := s.EnqueueWebhookEvent(ctx, testMerchantID, WebhookTestEvent, []byte(`{}`)); err != nil {
		t.Fatal(err)
	}
	b, err = s.Backlog(ctx, clk.Now())
	if err != nil {
		t.Fatal(err)
	}
	if b.DueAttempts != 0 || !b.OldestPending.Equal(started.Add(time.Second)) || b.PendingDeliveries != 2 {
		t.Fatalf("after the payment: Backlog = %+v, want none due, oldest %s, 2 deliveries queued", b, second.ID)
	}

	// One delivered: one left in the queue.
	due, err := s.DueWebhookDeliveries(ctx, clk.Now(), 1)
	if err != nil || len(due) != 1 {
		t.Fatalf("DueWebhookDeliveries = %d, %v", len(due), err)
	}
	if err := s.RecordWebhookTry(ctx, &due[0], WebhookTry{At: clk.Now(), StatusCode: 200, Outcome: DeliveryDelivered}); err != nil {
		t.Fatal(err)
	}
	if b, err = s.Backlog(ctx, clk.Now()); err != nil || b.PendingDeliveries != 1 {
		t.Fatalf("after a delivery: Backlog = %+v, %v", b, err)
	}
}
