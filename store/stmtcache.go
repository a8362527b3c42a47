package store

import (
	"context"
	"database/sql"
	"database/sql/driver"
	"errors"
	"fmt"
	"strings"

	"github.com/mattn/go-sqlite3"
)

// The SQLite writer keeps the statements it runs prepared for the life of
// its connection: every write transaction runs the same dozen statements
// (a paid notification: load, insert events, two guarded updates, the
// outbox), and parsing each one again cost about as much as running it.
// GORM's PrepareStmt cannot do it for writes: it prepares inside a
// transaction on that transaction, and database/sql prepares it again in
// every later one. The cache sits under database/sql instead, on the driver
// connection, so GORM and transactions see an ordinary connection.

// maxCachedStmts bounds a connection's cache; statements past it are
// prepared and closed as before (the cache is not emptied when full).
const maxCachedStmts = 256

// sqliteConnector opens go-sqlite3 connections with the store's settings
// (sqliteConnPragmas, and pragmas of its own), caching their statements when
// cache is set.
type sqliteConnector struct {
	dsn     string
	drv     *sqlite3.SQLiteDriver
	pragmas string
	cache   bool
}

func (c sqliteConnector) Connect(context.Context) (driver.Conn, error) {
	conn, err := c.drv.Open(c.dsn)
	if err != nil {
		return nil, err
	}
	sc := conn.(*sqlite3.SQLiteConn)
	if _, err := sc.Exec(c.pragmas, nil); err != nil {
		_ = sc.Close()
		return nil, err
	}
	if !c.cache {
		return sc, nil
	}
	return &cachingConn{SQLiteConn: sc, stmts: map[string]*cachedStmt{}}, nil
}

func (c sqliteConnector) Driver() driver.Driver { return c.drv }

// openCachingSQLite is sql.Open("sqlite3", dsn) for the writer: the store's
// connection settings and the statement cache. A grouped transaction's
// members each run in a savepoint, whose journal (the pages' content before
// the member changed them) would otherwise spill to a temporary file; the
// writer's temporary data stays in memory (a few pages a member).
func openCachingSQLite(dsn string) *sql.DB {
	return sql.OpenDB(sqliteConnector{dsn: dsn, drv: &sqlite3.SQLiteDriver{}, cache: true,
		pragmas: "PRAGMA temp_store = MEMORY; " + sqliteConnPragmas})
}

// openReadingSQLite is sql.Open("sqlite3", dsn) for the read pool, with the
// store's connection settings.
func openReadingSQLite(dsn string) *sql.DB {
	return sql.OpenDB(sqliteConnector{dsn: dsn, drv: &sqlite3.SQLiteDriver{}, pragmas: sqliteConnPragmas})
}

// cachingConn is a go-sqlite3 connection whose ExecContext and
// QueryContext reuse a statement prepared once per query text.
// database/sql calls a connection from one goroutine at a time (and closes
// rows under the same lock), so the cache needs no lock of its own.
type cachingConn struct {
	*sqlite3.SQLiteConn
	stmts map[string]*cachedStmt
	// inTx: a transaction is open; only then is the cache used (see
	// BeginTx).
	inTx bool
	// schema is the file's schema_version when the cache was last checked.
	schema int64
}

type cachedStmt struct {
	st *sqlite3.SQLiteStmt
	// busy: rows of this statement are still open; running it again would
	// reset them, so a second use meanwhile prepares a statement of its own.
	busy bool
	// orphan: dropped from the cache while busy; closed with its rows.
	orphan bool
}

// cacheable: one statement (the driver runs the rest of a multi-statement
// text only on its uncached path) that reads or writes rows; schema changes
// and transaction control are not worth keeping, nor are texts with an IN
// list (GORM writes one placeholder per value, so they would fill the cache
// with texts seldom run again).
func cacheable(query string) bool {
	q := strings.TrimSpace(query)
	if strings.Contains(strings.TrimRight(q, "; \t\r\n"), ";") || len(q) < 6 || strings.Contains(q, "IN (") {
		return false
	}
	switch strings.ToUpper(q[:6]) {
	case "SELECT", "INSERT", "UPDATE", "DELETE":
		return true
	}
	return false
}

// BeginTx begins a transaction and empties the cache when the schema has
// changed since the last one, by this connection or by another process
// sharing the file (a newer build's migration in a rolling deploy). The
// driver takes a cached statement's columns before SQLite prepares it again
// for a new schema, so "SELECT checkouts.*, merchants.webhook_url" would
// read an appended column as the webhook's address. The schema read after
// BEGIN holds until the transaction ends: the writer's transactions are
// IMMEDIATE (they hold the write lock, and no one else can change the
// schema), and a deferred one keeps the snapshot of its first read.
func (c *cachingConn) BeginTx(ctx context.Context, opts driver.TxOptions) (driver.Tx, error) {
	tx, err := c.SQLiteConn.BeginTx(ctx, opts)
	if err != nil {
		return nil, err
	}
	v, err := c.schemaVersion(ctx)
	if err != nil {
		_ = tx.Rollback()
		return nil, err
	}
	if v != c.schema {
		c.closeStmts()
		c.schema = v
	}
	c.inTx = true
	return &cachingTx{Tx: tx, c: c}, nil
}

func (c *cachingConn) schemaVersion(ctx context.Context) (int64, error) {
	rows, err := c.SQLiteConn.QueryContext(ctx, `PRAGMA schema_version`, nil)
	if err != nil {
		return 0, err
	}
	defer rows.Close()
	dest := make([]driver.Value, 1)
	if err := rows.Next(dest); err != nil {
		return 0, err
	}
	v, ok := dest[0].(int64)
	if !ok {
		return 0, fmt.Errorf("store: schema_version is %T", dest[0])
	}
	return v, nil
}

// cachingTx marks its connection out of the transaction when it ends.
type cachingTx struct {
	driver.Tx
	c *cachingConn
}

func (t *cachingTx) Commit() error {
	t.c.inTx = false
	return t.Tx.Commit()
}

func (t *cachingTx) Rollback() error {
	t.c.inTx = false
	return t.Tx.Rollback()
}

// stmt returns the cached statement for query, preparing it on first use,
// or nil when the query is not cached (run outside a transaction, where
// the schema may have changed unseen; a count of arguments other than the
// statement's placeholders, which the driver's uncached path refuses
// instead of binding the previous call's values; not cacheable; the cache
// full; or the statement busy).
func (c *cachingConn) stmt(ctx context.Context, query string, args []driver.NamedValue) (*cachedStmt, error) {
	if !c.inTx {
		if changesSchema(query) {
			c.closeStmts()
		}
		return nil, nil
	}
	if s, ok := c.stmts[query]; ok {
		if s.busy || len(args) != s.st.NumInput() {
			return nil, nil
		}
		return s, nil
	}
	if !cacheable(query) {
		if changesSchema(query) {
			// A statement prepared before reads the column count of
			// "SELECT *" before SQLite prepares it again: start afresh.
			c.closeStmts()
		}
		return nil, nil
	}
	if len(c.stmts) >= maxCachedStmts {
		return nil, nil
	}
	st, err := c.SQLiteConn.PrepareContext(ctx, query)
	if err != nil {
		return nil, err
	}
	s := &cachedStmt{st: st.(*sqlite3.SQLiteStmt)}
	c.stmts[query] = s
	if len(args) != s.st.NumInput() {
		return nil, nil
	}
	return s, nil
}

// errTxLost: SQLite rolled the open transaction back by itself (it does on
// some errors: disk full, I/O, an interrupt). The statements that follow
// would each commit on their own, outside the transaction the caller
// believes it is in, so they are refused until the transaction ends.
var errTxLost = errors.New("store: SQLite rolled the transaction back")

// lost: a transaction is open for database/sql, and SQLite no longer has
// one.
func (c *cachingConn) lost() bool { return c.inTx && c.SQLiteConn.AutoCommit() }

func (c *cachingConn) ExecContext(ctx context.Context, query string, args []driver.NamedValue) (driver.Result, error) {
	if c.lost() {
		return nil, errTxLost
	}
	s, err := c.stmt(ctx, query, args)
	if err != nil {
		return nil, err
	}
	if s == nil {
		return c.SQLiteConn.ExecContext(ctx, query, args)
	}
	return s.st.ExecContext(ctx, args)
}

func (c *cachingConn) QueryContext(ctx context.Context, query string, args []driver.NamedValue) (driver.Rows, error) {
	if c.lost() {
		return nil, errTxLost
	}
	s, err := c.stmt(ctx, query, args)
	if err != nil {
		return nil, err
	}
	if s == nil {
		return c.SQLiteConn.QueryContext(ctx, query, args)
	}
	rows, err := s.st.QueryContext(ctx, args)
	if err != nil {
		return nil, err
	}
	s.busy = true
	return &cachedRows{SQLiteRows: rows.(*sqlite3.SQLiteRows), s: s}, nil
}

// changesSchema: the text may change a table (migrations; several
// statements in one text are counted as such).
func changesSchema(query string) bool {
	q := strings.ToUpper(strings.TrimSpace(query))
	return strings.Contains(q, ";") || strings.HasPrefix(q, "CREATE") || strings.HasPrefix(q, "ALTER") ||
		strings.HasPrefix(q, "DROP")
}

// closeStmts empties the cache; a statement whose rows are still open is
// closed with them.
func (c *cachingConn) closeStmts() {
	for q, s := range c.stmts {
		if s.busy {
			s.orphan = true
		} else {
			_ = s.st.Close()
		}
		delete(c.stmts, q)
	}
}

// Close closes the cached statements, then the connection.
func (c *cachingConn) Close() error {
	c.closeStmts()
	return c.SQLiteConn.Close()
}

// cachedRows frees its statement for the next use when closed (the
// statement itself stays open). Embedding keeps the driver's optional
// column-type methods.
type cachedRows struct {
	*sqlite3.SQLiteRows
	s *cachedStmt
}

func (r *cachedRows) Close() error {
	err := r.SQLiteRows.Close()
	r.s.busy = false
	if r.s.orphan {
		_ = r.s.st.Close()
	}
	return err
}
