package pochipay

import (
	"context"
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
func (c *Client) Push(ctx context.Context, r gateway.STKRequest) (gateway.STKStarted, error) {
	const op = "push"
	req, err := collection(op, r)
	if err != nil {
		return gateway.STKStarted{}, err
	}
	a, err := c.call(ctx, op, http.MethodPost, pathCollect, nil, req)
	if err != nil {
		return gateway.STKStarted{}, err
	}
	var res collectionResult
	if err := c.decode(op, a, &res); err != nil {
		return gateway.STKStarted{}, markBusy(err)
	}
	id := res.CollectionID.text()
	if id == "" {
		return gateway.STKStarted{}, &Error{Op: op, HTTPStatus: a.status, Err: errors.New("answer has no result.collectionId")}
	}
	// isProcessing is only logged: with a collection id the prompt may be on
	// its way whatever it says, and the status call decides.
	c.log.DebugContext(ctx, "pochipay push accepted", "order_id", req.OrderID, "collection_id", id,
		"is_processing", res.IsProcessing.Value, "is_processing_set", res.IsProcessing.Set)
	return gateway.STKStarted{ProviderReference: id, Raw: c.secrets.RedactBytes(a.body, a.bearer)}, nil
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
