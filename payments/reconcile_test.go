package payments

import (
	"context"
	"errors"
	"sync"
	"testing"
	"time"

	"checkout/gateway"
	"checkout/gateway/pesapal"
	"checkout/store"
	"checkout/store/storetest"
)

func TestReconcilerScheduleStartsAtTheFirstDelayDoublesAndCapsAtFiveMinutes(t *testing.T) {
	cases := []struct {
		n        int
		min, max time.Duration
	}{
		{0, 60 * time.Second, 66 * time.Second},
		{1, 120 * time.Second, 132 * time.Second},
		{2, 240 * time.Second, 264 * time.Second},
		{3, 5 * time.Minute, 330 * time.Second},
		{40, 5 * time.Minute, 330 * time.Second},
	}
	for _, tc := range cases {
		for i := 0; i < 50; i++ {
			if d := nextCheck(60*time.Second, tc.n); d < tc.min || d > tc.max {
				t.Fatalf("nextCheck(60s, %d) = %v, want between %v and %v", tc.n, d, tc.min, tc.max)
			}
		}
	}
	if d := nextCheck(20*time.Second, 0); d < 20*time.Second || d > 22*time.Second {
		t.Fatalf("STK first delay = %v", d)
	}
}

type clock struct {
	mu sync.Mutex
	t  time.Time
}

// testNow is where a test's clock starts: now, to the microsecond, which
// is what the store keeps of a time (PostgreSQL stores no finer), so a time
// the service computes and the same time read back from the store agree.
func testNow() time.Time { return time.Now().UTC().Truncate(time.Microsecond) }

func (c *clock) now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return c.t }
func (c *clock) add(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(d)
}

func TestAttemptThatNeverReachedTheProviderIsFailedAndTheCheckoutReopens(t *testing.T) {
	ctx := context.Background()
	c := &clock{t: testNow()}
	st, err := store.Open(ctx, storetest.DSN(t), store.Options{Now: c.now})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	if _, err := st.EnsureMerchant(ctx, "m", "Shop", "key-0123456789abcdef0123456789"); err != nil {
		t.Fatal(err)
	}
	co := &store.Checkout{ID: store.NewID("chk", c.now()), MerchantID: "m", Reference: "r", Description: "d",
		Amount: 100, Currency: "KES", ExpiresAt: c.now().Add(time.Hour)}
	if err := st.CreateCheckout(ctx, co, "test"); err != nil {
		t.Fatal(err)
	}
	// The process stopped after recording the attempt and before the
	// provider answered: no provider reference.
	a := &store.Attempt{ID: store.NewID("pay", c.now()), CheckoutID: co.ID, Provider: ProviderPesapal, Method: MethodPesapal}
	if err := st.StartAttempt(ctx, a, time.Minute, "test"); err != nil {
		t.Fatal(err)
	}
	svc, err := New(Config{PublicURL: "http://x", Store: st, Now: c.now})
	if err != nil {
		t.Fatal(err)
	}

	c.add(2 * time.Minute)
	if err := svc.Reconcile(ctx); err != nil {
		t.Fatal(err)
	}
	if got, _ := st.Checkout(ctx, co.ID); got.Status != store.StatusPending {
		t.Fatalf("failed too early: %s", got.Status)
	}

	c.add(unstartedAfter)
	if err := svc.Reconcile(ctx); err != nil {
		t.Fatal(err)
	}
	got, err := st.Checkout(ctx, co.ID)
	if err != nil {
		t.Fatal(err)
	}
	if got.Status != store.StatusOpen || got.Message == "" {
		t.Fatalf("checkout = %s %q, want open with a message", got.Status, got.Message)
	}
	att, err := st.Attempt(ctx, a.ID)
	if err != nil {
		t.Fatal(err)
	}
	if att.Status != store.AttemptFailed || att.NextCheckAt != nil {
		t.Fatalf("attempt = %s next %v", att.Status, att.NextCheckAt)
	}
}

func TestExpiryQueriesAPendingAttemptOneLastTimeBeforeExpiring(t *testing.T) {
	ctx := context.Background()
	c := &clock{t: testNow()}
	st, err := store.Open(ctx, storetest.DSN(t), store.Options{Now: c.now})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	if _, err := st.EnsureMerchant(ctx, "m", "Shop", "key-0123456789abcdef0123456789"); err != nil {
		t.Fatal(err)
	}
	mk := func(ref string) (*store.Checkout, *store.Attempt) {
		co := &store.Checkout{ID: store.NewID("chk", c.now()), MerchantID: "m", Reference: ref, Description: "d",
			Amount: 100, Currency: "KES", ExpiresAt: c.now().Add(15 * time.Minute)}
		if err := st.CreateCheckout(ctx, co, "test"); err != nil {
			t.Fatal(err)
		}
		a := &store.Attempt{ID: store.NewID("pay", c.now()), CheckoutID: co.ID, Provider: ProviderPesapal, Method: MethodPesapal}
		if err := st.StartAttempt(ctx, a, time.Hour, "test"); err != nil {
			t.Fatal(err)
		}
		if err := st.AttemptStarted(ctx, a.ID, "trk-"+ref, "http://pay", ""); err != nil {
			t.Fatal(err)
		}
		return co, a
	}
	paidCo, paidA := mk("paid-late")
	idleCo, _ := mk("never-paid")
	fake := &scripted{results: map[string]gateway.Result{
		"trk-paid-late":  {Status: gateway.StatusSucceeded, Amount: 100, HasAmount: true, Currency: "KES", Reference: paidA.ID, Receipt: "R1"},
		"trk-never-paid": {Status: gateway.StatusPending},
	}}
	svc, err := New(Config{PublicURL: "http://x", Store: st, Now: c.now, Pesapal: fake,
		PesapalIPN: func(context.Context) (string, error) { return "ipn-1", nil }})
	if err != nil {
		t.Fatal(err)
	}

	c.add(16 * time.Minute)
	if err := svc.Reconcile(ctx); err != nil {
		t.Fatal(err)
	}
	if got, _ := st.Checkout(ctx, paidCo.ID); got.Status != store.StatusPaid || got.Receipt != "R1" {
		t.Fatalf("paid at the last query: %s %q", got.Status, got.Receipt)
	}
	if got, _ := st.Checkout(ctx, idleCo.ID); got.Status != store.StatusExpired {
		t.Fatalf("never paid: %s, want expired", got.Status)
	}
	if fake.calls["trk-never-paid"] != 1 {
		t.Fatalf("last query calls = %d, want 1", fake.calls["trk-never-paid"])
	}
}

// scripted is a provider that answers from a table.
type scripted struct {
	mu      sync.Mutex
	results map[string]gateway.Result
	calls   map[string]int
}

func (s *scripted) Confirm(_ context.Context, q gateway.Query) (gateway.Result, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.calls == nil {
		s.calls = map[string]int{}
	}
	s.calls[q.ProviderReference]++
	return s.results[q.ProviderReference], nil
}

func (s *scripted) SubmitOrderRequest(context.Context, pesapal.OrderRequest) (pesapal.OrderResponse, error) {
	return pesapal.OrderResponse{}, errors.New("not used")
}
