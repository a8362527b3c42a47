package pokeapay

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"math"
	"strconv"
	"strings"
	"time"

	"checkout/gateway/internal/httpx"
)

// tokenEarly renews a token this long before it expires, so that a token
// taken from the cache does not expire on its way to PokeaPay.
const tokenEarly = 60 * time.Second

// tokenCache is the STK client's login token (see httpx.TokenCache), with
// the test hook under the name this package's tests set.
type tokenCache struct {
	httpx.TokenCache

	// waiting, when set (by tests), is called each time a caller starts
	// waiting for a login; NewSTK makes TokenCache.OnWait call it.
	waiting func()
}

// bearer returns a valid token from c.tok, which shares one login among
// concurrent callers. A caller whose ctx ends first gets an *Error; the
// login goes on for the others.
func (c *apiLogin) bearer(ctx context.Context) (string, error) {
	tok, err := c.tok.Token(ctx)
	if errors.Is(err, httpx.ErrStoppedWaiting) {
		return "", &Error{Op: "login", Message: "stopped waiting for a token", Err: ctx.Err()}
	}
	return tok, err
}

// login asks POST /login for a token and works out when to renew it. The
// answer is judged by its "success" and its token, not its HTTP status
// (the document's refusal came with 400, but the STK answers show the two
// disagreeing). A refusal is an *Error with PokeaPay's text, cleaned of the
// email and password. It is c.tok's Fetch. A token whose renewal time has
// already passed (an exp in our past: PokeaPay's clock behind ours) is still
// used by the callers waiting for it, just not cached.
func (c *apiLogin) login(ctx context.Context) (string, time.Time, error) {
	const op = "login"
	payload, err := encodeJSON(loginRequest{Email: c.email, Password: c.password})
	if err != nil {
		return "", time.Time{}, &Error{Op: op, Message: "cannot encode the request"}
	}
	a, err := c.exchange(ctx, op, pathLogin, payload, "", authBare)
	if err != nil {
		return "", time.Time{}, err
	}
	env, err := c.envelope(op, a)
	if err != nil {
		return "", time.Time{}, err
	}
	var d loginData
	decodeData(env.Data, &d)
	tok := d.Token.Trimmed()
	if !env.Success.isTrue() || tok == "" {
		e := &Error{Op: op, HTTPStatus: a.Status, Message: c.text(env, "")}
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
	renewAt := c.renewTime(tok)
	c.log.DebugContext(ctx, "pokeapay logged in", "renew_at", renewAt)
	return tok, renewAt, nil
}

// renewTime is when tok should be replaced: tokenEarly before the expiry
// its JWT payload states, or, when that cannot be read, tokenEarly before
// stkTokenLifetime from now.
func (c *apiLogin) renewTime(tok string) time.Time {
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
	exp, err := strconv.ParseFloat(claims.Exp.Trimmed(), 64)
	if err != nil || !(exp > 0) || exp > maxNumericDate {
		return time.Time{}, false
	}
	sec, frac := math.Modf(exp)
	return time.Unix(int64(sec), int64(frac*1e9)), true
}
