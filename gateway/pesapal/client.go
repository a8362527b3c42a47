// Package pesapal is the client for Pesapal API 3.0, written from the
// provider document (shared/providers/pesapal-api-3.0.txt): bearer tokens,
// IPN registration, SubmitOrderRequest, GetTransactionStatus, and the IPN
// notification with its JSON acknowledgement.
//
// It is shaped like stripe-go's clients: a Client built from a Config, request
// and response structs that mirror the document field for field, one typed
// *Error carrying Pesapal's code and message, a timeout on every HTTP
// exchange, and retries only where repeating is safe. GetTransactionStatus is
// retried on network errors, timeouts and 5xx; SubmitOrderRequest never is,
// because a repeat could start a second payment.
//
// Pesapal quirks handled here:
//   - A payment still pending is answered as an error object with code
//     payment_details_not_found ("Pending Payment"): alone as the whole
//     body, or under "error" in the full status answer (body status "500"),
//     with HTTP 200, 400 or 500. Wherever it sits it is reported as pending:
//     not an error, not a failure, and not retried. The document shows
//     neither form; testdata/ASSUMED.md lists them with the other shapes we
//     assume.
//   - status_code 0 (INVALID) means nothing has been paid yet; it maps to
//     pending and the checkout's own expiry ends it.
//   - The body's "status" is a string ("200", "500") that can disagree with
//     the HTTP status, so both are checked.
//   - The error object names its first field "type" in the generic error
//     object and "error_type" elsewhere; ErrorObject reads both.
//
// The consumer secret and bearer tokens never appear in errors or logs.
package pesapal

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
	"strings"
	"time"

	"checkout/gateway/internal/httpx"
)

// Endpoint paths under Config.BaseURL, as the document names them.
const (
	pathToken          = "/api/Auth/RequestToken"
	pathRegisterIPN    = "/api/URLSetup/RegisterIPN"
	pathIPNList        = "/api/URLSetup/GetIpnList"
	pathSubmitOrder    = "/api/Transactions/SubmitOrderRequest"
	pathTransactionSts = "/api/Transactions/GetTransactionStatus"
)

const (
	// DefaultTimeout bounds one HTTP exchange when Config.Timeout is zero.
	DefaultTimeout = 10 * time.Second
	// tokenLifetime is the document's "valid for a maximum period of 5
	// minutes"; it is also assumed when expiryDate is missing or unreadable.
	tokenLifetime = 5 * time.Minute
	// tokenEarly renews a token this long before it expires, so that a token
	// taken from the cache does not expire on its way to Pesapal.
	tokenEarly = 30 * time.Second
	// maxAnswer caps how much of an answer is read; Pesapal's are a few KB.
	maxAnswer = 1 << 20
)

// Config configures a Client. BaseURL, ConsumerKey and ConsumerSecret are
// required; the other fields have defaults.
type Config struct {
	// BaseURL is the API root without a trailing path, for example
	// https://pay.pesapal.com/v3 (live) or https://cybqa.pesapal.com/pesapalv3
	// (sandbox). Endpoint paths such as /api/Auth/RequestToken are appended.
	BaseURL string
	// ConsumerKey and ConsumerSecret are the merchant credentials that buy
	// bearer tokens. The secret never appears in errors or logs.
	ConsumerKey    string
	ConsumerSecret string
	// HTTPClient sends every request (a new http.Client when nil). Its own
	// Timeout, if any, applies on top of Timeout.
	HTTPClient *http.Client
	// Timeout bounds each HTTP exchange, token requests and each retry
	// included (DefaultTimeout when zero).
	Timeout time.Duration
	// Now is the clock used for token expiry (time.Now when nil).
	Now func() time.Time
	// Logger receives Debug lines about exchanges, retries and token
	// renewals, never a token or the secret (discarded when nil).
	Logger *slog.Logger
	// Sleep waits between retries and returns early with ctx's error when ctx
	// ends (a timer when nil). Tests replace it so that nothing sleeps.
	Sleep func(ctx context.Context, d time.Duration) error
}

// Client talks to Pesapal API 3.0. It is safe for concurrent use; create it
// with New.
type Client struct {
	base    string // BaseURL without a trailing slash
	key     string
	secret  string
	http    *http.Client
	timeout time.Duration
	now     func() time.Time
	log     *slog.Logger
	sleep   func(ctx context.Context, d time.Duration) error

	tok httpx.TokenCache
}

// New checks cfg and returns a Client. It names the missing field when
// BaseURL, ConsumerKey or ConsumerSecret is empty.
func New(cfg Config) (*Client, error) {
	switch {
	case strings.TrimSpace(cfg.BaseURL) == "":
		return nil, errors.New("pesapal: Config.BaseURL is required")
	case strings.TrimSpace(cfg.ConsumerKey) == "":
		return nil, errors.New("pesapal: Config.ConsumerKey is required")
	case strings.TrimSpace(cfg.ConsumerSecret) == "":
		return nil, errors.New("pesapal: Config.ConsumerSecret is required")
	case cfg.Timeout < 0:
		return nil, errors.New("pesapal: Config.Timeout must not be negative")
	}
	u, err := url.Parse(cfg.BaseURL)
	if err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" || u.RawQuery != "" || u.Fragment != "" {
		return nil, errors.New("pesapal: Config.BaseURL must be an absolute http(s) URL without query, like https://pay.pesapal.com/v3")
	}
	c := &Client{
		base:    strings.TrimRight(cfg.BaseURL, "/"),
		key:     cfg.ConsumerKey,
		secret:  cfg.ConsumerSecret,
		http:    cfg.HTTPClient,
		timeout: cfg.Timeout,
		now:     cfg.Now,
		log:     cfg.Logger,
		sleep:   cfg.Sleep,
	}
	if c.http == nil {
		c.http = &http.Client{}
	}
	if c.timeout == 0 {
		c.timeout = DefaultTimeout
	}
	if c.now == nil {
		c.now = time.Now
	}
	if c.log == nil {
		c.log = slog.New(slog.DiscardHandler)
	}
	c.log = c.log.With("provider", "pesapal")
	if c.sleep == nil {
		c.sleep = httpx.Sleep
	}
	c.tok.Fetch, c.tok.Now = c.requestToken, c.now
	return c, nil
}

// answer is one HTTP answer from Pesapal, read in full.
type answer struct {
	status      int
	contentType string
	body        []byte
	bearer      string // the token sent, so error text can be cleaned of it
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
		return answer{}, &Error{Op: op, Message: "cannot build the request", Err: err}
	}
	// The document asks for both headers on every endpoint, GETs included.
	req.Header.Set("Accept", "application/json")
	req.Header.Set("Content-Type", "application/json")
	if bearer != "" {
		req.Header.Set("Authorization", "Bearer "+bearer)
	}

	start := time.Now()
	resp, err := c.http.Do(req)
	if err != nil {
		c.log.DebugContext(ctx, "pesapal exchange failed", "op", op, "method", method, "path", path,
			"duration", time.Since(start), "error", err)
		return answer{}, c.transportError(op, actx, err)
	}
	defer resp.Body.Close()
	raw, err := io.ReadAll(io.LimitReader(resp.Body, maxAnswer+1))
	if err != nil {
		return answer{}, c.transportError(op, actx, fmt.Errorf("reading the answer: %w", err))
	}
	if len(raw) > maxAnswer {
		return answer{}, &Error{Op: op, HTTPStatus: resp.StatusCode, Message: "answer is larger than 1 MiB"}
	}
	c.log.DebugContext(ctx, "pesapal exchange", "op", op, "method", method, "path", path,
		"http_status", resp.StatusCode, "bytes", len(raw), "duration", time.Since(start))
	return answer{status: resp.StatusCode, contentType: resp.Header.Get("Content-Type"), body: raw, bearer: bearer}, nil
}

// transportError describes a request that got no HTTP answer (see
// httpx.TransportFailure).
func (c *Client) transportError(op string, actx context.Context, err error) *Error {
	cause, what := httpx.TransportFailure(actx, err)
	return &Error{Op: op, Message: what, Err: cause, transport: true}
}

// call sends one authenticated request. When Pesapal answers 401 the cached
// token is dropped and the request is sent once more with a fresh token.
func (c *Client) call(ctx context.Context, op, method, path string, query url.Values, payload any) (answer, error) {
	var body []byte
	if payload != nil {
		b, err := json.Marshal(payload)
		if err != nil {
			return answer{}, &Error{Op: op, Message: "cannot encode the request", Err: err}
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
	// A 401 means Pesapal refused the token before doing anything (it
	// expired early, was revoked, or our clock is off), so repeating is safe
	// even for SubmitOrderRequest. Only once: a second 401 is an error.
	c.tok.Drop(tok)
	c.log.DebugContext(ctx, "pesapal token refused, renewing", "op", op)
	tok, err = c.bearer(ctx)
	if err != nil {
		return answer{}, err
	}
	return c.exchange(ctx, op, method, path, query, body, tok)
}

// decode reads a 2xx JSON answer into v; any other answer becomes an *Error.
func (c *Client) decode(op string, a answer, v any) error {
	if a.status < 200 || a.status > 299 {
		return c.answerError(op, a)
	}
	if !json.Valid(a.body) {
		return &Error{Op: op, HTTPStatus: a.status, Message: httpx.NotJSON(a.contentType, len(a.body))}
	}
	if err := json.Unmarshal(a.body, v); err != nil {
		// encoding/json's messages name fields and types, never values.
		return &Error{Op: op, HTTPStatus: a.status, Message: "unexpected answer", Err: err}
	}
	return nil
}

// answerError turns an answer that is not a success into an *Error, with
// Pesapal's error object when the body carries one.
func (c *Client) answerError(op string, a answer) *Error {
	e := &Error{Op: op, HTTPStatus: a.status}
	if !json.Valid(a.body) {
		if len(bytes.TrimSpace(a.body)) == 0 {
			e.Message = "empty answer (" + http.StatusText(a.status) + ")"
		} else {
			e.Message = httpx.NotJSON(a.contentType, len(a.body))
		}
		return e
	}
	var env struct {
		Error   *ErrorObject `json:"error"`
		Message string       `json:"message"`
	}
	if err := json.Unmarshal(a.body, &env); err != nil {
		e.Message = "unexpected answer: " + err.Error()
		return e
	}
	c.fill(e, a, env.Error, env.Message)
	return e
}

// bodyError reports the failure that a 2xx answer carries in its body:
// Pesapal often answers HTTP 200 with an error object and a status of "500".
func (c *Client) bodyError(op string, a answer, obj *ErrorObject, status, message string) error {
	if obj.empty() && (status == "" || strings.HasPrefix(status, "2")) {
		return nil
	}
	e := &Error{Op: op, HTTPStatus: a.status}
	c.fill(e, a, obj, message)
	if e.Message == "" {
		e.Message = "answer has status " + status
	}
	return e
}

// fill copies Pesapal's error object into e, cleaned of credentials.
func (c *Client) fill(e *Error, a answer, obj *ErrorObject, fallback string) {
	if !obj.empty() {
		e.Type = c.redact(obj.kind(), a.bearer)
		e.Code = c.redact(obj.Code, a.bearer)
		e.Message = c.redact(obj.Message, a.bearer)
	}
	if e.Message == "" {
		e.Message = c.redact(fallback, a.bearer)
	}
	if e.Message == "" && (a.status < 200 || a.status > 299) {
		e.Message = http.StatusText(a.status)
	}
}

// redact removes the credentials from text that Pesapal wrote, in case an
// answer echoes them.
func (c *Client) redact(s, bearer string) string {
	for _, secret := range []string{c.secret, c.key, bearer} {
		if len(secret) >= 4 {
			s = strings.ReplaceAll(s, secret, "[redacted]")
		}
	}
	return s
}

// tokenRequest is the RequestToken body.
type tokenRequest struct {
	ConsumerKey    string `json:"consumer_key"`
	ConsumerSecret string `json:"consumer_secret"`
}

// tokenResponse is the RequestToken answer.
type tokenResponse struct {
	Token      string       `json:"token"`
	ExpiryDate string       `json:"expiryDate"`
	Error      *ErrorObject `json:"error"`
	Status     string       `json:"status"`
	Message    string       `json:"message"`
}

// bearer returns a valid token from c.tok, which shares one token request
// among concurrent callers. A caller whose ctx ends first gets an *Error;
// the request goes on for the others.
func (c *Client) bearer(ctx context.Context) (string, error) {
	tok, err := c.tok.Token(ctx)
	if errors.Is(err, httpx.ErrStoppedWaiting) {
		return "", &Error{Op: "request token", Message: "stopped waiting for a token", Err: ctx.Err()}
	}
	return tok, err
}

// requestToken asks RequestToken for a token and works out when to renew it.
// It is c.tok's Fetch. A token whose renewal time has already passed (our
// clock ahead of Pesapal's) is still used by the callers waiting for it,
// just not cached.
func (c *Client) requestToken(ctx context.Context) (string, time.Time, error) {
	const op = "request token"
	payload, err := json.Marshal(tokenRequest{ConsumerKey: c.key, ConsumerSecret: c.secret})
	if err != nil {
		return "", time.Time{}, &Error{Op: op, Message: "cannot encode the request", Err: err}
	}
	a, err := c.exchange(ctx, op, http.MethodPost, pathToken, nil, payload, "")
	if err != nil {
		return "", time.Time{}, err
	}
	var tr tokenResponse
	if err := c.decode(op, a, &tr); err != nil {
		return "", time.Time{}, err
	}
	if err := c.bodyError(op, a, tr.Error, tr.Status, tr.Message); err != nil {
		return "", time.Time{}, err
	}
	if tr.Token == "" {
		return "", time.Time{}, &Error{Op: op, HTTPStatus: a.status, Message: "answer has no token"}
	}
	renewAt := c.renewTime(tr.ExpiryDate)
	c.log.DebugContext(ctx, "pesapal token renewed", "renew_at", renewAt)
	return tr.Token, renewAt, nil
}

// renewTime is when a token with the given expiryDate should be replaced:
// 30 s before it expires, and never later than the document's 5 minutes
// from now, which also covers a missing or unreadable expiryDate and a
// Pesapal clock running ahead of ours.
func (c *Client) renewTime(expiryDate string) time.Time {
	now := c.now()
	expires := now.Add(tokenLifetime)
	if t, ok := parseTime(expiryDate); ok && t.Before(expires) {
		expires = t
	}
	return expires.Add(-tokenEarly)
}

// parseTime reads Pesapal's dates: RFC 3339 with up to 7 decimals
// ("2021-08-26T12:29:30.5177702Z"), or the same without a zone, which the
// document says is UTC ("2022-04-30T07:41:09.763").
func parseTime(s string) (time.Time, bool) {
	s = strings.TrimSpace(s)
	if t, err := time.Parse(time.RFC3339Nano, s); err == nil {
		return t, true
	}
	if t, err := time.ParseInLocation("2006-01-02T15:04:05.999999999", s, time.UTC); err == nil {
		return t, true
	}
	return time.Time{}, false
}
