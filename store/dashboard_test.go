package store

import (
	"context"
	"math"
	"reflect"
	"strings"
	"testing"
	"time"

	"checkout/store/storetest"
)

// Nairobi midnights of 14, 15 and 16 March 2025 (UTC+3): the fixture's
// period is the two days [d0, d2), in buckets [d0, d1) and [d1, d2).
var (
	dashD0 = time.Date(2025, 3, 13, 21, 0, 0, 0, time.UTC)
	dashD1 = dashD0.Add(24 * time.Hour)
	dashD2 = dashD1.Add(24 * time.Hour)
	// dashNow is the fixture's clock: some time on the second day.
	dashNow = dashD1.Add(10 * time.Hour)
)

// dashFixture writes checkouts, attempts and webhook deliveries at known
// times straight into the tables (the state machine is not what is tested
// here).
func dashFixture(t *testing.T, s *Store) {
	t.Helper()
	ctx := context.Background()
	for _, m := range [][2]string{{"m_ok", "Ok shop"}, {"m_retry", "Retry shop"}, {"m_new", "New shop"}} {
		if _, err := s.EnsureMerchant(ctx, m[0], m[1], "sk_test_"+m[0]+"_0123456789"); err != nil {
			t.Fatal(err)
		}
	}
	at := func(d time.Duration, base time.Time) *time.Time { x := base.Add(d); return &x }
	co := func(id string, amount int64, currency, method, provider string, st Status, created time.Time, paid *time.Time, review bool) {
		t.Helper()
		c := Checkout{ID: id, MerchantID: testMerchantID, Reference: "ref-" + id, Description: "fixture", Amount: amount,
			Currency: currency, Status: st, Method: method, Provider: provider, Review: review,
			CreatedAt: created, UpdatedAt: created, ExpiresAt: created.Add(24 * time.Hour), PaidAt: paid}
		if err := s.w.Create(&c).Error; err != nil {
			t.Fatal(err)
		}
	}
	h := time.Hour
	// In the period, paid in the first bucket.
	co("c1", 100_000, "KES", "stk", "pokeapay", StatusPaid, dashD0.Add(h), at(h+60*time.Second, dashD0), false)
	co("c2", 50_000, "KES", "pesapal", "pesapal", StatusPaid, dashD0.Add(2*h), at(2*h+120*time.Second, dashD0), false)
	// Created before the period, paid in its first second: paid, not
	// created, in the period.
	co("c7", 7_000, "KES", "pokeapay", "pokeapay", StatusPaid, dashD0.Add(-h), at(10*time.Second, dashD0), false)
	// Paid in the second bucket; c5 at its first instant (created in the
	// first).
	co("c3", 25_050, "KES", "stk", "pochipay", StatusPaid, dashD1.Add(5*h), at(5*h+30*time.Second, dashD1), false)
	co("c4", 1_000, "USD", "pesapal", "pesapal", StatusPaid, dashD1.Add(6*h), at(6*h+90*time.Second, dashD1), false)
	co("c5", 30_000, "KES", "stk", "pokeapay", StatusPaid, dashD1.Add(-100*time.Second), at(0, dashD1), false)
	// Paid a second before the period: nowhere (flagged, though).
	co("c6", 99_900, "KES", "stk", "pokeapay", StatusPaid, dashD0.Add(-10*time.Minute), at(-time.Second, dashD0), true)
	// Created in the period, not paid (c11 was, then reversed).
	co("c8", 10_000, "KES", "", "", StatusOpen, dashD0.Add(3*h), nil, false)
	co("c9", 10_000, "KES", "stk", "pokeapay", StatusExpired, dashD1.Add(h), nil, true)
	co("c11", 20_000, "KES", "pesapal", "pesapal", StatusReversed, dashD0.Add(4*h), at(4*h+50*time.Second, dashD0), false)
	// Created in the period, paid after it ended.
	co("c12", 4_000, "KES", "stk", "pokeapay", StatusPaid, dashD1.Add(2*h), at(5*time.Second, dashD2), false)
	// Created at the period's end: outside.
	co("c10", 10_000, "KES", "", "", StatusOpen, dashD2, nil, false)

	cancelled := "You cancelled the M-Pesa prompt. Nothing was charged; you can try again."
	wrongPIN := "The M-Pesa PIN was wrong. Nothing was charged; try again with the right PIN."
	att := func(id, checkout string, st AttemptStatus, msg string, created time.Time) {
		t.Helper()
		a := Attempt{ID: id, CheckoutID: checkout, Provider: "pokeapay", Method: "stk", Status: st, Amount: 100,
			Currency: "KES", Message: msg, CreatedAt: created, UpdatedAt: created}
		if err := s.w.Create(&a).Error; err != nil {
			t.Fatal(err)
		}
	}
	att("a1", "c1", AttemptFailed, cancelled, dashD0.Add(h-30*time.Second))
	att("a2", "c9", AttemptFailed, cancelled, dashD1.Add(3*h))
	att("a10", "c9", AttemptFailed, cancelled, dashD1.Add(3*h+time.Minute)) // the same checkout again
	att("a3", "c8", AttemptFailed, wrongPIN, dashD0.Add(5*h))
	att("a4", "c6", AttemptFailed, "Declined", dashD0.Add(-time.Second)) // before the period
	att("a5", "c10", AttemptFailed, "Declined", dashD2)                  // at its end
	att("a9", "c1", AttemptSucceeded, "", dashD0.Add(h))
	att("a6", "c9", AttemptPending, "", dashNow.Add(-11*time.Minute)) // stale
	att("a7", "c8", AttemptPending, "", dashNow.Add(-9*time.Minute))
	att("a8", "c8", AttemptPending, "", dashNow.Add(-10*time.Minute)) // exactly 10 minutes: not older

	dl := func(id, merchant, status string, attempts int, lastErr string, created time.Time) {
		t.Helper()
		d := WebhookDelivery{ID: id, MerchantID: merchant, CheckoutID: "c1", EventType: WebhookCheckoutPaid, Payload: "{}",
			Status: status, Attempts: attempts, LastError: lastErr, CreatedAt: created}
		if err := s.w.Create(&d).Error; err != nil {
			t.Fatal(err)
		}
	}
	// m_test: its latest tried delivery failed for good.
	dl("d1", testMerchantID, DeliveryDelivered, 1, "", dashNow.Add(-2*h))
	dl("d2", testMerchantID, DeliveryFailed, 9, "HTTP 500", dashNow.Add(-h))
	// m_ok: failed once, delivered since.
	dl("d3", "m_ok", DeliveryFailed, 9, "timeout", dashNow.Add(-2*h))
	dl("d4", "m_ok", DeliveryDelivered, 1, "", dashNow.Add(-h))
	// m_retry: its latest tried delivery waits for a retry after an error
	// (the newer one was not tried yet).
	dl("d5", "m_retry", DeliveryDelivered, 1, "", dashNow.Add(-2*h))
	dl("d6", "m_retry", DeliveryPending, 2, "timeout", dashNow.Add(-h))
	dl("d7", "m_retry", DeliveryPending, 0, "", dashNow.Add(-10*time.Minute))
	// m_new: nothing tried yet.
	dl("d8", "m_new", DeliveryPending, 0, "", dashNow.Add(-time.Minute))
}

func TestDashboardFiguresEqualTheFixturesHandCount(t *testing.T) {
	s, _ := newTestEnv(t)
	dashFixture(t, s)
	eat := time.FixedZone("EAT", 3*60*60)
	// Bounds in Nairobi time: the store compares them as instants.
	f, err := s.Dashboard(context.Background(), DashboardQuery{Bounds: []time.Time{dashD0.In(eat), dashD1.In(eat), dashD2.In(eat)},
		StaleBefore: dashNow.Add(-10 * time.Minute), TopFailures: 5})
	if err != nil {
		t.Fatal(err)
	}
	// By kind (currency, method, provider in order), then bucket:
	// bucket 0 (14 March): c2, c7, c1 (c6 a second early, c11 reversed);
	// bucket 1 (15 March): c3, c5 (paid at midnight), c4 (USD).
	// PaySeconds: c2 120, c7 3600+10, c1 60, c3 30, c5 100, c4 90.
	want := []PaidGroup{
		{Bucket: 0, Currency: "KES", Method: "pesapal", Provider: "pesapal", Count: 1, Amount: 50_000, PaySeconds: 120},
		{Bucket: 0, Currency: "KES", Method: "pokeapay", Provider: "pokeapay", Count: 1, Amount: 7_000, PaySeconds: 3610},
		{Bucket: 1, Currency: "KES", Method: "stk", Provider: "pochipay", Count: 1, Amount: 25_050, PaySeconds: 30},
		{Bucket: 0, Currency: "KES", Method: "stk", Provider: "pokeapay", Count: 1, Amount: 100_000, PaySeconds: 60},
		{Bucket: 1, Currency: "KES", Method: "stk", Provider: "pokeapay", Count: 1, Amount: 30_000, PaySeconds: 100},
		{Bucket: 1, Currency: "USD", Method: "pesapal", Provider: "pesapal", Count: 1, Amount: 1_000, PaySeconds: 90},
	}
	if len(f.Paid) != len(want) {
		t.Fatalf("Paid = %+v\nwant %+v", f.Paid, want)
	}
	for i, g := range f.Paid {
		w := want[i]
		// julianday's doubles are good to well under a millisecond.
		if math.Abs(g.PaySeconds-w.PaySeconds) > 0.001 {
			t.Errorf("Paid[%d].PaySeconds = %v, want %v", i, g.PaySeconds, w.PaySeconds)
		}
		g.PaySeconds = w.PaySeconds
		if g != w {
			t.Errorf("Paid[%d] = %+v, want %+v", i, g, w)
		}
	}
	// Created in [d0, d2): c1 c2 c3 c4 c5 c8 c9 c11 c12 = 9 (c6 c7 before,
	// c10 at the end); of them paid now: c1 c2 c3 c4 c5 c12 = 6.
	if f.Created != 9 || f.CreatedPaid != 6 {
		t.Errorf("Created, CreatedPaid = %d, %d; want 9, 6", f.Created, f.CreatedPaid)
	}
	// Failed attempts started in the period: a1 a2 a10 (cancelled), a3
	// (PIN); a4 before, a5 at the end. Counted by checkout: c1 and c9
	// (a2 and a10 are both c9's) cancelled, c8 wrong PIN.
	wantFailures := []FailureCount{
		{Message: "You cancelled the M-Pesa prompt. Nothing was charged; you can try again.", Count: 2},
		{Message: "The M-Pesa PIN was wrong. Nothing was charged; try again with the right PIN.", Count: 1},
	}
	if !reflect.DeepEqual(f.Failures, wantFailures) {
		t.Errorf("Failures = %+v, want %+v", f.Failures, wantFailures)
	}
	// a6 only: a8 is exactly 10 minutes old, a7 younger.
	if f.StaleAttempts != 1 {
		t.Errorf("StaleAttempts = %d, want 1", f.StaleAttempts)
	}
	// c6 and c9, whatever their times.
	if f.Review != 2 {
		t.Errorf("Review = %d, want 2", f.Review)
	}
	wantFailing := []FailingEndpoint{{MerchantID: "m_retry", Name: "Retry shop"}, {MerchantID: testMerchantID, Name: "Test shop"}}
	if !reflect.DeepEqual(f.FailingEndpoints, wantFailing) {
		t.Errorf("FailingEndpoints = %+v, want %+v", f.FailingEndpoints, wantFailing)
	}
}

func TestDashboardTopFailuresKeepsTheMostFrequent(t *testing.T) {
	s, _ := newTestEnv(t)
	dashFixture(t, s)
	f, err := s.Dashboard(context.Background(), DashboardQuery{Bounds: []time.Time{dashD0, dashD2},
		StaleBefore: dashNow, TopFailures: 1})
	if err != nil {
		t.Fatal(err)
	}
	want := []FailureCount{{Message: "You cancelled the M-Pesa prompt. Nothing was charged; you can try again.", Count: 2}}
	if !reflect.DeepEqual(f.Failures, want) {
		t.Errorf("Failures = %+v, want %+v", f.Failures, want)
	}
	// One bucket: c2 c7 c3 c1+c5 c4 by kind.
	var n, kes int64
	for _, g := range f.Paid {
		if g.Bucket != 0 {
			t.Errorf("bucket %d with one bucket asked", g.Bucket)
		}
		n += g.Count
		if g.Currency == "KES" {
			kes += g.Amount
		}
	}
	// 50,000 + 7,000 + 25,050 + 100,000 + 30,000 = 212,050 cents in KES.
	if n != 6 || kes != 212_050 {
		t.Errorf("paid %d, KES %d; want 6, 212050", n, kes)
	}
	// StaleBefore is the clock itself: a6, a7 and a8 all started before.
	if f.StaleAttempts != 3 {
		t.Errorf("StaleAttempts = %d, want 3", f.StaleAttempts)
	}
}

func TestDashboardOnAnEmptyDatabaseIsZeros(t *testing.T) {
	s, _ := newTestEnv(t)
	f, err := s.Dashboard(context.Background(), DashboardQuery{Bounds: []time.Time{dashD0, dashD1, dashD2}, StaleBefore: dashNow})
	if err != nil {
		t.Fatal(err)
	}
	if len(f.Paid) != 0 || f.Created != 0 || f.CreatedPaid != 0 || len(f.Failures) != 0 || f.StaleAttempts != 0 ||
		f.Review != 0 || len(f.FailingEndpoints) != 0 {
		t.Errorf("figures of an empty database: %+v", f)
	}
}

func TestDashboardRefusesFewerThanTwoBounds(t *testing.T) {
	s, _ := newTestEnv(t)
	if _, err := s.Dashboard(context.Background(), DashboardQuery{Bounds: []time.Time{dashD0}}); err == nil {
		t.Fatal("one bound: no error")
	}
}

// TestDashboardQueryPlansReadOnlyIndexes asks SQLite how it runs each of
// the dashboard's queries, as Dashboard sends them: every one must search
// an index that holds all it reads (no table rows, no full scan), and none
// but the failure reasons (a GROUP BY over a period's failures) may sort.
// The stale attempts are counted on the pending ones only, found by the
// (status, next_check_at, created_at, checkout_id) index.
func TestDashboardQueryPlansReadOnlyIndexes(t *testing.T) {
	storetest.SQLiteOnly(t, "reads SQLite's EXPLAIN QUERY PLAN")
	s, _ := newTestEnv(t)
	ts := dashD0
	tests := []struct {
		name, sql string
		vars      []any
		plan      string // the plan's first line, as SQLite prints it
		sorts     bool
	}{
		{"next provider", dashNextProviderSQL, []any{"KES", "stk", "pochipay"},
			"SEARCH checkouts USING COVERING INDEX idx_checkouts_paid (currency=? AND method=? AND provider>?)", false},
		{"next method", dashNextMethodSQL, []any{"KES", "stk"},
			"SEARCH checkouts USING COVERING INDEX idx_checkouts_paid (currency=? AND method>?)", false},
		{"next currency", dashNextCurrencySQL, []any{"KES"},
			"SEARCH checkouts USING COVERING INDEX idx_checkouts_paid (currency>?)", false},
		{"paid", dashPaidSQL, []any{ts, ts, "KES", "stk", "pokeapay", ts, ts},
			"SEARCH checkouts USING COVERING INDEX idx_checkouts_paid (currency=? AND method=? AND provider=? AND paid_at>? AND paid_at<?)", false},
		{"paid later", dashPaidLaterSQL, []any{"KES", "stk", "pokeapay", ts, ts, ts},
			"SEARCH checkouts USING COVERING INDEX idx_checkouts_paid (currency=? AND method=? AND provider=? AND paid_at>?)", false},
		{"created", dashCreatedSQL, []any{ts, ts},
			"SEARCH checkouts USING COVERING INDEX idx_checkouts_created_at (created_at>? AND created_at<?)", false},
		// Counting checkouts reads each failed attempt's checkout_id from
		// idx_attempts_failed, without the table.
		{"failures", dashFailuresSQL, []any{ts, ts, 5},
			"SEARCH attempts USING COVERING INDEX idx_attempts_failed (created_at>? AND created_at<?)", true},
		{"stale", dashStaleSQL, []any{ts},
			"SEARCH attempts USING COVERING INDEX idx_attempts_status_next_check (status=?)", false},
		{"review", dashReviewSQL, nil, "SCAN checkouts USING COVERING INDEX idx_checkouts_review", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			plan := explainQueryPlan(t, s, dashSQL(s.r, tt.sql), tt.vars)
			text := strings.Join(plan, "\n")
			if plan[0] != tt.plan {
				t.Errorf("plan:\n%s\nwant first:\n%s", text, tt.plan)
			}
			if strings.Contains(text, "TEMP B-TREE") != tt.sorts {
				t.Errorf("plan sorts: %v, want %v:\n%s", !tt.sorts, tt.sorts, text)
			}
		})
	}
	// The failing endpoints: one search of each merchant's deliveries,
	// newest first, on the (merchant_id, created_at) index.
	plan := strings.Join(explainQueryPlan(t, s, dashFailingSQL, nil), "\n")
	if !strings.Contains(plan, "idx_webhook_deliveries_merchant_created") {
		t.Errorf("failing endpoints plan does not use idx_webhook_deliveries_merchant_created:\n%s", plan)
	}
}
