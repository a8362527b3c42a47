package main

import (
	"context"
	"strings"

	"github.com/chromedp/cdproto/cdp"
	"github.com/chromedp/cdproto/emulation"
	"github.com/chromedp/chromedp"
)

// emulateMedia makes CSS media queries see media ("print"; "" is the
// screen again).
func emulateMedia(media string) chromedp.Action[chromedp.Void] {
	return func(ctx context.Context, t *chromedp.Target) (chromedp.Void, error) {
		_, err := cdp.Call(ctx, t, emulation.SetEmulatedMedia, emulation.SetEmulatedMediaParams{Media: media})
		return chromedp.Void{}, err
	}
}

// printLook is what the receipt's print styles give, as the browser
// computes them.
type printLook struct {
	// Shown lists the elements a print must not show that it does
	// (selector: display), of those on the page.
	Shown       []string `json:"shown"`
	Background  string   `json:"background"`
	AmountColor string   `json:"amountColor"`
	LabelColor  string   `json:"labelColor"`
	ScrollWidth int      `json:"scrollWidth"`
	Details     string   `json:"details"`
}

const printLookJS = `(() => {
	const shown = [];
	for (const sel of [".actions", ".print-hint", ".auto-return", ".site-footer", "button", ".btn", "nav"]) {
		for (const el of document.querySelectorAll(sel)) {
			const d = getComputedStyle(el).display;
			if (d !== "none") { shown.push(sel + ": " + d); }
		}
	}
	const cs = (sel, prop) => { const el = document.querySelector(sel); return el ? getComputedStyle(el)[prop] : ""; };
	return {shown, background: cs("body", "backgroundColor"), amountColor: cs(".receipt .amount", "color"),
		labelColor: cs(".receipt .details dt", "color"), scrollWidth: document.documentElement.scrollWidth,
		details: document.querySelector(".receipt .details").innerText};
})()`

// checkReceiptPrint prints the receipt the tab shows, as the browser's
// print media, on A4 (190 mm printable, 718 px) and on an 80 mm receipt
// printer (72 mm printable, 272 px): nothing to click is shown, the page
// is black on white, nothing is wider than the paper, and the details
// still hold each of mentions. The tab is back on the phone's screen
// afterwards.
func (p *browserPhone) checkReceiptPrint(mentions ...string) {
	p.t.Helper()
	defer p.step("back to the screen", emulateMedia(""), phoneViewport())
	for _, paper := range []struct {
		name  string
		width int64
	}{{"A4", 718}, {"80 mm roll", 272}} {
		p.step("print on "+paper.name, emulateMedia("print"), chromedp.EmulateViewport(paper.width, 1100))
		look, err := chromedp.Run(p.ctx, chromedp.Evaluate[printLook](printLookJS))
		if err != nil {
			p.t.Fatalf("print the receipt on %s: %v", paper.name, err)
		}
		if len(look.Shown) != 0 {
			p.t.Errorf("printed on %s, the receipt shows %q", paper.name, look.Shown)
		}
		if look.Background != "rgb(255, 255, 255)" && look.Background != "rgba(0, 0, 0, 0)" {
			p.t.Errorf("printed on %s, the background is %s, want white", paper.name, look.Background)
		}
		for what, c := range map[string]string{"amount": look.AmountColor, "labels": look.LabelColor} {
			if c != "rgb(0, 0, 0)" {
				p.t.Errorf("printed on %s, the %s are %s, want black", paper.name, what, c)
			}
		}
		if look.ScrollWidth > int(paper.width) {
			p.t.Errorf("printed on %s, the receipt is %d px wide, the paper %d", paper.name, look.ScrollWidth, paper.width)
		}
		for _, m := range mentions {
			if !strings.Contains(look.Details, m) {
				p.t.Errorf("printed on %s, the details %q lack %q", paper.name, look.Details, m)
			}
		}
	}
}
