package pochipay

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"unicode/utf8"

	"checkout/gateway"
	"checkout/gateway/internal/httpx"
)

// Disbursement paths under Config.BaseURL, from the published page.
const (
	pathSendToMobile       = "/disbursement/send-to-mobile"
	pathDisbursementStatus = "/disbursement/transaction-status"
	pathDisbursementCancel = "/disbursement/cancel"
	pathBalance            = "/account/balance"
)

// The operations of Payouts, as they appear in errors, logs and metrics
// (gateway.Call.Operation): fixed labels.
const (
	opSendToMobile = "send to mobile"
	opPayoutStatus = "disbursement status"
	opPayoutCancel = "disbursement cancel"
	opBalance      = "account balance"
)

// Pochipay's disbursement status values, compared in any case (assumed:
// the page says "Pending" and "Completed"; the failed word is not shown).
var (
	payoutSucceededWords = []string{"completed", "complete", "successful", "success"}
	payoutFailedWords    = []string{"failed", "cancelled", "canceled", "rejected"}
)

// maxPayoutRef is our limit on requestId / trackingReference (the payments
// service sends 12 digits).
const maxPayoutRef = 50

// Payouts sends money to M-Pesa phones through Pochipay's disbursements:
// send-to-mobile, its callback, transaction-status, cancel, and the account
// balance. It implements gateway.PayoutProvider, gateway.Balancer and
// gateway.PayoutCanceller under the name "pochipay", shares the Client's
// code (token cache and login, exchanges, error text), and is created with
// NewPayouts from the same Config as the collections Client.
//
// Every field name is assumed (testdata/ASSUMED.md, "disbursements").
type Payouts struct {
	c *Client
}

// NewPayouts checks cfg as New does and returns a Payouts.
func NewPayouts(cfg Config) (*Payouts, error) {
	c, err := New(cfg)
	if err != nil {
		return nil, err
	}
	c.log = c.log.With("api", "disbursement")
	c.be.Log = c.log
	return &Payouts{c: c}, nil
}

var (
	_ gateway.PayoutProvider  = (*Payouts)(nil)
	_ gateway.Balancer        = (*Payouts)(nil)
	_ gateway.PayoutCanceller = (*Payouts)(nil)
)

// Name is the provider's key in payouts and events.
func (p *Payouts) Name() string { return "pochipay" }

// Send asks Pochipay to pay one phone (POST /disbursement/send-to-mobile):
// requestId and the recipient's trackingReference are both r.Reference,
// amount whole shillings, remarks and disbursementTitle r.Description (the
// reference when empty). r.Name has no field and is not sent. The request
// is checked before anything is sent: phone 2547/2541 and 8 digits, amount
// whole shillings above zero, currency KES, reference printable and at most
// 50 characters, callback URL absolute http(s).
//
// It is never retried (a repeat could pay twice); only a 401 (the token
// refused before anything was done) is sent once more with a new token.
// An error wraps gateway.ErrNotStarted when nothing can have been sent: the
// request refused before sending, the token request failed, no connection
// made, a 4xx other than 408, 409, 425 and 429 (gateway.PayoutRefusedStatus),
// or a 2xx carrying Pochipay's "errors". Any other error (a timeout once
// sent, a 408, 409, 425, 429 or 5xx, an answer that cannot be read or has
// no result) leaves the payout possibly under way: Status decides.
func (p *Payouts) Send(ctx context.Context, r gateway.PayoutRequest) (gateway.PayoutStarted, error) {
	c := p.c
	const op = opSendToMobile
	req, err := sendToMobile(op, r)
	if err != nil {
		return gateway.PayoutStarted{}, gateway.NotStarted(err)
	}
	a, err := c.call(ctx, op, http.MethodPost, pathSendToMobile, nil, req)
	if err != nil {
		if payoutNotStarted(op, err) {
			err = gateway.NotStarted(err)
		}
		return gateway.PayoutStarted{}, err
	}
	var res sendToMobileResult
	if err := c.decode(op, a, &res); err != nil {
		if gateway.PayoutRefusedStatus(a.Status) || refusedWithErrors(a) {
			err = gateway.NotStarted(err)
		}
		return gateway.PayoutStarted{}, err
	}
	if id := plainText(res.RequestID.Trimmed()); id != "" && id != req.RequestID {
		// Not refused: Pochipay took a request, and an error would invite a
		// second send. Status asks by our tracking reference.
		c.log.WarnContext(ctx, "pochipay send-to-mobile answer names another requestId", "op", op,
			"request_id", req.RequestID, "answer_request_id", id)
	}
	c.log.DebugContext(ctx, "pochipay send-to-mobile accepted", "op", op, "request_id", req.RequestID,
		"is_processing", res.IsProcessing.Value, "is_processing_set", res.IsProcessing.Set)
	return gateway.PayoutStarted{Raw: c.secrets.RedactBytes(a.Body, a.Bearer)}, nil
}

// payoutNotStarted is pushNotStarted for a payout: an HTTP answer refuses
// it only with gateway.PayoutRefusedStatus (a 408, 409, 425 or 429 may
// come after the request was forwarded).
func payoutNotStarted(op string, err error) bool {
	var e *Error
	if errors.As(err, &e) && e.Op == op && !e.transport && e.HTTPStatus != 0 {
		return gateway.PayoutRefusedStatus(e.HTTPStatus)
	}
	return pushNotStarted(op, err)
}

// sendToMobile builds the send-to-mobile body from r, or refuses r.
func sendToMobile(op string, r gateway.PayoutRequest) (sendToMobileRequest, error) {
	ref := strings.TrimSpace(r.Reference)
	desc := strings.TrimSpace(r.Description)
	if desc == "" {
		desc = "Payout " + ref
	}
	switch {
	case ref == "":
		return sendToMobileRequest{}, invalid(op, "reference is required")
	case !httpx.Printable(ref) || utf8.RuneCountInString(ref) > maxPayoutRef:
		return sendToMobileRequest{}, invalid(op, "reference must be printable and at most %d characters", maxPayoutRef)
	case !httpx.Printable(desc) || utf8.RuneCountInString(desc) > maxMessageLen:
		return sendToMobileRequest{}, invalid(op, "description must be printable and at most %d characters", maxMessageLen)
	case !phonePattern.MatchString(r.Phone):
		return sendToMobileRequest{}, invalid(op, "phone must be 254 followed by 7 or 1 and 8 digits")
	case r.Amount <= 0:
		return sendToMobileRequest{}, invalid(op, "amount must be more than zero")
	case !r.Amount.Whole():
		return sendToMobileRequest{}, invalid(op, "amount %s has cents; M-Pesa takes whole shillings", r.Amount)
	case r.Currency != "" && !strings.EqualFold(r.Currency, "KES"):
		return sendToMobileRequest{}, invalid(op, "currency must be KES, Pochipay's only currency")
	}
	if u, err := url.Parse(r.CallbackURL); err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" {
		return sendToMobileRequest{}, invalid(op, "callback URL must be an absolute http(s) URL")
	}
	return sendToMobileRequest{
		CallbackURL:       r.CallbackURL,
		RequestID:         ref,
		DisbursementTitle: desc,
		Recipients: []sendToMobileRecipient{{
			Amount:            int64(r.Amount) / 100,
			Remarks:           desc,
			TrackingReference: ref,
			PhoneNumber:       r.Phone,
		}},
	}, nil
}

// Status asks Pochipay about a payout by its tracking reference (POST
// /disbursement/transaction-status). Pending, Completed and Failed (any
// case; also Cancelled) map to pending, succeeded and failed; a 404 whose
// JSON text says the transaction is unknown (or a 2xx with no result
// saying so) is not_found; anything else is an *Error, never a success. A
// result naming another trackingReference is an error. It only reads, so
// network errors, timeouts and 5xx are retried (3 tries in all). The
// answers carry no amount (HasAmount false). Verified is true: this is the
// provider's own answer.
func (p *Payouts) Status(ctx context.Context, reference string) (gateway.PayoutResult, error) {
	c := p.c
	const op = opPayoutStatus
	ref := strings.TrimSpace(reference)
	if ref == "" {
		return gateway.PayoutResult{}, invalid(op, "reference is required")
	}
	return withRetries(ctx, c, op, func() (gateway.PayoutResult, error) {
		a, err := c.call(ctx, op, http.MethodPost, pathDisbursementStatus, nil, trackingRequest{TrackingReference: ref})
		if err != nil {
			return gateway.PayoutResult{}, err
		}
		return p.statusResult(op, a, ref)
	})
}

// statusResult maps a disbursement transaction-status answer about ref.
func (p *Payouts) statusResult(op string, a answer, ref string) (gateway.PayoutResult, error) {
	c := p.c
	raw := c.secrets.RedactBytes(a.Body, a.Bearer)
	if ok, texts := c.notFound(a); ok {
		return gateway.PayoutResult{Status: gateway.StatusNotFound, Reference: ref, Verified: true, Raw: raw,
			Message: firstNonEmpty(strings.Join(texts, "; "), "Pochipay has no record of this payout")}, nil
	}
	var s disbursementStatusResult
	if err := c.decode(op, a, &s); err != nil {
		return gateway.PayoutResult{}, err
	}
	fail := func(format string, args ...any) (gateway.PayoutResult, error) {
		return gateway.PayoutResult{}, &Error{Op: op, HTTPStatus: a.Status, Err: fmt.Errorf(format, args...)}
	}
	if got := plainText(s.TrackingReference.Trimmed()); got != "" && got != ref {
		return fail("answer is about another trackingReference")
	}
	r := gateway.PayoutResult{
		Reference: ref,
		Receipt:   plainText(s.ThirdPartyReference.Trimmed()),
		Verified:  true,
		Raw:       raw,
	}
	reason := c.clean(s.FailReason.Trimmed(), a.Bearer)
	status := strings.ToLower(s.Status.Trimmed())
	switch {
	case status == "":
		return fail("answer has no result.status")
	case status == "pending":
		r.Status = gateway.StatusPending
	case contains(payoutSucceededWords, status):
		if reason != "" {
			return fail("status %s with a result.failReason", s.Status.Trimmed())
		}
		r.Status, r.Code = gateway.StatusSucceeded, "0"
	case contains(payoutFailedWords, status):
		r.Status, r.Message = gateway.StatusFailed, firstNonEmpty(reason, "Pochipay reports the payout as "+status)
		r.Code = mpesaCode(reason)
	default:
		return fail("unknown result.status %q", c.clean(s.Status.Trimmed(), a.Bearer))
	}
	return r, nil
}

// contains reports whether words holds w.
func contains(words []string, w string) bool {
	for _, x := range words {
		if x == w {
			return true
		}
	}
	return false
}

// ParseCallback reads a payout callback ({successful, requestId,
// trackingReference, thirdPartyReference, failReason}). The content type
// is not relied on. A body larger than 16 KiB, not a JSON object, without a
// trackingReference (requestId is used when it is missing: they are the
// same here) or without a readable "successful" is refused with an error
// wrapping ErrInvalidCallback. The result is never Verified: it is not
// signed, and Status confirms it.
func (p *Payouts) ParseCallback(contentType string, body []byte) (gateway.PayoutResult, error) {
	if len(body) > maxCallback {
		return gateway.PayoutResult{}, fmt.Errorf("%w: body is larger than 16 KiB", ErrInvalidCallback)
	}
	t := bytes.TrimSpace(body)
	if len(t) == 0 || t[0] != '{' {
		return gateway.PayoutResult{}, fmt.Errorf("%w: body is not a JSON object", ErrInvalidCallback)
	}
	var cb payoutCallback
	if err := json.Unmarshal(t, &cb); err != nil {
		return gateway.PayoutResult{}, fmt.Errorf("%w: %w", ErrInvalidCallback, err)
	}
	ref := firstNonEmpty(cb.TrackingReference.Trimmed(), cb.RequestID.Trimmed())
	switch {
	case ref == "":
		return gateway.PayoutResult{}, fmt.Errorf("%w: no trackingReference", ErrInvalidCallback)
	case !httpx.Printable(ref) || utf8.RuneCountInString(ref) > maxPayoutRef:
		return gateway.PayoutResult{}, fmt.Errorf("%w: trackingReference is not one of our references", ErrInvalidCallback)
	case !cb.Successful.Set:
		return gateway.PayoutResult{}, fmt.Errorf("%w: no readable successful", ErrInvalidCallback)
	}
	reason := plainText(p.c.clean(cb.FailReason.Trimmed(), ""))
	r := gateway.PayoutResult{
		Reference: ref,
		Receipt:   plainText(cb.ThirdPartyReference.Trimmed()),
		Raw:       p.c.secrets.RedactBytes(body, ""),
	}
	if cb.Successful.Value {
		r.Status, r.Code = gateway.StatusSucceeded, "0"
	} else {
		r.Status, r.Message, r.Code = gateway.StatusFailed, firstNonEmpty(reason, "Pochipay reports the payout as failed"), mpesaCode(reason)
	}
	return r, nil
}

// Balance asks GET /account/balance: the available balance in cents and
// its currency (KES, Pochipay's only currency, when the answer names none).
// It only reads, so it is retried like Status. A missing or unreadable
// balance is an *Error naming result.balance.
func (p *Payouts) Balance(ctx context.Context) (gateway.Amount, string, error) {
	c := p.c
	const op = opBalance
	type balance struct {
		amount   gateway.Amount
		currency string
	}
	b, err := withRetries(ctx, c, op, func() (balance, error) {
		a, err := c.call(ctx, op, http.MethodGet, pathBalance, nil, nil)
		if err != nil {
			return balance{}, err
		}
		var res balanceResult
		if err := c.decode(op, a, &res); err != nil {
			return balance{}, err
		}
		if !res.Balance.Set {
			return balance{}, &Error{Op: op, HTTPStatus: a.Status, Err: errors.New("answer has no result.balance")}
		}
		amt, err := gateway.ParseProviderAmount(res.Balance.Text)
		if !res.Balance.OK || err != nil {
			return balance{}, &Error{Op: op, HTTPStatus: a.Status, Err: errors.New("unreadable result.balance")}
		}
		cur := strings.ToUpper(plainText(res.Currency.Trimmed()))
		if cur == "" {
			cur = "KES"
		}
		return balance{amt, cur}, nil
	})
	return b.amount, b.currency, err
}

// CancelPayout asks Pochipay to cancel a pending payout (POST
// /disbursement/cancel {trackingReference}); the page allows it after 24
// hours pending. A 2xx answer without "errors" is success (its result is
// assumed null); anything else is an *Error with Pochipay's text. It is not
// retried: the caller asks Status and decides again.
func (p *Payouts) CancelPayout(ctx context.Context, reference string) error {
	c := p.c
	const op = opPayoutCancel
	ref := strings.TrimSpace(reference)
	if ref == "" {
		return invalid(op, "reference is required")
	}
	a, err := c.call(ctx, op, http.MethodPost, pathDisbursementCancel, nil, trackingRequest{TrackingReference: ref})
	if err != nil {
		return err
	}
	if a.Status < 200 || a.Status > 299 {
		return c.answerError(op, a)
	}
	var env envelope
	if !json.Valid(a.Body) || json.Unmarshal(a.Body, &env) != nil {
		return &Error{Op: op, HTTPStatus: a.Status, Err: errors.New(httpx.NotJSON(a.ContentType, len(a.Body)))}
	}
	if len(env.Errors) > 0 {
		return &Error{Op: op, HTTPStatus: a.Status, Messages: c.cleanAll(a, env.Message, env.Errors)}
	}
	return nil
}
