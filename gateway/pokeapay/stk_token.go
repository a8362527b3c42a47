package pokeapay

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"math"
	"strconv"
	"strings"
	"sync"
	"time"
)

// tokenEarly renews a token this long before it expires, so that a token
// taken from the cache does not expire on its way to PokeaPay.
const tokenEarly = 60 * time.Second

// tokenCache holds the current token and the login fetching a new one.
type tokenCache struct {
	mu      sync.Mutex
	value   string
	renewAt time.Time
	flight  *tokenFlight // non-nil while a login is under way

	// waiting, when set (by tests), is called each time a caller starts
	// waiting for a login.
	waiting func()
}

// tokenFlight is one login that every waiting caller shares.
type tokenFlight struct {
	done  chan struct{}
	value string
	err   error
}

// bearer returns a valid token: the cached one, or a new one. Concurrent
// callers that find no token share a single login.
func (c *STKClient) bearer(ctx context.Context) (string, error) {
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
		// The login runs apart from this caller's context so that one
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
		return "", &Error{Op: "login", Message: "stopped waiting for a token", Err: ctx.Err()}
	}
}

// fetchToken runs one login and publishes its outcome to f's waiters.
func (c *STKClient) fetchToken(ctx context.Context, f *tokenFlight) {
	value, renewAt, err := c.login(ctx)
	c.tok.mu.Lock()
	// A token whose renewal time has already passed (an exp in our past:
	// PokeaPay's clock behind ours) is still handed to the callers waiting
	// now, just not cached.
	if err == nil && c.now().Before(renewAt) {
		c.tok.value, c.tok.renewAt = value, renewAt
	}
	c.tok.flight = nil
	f.value, f.err = value, err
	c.tok.mu.Unlock()
	if err == nil {
		c.log.DebugContext(ctx, "pokeapay logged in", "renew_at", renewAt)
	}
	close(f.done)
}

// dropToken forgets the cached token if it is still the one PokeaPay
// refused; a newer token fetched meanwhile by another caller is kept.
func (c *STKClient) dropToken(refused string) {
	c.tok.mu.Lock()
	if c.tok.value == refused {
		c.tok.value = ""
	}
	c.tok.mu.Unlock()
}

// login asks POST /login for a token and works out when to renew it. The
// answer is judged by its "success" and its token, not its HTTP status
// (the document's refusal came with 400, but the STK answers show the two
// disagreeing). A refusal is an *Error with PokeaPay's text, cleaned of the
// email and password.
func (c *STKClient) login(ctx context.Context) (string, time.Time, error) {
	const op = "login"
	payload, err := encodeJSON(loginRequest{Email: c.email, Password: c.password})
	if err != nil {
		return "", time.Time{}, &Error{Op: op, Message: "cannot encode the request"}
	}
	a, err := c.exchange(ctx, op, pathLogin, payload, "")
	if err != nil {
		return "", time.Time{}, err
	}
	env, err := c.envelope(op, a)
	if err != nil {
		return "", time.Time{}, err
	}
	var d loginData
	decodeData(env.Data, &d)
	tok := d.Token.text()
	if !env.Success.isTrue() || tok == "" {
		e := &Error{Op: op, HTTPStatus: a.status, Message: c.text(env, "")}
		switch {
		case e.Message == "" && env.Success.isTrue():
			e.Message = "answer has no data.token"
		case e.Message == "":
			e.Message = "login refused"
		case env.Success.isTrue():
			e.Message = "answer has no data.token: " + e.Message
		}
		if tok != "" {
			// A token beside a failure is not used; it must not be echoed
			// either.
			e.Message = c.clean(e.Message, tok)
		}
		return "", time.Time{}, e
	}
	return tok, c.renewTime(tok), nil
}

// renewTime is when tok should be replaced: tokenEarly before the expiry
// its JWT payload states, or, when that cannot be read, tokenEarly before
// stkTokenLifetime from now.
func (c *STKClient) renewTime(tok string) time.Time {
	expires, ok := jwtExpiry(tok)
	if !ok {
		expires = c.now().Add(stkTokenLifetime)
	}
	return expires.Add(-tokenEarly)
}

// maxNumericDate is the last second of year 9999: an exp past it is not a
// date anyone wrote on purpose.
const maxNumericDate = 253402300799

// jwtExpiry reads the "exp" claim (seconds since 1970, RFC 7519's
// NumericDate) from the payload of a JWT: the second of its three
// base64url parts, padded or not. The signature is not checked: this is
// our own token, and the expiry only decides when to log in again (a
// token PokeaPay refuses early is handled by the 401 path). ok is false
// for anything that is not a JWT with a positive exp up to year 9999.
func jwtExpiry(tok string) (t time.Time, ok bool) {
	parts := strings.Split(tok, ".")
	if len(parts) != 3 {
		return time.Time{}, false
	}
	payload, err := base64.RawURLEncoding.DecodeString(strings.TrimRight(parts[1], "="))
	if err != nil {
		return time.Time{}, false
	}
	var claims struct {
		Exp looseString `json:"exp"`
	}
	if err := json.Unmarshal(payload, &claims); err != nil {
		return time.Time{}, false
	}
	exp, err := strconv.ParseFloat(claims.Exp.text(), 64)
	if err != nil || !(exp > 0) || exp > maxNumericDate {
		return time.Time{}, false
	}
	sec, frac := math.Modf(exp)
	return time.Unix(int64(sec), int64(frac*1e9)), true
}
