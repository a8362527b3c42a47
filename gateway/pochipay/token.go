package pochipay

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"strconv"
	"time"

	"checkout/gateway/internal/httpx"
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

// tokenCache is the client's bearer token (see httpx.TokenCache), with the
// test hook under the name this package's tests set.
type tokenCache struct {
	httpx.TokenCache

	// waiting, when set (by tests), is called each time a caller starts
	// waiting for a token request; New makes TokenCache.OnWait call it.
	waiting func()
}

// bearer returns a valid token from c.tok, which shares one token request
// among concurrent callers. A caller whose ctx ends first gets an *Error;
// the request goes on for the others.
func (c *Client) bearer(ctx context.Context) (string, error) {
	tok, err := c.tok.Token(ctx)
	if errors.Is(err, httpx.ErrStoppedWaiting) {
		return "", &Error{Op: "request token", Err: errors.Join(errors.New("stopped waiting for a token"), ctx.Err())}
	}
	return tok, err
}

// requestToken asks /account/token for a token and works out when to
// renew it. It is c.tok's Fetch. A token whose renewal time has already
// passed (a very short expiresIn) is still used by the callers waiting for
// it, just not cached.
func (c *Client) requestToken(ctx context.Context) (string, time.Time, error) {
	const op = "request token"
	payload, err := json.Marshal(tokenRequest{Email: c.email, Password: c.password})
	if err != nil {
		return "", time.Time{}, &Error{Op: op, Err: errors.New("cannot encode the request")}
	}
	issued := c.now() // before sending: the token cannot be older than this
	a, err := c.be.Do(ctx, c.request(op, http.MethodPost, pathToken, nil, payload))
	if err != nil {
		return "", time.Time{}, err
	}
	var tr tokenResult
	if err := c.decode(op, a, &tr); err != nil {
		return "", time.Time{}, err
	}
	tok := tr.AccessToken.Trimmed()
	if tok == "" {
		tok = tr.AccessTokenSnake.Trimmed()
	}
	if tok == "" {
		return "", time.Time{}, &Error{Op: op, HTTPStatus: a.Status, Err: errors.New("answer has no result.accessToken")}
	}
	renewAt := issued.Add(lifetime(tr.ExpiresIn.Trimmed()) - tokenEarly)
	c.log.DebugContext(ctx, "pochipay token renewed", "renew_at", renewAt)
	return tok, renewAt, nil
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
