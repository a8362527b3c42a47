package httpx

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// clock is a fake clock that tests move by hand.
type clock struct {
	mu  sync.Mutex
	now time.Time
}

func newClock() *clock { return &clock{now: time.Date(2025, 1, 2, 3, 4, 5, 0, time.UTC)} }

func (c *clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *clock) advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now = c.now.Add(d)
}

// fetcher is a fake token request: it hands out tok-1, tok-2, … each to be
// renewed after life, waits for gate when one is set, and fails with err
// when one is set.
type fetcher struct {
	clock *clock
	life  time.Duration
	gate  chan struct{}
	// started, when set, receives once per fetch after its context is
	// recorded.
	started chan struct{}
	calls   atomic.Int32

	mu  sync.Mutex
	err error
	ctx context.Context // the context of the last request
}

func (f *fetcher) Fetch(ctx context.Context) (string, time.Time, error) {
	n := f.calls.Add(1)
	f.mu.Lock()
	f.ctx = ctx
	err := f.err
	f.mu.Unlock()
	if f.started != nil {
		f.started <- struct{}{}
	}
	if f.gate != nil {
		<-f.gate
	}
	if err != nil {
		return "", time.Time{}, err
	}
	return fmt.Sprintf("tok-%d", n), f.clock.Now().Add(f.life), nil
}

func newCache(f *fetcher) *TokenCache {
	return &TokenCache{Fetch: f.Fetch, Now: f.clock.Now}
}

func TestConcurrentCallersShareOneFetch(t *testing.T) {
	const callers = 50
	f := &fetcher{clock: newClock(), life: time.Minute, gate: make(chan struct{})}
	c := newCache(f)
	var waiting, done sync.WaitGroup
	waiting.Add(callers)
	c.OnWait = waiting.Done

	got := make(chan string, callers)
	errs := make(chan error, callers)
	done.Add(callers)
	for range callers {
		go func() {
			defer done.Done()
			tok, err := c.Token(context.Background())
			got <- tok
			errs <- err
		}()
	}
	// The request is held until every caller waits for it, so none of them
	// can have found a token in the cache.
	waiting.Wait()
	close(f.gate)
	done.Wait()
	close(got)
	close(errs)

	for err := range errs {
		if err != nil {
			t.Errorf("Token: %v", err)
		}
	}
	for tok := range got {
		if tok != "tok-1" {
			t.Errorf("token = %q, want tok-1", tok)
		}
	}
	if n := f.calls.Load(); n != 1 {
		t.Errorf("fetches = %d, want exactly 1", n)
	}
	// The shared token is cached for the next caller.
	if tok, err := c.Token(context.Background()); tok != "tok-1" || err != nil {
		t.Errorf("after the fetch: Token = %q, %v; want tok-1 from the cache", tok, err)
	}
	if n := f.calls.Load(); n != 1 {
		t.Errorf("fetches = %d after a cached call, want 1", n)
	}
}

func TestTokenIsRenewedAtItsRenewalTime(t *testing.T) {
	f := &fetcher{clock: newClock(), life: 10 * time.Minute}
	c := newCache(f)
	steps := []struct {
		advance time.Duration
		want    string
	}{
		{0, "tok-1"},
		{9 * time.Minute, "tok-1"},
		{time.Minute - time.Nanosecond, "tok-1"},
		{time.Nanosecond, "tok-2"}, // the renewal time itself is due
		{5 * time.Minute, "tok-2"},
		{time.Hour, "tok-3"},
	}
	for i, s := range steps {
		f.clock.advance(s.advance)
		tok, err := c.Token(t.Context())
		if err != nil || tok != s.want {
			t.Fatalf("step %d: Token = %q, %v; want %q", i, tok, err, s.want)
		}
	}
}

func TestTokenDueOnArrivalIsUsedButNotCached(t *testing.T) {
	// A renewal time already past (the provider's clock behind ours, a very
	// short lifetime) still serves the caller that waited for it.
	f := &fetcher{clock: newClock(), life: -time.Second}
	c := newCache(f)
	for i, want := range []string{"tok-1", "tok-2"} {
		tok, err := c.Token(t.Context())
		if err != nil || tok != want {
			t.Fatalf("call %d: Token = %q, %v; want %q", i, tok, err, want)
		}
	}
}

func TestFailedFetchIsReturnedAndNotCached(t *testing.T) {
	f := &fetcher{clock: newClock(), life: time.Minute}
	c := newCache(f)
	refused := errors.New("refused")
	f.err = refused
	if tok, err := c.Token(t.Context()); !errors.Is(err, refused) || tok != "" {
		t.Fatalf("Token = %q, %v; want the fetch's error", tok, err)
	}
	if errors.Is(refused, ErrStoppedWaiting) {
		t.Fatal("a failed fetch must not look like a caller giving up")
	}
	f.mu.Lock()
	f.err = nil
	f.mu.Unlock()
	if tok, err := c.Token(t.Context()); err != nil || tok != "tok-2" {
		t.Fatalf("after a failure: Token = %q, %v; want a new fetch", tok, err)
	}
}

func TestCallerGivingUpDoesNotFailOthers(t *testing.T) {
	f := &fetcher{clock: newClock(), life: time.Minute, gate: make(chan struct{}), started: make(chan struct{}, 1)}
	c := newCache(f)
	waits := make(chan struct{}, 2)
	c.OnWait = func() { waits <- struct{}{} }

	ctx, cancel := context.WithCancel(context.Background())
	gaveUp := make(chan error, 1)
	go func() { _, err := c.Token(ctx); gaveUp <- err }()
	<-waits
	<-f.started // the fetch has recorded its context
	stayed := make(chan string, 1)
	go func() { tok, _ := c.Token(context.Background()); stayed <- tok }()
	<-waits
	cancel()

	err := <-gaveUp
	if !errors.Is(err, ErrStoppedWaiting) || !errors.Is(err, context.Canceled) {
		t.Errorf("cancelled caller: error %v, want ErrStoppedWaiting and context.Canceled", err)
	}
	f.mu.Lock()
	fetchCtx := f.ctx
	f.mu.Unlock()
	if fetchCtx.Err() != nil {
		t.Errorf("the fetch's context ended with the caller's: %v", fetchCtx.Err())
	}
	close(f.gate)
	if tok := <-stayed; tok != "tok-1" {
		t.Errorf("waiting caller: token %q, want tok-1", tok)
	}
	if n := f.calls.Load(); n != 1 {
		t.Errorf("fetches = %d, want 1", n)
	}
}

// Moved here from the pesapal and pochipay client tests, with the token
// cache they tested; the assertions are theirs.
func TestDropTokenKeepsANewerToken(t *testing.T) {
	var c TokenCache
	c.value = "newer-token"
	c.Drop("refused-token")
	if c.value != "newer-token" {
		t.Errorf("a token fetched by another caller was dropped")
	}
	c.Drop("newer-token")
	if c.value != "" {
		t.Errorf("the refused token was kept")
	}

	c.value = "newer"
	c.Drop("older")
	if c.value != "newer" {
		t.Errorf("token = %q, want the newer token kept", c.value)
	}
	c.Drop("newer")
	if c.value != "" {
		t.Errorf("token = %q, want it dropped", c.value)
	}
}

func TestDropOnlyDropsTheRefusedToken(t *testing.T) {
	f := &fetcher{clock: newClock(), life: time.Hour}
	c := newCache(f)
	first, _ := c.Token(t.Context())

	// Two callers were refused first; the first of them renewed the token.
	c.Drop(first)
	second, _ := c.Token(t.Context())
	c.Drop(first) // the late one names the token it was refused with
	if tok, _ := c.Token(t.Context()); tok != second || second != "tok-2" {
		t.Errorf("after a late drop of %q: token %q, want %q kept", first, tok, second)
	}
	if n := f.calls.Load(); n != 2 {
		t.Errorf("fetches = %d, want 2", n)
	}

	c.Drop(second)
	if tok, _ := c.Token(t.Context()); tok != "tok-3" {
		t.Errorf("after dropping %q: token %q, want a new one", second, tok)
	}
}
