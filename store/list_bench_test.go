package store

import (
	"context"
	"os"
	"strings"
	"testing"
	"time"
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
	var emailOf Checkout
	if err := s.r.Where("customer_email <> '' AND id <= ?", deep.ID).Order("id DESC").Limit(1).Take(&emailOf).Error; err != nil {
		b.Fatal(err)
	}
	// A Nairobi day in the middle of the data.
	day := deep.CreatedAt.Add(3 * time.Hour).Truncate(24 * time.Hour).Add(-3 * time.Hour)
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
		// Issue 12: prefixes, emails, names, and the new filters.
		{"search_reference_prefix", OrderFilter{Q: old.Reference[:len(old.Reference)-2]}},
		{"search_receipt_prefix", OrderFilter{Q: old.Receipt[:6]}},
		{"search_id_prefix", OrderFilter{Q: old.ID[:16]}},
		{"search_email_prefix_upper_case", OrderFilter{Q: strings.ToUpper(emailOf.CustomerEmail[:12])}},
		{"search_name_contains", OrderFilter{Q: "wanjiru"}},
		{"search_broad_prefix_left_out", OrderFilter{Q: "ORD-"}},
		{"search_common_first_name", OrderFilter{Q: "wanjiru"}},
		{"provider_pochipay", OrderFilter{Provider: "pochipay"}},
		{"deep_page_provider_pochipay", OrderFilter{Provider: "pochipay", After: deep.ID}},
		{"review", OrderFilter{Review: true}},
		{"stale", OrderFilter{Stale: true}},
		{"failure", OrderFilter{Failure: "Request cancelled by user."}},
		{"failure_one_day", OrderFilter{Failure: "Request cancelled by user.", CreatedFrom: day, CreatedTo: day.Add(24 * time.Hour)}},
		{"created_one_day", OrderFilter{CreatedFrom: day, CreatedTo: day.Add(24 * time.Hour)}},
		{"created_one_day_status_reversed", OrderFilter{Status: StatusReversed, CreatedFrom: day, CreatedTo: day.Add(24 * time.Hour)}},
		{"paid_one_day", OrderFilter{PaidFrom: day, PaidTo: day.Add(24 * time.Hour)}},
		{"paid_one_day_provider_pesapal", OrderFilter{Provider: "pesapal", PaidFrom: day, PaidTo: day.Add(24 * time.Hour)}},
		{"paid_day_without_payments", OrderFilter{PaidFrom: deep.CreatedAt.AddDate(-1, 0, 0), PaidTo: deep.CreatedAt.AddDate(-1, 0, 1)}},
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
