package sandbox

import (
	"fmt"
	"net/url"
	"strings"

	"checkout/gateway"
)

// PokeaPayOrder returns a copy of the order with this oref.
func (s *Sandbox) PokeaPayOrder(oref string) (PokeaPayOrder, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	o, ok := s.pokeapay.orders[oref]
	if !ok {
		return PokeaPayOrder{}, false
	}
	return *o, true
}

// PokeaPayOpen opens a checkout URL without a browser: it reads the URL's
// query exactly as the checkout page does (same checks, same hash check)
// and records the order. The URL's path must be PokeaPayCheckoutPath (its
// host is not checked). A refusal wraps ErrPokeaPayRefused and, for a hash
// mismatch or an oref already used with another amount, ErrPokeaPayHash or
// ErrPokeaPayConflict; its text is what the page would say.
func (s *Sandbox) PokeaPayOpen(checkoutURL string) error {
	u, err := url.Parse(checkoutURL)
	if err != nil {
		return fmt.Errorf("%w: %v", ErrPokeaPayRefused, err)
	}
	if u.Path != PokeaPayCheckoutPath && u.Path != strings.TrimSuffix(PokeaPayCheckoutPath, "/") {
		return fmt.Errorf("%w: the path of %q is not the checkout page %s", ErrPokeaPayRefused, checkoutURL, PokeaPayCheckoutPath)
	}
	if _, refusal := s.pokeaPayOpen(u.Query()); refusal != nil {
		return refusal
	}
	return nil
}

// PokeaPayComplete pays the order with typ (m for M-Pesa, c for card), as
// pressing Pay on the checkout page does, and sends the IPN in the
// background when sendIPN is true. It returns ErrPokeaPayUnknownOrder or
// ErrPokeaPayOrderFinal.
func (s *Sandbox) PokeaPayComplete(oref, typ string, sendIPN bool) error {
	return s.pokeaPayFinish(oref, PokeaPayPaid, typ, nil, false, sendIPN)
}

// PokeaPayCompleteAmount is PokeaPayComplete with the provider taking paid
// rather than the order's amount (for tests of an amount that does not
// match): the IPN and the verification report paid.
func (s *Sandbox) PokeaPayCompleteAmount(oref, typ string, paid gateway.Amount, sendIPN bool) error {
	return s.pokeaPayFinish(oref, PokeaPayPaid, typ, &paid, false, sendIPN)
}

// PokeaPayDecline fails the order, as pressing Decline on the checkout page
// does. PokeaPay sends no IPN for it.
func (s *Sandbox) PokeaPayDecline(oref string) error {
	return s.pokeaPayFinish(oref, PokeaPayFailed, "", nil, false, false)
}

// pokeaPayFinish records the outcome of a pending order: status (paid or
// failed), the type chosen (m or c; empty is allowed only for a failure),
// when paid is not nil a paid amount that differs from the order's, and
// whether the customer cancelled. A paid order's IPN is scheduled when
// sendIPN is true.
func (s *Sandbox) pokeaPayFinish(oref, status, typ string, paid *gateway.Amount, cancelled, sendIPN bool) error {
	if status == PokeaPayPaid && typ != PokeaPayTypeMpesa && typ != PokeaPayTypeCard {
		return fmt.Errorf("sandbox: PokeaPay payment type must be %q or %q, not %q", PokeaPayTypeMpesa, PokeaPayTypeCard, typ)
	}
	s.mu.Lock()
	o, ok := s.pokeapay.orders[oref]
	if !ok {
		s.mu.Unlock()
		return ErrPokeaPayUnknownOrder
	}
	if o.Status != PokeaPayPending {
		s.mu.Unlock()
		return ErrPokeaPayOrderFinal
	}
	o.Status, o.Type, o.Cancelled = status, typ, cancelled
	if status == PokeaPayPaid {
		o.ReferenceNo = newCode(10)
		o.PaidAmount = o.Amount
		if paid != nil {
			o.PaidAmount = *paid
		}
	}
	o.UpdatedAt = s.now()
	s.mu.Unlock()
	if status == PokeaPayPaid && sendIPN {
		s.schedulePokeaPayIPN(oref)
	}
	return nil
}

// FailPokeaPayVerifications makes the next n payment verifications answer
// HTTP 503 (before any hash check).
func (s *Sandbox) FailPokeaPayVerifications(n int) {
	s.mu.Lock()
	s.pokeapay.failVerify = max(n, 0)
	s.mu.Unlock()
}

// PokeaPayVerifications is the number of payment verification requests
// received so far, whatever their answer (503s and 401s included).
func (s *Sandbox) PokeaPayVerifications() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.pokeapay.verifications
}

// PokeaPayIPNsSent is the number of PokeaPay IPN requests made so far, every
// try counted, acknowledged or not. It counts a request once its answer has
// been read (or it failed), so the app has finished handling it.
func (s *Sandbox) PokeaPayIPNsSent() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.pokeapay.ipnsSent
}

// SendPokeaPayIPN sends the IPN of a paid order once, now, to
// Config.PokeaPayIPNURL and returns an error unless the app answered with a
// 2xx status. It does not retry. It fails for an order that is not paid
// (PokeaPay notifies payments only), when no IPN URL is configured, and once
// the Sandbox is closed.
func (s *Sandbox) SendPokeaPayIPN(oref string) error {
	note, err := s.pokeaPayIPNNote(oref)
	if err != nil {
		return err
	}
	return s.sendPokeaPayIPN(s.ctx, note)
}
