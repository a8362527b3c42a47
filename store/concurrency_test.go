package store

import (
	"context"
	"slices"
	"sync"
	"testing"
	"time"

	"checkout/store/storetest"
)

// TestConcurrentApplyResultPaysOnce applies the same confirmed success from
// 25 goroutines at once, as duplicate IPNs, callbacks and the reconciler
// would: the checkout is paid once and the other 24 change nothing.
func TestConcurrentApplyResultPaysOnce(t *testing.T) {
	s, clk := newTestEnv(t)
	co := newCheckout(t, s, nil)
	a := startAttempt(t, s, co.ID, "pokeapay", "stk", 20*time.Second)
	clk.Advance(10 * time.Second)
	r := succeeded(a, "CONC1")

	outcomes := applyAtOnce(t, []*Store{s}, 25, a.ID, r)

	assertPaidOnce(t, s, co.ID, outcomes, 25)
}

// TestConcurrentApplyResultFromTwoProcessesPaysOnce does the same through
// two Store instances on one database, as two app processes would.
func TestConcurrentApplyResultFromTwoProcessesPaysOnce(t *testing.T) {
	clk := newFakeClock(t0)
	path := storetest.DSN(t)
	s1 := openTestStoreAt(t, path, clk.Now)
	s2 := openTestStoreAt(t, path, clk.Now)
	if _, err := s1.EnsureMerchant(context.Background(), testMerchantID, "Test shop", testAPIKey); err != nil {
		t.Fatal(err)
	}
	co := newCheckout(t, s1, nil)
	a := startAttempt(t, s1, co.ID, "pokeapay", "stk", 20*time.Second)
	clk.Advance(10 * time.Second)

	outcomes := applyAtOnce(t, []*Store{s1, s2}, 10, a.ID, succeeded(a, "CONC2"))

	assertPaidOnce(t, s2, co.ID, outcomes, 20)
}

// applyAtOnce starts perStore goroutines on each store, releases them
// together and returns every outcome.
func applyAtOnce(t *testing.T, stores []*Store, perStore int, attemptID string, r Result) []Outcome {
	t.Helper()
	start := make(chan struct{})
	var (
		wg       sync.WaitGroup
		mu       sync.Mutex
		outcomes []Outcome
		errs     []error
	)
	for _, s := range stores {
		for range perStore {
			wg.Go(func() {
				<-start
				out, err := s.ApplyResult(context.Background(), attemptID, r)
				mu.Lock()
				defer mu.Unlock()
				if err != nil {
					errs = append(errs, err)
					return
				}
				outcomes = append(outcomes, out)
			})
		}
	}
	close(start)
	wg.Wait()
	for _, err := range errs {
		t.Errorf("ApplyResult: %v", err)
	}
	return outcomes
}

func assertPaidOnce(t *testing.T, s *Store, checkoutID string, outcomes []Outcome, calls int) {
	t.Helper()
	count := map[Outcome]int{}
	for _, o := range outcomes {
		count[o]++
	}
	if count[OutcomePaid] != 1 || count[OutcomeUnchanged] != calls-1 || len(outcomes) != calls {
		t.Errorf("outcomes = %v, want 1 paid and %d unchanged", count, calls-1)
	}
	if tr := transitionsOf(t, s, checkoutID); !slices.Equal(tr, []string{"open->pending", "pending->paid"}) {
		t.Errorf("transitions = %q, want exactly one to paid", tr)
	}
	if n := len(eventsOf(t, s, checkoutID, EventStatusQuery)); n != calls {
		t.Errorf("%d status_query events, want one per answer (%d)", n, calls)
	}
	if co := loadCheckout(t, s, checkoutID); co.Status != StatusPaid {
		t.Errorf("status = %s, want paid", co.Status)
	}
}

// TestTwoProcessesClaimingTheSameDueAttemptOnlyOneWins races ClaimAttempt
// from two Store instances on one file for each of several due attempts,
// each holding its own copy read by DueAttempts.
func TestTwoProcessesClaimingTheSameDueAttemptOnlyOneWins(t *testing.T) {
	clk := newFakeClock(t0)
	path := storetest.DSN(t)
	s1 := openTestStoreAt(t, path, clk.Now)
	s2 := openTestStoreAt(t, path, clk.Now)
	if _, err := s1.EnsureMerchant(context.Background(), testMerchantID, "Test shop", testAPIKey); err != nil {
		t.Fatal(err)
	}
	const attempts = 10
	for range attempts {
		co := newCheckout(t, s1, nil)
		startAttempt(t, s1, co.ID, "pokeapay", "stk", 20*time.Second)
	}
	clk.Advance(time.Minute)
	due1, err := s1.DueAttempts(context.Background(), clk.Now(), 100)
	if err != nil {
		t.Fatal(err)
	}
	due2, err := s2.DueAttempts(context.Background(), clk.Now(), 100)
	if err != nil {
		t.Fatal(err)
	}
	if len(due1) != attempts || len(due2) != attempts {
		t.Fatalf("due: %d and %d attempts, want %d each", len(due1), len(due2), attempts)
	}
	next := clk.Now().Add(2 * time.Minute)

	for i := range due1 {
		a1, a2 := &due1[i], &due2[i]
		if a1.ID != a2.ID {
			t.Fatalf("the two processes see different due attempts at %d: %s and %s", i, a1.ID, a2.ID)
		}
		start := make(chan struct{})
		var won [2]bool
		var errs [2]error
		var wg sync.WaitGroup
		for j, claim := range []func() (bool, error){
			func() (bool, error) { return s1.ClaimAttempt(context.Background(), a1, next) },
			func() (bool, error) { return s2.ClaimAttempt(context.Background(), a2, next) },
		} {
			wg.Go(func() {
				<-start
				won[j], errs[j] = claim()
			})
		}
		close(start)
		wg.Wait()
		if errs[0] != nil || errs[1] != nil {
			t.Fatalf("ClaimAttempt errors: %v, %v", errs[0], errs[1])
		}
		if won[0] == won[1] {
			t.Errorf("attempt %s: claims = %v, want exactly one to win", a1.ID, won)
		}
		stored := loadAttempt(t, s1, a1.ID)
		if stored.Checks != 1 || stored.NextCheckAt == nil || !stored.NextCheckAt.Equal(next) {
			t.Errorf("attempt %s: checks %d next_check_at %v, want 1 and %s", a1.ID, stored.Checks, stored.NextCheckAt, next)
		}
	}
}
