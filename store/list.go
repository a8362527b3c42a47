package store

import (
	"context"
	"fmt"
	"strings"

	"gorm.io/gorm"
)

// OrderFilter narrows the admin's order list. Q matches a checkout id,
// merchant reference, customer phone, receipt, or the phone or receipt of
// one of its payment attempts, exactly.
type OrderFilter struct {
	Status Status
	Method string
	Q      string
	// Phone is Q written as 254 and nine digits, when Q is a phone number
	// (the caller normalises it); phones are stored that way.
	Phone string
	// After is the id of the last row of the previous page ("" for the
	// first page).
	After string
	Limit int
}

// ListCheckouts returns one page of checkouts, newest first, and whether
// more follow. It uses keyset pagination on the time-ordered id, so the cost
// of a page does not grow with how far the admin has paged.
func (s *Store) ListCheckouts(ctx context.Context, f OrderFilter) ([]Checkout, bool, error) {
	if f.Limit <= 0 || f.Limit > 200 {
		f.Limit = 50
	}
	var rows []Checkout
	if err := listQuery(s.r.WithContext(ctx), f).Find(&rows).Error; err != nil {
		return nil, false, fmt.Errorf("store: list checkouts: %w", err)
	}
	more := len(rows) > f.Limit
	if more {
		rows = rows[:f.Limit]
	}
	return rows, more, nil
}

// listQuery builds the page query of ListCheckouts (f.Limit already set):
// one row more than a page, to tell whether more follow. The query-plan test
// runs it in dry-run mode, so what it checks is what ListCheckouts sends.
func listQuery(db *gorm.DB, f OrderFilter) *gorm.DB {
	q := db.Model(&Checkout{})
	if f.Status != "" {
		q = q.Where("status = ?", f.Status)
	}
	if f.Method != "" {
		q = q.Where("method = ?", f.Method)
	}
	if term := strings.TrimSpace(f.Q); term != "" {
		// Each column is looked up in its own index and the matching ids
		// drive the outer query. Written as one OR, SQLite either merges the
		// four indexes and then sorts, or, with a status or method filter,
		// walks every row of that status testing the OR.
		phone := f.Phone
		if phone == "" {
			phone = term
		}
		q = q.Where(`id IN (SELECT id FROM checkouts WHERE id = ?
			UNION ALL SELECT id FROM checkouts WHERE reference = ?
			UNION ALL SELECT id FROM checkouts WHERE customer_phone = ?
			UNION ALL SELECT id FROM checkouts WHERE customer_phone = ?
			UNION ALL SELECT id FROM checkouts WHERE receipt = ?
			UNION ALL SELECT checkout_id FROM attempts WHERE phone = ?
			UNION ALL SELECT checkout_id FROM attempts WHERE receipt = ?)`, term, term, term, phone, term, phone, term)
	}
	if f.After != "" {
		q = q.Where("id < ?", f.After)
	}
	return q.Order("id DESC").Limit(f.Limit + 1)
}
