package store

import (
	"context"
	"path/filepath"
	"testing"
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
	c, err := db.Conn(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
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
