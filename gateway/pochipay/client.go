// Package pochipay is the client for Pochipay's M-Pesa collections (STK
// push), written from the published page (shared/providers/pochipay-api.txt)
// and the project's notes on it (shared/providers/README.md): bearer
// tokens, the collection request, the collection callback, and the two
// status calls, transaction-status and collection-query. Disbursements have
// their request and answer types (wire.go) but no call yet.
//
// It is shaped like stripe-go's clients and the sibling pesapal client: a
// Client built from a Config, request and answer types (wire.go), one typed
// *Error carrying Pochipay's messages, a timeout on every HTTP exchange, and
// retries only where repeating is safe. The status calls only read, so they
// are retried on network errors, timeouts and 5xx (3 tries, jittered
// backoff); the collection request never is, because a repeat could prompt
// the customer twice. The one exception, for every call, is a 401: Pochipay
// refused the token before doing anything, so the token is renewed and the
// call sent once more.
//
// The callback's own verdict is not trusted: it names the attempt, and
// Confirm (Pochipay's status calls) decides.
//
// # Assumed, confirm against the live sandbox
//
// The published page lost every sample body. The token answer is
// documented (Pochipay's developer site, quoted in the project's notes);
// every other field name, and what the client makes of each answer
// (not found, no amount, the texts of a busy phone), is an assumption.
// testdata/ASSUMED.md lists each one once, next to the example bodies the
// tests hold the client to; the names themselves live in wire.go only.
//
// The password, the email and bearer tokens never appear in errors, logs or
// the answers kept for the event log.
package pochipay

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"time"

	"checkout/gateway/internal/httpx"
)

// Defaults for Config fields left empty.
const (
	// DefaultBaseURL is the API root, from the published page.
	DefaultBaseURL = "https://app.pochipay.com/api/v1"
	// DefaultTimeout bounds one HTTP exchange when Config.Timeout is zero.
	DefaultTimeout = 10 * time.Second
)

// Endpoint paths under Config.BaseURL, from the published page.
const (
	pathToken             = "/account/token"
	pathCollect           = "/collections/mpesa"
	pathTransactionStatus = "/collections/mpesa/transaction-status"
	pathCollectionQuery   = "/collections/mpesa/collection-query"
)

const (
	// maxAnswer caps how much of an answer is read; Pochipay's are small.
	maxAnswer = 1 << 20
	// maxMessages and maxMessageLen bound the provider text kept in an
	// *Error.
	maxMessages   = 10
	maxMessageLen = 200
)

// Retry policy of the status calls, after stripe-go: capped exponential
// backoff with jitter.
const (
	maxStatusTries = 3
	backoffBase    = 500 * time.Millisecond
	backoffMax     = 5 * time.Second
)

// Config configures a Client. Email and Password are required; the other
// fields have defaults.
type Config struct {
	// BaseURL is the API root without a trailing slash (DefaultBaseURL
	// when empty). Paths such as /account/token are appended.
	BaseURL string
	// Email and Password are the merchant's API credentials, which buy
	// bearer tokens. Neither appears in errors or logs.
	Email    string
	Password string
	// HTTPClient sends every request (a new http.Client when nil). Its own
	// Timeout, if any, applies on top of Timeout.
	HTTPClient *http.Client
	// Timeout bounds each HTTP exchange, token requests and each retry
	// included (DefaultTimeout when zero).
	Timeout time.Duration
	// Now is the clock used for token expiry (time.Now when nil).
	Now func() time.Time
	// Sleep waits between retries and returns early with ctx's error when
	// ctx ends (a timer when nil). Tests replace it so that nothing sleeps.
	Sleep func(ctx context.Context, d time.Duration) error
	// Logger receives Debug lines about exchanges, retries and token
	// renewals, never a token or a credential (discarded when nil).
	Logger *slog.Logger
}

// Client talks to Pochipay. It is safe for concurrent use; create it with
// New. It implements gateway.STKProvider.
type Client struct {
	base     string // BaseURL without a trailing slash
	email    string
	password string
	http     *http.Client
	timeout  time.Duration
	now      func() time.Time
	sleep    func(ctx context.Context, d time.Duration) error
	log      *slog.Logger
	// secrets finds the email and the password in any case, to remove them
	// from text Pochipay writes.
	secrets httpx.Secrets

	tok tokenCache
}

// New checks cfg and returns a Client. It names the field when Email or
// Password is empty, BaseURL is not an absolute http(s) URL, or Timeout is
// negative.
func New(cfg Config) (*Client, error) {
	switch {
	case strings.TrimSpace(cfg.Email) == "":
		return nil, errors.New("pochipay: Config.Email is required")
	case strings.TrimSpace(cfg.Password) == "":
		return nil, errors.New("pochipay: Config.Password is required")
	case cfg.Timeout < 0:
		return nil, errors.New("pochipay: Config.Timeout must not be negative")
	}
	if cfg.BaseURL == "" {
		cfg.BaseURL = DefaultBaseURL
	}
	u, err := url.Parse(cfg.BaseURL)
	if err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" || u.User != nil ||
		u.RawQuery != "" || u.Fragment != "" {
		return nil, errors.New("pochipay: Config.BaseURL must be an absolute http(s) URL without query, like " + DefaultBaseURL)
	}
	c := &Client{
		base:     strings.TrimRight(cfg.BaseURL, "/"),
		email:    cfg.Email,
		password: cfg.Password,
		http:     cfg.HTTPClient,
		timeout:  cfg.Timeout,
		now:      cfg.Now,
		sleep:    cfg.Sleep,
		log:      cfg.Logger,
	}
	c.secrets = httpx.NewSecrets(cfg.Email, cfg.Password)
	if c.http == nil {
		c.http = &http.Client{}
	}
	if c.timeout == 0 {
		c.timeout = DefaultTimeout
	}
	if c.now == nil {
		c.now = time.Now
	}
	if c.sleep == nil {
		c.sleep = httpx.Sleep
	}
	if c.log == nil {
		c.log = slog.New(slog.DiscardHandler)
	}
	c.log = c.log.With("provider", "pochipay")
	c.tok.Fetch, c.tok.Now = c.requestToken, c.now
	// Read at each wait, so that a test may set waiting after New.
	c.tok.OnWait = func() {
		if c.tok.waiting != nil {
			c.tok.waiting()
		}
	}
	return c, nil
}

// Name is the provider's key in attempts and events.
func (c *Client) Name() string { return "pochipay" }

// answer is one HTTP answer from Pochipay, read in full.
type answer struct {
	status      int
	contentType string
	body        []byte
	bearer      string // the token sent, so that text can be cleaned of it
}

// exchange sends one request and reads its answer, within c.timeout. A
// transport failure (no HTTP answer) is an *Error with HTTPStatus 0 that
// wraps the cause; any HTTP answer, whatever its status, is returned as is.
func (c *Client) exchange(ctx context.Context, op, method, path string, query url.Values, payload []byte, bearer string) (answer, error) {
	actx, cancel := context.WithTimeout(ctx, c.timeout)
	defer cancel()

	target := c.base + path
	if len(query) > 0 {
		target += "?" + query.Encode()
	}
	var body io.Reader
	if payload != nil {
		body = bytes.NewReader(payload)
	}
	req, err := http.NewRequestWithContext(actx, method, target, body)
	if err != nil {
		return answer{}, &Error{Op: op, Err: fmt.Errorf("cannot build the request: %w", err)}
	}
	req.Header.Set("Accept", "application/json")
	if payload != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	if bearer != "" {
		req.Header.Set("Authorization", "Bearer "+bearer)
	}

	start := time.Now()
	resp, err := c.http.Do(req)
	if err != nil {
		c.log.DebugContext(ctx, "pochipay exchange failed", "op", op, "method", method, "path", path,
			"duration", time.Since(start), "error", err)
		return answer{}, transportError(op, actx, err)
	}
	defer resp.Body.Close()
	raw, err := io.ReadAll(io.LimitReader(resp.Body, maxAnswer+1))
	if err != nil {
		return answer{}, transportError(op, actx, fmt.Errorf("reading the answer: %w", err))
	}
	if len(raw) > maxAnswer {
		return answer{}, &Error{Op: op, HTTPStatus: resp.StatusCode, Err: errors.New("answer is larger than 1 MiB")}
	}
	c.log.DebugContext(ctx, "pochipay exchange", "op", op, "method", method, "path", path,
		"http_status", resp.StatusCode, "bytes", len(raw), "duration", time.Since(start))
	return answer{status: resp.StatusCode, contentType: resp.Header.Get("Content-Type"), body: raw, bearer: bearer}, nil
}

// transportError describes a request that got no HTTP answer (see
// httpx.TransportFailure).
func transportError(op string, actx context.Context, err error) *Error {
	cause, what := httpx.TransportFailure(actx, err)
	return &Error{Op: op, Err: fmt.Errorf("%s: %w", what, cause), transport: true}
}

// call sends one authenticated request. When Pochipay answers 401 the
// cached token is dropped and the request is sent once more with a fresh
// token.
func (c *Client) call(ctx context.Context, op, method, path string, query url.Values, payload any) (answer, error) {
	var body []byte
	if payload != nil {
		b, err := json.Marshal(payload)
		if err != nil {
			return answer{}, &Error{Op: op, Err: fmt.Errorf("cannot encode the request: %w", err)}
		}
		body = b
	}
	tok, err := c.bearer(ctx)
	if err != nil {
		return answer{}, err
	}
	a, err := c.exchange(ctx, op, method, path, query, body, tok)
	if err != nil || a.status != http.StatusUnauthorized {
		return a, err
	}
	// A 401 means Pochipay refused the token before doing anything (it
	// expired early, was revoked, or our clock is off), so repeating is
	// safe even for the collection request. Only once: a second 401 is an
	// error.
	c.tok.Drop(tok)
	c.log.DebugContext(ctx, "pochipay token refused, renewing", "op", op)
	tok, err = c.bearer(ctx)
	if err != nil {
		return answer{}, err
	}
	return c.exchange(ctx, op, method, path, query, body, tok)
}

// decode reads a Pochipay answer into v, the type of its "result": an
// answer that is not 2xx, not JSON, carries errors, or has no result
// object becomes an *Error.
func (c *Client) decode(op string, a answer, v any) error {
	if a.status < 200 || a.status > 299 {
		return c.answerError(op, a)
	}
	if !json.Valid(a.body) {
		return &Error{Op: op, HTTPStatus: a.status, Err: errors.New(httpx.NotJSON(a.contentType, len(a.body)))}
	}
	var env envelope
	if err := json.Unmarshal(a.body, &env); err != nil {
		// encoding/json's messages name fields and types, never values.
		return &Error{Op: op, HTTPStatus: a.status, Err: fmt.Errorf("unexpected answer: %w", err)}
	}
	if len(env.Errors) > 0 {
		// Pochipay's answers can carry their failure in a 200.
		return &Error{Op: op, HTTPStatus: a.status, Messages: c.cleanAll(a, env.Message, env.Errors)}
	}
	r := bytes.TrimSpace(env.Result)
	if len(r) == 0 || string(r) == "null" {
		return &Error{Op: op, HTTPStatus: a.status, Messages: c.cleanAll(a, env.Message), Err: errors.New("answer has no result")}
	}
	if err := json.Unmarshal(r, v); err != nil {
		return &Error{Op: op, HTTPStatus: a.status, Err: fmt.Errorf("unexpected result: %w", err)}
	}
	return nil
}

// answerError turns an answer that is not 2xx into an *Error with
// Pochipay's messages when the body has any.
func (c *Client) answerError(op string, a answer) *Error {
	e := &Error{Op: op, HTTPStatus: a.status}
	switch {
	case len(bytes.TrimSpace(a.body)) == 0:
		e.Err = errors.New("empty answer (" + http.StatusText(a.status) + ")")
	case !json.Valid(a.body):
		e.Err = errors.New(httpx.NotJSON(a.contentType, len(a.body)))
	default:
		var env envelope
		if json.Unmarshal(a.body, &env) == nil {
			e.Messages = c.cleanAll(a, env.Message, env.Errors)
		}
		if len(e.Messages) == 0 {
			e.Err = errors.New(http.StatusText(a.status))
		}
	}
	return e
}

// cleanAll cleans and joins message lists, dropping repeats, at most
// maxMessages of them.
func (c *Client) cleanAll(a answer, lists ...messages) []string {
	var out []string
	for _, l := range lists {
		for _, m := range l {
			m = c.clean(m, a.bearer)
			if m != "" && len(out) < maxMessages && !slices.Contains(out, m) {
				out = append(out, m)
			}
		}
	}
	return out
}

// clean makes provider-written text fit for an error: the email, the
// password and the bearer token removed (in case an answer echoes them),
// control characters dropped, at most maxMessageLen characters.
func (c *Client) clean(s, bearer string) string {
	return plainText(c.secrets.Redact(s, bearer))
}

// shouldRetry says whether a failed try of a repeatable call may be tried
// again, and why (see httpx.ShouldRetry): on network errors, timeouts and
// 5xx answers.
func shouldRetry(ctx context.Context, err error) (bool, string) {
	return httpx.ShouldRetry(ctx, err, "Pochipay", func(e *Error) (bool, int) { return e.transport, e.HTTPStatus })
}

// backoff is the wait after the given try (1-based): 500 ms doubling per
// try, capped at 5 s, jittered (see httpx.Backoff).
func backoff(try int) time.Duration {
	return httpx.Backoff(try, backoffBase, backoffMax)
}

// withRetries runs a repeatable call up to maxStatusTries times while
// shouldRetry allows, sleeping backoff(try) between tries.
func withRetries[T any](ctx context.Context, c *Client, op string, once func() (T, error)) (T, error) {
	for try := 1; ; try++ {
		v, err := once()
		if err == nil {
			return v, nil
		}
		retry, reason := shouldRetry(ctx, err)
		if !retry || try == maxStatusTries {
			var zero T
			return zero, err
		}
		wait := backoff(try)
		c.log.DebugContext(ctx, "pochipay retrying", "op", op, "try", try, "reason", reason, "wait", wait)
		if serr := c.sleep(ctx, wait); serr != nil {
			var zero T
			return zero, &Error{Op: op, Err: fmt.Errorf("stopped before retrying (%s): %w", reason, serr)}
		}
	}
}
