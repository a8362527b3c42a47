package payments

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"checkout/gateway"
	"checkout/store"
)

// CheckoutObject is the checkout as the merchant API shows it. Every field
// is always present; one with no value is null.
type CheckoutObject struct {
	ID     string `json:"id"`
	URL    string `json:"url"`
	Status string `json:"status"`
	Amount string `json:"amount"`
	// AmountRefunded is what succeeded refunds gave back.
	AmountRefunded    string            `json:"amount_refunded"`
	Currency          string            `json:"currency"`
	Reference         string            `json:"reference"`
	Description       string            `json:"description"`
	Method            *string           `json:"method"`
	Provider          *string           `json:"provider"`
	ProviderReference *string           `json:"provider_reference"`
	Receipt           *string           `json:"receipt"`
	Message           *string           `json:"message"`
	CreatedAt         string            `json:"created_at"`
	ExpiresAt         string            `json:"expires_at"`
	PaidAt            *string           `json:"paid_at"`
	Metadata          map[string]string `json:"metadata"`
	// PaymentLink is the id of the payment link the checkout was made
	// from, null for one made over the API.
	PaymentLink *string `json:"payment_link"`
	// Livemode is false for a checkout made in test mode.
	Livemode bool `json:"livemode"`
	// Locale is the language the merchant chose for the customer ("en",
	// "sw"), null when the customer's browser chooses.
	Locale *string `json:"locale"`
}

// Object builds the API view of a checkout.
func (s *Service) Object(co *store.Checkout) (CheckoutObject, error) {
	o := CheckoutObject{
		ID: co.ID, URL: s.CheckoutURL(co.ID), Status: string(co.Status), Amount: gateway.Amount(co.Amount).String(),
		AmountRefunded: gateway.Amount(co.AmountRefunded).String(),
		Currency:       co.Currency, Reference: co.Reference, Description: co.Description,
		Method: orNull(co.Method), Provider: orNull(co.Provider), ProviderReference: orNull(co.ProviderReference),
		Receipt: orNull(co.Receipt), Message: orNull(co.Message), PaymentLink: orNull(co.PaymentLinkID),
		CreatedAt: rfc3339(co.CreatedAt), ExpiresAt: rfc3339(co.ExpiresAt), Livemode: s.Livemode(),
		Locale: orNull(co.Locale),
	}
	if co.PaidAt != nil {
		t := rfc3339(*co.PaidAt)
		o.PaidAt = &t
	}
	if co.Metadata != "" {
		if err := json.Unmarshal([]byte(co.Metadata), &o.Metadata); err != nil {
			return o, fmt.Errorf("payments: metadata of %s: %w", co.ID, err)
		}
	}
	return o, nil
}

func orNull(s string) *string {
	if s == "" {
		return nil
	}
	return &s
}

func rfc3339(t time.Time) string { return t.UTC().Format(time.RFC3339) }

// Cancel ends a checkout at the customer's request ("Cancel and return").
// Attempts under way are asked about first: a payment that went through
// wins over the cancel (ErrNotPayable; the checkout is paid). One the
// provider cannot confirm yet stays polled after the cancel, and if it
// completes later it is flagged for review.
func (s *Service) Cancel(ctx context.Context, checkoutID string) (*store.Checkout, error) {
	pending, err := s.st.PendingAttempts(ctx, checkoutID)
	if err != nil {
		return nil, err
	}
	for i := range pending {
		if pending[i].ProviderReference == "" && pending[i].Method != MethodSTK {
			continue
		}
		co, _, err := s.Recheck(ctx, &pending[i], "customer cancel")
		if err == nil && co.Status == store.StatusPaid {
			return nil, ErrNotPayable
		}
	}
	co, err := s.st.Cancel(ctx, checkoutID, "customer")
	if errors.Is(err, store.ErrTransition) {
		return nil, ErrNotPayable
	}
	return co, err
}

// Checkout loads a checkout for the customer pages.
func (s *Service) Checkout(ctx context.Context, id string) (*store.Checkout, error) {
	return s.st.Checkout(ctx, id)
}

// CheckoutPage loads a checkout with what its customer pages show besides,
// in one query.
func (s *Service) CheckoutPage(ctx context.Context, id string) (*CheckoutPage, error) {
	return s.st.CheckoutPage(ctx, id)
}

// PastDeadline reports whether an open or pending checkout's deadline has
// passed: the customer page shows it as expired at once, without waiting for
// the reconciler to write the change (a GET changes nothing).
func (s *Service) PastDeadline(co *store.Checkout) bool {
	return !co.Final() && !s.now().Before(co.ExpiresAt)
}

// Since is how long ago t was on the service's clock.
func (s *Service) Since(t time.Time) time.Duration { return s.now().Sub(t) }
