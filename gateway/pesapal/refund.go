package pesapal

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"strings"
	"unicode/utf8"

	"checkout/gateway"
	"checkout/gateway/internal/httpx"
	"checkout/gateway/internal/jsonx"
)

// Refunds and cancellations are not in the API 3.0 document we build from;
// these wire types follow Pesapal's developer site as the provider notes
// quote it, and every shape here is assumed (testdata/ASSUMED.md,
// "assumed-refundrequest-*"). Refund sends RefundRequest; CancelOrder has
// no call yet.
const (
	pathRefundRequest = "/api/Transactions/RefundRequest"
	pathCancelOrder   = "/api/Transactions/CancelOrder"
)

// RefundRequest is the RefundRequest body (assumed). Pesapal refunds
// COMPLETED payments only, mobile money only in full, once per payment.
type RefundRequest struct {
	// ConfirmationCode is the payment's confirmation_code from
	// GetTransactionStatus.
	ConfirmationCode string
	// Amount is the amount to refund; it is sent as a decimal string
	// ("100.00").
	Amount gateway.Amount
	// Username names who asked for the refund.
	Username string
	// Remarks says why.
	Remarks string
}

// MarshalJSON writes the body with the amount as a string of two decimals.
func (r RefundRequest) MarshalJSON() ([]byte, error) {
	return json.Marshal(struct {
		ConfirmationCode string `json:"confirmation_code"`
		Amount           string `json:"amount"`
		Username         string `json:"username"`
		Remarks          string `json:"remarks"`
	}{r.ConfirmationCode, r.Amount.String(), r.Username, r.Remarks})
}

// CancelOrderRequest is the CancelOrder body (assumed). Only a pending or
// failed order can be cancelled, once.
type CancelOrderRequest struct {
	// OrderTrackingID is the order's order_tracking_id.
	OrderTrackingID string `json:"order_tracking_id"`
}

// StatusAnswer is the answer of RefundRequest and CancelOrder (assumed): a
// status as text ("200" when accepted) and a message, with Pesapal's error
// object when the request was refused.
type StatusAnswer struct {
	// Status is "200" when Pesapal accepted the request.
	Status string `json:"status"`
	// Message describes the answer.
	Message string `json:"message"`
	// Error is Pesapal's error object; nil when there is none.
	Error *ErrorObject `json:"error"`
}

// Client is a refund backend.
var _ gateway.Refunder = (*Client)(nil)

// maxRefundText bounds username and remarks (our limit; Pesapal states
// none).
const maxRefundText = 255

// Refund asks Pesapal to give a payment back (POST
// /api/Transactions/RefundRequest with confirmation_code, amount, username,
// remarks), with the client's token (a 401 renews it and repeats once, as
// for every call: a 401 comes before Pesapal did anything).
//
// It is never retried otherwise: a repeat could refund twice. The answer is
// read as the assumed {"status": "200", "message": ...}:
//   - status "200" and no error object: accepted (RefundAnswer, with the
//     answer as Raw, credentials removed);
//   - a clear refusal, which wraps gateway.ErrNotStarted with Pesapal's
//     reason in its text: the request refused before sending (missing
//     receipt, amount not above zero, text too long), the token request
//     failed, the connection never made, a 4xx answer other than 408,
//     409, 425 and 429 (gateway.PayoutRefusedStatus), or a 2xx answer whose
//     status is not 200 and that carries Pesapal's error object or a
//     message;
//   - anything else (no answer, a timeout, a 408, 409, 425, 429 or 5xx,
//     an answer that is not JSON or has no status): a plain *Error. The refund may have been
//     accepted; a person checks the Pesapal dashboard.
func (c *Client) Refund(ctx context.Context, r gateway.RefundRequest) (gateway.RefundAnswer, error) {
	const op = "refund request"
	req, err := refundRequest(op, r)
	if err != nil {
		return gateway.RefundAnswer{}, gateway.NotStarted(err)
	}
	a, err := c.call(ctx, op, http.MethodPost, pathRefundRequest, nil, req)
	if err != nil {
		if refundNotStarted(op, err) {
			err = gateway.NotStarted(err)
		}
		return gateway.RefundAnswer{}, err
	}
	if gateway.PayoutRefusedStatus(a.Status) {
		return gateway.RefundAnswer{}, gateway.NotStarted(c.answerError(op, a))
	}
	if a.Status < 200 || a.Status > 299 {
		return gateway.RefundAnswer{}, c.answerError(op, a)
	}
	if !json.Valid(a.Body) || len(bytes.TrimSpace(a.Body)) == 0 || bytes.TrimSpace(a.Body)[0] != '{' {
		return gateway.RefundAnswer{}, &Error{Op: op, HTTPStatus: a.Status, Message: httpx.NotJSON(a.ContentType, len(a.Body))}
	}
	var ans refundAnswer
	if err := json.Unmarshal(a.Body, &ans); err != nil {
		return gateway.RefundAnswer{}, &Error{Op: op, HTTPStatus: a.Status, Message: "unexpected answer", Err: err}
	}
	status := strings.TrimSpace(ans.Status.Trimmed())
	msg := strings.TrimSpace(c.redact(ans.Message.Trimmed(), a.Bearer))
	switch {
	case status == "200" && ans.Error.empty():
		return gateway.RefundAnswer{Message: httpx.TidyText(msg, maxRefundText),
			Raw: []byte(c.redact(string(a.Body), a.Bearer))}, nil
	case status != "" && status != "200" && (!ans.Error.empty() || msg != ""):
		e := &Error{Op: op, HTTPStatus: a.Status}
		c.fill(e, a, ans.Error, msg)
		if e.Code == "" {
			e.Code = "status " + c.redact(status, a.Bearer)
		}
		return gateway.RefundAnswer{}, gateway.NotStarted(e)
	case status == "":
		return gateway.RefundAnswer{}, &Error{Op: op, HTTPStatus: a.Status, Message: "answer has no status"}
	}
	return gateway.RefundAnswer{}, &Error{Op: op, HTTPStatus: a.Status,
		Message: "answer has status " + c.redact(status, a.Bearer) + " and says nothing clear"}
}

// refundAnswer reads StatusAnswer leniently: status and message as a string
// or a number.
type refundAnswer struct {
	Status  refundText   `json:"status"`
	Message refundText   `json:"message"`
	Error   *ErrorObject `json:"error"`
}

// refundText is jsonx.Text: a JSON string or number as text, anything else "".
type refundText = jsonx.Text

// refundRequest checks r and builds the body.
func refundRequest(op string, r gateway.RefundRequest) (RefundRequest, error) {
	req := RefundRequest{
		ConfirmationCode: strings.TrimSpace(r.Receipt),
		Amount:           r.Amount,
		Username:         strings.TrimSpace(r.Username),
		Remarks:          strings.TrimSpace(r.Remarks),
	}
	switch {
	case req.ConfirmationCode == "":
		return RefundRequest{}, invalid(op, "confirmation code is required")
	case r.Amount <= 0:
		return RefundRequest{}, invalid(op, "amount must be more than zero")
	case req.Username == "":
		return RefundRequest{}, invalid(op, "username is required")
	case req.Remarks == "":
		return RefundRequest{}, invalid(op, "remarks are required")
	}
	for _, f := range []struct{ name, value string }{
		{"confirmation code", req.ConfirmationCode}, {"username", req.Username}, {"remarks", req.Remarks},
	} {
		if !httpx.Printable(f.value) {
			return RefundRequest{}, invalid(op, "%s contains a character that is not printable", f.name)
		}
		if utf8.RuneCountInString(f.value) > maxRefundText {
			return RefundRequest{}, invalid(op, "%s is longer than %d characters", f.name, maxRefundText)
		}
	}
	return req, nil
}

// refundNotStarted reports whether err, from sending the refund (c.call),
// came before Pesapal could get the request or from its refusal of it: an
// error of the token request, a request that could not be built, a
// connection never made, or a 4xx other than 408, 409, 425 and 429 (a
// token refused twice). A timeout or a broken connection after sending is
// not.
func refundNotStarted(op string, err error) bool {
	var e *Error
	if !errors.As(err, &e) {
		return false
	}
	switch {
	case e.Op != op:
		return true // the token request: nothing was sent
	case e.transport:
		return httpx.NeverSent(e.Err)
	case e.HTTPStatus == 0:
		return true
	}
	// Money goes out as for a payout: a 408, 409, 425 or 429 may come
	// after the request was forwarded.
	return gateway.PayoutRefusedStatus(e.HTTPStatus)
}
