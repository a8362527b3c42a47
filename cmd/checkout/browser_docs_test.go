package main

import (
	"testing"

	"github.com/chromedp/chromedp"
)

// TestBrowserAPIReferenceReadsOnAPhone: /docs/api, the API's reference
// page, loads under the app's CSP without a violation and fits a 360 px
// phone without scrolling sideways.
func TestBrowserAPIReferenceReadsOnAPhone(t *testing.T) {
	chrome := browserChrome(t)
	base, _ := browserStartApp(t, browserFreePort(t))
	p := browserOpenPhone(t, chrome)
	p.step("open the API reference",
		phoneViewport(),
		chromedp.Navigate(base+"/docs/api"),
		chromedp.WaitVisible(chromedp.CSS(`#op-createCheckout`)),
	)
	if got := p.text(`#op-createCheckout h3`); got != "POST /api/v1/checkouts" {
		t.Errorf("the first operation's heading is %q", got)
	}
	p.checkWidth("the API reference")
	p.screenshot("api-reference-top")
	p.step("go to the first operation",
		chromedp.Navigate(base+"/docs/api#op-createCheckout"),
		chromedp.WaitVisible(chromedp.CSS(`#op-createCheckout`)),
	)
	p.screenshot("api-reference-operation")
	p.step("go to the checkout object",
		chromedp.Navigate(base+"/docs/api#schema-Checkout"),
		chromedp.WaitVisible(chromedp.CSS(`#schema-Checkout`)),
	)
	p.checkWidth("the API reference's schemas")
	p.screenshot("api-reference-schema")
}
