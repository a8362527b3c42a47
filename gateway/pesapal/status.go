package pesapal

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"unicode/utf8"

	"checkout/gateway"
	"checkout/gateway/internal/httpx"
)

// Pesapal's status_code values.
const (
	StatusCodeInvalid   = 0
	StatusCodeCompleted = 1
	StatusCodeFailed    = 2
	StatusCodeReversed  = 3
)

// TransactionStatus is the GetTransactionStatus answer, field for field,
// plus the tracking id that was asked about and the raw answer.
type TransactionStatus struct {
	// PaymentMethod is what the customer paid with: Visa, MPESA, MTN, ...
	PaymentMethod string `json:"payment_method"`
	// Amount is the amount paid; nil when Pesapal sent null or nothing.
	Amount *gateway.Amount `json:"amount"`
	// CreatedDate is when the payment was made, as Pesapal wrote it (UTC).
	CreatedDate string `json:"created_date"`
	// ConfirmationCode is the payment provider's confirmation code.
	ConfirmationCode string `json:"confirmation_code"`
	// PaymentStatusDescription is the status in words: INVALID, FAILED,
	// COMPLETED or REVERSED (any case).
	PaymentStatusDescription string `json:"payment_status_description"`
	// Description describes the payment status, for example why it failed.
	Description string `json:"description"`
	// Message says whether the status request itself was processed.
	Message string `json:"message"`
	// PaymentAccount is the masked card or phone number used.
	PaymentAccount string `json:"payment_account"`
	// CallBackURL is the order's callback URL with its query.
	CallBackURL string `json:"call_back_url"`
	// StatusCode is 0 INVALID, 1 COMPLETED, 2 FAILED or 3 REVERSED.
	StatusCode int `json:"status_code"`
	// MerchantReference echoes the SubmitOrderRequest id.
	MerchantReference string `json:"merchant_reference"`
	// PaymentStatusCode is undocumented; the sample sends "".
	PaymentStatusCode string `json:"payment_status_code"`
	// Currency is the ISO code of the payment's currency.
	Currency string `json:"currency"`
	// Error is Pesapal's error object; all null on success, and the
	// pending-payment object while the payment is pending (see
	// PendingPayment).
	Error *ErrorObject `json:"error"`
	// Status is the answer's status code as text: "200", or "500" with the
	// pending-payment error.
	Status string `json:"status"`

	// OrderTrackingID is the tracking id that was asked about (not part of
	// Pesapal's answer).
	OrderTrackingID string `json:"-"`
	// Raw is Pesapal's answer as received; it carries no credential.
	Raw []byte `json:"-"`
}

// PendingPayment reports Pesapal's pending quirk: a payment still pending
// comes back as the error {"error_type": "api_error", "code":
// "payment_details_not_found", "message": "Pending Payment"}.
func (t TransactionStatus) PendingPayment() bool { return t.Error.pendingPayment() }

// Result maps the answer to a gateway.Result.
func (t TransactionStatus) Result() gateway.Result {
	r := gateway.Result{
		Status:            gateway.StatusPending,
		Currency:          t.Currency,
		Reference:         t.MerchantReference,
		ProviderReference: t.OrderTrackingID,
		Receipt:           t.ConfirmationCode,
		Method:            t.PaymentMethod,
		Raw:               t.Raw,
	}
	if t.Amount != nil {
		r.Amount, r.HasAmount = *t.Amount, true
	}
	switch {
	case t.PendingPayment():
		// Checked first: "pending" wins over any status_code sent with it,
		// since a wrong "pending" only delays, while a wrong final status
		// could mark an order paid or failed.
		r.Status = gateway.StatusPending
	case t.contradicts():
		// status_code "represents" payment_status_description; when the
		// two disagree nothing final is believed. Pending keeps the
		// attempt polled, and the message keeps the answer visible.
		r.Status = gateway.StatusPending
		r.Message = fmt.Sprintf("Pesapal's status_code %d disagrees with its payment_status_description %q",
			t.StatusCode, strings.TrimSpace(t.PaymentStatusDescription))
	case t.StatusCode == StatusCodeCompleted:
		r.Status = gateway.StatusSucceeded
	case t.StatusCode == StatusCodeFailed:
		r.Status = gateway.StatusFailed
		r.Message = t.failureMessage("Pesapal reports the payment as failed")
	case t.StatusCode == StatusCodeReversed:
		r.Status = gateway.StatusReversed
		r.Message = t.failureMessage("Pesapal reports the payment as reversed")
	case t.StatusCode == StatusCodeInvalid:
		// INVALID: the customer has not paid (yet). It is not a failure:
		// the customer may still pay on Pesapal's page, and the checkout's
		// own expiry ends an attempt that never completes.
		r.Status = gateway.StatusPending
	default:
		// An unknown code never marks anything paid or failed; the message
		// keeps it visible in the event log.
		r.Status = gateway.StatusPending
		r.Message = fmt.Sprintf("Pesapal sent an unknown status_code %d", t.StatusCode)
	}
	return r
}

// statusWords are the payment_status_description each status_code stands
// for.
var statusWords = map[int]string{
	StatusCodeInvalid:   "invalid",
	StatusCodeCompleted: "completed",
	StatusCodeFailed:    "failed",
	StatusCodeReversed:  "reversed",
}

// contradicts reports an answer whose payment_status_description names
// another status than its status_code. An empty description contradicts
// nothing.
func (t TransactionStatus) contradicts() bool {
	d := strings.ToLower(strings.TrimSpace(t.PaymentStatusDescription))
	w, known := statusWords[t.StatusCode]
	return d != "" && known && d != w
}

// failureMessage picks the words that explain a failed or reversed payment.
func (t TransactionStatus) failureMessage(fallback string) string {
	for _, s := range []string{t.Description, t.PaymentStatusDescription} {
		if s = strings.TrimSpace(s); s != "" {
			return s
		}
	}
	return fallback
}

// GetTransactionStatus asks Pesapal for the status of the order with the
// given tracking id. A pending payment (Pesapal's pending quirk) is a
// TransactionStatus whose Result is pending, not an error.
//
// Asking is safe to repeat, so network errors, timeouts and 5xx answers are
// retried, up to 3 tries in all, with capped, jittered exponential backoff.
func (c *Client) GetTransactionStatus(ctx context.Context, orderTrackingID string) (TransactionStatus, error) {
	const op = "get transaction status"
	if strings.TrimSpace(orderTrackingID) == "" {
		return TransactionStatus{}, invalid(op, "orderTrackingId is required")
	}
	return httpx.Retry(ctx, &c.be, op, shouldRetry, func() (TransactionStatus, error) {
		return c.transactionStatusOnce(ctx, op, orderTrackingID)
	})
}

// transactionStatusOnce is one try of GetTransactionStatus.
func (c *Client) transactionStatusOnce(ctx context.Context, op, id string) (TransactionStatus, error) {
	a, err := c.call(ctx, op, http.MethodGet, pathTransactionSts, url.Values{"orderTrackingId": {id}}, nil)
	if err != nil {
		return TransactionStatus{}, err
	}
	return c.readTransactionStatus(op, id, a)
}

// readTransactionStatus reads Pesapal's answer about the tracking id id.
func (c *Client) readTransactionStatus(op, id string, a answer) (TransactionStatus, error) {
	if ts, ok := pendingAnswer(a); ok {
		ts.OrderTrackingID = id
		return ts, nil
	}
	var ts TransactionStatus
	if err := c.decode(op, a, &ts); err != nil {
		return TransactionStatus{}, err
	}
	if err := c.bodyError(op, a, ts.Error, ts.Status, ts.Message); err != nil {
		return TransactionStatus{}, err
	}
	ts.OrderTrackingID = id
	ts.Raw = a.Body
	return ts, nil
}

// pendingAnswer recognises the pending quirk, whatever the HTTP status
// (200, 400 or 500: a 500 must not be retried as a server failure) and
// wherever the error object sits: under "error", or as the whole body
// ({"error_type": "api_error", "code": "payment_details_not_found", ...}).
// See testdata/ASSUMED.md.
func pendingAnswer(a answer) (TransactionStatus, bool) {
	if a.Status == http.StatusUnauthorized || !mayHoldPendingCode(a.Body) {
		return TransactionStatus{}, false
	}
	return pendingAnswerParsed(a)
}

// pendingAnswerParsed is pendingAnswer's reading of the body: up to three
// passes of encoding/json over it, which every answer paid for before
// mayHoldPendingCode screened them.
func pendingAnswerParsed(a answer) (TransactionStatus, bool) {
	var probe struct {
		Error *ErrorObject `json:"error"`
	}
	if json.Unmarshal(a.Body, &probe) != nil {
		return TransactionStatus{}, false
	}
	obj := probe.Error
	if !obj.pendingPayment() {
		var top ErrorObject
		if json.Unmarshal(a.Body, &top) != nil || !top.pendingPayment() {
			return TransactionStatus{}, false
		}
		obj = &top
	}
	var ts TransactionStatus
	if err := json.Unmarshal(a.Body, &ts); err != nil {
		// The rest of a pending answer is not needed to say "pending": an
		// odd field in it must not turn a pending payment into an error.
		ts = TransactionStatus{}
	}
	ts.Error = obj
	ts.Raw = a.Body
	return ts, true
}

// mayHoldPendingCode reports whether a JSON string in body can decode to
// the pending code (in any letter case, as pendingPayment compares). It is
// false only when it surely cannot: the body is ASCII, none of its escapes
// can stand for one of the code's characters (\u0026 for & can, as
// encoding/json writes a URL's &; \u0070 for p cannot), and the code's
// letters appear nowhere in it in any case. A completed, failed or reversed
// answer is then read once instead of parsed three more times.
func mayHoldPendingCode(body []byte) bool {
	for i := 0; i < len(body); i++ {
		c := body[i]
		if c >= utf8.RuneSelf {
			return true
		}
		if c != '\\' {
			continue
		}
		if i+1 >= len(body) {
			return true
		}
		if body[i+1] != 'u' {
			i++ // \" \\ \/ \b \f \n \r \t: none is in the code
			continue
		}
		if i+6 > len(body) {
			return true
		}
		r, err := strconv.ParseUint(string(body[i+2:i+6]), 16, 32)
		if err != nil || r >= utf8.RuneSelf || strings.IndexByte(codePendingPayment, lowerASCII(byte(r))) >= 0 {
			return true
		}
		i += 5
	}
	return containsFoldASCII(body, codePendingPayment)
}

// containsFoldASCII reports whether s contains sub (ASCII, lower case) in
// any ASCII letter case.
func containsFoldASCII(s []byte, sub string) bool {
	for i := 0; i+len(sub) <= len(s); i++ {
		j := 0
		for j < len(sub) && lowerASCII(s[i+j]) == sub[j] {
			j++
		}
		if j == len(sub) {
			return true
		}
	}
	return false
}

func lowerASCII(c byte) byte {
	if 'A' <= c && c <= 'Z' {
		return c + 'a' - 'A'
	}
	return c
}

// shouldRetry says whether a failed try of a repeatable call may be tried
// again, and why (see httpx.ShouldRetry): on network errors, timeouts and
// 5xx answers.
func shouldRetry(ctx context.Context, err error) (bool, string) {
	return httpx.ShouldRetry(ctx, err, "Pesapal", func(e *Error) (bool, int) { return e.transport, e.HTTPStatus })
}

// Confirm asks Pesapal for the status of the attempt whose tracking id is
// q.ProviderReference. It implements gateway.Confirmer. Comparing the
// result's amount, currency and reference with the order is the caller's
// job.
func (c *Client) Confirm(ctx context.Context, q gateway.Query) (gateway.Result, error) {
	ts, err := c.GetTransactionStatus(ctx, q.ProviderReference)
	if err != nil {
		return gateway.Result{}, err
	}
	return ts.Result(), nil
}

// Client is a gateway.Confirmer.
var _ gateway.Confirmer = (*Client)(nil)

// UnmarshalJSON reads the answer leniently about the amount: an amount that
// is null, missing or unreadable ("", "1,500.00") leaves Amount nil instead
// of failing the whole answer. A completed payment without a readable amount
// then cannot be marked paid (the payments service flags it for review),
// while an unreadable answer would have left it unseen.
func (t *TransactionStatus) UnmarshalJSON(b []byte) error {
	type plain TransactionStatus
	var aux struct {
		plain
		Amount json.RawMessage `json:"amount"`
	}
	if err := json.Unmarshal(b, &aux); err != nil {
		return err
	}
	*t = TransactionStatus(aux.plain)
	t.Amount = nil
	if len(aux.Amount) > 0 {
		var a gateway.Amount
		if err := json.Unmarshal(aux.Amount, &a); err == nil {
			t.Amount = &a
		}
	}
	return nil
}
