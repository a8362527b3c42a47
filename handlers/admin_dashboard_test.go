package handlers

import (
	"testing"
	"time"

	"checkout/payments"
	"checkout/templates"
)

func TestOrdersURLCarriesTheListParameters(t *testing.T) {
	for _, tt := range []struct {
		name string
		f    ordersLink
		want string
	}{
		{"nothing", ordersLink{}, "/admin/orders"},
		{"paid today", ordersLink{Status: "paid", PaidFrom: "2026-03-10", PaidTo: "2026-03-10"},
			"/admin/orders?paid_from=2026-03-10&paid_to=2026-03-10&status=paid"},
		{"a method row", ordersLink{Status: "paid", Method: "stk", PaidFrom: "2026-03-04", PaidTo: "2026-03-10"},
			"/admin/orders?method=stk&paid_from=2026-03-04&paid_to=2026-03-10&status=paid"},
		{"a provider row", ordersLink{Status: "paid", Provider: "pochipay", PaidFrom: "2026-03-04", PaidTo: "2026-03-10"},
			"/admin/orders?paid_from=2026-03-04&paid_to=2026-03-10&provider=pochipay&status=paid"},
		{"created in the period", ordersLink{From: "2026-02-09", To: "2026-03-10"},
			"/admin/orders?from=2026-02-09&to=2026-03-10"},
		// The message is the attempt's exact text, escaped whole.
		{"a failure reason", ordersLink{Failure: "The M-Pesa PIN was wrong. Nothing was charged; try again & 100% right?",
			FailedFrom: "2026-03-10", FailedTo: "2026-03-10"},
			"/admin/orders?failed_from=2026-03-10&failed_to=2026-03-10&failure=The+M-Pesa+PIN+was+wrong.+Nothing+was+charged%3B+try+again+%26+100%25+right%3F"},
		{"stale", ordersLink{Stale: true}, "/admin/orders?stale=1"},
		{"review", ordersLink{Review: true}, "/admin/orders?review=1"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			if got := ordersURL(tt.f); got != tt.want {
				t.Errorf("ordersURL = %s\nwant        %s", got, tt.want)
			}
		})
	}
}

// The failure reasons are counted by when the payment failed, so their
// rows link to the failed attempts' days, not to the checkouts created in
// the period.
func TestDashboardFailureRowsLinkToWhenThePaymentFailed(t *testing.T) {
	eat := time.FixedZone("EAT", 3*60*60)
	start := time.Date(2026, 3, 4, 0, 0, 0, 0, eat)
	d := &payments.Dashboard{Period: payments.Period7d, FirstDay: "2026-03-04", LastDay: "2026-03-10",
		Start: start, End: start.AddDate(0, 0, 7), ChartCurrency: "KES",
		Failures: []payments.Failure{{Message: "Declined", Count: 3}}}
	v := dashboardPage(templates.AdminPage{}, d)
	want := "/admin/orders?failed_from=2026-03-04&failed_to=2026-03-10&failure=Declined"
	if len(v.Failures) != 1 || v.Failures[0].Count != "3" || v.Failures[0].URL != want {
		t.Errorf("failure rows %+v, want one of 3 linking to %s", v.Failures, want)
	}
}

func TestDurationWordsRoundsToTheSecond(t *testing.T) {
	for d, want := range map[time.Duration]string{
		0:                                     "0 s",
		45 * time.Second:                      "45 s",
		59*time.Second + 600*time.Millisecond: "1 min",
		90 * time.Second:                      "1 min 30 s",
		3*time.Minute + 48*time.Second:        "3 min 48 s",
		2 * time.Hour:                         "2 h",
		2*time.Hour + 5*time.Minute + 9*time.Second: "2 h 5 min",
	} {
		if got := durationWords(d); got != want {
			t.Errorf("durationWords(%v) = %q, want %q", d, got, want)
		}
	}
}

func TestGroupedWritesThousandsSeparators(t *testing.T) {
	for n, want := range map[int64]string{0: "0", 999: "999", 1000: "1,000", 246533: "246,533", 1234567: "1,234,567", -1500: "-1,500"} {
		if got := grouped(n); got != want {
			t.Errorf("grouped(%d) = %q, want %q", n, got, want)
		}
	}
}

func TestDashboardPageOfNothingSaysNoCheckoutsAndDrawsHairlines(t *testing.T) {
	eat := time.FixedZone("EAT", 3*60*60)
	start := time.Date(2026, 3, 4, 0, 0, 0, 0, eat)
	d := &payments.Dashboard{Period: payments.Period7d, FirstDay: "2026-03-04", LastDay: "2026-03-10",
		Start: start, End: start.AddDate(0, 0, 7), ChartCurrency: "KES"}
	for i := range 7 {
		day := start.AddDate(0, 0, i)
		d.Chart = append(d.Chart, payments.ChartBar{Start: day, Day: day.Format(time.DateOnly)})
	}
	v := dashboardPage(templates.AdminPage{}, d)
	if len(v.Paid) != 1 || v.Paid[0].Value != "KES 0.00" ||
		v.Paid[0].URL != "/admin/orders?paid_from=2026-03-04&paid_to=2026-03-10&status=paid" {
		t.Errorf("amount paid %+v", v.Paid)
	}
	if v.Conversion.Value != "no checkouts" || v.Conversion.Note != "" || v.Conversion.URL != "/admin/orders?from=2026-03-04&to=2026-03-10" {
		t.Errorf("conversion %+v", v.Conversion)
	}
	if v.AvgTimeToPay.Value != "none paid" || v.PaidCount.Value != "0" {
		t.Errorf("average time to pay %+v, number paid %+v", v.AvgTimeToPay, v.PaidCount)
	}
	if len(v.Chart.Bars) != 7 || v.Chart.MaxLabel != "" || v.Chart.Desc != "7 bars. Total KES 0.00. Nothing was paid." {
		t.Fatalf("chart: %d bars, max %q, desc %q", len(v.Chart.Bars), v.Chart.MaxLabel, v.Chart.Desc)
	}
	for i, b := range v.Chart.Bars {
		day := start.AddDate(0, 0, i).Format(time.DateOnly)
		if b.Height != "1.0" || b.URL != "/admin/orders?paid_from="+day+"&paid_to="+day+"&status=paid" {
			t.Errorf("bar %d: height %s, link %s", i, b.Height, b.URL)
		}
	}
}
