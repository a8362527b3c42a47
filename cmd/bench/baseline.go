package main

import (
	"database/sql"
	"fmt"
	"net"
	"net/http"
	"os"
	"strings"
	"time"

	"github.com/gin-gonic/gin"
	_ "github.com/mattn/go-sqlite3"

	"checkout/store"
)

// baselineCommand is the hidden subcommand that runs the bare Gin server.
const baselineCommand = "__baseline-gin"

// baselinePage is the constant page the baseline writes: 2.3 KB of HTML,
// about the size of the checkout page.
var baselinePage = func() []byte {
	var b strings.Builder
	b.WriteString(`<!DOCTYPE html><html lang="en"><head><meta charset="utf-8"><title>Pay Demo Shop</title>` +
		`<link rel="stylesheet" href="/static/app.css"></head><body><main>`)
	for i := 0; b.Len() < 2300-len("</main></body></html>")-64; i++ {
		fmt.Fprintf(&b, `<p class="line">Order line %d: two bags of coffee, KES 1,500.00</p>`, i)
	}
	for b.Len() < 2300-len("</main></body></html>") {
		b.WriteByte(' ')
	}
	b.WriteString("</main></body></html>")
	return []byte(b.String())
}()

// serveBaseline runs a bare Gin handler writing baselinePage on a free
// loopback port, and prints the address on its first line.
func serveBaseline() {
	gin.SetMode(gin.ReleaseMode)
	r := gin.New()
	r.GET("/", func(c *gin.Context) { c.Data(http.StatusOK, "text/html; charset=utf-8", baselinePage) })
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	fmt.Println(ln.Addr().String())
	srv := &http.Server{Handler: r, ReadHeaderTimeout: 10 * time.Second, IdleTimeout: 120 * time.Second}
	_ = srv.Serve(ln)
}

// sqliteWrites runs one-row write transactions on a fresh SQLite file for
// d and returns how many committed per second. The file is opened as
// store.Open opens its writer (store.SQLiteDSN: WAL, synchronous NORMAL,
// busy timeout, foreign keys, transactions begun IMMEDIATE, no per-call
// lock; store.SQLiteConnPragmas: the memory map), on one connection; this
// process imports the store, so SQLite's memory statistics are off here as
// in the app.
func sqliteWrites(path string, d time.Duration) (float64, error) {
	db, err := sql.Open("sqlite3", store.SQLiteDSN(path))
	if err != nil {
		return 0, err
	}
	defer db.Close()
	db.SetMaxOpenConns(1)
	if _, err := db.Exec(store.SQLiteConnPragmas()); err != nil {
		return 0, err
	}
	if _, err := db.Exec(`CREATE TABLE events (id INTEGER PRIMARY KEY, checkout_id TEXT NOT NULL, kind TEXT NOT NULL,
		payload TEXT NOT NULL, created_at DATETIME NOT NULL)`); err != nil {
		return 0, err
	}
	payload := strings.Repeat("x", 200)
	n := 0
	start := time.Now()
	for time.Since(start) < d {
		tx, err := db.Begin()
		if err != nil {
			return 0, err
		}
		if _, err := tx.Exec(`INSERT INTO events (checkout_id, kind, payload, created_at) VALUES (?, ?, ?, ?)`,
			fmt.Sprintf("co_%d", n), "notification", payload, time.Now().UTC()); err != nil {
			_ = tx.Rollback()
			return 0, err
		}
		if err := tx.Commit(); err != nil {
			return 0, err
		}
		n++
	}
	return float64(n) / time.Since(start).Seconds(), nil
}
