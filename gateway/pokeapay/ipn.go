package pokeapay

import (
	"bytes"
	"encoding/json"
	"fmt"
	"mime"
	"net/url"
	"strings"
	"unicode/utf8"

	"checkout/gateway"
)

// Limits on what ParseIPN accepts.
const (
	// maxIPNBody bounds the body: the document's IPN is seven short values.
	maxIPNBody = 16 << 10
	// maxBillReference bounds billreference, our own oref (50 at most) with
	// room to spare.
	maxBillReference = 100
)

// IPN is PokeaPay's instant payment notification, field for field as the
// document's body shows it. It says which order to look at and what
// PokeaPay saw, but carries no signature: anyone can send one. Only
// VerifyPayment (or Confirm) may mark an order paid.
type IPN struct {
	// BillReference is "billreference": the oref sent at checkout. Always set
	// after ParseIPN.
	BillReference string `json:"billreference"`
	// Amount is "amount", the amount paid in major units as PokeaPay wrote
	// it; empty or a valid amount after ParseIPN (see AmountCents).
	Amount string `json:"amount"`
	// AccountName is "accountname", the payer's name.
	AccountName string `json:"accountname"`
	// AccountNo is "accountno", the payer's account (phone or card number).
	AccountNo string `json:"accountno"`
	// Fees is "fees", PokeaPay's fees as PokeaPay wrote them.
	Fees string `json:"fees"`
	// ReferenceNo is "referenceno", the payment's reference (for M-Pesa, the
	// receipt number).
	ReferenceNo string `json:"referenceno"`
	// Method is "method", what the customer paid with (values not listed
	// by the document; kept for the timeline only).
	Method string `json:"method"`
}

// ipnWire reads the JSON body with values that may be strings or numbers.
type ipnWire struct {
	BillReference flexString `json:"billreference"`
	Amount        flexString `json:"amount"`
	AccountName   flexString `json:"accountname"`
	AccountNo     flexString `json:"accountno"`
	Fees          flexString `json:"fees"`
	ReferenceNo   flexString `json:"referenceno"`
	Method        flexString `json:"method"`
}

// ParseIPN reads an IPN body: the document's JSON object, or a form body
// with the same keys; a missing or garbled Content-Type is judged by the
// body. Values may be JSON strings or numbers (a number keeps its text),
// and keys match without regard to case. The caller limits how much it
// reads; more than 16 KiB is refused here too.
//
// It refuses a missing billreference, one longer than 100 characters, a
// value that is not printable UTF-8 or longer than 255 characters, an
// amount that is not a decimal amount, and a form key sent twice with
// different values. Errors wrap ErrInvalidIPN.
func ParseIPN(contentType string, body []byte) (IPN, error) {
	if len(body) > maxIPNBody {
		return IPN{}, fmt.Errorf("%w: body is larger than %d bytes", ErrInvalidIPN, maxIPNBody)
	}
	t := bytes.TrimSpace(body)
	if len(t) == 0 {
		return IPN{}, fmt.Errorf("%w: body is empty", ErrInvalidIPN)
	}
	mediaType, _, err := mime.ParseMediaType(contentType)
	if err != nil {
		mediaType = ""
	}
	isJSON := mediaType == "application/json" || strings.HasSuffix(mediaType, "+json") ||
		(mediaType != "application/x-www-form-urlencoded" && t[0] == '{')
	var n IPN
	if isJSON {
		n, err = ipnFromJSON(t)
	} else {
		n, err = ipnFromForm(t)
	}
	if err != nil {
		return IPN{}, err
	}
	if err := n.check(); err != nil {
		return IPN{}, err
	}
	return n, nil
}

// ipnFromJSON reads the document's body.
func ipnFromJSON(body []byte) (IPN, error) {
	var w ipnWire
	if body[0] != '{' || json.Unmarshal(body, &w) != nil {
		return IPN{}, fmt.Errorf("%w: body is not the JSON object PokeaPay sends", ErrInvalidIPN)
	}
	return IPN{
		BillReference: strings.TrimSpace(string(w.BillReference)),
		Amount:        strings.TrimSpace(string(w.Amount)),
		AccountName:   strings.TrimSpace(string(w.AccountName)),
		AccountNo:     strings.TrimSpace(string(w.AccountNo)),
		Fees:          strings.TrimSpace(string(w.Fees)),
		ReferenceNo:   strings.TrimSpace(string(w.ReferenceNo)),
		Method:        strings.TrimSpace(string(w.Method)),
	}, nil
}

// ipnFromForm reads a form body with the document's keys.
func ipnFromForm(body []byte) (IPN, error) {
	form, err := url.ParseQuery(string(body))
	if err != nil {
		return IPN{}, fmt.Errorf("%w: body is neither JSON nor a form", ErrInvalidIPN)
	}
	var n IPN
	for _, f := range n.fields() {
		v, err := single(form, f.key)
		if err != nil {
			return IPN{}, fmt.Errorf("%w: %w", ErrInvalidIPN, err)
		}
		*f.dst = v
	}
	return n, nil
}

// ipnField is one IPN value with its document key.
type ipnField struct {
	key string
	dst *string
}

// fields lists n's values with their keys, in the document's order.
func (n *IPN) fields() []ipnField {
	return []ipnField{
		{"billreference", &n.BillReference},
		{"amount", &n.Amount},
		{"accountname", &n.AccountName},
		{"accountno", &n.AccountNo},
		{"fees", &n.Fees},
		{"referenceno", &n.ReferenceNo},
		{"method", &n.Method},
	}
}

// check applies the rules every IPN must meet.
func (n IPN) check() error {
	if n.BillReference == "" {
		return fmt.Errorf("%w: billreference is missing", ErrInvalidIPN)
	}
	if utf8.RuneCountInString(n.BillReference) > maxBillReference {
		return fmt.Errorf("%w: billreference is longer than %d characters", ErrInvalidIPN, maxBillReference)
	}
	for _, f := range n.fields() {
		if !printable(*f.dst) {
			return fmt.Errorf("%w: %s contains a character that is not printable", ErrInvalidIPN, f.key)
		}
		if utf8.RuneCountInString(*f.dst) > maxText {
			return fmt.Errorf("%w: %s is longer than %d characters", ErrInvalidIPN, f.key, maxText)
		}
	}
	if n.Amount != "" {
		if _, err := gateway.ParseProviderAmount(n.Amount); err != nil {
			return fmt.Errorf("%w: amount is not a decimal amount", ErrInvalidIPN)
		}
	}
	return nil
}

// AmountCents returns the IPN's amount in cents, and false when it has none
// or it is not a decimal amount. It is what PokeaPay reports, not proof:
// compare it with what the verification confirmed.
func (n IPN) AmountCents() (gateway.Amount, bool) {
	if n.Amount == "" {
		return 0, false
	}
	a, err := gateway.ParseProviderAmount(n.Amount)
	if err != nil {
		return 0, false
	}
	return a, true
}
