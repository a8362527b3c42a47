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
// because a repeat could start a second payment. Refund (refund.go, from
// Pesapal's developer site, every shape assumed) sends RefundRequest once
// and is never retried either: a repeat could refund twice.
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
	"log/slog"
	"net/http"
	"net/url"
	"strings"
	"time"

	"checkout/gateway"
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
	// Observer is told of every HTTP exchange, for metrics (nil: none).
	Observer gateway.CallObserver
}

// Client talks to Pesapal API 3.0. It is safe for concurrent use; create it
// with New.
type Client struct {
	base   string // BaseURL without a trailing slash
	key    string
	secret string
	now    func() time.Time
	log    *slog.Logger
	// be does every HTTP exchange: timeout, size limit, 401 renewal,
	// retries.
	be httpx.Backend

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
		base:   strings.TrimRight(cfg.BaseURL, "/"),
		key:    cfg.ConsumerKey,
		secret: cfg.ConsumerSecret,
		now:    cfg.Now,
		log:    cfg.Logger,
		be: httpx.Backend{
			Provider:  "pesapal",
			HTTP:      cfg.HTTPClient,
			Timeout:   cfg.Timeout,
			MaxAnswer: maxAnswer,
			Sleep:     cfg.Sleep,
			Wrap:      wrapFailure,
			Observer:  cfg.Observer,
		},
	}
	if c.be.HTTP == nil {
		c.be.HTTP = httpx.NewClient()
	}
	if c.be.Timeout == 0 {
		c.be.Timeout = DefaultTimeout
	}
	if c.now == nil {
		c.now = time.Now
	}
	if c.log == nil {
		c.log = slog.New(slog.DiscardHandler)
	}
	c.log = c.log.With("provider", "pesapal")
	c.be.Log = c.log
	if c.be.Sleep == nil {
		c.be.Sleep = httpx.Sleep
	}
	c.tok.Fetch, c.tok.Now = c.requestToken, c.now
	return c, nil
}

// answer is one HTTP answer from Pesapal, read in full.
type answer = httpx.Answer

// wrapFailure turns an exchange that gave no usable answer into an *Error:
// HTTPStatus 0 and the cause wrapped when no HTTP answer came back.
func wrapFailure(f *httpx.Failure) error {
	return &Error{Op: f.Op, HTTPStatus: f.HTTPStatus, Message: f.What, Err: f.Err, transport: f.Kind == httpx.NoAnswer}
}

// request describes one request to path. The document asks for both
// JSON headers on every endpoint, GETs included.
func (c *Client) request(op, method, path string, query url.Values, payload []byte) httpx.Request {
	target := c.base + path
	if len(query) > 0 {
		target += "?" + query.Encode()
	}
	h := http.Header{}
	h.Set("Accept", "application/json")
	h.Set("Content-Type", "application/json")
	return httpx.Request{Op: op, Method: method, URL: target, Path: path, Body: payload, Header: h}
}

// call sends one authenticated request. When Pesapal answers 401 the cached
// token is dropped and the request is sent once more with a fresh token
// (see httpx.Backend.WithBearer): safe even for SubmitOrderRequest.
func (c *Client) call(ctx context.Context, op, method, path string, query url.Values, payload any) (answer, error) {
	var body []byte
	if payload != nil {
		b, err := json.Marshal(payload)
		if err != nil {
			return answer{}, &Error{Op: op, Message: "cannot encode the request", Err: err}
		}
		body = b
	}
	return c.be.WithBearer(ctx, c.request(op, method, path, query, body), c.bearer, c.tok.Drop)
}

// decode reads a 2xx JSON answer into v; any other answer becomes an *Error.
func (c *Client) decode(op string, a answer, v any) error {
	if a.Status < 200 || a.Status > 299 {
		return c.answerError(op, a)
	}
	// Unmarshal checks the whole body is JSON before it decodes anything,
	// so json.Valid is asked only of a body it refused.
	if err := json.Unmarshal(a.Body, v); err != nil {
		if !json.Valid(a.Body) {
			return &Error{Op: op, HTTPStatus: a.Status, Message: httpx.NotJSON(a.ContentType, len(a.Body))}
		}
		// encoding/json's messages name fields and types, never values.
		return &Error{Op: op, HTTPStatus: a.Status, Message: "unexpected answer", Err: err}
	}
	return nil
}

// answerError turns an answer that is not a success into an *Error, with
// Pesapal's error object when the body carries one.
func (c *Client) answerError(op string, a answer) *Error {
	e := &Error{Op: op, HTTPStatus: a.Status}
	if !json.Valid(a.Body) {
		if len(bytes.TrimSpace(a.Body)) == 0 {
			e.Message = "empty answer (" + http.StatusText(a.Status) + ")"
		} else {
			e.Message = httpx.NotJSON(a.ContentType, len(a.Body))
		}
		return e
	}
	var env struct {
		Error   *ErrorObject `json:"error"`
		Message string       `json:"message"`
	}
	if err := json.Unmarshal(a.Body, &env); err != nil {
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
	e := &Error{Op: op, HTTPStatus: a.Status}
	c.fill(e, a, obj, message)
	if e.Message == "" {
		e.Message = "answer has status " + c.redact(status, a.Bearer)
	}
	return e
}

// fill copies Pesapal's error object into e, cleaned of credentials.
func (c *Client) fill(e *Error, a answer, obj *ErrorObject, fallback string) {
	if !obj.empty() {
		e.Type = c.redact(obj.kind(), a.Bearer)
		e.Code = c.redact(obj.Code, a.Bearer)
		e.Message = c.redact(obj.Message, a.Bearer)
	}
	if e.Message == "" {
		e.Message = c.redact(fallback, a.Bearer)
	}
	if e.Message == "" && (a.Status < 200 || a.Status > 299) {
		e.Message = http.StatusText(a.Status)
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
	a, err := c.be.Do(ctx, c.request(op, http.MethodPost, pathToken, nil, payload))
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
		return "", time.Time{}, &Error{Op: op, HTTPStatus: a.Status, Message: "answer has no token"}
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
