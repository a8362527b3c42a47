// Package store owns the database: GORM models, versioned migrations, the
// queries the app needs, and the order state machine. Every status change of
// a checkout or payment attempt happens here, as one guarded write in a
// transaction together with the event that caused it.
//
// SQLite is the default database (WAL, busy_timeout, foreign keys, write
// transactions begun IMMEDIATE, one writer connection and a small read pool).
// PostgreSQL (a postgres:// URL) runs the same migrations and queries through
// GORM's driver over pgx, with one pool for reads and writes; what differs
// between the two is behind the dialect switch (ddl in migrate.go, forUpdate,
// lockKey).
package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"net/url"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgtype"
	"github.com/jackc/pgx/v5/stdlib"
	"gorm.io/driver/postgres"
	"gorm.io/driver/sqlite"
	"gorm.io/gorm"
	"gorm.io/gorm/clause"
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
	// w is the single writer connection and r a small pool for reads on
	// SQLite; on PostgreSQL both are the same pool.
	w, r *gorm.DB
	now  func() time.Time
	// webhookPayload builds the body of a status change's webhook; nil
	// refuses a change that has one to write (WithWebhookPayload).
	webhookPayload WebhookPayloadFunc
	// transferPayloads builds the bodies of refund and payout webhooks
	// (WithTransferPayloads).
	transferPayloads TransferPayloads
	// receiptEmails queues a receipt email with each checkout that becomes
	// paid and has a customer email (WithReceiptEmails).
	receiptEmails bool
	// skipMigrations: Options.SkipMigrations.
	skipMigrations bool
	// group runs the write transactions on SQLite, several waiting ones
	// sharing a COMMIT (group.go); nil on PostgreSQL. Shared with the
	// copies WithWebhookPayload makes.
	group *groupWriter
	// page is CheckoutPage's statements, prepared on the read pool at
	// their first use, and what it remembers of checkouts; shared with the
	// copies WithWebhookPayload makes.
	page *pageQueries
	// search lowers the list's search bounds (tests); zero fields mean
	// SearchCap and NameScan.
	search searchLimits
}

// Options tune Open; the zero value is right for production.
type Options struct {
	// Now replaces the clock (tests).
	Now func() time.Time
	// Logger receives GORM's own logging; nil silences it.
	Logger logger.Interface
	// SkipMigrations opens the database as it is, for a tool that must
	// look at it before changing anything (checkout seed reads the mode
	// first). Queries may then meet tables that do not exist yet.
	SkipMigrations bool
}

// Open opens the database named by dsn and runs the migrations: a
// PostgreSQL URL (postgres:// or postgresql://), or else a SQLite file path,
// created with its folder when missing.
func Open(ctx context.Context, dsn string, opt Options) (*Store, error) {
	now := opt.Now
	if now == nil {
		now = time.Now
	}
	lg := opt.Logger
	if lg == nil {
		lg = logger.Discard
	}
	// Times are kept in UTC and to the microsecond, the most PostgreSQL
	// stores, so a time the store wrote reads back equal on either database.
	clock := func() time.Time { return now().UTC().Truncate(time.Microsecond) }
	cfg := func() *gorm.Config {
		return &gorm.Config{
			Logger:                 lg,
			NowFunc:                clock,
			SkipDefaultTransaction: true,
			TranslateError:         true,
		}
	}
	s := &Store{now: clock, skipMigrations: opt.SkipMigrations, page: newPageQueries()}
	if IsPostgres(dsn) {
		if err := s.openPostgres(ctx, dsn, cfg()); err != nil {
			return nil, err
		}
		return s, nil
	}
	if dsn == "" {
		return nil, fmt.Errorf("store: empty database path")
	}
	if err := s.openSQLite(ctx, dsn, cfg); err != nil {
		return nil, err
	}
	return s, nil
}

// IsPostgres reports whether dsn names a PostgreSQL database rather than a
// SQLite file.
func IsPostgres(dsn string) bool {
	return strings.HasPrefix(dsn, "postgres://") || strings.HasPrefix(dsn, "postgresql://")
}

func (s *Store) openSQLite(ctx context.Context, dsn string, cfg func() *gorm.Config) error {
	if dir := filepath.Dir(dsn); dir != "." {
		if err := os.MkdirAll(dir, 0o750); err != nil {
			return fmt.Errorf("store: create database folder: %w", err)
		}
	}
	// mattn/go-sqlite3 reads the settings from the DSN and applies them to
	// every connection (SQLiteDSN and sqliteReadParams, sqliteconf.go).
	// Turning on WAL takes a lock that the busy timeout does not wait for,
	// so several processes opening a new file at once retry here.
	// The writer's connection keeps its statements prepared (stmtcache.go).
	var w *gorm.DB
	var wdb *sql.DB
	err := retryLocked(ctx, func() (err error) {
		wdb = openCachingSQLite(SQLiteDSN(dsn))
		if w, err = gorm.Open(sqlite.New(sqlite.Config{Conn: wdb}), cfg()); err != nil {
			_ = wdb.Close()
		}
		return err
	})
	if err != nil {
		return fmt.Errorf("store: open %s: %w", dsn, err)
	}
	wdb.SetMaxOpenConns(1)
	wdb.SetMaxIdleConns(1)
	wdb.SetConnMaxLifetime(0)

	s.w = w
	s.group = newGroupWriter(w)
	closeW := func() {
		s.group.close()
		_ = wdb.Close()
	}
	if err := retryLocked(ctx, func() error { return s.migrateUnless(ctx) }); err != nil {
		closeW()
		return err
	}

	r, err := gorm.Open(sqlite.New(sqlite.Config{Conn: openReadingSQLite("file:" + dsn + "?" + sqliteReadParams().Encode())}),
		prepared(cfg()))
	if err != nil {
		closeW()
		return fmt.Errorf("store: open %s for reading: %w", dsn, err)
	}
	rdb, err := r.DB()
	if err != nil {
		closeW()
		return fmt.Errorf("store: open %s for reading: %w", dsn, err)
	}
	// As many idle as open: under load a connection returned beyond the
	// idle limit is closed and the next read opens (and prepares) afresh.
	rdb.SetMaxOpenConns(4)
	rdb.SetMaxIdleConns(4)
	s.r = r
	s.page.direct = newPageReader(dsn, checkoutLiveQuery+"?", liveColumns)
	return nil
}

// PostgreSQL pool: readers and writers share it (the server lets many
// writers in at once; the store's transactions lock what they depend on).
// Several app processes share one server, so each keeps a modest pool; the
// URL's pool_max_conns parameter (pgxpool's name for it) sets another size.
const (
	pgMaxOpenConns    = 10
	pgMaxIdleConns    = 5
	pgConnMaxIdleTime = 5 * time.Minute
	pgConnMaxLifetime = time.Hour
)

func (s *Store) openPostgres(ctx context.Context, dsn string, cfg *gorm.Config) error {
	// The error of a URL that does not parse may quote it, password
	// included: it is not passed on.
	invalid := errors.New("store: PostgreSQL URL is not valid")
	u, err := url.Parse(dsn)
	if err != nil {
		return invalid
	}
	maxOpen := pgMaxOpenConns
	q := u.Query()
	if v := q.Get("pool_max_conns"); v != "" {
		if maxOpen, err = strconv.Atoi(v); err != nil || maxOpen < 1 {
			return fmt.Errorf("store: pool_max_conns=%q in the PostgreSQL URL: want a whole number of at least 1", v)
		}
		q.Del("pool_max_conns") // the server would refuse it as a setting
		u.RawQuery = q.Encode()
	}
	cc, err := pgx.ParseConfig(u.String())
	if err != nil {
		return invalid
	}
	where := cc.Host + "/" + cc.Database
	// The session's time zone only shapes text output; timestamps are
	// TIMESTAMPTZ and read back in UTC (below) whatever it is.
	if _, ok := cc.RuntimeParams["timezone"]; !ok {
		cc.RuntimeParams["timezone"] = "UTC"
	}
	sqlDB := stdlib.OpenDB(*cc, stdlib.OptionAfterConnect(func(_ context.Context, c *pgx.Conn) error {
		c.TypeMap().RegisterType(&pgtype.Type{Name: "timestamptz", OID: pgtype.TimestamptzOID,
			Codec: &pgtype.TimestamptzCodec{ScanLocation: time.UTC}})
		return nil
	}))
	sqlDB.SetMaxOpenConns(maxOpen)
	sqlDB.SetMaxIdleConns(min(pgMaxIdleConns, maxOpen))
	sqlDB.SetConnMaxIdleTime(pgConnMaxIdleTime)
	sqlDB.SetConnMaxLifetime(pgConnMaxLifetime)
	db, err := gorm.Open(postgres.New(postgres.Config{Conn: sqlDB}), cfg)
	if err != nil {
		_ = sqlDB.Close()
		return fmt.Errorf("store: open PostgreSQL %s: %w", where, err)
	}
	if err := sqlDB.PingContext(ctx); err != nil {
		_ = sqlDB.Close()
		return fmt.Errorf("store: open PostgreSQL %s: %w", where, err)
	}
	s.w, s.r = db, db
	if err := s.migrateUnless(ctx); err != nil {
		_ = sqlDB.Close()
		return err
	}
	return nil
}

// postgres reports whether the store runs on PostgreSQL.
func (s *Store) postgres() bool { return isPostgres(s.w) }

func isPostgres(db *gorm.DB) bool { return db.Dialector.Name() == "postgres" }

// pointRead is the context of a read of one row by its key on the read
// pool. On SQLite it cannot be cancelled: such a read takes microseconds,
// and go-sqlite3 starts a goroutine for every row it fetches under a
// context that can be (a notification's reads ran two per request). The
// caller's values (request id) are kept. PostgreSQL keeps the caller's
// context: there a read waits on the network.
func (s *Store) pointRead(ctx context.Context) context.Context {
	if s.postgres() {
		return ctx
	}
	return context.WithoutCancel(ctx)
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

// migrateUnless runs the migrations unless Options.SkipMigrations.
func (s *Store) migrateUnless(ctx context.Context) error {
	if s.skipMigrations {
		return nil
	}
	return s.migrate(ctx)
}

// Close closes both connection pools.
func (s *Store) Close() error {
	if s.group != nil {
		s.group.close() // the group under way commits first
	}
	if s.page.direct != nil {
		s.page.direct.Close()
	}
	var errs []error
	for i, g := range []*gorm.DB{s.r, s.w} {
		if g == nil || (i == 1 && g == s.r) {
			continue // PostgreSQL: one pool for both
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

// tx runs fn in a write transaction: BEGIN IMMEDIATE on SQLite, which holds
// the database's one write lock, so what fn reads stays true until it
// commits. On PostgreSQL (READ COMMITTED) nothing is held by reading: a
// transaction that checks then writes locks what it depends on (lockCheckout,
// lockKey) or writes with a guard. A transaction PostgreSQL ends as a
// deadlock victim or a serialization failure is run again from the start.
// On SQLite, transactions waiting for the writer share one COMMIT, each in
// a savepoint of its own (group.go); tx returns once fn's writes are
// committed, or with an error and none of them stored.
func (s *Store) tx(ctx context.Context, fn func(tx *gorm.DB) error) error {
	if s.group != nil {
		return s.group.do(ctx, fn)
	}
	var err error
	for i := 0; i < 5; i++ {
		if err = s.w.WithContext(ctx).Transaction(fn); !retryable(err) {
			return err
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(time.Duration(i+1) * 5 * time.Millisecond):
		}
	}
	return err
}

// retryable: PostgreSQL rolled the transaction back so that another could
// go on (deadlock_detected, serialization_failure); running it again is
// safe.
func retryable(err error) bool {
	var pe *pgconn.PgError
	return errors.As(err, &pe) && (pe.Code == "40P01" || pe.Code == "40001")
}

// forUpdate makes the query lock the rows it reads until the transaction
// ends, on PostgreSQL (SELECT ... FOR UPDATE). SQLite needs nothing: the
// write transaction already holds the database.
func forUpdate(tx *gorm.DB) *gorm.DB {
	if isPostgres(tx) {
		return tx.Clauses(clause.Locking{Strength: clause.LockingStrengthUpdate})
	}
	return tx
}

// lockCheckout loads a checkout inside a write transaction and, on
// PostgreSQL, locks its row until the transaction ends: every transaction
// that reads a checkout (or its attempts) to decide what to write takes this
// lock first, so such transactions on one checkout run one after the other,
// as they do on SQLite. Attempts read after it are current.
func lockCheckout(tx *gorm.DB, id string) (*Checkout, error) {
	var co Checkout
	if err := forUpdate(tx).First(&co, "id = ?", id).Error; err != nil {
		if notFound(err) {
			return nil, fmt.Errorf("store: checkout %s: %w", id, ErrNotFound)
		}
		return nil, fmt.Errorf("store: load checkout %s: %w", id, err)
	}
	return &co, nil
}

// lockAttempt loads an attempt and its checkout inside a write transaction,
// the checkout locked as lockCheckout does. The attempt is read again once
// the lock is held, so it is what the previous holder committed.
//
// On SQLite the write transaction already holds the database, so both come
// in one query (attemptAndCheckout).
func lockAttempt(tx *gorm.DB, attemptID string) (*Checkout, *Attempt, error) {
	if !isPostgres(tx) {
		return attemptAndCheckout(tx, attemptID)
	}
	var a Attempt
	load := func() error {
		if err := tx.First(&a, "id = ?", attemptID).Error; err != nil {
			if notFound(err) {
				return fmt.Errorf("store: attempt %s: %w", attemptID, ErrNotFound)
			}
			return fmt.Errorf("store: load attempt %s: %w", attemptID, err)
		}
		return nil
	}
	if err := load(); err != nil {
		return nil, nil, err
	}
	co, err := lockCheckout(tx, a.CheckoutID)
	if err != nil {
		return nil, nil, err
	}
	if isPostgres(tx) {
		a = Attempt{}
		if err := load(); err != nil {
			return nil, nil, err
		}
	}
	return co, &a, nil
}

// attemptRowQuery selects an attempt and its checkout by the attempt's id,
// their columns as the models list them (modelColumns), the attempt's first.
var attemptRowQuery = sync.OnceValues(func() (attemptRowPlan, error) {
	ac, err := newModelColumns(&Attempt{})
	if err != nil {
		return attemptRowPlan{}, err
	}
	cc, err := newModelColumns(&Checkout{})
	if err != nil {
		return attemptRowPlan{}, err
	}
	var b strings.Builder
	b.WriteString("SELECT ")
	ac.list(&b, "attempts")
	b.WriteString(", ")
	cc.list(&b, "checkouts")
	b.WriteString(" FROM attempts JOIN checkouts ON checkouts.id = attempts.checkout_id WHERE attempts.id = ?")
	return attemptRowPlan{query: b.String(), attempt: ac, checkout: cc}, nil
})

type attemptRowPlan struct {
	query             string
	attempt, checkout *modelColumns
}

// attemptAndCheckout loads an attempt and its checkout in one query, scanned
// straight into the two structs (it runs in the writer's transaction of
// every notification, where GORM's Scan of ~45 columns cost more than the
// query).
func attemptAndCheckout(tx *gorm.DB, attemptID string) (*Checkout, *Attempt, error) {
	p, err := attemptRowQuery()
	if err != nil {
		return nil, nil, err
	}
	var a Attempt
	var co Checkout
	dests := make([]any, 0, len(p.attempt.names)+len(p.checkout.names))
	dests = p.checkout.dests(p.attempt.dests(dests, &a), &co)
	found, err := rawFirst(tx, dests, p.query, attemptID)
	if err != nil {
		return nil, nil, fmt.Errorf("store: load attempt %s: %w", attemptID, err)
	}
	if !found {
		return nil, nil, fmt.Errorf("store: attempt %s: %w", attemptID, ErrNotFound)
	}
	return &co, &a, nil
}

// lockKey serialises, on PostgreSQL, the transactions that check for a row
// that does not exist yet and then insert it (nothing to lock with FOR
// UPDATE): a transaction-scoped advisory lock on a hash of key, released at
// commit or rollback. Nothing on SQLite.
func lockKey(tx *gorm.DB, key string) error {
	if !isPostgres(tx) {
		return nil
	}
	if err := tx.Exec("SELECT pg_advisory_xact_lock(hashtextextended(?, 0))", key).Error; err != nil {
		return fmt.Errorf("store: lock %s: %w", key, err)
	}
	return nil
}

// retryLocked repeats fn while SQLite answers "database is locked", for up
// to about five seconds (SQLite only: PostgreSQL waits for locks itself).
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

// duplicate: a unique index refused the row (GORM's translation, or the
// drivers' own errors where it has none: SQLite's message, PostgreSQL's
// unique_violation).
func duplicate(err error) bool {
	if err == nil {
		return false
	}
	var pe *pgconn.PgError
	return errors.Is(err, gorm.ErrDuplicatedKey) || (errors.As(err, &pe) && pe.Code == "23505") ||
		strings.Contains(err.Error(), "UNIQUE constraint failed")
}
