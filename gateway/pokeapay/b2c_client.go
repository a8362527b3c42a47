package pokeapay

import (
	"bytes"
	"context"
	"crypto/rsa"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"regexp"
	"slices"
	"strings"
	"time"
	"unicode/utf8"

	"checkout/gateway"
	"checkout/gateway/internal/httpx"
)

// The B2C client's operations, as they appear in errors, logs and metrics
// (gateway.Call.Operation): fixed labels.
const opB2CSend = "b2c remittance"

// b2cNamePlaceholder is destination.name when the payout has no name: the
// document requires the field, and M-Pesa pays by number, not by name
// (ASSUMED.md, "B2C recipient name").
const b2cNamePlaceholder = "M-Pesa customer"

// maxB2CResult caps a result callback's body; the examples are a few
// hundred bytes.
const maxB2CResult = 16 << 10

// b2cReferencePattern is transfer.reference: "unique minimum:6 digit
// string" (the payments service sends 12 digits); 50 is our limit.
var b2cReferencePattern = regexp.MustCompile(`^\d{6,50}$`)

// nairobi is the time zone of transfer.date (Kenya keeps UTC+3 all year).
var nairobi = time.FixedZone("EAT", 3*60*60)

// B2CConfig configures a B2C client. URL, CustomerCode, AccountNo, Key,
// Email and Password are required.
type B2CConfig struct {
	// URL is the B2C API's base: the request goes to URL + B2CPath. The
	// document's example host is a placeholder, so there is no default.
	URL string
	// APIURL is the REST API root whose /login gives the bearer token (the
	// STK client's; DefaultAPIURL when empty).
	APIURL string
	// CustomerCode and AccountNo are source.customer_code and
	// source.account_no, assigned by PokeaPay.
	CustomerCode string
	AccountNo    string
	// Key signs every request (the "signature" header, see SignB2C). It
	// never appears in errors or logs.
	Key *rsa.PrivateKey
	// Email and Password are the REST API login, as the STK client's.
	Email    string
	Password string
	// HTTPClient sends every request (a new http.Client when nil).
	HTTPClient *http.Client
	// Timeout bounds each HTTP exchange, the login included
	// (DefaultTimeout when zero).
	Timeout time.Duration
	// Logger receives Debug lines, never a credential, a token or the key
	// (discarded when nil).
	Logger *slog.Logger
	// Observer is told of every HTTP exchange, for metrics (nil: none).
	Observer gateway.CallObserver
	// Now is the clock for transfer.date and token expiry (time.Now when
	// nil).
	Now func() time.Time
}

// B2C sends money to M-Pesa numbers with PokeaPay's B2C remittance
// (shared/providers/pokeapay-b2c-remittance.txt). It implements
// gateway.PayoutProvider under the name "pokeapay", is safe for concurrent
// use, and is created with NewB2C.
//
// PokeaPay documents no status call for B2C: Status always fails with
// gateway.ErrNoStatusCall, and a send is never repeated by this client.
// The result callback's hash cannot be checked (ASSUMED.md, "B2C result
// hash"), so ParseCallback's results are never Verified.
type B2C struct {
	apiLogin
	url          string // URL without a trailing slash
	customerCode string
	accountNo    string
	key          *rsa.PrivateKey
}

var _ gateway.PayoutProvider = (*B2C)(nil)

// NewB2C checks cfg and returns a B2C. It names the field when a required
// one is empty, CustomerCode or AccountNo is not printable, the key is
// shorter than 2048 bits, Timeout is negative, or a URL is not an absolute
// http(s) URL.
func NewB2C(cfg B2CConfig) (*B2C, error) {
	switch {
	case strings.TrimSpace(cfg.URL) == "":
		return nil, errors.New("pokeapay: B2CConfig.URL is required")
	case strings.TrimSpace(cfg.CustomerCode) == "":
		return nil, errors.New("pokeapay: B2CConfig.CustomerCode is required")
	case strings.TrimSpace(cfg.AccountNo) == "":
		return nil, errors.New("pokeapay: B2CConfig.AccountNo is required")
	case strings.TrimSpace(cfg.CustomerCode) != cfg.CustomerCode || !printable(cfg.CustomerCode):
		return nil, errors.New("pokeapay: B2CConfig.CustomerCode must be printable, without spaces around it")
	case strings.TrimSpace(cfg.AccountNo) != cfg.AccountNo || !printable(cfg.AccountNo):
		return nil, errors.New("pokeapay: B2CConfig.AccountNo must be printable, without spaces around it")
	case cfg.Key == nil:
		return nil, errors.New("pokeapay: B2CConfig.Key is required")
	case cfg.Key.N.BitLen() < 2048:
		return nil, errors.New("pokeapay: B2CConfig.Key must be an RSA key of at least 2048 bits")
	case strings.TrimSpace(cfg.Email) == "":
		return nil, errors.New("pokeapay: B2CConfig.Email is required")
	case strings.TrimSpace(cfg.Password) == "":
		return nil, errors.New("pokeapay: B2CConfig.Password is required")
	case cfg.Timeout < 0:
		return nil, errors.New("pokeapay: B2CConfig.Timeout must not be negative")
	}
	if _, err := baseURL(cfg.URL); err != nil {
		return nil, errors.New("pokeapay: B2CConfig.URL must be an absolute http(s) URL without query")
	}
	if cfg.APIURL == "" {
		cfg.APIURL = DefaultAPIURL
	}
	if _, err := baseURL(cfg.APIURL); err != nil {
		return nil, errors.New("pokeapay: B2CConfig.APIURL must be an absolute http(s) URL without query, like " + DefaultAPIURL)
	}
	c := &B2C{url: strings.TrimRight(cfg.URL, "/"), customerCode: cfg.CustomerCode, accountNo: cfg.AccountNo, key: cfg.Key}
	newAPILogin(&c.apiLogin, cfg.APIURL, cfg.Email, cfg.Password, cfg.HTTPClient, cfg.Timeout, nil, cfg.Now,
		cfg.Logger, cfg.Observer, "b2c")
	return c, nil
}

// Name is the provider's key in payouts and events.
func (c *B2C) Name() string { return "pokeapay" }

// Send asks PokeaPay to pay r.Phone (POST {URL}/remittance/momo/mpesa) with
// the document's body: source (customer code, account number),
// destination (country_code "KES" as the document's example sends, the
// name or a placeholder, the phone), transfer (r.Reference, KES, the
// amount in whole shillings as a string, today's date in Nairobi,
// r.Description or "Payout <reference>", channel "234432") and result_url
// r.CallbackURL; with "Authorization: Bearer <token>" (the REST API login's
// token) and the "signature" header (SignB2C).
//
// The request is checked before anything is sent: reference 6 to 50
// digits, phone 2547/2541 and 8 digits, amount whole shillings above zero,
// currency KES, text printable, callback URL absolute http(s).
//
// It is never retried (a repeat could pay twice); only a 401 (the token
// refused before anything was done) logs in again and sends once more.
// The answer {"code": 0, "success": true} is accepted. An error wraps
// gateway.ErrNotStarted when nothing can have been sent: refused before
// sending, the login failed, no connection made, a 4xx other than 408,
// 409, 425 and 429 (gateway.PayoutRefusedStatus), or "success": false with
// a reason and HTTP 2xx. Anything else (a timeout once sent, a 408, 409,
// 425, 429 or 5xx, an answer that cannot be read, without a clear verdict)
// may have been sent: its result callback, or a person, decides.
func (c *B2C) Send(ctx context.Context, r gateway.PayoutRequest) (gateway.PayoutStarted, error) {
	const op = opB2CSend
	req, err := c.b2cRequest(op, r)
	if err != nil {
		return gateway.PayoutStarted{}, gateway.NotStarted(err)
	}
	body, err := encodeJSON(req)
	if err != nil {
		return gateway.PayoutStarted{}, gateway.NotStarted(&Error{Op: op, Message: "cannot encode the request", Err: err})
	}
	sig, err := SignB2C(c.key, req)
	if err != nil {
		return gateway.PayoutStarted{}, gateway.NotStarted(&Error{Op: op, Message: "cannot sign the request"})
	}
	h := http.Header{}
	h.Set("Accept", "application/json")
	h.Set("Content-Type", "application/json")
	h.Set("signature", sig)
	a, err := c.be.WithBearer(ctx, httpx.Request{Op: op, Method: http.MethodPost, URL: c.url + B2CPath, Path: B2CPath,
		Body: body, Header: h}, c.bearer, c.tok.Drop)
	if err != nil {
		if b2cNotStarted(op, err) {
			err = gateway.NotStarted(err)
		}
		return gateway.PayoutStarted{}, err
	}
	raw := c.secrets.RedactBytes(a.Body, a.Bearer)
	ans, readable := readB2CAnswer(a.Body)
	text := c.clean(firstText(ans.Message.Trimmed(), ans.Error.Trimmed()), a.Bearer)
	switch {
	case a.Status == http.StatusUnauthorized:
		return gateway.PayoutStarted{}, gateway.NotStarted(&Error{Op: op, HTTPStatus: a.Status,
			Message: firstText(text, "PokeaPay refused a new token too")})
	case gateway.PayoutRefusedStatus(a.Status):
		return gateway.PayoutStarted{}, gateway.NotStarted(&Error{Op: op, HTTPStatus: a.Status,
			Message: firstText(text, http.StatusText(a.Status))})
	case a.Status < 200 || a.Status > 299:
		return gateway.PayoutStarted{}, &Error{Op: op, HTTPStatus: a.Status, Message: firstText(text, http.StatusText(a.Status))}
	case !readable:
		return gateway.PayoutStarted{}, &Error{Op: op, HTTPStatus: a.Status, Message: httpx.NotJSON(a.ContentType, len(a.Body))}
	case ans.Success.isTrue() && ans.Code.Trimmed() == "0":
		c.log.DebugContext(ctx, "pokeapay b2c accepted", "op", op, "reference", req.Transfer.Reference)
		return gateway.PayoutStarted{Raw: raw}, nil
	case ans.Success.Set && !ans.Success.Value && text != "":
		return gateway.PayoutStarted{}, gateway.NotStarted(&Error{Op: op, HTTPStatus: a.Status, Code: c.clean(ans.Code.Trimmed(), a.Bearer), Message: text})
	}
	return gateway.PayoutStarted{}, &Error{Op: op, HTTPStatus: a.Status, Code: c.clean(ans.Code.Trimmed(), a.Bearer),
		Message: firstText(text, "answer has no success with code 0")}
}

// b2cNotStarted is pushNotStarted for a payout: an HTTP answer refuses it
// only with gateway.PayoutRefusedStatus (a 408, 409, 425 or 429 may come
// after the request was forwarded).
func b2cNotStarted(op string, err error) bool {
	var e *Error
	if errors.As(err, &e) && e.Op == op && !e.transport && e.HTTPStatus != 0 {
		return gateway.PayoutRefusedStatus(e.HTTPStatus)
	}
	return pushNotStarted(op, err)
}

// b2cAnswerWire reads the send's answer leniently (B2CAnswer's fields, and
// an "error" text as the STK API's refusals carry).
type b2cAnswerWire struct {
	Code    looseString `json:"code"`
	Success looseBool   `json:"success"`
	Message looseString `json:"message"`
	Error   looseString `json:"error"`
}

// readB2CAnswer decodes a JSON object answer; ok is false for anything
// else.
func readB2CAnswer(body []byte) (b2cAnswerWire, bool) {
	t := bytes.TrimSpace(body)
	var w b2cAnswerWire
	if len(t) == 0 || t[0] != '{' || json.Unmarshal(t, &w) != nil {
		return b2cAnswerWire{}, false
	}
	return w, true
}

// firstText returns the first non-empty text.
func firstText(ss ...string) string {
	for _, s := range ss {
		if s != "" {
			return s
		}
	}
	return ""
}

// b2cRequest builds the request body from r, or refuses r.
func (c *B2C) b2cRequest(op string, r gateway.PayoutRequest) (B2CRequest, error) {
	ref := strings.TrimSpace(r.Reference)
	name := strings.TrimSpace(r.Name)
	if name == "" {
		name = b2cNamePlaceholder
	}
	desc := strings.TrimSpace(r.Description)
	if desc == "" {
		desc = "Payout " + ref
	}
	cb := strings.TrimSpace(r.CallbackURL)
	switch {
	case !b2cReferencePattern.MatchString(ref):
		return B2CRequest{}, invalid(op, "reference must be 6 to 50 digits")
	case !stkPhonePattern.MatchString(r.Phone):
		return B2CRequest{}, invalid(op, "phone must be 254 followed by 7 or 1 and 8 digits")
	case r.Amount <= 0:
		return B2CRequest{}, invalid(op, "amount must be more than zero")
	case !r.Amount.Whole():
		return B2CRequest{}, invalid(op, "amount %s has cents; M-Pesa takes whole shillings", r.Amount)
	case r.Currency != "" && r.Currency != "KES":
		return B2CRequest{}, invalid(op, "currency must be KES for M-Pesa")
	case !absoluteHTTP(cb) || !printable(cb):
		return B2CRequest{}, invalid(op, "callback URL must be an absolute http(s) URL")
	}
	for _, f := range []struct{ name, value string }{{"name", name}, {"description", desc}} {
		if !printable(f.value) {
			return B2CRequest{}, invalid(op, "%s contains a character that is not printable", f.name)
		}
		if utf8.RuneCountInString(f.value) > maxText {
			return B2CRequest{}, invalid(op, "%s is longer than %d characters", f.name, maxText)
		}
	}
	return B2CRequest{
		Source:      B2CSource{CustomerCode: c.customerCode, AccountNo: c.accountNo},
		Destination: B2CDestination{CountryCode: "KES", Name: name, MobileNumber: r.Phone},
		Transfer: B2CTransfer{
			Reference:   ref,
			Currency:    "KES",
			Amount:      fmt.Sprintf("%d", int64(r.Amount)/100),
			Date:        c.now().In(nairobi).Format("2006-01-02"),
			Description: desc,
			Channel:     B2CChannelMPesa,
		},
		ResultURL: cb,
	}, nil
}

// Status always fails: PokeaPay documents no status call for B2C. The
// error wraps gateway.ErrNoStatusCall.
func (c *B2C) Status(ctx context.Context, reference string) (gateway.PayoutResult, error) {
	return gateway.PayoutResult{}, &Error{Op: "b2c status", Message: "PokeaPay's B2C remittance has no status call",
		Err: gateway.ErrNoStatusCall}
}

// ErrInvalidB2CResult is wrapped by every error ParseCallback returns, so
// that a callback handler can answer 400 without looking at the text.
var ErrInvalidB2CResult = errors.New("pokeapay: invalid B2C result")

// b2cResultWire reads a result leniently: values as strings or numbers.
type b2cResultWire struct {
	Channel           looseString `json:"channel"`
	Reference         looseString `json:"reference"`
	TransactionID     looseString `json:"transaction_id"`
	Currency          looseString `json:"currency"`
	Amount            looseString `json:"amount"`
	Fees              looseString `json:"fees"`
	ResultCode        looseString `json:"result_code"`
	ResultDescription looseString `json:"result_description"`
	Hash              looseString `json:"hash"`
}

// ParseCallback reads a B2C result posted to result_url (both document
// examples). The content type is not relied on. Refused, with an error
// wrapping ErrInvalidB2CResult: a body over 16 KiB, one that is not a JSON
// object, without a printable reference of at most 50 characters or without result_code, a
// success whose amount or fees cannot be read. A currency is passed on
// as read (Currency), for the caller to compare.
//
// A body that is not valid JSON only because a comma is missing between
// two members, each on its own line (the document's own failed example),
// is read as if the comma were there, and its Message says so; any other
// defect is refused (ASSUMED.md, "B2C result not valid JSON").
//
// result_code 0 is succeeded, any other code failed, with
// result_description as the message. The result is never Verified: the
// hash's construction is unknown. Raw is the body as received.
func (c *B2C) ParseCallback(contentType string, body []byte) (gateway.PayoutResult, error) {
	return parseB2CResult(body)
}

func parseB2CResult(body []byte) (gateway.PayoutResult, error) {
	bad := func(format string, args ...any) (gateway.PayoutResult, error) {
		return gateway.PayoutResult{}, fmt.Errorf("%w: "+format, append([]any{ErrInvalidB2CResult}, args...)...)
	}
	if len(body) > maxB2CResult {
		return bad("body is larger than 16 KiB")
	}
	t := bytes.TrimSpace(body)
	if len(t) == 0 || t[0] != '{' {
		return bad("body is not a JSON object")
	}
	repaired := false
	if !json.Valid(t) {
		fixed, n := insertMissingCommas(t)
		if n == 0 || !json.Valid(fixed) {
			return bad("body is not JSON")
		}
		t, repaired = fixed, true
	}
	var w b2cResultWire
	if err := json.Unmarshal(t, &w); err != nil {
		return bad("%v", err)
	}
	ref := w.Reference.Trimmed()
	code := w.ResultCode.Trimmed()
	switch {
	case ref == "":
		return bad("no reference")
	case !printable(ref) || utf8.RuneCountInString(ref) > 50:
		// Not a length rule: the document's own example has 5 digits, and
		// an unknown reference matches no payout anyway.
		return bad("reference is not one of ours")
	case code == "":
		return bad("no result_code")
	case len(code) > 10 || !printable(code):
		return bad("unreadable result_code")
	}
	r := gateway.PayoutResult{
		Reference: ref,
		Receipt:   tidyText(w.TransactionID.Trimmed()),
		Code:      code,
		Message:   tidyText(w.ResultDescription.Trimmed()),
		Raw:       slices.Clone(body),
	}
	if code == "0" {
		r.Status = gateway.StatusSucceeded
		// Another currency is read, not refused: the payments service
		// compares it with the payout's (a person looks at a mismatch).
		r.Currency = strings.ToUpper(tidyText(w.Currency.Trimmed()))
		if s := w.Amount.Trimmed(); s != "" {
			amt, err := gateway.ParseProviderAmount(s)
			if err != nil {
				return bad("unreadable amount")
			}
			r.Amount, r.HasAmount = amt, true
		}
	} else {
		r.Status = gateway.StatusFailed
		if r.Message == "" {
			r.Message = "PokeaPay reports the payout as failed (result code " + code + ")"
		}
	}
	if s := w.Fees.Trimmed(); s != "" {
		fees, err := gateway.ParseProviderAmount(s)
		if err != nil {
			return bad("unreadable fees")
		}
		r.Fees = fees
	}
	if repaired {
		r.Message = strings.TrimSpace(r.Message + " (read from a body that is not valid JSON: a missing comma between members was assumed)")
	}
	return r, nil
}

// insertMissingCommas repairs one defect only: inside an object, a member's
// value followed, across a line break, by the next member's key with no
// comma between them (the document's failed result example). It returns
// the body with a comma after each such value, and how many it added; any
// other defect is left for the JSON parser to refuse. Strings are skipped
// whole, so nothing inside a key or a value is ever changed.
func insertMissingCommas(b []byte) ([]byte, int) {
	// The states of an open container.
	const (
		wantKeyOrValue = iota // after '{', '[' or ','
		wantColon             // after an object's key
		wantValue             // after ':'
		wantCommaOrEnd        // after a complete value
	)
	type frame struct {
		object bool
		state  int
	}
	var stack []frame
	out := make([]byte, 0, len(b)+4)
	added := 0
	valueEnd := -1 // len(out) just after the last complete value
	newline := false
	// value marks the end of a complete value in the enclosing container.
	value := func() {
		if n := len(stack); n > 0 {
			stack[n-1].state = wantCommaOrEnd
		}
		valueEnd = len(out)
		newline = false
	}
	for i := 0; i < len(b); {
		ch := b[i]
		switch ch {
		case ' ', '\t', '\r':
			out = append(out, ch)
			i++
			continue
		case '\n':
			newline = true
			out = append(out, ch)
			i++
			continue
		}
		top := len(stack) - 1
		switch ch {
		case '"':
			j := i + 1
			for j < len(b) && b[j] != '"' {
				if b[j] == '\\' {
					j++
				}
				j++
			}
			if j >= len(b) {
				return b, 0 // unterminated string: refused later
			}
			j++
			if top >= 0 && stack[top].object && stack[top].state == wantCommaOrEnd && newline {
				out = slices.Insert(out, valueEnd, ',')
				added++
				stack[top].state = wantKeyOrValue
			}
			isKey := top >= 0 && stack[top].object && stack[top].state == wantKeyOrValue
			out = append(out, b[i:j]...)
			i = j
			if isKey {
				stack[top].state = wantColon
				newline = false
			} else {
				value()
			}
		case '{', '[':
			stack = append(stack, frame{object: ch == '{', state: wantKeyOrValue})
			out = append(out, ch)
			i++
			newline = false
		case '}', ']':
			if top < 0 {
				return b, 0
			}
			stack = stack[:top]
			out = append(out, ch)
			i++
			value()
		case ':':
			if top >= 0 && stack[top].state == wantColon {
				stack[top].state = wantValue
			}
			out = append(out, ch)
			i++
			newline = false
		case ',':
			if top >= 0 {
				stack[top].state = wantKeyOrValue
			}
			out = append(out, ch)
			i++
			newline = false
		default:
			// A number or a literal: up to the next delimiter.
			j := i
			for j < len(b) && !bytes.ContainsRune([]byte(" \t\r\n,:{}[]\""), rune(b[j])) {
				j++
			}
			out = append(out, b[i:j]...)
			i = j
			value()
		}
	}
	return out, added
}
