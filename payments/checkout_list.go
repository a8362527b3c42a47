package payments

import (
	"context"
	"slices"
	"strings"

	"checkout/store"
)

// CheckoutList is one page of a merchant's checkouts as the merchant API
// lists them (GET /api/v1/checkouts).
type CheckoutList struct {
	// Status keeps the checkouts with this status; HasStatus says the
	// caller sent one (an empty one is refused).
	Status    string
	HasStatus bool
	// Reference keeps the checkout with this reference, exactly;
	// HasReference says the caller sent one (an empty one is refused).
	Reference    string
	HasReference bool
	// After is the id of the last checkout of the previous page ("" for
	// the first).
	After string
	// Limit is 1 to 100 (the caller checks it).
	Limit int
}

// MerchantCheckouts lists one page of a merchant's checkouts, newest
// first, and whether more follow. A status that is not one of Statuses,
// or an empty reference, is a *FieldError; an After that is not one of
// the merchant's checkouts (unknown, or another merchant's) is
// ErrNotFound, as Stripe answers a starting_after that names no object of
// the caller's.
func (s *Service) MerchantCheckouts(ctx context.Context, merchantID string, l CheckoutList) ([]Checkout, bool, error) {
	if l.HasStatus && !slices.Contains(Statuses, Status(l.Status)) {
		names := make([]string, len(Statuses))
		for i, st := range Statuses {
			names[i] = string(st)
		}
		return nil, false, invalid("status", "status must be one of "+strings.Join(names, ", "))
	}
	if l.HasReference && l.Reference == "" {
		return nil, false, invalid("reference", "reference must not be empty; leave it out to list every checkout")
	}
	return s.st.MerchantCheckouts(ctx, store.MerchantCheckoutFilter{
		MerchantID: merchantID, Status: Status(l.Status), Reference: l.Reference, After: l.After, Limit: l.Limit,
	})
}
