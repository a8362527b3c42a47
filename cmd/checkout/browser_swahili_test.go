package main

import (
	"strings"
	"testing"

	"github.com/chromedp/cdproto/page"
	"github.com/chromedp/chromedp"

	"checkout/gateway/sandbox"
)

// TestBrowserSwitchesToKiswahiliAndPaysWithMPesa: on a phone, the customer
// taps "Kiswahili" on the checkout page (a plain link, under the app's
// CSP), sends the M-Pesa prompt, approves it, and the waiting page's htmx
// poll turns it into the receipt: every page on the way is in Swahili,
// <html lang="sw">, without the customer choosing again.
func TestBrowserSwitchesToKiswahiliAndPaysWithMPesa(t *testing.T) {
	chrome := browserChrome(t)
	base, sb := browserStartApp(t, browserFreePort(t))
	co := browserSTKCheckout(t, base, "browser-sw-1")

	p := browserOpenPhone(t, chrome)
	p.openCheckout(co, `form.stk-form #phone`, stkDescription, "sw-checkout-en")
	lang := func(what string) string {
		t.Helper()
		attrs, err := chromedp.Run(p.ctx, chromedp.Attributes(chromedp.CSS(`html`)))
		if err != nil {
			t.Fatalf("read <html lang> of %s: %v", what, err)
		}
		return attrs["lang"]
	}
	if got := lang("the checkout page"); got != "en" {
		t.Fatalf("the checkout page is in %q before the switch, want en", got)
	}

	if _, err := chromedp.Run(p.ctx, chromedp.WaitEvent(page.LoadEventFired, nil,
		chromedp.Tap(chromedp.CSS(`.lang-switch a[lang=sw]`)))); err != nil {
		t.Fatalf("tap Kiswahili (at %s): %v", p.at(), err)
	}
	p.step("wait for the Swahili checkout page", chromedp.WaitVisible(chromedp.CSS(`form.stk-form #phone`)))
	if got := lang("the checkout page after the switch"); got != "sw" {
		t.Errorf("after tapping Kiswahili the page is in %q", got)
	}
	if got := p.text(`form.stk-form legend`); got != "M-Pesa kwenye simu yako" {
		t.Errorf("the M-Pesa form's legend is %q", got)
	}
	p.checkWidth("the Swahili checkout page")
	p.screenshot("sw-checkout")

	if _, err := chromedp.Run(p.ctx, chromedp.WaitEvent(page.LoadEventFired, nil,
		chromedp.Tap(chromedp.CSS(`form.stk-form button[type=submit]`)))); err != nil {
		t.Fatalf("press Tuma ombi la M-Pesa (at %s): %v", p.at(), err)
	}
	p.step("wait for Angalia simu yako", chromedp.WaitVisible(chromedp.CSS(`#stk-heading`)))
	if got := p.text(`#stk-heading`); got != "Angalia simu yako" {
		t.Errorf("the waiting page's heading is %q, want Angalia simu yako", got)
	}
	if got := p.text(`.countdown-line`); !strings.Contains(got, "sekunde") {
		t.Errorf("the countdown line is %q", got)
	}
	if got := lang("the waiting page"); got != "sw" {
		t.Errorf("the waiting page is in %q", got)
	}
	p.checkWidth("the Swahili waiting page")
	p.screenshot("sw-stk-wait")

	navs := p.topNavigations()
	phone := p.newTab("sandbox phone tab: ")
	prompt := phone.answerPrompt(base, sb, "approve", "Approve", "sw-stk-phone")
	if prompt.Status != sandbox.STKCompleted {
		t.Fatalf("the approved prompt is %s", prompt.Status)
	}
	p.waitTurnsInto(co, `#receipt-heading`, "the receipt", navs)
	if got := p.text(`#receipt-heading`); got != "Malipo yamepokelewa" {
		t.Errorf("the receipt's heading is %q, want Malipo yamepokelewa", got)
	}
	if got := lang("the receipt"); got != "sw" {
		t.Errorf("the receipt is in %q", got)
	}
	p.screenshot("sw-receipt")
}
