package web_test

import (
	"bytes"
	"context"
	"crypto/sha256"
	"database/sql"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"checkout/store"
)

// rawAnswer is an API answer exactly as it came over the wire.
type rawAnswer struct {
	status int
	header http.Header
	body   []byte
}

// apiError decodes the error shape; it fails the test for anything else.
func (a rawAnswer) apiError(t *testing.T) (code, message string, field any) {
	t.Helper()
	var out struct {
		Error struct {
			Code    string `json:"code"`
			Message string `json:"message"`
			Field   any    `json:"field"`
		} `json:"error"`
	}
	if err := json.Unmarshal(a.body, &out); err != nil || out.Error.Code == "" {
		t.Fatalf("not an API error (%v): %d %s", err, a.status, a.body)
	}
	return out.Error.Code, out.Error.Message, out.Error.Field
}

func (a rawAnswer) checkoutID(t *testing.T) string {
	t.Helper()
	var obj struct {
		ID string `json:"id"`
	}
	if err := json.Unmarshal(a.body, &obj); err != nil || obj.ID == "" {
		t.Fatalf("not a checkout object (%v): %d %s", err, a.status, a.body)
	}
	return obj.ID
}

// sendIdempotent posts a checkout with the merchant's API key and an
// Idempotency-Key header (sent even when empty). It is safe to call from
// several goroutines.
func (e *env) sendIdempotent(apiKey, idemKey, body string) (rawAnswer, error) {
	req, err := http.NewRequest(http.MethodPost, e.app.URL+"/api/v1/checkouts", strings.NewReader(body))
	if err != nil {
		return rawAnswer{}, err
	}
	req.Header.Set("Authorization", "Bearer "+apiKey)
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Idempotency-Key", idemKey)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return rawAnswer{}, err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		return rawAnswer{}, err
	}
	return rawAnswer{status: resp.StatusCode, header: resp.Header, body: b}, nil
}

func (e *env) postIdempotent(apiKey, idemKey, body string) rawAnswer {
	e.t.Helper()
	a, err := e.sendIdempotent(apiKey, idemKey, body)
	if err != nil {
		e.t.Fatal(err)
	}
	return a
}

// checkoutCount counts every checkout in the store.
func (e *env) checkoutCount() int {
	e.t.Helper()
	rows, _, err := e.store.ListCheckouts(context.Background(), store.OrderFilter{Limit: 200})
	if err != nil {
		e.t.Fatal(err)
	}
	return len(rows)
}

func checkoutBody(ref string) string {
	return `{"amount": "1500", "currency": "KES", "reference": "` + ref + `", "description": "Two bags of coffee"}`
}

const (
	msgIdemMismatch   = "this Idempotency-Key was used with a different request"
	msgIdemInProgress = "a request with this Idempotency-Key is still being processed; retry shortly"
)

func TestIdempotencyKeyWithTheSameBodyReplaysTheFirstAnswerByteForByte(t *testing.T) {
	e := newEnv(t, envOptions{})
	body := checkoutBody("idem-1")
	first := e.postIdempotent(testAPIKey, "order-1001-try", body)
	if first.status != http.StatusCreated {
		t.Fatalf("first: %d %s", first.status, first.body)
	}
	if got := first.header.Get("Idempotent-Replayed"); got != "" {
		t.Errorf("first answer has Idempotent-Replayed: %q", got)
	}
	id := first.checkoutID(t)

	// Later, the checkout has moved on (cancelled) and the clock too: the
	// replay is still the first answer, not the checkout as it is now.
	if _, err := e.store.Cancel(context.Background(), id, "test"); err != nil {
		t.Fatal(err)
	}
	e.clock.Advance(time.Hour)
	again := e.postIdempotent(testAPIKey, "order-1001-try", body)
	if again.status != first.status || !bytes.Equal(again.body, first.body) {
		t.Fatalf("replay differs:\nfirst  %d %s\nreplay %d %s", first.status, first.body, again.status, again.body)
	}
	if got := again.header.Get("Idempotent-Replayed"); got != "true" {
		t.Errorf("Idempotent-Replayed = %q, want true", got)
	}
	for _, a := range []rawAnswer{first, again} {
		if ct := a.header.Get("Content-Type"); ct != "application/json; charset=utf-8" {
			t.Errorf("Content-Type = %q", ct)
		}
		if cc := a.header.Get("Cache-Control"); cc != "no-store" {
			t.Errorf("Cache-Control = %q", cc)
		}
	}
	if n := e.checkoutCount(); n != 1 {
		t.Fatalf("%d checkouts, want 1", n)
	}
	if co := e.checkout(id); co.Status != store.StatusCancelled {
		t.Fatalf("status %s: the replay changed the checkout", co.Status)
	}
}

func TestIdempotencyKeyWithAnotherBodyIs409AndCreatesNothing(t *testing.T) {
	e := newEnv(t, envOptions{})
	body := checkoutBody("idem-1")
	if a := e.postIdempotent(testAPIKey, "k-1", body); a.status != http.StatusCreated {
		t.Fatalf("first: %d %s", a.status, a.body)
	}
	cases := []struct{ name, body string }{
		{"another reference", checkoutBody("idem-2")},
		{"another amount", strings.Replace(body, `"1500"`, `"1501"`, 1)},
		// The hash is of the bytes as sent: the same JSON spaced
		// differently is another request.
		{"same JSON, other spacing", strings.ReplaceAll(body, ": ", ":")},
		{"an invalid body", `{"amount": "0"}`},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			a := e.postIdempotent(testAPIKey, "k-1", tc.body)
			code, msg, field := a.apiError(t)
			if a.status != http.StatusConflict || code != "idempotency_error" || msg != msgIdemMismatch || field != "Idempotency-Key" {
				t.Fatalf("answer %d %s", a.status, a.body)
			}
		})
	}
	if n := e.checkoutCount(); n != 1 {
		t.Fatalf("%d checkouts, want 1", n)
	}
}

func TestIdempotencyConcurrentFirstRequestsWithOneKeyCreateOneCheckout(t *testing.T) {
	e := newEnv(t, envOptions{})
	const n = 20
	body := checkoutBody("race-1")
	answers := make([]rawAnswer, n)
	errs := make([]error, n)
	start := make(chan struct{})
	var wg sync.WaitGroup
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			<-start
			answers[i], errs[i] = e.sendIdempotent(testAPIKey, "race-key", body)
		}()
	}
	close(start)
	wg.Wait()

	var created []byte
	busy := 0
	for i, a := range answers {
		if errs[i] != nil {
			t.Fatalf("request %d: %v", i, errs[i])
		}
		switch a.status {
		case http.StatusCreated:
			if created == nil {
				created = a.body
			} else if !bytes.Equal(a.body, created) {
				t.Errorf("request %d: another 201 body:\n%s\nwant\n%s", i, a.body, created)
			}
		case http.StatusConflict:
			code, msg, _ := a.apiError(t)
			if code != "idempotency_error" || msg != msgIdemInProgress {
				t.Errorf("request %d: 409 %s", i, a.body)
			}
			busy++
		default:
			t.Errorf("request %d: %d %s", i, a.status, a.body)
		}
	}
	if created == nil {
		t.Fatal("no request created the checkout")
	}
	if n := e.checkoutCount(); n != 1 {
		t.Fatalf("%d checkouts, want 1", n)
	}
	// Every request that was told to wait gets the same checkout on retry.
	if a := e.postIdempotent(testAPIKey, "race-key", body); a.status != http.StatusCreated || !bytes.Equal(a.body, created) {
		t.Fatalf("retry after the race: %d %s", a.status, a.body)
	}
	t.Logf("%d created or replayed, %d told to retry", n-busy, busy)
}

func TestIdempotencyKeyIsScopedToTheMerchant(t *testing.T) {
	e := newEnv(t, envOptions{})
	const otherKey = "sk_test_other_merchant_0123456789"
	if _, err := e.store.EnsureMerchant(context.Background(), "other", "Other Shop", otherKey); err != nil {
		t.Fatal(err)
	}
	body := checkoutBody("shared-ref")
	mine := e.postIdempotent(testAPIKey, "shared-key", body)
	theirs := e.postIdempotent(otherKey, "shared-key", body)
	if mine.status != http.StatusCreated || theirs.status != http.StatusCreated {
		t.Fatalf("answers: %d %s / %d %s", mine.status, mine.body, theirs.status, theirs.body)
	}
	myID, theirID := mine.checkoutID(t), theirs.checkoutID(t)
	if myID == theirID {
		t.Fatalf("both merchants got checkout %s", myID)
	}
	if co := e.checkout(theirID); co.MerchantID != "other" {
		t.Fatalf("the second checkout belongs to %q", co.MerchantID)
	}
	if theirs.header.Get("Idempotent-Replayed") != "" {
		t.Error("the other merchant got a replay")
	}
	// Each merchant's retry replays its own answer.
	if a := e.postIdempotent(testAPIKey, "shared-key", body); !bytes.Equal(a.body, mine.body) {
		t.Errorf("first merchant's retry: %s", a.body)
	}
	if a := e.postIdempotent(otherKey, "shared-key", body); !bytes.Equal(a.body, theirs.body) {
		t.Errorf("second merchant's retry: %s", a.body)
	}
	if n := e.checkoutCount(); n != 2 {
		t.Fatalf("%d checkouts, want 2", n)
	}
}

func TestIdempotencyKeyReplaysAStoredRefusal(t *testing.T) {
	e := newEnv(t, envOptions{})
	e.createCheckout("taken")
	cases := []struct {
		name, body string
		status     int
		code       string
	}{
		{"invalid field", strings.Replace(checkoutBody("r-422"), `"KES"`, `"EUR"`, 1), http.StatusUnprocessableEntity, "invalid"},
		{"malformed body", `{"amount": `, http.StatusBadRequest, "malformed"},
		{"reference taken", checkoutBody("taken"), http.StatusConflict, "duplicate"},
	}
	for i, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			key := fmt.Sprintf("refused-%d", i)
			first := e.postIdempotent(testAPIKey, key, tc.body)
			if code, _, _ := first.apiError(t); first.status != tc.status || code != tc.code {
				t.Fatalf("first: %d %s", first.status, first.body)
			}
			again := e.postIdempotent(testAPIKey, key, tc.body)
			if again.status != first.status || !bytes.Equal(again.body, first.body) {
				t.Fatalf("replay differs:\nfirst  %d %s\nreplay %d %s", first.status, first.body, again.status, again.body)
			}
			if again.header.Get("Idempotent-Replayed") != "true" {
				t.Error("the second answer was not a replay")
			}
		})
	}
	if n := e.checkoutCount(); n != 1 {
		t.Fatalf("%d checkouts, want only the first", n)
	}
}

func TestIdempotencyKeyMustBeOneTo255PrintableASCII(t *testing.T) {
	e := newEnv(t, envOptions{})
	cases := []struct {
		name, key string
		ok        bool
	}{
		{"255 characters", strings.Repeat("k", 255), true},
		{"printable punctuation and inner space", `a b!"#~`, true},
		{"256 characters", strings.Repeat("k", 256), false},
		{"empty", "", false},
		{"non-ASCII", "clé-1", false},
		{"tab", "a\tb", false},
	}
	for i, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			a := e.postIdempotent(testAPIKey, tc.key, checkoutBody(fmt.Sprintf("key-%d", i)))
			if tc.ok {
				if a.status != http.StatusCreated {
					t.Fatalf("answer %d %s", a.status, a.body)
				}
				return
			}
			code, msg, field := a.apiError(t)
			if a.status != http.StatusBadRequest || code != "invalid" || field != "Idempotency-Key" || msg == "" {
				t.Fatalf("answer %d %s", a.status, a.body)
			}
		})
	}
	if n := e.checkoutCount(); n != 2 {
		t.Fatalf("%d checkouts, want 2 (the accepted keys only)", n)
	}
}

func TestIdempotencyKeyStillRunningIs409UntilItsLockLapses(t *testing.T) {
	e := newEnv(t, envOptions{})
	body := checkoutBody("slow-1")
	// Another process took the key and died before answering.
	sum := sha256.Sum256([]byte(body))
	if _, err := e.store.BeginIdempotency(context.Background(), "default", "slow-key", hex.EncodeToString(sum[:])); err != nil {
		t.Fatal(err)
	}

	a := e.postIdempotent(testAPIKey, "slow-key", body)
	code, msg, field := a.apiError(t)
	if a.status != http.StatusConflict || code != "idempotency_error" || msg != msgIdemInProgress || field != "Idempotency-Key" {
		t.Fatalf("while running: %d %s", a.status, a.body)
	}
	if ra := a.header.Get("Retry-After"); ra != "1" {
		t.Errorf("Retry-After = %q", ra)
	}
	other := e.postIdempotent(testAPIKey, "slow-key", checkoutBody("slow-2"))
	if _, msg, _ := other.apiError(t); other.status != http.StatusConflict || msg != msgIdemMismatch {
		t.Fatalf("another body while running: %d %s", other.status, other.body)
	}
	if n := e.checkoutCount(); n != 0 {
		t.Fatalf("%d checkouts while the key was held, want 0", n)
	}

	e.clock.Advance(store.IdempotencyLock)
	taken := e.postIdempotent(testAPIKey, "slow-key", body)
	if taken.status != http.StatusCreated {
		t.Fatalf("after the lock lapsed: %d %s", taken.status, taken.body)
	}
	if again := e.postIdempotent(testAPIKey, "slow-key", body); !bytes.Equal(again.body, taken.body) {
		t.Fatalf("replay after the takeover: %d %s", again.status, again.body)
	}
	if n := e.checkoutCount(); n != 1 {
		t.Fatalf("%d checkouts, want 1", n)
	}
}

func TestIdempotencyKeysArePrunedAfterADayAndCanThenBeReused(t *testing.T) {
	e := newEnv(t, envOptions{})
	first := e.postIdempotent(testAPIKey, "daily", checkoutBody("day-1"))
	if first.status != http.StatusCreated {
		t.Fatalf("first: %d %s", first.status, first.body)
	}

	// Kept at least 24 hours.
	e.clock.Advance(store.IdempotencyRetention)
	if a := e.postIdempotent(testAPIKey, "daily", checkoutBody("day-2")); a.status != http.StatusConflict {
		t.Fatalf("at 24 h: %d %s, want 409", a.status, a.body)
	}
	if a := e.postIdempotent(testAPIKey, "daily", checkoutBody("day-1")); !bytes.Equal(a.body, first.body) {
		t.Fatalf("replay at 24 h: %d %s", a.status, a.body)
	}

	e.clock.Advance(time.Second)
	second := e.postIdempotent(testAPIKey, "daily", checkoutBody("day-2"))
	if second.status != http.StatusCreated || second.header.Get("Idempotent-Replayed") != "" {
		t.Fatalf("reused key: %d %s", second.status, second.body)
	}
	if second.checkoutID(t) == first.checkoutID(t) {
		t.Fatal("the reused key answered the old checkout")
	}
	if n := e.checkoutCount(); n != 2 {
		t.Fatalf("%d checkouts, want 2", n)
	}

	// The scheduled sweep removes what is left once it is a day old.
	e.clock.Advance(store.IdempotencyRetention + time.Second)
	if n, err := e.store.PruneIdempotencyKeys(context.Background(), store.IdempotencyRetention); err != nil || n != 1 {
		t.Fatalf("PruneIdempotencyKeys: %d, %v; want 1", n, err)
	}
}

func TestIdempotencyKeyIsReleasedAfterAServerError(t *testing.T) {
	e := newEnv(t, envOptions{})
	// A second connection to the database file makes inserting a checkout
	// fail, as a full disk would. (The store's SQLite driver registers
	// "sqlite3".)
	db, err := sql.Open("sqlite3", e.dbPath)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	if _, err := db.Exec(`CREATE TRIGGER fail_checkout BEFORE INSERT ON checkouts BEGIN SELECT RAISE(ABORT, 'disk full'); END`); err != nil {
		t.Fatal(err)
	}
	body := checkoutBody("five-hundred")
	a := e.postIdempotent(testAPIKey, "flaky", body)
	if code, _, _ := a.apiError(t); a.status != http.StatusInternalServerError || code != "internal_error" {
		t.Fatalf("with the insert failing: %d %s", a.status, a.body)
	}

	if _, err := db.Exec(`DROP TRIGGER fail_checkout`); err != nil {
		t.Fatal(err)
	}
	again := e.postIdempotent(testAPIKey, "flaky", body)
	if again.status != http.StatusCreated || again.header.Get("Idempotent-Replayed") != "" {
		t.Fatalf("retry: %d %s, want a new 201", again.status, again.body)
	}
	if n := e.checkoutCount(); n != 1 {
		t.Fatalf("%d checkouts, want 1", n)
	}
}

// TestIdempotencyAnswerLostAfterTheInsertNeverTurnsARetryInto409: the
// write of the key's answer fails after the checkout's insert, as it does
// when the process dies between them. The checkout and the answer commit
// together or not at all: no checkout is left whose key has no answer, and
// the retry after the key's lock lapses is a 201 (with the first answer's
// checkout id, if the first answer was a 201), never "duplicate".
func TestIdempotencyAnswerLostAfterTheInsertNeverTurnsARetryInto409(t *testing.T) {
	e := newEnv(t, envOptions{})
	db, err := sql.Open("sqlite3", e.dbPath)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	if _, err := db.Exec(`CREATE TRIGGER lose_answer BEFORE UPDATE ON idempotency_keys WHEN NEW.status = 'done'
		BEGIN SELECT RAISE(ABORT, 'process died'); END`); err != nil {
		t.Fatal(err)
	}
	body := checkoutBody("crash-1")
	first := e.postIdempotent(testAPIKey, "crash-key", body)

	// Every checkout created under a key has the key's answer naming it.
	var orphans int
	if err := db.QueryRow(`SELECT count(*) FROM checkouts c WHERE NOT EXISTS (SELECT 1 FROM idempotency_keys k
		WHERE k.status = 'done' AND k.response_body LIKE '%"' || c.id || '"%')`).Scan(&orphans); err != nil {
		t.Fatal(err)
	}
	if orphans != 0 {
		t.Errorf("%d checkouts exist without their key's answer (first answer %d %s)", orphans, first.status, first.body)
	}

	if _, err := db.Exec(`DROP TRIGGER lose_answer`); err != nil {
		t.Fatal(err)
	}
	e.clock.Advance(store.IdempotencyLock)
	retry := e.postIdempotent(testAPIKey, "crash-key", body)
	if retry.status != http.StatusCreated {
		t.Fatalf("retry: %d %s, want 201 (first answer %d %s)", retry.status, retry.body, first.status, first.body)
	}
	if first.status == http.StatusCreated && retry.checkoutID(t) != first.checkoutID(t) {
		t.Fatalf("retry answered checkout %s, the first answer %s", retry.checkoutID(t), first.checkoutID(t))
	}
	if n := e.checkoutCount(); n != 1 {
		t.Fatalf("%d checkouts, want 1", n)
	}
	if again := e.postIdempotent(testAPIKey, "crash-key", body); again.status != http.StatusCreated || !bytes.Equal(again.body, retry.body) {
		t.Fatalf("replay: %d %s, want the retry's 201", again.status, again.body)
	}
}
