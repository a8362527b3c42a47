package store

import (
	"context"
	"testing"
	"time"

	"gorm.io/gorm"
)

// TestPaidCheckoutWithEmailQueuesOneReceipt: the transition to paid writes
// one pending receipt email to the checkout's customer, due at once, and
// applying the same result again (or a second payment) queues no second.
func TestPaidCheckoutWithEmailQueuesOneReceipt(t *testing.T) {
	base, clk := newTestEnv(t)
	s := base.WithReceiptEmails(true)
	co := newCheckout(t, s, func(c *Checkout) { c.CustomerEmail = "amina@example.com" })
	a := startAttempt(t, s, co.ID, "pesapal", "pesapal", time.Minute)
	clk.Advance(10 * time.Second)
	paidAt := clk.Now()
	if out := applyResult(t, s, a.ID, succeeded(a, "QJK7XYZ")); out != OutcomePaid {
		t.Fatalf("outcome %s, want paid", out)
	}
	applyResult(t, s, a.ID, succeeded(a, "QJK7XYZ"))
	ds, err := s.EmailDeliveries(context.Background(), co.ID)
	if err != nil {
		t.Fatal(err)
	}
	if len(ds) != 1 {
		t.Fatalf("%d email deliveries, want 1", len(ds))
	}
	want := EmailDelivery{ID: ds[0].ID, CheckoutID: co.ID, Recipient: "amina@example.com", Kind: EmailReceipt,
		Status: EmailPending, NextAttemptAt: ptr(paidAt), CreatedAt: paidAt}
	assertFields(t, "delivery", ds[0], want)
	due, err := s.DueEmailDeliveries(context.Background(), clk.Now(), 10)
	if err != nil || len(due) != 1 || due[0].ID != ds[0].ID {
		t.Fatalf("due %v, %v; want the receipt", due, err)
	}
}

// TestReceiptIsUniquePerCheckout: a second insert for the same checkout
// and kind is a no-op: a receipt is never queued twice.
func TestReceiptIsUniquePerCheckout(t *testing.T) {
	base, _ := newTestEnv(t)
	s := base.WithReceiptEmails(true)
	co := newCheckout(t, s, func(c *Checkout) { c.CustomerEmail = "amina@example.com" })
	for i := 0; i < 2; i++ {
		if err := s.tx(context.Background(), func(tx *gorm.DB) error { return s.enqueueReceipt(tx, co) }); err != nil {
			t.Fatal(err)
		}
	}
	ds, err := s.EmailDeliveries(context.Background(), co.ID)
	if err != nil || len(ds) != 1 {
		t.Fatalf("deliveries %v, %v; want one", ds, err)
	}
}

// TestNoReceiptQueuedWithoutEmailOrWithoutMail: a checkout without a
// customer email queues none, and a store without mail configured queues
// none either.
func TestNoReceiptQueuedWithoutEmailOrWithoutMail(t *testing.T) {
	base, _ := newTestEnv(t)
	for name, tc := range map[string]struct {
		s     *Store
		email string
	}{"no email": {base.WithReceiptEmails(true), ""}, "mail off": {base, "amina@example.com"}} {
		t.Run(name, func(t *testing.T) {
			co := newCheckout(t, tc.s, func(c *Checkout) { c.CustomerEmail = tc.email })
			a := startAttempt(t, tc.s, co.ID, "pesapal", "pesapal", time.Minute)
			if out := applyResult(t, tc.s, a.ID, succeeded(a, "QJK7XYZ")); out != OutcomePaid {
				t.Fatalf("outcome %s, want paid", out)
			}
			ds, err := tc.s.EmailDeliveries(context.Background(), co.ID)
			if err != nil || len(ds) != 0 {
				t.Fatalf("deliveries %v, %v; want none", ds, err)
			}
		})
	}
}

// TestEmailClaimAndRecord: one of two claims wins; a retry moves the next
// try on; a sent email leaves the outbox with a line in the timeline; a
// record by a worker that lost its claim changes nothing.
func TestEmailClaimAndRecord(t *testing.T) {
	base, clk := newTestEnv(t)
	s := base.WithReceiptEmails(true)
	ctx := context.Background()
	co := newCheckout(t, s, func(c *Checkout) { c.CustomerEmail = "amina@example.com" })
	a := startAttempt(t, s, co.ID, "pesapal", "pesapal", time.Minute)
	applyResult(t, s, a.ID, succeeded(a, "QJK7XYZ"))
	due, err := s.DueEmailDeliveries(ctx, clk.Now(), 10)
	if err != nil || len(due) != 1 {
		t.Fatalf("due %v, %v", due, err)
	}
	d1, d2 := due[0], due[0]
	now := clk.Now()
	if ok, err := s.ClaimEmailDelivery(ctx, &d1, now, now.Add(time.Minute)); !ok || err != nil {
		t.Fatalf("first claim %v, %v", ok, err)
	}
	if ok, err := s.ClaimEmailDelivery(ctx, &d2, now, now.Add(time.Minute)); ok || err != nil {
		t.Fatalf("second claim %v, %v; want lost", ok, err)
	}
	if err := s.RecordEmailTry(ctx, &d1, EmailTry{At: now, Error: "connection refused", Outcome: EmailPending,
		NextAt: now.Add(time.Minute)}); err != nil {
		t.Fatal(err)
	}
	if due, _ := s.DueEmailDeliveries(ctx, now, 10); len(due) != 0 {
		t.Fatalf("due before the retry time: %v", due)
	}
	clk.Advance(time.Minute)
	due, _ = s.DueEmailDeliveries(ctx, clk.Now(), 10)
	if len(due) != 1 || due[0].Attempts != 1 || due[0].LastError != "connection refused" {
		t.Fatalf("due after the retry time: %+v", due)
	}
	d := due[0]
	if ok, err := s.ClaimEmailDelivery(ctx, &d, clk.Now(), clk.Now().Add(time.Minute)); !ok || err != nil {
		t.Fatalf("claim %v, %v", ok, err)
	}
	if err := s.RecordEmailTry(ctx, &d, EmailTry{At: clk.Now(), Outcome: EmailSent}); err != nil {
		t.Fatal(err)
	}
	// The first worker, late, records again: nothing changes.
	if err := s.RecordEmailTry(ctx, &d1, EmailTry{At: clk.Now(), Outcome: EmailFailed, Error: "late"}); err != nil {
		t.Fatal(err)
	}
	ds, _ := s.EmailDeliveries(ctx, co.ID)
	want := EmailDelivery{ID: d.ID, CheckoutID: co.ID, Recipient: "amina@example.com", Kind: EmailReceipt,
		Status: EmailSent, Attempts: 2, CreatedAt: now, SentAt: ptr(clk.Now())}
	assertFields(t, "delivery", ds[0], want)
	evs := eventsOf(t, s, co.ID, EventEmail)
	if len(evs) != 1 || evs[0].Message != "receipt email sent to amina@example.com ("+d.ID+")" {
		t.Fatalf("email events %+v", evs)
	}
}
