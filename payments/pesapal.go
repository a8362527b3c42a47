package payments

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"

	"checkout/gateway"
	"checkout/gateway/pesapal"
	"checkout/store"
)

// ProviderPesapal names Pesapal in attempts and events.
const ProviderPesapal = "pesapal"

// First status check of a Pesapal attempt whose IPN has not come.
const pesapalFirstCheck = 60 * time.Second

// StartPesapal starts a Pesapal payment for a checkout and returns the
// attempt whose RedirectURL the customer's iframe shows. A pending Pesapal
// attempt that already has a payment page is reused, so a customer who
// reloads or comes back does not pile up orders at Pesapal. contact is the
// email or phone the customer typed when the merchant sent neither (Pesapal
// requires one).
func (s *Service) StartPesapal(ctx context.Context, checkoutID, contact string) (*store.Attempt, error) {
	co, err := s.st.Checkout(ctx, checkoutID)
	if err != nil {
		return nil, err
	}
	if co.Final() || !s.now().Before(co.ExpiresAt) {
		return nil, ErrNotPayable
	}
	if !s.methodUsable(co, MethodPesapal) {
		return nil, ErrMethodUnavailable
	}
	if a, err := s.CurrentPesapalAttempt(ctx, co.ID); err == nil {
		return a, nil
	}
	billing, err := pesapalBilling(co, contact)
	if err != nil {
		return nil, err
	}
	// What the customer typed for the receipt is theirs: kept on the order,
	// where the admin and the merchant see it, with the attempt (a refused
	// attempt keeps nothing).
	var email, phone string
	if NeedsContact(co) {
		email, phone = billing.EmailAddress, billing.PhoneNumber
		if p, err := NormalizePhone(phone); err == nil {
			phone = p
		}
	}

	ipnID, err := s.cfg.PesapalIPN(ctx)
	if err != nil {
		s.log.ErrorContext(ctx, "pesapal IPN registration failed", "checkout_id", co.ID, "err", err)
		return nil, ErrProvider
	}

	a := &store.Attempt{ID: store.NewID("pay", s.now()), CheckoutID: co.ID, Provider: ProviderPesapal, Method: MethodPesapal}
	if err := s.st.StartAttemptWithContact(ctx, a, pesapalFirstCheck, "customer", email, phone); err != nil {
		if errors.Is(err, store.ErrTransition) {
			return nil, ErrNotPayable
		}
		return nil, fmt.Errorf("payments: start pesapal attempt: %w", err)
	}
	s.cfg.Metrics.PaymentStarted(a.Provider, a.Method)
	req := pesapal.OrderRequest{
		ID:             a.ID, // unique per attempt, as Pesapal requires
		Currency:       co.Currency,
		Amount:         gateway.Amount(co.Amount),
		Description:    co.Description,
		RedirectMode:   "TOP_WINDOW",
		CallbackURL:    s.cfg.PublicURL + "/return/pesapal",
		NotificationID: ipnID,
		BillingAddress: billing,
	}
	resp, err := s.cfg.Pesapal.SubmitOrderRequest(ctx, req)
	if err != nil {
		s.log.ErrorContext(ctx, "pesapal order request failed", "checkout_id", co.ID, "attempt_id", a.ID, "err", err)
		msg := "Pesapal could not start the payment. Nothing was charged; please try again."
		if nsErr := s.notStarted(context.WithoutCancel(ctx), a, msg, err.Error()); nsErr != nil {
			return nil, fmt.Errorf("payments: record failed start: %w", nsErr)
		}
		return nil, ErrProvider
	}
	raw, err := json.Marshal(resp)
	if err != nil {
		return nil, fmt.Errorf("payments: encode pesapal order response: %w", err)
	}
	// Pesapal now has the order: record it even if the customer's request
	// is gone, or the reconciler could not ask about it.
	if err := s.st.AttemptStarted(context.WithoutCancel(ctx), a.ID, resp.OrderTrackingID, resp.RedirectURL, string(raw)); err != nil {
		return nil, fmt.Errorf("payments: record pesapal order: %w", err)
	}
	a.ProviderReference, a.RedirectURL = resp.OrderTrackingID, resp.RedirectURL
	return a, nil
}

// CurrentPesapalAttempt is the newest pending Pesapal attempt of a checkout
// with a payment page to show.
func (s *Service) CurrentPesapalAttempt(ctx context.Context, checkoutID string) (*store.Attempt, error) {
	return s.currentAttempt(ctx, checkoutID, ProviderPesapal)
}

// pesapalBilling fills the billing address Pesapal requires: an email or a
// phone, from the checkout or from what the customer typed.
func pesapalBilling(co *store.Checkout, contact string) (pesapal.BillingAddress, error) {
	b := pesapal.BillingAddress{EmailAddress: co.CustomerEmail, PhoneNumber: co.CustomerPhone, CountryCode: "KE"}
	first, last, _ := strings.Cut(co.CustomerName, " ")
	b.FirstName, b.LastName = first, strings.TrimSpace(last)
	if b.EmailAddress != "" || b.PhoneNumber != "" {
		return b, nil
	}
	contact = strings.TrimSpace(contact)
	switch {
	case contact == "":
		return b, &FieldError{Code: "required", Field: "contact", Message: customerMsg("msg_contact_pesapal")}
	case strings.Contains(contact, "@"):
		if err := checkEmail("contact", contact); err != nil {
			return b, &FieldError{Code: "invalid", Field: "contact", Message: customerMsg("msg_contact_email_bad")}
		}
		b.EmailAddress = contact
	case phonePattern.MatchString(contact):
		b.PhoneNumber = contact
	default:
		return b, &FieldError{Code: "invalid", Field: "contact", Message: customerMsg("msg_contact_format")}
	}
	return b, nil
}

// NeedsContact reports whether the Pesapal choice must ask the customer for
// an email or phone.
func NeedsContact(co *store.Checkout) bool { return co.CustomerEmail == "" && co.CustomerPhone == "" }

// PesapalNotification handles an IPN or a return to the callback URL: it
// stores what the notification names (parsed, cut to a few KB), asks Pesapal for the status, and
// applies what Pesapal confirms. It returns the attempt the notification
// named, as read before the answer was applied (its status may have
// changed since); the checkout is not read again here (an IPN answers
// without it, a return reads it). ErrNotConfirmed means Pesapal should
// retry.
func (s *Service) PesapalNotification(ctx context.Context, n pesapal.Notification, source string) (*store.Attempt, store.Outcome, error) {
	a, err := s.st.AttemptByProviderReference(ctx, ProviderPesapal, n.OrderTrackingID)
	claimed := false
	if errors.Is(err, store.ErrNotFound) && n.OrderMerchantReference != "" {
		// The notification can overtake our write of the tracking id; the
		// merchant reference is the attempt id. Its tracking id, if known,
		// must agree.
		b, err2 := s.st.Attempt(ctx, n.OrderMerchantReference)
		switch {
		case err2 == nil && b.Provider == ProviderPesapal && (b.ProviderReference == "" || b.ProviderReference == n.OrderTrackingID):
			a, err, claimed = b, nil, b.ProviderReference == ""
		case err2 != nil && !errors.Is(err2, store.ErrNotFound):
			// A database failure is not "unknown order": it surfaces, and
			// Pesapal's retry finds the order once the database answers.
			err = err2
		}
	}
	if err != nil {
		// For a reference we never issued, only a counter: anyone can
		// send these.
		if errors.Is(err, store.ErrNotFound) {
			if cerr := s.unknownReference(ctx, source, n.OrderTrackingID); cerr != nil {
				return nil, "", cerr
			}
			return nil, "", ErrNotFound
		}
		return nil, "", err
	}
	note := notification(&store.Event{Kind: store.EventNotification, Source: source, Payload: parsedPayload(n),
		CheckoutID: a.CheckoutID, AttemptID: a.ID,
		Message: fmt.Sprintf("Pesapal %s for tracking id %s", strings.ToLower(n.OrderNotificationType), n.OrderTrackingID)})
	q := gateway.Query{AttemptID: a.ID, ProviderReference: n.OrderTrackingID, Amount: gateway.Amount(a.Amount), Currency: a.Currency}
	var out store.Outcome
	if !claimed {
		out, err = s.confirmAndApply(ctx, a, s.cfg.Pesapal, q, source, note)
	} else {
		out, err = s.confirmClaimedTrackingID(ctx, a, q, source, note)
	}
	if err != nil {
		return nil, "", err
	}
	return a, out, nil
}

// confirmClaimedTrackingID asks Pesapal about a tracking id that only the
// (unsigned) notification ties to the attempt, before our own record of it
// is written. Pesapal's answer counts for the attempt only when it names the
// attempt as its merchant reference; otherwise the notification claimed
// another order's tracking id (or Pesapal does not say yet), nothing changes
// and the answer asks Pesapal to notify again, by when the tracking id is
// ours.
func (s *Service) confirmClaimedTrackingID(ctx context.Context, a *store.Attempt, q gateway.Query, source string,
	note *store.Event) (store.Outcome, error) {
	if s.cfg.Pesapal == nil {
		if err := s.storeWithNote(ctx, note); err != nil {
			return "", err
		}
		return "", fmt.Errorf("payments: provider %s is not configured: %w", a.Provider, ErrNotConfirmed)
	}
	res, err := s.cfg.Pesapal.Confirm(ctx, q)
	if err != nil {
		return "", s.notConfirmed(ctx, a, source, err, note)
	}
	if res.Reference != a.ID {
		s.log.WarnContext(ctx, "pesapal notification names a tracking id of another order", "attempt_id", a.ID,
			"checkout_id", a.CheckoutID, "tracking_id", q.ProviderReference, "merchant_reference", res.Reference)
		// Another order's answer is not kept here: it is not this
		// checkout's business.
		msg := "ignored: Pesapal's answer for tracking id " + q.ProviderReference + " does not name this attempt as its merchant reference"
		if res.Reference == "" {
			msg = "not applied yet: Pesapal's answer for tracking id " + q.ProviderReference + " names no merchant reference"
		}
		if err := s.storeWithNote(ctx, note, &store.Event{CheckoutID: a.CheckoutID, AttemptID: a.ID, Kind: store.EventError,
			Source: source, Message: msg}); err != nil {
			return "", err
		}
		return "", fmt.Errorf("%w: tracking id %s is not known to belong to %s", ErrNotConfirmed, q.ProviderReference, a.ID)
	}
	return s.apply(ctx, a, res, source, note)
}

// confirmAndApply asks the provider about an attempt and applies the
// answer, storing note (the notification that asked, or nil) with it.
func (s *Service) confirmAndApply(ctx context.Context, a *store.Attempt, c gateway.Confirmer, q gateway.Query, source string,
	note *store.Event) (store.Outcome, error) {
	if c == nil {
		if err := s.storeWithNote(ctx, note); err != nil {
			return "", err
		}
		return "", fmt.Errorf("payments: provider %s is not configured: %w", a.Provider, ErrNotConfirmed)
	}
	res, err := c.Confirm(ctx, q)
	if err != nil {
		return "", s.notConfirmed(ctx, a, source, err, note)
	}
	return s.apply(ctx, a, res, source, note)
}

// notConfirmed records that the provider could not be asked (with the
// notification that asked, if any), and returns ErrNotConfirmed
// (notifications answer so that the provider retries).
func (s *Service) notConfirmed(ctx context.Context, a *store.Attempt, source string, err error, note *store.Event) error {
	s.log.WarnContext(ctx, "provider status query failed", "provider", a.Provider, "attempt_id", a.ID, "checkout_id", a.CheckoutID, "err", err)
	if addErr := s.storeWithNote(context.WithoutCancel(ctx), note, &store.Event{CheckoutID: a.CheckoutID, AttemptID: a.ID,
		Kind: store.EventError, Source: source, Message: "status query failed: " + err.Error()}); addErr != nil {
		return addErr
	}
	return fmt.Errorf("%w: %v", ErrNotConfirmed, err)
}

// apply hands a provider's confirmed answer to the state machine, with the
// rules of the attempt's method (an STK prompt's in stkResult), and the
// notification that asked (note, or nil) in the same transaction.
func (s *Service) apply(ctx context.Context, a *store.Attempt, res gateway.Result, source string, note *store.Event) (store.Outcome, error) {
	sr := storeResult(res, source)
	if a.Method == MethodSTK {
		sr = s.stkResult(a, res, source)
	}
	sr.Notification = note
	out, err := s.st.ApplyResult(ctx, a.ID, sr)
	if err != nil {
		// The notification went with the rolled-back change: keep it on
		// its own (nothing is lost), if the database takes it.
		if nerr := s.storeWithNote(context.WithoutCancel(ctx), note); nerr != nil {
			s.log.ErrorContext(ctx, "notification not stored", "attempt_id", a.ID, "err", nerr)
		}
		return "", fmt.Errorf("payments: apply %s result for %s: %w", a.Provider, a.ID, err)
	}
	s.countOutcome(a, out)
	if out != store.OutcomeUnchanged {
		s.log.InfoContext(ctx, "payment result applied", "checkout_id", a.CheckoutID, "attempt_id", a.ID, "outcome", out, "source", source)
	}
	return out, nil
}

func storeResult(r gateway.Result, source string) store.Result {
	sr := store.Result{
		Amount: int64(r.Amount), HasAmount: r.HasAmount, Currency: r.Currency, Reference: r.Reference,
		ProviderReference: r.ProviderReference, Receipt: r.Receipt, Method: r.Method, Message: r.Message,
		Source: source, Payload: string(r.Raw),
	}
	switch r.Status {
	case gateway.StatusSucceeded:
		sr.Status = store.AttemptSucceeded
	case gateway.StatusFailed:
		sr.Status = store.AttemptFailed
	case gateway.StatusReversed:
		sr.Reversed = true
	}
	return sr
}
