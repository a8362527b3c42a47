// Package pochipay is the client for Pochipay's M-Pesa collections (STK
// push), written from the published page (shared/providers/pochipay-api.txt)
// and the project's notes on it (shared/providers/README.md): bearer
// tokens, the collection request, the collection callback, and the two
// status calls, transaction-status and collection-query. Payouts (payouts.go)
// sends money out with the same login and code: send-to-mobile, its
// callback, disbursement transaction-status and cancel, and the account
// balance.
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
	"log/slog"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"time"

	"checkout/gateway"
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
	// Observer is told of every HTTP exchange, for metrics (nil: none).
	Observer gateway.CallObserver
}

// Client talks to Pochipay. It is safe for concurrent use; create it with
// New. It implements gateway.STKProvider.
type Client struct {
	base     string // BaseURL without a trailing slash
	email    string
	password string
	now      func() time.Time
	log      *slog.Logger
	// be does every HTTP exchange: timeout, size limit, 401 renewal,
	// retries.
	be httpx.Backend
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
		now:      cfg.Now,
		log:      cfg.Logger,
		be: httpx.Backend{
			Provider:  "pochipay",
			HTTP:      cfg.HTTPClient,
			Timeout:   cfg.Timeout,
			MaxAnswer: maxAnswer,
			Sleep:     cfg.Sleep,
			Wrap:      wrapFailure,
			Observer:  cfg.Observer,
		},
	}
	c.secrets = httpx.NewSecrets(cfg.Email, cfg.Password)
	if c.be.HTTP == nil {
		c.be.HTTP = httpx.NewClient()
	}
	if c.be.Timeout == 0 {
		c.be.Timeout = DefaultTimeout
	}
	if c.now == nil {
		c.now = time.Now
	}
	if c.be.Sleep == nil {
		c.be.Sleep = httpx.Sleep
	}
	if c.log == nil {
		c.log = slog.New(slog.DiscardHandler)
	}
	c.log = c.log.With("provider", "pochipay")
	c.be.Log = c.log
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
type answer = httpx.Answer

// wrapFailure turns an exchange that gave no usable answer into an *Error:
// HTTPStatus 0 and the cause wrapped when no HTTP answer came back.
func wrapFailure(f *httpx.Failure) error {
	return &Error{Op: f.Op, HTTPStatus: f.HTTPStatus, Err: f, transport: f.Kind == httpx.NoAnswer}
}

// request describes one request to path: JSON accepted, and sent when
// there is a payload.
func (c *Client) request(op, method, path string, query url.Values, payload []byte) httpx.Request {
	target := c.base + path
	if len(query) > 0 {
		target += "?" + query.Encode()
	}
	h := http.Header{}
	h.Set("Accept", "application/json")
	if payload != nil {
		h.Set("Content-Type", "application/json")
	}
	return httpx.Request{Op: op, Method: method, URL: target, Path: path, Body: payload, Header: h}
}

// call sends one authenticated request. When Pochipay answers 401 the
// cached token is dropped and the request is sent once more with a fresh
// token (see httpx.Backend.WithBearer): safe even for the collection
// request.
func (c *Client) call(ctx context.Context, op, method, path string, query url.Values, payload any) (answer, error) {
	var body []byte
	if payload != nil {
		b, err := json.Marshal(payload)
		if err != nil {
			return answer{}, &Error{Op: op, Err: fmt.Errorf("cannot encode the request: %w", err)}
		}
		body = b
	}
	return c.be.WithBearer(ctx, c.request(op, method, path, query, body), c.bearer, c.tok.Drop)
}

// decode reads a Pochipay answer into v, the type of its "result": an
// answer that is not 2xx, not JSON, carries errors, or has no result
// object becomes an *Error.
func (c *Client) decode(op string, a answer, v any) error {
	if a.Status < 200 || a.Status > 299 {
		return c.answerError(op, a)
	}
	if !json.Valid(a.Body) {
		return &Error{Op: op, HTTPStatus: a.Status, Err: errors.New(httpx.NotJSON(a.ContentType, len(a.Body)))}
	}
	var env envelope
	if err := json.Unmarshal(a.Body, &env); err != nil {
		// encoding/json's messages name fields and types, never values.
		return &Error{Op: op, HTTPStatus: a.Status, Err: fmt.Errorf("unexpected answer: %w", err)}
	}
	if len(env.Errors) > 0 {
		// Pochipay's answers can carry their failure in a 200.
		return &Error{Op: op, HTTPStatus: a.Status, Messages: c.cleanAll(a, env.Message, env.Errors)}
	}
	r := bytes.TrimSpace(env.Result)
	if len(r) == 0 || string(r) == "null" {
		return &Error{Op: op, HTTPStatus: a.Status, Messages: c.cleanAll(a, env.Message), Err: errors.New("answer has no result")}
	}
	if err := json.Unmarshal(r, v); err != nil {
		return &Error{Op: op, HTTPStatus: a.Status, Err: fmt.Errorf("unexpected result: %w", err)}
	}
	return nil
}

// answerError turns an answer that is not 2xx into an *Error with
// Pochipay's messages when the body has any.
func (c *Client) answerError(op string, a answer) *Error {
	e := &Error{Op: op, HTTPStatus: a.Status}
	switch {
	case len(bytes.TrimSpace(a.Body)) == 0:
		e.Err = errors.New("empty answer (" + http.StatusText(a.Status) + ")")
	case !json.Valid(a.Body):
		e.Err = errors.New(httpx.NotJSON(a.ContentType, len(a.Body)))
	default:
		var env envelope
		if json.Unmarshal(a.Body, &env) == nil {
			e.Messages = c.cleanAll(a, env.Message, env.Errors)
		}
		if len(e.Messages) == 0 {
			e.Err = errors.New(http.StatusText(a.Status))
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
			m = c.clean(m, a.Bearer)
			if m != "" && len(out) < maxMessages && !slices.Contains(out, m) {
				out = append(out, m)
			}
		}
	}
	return out
}

// clean makes provider-written text fit for an error: the email, the
// password and the bearer token removed (in case an answer echoes them),
// control characters dropped, at most maxMessageLen characters. It redacts
// again after dropping characters: a secret split by a control character or
// invalid UTF-8 is whole again once they are gone.
func (c *Client) clean(s, bearer string) string {
	return c.secrets.Redact(plainText(c.secrets.Redact(s, bearer)), bearer)
}

// shouldRetry says whether a failed try of a repeatable call may be tried
// again, and why (see httpx.ShouldRetry): on network errors, timeouts and
// 5xx answers.
func shouldRetry(ctx context.Context, err error) (bool, string) {
	return httpx.ShouldRetry(ctx, err, "Pochipay", func(e *Error) (bool, int) { return e.transport, e.HTTPStatus })
}

// withRetries runs a repeatable call up to httpx.Tries times while
// shouldRetry allows, waiting httpx.RetryWait between tries.
func withRetries[T any](ctx context.Context, c *Client, op string, once func() (T, error)) (T, error) {
	return httpx.Retry(ctx, &c.be, op, shouldRetry, once)
}
