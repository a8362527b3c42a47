package store

import (
	"context"
	"testing"
	"time"
)

func TestDueAttemptsReturnsOnlyPendingAttemptsWhoseCheckIsDue(t *testing.T) {
	s, clk := newTestEnv(t)
	at := clk.Now() // every attempt starts at this instant
	start := func(firstCheck time.Duration) *Attempt {
		co := newCheckout(t, s, nil)
		return startAttempt(t, s, co.ID, "pokeapay", "stk", firstCheck)
	}
	in20s := start(20 * time.Second)
	in20s500ms := start(20*time.Second + 500*time.Millisecond)
	in60s := start(60 * time.Second)
	succeededAttempt := start(5 * time.Second)
	applyResult(t, s, succeededAttempt.ID, succeeded(succeededAttempt, "DONE1"))
	failedAttempt := start(5 * time.Second)
	applyResult(t, s, failedAttempt.ID, failed("Declined"))
	// The attempt of a cancelled checkout is still polled: its payment may
	// yet complete at the provider.
	ofCancelled := start(5 * time.Second)
	if _, err := s.Cancel(context.Background(), ofCancelled.CheckoutID, "customer"); err != nil {
		t.Fatal(err)
	}

	nairobi := time.FixedZone("EAT", 3*60*60)
	tests := []struct {
		name  string
		now   time.Time
		limit int
		want  []*Attempt
	}{
		{"nothing_due_before_the_first_check", at.Add(4 * time.Second), 10, nil},
		{"only_the_cancelled_checkouts_attempt_due", at.Add(19 * time.Second), 10, []*Attempt{ofCancelled}},
		{"due_exactly_at_next_check", at.Add(20 * time.Second), 10, []*Attempt{ofCancelled, in20s}},
		{"not_due_a_fraction_of_a_second_early", at.Add(20*time.Second + 400*time.Millisecond), 10, []*Attempt{ofCancelled, in20s}},
		{"fraction_of_a_second_due", at.Add(20*time.Second + 500*time.Millisecond), 10, []*Attempt{ofCancelled, in20s, in20s500ms}},
		{"all_pending_due_in_check_order", at.Add(time.Hour), 10, []*Attempt{ofCancelled, in20s, in20s500ms, in60s}},
		{"limit", at.Add(time.Hour), 2, []*Attempt{ofCancelled, in20s}},
		{"now_in_another_time_zone", at.Add(20 * time.Second).In(nairobi), 10, []*Attempt{ofCancelled, in20s}},
		{"no_longer_polled_after_PollFor", at.Add(PollFor + time.Second), 10, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := s.DueAttempts(context.Background(), tt.now, tt.limit)
			if err != nil {
				t.Fatalf("DueAttempts: %v", err)
			}
			if len(got) != len(tt.want) {
				t.Fatalf("DueAttempts = %v, want %v", attemptIDs(got), attemptIDs(tt.want))
			}
			for i, w := range tt.want {
				assertFields(t, "due attempt "+w.ID, got[i], loadAttempt(t, s, w.ID))
				if got[i].ID != w.ID {
					t.Errorf("due[%d] = %s, want %s", i, got[i].ID, w.ID)
				}
			}
		})
	}
}

func attemptIDs[T Attempt | *Attempt](as []T) []string {
	var out []string
	for _, a := range as {
		switch a := any(a).(type) {
		case Attempt:
			out = append(out, a.ID)
		case *Attempt:
			out = append(out, a.ID)
		}
	}
	return out
}

func TestClaimAttemptBumpsChecksAndNextCheckOnce(t *testing.T) {
	s, clk := newTestEnv(t)
	co := newCheckout(t, s, nil)
	a := startAttempt(t, s, co.ID, "pokeapay", "stk", 20*time.Second)
	clk.Advance(30 * time.Second)
	due, err := s.DueAttempts(context.Background(), clk.Now(), 10)
	if err != nil || len(due) != 1 {
		t.Fatalf("DueAttempts = %v, %v; want the one attempt", attemptIDs(due), err)
	}
	mine, stale := due[0], due[0]
	before := loadAttempt(t, s, a.ID)
	next := clk.Now().Add(2 * time.Minute)

	ok, err := s.ClaimAttempt(context.Background(), &mine, next)
	if err != nil || !ok {
		t.Fatalf("ClaimAttempt = %v, %v; want true", ok, err)
	}
	if mine.Checks != 1 || mine.NextCheckAt == nil || !mine.NextCheckAt.Equal(next) {
		t.Errorf("claimed copy: checks %d next %v, want 1 and %s", mine.Checks, mine.NextCheckAt, next)
	}
	want := before
	want.Checks = 1
	want.NextCheckAt = ptr(next)
	want.UpdatedAt = clk.Now()
	assertFields(t, "stored attempt", loadAttempt(t, s, a.ID), want)
	if again, err := s.DueAttempts(context.Background(), clk.Now(), 10); err != nil || len(again) != 0 {
		t.Errorf("DueAttempts after the claim = %v, %v; want none until %s", attemptIDs(again), err, next)
	}

	t.Run("stale_copy_loses", func(t *testing.T) {
		clk.Advance(time.Second)
		ok, err := s.ClaimAttempt(context.Background(), &stale, clk.Now().Add(time.Hour))
		if err != nil || ok {
			t.Errorf("ClaimAttempt(stale) = %v, %v; want false", ok, err)
		}
		if stale.Checks != 0 {
			t.Errorf("stale copy checks = %d, want 0 (unchanged)", stale.Checks)
		}
		assertFields(t, "stored attempt", loadAttempt(t, s, a.ID), want)
	})

	t.Run("final_attempt_is_not_claimed", func(t *testing.T) {
		applyResult(t, s, a.ID, succeeded(a, "OK1"))
		done := loadAttempt(t, s, a.ID)
		ok, err := s.ClaimAttempt(context.Background(), &done, clk.Now().Add(time.Hour))
		if err != nil || ok {
			t.Errorf("ClaimAttempt(succeeded) = %v, %v; want false", ok, err)
		}
		assertFields(t, "stored attempt", loadAttempt(t, s, a.ID), done)
	})
}

func TestDueExpiriesReturnsOnlyOpenOrPendingPastDeadline(t *testing.T) {
	s, clk := newTestEnv(t)
	at := clk.Now()
	expiringIn := func(d time.Duration) *Checkout {
		return newCheckout(t, s, func(co *Checkout) { co.ExpiresAt = at.Add(d) })
	}
	openPast := expiringIn(time.Hour)
	pendingPast := expiringIn(2 * time.Hour)
	startAttempt(t, s, pendingPast.ID, "pokeapay", "stk", 20*time.Second)
	openAtDeadline := expiringIn(3*time.Hour + 500*time.Millisecond)
	openFuture := expiringIn(5 * time.Hour)
	paidPast := expiringIn(time.Hour)
	pa := startAttempt(t, s, paidPast.ID, "pesapal", "pesapal", time.Minute)
	applyResult(t, s, pa.ID, succeeded(pa, "PAID1"))
	cancelledPast := expiringIn(time.Hour)
	if _, err := s.Cancel(context.Background(), cancelledPast.ID, "customer"); err != nil {
		t.Fatal(err)
	}
	expiredAlready := expiringIn(30 * time.Minute)
	clk.Advance(30 * time.Minute)
	if _, err := s.Expire(context.Background(), expiredAlready.ID, "reconciler"); err != nil {
		t.Fatal(err)
	}

	tests := []struct {
		name  string
		now   time.Time
		limit int
		want  []*Checkout
	}{
		{"none_before_any_deadline", at.Add(59 * time.Minute), 10, nil},
		{"open_and_pending_past", at.Add(3 * time.Hour), 10, []*Checkout{openPast, pendingPast}},
		{"exactly_at_deadline", at.Add(3*time.Hour + 500*time.Millisecond), 10, []*Checkout{openPast, pendingPast, openAtDeadline}},
		{"all_due_in_deadline_order", at.Add(48 * time.Hour), 10, []*Checkout{openPast, pendingPast, openAtDeadline, openFuture}},
		{"limit", at.Add(48 * time.Hour), 1, []*Checkout{openPast}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := s.DueExpiries(context.Background(), tt.now, tt.limit)
			if err != nil {
				t.Fatalf("DueExpiries: %v", err)
			}
			if len(got) != len(tt.want) {
				t.Fatalf("DueExpiries = %v, want %v", checkoutIDs(got), checkoutIDs(tt.want))
			}
			for i, w := range tt.want {
				if got[i].ID != w.ID {
					t.Errorf("due[%d] = %s, want %s", i, got[i].ID, w.ID)
				}
				assertFields(t, "due checkout "+w.ID, got[i], loadCheckout(t, s, w.ID))
			}
		})
	}
}

func checkoutIDs[T Checkout | *Checkout](cos []T) []string {
	var out []string
	for _, co := range cos {
		switch co := any(co).(type) {
		case Checkout:
			out = append(out, co.ID)
		case *Checkout:
			out = append(out, co.ID)
		}
	}
	return out
}

func TestStopPollingLeavesAnAttemptPendingPastPollForWithAnEvent(t *testing.T) {
	s, clk := newTestEnv(t)
	started := clk.Now()
	co := newCheckout(t, s, func(co *Checkout) { co.ExpiresAt = started.Add(time.Hour) })
	old := startAttempt(t, s, co.ID, "pokeapay", "stk", 20*time.Second)
	clk.Advance(time.Hour)
	young := startAttempt(t, s, newCheckout(t, s, nil).ID, "pokeapay", "stk", 20*time.Second)
	ctx := context.Background()

	// Just inside PollFor: still polled.
	if got, err := s.StopPolling(ctx, started.Add(PollFor-time.Second), 10); err != nil || len(got) != 0 {
		t.Fatalf("StopPolling inside PollFor = %v, %v", attemptIDs(got), err)
	}
	clk.Advance(PollFor)
	got, err := s.StopPolling(ctx, started.Add(PollFor), 10)
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 1 || got[0].ID != old.ID || got[0].NextCheckAt != nil {
		t.Fatalf("stopped %v, want only %s", attemptIDs(got), old.ID)
	}
	att := loadAttempt(t, s, old.ID)
	if att.Status != AttemptPending || att.NextCheckAt != nil || att.Review {
		t.Fatalf("stopped attempt = %s next %v review %v, want pending, no next check, not flagged", att.Status, att.NextCheckAt, att.Review)
	}
	if y := loadAttempt(t, s, young.ID); y.NextCheckAt == nil {
		t.Fatal("a younger attempt lost its next check")
	}
	evs := eventsOf(t, s, co.ID, EventError)
	if len(evs) != 1 || evs[0].AttemptID != old.ID || evs[0].Source != "reconciler" ||
		evs[0].Message != `no final answer from pokeapay 72 h after the payment started: no longer asked automatically. `+
			`The payment stays pending; "Re-check with provider" asks again` {
		t.Fatalf("events = %+v", evs)
	}
	// Once: the next pass finds nothing to stop and writes no event.
	if again, err := s.StopPolling(ctx, started.Add(PollFor+time.Minute), 10); err != nil || len(again) != 0 {
		t.Fatalf("second StopPolling = %v, %v", attemptIDs(again), err)
	}
	if n := len(eventsOf(t, s, co.ID, EventError)); n != 1 {
		t.Fatalf("%d events after the second pass", n)
	}
}
