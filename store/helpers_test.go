package store

import (
	"context"
	"fmt"
	"reflect"
	"sync"
	"testing"
	"time"

	"checkout/store/storetest"
)

// t0 is where every fake clock starts. It has a fraction of a second on
// purpose: SQLite compares the stored timestamps as text, and fractions are
// where a text comparison would go wrong.
var t0 = time.Date(2025, 3, 14, 9, 30, 0, 250_000_000, time.UTC)

// fakeClock is a clock the test moves by hand.
type fakeClock struct {
	mu  sync.Mutex
	now time.Time
}

func newFakeClock(t time.Time) *fakeClock { return &fakeClock{now: t} }

func (c *fakeClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *fakeClock) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now = c.now.Add(d)
}

// openTestStore opens a store on a new database (storetest.DSN: a SQLite
// file in t.TempDir(), or a PostgreSQL schema with CHECKOUT_TEST_DB=postgres)
// and closes it when the test ends.
func openTestStore(t *testing.T, now func() time.Time) *Store {
	t.Helper()
	return openTestStoreAt(t, storetest.DSN(t), now)
}

// openTestStoreAt opens a store on the database path names (a storetest.DSN
// or a file path); two calls on one path stand for two processes sharing a
// database.
func openTestStoreAt(t *testing.T, path string, now func() time.Time) *Store {
	t.Helper()
	s, err := Open(context.Background(), path, Options{Now: now})
	if err != nil {
		t.Fatalf("Open(%s): %v", path, err)
	}
	t.Cleanup(func() {
		if err := s.Close(); err != nil {
			t.Errorf("Close: %v", err)
		}
	})
	return s
}

const (
	testMerchantID = "m_test"
	testAPIKey     = "sk_test_0123456789abcdef"
	testAmount     = int64(150_000) // KES 1,500.00
)

// newTestEnv opens a store with a fake clock and one merchant.
func newTestEnv(t *testing.T) (*Store, *fakeClock) {
	t.Helper()
	clk := newFakeClock(t0)
	s := openTestStore(t, clk.Now)
	if _, err := s.EnsureMerchant(context.Background(), testMerchantID, "Test shop", testAPIKey); err != nil {
		t.Fatalf("EnsureMerchant: %v", err)
	}
	return s, clk
}

// newCheckout creates an open checkout for KES 1,500.00 that expires 24 h
// from the store's clock; mod changes it before it is stored.
func newCheckout(t *testing.T, s *Store, mod func(*Checkout)) *Checkout {
	t.Helper()
	id := NewID("chk", s.Now())
	co := &Checkout{
		ID:          id,
		MerchantID:  testMerchantID,
		Reference:   "ord-" + id[len("chk_"):],
		Description: "Two bags of maize",
		Amount:      testAmount,
		Currency:    "KES",
		ExpiresAt:   s.Now().Add(24 * time.Hour),
	}
	if mod != nil {
		mod(co)
	}
	if err := s.CreateCheckout(context.Background(), co, "test"); err != nil {
		t.Fatalf("CreateCheckout: %v", err)
	}
	return co
}

// startAttempt starts an attempt on the checkout; firstCheck is when the
// reconciler first asks the provider.
func startAttempt(t *testing.T, s *Store, checkoutID, provider, method string, firstCheck time.Duration) *Attempt {
	t.Helper()
	a := &Attempt{ID: NewID("att", s.Now()), CheckoutID: checkoutID, Provider: provider, Method: method}
	if err := s.StartAttempt(context.Background(), a, firstCheck, "test"); err != nil {
		t.Fatalf("StartAttempt on %s: %v", checkoutID, err)
	}
	return a
}

// succeeded is the result a provider gives when the attempt was paid in
// full.
func succeeded(a *Attempt, receipt string) Result {
	return Result{
		Status: AttemptSucceeded, Amount: a.Amount, HasAmount: true, Currency: a.Currency,
		Reference: a.ID, ProviderReference: "prov-" + a.ID, Receipt: receipt, Method: a.Method,
		Source: "ipn:test", Payload: `{"status":"COMPLETED"}`,
	}
}

func failed(msg string) Result {
	return Result{Status: AttemptFailed, Message: msg, Source: "ipn:test", Payload: `{"status":"FAILED"}`}
}

func reversed(a *Attempt) Result {
	return Result{Reversed: true, Amount: a.Amount, HasAmount: true, Currency: a.Currency, Reference: a.ID,
		Source: "ipn:test", Payload: `{"status":"REVERSED"}`}
}

func applyResult(t *testing.T, s *Store, attemptID string, r Result) Outcome {
	t.Helper()
	out, err := s.ApplyResult(context.Background(), attemptID, r)
	if err != nil {
		t.Fatalf("ApplyResult(%s): %v", attemptID, err)
	}
	return out
}

func loadCheckout(t *testing.T, s *Store, id string) Checkout {
	t.Helper()
	co, err := s.Checkout(context.Background(), id)
	if err != nil {
		t.Fatalf("Checkout(%s): %v", id, err)
	}
	return *co
}

func loadAttempt(t *testing.T, s *Store, id string) Attempt {
	t.Helper()
	a, err := s.Attempt(context.Background(), id)
	if err != nil {
		t.Fatalf("Attempt(%s): %v", id, err)
	}
	return *a
}

// eventsOf returns the checkout's events of one kind, oldest first (all
// kinds when kind is "").
func eventsOf(t *testing.T, s *Store, checkoutID, kind string) []Event {
	t.Helper()
	all, err := s.Events(context.Background(), checkoutID)
	if err != nil {
		t.Fatalf("Events(%s): %v", checkoutID, err)
	}
	var out []Event
	for i := len(all) - 1; i >= 0; i-- {
		if kind == "" || all[i].Kind == kind {
			out = append(out, all[i])
		}
	}
	return out
}

// transitionsOf lists the checkout's status changes as "from->to", oldest
// first, read from its transition events.
func transitionsOf(t *testing.T, s *Store, checkoutID string) []string {
	t.Helper()
	var out []string
	for _, ev := range eventsOf(t, s, checkoutID, EventTransition) {
		out = append(out, ev.FromStatus+"->"+ev.ToStatus)
	}
	return out
}

// snapshot is everything the store holds about one checkout, to show that
// a refused operation changed nothing.
type snapshot struct {
	Checkout Checkout
	Attempts []Attempt
	Events   []Event
}

func takeSnapshot(t *testing.T, s *Store, checkoutID string) snapshot {
	t.Helper()
	as, err := s.Attempts(context.Background(), checkoutID)
	if err != nil {
		t.Fatalf("Attempts(%s): %v", checkoutID, err)
	}
	return snapshot{Checkout: loadCheckout(t, s, checkoutID), Attempts: as, Events: eventsOf(t, s, checkoutID, "")}
}

// assertFields fails the test for every field of got that differs from
// want; times are compared with Equal. Both must be the same struct type,
// so a field added later is compared too.
func assertFields(t *testing.T, what string, got, want any) {
	t.Helper()
	for _, d := range fieldDiffs(reflect.ValueOf(got), reflect.ValueOf(want), "") {
		t.Errorf("%s: %s", what, d)
	}
}

var timeReflectType = reflect.TypeFor[time.Time]()

func fieldDiffs(got, want reflect.Value, path string) []string {
	if got.Type() != want.Type() {
		return []string{fmt.Sprintf("%s: comparing %s with %s", path, got.Type(), want.Type())}
	}
	switch {
	case got.Type() == timeReflectType:
		g, w := got.Interface().(time.Time), want.Interface().(time.Time)
		if !g.Equal(w) {
			return []string{fmt.Sprintf("%s = %s, want %s", path, g.Format(time.RFC3339Nano), w.Format(time.RFC3339Nano))}
		}
		return nil
	case got.Kind() == reflect.Pointer:
		if got.IsNil() || want.IsNil() {
			if got.IsNil() != want.IsNil() {
				return []string{fmt.Sprintf("%s = %s, want %s", path, showPtr(got), showPtr(want))}
			}
			return nil
		}
		return fieldDiffs(got.Elem(), want.Elem(), path)
	case got.Kind() == reflect.Struct:
		var out []string
		for i := 0; i < got.NumField(); i++ {
			name := got.Type().Field(i).Name
			out = append(out, fieldDiffs(got.Field(i), want.Field(i), joinPath(path, name))...)
		}
		return out
	case got.Kind() == reflect.Slice:
		if got.Len() != want.Len() {
			return []string{fmt.Sprintf("%s has %d elements, want %d", path, got.Len(), want.Len())}
		}
		var out []string
		for i := 0; i < got.Len(); i++ {
			out = append(out, fieldDiffs(got.Index(i), want.Index(i), fmt.Sprintf("%s[%d]", path, i))...)
		}
		return out
	}
	if !reflect.DeepEqual(got.Interface(), want.Interface()) {
		return []string{fmt.Sprintf("%s = %#v, want %#v", path, got.Interface(), want.Interface())}
	}
	return nil
}

func joinPath(path, name string) string {
	if path == "" {
		return name
	}
	return path + "." + name
}

func showPtr(v reflect.Value) string {
	if v.IsNil() {
		return "nil"
	}
	if tm, ok := v.Elem().Interface().(time.Time); ok {
		return tm.Format(time.RFC3339Nano)
	}
	return fmt.Sprintf("%#v", v.Elem().Interface())
}

func ptr[T any](v T) *T { return &v }
