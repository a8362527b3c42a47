package store

import (
	"context"
	"errors"
	"net/url"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"gorm.io/gorm"

	"checkout/store/storetest"
)

func TestMigrationStepsAreNumberedInOrder(t *testing.T) {
	// Versions only grow: a branch takes the number it is given and the
	// merge closes any gap (a released step is never renumbered).
	for i, m := range migrations {
		if i == 0 && m.version != 1 || i > 0 && m.version <= migrations[i-1].version {
			t.Errorf("migrations[%d] has version %d: versions start at 1 and grow; steps are appended, never reordered", i, m.version)
		}
		if m.name == "" || m.up == nil {
			t.Errorf("migration %d has no name or no up function", m.version)
		}
	}
}

type migrationRow struct {
	Version   int
	Name      string
	AppliedAt time.Time
}

func appliedMigrations(t *testing.T, db *gorm.DB) []migrationRow {
	t.Helper()
	var rows []migrationRow
	if err := db.Raw("SELECT version, name, applied_at FROM schema_migrations ORDER BY version").Scan(&rows).Error; err != nil {
		t.Fatalf("reading schema_migrations: %v", err)
	}
	return rows
}

func wantMigrations(at time.Time) []migrationRow {
	var want []migrationRow
	for _, m := range migrations {
		want = append(want, migrationRow{Version: m.version, Name: m.name, AppliedAt: at})
	}
	return want
}

func TestOpeningTwiceAppliesEachMigrationOnce(t *testing.T) {
	path := storetest.DSN(t)
	first := newFakeClock(t0)
	s1 := openTestStoreAt(t, path, first.Now)
	if _, err := s1.EnsureMerchant(context.Background(), testMerchantID, "Test shop", testAPIKey); err != nil {
		t.Fatal(err)
	}
	if err := s1.Close(); err != nil {
		t.Fatal(err)
	}

	// Opened again an hour later: had a step run twice, applied_at (or the
	// CREATE TABLE failing on an existing table) would tell.
	later := newFakeClock(t0.Add(time.Hour))
	s2 := openTestStoreAt(t, path, later.Now)
	s3 := openTestStoreAt(t, path, later.Now)

	assertFields(t, "schema_migrations", appliedMigrations(t, s3.w), wantMigrations(t0))
	if ok, err := s3.HasMerchant(context.Background(), testMerchantID); err != nil || !ok {
		t.Errorf("HasMerchant after reopening = %v, %v; want the data kept", ok, err)
	}
	if err := s2.Ping(context.Background()); err != nil {
		t.Errorf("Ping: %v", err)
	}
}

// Two processes starting at once on a new database both open it, and each
// step still runs once.
func TestOpeningConcurrentlyOnANewFileMigratesOnce(t *testing.T) {
	path := storetest.DSN(t)
	clk := newFakeClock(t0)
	start := make(chan struct{})
	var (
		wg     sync.WaitGroup
		mu     sync.Mutex
		stores []*Store
	)
	for range 4 {
		wg.Go(func() {
			<-start
			s, err := Open(context.Background(), path, Options{Now: clk.Now})
			if err != nil {
				t.Errorf("Open: %v", err)
				return
			}
			mu.Lock()
			stores = append(stores, s)
			mu.Unlock()
		})
	}
	close(start)
	wg.Wait()
	for _, s := range stores {
		t.Cleanup(func() {
			if err := s.Close(); err != nil {
				t.Errorf("Close: %v", err)
			}
		})
	}
	if len(stores) != 4 {
		t.Fatalf("%d of 4 opens succeeded", len(stores))
	}
	assertFields(t, "schema_migrations", appliedMigrations(t, stores[0].w), wantMigrations(t0))
}

func TestConnectionsHaveTheSQLiteSettingsOfTheDesign(t *testing.T) {
	storetest.SQLiteOnly(t, "SQLite's pragmas and its one-writer pool")
	s := openTestStore(t, nil)
	pragma := func(db *gorm.DB, name string) string {
		t.Helper()
		var v string
		if err := db.Raw("PRAGMA " + name).Scan(&v).Error; err != nil {
			t.Fatalf("PRAGMA %s: %v", name, err)
		}
		return v
	}
	tests := []struct {
		pragma string
		want   string
	}{
		{"journal_mode", "wal"},
		{"foreign_keys", "1"},
		{"busy_timeout", "5000"},
		{"synchronous", "1"}, // NORMAL: safe with WAL, no fsync per commit
	}
	for _, tt := range tests {
		t.Run("writer_"+tt.pragma, func(t *testing.T) {
			if got := pragma(s.w, tt.pragma); got != tt.want {
				t.Errorf("writer PRAGMA %s = %q, want %q", tt.pragma, got, tt.want)
			}
		})
		t.Run("reader_"+tt.pragma, func(t *testing.T) {
			if got := pragma(s.r, tt.pragma); got != tt.want {
				t.Errorf("reader PRAGMA %s = %q, want %q", tt.pragma, got, tt.want)
			}
		})
	}

	t.Run("one_writer_connection_and_a_small_read_pool", func(t *testing.T) {
		w, err := s.w.DB()
		if err != nil {
			t.Fatal(err)
		}
		r, err := s.r.DB()
		if err != nil {
			t.Fatal(err)
		}
		if got := w.Stats().MaxOpenConnections; got != 1 {
			t.Errorf("writer pool max open = %d, want 1", got)
		}
		if got := r.Stats().MaxOpenConnections; got != 4 {
			t.Errorf("reader pool max open = %d, want 4", got)
		}
	})

	t.Run("reader_refuses_writes", func(t *testing.T) {
		err := s.r.Exec("DELETE FROM merchants").Error
		if err == nil || !strings.Contains(err.Error(), "readonly") {
			t.Errorf("a write on the read pool gave %v, want a read-only error", err)
		}
	})

	t.Run("foreign_keys_are_enforced", func(t *testing.T) {
		co := &Checkout{ID: NewID("chk", t0), MerchantID: "m_missing", Reference: "x", Description: "x",
			Amount: 100, Currency: "KES", ExpiresAt: t0.Add(time.Hour)}
		err := s.CreateCheckout(context.Background(), co, "test")
		if !errors.Is(err, gorm.ErrForeignKeyViolated) {
			t.Errorf("CreateCheckout for an unknown merchant = %v, want a foreign key error", err)
		}
		if _, err := s.Checkout(context.Background(), co.ID); !errors.Is(err, ErrNotFound) {
			t.Errorf("Checkout after the failed insert = %v, want ErrNotFound", err)
		}
	})
}

func TestOpenRefusesWhatItCannotOpen(t *testing.T) {
	tests := []struct {
		name    string
		dsn     string
		wantErr string
	}{
		{"empty_path", "", "empty database path"},
		{"postgres_url_that_does_not_parse", "postgres://u:secret@localhost:notaport/checkout", "PostgreSQL URL is not valid"},
		{"postgres_pool_size_not_a_number", "postgres://u:secret@localhost/checkout?pool_max_conns=many", "pool_max_conns"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s, err := Open(context.Background(), tt.dsn, Options{})
			if err == nil || !strings.Contains(err.Error(), tt.wantErr) || s != nil {
				t.Errorf("Open(%q) = %v, %v; want nil and an error containing %q", tt.dsn, s, err, tt.wantErr)
			}
			if err != nil && strings.Contains(err.Error(), "secret") {
				t.Errorf("Open's error %q shows the URL's password", err)
			}
		})
	}
}

// Always on SQLite: a file path is a SQLite database whatever the run's
// database is.
func TestOpenCreatesTheDatabaseFolder(t *testing.T) {
	path := filepath.Join(t.TempDir(), "data", "nested", "checkout.db")
	s := openTestStoreAt(t, path, nil)
	if err := s.Ping(context.Background()); err != nil {
		t.Errorf("Ping: %v", err)
	}
}

func TestStoreClockIsUTC(t *testing.T) {
	nairobi := time.FixedZone("EAT", 3*60*60)
	s := openTestStore(t, func() time.Time { return t0.In(nairobi) })
	if got := s.Now(); got.Location() != time.UTC || !got.Equal(t0) {
		t.Errorf("Now() = %s, want %s in UTC", got, t0)
	}
}

// TestTimesReadBackInUTCAsWritten: whatever the session's time zone, a time
// the store wrote reads back as the same instant, in UTC.
func TestTimesReadBackInUTCAsWritten(t *testing.T) {
	s, _ := newTestEnv(t)
	co := newCheckout(t, s, nil)
	got := loadCheckout(t, s, co.ID)
	for name, pair := range map[string][2]time.Time{
		"created_at": {got.CreatedAt, co.CreatedAt},
		"expires_at": {got.ExpiresAt, co.ExpiresAt},
	} {
		if pair[0].Location() != time.UTC || !pair[0].Equal(pair[1]) {
			t.Errorf("%s read back as %s, want %s in UTC", name, pair[0], pair[1])
		}
	}
}

// TestPostgresReadsAndWritesShareOneBoundedPool: no single-writer limit on
// PostgreSQL, and a pool small enough for several processes on one server.
func TestPostgresReadsAndWritesShareOneBoundedPool(t *testing.T) {
	if !storetest.Postgres() {
		t.Skip("PostgreSQL only: SQLite's pools are TestConnectionsHaveTheSQLiteSettingsOfTheDesign's")
	}
	s := openTestStore(t, nil)
	if s.w != s.r {
		t.Errorf("reads and writes use two pools, want one")
	}
	db, err := s.w.DB()
	if err != nil {
		t.Fatal(err)
	}
	if got := db.Stats().MaxOpenConnections; got != pgMaxOpenConns || got < 2 {
		t.Errorf("pool max open = %d, want %d", got, pgMaxOpenConns)
	}
	if err := s.Close(); err != nil {
		t.Errorf("Close of the shared pool: %v", err)
	}

	u, err := url.Parse(storetest.DSN(t))
	if err != nil {
		t.Fatal(err)
	}
	q := u.Query()
	q.Set("pool_max_conns", "3")
	u.RawQuery = q.Encode()
	small := openTestStoreAt(t, u.String(), nil)
	if db, err := small.w.DB(); err != nil || db.Stats().MaxOpenConnections != 3 {
		t.Errorf("with pool_max_conns=3 the pool max open is %v (%v), want 3", db.Stats().MaxOpenConnections, err)
	}
}

// TestLockAttemptReadsTheAttemptAndCheckoutAsStored: the attempt and the
// checkout lockAttempt gives a write transaction (on SQLite from one joined
// query) are, field by field, what separate reads return: an attempt still
// pending (next check set) on a pending checkout, and a paid one (paid_at,
// receipt, customer details, metadata, payment link). An unknown attempt is
// ErrNotFound.
func TestLockAttemptReadsTheAttemptAndCheckoutAsStored(t *testing.T) {
	ctx := context.Background()
	s, clk := newTestEnv(t)
	s = s.WithWebhookPayload(recordingPayload)
	link := &PaymentLink{ID: NewID("plink", s.Now()), MerchantID: testMerchantID, Amount: testAmount, Currency: "KES",
		Description: "Maize", Active: true, CreatedBy: "api", CreatedAt: s.Now(), UpdatedAt: s.Now()}
	if err := s.w.Create(link).Error; err != nil {
		t.Fatal(err)
	}
	co := newCheckout(t, s, func(co *Checkout) {
		co.CustomerName, co.CustomerEmail, co.CustomerPhone = "Wanjiru Kamau", "wanjiru@example.com", "254712345678"
		co.SuccessURL, co.CancelURL, co.Metadata, co.Methods = "https://shop.example/ok", "https://shop.example/back", `{"order":"7"}`, "mpesa,card"
		co.PaymentLinkID = link.ID
	})
	a := startAttempt(t, s, co.ID, "pesapal", "pesapal", time.Minute)
	if err := s.AttemptStarted(ctx, a.ID, "track-1", "https://pay.example/1", "{}"); err != nil {
		t.Fatal(err)
	}
	check := func(t *testing.T) {
		t.Helper()
		var gotCo *Checkout
		var gotA *Attempt
		err := s.tx(ctx, func(tx *gorm.DB) (err error) {
			gotCo, gotA, err = lockAttempt(tx, a.ID)
			return err
		})
		if err != nil {
			t.Fatalf("lockAttempt: %v", err)
		}
		assertFields(t, "checkout", *gotCo, loadCheckout(t, s, co.ID))
		assertFields(t, "attempt", *gotA, loadAttempt(t, s, a.ID))
	}
	t.Run("pending", check)
	clk.Advance(time.Second)
	applyResult(t, s, a.ID, succeeded(a, "QK1"))
	t.Run("paid", check)

	err := s.tx(ctx, func(tx *gorm.DB) error { _, _, err := lockAttempt(tx, "att_unknown"); return err })
	if !errors.Is(err, ErrNotFound) {
		t.Fatalf("lockAttempt(unknown): err = %v, want ErrNotFound", err)
	}
}
