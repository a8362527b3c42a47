package web_test

import (
	"context"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/PuerkitoBio/goquery"

	"checkout/store"
)

// nairobiDay is the Nairobi calendar day of t, as the list's parameters
// write it.
func nairobiDay(t time.Time) string {
	return t.In(time.FixedZone("EAT", 3*60*60)).Format(time.DateOnly)
}

// figureLink is the text and the link of a dashboard figure (#fig-<id>).
func figureLink(p page, id string) (string, string) {
	a := p.doc.Find("#fig-" + id + " a.dash-value")
	return strings.TrimSpace(a.Text()), a.AttrOr("href", "")
}

func TestLoginLandsOnTheDashboardWithDashboardFirstInTheNav(t *testing.T) {
	e := newEnv(t, envOptions{})
	b := e.adminBrowser()
	// adminBrowser stopped at the 303; follow it as a browser would.
	p := b.get(e.app.URL + "/admin")
	if p.status != http.StatusOK || !strings.HasSuffix(p.url, "/admin") {
		t.Fatalf("dashboard: %d at %s", p.status, p.url)
	}
	if h := strings.TrimSpace(p.doc.Find("main h1").Text()); h != "Dashboard" {
		t.Fatalf("heading %q, want Dashboard", h)
	}
	first := p.doc.Find("nav.admin-nav a").First()
	if first.Text() != "Dashboard" || first.AttrOr("href", "") != "/admin" {
		t.Fatalf("first nav link %q -> %q, want Dashboard -> /admin", first.Text(), first.AttrOr("href", ""))
	}
}

func TestDashboardFiguresLinkToTheirOrdersAndTheChartHasABarPerDay(t *testing.T) {
	e := newEnv(t, envOptions{})
	b := e.adminBrowser()
	e.payByIPN(e.createCheckout("dash-1"))
	e.createCheckout("dash-2")
	today := nairobiDay(e.clock.Now())

	p := b.get(e.app.URL + "/admin")
	if p.status != http.StatusOK {
		t.Fatalf("dashboard: %d\n%s", p.status, p.body)
	}
	paidToday := "/admin/orders?paid_from=" + today + "&paid_to=" + today + "&status=paid"
	for _, tt := range []struct{ id, text, href string }{
		{"paid", "KES 1,500.00", paidToday},
		{"paid-count", "1", paidToday},
		{"conversion", "50%", "/admin/orders?from=" + today + "&to=" + today},
		{"stale", "0", "/admin/orders?stale=1"},
		{"review", "0", "/admin/orders?review=1"},
		{"failing-webhooks", "0", "/admin/webhooks"},
	} {
		text, href := figureLink(p, tt.id)
		if text != tt.text || href != tt.href {
			t.Errorf("figure %s: %q -> %q, want %q -> %q", tt.id, text, href, tt.text, tt.href)
		}
	}
	if note := strings.TrimSpace(p.doc.Find("#fig-conversion .dash-note").Text()); note != "1 of 2 checkouts created now paid" {
		t.Errorf("conversion note %q", note)
	}
	// The method and provider rows add their key to the paid link.
	for _, tt := range []struct{ table, href string }{
		{"By method", "/admin/orders?method=pesapal&paid_from=" + today + "&paid_to=" + today + "&status=paid"},
		{"By provider", "/admin/orders?paid_from=" + today + "&paid_to=" + today + "&provider=pesapal&status=paid"},
	} {
		sec := p.doc.Find("section.dash-section").FilterFunction(func(_ int, s *goquery.Selection) bool {
			return s.Find("h2").Text() == tt.table
		})
		rows := sec.Find("tbody tr")
		if rows.Length() != 1 {
			t.Fatalf("%s: %d rows, want 1", tt.table, rows.Length())
		}
		links := rows.Find("a")
		if links.Length() != 2 || links.Eq(0).Text() != "1" || links.Eq(1).Text() != "KES 1,500.00" {
			t.Errorf("%s row: %q", tt.table, rows.Text())
		}
		links.Each(func(_ int, a *goquery.Selection) {
			if a.AttrOr("href", "") != tt.href {
				t.Errorf("%s link %q, want %q", tt.table, a.AttrOr("href", ""), tt.href)
			}
		})
	}

	for _, tt := range []struct {
		period string
		bars   int
		hourly bool
	}{{"today", 24, true}, {"7d", 7, false}, {"30d", 30, false}} {
		t.Run(tt.period, func(t *testing.T) {
			p := b.get(e.app.URL + "/admin?period=" + tt.period)
			if p.status != http.StatusOK {
				t.Fatalf("%d", p.status)
			}
			if cur := p.doc.Find("nav.periods a[aria-current=page]"); cur.AttrOr("href", "") != "/admin?period="+tt.period {
				t.Errorf("current period link %q", cur.AttrOr("href", ""))
			}
			svg := p.doc.Find("svg.chart-svg")
			if svg.Length() != 1 || svg.AttrOr("role", "") != "group" || svg.AttrOr("aria-labelledby", "") != "chart-title" ||
				svg.AttrOr("aria-describedby", "") != "chart-desc" {
				t.Fatalf("chart svg: %d, role %q, labelled by %q, described by %q", svg.Length(), svg.AttrOr("role", ""),
					svg.AttrOr("aria-labelledby", ""), svg.AttrOr("aria-describedby", ""))
			}
			if title := svg.Find("title#chart-title").Text(); !strings.HasPrefix(title, "Amount paid per ") {
				t.Errorf("chart title %q", title)
			}
			if desc := svg.Find("desc#chart-desc").Text(); !strings.Contains(desc, "Total KES 1,500.00.") {
				t.Errorf("chart description %q", desc)
			}
			bars := svg.Find("a > rect.bar")
			if bars.Length() != tt.bars {
				t.Fatalf("%d bars, want %d", bars.Length(), tt.bars)
			}
			days := map[string]bool{}
			bars.Each(func(i int, r *goquery.Selection) {
				u, err := url.Parse(r.Parent().AttrOr("href", ""))
				if err != nil || u.Path != "/admin/orders" {
					t.Fatalf("bar %d links to %q", i, r.Parent().AttrOr("href", ""))
				}
				q := u.Query()
				if q.Get("status") != "paid" || q.Get("paid_from") == "" || q.Get("paid_from") != q.Get("paid_to") {
					t.Errorf("bar %d: %s, want one day's paid orders", i, u.RawQuery)
				}
				days[q.Get("paid_from")] = true
				if r.Find("title").Text() == "" {
					t.Errorf("bar %d has no title", i)
				}
			})
			// One bar per day, the last one today (per hour: all today).
			want := tt.bars
			if tt.hourly {
				want = 1
			}
			if len(days) != want || !days[today] {
				t.Errorf("bars cover %d days (%v), want %d ending %s", len(days), days, want, today)
			}
			if rows := p.doc.Find("table.chart-table tbody tr").Length(); rows != tt.bars {
				t.Errorf("the chart's table has %d rows, want %d", rows, tt.bars)
			}
		})
	}
}

func TestDashboardWithAnUnknownPeriodSaysSo(t *testing.T) {
	e := newEnv(t, envOptions{})
	b := e.adminBrowser()
	p := b.get(e.app.URL + "/admin?period=1y")
	if p.status != http.StatusBadRequest || !strings.Contains(p.body, "Unknown period") {
		t.Fatalf("period=1y: %d\n%s", p.status, p.body)
	}
}

// The failure reasons count the orders whose payment failed in the period
// and link to exactly those: a checkout made at 23:55 whose prompt failed
// twice just after midnight is today's, in the list and the CSV the figure
// links to, once.
func TestDashboardFailureReasonLinksToTheOrdersThatFailedToday(t *testing.T) {
	e := newEnv(t, envOptions{})
	ctx := context.Background()
	now := e.clock.Now().In(eat)
	next := time.Date(now.Year(), now.Month(), now.Day(), 23, 55, 0, 0, eat)
	e.clock.Advance(next.Sub(now))
	co := e.storeCheckout(nil)
	e.clock.Advance(10 * time.Minute) // 00:05 the next day
	const msg = "You cancelled the M-Pesa prompt. Nothing was charged; you can try again."
	for range 2 {
		a := &store.Attempt{ID: store.NewID("pay", e.clock.Now()), CheckoutID: co.ID, Method: "stk", Provider: "pokeapay"}
		if err := e.store.StartAttempt(ctx, a, time.Minute, "customer"); err != nil {
			t.Fatal(err)
		}
		e.clock.Advance(time.Minute)
		if _, err := e.store.ApplyResult(ctx, a.ID, store.Result{Status: store.AttemptFailed, Message: msg, Currency: "KES",
			Reference: a.ID, Source: "test"}); err != nil {
			t.Fatal(err)
		}
	}
	today := nairobiDay(e.clock.Now())
	b := e.adminBrowser() // after the clock moved: a session of now
	p := b.get(e.app.URL + "/admin?period=today")
	row := p.doc.Find("table.failures tbody tr")
	link := row.Find("a")
	if row.Length() != 1 || strings.TrimSpace(row.Find("td").First().Text()) != msg || link.Text() != "1" {
		t.Fatalf("failure rows: %d, %q", row.Length(), row.Text())
	}
	href := link.AttrOr("href", "")
	want := "/admin/orders?failed_from=" + today + "&failed_to=" + today + "&failure=" + url.QueryEscape(msg)
	if href != want {
		t.Fatalf("failure link %s\nwant         %s", href, want)
	}
	if got := orderIDs(b.get(e.app.URL + href)); !slices.Equal(got, []string{co.ID}) {
		t.Errorf("the linked list shows %v, want [%s]", got, co.ID)
	}
	_, recs, _ := getCSV(t, b, e.app.URL+strings.Replace(href, "/admin/orders?", "/admin/orders.csv?", 1))
	if len(recs) != 2 || recs[1][0] != co.ID {
		t.Errorf("the linked CSV has %d rows, want the header and %s", len(recs), co.ID)
	}
}
