package sandbox

import (
	"fmt"
	"strings"

	"checkout/gateway"
)

// paymentMethods are the payment page's choices: form value -> what
// GetTransactionStatus reports as payment_method.
var paymentMethods = map[string]string{
	"mpesa": "MPESA",
	"visa":  "Visa",
}

// PesapalOrder returns a copy of the order with this tracking id.
func (s *Sandbox) PesapalOrder(trackingID string) (Order, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	o, ok := s.pesapal.orders[trackingID]
	if !ok {
		return Order{}, false
	}
	return *o, true
}

// PesapalOrderByReference returns a copy of the order submitted with this id
// (merchant reference).
func (s *Sandbox) PesapalOrderByReference(merchantRef string) (Order, bool) {
	s.mu.Lock()
	id, ok := s.pesapal.byRef[merchantRef]
	s.mu.Unlock()
	if !ok {
		return Order{}, false
	}
	return s.PesapalOrder(id)
}

// PesapalComplete pays the order with M-Pesa, as pressing Pay on the payment
// page does, and sends the IPN in the background when sendIPN is true. It
// returns ErrUnknownOrder or ErrOrderFinal.
func (s *Sandbox) PesapalComplete(trackingID string, sendIPN bool) error {
	return s.pesapalFinish(trackingID, PesapalStatusCompleted, "mpesa", nil, sendIPN)
}

// PesapalCompleteAmount is PesapalComplete with the provider reporting paid
// as the amount (for tests of an amount that does not match the order).
func (s *Sandbox) PesapalCompleteAmount(trackingID string, paid gateway.Amount, sendIPN bool) error {
	return s.pesapalFinish(trackingID, PesapalStatusCompleted, "mpesa", &paid, sendIPN)
}

// PesapalDecline fails the order, as pressing Decline on the payment page
// does, and sends the IPN in the background when sendIPN is true.
func (s *Sandbox) PesapalDecline(trackingID string, sendIPN bool) error {
	return s.pesapalFinish(trackingID, PesapalStatusFailed, "mpesa", nil, sendIPN)
}

// PesapalReverse marks a completed order REVERSED (status_code 3). It sends
// no IPN: call SendIPN to notify the app.
func (s *Sandbox) PesapalReverse(trackingID string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	o, ok := s.pesapal.orders[trackingID]
	if !ok {
		return ErrUnknownOrder
	}
	if o.StatusCode != PesapalStatusCompleted {
		return fmt.Errorf("sandbox: only a completed Pesapal order can be reversed (status_code is %d)", o.StatusCode)
	}
	o.StatusCode = PesapalStatusReversed
	o.UpdatedAt = s.now()
	return nil
}

// pesapalFinish records the outcome of a pending order: status code
// (completed or failed), the method (a paymentMethods key) and, when paid is
// not nil, a reported amount that differs from the order's.
func (s *Sandbox) pesapalFinish(trackingID string, code int, method string, paid *gateway.Amount, sendIPN bool) error {
	s.mu.Lock()
	o, ok := s.pesapal.orders[trackingID]
	if !ok {
		s.mu.Unlock()
		return ErrUnknownOrder
	}
	if o.StatusCode != PesapalStatusInvalid {
		s.mu.Unlock()
		return ErrOrderFinal
	}
	now := s.now()
	o.StatusCode = code
	o.ConfirmationCode = newCode(10)
	o.PaymentMethod = paymentMethods[method]
	o.PaymentAccount = paymentAccount(method, o.Phone)
	o.PaidAmount = o.Amount
	if paid != nil {
		o.PaidAmount = *paid
	}
	o.ProcessedAt, o.UpdatedAt = now, now
	s.mu.Unlock()
	if sendIPN {
		s.schedulePesapalIPN(trackingID)
	}
	return nil
}

// paymentAccount is the masked account a payment reports: the billing phone
// for M-Pesa (in 254 form, first 4 and last 3 digits shown), a test card for
// Visa.
func paymentAccount(method, phone string) string {
	if method == "visa" {
		return "424242**4242"
	}
	digits := strings.Map(func(r rune) rune {
		if r >= '0' && r <= '9' {
			return r
		}
		return -1
	}, phone)
	if len(digits) == 10 && digits[0] == '0' { // 07XXXXXXXX: as M-Pesa writes it
		digits = "254" + digits[1:]
	}
	if len(digits) < 9 {
		digits = "254700000678"
	}
	return digits[:4] + strings.Repeat("*", len(digits)-7) + digits[len(digits)-3:]
}

// FailStatusQueries makes the next n GetTransactionStatus calls answer
// HTTP 503 (before any token check).
func (s *Sandbox) FailStatusQueries(n int) {
	s.mu.Lock()
	s.pesapal.failStatus = max(n, 0)
	s.mu.Unlock()
}

// TokensIssued is the number of Pesapal tokens issued so far.
func (s *Sandbox) TokensIssued() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.pesapal.tokensIssued
}

// StatusQueries is the number of GetTransactionStatus requests received so
// far, whatever their answer (503s and 401s included).
func (s *Sandbox) StatusQueries() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.pesapal.statusQueries
}

// IPNsSent is the number of Pesapal IPN requests made so far, every try
// counted, acknowledged or not. It counts a request once its answer has been
// read (or it failed), so the app has finished handling it.
func (s *Sandbox) IPNsSent() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.pesapal.ipnsSent
}

// SendIPN sends the order's IPN once, now, and returns an error unless the
// app acknowledged it with HTTP 200 and a JSON status of 200. It does not
// retry. It fails once the Sandbox is closed.
func (s *Sandbox) SendIPN(trackingID string) error {
	note, err := s.pesapalIPNNote(trackingID)
	if err != nil {
		return err
	}
	return s.sendPesapalIPN(s.ctx, note)
}

// ExpireTokens makes every Pesapal token issued so far expire now.
func (s *Sandbox) ExpireTokens() {
	s.mu.Lock()
	now := s.now()
	for t := range s.pesapal.tokens {
		s.pesapal.tokens[t] = now
	}
	s.mu.Unlock()
}
