package payments

import (
	"context"
	"errors"
	"fmt"
	"reflect"
	"testing"
	"time"

	"checkout/store"
	"checkout/store/storetest"
)

// dashEnv is a service on a new database whose clock the test sets.
type dashEnv struct {
	t   *testing.T
	svc *Service
	clk *clock
	n   int
}

func newDashEnv(t *testing.T) *dashEnv {
	t.Helper()
	ctx := context.Background()
	c := &clock{t: time.Date(2026, 3, 1, 0, 0, 0, 0, time.UTC)}
	st, err := store.Open(ctx, storetest.DSN(t), store.Options{Now: c.now})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	if _, err := st.EnsureMerchant(ctx, "m_dash", "Dash shop", "sk_test_dash_0123456789abcdef"); err != nil {
		t.Fatal(err)
	}
	svc, err := New(Config{PublicURL: "http://shop.example", Store: st, Now: c.now})
	if err != nil {
		t.Fatal(err)
	}
	return &dashEnv{t: t, svc: svc, clk: c}
}

// at sets the clock to a Nairobi wall time on a day of March 2026.
func (e *dashEnv) at(day, hour, minute, second int) time.Time {
	tm := time.Date(2026, 3, day, hour, minute, second, 0, eat)
	e.clk.mu.Lock()
	e.clk.t = tm.UTC()
	e.clk.mu.Unlock()
	return tm
}

// order creates a checkout of amount cents at the clock's time.
func (e *dashEnv) order(amount int64) *store.Checkout {
	e.t.Helper()
	e.n++
	co := &store.Checkout{ID: store.NewID("chk", e.clk.now()), MerchantID: "m_dash", Reference: fmt.Sprintf("dash-%d", e.n),
		Description: "fixture", Amount: amount, Currency: "KES", ExpiresAt: e.clk.now().Add(24 * time.Hour)}
	if err := e.svc.st.CreateCheckout(context.Background(), co, "api"); err != nil {
		e.t.Fatal(err)
	}
	return co
}

// try starts an attempt with method and provider at the clock's time.
func (e *dashEnv) try(co *store.Checkout, method, provider string) *store.Attempt {
	e.t.Helper()
	a := &store.Attempt{ID: store.NewID("pay", e.clk.now()), CheckoutID: co.ID, Method: method, Provider: provider}
	if err := e.svc.st.StartAttempt(context.Background(), a, time.Minute, "customer"); err != nil {
		e.t.Fatal(err)
	}
	return a
}

// result applies a provider's verdict to a at the clock's time.
func (e *dashEnv) result(a *store.Attempt, r store.Result, want store.Outcome) {
	e.t.Helper()
	r.Currency, r.Reference, r.Source = "KES", a.ID, "test"
	out, err := e.svc.st.ApplyResult(context.Background(), a.ID, r)
	if err != nil || out != want {
		e.t.Fatalf("ApplyResult: %v, %v; want %v", out, err, want)
	}
}

const (
	dashCancelled = "You cancelled the M-Pesa prompt. Nothing was charged; you can try again."
)

// dashFixture writes orders at known Nairobi times around the clock's
// "now", 10 March 2026 10:00 (EAT), through the store's state machine.
//
//	p1 KES 1,000.00 stk/pokeapay  created 10 Mar 00:00:00 (midnight), paid 00:02:00 (120 s)
//	p2 KES   500.00 pesapal       created  9 Mar 23:59:00, paid 23:59:59 (59 s)
//	p3 KES   200.00 stk/pochipay  created  9 Mar 23:59:30, paid 10 Mar 00:00:30 (60 s)
//	p4 KES    50.00 pokeapay      created  4 Mar 00:00:00, paid 00:05:00 (300 s)
//	p5 KES    80.00 pesapal       created  3 Mar 23:00:00, paid 23:10:00 (600 s)
//	p6 open                       created 10 Mar 08:00
//	p7 open, two attempts failed  created 10 Mar 09:00, failed 09:01 and 09:02 (cancelled)
//	p8 pending                    created 10 Mar 09:45 (15 minutes old: stale)
//	p9 pending                    created 10 Mar 09:55 (5 minutes: not stale)
//	p10 flagged for review        created 10 Mar 09:20, paid the wrong amount (its
//	                              attempt stays pending: stale too)
//
// and a webhook to the merchant that failed for good.
func (e *dashEnv) dashFixture() {
	e.t.Helper()
	pay := func(amount int64, method, provider string, created [4]int, after time.Duration) {
		e.at(created[0], created[1], created[2], created[3])
		co := e.order(amount)
		a := e.try(co, method, provider)
		e.clk.add(after)
		e.result(a, store.Result{Status: store.AttemptSucceeded, Amount: amount, HasAmount: true, Receipt: "R" + co.ID[4:12]},
			store.OutcomePaid)
	}
	pay(100_000, "stk", "pokeapay", [4]int{10, 0, 0, 0}, 120*time.Second)
	pay(50_000, "pesapal", "pesapal", [4]int{9, 23, 59, 0}, 59*time.Second)
	pay(20_000, "stk", "pochipay", [4]int{9, 23, 59, 30}, 60*time.Second)
	pay(5_000, "pokeapay", "pokeapay", [4]int{4, 0, 0, 0}, 300*time.Second)
	pay(8_000, "pesapal", "pesapal", [4]int{3, 23, 0, 0}, 600*time.Second)

	e.at(10, 8, 0, 0)
	e.order(10_000)
	e.at(10, 9, 0, 0)
	p7 := e.order(10_000)
	a7 := e.try(p7, "stk", "pokeapay")
	e.at(10, 9, 1, 0)
	e.result(a7, store.Result{Status: store.AttemptFailed, Message: dashCancelled}, store.OutcomeFailed)
	e.at(10, 9, 2, 0) // and again: one checkout, counted once
	a7 = e.try(p7, "stk", "pokeapay")
	e.result(a7, store.Result{Status: store.AttemptFailed, Message: dashCancelled}, store.OutcomeFailed)
	e.at(10, 9, 45, 0)
	e.try(e.order(10_000), "stk", "pokeapay")
	e.at(10, 9, 55, 0)
	e.try(e.order(10_000), "stk", "pokeapay")
	e.at(10, 9, 20, 0)
	p10 := e.order(10_000)
	a10 := e.try(p10, "stk", "pokeapay")
	e.result(a10, store.Result{Status: store.AttemptSucceeded, Amount: 5_000, HasAmount: true, Receipt: "RHALF"}, store.OutcomeReview)

	ctx := context.Background()
	e.at(10, 9, 30, 0)
	if err := e.svc.st.SetMerchantWebhook(ctx, "m_dash", "https://shop.example/hooks", "whsec_dGVzdHNlY3JldHRlc3RzZWNyZXQ="); err != nil {
		e.t.Fatal(err)
	}
	d, err := e.svc.st.EnqueueWebhookEvent(ctx, "m_dash", store.WebhookCheckoutPaid, []byte(`{}`))
	if err != nil {
		e.t.Fatal(err)
	}
	if err := e.svc.st.RecordWebhookTry(ctx, d, store.WebhookTry{At: e.clk.now(), StatusCode: 500, Outcome: store.DeliveryFailed}); err != nil {
		e.t.Fatal(err)
	}
	e.at(10, 10, 0, 0)
}

func TestDashboardFiguresEqualTheHandCountPerPeriod(t *testing.T) {
	e := newDashEnv(t)
	e.dashFixture()
	ctx := context.Background()
	failing := []FailingEndpoint{{MerchantID: "m_dash", Name: "Dash shop"}}
	tests := []struct {
		period                         string
		first, last                    string
		paid                           []CurrencyTotal
		paidCount, created, createdPay int64
		avg                            time.Duration
		methods, providers             []Split
		failures                       []Failure
		bars                           int
		chart                          map[int]int64 // bar -> amount; the others 0
	}{
		{
			// Paid today: p1 (00:02) and p3 (00:00:30); p2 at 23:59:59
			// yesterday is not. Created today: p1 (at midnight) p6 p7 p8
			// p9 p10 = 6, of them paid p1 = 1. Time to pay (120 + 60) / 2
			// = 90 s. Failures: p7's two cancelled prompts, one checkout.
			period: PeriodToday, first: "2026-03-10", last: "2026-03-10",
			paid: []CurrencyTotal{{"KES", 2, 120_000}}, paidCount: 2, created: 6, createdPay: 1, avg: 90 * time.Second,
			methods:   []Split{{"stk", "KES", 2, 120_000}},
			providers: []Split{{"pochipay", "KES", 1, 20_000}, {"pokeapay", "KES", 1, 100_000}},
			failures:  []Failure{{Message: dashCancelled, Count: 1}},
			bars:      24, chart: map[int]int64{0: 120_000},
		},
		{
			// 4 to 10 March: p1 p2 p3 p4 paid (175,000 cents); created
			// p1-p4 and p6-p10 = 9, of them paid 4. (120 + 59 + 60 + 300)
			// / 4 = 134.75 s, to the second 135 s.
			period: Period7d, first: "2026-03-04", last: "2026-03-10",
			paid: []CurrencyTotal{{"KES", 4, 175_000}}, paidCount: 4, created: 9, createdPay: 4, avg: 135 * time.Second,
			methods: []Split{{"stk", "KES", 2, 120_000}, {"pesapal", "KES", 1, 50_000}, {"pokeapay", "KES", 1, 5_000}},
			providers: []Split{{"pokeapay", "KES", 2, 105_000}, {"pesapal", "KES", 1, 50_000},
				{"pochipay", "KES", 1, 20_000}},
			failures: []Failure{{Message: dashCancelled, Count: 1}},
			bars:     7, chart: map[int]int64{0: 5_000, 5: 50_000, 6: 120_000},
		},
		{
			// 9 February to 10 March: p5 too (183,000 cents); created 10,
			// paid 5. (539 + 600) / 5 = 227.8 s, to the second 228 s.
			period: Period30d, first: "2026-02-09", last: "2026-03-10",
			paid: []CurrencyTotal{{"KES", 5, 183_000}}, paidCount: 5, created: 10, createdPay: 5, avg: 228 * time.Second,
			methods: []Split{{"pesapal", "KES", 2, 58_000}, {"stk", "KES", 2, 120_000}, {"pokeapay", "KES", 1, 5_000}},
			providers: []Split{{"pesapal", "KES", 2, 58_000}, {"pokeapay", "KES", 2, 105_000},
				{"pochipay", "KES", 1, 20_000}},
			failures: []Failure{{Message: dashCancelled, Count: 1}},
			bars:     30, chart: map[int]int64{22: 8_000, 23: 5_000, 28: 50_000, 29: 120_000},
		},
	}
	for _, tt := range tests {
		t.Run(tt.period, func(t *testing.T) {
			d, err := e.svc.Dashboard(ctx, tt.period)
			if err != nil {
				t.Fatal(err)
			}
			if d.Period != tt.period || d.FirstDay != tt.first || d.LastDay != tt.last {
				t.Errorf("period %q %s to %s, want %q %s to %s", d.Period, d.FirstDay, d.LastDay, tt.period, tt.first, tt.last)
			}
			first, _ := time.ParseInLocation(time.DateOnly, tt.first, eat)
			last, _ := time.ParseInLocation(time.DateOnly, tt.last, eat)
			if !d.Start.Equal(first) || !d.End.Equal(last.AddDate(0, 0, 1)) {
				t.Errorf("[Start, End) = [%v, %v), want Nairobi midnights of %s and the day after %s", d.Start, d.End, tt.first, tt.last)
			}
			if !reflect.DeepEqual(d.Paid, tt.paid) || d.PaidCount != tt.paidCount {
				t.Errorf("paid %+v (%d), want %+v (%d)", d.Paid, d.PaidCount, tt.paid, tt.paidCount)
			}
			if d.Created != tt.created || d.CreatedPaid != tt.createdPay {
				t.Errorf("created %d, of them paid %d; want %d, %d", d.Created, d.CreatedPaid, tt.created, tt.createdPay)
			}
			if d.AvgTimeToPay != tt.avg {
				t.Errorf("average time to pay %v, want %v", d.AvgTimeToPay, tt.avg)
			}
			if !reflect.DeepEqual(d.ByMethod, tt.methods) {
				t.Errorf("by method %+v, want %+v", d.ByMethod, tt.methods)
			}
			if !reflect.DeepEqual(d.ByProvider, tt.providers) {
				t.Errorf("by provider %+v, want %+v", d.ByProvider, tt.providers)
			}
			if !reflect.DeepEqual(d.Failures, tt.failures) {
				t.Errorf("failures %+v, want %+v", d.Failures, tt.failures)
			}
			// p8 (15 minutes) and p10's attempt (40 minutes, held for
			// review); p9 is 5 minutes old.
			if d.StalePending != 2 || d.Review != 1 {
				t.Errorf("stale %d, review %d; want 2, 1", d.StalePending, d.Review)
			}
			if !reflect.DeepEqual(d.FailingWebhooks, failing) {
				t.Errorf("failing webhooks %+v, want %+v", d.FailingWebhooks, failing)
			}
			if len(d.Chart) != tt.bars || d.ChartCurrency != "KES" || d.Hourly != (tt.period == PeriodToday) {
				t.Fatalf("chart: %d bars in %s (hourly %v), want %d in KES", len(d.Chart), d.ChartCurrency, d.Hourly, tt.bars)
			}
			for i, b := range d.Chart {
				if b.Amount != tt.chart[i] {
					t.Errorf("bar %d (%s, %s) = %d, want %d", i, b.Day, b.Start.In(eat).Format("15:04"), b.Amount, tt.chart[i])
				}
				step := 24 * time.Hour
				if d.Hourly {
					step = time.Hour
				}
				if !b.Start.Equal(d.Start.Add(time.Duration(i) * step)) {
					t.Errorf("bar %d starts %v, want %v", i, b.Start, d.Start.Add(time.Duration(i)*step))
				}
			}
		})
	}
}

func TestDashboardOfAnEmptyDatabaseIsZerosWithoutErrors(t *testing.T) {
	e := newDashEnv(t)
	e.at(10, 10, 0, 0)
	for _, p := range Periods {
		d, err := e.svc.Dashboard(context.Background(), p)
		if err != nil {
			t.Fatalf("%s: %v", p, err)
		}
		if len(d.Paid) != 0 || d.PaidCount != 0 || d.Created != 0 || d.CreatedPaid != 0 || d.AvgTimeToPay != 0 ||
			len(d.ByMethod) != 0 || len(d.ByProvider) != 0 || len(d.Failures) != 0 || d.StalePending != 0 ||
			d.Review != 0 || len(d.FailingWebhooks) != 0 || d.ChartCurrency != "KES" {
			t.Errorf("%s: %+v", p, d)
		}
		for i, b := range d.Chart {
			if b.Amount != 0 || b.Count != 0 {
				t.Errorf("%s: bar %d = %+v", p, i, b)
			}
		}
	}
}

func TestDashboardRefusesAnUnknownPeriod(t *testing.T) {
	e := newDashEnv(t)
	if _, err := e.svc.Dashboard(context.Background(), "1y"); !errors.Is(err, ErrPeriod) {
		t.Fatalf("Dashboard(1y) = %v, want ErrPeriod", err)
	}
}
