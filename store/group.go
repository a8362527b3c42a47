package store

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sync"

	"gorm.io/gorm"
)

// Group commit (SQLite). The writer is one connection, and most of a short
// write transaction's cost is its BEGIN and COMMIT: the commit writes every
// page the transaction dirtied to the WAL, and consecutive writes dirty the
// same pages (the newest rows' leaves and index pages). So the transactions
// that wait for the writer while one runs are run together, in one
// transaction, one after the other, each inside a SAVEPOINT:
//
//   - a member whose function fails (or panics) is rolled back to its
//     savepoint: only its own writes are undone, and it gets its own error;
//   - a member sees what the members before it wrote, as it would had they
//     committed first: the group is equivalent to running them in order;
//   - every member returns only once the shared COMMIT has succeeded, and
//     if the COMMIT fails, or the transaction is lost (SQLite rolls back a
//     whole transaction on some errors: stmtcache.go refuses any statement
//     after that), every member fails with that error and nothing of the
//     group is stored. Nothing is reported done that was not committed.
//
// A member's statements run without its context's cancellation: once its
// turn came, a write runs to its end (interrupting a statement can make
// SQLite roll back the whole transaction, the other members' work with it).
// A caller whose context ends before its turn is not run.
//
// Nothing waits to fill a group: a transaction that finds the writer idle
// runs at once, alone.

// maxGroup bounds how many transactions share one COMMIT.
const maxGroup = 64

// errClosed: the store was closed.
var errClosed = errors.New("store: closed")

type groupWriter struct {
	db *gorm.DB

	mu     sync.Mutex
	queue  []*groupReq // waiting for their turn, in order of arrival
	closed bool

	wake chan struct{} // one slot: the queue has something
	quit chan struct{}
	done chan struct{}
	once sync.Once
	// committed, when set (tests), is told each group's size and COMMIT
	// outcome.
	committed func(members int, err error)
}

type groupReq struct {
	ctx context.Context
	fn  func(tx *gorm.DB) error
	// Results, set before done is closed.
	err      error
	panicked bool
	panicVal any
	done     chan struct{}
}

func newGroupWriter(db *gorm.DB) *groupWriter {
	g := &groupWriter{db: db, wake: make(chan struct{}, 1), quit: make(chan struct{}), done: make(chan struct{})}
	go g.run()
	return g
}

// close stops the writer once its current group has ended; transactions
// still waiting, and later ones, fail with errClosed.
func (g *groupWriter) close() {
	g.once.Do(func() { close(g.quit) })
	<-g.done
}

// do runs fn as a member of the next group and returns its outcome once the
// group has committed (or failed). A panic in fn is raised again here.
func (g *groupWriter) do(ctx context.Context, fn func(tx *gorm.DB) error) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	r := &groupReq{ctx: ctx, fn: fn, done: make(chan struct{})}
	g.mu.Lock()
	if g.closed {
		g.mu.Unlock()
		return errClosed
	}
	g.queue = append(g.queue, r)
	g.mu.Unlock()
	select {
	case g.wake <- struct{}{}:
	default: // already told
	}
	select {
	case <-r.done:
	case <-ctx.Done():
		if g.withdraw(r) {
			return ctx.Err()
		}
		// Taken: fn may be committed, so the answer is awaited.
		<-r.done
	}
	if r.panicked {
		panic(r.panicVal)
	}
	return r.err
}

// withdraw takes r out of the queue if its turn has not come.
func (g *groupWriter) withdraw(r *groupReq) bool {
	g.mu.Lock()
	defer g.mu.Unlock()
	if i := slices.Index(g.queue, r); i >= 0 {
		g.queue = slices.Delete(g.queue, i, i+1)
		return true
	}
	return false
}

// waiting is how many transactions wait for their turn (tests).
func (g *groupWriter) waiting() int {
	g.mu.Lock()
	defer g.mu.Unlock()
	return len(g.queue)
}

// next takes the next group from the queue (empty when there is none).
func (g *groupWriter) next() []*groupReq {
	g.mu.Lock()
	defer g.mu.Unlock()
	n := min(len(g.queue), maxGroup)
	batch := g.queue[:n:n]
	if n == len(g.queue) {
		g.queue = nil
	} else {
		g.queue = slices.Clone(g.queue[n:])
	}
	return batch
}

func (g *groupWriter) run() {
	stopped := false
	defer func() {
		if stopped {
			close(g.done)
		} else {
			go g.run() // runtime.Goexit in a member: a writer goes on
		}
	}()
	for {
		select {
		case <-g.wake:
		case <-g.quit:
			g.mu.Lock()
			g.closed = true
			rest := g.queue
			g.queue = nil
			g.mu.Unlock()
			for _, r := range rest {
				r.err = errClosed
				close(r.done)
			}
			stopped = true
			return
		}
		for batch := g.next(); len(batch) > 0; batch = g.next() {
			g.commit(batch)
		}
	}
}

// commit runs batch in one transaction and answers every member.
func (g *groupWriter) commit(batch []*groupReq) {
	// fail answers every member that has no error of its own (those that
	// ran well, and those not run yet) with the group's.
	fail := func(err error) {
		for _, r := range batch {
			if r.err == nil || !r.panicked {
				// A member's own refusal may rest on an earlier
				// member's write, rolled back with the group.
				r.err = err
			}
		}
	}
	defer func() {
		for _, r := range batch {
			close(r.done)
		}
	}()
	var tx *gorm.DB
	finished := false
	defer func() {
		// A panic outside the members' functions (the driver, GORM) fails
		// the group; the writer goes on with the next one. So does
		// runtime.Goexit in a member (recover sees nothing, and the
		// group did not finish).
		v := recover()
		if v == nil && finished {
			return
		}
		if tx != nil {
			_ = tx.Rollback()
		}
		if v != nil {
			fail(fmt.Errorf("store: group commit: panic: %v", v))
		} else {
			fail(errors.New("store: a transaction's function ended its goroutine (runtime.Goexit)"))
		}
	}()
	g.commitGroup(batch, &tx, fail)
	finished = true
}

func (g *groupWriter) commitGroup(batch []*groupReq, txp **gorm.DB, fail func(error)) {
	var tx *gorm.DB

	tx = g.db.WithContext(context.Background()).Begin()
	*txp = tx
	if tx.Error != nil {
		fail(tx.Error)
		return
	}
	abort := func(err error) {
		_ = tx.Rollback()
		fail(err)
	}
	if len(batch) == 1 {
		// Alone: the transaction is its own, no savepoint needed.
		r := batch[0]
		if r.err = r.ctx.Err(); r.err == nil {
			r.err = runMember(tx.WithContext(context.WithoutCancel(r.ctx)), r)
		}
		if r.err != nil {
			_ = tx.Rollback()
			return
		}
	} else if err := runMembers(tx, batch); err != nil {
		abort(err)
		return
	}
	err := tx.Commit().Error
	if err != nil {
		abort(err)
	}
	if g.committed != nil {
		g.committed(len(batch), err)
	}
}

// runMembers runs each member of batch in a savepoint of tx, rolled back
// to when the member fails (its error is its own). An error of the
// savepoints themselves is returned: the group must be abandoned.
func runMembers(tx *gorm.DB, batch []*groupReq) error {
	// Straight to the transaction: three statements a member, too simple
	// for GORM's statement building.
	exec := func(q string) error {
		_, err := tx.Statement.ConnPool.ExecContext(tx.Statement.Context, q)
		return err
	}
	for _, r := range batch {
		if r.err = r.ctx.Err(); r.err != nil {
			continue // gone before its turn: not run
		}
		if err := exec("SAVEPOINT member"); err != nil {
			return err
		}
		r.err = runMember(tx.WithContext(context.WithoutCancel(r.ctx)), r)
		if r.err != nil {
			if err := exec("ROLLBACK TO member"); err != nil {
				return err
			}
		}
		if err := exec("RELEASE member"); err != nil {
			return err
		}
	}
	return nil
}

// runMember calls r.fn, turning a panic into an error (and noting it on r,
// for do to raise again in the caller's goroutine).
func runMember(tx *gorm.DB, r *groupReq) (err error) {
	defer func() {
		if v := recover(); v != nil {
			r.panicked, r.panicVal = true, v
			err = fmt.Errorf("store: panic in a transaction: %v", v)
		}
	}()
	return r.fn(tx)
}
