package main

// The real-browser tests of payment links: the merchant makes a link in the
// admin on a phone, a customer (another browser profile: no cookies of the
// admin's) opens and pays it, and the admin's dashboard, the link's page
// and its orders count the payment; and a link whose customer enters the
// amount refuses one outside its bounds on the page.

import (
	"encoding/json"
	"io"
	"net/http"
	"net/url"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/cdproto/page"
	"github.com/chromedp/chromedp"

	"checkout/money"
)

// newCustomerTab opens a tab in a new browser context of the same
// Chromium: a profile of its own, so that it shares no cookie (no admin
// session, no link checkout remembered) with p. Its console is recorded,
// reported and checked like p's, each line after label, and console errors
// fail the test too, but for those containing one of expected.
func (p *browserPhone) newCustomerTab(label string, expected ...string) *browserPhone {
	p.t.Helper()
	ctx, cancel := chromedp.NewContext(p.ctx, chromedp.WithNewBrowserContext())
	p.t.Cleanup(cancel)
	tab := &browserPhone{t: p.t, ctx: ctx, shots: p.shots, console: &consoleRecorder{}}
	if err := chromedp.Listen(ctx, tab.console.listen); err != nil {
		p.t.Fatalf("open a tab in a new browser context: %v", err)
	}
	p.t.Cleanup(func() { tab.reportConsole(label) })
	tab.noConsoleErrors(label, expected...)
	return tab
}

// noConsoleErrors fails the test, when it ends, for each console.error
// call and each browser log entry of the level error that the tab
// recorded (a resource that failed to load, a blocked request), besides
// the CSP violations and exceptions reportConsole fails it for. A line
// containing one of expected (a page the test makes answer with an error
// status, which Chromium logs as a resource that failed to load) is let
// through.
func (p *browserPhone) noConsoleErrors(label string, expected ...string) {
	p.t.Cleanup(func() {
		lines, _ := p.console.snapshot()
	next:
		for _, l := range lines {
			if !strings.HasPrefix(l, "console.error:") && !(strings.HasPrefix(l, "log ") && strings.Contains(l, "/error: ")) {
				continue
			}
			for _, e := range expected {
				if strings.Contains(l, e) {
					continue next
				}
			}
			p.t.Errorf("the browser reported an error: %s%s", label, l)
		}
	})
}

// tapAndLoad taps sel and waits for the page it leads to to load.
func (p *browserPhone) tapAndLoad(what, sel string) {
	p.t.Helper()
	if _, err := chromedp.Run(p.ctx, chromedp.WaitEvent(page.LoadEventFired, nil,
		chromedp.Tap(chromedp.CSS(sel)))); err != nil {
		p.t.Fatalf("%s (at %s): %v", what, p.at(), err)
	}
}

// value is the value of the form field sel.
func (p *browserPhone) value(sel string) string {
	p.t.Helper()
	v, err := chromedp.Run(p.ctx, chromedp.Value(chromedp.CSS(sel)))
	if err != nil {
		p.t.Fatalf("read the value of %s: %v", sel, err)
	}
	return v
}

// count is how many elements sel matches.
func (p *browserPhone) count(sel string) int {
	p.t.Helper()
	n, err := chromedp.Run(p.ctx, chromedp.Evaluate[int](`document.querySelectorAll(`+jsString(sel)+`).length`))
	if err != nil {
		p.t.Fatalf("count %s: %v", sel, err)
	}
	return n
}

// jsString quotes s as a JavaScript string literal.
func jsString(s string) string {
	b, _ := json.Marshal(s) // a string always encodes
	return string(b)
}

// typeInto clears the field sel and types s into it, as a customer would.
func (p *browserPhone) typeInto(sel, s string) {
	p.t.Helper()
	p.step("type into "+sel, chromedp.Clear(chromedp.CSS(sel)), chromedp.SendKeys(chromedp.CSS(sel), s))
}

// adminLogin opens the admin at a phone's viewport, which sends the tab to
// the login form, logs in with the harness's credentials, and waits for
// the dashboard, the page after login.
func (p *browserPhone) adminLogin(base string) {
	p.t.Helper()
	p.step("open the admin",
		phoneViewport(),
		chromedp.Navigate(base+"/admin"),
		chromedp.WaitVisible(chromedp.CSS(`form[action="/admin/login"] #email`)),
	)
	if loc := p.location(); loc != base+"/admin/login" {
		p.t.Errorf("the admin without a session is at %s, want the login form %s/admin/login", loc, base)
	}
	p.checkWidth("the login form")
	p.typeInto(`#email`, "admin@example.com")
	p.typeInto(`#password`, browserTestPassword)
	p.tapAndLoad("log in", `form[action="/admin/login"] button[type=submit]`)
	p.step("wait for the dashboard", chromedp.WaitVisible(chromedp.CSS(`#fig-paid-count .dash-value`)))
	if loc := p.location(); loc != base+"/admin" {
		p.t.Fatalf("after logging in the admin is at %s, want the dashboard %s/admin", loc, base)
	}
}

// dashboardToday opens today's dashboard and reads the day it shows, the
// amount paid (its first currency's, which must be KES) and the number
// paid.
func (p *browserPhone) dashboardToday(base, shot string) (day string, paid money.Amount, count int) {
	p.t.Helper()
	p.step("open today's dashboard",
		chromedp.Navigate(base+"/admin?period=today"),
		chromedp.WaitVisible(chromedp.CSS(`#fig-paid-count .dash-value`)),
	)
	if got := p.text(`.periods .period-current`); got != "Today" {
		p.t.Errorf("the dashboard's period is %q, want Today", got)
	}
	day = p.text(`.dash-range`)
	amount := p.text(`#fig-paid .dash-value`)
	digits, ok := strings.CutPrefix(amount, "KES ")
	if !ok {
		p.t.Fatalf("the dashboard's amount paid is %q, want KES and an amount", amount)
	}
	paid, err := money.Parse(strings.ReplaceAll(digits, ",", ""))
	if err != nil {
		p.t.Fatalf("the dashboard's amount paid is %q: %v", amount, err)
	}
	n := p.text(`#fig-paid-count .dash-value`)
	if count, err = parseGrouped(n); err != nil {
		p.t.Fatalf("the dashboard's number paid is %q: %v", n, err)
	}
	// The figures are cards and the periods buttons: the stylesheet's
	// dashboard rules apply (a rule left open before them once made the
	// browser drop them all).
	styled, err := chromedp.Run(p.ctx, chromedp.Evaluate[[]string](`[
		getComputedStyle(document.querySelector(".dash-cards")).display,
		getComputedStyle(document.querySelector(".dash-cards")).listStyleType,
		getComputedStyle(document.querySelector(".periods")).display,
	]`))
	if err != nil {
		p.t.Fatalf("read the dashboard's styles: %v", err)
	}
	if want := []string{"grid", "none", "flex"}; !slices.Equal(styled, want) {
		p.t.Errorf("the dashboard's figures and periods are laid out as %q (display, list style, periods' display), want %q: is its stylesheet read?", styled, want)
	}
	p.checkWidth("the dashboard")
	p.screenshot(shot)
	return day, paid, count
}

// parseGrouped reads a count written with thousands commas.
func parseGrouped(s string) (int, error) {
	a, err := money.Parse(strings.ReplaceAll(s, ",", ""))
	return int(a / 100), err
}

// adminCreateLink opens Payment links -> New payment link from the admin's
// nav, lets fill fill in the form, makes the link, and checks the link's
// page it lands on: the flash, the QR code, the pay-button snippet and the
// address to share. It returns the link's id and that address.
func (p *browserPhone) adminCreateLink(base, description string, fill func(), shot string) (id, public string) {
	p.t.Helper()
	p.tapAndLoad("open Payment links", `.admin-nav a[href="/admin/links"]`)
	p.step("wait for the links list", chromedp.WaitVisible(chromedp.CSS(`a[href="/admin/links/new"]`)))
	p.checkWidth("the payment links list")
	p.tapAndLoad("open New payment link", `a[href="/admin/links/new"]`)
	p.step("wait for the new-link form", chromedp.WaitVisible(chromedp.CSS(`form.link-form #f-description`)))
	p.typeInto(`#f-description`, description)
	fill()
	p.checkWidth("the new-link form")
	p.screenshot(shot + "-form")
	p.tapAndLoad("make the link", `form.link-form button[type=submit]`)
	p.step("wait for the link's page", chromedp.WaitVisible(chromedp.CSS(`#link-url`)))

	m := regexp.MustCompile(`^` + regexp.QuoteMeta(base) + `/admin/links/([^/?]+)\?flash=created$`).FindStringSubmatch(p.location())
	if m == nil {
		p.t.Fatalf("after making the link the admin is at %s, want %s/admin/links/<id>?flash=created", p.location(), base)
	}
	id = m[1]
	if got := p.text(`h1`); got != description {
		p.t.Errorf("the link's page is headed %q, want %q", got, description)
	}
	if got := p.text(`.alert-info`); !strings.HasPrefix(got, "Payment link made.") {
		p.t.Errorf("the link's page says %q, want Payment link made. ...", got)
	}

	// The address to share, as the page shows it.
	public = p.value(`#link-url`)
	if public != base+"/l/"+id {
		p.t.Errorf("the link's page gives the address %q, want %s/l/%s", public, base, id)
	}
	// The QR code: an inline SVG drawn on the server, shown, with its
	// download beside it.
	p.step("wait for the QR code", chromedp.WaitVisible(chromedp.CSS(`.link-share .qr svg`)))
	box, err := chromedp.Run(p.ctx, chromedp.Evaluate[[]float64](`(() => {
		const r = document.querySelector(".link-share .qr svg").getBoundingClientRect();
		return [r.width, r.height];
	})()`))
	if err != nil {
		p.t.Fatalf("measure the QR code: %v", err)
	}
	if len(box) != 2 || box[0] < 100 || box[1] < 100 || box[0] > 360 {
		p.t.Errorf("the QR code is %v CSS px (width, height) on a 360 px phone, want at least 100x100 and at most the phone's width", box)
	}
	if n := p.count(`.link-share .qr svg path, .link-share .qr svg rect`); n == 0 {
		p.t.Error("the QR code's SVG draws nothing (no path or rect)")
	}
	if n := p.count(`.link-share a[download][href="/admin/links/` + id + `/qr.svg"]`); n != 1 {
		p.t.Errorf("the link's page has %d downloads of the QR code at /admin/links/%s/qr.svg, want 1", n, id)
	}
	// The pay button's snippet: a plain link to the address.
	snippet := p.value(`#link-snippet`)
	if !strings.HasPrefix(snippet, `<a href="`+public+`"`) || strings.Contains(snippet, "<script") {
		p.t.Errorf("the pay-button snippet is %q, want a plain <a href=%q ...> without script", snippet, public)
	}
	// copy.js ran (the page's nonce'd script under the CSP): it shows the
	// copy buttons it hides without script.
	p.step("wait for the copy buttons", chromedp.WaitVisible(chromedp.CSS(`button[data-copy="link-url"]`)))
	p.checkWidth("the link's page")
	p.screenshot(shot)
	return id, public
}

// checkLinkPage opens the link's admin page and checks what it says was
// paid with it.
func (p *browserPhone) checkLinkPage(base, id, count, total string) {
	p.t.Helper()
	p.step("open the link's page",
		chromedp.Navigate(base+"/admin/links/"+id),
		chromedp.WaitVisible(chromedp.CSS(`#link-paid`)),
	)
	if got := p.text(`#link-paid-count`); got != count {
		p.t.Errorf("the link's page says %q paid, want %s", got, count)
	}
	if got := p.text(`#link-paid-total`); got != total {
		p.t.Errorf("the link's page says %q paid in total, want %s", got, total)
	}
	p.checkWidth("the link's page")
}

// browserCheckoutLink is the checkout's payment_link in the merchant API.
func browserCheckoutLink(t *testing.T, base, id string) string {
	t.Helper()
	req, err := http.NewRequest(http.MethodGet, base+"/api/v1/checkouts/"+id, nil)
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Authorization", "Bearer "+browserTestAPIKey)
	res, err := checkedClient(t, 10*time.Second).Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	raw, err := io.ReadAll(res.Body)
	if err != nil || res.StatusCode != http.StatusOK {
		t.Fatalf("GET the checkout %s: status %d, %v; %s", id, res.StatusCode, err, raw)
	}
	var obj struct {
		PaymentLink *string `json:"payment_link"`
	}
	if err := json.Unmarshal(raw, &obj); err != nil {
		t.Fatalf("decode the checkout %s: %v", raw, err)
	}
	if obj.PaymentLink == nil {
		return ""
	}
	return *obj.PaymentLink
}

func TestBrowserLinkMadeInTheAdminIsPaidAndCounted(t *testing.T) {
	chrome := browserChrome(t)
	start := time.Now()
	base, _ := browserStartApp(t, browserFreePort(t))

	// The merchant logs in on a phone and reads how today went.
	admin := browserOpenPhone(t, chrome)
	admin.noConsoleErrors("")
	admin.adminLogin(base)
	dayBefore, paidBefore, countBefore := admin.dashboardToday(base, "link-dashboard-before")

	// ... and makes a link of a fixed KES 1,500.
	const description = "Two bags of coffee"
	linkID, public := admin.adminCreateLink(base, description, func() {
		admin.step("choose a fixed amount", chromedp.Tap(chromedp.CSS(`label:has(> input[name=amount_mode][value=fixed])`)))
		admin.typeInto(`#f-amount`, "1500")
	}, "link-admin-page")
	if got := admin.text(`#link-paid-count`); got != "0" {
		t.Errorf("the new link's page says %q paid, want 0", got)
	}
	if snippet := admin.value(`#link-snippet`); !strings.Contains(snippet, ">Pay KES 1,500.00</a>") {
		t.Errorf("the pay-button snippet %q does not say Pay KES 1,500.00", snippet)
	}

	// The customer opens the address the page gave, in a browser profile
	// of their own: the order and the method choice.
	cust := admin.newCustomerTab("customer tab: ")
	const pesapalButton = `button[name=method][value=pesapal]`
	cust.step("open the link",
		phoneViewport(),
		chromedp.Navigate(public),
		chromedp.WaitVisible(chromedp.CSS(pesapalButton)),
	)
	if got := cust.text(".summary .amount"); got != "KES 1,500.00" {
		t.Errorf("the link's page asks for %q, want KES 1,500.00", got)
	}
	if got := cust.text(".summary .description"); got != description {
		t.Errorf("the link's page describes the order as %q, want %q", got, description)
	}
	cust.checkWidth("the link's payment page")
	cust.screenshot("link-checkout")

	// Pay with Pesapal: the checkout has no contact, so the page asks for
	// one for the receipt; the checkout is made when the method is chosen.
	cust.typeInto(`#contact`, "jane@example.com")
	cust.tapAndLoad("choose Pesapal", pesapalButton)
	cust.step("wait for the Pesapal frame page", chromedp.WaitVisible(chromedp.CSS(`iframe.pay-frame`)))
	m := regexp.MustCompile(`^` + regexp.QuoteMeta(base) + `/c/([^/?]+)/pesapal$`).FindStringSubmatch(cust.location())
	if m == nil {
		t.Fatalf("after choosing Pesapal the customer is at %s, want %s/c/<id>/pesapal", cust.location(), base)
	}
	co := checkoutObject{ID: m[1], URL: base + "/c/" + m[1]}
	frames, err := chromedp.Run(cust.ctx, chromedp.Nodes(chromedp.CSS(`iframe.pay-frame`)))
	if err != nil {
		t.Fatalf("find the Pesapal iframe: %v", err)
	}
	frame := frames[0]
	cust.step("wait for the simulator's Pay button in the iframe",
		chromedp.WaitVisible(chromedp.CSS(`button.pay`), chromedp.FromNode(frame)),
	)
	if got := cust.text(`.amount`, chromedp.FromNode(frame)); got != "KES 1,500.00" {
		t.Errorf("the simulator's page shows %q, want KES 1,500.00", got)
	}
	cust.screenshot("link-pesapal")
	cust.payAndReturn("pay in the simulator", "pesapal", chromedp.FromNode(frame))
	cust.waitPaid("pesapal", "link-result")
	cust.openReceipt(co, description, co.ID, "Pesapal")
	cust.screenshot("link-receipt")

	// The merchant's API has it paid, from the link.
	browserPaidCheckout(t, base, co.ID, "pesapal", 0)
	if got := browserCheckoutLink(t, base, co.ID); got != linkID {
		t.Errorf("the paid checkout's payment_link is %q, want the link %s", got, linkID)
	}

	// Back in the admin: the dashboard counts one more, of KES 1,500.
	// (Unless Nairobi's midnight came in between: then today is another
	// day, whose figures cannot be compared with the first.)
	dayAfter, paidAfter, countAfter := admin.dashboardToday(base, "link-dashboard-after")
	if dayAfter != dayBefore {
		t.Logf("the dashboard's today went from %q to %q during the test: its figures are not compared", dayBefore, dayAfter)
	} else {
		if countAfter != countBefore+1 {
			t.Errorf("the dashboard's number paid went from %d to %d, want one more", countBefore, countAfter)
		}
		if paidAfter-paidBefore != 150000 {
			t.Errorf("the dashboard's amount paid went from %s to %s, want KES 1,500.00 more", paidBefore, paidAfter)
		}
	}

	// The link's page counts it, and its orders are that checkout alone.
	admin.checkLinkPage(base, linkID, "1", "KES 1,500.00")
	admin.screenshot("link-admin-paid")
	admin.tapAndLoad("open See its orders", `#link-orders`)
	admin.step("wait for the orders", chromedp.WaitVisible(chromedp.CSS(`main table tbody tr`)))
	u, err := url.Parse(admin.location())
	if err != nil || u.Path != "/admin/orders" || u.Query().Get("link") != linkID {
		t.Errorf("See its orders opened %s, want /admin/orders?link=%s", admin.location(), linkID)
	}
	if got := admin.value(`#f-link`); got != linkID {
		t.Errorf("the orders filter shows the link %q, want %s", got, linkID)
	}
	if n := admin.count(`main table tbody tr`); n != 1 {
		t.Errorf("the link's orders list %d rows, want 1", n)
	}
	if got := admin.text(`main table tbody tr td.mono a`); got != co.ID {
		t.Errorf("the link's order is %q, want the paid checkout %s", got, co.ID)
	}
	if got := admin.text(`main table tbody tr .badge`); got != "Paid" {
		t.Errorf("the link's order has the status %q, want Paid", got)
	}
	admin.checkWidth("the link's orders")
	admin.screenshot("link-orders")

	t.Logf("making the link, paying it and reading the figures took %v", time.Since(start).Round(time.Millisecond))
}

func TestBrowserLinkCustomerAmountIsCheckedOnThePage(t *testing.T) {
	chrome := browserChrome(t)
	base, _ := browserStartApp(t, browserFreePort(t))

	// The merchant makes a link whose customer enters between KES 100 and
	// KES 5,000.
	admin := browserOpenPhone(t, chrome)
	admin.noConsoleErrors("")
	admin.adminLogin(base)
	const description = "School fees"
	linkID, public := admin.adminCreateLink(base, description, func() {
		admin.step("choose the customer's amount", chromedp.Tap(chromedp.CSS(`label:has(> input[name=amount_mode][value=customer])`)))
		checked, err := chromedp.Run(admin.ctx, chromedp.JavascriptAttribute[bool](chromedp.CSS(`input[name=amount_mode][value=customer]`), "checked"))
		if err != nil || !checked {
			t.Fatalf("tapping The customer enters the amount did not check it (%v)", err)
		}
		admin.typeInto(`#f-min_amount`, "100")
		admin.typeInto(`#f-max_amount`, "5,000")
	}, "link-amount-admin-page")
	if got := admin.text(`dl.details dt:nth-of-type(2) + dd`); got != "Customer enters (between KES 100.00 and KES 5,000.00)" {
		t.Errorf("the link's page gives the amount as %q, want Customer enters (between KES 100.00 and KES 5,000.00)", got)
	}

	// The customer is asked for the amount first, with the bounds. A
	// refused amount is answered 422, which Chromium logs as an error.
	cust := admin.newCustomerTab("customer tab: ",
		"the server responded with a status of 422 (Unprocessable Entity) ("+public+")")
	cust.step("open the link",
		phoneViewport(),
		chromedp.Navigate(public),
		chromedp.WaitVisible(chromedp.CSS(`form.link-amount #amount`)),
	)
	if got := cust.text(`#amount-bounds`); got != "Between KES 100.00 and KES 5,000.00." {
		t.Errorf("the amount's hint is %q, want Between KES 100.00 and KES 5,000.00.", got)
	}
	if n := cust.count(`button[name=method]`); n != 0 {
		t.Errorf("the link asks for the amount and offers %d methods already, want none", n)
	}
	cust.checkWidth("the amount form")
	cust.screenshot("link-amount")

	// An amount outside the bounds comes back refused, the field marked
	// and the typed amount kept, and no method offered.
	for _, c := range []struct{ typed, msg string }{
		{"50", "The amount must be at least KES 100.00."},
		{"5000.50", "The amount must be at most KES 5,000.00."},
	} {
		cust.typeInto(`#amount`, c.typed)
		cust.tapAndLoad("send the amount "+c.typed, `form.link-amount button[type=submit]`)
		cust.step("wait for the refused amount", chromedp.WaitVisible(chromedp.CSS(`#amount-error`)))
		if loc := cust.location(); loc != public {
			t.Errorf("the refused amount %s is shown at %s, want the link %s", c.typed, loc, public)
		}
		if got := cust.text(`#amount-error`); got != c.msg {
			t.Errorf("the amount %s is refused with %q, want %q", c.typed, got, c.msg)
		}
		attrs, err := chromedp.Run(cust.ctx, chromedp.Attributes(chromedp.CSS(`#amount`)))
		if err != nil {
			t.Fatalf("read the amount field: %v", err)
		}
		if attrs["aria-invalid"] != "true" || !strings.Contains(" "+attrs["aria-describedby"]+" ", " amount-error ") {
			t.Errorf("the refused amount's field has aria-invalid %q and aria-describedby %q, want true and amount-error",
				attrs["aria-invalid"], attrs["aria-describedby"])
		}
		if got := cust.value(`#amount`); got != c.typed {
			t.Errorf("the refused amount's field holds %q, want what was typed, %q", got, c.typed)
		}
		if n := cust.count(`button[name=method]`); n != 0 {
			t.Errorf("the refused amount %s offers %d methods, want none", c.typed, n)
		}
		cust.checkWidth("the refused amount")
		cust.screenshot("link-amount-refused-" + c.typed)
	}

	// A good amount goes on to the method choice for it; nothing is made
	// before a method is chosen.
	cust.typeInto(`#amount`, "1,500")
	cust.tapAndLoad("send the amount 1,500", `form.link-amount button[type=submit]`)
	cust.step("wait for the method choice", chromedp.WaitVisible(chromedp.CSS(`button[name=method][value=pesapal]`)))
	if got := cust.text(".summary .amount"); got != "KES 1,500.00" {
		t.Errorf("the method choice is for %q, want KES 1,500.00", got)
	}
	if got := cust.text(".summary .description"); got != description {
		t.Errorf("the method choice describes the order as %q, want %q", got, description)
	}
	if n := cust.count(`#amount-error, [aria-invalid="true"]`); n != 0 {
		t.Errorf("the method choice for a good amount marks %d fields, want none", n)
	}
	if got := cust.value(`form.method-choice input[type=hidden][name=amount]`); got != "1,500" {
		t.Errorf("the method choice carries the amount %q, want what was typed, 1,500", got)
	}
	back, err := chromedp.Run(cust.ctx, chromedp.AttributeValue(chromedp.CSS(`.back a`), "href"))
	if err != nil || back.Value != "/l/"+linkID {
		t.Errorf("Change the amount goes to %q (%v), want /l/%s", back.Value, err, linkID)
	}
	cust.checkWidth("the method choice")
	cust.screenshot("link-amount-methods")

	admin.step("open the link's orders",
		chromedp.Navigate(base+"/admin/orders?link="+url.QueryEscape(linkID)),
		chromedp.WaitVisible(chromedp.CSS(`main h1`)),
	)
	if n := admin.count(`main table tbody tr`); n != 0 {
		t.Errorf("the link has %d orders before the customer chose a method, want none", n)
	}
	admin.checkLinkPage(base, linkID, "0", "KES 0.00")
}
