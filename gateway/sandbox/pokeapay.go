package sandbox

import (
	"crypto/hmac"
	"crypto/sha1"
	"crypto/subtle"
	"encoding/hex"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"time"

	"checkout/gateway"
)

// Paths of the PokeaPay simulator, as Handler serves them.
const (
	// PokeaPayCheckoutPath is the hosted checkout page; it stands for
	// https://pay.pokeapay.com/ (PokeaPayCheckoutURL).
	PokeaPayCheckoutPath = "/sandbox/pokeapay/"
	// PokeaPayPayPath is where the checkout page posts the customer's choice.
	PokeaPayPayPath = "/sandbox/pokeapay/pay"
	// PokeaPayCorePath stands for https://core.pokeapay.com (PokeaPayCoreURL).
	PokeaPayCorePath = "/sandbox/pokeapay/core"
	// PokeaPayVerifyPath is the payment verification call.
	PokeaPayVerifyPath = PokeaPayCorePath + "/api/payment/status"
)

// Statuses of a PokeaPay order (PokeaPayOrder.Status).
const (
	PokeaPayPending = "pending" // opened, not paid, declined or cancelled yet
	PokeaPayPaid    = "paid"
	PokeaPayFailed  = "failed" // declined, or cancelled by the customer
)

// The opaque status values of the payment verification answer.
const (
	PokeaPayVerifySuccess = "c4812ee2b789226193ad2511495fa559"
	PokeaPayVerifyFailed  = "ccc0377a8afbf50e7094f5c23a8af223" // also: "not all parameters fulfilled"
	PokeaPayVerifyPending = "c69f06e1a9b016d133907b4e5f5864d2"
)

// PokeaPay payment types, as the page's radio "type", the return URL and
// the verification's "type" write them.
const (
	PokeaPayTypeMpesa = "m"
	PokeaPayTypeCard  = "c"
)

// Errors returned by the PokeaPay test hooks.
var (
	// ErrPokeaPayUnknownOrder: no order has this oref.
	ErrPokeaPayUnknownOrder = errors.New("sandbox: unknown PokeaPay order reference")
	// ErrPokeaPayOrderFinal: the order was already paid, declined or cancelled.
	ErrPokeaPayOrderFinal = errors.New("sandbox: PokeaPay order is already final")
	// ErrPokeaPayRefused: the checkout page refused the URL (every error of
	// PokeaPayOpen wraps it).
	ErrPokeaPayRefused = errors.New("sandbox: PokeaPay checkout refused")
	// ErrPokeaPayHash: the checkout URL's hsh does not match its details.
	ErrPokeaPayHash = errors.New("sandbox: PokeaPay hash (hsh) does not match the order details")
	// ErrPokeaPayConflict: the oref is already an order with another amount.
	ErrPokeaPayConflict = errors.New("sandbox: PokeaPay order reference already used with another amount")
)

// pokeaPayTestCard is the masked card a card payment reports.
const pokeaPayTestCard = "424242******4242"

// PokeaPayOrder is a copy of one order opened on the PokeaPay checkout page,
// as the test hooks return it.
type PokeaPayOrder struct {
	OrderRef     string // oref
	OutletCode   string // oc
	Live         bool   // live=1 (false: live=0, demo)
	CustomerName string // cn
	Email        string // eml
	Phone        string // tel, as sent
	Currency     string // curr (KES)
	Amount       gateway.Amount
	AmountText   string // amt exactly as sent ("1500" or "1500.00"); the return URL repeats it
	CallbackURL  string // cb
	V1, V2       string
	Status       string // PokeaPayPending, PokeaPayPaid or PokeaPayFailed
	// Cancelled is true when the customer pressed Cancel (Status is failed).
	Cancelled bool
	// Type is m (M-Pesa) or c (card): what paid the order, or the choice on
	// the page when it was declined or cancelled there; empty while pending.
	Type string
	// ReferenceNo is the payment's receipt (10 uppercase letters and
	// digits), set once paid.
	ReferenceNo string
	// PaidAmount is what the provider took once paid: Amount, unless
	// PokeaPayCompleteAmount said otherwise.
	PaidAmount gateway.Amount
	CreatedAt  time.Time // when the page first opened it
	UpdatedAt  time.Time // when it last changed
}

// pokeaPayState is the PokeaPay simulator's data, guarded by Sandbox.mu.
type pokeaPayState struct {
	orders        map[string]*PokeaPayOrder // by oref
	failVerify    int                       // verifications still to answer 503
	verifications int
	ipnsSent      int
}

func (p *pokeaPayState) init() {
	p.orders = map[string]*PokeaPayOrder{}
}

// PokeaPayCheckoutURL is the checkout page's URL, standing for
// https://pay.pokeapay.com/: PublicURL + "/sandbox/pokeapay/".
func (s *Sandbox) PokeaPayCheckoutURL() string { return s.baseURL + PokeaPayCheckoutPath }

// PokeaPayCoreURL is the API base URL, standing for https://core.pokeapay.com:
// PublicURL + "/sandbox/pokeapay/core". The verification is at
// PokeaPayCoreURL() + "/api/payment/status".
func (s *Sandbox) PokeaPayCoreURL() string { return s.baseURL + PokeaPayCorePath }

func (s *Sandbox) routePokeaPay(mux *http.ServeMux) {
	mux.HandleFunc("GET "+PokeaPayCheckoutPath+"{$}", s.pokeaPayPage)
	mux.HandleFunc("GET "+strings.TrimSuffix(PokeaPayCheckoutPath, "/"), s.pokeaPayPage)
	mux.HandleFunc("POST "+PokeaPayPayPath, s.pokeaPaySubmit)
	mux.HandleFunc("GET "+PokeaPayVerifyPath, s.pokeaPayVerify)
}

// pokeaPayConfigured reports whether an outlet code and a hash key are set.
func (s *Sandbox) pokeaPayConfigured() bool {
	return s.cfg.PokeaPayOutletCode != "" && s.cfg.PokeaPayHashKey != ""
}

// pokeaPayHMAC is the lowercase hex HMAC-SHA1, with the hash key, of the
// parts concatenated with no separator (PHP's hash_hmac('sha1', ...)).
func pokeaPayHMAC(key string, parts ...string) string {
	m := hmac.New(sha1.New, []byte(key))
	for _, p := range parts {
		m.Write([]byte(p))
	}
	return hex.EncodeToString(m.Sum(nil))
}

// pokeaPayCheckoutFields are the checkout hash's fields, in order.
var pokeaPayCheckoutFields = []string{"live", "oref", "amt", "tel", "eml", "oc"}

// pokeaPayReturnHash is the return URL's hsh: HMAC-SHA1 over oref . oc.
// The verification's hash is ASSUMED to be the same construction over
// bill_ref . oc (the document does not define it).
func (s *Sandbox) pokeaPayReturnHash(oref string) string {
	return pokeaPayHMAC(s.cfg.PokeaPayHashKey, oref, s.cfg.PokeaPayOutletCode)
}

// hashEqual compares a received hex hash with the expected one in constant
// time.
func hashEqual(got, want string) bool {
	return subtle.ConstantTimeCompare([]byte(got), []byte(want)) == 1
}

// pokeaPayRefusal is why the checkout page refused a URL: the page shows it,
// PokeaPayOpen returns it as an error.
type pokeaPayRefusal struct {
	Status   int
	Heading  string
	Message  string
	Problems []string        // one line per bad parameter
	Fields   []pokeaPayField // the hashed fields, for a hash mismatch
	Hashed   string          // the string that was hashed, for a hash mismatch
	kind     error           // ErrPokeaPayHash, ErrPokeaPayConflict or nil
}

// pokeaPayField is one parameter shown on the page.
type pokeaPayField struct{ Name, Value string }

func (r *pokeaPayRefusal) Error() string {
	msg := r.Message
	if len(r.Problems) > 0 {
		msg += " " + strings.Join(r.Problems, "; ")
	}
	if r.Hashed != "" {
		msg += " String hashed: " + r.Hashed
	}
	return fmt.Sprintf("%v (HTTP %d): %s", ErrPokeaPayRefused, r.Status, msg)
}

func (r *pokeaPayRefusal) Unwrap() []error {
	if r.kind == nil {
		return []error{ErrPokeaPayRefused}
	}
	return []error{ErrPokeaPayRefused, r.kind}
}

// pokeaPayCheckout checks a checkout URL's query, as the page does, and
// returns the order it describes (not recorded yet).
func (s *Sandbox) pokeaPayCheckout(q url.Values) (*PokeaPayOrder, *pokeaPayRefusal) {
	if !s.pokeaPayConfigured() {
		return nil, &pokeaPayRefusal{
			Status:  http.StatusServiceUnavailable,
			Heading: "PokeaPay sandbox not set up",
			Message: "The PokeaPay sandbox has no outlet code and hash key configured " +
				"(PokeaPayOutletCode, PokeaPayHashKey), so it accepts no payment.",
		}
	}
	get := func(name string) string { return q.Get(name) }
	oc, live, oref, amt, curr, cb, hsh := get("oc"), get("live"), get("oref"), get("amt"), get("curr"), get("cb"), get("hsh")
	var problems []string
	switch {
	case oc == "":
		problems = append(problems, "oc (the outlet code PokeaPay assigned) is required.")
	case oc != strings.ToUpper(oc):
		problems = append(problems, "oc must be written in uppercase: PokeaPay accepts uppercase outlet codes only.")
	case oc != s.cfg.PokeaPayOutletCode:
		problems = append(problems, "oc is not an outlet code of this merchant account.")
	}
	if live != "1" && live != "0" {
		problems = append(problems, "live must be 1 (live) or 0 (demo). Send it: it is part of the hash.")
	}
	if curr != "" && curr != "KES" {
		problems = append(problems, "curr must be KES.")
	}
	if strings.TrimSpace(oref) == "" {
		problems = append(problems, "oref (the order reference) is required.")
	}
	if !validURL(cb) {
		problems = append(problems, "cb (the return URL) is required and must be an absolute http or https URL.")
	}
	amount, err := gateway.ParseAmount(amt)
	if err != nil || amount <= 0 {
		problems = append(problems, "amt must be greater than 0, written as digits with at most 2 decimals and no thousands separators (amt=1234.00, not 1,234.00).")
	}
	if hsh == "" {
		problems = append(problems, "hsh (the hash of the order details) is required.")
	}
	if len(problems) > 0 {
		return nil, &pokeaPayRefusal{
			Status:   http.StatusBadRequest,
			Heading:  "Invalid checkout request",
			Message:  "PokeaPay cannot open this payment:",
			Problems: problems,
		}
	}
	values := make([]string, len(pokeaPayCheckoutFields))
	fields := make([]pokeaPayField, len(pokeaPayCheckoutFields))
	for i, name := range pokeaPayCheckoutFields {
		values[i] = get(name)
		fields[i] = pokeaPayField{Name: name, Value: values[i]}
	}
	want := pokeaPayHMAC(s.cfg.PokeaPayHashKey, values...)
	if !hashEqual(hsh, want) {
		msg := "The hash (hsh) does not match these order details. PokeaPay computes it as the " +
			"lowercase hex HMAC-SHA1, with the outlet's hash key, of live . oref . amt . tel . eml . oc: " +
			"each value exactly as sent in this URL, joined with no separator. Check the hash key, " +
			"the order of the fields, and that the values hashed are the values sent."
		if hashEqual(strings.ToLower(hsh), want) {
			msg = "The hash (hsh) does not match these order details: it must be written in lowercase hex."
		}
		return nil, &pokeaPayRefusal{
			Status:  http.StatusBadRequest,
			Heading: "Hash mismatch",
			Message: msg,
			Fields:  fields,
			Hashed:  strings.Join(values, ""),
			kind:    ErrPokeaPayHash,
		}
	}
	if curr == "" {
		curr = "KES" // the document's default
	}
	return &PokeaPayOrder{
		OrderRef:     oref,
		OutletCode:   oc,
		Live:         live == "1",
		CustomerName: get("cn"),
		Email:        get("eml"),
		Phone:        get("tel"),
		Currency:     curr,
		Amount:       amount,
		AmountText:   amt,
		CallbackURL:  cb,
		V1:           get("v1"),
		V2:           get("v2"),
		Status:       PokeaPayPending,
	}, nil
}

// pokeaPayOpen records the order that a checkout URL describes, or returns
// it when its oref is already known: a pending order takes the new details
// (the customer may have changed them at the merchant), a final one keeps
// its own. The same oref with another amount is refused with 409.
func (s *Sandbox) pokeaPayOpen(q url.Values) (PokeaPayOrder, *pokeaPayRefusal) {
	o, refusal := s.pokeaPayCheckout(q)
	if refusal != nil {
		return PokeaPayOrder{}, refusal
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	now := s.now()
	existing, ok := s.pokeapay.orders[o.OrderRef]
	if !ok {
		o.CreatedAt, o.UpdatedAt = now, now
		s.pokeapay.orders[o.OrderRef] = o
		return *o, nil
	}
	if existing.Amount != o.Amount || existing.Currency != o.Currency {
		return PokeaPayOrder{}, &pokeaPayRefusal{
			Status:  http.StatusConflict,
			Heading: "Order reference already used",
			Message: fmt.Sprintf("The order reference %q was already opened for %s %s, not %s %s. "+
				"Use a new oref for every payment attempt with another amount.",
				o.OrderRef, existing.Currency, existing.Amount.Grouped(), o.Currency, o.Amount.Grouped()),
			kind: ErrPokeaPayConflict,
		}
	}
	if existing.Status == PokeaPayPending && !samePokeaPayDetails(existing, o) {
		o.CreatedAt, o.UpdatedAt = existing.CreatedAt, now
		*existing = *o
	}
	return *existing, nil
}

// samePokeaPayDetails reports whether two pending orders carry the same
// checkout parameters.
func samePokeaPayDetails(a, b *PokeaPayOrder) bool {
	return a.Live == b.Live && a.CustomerName == b.CustomerName && a.Email == b.Email &&
		a.Phone == b.Phone && a.AmountText == b.AmountText && a.CallbackURL == b.CallbackURL &&
		a.V1 == b.V1 && a.V2 == b.V2
}

// pokeaPayReturn is the order's cb with the return parameters appended:
// oref, hsh (HMAC-SHA1 over oref . oc), type, amount (amt as sent) and
// status (1 paid, 0 otherwise).
func (s *Sandbox) pokeaPayReturn(o *PokeaPayOrder) string {
	typ := o.Type
	if typ == "" {
		typ = PokeaPayTypeMpesa
	}
	status := "0"
	if o.Status == PokeaPayPaid {
		status = "1"
	}
	return appendQuery(o.CallbackURL,
		"oref", o.OrderRef,
		"hsh", s.pokeaPayReturnHash(o.OrderRef),
		"type", typ,
		"amount", o.AmountText,
		"status", status)
}

// pokeaPayVerifyAnswer is the verification's answer.
type pokeaPayVerifyAnswer struct {
	Status string `json:"status"`
	Oref   string `json:"oref"`
}

// pokeaPayErrorAnswer is the answer of a refused verification.
type pokeaPayErrorAnswer struct {
	Error string `json:"error"`
}

func (s *Sandbox) pokeaPayVerify(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	s.pokeapay.verifications++
	failing := s.pokeapay.failVerify > 0
	if failing {
		s.pokeapay.failVerify--
	}
	s.mu.Unlock()
	if failing {
		writeJSON(w, http.StatusServiceUnavailable, pokeaPayErrorAnswer{"the service is temporarily unavailable: try again"})
		return
	}
	q := r.URL.Query()
	billRef, oc, hash := q.Get("bill_ref"), q.Get("oc"), q.Get("hash")
	switch {
	case !s.pokeaPayConfigured():
		writeJSON(w, http.StatusUnauthorized, pokeaPayErrorAnswer{"the PokeaPay sandbox has no outlet code and hash key configured"})
		return
	case oc == "" || subtle.ConstantTimeCompare([]byte(oc), []byte(s.cfg.PokeaPayOutletCode)) != 1:
		writeJSON(w, http.StatusUnauthorized, pokeaPayErrorAnswer{"oc is missing or is not this merchant's outlet code"})
		return
	case !hashEqual(hash, s.pokeaPayReturnHash(billRef)):
		writeJSON(w, http.StatusUnauthorized, pokeaPayErrorAnswer{
			"hash does not match: it must be the lowercase hex HMAC-SHA1, with the hash key, of bill_ref . oc"})
		return
	case billRef == "":
		writeJSON(w, http.StatusBadRequest, pokeaPayErrorAnswer{"bill_ref is required"})
		return
	}
	status := PokeaPayVerifyPending
	s.mu.Lock()
	if o, ok := s.pokeapay.orders[billRef]; ok {
		switch o.Status {
		case PokeaPayFailed:
			status = PokeaPayVerifyFailed
		case PokeaPayPaid:
			amount, err := gateway.ParseProviderAmount(q.Get("amount"))
			if err == nil && amount == o.PaidAmount && q.Get("type") == o.Type {
				status = PokeaPayVerifySuccess
			} else {
				status = PokeaPayVerifyFailed // not all parameters fulfilled
			}
		}
	}
	s.mu.Unlock()
	writeJSON(w, http.StatusOK, pokeaPayVerifyAnswer{Status: status, Oref: billRef})
}
