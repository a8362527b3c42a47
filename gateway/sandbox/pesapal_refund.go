package sandbox

import (
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"time"

	"checkout/gateway"
)

// Pesapal's RefundRequest, which API 3.0's document lacks. From the
// provider notes (Pesapal's developer site): POST
// /api/Transactions/RefundRequest {confirmation_code, amount, username,
// remarks}; COMPLETED payments only, mobile money only in full, one refund
// per payment. The answer is gateway/pesapal/testdata's
// assumed-refundrequest-response.json; a refusal is the document's Error
// Object (ASSUMED: Pesapal's own refusal is not shown anywhere) with HTTP
// 400, 404 for an unknown confirmation_code, 409 for a second refund.

// Texts of the RefundRequest answers.
const (
	pesapalRefundAccepted = "Refund request successfully"
)

// pesapalCardMethods are the payment_method values of card payments, which
// may be refunded in part; any other method is mobile money (full only).
var pesapalCardMethods = map[string]bool{"Visa": true, "Mastercard": true, "Amex": true}

// PesapalRefund is a copy of one refund the Pesapal simulator accepted.
type PesapalRefund struct {
	ConfirmationCode  string
	TrackingID        string // the order's
	MerchantReference string // the order's
	PaymentMethod     string // the order's: "MPESA" or "Visa"
	Amount            gateway.Amount
	Currency          string
	Username, Remarks string
	// Phone is where an M-Pesa payment's money went back (254 and 9
	// digits); empty for a card or when the billing phone is unreadable.
	Phone     string
	CreatedAt time.Time
}

// pesapalRefundRequest is RefundRequest's body. amount is read as a JSON
// string ("100.00", the assumed example) or number.
type pesapalRefundRequest struct {
	ConfirmationCode string          `json:"confirmation_code"`
	Amount           json.RawMessage `json:"amount"`
	Username         string          `json:"username"`
	Remarks          string          `json:"remarks"`
}

// pesapalRefundAnswer is RefundRequest's answer.
type pesapalRefundAnswer struct {
	Status  string `json:"status"`
	Message string `json:"message"`
}

// mpesaPhone writes a phone as M-Pesa does (254 and 9 digits), or "" when
// it is not a Kenyan mobile number.
func mpesaPhone(phone string) string {
	digits := strings.Map(func(r rune) rune {
		if r >= '0' && r <= '9' {
			return r
		}
		return -1
	}, phone)
	switch {
	case len(digits) == 10 && digits[0] == '0':
		digits = "254" + digits[1:]
	case len(digits) == 9:
		digits = "254" + digits
	}
	if !stkPhonePattern.MatchString(digits) {
		return ""
	}
	return digits
}

func (s *Sandbox) pesapalRefundRequest(w http.ResponseWriter, r *http.Request) {
	s.countSend(PayoutPesapal)
	s.mu.Lock()
	failing := s.pesapal.failRefunds > 0
	if failing {
		s.pesapal.failRefunds--
	}
	s.mu.Unlock()
	if failing {
		writeAPIError(w, http.StatusServiceUnavailable, "service_unavailable", "the service is temporarily unavailable: try again")
		return
	}
	if !s.pesapalCheckToken(w, r) {
		return
	}
	var req pesapalRefundRequest
	if !decodeBody(w, r, &req) {
		return
	}
	fail := func(status int, code, message string) { writeAPIError(w, status, code, message) }
	var amount gateway.Amount
	switch {
	case strings.TrimSpace(req.ConfirmationCode) == "":
		fail(http.StatusBadRequest, "invalid_confirmation_code", "confirmation_code is required")
		return
	case len(req.Amount) == 0 || amount.UnmarshalJSON(req.Amount) != nil || amount <= 0:
		fail(http.StatusBadRequest, "invalid_amount", "amount is required and must be greater than 0 with at most 2 decimals")
		return
	case strings.TrimSpace(req.Username) == "":
		fail(http.StatusBadRequest, "invalid_username", "username is required")
		return
	case strings.TrimSpace(req.Remarks) == "":
		fail(http.StatusBadRequest, "invalid_remarks", "remarks is required")
		return
	}
	s.mu.Lock()
	var o *Order
	for _, cand := range s.pesapal.orders {
		if cand.ConfirmationCode != "" && cand.ConfirmationCode == req.ConfirmationCode {
			o = cand
			break
		}
	}
	refusal := func(status int, code, message string) {
		s.mu.Unlock()
		fail(status, code, message)
	}
	switch {
	case o == nil:
		refusal(http.StatusNotFound, "invalid_confirmation_code", "no payment has this confirmation_code")
		return
	case o.StatusCode != PesapalStatusCompleted:
		refusal(http.StatusBadRequest, "payment_not_completed", "only a COMPLETED payment can be refunded")
		return
	case s.pesapal.refundByCode[o.ConfirmationCode] != nil:
		refusal(http.StatusConflict, "refund_exists", "this payment already has a refund: Pesapal takes one refund per payment")
		return
	case amount > o.PaidAmount:
		refusal(http.StatusBadRequest, "invalid_amount",
			fmt.Sprintf("amount must not exceed the amount paid (%s %s)", o.Currency, o.PaidAmount.Grouped()))
		return
	case !pesapalCardMethods[o.PaymentMethod] && amount != o.PaidAmount:
		refusal(http.StatusBadRequest, "partial_refund_not_allowed",
			"a mobile money payment can only be refunded in full ("+o.Currency+" "+o.PaidAmount.Grouped()+")")
		return
	}
	now := s.now()
	ref := &PesapalRefund{
		ConfirmationCode:  o.ConfirmationCode,
		TrackingID:        o.TrackingID,
		MerchantReference: o.MerchantReference,
		PaymentMethod:     o.PaymentMethod,
		Amount:            amount,
		Currency:          o.Currency,
		Username:          req.Username,
		Remarks:           req.Remarks,
		CreatedAt:         now,
	}
	if !pesapalCardMethods[o.PaymentMethod] {
		ref.Phone = mpesaPhone(o.Phone)
	}
	s.pesapal.refunds = append(s.pesapal.refunds, ref)
	s.pesapal.refundByCode[ref.ConfirmationCode] = ref
	o.RefundedAmount, o.RefundedAt = amount, now
	if ref.Phone != "" {
		// The money goes back to the phone that paid: the phone page
		// shows it.
		s.payout.add(&Payout{
			Provider:    PayoutPesapal,
			Reference:   ref.ConfirmationCode,
			Phone:       ref.Phone,
			Amount:      amount,
			Currency:    o.Currency,
			Description: req.Remarks,
		}, PayoutFault{}, now, "", "")
	}
	late := s.pesapal.lateRefunds > 0
	if late {
		s.pesapal.lateRefunds--
	}
	s.mu.Unlock()
	s.afterSend(w, r, PayoutPesapal, []sendPlan{{ref.ConfirmationCode, PayoutFault{Late: late, NoCallback: true}}},
		pesapalRefundAnswer{Status: "200", Message: pesapalRefundAccepted})
}

// PesapalCompleteWith pays the order as pressing Pay on the payment page
// with method does: "mpesa" (payment_method "MPESA", mobile money: refunds
// in full only) or "visa" ("Visa", a card: refunds in part too). It sends
// the IPN in the background when sendIPN is true, and returns
// ErrUnknownOrder, ErrOrderFinal or an error for another method.
func (s *Sandbox) PesapalCompleteWith(trackingID, method string, sendIPN bool) error {
	if _, ok := paymentMethods[method]; !ok {
		return fmt.Errorf("sandbox: Pesapal payment method must be \"mpesa\" or \"visa\", not %q", method)
	}
	return s.pesapalFinish(trackingID, PesapalStatusCompleted, method, nil, sendIPN)
}

// PesapalRefunds returns a copy of every refund the Pesapal simulator
// accepted, oldest first.
func (s *Sandbox) PesapalRefunds() []PesapalRefund {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make([]PesapalRefund, len(s.pesapal.refunds))
	for i, r := range s.pesapal.refunds {
		out[i] = *r
	}
	return out
}

// FailRefunds makes the next n RefundRequests answer HTTP 503 before
// anything else: nothing is refunded.
func (s *Sandbox) FailRefunds(n int) {
	s.mu.Lock()
	s.pesapal.failRefunds = max(n, 0)
	s.mu.Unlock()
}

// LateRefunds makes the next n accepted RefundRequests hold their answer
// until the client gives up (as PayoutFault.Late): the refund is taken and
// recorded, the client never hears so.
func (s *Sandbox) LateRefunds(n int) {
	s.mu.Lock()
	s.pesapal.lateRefunds = max(n, 0)
	s.mu.Unlock()
}
