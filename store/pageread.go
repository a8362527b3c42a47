package store

// The checkout page's live read on SQLite, without database/sql. Every page
// view asks for a checkout's live columns; through database/sql and the
// mattn driver that one-row read costs some fifty cgo calls (each column's
// type, bytes and text, and, for every Rows, every column's name and
// declared type again) and about thirty allocations. Here it is one cgo
// call on a connection of our own, opened read-only on the same file: bind
// the id, step once, copy the row's text into a Go buffer, reset. The SQLite
// library is mattn's (the sqlite3_* symbols below are the ones its package
// compiles in), so the file is read by the same code, with the same locks,
// as through the read pool; a write committed by any process is seen by the
// next read.

/*
#include <stdlib.h>
#include <string.h>

typedef struct sqlite3 sqlite3;
typedef struct sqlite3_stmt sqlite3_stmt;

int sqlite3_open_v2(const char *filename, sqlite3 **ppDb, int flags, const char *zVfs);
int sqlite3_close_v2(sqlite3 *db);
int sqlite3_busy_timeout(sqlite3 *db, int ms);
int sqlite3_exec(sqlite3 *db, const char *sql, int (*callback)(void *, int, char **, char **), void *arg, char **errmsg);
int sqlite3_prepare_v3(sqlite3 *db, const char *zSql, int nByte, unsigned int prepFlags,
	sqlite3_stmt **ppStmt, const char **pzTail);
int sqlite3_finalize(sqlite3_stmt *st);
int sqlite3_bind_text(sqlite3_stmt *st, int i, const char *z, int n, void (*d)(void *));
int sqlite3_step(sqlite3_stmt *st);
int sqlite3_reset(sqlite3_stmt *st);
int sqlite3_clear_bindings(sqlite3_stmt *st);
int sqlite3_column_count(sqlite3_stmt *st);
int sqlite3_column_type(sqlite3_stmt *st, int i);
const unsigned char *sqlite3_column_text(sqlite3_stmt *st, int i);
int sqlite3_column_bytes(sqlite3_stmt *st, int i);
const char *sqlite3_errmsg(sqlite3 *db);
const char *sqlite3_errstr(int rc);
int sqlite3_extended_errcode(sqlite3 *db);

enum {
	pageOpenReadOnly = 0x00000001, // SQLITE_OPEN_READONLY
	pageOpenURI = 0x00000040,      // SQLITE_OPEN_URI
	pageOpenNoMutex = 0x00008000,  // SQLITE_OPEN_NOMUTEX: one goroutine at a time uses a connection
	pagePrepPersistent = 0x01,     // SQLITE_PREPARE_PERSISTENT
	pageRow = 100,                 // SQLITE_ROW
	pageDone = 101,                // SQLITE_DONE
	pageNull = 5,                  // SQLITE_NULL
	pageTooSmall = -1,
};

// page_read binds id, steps once and, when a row comes, copies every column
// as text into buf, column i ending at ends[i], its type in types[i] (the
// SQLite fundamental type; a NULL copies nothing). It resets the statement
// before returning, whatever happened: nothing of the row is referenced
// after it. It returns SQLITE_ROW, SQLITE_DONE (no row), an SQLite error
// code, or pageTooSmall with the size needed in *need.
static int page_read(sqlite3_stmt *st, const char *id, int idlen, char *buf, int cap,
		int *ends, int *types, int ncol, int *need) {
	// SQLITE_STATIC (0): id outlives the binding, which is cleared below.
	int rc = sqlite3_bind_text(st, 1, id, idlen, (void (*)(void *))0);
	if (rc == 0) {
		rc = sqlite3_step(st);
	}
	if (rc == pageRow) {
		int off = 0;
		for (int i = 0; i < ncol; i++) {
			int t = sqlite3_column_type(st, i);
			types[i] = t;
			if (t != pageNull) {
				const unsigned char *p = sqlite3_column_text(st, i);
				int n = sqlite3_column_bytes(st, i);
				if (off + n <= cap) {
					memcpy(buf + off, p, n);
				}
				off += n;
			}
			ends[i] = off;
		}
		if (off > cap) {
			*need = off;
			rc = pageTooSmall;
		}
	}
	int rrc = sqlite3_reset(st);
	sqlite3_clear_bindings(st);
	if (rc == pageRow || rc == pageDone || rc == pageTooSmall || rrc == 0) {
		return rc;
	}
	return rrc;
}
*/
import "C"

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strconv"
	"sync/atomic"
	"time"
	"unsafe"

	"github.com/mattn/go-sqlite3"
)

// pageReaders is how many connections the direct page read keeps open at
// most: as many as the read pool's.
const pageReaders = 4

// pageReader runs the live page query on connections of its own.
type pageReader struct {
	// path is the file as the read pool names it ("file:" + the store's
	// path + "?mode=ro"), so that both open the same file.
	path  string
	query string
	ncol  int
	// idle holds pageReaders slots: a connection, or nil for one not opened
	// yet. A read takes a slot and puts it back.
	idle   chan *pageConn
	closed atomic.Bool
}

type pageConn struct {
	db    *C.sqlite3
	stmt  *C.sqlite3_stmt
	buf   []byte
	ends  []C.int
	types []C.int
	// texts and kinds are the last row read: each column's text and its
	// type.
	texts []string
	kinds []sqlKind
}

// errPageReaderClosed is a read after Close.
var errPageReaderClosed = errors.New("store: page reader closed")

func newPageReader(file, query string, ncol int) *pageReader {
	r := &pageReader{path: "file:" + file + "?mode=ro", query: query, ncol: ncol, idle: make(chan *pageConn, pageReaders)}
	for range pageReaders {
		r.idle <- nil
	}
	return r
}

// read runs the query for id and hands the row's columns, as text, to scan:
// texts[i] is column i ("" for NULL), kinds[i] its SQLite type. The strings
// are the caller's to keep, the slices are not (scan runs before the
// connection is put back). No row is sql.ErrNoRows.
func (r *pageReader) read(ctx context.Context, id string, scan func(texts []string, kinds []sqlKind) error) error {
	var c *pageConn
	select {
	case c = <-r.idle:
	case <-ctx.Done():
		return ctx.Err()
	}
	// The slot goes back whatever happens below, a panic in scan
	// included: a lost slot would leave the pool one connection short.
	defer func() { r.idle <- c }()
	if r.closed.Load() {
		return errPageReaderClosed
	}
	if c == nil {
		var err error
		if c, err = r.open(); err != nil {
			return err // c is nil again: the slot stays free
		}
	}
	err := c.read(id, r.ncol)
	if err == nil {
		err = scan(c.texts, c.kinds)
	}
	return err
}

func (c *pageConn) read(id string, ncol int) error {
	for {
		var need C.int
		rc := C.page_read(c.stmt, (*C.char)(unsafe.Pointer(unsafe.StringData(id))), C.int(len(id)),
			(*C.char)(unsafe.Pointer(unsafe.SliceData(c.buf))), C.int(len(c.buf)),
			unsafe.SliceData(c.ends), unsafe.SliceData(c.types), C.int(ncol), &need)
		switch rc {
		case C.pageRow:
		case C.pageDone:
			return sql.ErrNoRows
		case C.pageTooSmall:
			c.buf = make([]byte, int(need)+256)
			continue
		default:
			return c.err(rc)
		}
		// One string for the whole row; the columns are slices of it.
		row := string(c.buf[:c.ends[ncol-1]])
		start := C.int(0)
		for i := range ncol {
			c.texts[i] = row[start:c.ends[i]]
			c.kinds[i] = sqlKind(c.types[i])
			start = c.ends[i]
		}
		return nil
	}
}

func (r *pageReader) open() (*pageConn, error) {
	path := C.CString(r.path)
	defer C.free(unsafe.Pointer(path))
	c := &pageConn{buf: make([]byte, 1024), ends: make([]C.int, r.ncol), types: make([]C.int, r.ncol),
		texts: make([]string, r.ncol), kinds: make([]sqlKind, r.ncol)}
	if rc := C.sqlite3_open_v2(path, &c.db, C.pageOpenReadOnly|C.pageOpenURI|C.pageOpenNoMutex, nil); rc != 0 {
		err := c.err(rc)
		if c.db != nil {
			C.sqlite3_close_v2(c.db)
		}
		return nil, fmt.Errorf("open %s: %w", r.path, err)
	}
	// The read pool's busy timeout: a read waits out a checkpoint's
	// moment of exclusive lock as it would there.
	C.sqlite3_busy_timeout(c.db, 5000)
	// The store's settings of every connection (sqliteconf.go).
	pragmas := C.CString(sqliteConnPragmas)
	defer C.free(unsafe.Pointer(pragmas))
	if rc := C.sqlite3_exec(c.db, pragmas, nil, nil, nil); rc != 0 {
		err := c.err(rc)
		C.sqlite3_close_v2(c.db)
		return nil, fmt.Errorf("open %s: %w", r.path, err)
	}
	q := C.CString(r.query)
	defer C.free(unsafe.Pointer(q))
	if rc := C.sqlite3_prepare_v3(c.db, q, -1, C.pagePrepPersistent, &c.stmt, nil); rc != 0 {
		err := c.err(rc)
		C.sqlite3_close_v2(c.db)
		return nil, fmt.Errorf("prepare: %w", err)
	}
	if n := int(C.sqlite3_column_count(c.stmt)); n != r.ncol {
		c.close()
		return nil, fmt.Errorf("prepare: %d columns, want %d", n, r.ncol)
	}
	return c, nil
}

func (c *pageConn) err(rc C.int) error {
	msg := C.GoString(C.sqlite3_errstr(rc))
	if c.db != nil {
		msg = C.GoString(C.sqlite3_errmsg(c.db))
	}
	return fmt.Errorf("sqlite: %s (%w)", msg, sqlite3.ErrNo(rc&0xff))
}

func (c *pageConn) close() {
	if c.stmt != nil {
		C.sqlite3_finalize(c.stmt)
	}
	C.sqlite3_close_v2(c.db)
}

// Close waits for the reads under way and closes every connection; later
// reads fail.
func (r *pageReader) Close() {
	if r.closed.Swap(true) {
		return
	}
	for range pageReaders {
		if c := <-r.idle; c != nil {
			c.close()
		}
	}
	for range pageReaders {
		r.idle <- nil
	}
}

// sqlKind is a value's fundamental type in SQLite.
type sqlKind int

const (
	sqlInteger sqlKind = 1
	sqlFloat   sqlKind = 2
	sqlText    sqlKind = 3
	sqlBlob    sqlKind = 4
	sqlNull    sqlKind = 5
)

// sqliteTime reads a DATETIME column's value as mattn/go-sqlite3 does: an
// integer is Unix seconds (milliseconds when 13 digits or more), text is
// tried against its formats in order, in UTC (the zero time when none
// fits).
func sqliteTime(text string, kind sqlKind) time.Time {
	if kind == sqlInteger {
		v, err := strconv.ParseInt(text, 10, 64)
		if err != nil {
			return time.Time{}
		}
		if v > 1e12 || v < -1e12 {
			return time.Unix(0, v*int64(time.Millisecond)).UTC()
		}
		return time.Unix(v, 0).UTC()
	}
	return parseSQLiteTime(text)
}

// parseSQLiteTime reads a time column's text as mattn/go-sqlite3 does
// (its formats, in order, in UTC; the zero time when none fits).
func parseSQLiteTime(s string) time.Time {
	for _, f := range sqlite3.SQLiteTimestampFormats {
		// mattn trims one trailing Z first.
		if t, err := time.ParseInLocation(f, trimZ(s), time.UTC); err == nil {
			return t
		}
	}
	return time.Time{}
}

func trimZ(s string) string {
	if len(s) > 0 && s[len(s)-1] == 'Z' {
		return s[:len(s)-1]
	}
	return s
}
