package store

// How the store opens SQLite: the file's settings (in the DSN, applied by
// mattn/go-sqlite3 to every connection), what each connection sets on
// opening, and one setting of the library itself.

/*
int sqlite3_config(int op, ...);
long long sqlite3_memory_used(void);

// SQLITE_CONFIG_MEMSTATUS (9) off. sqlite3_config is variadic, which cgo
// cannot call directly.
static int store_sqlite_memstatus_off(void) { return sqlite3_config(9, 0); }
*/
import "C"

import (
	"net/url"
	"strconv"
)

// SQLite's memory statistics are turned off before any connection opens
// (SQLite accepts the setting only then). With them on, every allocation
// SQLite makes takes one process-wide mutex to count it: under a flood of
// IPNs the writer and the readers queued on that lock. The app reads none of
// the statistics. Should SQLite have started already (a package opened a
// database in its own init), the call is refused and nothing changes.
func init() { C.store_sqlite_memstatus_off() }

// sqliteMmapSize is how much of the database file each connection reads
// through a memory map instead of read calls. In WAL mode a connection's
// page cache is emptied whenever another connection has committed, so under
// writes every read began by copying its pages in again, each with a
// system call and an allocation; mapped, a page not in the WAL is read in
// place. The mapping is the operating system's page cache, which the file's
// pages occupy either way: it is not memory of the process's own. Writes
// still go through the WAL.
const sqliteMmapSize = 256 << 20

// sqliteConnPragmas are run on every connection as it opens.
var sqliteConnPragmas = "PRAGMA mmap_size = " + strconv.Itoa(sqliteMmapSize)

// sqliteParams are the settings of SQLiteDSN. WAL and the busy timeout let
// readers and the one writer work side by side; _txlock=immediate takes the
// write lock at BEGIN, so two transactions never deadlock upgrading a read
// lock.
func sqliteParams() url.Values {
	q := url.Values{}
	q.Set("_journal_mode", "WAL")
	q.Set("_busy_timeout", "5000")
	q.Set("_foreign_keys", "on")
	q.Set("_synchronous", "NORMAL")
	q.Set("_txlock", "immediate")
	return q
}

// sqliteReadParams are the read pool's settings: SQLiteDSN's, read-only,
// and _mutex=no, without SQLite's own lock on every call (database/sql
// hands a connection to one goroutine at a time, and the pool runs only
// prepared statements, whose argument count database/sql checks before the
// driver sees them). The writer keeps the lock: a query it sends with too
// few arguments makes the driver leave a statement for the garbage
// collector to finalize from another goroutine, which only the lock makes
// safe; on its one connection the lock is never contended.
func sqliteReadParams() url.Values {
	q := sqliteParams()
	q.Del("_txlock")
	q.Set("mode", "ro")
	q.Set("_mutex", "no")
	return q
}

// SQLiteDSN is the data source name (for mattn/go-sqlite3) with which
// store.Open opens the SQLite file at path for writing. A tool that must
// open the file as the app does (the benchmark's baseline) opens this and
// runs SQLiteConnPragmas on its connection.
func SQLiteDSN(path string) string { return "file:" + path + "?" + sqliteParams().Encode() }

// SQLiteConnPragmas is what the store runs on every SQLite connection it
// opens.
func SQLiteConnPragmas() string { return sqliteConnPragmas }

// sqliteMemoryCounted is the memory SQLite reports in use: 0 while its
// statistics are off (the init above took effect).
func sqliteMemoryCounted() int64 { return int64(C.sqlite3_memory_used()) }
