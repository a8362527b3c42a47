package pochipay

import (
	"context"
	"fmt"
	"net/http"
	"net/url"
	"strings"

	"checkout/gateway"
)

// Pochipay's collection status values, compared in any case.
const (
	statusComplete = "complete"
	statusFailed   = "failed"
	statusPending  = "pending"
)

// Confirm asks Pochipay what happened to a prompt. It implements
// gateway.Confirmer.
//
// With a collection id (q.ProviderReference) it asks transaction-status.
// Without one (the push answer was lost) it asks collection-query for the
// order id q.AttemptID, and a 404 there means Pochipay has nothing yet:
// pending. Both calls only read, so network errors, timeouts and 5xx are
// retried, up to 3 tries in all. Any answer that cannot be mapped is an
// *Error, never a success. Comparing the amount, currency and reference
// with the attempt is the caller's job.
func (c *Client) Confirm(ctx context.Context, q gateway.Query) (gateway.Result, error) {
	if id := strings.TrimSpace(q.ProviderReference); id != "" {
		const op = "transaction status"
		return withRetries(ctx, c, op, func() (gateway.Result, error) {
			a, err := c.call(ctx, op, http.MethodPost, pathTransactionStatus, nil, statusRequest{CollectionID: id})
			if err != nil {
				return gateway.Result{}, err
			}
			return c.statusResult(op, a, q)
		})
	}
	const op = "collection query"
	orderID := strings.TrimSpace(q.AttemptID)
	if orderID == "" {
		return gateway.Result{}, invalid(op, "a collection id or an order id is required")
	}
	return withRetries(ctx, c, op, func() (gateway.Result, error) {
		a, err := c.call(ctx, op, http.MethodGet, pathCollectionQuery, url.Values{queryOrderID: {orderID}}, nil)
		if err != nil {
			return gateway.Result{}, err
		}
		if a.status == http.StatusNotFound {
			return gateway.Result{Status: gateway.StatusPending, Currency: "KES", Reference: orderID,
				Method: "M-Pesa", Raw: c.secrets.RedactBytes(a.body, a.bearer)}, nil
		}
		return c.statusResult(op, a, q)
	})
}

// statusResult maps a transaction-status or collection-query answer.
func (c *Client) statusResult(op string, a answer, q gateway.Query) (gateway.Result, error) {
	var s statusResult
	if err := c.decode(op, a, &s); err != nil {
		return gateway.Result{}, err
	}
	fail := func(format string, args ...any) (gateway.Result, error) {
		return gateway.Result{}, &Error{Op: op, HTTPStatus: a.status, Err: fmt.Errorf(format, args...)}
	}
	r := gateway.Result{
		Currency:          "KES", // Pochipay's only currency
		Reference:         firstNonEmpty(plainText(s.OrderID.text()), strings.TrimSpace(q.AttemptID)),
		ProviderReference: firstNonEmpty(strings.TrimSpace(q.ProviderReference), plainText(s.CollectionID.text())),
		Receipt:           plainText(s.MpesaReference.text()),
		Method:            "M-Pesa",
		Raw:               c.secrets.RedactBytes(a.body, a.bearer),
	}
	// An unreadable amount leaves HasAmount false: the payments service then
	// holds a success for review instead of marking it paid.
	if amt, err := gateway.ParseProviderAmount(s.Amount.text()); err == nil {
		r.Amount, r.HasAmount = amt, true
	}
	code := plainText(s.ResultCode.text())
	status := s.Status.text()
	switch strings.ToLower(status) {
	case statusComplete:
		switch {
		case !s.IsSuccessful.Set:
			return fail("status Complete without a readable result.isSuccessful")
		case !s.IsSuccessful.Value:
			return fail("status Complete with result.isSuccessful false")
		case code != "" && code != "0":
			return fail("status Complete with result.resultCode %q", code)
		}
		r.Status, r.Code = gateway.StatusSucceeded, "0"
	case statusFailed:
		switch {
		case s.IsSuccessful.Set && s.IsSuccessful.Value:
			return fail("status Failed with result.isSuccessful true")
		case code == "0":
			return fail("status Failed with result.resultCode 0")
		}
		r.Status, r.Code = gateway.StatusFailed, code
		r.Message = firstNonEmpty(plainText(c.secrets.Redact(s.FailReason.text(), a.bearer)),
			plainText(c.secrets.Redact(s.ResultDescription.text(), a.bearer)), "Pochipay reports the collection as failed")
	case statusPending:
		r.Status = gateway.StatusPending
	case "":
		return fail("answer has no result.status")
	default:
		return fail("unknown result.status %q", plainText(c.secrets.Redact(status, a.bearer)))
	}
	return r, nil
}

// firstNonEmpty returns the first of its arguments that is not empty.
func firstNonEmpty(ss ...string) string {
	for _, s := range ss {
		if s != "" {
			return s
		}
	}
	return ""
}
