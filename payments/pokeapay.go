package payments

import (
	"context"
	"errors"
	"fmt"
	"net/url"
	"strconv"
	"strings"
	"time"

	"checkout/gateway"
	"checkout/gateway/pokeapay"
	"checkout/store"
)

// ProviderPokeaPay names PokeaPay's hosted checkout in attempts and events.
const ProviderPokeaPay = "pokeapay"

// First status check of a PokeaPay attempt whose IPN has not come.
const pokeapayFirstCheck = 60 * time.Second

// PokeaPay is what the service needs from the PokeaPay web checkout client.
type PokeaPay interface {
	CheckoutURL(r pokeapay.CheckoutRequest) (string, error)
	ParseReturn(q url.Values) (pokeapay.Return, error)
	VerifyReturn(r pokeapay.Return) error
	gateway.Confirmer
}

// ErrForged: a return URL whose hash does not verify. Nothing changes.
var ErrForged = errors.New("the return link is not signed by the provider")

// StartPokeaPay records an attempt and returns the URL of PokeaPay's hosted
// page for it. The attempt id is the order reference (oref) PokeaPay sees,
// so every try has its own. A pending PokeaPay attempt is reused, so going
// back and choosing PokeaPay again does not open a second order.
//
// PokeaPay's link is signed over live . oref . amount . phone . email .
// outlet code with no separators, so every one of them is sent: a checkout
// without a customer phone or email needs what the customer typed (see
// CustomerContact); when something is missing or wrong the answer is a
// *ContactNeeded and nothing changes. What the customer gives is kept on the
// checkout.
func (s *Service) StartPokeaPay(ctx context.Context, checkoutID string, in CustomerContact) (string, error) {
	co, err := s.st.Checkout(ctx, checkoutID)
	if err != nil {
		return "", err
	}
	if co.Final() || !s.now().Before(co.ExpiresAt) {
		return "", ErrNotPayable
	}
	if !s.methodUsable(co, MethodPokeaPay) {
		return "", ErrMethodUnavailable
	}
	if a, err := s.currentAttempt(ctx, co.ID, ProviderPokeaPay); err == nil {
		return a.RedirectURL, nil
	}
	email, phone, err := pokeapayContact(co, in)
	if err != nil {
		return "", err
	}
	// Kept where the checkout had none (the merchant's values stay), with
	// the attempt: a refused attempt keeps nothing.
	a := &store.Attempt{ID: store.NewID("pay", s.now()), CheckoutID: co.ID, Provider: ProviderPokeaPay, Method: MethodPokeaPay}
	if err := s.st.StartAttemptWithContact(ctx, a, pokeapayFirstCheck, "customer", email, phone); err != nil {
		if errors.Is(err, store.ErrTransition) {
			return "", ErrNotPayable
		}
		return "", fmt.Errorf("payments: start pokeapay attempt: %w", err)
	}
	s.cfg.Metrics.PaymentStarted(a.Provider, a.Method)
	u, err := s.cfg.PokeaPay.CheckoutURL(pokeapay.CheckoutRequest{
		OrderRef: a.ID, Amount: gateway.Amount(co.Amount), Currency: co.Currency,
		CustomerName: co.CustomerName, Email: email, Phone: phone,
		CallbackURL: s.cfg.PublicURL + "/return/pokeapay", V1: co.ID,
	})
	if err != nil {
		s.log.ErrorContext(ctx, "pokeapay checkout url", "checkout_id", co.ID, "attempt_id", a.ID, "err", err)
		msg := "PokeaPay could not start the payment. Nothing was charged; please try again."
		if nsErr := s.notStarted(context.WithoutCancel(ctx), a, msg, err.Error()); nsErr != nil {
			return "", fmt.Errorf("payments: record failed start: %w", nsErr)
		}
		return "", ErrProvider
	}
	// The oref is our own reference: PokeaPay queries and notifications name it.
	if err := s.st.AttemptStarted(context.WithoutCancel(ctx), a.ID, a.ID, u, "redirect to PokeaPay's hosted page"); err != nil {
		return "", fmt.Errorf("payments: record pokeapay redirect: %w", err)
	}
	return u, nil
}

// currentAttempt is the newest pending attempt of a checkout with this
// provider and a page to send the customer to.
func (s *Service) currentAttempt(ctx context.Context, checkoutID, provider string) (*store.Attempt, error) {
	as, err := s.st.PendingAttempts(ctx, checkoutID)
	if err != nil {
		return nil, err
	}
	for i := len(as) - 1; i >= 0; i-- {
		if as[i].Provider == provider && as[i].RedirectURL != "" {
			return &as[i], nil
		}
	}
	return nil, fmt.Errorf("payments: no %s attempt for %s: %w", provider, checkoutID, store.ErrNotFound)
}

// PokeaPayReturn handles the customer's return from PokeaPay. The return's
// hash must verify (else ErrForged and nothing changes), and even then it
// only says "look now": the payment verification call decides.
func (s *Service) PokeaPayReturn(ctx context.Context, q url.Values) (*store.Checkout, error) {
	if s.cfg.PokeaPay == nil {
		return nil, ErrNotFound
	}
	ret, err := s.cfg.PokeaPay.ParseReturn(q)
	if err != nil {
		return nil, ErrForged
	}
	if err := s.cfg.PokeaPay.VerifyReturn(ret); err != nil {
		s.log.WarnContext(ctx, "pokeapay return with a bad hash", "oref", ret.OrderRef)
		return nil, ErrForged
	}
	a, err := s.st.Attempt(ctx, ret.OrderRef)
	if err != nil && !errors.Is(err, store.ErrNotFound) {
		return nil, err
	}
	if err != nil || a.Provider != ProviderPokeaPay {
		if cerr := s.unknownReference(ctx, "return:pokeapay", ret.OrderRef); cerr != nil {
			return nil, cerr
		}
		return nil, ErrNotFound
	}
	note := notification(&store.Event{CheckoutID: a.CheckoutID, AttemptID: a.ID, Kind: store.EventNotification,
		Source: "return:pokeapay", Message: "customer returned from PokeaPay", Payload: parsedPayload(ret)})
	co, _, err := s.recheck(ctx, a, "return:pokeapay", note)
	if errors.Is(err, ErrNotConfirmed) {
		return s.st.Checkout(ctx, a.CheckoutID)
	}
	return co, err
}

// pokeapayIPN handles PokeaPay's instant payment notification. It is
// unsigned: anyone can send one, so it only says "look now". What it claims
// (referenceno, amount, payer, method, fees) is written in the timeline and
// used nowhere else; the payment verification alone decides, and its answer
// is applied as any other (see apply): a receipt or an amount comes only from
// it.
func (s *Service) pokeapayIPN(ctx context.Context, n pokeapay.IPN) (store.Outcome, error) {
	if s.cfg.PokeaPay == nil {
		return "", ErrNotFound
	}
	a, err := s.st.Attempt(ctx, n.BillReference)
	if err == nil && a.Provider != ProviderPokeaPay {
		err = store.ErrNotFound
	}
	if err != nil {
		if errors.Is(err, store.ErrNotFound) {
			if cerr := s.unknownReference(ctx, "ipn:pokeapay", n.BillReference); cerr != nil {
				return "", cerr
			}
			return "", ErrNotFound
		}
		return "", err
	}
	note := notification(&store.Event{Kind: store.EventNotification, Source: "ipn:pokeapay", Payload: parsedPayload(n),
		CheckoutID: a.CheckoutID, AttemptID: a.ID, Message: "PokeaPay IPN for " + n.BillReference + ipnClaims(n)})
	q := gateway.Query{AttemptID: a.ID, ProviderReference: a.ID, Amount: gateway.Amount(a.Amount), Currency: a.Currency}
	return s.confirmAndApply(ctx, a, s.cfg.PokeaPay, q, "ipn:pokeapay", note)
}

// maxClaim bounds each claimed value quoted in the timeline; the parsed
// notification is in the event's payload.
const maxClaim = 64

// ipnClaims writes what an IPN claims for the timeline, marked as claims.
func ipnClaims(n pokeapay.IPN) string {
	var parts []string
	for _, f := range []struct{ key, val string }{
		{"amount", n.Amount}, {"referenceno", n.ReferenceNo}, {"method", n.Method},
		{"accountname", n.AccountName}, {"accountno", n.AccountNo}, {"fees", n.Fees},
	} {
		if f.val != "" {
			v := f.val
			if r := []rune(v); len(r) > maxClaim {
				v = string(r[:maxClaim]) + "…"
			}
			parts = append(parts, f.key+" "+strconv.Quote(v))
		}
	}
	if len(parts) == 0 {
		return ""
	}
	return " (unverified claims: " + strings.Join(parts, ", ") + ")"
}
