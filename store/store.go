// Package store owns the database: GORM models, versioned migrations, the
// queries the app needs, and the order state machine. Every status change of
// a checkout or payment attempt happens here, as one guarded write in a
// transaction together with the event that caused it.
//
// SQLite is the default database (WAL, busy_timeout, foreign keys, write
// transactions begun IMMEDIATE, one writer connection and a small read pool).
// The SQL is kept portable so that PostgreSQL can be added behind the same
// dialect switch.
package store

import (
	"context"
	"errors"
	"fmt"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"time"

	"gorm.io/driver/sqlite"
	"gorm.io/gorm"
	"gorm.io/gorm/logger"
)

// Sentinel errors; callers test them with errors.Is.
var (
	// ErrNotFound: no row with that key.
	ErrNotFound = errors.New("not found")
	// ErrDuplicate: a unique key (a merchant's reference, an email) is taken.
	ErrDuplicate = errors.New("already exists")
	// ErrTransition: the state machine does not allow the change.
	ErrTransition = errors.New("status change not allowed")
	// ErrConflict: the row changed under us; the caller may reload and retry.
	ErrConflict = errors.New("changed concurrently")
)

// Store wraps the database handles. It is safe for concurrent use.
type Store struct {
	// w is the single writer connection; r is a small pool for reads.
	w, r *gorm.DB
	now  func() time.Time
	// webhookPayload builds the body of a status change's webhook; nil
	// refuses a change that has one to write (WithWebhookPayload).
	webhookPayload WebhookPayloadFunc
}

// Options tune Open; the zero value is right for production.
type Options struct {
	// Now replaces the clock (tests).
	Now func() time.Time
	// Logger receives GORM's own logging; nil silences it.
	Logger logger.Interface
}

// Open opens (creating if needed) the database named by dsn, a SQLite file
// path, and runs the migrations.
func Open(ctx context.Context, dsn string, opt Options) (*Store, error) {
	if strings.HasPrefix(dsn, "postgres://") || strings.HasPrefix(dsn, "postgresql://") {
		return nil, fmt.Errorf("store: PostgreSQL is not supported yet; use a SQLite file path")
	}
	if dsn == "" {
		return nil, fmt.Errorf("store: empty database path")
	}
	if dir := filepath.Dir(dsn); dir != "." {
		if err := os.MkdirAll(dir, 0o750); err != nil {
			return nil, fmt.Errorf("store: create database folder: %w", err)
		}
	}
	now := opt.Now
	if now == nil {
		now = time.Now
	}
	lg := opt.Logger
	if lg == nil {
		lg = logger.Discard
	}
	cfg := func() *gorm.Config {
		return &gorm.Config{
			Logger:                 lg,
			NowFunc:                func() time.Time { return now().UTC() },
			SkipDefaultTransaction: true,
			TranslateError:         true,
		}
	}
	// mattn/go-sqlite3 reads these from the DSN and applies them to every
	// connection: WAL and the busy timeout let readers and the one writer work
	// side by side; _txlock=immediate takes the write lock at BEGIN, so two
	// transactions never deadlock upgrading a read lock.
	q := url.Values{}
	q.Set("_journal_mode", "WAL")
	q.Set("_busy_timeout", "5000")
	q.Set("_foreign_keys", "on")
	q.Set("_synchronous", "NORMAL")
	q.Set("_txlock", "immediate")
	// Turning on WAL takes a lock that the busy timeout does not wait for,
	// so several processes opening a new file at once retry here.
	var w *gorm.DB
	err := retryLocked(ctx, func() (err error) {
		w, err = gorm.Open(sqlite.Open("file:"+dsn+"?"+q.Encode()), cfg())
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("store: open %s: %w", dsn, err)
	}
	wdb, err := w.DB()
	if err != nil {
		return nil, fmt.Errorf("store: open %s: %w", dsn, err)
	}
	wdb.SetMaxOpenConns(1)
	wdb.SetMaxIdleConns(1)
	wdb.SetConnMaxLifetime(0)

	s := &Store{w: w, now: func() time.Time { return now().UTC() }}
	if err := retryLocked(ctx, func() error { return s.migrate(ctx) }); err != nil {
		_ = wdb.Close()
		return nil, err
	}

	q.Del("_txlock")
	q.Set("mode", "ro")
	r, err := gorm.Open(sqlite.Open("file:"+dsn+"?"+q.Encode()), prepared(cfg()))
	if err != nil {
		_ = wdb.Close()
		return nil, fmt.Errorf("store: open %s for reading: %w", dsn, err)
	}
	rdb, err := r.DB()
	if err != nil {
		_ = wdb.Close()
		return nil, fmt.Errorf("store: open %s for reading: %w", dsn, err)
	}
	rdb.SetMaxOpenConns(4)
	s.r = r
	return s, nil
}

// prepared turns on GORM's prepared statements, for the read pool: the same
// few queries run on every page view, and are parsed once per connection.
// Not for writes: GORM prepares a statement inside a transaction on that
// transaction, and database/sql prepares it again in every later one, which
// costs more than not preparing at all.
func prepared(c *gorm.Config) *gorm.Config {
	c.PrepareStmt = true
	return c
}

// Close closes both connection pools.
func (s *Store) Close() error {
	var errs []error
	for _, g := range []*gorm.DB{s.r, s.w} {
		if g == nil {
			continue
		}
		if db, err := g.DB(); err == nil {
			errs = append(errs, db.Close())
		}
	}
	return errors.Join(errs...)
}

// Ping checks that the database answers (readiness).
func (s *Store) Ping(ctx context.Context) error {
	var one int
	if err := s.r.WithContext(ctx).Raw("SELECT 1").Scan(&one).Error; err != nil {
		return fmt.Errorf("store: ping: %w", err)
	}
	return nil
}

// Now is the store's clock, in UTC.
func (s *Store) Now() time.Time { return s.now() }

// tx runs fn in a write transaction (BEGIN IMMEDIATE on SQLite).
func (s *Store) tx(ctx context.Context, fn func(tx *gorm.DB) error) error {
	return s.w.WithContext(ctx).Transaction(fn)
}

// retryLocked repeats fn while SQLite answers "database is locked", for up
// to about five seconds.
func retryLocked(ctx context.Context, fn func() error) error {
	var err error
	for i := 0; i < 50; i++ {
		if err = fn(); err == nil || !strings.Contains(err.Error(), "database is locked") {
			return err
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(time.Duration(10+i*5) * time.Millisecond):
		}
	}
	return err
}

func notFound(err error) bool { return errors.Is(err, gorm.ErrRecordNotFound) }

func duplicate(err error) bool {
	return errors.Is(err, gorm.ErrDuplicatedKey) ||
		(err != nil && strings.Contains(err.Error(), "UNIQUE constraint failed"))
}
