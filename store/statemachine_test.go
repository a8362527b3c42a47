package store

import (
	"context"
	"errors"
	"slices"
	"testing"
	"time"
)

// allStatuses is written out here rather than taken from Statuses, so the
// test also notices a status added or dropped there.
var allStatuses = []Status{"open", "pending", "paid", "expired", "cancelled", "reversed"}

func TestStatusesListsTheSixStatusesInReadingOrder(t *testing.T) {
	if !slices.Equal(Statuses, allStatuses) {
		t.Fatalf("Statuses = %v, want %v", Statuses, allStatuses)
	}
}

// TestCanTransitionAllowsExactlyTheDesignedChanges checks all 36 pairs
// against the design ("Checkout status"), written out by hand rather than
// derived from the transitions map.
func TestCanTransitionAllowsExactlyTheDesignedChanges(t *testing.T) {
	// Row: from. Columns: to, in the order of allStatuses:
	//                   open   pending paid   expired cancelled reversed
	allowed := map[Status][6]bool{
		"open":      {false, true, true, true, true, false},
		"pending":   {true, false, true, true, true, false},
		"paid":      {false, false, false, false, false, true},
		"expired":   {false, false, false, false, false, false},
		"cancelled": {false, false, false, false, false, false},
		"reversed":  {false, false, false, false, false, false},
	}
	if len(allowed) != len(allStatuses) {
		t.Fatalf("the table has %d rows, want one per status (%d)", len(allowed), len(allStatuses))
	}
	for _, from := range allStatuses {
		for j, to := range allStatuses {
			want := allowed[from][j]
			t.Run(string(from)+"_to_"+string(to), func(t *testing.T) {
				if got := CanTransition(from, to); got != want {
					t.Errorf("CanTransition(%s, %s) = %v, want %v", from, to, got, want)
				}
			})
		}
	}
	t.Run("unknown_statuses", func(t *testing.T) {
		for _, pair := range [][2]Status{{"", "open"}, {"open", ""}, {"refunded", "open"}, {"open", "refunded"}} {
			if CanTransition(pair[0], pair[1]) {
				t.Errorf("CanTransition(%q, %q) = true, want false", pair[0], pair[1])
			}
		}
	})
}

func TestCheckoutFinalForEveryStatus(t *testing.T) {
	tests := []struct {
		status Status
		final  bool
	}{
		{"open", false},
		{"pending", false},
		{"paid", true},
		{"expired", true},
		{"cancelled", true},
		{"reversed", true},
	}
	for _, tt := range tests {
		t.Run(string(tt.status), func(t *testing.T) {
			co := Checkout{Status: tt.status}
			if got := co.Final(); got != tt.final {
				t.Errorf("Checkout{Status: %s}.Final() = %v, want %v", tt.status, got, tt.final)
			}
		})
	}
}

// flow carries what the steps of a state-machine scenario share.
type flow struct {
	s        *Store
	clk      *fakeClock
	co       *Checkout
	attempts []*Attempt
}

type step func(t *testing.T, f *flow) error

func stepStart(method string) step {
	return func(t *testing.T, f *flow) error {
		a := &Attempt{ID: NewID("att", f.s.Now()), CheckoutID: f.co.ID, Provider: "pokeapay", Method: method}
		if err := f.s.StartAttempt(context.Background(), a, 20*time.Second, "test"); err != nil {
			return err
		}
		f.attempts = append(f.attempts, a)
		return nil
	}
}

// stepResult applies r to the newest attempt and expects outcome want.
func stepResult(result func(a *Attempt) Result, want Outcome) step {
	return func(t *testing.T, f *flow) error {
		a := f.attempts[len(f.attempts)-1]
		out, err := f.s.ApplyResult(context.Background(), a.ID, result(a))
		if err != nil {
			return err
		}
		if out != want {
			t.Errorf("ApplyResult on %s = %s, want %s", a.ID, out, want)
		}
		return nil
	}
}

var (
	stepSucceed = stepResult(func(a *Attempt) Result { return succeeded(a, "RCPT1") }, OutcomePaid)
	stepFail    = stepResult(func(*Attempt) Result { return failed("Wrong PIN") }, OutcomeFailed)
	stepReverse = stepResult(reversed, OutcomeReversed)
)

func stepCancel(t *testing.T, f *flow) error {
	_, err := f.s.Cancel(context.Background(), f.co.ID, "customer")
	return err
}

func stepExpire(t *testing.T, f *flow) error {
	_, err := f.s.Expire(context.Background(), f.co.ID, "reconciler")
	return err
}

func stepPassDeadline(t *testing.T, f *flow) error {
	f.clk.Advance(24 * time.Hour)
	return nil
}

// atDeadline runs st with the clock set to the checkout's deadline exactly.
func atDeadline(st step) step {
	return func(t *testing.T, f *flow) error {
		f.clk.Advance(f.co.ExpiresAt.Sub(f.clk.Now()))
		return st(t, f)
	}
}

func runSteps(t *testing.T, f *flow, steps []step) {
	t.Helper()
	for i, st := range steps {
		f.clk.Advance(time.Second)
		if err := st(t, f); err != nil {
			t.Fatalf("step %d: %v", i+1, err)
		}
	}
}

// TestOperationsMoveCheckoutThroughTheStateMachine drives checkouts with the
// real operations and checks the status they end in and that each change
// wrote exactly one transition event with its from and to.
func TestOperationsMoveCheckoutThroughTheStateMachine(t *testing.T) {
	tests := []struct {
		name        string
		steps       []step
		wantStatus  Status
		transitions []string
	}{
		{"created_checkout_is_open", nil, StatusOpen, nil},
		{"attempt_makes_it_pending", []step{stepStart("stk")}, StatusPending,
			[]string{"open->pending"}},
		{"second_attempt_keeps_it_pending", []step{stepStart("stk"), stepStart("pesapal")}, StatusPending,
			[]string{"open->pending"}},
		{"success_pays", []step{stepStart("stk"), stepSucceed}, StatusPaid,
			[]string{"open->pending", "pending->paid"}},
		{"failure_reopens", []step{stepStart("stk"), stepFail}, StatusOpen,
			[]string{"open->pending", "pending->open"}},
		{"retry_after_failure_pays", []step{stepStart("stk"), stepFail, stepStart("pesapal"), stepSucceed}, StatusPaid,
			[]string{"open->pending", "pending->open", "open->pending", "pending->paid"}},
		{"reversal_of_paid", []step{stepStart("stk"), stepSucceed, stepReverse}, StatusReversed,
			[]string{"open->pending", "pending->paid", "paid->reversed"}},
		{"cancel_open", []step{stepCancel}, StatusCancelled,
			[]string{"open->cancelled"}},
		{"cancel_pending", []step{stepStart("stk"), stepCancel}, StatusCancelled,
			[]string{"open->pending", "pending->cancelled"}},
		{"expire_open_after_deadline", []step{stepPassDeadline, stepExpire}, StatusExpired,
			[]string{"open->expired"}},
		{"expire_open_at_deadline", []step{atDeadline(stepExpire)}, StatusExpired,
			[]string{"open->expired"}},
		{"expire_pending_after_deadline", []step{stepStart("stk"), stepPassDeadline, stepExpire}, StatusExpired,
			[]string{"open->pending", "pending->expired"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s, clk := newTestEnv(t)
			f := &flow{s: s, clk: clk, co: newCheckout(t, s, nil)}
			runSteps(t, f, tt.steps)

			co := loadCheckout(t, s, f.co.ID)
			if co.Status != tt.wantStatus {
				t.Errorf("status = %s, want %s", co.Status, tt.wantStatus)
			}
			if got := transitionsOf(t, s, f.co.ID); !slices.Equal(got, tt.transitions) {
				t.Errorf("transition events = %q, want %q", got, tt.transitions)
			}
		})
	}
}

// TestFinalCheckoutsRefuseChangesAndStayUntouched checks that the
// operations the state machine refuses answer ErrTransition and leave the
// checkout, its attempts and its timeline exactly as they were.
func TestFinalCheckoutsRefuseChangesAndStayUntouched(t *testing.T) {
	tests := []struct {
		name       string
		setup      []step
		op         step
		wantStatus Status
	}{
		{"cancel_paid", []step{stepStart("stk"), stepSucceed}, stepCancel, StatusPaid},
		{"cancel_cancelled", []step{stepCancel}, stepCancel, StatusCancelled},
		{"cancel_expired", []step{stepPassDeadline, stepExpire}, stepCancel, StatusExpired},
		{"cancel_reversed", []step{stepStart("stk"), stepSucceed, stepReverse}, stepCancel, StatusReversed},
		{"start_attempt_on_paid", []step{stepStart("stk"), stepSucceed}, stepStart("pesapal"), StatusPaid},
		{"start_attempt_on_expired", []step{stepPassDeadline, stepExpire}, stepStart("pesapal"), StatusExpired},
		{"start_attempt_on_cancelled", []step{stepCancel}, stepStart("pesapal"), StatusCancelled},
		{"start_attempt_on_reversed", []step{stepStart("stk"), stepSucceed, stepReverse}, stepStart("pesapal"), StatusReversed},
		{"start_attempt_on_open_past_deadline", []step{stepPassDeadline}, stepStart("pesapal"), StatusOpen},
		{"start_attempt_on_open_at_deadline", nil, atDeadline(stepStart("pesapal")), StatusOpen},
		{"start_attempt_on_pending_past_deadline", []step{stepStart("stk"), stepPassDeadline}, stepStart("pesapal"), StatusPending},
		{"expire_open_before_deadline", nil, stepExpire, StatusOpen},
		{"expire_pending_before_deadline", []step{stepStart("stk")}, stepExpire, StatusPending},
		{"expire_paid_after_deadline", []step{stepStart("stk"), stepSucceed, stepPassDeadline}, stepExpire, StatusPaid},
		{"expire_cancelled_after_deadline", []step{stepCancel, stepPassDeadline}, stepExpire, StatusCancelled},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s, clk := newTestEnv(t)
			f := &flow{s: s, clk: clk, co: newCheckout(t, s, nil)}
			runSteps(t, f, tt.setup)
			before := takeSnapshot(t, s, f.co.ID)
			if before.Checkout.Status != tt.wantStatus {
				t.Fatalf("set-up left the checkout %s, want %s", before.Checkout.Status, tt.wantStatus)
			}

			clk.Advance(time.Second)
			err := tt.op(t, f)
			if !errors.Is(err, ErrTransition) {
				t.Fatalf("err = %v, want ErrTransition", err)
			}
			assertFields(t, "after the refused operation", takeSnapshot(t, s, f.co.ID), before)
		})
	}
}

func TestCancelAndExpireOfUnknownCheckoutAreNotFound(t *testing.T) {
	s, clk := newTestEnv(t)
	clk.Advance(48 * time.Hour)
	for name, op := range map[string]func(context.Context, string, string) (*Checkout, error){
		"Cancel": s.Cancel, "Expire": s.Expire,
	} {
		t.Run(name, func(t *testing.T) {
			co, err := op(context.Background(), "chk_missing", "test")
			if !errors.Is(err, ErrNotFound) || co != nil {
				t.Errorf("%s = %v, %v; want nil, ErrNotFound", name, co, err)
			}
		})
	}
}

func TestCancelReturnsTheCancelledCheckoutAndKeepsPollingItsAttempts(t *testing.T) {
	s, clk := newTestEnv(t)
	co := newCheckout(t, s, nil)
	a := startAttempt(t, s, co.ID, "pokeapay", "stk", 20*time.Second)
	clk.Advance(5 * time.Second)

	got, err := s.Cancel(context.Background(), co.ID, "customer")
	if err != nil {
		t.Fatalf("Cancel: %v", err)
	}
	stored := loadCheckout(t, s, co.ID)
	if got.Status != StatusCancelled || stored.Status != StatusCancelled {
		t.Errorf("returned status %s, stored %s, want cancelled", got.Status, stored.Status)
	}
	if !got.UpdatedAt.Equal(clk.Now()) || !stored.UpdatedAt.Equal(clk.Now()) {
		t.Errorf("returned updated_at %s, stored %s, want %s", got.UpdatedAt, stored.UpdatedAt, clk.Now())
	}
	// A payment the provider completes after the cancel must still be found.
	att := loadAttempt(t, s, a.ID)
	if att.Status != AttemptPending || att.NextCheckAt == nil || !att.NextCheckAt.Equal(a.NextCheckAt.UTC()) {
		t.Errorf("attempt status %s next_check_at %v, want pending and still scheduled at %v", att.Status, att.NextCheckAt, a.NextCheckAt)
	}
	evs := eventsOf(t, s, co.ID, EventTransition)
	ev := evs[len(evs)-1]
	want := Event{ID: ev.ID, CheckoutID: co.ID, Kind: EventTransition, Source: "customer",
		FromStatus: "pending", ToStatus: "cancelled",
		Message: "the customer cancelled and returned to the merchant", CreatedAt: clk.Now()}
	assertFields(t, "cancel event", ev, want)
}
