package pochipay

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"net/url"
	"regexp"
	"strings"

	"checkout/gateway"
	"checkout/gateway/internal/httpx"
)

// phonePattern is the M-Pesa number Pochipay takes: 254, then 7 or 1, then
// 8 digits (the project's normaliser writes every number this way).
var phonePattern = regexp.MustCompile(`^254(7|1)\d{8}$`)

// Push asks Pochipay to send an M-Pesa prompt (POST /collections/mpesa).
// The request is checked before anything is sent: the phone must be
// 2547XXXXXXXX or 2541XXXXXXXX and the amount whole shillings.
//
// It is never retried, since a repeat could prompt the customer twice;
// only a 401 (the token refused before anything was done) is sent once
// more with a new token. An answer saying the phone already has a prompt
// is an *Error wrapping gateway.ErrSubscriberBusy.
//
// An error wraps gateway.ErrNotStarted when no prompt was started: the
// request refused before sending, the token request failed, no connection
// made, a 4xx answer, a 2xx answer carrying Pochipay's "errors", or a busy
// phone. Any other error (a timeout or a broken connection once the push
// was sent, a 5xx, a 2xx answer that cannot be read or has no
// collectionId) leaves the outcome unknown: the prompt may be on the
// phone, and only Confirm can tell.
func (c *Client) Push(ctx context.Context, r gateway.STKRequest) (gateway.STKStarted, error) {
	const op = "push"
	req, err := collection(op, r)
	if err != nil {
		return gateway.STKStarted{}, gateway.NotStarted(err)
	}
	a, err := c.call(ctx, op, http.MethodPost, pathCollect, nil, req)
	if err != nil {
		if pushNotStarted(op, err) {
			err = gateway.NotStarted(err)
		}
		return gateway.STKStarted{}, err
	}
	var res collectionResult
	if err := c.decode(op, a, &res); err != nil {
		err = markBusy(err)
		if a.Status >= 400 && a.Status <= 499 || errors.Is(err, gateway.ErrSubscriberBusy) || refusedWithErrors(a) {
			err = gateway.NotStarted(err)
		}
		return gateway.STKStarted{}, err
	}
	id := res.CollectionID.Trimmed()
	if id == "" {
		return gateway.STKStarted{}, &Error{Op: op, HTTPStatus: a.Status, Err: errors.New("answer has no result.collectionId")}
	}
	// isProcessing is only logged: with a collection id the prompt may be on
	// its way whatever it says, and the status call decides.
	c.log.DebugContext(ctx, "pochipay push accepted", "order_id", req.OrderID, "collection_id", id,
		"is_processing", res.IsProcessing.Value, "is_processing_set", res.IsProcessing.Set)
	return gateway.STKStarted{ProviderReference: id, Raw: c.secrets.RedactBytes(a.Body, a.Bearer)}, nil
}

// pushNotStarted reports whether err, from sending the push (c.call), came
// before any push could reach Pochipay: an error of another call (the
// token request), a request that could not be built, a connection never
// made, or a 4xx answer too large to read. A timeout or a broken connection after the push was sent is
// not: the push may have been received.
func pushNotStarted(op string, err error) bool {
	var e *Error
	if !errors.As(err, &e) {
		return false
	}
	switch {
	case e.Op != op:
		return true // the token request: no push was sent
	case e.transport:
		return httpx.NeverSent(e.Err)
	}
	return e.HTTPStatus == 0 || (e.HTTPStatus >= 400 && e.HTTPStatus <= 499)
}

// refusedWithErrors reports a 2xx push answer that carries Pochipay's
// "errors" (its answers can carry a failure in a 200): a refusal with its
// reasons.
func refusedWithErrors(a answer) bool {
	if a.Status < 200 || a.Status > 299 {
		return false
	}
	var env envelope
	return json.Unmarshal(a.Body, &env) == nil && len(env.Errors) > 0
}

// collection builds the collection request from r, or refuses r.
func collection(op string, r gateway.STKRequest) (collectionRequest, error) {
	ref := strings.TrimSpace(r.Reference)
	billRef := strings.TrimSpace(r.AccountReference)
	if billRef == "" {
		billRef = ref
	}
	narration := strings.TrimSpace(r.Description)
	if narration == "" {
		narration = billRef
	}
	switch {
	case ref == "":
		return collectionRequest{}, invalid(op, "reference is required")
	case !httpx.Printable(ref) || !httpx.Printable(billRef) || !httpx.Printable(narration):
		return collectionRequest{}, invalid(op, "reference, account reference and description must be printable text")
	case !phonePattern.MatchString(r.Phone):
		// The number itself is not quoted: it is the customer's.
		return collectionRequest{}, invalid(op, "phone must be 254 followed by 7 or 1 and 8 digits")
	case r.Amount <= 0:
		return collectionRequest{}, invalid(op, "amount must be more than zero")
	case !r.Amount.Whole():
		return collectionRequest{}, invalid(op, "amount %s has cents; M-Pesa takes whole shillings", r.Amount)
	}
	if u, err := url.Parse(r.CallbackURL); err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" {
		return collectionRequest{}, invalid(op, "callback URL must be an absolute http(s) URL")
	}
	return collectionRequest{
		OrderID:       ref,
		BillRefNumber: billRef,
		PhoneNumber:   r.Phone,
		Amount:        int64(r.Amount) / 100,
		Narration:     narration,
		CallbackURL:   r.CallbackURL,
	}, nil
}

// Client is an M-Pesa STK push backend.
var _ gateway.STKProvider = (*Client)(nil)
