package pokeapay

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"strings"
	"sync/atomic"
	"time"

	"checkout/gateway"
	"checkout/gateway/internal/httpx"
)

// DefaultAPIURL is the root of PokeaPay's REST API (login, STK push,
// transaction query), from the document.
const DefaultAPIURL = "https://saf.pokeapay.com/api/v1"

// The STK API's paths under STKConfig.APIURL, from the document.
const (
	pathLogin            = "/login"
	pathSTKPush          = "/stkPush/transaction"
	pathTransactionQuery = "/transaction/query"
)

// STKConfig configures an STKClient. Email, Password and OutletCode are
// required; the other fields have defaults.
type STKConfig struct {
	// APIURL is the REST API root, without a trailing path
	// (DefaultAPIURL when empty). /login, /stkPush/transaction and
	// /transaction/query are appended.
	APIURL string
	// Email and Password are the merchant's API login. Neither appears in
	// errors or logs.
	Email    string
	Password string
	// OutletCode is the outlet code PokeaPay assigned, sent as "outletCode"
	// with every push and query.
	OutletCode string
	// HTTPClient sends every request (a new http.Client when nil). Its own
	// Timeout, if any, applies on top of Timeout.
	HTTPClient *http.Client
	// Timeout bounds each HTTP exchange, logins and each retry included
	// (DefaultTimeout, 10 s, when zero).
	Timeout time.Duration
	// Now is the clock used for token expiry (time.Now when nil).
	Now func() time.Time
	// Sleep waits between retries of the transaction query and returns
	// early with ctx's error when ctx ends (a timer when nil). Tests replace
	// it so that nothing sleeps.
	Sleep func(ctx context.Context, d time.Duration) error
	// Logger receives Debug lines about exchanges, retries and logins, and
	// a Warn when a push answer names another orderRef; never a credential
	// or a token (discarded when nil).
	Logger *slog.Logger
	// Observer is told of every HTTP exchange, for metrics (nil: none).
	Observer gateway.CallObserver
}

// STKClient talks to PokeaPay's REST API: M-Pesa STK push, its callback and
// the transaction query. It implements gateway.STKProvider, is safe for
// concurrent use, and is created with NewSTK.
type STKClient struct {
	// apiLogin is the REST API login, its token and the exchanges that
	// carry it, shared with B2C.
	apiLogin
	outletCode string
}

// apiLogin is PokeaPay's REST API login (POST {APIURL}/login) with its
// token cache, and the exchanges that carry the token: the STK client's,
// and the B2C remittance client's, whose token is "assumed to be the REST
// API login's" (testdata/ASSUMED.md, "B2C remittance").
type apiLogin struct {
	api      string // APIURL without a trailing slash
	email    string
	password string
	now      func() time.Time
	log      *slog.Logger
	// be does every HTTP exchange: timeout, size limit, retries.
	be httpx.Backend
	// secrets find the email and the password in any case, to remove them
	// from what PokeaPay writes back; a value too short to search for
	// safely has none.
	secrets httpx.Secrets

	tok tokenCache
	// auth is the form of the Authorization header: the document's bare
	// token until PokeaPay refuses it and accepts "Bearer <token>" instead
	// (see authForm).
	auth authForm
}

// newAPILogin sets up l for the login at api (already checked) with the
// given credentials; api names the client in log lines ("stk", "b2c").
func newAPILogin(l *apiLogin, apiURL, email, password string, hc *http.Client, timeout time.Duration,
	sleep func(context.Context, time.Duration) error, now func() time.Time, log *slog.Logger,
	obs gateway.CallObserver, api string) {
	l.api = strings.TrimRight(apiURL, "/")
	l.email, l.password, l.now, l.log = email, password, now, log
	l.secrets = httpx.NewSecrets(email, password)
	if l.now == nil {
		l.now = time.Now
	}
	if l.log == nil {
		l.log = slog.New(slog.DiscardHandler)
	}
	l.log = l.log.With("provider", "pokeapay", "api", api)
	l.be = newBackend(hc, timeout, sleep, l.log, nil)
	l.be.Observer = obs
	l.tok.Fetch, l.tok.Now = l.login, l.now
	// Read at each wait, so that a test may set waiting after NewSTK.
	l.tok.OnWait = func() {
		if l.tok.waiting != nil {
			l.tok.waiting()
		}
	}
}

// NewSTK checks cfg and returns an STKClient. It names the field when
// Email, Password or OutletCode is empty, OutletCode is not plain text,
// Timeout is negative, or APIURL is not an absolute http(s) URL.
func NewSTK(cfg STKConfig) (*STKClient, error) {
	switch {
	case strings.TrimSpace(cfg.Email) == "":
		return nil, errors.New("pokeapay: STKConfig.Email is required")
	case strings.TrimSpace(cfg.Password) == "":
		return nil, errors.New("pokeapay: STKConfig.Password is required")
	case strings.TrimSpace(cfg.OutletCode) == "":
		return nil, errors.New("pokeapay: STKConfig.OutletCode is required")
	case strings.TrimSpace(cfg.OutletCode) != cfg.OutletCode || !printable(cfg.OutletCode):
		return nil, errors.New("pokeapay: STKConfig.OutletCode must be printable, without spaces around it")
	case cfg.Timeout < 0:
		return nil, errors.New("pokeapay: STKConfig.Timeout must not be negative")
	}
	if cfg.APIURL == "" {
		cfg.APIURL = DefaultAPIURL
	}
	if _, err := baseURL(cfg.APIURL); err != nil {
		return nil, errors.New("pokeapay: STKConfig.APIURL must be an absolute http(s) URL without query, like " + DefaultAPIURL)
	}
	c := &STKClient{outletCode: cfg.OutletCode}
	newAPILogin(&c.apiLogin, cfg.APIURL, cfg.Email, cfg.Password, cfg.HTTPClient, cfg.Timeout, cfg.Sleep, cfg.Now,
		cfg.Logger, cfg.Observer, "stk")
	return c, nil
}

// Name is the provider's key in attempts and events.
func (c *STKClient) Name() string { return "pokeapay" }

// STKClient is an M-Pesa STK push backend.
var _ gateway.STKProvider = (*STKClient)(nil)

// stkAnswer is one HTTP answer from the STK API, read in full.
type stkAnswer = httpx.Answer

// exchange POSTs one JSON body to path and reads the answer (see
// httpx.Backend.Do), with the token in the given form. Bodies are never
// logged: the login answer holds the token.
func (c *apiLogin) exchange(ctx context.Context, op, path string, payload []byte, bearer string, form int32) (stkAnswer, error) {
	h := http.Header{}
	// The document's STK requests carry both headers.
	h.Set("Content-Type", "application/json")
	h.Set("Accept", "application/json")
	if bearer != "" {
		h.Set("Authorization", authHeader(form, bearer))
	}
	return c.be.Do(ctx, httpx.Request{Op: op, Method: http.MethodPost, URL: c.api + path, Path: path,
		Body: payload, Header: h, Bearer: bearer})
}

// call sends one authenticated request.
//
// The token goes bare ("Authorization: <token>"), as in the document's only
// authenticated example. When PokeaPay answers 401 to the bare form before
// any answer has shown which form it takes, the request is sent once more
// with "Bearer <token>"; the form PokeaPay accepts is then kept for the
// client's life (see authForm). When the token is refused in the form
// PokeaPay takes (or in both), the cached token is dropped and the request
// is sent once more with a new one; a further refusal is an *Error.
//
// Every repeat follows a 401, an answer given before anything was done, so
// repeating is safe even for a push.
func (c *apiLogin) call(ctx context.Context, op, path string, payload any) (stkAnswer, error) {
	body, err := encodeJSON(payload)
	if err != nil {
		return stkAnswer{}, &Error{Op: op, Message: "cannot encode the request", Err: err}
	}
	tok, err := c.bearer(ctx)
	if err != nil {
		return stkAnswer{}, err
	}
	form, known := c.auth.get()
	a, err := c.exchange(ctx, op, path, body, tok, form)
	if err != nil || a.Status != stkTokenRefused {
		if err == nil {
			c.auth.learnFrom(a, form)
		}
		return a, err
	}
	if !known {
		// The form has never been accepted: try the other one once, with
		// the same token.
		other := authBearer
		if form == authBearer {
			other = authBare
		}
		c.log.DebugContext(ctx, "pokeapay refused the token's form, trying the other", "op", op)
		a, err = c.exchange(ctx, op, path, body, tok, other)
		if err != nil || a.Status != stkTokenRefused {
			if err == nil {
				c.auth.learnFrom(a, other)
			}
			return a, err
		}
	}
	// The token itself was refused (it expired early, was revoked, or our
	// clock is off). Only once.
	c.tok.Drop(tok)
	c.log.DebugContext(ctx, "pokeapay token refused, logging in again", "op", op)
	tok, err = c.bearer(ctx)
	if err != nil {
		return stkAnswer{}, err
	}
	form, _ = c.auth.get()
	a, err = c.exchange(ctx, op, path, body, tok, form)
	if err == nil && a.Status == stkTokenRefused {
		c.tok.Drop(tok)
		return stkAnswer{}, &Error{Op: op, HTTPStatus: a.Status, Message: "PokeaPay refused a new token too"}
	}
	if err == nil {
		c.auth.learnFrom(a, form)
	}
	return a, err
}

// The forms of the Authorization header.
const (
	// authBare sends the token alone, as the document's Transaction Query
	// example does.
	authBare int32 = iota
	// authBearer sends "Bearer <token>".
	authBearer
)

// authHeader writes the Authorization header's value in the given form.
func authHeader(form int32, tok string) string {
	if form == authBearer {
		return "Bearer " + tok
	}
	return tok
}

// authForm remembers which Authorization form PokeaPay accepts: unknown
// (the bare form is sent) until an answer other than 401 shows the form it
// took. Once known it does not change. Safe for concurrent use.
type authForm struct {
	// v is 0 while unknown, else 1 + the form.
	v atomic.Int32
}

// get returns the form to send and whether PokeaPay is known to take it.
func (f *authForm) get() (form int32, known bool) {
	v := f.v.Load()
	if v == 0 {
		return authBare, false
	}
	return v - 1, true
}

// learnFrom records that PokeaPay took the form, unless a form is known
// already, when the answer shows it: any answer but a 401 (refused) or a
// 5xx (which may come from a proxy that never looked).
func (f *authForm) learnFrom(a stkAnswer, form int32) {
	if a.Status != stkTokenRefused && a.Status < 500 {
		f.v.CompareAndSwap(0, form+1)
	}
}

// withRetries runs once until it succeeds, fails in a way that is not safe
// to repeat, or has run httpx.Tries times (see httpx.Retry). Only calls
// that read may use it: never the push.
func (c *apiLogin) withRetries(ctx context.Context, op string, once func() (gateway.Result, error)) (gateway.Result, error) {
	return httpx.Retry(ctx, &c.be, op, shouldRetry, once)
}

// stkEnvelope is the shape of every STK API answer and callback in the
// document: {"success": ..., "message": ..., "error": ..., "data": {...}}.
type stkEnvelope struct {
	Success looseBool   `json:"success"`
	Message looseString `json:"message"`
	Error   looseString `json:"error"`
	// Data is read by each caller into its own type (see decodeData).
	Data json.RawMessage `json:"data"`
}

// envelope reads an answer's envelope. A body that is not a JSON object is
// an *Error that describes it without quoting it: an HTML error page says
// nothing useful and could echo anything.
func (c *apiLogin) envelope(op string, a stkAnswer) (stkEnvelope, error) {
	env, err := readEnvelope(a.Body)
	if err != nil {
		ct := a.ContentType
		if ct == "" {
			ct = "no content type"
		}
		msg := fmt.Sprintf("answer is not a JSON object (%s, %d bytes)", ct, len(a.Body))
		if len(bytes.TrimSpace(a.Body)) == 0 {
			msg = "empty answer"
		}
		return stkEnvelope{}, &Error{Op: op, HTTPStatus: a.Status, Message: msg}
	}
	return env, nil
}

// readEnvelope decodes a JSON object into the envelope. Its values are read
// leniently (see looseString), so only a body that is not a JSON object
// fails.
func readEnvelope(body []byte) (stkEnvelope, error) {
	t := bytes.TrimSpace(body)
	if len(t) == 0 || t[0] != '{' {
		return stkEnvelope{}, errors.New("not a JSON object")
	}
	var env stkEnvelope
	if err := json.Unmarshal(t, &env); err != nil {
		return stkEnvelope{}, err
	}
	return env, nil
}

// decodeData reads the envelope's data into v when it is a JSON object;
// missing, null or any other value leaves v empty, so that the code that
// needs a value reports it missing.
func decodeData(data json.RawMessage, v any) {
	t := bytes.TrimSpace(data)
	if len(t) == 0 || t[0] != '{' {
		return
	}
	// The fields are lenient types that never fail, and data is valid JSON
	// (it came out of a valid document), so this cannot fail.
	_ = json.Unmarshal(t, v)
}

// text is the envelope's provider text: "error" (failures), else
// "message", cleaned of secrets.
func (c *apiLogin) text(env stkEnvelope, bearer string) string {
	if s := c.clean(env.Error.Trimmed(), bearer); s != "" {
		return s
	}
	return c.clean(env.Message.Trimmed(), bearer)
}

// clean makes provider-written text fit for an error or the event log: the
// email, password (in any case) and token removed, then tidied (see
// tidyText).
func (c *apiLogin) clean(s, bearer string) string {
	// Redacted again after tidying: a secret split by a dropped character
	// is whole again.
	return c.secrets.Redact(tidyText(c.secrets.Redact(s, bearer)), bearer)
}

// encodeJSON writes v as compact JSON without HTML escaping, so that a
// callback URL's "&" goes out as written.
func encodeJSON(v any) ([]byte, error) {
	var b bytes.Buffer
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		return nil, err
	}
	return bytes.TrimSuffix(b.Bytes(), []byte("\n")), nil
}
