package store

import (
	"context"
	"errors"
	"strings"
	"sync"
	"testing"
	"time"
)

const (
	hashA = "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
	hashB = "bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb"
)

func begin(t *testing.T, s *Store, merchantID, key, hash string) *IdempotencyClaim {
	t.Helper()
	c, err := s.BeginIdempotency(context.Background(), merchantID, key, hash)
	if err != nil {
		t.Fatalf("BeginIdempotency(%s, %s): %v", merchantID, key, err)
	}
	return c
}

func finish(t *testing.T, s *Store, c *IdempotencyClaim, status int, body string) {
	t.Helper()
	if err := s.FinishIdempotency(context.Background(), c, status, []byte(body)); err != nil {
		t.Fatalf("FinishIdempotency(%s): %v", c.Key, err)
	}
}

// assertClaim compares every field of the claim.
func assertClaim(t *testing.T, what string, got *IdempotencyClaim, want IdempotencyClaim) {
	t.Helper()
	assertFields(t, what, *got, want)
}

func idempotencyRows(t *testing.T, s *Store) []idempotencyKey {
	t.Helper()
	var rows []idempotencyKey
	if err := s.r.Order("id").Find(&rows).Error; err != nil {
		t.Fatal(err)
	}
	return rows
}

func TestIdempotencyFinishedKeyReplaysTheStoredAnswerByteForByte(t *testing.T) {
	s, _ := newTestEnv(t)
	c := begin(t, s, testMerchantID, "key-1", hashA)
	assertClaim(t, "first", c, IdempotencyClaim{MerchantID: testMerchantID, Key: "key-1", RequestHash: hashA, Result: IdempotencyStarted,
		LockedUntil: t0.Add(IdempotencyLock)})

	// Bytes a re-encoding would change: key order, spacing, escapes, non-ASCII.
	body := "{\"z\":1,  \"a\":\"\\u003cb\\u003e é \\u2028\"}\n"
	finish(t, s, c, 201, body)

	again := begin(t, s, testMerchantID, "key-1", hashA)
	assertClaim(t, "same body", again, IdempotencyClaim{MerchantID: testMerchantID, Key: "key-1", RequestHash: hashA, Result: IdempotencyReplay,
		ResponseStatus: 201, ResponseBody: []byte(body)})

	other := begin(t, s, testMerchantID, "key-1", hashB)
	assertClaim(t, "other body", other, IdempotencyClaim{MerchantID: testMerchantID, Key: "key-1", RequestHash: hashB, Result: IdempotencyMismatch})

	rows := idempotencyRows(t, s)
	if len(rows) != 1 {
		t.Fatalf("%d rows, want 1", len(rows))
	}
	assertFields(t, "row", rows[0], idempotencyKey{ID: rows[0].ID, MerchantID: testMerchantID, Key: "key-1", RequestHash: hashA,
		Status: idemDone, ResponseStatus: 201, ResponseBody: body, CreatedAt: t0, LockedUntil: t0.Add(IdempotencyLock)})
}

func TestIdempotencyRunningKeyIsInProgressOrMismatch(t *testing.T) {
	s, clk := newTestEnv(t)
	begin(t, s, testMerchantID, "key-1", hashA)
	clk.Advance(IdempotencyLock - time.Millisecond)

	same := begin(t, s, testMerchantID, "key-1", hashA)
	assertClaim(t, "same body", same, IdempotencyClaim{MerchantID: testMerchantID, Key: "key-1", RequestHash: hashA, Result: IdempotencyInProgress})
	other := begin(t, s, testMerchantID, "key-1", hashB)
	assertClaim(t, "other body", other, IdempotencyClaim{MerchantID: testMerchantID, Key: "key-1", RequestHash: hashB, Result: IdempotencyMismatch})

	if err := s.FinishIdempotency(context.Background(), same, 201, []byte("{}")); err == nil {
		t.Error("FinishIdempotency with an in-progress claim succeeded")
	}
	if err := s.AbandonIdempotency(context.Background(), same); err == nil {
		t.Error("AbandonIdempotency with an in-progress claim succeeded")
	}
}

func TestIdempotencyLapsedLockIsTakenOverBySameBodyOnly(t *testing.T) {
	s, clk := newTestEnv(t)
	ctx := context.Background()
	dead := begin(t, s, testMerchantID, "key-1", hashA)
	clk.Advance(IdempotencyLock)

	other := begin(t, s, testMerchantID, "key-1", hashB)
	assertClaim(t, "other body", other, IdempotencyClaim{MerchantID: testMerchantID, Key: "key-1", RequestHash: hashB, Result: IdempotencyMismatch})

	taken := begin(t, s, testMerchantID, "key-1", hashA)
	assertClaim(t, "same body", taken, IdempotencyClaim{MerchantID: testMerchantID, Key: "key-1", RequestHash: hashA, Result: IdempotencyStarted,
		TookOver: true, LockedUntil: clk.Now().Add(IdempotencyLock)})
	// The new hold runs for a full lock period again.
	clk.Advance(IdempotencyLock - time.Millisecond)
	if c := begin(t, s, testMerchantID, "key-1", hashA); c.Result != IdempotencyInProgress {
		t.Fatalf("during the new hold: %s, want in_progress", c.Result)
	}

	// The request that lost the key wakes up and gives up: the new hold
	// stays.
	if err := s.AbandonIdempotency(ctx, dead); err != nil {
		t.Fatal(err)
	}
	if rows := idempotencyRows(t, s); len(rows) != 1 || rows[0].Status != idemRunning {
		t.Fatalf("after the old holder abandoned: %+v", rows)
	}

	finish(t, s, taken, 201, `{"id":"chk_1"}`)
	// The old holder finishing late does not overwrite the stored answer.
	err := s.FinishIdempotency(ctx, dead, 500, []byte(`{"late":true}`))
	if !errors.Is(err, ErrConflict) {
		t.Fatalf("late finish: %v, want ErrConflict", err)
	}
	c := begin(t, s, testMerchantID, "key-1", hashA)
	assertClaim(t, "replay", c, IdempotencyClaim{MerchantID: testMerchantID, Key: "key-1", RequestHash: hashA, Result: IdempotencyReplay,
		ResponseStatus: 201, ResponseBody: []byte(`{"id":"chk_1"}`)})
}

// TestIdempotencyFinishByAHolderWhoseKeyWasTakenOverWritesNothing: the
// slow request answers after a retry took its key over, before the retry
// answers. It holds the key no longer, so it writes nothing and the
// retry's answer is the one stored.
func TestIdempotencyFinishByAHolderWhoseKeyWasTakenOverWritesNothing(t *testing.T) {
	s, clk := newTestEnv(t)
	ctx := context.Background()
	slow := begin(t, s, testMerchantID, "key-1", hashA)
	clk.Advance(IdempotencyLock)
	taken := begin(t, s, testMerchantID, "key-1", hashA)

	err := s.FinishIdempotency(ctx, slow, 201, []byte(`{"id":"chk_slow"}`))
	if !errors.Is(err, ErrConflict) {
		t.Fatalf("the slow request's finish: %v, want ErrConflict", err)
	}
	rows := idempotencyRows(t, s)
	if len(rows) != 1 {
		t.Fatalf("%d keys, want 1", len(rows))
	}
	assertFields(t, "key after the slow finish", rows[0], idempotencyKey{ID: rows[0].ID, MerchantID: testMerchantID, Key: "key-1",
		RequestHash: hashA, Status: idemRunning, CreatedAt: t0, LockedUntil: taken.LockedUntil})

	finish(t, s, taken, 201, `{"id":"chk_retry"}`)
	c := begin(t, s, testMerchantID, "key-1", hashA)
	assertClaim(t, "replay", c, IdempotencyClaim{MerchantID: testMerchantID, Key: "key-1", RequestHash: hashA, Result: IdempotencyReplay,
		ResponseStatus: 201, ResponseBody: []byte(`{"id":"chk_retry"}`)})
}

// TestIdempotencyHolderPastItsLockFinishesWhileNoOneTookOver: a lapsed lock
// only lets a retry take the key; until one does, the key is still the
// slow request's to answer.
func TestIdempotencyHolderPastItsLockFinishesWhileNoOneTookOver(t *testing.T) {
	s, clk := newTestEnv(t)
	slow := begin(t, s, testMerchantID, "key-1", hashA)
	clk.Advance(IdempotencyLock + time.Second)
	finish(t, s, slow, 201, `{"id":"chk_slow"}`)
	c := begin(t, s, testMerchantID, "key-1", hashA)
	assertClaim(t, "replay", c, IdempotencyClaim{MerchantID: testMerchantID, Key: "key-1", RequestHash: hashA, Result: IdempotencyReplay,
		ResponseStatus: 201, ResponseBody: []byte(`{"id":"chk_slow"}`)})
}

func TestIdempotencyAbandonedKeyStartsAgain(t *testing.T) {
	s, _ := newTestEnv(t)
	c := begin(t, s, testMerchantID, "key-1", hashA)
	if err := s.AbandonIdempotency(context.Background(), c); err != nil {
		t.Fatal(err)
	}
	if rows := idempotencyRows(t, s); len(rows) != 0 {
		t.Fatalf("%d rows after abandon, want 0", len(rows))
	}
	// Even with another body: an abandoned request left no answer to
	// protect.
	again := begin(t, s, testMerchantID, "key-1", hashB)
	assertClaim(t, "after abandon", again, IdempotencyClaim{MerchantID: testMerchantID, Key: "key-1", RequestHash: hashB, Result: IdempotencyStarted,
		LockedUntil: t0.Add(IdempotencyLock)})
	if err := s.FinishIdempotency(context.Background(), c, 201, []byte("{}")); !errors.Is(err, ErrConflict) {
		t.Fatalf("finishing the abandoned claim: %v, want ErrConflict", err)
	}
}

func TestIdempotencyFinishOfAMissingKeyIsNotFound(t *testing.T) {
	s, clk := newTestEnv(t)
	c := begin(t, s, testMerchantID, "key-1", hashA)
	clk.Advance(IdempotencyRetention + time.Second)
	if _, err := s.PruneIdempotencyKeys(context.Background(), IdempotencyRetention); err != nil {
		t.Fatal(err)
	}
	if err := s.FinishIdempotency(context.Background(), c, 201, []byte("{}")); !errors.Is(err, ErrNotFound) {
		t.Fatalf("FinishIdempotency: %v, want ErrNotFound", err)
	}
}

func TestIdempotencyKeysAreScopedToTheMerchant(t *testing.T) {
	s, _ := newTestEnv(t)
	if _, err := s.EnsureMerchant(context.Background(), "m_other", "Other shop", "sk_other_0123456789"); err != nil {
		t.Fatal(err)
	}
	finish(t, s, begin(t, s, testMerchantID, "shared", hashA), 201, `{"id":"chk_1"}`)
	c := begin(t, s, "m_other", "shared", hashB)
	assertClaim(t, "other merchant", c, IdempotencyClaim{MerchantID: "m_other", Key: "shared", RequestHash: hashB, Result: IdempotencyStarted,
		LockedUntil: t0.Add(IdempotencyLock)})
	finish(t, s, c, 201, `{"id":"chk_2"}`)
	if c := begin(t, s, testMerchantID, "shared", hashA); string(c.ResponseBody) != `{"id":"chk_1"}` {
		t.Fatalf("first merchant's replay: %s %q", c.Result, c.ResponseBody)
	}
}

func TestIdempotencyKeysAreKeptADayThenPruned(t *testing.T) {
	s, clk := newTestEnv(t)
	ctx := context.Background()
	finish(t, s, begin(t, s, testMerchantID, "old", hashA), 201, `{"id":"chk_old"}`)
	clk.Advance(12 * time.Hour)
	finish(t, s, begin(t, s, testMerchantID, "young", hashA), 201, `{"id":"chk_young"}`)

	clk.Advance(12 * time.Hour)
	if n, err := s.PruneIdempotencyKeys(ctx, IdempotencyRetention); err != nil || n != 0 {
		t.Fatalf("prune at exactly 24 h: %d, %v; want 0 (kept at least 24 h)", n, err)
	}
	if c := begin(t, s, testMerchantID, "old", hashB); c.Result != IdempotencyMismatch {
		t.Fatalf("old key at 24 h: %s, want mismatch", c.Result)
	}

	clk.Advance(time.Second)
	n, err := s.PruneIdempotencyKeys(ctx, IdempotencyRetention)
	if err != nil || n != 1 {
		t.Fatalf("prune after 24 h: %d, %v; want 1", n, err)
	}
	rows := idempotencyRows(t, s)
	if len(rows) != 1 || rows[0].Key != "young" {
		t.Fatalf("rows after prune: %+v", rows)
	}
	c := begin(t, s, testMerchantID, "old", hashB)
	assertClaim(t, "pruned key reused", c, IdempotencyClaim{MerchantID: testMerchantID, Key: "old", RequestHash: hashB, Result: IdempotencyStarted,
		LockedUntil: clk.Now().Add(IdempotencyLock)})

	if _, err := s.PruneIdempotencyKeys(ctx, time.Hour); err == nil {
		t.Fatal("pruning keys younger than 24 h was allowed")
	}
}

func TestIdempotencyBeginTreatsExpiredKeysAsNew(t *testing.T) {
	s, clk := newTestEnv(t)
	finish(t, s, begin(t, s, testMerchantID, "key-1", hashA), 201, `{"id":"chk_1"}`)
	finish(t, s, begin(t, s, testMerchantID, "key-2", hashA), 201, `{"id":"chk_2"}`)
	clk.Advance(IdempotencyRetention + time.Millisecond)

	c := begin(t, s, testMerchantID, "key-1", hashB)
	assertClaim(t, "expired key", c, IdempotencyClaim{MerchantID: testMerchantID, Key: "key-1", RequestHash: hashB, Result: IdempotencyStarted,
		LockedUntil: clk.Now().Add(IdempotencyLock)})
	// Begin swept the other expired key too.
	rows := idempotencyRows(t, s)
	if len(rows) != 1 || rows[0].Key != "key-1" || rows[0].RequestHash != hashB || !rows[0].CreatedAt.Equal(clk.Now()) {
		t.Fatalf("rows: %+v", rows)
	}
}

func TestIdempotencyRefusesEmptyAndLongKeys(t *testing.T) {
	s, _ := newTestEnv(t)
	for _, key := range []string{"", strings.Repeat("k", MaxIdempotencyKey+1)} {
		if _, err := s.BeginIdempotency(context.Background(), testMerchantID, key, hashA); err == nil {
			t.Errorf("key of %d bytes accepted", len(key))
		}
	}
	c := begin(t, s, testMerchantID, strings.Repeat("k", MaxIdempotencyKey), hashA)
	if c.Result != IdempotencyStarted {
		t.Fatalf("key of %d bytes: %s", MaxIdempotencyKey, c.Result)
	}
}

func TestIdempotencyConcurrentFirstRequestsStartOnce(t *testing.T) {
	s, _ := newTestEnv(t)
	const n = 20
	var wg sync.WaitGroup
	results := make([]IdempotencyResult, n)
	errs := make([]error, n)
	start := make(chan struct{})
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			<-start
			c, err := s.BeginIdempotency(context.Background(), testMerchantID, "race", hashA)
			if err != nil {
				errs[i] = err
				return
			}
			results[i] = c.Result
		}()
	}
	close(start)
	wg.Wait()
	started := 0
	for i := range n {
		if errs[i] != nil {
			t.Errorf("request %d: %v", i, errs[i])
			continue
		}
		switch results[i] {
		case IdempotencyStarted:
			started++
		case IdempotencyInProgress:
		default:
			t.Errorf("request %d: %s", i, results[i])
		}
	}
	if started != 1 {
		t.Fatalf("%d requests started, want exactly 1", started)
	}
}

// unsavedCheckout is a checkout for KES 1,500.00 not yet stored.
func unsavedCheckout(s *Store, ref string) *Checkout {
	return &Checkout{ID: NewID("chk", s.Now()), MerchantID: testMerchantID, Reference: ref, Description: "Two bags of maize",
		Amount: testAmount, Currency: "KES", ExpiresAt: s.Now().Add(24 * time.Hour)}
}

// answerWithID is the answer a key stores: 201 and the checkout's id.
func answerWithID(co *Checkout) (int, []byte, error) {
	return 201, []byte(`{"id":"` + co.ID + `","status":"` + string(co.Status) + `"}`), nil
}

func checkoutRows(t *testing.T, s *Store) []Checkout {
	t.Helper()
	var rows []Checkout
	if err := s.r.Order("id").Find(&rows).Error; err != nil {
		t.Fatal(err)
	}
	return rows
}

func TestCreateCheckoutOnceStoresTheCheckoutItsEventAndTheKeysAnswerTogether(t *testing.T) {
	s, _ := newTestEnv(t)
	ctx := context.Background()
	c := begin(t, s, testMerchantID, "key-1", hashA)
	co := unsavedCheckout(s, "ord-1")
	ans, err := s.CreateCheckoutOnce(ctx, co, "api", c, answerWithID)
	if err != nil {
		t.Fatal(err)
	}
	want := `{"id":"` + co.ID + `","status":"open"}`
	assertFields(t, "answer", ans, StoredAnswer{Status: 201, Body: []byte(want)})
	got, err := s.Checkout(ctx, co.ID)
	if err != nil {
		t.Fatal(err)
	}
	if got.Status != StatusOpen || !got.CreatedAt.Equal(t0) || got.Reference != "ord-1" {
		t.Fatalf("checkout %+v", got)
	}
	evs, err := s.Events(ctx, co.ID)
	if err != nil || len(evs) != 1 || evs[0].Kind != EventCreated || evs[0].Source != "api" {
		t.Fatalf("events %+v, %v; want one created event from api", evs, err)
	}
	rows := idempotencyRows(t, s)
	if len(rows) != 1 {
		t.Fatalf("%d keys, want 1", len(rows))
	}
	assertFields(t, "key", rows[0], idempotencyKey{ID: rows[0].ID, MerchantID: testMerchantID, Key: "key-1", RequestHash: hashA,
		Status: idemDone, ResponseStatus: 201, ResponseBody: want, CreatedAt: t0, LockedUntil: t0.Add(IdempotencyLock)})
	again := begin(t, s, testMerchantID, "key-1", hashA)
	assertClaim(t, "retry", again, IdempotencyClaim{MerchantID: testMerchantID, Key: "key-1", RequestHash: hashA, Result: IdempotencyReplay,
		ResponseStatus: 201, ResponseBody: []byte(want)})
}

// TestCreateCheckoutOnceCrashAfterTheInsertLeavesNothingAndTheRetryCreates:
// the process dies after the checkout's insert, before the key's answer is
// written (the answer builder panics there). Nothing of the checkout is
// left, so the retry that takes the key over once its lock lapses creates
// the checkout instead of finding its reference taken.
func TestCreateCheckoutOnceCrashAfterTheInsertLeavesNothingAndTheRetryCreates(t *testing.T) {
	s, clk := newTestEnv(t)
	ctx := context.Background()
	dead := begin(t, s, testMerchantID, "key-1", hashA)
	func() {
		defer func() {
			if r := recover(); r != "process died" {
				t.Fatalf("recovered %v", r)
			}
		}()
		_, _ = s.CreateCheckoutOnce(ctx, unsavedCheckout(s, "ord-1"), "api", dead, func(*Checkout) (int, []byte, error) {
			panic("process died")
		})
	}()
	if rows := checkoutRows(t, s); len(rows) != 0 {
		t.Fatalf("%d checkouts after the crash, want 0: %+v", len(rows), rows)
	}
	var events int64
	if err := s.r.Model(&Event{}).Count(&events).Error; err != nil || events != 0 {
		t.Fatalf("%d events after the crash (%v), want 0", events, err)
	}
	if rows := idempotencyRows(t, s); len(rows) != 1 || rows[0].Status != idemRunning || rows[0].ResponseBody != "" {
		t.Fatalf("key after the crash: %+v, want running with no answer", rows)
	}

	clk.Advance(IdempotencyLock)
	retry := begin(t, s, testMerchantID, "key-1", hashA)
	if retry.Result != IdempotencyStarted || !retry.TookOver {
		t.Fatalf("retry: %s took over %v, want started by takeover", retry.Result, retry.TookOver)
	}
	co := unsavedCheckout(s, "ord-1")
	ans, err := s.CreateCheckoutOnce(ctx, co, "api", retry, answerWithID)
	if err != nil || ans.Status != 201 || ans.Replayed {
		t.Fatalf("retry: %+v %v, want its own 201", ans, err)
	}
	body := ans.Body
	if rows := checkoutRows(t, s); len(rows) != 1 || rows[0].ID != co.ID {
		t.Fatalf("checkouts %+v, want only %s", rows, co.ID)
	}
	if c := begin(t, s, testMerchantID, "key-1", hashA); c.Result != IdempotencyReplay || string(c.ResponseBody) != string(body) {
		t.Fatalf("after the retry: %s %s, want a replay of %s", c.Result, c.ResponseBody, body)
	}
}

func TestCreateCheckoutOnceByAHolderWhoseKeyWasTakenOverCreatesNothing(t *testing.T) {
	s, clk := newTestEnv(t)
	ctx := context.Background()
	slow := begin(t, s, testMerchantID, "key-1", hashA)
	clk.Advance(IdempotencyLock)
	taken := begin(t, s, testMerchantID, "key-1", hashA)
	first := unsavedCheckout(s, "ord-1")
	firstAns, err := s.CreateCheckoutOnce(ctx, first, "api", taken, answerWithID)
	if err != nil {
		t.Fatal(err)
	}

	// The slow request wakes up with a reference of its own: its checkout
	// must not exist beside the one the key answers. The key is done for
	// its body, so its answer is the slow request's too.
	late := unsavedCheckout(s, "ord-1-late")
	ans, err := s.CreateCheckoutOnce(ctx, late, "api", slow, answerWithID)
	if err != nil {
		t.Fatalf("late create: %v, want the key's answer", err)
	}
	assertFields(t, "late answer", ans, StoredAnswer{Status: 201, Body: firstAns.Body, Replayed: true})
	if rows := checkoutRows(t, s); len(rows) != 1 || rows[0].ID != first.ID {
		t.Fatalf("checkouts %+v, want only %s", rows, first.ID)
	}
}

func TestCreateCheckoutOnceWithATakenReferenceWritesNothing(t *testing.T) {
	s, _ := newTestEnv(t)
	ctx := context.Background()
	newCheckout(t, s, func(co *Checkout) { co.Reference = "taken" })
	c := begin(t, s, testMerchantID, "key-1", hashA)
	called := false
	_, err := s.CreateCheckoutOnce(ctx, unsavedCheckout(s, "taken"), "api", c, func(co *Checkout) (int, []byte, error) {
		called = true
		return answerWithID(co)
	})
	if !errors.Is(err, ErrDuplicate) {
		t.Fatalf("err = %v, want ErrDuplicate", err)
	}
	if called {
		t.Error("the answer was built for a checkout that was not inserted")
	}
	if rows := checkoutRows(t, s); len(rows) != 1 {
		t.Fatalf("%d checkouts, want the first only", len(rows))
	}
	// The caller stores the refusal on the key it still holds.
	finish(t, s, c, 409, `{"error":"duplicate"}`)
	if again := begin(t, s, testMerchantID, "key-1", hashA); again.Result != IdempotencyReplay || again.ResponseStatus != 409 {
		t.Fatalf("retry: %s %d, want a replay of the 409", again.Result, again.ResponseStatus)
	}
}

func TestCreateCheckoutOnceRefusesAClaimItDoesNotHold(t *testing.T) {
	s, _ := newTestEnv(t)
	finish(t, s, begin(t, s, testMerchantID, "key-1", hashA), 201, `{}`)
	replay := begin(t, s, testMerchantID, "key-1", hashA)
	if _, err := s.CreateCheckoutOnce(context.Background(), unsavedCheckout(s, "ord-1"), "api", replay, answerWithID); err == nil {
		t.Fatal("created with a replay claim")
	}
	if rows := checkoutRows(t, s); len(rows) != 0 {
		t.Fatalf("%d checkouts, want 0", len(rows))
	}
}

func eventCount(t *testing.T, s *Store) int64 {
	t.Helper()
	var n int64
	if err := s.r.Model(&Event{}).Count(&n).Error; err != nil {
		t.Fatal(err)
	}
	return n
}

// TestCreateCheckoutOnceBySlowHolderAfterATakeoverWritesNothingAndTheRetryCreates:
// the first request runs past its lock, a retry takes the key over, and
// the slow request then reaches its insert before the retry does. It holds
// the key no longer: it creates nothing and finishes nothing, so the
// retry, which holds the key, creates the checkout with the same
// reference and its 201 is the key's answer (rather than the slow
// request's 201 stored and the retry told 409 duplicate).
func TestCreateCheckoutOnceBySlowHolderAfterATakeoverWritesNothingAndTheRetryCreates(t *testing.T) {
	s, clk := newTestEnv(t)
	ctx := context.Background()
	slow := begin(t, s, testMerchantID, "key-1", hashA)
	clk.Advance(IdempotencyLock)
	retry := begin(t, s, testMerchantID, "key-1", hashA)

	ans, err := s.CreateCheckoutOnce(ctx, unsavedCheckout(s, "ord-1"), "api", slow, answerWithID)
	if !errors.Is(err, ErrConflict) {
		t.Fatalf("the slow request's create: %+v, %v; want ErrConflict", ans, err)
	}
	assertFields(t, "the slow request's answer", ans, StoredAnswer{})
	if rows := checkoutRows(t, s); len(rows) != 0 {
		t.Fatalf("%d checkouts after the slow request, want 0: %+v", len(rows), rows)
	}
	if n := eventCount(t, s); n != 0 {
		t.Fatalf("%d events after the slow request, want 0", n)
	}
	rows := idempotencyRows(t, s)
	if len(rows) != 1 {
		t.Fatalf("%d keys, want 1", len(rows))
	}
	assertFields(t, "key after the slow request", rows[0], idempotencyKey{ID: rows[0].ID, MerchantID: testMerchantID, Key: "key-1",
		RequestHash: hashA, Status: idemRunning, CreatedAt: t0, LockedUntil: retry.LockedUntil})

	co := unsavedCheckout(s, "ord-1")
	ans, err = s.CreateCheckoutOnce(ctx, co, "api", retry, answerWithID)
	if err != nil {
		t.Fatalf("the retry's create: %v", err)
	}
	want := `{"id":"` + co.ID + `","status":"open"}`
	assertFields(t, "the retry's answer", ans, StoredAnswer{Status: 201, Body: []byte(want)})
	if rows := checkoutRows(t, s); len(rows) != 1 || rows[0].ID != co.ID {
		t.Fatalf("checkouts %+v, want only the retry's %s", rows, co.ID)
	}
	c := begin(t, s, testMerchantID, "key-1", hashA)
	assertClaim(t, "replay", c, IdempotencyClaim{MerchantID: testMerchantID, Key: "key-1", RequestHash: hashA, Result: IdempotencyReplay,
		ResponseStatus: 201, ResponseBody: []byte(want)})
}

// TestCreateCheckoutOnceWhoseReferenceTheKeysNextHolderTookReplaysItsAnswer:
// a request that took the key over runs past its own lock in turn; a
// third request takes the key over, creates the checkout and stores its
// 201. When the second request then inserts, the reference is taken, by
// the checkout its own key answers: it gets that 201, replayed, not a
// 409 duplicate, and writes nothing.
func TestCreateCheckoutOnceWhoseReferenceTheKeysNextHolderTookReplaysItsAnswer(t *testing.T) {
	s, clk := newTestEnv(t)
	ctx := context.Background()
	begin(t, s, testMerchantID, "key-1", hashA) // a request whose process died
	clk.Advance(IdempotencyLock)
	second := begin(t, s, testMerchantID, "key-1", hashA)
	clk.Advance(IdempotencyLock)
	third := begin(t, s, testMerchantID, "key-1", hashA)
	if !second.TookOver || !third.TookOver {
		t.Fatalf("took over: second %v, third %v; want both", second.TookOver, third.TookOver)
	}
	co := unsavedCheckout(s, "ord-1")
	thirds, err := s.CreateCheckoutOnce(ctx, co, "api", third, answerWithID)
	if err != nil {
		t.Fatal(err)
	}
	want := `{"id":"` + co.ID + `","status":"open"}`

	built := false
	ans, err := s.CreateCheckoutOnce(ctx, unsavedCheckout(s, "ord-1"), "api", second, func(co *Checkout) (int, []byte, error) {
		built = true
		return answerWithID(co)
	})
	if err != nil {
		t.Fatalf("the second request's create: %v, want the key's answer", err)
	}
	assertFields(t, "the second request's answer", ans, StoredAnswer{Status: 201, Body: thirds.Body, Replayed: true})
	if string(ans.Body) != want {
		t.Errorf("replayed %s, want %s", ans.Body, want)
	}
	if built {
		t.Error("an answer was built for the second request's checkout, which was not inserted")
	}
	if rows := checkoutRows(t, s); len(rows) != 1 || rows[0].ID != co.ID {
		t.Fatalf("checkouts %+v, want only %s", rows, co.ID)
	}
	if n := eventCount(t, s); n != 1 {
		t.Fatalf("%d events, want the one created event", n)
	}
	rows := idempotencyRows(t, s)
	if len(rows) != 1 {
		t.Fatalf("%d keys, want 1", len(rows))
	}
	assertFields(t, "key", rows[0], idempotencyKey{ID: rows[0].ID, MerchantID: testMerchantID, Key: "key-1", RequestHash: hashA,
		Status: idemDone, ResponseStatus: 201, ResponseBody: want, CreatedAt: t0, LockedUntil: third.LockedUntil})
}

// TestCreateCheckoutOnceReplaysOnlyAnAnswerForTheSameBody: a request
// holds its key so long that the key expires and is begun again with
// another body, whose checkout takes the reference. The first request's
// reference is taken and the key's answer is not for its body: it is
// refused as a duplicate, not handed the other body's answer.
func TestCreateCheckoutOnceReplaysOnlyAnAnswerForTheSameBody(t *testing.T) {
	s, clk := newTestEnv(t)
	ctx := context.Background()
	old := begin(t, s, testMerchantID, "key-1", hashA)
	clk.Advance(IdempotencyRetention + time.Second)
	other := begin(t, s, testMerchantID, "key-1", hashB)
	if other.Result != IdempotencyStarted || other.TookOver {
		t.Fatalf("other body after expiry: %s took over %v, want a fresh start", other.Result, other.TookOver)
	}
	if _, err := s.CreateCheckoutOnce(ctx, unsavedCheckout(s, "ord-1"), "api", other, answerWithID); err != nil {
		t.Fatal(err)
	}
	ans, err := s.CreateCheckoutOnce(ctx, unsavedCheckout(s, "ord-1"), "api", old, answerWithID)
	if !errors.Is(err, ErrDuplicate) {
		t.Fatalf("the old request's create: %+v, %v; want ErrDuplicate", ans, err)
	}
	assertFields(t, "the old request's answer", ans, StoredAnswer{})
	if rows := checkoutRows(t, s); len(rows) != 1 {
		t.Fatalf("%d checkouts, want 1", len(rows))
	}
}
