package httpx

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"
)

// ErrStoppedWaiting is wrapped, together with the caller's context error,
// by the error TokenCache.Token returns when the caller's context ends
// before the token request does. The clients turn it into their own *Error
// (errors.Is tells it apart from a failed token request).
var ErrStoppedWaiting = errors.New("stopped waiting for a token")

// TokenCache holds one bearer token and the request fetching the next one.
// Concurrent callers that find no usable token share a single request, a
// token is renewed at the time Fetch gives (the clients choose one a little
// before it expires), and Drop forgets a token the provider refused.
//
// Set Fetch and Now before the first call to Token. A TokenCache is safe
// for concurrent use and must not be copied after first use.
type TokenCache struct {
	// Fetch requests a new token and says when to renew it. It runs on its
	// own goroutine with a context that keeps the caller's values but not
	// its cancellation, so that one caller giving up does not fail the
	// others waiting on the same request; Fetch must therefore bound itself
	// (the clients' HTTP exchange timeout does).
	Fetch func(ctx context.Context) (token string, renewAt time.Time, err error)
	// Now is the clock renewal times are compared with: the client's
	// Config.Now, so that tests can move time.
	Now func() time.Time
	// OnWait, when set (by tests), is called each time a caller starts
	// waiting for a token request, so that a test can hold the request until
	// every caller is waiting. It is read when a caller starts waiting.
	OnWait func()

	mu      sync.Mutex
	value   string
	renewAt time.Time
	flight  *flight // non-nil while a token request is under way
}

// flight is one token request that every waiting caller shares.
type flight struct {
	done  chan struct{}
	value string
	err   error
}

// Token returns a token that is not due for renewal: the cached one, or the
// outcome of a token request shared with every other caller that found none.
// A failed request is returned as Fetch returned it, and is not cached, so
// the next caller tries again. When ctx ends first, the error wraps
// ErrStoppedWaiting and ctx's error, and the request goes on for the others.
func (c *TokenCache) Token(ctx context.Context) (string, error) {
	c.mu.Lock()
	if c.value != "" && c.Now().Before(c.renewAt) {
		v := c.value
		c.mu.Unlock()
		return v, nil
	}
	f := c.flight
	if f == nil {
		f = &flight{done: make(chan struct{})}
		c.flight = f
		go c.fetch(context.WithoutCancel(ctx), f)
	}
	onWait := c.OnWait
	c.mu.Unlock()
	if onWait != nil {
		onWait()
	}

	select {
	case <-f.done:
		return f.value, f.err
	case <-ctx.Done():
		return "", fmt.Errorf("%w: %w", ErrStoppedWaiting, ctx.Err())
	}
}

// fetch runs one token request and publishes its outcome to f's waiters.
func (c *TokenCache) fetch(ctx context.Context, f *flight) {
	value, renewAt, err := c.Fetch(ctx)
	c.mu.Lock()
	// A token whose renewal time has already passed (a very short lifetime,
	// or the provider's clock behind ours) is still handed to the callers
	// waiting now, just not cached: caching it would only make the next
	// caller fetch again anyway.
	if err == nil && c.Now().Before(renewAt) {
		c.value, c.renewAt = value, renewAt
	}
	c.flight = nil
	f.value, f.err = value, err
	c.mu.Unlock()
	close(f.done)
}

// Drop forgets the cached token if it is still the one the provider
// refused. A newer token, fetched meanwhile by another caller whose own
// token was refused first, is kept: dropping it would cost a token request
// for nothing.
func (c *TokenCache) Drop(refused string) {
	c.mu.Lock()
	if c.value == refused {
		c.value = ""
	}
	c.mu.Unlock()
}
