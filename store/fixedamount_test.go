package store

import (
	"testing"
	"time"
)

func TestFixedAmountSuccessWithoutAnAmountIsPaidAtTheAttemptsAmount(t *testing.T) {
	s, clk := newTestEnv(t)
	co := newCheckout(t, s, nil)
	a := startAttempt(t, s, co.ID, "pochipay", "stk", 20*time.Second)
	clk.Advance(20 * time.Second)

	r := succeeded(a, "QFX1234567")
	r.HasAmount, r.Amount, r.AmountFixed = false, 0, true
	if out := applyResult(t, s, a.ID, r); out != OutcomePaid {
		t.Fatalf("outcome = %s, want paid", out)
	}
	got := loadCheckout(t, s, co.ID)
	if got.Status != StatusPaid || got.Review || got.Amount != testAmount || got.Receipt != "QFX1234567" {
		t.Fatalf("checkout = %s review %v amount %d receipt %q", got.Status, got.Review, got.Amount, got.Receipt)
	}
	if att := loadAttempt(t, s, a.ID); att.Status != AttemptSucceeded || att.Review {
		t.Fatalf("attempt = %s review %v", att.Status, att.Review)
	}
	// The timeline says that no amount was reported.
	queries := eventsOf(t, s, co.ID, EventStatusQuery)
	want := "provider says: paid, receipt QFX1234567 (no amount reported; the prompt's amount, which the customer could not change)"
	if len(queries) != 1 || queries[0].Message != want {
		t.Fatalf("status query events = %+v, want one saying %q", queries, want)
	}
}

func TestSuccessWithoutAnAmountIsStillReviewedWhenTheAmountWasNotFixed(t *testing.T) {
	s, _ := newTestEnv(t)
	co := newCheckout(t, s, nil)
	a := startAttempt(t, s, co.ID, "pesapal", "pesapal", time.Minute)
	r := succeeded(a, "PP1")
	r.HasAmount, r.Amount = false, 0
	if out := applyResult(t, s, a.ID, r); out != OutcomeReview {
		t.Fatalf("outcome = %s, want review", out)
	}
	if got := loadCheckout(t, s, co.ID); got.Status != StatusPending || !got.Review {
		t.Fatalf("checkout = %s review %v", got.Status, got.Review)
	}
}
