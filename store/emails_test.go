package store

import (
	"context"
	"errors"
	"slices"
	"strings"
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

// paidWithReceipt pays a new checkout with a customer email and returns it
// with its queued receipt.
func paidWithReceipt(t *testing.T, s *Store, email string) (*Checkout, EmailDelivery) {
	t.Helper()
	co := newCheckout(t, s, func(c *Checkout) { c.CustomerEmail = email })
	a := startAttempt(t, s, co.ID, "pesapal", "pesapal", time.Minute)
	if out := applyResult(t, s, a.ID, succeeded(a, "QJK7XYZ")); out != OutcomePaid {
		t.Fatalf("outcome %s, want paid", out)
	}
	ds, err := s.EmailDeliveries(context.Background(), co.ID)
	if err != nil || len(ds) != 1 {
		t.Fatalf("deliveries %v, %v; want one", ds, err)
	}
	return co, ds[0]
}

// recordEmail claims the email now and records one try with outcome.
func recordEmail(t *testing.T, s *Store, now time.Time, d EmailDelivery, outcome, msg string) {
	t.Helper()
	if ok, err := s.ClaimEmailDelivery(context.Background(), &d, now, now.Add(time.Minute)); !ok || err != nil {
		t.Fatalf("claim %v, %v", ok, err)
	}
	if err := s.RecordEmailTry(context.Background(), &d, EmailTry{At: now, Outcome: outcome, Error: msg}); err != nil {
		t.Fatal(err)
	}
}

// TestResendFailedEmail: a failed receipt of a paid checkout goes back to
// pending, same row, attempts and next try reset (due now), with a
// timeline line naming who asked.
func TestResendFailedEmail(t *testing.T) {
	base, clk := newTestEnv(t)
	s := base.WithReceiptEmails(true)
	ctx := context.Background()
	co, d := paidWithReceipt(t, s, "amina@example.com")
	recordEmail(t, s, clk.Now(), d, EmailFailed, "550 5.1.1 no such mailbox")
	clk.Advance(time.Hour)
	got, err := s.ResendEmailDelivery(ctx, co.ID, d.ID, "admin:ops@example.com")
	if err != nil {
		t.Fatal(err)
	}
	ds, _ := s.EmailDeliveries(ctx, co.ID)
	want := EmailDelivery{ID: d.ID, CheckoutID: co.ID, Recipient: "amina@example.com", Kind: EmailReceipt,
		Status: EmailPending, NextAttemptAt: ptr(clk.Now()), LastError: "550 5.1.1 no such mailbox", CreatedAt: d.CreatedAt}
	if len(ds) != 1 || got.ID != d.ID {
		t.Fatalf("deliveries %+v, returned %+v; want the same single row", ds, got)
	}
	assertFields(t, "delivery", ds[0], want)
	due, err := s.DueEmailDeliveries(ctx, clk.Now(), 10)
	if err != nil || len(due) != 1 || due[0].ID != d.ID {
		t.Fatalf("due %v, %v; want the resent receipt", due, err)
	}
	evs := eventsOf(t, s, co.ID, EventEmail)
	wantLine := "receipt email to amina@example.com (" + d.ID + ") queued again by admin:ops@example.com"
	if len(evs) != 2 || !slices.ContainsFunc(evs, func(e Event) bool { return e.Message == wantLine }) {
		t.Fatalf("email events %+v, want one saying %q", evs, wantLine)
	}
}

// TestResendEmailRefused: a pending or sent email, another checkout's
// email, and a failed email of a checkout no longer paid are refused, each
// with its error, and nothing changes.
func TestResendEmailRefused(t *testing.T) {
	base, clk := newTestEnv(t)
	s := base.WithReceiptEmails(true)
	ctx := context.Background()
	pendingCo, pending := paidWithReceipt(t, s, "a@example.com")
	sentCo, sent := paidWithReceipt(t, s, "b@example.com")
	recordEmail(t, s, clk.Now(), sent, EmailSent, "")
	otherCo, _ := paidWithReceipt(t, s, "c@example.com")
	failedCo, failed := paidWithReceipt(t, s, "d@example.com")
	recordEmail(t, s, clk.Now(), failed, EmailFailed, "550 refused")
	reversedCo, reversed := paidWithReceipt(t, s, "e@example.com")
	recordEmail(t, s, clk.Now(), reversed, EmailFailed, "550 refused")
	if err := s.w.Model(&Checkout{}).Where("id = ?", reversedCo.ID).Update("status", StatusReversed).Error; err != nil {
		t.Fatal(err)
	}
	clk.Advance(time.Hour)
	for _, tc := range []struct {
		name string
		co   *Checkout
		d    EmailDelivery
		want error
	}{
		{"pending", pendingCo, pending, ErrEmailNotFailed},
		{"sent", sentCo, sent, ErrEmailNotFailed},
		{"another checkout's", otherCo, failed, ErrNotFound},
		{"not paid", reversedCo, reversed, ErrEmailNotPaid},
	} {
		t.Run(tc.name, func(t *testing.T) {
			before, _ := s.EmailDeliveries(ctx, tc.d.CheckoutID)
			_, err := s.ResendEmailDelivery(ctx, tc.co.ID, tc.d.ID, "admin:ops@example.com")
			if !errors.Is(err, tc.want) {
				t.Fatalf("err %v, want %v", err, tc.want)
			}
			after, _ := s.EmailDeliveries(ctx, tc.d.CheckoutID)
			if len(before) != 1 || len(after) != 1 {
				t.Fatalf("deliveries before %v, after %v", before, after)
			}
			assertFields(t, "delivery", after[0], before[0])
		})
	}
	for _, co := range []*Checkout{pendingCo, sentCo, otherCo, failedCo, reversedCo} {
		for _, e := range eventsOf(t, s, co.ID, EventEmail) {
			if strings.Contains(e.Message, "queued again") {
				t.Fatalf("%s: refused resend left a line %q", co.ID, e.Message)
			}
		}
	}
}
