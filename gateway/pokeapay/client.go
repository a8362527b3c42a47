// Package pokeapay is the client for PokeaPay, written from the provider
// document (shared/providers/pokeapay-postman-collection.json). Client is
// the web based integration (folders "Payment Gateway Integration" and
// "IPN"): the hosted checkout URL with its HMAC-SHA1 hash, the return URL
// and its hash, the payment verification call, and the instant payment
// notification (IPN). STKClient is the REST integration (folder "API
// Integration"): login, M-Pesa STK push, the STK callback and the
// transaction query; see "M-Pesa STK push" below.
//
// It is shaped like stripe-go's clients and like the sibling pesapal client:
// a Client built from a Config, request and answer types that mirror the
// document field for field, one typed *Error, a timeout on every HTTP
// exchange, and retries only where repeating is safe. Payment verification
// only reads, so it is retried on network errors, timeouts and 5xx.
//
// Neither the return URL nor the IPN proves a payment: anyone can call the
// return URL, and the IPN carries no signature. Only the payment
// verification call (VerifyPayment, Confirm) may mark anything paid.
//
// # M-Pesa STK push
//
// STKClient implements gateway.STKProvider under the name "pokeapay". It is
// built by NewSTK from its own STKConfig (the REST API root, the login
// email and password, the outlet code), apart from Client, whose hash key
// and URLs it does not need; it shares Client's *Error, retry policy and
// text cleaning.
//
//   - Login: POST {APIURL}/login {"email", "password"} answers a JWT in
//     data.token. The token is cached until 60 s before the expiry read from
//     its payload's "exp" (the signature is not checked: it is our own
//     token). Concurrent callers without a token share one login. The
//     token is sent bare ("Authorization: <token>"), as in the document's
//     example; a first 401 tries "Bearer <token>" once and the accepted
//     form is kept. A 401 in the accepted form drops the token, logs in
//     again and repeats the call once.
//   - Push: POST {APIURL}/stkPush/transaction with the document's fields,
//     optional ones left out when they have no value. The phone must match ^(254(7|1)\d{8})$ and the amount be
//     whole shillings, checked before anything is sent. Never retried (a
//     repeat could prompt twice), except the one repeat after a 401.
//   - Quirk: the HTTP status and "success" disagree in the document's
//     samples (a validation failure with HTTP 200 and success false; "Unable
//     to lock subscriber" with 400 and with 422), so answers are judged by
//     "success" and the error text. An error containing "lock subscriber"
//     (any case: the sample spells it "Unableto lock subscriber") wraps
//     gateway.ErrSubscriberBusy.
//   - Callback: ParseCallback reads the document's success and failure
//     bodies; orderRef is our reference. It is not signed, so only the
//     query decides.
//   - Query: POST {APIURL}/transaction/query {"amount", "phone",
//     "outletCode", "orderRef"} is Confirm, read as the document's saved
//     answers mean them (see queryResult). It only reads, so it is retried
//     on network errors, timeouts and 5xx, up to 3 tries.
//
// # B2C remittance
//
// B2C (b2c_client.go, built by NewB2C) implements gateway.PayoutProvider
// from pokeapay-b2c-remittance.txt: the signed request (SignB2C, with a key
// LoadPrivateKey reads), the REST API login's token (shared with
// STKClient), and the result callback. There is no status call, and the
// callback's hash cannot be checked, so nothing it reports is Verified.
//
// The STK API's email, password and tokens never appear in errors or logs.
//
// # What the document leaves open
//
// Every construction the documents do not state is written once, with the
// reason for the choice and what to confirm with PokeaPay, in
// testdata/ASSUMED.md, next to the fixtures of every document example
// (testdata/doc-*) that the tests hold the client to. The code of those
// constructions is in assumed.go.
//
// The hash key never appears in errors or logs.
package pokeapay

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

// Defaults for Config fields left empty.
const (
	// DefaultCheckoutURL is the hosted payment page, from the document.
	DefaultCheckoutURL = "https://pay.pokeapay.com/"
	// DefaultCoreURL is the root of the payment verification call, from the
	// document.
	DefaultCoreURL = "https://core.pokeapay.com"
	// DefaultTimeout bounds one HTTP exchange when Config.Timeout is zero.
	DefaultTimeout = 10 * time.Second
)

// pathPaymentStatus is the payment verification path under Config.CoreURL.
const pathPaymentStatus = "/api/payment/status"

const (
	// maxAnswer caps how much of an answer is read; the verification answer
	// is one short value.
	maxAnswer = 64 << 10
	// maxOrderRef is our limit on oref / bill_ref (the document sets none).
	maxOrderRef = 50
	// maxText limits the other free-text values we send or read.
	maxText = 255
)

// Config configures a Client. OutletCode and HashKey are required; the other
// fields have defaults.
type Config struct {
	// CheckoutURL is the hosted payment page the customer is sent to
	// (DefaultCheckoutURL when empty).
	CheckoutURL string
	// CoreURL is the root of the payment verification call, without its path
	// (DefaultCoreURL when empty).
	CoreURL string
	// OutletCode is the outlet code PokeaPay assigned ("oc"). The document
	// accepts it in UPPERCASE only.
	OutletCode string
	// HashKey is the merchant's hash key for the HMAC-SHA1 hashes. It never
	// appears in errors or logs.
	HashKey string
	// Live sends live=1 (real money) when true, live=0 (demo) when false.
	Live bool
	// HTTPClient sends every request (a new http.Client when nil). Its own
	// Timeout, if any, applies on top of Timeout.
	HTTPClient *http.Client
	// Timeout bounds each HTTP exchange, each retry included
	// (DefaultTimeout when zero).
	Timeout time.Duration
	// Sleep waits between retries and returns early with ctx's error when ctx
	// ends (a timer when nil). Tests replace it so that nothing sleeps.
	Sleep func(ctx context.Context, d time.Duration) error
	// Logger receives Debug lines about exchanges and retries, never the
	// hash key or a hash (discarded when nil).
	Logger *slog.Logger
	// Observer is told of every HTTP exchange, for metrics (nil: none).
	Observer gateway.CallObserver
}

// Client talks to PokeaPay. It is safe for concurrent use; create it with
// New.
type Client struct {
	checkoutURL *url.URL
	coreURL     string // without a trailing slash
	outletCode  string
	hashKey     string
	live        bool
	log         *slog.Logger
	// be does every HTTP exchange: timeout, size limit, retries.
	be httpx.Backend
	// secrets finds the hash key in any case, to remove it from what
	// PokeaPay writes; empty for a key too short to search for safely.
	secrets httpx.Secrets
}

// New checks cfg and returns a Client. It names the field when OutletCode
// or HashKey is empty, OutletCode is not UPPERCASE, or a URL is not an
// absolute http(s) URL.
func New(cfg Config) (*Client, error) {
	switch {
	case strings.TrimSpace(cfg.OutletCode) == "":
		return nil, errors.New("pokeapay: Config.OutletCode is required")
	case cfg.OutletCode != strings.ToUpper(cfg.OutletCode):
		return nil, errors.New("pokeapay: Config.OutletCode must be UPPERCASE (the document accepts no other)")
	case strings.TrimSpace(cfg.OutletCode) != cfg.OutletCode || !printable(cfg.OutletCode):
		return nil, errors.New("pokeapay: Config.OutletCode must be printable, without spaces around it")
	case strings.TrimSpace(cfg.HashKey) == "":
		return nil, errors.New("pokeapay: Config.HashKey is required")
	case cfg.Timeout < 0:
		return nil, errors.New("pokeapay: Config.Timeout must not be negative")
	}
	if cfg.CheckoutURL == "" {
		cfg.CheckoutURL = DefaultCheckoutURL
	}
	if cfg.CoreURL == "" {
		cfg.CoreURL = DefaultCoreURL
	}
	checkout, err := baseURL(cfg.CheckoutURL)
	if err != nil {
		return nil, errors.New("pokeapay: Config.CheckoutURL must be an absolute http(s) URL without query, like " + DefaultCheckoutURL)
	}
	if checkout.Path == "" {
		checkout.Path = "/"
	}
	if _, err := baseURL(cfg.CoreURL); err != nil {
		return nil, errors.New("pokeapay: Config.CoreURL must be an absolute http(s) URL without query, like " + DefaultCoreURL)
	}
	c := &Client{
		checkoutURL: checkout,
		coreURL:     strings.TrimRight(cfg.CoreURL, "/"),
		outletCode:  cfg.OutletCode,
		hashKey:     cfg.HashKey,
		live:        cfg.Live,
		log:         cfg.Logger,
	}
	c.secrets = httpx.NewSecrets(c.hashKey)
	if c.log == nil {
		c.log = slog.New(slog.DiscardHandler)
	}
	c.log = c.log.With("provider", "pokeapay")
	// The verification URL's query carries a hash: net/http's errors lose
	// it before they are logged or kept.
	c.be = newBackend(cfg.HTTPClient, cfg.Timeout, cfg.Sleep, c.log, withoutQuery)
	c.be.Observer = cfg.Observer
	return c, nil
}

// baseURL parses an absolute http(s) URL that has no query or fragment.
func baseURL(s string) (*url.URL, error) {
	u, err := url.Parse(s)
	if err != nil {
		return nil, err
	}
	if (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" || u.RawQuery != "" || u.Fragment != "" || u.User != nil {
		return nil, errors.New("not an absolute http(s) URL without query")
	}
	return u, nil
}

// answer is one HTTP answer from PokeaPay, read in full.
type answer = httpx.Answer

// newBackend returns the exchange backbone of Client and STKClient, with
// their defaults for an empty HTTP client, timeout and sleep.
func newBackend(hc *http.Client, timeout time.Duration, sleep func(context.Context, time.Duration) error, log *slog.Logger, scrub func(error) error) httpx.Backend {
	if hc == nil {
		hc = httpx.NewClient()
	}
	if timeout == 0 {
		timeout = DefaultTimeout
	}
	if sleep == nil {
		sleep = httpx.Sleep
	}
	return httpx.Backend{Provider: "pokeapay", HTTP: hc, Timeout: timeout, MaxAnswer: maxAnswer,
		Log: log, Sleep: sleep, Wrap: wrapFailure, Scrub: scrub}
}

// wrapFailure turns an exchange that gave no usable answer into an *Error:
// HTTPStatus 0 and the cause wrapped when no HTTP answer came back.
func wrapFailure(f *httpx.Failure) error {
	return &Error{Op: f.Op, HTTPStatus: f.HTTPStatus, Message: f.What, Err: f.Err, transport: f.Kind == httpx.NoAnswer}
}

// exchange sends one GET to target (the path under CoreURL, with its
// query) and reads its answer; the path alone is logged.
func (c *Client) exchange(ctx context.Context, op, path, query string) (answer, error) {
	return c.be.Do(ctx, httpx.Request{Op: op, Method: http.MethodGet, URL: c.coreURL + path + "?" + query, Path: path})
}

// withoutQuery drops the query from the URL that net/http puts in its
// errors: the verification query carries a hash, which has no place in
// error text or logs.
func withoutQuery(err error) error {
	var ue *url.Error
	if errors.As(err, &ue) {
		if before, _, found := strings.Cut(ue.URL, "?"); found {
			ue.URL = before + "?[query removed]"
		}
	}
	return err
}

// answerError turns an answer that is not a 2xx into an *Error. PokeaPay's
// error bodies are not documented: a JSON "message" (or else a text
// "error") is used when there is one, and any other body is not quoted: an
// HTML error page says nothing useful and could echo anything.
func (c *Client) answerError(op string, a answer) *Error {
	e := &Error{Op: op, HTTPStatus: a.Status}
	var env struct {
		Message flexString `json:"message"`
		Error   flexString `json:"error"`
	}
	if json.Valid(a.Body) && json.Unmarshal(a.Body, &env) == nil {
		e.Message = c.clean(string(env.Message))
		if e.Message == "" {
			e.Message = c.clean(string(env.Error))
		}
	}
	if e.Message == "" {
		e.Message = http.StatusText(a.Status)
	}
	return e
}

// clean makes provider-written text fit for an error: the hash key removed
// in any case (in case an answer echoes it, perhaps lower-cased), control
// characters dropped, at most 200 characters.
func (c *Client) clean(s string) string {
	// Redacted again after tidying: a secret split by a dropped character
	// is whole again.
	return c.secrets.Redact(tidyText(c.secrets.Redact(s, "")), "")
}

// tidyText makes provider-written text fit for an error or the event log:
// control characters and invalid UTF-8 dropped, spaces trimmed, at most 200
// characters. It removes no secret: callers redact first.
func tidyText(s string) string {
	return httpx.TidyText(s, 200)
}

// redactBytes removes the hash key from an answer kept for the event log.
func (c *Client) redactBytes(b []byte) []byte {
	return c.secrets.RedactBytes(b, "")
}

// shouldRetry says whether a failed try of a repeatable call may be tried
// again, and why (see httpx.ShouldRetry): on network errors, timeouts and
// 5xx answers.
func shouldRetry(ctx context.Context, err error) (bool, string) {
	return httpx.ShouldRetry(ctx, err, "PokeaPay", func(e *Error) (bool, int) { return e.transport, e.HTTPStatus })
}

// encodeQuery writes key=value pairs in the given order. url.Values would
// sort them; the document's order is kept so that a request reads like the
// document's example.
func encodeQuery(pairs [][2]string) string {
	var b strings.Builder
	for i, p := range pairs {
		if i > 0 {
			b.WriteByte('&')
		}
		b.WriteString(url.QueryEscape(p[0]))
		b.WriteByte('=')
		b.WriteString(url.QueryEscape(p[1]))
	}
	return b.String()
}

// flexString reads a JSON string, number or null as text: PokeaPay's
// answers and notifications are not documented as typed, and a PHP sender
// may write 1500 or "1500". A number keeps the digits as written.
type flexString string

// UnmarshalJSON accepts a string, a number or null, and refuses anything
// else (an object, an array, a boolean).
func (s *flexString) UnmarshalJSON(b []byte) error {
	b = bytes.TrimSpace(b)
	switch {
	case len(b) == 0:
		return errors.New("empty value")
	case b[0] == '"':
		var v string
		if err := json.Unmarshal(b, &v); err != nil {
			return err
		}
		*s = flexString(v)
	case string(b) == "null":
		*s = ""
	case b[0] == '-' || (b[0] >= '0' && b[0] <= '9'):
		// encoding/json has already checked that this is a valid number.
		*s = flexString(b)
	default:
		return errors.New("value is not a string or a number")
	}
	return nil
}

// printable reports whether s is valid UTF-8 made of printable characters
// (see httpx.Printable). The short name reads better at this package's many
// field checks.
func printable(s string) bool {
	return httpx.Printable(s)
}
