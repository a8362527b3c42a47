package store

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"gorm.io/gorm"

	"checkout/store/storetest"
)

// listFixture holds seven checkouts created a second apart (so their ids,
// and "newest first", follow c1..c7), covering the statuses, methods and
// search columns the filters look at.
type listFixture struct {
	c1, c2, c3, c4, c5, c6, c7 *Checkout
}

func newListFixture(t *testing.T, s *Store, clk *fakeClock) listFixture {
	t.Helper()
	create := func(ref, phone string) *Checkout {
		clk.Advance(time.Second)
		return newCheckout(t, s, func(co *Checkout) { co.Reference, co.CustomerPhone = ref, phone })
	}
	pay := func(co *Checkout, provider, method, receipt string) {
		a := startAttempt(t, s, co.ID, provider, method, time.Minute)
		if out := applyResult(t, s, a.ID, succeeded(a, receipt)); out != OutcomePaid {
			t.Fatalf("paying %s: outcome %s", co.ID, out)
		}
	}
	var f listFixture
	f.c1 = create("INV-1001", "254700000001") // open
	f.c2 = create("INV-1002", "254700000002") // pending, stk
	startAttempt(t, s, f.c2.ID, "pokeapay", "stk", 20*time.Second)
	f.c3 = create("INV-1003", "") // paid by pesapal, receipt QWE123
	pay(f.c3, "pesapal", "pesapal", "QWE123")
	f.c4 = create("INV-1004", "254700000001") // paid by stk, c1's phone
	pay(f.c4, "pokeapay", "stk", "RKT456")
	f.c5 = create("QWE123", "") // cancelled; its reference is c3's receipt
	if _, err := s.Cancel(context.Background(), f.c5.ID, "customer"); err != nil {
		t.Fatal(err)
	}
	f.c6 = create("254700000009", "254700000009") // open; matches q in two columns
	f.c7 = create("INV-1007", "")                 // open again after a failed stk attempt
	a := startAttempt(t, s, f.c7.ID, "pokeapay", "stk", 20*time.Second)
	applyResult(t, s, a.ID, failed("Declined"))
	return f
}

func TestListCheckoutsFiltersNewestFirst(t *testing.T) {
	s, clk := newTestEnv(t)
	f := newListFixture(t, s, clk)
	tests := []struct {
		name   string
		filter OrderFilter
		want   []*Checkout
	}{
		{"no_filter", OrderFilter{}, []*Checkout{f.c7, f.c6, f.c5, f.c4, f.c3, f.c2, f.c1}},
		{"status_paid", OrderFilter{Status: StatusPaid}, []*Checkout{f.c4, f.c3}},
		{"status_open", OrderFilter{Status: StatusOpen}, []*Checkout{f.c7, f.c6, f.c1}},
		{"status_pending", OrderFilter{Status: StatusPending}, []*Checkout{f.c2}},
		{"status_cancelled", OrderFilter{Status: StatusCancelled}, []*Checkout{f.c5}},
		{"status_with_no_rows", OrderFilter{Status: StatusReversed}, nil},
		{"method_stk", OrderFilter{Method: "stk"}, []*Checkout{f.c7, f.c4, f.c2}},
		{"method_pesapal", OrderFilter{Method: "pesapal"}, []*Checkout{f.c3}},
		{"status_and_method", OrderFilter{Status: StatusOpen, Method: "stk"}, []*Checkout{f.c7}},
		{"q_id", OrderFilter{Q: f.c2.ID}, []*Checkout{f.c2}},
		{"q_reference", OrderFilter{Q: "INV-1001"}, []*Checkout{f.c1}},
		{"q_customer_phone", OrderFilter{Q: "254700000001"}, []*Checkout{f.c4, f.c1}},
		{"q_receipt", OrderFilter{Q: "RKT456"}, []*Checkout{f.c4}},
		{"q_receipt_of_one_reference_of_another", OrderFilter{Q: "QWE123"}, []*Checkout{f.c5, f.c3}},
		{"q_matching_two_columns_of_one_row_lists_it_once", OrderFilter{Q: "254700000009"}, []*Checkout{f.c6}},
		{"q_trimmed", OrderFilter{Q: "  INV-1001\t"}, []*Checkout{f.c1}},
		{"q_reference_prefix", OrderFilter{Q: "INV-100"}, []*Checkout{f.c7, f.c4, f.c3, f.c2, f.c1}},
		{"q_not_a_prefix", OrderFilter{Q: "NV-100"}, nil},
		{"q_case_sensitive", OrderFilter{Q: "inv-1001"}, nil},
		{"q_and_status", OrderFilter{Q: "254700000001", Status: StatusPaid}, []*Checkout{f.c4}},
		{"q_and_method", OrderFilter{Q: "254700000001", Method: "stk"}, []*Checkout{f.c4}},
		{"q_status_and_method", OrderFilter{Q: "254700000001", Status: StatusOpen, Method: "stk"}, nil},
		{"after", OrderFilter{After: f.c4.ID}, []*Checkout{f.c3, f.c2, f.c1}},
		{"after_and_status", OrderFilter{After: f.c6.ID, Status: StatusOpen}, []*Checkout{f.c1}},
		{"after_and_q", OrderFilter{After: f.c4.ID, Q: "254700000001"}, []*Checkout{f.c1}},
		{"after_the_oldest", OrderFilter{After: f.c1.ID}, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, more, err := s.ListCheckouts(context.Background(), tt.filter)
			if err != nil {
				t.Fatalf("ListCheckouts: %v", err)
			}
			if more {
				t.Errorf("more = true, want false")
			}
			if !slices.Equal(checkoutIDs(got), checkoutIDs(tt.want)) {
				t.Fatalf("ids = %v, want %v", checkoutIDs(got), checkoutIDs(tt.want))
			}
			for i, w := range tt.want {
				assertFields(t, "row "+w.ID, got[i], loadCheckout(t, s, w.ID))
			}
		})
	}
}

func TestListCheckoutsPagesReturnEveryRowOnceInOrder(t *testing.T) {
	s, clk := newTestEnv(t)
	var all, pending []string // oldest first
	for i := range 120 {
		clk.Advance(time.Millisecond)
		co := newCheckout(t, s, nil)
		all = append(all, co.ID)
		if i%3 == 0 {
			startAttempt(t, s, co.ID, "pokeapay", "stk", 20*time.Second)
			pending = append(pending, co.ID)
		}
	}
	slices.Reverse(all)
	slices.Reverse(pending)

	tests := []struct {
		name      string
		filter    OrderFilter
		want      []string
		wantPages []int
	}{
		{"pages_of_50", OrderFilter{Limit: 50}, all, []int{50, 50, 20}},
		{"pages_that_divide_evenly", OrderFilter{Limit: 40}, all, []int{40, 40, 40}},
		{"pages_of_one_filter", OrderFilter{Status: StatusPending, Limit: 15}, pending, []int{15, 15, 10}},
		{"zero_limit_means_50", OrderFilter{}, all, []int{50, 50, 20}},
		{"limit_over_200_means_50", OrderFilter{Limit: 1000}, all, []int{50, 50, 20}},
		{"limit_200", OrderFilter{Limit: 200}, all, []int{120}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var got []string
			var sizes []int
			f := tt.filter
			for page := 1; ; page++ {
				if page > 10 {
					t.Fatalf("still paging after %d pages", page-1)
				}
				rows, more, err := s.ListCheckouts(context.Background(), f)
				if err != nil {
					t.Fatalf("page %d: %v", page, err)
				}
				sizes = append(sizes, len(rows))
				got = append(got, checkoutIDs(rows)...)
				if wantMore := page < len(tt.wantPages); more != wantMore {
					t.Errorf("page %d: more = %v, want %v", page, more, wantMore)
				}
				if !more || len(rows) == 0 {
					break
				}
				f.After = rows[len(rows)-1].ID
			}
			if !slices.Equal(sizes, tt.wantPages) {
				t.Errorf("page sizes = %v, want %v", sizes, tt.wantPages)
			}
			if !slices.Equal(got, tt.want) {
				t.Errorf("rows over all pages differ from every row newest first:\n got %v\nwant %v", got, tt.want)
			}
		})
	}
}

// TestListQueryPlansUseIndexesWithoutSorting asks SQLite how it runs the
// exact SQL ListCheckouts sends (built by listQuery in dry-run mode) for
// every combination of filters: each must walk an index in id order, so a
// page costs the same however many orders there are.
func TestListQueryPlansUseIndexesWithoutSorting(t *testing.T) {
	storetest.SQLiteOnly(t, "reads SQLite's EXPLAIN QUERY PLAN")
	s, _ := newTestEnv(t)
	const pk = "sqlite_autoindex_checkouts_1" // the index of the TEXT primary key
	searchArms := []string{"idx_checkouts_reference", "idx_checkouts_customer_phone", "idx_checkouts_receipt",
		"idx_checkouts_email_lower", "idx_attempts_receipt", "idx_attempts_phone"}
	day := time.Date(2025, 3, 14, 21, 0, 0, 0, time.UTC) // midnight in Nairobi
	tests := []struct {
		name   string
		filter OrderFilter
		// outer lists the indexes the planner may drive the page with.
		outer []string
		// arms lists indexes that must also appear (the search subquery).
		arms []string
	}{
		{"none", OrderFilter{}, []string{pk}, nil},
		{"status", OrderFilter{Status: StatusPaid}, []string{"idx_checkouts_status_id"}, nil},
		{"method", OrderFilter{Method: "stk"}, []string{"idx_checkouts_method_id"}, nil},
		{"status_method", OrderFilter{Status: StatusPaid, Method: "stk"},
			[]string{"idx_checkouts_status_method_id"}, nil},
		{"q", OrderFilter{Q: "254700000001"}, []string{pk}, searchArms},
		{"status_q", OrderFilter{Status: StatusPaid, Q: "254700000001"},
			[]string{pk, "idx_checkouts_status_id"}, searchArms},
		{"method_q", OrderFilter{Method: "stk", Q: "254700000001"},
			[]string{pk, "idx_checkouts_method_id"}, searchArms},
		{"status_method_q", OrderFilter{Status: StatusPaid, Method: "stk", Q: "254700000001"},
			[]string{pk, "idx_checkouts_status_id", "idx_checkouts_method_id", "idx_checkouts_status_method_id"}, searchArms},
		// Issue 12's filters, each alone, then a few together.
		{"provider", OrderFilter{Provider: "pochipay"}, []string{"idx_checkouts_provider_id"}, nil},
		{"link", OrderFilter{Link: "plink_01jp9zz0000000000000000000"}, []string{"idx_checkouts_payment_link_id"}, nil},
		{"merchant", OrderFilter{MerchantID: "mer_01jp9zz0000000000000000000"}, []string{"idx_checkouts_merchant_id"}, nil},
		{"review", OrderFilter{Review: true}, []string{"idx_checkouts_review"}, nil},
		{"created_from", OrderFilter{CreatedFrom: day}, []string{pk}, nil},
		{"created_to", OrderFilter{CreatedTo: day}, []string{pk}, nil},
		{"created_day", OrderFilter{CreatedFrom: day, CreatedTo: day.Add(24 * time.Hour)}, []string{pk}, nil},
		{"paid_from", OrderFilter{PaidFrom: day}, []string{pk}, nil},
		{"paid_to", OrderFilter{PaidTo: day}, []string{pk}, nil},
		{"stale", OrderFilter{Stale: true}, []string{pk}, []string{"idx_attempts_status_next_check"}},
		{"failure", OrderFilter{Failure: "Request cancelled by user."}, []string{pk},
			[]string{"idx_attempts_failed_message"}},
		{"q_email_or_name", OrderFilter{Q: "wanjiru"}, []string{pk}, searchArms},
		{"q_id_prefix", OrderFilter{Q: "chk_01jp9zz"}, []string{pk}, searchArms},
		{"status_created_day", OrderFilter{Status: StatusPaid, CreatedFrom: day, CreatedTo: day.Add(24 * time.Hour)},
			[]string{"idx_checkouts_status_id"}, nil},
		{"provider_paid_day", OrderFilter{Provider: "pesapal", PaidFrom: day, PaidTo: day.Add(24 * time.Hour)},
			[]string{pk, "idx_checkouts_provider_id"}, nil},
		{"link_status", OrderFilter{Link: "plink_01jp9zz0000000000000000000", Status: StatusPaid},
			[]string{"idx_checkouts_payment_link_id", "idx_checkouts_status_id"}, nil},
		{"stale_created_from", OrderFilter{Stale: true, CreatedFrom: day}, []string{pk}, []string{"idx_attempts_status_next_check"}},
		{"failure_created_day", OrderFilter{Failure: "Declined", CreatedFrom: day, CreatedTo: day.Add(24 * time.Hour)},
			[]string{pk}, []string{"idx_attempts_failed_message"}},
		{"failure_common", OrderFilter{Failure: "Request cancelled by user."}, []string{pk},
			[]string{"idx_attempts_checkout"}},
		{"failure_failed_day", OrderFilter{Failure: "Declined", FailedFrom: day, FailedTo: day.Add(24 * time.Hour)},
			[]string{pk}, []string{"idx_attempts_failed_message"}},
		{"failure_common_failed_day", OrderFilter{Failure: "Declined", FailedFrom: day, FailedTo: day.Add(24 * time.Hour)},
			[]string{pk}, []string{"idx_attempts_checkout"}},
		{"failure_common_created_day", OrderFilter{Failure: "Declined", CreatedFrom: day, CreatedTo: day.Add(24 * time.Hour)},
			[]string{pk}, []string{"idx_attempts_checkout"}},
		{"q_with_broad_prefixes_left_out", OrderFilter{Q: "ORD-"}, []string{pk},
			[]string{"idx_checkouts_customer_phone", "idx_attempts_phone", "idx_checkouts_email_lower"}},
		{"every_filter", OrderFilter{Status: StatusOpen, Method: "stk", Provider: "pokeapay", Q: "ORD-00",
			CreatedFrom: day, CreatedTo: day.Add(24 * time.Hour), PaidFrom: day, PaidTo: day.Add(24 * time.Hour),
			Link: "plink_x", Review: true, Stale: true, Failure: "Declined"},
			[]string{pk, "idx_checkouts_status_id", "idx_checkouts_method_id", "idx_checkouts_status_method_id",
				"idx_checkouts_provider_id", "idx_checkouts_payment_link_id", "idx_checkouts_review"}, searchArms},
	}
	// The plan's decisions after counting (listPlan), for the cases that
	// take them: prefixes left out, a common failure tested per row.
	plans := map[string]listPlan{
		"failure_common":             {denseFailure: true},
		"failure_common_created_day": {denseFailure: true},
		"failure_common_failed_day":  {denseFailure: true},
		"q_with_broad_prefixes_left_out": {broad: map[string]bool{"id": true, "reference": true, "receipt": true},
			windowFrom: "chk_01jp9yy0000000000000000000"},
		"q_email_or_name": {windowFrom: "chk_01jp9yy0000000000000000000"},
	}
	for _, tt := range tests {
		for _, after := range []string{"", "chk_01jp9zz0000000000000000000"} {
			name := tt.name
			if after != "" {
				name += "_after"
			}
			t.Run(name, func(t *testing.T) {
				f := tt.filter
				f.After, f.Limit = after, 50
				decided := plans[tt.name]
				decided.nameScan = NameScan
				var rows []Checkout
				stmt := listQuery(s.r.Session(&gorm.Session{DryRun: true}), f, s.Now(), decided).Find(&rows).Statement
				sql := stmt.SQL.String()
				plan := explainQueryPlan(t, s, sql, stmt.Vars)
				t.Logf("%s\n%s", sql, strings.Join(plan, "\n"))

				for _, line := range plan {
					if strings.Contains(line, "TEMP B-TREE") {
						t.Errorf("plan sorts or de-duplicates in a temporary b-tree: %q", line)
					}
					// The only scans allowed: the unfiltered list's walk
					// of the primary key, and a common failure's, which
					// tests each row walked (its page fills within a few
					// thousand). A name search reads the page's window, a
					// range of the primary key.
					pkScan := strings.HasPrefix(line, "SCAN checkouts USING ") && strings.HasSuffix(line, "INDEX "+pk)
					// The review index is partial: it holds the flagged
					// orders only, newest first.
					if line == "SCAN checkouts USING INDEX idx_checkouts_review" && f.Review {
						continue
					}
					nameArm := strings.Contains(sql, "lower(customer_name) LIKE ?")
					if nameArm && strings.ContainsAny(f.Q, "0123456789") {
						t.Errorf("a search with digits (an id, reference, receipt or phone) scans names")
					}
					if strings.HasPrefix(line, "SCAN") && !(pkScan && (f == OrderFilter{Limit: 50} || decided.denseFailure)) {
						t.Errorf("plan scans: %q", line)
					}
					if (strings.HasPrefix(line, "SCAN") || strings.HasPrefix(line, "SEARCH")) && !strings.Contains(line, " INDEX ") {
						t.Errorf("plan reads the table without an index: %q", line)
					}
				}
				outer := plan[0]
				if !slices.ContainsFunc(tt.outer, func(ix string) bool {
					return strings.Contains(outer, "INDEX "+ix+" ") || strings.HasSuffix(outer, "INDEX "+ix)
				}) {
					t.Errorf("the page is driven by %q, want one of the indexes %v", outer, tt.outer)
				}
				for _, ix := range tt.arms {
					if !slices.ContainsFunc(plan, func(line string) bool { return strings.Contains(line, "INDEX "+ix+" ") }) {
						t.Errorf("the search does not use %s", ix)
					}
				}
			})
		}
	}
}

// explainQueryPlan returns the detail column of EXPLAIN QUERY PLAN, one
// line per step, in the order SQLite prints them.
func explainQueryPlan(t *testing.T, s *Store, sql string, vars []any) []string {
	t.Helper()
	rows, err := s.r.Raw("EXPLAIN QUERY PLAN "+sql, vars...).Rows()
	if err != nil {
		t.Fatalf("EXPLAIN QUERY PLAN %s: %v", sql, err)
	}
	defer rows.Close()
	var plan []string
	for rows.Next() {
		var id, parent, notUsed int
		var detail string
		if err := rows.Scan(&id, &parent, &notUsed, &detail); err != nil {
			t.Fatalf("reading the plan: %v", err)
		}
		plan = append(plan, detail)
	}
	if err := rows.Err(); err != nil {
		t.Fatalf("reading the plan: %v", err)
	}
	if len(plan) == 0 {
		t.Fatalf("empty plan for %s", sql)
	}
	return plan
}

// TestListQueryIsWhatListCheckoutsRuns keeps the plan test honest: the
// dry-run SQL of listQuery, run by hand, returns the rows ListCheckouts
// returns.
func TestListQueryIsWhatListCheckoutsRuns(t *testing.T) {
	s, clk := newTestEnv(t)
	fx := newListFixture(t, s, clk)
	f := OrderFilter{Status: StatusPaid, Q: "254700000001", Limit: 50}
	var rows []Checkout
	stmt := listQuery(s.r.Session(&gorm.Session{DryRun: true}), f, s.Now(), listPlan{nameScan: NameScan}).Find(&rows).Statement
	var byHand []Checkout
	if err := s.r.Raw(stmt.SQL.String(), stmt.Vars...).Scan(&byHand).Error; err != nil {
		t.Fatal(err)
	}
	listed, _, err := s.ListCheckouts(context.Background(), f)
	if err != nil {
		t.Fatal(err)
	}
	if want := []string{fx.c4.ID}; !slices.Equal(checkoutIDs(byHand), want) || !slices.Equal(checkoutIDs(listed), want) {
		t.Errorf("by hand %v, ListCheckouts %v, want %v", checkoutIDs(byHand), checkoutIDs(listed), want)
	}
	// SQLite's dialect writes the limit into the SQL; PostgreSQL's binds it
	// as the last parameter.
	limit := fmt.Sprintf("LIMIT %d", f.Limit+1)
	if n := len(stmt.Vars); n > 0 && strings.HasSuffix(stmt.SQL.String(), fmt.Sprintf("LIMIT $%d", n)) {
		limit = fmt.Sprintf("LIMIT %v", stmt.Vars[n-1])
	}
	if limit != fmt.Sprintf("LIMIT %d", f.Limit+1) || !strings.Contains(stmt.SQL.String(), "LIMIT") {
		t.Errorf("listQuery SQL %q does not ask for one row more than a page", stmt.SQL.String())
	}
}

// TestAttemptIndexesKeyedByStatusAreTheReconcilersAndPartialOnes keeps the
// payment path's cost in view: every index whose key holds attempts.status
// is rewritten at each status change of an attempt (an IPN's), so besides
// the reconciler's (status, next_check_at, ...) the admin's indexes on the
// status are partial ones, which an attempt enters once, when it fails.
func TestAttemptIndexesKeyedByStatusAreTheReconcilersAndPartialOnes(t *testing.T) {
	storetest.SQLiteOnly(t, "reads SQLite's index lists")
	s, _ := newTestEnv(t)
	var indexes []struct {
		Name    string
		Partial bool
	}
	if err := s.r.Raw(`SELECT name, partial FROM pragma_index_list('attempts')`).Scan(&indexes).Error; err != nil {
		t.Fatal(err)
	}
	var keyed []string
	for _, ix := range indexes {
		var cols []string
		if err := s.r.Raw(`SELECT name FROM pragma_index_info(?)`, ix.Name).Scan(&cols).Error; err != nil {
			t.Fatal(err)
		}
		if slices.Contains(cols, "status") && !ix.Partial {
			keyed = append(keyed, ix.Name)
		}
	}
	if want := []string{"idx_attempts_status_next_check"}; !slices.Equal(keyed, want) {
		t.Errorf("attempts' full indexes keyed by status = %v, want %v", keyed, want)
	}
}
