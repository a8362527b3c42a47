package store

import (
	"context"
	"errors"
	"path/filepath"
	"runtime"
	"slices"
	"strconv"
	"sync"
	"testing"
	"time"

	"gorm.io/gorm"
)

// groupEnv is a SQLite store (group commit is the SQLite writer's) with a
// table of its own, and the size and outcome of every group it commits.
type groupEnv struct {
	s      *Store
	mu     sync.Mutex
	groups []groupOutcome
}

type groupOutcome struct {
	members int
	err     error
}

func newGroupEnv(t *testing.T) *groupEnv {
	t.Helper()
	e := &groupEnv{s: openTestStoreAt(t, filepath.Join(t.TempDir(), "group.db"), time.Now)}
	// parent makes a COMMIT fail on demand: with foreign keys deferred, a
	// row naming a missing parent is refused only at COMMIT.
	if err := e.s.w.Exec(`CREATE TABLE grp (id TEXT PRIMARY KEY, parent TEXT REFERENCES grp (id))`).Error; err != nil {
		t.Fatal(err)
	}
	e.s.group.committed = func(n int, err error) {
		e.mu.Lock()
		e.groups = append(e.groups, groupOutcome{n, err})
		e.mu.Unlock()
	}
	return e
}

func (e *groupEnv) outcomes() []groupOutcome {
	e.mu.Lock()
	defer e.mu.Unlock()
	return slices.Clone(e.groups)
}

func insertRow(tx *gorm.DB, id string) error {
	return tx.Exec(`INSERT INTO grp (id) VALUES (?)`, id).Error
}

// rows lists the committed rows, read by the read pool.
func (e *groupEnv) rows(t *testing.T) []string {
	t.Helper()
	var ids []string
	if err := e.s.r.Raw(`SELECT id FROM grp ORDER BY id`).Scan(&ids).Error; err != nil {
		t.Fatal(err)
	}
	return ids
}

// lineUp runs hold as a transaction that keeps the writer busy until
// release is closed, then starts fns as transactions from goroutines of
// their own, one after the other, each once the previous one waits for the
// writer, so that they make the next group together, in their order. It returns their errors (and panics) once
// all have returned.
func (e *groupEnv) lineUp(t *testing.T, fns ...func(tx *gorm.DB) error) (errs []error, panics []any) {
	t.Helper()
	ctx := context.Background()
	held, release := make(chan struct{}), make(chan struct{})
	holdDone := make(chan error, 1)
	go func() {
		holdDone <- e.s.tx(ctx, func(tx *gorm.DB) error {
			close(held)
			<-release
			return nil
		})
	}()
	<-held
	errs, panics = make([]error, len(fns)), make([]any, len(fns))
	var wg sync.WaitGroup
	for i, fn := range fns {
		wg.Add(1)
		go func() {
			defer wg.Done()
			defer func() { panics[i] = recover() }()
			errs[i] = e.s.tx(ctx, fn)
		}()
		// The writer takes waiting transactions in their order of arrival.
		for e.s.group.waiting() < i+1 {
			runtime.Gosched()
		}
	}
	close(release)
	if err := <-holdDone; err != nil {
		t.Fatalf("holding transaction: %v", err)
	}
	wg.Wait()
	return errs, panics
}

// TestGroupedTransactionsCommitOnceAndAFailingMemberRollsBackAlone:
// transactions that wait for the writer share one COMMIT; each one's
// writes are seen by the next, as if it had committed first; one that
// fails and one that panics lose their own writes only (the panic is
// raised again in its caller) and the others are stored.
func TestGroupedTransactionsCommitOnceAndAFailingMemberRollsBackAlone(t *testing.T) {
	e := newGroupEnv(t)
	boom := errors.New("refused")
	var sawFirst bool
	errs, panics := e.lineUp(t,
		func(tx *gorm.DB) error { return insertRow(tx, "a") },
		func(tx *gorm.DB) error {
			if err := insertRow(tx, "b"); err != nil {
				return err
			}
			return boom
		},
		func(tx *gorm.DB) error {
			if err := insertRow(tx, "c"); err != nil {
				return err
			}
			panic("c went wrong")
		},
		func(tx *gorm.DB) error {
			var n int64
			if err := tx.Raw(`SELECT COUNT(*) FROM grp WHERE id = 'a'`).Scan(&n).Error; err != nil {
				return err
			}
			sawFirst = n == 1
			return insertRow(tx, "d")
		},
	)
	if errs[0] != nil || errs[3] != nil {
		t.Fatalf("errors of the members that succeeded: %v, %v", errs[0], errs[3])
	}
	if !errors.Is(errs[1], boom) {
		t.Fatalf("failing member: err = %v, want its own error", errs[1])
	}
	if panics[2] != "c went wrong" || panics[0] != nil || panics[1] != nil || panics[3] != nil {
		t.Fatalf("panics = %v, want the third member's only", panics)
	}
	if !sawFirst {
		t.Fatal("the last member did not see the first one's row")
	}
	if got, want := e.rows(t), []string{"a", "d"}; !slices.Equal(got, want) {
		t.Fatalf("rows = %v, want %v", got, want)
	}
	if got, want := e.outcomes(), []groupOutcome{{1, nil}, {4, nil}}; !slices.Equal(got, want) {
		t.Fatalf("groups = %v, want %v (the holder alone, then the four together)", got, want)
	}
}

// TestAFailedGroupCommitFailsEveryMemberAndStoresNothing: when the shared
// COMMIT fails, every member of the group returns the error, none of their
// writes is stored (nothing is reported done that was not committed), and
// the writer goes on with the next transaction.
func TestAFailedGroupCommitFailsEveryMemberAndStoresNothing(t *testing.T) {
	e := newGroupEnv(t)
	errs, _ := e.lineUp(t,
		func(tx *gorm.DB) error { return insertRow(tx, "a") },
		func(tx *gorm.DB) error {
			// Accepted now, refused at COMMIT.
			if err := tx.Exec(`PRAGMA defer_foreign_keys = ON`).Error; err != nil {
				return err
			}
			return tx.Exec(`INSERT INTO grp (id, parent) VALUES ('orphan', 'nobody')`).Error
		},
		func(tx *gorm.DB) error { return insertRow(tx, "c") },
	)
	for i, err := range errs {
		if err == nil {
			t.Errorf("member %d: no error, though the COMMIT failed", i)
		}
	}
	if got := e.rows(t); len(got) != 0 {
		t.Fatalf("rows = %v, want none", got)
	}
	gs := e.outcomes()
	if len(gs) != 2 || gs[1].members != 3 || gs[1].err == nil {
		t.Fatalf("groups = %v, want the holder, then the three failing together", gs)
	}
	if err := e.s.tx(context.Background(), func(tx *gorm.DB) error { return insertRow(tx, "after") }); err != nil {
		t.Fatalf("the next transaction: %v", err)
	}
	if got, want := e.rows(t), []string{"after"}; !slices.Equal(got, want) {
		t.Fatalf("rows = %v, want %v", got, want)
	}
}

// TestAnAbandonedGroupReportsNoMemberDone: when the group itself fails
// midway (here a member releases the group's savepoint, so the group's own
// RELEASE fails), the group is rolled back: the members that ran and those
// not run yet all return an error, and nothing is stored.
func TestAnAbandonedGroupReportsNoMemberDone(t *testing.T) {
	e := newGroupEnv(t)
	lastRan := false
	errs, _ := e.lineUp(t,
		func(tx *gorm.DB) error { return insertRow(tx, "a") },
		func(tx *gorm.DB) error {
			if err := insertRow(tx, "b"); err != nil {
				return err
			}
			return tx.Exec(`RELEASE member`).Error
		},
		func(tx *gorm.DB) error {
			lastRan = true
			return insertRow(tx, "c")
		},
	)
	for i, err := range errs {
		if err == nil {
			t.Errorf("member %d: no error, though its group was abandoned", i)
		}
	}
	if lastRan {
		t.Error("the member after the failure ran")
	}
	if got := e.rows(t); len(got) != 0 {
		t.Fatalf("rows = %v, want none", got)
	}
	if err := e.s.tx(context.Background(), func(tx *gorm.DB) error { return insertRow(tx, "after") }); err != nil {
		t.Fatalf("the next transaction: %v", err)
	}
}

// TestAGroupMemberRunsToItsEndOnceItsTurnCame: a caller whose context ends
// while it waits for the writer is not run; one whose context ends while
// its function runs finishes its writes, is committed and told so.
func TestAGroupMemberRunsToItsEndOnceItsTurnCame(t *testing.T) {
	e := newGroupEnv(t)
	gone, cancelGone := context.WithCancel(context.Background())
	cancelGone()
	if err := e.s.tx(gone, func(tx *gorm.DB) error { return insertRow(tx, "never") }); !errors.Is(err, context.Canceled) {
		t.Fatalf("cancelled before its turn: err = %v, want context.Canceled", err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	err := e.s.tx(ctx, func(tx *gorm.DB) error {
		if err := insertRow(tx, "a"); err != nil {
			return err
		}
		cancel()
		return insertRow(tx, "b")
	})
	if err != nil {
		t.Fatalf("cancelled during its turn: %v", err)
	}
	if got, want := e.rows(t), []string{"a", "b"}; !slices.Equal(got, want) {
		t.Fatalf("rows = %v, want %v", got, want)
	}
}

// TestConcurrentNotificationsGroupedPayEachCheckoutOnce: many verified
// notifications at once, three for each of many checkouts, through the
// grouped writer: each checkout is paid once, with one paid transition and
// one checkout.paid outbox row, and every call returns only what was
// committed (the outcomes count one "paid" per checkout).
func TestConcurrentNotificationsGroupedPayEachCheckoutOnce(t *testing.T) {
	ctx := context.Background()
	s := openTestStoreAt(t, filepath.Join(t.TempDir(), "group.db"), time.Now).WithWebhookPayload(recordingPayload)
	if _, err := s.EnsureMerchant(ctx, testMerchantID, "Test shop", testAPIKey); err != nil {
		t.Fatal(err)
	}
	if err := s.SetMerchantWebhook(ctx, testMerchantID, "https://shop.example/hooks", "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"); err != nil {
		t.Fatal(err)
	}
	var groups sync.Map // sizes seen
	s.group.committed = func(n int, err error) { groups.Store(n, true) }
	const checkouts, dup = 40, 3
	as := make([]*Attempt, checkouts)
	for i := range as {
		co := newCheckout(t, s, nil)
		as[i] = startAttempt(t, s, co.ID, "pesapal", "pesapal", time.Minute)
	}
	outs := make([]Outcome, checkouts*dup)
	errs := make([]error, checkouts*dup)
	var wg sync.WaitGroup
	for i := range outs {
		wg.Add(1)
		go func() {
			defer wg.Done()
			a := as[i%checkouts]
			outs[i], errs[i] = s.ApplyResult(ctx, a.ID, succeeded(a, "QK"+strconv.Itoa(i%checkouts)))
		}()
	}
	wg.Wait()
	paid := 0
	for i, out := range outs {
		if errs[i] != nil {
			t.Fatalf("ApplyResult: %v", errs[i])
		}
		if out == OutcomePaid {
			paid++
		}
	}
	if paid != checkouts {
		t.Fatalf("%d calls say paid, want %d", paid, checkouts)
	}
	for _, a := range as {
		if got := loadCheckout(t, s, a.CheckoutID).Status; got != StatusPaid {
			t.Fatalf("checkout %s is %s, want paid", a.CheckoutID, got)
		}
		if got := transitionsOf(t, s, a.CheckoutID); !slices.Equal(got, []string{"open->pending", "pending->paid"}) {
			t.Fatalf("transitions of %s = %v", a.CheckoutID, got)
		}
		if ds := deliveriesOf(t, s, a.CheckoutID); len(ds) != 1 || ds[0].EventType != WebhookCheckoutPaid {
			t.Fatalf("deliveries of %s = %+v, want one checkout.paid", a.CheckoutID, ds)
		}
	}
	grouped := false
	groups.Range(func(k, _ any) bool { grouped = grouped || k.(int) > 1; return true })
	t.Logf("grouped: %v", grouped)
}
