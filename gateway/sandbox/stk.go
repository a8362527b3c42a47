package sandbox

import (
	"bytes"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"mime"
	"net/http"
	"regexp"
	"strconv"
	"strings"
	"time"

	"checkout/gateway"
)

// This file holds what the two STK push simulators (PokeaPay's STK API and
// Pochipay's M-Pesa collections) share: the prompts waiting on the
// simulated phone, M-Pesa's result codes, the bearer tokens, and the JSON
// reading both APIs need.

// Providers of an STK prompt (STKPrompt.Provider), as the app names them.
const (
	STKPokeaPay = "pokeapay"
	STKPochipay = "pochipay"
)

// Statuses of an STK prompt (STKPrompt.Status).
const (
	STKPending   = "pending"   // on the phone, not answered yet
	STKCompleted = "completed" // approved: paid, with a receipt
	STKFailed    = "failed"    // declined, wrong PIN, no answer, insufficient funds...
)

// M-Pesa result codes that reach STK callbacks (see the project's notes on
// the provider documents).
const (
	STKCodeSuccess           = "0"
	STKCodeInsufficientFunds = "1"
	STKCodeSubscriberBusy    = "1001"
	STKCodeExpired           = "1019"
	STKCodeCancelled         = "1032" // the customer pressed Cancel (Decline)
	STKCodeUnreachable       = "1037" // no answer from the phone
	STKCodeWrongPIN          = "2001"
)

// stkResultTexts are M-Pesa's own sentences for the result codes
// (ResultDesc), as callbacks and queries report them.
var stkResultTexts = map[string]string{
	STKCodeSuccess:           "The service request is processed successfully.",
	STKCodeInsufficientFunds: "The balance is insufficient for the transaction.",
	STKCodeSubscriberBusy:    "Unable to lock subscriber, a transaction is already in process for the current subscriber",
	STKCodeExpired:           "Transaction has expired",
	STKCodeCancelled:         "Request cancelled by user",
	STKCodeUnreachable:       "DS timeout user cannot be reached",
	STKCodeWrongPIN:          "The initiator information is invalid.",
}

// STKResultText returns M-Pesa's sentence for a result code, and whether
// the code is one the simulators know.
func STKResultText(code string) (string, bool) {
	t, ok := stkResultTexts[code]
	return t, ok
}

// Defaults of the STK token lifetimes.
const (
	// DefaultSTKTokenTTL is the lifetime of a PokeaPay STK API token: one
	// hour, like the document's sample JWT (its iat and exp are 3600 s
	// apart).
	DefaultSTKTokenTTL = time.Hour
	// DefaultPochipayTokenTTL is the lifetime of a Pochipay token: the
	// document's 3600 seconds.
	DefaultPochipayTokenTTL = 3600 * time.Second
)

// Errors returned by the STK test hooks.
var (
	// ErrSTKUnknownProvider: the provider is neither "pokeapay" nor
	// "pochipay".
	ErrSTKUnknownProvider = errors.New(`sandbox: STK provider must be "pokeapay" or "pochipay"`)
	// ErrSTKUnknownPrompt: the provider has no prompt with this reference.
	ErrSTKUnknownPrompt = errors.New("sandbox: unknown STK prompt")
	// ErrSTKPromptFinal: the prompt was already answered.
	ErrSTKPromptFinal = errors.New("sandbox: STK prompt already answered")
	// ErrSTKUnknownCode: the result code is not one STKResultText knows.
	ErrSTKUnknownCode = errors.New("sandbox: unknown M-Pesa result code")
)

// stkPhonePattern is the M-Pesa number both APIs take: the PokeaPay
// document's pattern ^(254(7|1)\d{8})$.
var stkPhonePattern = regexp.MustCompile(`^(254(7|1)\d{8})$`)

// STKPrompt is a copy of one M-Pesa prompt sent to the simulated phone, as
// the test hooks return it.
type STKPrompt struct {
	// ID is the phone page's id for the prompt.
	ID string
	// Provider is STKPokeaPay or STKPochipay.
	Provider string
	// Reference is the caller's id for the prompt: PokeaPay's orderRef,
	// Pochipay's orderId.
	Reference string
	// CollectionID is Pochipay's collectionId (a GUID); empty for PokeaPay.
	CollectionID string
	// Phone is the number prompted, 254 and 9 digits.
	Phone string
	// Amount is what was asked, in cents (always whole shillings).
	Amount      gateway.Amount
	CallbackURL string
	// Status is STKPending, STKCompleted or STKFailed.
	Status string
	// ResultCode is M-Pesa's result code once answered ("0", "1032", ...);
	// ResultDesc its sentence.
	ResultCode, ResultDesc string
	// Receipt is the M-Pesa receipt (10 uppercase letters and digits,
	// "SBX..."), set once completed.
	Receipt string
	// PaidAmount is what the provider reports once completed: Amount,
	// unless STKAnswerAmount said otherwise.
	PaidAmount gateway.Amount
	// PokeaPay's outletCode, variable1, variable2, customerName and
	// customerEmail, as pushed.
	OutletCode, Variable1, Variable2, CustomerName, CustomerEmail string
	// Pochipay's billRefNumber and narration, as pushed.
	BillRefNumber, Narration string
	CreatedAt                time.Time // when the push was accepted
	AnsweredAt               time.Time // zero while pending
}

// stkKey names a prompt by its provider and reference.
type stkKey struct{ provider, reference string }

// stkCounters are one provider's counters and failure switch.
type stkCounters struct {
	logins        int // tokens issued
	queries       int // status requests received, whatever their answer
	failQueries   int // status requests still to answer 503
	callbacksSent int // callback tries made
}

// stkToken is one issued bearer token.
type stkToken struct {
	provider string
	expiry   time.Time
}

// stkState is the STK simulators' data, guarded by Sandbox.mu.
type stkState struct {
	prompts      []*STKPrompt // oldest first
	byID         map[string]*STKPrompt
	byRef        map[stkKey]*STKPrompt
	byCollection map[string]*STKPrompt // Pochipay collectionId
	tokens       map[string]stkToken
	jwtKey       []byte // signs the tokens (HS256)
	counters     map[string]*stkCounters
}

func (p *stkState) init() {
	p.byID = map[string]*STKPrompt{}
	p.byRef = map[stkKey]*STKPrompt{}
	p.byCollection = map[string]*STKPrompt{}
	p.tokens = map[string]stkToken{}
	p.jwtKey = randomBytes(32)
	p.counters = map[string]*stkCounters{STKPokeaPay: {}, STKPochipay: {}}
}

// stkProviderKnown reports whether provider is one of the two STK
// providers.
func stkProviderKnown(provider string) bool {
	return provider == STKPokeaPay || provider == STKPochipay
}

// phoneBusy reports whether phone has a pending prompt, from either
// provider: M-Pesa locks the subscriber, not the provider's account.
// The caller holds Sandbox.mu.
func (p *stkState) phoneBusy(phone string) bool {
	for _, pr := range p.prompts {
		if pr.Status == STKPending && pr.Phone == phone {
			return true
		}
	}
	return false
}

// add records a new prompt. The caller holds Sandbox.mu and has checked
// that its reference is new.
func (p *stkState) add(pr *STKPrompt) {
	pr.ID = strings.ToLower(newCode(16))
	pr.Status = STKPending
	p.prompts = append(p.prompts, pr)
	p.byID[pr.ID] = pr
	p.byRef[stkKey{pr.Provider, pr.Reference}] = pr
	if pr.CollectionID != "" {
		p.byCollection[pr.CollectionID] = pr
	}
}

// newReceipt returns an M-Pesa-like receipt: 10 uppercase letters and
// digits, "SBX" and 7 random ones.
func newReceipt() string { return "SBX" + newCode(7) }

// stkFinish answers a pending prompt with an M-Pesa result code: "0"
// completes it with a receipt (reporting *paid when paid is not nil),
// any other known code fails it. The callback is scheduled when
// sendCallback is true.
func (s *Sandbox) stkFinish(provider, reference, code string, paid *gateway.Amount, sendCallback bool) error {
	if !stkProviderKnown(provider) {
		return ErrSTKUnknownProvider
	}
	text, ok := stkResultTexts[code]
	if !ok {
		return fmt.Errorf("%w: %q", ErrSTKUnknownCode, code)
	}
	s.mu.Lock()
	pr, ok := s.stk.byRef[stkKey{provider, reference}]
	if !ok {
		s.mu.Unlock()
		return ErrSTKUnknownPrompt
	}
	if pr.Status != STKPending {
		s.mu.Unlock()
		return ErrSTKPromptFinal
	}
	pr.ResultCode, pr.ResultDesc = code, text
	pr.AnsweredAt = s.now()
	if code == STKCodeSuccess {
		pr.Status = STKCompleted
		pr.Receipt = newReceipt()
		pr.PaidAmount = pr.Amount
		if paid != nil {
			pr.PaidAmount = *paid
		}
	} else {
		pr.Status = STKFailed
	}
	s.mu.Unlock()
	if sendCallback {
		s.scheduleSTKCallback(provider, reference)
	}
	return nil
}

// stkCounter returns provider's counters. The caller holds Sandbox.mu.
func (s *Sandbox) stkCounter(provider string) *stkCounters {
	if c, ok := s.stk.counters[provider]; ok {
		return c
	}
	return &stkCounters{} // an unknown provider: counts nothing
}

// stkQueryStart counts a status request of provider and reports whether
// FailSTKQueries says to answer it 503.
func (s *Sandbox) stkQueryStart(provider string) (fail bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	c := s.stkCounter(provider)
	c.queries++
	if c.failQueries > 0 {
		c.failQueries--
		return true
	}
	return false
}

// jwtPart is the base64url (unpadded) JSON of v.
func jwtPart(v any) string {
	b, _ := json.Marshal(v)
	return base64.RawURLEncoding.EncodeToString(b)
}

// stkIssueToken issues a bearer token for provider, valid for ttl (rounded
// up to whole seconds): a JWT signed with HS256 whose payload carries iat,
// exp (Unix seconds) and a random jti, so that no two tokens are equal.
// It forgets expired tokens and counts the login.
func (s *Sandbox) stkIssueToken(provider string, ttl time.Duration) (token string, ttlSeconds int64) {
	ttlSeconds = max(int64((ttl+time.Second-1)/time.Second), 1)
	s.mu.Lock()
	defer s.mu.Unlock()
	now := s.now()
	iat := now.Unix()
	exp := iat + ttlSeconds
	head := jwtPart(struct {
		Alg string `json:"alg"`
		Typ string `json:"typ"`
	}{"HS256", "JWT"})
	body := jwtPart(struct {
		Iat int64  `json:"iat"`
		Exp int64  `json:"exp"`
		Jti string `json:"jti"`
	}{iat, exp, newNonce()})
	m := hmac.New(sha256.New, s.stk.jwtKey)
	m.Write([]byte(head + "." + body))
	token = head + "." + body + "." + base64.RawURLEncoding.EncodeToString(m.Sum(nil))
	for t, tok := range s.stk.tokens {
		if !now.Before(tok.expiry) {
			delete(s.stk.tokens, t)
		}
	}
	s.stk.tokens[token] = stkToken{provider: provider, expiry: time.Unix(exp, 0)}
	s.stkCounter(provider).logins++
	return token, ttlSeconds
}

// stkTokenValid reports whether token was issued for provider and has not
// expired.
func (s *Sandbox) stkTokenValid(provider, token string) bool {
	if token == "" {
		return false
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	tok, ok := s.stk.tokens[token]
	return ok && tok.provider == provider && s.now().Before(tok.expiry)
}

// credentialsMatch compares received credentials with the configured ones
// in constant time; empty configured credentials accept nothing.
func credentialsMatch(gotEmail, gotPassword, wantEmail, wantPassword string) bool {
	if wantEmail == "" || wantPassword == "" {
		return false
	}
	e := hashEqual(gotEmail, wantEmail)
	p := hashEqual(gotPassword, wantPassword)
	return e && p
}

// jsonObject is a JSON request body read as an object: its fields, raw.
type jsonObject struct {
	raw    []byte // the body, compacted
	fields map[string]json.RawMessage
	fold   bool // field names match in any case (ASP.NET's rule)
}

// errNotJSONType and errNotObject explain a body that readJSONObject
// refuses; their texts are written in the answers.
var (
	errNotJSONType = errors.New("Content-Type must be application/json")
	errNotObject   = errors.New("the body must be one JSON object")
)

// readJSONObject reads r's body as one JSON object (at most maxBody bytes).
// It fails with errNotJSONType when the Content-Type is not
// application/json, and errNotObject when the body is not a JSON object.
func readJSONObject(w http.ResponseWriter, r *http.Request, fold bool) (*jsonObject, error) {
	mt, _, err := mime.ParseMediaType(r.Header.Get("Content-Type"))
	if err != nil || mt != "application/json" {
		return nil, errNotJSONType
	}
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, maxBody))
	if err != nil {
		return nil, errNotObject
	}
	var fields map[string]json.RawMessage
	dec := json.NewDecoder(bytes.NewReader(body))
	if err := dec.Decode(&fields); err != nil || fields == nil {
		return nil, errNotObject
	}
	if _, err := dec.Token(); err != io.EOF {
		return nil, errNotObject
	}
	var compact bytes.Buffer
	if err := json.Compact(&compact, body); err != nil {
		return nil, errNotObject
	}
	return &jsonObject{raw: compact.Bytes(), fields: fields, fold: fold}, nil
}

// get returns the raw value of field name and whether it is present (a
// JSON null counts as absent).
func (o *jsonObject) get(name string) (json.RawMessage, bool) {
	v, ok := o.fields[name]
	if !ok && o.fold {
		for k, kv := range o.fields {
			if strings.EqualFold(k, name) {
				v, ok = kv, true
				break
			}
		}
	}
	if !ok || string(v) == "null" {
		return nil, false
	}
	return v, true
}

// fieldProblem says what is wrong with one field.
type fieldProblem int

const (
	fieldOK       fieldProblem = iota
	fieldMissing               // absent or null
	fieldEmpty                 // an empty (or blank) string
	fieldType                  // not a string, or not a number
	fieldNegative              // a number not greater than 0
	fieldFraction              // a number with a fraction
)

// str reads field name as a JSON string.
func (o *jsonObject) str(name string) (string, fieldProblem) {
	raw, ok := o.get(name)
	if !ok {
		return "", fieldMissing
	}
	var v string
	if err := json.Unmarshal(raw, &v); err != nil {
		return "", fieldType
	}
	if strings.TrimSpace(v) == "" {
		return v, fieldEmpty
	}
	return v, fieldOK
}

// optionalStr reads field name as an optional JSON string: absent, null
// and "" are fine, another type is not.
func (o *jsonObject) optionalStr(name string) (string, fieldProblem) {
	v, p := o.str(name)
	if p == fieldMissing || p == fieldEmpty {
		return v, fieldOK
	}
	return v, p
}

// wholeAmount reads field name as a JSON number of whole shillings,
// greater than 0, into cents.
func (o *jsonObject) wholeAmount(name string) (gateway.Amount, fieldProblem) {
	raw, ok := o.get(name)
	if !ok {
		return 0, fieldMissing
	}
	text := strings.TrimSpace(string(raw))
	if text == "" || (text[0] != '-' && (text[0] < '0' || text[0] > '9')) {
		return 0, fieldType // a string, a boolean, an object...
	}
	if text[0] == '-' {
		return 0, fieldNegative
	}
	a, err := gateway.ParseProviderAmount(text)
	if err != nil {
		// An exponent (1e3) or more than two decimals: read it as a float
		// only to tell a whole number from a fraction.
		f, ferr := strconv.ParseFloat(text, 64)
		switch {
		case ferr != nil || f >= 1e13:
			return 0, fieldType
		case f != float64(int64(f)):
			return 0, fieldFraction
		}
		a = gateway.Amount(int64(f) * 100)
	}
	switch {
	case a <= 0:
		return 0, fieldNegative
	case !a.Whole():
		return 0, fieldFraction
	}
	return a, fieldOK
}

// shillings writes a prompt amount for people: "KES 1,500" for whole
// shillings, "KES 1,500.50" otherwise.
func shillings(a gateway.Amount) string {
	g := a.Grouped()
	if a.Whole() {
		g = strings.TrimSuffix(g, ".00")
	}
	return "KES " + g
}
