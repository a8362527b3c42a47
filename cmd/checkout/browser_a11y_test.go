package main

// The accessibility tests: axe-core (vendored in testdata/axe, see its
// README; test data, not in the binary) run by a real Chromium on every
// customer page and the main admin pages, each at a phone's and a
// desktop's size, and a checkout paid with the keyboard alone. One app and
// one browser serve both.
//
// The pages' Content-Security-Policy allows only nonce'd scripts, so axe
// cannot be added as a <script>. It is evaluated through the DevTools
// protocol (Runtime.evaluate), which the CSP does not govern: the browser
// reports no violation for it (the console recorder fails the test on any)
// and axe is defined afterwards.

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/chromedp/cdproto/page"
	"github.com/chromedp/chromedp"
	"github.com/chromedp/chromedp/kb"
	"github.com/pquerna/otp/totp"

	"checkout/gateway/sandbox"
	"checkout/payments"
)

// a11yPage is one page the axe test checks. Most are a GET of path; a page
// that only a form's answer shows (a field error, the M-Pesa waiting page)
// is reached by reach instead. Adding a page is one line:
//
//	{name: "team", path: "/admin/team"},
type a11yPage struct {
	name  string                // what the page is, in messages
	path  string                // the page's path, opened when reach is nil
	wait  string                // shows once the page is ready; "" is #main
	reach func(p *browserPhone) // gets the tab to the page instead of path
}

// a11ySize is a viewport every page is checked at.
type a11ySize struct {
	name     string
	viewport chromedp.Action[chromedp.Void]
}

// a11ySizes: the cheap phone of the other browser tests, and a laptop.
var a11ySizes = []a11ySize{
	{"phone 360x740", phoneViewport()},
	{"desktop 1280x800", chromedp.EmulateViewport(1280, 800)},
}

// axeScript is the vendored axe-core.
func axeScript(t *testing.T) string {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("testdata", "axe", "axe.min.js"))
	if err != nil {
		t.Fatalf("read axe-core: %v", err)
	}
	return string(b)
}

// axeViolation is one rule axe found broken, with the elements that break
// it.
type axeViolation struct {
	ID      string `json:"id"`
	Impact  string `json:"impact"`
	Help    string `json:"help"`
	HelpURL string `json:"helpUrl"`
	Nodes   []struct {
		Target  string `json:"target"`
		Summary string `json:"summary"`
	} `json:"nodes"`
}

// axeResult is what one axe run found: the broken rules, how many rules
// passed (so a run that checked nothing shows), and the rules axe could not
// decide on the page (a contrast over a background image, say).
type axeResult struct {
	Violations []axeViolation `json:"violations"`
	Passes     int            `json:"passes"`
	Incomplete []string       `json:"incomplete"`
}

// axeRunJS runs axe's default rules (WCAG 2 A and AA, best practices) on
// the page, and WCAG 2.2's target size (24 px, or room around: thumbs on
// a phone), which axe leaves off by default; frames are left out (the only
// one is the provider's page).
const axeRunJS = `axe.run(document, {iframes: false, resultTypes: ["violations"],
	rules: {"target-size": {enabled: true}}}).then(r => ({
	violations: r.violations.map(v => ({
		id: v.id, impact: v.impact || "", help: v.help, helpUrl: v.helpUrl,
		nodes: v.nodes.map(n => ({target: n.target.flat().join(" "), summary: n.failureSummary || ""})),
	})),
	passes: r.passes.length,
	incomplete: r.incomplete.map(v => v.id + " (" + (v.impact || "") + "): " + v.nodes.map(n => n.target.flat().join(" ")).join(", ")),
}))`

// withT is p reporting to t (a subtest's).
func (p *browserPhone) withT(t *testing.T) *browserPhone {
	q := *p
	q.t = t
	return &q
}

// checkAxe runs axe on the page the tab shows, at each size, and fails the
// test for each serious or critical violation, naming the rule, its
// impact, the elements and the rule's help page; lesser ones are logged.
// The tab is at the phone's size afterwards.
func (p *browserPhone) checkAxe(name, script string) {
	p.t.Helper()
	defined, err := chromedp.Run(p.ctx, chromedp.Evaluate[bool](`typeof axe === "object"`))
	if err != nil {
		p.t.Fatalf("%s: look for axe (at %s): %v", name, p.at(), err)
	}
	if !defined {
		kind, err := chromedp.Run(p.ctx, chromedp.Evaluate[string](script+"\n;typeof axe"))
		if err != nil || kind != "object" {
			p.t.Fatalf("%s: evaluate axe-core in the page (at %s): typeof axe is %q (%v)", name, p.at(), kind, err)
		}
	}
	defer p.step("back to the phone's size", phoneViewport())
	for i, size := range a11ySizes {
		p.step(name+": resize to "+size.name, size.viewport)
		if i == 0 {
			// WCAG 1.4.10 Reflow, which axe does not check: nothing but a
			// table scrolls sideways on the phone.
			p.checkWidth(name)
		}
		found, err := chromedp.Run(p.ctx, chromedp.Evaluate[axeResult](axeRunJS, chromedp.EvalAwaitPromise))
		if err != nil {
			p.t.Fatalf("%s at %s: run axe (at %s): %v", name, size.name, p.at(), err)
		}
		// A page has a language, a title, landmarks, headings...: a run
		// that passed fewer rules did not look at it.
		if found.Passes < 10 {
			p.t.Errorf("%s at %s: axe passed only %d rules: did it check the page?", name, size.name, found.Passes)
		}
		if len(found.Incomplete) > 0 {
			p.t.Logf("%s at %s: axe could not decide %v", name, size.name, found.Incomplete)
		}
		for _, v := range found.Violations {
			var b strings.Builder
			fmt.Fprintf(&b, "%s at %s: %s (%s): %s; %s", name, size.name, v.ID, v.Impact, v.Help, v.HelpURL)
			for _, n := range v.Nodes {
				fmt.Fprintf(&b, "\n\t%s: %s", n.Target, strings.ReplaceAll(n.Summary, "\n", " "))
			}
			if v.Impact == "serious" || v.Impact == "critical" {
				p.t.Error(b.String())
			} else {
				p.t.Log(b.String())
			}
		}
	}
}

// a11yClock is the app's clock: the real time, moved on by the test to let
// a checkout expire.
type a11yClock struct{ ahead atomic.Int64 }

func (c *a11yClock) Now() time.Time { return time.Now().Add(time.Duration(c.ahead.Load())) }

// a11yAPI calls the merchant API and decodes its JSON answer, failing the
// test unless the status is want.
func a11yAPI(t *testing.T, base, method, path, body string, want int) map[string]any {
	t.Helper()
	req, err := http.NewRequest(method, base+path, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Authorization", "Bearer "+browserTestAPIKey)
	req.Header.Set("Content-Type", "application/json")
	res, err := (&http.Client{Timeout: 10 * time.Second}).Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", method, path, err)
	}
	defer res.Body.Close()
	raw, err := io.ReadAll(res.Body)
	if err != nil {
		t.Fatal(err)
	}
	if res.StatusCode != want {
		t.Fatalf("%s %s: status %d, want %d: %s", method, path, res.StatusCode, want, raw)
	}
	var out map[string]any
	if err := json.Unmarshal(raw, &out); err != nil {
		t.Fatalf("%s %s: decode %s: %v", method, path, raw, err)
	}
	return out
}

// a11yID is the id of an API object.
func a11yID(t *testing.T, obj map[string]any) string {
	t.Helper()
	id, _ := obj["id"].(string)
	if id == "" {
		t.Fatalf("the API answered no id: %v", obj)
	}
	return id
}

// a11yStartApp runs the whole app in sandbox mode with the admin of the
// browser tests, a payout provider and clock's time.
func a11yStartApp(t *testing.T, clock *a11yClock) (base string, a *app) {
	t.Helper()
	addr := freeAddr(t)
	base = "http://" + addr
	a, _ = startApp(t, map[string]string{
		"CHECKOUT_ADDR":            addr,
		"CHECKOUT_PUBLIC_URL":      base,
		"CHECKOUT_DB":              filepath.Join(t.TempDir(), "checkout.db"),
		"CHECKOUT_API_KEY":         browserTestAPIKey,
		"CHECKOUT_ADMIN_EMAIL":     "admin@example.com",
		"CHECKOUT_ADMIN_PASSWORD":  browserTestPassword,
		"CHECKOUT_PAYOUT_PROVIDER": "pokeapay",
	}, clock.Now)
	if a.Sandbox == nil {
		t.Fatal("the app did not start in sandbox mode")
	}
	return base, a
}

// pendingPrompt waits (5 s at most) for the simulator's one pending M-Pesa
// prompt to msisdn and returns it.
func pendingPrompt(t *testing.T, sb *sandbox.Sandbox, msisdn string) sandbox.STKPrompt {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for {
		var found []sandbox.STKPrompt
		for _, pr := range sb.STKPrompts() {
			if pr.Phone == msisdn && pr.Status == sandbox.STKPending {
				found = append(found, pr)
			}
		}
		if len(found) == 1 {
			return found[0]
		}
		if len(found) > 1 || time.Now().After(deadline) {
			t.Fatalf("the simulator has %d pending prompts to %s, want 1", len(found), msisdn)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// submitForm presses the submit button sel and waits for the page the
// form's answer is.
func (p *browserPhone) submitForm(what, sel string) {
	p.t.Helper()
	if _, err := chromedp.Run(p.ctx, chromedp.WaitEvent(page.LoadEventFired, nil,
		chromedp.Click(chromedp.CSS(sel)))); err != nil {
		p.t.Fatalf("%s (at %s): %v", what, p.at(), err)
	}
}

// choosePesapal chooses Pesapal on the checkout page the tab shows, with
// an email for the receipt when the page asks for one, and returns
// Pesapal's order for the frame it lands on.
func (p *browserPhone) choosePesapal(sb *sandbox.Sandbox) sandbox.Order {
	p.t.Helper()
	if p.count(`#contact`) > 0 {
		p.typeInto(`#contact`, "jane@example.com")
	}
	p.submitForm("choose Pesapal", `button[name=method][value=pesapal]`)
	return p.pesapalFrameOrder(sb)
}

// pesapalFrameOrder waits for the Pesapal frame page and returns Pesapal's
// order for its frame.
func (p *browserPhone) pesapalFrameOrder(sb *sandbox.Sandbox) sandbox.Order {
	p.t.Helper()
	p.step("wait for the Pesapal frame", chromedp.WaitVisible(chromedp.CSS(`iframe.pay-frame`)))
	src, err := chromedp.Run(p.ctx, chromedp.AttributeValue(chromedp.CSS(`iframe.pay-frame`), "src"))
	if err != nil {
		p.t.Fatalf("read the frame's address: %v", err)
	}
	u, err := url.Parse(src.Value)
	if err != nil {
		p.t.Fatalf("the frame's address %q: %v", src.Value, err)
	}
	o, ok := sb.PesapalOrder(u.Query().Get("OrderTrackingId"))
	if !ok {
		p.t.Fatalf("the simulator has no Pesapal order for the frame %s", src.Value)
	}
	return o
}

// pesapalReturnPath is where Pesapal sends the customer back for o.
func pesapalReturnPath(o sandbox.Order) string {
	return "/return/pesapal?" + url.Values{"OrderTrackingId": {o.TrackingID},
		"OrderMerchantReference": {o.MerchantReference}, "OrderNotificationType": {"CALLBACKURL"}}.Encode()
}

func TestBrowserAccessibility(t *testing.T) {
	chrome := browserChrome(t)
	script := axeScript(t)
	clock := &a11yClock{}
	base, a := a11yStartApp(t, clock)
	sb := a.Sandbox
	p := browserOpenPhoneFor(t, chrome, 5*time.Minute)

	t.Run("keyboard only payment", func(t *testing.T) {
		keyboardPayment(p.withT(t), base, sb)
	})

	t.Run("axe", func(t *testing.T) {
		axeEveryPage(p.withT(t), base, sb, clock, script)
	})
}

// axeEveryPage makes a checkout in each state the customer can see, a
// link of each kind, a refund and payouts, and checks every page of them
// with axe, then the admin's.
func axeEveryPage(p *browserPhone, base string, sb *sandbox.Sandbox, clock *a11yClock, script string) {
	t := p.t
	newCheckout := func(body string) string {
		t.Helper()
		return a11yID(t, a11yAPI(t, base, http.MethodPost, "/api/v1/checkouts", body, http.StatusCreated))
	}
	// Several methods, the M-Pesa number filled, a way back to the shop.
	many := newCheckout(`{"amount": "1500", "currency": "KES", "reference": "a11y-many", "description": "Two bags of coffee",
		"customer": {"phone": "0733 100 200", "email": "jane@example.com"}, "cancel_url": "https://shop.example/cart"}`)
	// No customer details: the page asks for a receipt contact with
	// Pesapal, PokeaPay for a phone and an email first.
	pesapal := newCheckout(`{"amount": "2400", "currency": "KES", "reference": "a11y-pesapal", "description": "A sack of beans"}`)
	cancel := newCheckout(`{"amount": "900", "currency": "KES", "reference": "a11y-cancel", "description": "Tea",
		"cancel_url": "https://shop.example/cart"}`)
	expire := newCheckout(`{"amount": "700", "currency": "KES", "reference": "a11y-expire", "description": "Milk",
		"expires_in": 900}`)
	fixedLink := a11yID(t, a11yAPI(t, base, http.MethodPost, "/api/v1/payment_links",
		`{"amount": "500", "currency": "KES", "description": "Coffee subscription"}`, http.StatusCreated))
	openLink := a11yID(t, a11yAPI(t, base, http.MethodPost, "/api/v1/payment_links",
		`{"min_amount": "100", "max_amount": "5000", "currency": "KES", "description": "Donation"}`, http.StatusCreated))

	// The pages allow only their own nonce'd scripts: axe, evaluated
	// through the DevTools protocol, runs all the same, and the browser
	// reports no CSP violation for it (the console recorder would fail the
	// test).
	res, err := http.Get(base + "/c/" + many)
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	csp := res.Header.Get("Content-Security-Policy")
	if !strings.Contains(csp, "script-src 'nonce-") || strings.Contains(csp, "unsafe-") {
		t.Fatalf("the checkout page's Content-Security-Policy is %q, want scripts by nonce only", csp)
	}

	var pesapalOrder sandbox.Order
	customer := []a11yPage{
		{name: "checkout, several methods", path: "/c/" + many, wait: `form.stk-form #phone`},
		{name: "checkout, a field error", wait: `#phone-error`, reach: func(p *browserPhone) {
			p.typeInto(`form.stk-form #phone`, "12")
			p.submitForm("send the prompt to a bad number", `form.stk-form button[type=submit]`)
		}},
		{name: "M-Pesa: check your phone", wait: `#stk-heading`, reach: func(p *browserPhone) {
			p.typeInto(`form.stk-form #phone`, "0733 100 200")
			p.submitForm("send the prompt", `form.stk-form button[type=submit]`)
		}},
		{name: "M-Pesa: no answer yet", wait: `.status-note`, reach: func(p *browserPhone) {
			// The prompt has left the phone (its window passed) with no
			// verdict from M-Pesa.
			clock.ahead.Store(int64(payments.STKPromptWindow + 5*time.Second))
			p.t.Cleanup(func() { clock.ahead.Store(0) })
			p.step("open the waiting page again", chromedp.Navigate(base+"/c/"+many+"/stk"))
			clock.ahead.Store(0)
		}},
		{name: "checkout, the prompt declined", wait: `.alert`, reach: func(p *browserPhone) {
			pr := pendingPrompt(p.t, sb, "254733100200")
			if err := sb.STKAnswer(pr.Provider, pr.Reference, sandbox.STKCodeCancelled, true); err != nil {
				p.t.Fatal(err)
			}
			p.step("wait for the checkout page with the reason", chromedp.WaitVisible(chromedp.CSS(`.pay-area form.stk-form`)))
		}},
		{name: "checkout, no customer details", path: "/c/" + pesapal, wait: `#contact`},
		{name: "checkout, the receipt contact missing", wait: `#contact-error`, reach: func(p *browserPhone) {
			p.submitForm("choose Pesapal without a contact", `button[name=method][value=pesapal]`)
		}},
		{name: "PokeaPay: the contact step", wait: `form.contact-step`, reach: func(p *browserPhone) {
			p.step("open the checkout", chromedp.Navigate(base+"/c/"+pesapal))
			p.submitForm("choose PokeaPay", `button[name=method][value=pokeapay]`)
		}},
		{name: "Pesapal: the payment frame", wait: `iframe.pay-frame`, reach: func(p *browserPhone) {
			p.step("open the checkout", chromedp.Navigate(base+"/c/"+pesapal))
			pesapalOrder = p.choosePesapal(sb)
		}},
		{name: "checkout, a payment pending", path: "/c/" + pesapal, wait: `.pending-note`},
		{name: "result, failed", wait: `#status`, reach: func(p *browserPhone) {
			if err := sb.PesapalDecline(pesapalOrder.TrackingID, false); err != nil {
				p.t.Fatal(err)
			}
			p.step("come back from Pesapal", chromedp.Navigate(base+pesapalReturnPath(pesapalOrder)))
		}},
		{name: "result, paid", wait: `.status-paid-text`, reach: func(p *browserPhone) {
			p.step("open the checkout again", chromedp.Navigate(base+"/c/"+pesapal))
			o := p.choosePesapal(sb)
			if err := sb.PesapalComplete(o.TrackingID, false); err != nil {
				p.t.Fatal(err)
			}
			p.step("come back from Pesapal", chromedp.Navigate(base+pesapalReturnPath(o)))
		}},
		{name: "receipt", path: "/c/" + pesapal, wait: `#receipt-heading`},
		{name: "cancelled", wait: `.notice`, reach: func(p *browserPhone) {
			p.step("open the checkout", chromedp.Navigate(base+"/c/"+cancel), chromedp.WaitVisible(chromedp.CSS(`.cancel-form`)))
			p.submitForm("cancel", `.cancel-form button[type=submit]`)
		}},
		{name: "expired", wait: `.notice`, reach: func(p *browserPhone) {
			clock.ahead.Store(int64(16 * time.Minute))
			p.t.Cleanup(func() { clock.ahead.Store(0) })
			p.step("open the expired checkout", chromedp.Navigate(base+"/c/"+expire))
			clock.ahead.Store(0)
		}},
		{name: "not found", path: "/c/co_doesnotexist0000", wait: `.notice`},
		{name: "payment link, fixed amount", path: "/l/" + fixedLink, wait: `form.method-choice`},
		{name: "payment link, the customer's amount", path: "/l/" + openLink, wait: `#main form`},
		{name: "payment link, an amount out of bounds", wait: `.field-error`, reach: func(p *browserPhone) {
			p.typeInto(`#amount`, "9")
			p.submitForm("send an amount below the least", `#main form button[type=submit]`)
		}},
		// In Swahili (the switch's link sets the browser's language), then
		// back to English for the pages after.
		{name: "payment link in Swahili", path: "/l/" + fixedLink + "?lang=sw", wait: `html[lang=sw] form.method-choice`},
		{name: "not found in Swahili", path: "/c/co_doesnotexist0000", wait: `html[lang=sw] .notice`},
		{name: "payment link in English again", path: "/l/" + fixedLink + "?lang=en", wait: `html[lang=en] form.method-choice`},
	}
	for _, pg := range customer {
		p.visit(base, pg, script)
	}

	// The admin's pages show a paid order with a refund, a link, a payout
	// sent and one waiting for approval, and the webhook deliveries.
	refund := a11yID(t, a11yAPI(t, base, http.MethodPost, "/api/v1/checkouts/"+pesapal+"/refunds", `{"reason": "Out of stock"}`, http.StatusCreated))
	payout := a11yID(t, a11yAPI(t, base, http.MethodPost, "/api/v1/payouts",
		`{"amount": "250", "phone": "0712 345 678", "name": "Jane Doe", "reference": "a11y-payout"}`, http.StatusCreated))
	bigPayout := a11yID(t, a11yAPI(t, base, http.MethodPost, "/api/v1/payouts",
		`{"amount": "20000", "phone": "0712 345 679", "name": "John Doe", "reference": "a11y-payout-big"}`, http.StatusCreated))
	// The same pages on every run: the receipt email is in the order's
	// events, the refund and the small payout are done.
	waitFor(t, "the receipt email is sent", func() bool {
		for _, m := range sb.Mails() {
			if m.To == "jane@example.com" {
				return true
			}
		}
		return false
	})
	waitFor(t, "the refund succeeds", func() bool {
		return a11yAPI(t, base, http.MethodGet, "/api/v1/refunds/"+refund, "", http.StatusOK)["status"] == "succeeded"
	})
	waitFor(t, "the payout succeeds", func() bool {
		return a11yAPI(t, base, http.MethodGet, "/api/v1/payouts/"+payout, "", http.StatusOK)["status"] == "succeeded"
	})

	admin := []a11yPage{
		{name: "admin login", path: "/admin/login", wait: `#email`},
		{name: "admin login, a wrong password", wait: `.alert`, reach: func(p *browserPhone) {
			p.typeInto(`#email`, "admin@example.com")
			p.typeInto(`#password`, "not the password")
			p.submitForm("log in with a wrong password", `form[action="/admin/login"] button[type=submit]`)
		}},
		{name: "dashboard", wait: `#fig-paid-count`, reach: func(p *browserPhone) {
			p.typeInto(`#email`, "admin@example.com")
			p.typeInto(`#password`, browserTestPassword)
			p.submitForm("log in", `form[action="/admin/login"] button[type=submit]`)
		}},
		{name: "orders", path: "/admin/orders"},
		{name: "order", path: "/admin/orders/" + pesapal},
		{name: "payment links", path: "/admin/links"},
		{name: "payment link", path: "/admin/links/" + fixedLink},
		{name: "new payment link", path: "/admin/links/new", wait: `form.link-form`},
		{name: "new payment link, a field error", wait: `.field-error`, reach: func(p *browserPhone) {
			p.submitForm("make a link without a description", `form.link-form button[type=submit]`)
		}},
		{name: "refunds", path: "/admin/refunds"},
		{name: "refund", path: "/admin/refunds/" + refund},
		{name: "payouts", path: "/admin/payouts"},
		{name: "payout", path: "/admin/payouts/" + payout},
		{name: "payout waiting for approval", path: "/admin/payouts/" + bigPayout},
		{name: "send money", path: "/admin/payouts/new"},
		{name: "webhooks", path: "/admin/webhooks"},
		{name: "deliveries", path: "/admin/deliveries"},
		{name: "merchants", path: "/admin/merchants"},
		{name: "new merchant", path: "/admin/merchants/new", wait: `form.merchant-form`},
		{name: "merchant", path: "/admin/merchants/default", wait: `form.merchant-form`},
		{name: "merchant, a key just made", wait: `#new-key`, reach: func(p *browserPhone) {
			p.typeInto(`#f-key-name`, "Shop server")
			p.submitForm("make a key", `form:has(#f-key-name) button[type=submit]`)
		}},
		{name: "team", path: "/admin/team", wait: `form.invite-form`},
		{name: "team, an invite sent", wait: `.new-invite`, reach: func(p *browserPhone) {
			p.typeInto(`#email`, "new.person@example.com")
			p.submitForm("invite", `form.invite-form button[type=submit]`)
		}},
		{name: "audit log", path: "/admin/audit"},
		{name: "account", path: "/admin/account", wait: `form.password-form`},
		{name: "two-factor set-up", path: "/admin/account/totp", wait: `.totp-secret`},
		{name: "invite", wait: `#password`, reach: func(p *browserPhone) {
			p.step("open the invite link", chromedp.Navigate(inviteLink(p.t, sb, base, "new.person@example.com")))
		}},
		{name: "API reference", path: "/docs/api"},
		{name: "two-factor login", wait: `#code`, reach: func(p *browserPhone) {
			// Two-factor on for the admin, then a new login's second step.
			p.step("open the set-up", chromedp.Navigate(base+"/admin/account/totp"), chromedp.WaitVisible(chromedp.CSS(`.totp-secret`)))
			code, err := totp.GenerateCode(strings.ReplaceAll(p.text(`.totp-secret`), " ", ""), time.Now())
			if err != nil {
				p.t.Fatal(err)
			}
			p.typeInto(`#code`, code)
			p.submitForm("turn two-factor on", `form.totp-confirm button[type=submit]`)
			p.submitForm("log out", `form.logout button[type=submit]`)
			p.step("open the login", chromedp.Navigate(base+"/admin/login"), chromedp.WaitVisible(chromedp.CSS(`#email`)))
			p.typeInto(`#email`, "admin@example.com")
			p.typeInto(`#password`, browserTestPassword)
			p.submitForm("log in", `form[action="/admin/login"] button[type=submit]`)
		}},
	}
	for _, pg := range admin {
		p.visit(base, pg, script)
	}
}

// inviteLink is the invite link the sandbox's inbox holds for email.
func inviteLink(t *testing.T, sb *sandbox.Sandbox, base, email string) string {
	t.Helper()
	re := regexp.MustCompile(regexp.QuoteMeta(base) + `/admin/invite/[A-Za-z0-9_-]+`)
	for _, m := range sb.Mails() {
		if m.To == email {
			if l := re.FindString(m.Text); l != "" {
				return l
			}
		}
	}
	t.Fatalf("no invite link mailed to %s", email)
	return ""
}

// visit gets the tab to pg at the phone's size and checks it with axe, as
// a subtest named after it.
func (p *browserPhone) visit(base string, pg a11yPage, script string) {
	p.t.Helper()
	p.t.Run(pg.name, func(t *testing.T) {
		q := p.withT(t)
		q.step("phone size", phoneViewport())
		if pg.reach != nil {
			pg.reach(q)
		} else {
			q.step("open "+pg.path, chromedp.Navigate(base+pg.path))
		}
		wait := pg.wait
		if wait == "" {
			wait = "#main"
		}
		ctx, cancel := context.WithTimeout(q.ctx, 10*time.Second)
		defer cancel()
		if err := chromedp.Do(ctx, chromedp.WaitVisible(chromedp.CSS(wait))); err != nil {
			t.Fatalf("%s: %s did not show (at %s): %v", pg.name, wait, q.at(), err)
		}
		q.checkAxe(pg.name, script)
	})
}

// focused is what has the keyboard focus, and whether it shows.
type focused struct {
	Tag   string `json:"tag"`
	ID    string `json:"id"`
	Name  string `json:"name"`
	Text  string `json:"text"`
	Value string `json:"value"`
	// FocusVisible: the element matches :focus-visible, so the browser
	// takes the focus to come from the keyboard.
	FocusVisible bool `json:"focusVisible"`
	// Outline and Shadow are the element's computed outline and
	// box-shadow; a visible focus has one of them.
	Outline string `json:"outline"`
	Shadow  string `json:"shadow"`
}

func (f focused) String() string {
	s := "<" + f.Tag
	if f.ID != "" {
		s += " id=" + f.ID
	}
	if f.Name != "" {
		s += " name=" + f.Name
	}
	s += ">"
	if f.Text != "" {
		s += fmt.Sprintf(" %q", f.Text)
	}
	return s
}

const focusedJS = `(() => {
	const el = document.activeElement;
	if (!el || el === document.body || el === document.documentElement) { return {tag: "body"}; }
	const cs = getComputedStyle(el);
	const outline = cs.outlineStyle !== "none" && parseFloat(cs.outlineWidth) > 0 ? cs.outlineWidth + " " + cs.outlineStyle + " " + cs.outlineColor : "";
	return {tag: el.tagName.toLowerCase(), id: el.id, name: el.getAttribute("name") || "",
		text: (el.innerText || "").trim().replace(/\s+/g, " ").slice(0, 60), value: el.value || "",
		focusVisible: el.matches(":focus-visible"), outline, shadow: cs.boxShadow === "none" ? "" : cs.boxShadow};
})()`

// press sends keys (kb's names) to whatever has the focus, with modifiers.
func (p *browserPhone) press(what, keys string, opts ...chromedp.KeyOption) {
	p.t.Helper()
	p.step(what, chromedp.KeyEvent(keys, opts...))
}

// focus is what has the focus; on anything but the page itself it must
// show it (the browser's :focus-visible, and an outline or a box-shadow).
func (p *browserPhone) focus() focused {
	p.t.Helper()
	f, err := chromedp.Run(p.ctx, chromedp.Evaluate[focused](focusedJS))
	if err != nil {
		p.t.Fatalf("read the focus (at %s): %v", p.at(), err)
	}
	if f.Tag != "body" && (!f.FocusVisible || f.Outline == "" && f.Shadow == "") {
		p.t.Errorf("the focus on %s does not show (at %s): :focus-visible %v, outline %q, box-shadow %q",
			f, p.at(), f.FocusVisible, f.Outline, f.Shadow)
	}
	return f
}

// tabTo presses Tab until the focus is on an element is says is the one,
// checking that the focus shows on each element on the way, and returns
// the elements it went through. It gives up after 40 presses.
func (p *browserPhone) tabTo(what string, is func(focused) bool) []focused {
	p.t.Helper()
	var path []focused
	for range 40 {
		p.press("Tab", kb.Tab)
		f := p.focus()
		path = append(path, f)
		if is(f) {
			return path
		}
	}
	p.t.Fatalf("40 presses of Tab did not reach %s (at %s); the focus went through %v", what, p.at(), path)
	return nil
}

// tabAround presses Tab until the focus has left the page's last element
// (it is back on the page or its first element again), checking that the
// focus shows on each, and returns the elements it went through.
func (p *browserPhone) tabAround() []focused {
	p.t.Helper()
	var path []focused
	for range 40 {
		p.press("Tab", kb.Tab)
		f := p.focus()
		if f.Tag == "body" || len(path) > 0 && f == path[0] {
			return path
		}
		path = append(path, f)
	}
	p.t.Fatalf("40 presses of Tab did not go round the page (at %s): %v", p.at(), path)
	return nil
}

// keyboardPayment pays a checkout with the keyboard alone: from the top of
// the checkout page Tab to the M-Pesa number, type it, Tab to "Send M-Pesa
// prompt" (Shift+Tab back to the number and Tab again on the way), press
// Space; on the waiting page Enter opens "No prompt on your phone?"; the
// customer approves the prompt on the phone, and the waiting page turns
// into the receipt. The focus shows on every element it lands on, and the
// waiting page and the receipt can be gone through with Tab. Nothing is
// clicked.
func keyboardPayment(p *browserPhone, base string, sb *sandbox.Sandbox) {
	t := p.t
	co := browserCreateCheckout(t, base, map[string]any{
		"amount": "1500", "currency": "KES", "reference": "a11y-keyboard", "description": stkDescription,
	})
	p.step("open the checkout page",
		chromedp.EmulateViewport(1280, 800),
		chromedp.Navigate(co.URL),
		chromedp.WaitVisible(chromedp.CSS(`form.stk-form #phone`)),
	)
	if f := p.focus(); f.Tag != "body" {
		t.Fatalf("the checkout page opens with the focus on %s, want it on the page", f)
	}

	isPhone := func(f focused) bool { return f.ID == "phone" }
	path := p.tabTo("the M-Pesa number", isPhone)
	if len(path) < 2 {
		t.Errorf("Tab went straight to the M-Pesa number, past no other method: %v", path)
	}
	t.Logf("Tab went through %v", path)
	p.press("type the M-Pesa number", "0722 000 111")
	isSend := func(f focused) bool { return f.Tag == "button" && f.Text == "Send M-Pesa prompt" }
	if f := p.tabTo("Send M-Pesa prompt", isSend); len(f) != 1 {
		t.Errorf("from the M-Pesa number Tab went through %v to Send M-Pesa prompt, want it next", f)
	}
	p.press("Shift+Tab", kb.Tab, chromedp.KeyModifiers(chromedp.ModifierShift))
	if f := p.focus(); !isPhone(f) || f.Value != "0722 000 111" {
		t.Errorf("Shift+Tab from Send M-Pesa prompt went to %s (value %q), want the M-Pesa number with 0722 000 111", f, f.Value)
	}
	p.press("Tab", kb.Tab)
	if f := p.focus(); !isSend(f) {
		t.Fatalf("Tab from the M-Pesa number went to %s, want Send M-Pesa prompt", f)
	}
	if _, err := chromedp.Run(p.ctx, chromedp.WaitEvent(page.LoadEventFired, nil, chromedp.KeyEvent(" "))); err != nil {
		t.Fatalf("press Space on Send M-Pesa prompt (at %s): %v", p.at(), err)
	}
	p.step("wait for Check your phone", chromedp.WaitVisible(chromedp.CSS(`#stk-heading`)))
	if loc := p.location(); loc != co.URL+"/stk" {
		t.Fatalf("after Space on Send M-Pesa prompt the browser is at %s, want %s/stk", loc, co.URL)
	}
	if got := p.text(`.stk-wait strong.mono`); got != "0722 000 111" {
		t.Errorf("the prompt went to %q, want the number typed, 0722 000 111", got)
	}
	// "No prompt on your phone?" opens with Enter, and its form takes the
	// focus next.
	p.tabTo("No prompt on your phone?", func(f focused) bool { return f.Tag == "summary" })
	p.press("Enter on No prompt on your phone?", kb.Enter)
	if open, err := chromedp.Run(p.ctx, chromedp.Evaluate[bool](`document.querySelector("details.stk-retry").open`)); err != nil || !open {
		t.Errorf("Enter on No prompt on your phone? left it closed (%v)", err)
	}
	p.press("Tab", kb.Tab)
	if f := p.focus(); !isPhone(f) || f.Value != "0722 000 111" {
		t.Errorf("Tab from No prompt on your phone? went to %s (value %q), want the M-Pesa number with 0722 000 111", f, f.Value)
	}
	t.Logf("on the waiting page Tab goes on through %v", p.tabAround())

	// The customer approves the prompt on the phone; the waiting page turns
	// into the receipt by itself.
	pr := pendingPrompt(t, sb, "254722000111")
	if err := sb.STKAnswer(pr.Provider, pr.Reference, sandbox.STKCodeSuccess, true); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(p.ctx, 15*time.Second)
	defer cancel()
	if err := chromedp.Do(ctx, chromedp.WaitVisible(chromedp.CSS(`#receipt-heading`))); err != nil {
		t.Fatalf("the waiting page did not turn into the receipt within 15 s of the approval (at %s): %v", p.at(), err)
	}
	if got := p.text(`#receipt-heading`); got != "Payment received" {
		t.Errorf("the receipt's heading is %q, want Payment received", got)
	}
	if got := p.text(`.receipt .amount`); got != "KES 1,500.00" {
		t.Errorf("the receipt's amount is %q, want KES 1,500.00", got)
	}
	t.Logf("on the receipt Tab goes through %v", p.tabAround())
	browserPaidCheckout(t, base, co.ID, "stk", 5*time.Second)
}
