package web_test

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"log/slog"
	"net/http"
	"sync/atomic"
	"testing"

	"checkout/store"
)

// msgTakenOver is what the app logs when a request takes an Idempotency-Key
// over from one whose lock lapsed: after it holds the key, before it
// creates anything.
const msgTakenOver = "idempotency key taken over from a request that did not finish"

// onTakeover is a log handler that calls fn(n) for the n-th takeover (from
// 1), in the goroutine of the request that took the key over, which waits
// for fn: the test can run other requests while that one holds the key.
type onTakeover struct {
	n  *atomic.Int32
	fn func(n int)
}

func newOnTakeover(fn func(n int)) onTakeover { return onTakeover{n: new(atomic.Int32), fn: fn} }

func (h onTakeover) Enabled(context.Context, slog.Level) bool { return true }
func (h onTakeover) WithAttrs([]slog.Attr) slog.Handler       { return h }
func (h onTakeover) WithGroup(string) slog.Handler            { return h }
func (h onTakeover) Handle(_ context.Context, r slog.Record) error {
	if r.Message == msgTakenOver {
		h.fn(int(h.n.Add(1)))
	}
	return nil
}

// claimAndDie holds the key for body as a request on another instance
// that died before answering: the next request with the key waits for its
// lock to lapse, then takes the key over.
func (e *env) claimAndDie(key, body string) {
	e.t.Helper()
	sum := sha256.Sum256([]byte(body))
	if _, err := e.store.BeginIdempotency(context.Background(), "default", key, hex.EncodeToString(sum[:])); err != nil {
		e.t.Fatal(err)
	}
	e.clock.Advance(store.IdempotencyLock)
}

// TestIdempotencySlowRequestWhoseKeyWasTakenOverCreatesNothingAndTheRetrysAnswerStands:
// a request holds the key and stalls past its lock; the merchant's retry
// takes the key over, and the slow request reaches its insert first. The
// slow request no longer holds the key: it creates nothing, stores
// nothing and tells its client to retry. The retry creates the checkout
// and its 201 is the key's answer (before, the slow request stored its 201
// and the retry, holding the key, was answered 409 duplicate).
func TestIdempotencySlowRequestWhoseKeyWasTakenOverCreatesNothingAndTheRetrysAnswerStands(t *testing.T) {
	const key = "slow-key"
	body := checkoutBody("slow-1")
	var e *env
	retryHolds := make(chan struct{})
	slowAnswered := make(chan struct{})
	retryDone := make(chan struct{})
	var retry rawAnswer
	var retryErr error
	takeovers := newOnTakeover(func(n int) {
		switch n {
		case 1:
			// The slow request holds the key. It stalls past its lock
			// and the retry takes the key over.
			e.clock.Advance(store.IdempotencyLock)
			go func() {
				defer close(retryDone)
				retry, retryErr = e.sendIdempotent(testAPIKey, key, body)
			}()
			select {
			case <-retryHolds:
			case <-retryDone: // it did not take the key: the assertions below say so
			}
		case 2:
			// The retry holds the key; it waits while the slow request
			// goes on.
			close(retryHolds)
			<-slowAnswered
		}
	})
	e = newEnv(t, envOptions{logs: takeovers})
	e.claimAndDie(key, body)

	slow, slowErr := e.sendIdempotent(testAPIKey, key, body)
	close(slowAnswered)
	<-retryDone
	if slowErr != nil || retryErr != nil {
		t.Fatalf("slow: %v; retry: %v", slowErr, retryErr)
	}
	if n := takeovers.n.Load(); n != 2 {
		t.Fatalf("%d takeovers, want 2 (the slow request's and the retry's)", n)
	}

	if retry.status != http.StatusCreated || retry.header.Get("Idempotent-Replayed") != "" {
		t.Fatalf("retry: %d %s (replayed %q), want its own 201", retry.status, retry.body, retry.header.Get("Idempotent-Replayed"))
	}
	code, msg, field := slow.apiError(t)
	if slow.status != http.StatusConflict || code != "idempotency_error" || msg != msgIdemInProgress || field != "Idempotency-Key" {
		t.Errorf("slow request: %d %s, want 409 in progress", slow.status, slow.body)
	}
	if ra := slow.header.Get("Retry-After"); ra != "1" {
		t.Errorf("slow request: Retry-After = %q, want 1", ra)
	}
	id := retry.checkoutID(t)
	if n := e.checkoutCount(); n != 1 {
		t.Fatalf("%d checkouts, want 1", n)
	}
	if co := e.checkout(id); co.Reference != "slow-1" {
		t.Fatalf("checkout %s has reference %q", id, co.Reference)
	}
	again := e.postIdempotent(testAPIKey, key, body)
	if again.status != http.StatusCreated || !bytes.Equal(again.body, retry.body) || again.header.Get("Idempotent-Replayed") != "true" {
		t.Fatalf("next retry: %d %s, want a replay of the retry's 201", again.status, again.body)
	}
}

// TestIdempotencyRequestOvertakenByARetryReplaysTheRetrysAnswerNotDuplicate:
// a request holds the key and stalls past its lock; the merchant's retry
// takes the key over, creates the checkout and answers 201. The slow
// request then finds its reference taken, by the checkout its own key
// answers: it replays that 201 instead of answering 409 duplicate.
func TestIdempotencyRequestOvertakenByARetryReplaysTheRetrysAnswerNotDuplicate(t *testing.T) {
	const key = "overtaken-key"
	body := checkoutBody("overtaken-1")
	var e *env
	var retry rawAnswer
	var retryErr error
	takeovers := newOnTakeover(func(n int) {
		if n == 1 {
			// The slow request holds the key. It stalls past its lock;
			// the retry takes the key over and finishes.
			e.clock.Advance(store.IdempotencyLock)
			retry, retryErr = e.sendIdempotent(testAPIKey, key, body)
		}
	})
	e = newEnv(t, envOptions{logs: takeovers})
	e.claimAndDie(key, body)

	slow := e.postIdempotent(testAPIKey, key, body)
	if retryErr != nil {
		t.Fatal(retryErr)
	}
	if n := takeovers.n.Load(); n != 2 {
		t.Fatalf("%d takeovers, want 2 (the slow request's and the retry's)", n)
	}
	if retry.status != http.StatusCreated || retry.header.Get("Idempotent-Replayed") != "" {
		t.Fatalf("retry: %d %s, want its own 201", retry.status, retry.body)
	}
	if slow.status != http.StatusCreated || !bytes.Equal(slow.body, retry.body) {
		t.Fatalf("slow request:\n%d %s\nwant the retry's\n%d %s", slow.status, slow.body, retry.status, retry.body)
	}
	for name, want := range map[string]string{
		"Idempotent-Replayed": "true",
		"Cache-Control":       "no-store",
		"Content-Type":        "application/json; charset=utf-8",
	} {
		if got := slow.header.Get(name); got != want {
			t.Errorf("slow request: %s = %q, want %q", name, got, want)
		}
	}
	if n := e.checkoutCount(); n != 1 {
		t.Fatalf("%d checkouts, want 1", n)
	}
	again := e.postIdempotent(testAPIKey, key, body)
	if again.status != http.StatusCreated || !bytes.Equal(again.body, retry.body) {
		t.Fatalf("next retry: %d %s, want a replay of the retry's 201", again.status, again.body)
	}
}
