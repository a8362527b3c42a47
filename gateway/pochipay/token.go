package pochipay

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"strconv"
	"sync"
	"time"
)

const (
	// tokenLifetime is the page's "The token expires after 3600 seconds".
	// It is assumed when expiresIn is missing or unreadable, and caps a
	// longer one.
	tokenLifetime = 3600 * time.Second
	// tokenEarly renews a token this long before it expires, so that a
	// token taken from the cache does not expire on its way to Pochipay.
	tokenEarly = 60 * time.Second
)

// tokenCache holds the current bearer token and the request fetching a new
// one.
type tokenCache struct {
	mu      sync.Mutex
	value   string
	renewAt time.Time
	flight  *tokenFlight // non-nil while a token request is under way

	// waiting, when set (by tests), is called each time a caller starts
	// waiting for a token request.
	waiting func()
}

// tokenFlight is one token request that every waiting caller shares.
type tokenFlight struct {
	done  chan struct{}
	value string
	err   error
}

// bearer returns a valid token: the cached one, or a new one. Concurrent
// callers that find no token share a single token request.
func (c *Client) bearer(ctx context.Context) (string, error) {
	c.tok.mu.Lock()
	if c.tok.value != "" && c.now().Before(c.tok.renewAt) {
		v := c.tok.value
		c.tok.mu.Unlock()
		return v, nil
	}
	f := c.tok.flight
	if f == nil {
		f = &tokenFlight{done: make(chan struct{})}
		c.tok.flight = f
		// The request runs apart from this caller's context so that one
		// caller giving up does not fail the others waiting on it; exchange
		// still bounds it with c.timeout.
		go c.fetchToken(context.WithoutCancel(ctx), f)
	}
	waiting := c.tok.waiting
	c.tok.mu.Unlock()
	if waiting != nil {
		waiting()
	}

	select {
	case <-f.done:
		return f.value, f.err
	case <-ctx.Done():
		return "", &Error{Op: "request token", Err: errors.Join(errors.New("stopped waiting for a token"), ctx.Err())}
	}
}

// fetchToken runs one token request and publishes its outcome to f's
// waiters.
func (c *Client) fetchToken(ctx context.Context, f *tokenFlight) {
	value, renewAt, err := c.requestToken(ctx)
	c.tok.mu.Lock()
	// A token whose renewal time has already passed (a very short
	// expiresIn) is still handed to the callers waiting now, just not
	// cached.
	if err == nil && c.now().Before(renewAt) {
		c.tok.value, c.tok.renewAt = value, renewAt
	}
	c.tok.flight = nil
	f.value, f.err = value, err
	c.tok.mu.Unlock()
	if err == nil {
		c.log.DebugContext(ctx, "pochipay token renewed", "renew_at", renewAt)
	}
	close(f.done)
}

// dropToken forgets the cached token if it is still the one Pochipay
// refused; a newer token fetched meanwhile by another caller is kept.
func (c *Client) dropToken(refused string) {
	c.tok.mu.Lock()
	if c.tok.value == refused {
		c.tok.value = ""
	}
	c.tok.mu.Unlock()
}

// requestToken asks /account/token for a token and works out when to
// renew it.
func (c *Client) requestToken(ctx context.Context) (string, time.Time, error) {
	const op = "request token"
	payload, err := json.Marshal(tokenRequest{Email: c.email, Password: c.password})
	if err != nil {
		return "", time.Time{}, &Error{Op: op, Err: errors.New("cannot encode the request")}
	}
	issued := c.now() // before sending: the token cannot be older than this
	a, err := c.exchange(ctx, op, http.MethodPost, pathToken, nil, payload, "")
	if err != nil {
		return "", time.Time{}, err
	}
	var tr tokenResult
	if err := c.decode(op, a, &tr); err != nil {
		return "", time.Time{}, err
	}
	tok := tr.AccessToken.text()
	if tok == "" {
		tok = tr.AccessTokenSnake.text()
	}
	if tok == "" {
		return "", time.Time{}, &Error{Op: op, HTTPStatus: a.status, Err: errors.New("answer has no result.accessToken")}
	}
	return tok, issued.Add(lifetime(tr.ExpiresIn.text()) - tokenEarly), nil
}

// lifetime reads expiresIn (seconds): tokenLifetime when it is missing,
// unreadable or not positive, and never more than tokenLifetime.
func lifetime(expiresIn string) time.Duration {
	secs, err := strconv.ParseFloat(expiresIn, 64)
	if err != nil || !(secs > 0) || secs >= tokenLifetime.Seconds() {
		return tokenLifetime
	}
	return time.Duration(secs * float64(time.Second))
}
