// Package gateway holds the types shared by every payment provider client:
// the money type used on the wire, the result of a provider's own status call,
// and the small interface the payments service uses to confirm an attempt.
//
// Provider clients live in sub-packages (pesapal, and later pokeapay and
// pochipay); gateway/sandbox simulates them. Nothing here imports the rest of
// the application.
package gateway

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"strings"
)

// Status is a provider's verdict on one payment attempt, mapped to our words.
type Status string

// The statuses a provider status call can map to.
const (
	// StatusPending: no final answer yet (not paid, not failed).
	StatusPending Status = "pending"
	// StatusSucceeded: the provider says the money was taken.
	StatusSucceeded Status = "succeeded"
	// StatusFailed: declined, cancelled, timed out; the customer may try again.
	StatusFailed Status = "failed"
	// StatusReversed: a completed payment was reversed by the provider.
	StatusReversed Status = "reversed"
	// StatusNotFound: the provider says it has no record of the attempt
	// (it never heard of it). Not a failure by itself: a provider may not
	// know a prompt for a moment after accepting it, so the payments service
	// decides when "not found" means the payment will never happen.
	StatusNotFound Status = "not_found"
)

// Result is what a provider's own status call said about one payment attempt.
// Only a Result obtained from the provider (never one built from a
// notification) may change an order.
type Result struct {
	Status Status
	// Amount is what the provider reports, in cents; HasAmount is false when
	// the provider did not report one (then nothing can be marked paid).
	Amount    Amount
	HasAmount bool
	Currency  string
	// Reference is the merchant reference the provider echoes back: for us,
	// the payment attempt id.
	Reference string
	// ProviderReference is the provider's own id for the attempt (Pesapal's
	// order tracking id).
	ProviderReference string
	// Receipt is the provider's proof of payment (Pesapal confirmation_code).
	Receipt string
	// Method is the provider's name of what the customer paid with.
	Method string
	// Message explains a failure in words a person understands.
	Message string
	// Code is the M-Pesa result code when the provider reports one ("0",
	// "1032", ...), so that the customer can be told what happened.
	Code string
	// Raw is the provider's answer with secrets removed, for the event log.
	Raw []byte
}

// Query identifies one payment attempt to a provider's status call.
type Query struct {
	AttemptID         string
	ProviderReference string
	Amount            Amount
	Currency          string
	// Phone is the M-Pesa number of an STK push (254 and 9 digits).
	Phone string
}

// Confirmer is the common interface of every provider client: ask the
// provider what happened to an attempt.
type Confirmer interface {
	Confirm(ctx context.Context, q Query) (Result, error)
}

// Amount is money in cents (hundredths of the major unit). A float never
// holds money: amounts are parsed from and written to decimal text exactly.
type Amount int64

// ErrAmount is returned for text that is not a valid amount.
var ErrAmount = errors.New("amount must be digits with an optional point and at most 2 decimals")

// ParseAmount reads a decimal amount in major units ("1500", "1500.5",
// "1500.50") into cents. It accepts no sign, exponent, separators or more
// than two decimals.
func ParseAmount(s string) (Amount, error) {
	if s == "" {
		return 0, ErrAmount
	}
	whole, frac, hasPoint := strings.Cut(s, ".")
	if whole == "" || (hasPoint && (frac == "" || len(frac) > 2)) {
		return 0, ErrAmount
	}
	for _, part := range []string{whole, frac} {
		for _, r := range part {
			if r < '0' || r > '9' {
				return 0, ErrAmount
			}
		}
	}
	if len(whole) > 13 { // keeps cents well inside int64
		return 0, fmt.Errorf("amount is too large")
	}
	w, err := strconv.ParseInt(whole, 10, 64)
	if err != nil {
		return 0, ErrAmount
	}
	for len(frac) < 2 {
		frac += "0"
	}
	f, err := strconv.ParseInt(frac, 10, 64)
	if err != nil {
		return 0, ErrAmount
	}
	return Amount(w*100 + f), nil
}

// ParseProviderAmount reads an amount as a provider writes it in JSON: like
// ParseAmount, but trailing zeros past the second decimal are allowed
// ("100.000"), since some providers serialise decimals that way.
func ParseProviderAmount(s string) (Amount, error) {
	s = strings.TrimSpace(s)
	if whole, frac, ok := strings.Cut(s, "."); ok && len(frac) > 2 {
		if strings.Trim(frac[2:], "0") != "" {
			return 0, ErrAmount
		}
		s = whole + "." + frac[:2]
	}
	return ParseAmount(s)
}

// String writes the amount in major units with two decimals: "1500.00".
func (a Amount) String() string {
	sign := ""
	v := int64(a)
	if v < 0 {
		sign, v = "-", -v
	}
	return fmt.Sprintf("%s%d.%02d", sign, v/100, v%100)
}

// Grouped writes the amount with thousands separators: "1,500.00".
func (a Amount) Grouped() string {
	s := a.String()
	sign := ""
	if strings.HasPrefix(s, "-") {
		sign, s = "-", s[1:]
	}
	whole, frac, _ := strings.Cut(s, ".")
	var b strings.Builder
	for i, r := range whole {
		if i > 0 && (len(whole)-i)%3 == 0 {
			b.WriteByte(',')
		}
		b.WriteRune(r)
	}
	return sign + b.String() + "." + frac
}

// Whole reports whether the amount has no cents (M-Pesa takes whole units).
func (a Amount) Whole() bool { return a%100 == 0 }

// MarshalJSON writes the amount as a JSON number with two decimals, the way
// providers that take a "Float" expect it, without passing through a float.
func (a Amount) MarshalJSON() ([]byte, error) { return []byte(a.String()), nil }

// UnmarshalJSON reads a JSON number or a string of digits.
func (a *Amount) UnmarshalJSON(b []byte) error {
	s := strings.TrimSpace(string(b))
	if s == "null" {
		return ErrAmount
	}
	s = strings.Trim(s, `"`)
	v, err := ParseProviderAmount(s)
	if err != nil {
		return err
	}
	*a = v
	return nil
}

// STKRequest asks a provider to send an M-Pesa prompt ("STK push") to a
// phone.
type STKRequest struct {
	// Reference is our id for this prompt (the payment attempt id), unique
	// per prompt: PokeaPay's orderRef, Pochipay's orderId.
	Reference string
	// Phone is 254 followed by 9 digits (see the payments service's
	// normaliser).
	Phone string
	// Amount is in whole shillings: M-Pesa takes no cents.
	Amount      Amount
	CallbackURL string
	// AccountReference is the merchant's order reference, shown to the
	// customer where the API carries one (Pochipay's billRefNumber).
	AccountReference string
	// Description is a short narration.
	Description                 string
	CustomerName, CustomerEmail string
}

// STKStarted is the provider's answer to a push: the prompt is on its way.
type STKStarted struct {
	// ProviderReference is the provider's id to query with (Pochipay's
	// collectionId; PokeaPay's orderRef, which is our Reference).
	ProviderReference string
	// Raw is the answer with secrets removed.
	Raw []byte
}

// STKCallback is what a provider's STK callback names: which prompt to look
// at. Its own verdict is not trusted; the provider's query decides.
type STKCallback struct {
	// Reference is our id for the prompt (STKRequest.Reference).
	Reference         string
	ProviderReference string
	// Successful and Code are what the callback claims, for the event log.
	Successful bool
	Code       string
	Message    string
}

// ErrSubscriberBusy: the phone already has a prompt in progress ("Unable to
// lock subscriber"). Nothing was started and nothing failed: the customer
// finishes or waits for the prompt on the phone, then tries again.
var ErrSubscriberBusy = errors.New("a payment prompt is already in progress on this phone")

// ErrNotStarted is wrapped (see NotStarted) by a push error when the
// provider plainly started no prompt: the request was refused before it
// was sent, the login before it failed, the connection was never made, or
// the provider answered with a clear refusal (a 4xx, or an answer saying it
// did not start the prompt, with its reason). Nothing reached the phone, so
// the attempt can be closed and the customer told nothing was charged.
//
// A push error that does not wrap it may have started a prompt (no answer,
// a server error, an answer that cannot be read): the attempt stays pending
// and the provider is asked about it.
var ErrNotStarted = errors.New("the provider did not start the prompt")

// NotStarted marks err, a push error, as one that started no prompt:
// errors.Is(result, ErrNotStarted) holds; its text, errors.As and the rest
// of its chain are err's. A nil err stays nil.
func NotStarted(err error) error {
	if err == nil {
		return nil
	}
	return notStarted{err}
}

// notStarted is NotStarted's wrapper.
type notStarted struct{ err error }

func (e notStarted) Error() string        { return e.err.Error() }
func (e notStarted) Unwrap() error        { return e.err }
func (e notStarted) Is(target error) bool { return target == ErrNotStarted }

// STKProvider is an M-Pesa STK push backend (PokeaPay's STK API or
// Pochipay's M-Pesa collections).
type STKProvider interface {
	// Name is the provider's key in attempts and events: "pokeapay" or
	// "pochipay".
	Name() string
	// Push sends the prompt. It is not retried on failure: a repeat could
	// prompt the customer twice. An error wraps ErrNotStarted when no
	// prompt was started; any other error leaves the prompt possibly on
	// the phone.
	Push(ctx context.Context, r STKRequest) (STKStarted, error)
	// ParseCallback reads a callback body.
	ParseCallback(contentType string, body []byte) (STKCallback, error)
	// Confirm asks the provider about a prompt (Query.AttemptID is the
	// Reference, Query.Phone the number).
	Confirmer
}
