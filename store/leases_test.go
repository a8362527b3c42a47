package store

import (
	"context"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"checkout/store/storetest"
)

// TestLeaseHasOneHolderAcrossProcessesUntilReleasedOrRunOut: two stores on
// one file stand for two processes. While one holds the lease the other is
// refused; a release by a holder that no longer holds it changes nothing;
// a lease whose holder died is taken over once its time runs out.
func TestLeaseHasOneHolderAcrossProcessesUntilReleasedOrRunOut(t *testing.T) {
	ctx := context.Background()
	clock := newFakeClock(t0)
	path := storetest.DSN(t)
	a, b := openTestStoreAt(t, path, clock.Now), openTestStoreAt(t, path, clock.Now)
	const name = "webhook-endpoint:x"
	until := func() time.Time { return clock.Now().Add(time.Minute) }

	take := func(s *Store, holder string) bool {
		t.Helper()
		ok, err := s.AcquireLease(ctx, name, holder, clock.Now(), until())
		if err != nil {
			t.Fatal(err)
		}
		return ok
	}
	if !take(a, "A") {
		t.Fatal("a free lease was refused")
	}
	if take(b, "B") {
		t.Fatal("B took a lease that A holds")
	}
	if !take(a, "A") {
		t.Fatal("A was refused the lease it holds")
	}
	// A release by someone else leaves A's lease in place.
	if err := b.ReleaseLease(ctx, name, "B"); err != nil {
		t.Fatal(err)
	}
	if take(b, "B") {
		t.Fatal("B took A's lease after releasing a lease it never held")
	}
	// A releases: B may take it.
	if err := a.ReleaseLease(ctx, name, "A"); err != nil {
		t.Fatal(err)
	}
	if !take(b, "B") {
		t.Fatal("B was refused a released lease")
	}
	// B dies holding it: refused until the minute has run out, to the
	// fraction of a second.
	clock.Advance(time.Minute - time.Millisecond)
	if take(a, "A") {
		t.Fatal("A took B's lease before it ran out")
	}
	clock.Advance(time.Millisecond)
	if !take(a, "A") {
		t.Fatal("A was refused a lease that ran out")
	}
	// B's late release does not free A's lease.
	if err := b.ReleaseLease(ctx, name, "B"); err != nil {
		t.Fatal(err)
	}
	if take(b, "B") {
		t.Fatal("B's late release freed A's lease")
	}
}

// TestLeaseAskedForByManyAtOnceHasOneHolder: of many holders in two
// processes asking at the same moment, exactly one gets the lease.
func TestLeaseAskedForByManyAtOnceHasOneHolder(t *testing.T) {
	ctx := context.Background()
	clock := newFakeClock(t0)
	path := storetest.DSN(t)
	stores := []*Store{openTestStoreAt(t, path, clock.Now), openTestStoreAt(t, path, clock.Now)}
	var won atomic.Int64
	var wg sync.WaitGroup
	start := make(chan struct{})
	for i := range 20 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			<-start
			ok, err := stores[i%2].AcquireLease(ctx, "one", "holder-"+string(rune('a'+i)), clock.Now(), clock.Now().Add(time.Minute))
			if err != nil {
				t.Error(err)
			}
			if ok {
				won.Add(1)
			}
		}()
	}
	close(start)
	wg.Wait()
	if won.Load() != 1 {
		t.Fatalf("%d holders got the lease, want 1", won.Load())
	}
}
