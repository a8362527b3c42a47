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
	"time"

	"checkout/money"
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

// Amount is money in cents; see package money, where it lives so that
// every layer can share it. The aliases keep provider code unchanged.
type Amount = money.Amount

// ErrAmount is returned for text that is not a valid amount.
var ErrAmount = money.ErrAmount

// ParseAmount reads a decimal amount in major units into cents (see
// money.Parse).
func ParseAmount(s string) (Amount, error) { return money.Parse(s) }

// ParseProviderAmount reads an amount as a provider writes it in JSON (see
// money.ParseProvider).
func ParseProviderAmount(s string) (Amount, error) { return money.ParseProvider(s) }

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

// Call is one HTTP exchange of a provider client, as a CallObserver sees
// it: no URL, body or token, only what metrics need.
type Call struct {
	// Provider is the client's name ("pesapal", "pokeapay", "pochipay").
	Provider string
	// Operation is the client's name for the call, one of a fixed set per
	// client ("submit order request", "get transaction status", "stk push",
	// "request token", ...): never built from a reference or a URL, so it
	// can be a metric label.
	Operation string
	// Duration is how long the exchange took, the reading of the answer
	// included.
	Duration time.Duration
	// HTTPStatus is the answer's status; 0 when no HTTP answer came back.
	HTTPStatus int
	// Failure says why the exchange gave no usable answer: "" when it did
	// (whatever its status), else CallTimeout, CallCancelled, CallNetwork or
	// CallTooLarge.
	Failure string
}

// The failures of a Call.
const (
	CallTimeout   = "timeout"
	CallCancelled = "cancelled"
	CallNetwork   = "network"
	CallTooLarge  = "too_large"
)

// CallObserver is told of every HTTP exchange a provider client makes
// (each try of a retried call, each token request), for the app's metrics.
// It must be safe for concurrent use and quick: it runs on the caller's
// goroutine. The clients take one in their Config; nil observes nothing.
type CallObserver interface {
	ObserveCall(Call)
}
