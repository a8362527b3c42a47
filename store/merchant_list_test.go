package store

import (
	"context"
	"errors"
	"slices"
	"strings"
	"testing"
	"time"

	"gorm.io/gorm"

	"checkout/store/storetest"
)

const otherMerchantID = "m_other"

// merchantListFixture is newListFixture's seven checkouts of the test
// merchant, with checkouts of another merchant between them (same
// statuses, one with the same reference as the test merchant's c1).
func merchantListFixture(t *testing.T, s *Store, clk *fakeClock) (listFixture, []*Checkout) {
	t.Helper()
	if _, err := s.EnsureMerchant(context.Background(), otherMerchantID, "Other shop", "sk_test_other_0123456789"); err != nil {
		t.Fatalf("EnsureMerchant: %v", err)
	}
	other := func(ref string) *Checkout {
		clk.Advance(time.Millisecond)
		return newCheckout(t, s, func(co *Checkout) { co.MerchantID, co.Reference = otherMerchantID, ref })
	}
	o1 := other("INV-1001")
	f := newListFixture(t, s, clk)
	o2 := other("OTHER-2")
	return f, []*Checkout{o2, o1}
}

func TestMerchantCheckoutsListsOnlyTheMerchantsNewestFirst(t *testing.T) {
	s, clk := newTestEnv(t)
	f, others := merchantListFixture(t, s, clk)
	all := []*Checkout{f.c7, f.c6, f.c5, f.c4, f.c3, f.c2, f.c1}
	tests := []struct {
		name   string
		filter MerchantCheckoutFilter
		want   []*Checkout
		more   bool
	}{
		{"every_checkout", MerchantCheckoutFilter{MerchantID: testMerchantID}, all, false},
		{"the_other_merchants", MerchantCheckoutFilter{MerchantID: otherMerchantID}, others, false},
		{"limit", MerchantCheckoutFilter{MerchantID: testMerchantID, Limit: 3}, all[:3], true},
		{"limit_exactly_every_row", MerchantCheckoutFilter{MerchantID: testMerchantID, Limit: 7}, all, false},
		{"after", MerchantCheckoutFilter{MerchantID: testMerchantID, After: f.c4.ID}, []*Checkout{f.c3, f.c2, f.c1}, false},
		{"after_and_limit", MerchantCheckoutFilter{MerchantID: testMerchantID, After: f.c6.ID, Limit: 2},
			[]*Checkout{f.c5, f.c4}, true},
		{"after_the_oldest", MerchantCheckoutFilter{MerchantID: testMerchantID, After: f.c1.ID}, nil, false},
		{"status_open", MerchantCheckoutFilter{MerchantID: testMerchantID, Status: StatusOpen},
			[]*Checkout{f.c7, f.c6, f.c1}, false},
		{"status_paid", MerchantCheckoutFilter{MerchantID: testMerchantID, Status: StatusPaid},
			[]*Checkout{f.c4, f.c3}, false},
		{"status_with_no_rows", MerchantCheckoutFilter{MerchantID: testMerchantID, Status: StatusReversed}, nil, false},
		{"status_after", MerchantCheckoutFilter{MerchantID: testMerchantID, Status: StatusOpen, After: f.c6.ID},
			[]*Checkout{f.c1}, false},
		{"status_open_of_the_other", MerchantCheckoutFilter{MerchantID: otherMerchantID, Status: StatusOpen}, others, false},
		{"reference", MerchantCheckoutFilter{MerchantID: testMerchantID, Reference: "INV-1001"}, []*Checkout{f.c1}, false},
		{"reference_of_the_other", MerchantCheckoutFilter{MerchantID: otherMerchantID, Reference: "INV-1001"},
			[]*Checkout{others[1]}, false},
		{"reference_exact_not_a_prefix", MerchantCheckoutFilter{MerchantID: testMerchantID, Reference: "INV-100"}, nil, false},
		{"reference_another_merchant_uses", MerchantCheckoutFilter{MerchantID: testMerchantID, Reference: "OTHER-2"}, nil, false},
		{"reference_and_status", MerchantCheckoutFilter{MerchantID: testMerchantID, Reference: "INV-1004", Status: StatusPaid},
			[]*Checkout{f.c4}, false},
		{"reference_and_another_status", MerchantCheckoutFilter{MerchantID: testMerchantID, Reference: "INV-1004", Status: StatusOpen},
			nil, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, more, err := s.MerchantCheckouts(context.Background(), tt.filter)
			if err != nil {
				t.Fatalf("MerchantCheckouts: %v", err)
			}
			if more != tt.more {
				t.Errorf("more = %v, want %v", more, tt.more)
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

func TestMerchantCheckoutsRefusesACursorThatIsNotTheMerchants(t *testing.T) {
	s, clk := newTestEnv(t)
	f, others := merchantListFixture(t, s, clk)
	for name, after := range map[string]string{
		"another_merchants": others[0].ID,
		"unknown":           NewID("chk", s.Now()),
		"not_an_id":         "x",
	} {
		t.Run(name, func(t *testing.T) {
			rows, _, err := s.MerchantCheckouts(context.Background(), MerchantCheckoutFilter{MerchantID: testMerchantID, After: after})
			if !errors.Is(err, ErrNotFound) {
				t.Fatalf("err = %v (rows %v), want ErrNotFound", err, checkoutIDs(rows))
			}
		})
	}
	// The other merchant's cursor on the merchant's own checkout, too.
	if _, _, err := s.MerchantCheckouts(context.Background(),
		MerchantCheckoutFilter{MerchantID: otherMerchantID, After: f.c7.ID}); !errors.Is(err, ErrNotFound) {
		t.Errorf("the other merchant starting after the test merchant's checkout: err = %v, want ErrNotFound", err)
	}
	if _, _, err := s.MerchantCheckouts(context.Background(), MerchantCheckoutFilter{}); err == nil {
		t.Errorf("no merchant: listed, want an error")
	}
}

func TestMerchantCheckoutsPagesReturnEveryRowOnce(t *testing.T) {
	s, clk := newTestEnv(t)
	if _, err := s.EnsureMerchant(context.Background(), otherMerchantID, "Other shop", "sk_test_other_0123456789"); err != nil {
		t.Fatal(err)
	}
	var mine []string
	for i := range 45 {
		clk.Advance(time.Millisecond)
		if i%4 == 0 {
			newCheckout(t, s, func(co *Checkout) { co.MerchantID = otherMerchantID })
			continue
		}
		mine = append(mine, newCheckout(t, s, nil).ID)
	}
	slices.Reverse(mine)
	var got []string
	var sizes []int
	f := MerchantCheckoutFilter{MerchantID: testMerchantID, Limit: 10}
	for page := 1; ; page++ {
		if page > 10 {
			t.Fatalf("still paging after %d pages", page-1)
		}
		rows, more, err := s.MerchantCheckouts(context.Background(), f)
		if err != nil {
			t.Fatalf("page %d: %v", page, err)
		}
		sizes = append(sizes, len(rows))
		got = append(got, checkoutIDs(rows)...)
		if !more {
			break
		}
		f.After = rows[len(rows)-1].ID
	}
	if want := []int{10, 10, 10, 3}; !slices.Equal(sizes, want) {
		t.Errorf("page sizes = %v, want %v", sizes, want)
	}
	if !slices.Equal(got, mine) {
		t.Errorf("rows over all pages:\n got %v\nwant %v", got, mine)
	}
}

// TestMerchantListQueryPlansUseIndexesWithoutSorting asks the database how
// it runs the exact SQL MerchantCheckouts sends (merchantListQuery in
// dry-run mode): by an index that gives the order, never a sort or a
// walk of the whole table. On PostgreSQL, which plans by statistics, over
// 20,000 analysed checkouts of two merchants (see seedPostgres).
func TestMerchantListQueryPlansUseIndexesWithoutSorting(t *testing.T) {
	s, clk := newTestEnv(t)
	if _, err := s.EnsureMerchant(context.Background(), otherMerchantID, "Other shop", "sk_test_other_0123456789"); err != nil {
		t.Fatal(err)
	}
	clk.Advance(time.Second)
	seed := newCheckout(t, s, nil)
	if storetest.Postgres() {
		seedPostgres(t, s, seed.ID)
	}
	const m = testMerchantID
	tests := []struct {
		name   string
		filter MerchantCheckoutFilter
		// want lists the indexes the planner may drive the page with.
		want []string
	}{
		{"merchant", MerchantCheckoutFilter{MerchantID: m}, []string{"idx_checkouts_merchant_id"}},
		{"status", MerchantCheckoutFilter{MerchantID: m, Status: StatusPaid},
			[]string{"idx_checkouts_merchant_id", "idx_checkouts_status_id", "idx_checkouts_merchant_reference"}},
		{"reference", MerchantCheckoutFilter{MerchantID: m, Reference: "INV-1001"},
			[]string{"idx_checkouts_merchant_reference", "idx_checkouts_reference"}},
		{"status_reference", MerchantCheckoutFilter{MerchantID: m, Status: StatusPaid, Reference: "INV-1001"},
			[]string{"idx_checkouts_merchant_reference", "idx_checkouts_reference"}},
	}
	for _, tt := range tests {
		for _, after := range []string{"", "chk_01jp9zz0000000000000000000"} {
			name := tt.name
			if after != "" {
				name += "_after"
			}
			t.Run(name, func(t *testing.T) {
				f := tt.filter
				f.After, f.Limit = after, 20
				var rows []Checkout
				stmt := merchantListQuery(s.r.Session(&gorm.Session{DryRun: true}), f).Find(&rows).Statement
				sql := stmt.SQL.String()
				var plan []string
				if storetest.Postgres() {
					plan = explainPostgres(t, s, sql, stmt.Vars)
				} else {
					plan = explainQueryPlan(t, s, sql, stmt.Vars)
				}
				t.Logf("%s\n%s", sql, strings.Join(plan, "\n"))
				text := strings.Join(plan, "\n")
				for _, bad := range []string{"TEMP B-TREE", "Sort", "Seq Scan", "SCAN checkouts"} {
					// PostgreSQL may answer a small merchant's status by
					// ANDing the merchant's and the status's indexes and
					// sorting what both hold: the rows the page may show,
					// no more (a large merchant's walks its index).
					if bad == "Sort" && f.Status != "" && strings.Contains(text, "BitmapAnd") {
						continue
					}
					if strings.Contains(text, bad) {
						t.Errorf("plan has %q", bad)
					}
				}
				if !slices.ContainsFunc(tt.want, func(ix string) bool { return strings.Contains(text, ix) }) {
					t.Errorf("the page is not driven by one of the indexes %v", tt.want)
				}
			})
		}
	}
}

// seedPostgres copies the checkout seed 20,000 times (one in a hundred
// the test merchant's, the rest the other's, of every status) and
// analyses the table: PostgreSQL plans by statistics, and without them its
// choice says nothing about a real table. The case that matters is a small
// merchant in a large table: walking the primary key would read every
// other merchant's checkouts.
func seedPostgres(t *testing.T, s *Store, seed string) {
	t.Helper()
	err := s.w.Transaction(func(tx *gorm.DB) error {
		for _, stmt := range []struct {
			sql  string
			args []any
		}{
			{`CREATE TEMP TABLE seed_rows ON COMMIT DROP AS
				SELECT c.*, g AS n FROM checkouts c, generate_series(1, 20000) g WHERE c.id = ?`, []any{seed}},
			{`UPDATE seed_rows SET id = 'chk_' || lpad(n::text, 26, '0'), reference = 'R-' || n,
				merchant_id = CASE WHEN n % 100 = 0 THEN ? ELSE ? END,
				status = (ARRAY['open','pending','paid','expired','cancelled','reversed'])[1 + n % 6]`,
				[]any{testMerchantID, otherMerchantID}},
			{`ALTER TABLE seed_rows DROP COLUMN n`, nil},
			{`INSERT INTO checkouts SELECT * FROM seed_rows`, nil},
		} {
			if err := tx.Exec(stmt.sql, stmt.args...).Error; err != nil {
				return err
			}
		}
		return nil
	})
	if err == nil {
		err = s.w.Exec(`ANALYZE checkouts`).Error
	}
	if err != nil {
		t.Fatalf("seeding checkouts: %v", err)
	}
}

// explainPostgres returns PostgreSQL's EXPLAIN of sql, one line per row.
func explainPostgres(t *testing.T, s *Store, sql string, vars []any) []string {
	t.Helper()
	rows, err := s.w.Raw("EXPLAIN "+sql, vars...).Rows()
	if err != nil {
		t.Fatalf("EXPLAIN %s: %v", sql, err)
	}
	defer rows.Close()
	var plan []string
	for rows.Next() {
		var line string
		if err := rows.Scan(&line); err != nil {
			t.Fatalf("reading the plan: %v", err)
		}
		plan = append(plan, line)
	}
	if err := rows.Err(); err != nil {
		t.Fatalf("reading the plan: %v", err)
	}
	if len(plan) == 0 {
		t.Fatalf("empty plan for %s", sql)
	}
	return plan
}
