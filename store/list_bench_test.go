package store

import (
	"context"
	"os"
	"testing"
)

// BenchmarkListCheckoutsSeeded times the admin's list and search on a
// database made by `checkout seed` (CHECKOUT_BENCH_DB names it; skipped
// without). It is a measurement, not a test: nothing fails on a slow run.
//
//	checkout seed -db /tmp/1m.db -orders 1000000
//	CHECKOUT_BENCH_DB=/tmp/1m.db go test -run '^$' -bench ListCheckoutsSeeded ./store/
func BenchmarkListCheckoutsSeeded(b *testing.B) {
	path := os.Getenv("CHECKOUT_BENCH_DB")
	if path == "" {
		b.Skip("CHECKOUT_BENCH_DB names no seeded database")
	}
	ctx := context.Background()
	s, err := Open(ctx, path, Options{})
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { s.Close() })

	// Search values and a deep page's start, read from the data: the
	// 900,000th newest order (or the oldest), and values of an old order.
	var deep, old Checkout
	if err := s.r.Order("id DESC").Offset(900_000).Limit(1).Find(&deep).Error; err != nil || deep.ID == "" {
		if err := s.r.Order("id").Limit(1).Take(&deep).Error; err != nil {
			b.Fatal(err)
		}
	}
	if err := s.r.Where("receipt <> '' AND customer_phone <> '' AND id <= ?", deep.ID).Order("id DESC").Limit(1).Take(&old).Error; err != nil {
		b.Fatal(err)
	}
	var failed Attempt
	if err := s.r.Where("status = ? AND receipt = '' AND phone <> ''", AttemptFailed).Limit(1).Take(&failed).Error; err != nil {
		b.Fatal(err)
	}
	var paidReceipt Attempt
	if err := s.r.Where("status = ? AND receipt <> ''", AttemptSucceeded).Order("id").Limit(1).Take(&paidReceipt).Error; err != nil {
		b.Fatal(err)
	}

	cases := []struct {
		name string
		f    OrderFilter
	}{
		{"first_page", OrderFilter{}},
		{"deep_page", OrderFilter{After: deep.ID}},
		{"first_page_status_paid", OrderFilter{Status: StatusPaid}},
		{"deep_page_status_paid", OrderFilter{Status: StatusPaid, After: deep.ID}},
		{"first_page_status_reversed", OrderFilter{Status: StatusReversed}},
		{"deep_page_status_open", OrderFilter{Status: StatusOpen, After: deep.ID}},
		{"deep_page_status_open_method_pesapal", OrderFilter{Status: StatusOpen, Method: "pesapal", After: deep.ID}},
		{"deep_page_method_stk", OrderFilter{Method: "stk", After: deep.ID}},
		{"search_id", OrderFilter{Q: old.ID}},
		{"search_reference", OrderFilter{Q: old.Reference}},
		{"search_receipt", OrderFilter{Q: old.Receipt}},
		{"search_attempt_receipt", OrderFilter{Q: paidReceipt.Receipt}},
		{"search_phone", OrderFilter{Q: "0" + old.CustomerPhone[3:], Phone: old.CustomerPhone}},
		{"search_attempt_phone_status_expired", OrderFilter{Q: failed.Phone, Phone: failed.Phone, Status: StatusExpired}},
		{"search_nothing_found", OrderFilter{Q: "NO-SUCH-REF"}},
	}
	for _, c := range cases {
		b.Run(c.name, func(b *testing.B) {
			for b.Loop() {
				if _, _, err := s.ListCheckouts(ctx, c.f); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
