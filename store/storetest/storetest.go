// Package storetest gives each test a new, empty database to open the
// store on: a SQLite file in the test's temporary folder, or, when
// CHECKOUT_TEST_DB=postgres, a schema of its own on the PostgreSQL server
// named by CHECKOUT_TEST_POSTGRES, dropped when the test ends. The tests of
// store and of its callers use it, so one suite runs on both databases.
//
// It does not import store (store's own tests use it), so it hands out a
// DSN for store.Open rather than an open store.
package storetest

import (
	"context"
	"crypto/rand"
	"database/sql"
	"encoding/hex"
	"fmt"
	"net/url"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"

	_ "github.com/jackc/pgx/v5/stdlib" // the "pgx" database/sql driver
)

// Environment variables.
const (
	// EnvDB chooses the database: "postgres", or "" / "sqlite".
	EnvDB = "CHECKOUT_TEST_DB"
	// EnvPostgres is the PostgreSQL URL tests create their schemas in (a
	// role that may create schemas).
	EnvPostgres = "CHECKOUT_TEST_POSTGRES"
)

// Postgres reports whether this run's tests use PostgreSQL.
func Postgres() bool { return os.Getenv(EnvDB) == "postgres" }

// Dialect names the database this run's tests use: "postgres" or
// "sqlite".
func Dialect() string {
	if Postgres() {
		return "postgres"
	}
	return "sqlite"
}

// DSN returns the name of a new, empty database for t: a SQLite file in
// t.TempDir(), or a PostgreSQL URL whose search_path is a new schema,
// dropped (with everything in it) when t ends. Opening it twice stands for
// two app processes sharing one database.
//
// On PostgreSQL without CHECKOUT_TEST_POSTGRES the test is skipped, or
// fails under CI=true, where the PostgreSQL run must not pass unseen.
func DSN(t testing.TB) string {
	t.Helper()
	if !Postgres() {
		return filepath.Join(t.TempDir(), "checkout.db")
	}
	return PostgresDSN(t)
}

// PostgresDSN returns a PostgreSQL URL for a new schema of t's own,
// whatever CHECKOUT_TEST_DB says: for a test that is about PostgreSQL (the
// app started on it). Without CHECKOUT_TEST_POSTGRES it skips t, or fails
// it under CI=true.
func PostgresDSN(t testing.TB) string {
	t.Helper()
	base := os.Getenv(EnvPostgres)
	if base == "" {
		msg := "PostgreSQL tests need " + EnvPostgres + " (a postgres:// URL of a role that may create schemas)"
		if os.Getenv("CI") == "true" {
			t.Fatal(msg)
		}
		t.Skip(msg)
	}
	admin, err := adminDB(base)
	if err != nil {
		t.Fatalf("storetest: %v", err)
	}
	var b [8]byte
	_, _ = rand.Read(b[:])
	schema := "t_" + hex.EncodeToString(b[:])
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if _, err := admin.ExecContext(ctx, "CREATE SCHEMA "+schema); err != nil {
		t.Fatalf("storetest: create schema: %v", err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		if _, err := admin.ExecContext(ctx, "DROP SCHEMA "+schema+" CASCADE"); err != nil {
			t.Errorf("storetest: drop schema %s: %v", schema, err)
		}
	})
	u, err := url.Parse(base)
	if err != nil {
		t.Fatalf("storetest: %s is not a URL", EnvPostgres)
	}
	q := u.Query()
	q.Set("search_path", schema)
	u.RawQuery = q.Encode()
	return u.String()
}

// SQLiteOnly skips t on PostgreSQL, saying why: the test is about SQLite
// itself (its files, locks or pragmas).
func SQLiteOnly(t testing.TB, why string) {
	t.Helper()
	if Postgres() {
		t.Skip("SQLite only: " + why)
	}
}

var (
	adminOnce sync.Once
	admin     *sql.DB
	adminErr  error
)

// adminDB is one small pool per test binary for creating and dropping
// schemas.
func adminDB(dsn string) (*sql.DB, error) {
	adminOnce.Do(func() {
		admin, adminErr = sql.Open("pgx", dsn)
		if adminErr != nil {
			adminErr = fmt.Errorf("open %s: %w", EnvPostgres, adminErr)
			return
		}
		admin.SetMaxOpenConns(2)
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		if err := admin.PingContext(ctx); err != nil {
			adminErr = fmt.Errorf("connect to %s: %w", EnvPostgres, err)
		}
	})
	return admin, adminErr
}
