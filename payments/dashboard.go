package payments

import (
	"cmp"
	"context"
	"errors"
	"slices"
	"time"

	"checkout/store"
)

// Dashboard periods (the admin's ?period=).
const (
	PeriodToday = "today"
	Period7d    = "7d"
	Period30d   = "30d"
)

// Periods lists the dashboard's periods, in the order the page offers them.
var Periods = []string{PeriodToday, Period7d, Period30d}

// ErrPeriod: the dashboard was asked for a period it does not know.
var ErrPeriod = errors.New("unknown dashboard period (today, 7d or 30d)")

// topFailures is how many failure reasons the dashboard lists.
const topFailures = 5

// eat is East Africa Time (UTC+3, no daylight saving), the customers' and
// the admins' clock (receipts, the dashboard): the calendar days
// people count in. A fixed zone needs no tzdata on the server.
var eat = time.FixedZone("EAT", 3*60*60)

// Dashboard is the admin dashboard's figures for one period: the Nairobi
// calendar days FirstDay to LastDay (YYYY-MM-DD, inclusive), that is
// [Start, End).
type Dashboard struct {
	Period            string
	FirstDay, LastDay string
	Start, End        time.Time

	// Paid is the amount and number paid per currency (paid checkouts by
	// paid_at in the period), the currency with the most paid first.
	Paid []CurrencyTotal
	// PaidCount is the number paid, all currencies.
	PaidCount int64
	// Created counts the checkouts created in the period, CreatedPaid
	// those of them now paid (the conversion; none when Created is 0).
	Created, CreatedPaid int64
	// AvgTimeToPay is the mean of paid_at - created_at over the checkouts
	// paid in the period, to the second (0 when none).
	AvgTimeToPay time.Duration
	// ByMethod and ByProvider split the paid checkouts, one row per method
	// (or provider) and currency, the largest count first.
	ByMethod, ByProvider []Split
	// Failures are the messages of the attempts started in the period that
	// failed (for M-Pesa the result code in words), each with how many
	// checkouts had such an attempt, most frequent first. They are the
	// orders list's failure filter with failed_from and failed_to the
	// period's days.
	Failures []Failure
	// StalePending counts the attempts pending for more than StaleAfter,
	// now.
	StalePending int64
	// Review counts the checkouts flagged for review, now.
	Review int64
	// FailingWebhooks are the merchants whose latest tried webhook
	// delivery failed or waits for a retry after an error, by name.
	FailingWebhooks []FailingEndpoint

	// Chart is the amount paid in ChartCurrency per day of the period,
	// or per hour of the day for PeriodToday (Hourly).
	Chart         []ChartBar
	ChartCurrency string
	Hourly        bool
}

// CurrencyTotal is what was paid in one currency.
type CurrencyTotal struct {
	Currency string
	Count    int64
	Amount   int64
}

// Split is what was paid with one method (or through one provider) in one
// currency.
type Split struct {
	Key      string
	Currency string
	Count    int64
	Amount   int64
}

// Failure is how many checkouts had an attempt fail with one message.
type Failure = store.FailureCount

// FailingEndpoint is a merchant whose webhook endpoint is failing.
type FailingEndpoint = store.FailingEndpoint

// ChartBar is one bar of the dashboard's chart: [Start, Start+an hour or a
// day), on Day (YYYY-MM-DD, Nairobi).
type ChartBar struct {
	Start  time.Time
	Day    string
	Count  int64
	Amount int64
}

// Dashboard reads the figures of period (PeriodToday, Period7d,
// Period30d; "" is today) as of now.
func (s *Service) Dashboard(ctx context.Context, period string) (*Dashboard, error) {
	if period == "" {
		period = PeriodToday
	}
	now := s.now()
	bounds, hourly, err := periodBounds(period, now)
	if err != nil {
		return nil, err
	}
	f, err := s.st.Dashboard(ctx, store.DashboardQuery{Bounds: bounds, StaleBefore: now.Add(-StaleAfter), TopFailures: topFailures})
	if err != nil {
		return nil, err
	}
	return summarize(period, bounds, hourly, f), nil
}

// periodBounds cuts a period ending with today (Nairobi) into the chart's
// buckets: hours for today, days otherwise.
func periodBounds(period string, now time.Time) (bounds []time.Time, hourly bool, err error) {
	n := now.In(eat)
	today := time.Date(n.Year(), n.Month(), n.Day(), 0, 0, 0, 0, eat)
	days := map[string]int{PeriodToday: 1, Period7d: 7, Period30d: 30}[period]
	switch {
	case days == 0:
		return nil, false, ErrPeriod
	case days == 1:
		for h := range 25 {
			bounds = append(bounds, time.Date(n.Year(), n.Month(), n.Day(), h, 0, 0, 0, eat))
		}
		return bounds, true, nil
	}
	for d := days - 1; d >= -1; d-- {
		bounds = append(bounds, today.AddDate(0, 0, -d))
	}
	return bounds, false, nil
}

// summarize adds the store's figures up into the dashboard.
func summarize(period string, bounds []time.Time, hourly bool, f *store.DashboardFigures) *Dashboard {
	start, end := bounds[0], bounds[len(bounds)-1]
	d := &Dashboard{Period: period, Start: start, End: end, FirstDay: start.In(eat).Format(time.DateOnly),
		LastDay: end.Add(-time.Nanosecond).In(eat).Format(time.DateOnly), Created: f.Created, CreatedPaid: f.CreatedPaid,
		Failures: f.Failures, StalePending: f.StaleAttempts, Review: f.Review, FailingWebhooks: f.FailingEndpoints,
		Hourly: hourly}
	if d.Failures == nil {
		d.Failures = []Failure{}
	}
	if d.FailingWebhooks == nil {
		d.FailingWebhooks = []FailingEndpoint{}
	}
	totals := map[string]*CurrencyTotal{}
	methods, providers := map[[2]string]*Split{}, map[[2]string]*Split{}
	var seconds float64
	for _, g := range f.Paid {
		t := totals[g.Currency]
		if t == nil {
			t = &CurrencyTotal{Currency: g.Currency}
			totals[g.Currency] = t
		}
		t.Count += g.Count
		t.Amount += g.Amount
		d.PaidCount += g.Count
		seconds += g.PaySeconds
		addSplit(methods, g.Method, g.Currency, g.Count, g.Amount)
		addSplit(providers, g.Provider, g.Currency, g.Count, g.Amount)
	}
	d.Paid = []CurrencyTotal{}
	for _, t := range totals {
		d.Paid = append(d.Paid, *t)
	}
	slices.SortFunc(d.Paid, func(a, b CurrencyTotal) int {
		return cmp.Or(cmp.Compare(b.Amount, a.Amount), cmp.Compare(a.Currency, b.Currency))
	})
	d.ByMethod, d.ByProvider = sortedSplits(methods), sortedSplits(providers)
	if d.PaidCount > 0 {
		d.AvgTimeToPay = (time.Duration(seconds/float64(d.PaidCount)*float64(time.Second)) + time.Second/2).Truncate(time.Second)
	}

	d.ChartCurrency = chartCurrency(d.Paid)
	for i := 0; i+1 < len(bounds); i++ {
		d.Chart = append(d.Chart, ChartBar{Start: bounds[i], Day: bounds[i].In(eat).Format(time.DateOnly)})
	}
	for _, g := range f.Paid {
		if g.Currency == d.ChartCurrency {
			d.Chart[g.Bucket].Count += g.Count
			d.Chart[g.Bucket].Amount += g.Amount
		}
	}
	return d
}

// chartCurrency is the currency the chart draws: the one with the most paid, KES
// when nothing was.
func chartCurrency(paid []CurrencyTotal) string {
	if len(paid) == 0 {
		return "KES"
	}
	return paid[0].Currency
}

func addSplit(m map[[2]string]*Split, key, currency string, count, amount int64) {
	k := [2]string{key, currency}
	sp := m[k]
	if sp == nil {
		sp = &Split{Key: key, Currency: currency}
		m[k] = sp
	}
	sp.Count += count
	sp.Amount += amount
}

func sortedSplits(m map[[2]string]*Split) []Split {
	out := make([]Split, 0, len(m))
	for _, sp := range m {
		out = append(out, *sp)
	}
	slices.SortFunc(out, func(a, b Split) int {
		return cmp.Or(cmp.Compare(b.Count, a.Count), cmp.Compare(a.Key, b.Key), cmp.Compare(a.Currency, b.Currency))
	})
	return out
}
