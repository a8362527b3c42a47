package store

import (
	"context"
	"fmt"
	"slices"
	"testing"
	"time"
)

// filterFixture holds seven checkouts over three days, created in the
// order of their names (so newest first is c3 .. a1), whose answers to
// every filter of the admin's list are worked out by hand below.
//
//	a1 (day 1) ORD-0001 Wanjiru Kamau <Wanjiru.Kamau@Example.com> 254712000001,
//	   paid by Pesapal on day 1, receipt QK7AB12CDE
//	a2 (day 1) ORD-0002 Otieno Odhiambo, PokeaPay STK from 254712000002 failed
//	   "Request cancelled by user.", open
//	b1 (day 2) ORD-0010 link plink_a, Pochipay STK from 254112000003,
//	   paid on day 3, receipt RKB99ZZ01
//	b2 (day 2) INV-77 link plink_a, PokeaPay STK from 254712000004, pending
//	   since day 2 (stale)
//	c1 (day 3) ORD-0100 Akinyi Wanjiru, PokeaPay checkout paid the wrong
//	   amount: flagged for review, attempt pending (stale), receipt SXY12345
//	   on the attempt only
//	c2 (day 3) ORD-0101 <Shop@EXAMPLE.com>, Pesapal failed "Request cancelled
//	   by user.", then Pesapal failed "Insufficient funds", open
//	c3 (day 3) ORD-0102 254712000006, PokeaPay STK pending for 2 minutes
type filterFixture struct {
	a1, a2, b1, b2, c1, c2, c3 *Checkout
	day1, day2, day3, day4     time.Time // midnights (UTC) around the days
}

func newFilterFixture(t *testing.T, s *Store, clk *fakeClock) filterFixture {
	t.Helper()
	ctx := context.Background()
	const day = 24 * time.Hour
	create := func(ref, name, email, phone, link string) *Checkout {
		clk.Advance(time.Minute)
		return newCheckout(t, s, func(co *Checkout) {
			co.Reference, co.CustomerName, co.CustomerEmail, co.CustomerPhone = ref, name, email, phone
			co.PaymentLinkID, co.ExpiresAt = link, s.Now().Add(5*day)
		})
	}
	attempt := func(co *Checkout, provider, method, phone string) *Attempt {
		clk.Advance(time.Minute)
		a := &Attempt{ID: NewID("att", s.Now()), CheckoutID: co.ID, Provider: provider, Method: method, Phone: phone}
		if err := s.StartAttempt(ctx, a, time.Minute, "test"); err != nil {
			t.Fatalf("StartAttempt: %v", err)
		}
		return a
	}
	result := func(a *Attempt, r Result, want Outcome) {
		clk.Advance(time.Minute)
		if out := applyResult(t, s, a.ID, r); out != want {
			t.Fatalf("attempt %s: outcome %s, want %s", a.ID, out, want)
		}
	}
	midnight := func(t time.Time) time.Time { return t.Truncate(day) }
	var f filterFixture
	f.day1 = midnight(s.Now())
	f.day2, f.day3, f.day4 = f.day1.Add(day), f.day1.Add(2*day), f.day1.Add(3*day)

	f.a1 = create("ORD-0001", "Wanjiru Kamau", "Wanjiru.Kamau@Example.com", "254712000001", "")
	a := attempt(f.a1, "pesapal", "pesapal", "")
	result(a, succeeded(a, "QK7AB12CDE"), OutcomePaid)
	f.a2 = create("ORD-0002", "Otieno Odhiambo", "otieno@example.com", "", "")
	result(attempt(f.a2, "pokeapay", "stk", "254712000002"), failed("Request cancelled by user."), OutcomeFailed)

	clk.Advance(day)
	f.b1 = create("ORD-0010", "", "", "254112000003", "plink_a")
	b1a := attempt(f.b1, "pochipay", "stk", "254112000003")
	f.b2 = create("INV-77", "", "", "", "plink_a")
	attempt(f.b2, "pokeapay", "stk", "254712000004")

	clk.Advance(day)
	result(b1a, succeeded(b1a, "RKB99ZZ01"), OutcomePaid)
	f.c1 = create("ORD-0100", "Akinyi Wanjiru", "", "", "")
	a = attempt(f.c1, "pokeapay", "pokeapay", "")
	wrong := succeeded(a, "SXY12345")
	wrong.Amount--
	result(a, wrong, OutcomeReview)
	// The flagged attempt keeps the provider's receipt (the checkout,
	// unpaid, has none), as the seeder's flagged orders do.
	if err := s.w.Exec("UPDATE attempts SET receipt = ? WHERE id = ?", "SXY12345", a.ID).Error; err != nil {
		t.Fatal(err)
	}
	f.c2 = create("ORD-0101", "", "Shop@EXAMPLE.com", "", "")
	result(attempt(f.c2, "pesapal", "pesapal", ""), failed("Request cancelled by user."), OutcomeFailed)
	result(attempt(f.c2, "pesapal", "pesapal", ""), failed("Insufficient funds"), OutcomeFailed)
	clk.Advance(30 * time.Minute)
	f.c3 = create("ORD-0102", "", "", "254712000006", "")
	attempt(f.c3, "pokeapay", "stk", "254712000006")
	clk.Advance(2 * time.Minute)
	if midnight(s.Now()) != f.day3 {
		t.Fatalf("the fixture ran past its third day: %s", s.Now())
	}
	return f
}

func TestListCheckoutsIssue12FiltersAloneAndCombined(t *testing.T) {
	s, clk := newTestEnv(t)
	f := newFilterFixture(t, s, clk)
	all := []*Checkout{f.c3, f.c2, f.c1, f.b2, f.b1, f.a2, f.a1}
	tests := []struct {
		name   string
		filter OrderFilter
		want   []*Checkout
	}{
		{"none", OrderFilter{}, all},
		{"provider_pesapal", OrderFilter{Provider: "pesapal"}, []*Checkout{f.c2, f.a1}},
		{"provider_pokeapay", OrderFilter{Provider: "pokeapay"}, []*Checkout{f.c3, f.c1, f.b2, f.a2}},
		{"provider_pochipay", OrderFilter{Provider: "pochipay"}, []*Checkout{f.b1}},
		{"link", OrderFilter{Link: "plink_a"}, []*Checkout{f.b2, f.b1}},
		{"link_unknown", OrderFilter{Link: "plink_b"}, nil},
		{"review", OrderFilter{Review: true}, []*Checkout{f.c1}},
		{"stale", OrderFilter{Stale: true}, []*Checkout{f.c1, f.b2}},
		{"failure", OrderFilter{Failure: "Request cancelled by user."}, []*Checkout{f.c2, f.a2}},
		{"failure_second_attempt", OrderFilter{Failure: "Insufficient funds"}, []*Checkout{f.c2}},
		{"failure_exact_text_only", OrderFilter{Failure: "Request cancelled"}, nil},
		// When the payment failed, not when its checkout was made.
		{"failure_failed_day_1", OrderFilter{Failure: "Request cancelled by user.", FailedFrom: f.day1, FailedTo: f.day2},
			[]*Checkout{f.a2}},
		{"failure_failed_from_day_3", OrderFilter{Failure: "Request cancelled by user.", FailedFrom: f.day3}, []*Checkout{f.c2}},
		{"failure_failed_to_day_2", OrderFilter{Failure: "Request cancelled by user.", FailedTo: f.day2}, []*Checkout{f.a2}},
		{"failure_failed_day_without_failures", OrderFilter{Failure: "Request cancelled by user.", FailedFrom: f.day2,
			FailedTo: f.day3}, nil},
		{"failure_failed_and_created_days", OrderFilter{Failure: "Request cancelled by user.", CreatedFrom: f.day1,
			CreatedTo: f.day2, FailedFrom: f.day3}, nil},
		{"failed_days_without_failure_are_no_condition", OrderFilter{FailedFrom: f.day4}, all},
		{"created_from", OrderFilter{CreatedFrom: f.day2}, []*Checkout{f.c3, f.c2, f.c1, f.b2, f.b1}},
		{"created_to", OrderFilter{CreatedTo: f.day2}, []*Checkout{f.a2, f.a1}},
		{"created_one_day", OrderFilter{CreatedFrom: f.day2, CreatedTo: f.day3}, []*Checkout{f.b2, f.b1}},
		{"created_day_without_orders", OrderFilter{CreatedFrom: f.day4}, nil},
		{"paid_from", OrderFilter{PaidFrom: f.day3}, []*Checkout{f.b1}},
		{"paid_to", OrderFilter{PaidTo: f.day2}, []*Checkout{f.a1}},
		{"paid_day_without_payments", OrderFilter{PaidFrom: f.day2, PaidTo: f.day3}, nil},
		{"paid_any_day", OrderFilter{PaidFrom: f.day1, PaidTo: f.day4}, []*Checkout{f.b1, f.a1}},
		// A day's paid orders are not its created ones: b1 was made on day 2.
		{"created_and_paid_day_3", OrderFilter{CreatedFrom: f.day3, PaidFrom: f.day3}, nil},
		{"link_and_status", OrderFilter{Link: "plink_a", Status: StatusPaid}, []*Checkout{f.b1}},
		{"link_and_stale", OrderFilter{Link: "plink_a", Stale: true}, []*Checkout{f.b2}},
		{"provider_and_stale", OrderFilter{Provider: "pokeapay", Stale: true}, []*Checkout{f.c1, f.b2}},
		{"review_stale_provider", OrderFilter{Review: true, Stale: true, Provider: "pokeapay"}, []*Checkout{f.c1}},
		{"failure_and_created_from", OrderFilter{Failure: "Request cancelled by user.", CreatedFrom: f.day2}, []*Checkout{f.c2}},
		{"failure_and_status_open_and_provider", OrderFilter{Failure: "Request cancelled by user.", Status: StatusOpen,
			Provider: "pokeapay"}, []*Checkout{f.a2}},
		{"stale_and_created_day", OrderFilter{Stale: true, CreatedFrom: f.day2, CreatedTo: f.day3}, []*Checkout{f.b2}},
		{"q_prefix_and_status", OrderFilter{Q: "ORD-01", Status: StatusOpen}, []*Checkout{f.c2}},
		{"q_prefix_and_created_to", OrderFilter{Q: "ORD-0", CreatedTo: f.day2}, []*Checkout{f.a2, f.a1}},
		{"method_and_provider", OrderFilter{Method: "stk", Provider: "pokeapay"}, []*Checkout{f.c3, f.b2, f.a2}},
		{"after_and_provider", OrderFilter{Provider: "pokeapay", After: f.c1.ID}, []*Checkout{f.b2, f.a2}},
		{"after_and_created_from", OrderFilter{CreatedFrom: f.day2, After: f.c1.ID}, []*Checkout{f.b2, f.b1}},
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
		})
	}
}

// TestListCheckoutsFailedDaysOnBothFailurePaths runs the failed_from and
// failed_to cases on the page query of a rare failure (the ids of its
// attempts) and of a common one (listPlan.denseFailure: each order tested
// for such an attempt).
func TestListCheckoutsFailedDaysOnBothFailurePaths(t *testing.T) {
	s, clk := newTestEnv(t)
	f := newFilterFixture(t, s, clk)
	cancelled := "Request cancelled by user."
	for _, tt := range []struct {
		name   string
		filter OrderFilter
		want   []*Checkout
	}{
		{"no_days", OrderFilter{Failure: cancelled}, []*Checkout{f.c2, f.a2}},
		{"failed_day_1", OrderFilter{Failure: cancelled, FailedFrom: f.day1, FailedTo: f.day2}, []*Checkout{f.a2}},
		{"failed_from_day_3", OrderFilter{Failure: cancelled, FailedFrom: f.day3}, []*Checkout{f.c2}},
		{"failed_to_day_2", OrderFilter{Failure: cancelled, FailedTo: f.day2}, []*Checkout{f.a2}},
		{"failed_day_2", OrderFilter{Failure: cancelled, FailedFrom: f.day2, FailedTo: f.day3}, nil},
		// c2's other failure was on day 3 too, but another message.
		{"other_message_same_order", OrderFilter{Failure: "Insufficient funds", FailedFrom: f.day1, FailedTo: f.day3}, nil},
	} {
		for _, dense := range []bool{false, true} {
			t.Run(fmt.Sprintf("%s_dense_%v", tt.name, dense), func(t *testing.T) {
				f := tt.filter
				f.Limit = 50
				var got []Checkout
				if err := listQuery(s.r, f, s.Now(), listPlan{denseFailure: dense}).Find(&got).Error; err != nil {
					t.Fatalf("list: %v", err)
				}
				if !slices.Equal(checkoutIDs(got), checkoutIDs(tt.want)) {
					t.Fatalf("ids = %v, want %v", checkoutIDs(got), checkoutIDs(tt.want))
				}
			})
		}
	}
}

func TestListCheckoutsSearchFindsPrefixesEmailsPhonesAndNames(t *testing.T) {
	s, clk := newTestEnv(t)
	f := newFilterFixture(t, s, clk)
	tests := []struct {
		name   string
		filter OrderFilter
		want   []*Checkout
	}{
		{"reference_whole", OrderFilter{Q: "ORD-0010"}, []*Checkout{f.b1}},
		{"reference_prefix", OrderFilter{Q: "ORD-00"}, []*Checkout{f.b1, f.a2, f.a1}},
		{"reference_shorter_prefix", OrderFilter{Q: "ORD-0"}, []*Checkout{f.c3, f.c2, f.c1, f.b1, f.a2, f.a1}},
		{"reference_not_a_prefix", OrderFilter{Q: "RD-00"}, nil},
		{"reference_case_sensitive", OrderFilter{Q: "ord-00"}, nil},
		{"receipt_whole", OrderFilter{Q: "QK7AB12CDE"}, []*Checkout{f.a1}},
		{"receipt_prefix", OrderFilter{Q: "QK7A"}, []*Checkout{f.a1}},
		{"receipt_not_a_prefix", OrderFilter{Q: "K7AB12"}, nil},
		{"receipt_paid_later", OrderFilter{Q: "RKB9"}, []*Checkout{f.b1}},
		{"attempt_receipt_prefix", OrderFilter{Q: "SXY1"}, []*Checkout{f.c1}},
		{"id_whole", OrderFilter{Q: f.b2.ID}, []*Checkout{f.b2}},
		{"id_prefix", OrderFilter{Q: f.b2.ID[:len(f.b2.ID)-6]}, []*Checkout{f.b2}},
		{"id_common_prefix", OrderFilter{Q: "chk_"}, []*Checkout{f.c3, f.c2, f.c1, f.b2, f.b1, f.a2, f.a1}},
		{"id_not_a_prefix", OrderFilter{Q: f.b2.ID[4:]}, nil},
		{"email_as_stored", OrderFilter{Q: "Wanjiru.Kamau@Example.com"}, []*Checkout{f.a1}},
		{"email_lower_case", OrderFilter{Q: "wanjiru.kamau@example.com"}, []*Checkout{f.a1}},
		{"email_upper_case_prefix", OrderFilter{Q: "WANJIRU.K"}, []*Checkout{f.a1}},
		{"email_prefix_other_case", OrderFilter{Q: "shop@example"}, []*Checkout{f.c2}},
		{"email_not_a_prefix", OrderFilter{Q: "example.com"}, nil},
		{"customer_phone", OrderFilter{Q: "0712000001", Phone: "254712000001"}, []*Checkout{f.a1}},
		{"attempt_phone", OrderFilter{Q: "0712000004", Phone: "254712000004"}, []*Checkout{f.b2}},
		{"phone_on_checkout_and_attempt_once", OrderFilter{Q: "254112000003", Phone: "254112000003"}, []*Checkout{f.b1}},
		{"phone_of_a_failed_attempt", OrderFilter{Q: "712000002", Phone: "254712000002"}, []*Checkout{f.a2}},
		{"phone_part_is_not_a_phone", OrderFilter{Q: "2547120000"}, nil},
		{"name_contains_first_and_last", OrderFilter{Q: "wanjiru"}, []*Checkout{f.c1, f.a1}},
		{"name_contains_any_case", OrderFilter{Q: "ANJIR"}, []*Checkout{f.c1, f.a1}},
		{"name_contains_with_space", OrderFilter{Q: "otieno odh"}, []*Checkout{f.a2}},
		{"name_and_email_once", OrderFilter{Q: "otieno"}, []*Checkout{f.a2}},
		{"name_like_wildcards_are_text", OrderFilter{Q: "%"}, nil},
		{"name_nothing", OrderFilter{Q: "zz"}, nil},
		{"name_and_status", OrderFilter{Q: "wanjiru", Status: StatusPaid}, []*Checkout{f.a1}},
		{"name_after", OrderFilter{Q: "wanjiru", After: f.c1.ID}, []*Checkout{f.a1}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, _, err := s.ListCheckouts(context.Background(), tt.filter)
			if err != nil {
				t.Fatalf("ListCheckouts: %v", err)
			}
			if !slices.Equal(checkoutIDs(got), checkoutIDs(tt.want)) {
				t.Fatalf("ids = %v, want %v", checkoutIDs(got), checkoutIDs(tt.want))
			}
		})
	}
}

// TestListCheckoutsSearchBounds: a prefix of more orders than the cap is
// left out of the search (the page says which), a failure of more
// attempts than the cap gives the same answer by another plan, and the
// customer name is looked for only in the nameScan orders below the
// page's start.
func TestListCheckoutsSearchBounds(t *testing.T) {
	s, clk := newTestEnv(t)
	f := newFilterFixture(t, s, clk)
	s.search = searchLimits{cap: 6, nameScan: 3}
	ctx := context.Background()

	// Seven ids start with chk_: the id lookup is left out, and said so.
	p, err := s.ListOrders(ctx, OrderFilter{Q: "chk_"})
	if err != nil || len(p.Rows) != 0 || !slices.Equal(p.Broad, []string{"id"}) {
		t.Errorf("7 ids match with a cap of 6: rows %v, broad %v, %v; want none and [id]", checkoutIDs(p.Rows), p.Broad, err)
	}
	// ORD-0 and an email's start: the references are under the cap, the
	// emails too; every arm kept.
	p, err = s.ListOrders(ctx, OrderFilter{Q: "ORD-0"})
	if err != nil || p.Broad != nil || !slices.Equal(checkoutIDs(p.Rows), checkoutIDs([]*Checkout{f.c3, f.c2, f.c1, f.b1, f.a2, f.a1})) {
		t.Errorf("6 references match with a cap of 6: %v, broad %v, %v", checkoutIDs(p.Rows), p.Broad, err)
	}
	// A failure of more attempts than the cap is tested row by row: the
	// same answer.
	s.search.cap = 1
	p, err = s.ListOrders(ctx, OrderFilter{Failure: "Request cancelled by user."})
	if err != nil || !slices.Equal(checkoutIDs(p.Rows), []string{f.c2.ID, f.a2.ID}) {
		t.Errorf("a common failure: %v, %v; want [c2 a2]", checkoutIDs(p.Rows), err)
	}
	p, err = s.ListOrders(ctx, OrderFilter{Failure: "Request cancelled by user.", CreatedFrom: f.day2, Provider: "pesapal"})
	if err != nil || !slices.Equal(checkoutIDs(p.Rows), []string{f.c2.ID}) {
		t.Errorf("a common failure from day 2 at Pesapal: %v, %v; want [c2]", checkoutIDs(p.Rows), err)
	}
	s.search.cap = 6
	// With windows of 3 orders a name search pages through them: c3, c2,
	// c1 first (c1's name), then b2, b1, a2, then a1 alone (no window: fewer
	// than 3 orders left). "anjiru" is no email's start, so only names
	// match it.
	for _, tc := range []struct {
		q     string
		pages [][]string
	}{
		{"anjiru", [][]string{{f.c1.ID}, nil, {f.a1.ID}}},
		{"kamau", [][]string{nil, nil, {f.a1.ID}}},
		{"odhiambo", [][]string{nil, {f.a2.ID}, nil}},
	} {
		var pages [][]string
		after := ""
		for range 5 {
			p, err := s.ListOrders(ctx, OrderFilter{Q: tc.q, After: after})
			if err != nil {
				t.Fatal(err)
			}
			pages = append(pages, checkoutIDs(p.Rows))
			if !p.More {
				break
			}
			if !p.NameWindow || p.Next == "" {
				t.Fatalf("%s: more without a window or a next start: %+v", tc.q, p)
			}
			after = p.Next
		}
		if !slices.EqualFunc(pages, tc.pages, slices.Equal[[]string]) {
			t.Errorf("%s: pages %v, want %v", tc.q, pages, tc.pages)
		}
	}
}
