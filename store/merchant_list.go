package store

import (
	"context"
	"fmt"

	"gorm.io/gorm"
)

// MerchantCheckoutFilter is one page of a merchant's checkouts as the
// merchant API lists them (GET /api/v1/checkouts).
type MerchantCheckoutFilter struct {
	// MerchantID is the calling merchant: required, the list never holds
	// another merchant's checkouts.
	MerchantID string
	// Status keeps the checkouts with this status ("" any).
	Status Status
	// Reference keeps the checkout with this merchant reference, exactly
	// ("" any); references are unique per merchant, so at most one.
	Reference string
	// After is the id of the last checkout of the previous page ("" for
	// the first page). It must be one of the merchant's checkouts.
	After string
	// Limit is 1 to 100 (else 20).
	Limit int
}

// MerchantCheckouts returns one page of a merchant's checkouts, newest
// first (keyset on the time-ordered id, by the index on (merchant_id, id),
// or (merchant_id, reference) for a reference), and whether more follow.
// An After that is not one of the merchant's checkouts (unknown, or
// another merchant's) is ErrNotFound, as Stripe answers a starting_after
// naming no object: the page never depends on another merchant's data.
func (s *Store) MerchantCheckouts(ctx context.Context, f MerchantCheckoutFilter) ([]Checkout, bool, error) {
	if f.MerchantID == "" {
		return nil, false, fmt.Errorf("store: list a merchant's checkouts: no merchant")
	}
	if f.Limit <= 0 || f.Limit > 100 {
		f.Limit = 20
	}
	db := s.r.WithContext(ctx)
	if f.After != "" {
		ok, err := s.MerchantHas(ctx, &Checkout{}, f.MerchantID, f.After)
		if err != nil {
			return nil, false, fmt.Errorf("store: list a merchant's checkouts: cursor: %w", err)
		}
		if !ok {
			return nil, false, fmt.Errorf("store: checkout %s: %w", f.After, ErrNotFound)
		}
	}
	var rows []Checkout
	if err := merchantListQuery(db, f).Find(&rows).Error; err != nil {
		return nil, false, fmt.Errorf("store: list a merchant's checkouts: %w", err)
	}
	more := len(rows) > f.Limit
	if more {
		rows = rows[:f.Limit]
	}
	return rows, more, nil
}

// merchantListQuery is MerchantCheckouts' page query (f.Limit already
// set): one row more than a page, to tell whether more follow. The
// query-plan test runs it in dry-run mode.
//
// merchant_id and id are the index idx_checkouts_merchant_id, walked
// newest first from the cursor; a status is tested on the rows walked
// (or the page walks idx_checkouts_status_id testing the merchant,
// whichever the planner prefers: both give the order without sorting); a
// reference is the unique index idx_checkouts_merchant_reference, one row.
func merchantListQuery(db *gorm.DB, f MerchantCheckoutFilter) *gorm.DB {
	q := db.Model(&Checkout{}).Where("merchant_id = ?", f.MerchantID)
	if f.Status != "" {
		q = q.Where("status = ?", f.Status)
	}
	if f.Reference != "" {
		q = q.Where("reference = ?", f.Reference)
	}
	if f.After != "" {
		q = q.Where("id < ?", f.After)
	}
	if f.Reference != "" {
		// At most one row: no order, so that the planners look it up by
		// the unique index (PostgreSQL, without statistics, would rather
		// walk the merchant's ids in order testing the reference).
		return q.Limit(f.Limit + 1)
	}
	return q.Order("id DESC").Limit(f.Limit + 1)
}

// MerchantHas reports whether id names one of the merchant's rows in
// model's table (a checkout, payment link, refund or payout): what the
// merchant API holds a list's cursor to.
func (s *Store) MerchantHas(ctx context.Context, model any, merchantID, id string) (bool, error) {
	var n int64
	if err := s.r.WithContext(ctx).Model(model).Where("id = ? AND merchant_id = ?", id, merchantID).Count(&n).Error; err != nil {
		return false, err
	}
	return n > 0, nil
}
