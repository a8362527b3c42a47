package pesapal

import (
	"encoding/json"

	"checkout/gateway"
)

// Refunds and cancellations are not in the API 3.0 document we build from;
// these wire types follow Pesapal's developer site as the provider notes
// quote it, and every shape here is assumed (testdata/ASSUMED.md). No call
// uses them yet.
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
