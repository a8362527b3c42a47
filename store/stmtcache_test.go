package store

import (
	"context"
	"database/sql"
	"path/filepath"
	"testing"
	"time"
)

// The writer's statement cache (SQLite only): a cached statement is reused
// across transactions, a query run again while its first rows are still
// open gets rows of its own, a multi-statement text still runs every
// statement, and a statement cached before a schema change sees the new
// schema.
func TestWriterStatementCache(t *testing.T) {
	ctx := context.Background()
	db := openCachingSQLite("file:" + filepath.Join(t.TempDir(), "cache.db") + "?_journal_mode=WAL&_txlock=immediate")
	defer db.Close()
	db.SetMaxOpenConns(1)

	if _, err := db.ExecContext(ctx, `CREATE TABLE t (id INTEGER PRIMARY KEY, v TEXT); CREATE TABLE u (id INTEGER)`); err != nil {
		t.Fatal(err)
	}
	if _, err := db.ExecContext(ctx, `INSERT INTO u (id) VALUES (1)`); err != nil {
		t.Fatal("the second statement of a multi-statement text did not run:", err)
	}
	for i := 1; i <= 3; i++ {
		tx, err := db.BeginTx(ctx, nil)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := tx.ExecContext(ctx, `INSERT INTO t (id, v) VALUES (?, ?)`, i, "x"); err != nil {
			t.Fatal(err)
		}
		if err := tx.Commit(); err != nil {
			t.Fatal(err)
		}
	}
	tx, err := db.BeginTx(ctx, nil)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := tx.ExecContext(ctx, `INSERT INTO t (id, v) VALUES (?, ?)`, 4, "rolled back"); err != nil {
		t.Fatal(err)
	}
	if err := tx.Rollback(); err != nil {
		t.Fatal(err)
	}

	const q = `SELECT id FROM t WHERE id >= ? ORDER BY id`
	var n int
	if err := db.QueryRowContext(ctx, `SELECT COUNT(*) FROM t`).Scan(&n); err != nil || n != 3 {
		t.Fatalf("%d rows (%v), want the 3 committed ones", n, err)
	}

	// Two result sets of one query text open at once on one connection.
	// (In a transaction: the cache serves transactions only.)
	c, err := db.BeginTx(ctx, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = c.Rollback() }()
	a, err := c.QueryContext(ctx, q, 1)
	if err != nil {
		t.Fatal(err)
	}
	if !a.Next() {
		t.Fatal("no first row")
	}
	var first int
	_ = a.Scan(&first)
	var count int
	if err := c.QueryRowContext(ctx, `SELECT COUNT(*) FROM (`+q+`)`, 2).Scan(&count); err != nil {
		t.Fatal(err)
	}
	b, err := c.QueryContext(ctx, q, 3)
	if err != nil {
		t.Fatal(err)
	}
	var bs []int
	for b.Next() {
		var id int
		_ = b.Scan(&id)
		bs = append(bs, id)
	}
	b.Close()
	as := []int{first}
	for a.Next() {
		var id int
		_ = a.Scan(&id)
		as = append(as, id)
	}
	a.Close()
	if len(as) != 3 || len(bs) != 1 || bs[0] != 3 || count != 2 {
		t.Fatalf("interleaved result sets: first %v, second %v, count %d; want [1 2 3], [3], 2", as, bs, count)
	}

	// A schema change after the statement was cached.
	if _, err := c.ExecContext(ctx, `ALTER TABLE t ADD COLUMN w TEXT NOT NULL DEFAULT 'w'`); err != nil {
		t.Fatal(err)
	}
	var cols []string
	rows, err := c.QueryContext(ctx, `SELECT * FROM t WHERE id = ?`, 1)
	if err != nil {
		t.Fatal(err)
	}
	cols, _ = rows.Columns()
	rows.Close()
	if _, err := c.ExecContext(ctx, `ALTER TABLE t ADD COLUMN z TEXT`); err != nil {
		t.Fatal(err)
	}
	rows, err = c.QueryContext(ctx, `SELECT * FROM t WHERE id = ?`, 1)
	if err != nil {
		t.Fatal(err)
	}
	cols2, _ := rows.Columns()
	rows.Close()
	if len(cols) != 3 || len(cols2) != 4 {
		t.Fatalf("columns before and after the schema change: %v, %v", cols, cols2)
	}
}

// Another process sharing the file (a newer build's migration during a
// rolling deploy) appends a column to checkouts between two paid checkouts:
// the second one's webhook is still written (the writer's cached
// "SELECT checkouts.*, merchants.webhook_url ..." does not read the new
// column as the webhook's address).
func TestWriterStatementCacheSeesSchemaChangeByAnotherProcess(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "shared.db")
	clk := newFakeClock(t0)
	a := openTestStoreAt(t, path, clk.Now).WithWebhookPayload(recordingPayload)
	if _, err := a.EnsureMerchant(ctx, testMerchantID, "Test shop", testAPIKey); err != nil {
		t.Fatal(err)
	}
	if err := a.SetMerchantWebhook(ctx, testMerchantID, "https://shop.example/hooks", "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"); err != nil {
		t.Fatal(err)
	}
	pay := func() string {
		co := newCheckout(t, a, nil)
		at := startAttempt(t, a, co.ID, "pesapal", "pesapal", time.Minute)
		if _, err := a.ApplyResult(ctx, at.ID, succeeded(at, "QK"+co.ID[len(co.ID)-4:])); err != nil {
			t.Fatal(err)
		}
		return co.ID
	}
	first := pay()
	if n := len(deliveriesOf(t, a, first)); n != 1 {
		t.Fatalf("first paid checkout: %d webhook deliveries, want 1", n)
	}
	other, err := sql.Open("sqlite3", "file:"+path+"?_busy_timeout=5000")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := other.Exec(`ALTER TABLE checkouts ADD COLUMN channel TEXT NOT NULL DEFAULT ''`); err != nil {
		t.Fatal(err)
	}
	if err := other.Close(); err != nil {
		t.Fatal(err)
	}
	second := pay()
	ds := deliveriesOf(t, a, second)
	if len(ds) != 1 {
		t.Fatalf("second paid checkout (after another process appended a column): %d webhook deliveries, want 1", len(ds))
	}
}

// A cached statement run with fewer or more arguments than its
// placeholders does what the driver does without the cache (too few: an
// error); it does not run with the previous call's values.
func TestWriterStatementCacheWrongArgumentCountAsWithout(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	db := openCachingSQLite("file:" + filepath.Join(dir, "args.db") + "?_txlock=immediate")
	defer db.Close()
	db.SetMaxOpenConns(1)
	if _, err := db.ExecContext(ctx, `CREATE TABLE t (id INTEGER PRIMARY KEY, v TEXT)`); err != nil {
		t.Fatal(err)
	}
	if _, err := db.ExecContext(ctx, `INSERT INTO t (id, v) VALUES (1, 'one'), (2, 'two')`); err != nil {
		t.Fatal(err)
	}
	direct, err := sql.Open("sqlite3", "file:"+filepath.Join(dir, "args.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer direct.Close()
	for _, inTx := range []bool{false, true} {
		if _, err := db.ExecContext(ctx, `UPDATE t SET v = 'one' WHERE id = 1`); err != nil {
			t.Fatal(err)
		}
		var q interface {
			QueryRowContext(context.Context, string, ...any) *sql.Row
			ExecContext(context.Context, string, ...any) (sql.Result, error)
		} = db
		var tx *sql.Tx
		if inTx {
			var err error
			if tx, err = db.BeginTx(ctx, nil); err != nil {
				t.Fatal(err)
			}
			q = tx
		}
		var v string
		if err := q.QueryRowContext(ctx, `SELECT v FROM t WHERE id = ?`, 1).Scan(&v); err != nil || v != "one" {
			t.Fatalf("in tx %v: %q, %v; want one", inTx, v, err)
		}
		v = ""
		if err := q.QueryRowContext(ctx, `SELECT v FROM t WHERE id = ?`).Scan(&v); err == nil {
			t.Fatalf("in tx %v: a query missing its argument read %q, want an error", inTx, v)
		}
		// An extra argument: as the driver does without the cache.
		var plain string
		plainErr := direct.QueryRowContext(ctx, `SELECT v FROM t WHERE id = ?`, 2, 3).Scan(&plain)
		v = ""
		err := q.QueryRowContext(ctx, `SELECT v FROM t WHERE id = ?`, 2, 3).Scan(&v)
		if v != plain || (err == nil) != (plainErr == nil) {
			t.Fatalf("in tx %v: a query with an extra argument read %q (%v); without the cache %q (%v)", inTx, v, err, plain, plainErr)
		}
		if _, err := q.ExecContext(ctx, `UPDATE t SET v = ? WHERE id = ?`, "x", 1); err != nil {
			t.Fatal(err)
		}
		if res, err := q.ExecContext(ctx, `UPDATE t SET v = ? WHERE id = ?`, "hijacked"); err == nil {
			n, _ := res.RowsAffected()
			t.Fatalf("in tx %v: an update missing an argument changed %d rows, want an error", inTx, n)
		}
		if err := q.QueryRowContext(ctx, `SELECT v FROM t WHERE id = ?`, 1).Scan(&v); err != nil || v != "x" {
			t.Fatalf("in tx %v: row 1 is %q (%v), want x", inTx, v, err)
		}
		if tx != nil {
			if err := tx.Commit(); err != nil {
				t.Fatal(err)
			}
		}
	}
}
