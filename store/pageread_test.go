package store

import (
	"context"
	"database/sql"
	"errors"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"checkout/store/storetest"
)

// TestCheckoutPageShowsAnotherInstancesWrites: two stores on one database
// stand for two app processes. A checkout viewed through the first (its
// fixed fields remembered, its live ones read directly on SQLite) shows
// what the second wrote at the next view.
func TestCheckoutPageShowsAnotherInstancesWrites(t *testing.T) {
	dsn := storetest.DSN(t)
	clk := newFakeClock(t0)
	a := openTestStoreAt(t, dsn, clk.Now)
	if _, err := a.EnsureMerchant(context.Background(), testMerchantID, "Test shop", testAPIKey); err != nil {
		t.Fatal(err)
	}
	b := openTestStoreAt(t, dsn, clk.Now)
	ctx := context.Background()
	co := newCheckout(t, a, nil)
	for range 2 {
		p, err := a.CheckoutPage(ctx, co.ID)
		if err != nil {
			t.Fatalf("CheckoutPage: %v", err)
		}
		if p.Status != StatusOpen || p.PaidAt != nil {
			t.Fatalf("before: status %s, paid at %v", p.Status, p.PaidAt)
		}
	}
	paid := t0.Add(3 * time.Minute)
	if err := b.w.Model(&Checkout{}).Where("id = ?", co.ID).Updates(map[string]any{
		"status": StatusPaid, "method": "stk", "provider": "pokeapay", "receipt": "QK12ABC", "paid_at": paid,
	}).Error; err != nil {
		t.Fatal(err)
	}
	p, err := a.CheckoutPage(ctx, co.ID)
	if err != nil {
		t.Fatalf("CheckoutPage: %v", err)
	}
	assertFields(t, "page after the other instance's write", *p, CheckoutPage{Checkout: pageOf(t, loadCheckout(t, b, co.ID)),
		MerchantName: "Test shop"})
	if p.Status != StatusPaid || p.Receipt != "QK12ABC" || p.PaidAt == nil || !p.PaidAt.Equal(paid) {
		t.Errorf("page after the other instance's write: status %s, receipt %q, paid at %v", p.Status, p.Receipt, p.PaidAt)
	}
}

// TestCheckoutPageReadsALongRow: a row longer than the direct reader's
// buffer is read whole.
func TestCheckoutPageReadsALongRow(t *testing.T) {
	s, _ := newTestEnv(t)
	ctx := context.Background()
	co := newCheckout(t, s, nil)
	if _, err := s.CheckoutPage(ctx, co.ID); err != nil {
		t.Fatal(err)
	}
	long := strings.Repeat("the provider said no; ", 400) // ~9 KB
	if err := s.w.Model(&Checkout{}).Where("id = ?", co.ID).Update("message", long).Error; err != nil {
		t.Fatal(err)
	}
	for range 2 {
		p, err := s.CheckoutPage(ctx, co.ID)
		if err != nil {
			t.Fatalf("CheckoutPage: %v", err)
		}
		if p.Message != long || p.Status != StatusOpen || p.MerchantName != "Test shop" {
			t.Fatalf("message of %d bytes, want %d; status %s, merchant %q", len(p.Message), len(long), p.Status, p.MerchantName)
		}
	}
}

// openSQLiteStore is a store on a SQLite file, whatever CHECKOUT_TEST_DB
// says: for the direct reader, which only SQLite has.
func openSQLiteStore(t *testing.T) (*Store, string) {
	t.Helper()
	path := filepath.Join(t.TempDir(), "checkout.db")
	return openTestStoreAt(t, path, newFakeClock(t0).Now), path
}

// TestDirectReadTimesAreTheDriversTimes: a DATETIME value read by the
// direct reader is the time.Time mattn/go-sqlite3 gives through
// database/sql, for every form a value can take (text in its formats, with
// or without a zone or a Z, Unix seconds and milliseconds, text that is no
// time at all).
func TestDirectReadTimesAreTheDriversTimes(t *testing.T) {
	s, path := openSQLiteStore(t)
	values := map[string]any{
		"gorm":     "2025-03-14 09:30:00.25+00:00",
		"offset":   "2025-03-14 12:30:00.123456789+03:00",
		"t-zone":   "2025-03-14T09:30:00-05:00",
		"z":        "2025-03-14T09:30:00.5Z",
		"plain":    "2025-03-14 09:30:00",
		"minutes":  "2025-03-14 09:30",
		"day":      "2025-03-14",
		"junk":     "yesterday",
		"empty":    "",
		"seconds":  int64(1741944600),
		"millis":   int64(1741944600250),
		"negative": int64(-86400),
	}
	if err := s.w.Exec(`CREATE TABLE times (id TEXT PRIMARY KEY, v DATETIME)`).Error; err != nil {
		t.Fatal(err)
	}
	for id, v := range values {
		if err := s.w.Exec(`INSERT INTO times (id, v) VALUES (?, ?)`, id, v).Error; err != nil {
			t.Fatal(err)
		}
	}
	pool, err := s.r.DB()
	if err != nil {
		t.Fatal(err)
	}
	r := newPageReader(path, `SELECT v FROM times WHERE id = ?`, 1)
	defer r.Close()
	for id := range values {
		var want time.Time
		if err := pool.QueryRow(`SELECT v FROM times WHERE id = ?`, id).Scan(&want); err != nil {
			t.Fatalf("%s through the driver: %v", id, err)
		}
		var got time.Time
		if err := r.read(context.Background(), id, func(texts []string, kinds []sqlKind) error {
			got = sqliteTime(texts[0], kinds[0])
			return nil
		}); err != nil {
			t.Fatalf("%s directly: %v", id, err)
		}
		_, wantOff := want.Zone()
		_, gotOff := got.Zone()
		if !got.Equal(want) || gotOff != wantOff || got.Location().String() != want.Location().String() {
			t.Errorf("%s (%v): read %v, the driver reads %v", id, values[id], got, want)
		}
	}
}

// TestDirectReadRefusesANullText: a NULL where the page reads a string is
// an error, as database/sql's Scan into a string gives, not "".
func TestDirectReadRefusesANullText(t *testing.T) {
	texts := make([]string, liveColumns)
	kinds := make([]sqlKind, liveColumns)
	for i := range kinds {
		kinds[i] = sqlText
	}
	kinds[7] = sqlNull // paid_at may be NULL
	var p CheckoutPage
	if err := scanLive(texts, kinds, &p.Checkout, &p); err != nil || p.PaidAt != nil {
		t.Fatalf("NULL paid_at: %v, paid at %v", err, p.PaidAt)
	}
	kinds[2] = sqlNull
	if err := scanLive(texts, kinds, &p.Checkout, &p); err == nil {
		t.Fatal("a NULL provider read as a string")
	}
}

// TestDirectReaderNoRowAndClose: an unknown id is sql.ErrNoRows; after
// Close a read fails, and Close waits for a read under way.
func TestDirectReaderNoRowAndClose(t *testing.T) {
	s, path := openSQLiteStore(t)
	if _, err := s.EnsureMerchant(context.Background(), testMerchantID, "Test shop", testAPIKey); err != nil {
		t.Fatal(err)
	}
	co := newCheckout(t, s, nil)
	r := newPageReader(path, checkoutLiveQuery+"?", liveColumns)
	scan := func([]string, []sqlKind) error { return nil }
	if err := r.read(context.Background(), "chk_unknown", scan); !errors.Is(err, sql.ErrNoRows) {
		t.Fatalf("unknown id: %v, want sql.ErrNoRows", err)
	}
	inRead, release := make(chan struct{}), make(chan struct{})
	readDone := make(chan error, 1)
	go func() {
		readDone <- r.read(context.Background(), co.ID, func([]string, []sqlKind) error {
			close(inRead)
			<-release
			return nil
		})
	}()
	<-inRead
	closed := make(chan struct{})
	go func() {
		r.Close()
		close(closed)
	}()
	select {
	case <-closed:
		t.Fatal("Close returned while a read was under way")
	case err := <-readDone:
		t.Fatalf("read ended before it was released: %v", err)
	default:
	}
	close(release)
	if err := <-readDone; err != nil {
		t.Fatalf("read under way: %v", err)
	}
	<-closed
	if err := r.read(context.Background(), co.ID, scan); !errors.Is(err, errPageReaderClosed) {
		t.Fatalf("read after Close: %v, want errPageReaderClosed", err)
	}
}

// TestDirectReadsInParallel: many goroutines viewing pages at once share
// the reader's connections (run with -race), each getting its own
// checkout's row.
func TestDirectReadsInParallel(t *testing.T) {
	s, _ := newTestEnv(t)
	ctx := context.Background()
	var ids []string
	for i := range 8 {
		co := newCheckout(t, s, func(co *Checkout) { co.CustomerPhone = "25471100000" + string(rune('0'+i)) })
		ids = append(ids, co.ID)
	}
	var wg sync.WaitGroup
	for g := range 16 {
		wg.Go(func() {
			for i := range 50 {
				n := (g + i) % len(ids)
				p, err := s.CheckoutPage(ctx, ids[n])
				if err != nil {
					t.Errorf("CheckoutPage: %v", err)
					return
				}
				if want := "25471100000" + string(rune('0'+n)); p.ID != ids[n] || p.CustomerPhone != want {
					t.Errorf("page of %s: id %s, phone %s, want %s", ids[n], p.ID, p.CustomerPhone, want)
					return
				}
			}
		})
	}
	wg.Wait()
}
