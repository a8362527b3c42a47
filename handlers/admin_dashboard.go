package handlers

import (
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/gin-gonic/gin"

	"checkout/money"
	"checkout/payments"
	"checkout/templates"
)

// Dashboard is GET /admin, the page after login: how today (?period=today,
// the default), the last 7 days (7d) or 30 days (30d) went, every figure a
// link to the orders behind it.
func (h *Handlers) Dashboard(c *gin.Context) {
	period := c.DefaultQuery("period", payments.PeriodToday)
	d, err := h.svc.Dashboard(c.Request.Context(), period)
	if errors.Is(err, payments.ErrPeriod) {
		noticeWithLink(c, http.StatusBadRequest, "Unknown period",
			"The dashboard shows today, the last 7 days or the last 30 days.", "/admin", "Show today")
		return
	}
	if err != nil {
		h.fail(c, err)
		return
	}
	h.render(c, http.StatusOK, templates.DashboardView(dashboardPage(adminPage(c, "Dashboard"), d)))
}

// ordersLink is a filter of the admin orders list, in the parameters
// /admin/orders and /admin/orders.csv take: days are YYYY-MM-DD, Nairobi
// calendar days, inclusive (From/To on created_at, PaidFrom/PaidTo on
// paid_at).
type ordersLink = templates.OrderFilter

// ordersURL is the orders list filtered by f. Parameters come in a fixed
// (alphabetical) order, so one filter always gives one URL.
func ordersURL(f ordersLink) string {
	q := filterQuery(f)
	if len(q) == 0 {
		return "/admin/orders"
	}
	return "/admin/orders?" + q.Encode()
}

// dashboardPage turns the service's figures into the page's view.
func dashboardPage(ap templates.AdminPage, d *payments.Dashboard) templates.DashboardPage {
	paid := ordersLink{Status: string(payments.StatusPaid), PaidFrom: d.FirstDay, PaidTo: d.LastDay}
	created := ordersLink{From: d.FirstDay, To: d.LastDay}
	v := templates.DashboardPage{AdminPage: ap, Range: dayRange(d.Start, d.End)}
	for _, p := range payments.Periods {
		v.Periods = append(v.Periods, templates.PeriodLink{Label: periodLabels[p], URL: "/admin?period=" + p,
			Current: p == d.Period})
	}

	if len(d.Paid) == 0 {
		v.Paid = []templates.Figure{{Label: "Amount paid", Value: "KES 0.00", URL: ordersURL(paid)}}
	}
	for _, t := range d.Paid {
		label := "Amount paid"
		if len(d.Paid) > 1 {
			label += " in " + t.Currency
		}
		v.Paid = append(v.Paid, templates.Figure{Label: label, Value: money.Display(t.Currency, money.Amount(t.Amount)),
			URL: ordersURL(paid)})
	}
	v.PaidCount = templates.Figure{Label: "Number paid", Value: grouped(d.PaidCount), URL: ordersURL(paid)}
	v.Conversion = templates.Figure{Label: "Conversion", Value: "no checkouts", URL: ordersURL(created)}
	if d.Created > 0 {
		v.Conversion.Value = fmt.Sprintf("%d%%", (d.CreatedPaid*100+d.Created/2)/d.Created)
		v.Conversion.Note = grouped(d.CreatedPaid) + " of " + grouped(d.Created) + " checkouts created now paid"
	}
	v.AvgTimeToPay = templates.Figure{Label: "Average time to pay", Value: "none paid", URL: ordersURL(paid)}
	if d.PaidCount > 0 {
		v.AvgTimeToPay.Value = durationWords(d.AvgTimeToPay)
	}
	for _, s := range d.ByMethod {
		l := paid
		l.Method = s.Key
		v.ByMethod = append(v.ByMethod, templates.SplitRow{Key: s.Key, Count: grouped(s.Count),
			Amount: money.Display(s.Currency, money.Amount(s.Amount)), URL: ordersURL(l)})
	}
	for _, s := range d.ByProvider {
		l := paid
		l.Provider = s.Key
		v.ByProvider = append(v.ByProvider, templates.SplitRow{Key: s.Key, Count: grouped(s.Count),
			Amount: money.Display(s.Currency, money.Amount(s.Amount)), URL: ordersURL(l)})
	}
	// The failures are counted by when the payment was tried, not when
	// its checkout was made (a checkout of 23:55 may fail at 00:05).
	for _, f := range d.Failures {
		l := ordersLink{Failure: f.Message, FailedFrom: d.FirstDay, FailedTo: d.LastDay}
		v.Failures = append(v.Failures, templates.FailureRow{Message: f.Message, Count: grouped(f.Count), URL: ordersURL(l)})
	}
	v.Stale = templates.Figure{Label: "Pending for more than 10 minutes", Value: grouped(d.StalePending),
		URL: ordersURL(ordersLink{Stale: true})}
	v.Review = templates.Figure{Label: "Flagged for review", Value: grouped(d.Review),
		URL: ordersURL(ordersLink{Review: true})}
	v.FailingWebhooks = templates.Figure{Label: "Webhook endpoints failing", Value: fmt.Sprint(len(d.FailingWebhooks)),
		URL: "/admin/webhooks"}
	names := make([]string, 0, len(d.FailingWebhooks))
	for _, m := range d.FailingWebhooks {
		names = append(names, m.Name)
	}
	v.FailingNames = strings.Join(names, ", ")
	v.Chart = dashboardChart(d)
	return v
}

var periodLabels = map[string]string{payments.PeriodToday: "Today", payments.Period7d: "7 days", payments.Period30d: "30 days"}

// dayRange names the Nairobi days of [start, end) for people.
func dayRange(start, end time.Time) string {
	first, last := start.In(nairobi), end.Add(-time.Nanosecond).In(nairobi)
	if first.Format(time.DateOnly) == last.Format(time.DateOnly) {
		return first.Format("Mon 2 Jan 2006")
	}
	if first.Year() == last.Year() {
		return first.Format("2 Jan") + " to " + last.Format("2 Jan 2006")
	}
	return first.Format("2 Jan 2006") + " to " + last.Format("2 Jan 2006")
}

// grouped writes a count with thousands separators: 246,533.
func grouped(n int64) string {
	s := strconv.FormatInt(n, 10)
	if n < 0 {
		return "-" + grouped(-n)
	}
	for i := len(s) - 3; i > 0; i -= 3 {
		s = s[:i] + "," + s[i:]
	}
	return s
}

// durationWords writes a duration to the second for people: "45 s",
// "3 min 20 s", "2 h 5 min".
func durationWords(d time.Duration) string {
	s := int64(d.Round(time.Second) / time.Second)
	switch {
	case s < 60:
		return fmt.Sprintf("%d s", s)
	case s < 3600:
		if s%60 == 0 {
			return fmt.Sprintf("%d min", s/60)
		}
		return fmt.Sprintf("%d min %d s", s/60, s%60)
	}
	if s%3600/60 == 0 {
		return fmt.Sprintf("%d h", s/3600)
	}
	return fmt.Sprintf("%d h %d min", s/3600, s%3600/60)
}

// Chart geometry, in the SVG's own units: the drawing scales to the width
// of its box, and is laid out for a 360 px phone (a unit is about a pixel
// there).
const (
	chartWidth  = 360
	chartHeight = 180
	chartTop    = 16 // room for the highest bar's amount
	chartAxis   = 22 // room under the bars for the day labels
)

// dashboardChart lays out the bars of the amount paid per day (per hour
// for today), each a link to that day's paid orders.
func dashboardChart(d *payments.Dashboard) templates.Chart {
	ch := templates.Chart{Width: chartWidth, Height: chartHeight, BaseY: chartHeight - chartAxis}
	var maxAmount, total int64
	best := -1
	for i, b := range d.Chart {
		total += b.Amount
		if b.Amount > maxAmount {
			maxAmount, best = b.Amount, i
		}
	}
	unit := "day"
	if d.Hourly {
		unit = "hour"
	}
	ch.Title = fmt.Sprintf("Amount paid per %s, %s (%s)", unit, dayRange(d.Start, d.End), d.ChartCurrency)
	ch.Desc = fmt.Sprintf("%d bars. Total %s.", len(d.Chart), money.Display(d.ChartCurrency, money.Amount(total)))
	if best >= 0 {
		ch.Desc += fmt.Sprintf(" Highest: %s, %s.", barName(d, best), money.Display(d.ChartCurrency, money.Amount(maxAmount)))
	} else {
		ch.Desc += " Nothing was paid."
	}
	n := len(d.Chart)
	if n == 0 {
		return ch
	}
	slot := float64(chartWidth) / float64(n)
	plot := float64(ch.BaseY - chartTop)
	every := max(1, n/6) // about six labels whatever the number of bars
	for i, b := range d.Chart {
		h := 0.0
		if maxAmount > 0 {
			h = plot * float64(b.Amount) / float64(maxAmount)
		}
		// A day with nothing paid still shows: a hairline on the axis.
		h = max(h, 1)
		bar := templates.ChartBar{X: fmt.Sprintf("%.1f", float64(i)*slot+slot*0.15), Width: fmt.Sprintf("%.1f", slot*0.7),
			Y: fmt.Sprintf("%.1f", float64(ch.BaseY)-h), Height: fmt.Sprintf("%.1f", h),
			Label: barName(d, i) + ": " + money.Display(d.ChartCurrency, money.Amount(b.Amount)) + fmt.Sprintf(", %d paid", b.Count),
			URL:   ordersURL(ordersLink{Status: string(payments.StatusPaid), PaidFrom: b.Day, PaidTo: b.Day})}
		if i%every == 0 {
			// Labels start at their bar, so the first one is not cut
			// off at the left edge.
			bar.Tick, bar.TickX = tickName(d, i), bar.X
		}
		ch.Bars = append(ch.Bars, bar)
		ch.Rows = append(ch.Rows, templates.ChartRow{Name: barName(d, i), Count: grouped(b.Count),
			Amount: money.Display(d.ChartCurrency, money.Amount(b.Amount)), URL: bar.URL})
	}
	if best >= 0 {
		ch.MaxLabel = money.Display(d.ChartCurrency, money.Amount(maxAmount))
	}
	return ch
}

// barName names bar i for people: "Sat 5 Dec", or "14:00 to 15:00".
func barName(d *payments.Dashboard, i int) string {
	t := d.Chart[i].Start.In(nairobi)
	if d.Hourly {
		return t.Format("15:04") + " to " + t.Add(time.Hour).Format("15:04")
	}
	return t.Format("Mon 2 Jan")
}

// tickName is bar i's short label under the axis: "5 Dec", or "14h".
func tickName(d *payments.Dashboard, i int) string {
	t := d.Chart[i].Start.In(nairobi)
	if d.Hourly {
		return t.Format("15") + "h"
	}
	return t.Format("2 Jan")
}
