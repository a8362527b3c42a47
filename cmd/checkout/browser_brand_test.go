package main

import (
	"bytes"
	"context"
	"fmt"
	"image"
	"image/color"
	"image/png"
	"path/filepath"
	"testing"

	"github.com/chromedp/chromedp"

	"checkout/payments"
)

// TestBrowserShowsTheMerchantsBrandUnderTheCSP: in Chromium, a merchant's
// checkout page shows its logo (decoded: the image route serves it) and its
// bar in its colour with the readable text colour, through the style the
// CSP allows by nonce; the browser reports no CSP violation (the phone's
// console check).
func TestBrowserShowsTheMerchantsBrandUnderTheCSP(t *testing.T) {
	chrome := browserChrome(t)
	port := browserFreePort(t)
	base := fmt.Sprintf("http://127.0.0.1:%d", port)
	a, _ := runWith(t, map[string]string{
		"CHECKOUT_ADDR": fmt.Sprintf("127.0.0.1:%d", port), "CHECKOUT_PUBLIC_URL": base,
		"CHECKOUT_DB": filepath.Join(t.TempDir(), "checkout.db"), "CHECKOUT_API_KEY": browserTestAPIKey,
	}, runOptions{})

	img := image.NewRGBA(image.Rect(0, 0, 80, 40))
	for x := range 80 {
		for y := range 40 {
			img.Set(x, y, color.RGBA{R: 200, G: 30, B: 30, A: 255})
		}
	}
	var logo bytes.Buffer
	if err := png.Encode(&logo, img); err != nil {
		t.Fatal(err)
	}
	if err := a.Service.UpdateMerchant(context.Background(), "default", payments.MerchantForm{Name: "Duka Letu",
		BrandColor: "#0a7d32", SupportPhone: "0712 345 678", Methods: payments.AllMethods, Logo: logo.Bytes()}); err != nil {
		t.Fatal(err)
	}
	co := browserCreateCheckout(t, base, map[string]any{
		"amount": "1500", "currency": "KES", "reference": "brand-1", "description": "Two bags of coffee",
		"customer": map[string]string{"email": "jane@example.com"},
	})

	p := browserOpenPhone(t, chrome)
	p.openCheckout(co, `button[name=method][value=pesapal]`, "Two bags of coffee", "brand")
	p.step("wait for the logo", chromedp.WaitVisible(chromedp.CSS(`.brand-bar img.brand-logo`)))
	read := func(expr string) string {
		t.Helper()
		v, err := chromedp.Run(p.ctx, chromedp.Evaluate[string](expr))
		if err != nil {
			t.Fatalf("%s: %v", expr, err)
		}
		return v
	}
	bg := read(`getComputedStyle(document.querySelector('.brand-bar')).backgroundColor`)
	fg := read(`getComputedStyle(document.querySelector('.brand-bar')).color`)
	logoWidth, err := chromedp.Run(p.ctx, chromedp.Evaluate[int](`document.querySelector('.brand-bar img.brand-logo').naturalWidth`))
	if err != nil {
		t.Fatal(err)
	}
	if bg != "rgb(10, 125, 50)" || fg != "rgb(255, 255, 255)" {
		t.Errorf("brand bar: background %s, text %s; want the brand's green and white", bg, fg)
	}
	if logoWidth != 80 {
		t.Errorf("the logo decoded %d px wide, want 80", logoWidth)
	}
	if got := p.text(".brand-name"); got != "Duka Letu" {
		t.Errorf("brand name %q", got)
	}
	if got := p.text(`.site-footer a[href="tel:0712345678"]`); got != "0712 345 678" {
		t.Errorf("support phone %q", got)
	}
}
