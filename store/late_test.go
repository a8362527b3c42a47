package store

import (
	"context"
	"strings"
	"testing"
	"time"
)

func TestFailureNamingAnotherReferenceIsFlaggedNotApplied(t *testing.T) {
	s, _ := newTestEnv(t)
	co := newCheckout(t, s, nil)
	a := startAttempt(t, s, co.ID, "pesapal", "pesapal", time.Minute)
	r := failed("Declined")
	r.Reference = "pay_someone_else"
	if out := applyResult(t, s, a.ID, r); out != OutcomeReview {
		t.Fatalf("outcome = %s, want review", out)
	}
	att := loadAttempt(t, s, a.ID)
	got := loadCheckout(t, s, co.ID)
	if att.Status != AttemptPending || !att.Review || !strings.Contains(att.ReviewReason, "pay_someone_else") {
		t.Fatalf("attempt = %s review %v %q", att.Status, att.Review, att.ReviewReason)
	}
	if got.Status != StatusPending || got.Message != "" || !got.Review {
		t.Fatalf("checkout = %s %q review %v, want pending, no message, flagged", got.Status, got.Message, got.Review)
	}
}

func TestReceiptArrivingAfterTheSuccessIsRecorded(t *testing.T) {
	s, _ := newTestEnv(t)
	co := newCheckout(t, s, nil)
	a := startAttempt(t, s, co.ID, "pokeapay", "pokeapay", time.Minute)
	if out := applyResult(t, s, a.ID, succeeded(a, "")); out != OutcomePaid {
		t.Fatalf("outcome = %s", out)
	}
	if out := applyResult(t, s, a.ID, succeeded(a, "RCPT123")); out != OutcomeUnchanged {
		t.Fatalf("second outcome = %s, want unchanged", out)
	}
	if got := loadCheckout(t, s, co.ID); got.Receipt != "RCPT123" || got.Status != StatusPaid {
		t.Fatalf("checkout receipt %q status %s", got.Receipt, got.Status)
	}
	if got := loadAttempt(t, s, a.ID); got.Receipt != "RCPT123" {
		t.Fatalf("attempt receipt %q", got.Receipt)
	}
	// A later, different receipt does not overwrite the first.
	applyResult(t, s, a.ID, succeeded(a, "OTHER"))
	if got := loadCheckout(t, s, co.ID); got.Receipt != "RCPT123" {
		t.Fatalf("receipt overwritten: %q", got.Receipt)
	}
	if n := len(transitionsOf(t, s, co.ID)); n != 2 {
		t.Fatalf("transitions = %d, want 2 (open->pending->paid)", n)
	}
}

func TestLateAttemptStartDoesNotRelabelAPaidCheckout(t *testing.T) {
	s, _ := newTestEnv(t)
	co := newCheckout(t, s, nil)
	first := startAttempt(t, s, co.ID, "pesapal", "pesapal", time.Minute)
	second := startAttempt(t, s, co.ID, "pesapal", "pesapal", time.Minute)
	applyResult(t, s, first.ID, succeeded(first, "R1"))
	paid := loadCheckout(t, s, co.ID)

	if err := s.AttemptStarted(context.Background(), second.ID, "trk-late", "http://pay/late", ""); err != nil {
		t.Fatal(err)
	}
	got := loadCheckout(t, s, co.ID)
	if got.ProviderReference != paid.ProviderReference || got.Status != StatusPaid {
		t.Fatalf("checkout provider_reference %q (was %q), status %s", got.ProviderReference, paid.ProviderReference, got.Status)
	}
	if att := loadAttempt(t, s, second.ID); att.ProviderReference != "trk-late" {
		t.Fatalf("the late attempt lost its reference: %q", att.ProviderReference)
	}
}
