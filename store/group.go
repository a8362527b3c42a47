package store

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"

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
	db   *gorm.DB
	reqs chan *groupReq // unbuffered: a request is either taken or not sent
	quit chan struct{}
	done chan struct{}
	once sync.Once
	// waiting counts the callers not yet taken into a group (tests wait
	// on it to line transactions up).
	waiting atomic.Int64
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
	g := &groupWriter{db: db, reqs: make(chan *groupReq), quit: make(chan struct{}), done: make(chan struct{})}
	go g.run()
	return g
}

// close stops the writer once its current group has ended; later
// transactions fail with errClosed.
func (g *groupWriter) close() {
	g.once.Do(func() { close(g.quit) })
	<-g.done
}

// do runs fn as a member of the next group and returns its outcome once the
// group has committed (or failed). A panic in fn is raised again here.
func (g *groupWriter) do(ctx context.Context, fn func(tx *gorm.DB) error) error {
	r := &groupReq{ctx: ctx, fn: fn, done: make(chan struct{})}
	g.waiting.Add(1)
	select {
	case g.reqs <- r:
		g.waiting.Add(-1)
	case <-ctx.Done():
		g.waiting.Add(-1)
		return ctx.Err()
	case <-g.quit:
		g.waiting.Add(-1)
		return errClosed
	}
	// Taken: whatever the caller's context says now, fn may be committed,
	// so the answer is awaited.
	<-r.done
	if r.panicked {
		panic(r.panicVal)
	}
	return r.err
}

func (g *groupWriter) run() {
	defer close(g.done)
	for {
		var first *groupReq
		select {
		case first = <-g.reqs:
		case <-g.quit:
			return
		}
		batch := []*groupReq{first}
	gather:
		for len(batch) < maxGroup {
			select {
			case r := <-g.reqs:
				batch = append(batch, r)
			default:
				break gather
			}
		}
		g.commit(batch)
	}
}

// commit runs batch in one transaction and answers every member.
func (g *groupWriter) commit(batch []*groupReq) {
	// ok[i]: member i ran without error; it is answered with the group's
	// outcome.
	ok := make([]bool, len(batch))
	fail := func(err error) {
		for i, r := range batch {
			if ok[i] {
				r.err = err
			}
		}
	}
	defer func() {
		for _, r := range batch {
			close(r.done)
		}
	}()
	defer func() {
		// A panic outside the members' functions (the driver, GORM) fails
		// the group; the writer goes on with the next one.
		if v := recover(); v != nil {
			fail(fmt.Errorf("store: group commit: panic: %v", v))
		}
	}()

	tx := g.db.WithContext(context.Background()).Begin()
	if tx.Error != nil {
		for _, r := range batch {
			r.err = tx.Error
		}
		return
	}
	abort := func(err error) {
		_ = tx.Rollback()
		fail(err)
	}
	for i, r := range batch {
		if err := r.ctx.Err(); err != nil {
			r.err = err // gone before its turn: not run
			continue
		}
		if err := tx.Exec("SAVEPOINT member").Error; err != nil {
			r.err = err
			abort(err)
			return
		}
		err := runMember(tx.WithContext(context.WithoutCancel(r.ctx)), r)
		if err != nil {
			if rerr := tx.Exec("ROLLBACK TO member").Error; rerr != nil {
				abort(rerr)
				return
			}
			if !r.panicked {
				r.err = err
			}
		}
		if rerr := tx.Exec("RELEASE member").Error; rerr != nil {
			abort(rerr)
			return
		}
		ok[i] = err == nil
	}
	err := tx.Commit().Error
	if err != nil {
		abort(err)
	}
	if g.committed != nil {
		g.committed(len(batch), err)
	}
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
