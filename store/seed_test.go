package store

import (
	"context"
	"errors"
	"regexp"
	"slices"
	"testing"
	"time"
)

// indexNames lists the database's named indexes, sorted.
func indexNames(t *testing.T, s *Store) []string {
	t.Helper()
	var names []string
	q := `SELECT name FROM sqlite_master WHERE type = 'index' ORDER BY name`
	if s.postgres() {
		q = `SELECT indexname FROM pg_indexes WHERE schemaname = current_schema() ORDER BY indexname`
	}
	if err := s.r.Raw(q).Scan(&names).Error; err != nil {
		t.Fatal(err)
	}
	return names
}

func seedOpts(n int, seed uint64) SeedOptions {
	return SeedOptions{Orders: n, MerchantID: testMerchantID, Seed: seed, End: t0, Span: 90 * 24 * time.Hour}
}

var (
	phonePattern = regexp.MustCompile(`^254[17][0-9]{8}$`)
	mpesaPattern = regexp.MustCompile(`^[A-Z][A-Z0-9]{9}$`)
)

// TestSeedWritesOrdersAsTheAppWould checks the seeded rows against the
// rules the app keeps: time-ordered ids, statuses reached by allowed
// transitions, paid orders with their receipt and succeeded attempt,
// Kenyan phone numbers, nothing left for the reconciler, every index back.
func TestSeedWritesOrdersAsTheAppWould(t *testing.T) {
	s, _ := newTestEnv(t)
	ctx := context.Background()
	before := indexNames(t, s)
	const n = 3000
	var progress []int
	o := seedOpts(n, 7)
	o.Progress = func(done int) { progress = append(progress, done) }
	res, err := s.Seed(ctx, o)
	if err != nil {
		t.Fatalf("Seed: %v", err)
	}
	if res.Orders != n || res.Attempts == 0 || res.Events < n {
		t.Fatalf("Seed result %+v", res)
	}
	if len(progress) == 0 || progress[len(progress)-1] != n {
		t.Errorf("progress calls %v, want them to end at %d", progress, n)
	}
	if got := indexNames(t, s); !slices.Equal(got, before) {
		t.Errorf("indexes after seeding %v, want %v", got, before)
	}

	var cos []Checkout
	if err := s.r.Order("id").Find(&cos).Error; err != nil {
		t.Fatal(err)
	}
	var attempts []Attempt
	if err := s.r.Find(&attempts).Error; err != nil {
		t.Fatal(err)
	}
	var events []Event
	if err := s.r.Order("id").Find(&events).Error; err != nil {
		t.Fatal(err)
	}
	if len(cos) != n || len(attempts) != res.Attempts || len(events) != res.Events {
		t.Fatalf("rows: %d checkouts, %d attempts, %d events; Seed said %+v", len(cos), len(attempts), len(events), res)
	}
	byCheckout := map[string][]Attempt{}
	for _, a := range attempts {
		byCheckout[a.CheckoutID] = append(byCheckout[a.CheckoutID], a)
		if a.NextCheckAt != nil {
			t.Errorf("attempt %s has a check planned at %v: the reconciler would poll it", a.ID, a.NextCheckAt)
		}
		if a.Method == "stk" && !phonePattern.MatchString(a.Phone) {
			t.Errorf("stk attempt %s phone %q", a.ID, a.Phone)
		}
		if a.Method == "stk" && a.Receipt != "" && !mpesaPattern.MatchString(a.Receipt) {
			t.Errorf("stk attempt %s receipt %q is not an M-Pesa code", a.ID, a.Receipt)
		}
		if a.Amount <= 0 || a.Currency != "KES" {
			t.Errorf("attempt %s amount %d %s", a.ID, a.Amount, a.Currency)
		}
	}
	timeline := map[string][]Event{}
	for _, ev := range events {
		timeline[ev.CheckoutID] = append(timeline[ev.CheckoutID], ev)
	}

	seen := map[Status]int{}
	for i, co := range cos {
		seen[co.Status]++
		if i > 0 && co.CreatedAt.Before(cos[i-1].CreatedAt) {
			t.Errorf("%s was created before %s but sorts after it", co.ID, cos[i-1].ID)
		}
		if ms := decodeMillis(t, co.ID[len("chk_"):]); ms != co.CreatedAt.UnixMilli() {
			t.Errorf("%s encodes %d ms, created_at is %d", co.ID, ms, co.CreatedAt.UnixMilli())
		}
		if co.CreatedAt.Before(t0.Add(-90*24*time.Hour)) || co.CreatedAt.After(t0) {
			t.Errorf("%s created at %v, outside the 90 days before %v", co.ID, co.CreatedAt, t0)
		}
		if co.Amount <= 0 || co.Amount%100 != 0 {
			t.Errorf("%s amount %d cents, want whole shillings", co.ID, co.Amount)
		}
		if co.CustomerPhone != "" && !phonePattern.MatchString(co.CustomerPhone) {
			t.Errorf("%s customer phone %q", co.ID, co.CustomerPhone)
		}
		if (co.Status == StatusOpen || co.Status == StatusPending) && co.ExpiresAt.Before(t0) {
			t.Errorf("%s is %s past its deadline %v", co.ID, co.Status, co.ExpiresAt)
		}

		// The timeline starts with "created" and its transitions lead,
		// each allowed, to the checkout's status.
		tl := timeline[co.ID]
		if len(tl) == 0 || tl[0].Kind != EventCreated {
			t.Errorf("%s timeline does not start with created: %+v", co.ID, tl)
			continue
		}
		st := StatusOpen
		for _, ev := range tl[1:] {
			if ev.Kind != EventTransition {
				continue
			}
			if Status(ev.FromStatus) != st || !CanTransition(st, Status(ev.ToStatus)) {
				t.Errorf("%s: transition %s -> %s from status %s", co.ID, ev.FromStatus, ev.ToStatus, st)
			}
			st = Status(ev.ToStatus)
		}
		if st != co.Status {
			t.Errorf("%s: transitions end at %s, the checkout is %s", co.ID, st, co.Status)
		}

		switch co.Status {
		case StatusPaid, StatusReversed:
			i := slices.IndexFunc(byCheckout[co.ID], func(a Attempt) bool { return a.Status == AttemptSucceeded })
			if i < 0 || co.PaidAt == nil || co.Receipt == "" || byCheckout[co.ID][i].Receipt != co.Receipt {
				t.Errorf("%s is %s with paid_at %v, receipt %q, attempts %+v", co.ID, co.Status, co.PaidAt, co.Receipt, byCheckout[co.ID])
			}
		case StatusPending:
			if !slices.ContainsFunc(byCheckout[co.ID], func(a Attempt) bool { return a.Status == AttemptPending }) {
				t.Errorf("%s is pending with no pending attempt", co.ID)
			}
		default:
			if co.PaidAt != nil || co.Receipt != "" {
				t.Errorf("%s is %s with paid_at %v and receipt %q", co.ID, co.Status, co.PaidAt, co.Receipt)
			}
		}
	}
	if reviewed := slices.ContainsFunc(cos, func(co Checkout) bool {
		return co.Review && slices.ContainsFunc(byCheckout[co.ID], func(a Attempt) bool { return a.Review && a.ReviewReason != "" })
	}); !reviewed {
		t.Errorf("no order flagged for review among %d", n)
	}
	for _, st := range Statuses {
		if seen[st] == 0 {
			t.Errorf("no %s order among %d: %v", st, n, seen)
		}
	}
	if seen[StatusPaid] < n/2 {
		t.Errorf("%d paid of %d, want most: %v", seen[StatusPaid], n, seen)
	}

	// Seeded orders are found the way the admin finds them.
	var phoneOrder Checkout
	if err := s.r.Where("customer_phone <> '' AND receipt <> ''").Take(&phoneOrder).Error; err != nil {
		t.Fatal(err)
	}
	for _, f := range []OrderFilter{{Q: phoneOrder.Receipt}, {Q: phoneOrder.Reference}, {Q: phoneOrder.CustomerPhone}} {
		rows, _, err := s.ListCheckouts(ctx, f)
		if err != nil {
			t.Fatal(err)
		}
		if !slices.Contains(checkoutIDs(rows), phoneOrder.ID) {
			t.Errorf("search %q does not find %s", f.Q, phoneOrder.ID)
		}
	}
}

func TestSeedSameSeedAndEndGiveTheSameOrders(t *testing.T) {
	ctx := context.Background()
	rows := func(seed uint64) []Checkout {
		s, _ := newTestEnv(t)
		if _, err := s.Seed(ctx, seedOpts(200, seed)); err != nil {
			t.Fatal(err)
		}
		var cos []Checkout
		if err := s.r.Order("id").Find(&cos).Error; err != nil {
			t.Fatal(err)
		}
		return cos
	}
	a, b, other := rows(1), rows(1), rows(2)
	if len(a) != 200 || !slices.EqualFunc(a, b, func(x, y Checkout) bool {
		return x.ID == y.ID && x.Reference == y.Reference && x.Amount == y.Amount && x.Status == y.Status && x.CustomerPhone == y.CustomerPhone
	}) {
		t.Errorf("two runs with seed 1 differ")
	}
	if slices.Equal(checkoutIDs(a), checkoutIDs(other)) {
		t.Errorf("seeds 1 and 2 gave the same ids")
	}
}

// TestSeedIntoADatabaseWithOrdersAddsToThem: a second run continues the
// references (unique per merchant) and keeps the indexes.
func TestSeedIntoADatabaseWithOrdersAddsToThem(t *testing.T) {
	s, _ := newTestEnv(t)
	ctx := context.Background()
	before := indexNames(t, s)
	if _, err := s.Seed(ctx, seedOpts(300, 1)); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Seed(ctx, seedOpts(200, 1)); err != nil {
		t.Fatalf("second Seed: %v", err)
	}
	var n, refs int64
	s.r.Model(&Checkout{}).Count(&n)
	s.r.Raw("SELECT COUNT(DISTINCT reference) FROM checkouts").Scan(&refs)
	if n != 500 || refs != 500 {
		t.Errorf("%d checkouts with %d references, want 500 and 500", n, refs)
	}
	if got := indexNames(t, s); !slices.Equal(got, before) {
		t.Errorf("indexes %v, want %v", got, before)
	}
}

// TestSeedStoppedHalfWayLeavesTheDatabaseAsItWas: the one transaction of
// a seed into an empty database rolls back, indexes included.
func TestSeedStoppedHalfWayLeavesTheDatabaseAsItWas(t *testing.T) {
	s, _ := newTestEnv(t)
	before := indexNames(t, s)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	o := seedOpts(seedBatchOrders+1, 1)
	o.Progress = func(int) { cancel() } // after the first batch
	if _, err := s.Seed(ctx, o); !errors.Is(err, context.Canceled) {
		t.Fatalf("Seed = %v, want context.Canceled", err)
	}
	var n int64
	s.r.Model(&Checkout{}).Count(&n)
	if n != 0 {
		t.Errorf("%d checkouts after a stopped seed, want 0", n)
	}
	if got := indexNames(t, s); !slices.Equal(got, before) {
		t.Errorf("indexes %v, want %v", got, before)
	}
}

func TestSeedNeedsTheMerchant(t *testing.T) {
	s, _ := newTestEnv(t)
	o := seedOpts(10, 1)
	o.MerchantID = "nobody"
	if _, err := s.Seed(context.Background(), o); !errors.Is(err, ErrNotFound) {
		t.Errorf("Seed for an unknown merchant = %v, want ErrNotFound", err)
	}
}
