package gateway

import (
	"context"
	"errors"
)

// Money going out: payouts to an M-Pesa phone (PokeaPay's B2C remittance,
// Pochipay's send-to-mobile), which also carry refunds of M-Pesa payments,
// and Pesapal's refund request for payments Pesapal took.
//
// The rule for both is the one for payments, turned around: a send is never
// repeated by a client. A call that may have reached the provider (no
// answer, a server error, an answer that cannot be read) is resolved by the
// provider's status call when there is one, and by a person when there is
// none; only an error wrapping ErrNotStarted says nothing was sent.

// PayoutRequest asks a payout provider to send money to an M-Pesa phone.
type PayoutRequest struct {
	// Reference is the provider reference, chosen and committed by the
	// payments service before the call: unique per send, 12 decimal digits
	// (PokeaPay's transfer.reference wants "a unique minimum 6 digit
	// string"; Pochipay's requestId and trackingReference take it as is).
	Reference string
	// Phone is 254 followed by 9 digits.
	Phone string
	// Name is the recipient's name ("" when not known; a client that
	// needs one sends a placeholder it documents).
	Name string
	// Amount is in whole shillings: M-Pesa takes no cents.
	Amount   Amount
	Currency string
	// Description is a short narration ("Refund ORDER-1001").
	Description string
	// CallbackURL is where the provider posts the result.
	CallbackURL string
}

// PayoutStarted is a provider's answer to a send: it took the request. It
// says nothing about whether money moved.
type PayoutStarted struct {
	// ProviderReference is the provider's own id when it gives one ("" when
	// it does not; the request's Reference then names the send).
	ProviderReference string
	// Raw is the answer with secrets removed, for the timeline.
	Raw []byte
}

// PayoutResult is what a provider said about one send: from its status call
// (Verified true), or from a callback (Verified true only when the callback
// carries proof the document defines and it checked out).
type PayoutResult struct {
	// Status is pending, succeeded, failed or not_found.
	Status Status
	// Reference is the request's Reference, as the provider echoes it.
	Reference string
	// Receipt is the M-Pesa transaction id ("QLD82TMWJE").
	Receipt string
	// Amount is what the provider reports, in cents; HasAmount is false
	// when it reports none.
	Amount    Amount
	HasAmount bool
	// Currency is the currency the provider reports (upper case), "" when
	// it names none.
	Currency string
	// Fees is the provider's fee, in cents, when reported.
	Fees Amount
	// Code is the provider's result code ("0", "1032"); Message says what
	// happened in words a person understands.
	Code    string
	Message string
	// Verified is true when the result comes from the provider's own status
	// call, or from a callback whose proof verified.
	Verified bool
	// Raw is the answer or callback with secrets removed.
	Raw []byte
}

// ErrNoStatusCall: the provider has no documented way to ask about a send
// (PokeaPay's B2C remittance). A send that may have reached it is never
// resolved by sending again: its result callback decides, or a person
// after reading the provider's statement.
var ErrNoStatusCall = errors.New("the provider has no status call for payouts")

// PayoutProvider sends money to M-Pesa phones.
type PayoutProvider interface {
	// Name is the provider's key in payouts and events: "pokeapay" or
	// "pochipay".
	Name() string
	// Send asks the provider to pay. It is never retried by the client. An
	// error wrapping ErrNotStarted says no money can have moved (refused
	// before sending, a clear refusal); any other error leaves the send
	// possibly under way.
	Send(ctx context.Context, r PayoutRequest) (PayoutStarted, error)
	// Status asks the provider about a send by its Reference; it returns
	// an error wrapping ErrNoStatusCall when the provider has none.
	Status(ctx context.Context, reference string) (PayoutResult, error)
	// ParseCallback reads a result callback. What it claims is trusted
	// only when Verified; otherwise it says "ask now" (Status), or, for a
	// provider with no status call, is kept and acted on as the payments
	// service's rules say.
	ParseCallback(contentType string, body []byte) (PayoutResult, error)
}

// Balancer is a payout provider that can say how much it can send
// (Pochipay's account balance).
type Balancer interface {
	// Balance is the account's available balance in cents and its currency.
	Balance(ctx context.Context) (Amount, string, error)
}

// PayoutCanceller is a payout provider that can cancel a send that is still
// pending (Pochipay, after 24 hours pending).
type PayoutCanceller interface {
	CancelPayout(ctx context.Context, reference string) error
}

// RefundRequest asks a payment provider to give a payment back (Pesapal's
// RefundRequest).
type RefundRequest struct {
	// Receipt is the payment's proof (Pesapal's confirmation_code).
	Receipt string
	// Amount is what goes back, in cents.
	Amount   Amount
	Currency string
	// Username names who asked; Remarks says why.
	Username string
	Remarks  string
}

// RefundAnswer is a provider's answer to a refund request it accepted.
type RefundAnswer struct {
	Message string
	// Raw is the answer with secrets removed.
	Raw []byte
}

// Refunder is a payment provider that gives payments back.
type Refunder interface {
	// Refund sends the request once. An error wrapping ErrNotStarted says
	// nothing will be refunded (refused before sending, or a clear refusal
	// whose text says why); any other error leaves the refund possibly
	// accepted, for a person to check.
	Refund(ctx context.Context, r RefundRequest) (RefundAnswer, error)
}

// PayoutRefusedStatus reports an HTTP status that refuses a payout request
// without acting on it: a 4xx other than 408 (Request Timeout), 409
// (Conflict: it may be a request already taken), 425 (Too Early) and 429
// (Too Many Requests), which a gateway or a proxy in front of the provider
// may answer after the request was forwarded. Those, and every 5xx, leave
// the payout possibly sent: never gateway.ErrNotStarted.
func PayoutRefusedStatus(status int) bool {
	switch status {
	case 408, 409, 425, 429:
		return false
	}
	return status >= 400 && status <= 499
}
