package store

import (
	"context"
	"database/sql"
	"path/filepath"
	"testing"

	"checkout/store/storetest"
)

// TestSQLiteConnectionsAreTuned: every connection the store opens on a
// SQLite file, the writer's and each of the read pool's, maps the file
// (sqliteMmapSize), and SQLite counts no memory statistics in this process.
func TestSQLiteConnectionsAreTuned(t *testing.T) {
	if storetest.Postgres() {
		t.Skip("SQLite's settings; this run is on PostgreSQL")
	}
	s := openTestStoreAt(t, filepath.Join(t.TempDir(), "tuned.db"), nil)
	ctx := context.Background()
	var n int64
	if err := s.w.WithContext(ctx).Raw("PRAGMA mmap_size").Scan(&n).Error; err != nil || n != sqliteMmapSize {
		t.Fatalf("writer: mmap_size %d (%v), want %d", n, err, sqliteMmapSize)
	}
	rdb, err := s.r.DB()
	if err != nil {
		t.Fatal(err)
	}
	// Every connection of the pool, each held while the next one opens.
	var held []*sql.Conn
	for i := range rdb.Stats().MaxOpenConnections {
		c, err := rdb.Conn(ctx)
		if err != nil {
			t.Fatal(err)
		}
		held = append(held, c)
		if err := c.QueryRowContext(ctx, "PRAGMA mmap_size").Scan(&n); err != nil || n != sqliteMmapSize {
			t.Fatalf("reader %d: mmap_size %d (%v), want %d", i, n, err, sqliteMmapSize)
		}
	}
	for _, c := range held {
		c.Close()
	}
	if len(held) < 2 {
		t.Fatalf("the read pool opened %d connections", len(held))
	}
	if _, err := s.Checkout(ctx, "chk_none"); err == nil {
		t.Fatal("a checkout that does not exist was found")
	}
	if used := sqliteMemoryCounted(); used != 0 {
		t.Fatalf("SQLite counts %d bytes in use: its memory statistics are on", used)
	}
}
