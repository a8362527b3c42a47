package main

// The real-browser end-to-end tests: the whole app in sandbox mode, and a
// headless Chromium the size of a cheap phone paying a checkout through a
// provider's simulator: Pesapal's page in our iframe, PokeaPay's hosted
// page that the whole window is sent to, and an M-Pesa prompt (STK push)
// answered on the sandbox phone in a second tab while the first waits.

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/cdproto/log"
	"github.com/chromedp/cdproto/page"
	"github.com/chromedp/cdproto/runtime"
	"github.com/chromedp/chromedp"

	"checkout/gateway/sandbox"
	"checkout/payments"
)

const (
	browserTestAPIKey   = "sk_test_browser_0123456789abcdef" // 32 characters
	browserTestPassword = "browser-test-password-1"
)

// browserExecPath finds Debian's Chromium, or "" when there is none.
func browserExecPath() string {
	if fi, err := os.Stat("/usr/bin/chromium"); err == nil && !fi.IsDir() {
		return "/usr/bin/chromium"
	}
	if p, err := exec.LookPath("chromium"); err == nil {
		return p
	}
	return ""
}

// browserChrome returns Chromium's path, or skips the test when there is
// none; with CI=true a missing Chromium fails it instead.
func browserChrome(t *testing.T) string {
	t.Helper()
	chrome := browserExecPath()
	if chrome == "" {
		if os.Getenv("CI") == "true" {
			t.Fatal("CI=true but Chromium is missing: install it (apt-get install chromium) so the browser test runs")
		}
		t.Skip("no Chromium at /usr/bin/chromium or on PATH; install it to run the browser test (CI=true makes this a failure)")
	}
	return chrome
}

// browserFreePort returns a loopback port that was free a moment ago.
func browserFreePort(t *testing.T) int {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatalf("find a free port: %v", err)
	}
	port := ln.Addr().(*net.TCPAddr).Port
	if err := ln.Close(); err != nil {
		t.Fatalf("close the probe listener: %v", err)
	}
	return port
}

// browserStartApp runs the whole app on base's port until the test ends,
// and returns its simulators too.
func browserStartApp(t *testing.T, port int) (base string, sb *sandbox.Sandbox) {
	t.Helper()
	base = fmt.Sprintf("http://127.0.0.1:%d", port)
	env := map[string]string{
		"CHECKOUT_ADDR":           fmt.Sprintf("127.0.0.1:%d", port),
		"CHECKOUT_PUBLIC_URL":     base,
		"CHECKOUT_DB":             filepath.Join(t.TempDir(), "checkout.db"),
		"CHECKOUT_API_KEY":        browserTestAPIKey,
		"CHECKOUT_ADMIN_EMAIL":    "admin@example.com",
		"CHECKOUT_ADMIN_PASSWORD": browserTestPassword,
	}
	getenv := func(k string) string { return env[k] }

	ctx, cancel := context.WithCancel(context.Background())
	ready := make(chan *app, 1)
	done := make(chan error, 1)
	go func() {
		done <- run(ctx, getenv, io.Discard, runOptions{Ready: func(a *app) { ready <- a }})
	}()
	t.Cleanup(func() {
		cancel()
		select {
		case err := <-done:
			if err != nil && !errors.Is(err, context.Canceled) {
				t.Errorf("run returned %v after the test", err)
			}
		case <-time.After(15 * time.Second):
			t.Error("run did not return within 15 s of the cancel")
		}
	})
	select {
	case a := <-ready:
		if a.Sandbox == nil {
			t.Fatal("the app did not start in sandbox mode")
		}
		sb = a.Sandbox
	case err := <-done:
		t.Fatalf("run ended before it was ready: %v", err)
	case <-time.After(20 * time.Second):
		t.Fatal("the app was not ready within 20 s")
	}
	return base, sb
}

// checkoutObject is the part of the merchant API's checkout object the test
// reads.
type checkoutObject struct {
	ID       string  `json:"id"`
	URL      string  `json:"url"`
	Status   string  `json:"status"`
	Amount   string  `json:"amount"`
	Currency string  `json:"currency"`
	Method   *string `json:"method"`
	Receipt  *string `json:"receipt"`
	Message  *string `json:"message"`
}

// browserAPI calls the merchant API and decodes the checkout object,
// failing the test unless the answer has the wanted status.
func browserAPI(t *testing.T, method, url string, body any, want int) checkoutObject {
	t.Helper()
	var rd io.Reader
	if body != nil {
		b, err := json.Marshal(body)
		if err != nil {
			t.Fatal(err)
		}
		rd = bytes.NewReader(b)
	}
	req, err := http.NewRequest(method, url, rd)
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Authorization", "Bearer "+browserTestAPIKey)
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	res, err := checkedClient(t, 10*time.Second).Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", method, url, err)
	}
	defer res.Body.Close()
	raw, err := io.ReadAll(res.Body)
	if err != nil {
		t.Fatalf("%s %s: read the body: %v", method, url, err)
	}
	if res.StatusCode != want {
		t.Fatalf("%s %s: status %d, want %d; body %s", method, url, res.StatusCode, want, raw)
	}
	var co checkoutObject
	if err := json.Unmarshal(raw, &co); err != nil {
		t.Fatalf("%s %s: decode %s: %v", method, url, raw, err)
	}
	return co
}

// browserCreateCheckout is the merchant creating a checkout of KES 1,500
// through the API; it checks the answer.
func browserCreateCheckout(t *testing.T, base string, body map[string]any) checkoutObject {
	t.Helper()
	co := browserAPI(t, http.MethodPost, base+"/api/v1/checkouts", body, http.StatusCreated)
	if co.ID == "" || co.URL != base+"/c/"+co.ID {
		t.Fatalf("created checkout has id %q and url %q, want the url %s/c/<id>", co.ID, co.URL, base)
	}
	if co.Status != "open" || co.Amount != "1500.00" {
		t.Fatalf("created checkout has status %q and amount %q, want open and 1500.00", co.Status, co.Amount)
	}
	return co
}

// browserPaidCheckout reads the checkout through the API, again every
// 100 ms for up to wait while it has no receipt (a provider may send the
// receipt with its notification, a moment after the status), and checks
// that it is paid in full with method and has a receipt.
func browserPaidCheckout(t *testing.T, base, id, method string, wait time.Duration) checkoutObject {
	t.Helper()
	deadline := time.Now().Add(wait)
	var got checkoutObject
	for {
		got = browserAPI(t, http.MethodGet, base+"/api/v1/checkouts/"+id, nil, http.StatusOK)
		if got.Receipt != nil && *got.Receipt != "" || !time.Now().Before(deadline) {
			break
		}
		time.Sleep(100 * time.Millisecond)
	}
	if got.Status != "paid" || got.Amount != "1500.00" || got.Currency != "KES" {
		t.Errorf("API checkout: status %q amount %q currency %q, want paid 1500.00 KES", got.Status, got.Amount, got.Currency)
	}
	if got.Receipt == nil || *got.Receipt == "" {
		if wait > 0 {
			t.Errorf("API checkout has no receipt %v after the payment", wait)
		} else {
			t.Error("API checkout has no receipt")
		}
	}
	if got.Method == nil || *got.Method != method {
		t.Errorf("API checkout method = %s, want %s", browserOrNull(got.Method), method)
	}
	return got
}

// browserOrNull writes a nullable string of the API for a message.
func browserOrNull(s *string) string {
	if s == nil {
		return "null"
	}
	return fmt.Sprintf("%q", *s)
}

// consoleRecorder keeps what the pages wrote to the console and the browser
// log. Its listen func runs in chromedp's event loop, so it only appends.
// Chromium reports a CSP violation as a log entry of the source "security"
// ("Loading the image ... violates the following Content Security Policy
// directive ..."; older versions began with "Refused to").
type consoleRecorder struct {
	mu    sync.Mutex
	lines []string
	bad   []string // CSP violations and uncaught exceptions
}

func (r *consoleRecorder) listen(ev any) {
	var line string
	switch ev := ev.(type) {
	case *runtime.EventConsoleAPICalled:
		parts := []string{"console." + string(ev.Type) + ":"}
		for _, a := range ev.Args {
			switch {
			case a.Description != "":
				parts = append(parts, a.Description)
			case len(a.Value) > 0:
				var s string
				if json.Unmarshal(a.Value, &s) == nil {
					parts = append(parts, s)
				} else {
					parts = append(parts, string(a.Value))
				}
			}
		}
		line = strings.Join(parts, " ")
	case *log.EventEntryAdded:
		if ev.Entry == nil {
			return
		}
		line = fmt.Sprintf("log %s/%s: %s (%s)", ev.Entry.Source, ev.Entry.Level, ev.Entry.Text, ev.Entry.URL)
	case *runtime.EventExceptionThrown:
		d := ev.ExceptionDetails
		if d == nil {
			return
		}
		line = "exception: " + d.Text
		if d.Exception != nil && d.Exception.Description != "" {
			line += " " + d.Exception.Description
		}
		line += " (" + d.URL + ")"
		r.mu.Lock()
		r.lines = append(r.lines, line)
		r.bad = append(r.bad, line)
		r.mu.Unlock()
		return
	default:
		return
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	r.lines = append(r.lines, line)
	if strings.Contains(line, "Content Security Policy") || strings.Contains(line, "Refused to") ||
		strings.HasPrefix(line, "log security/") {
		r.bad = append(r.bad, line)
	}
}

func (r *consoleRecorder) snapshot() (lines, bad []string) {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]string(nil), r.lines...), append([]string(nil), r.bad...)
}

// browserScreenshot captures the viewport as a PNG into the test's temporary
// folder and, when KEEP_SCREENSHOTS names a folder, there too, with a
// full-page capture beside it.
func browserScreenshot(t *testing.T, ctx context.Context, shots, name string) {
	t.Helper()
	buf, err := chromedp.Run(ctx, chromedp.CaptureScreenshot())
	if err != nil {
		t.Fatalf("screenshot %s: %v", name, err)
	}
	if !bytes.HasPrefix(buf, []byte("\x89PNG")) {
		t.Fatalf("screenshot %s is not a PNG", name)
	}
	if err := os.WriteFile(filepath.Join(shots, name+".png"), buf, 0o644); err != nil {
		t.Fatal(err)
	}
	keep := os.Getenv("KEEP_SCREENSHOTS")
	if keep == "" {
		return
	}
	full, err := chromedp.Run(ctx, chromedp.FullScreenshot(100))
	if err != nil {
		t.Fatalf("full screenshot %s: %v", name, err)
	}
	if err := os.MkdirAll(keep, 0o755); err != nil {
		t.Fatal(err)
	}
	for file, b := range map[string][]byte{name + ".png": buf, name + "-full.png": full} {
		if err := os.WriteFile(filepath.Join(keep, file), b, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	t.Logf("screenshot %s kept in %s", name, keep)
}

// browserPhone is a tab of a headless Chromium the size of a cheap phone:
// 360x740 CSS pixels at a device scale of 2, with mobile and touch
// emulation once a page is opened with openCheckout. Every console call,
// browser log entry (where Chromium reports CSP violations) and uncaught
// exception of the tab and of its same-origin iframes is recorded; when the
// test ends they are logged, each CSP violation and exception fails the
// test, and the browser is closed.
type browserPhone struct {
	t       *testing.T
	ctx     context.Context
	shots   string // the test's temporary folder for screenshots
	console *consoleRecorder
}

// browserOpenPhone starts Chromium with one tab, for 60 s at most.
func browserOpenPhone(t *testing.T, chrome string) *browserPhone {
	t.Helper()
	return browserOpenPhoneFor(t, chrome, 60*time.Second)
}

// browserOpenPhoneFor starts Chromium with one tab, for limit at most.
func browserOpenPhoneFor(t *testing.T, chrome string, limit time.Duration) *browserPhone {
	t.Helper()
	shots, profile := t.TempDir(), t.TempDir()
	tctx, tcancel := context.WithTimeout(context.Background(), limit)
	allocCtx, allocCancel := chromedp.NewExecAllocator(tctx,
		chromedp.ExecPath(chrome),
		chromedp.Headless,
		chromedp.NoSandbox,
		chromedp.DisableGPU,
		chromedp.NoFirstRun,
		chromedp.NoDefaultBrowserCheck,
		chromedp.Flag("disable-quic", true),
		chromedp.Flag("disable-background-networking", true),
		chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-sync", true),
		chromedp.Flag("disable-dev-shm-usage", true),
		chromedp.Flag("disable-extensions", true),
		chromedp.UserDataDir(profile),
		chromedp.WindowSize(360, 740),
	)
	ctx, cancel := chromedp.NewContext(allocCtx)
	// Cleanups run last first: the console is reported, then the tab, the
	// browser and the timeout end, then the profile is removed and, last,
	// the app stops (browserStartApp registered it before).
	t.Cleanup(tcancel)
	t.Cleanup(allocCancel)
	t.Cleanup(cancel)

	p := &browserPhone{t: t, ctx: ctx, shots: shots, console: &consoleRecorder{}}
	// Listen starts the browser and opens the tab; from here on the console
	// is recorded.
	if err := chromedp.Listen(ctx, p.console.listen); err != nil {
		t.Fatalf("start Chromium (%s): %v", chrome, err)
	}
	t.Cleanup(func() { p.reportConsole("") })
	return p
}

// reportConsole logs what the tab's pages wrote, each line after label,
// and fails the test for each CSP violation and uncaught exception.
func (p *browserPhone) reportConsole(label string) {
	lines, bad := p.console.snapshot()
	for _, l := range lines {
		p.t.Log(label + l)
	}
	for _, b := range bad {
		p.t.Errorf("the browser reported: %s%s", label, b)
	}
}

// newTab opens a second tab in the same browser (chromedp.NewContext from
// the tab's context shares its allocator and browser), with its own console
// record, reported and checked like the first tab's, each line after label.
// The tab is closed when the test ends, before the browser.
func (p *browserPhone) newTab(label string) *browserPhone {
	p.t.Helper()
	ctx, cancel := chromedp.NewContext(p.ctx)
	p.t.Cleanup(cancel)
	tab := &browserPhone{t: p.t, ctx: ctx, shots: p.shots, console: &consoleRecorder{}}
	if err := chromedp.Listen(ctx, tab.console.listen); err != nil {
		p.t.Fatalf("open a second tab: %v", err)
	}
	p.t.Cleanup(func() { tab.reportConsole(label) })
	return tab
}

// phoneViewport is the cheap phone's viewport, with mobile and touch
// emulation; each tab needs it once.
func phoneViewport() chromedp.Action[chromedp.Void] {
	return chromedp.EmulateViewport(360, 740, chromedp.EmulateScale(2), chromedp.EmulateMobile,
		chromedp.EmulatePortrait, chromedp.EmulateTouch)
}

// step runs actions, failing the test with what and the page it was on.
func (p *browserPhone) step(what string, actions ...chromedp.Action[chromedp.Void]) {
	p.t.Helper()
	if err := chromedp.Do(p.ctx, actions...); err != nil {
		p.t.Fatalf("%s (at %s): %v", what, p.at(), err)
	}
}

// at is the tab's URL for a message, "" when it cannot be read.
func (p *browserPhone) at() string {
	loc, _ := chromedp.Run(p.ctx, chromedp.Location())
	return loc
}

// location is the tab's URL.
func (p *browserPhone) location() string {
	p.t.Helper()
	loc, err := chromedp.Run(p.ctx, chromedp.Location())
	if err != nil {
		p.t.Fatal(err)
	}
	return loc
}

// text is the trimmed text of the first element sel matches.
func (p *browserPhone) text(sel string, opts ...chromedp.QueryOption) string {
	p.t.Helper()
	s, err := chromedp.Run(p.ctx, chromedp.Text(chromedp.CSS(sel), opts...))
	if err != nil {
		p.t.Fatalf("read %s: %v", sel, err)
	}
	return strings.TrimSpace(s)
}

// checkWidth fails the test when the page (named by what) is wider than
// the phone, so that it scrolls sideways.
func (p *browserPhone) checkWidth(what string) {
	p.t.Helper()
	width, err := chromedp.Run(p.ctx, chromedp.Evaluate[int](`document.documentElement.scrollWidth`))
	if err != nil {
		p.t.Fatal(err)
	}
	if width > 360 {
		p.t.Errorf("%s is %d px wide on a 360 px phone: it scrolls sideways", what, width)
	}
}

// screenshot captures the viewport as name.png (see browserScreenshot).
func (p *browserPhone) screenshot(name string) {
	p.t.Helper()
	browserScreenshot(p.t, p.ctx, p.shots, name)
}

// openCheckout opens the checkout page at the phone's viewport until the
// button sel is visible, checks the order and the width, and captures it as
// shot.
func (p *browserPhone) openCheckout(co checkoutObject, sel, description, shot string) {
	p.t.Helper()
	p.step("open the checkout page",
		phoneViewport(),
		chromedp.Navigate(co.URL),
		chromedp.WaitVisible(chromedp.CSS(sel)),
	)
	if got := p.text(".summary .amount"); got != "KES 1,500.00" {
		p.t.Errorf("checkout page amount = %q, want KES 1,500.00", got)
	}
	if got := p.text(".summary .description"); got != description {
		p.t.Errorf("checkout page description = %q, want %s", got, description)
	}
	p.checkWidth("the checkout page")
	p.screenshot(shot)
}

// payAndReturn taps the simulator's Pay button (in the frame opts name, or
// the page) and waits until the top window is at our /return/{provider};
// it returns that URL. what names the step in a failure.
func (p *browserPhone) payAndReturn(what, provider string, opts ...chromedp.QueryOption) string {
	p.t.Helper()
	isReturn := func(ev page.EventFrameNavigated) bool {
		return ev.Frame != nil && ev.Frame.ParentID == "" && strings.Contains(ev.Frame.URL, "/return/"+provider)
	}
	ev, err := chromedp.Run(p.ctx, chromedp.WaitEvent(page.FrameNavigated, isReturn,
		chromedp.Tap(chromedp.CSS(`button.pay`), opts...)))
	if err != nil {
		p.t.Fatalf("%s (at %s): %v", what, p.at(), err)
	}
	return ev.Frame.URL
}

// waitPaid waits for the return page to show the result ("Paid"), or for
// the receipt the status fragment already sent the window on to; the
// result page is checked and captured as shot.
func (p *browserPhone) waitPaid(provider, shot string) {
	p.t.Helper()
	p.step("wait for the paid result or the receipt",
		chromedp.WaitVisible(chromedp.CSS(`#receipt-heading, #status .status-paid-text`)),
	)
	if !strings.Contains(p.location(), "/return/"+provider) {
		return
	}
	if got := p.text(`#status .status-paid-text`); got != "Paid" {
		p.t.Errorf("the return page says %q, want Paid", got)
	}
	if got := p.text(".summary .amount"); got != "KES 1,500.00" {
		p.t.Errorf("the return page amount = %q, want KES 1,500.00", got)
	}
	p.screenshot(shot)
}

// openReceipt opens the checkout's own URL, which shows the receipt once it
// is paid, checks it and that its details mention each of mentions, and
// returns the text of the details.
func (p *browserPhone) openReceipt(co checkoutObject, mentions ...string) (details string) {
	p.t.Helper()
	p.step("open the receipt",
		chromedp.Navigate(co.URL),
		chromedp.WaitVisible(chromedp.CSS(`#receipt-heading`)),
	)
	return p.checkReceipt(mentions...)
}

// checkReceipt checks the receipt the tab shows and that its details
// mention each of mentions, and returns the text of the details.
func (p *browserPhone) checkReceipt(mentions ...string) (details string) {
	p.t.Helper()
	if got := p.text("#receipt-heading"); got != "Payment received" {
		p.t.Errorf("receipt heading = %q, want Payment received", got)
	}
	if got := p.text(".receipt .amount"); got != "KES 1,500.00" {
		p.t.Errorf("receipt amount = %q, want KES 1,500.00", got)
	}
	details = p.text(".receipt .details")
	for _, want := range mentions {
		if !strings.Contains(details, want) {
			p.t.Errorf("the receipt details %q do not mention %q", details, want)
		}
	}
	p.checkWidth("the receipt")
	return details
}

func TestBrowserPaysWithPesapalOnAPhone(t *testing.T) {
	chrome := browserChrome(t)
	start := time.Now()

	base, _ := browserStartApp(t, browserFreePort(t))

	// The merchant creates the checkout.
	co := browserCreateCheckout(t, base, map[string]any{
		"amount": "1500", "currency": "KES", "reference": "browser-1", "description": "Two bags of coffee",
		"customer": map[string]string{"email": "jane@example.com"},
	})

	// The checkout page: the order and the method choice.
	p := browserOpenPhone(t, chrome)
	const pesapalButton = `button[name=method][value=pesapal]`
	p.openCheckout(co, pesapalButton, "Two bags of coffee", "checkout")

	// Choose Pesapal: the form posts, and the answer is the page with
	// Pesapal's payment page (the simulator) in an iframe. The load event
	// of that page comes once the iframe has loaded too.
	if _, err := chromedp.Run(p.ctx, chromedp.WaitEvent(page.LoadEventFired, nil,
		chromedp.Tap(chromedp.CSS(pesapalButton)))); err != nil {
		t.Fatalf("choose Pesapal: %v", err)
	}
	p.step("wait for the Pesapal frame page",
		chromedp.WaitVisible(chromedp.CSS(`iframe.pay-frame`)),
	)
	if loc := p.at(); loc != base+"/c/"+co.ID+"/pesapal" {
		t.Fatalf("after choosing Pesapal the browser is at %s, want %s/c/%s/pesapal", loc, base, co.ID)
	}
	if got := p.text(".summary-line .amount-inline"); got != "KES 1,500.00" {
		t.Errorf("Pesapal page amount = %q, want KES 1,500.00", got)
	}
	frames, err := chromedp.Run(p.ctx, chromedp.Nodes(chromedp.CSS(`iframe.pay-frame`)))
	if err != nil {
		t.Fatalf("find the Pesapal iframe: %v", err)
	}
	frame := frames[0]
	if src := frame.AttributeValue("src"); !strings.HasPrefix(src, base+"/sandbox/") {
		t.Errorf("the iframe shows %q, want the simulator under %s/sandbox/", src, base)
	}
	p.step("wait for the simulator's Pay button in the iframe",
		chromedp.WaitVisible(chromedp.CSS(`button.pay`), chromedp.FromNode(frame)),
	)
	if got := p.text(`.amount`, chromedp.FromNode(frame)); got != "KES 1,500.00" {
		t.Errorf("the simulator's page shows %q, want KES 1,500.00", got)
	}
	p.screenshot("pesapal")

	// Pay in the iframe. Its form targets _top, so the whole window goes to
	// the simulator, which sends it on to our /return/pesapal.
	p.payAndReturn("pay in the simulator", "pesapal", chromedp.FromNode(frame))

	// The return page shows the result ("Paid"), or the status fragment
	// already sent the window on to the receipt.
	p.waitPaid("pesapal", "result")

	// The checkout's own URL now shows the receipt.
	details := p.openReceipt(co, "Two bags of coffee", "browser-1", co.ID)
	p.screenshot("receipt")
	// Printed, on A4 and on a receipt printer.
	p.checkReceiptPrint("Two bags of coffee", "browser-1", co.ID)

	// The merchant sees it paid, with the provider's receipt.
	got := browserPaidCheckout(t, base, co.ID, "pesapal", 0)
	if got.Receipt != nil && *got.Receipt != "" && !strings.Contains(details, *got.Receipt) {
		t.Errorf("the receipt page does not show the receipt %q: %q", *got.Receipt, details)
	}

	// A few seconds on a laptop; only reported, so that a slow CI machine
	// does not make it flaky (the 60 s browser timeout is the hard limit).
	t.Logf("the payment in the browser took %v", time.Since(start).Round(time.Millisecond))
}

func TestBrowserPaysWithPokeaPayOnAPhone(t *testing.T) {
	chrome := browserChrome(t)
	start := time.Now()

	base, sb := browserStartApp(t, browserFreePort(t))

	// The merchant creates the checkout with the customer's details, which
	// go to PokeaPay in the URL and its hash: a "+" in the email must
	// arrive as sent, not as a space. The app may write the phone in another
	// form (254 and nine digits); the hash must cover the form it sends.
	const (
		name        = "Wanjiru Kamau"
		email       = "wanjiru+shop@example.com"
		phone       = "+254 712 345 678"
		reference   = "browser-pokeapay-1"
		description = "Two bags of coffee"
	)
	co := browserCreateCheckout(t, base, map[string]any{
		"amount": "1500", "currency": "KES", "reference": reference, "description": description,
		"customer": map[string]string{"name": name, "email": email, "phone": phone},
	})

	p := browserOpenPhone(t, chrome)
	const pokeaPayButton = `button[name=method][value=pokeapay]`
	p.openCheckout(co, pokeaPayButton, description, "pokeapay-checkout")

	// Choose PokeaPay: the form posts, and the answer sends the whole window
	// to PokeaPay's hosted page, the simulator's page on this server.
	if _, err := chromedp.Run(p.ctx, chromedp.WaitEvent(page.LoadEventFired, nil,
		chromedp.Tap(chromedp.CSS(pokeaPayButton)))); err != nil {
		t.Fatalf("choose PokeaPay (at %s): %v", p.at(), err)
	}
	p.step("wait for PokeaPay's hosted page",
		chromedp.WaitVisible(chromedp.CSS(`main .card`)),
	)
	loc := p.location()
	hosted, err := url.Parse(loc)
	if err != nil || !strings.HasPrefix(loc, base+sandbox.PokeaPayCheckoutPath+"?") {
		t.Fatalf("after choosing PokeaPay the browser is at %s, want %s%s?...", loc, base, sandbox.PokeaPayCheckoutPath)
	}
	q := hosted.Query()
	oref := q.Get("oref")
	if oref == "" {
		t.Fatalf("PokeaPay's page was opened with no oref: %s", loc)
	}
	for k, want := range map[string]string{"cn": name, "eml": email, "amt": "1500.00", "curr": "KES",
		"cb": base + "/return/pokeapay", "v1": co.ID} {
		if got := q.Get(k); got != want {
			t.Errorf("PokeaPay's page was opened with %s=%q, want %q", k, got, want)
		}
	}
	if tel := strings.NewReplacer(" ", "", "+", "").Replace(q.Get("tel")); !strings.HasSuffix(tel, "712345678") {
		t.Errorf("PokeaPay's page was opened with tel=%q, want the customer's phone %s", q.Get("tel"), phone)
	}

	// A refused URL shows a heading and the reason (a hash mismatch names
	// the hash) instead of the order and the form.
	shown := p.text(`main .card`)
	if strings.Contains(strings.ToLower(shown), "hash") || !strings.Contains(shown, "Pay with") {
		t.Fatalf("PokeaPay's page refuses the payment: %q", shown)
	}
	if got := p.text(`.card .amount`); got != "KES 1,500.00" {
		t.Errorf("PokeaPay's page shows %q, want KES 1,500.00", got)
	}
	if order := p.text(`.card dl`); !strings.Contains(order, name) || !strings.Contains(order, oref) {
		t.Errorf("PokeaPay's page shows the order as %q, want the customer %q and the order reference %q", order, name, oref)
	}
	p.checkWidth("PokeaPay's page")
	p.screenshot("pokeapay-hosted")

	// Choose M-Pesa. It is checked when the page opens, so tap Card first:
	// the radios must follow taps on their labels.
	const mpesa, card = `input[name=type][value=m]`, `input[name=type][value=c]`
	checked := func(sel string) bool {
		t.Helper()
		on, err := chromedp.Run(p.ctx, chromedp.JavascriptAttribute[bool](chromedp.CSS(sel), "checked"))
		if err != nil {
			t.Fatalf("read whether %s is checked: %v", sel, err)
		}
		return on
	}
	p.step("choose Card", chromedp.Tap(chromedp.CSS(`label:has(> `+card+`)`)))
	if !checked(card) || checked(mpesa) {
		t.Error("tapping Card on PokeaPay's page did not check Card alone")
	}
	p.step("choose M-Pesa", chromedp.Tap(chromedp.CSS(`label:has(> `+mpesa+`)`)))
	if !checked(mpesa) || checked(card) {
		t.Error("tapping M-Pesa on PokeaPay's page did not check M-Pesa alone")
	}

	// Pay. The simulator's answer sends the window to our /return/pokeapay
	// with the order's status and a hash of its reference.
	back, err := url.Parse(p.payAndReturn("pay on PokeaPay's page", "pokeapay"))
	if err != nil {
		t.Fatal(err)
	}
	if back.Path != "/return/pokeapay" {
		t.Errorf("PokeaPay sent the window back to %s, want %s/return/pokeapay", back, base)
	}
	if bq := back.Query(); bq.Get("oref") != oref || bq.Get("status") != "1" || bq.Get("type") != "m" {
		t.Errorf("PokeaPay sent the window back with oref %q, status %q and type %q, want %q, 1 and m",
			bq.Get("oref"), bq.Get("status"), bq.Get("type"), oref)
	}
	order, ok := sb.PokeaPayOrder(oref)
	if !ok {
		t.Fatalf("the simulator has no order %q", oref)
	}
	if order.Status != sandbox.PokeaPayPaid || order.Type != sandbox.PokeaPayTypeMpesa || order.ReferenceNo == "" {
		t.Errorf("the simulator's order is %s by %q with the receipt %q, want paid by M-Pesa (m) with a receipt",
			order.Status, order.Type, order.ReferenceNo)
	}

	// The return page shows the result ("Paid"), or the window is on the
	// receipt already; either way the checkout's own URL shows the receipt.
	p.waitPaid("pokeapay", "pokeapay-result")
	p.openReceipt(co, description, reference, co.ID)

	// The merchant sees it paid with PokeaPay. The receipt is the payment
	// verification's when its answer carries one; the IPN's referenceno is
	// unsigned and never becomes it.
	got := browserAPI(t, http.MethodGet, base+"/api/v1/checkouts/"+co.ID, nil, http.StatusOK)
	if got.Status != "paid" || got.Amount != "1500.00" || got.Currency != "KES" || got.Method == nil || *got.Method != "pokeapay" {
		t.Errorf("API checkout: status %q amount %q currency %q method %s, want paid 1500.00 KES pokeapay",
			got.Status, got.Amount, got.Currency, browserOrNull(got.Method))
	}

	// The receipt page shows the receipt, if there is one.
	mentions := []string{description, reference, co.ID, "PokeaPay"}
	if got.Receipt != nil && *got.Receipt != "" {
		mentions = append(mentions, *got.Receipt)
	}
	p.openReceipt(co, mentions...)
	p.screenshot("pokeapay-receipt")

	t.Logf("the payment in the browser took %v", time.Since(start).Round(time.Millisecond))
}

// The M-Pesa prompt (STK push) tests: the customer's phone number, as the
// merchant sends it and as the checkout writes it back, and as M-Pesa has it.
const (
	stkCustomerPhone = "0712 345 678"
	stkMSISDN        = "254712345678"
	stkDescription   = "Two bags of coffee"
)

// browserSTKCheckout is the merchant creating a checkout of KES 1,500 with
// the customer's phone through the API.
func browserSTKCheckout(t *testing.T, base, reference string) checkoutObject {
	t.Helper()
	return browserCreateCheckout(t, base, map[string]any{
		"amount": "1500", "currency": "KES", "reference": reference, "description": stkDescription,
		"customer": map[string]string{"phone": stkCustomerPhone},
	})
}

// checkSTKForm checks that the checkout page the tab shows offers the
// M-Pesa form, filled with phone.
func (p *browserPhone) checkSTKForm(phone string) {
	p.t.Helper()
	if got := p.text(`form.stk-form legend`); got != "M-Pesa on your phone" {
		p.t.Errorf("the M-Pesa form's legend is %q, want M-Pesa on your phone", got)
	}
	value, err := chromedp.Run(p.ctx, chromedp.Value(chromedp.CSS(`form.stk-form #phone`)))
	if err != nil {
		p.t.Fatalf("read the M-Pesa number: %v", err)
	}
	if value != phone {
		p.t.Errorf("the M-Pesa number is filled with %q, want %q", value, phone)
	}
	if got := p.text(`form.stk-form button[type=submit]`); got != "Send M-Pesa prompt" {
		p.t.Errorf("the M-Pesa form's button says %q, want Send M-Pesa prompt", got)
	}
}

// pushSTK presses "Send M-Pesa prompt" and checks the page it leads to:
// "Check your phone" at /c/{id}/stk with the number and the amount, a
// countdown that counts down (so its nonce'd script runs under the CSP),
// and the status that polls while the payment is pending. The page is
// captured as shot.
func (p *browserPhone) pushSTK(co checkoutObject, shot string) {
	p.t.Helper()
	if _, err := chromedp.Run(p.ctx, chromedp.WaitEvent(page.LoadEventFired, nil,
		chromedp.Tap(chromedp.CSS(`form.stk-form button[type=submit]`)))); err != nil {
		p.t.Fatalf("press Send M-Pesa prompt (at %s): %v", p.at(), err)
	}
	p.step("wait for Check your phone", chromedp.WaitVisible(chromedp.CSS(`#stk-heading`)))
	if loc := p.location(); loc != co.URL+"/stk" {
		p.t.Fatalf("after sending the prompt the browser is at %s, want %s/stk", loc, co.URL)
	}
	if got := p.text(`#stk-heading`); got != "Check your phone" {
		p.t.Errorf("the waiting page's heading is %q, want Check your phone", got)
	}
	if got := p.text(`.stk-wait .amount`); got != "KES 1,500.00" {
		p.t.Errorf("the waiting page's amount is %q, want KES 1,500.00", got)
	}
	if got := p.text(`.stk-wait strong.mono`); got != stkCustomerPhone {
		p.t.Errorf("the waiting page says the prompt went to %q, want %q", got, stkCustomerPhone)
	}
	attrs, err := chromedp.Run(p.ctx, chromedp.Attributes(chromedp.CSS(`#status`)))
	if err != nil {
		p.t.Fatalf("read the status: %v", err)
	}
	// It waits on this prompt (&attempt=), not on the whole checkout.
	if !strings.HasPrefix(attrs["hx-get"], "/c/"+co.ID+"/status?while=pending&lang=en&attempt=pay_") || attrs["hx-trigger"] != "every 3s" {
		p.t.Errorf("the waiting page's status polls %q on %q, want /c/%s/status?while=pending&lang=en&attempt=<prompt> every 3s",
			attrs["hx-get"], attrs["hx-trigger"], co.ID)
	}

	// The countdown starts at the prompt's seconds left and counts down.
	countdown := func() int {
		p.t.Helper()
		s := p.text(`#countdown`)
		n, err := strconv.Atoi(s)
		if err != nil {
			p.t.Fatalf("the countdown shows %q, not a number", s)
		}
		return n
	}
	first := countdown()
	if first <= 0 || first > int(payments.STKPromptWindow/time.Second) {
		p.t.Errorf("the countdown starts at %d, want 1 to %d seconds", first, int(payments.STKPromptWindow/time.Second))
	}
	// Its script ticks every second: wait (5 s at most) for the shown value
	// to change, then check that it went down.
	next, err := chromedp.Run(p.ctx, chromedp.PollFunction[string](`(first) => {
		const el = document.getElementById("countdown");
		const s = el ? el.textContent.trim() : "";
		return s !== first && s;
	}`, chromedp.WithPollingArgs(strconv.Itoa(first)), chromedp.WithPollingInterval(50*time.Millisecond),
		chromedp.WithPollingTimeout(5*time.Second)))
	if errors.Is(err, chromedp.ErrPollingTimeout) {
		p.t.Errorf("the countdown stayed at %d for 5 s: it does not count down (is its script blocked?)", first)
	} else if err != nil {
		p.t.Fatalf("wait for the countdown to change: %v", err)
	} else if second, err := strconv.Atoi(next); err != nil || second >= first {
		p.t.Errorf("the countdown showed %d, then %q: it does not count down", first, next)
	}
	p.checkWidth("the waiting page")
	p.screenshot(shot)
}

// topNavigations records the URLs the tab's top frame goes to from now on,
// and returns a func that reads them.
func (p *browserPhone) topNavigations() func() []string {
	p.t.Helper()
	var (
		mu   sync.Mutex
		urls []string
	)
	ctx, cancel := context.WithCancel(p.ctx)
	p.t.Cleanup(cancel)
	if err := chromedp.Listen(ctx, func(ev any) {
		if ev, ok := ev.(*page.EventFrameNavigated); ok && ev.Frame != nil && ev.Frame.ParentID == "" {
			mu.Lock()
			urls = append(urls, ev.Frame.URL)
			mu.Unlock()
		}
	}); err != nil {
		p.t.Fatalf("listen for navigations: %v", err)
	}
	return func() []string {
		mu.Lock()
		defer mu.Unlock()
		return append([]string(nil), urls...)
	}
}

// waitTurnsInto waits up to 15 s, without touching the tab, until it shows
// sel, and checks that it got there by itself: the waiting page's status
// poll (htmx, every 3 s) answered HX-Redirect, so the one navigation since
// navs began went to the checkout's URL, from the waiting page (the
// referrer). It returns how long it took.
func (p *browserPhone) waitTurnsInto(co checkoutObject, sel, what string, navs func() []string) time.Duration {
	p.t.Helper()
	start := time.Now()
	ctx, cancel := context.WithTimeout(p.ctx, 15*time.Second)
	defer cancel()
	if err := chromedp.Do(ctx, chromedp.WaitVisible(chromedp.CSS(sel))); err != nil {
		p.t.Fatalf("the waiting page did not turn into %s by itself within 15 s (at %s, navigations %q): %v",
			what, p.at(), navs(), err)
	}
	took := time.Since(start)
	if loc := p.location(); loc != co.URL {
		p.t.Errorf("the waiting page turned into %s at %s, want %s", what, loc, co.URL)
	}
	if got := navs(); len(got) != 1 || got[0] != co.URL {
		p.t.Errorf("the tab navigated to %q while waiting, want only %s (the status poll's HX-Redirect)", got, co.URL)
	}
	referrer, err := chromedp.Run(p.ctx, chromedp.Evaluate[string](`document.referrer`))
	if err != nil {
		p.t.Fatal(err)
	}
	if referrer != co.URL+"/stk" {
		p.t.Errorf("%s was opened from %q, want the waiting page %s/stk", what, referrer, co.URL)
	}
	return took
}

// answerPrompt opens the sandbox phone in the tab, finds the one pending
// prompt for stkMSISDN (checked against the simulator), captures it as
// shot, and presses the button of action (approve, decline, ...). The page
// reloads itself every 3 s, so a tap may land on a page being replaced:
// the press is tried again, on a fresh page, until the simulator has the
// answer (a second answer changes nothing). It returns the answered prompt.
func (p *browserPhone) answerPrompt(base string, sb *sandbox.Sandbox, action, label, shot string) sandbox.STKPrompt {
	p.t.Helper()
	p.step("open the sandbox phone",
		phoneViewport(),
		chromedp.Navigate(base+sandbox.PhonePath),
		chromedp.WaitVisible(chromedp.CSS(`section.card button.approve`)),
	)
	ids, err := chromedp.Run(p.ctx, chromedp.Evaluate[[]string](`Array.from(document.querySelectorAll("section.card"))
		.filter(s => Array.from(s.querySelectorAll("dd")).some(d => d.textContent.trim() === "`+stkMSISDN+`"))
		.map(s => s.querySelector("input[name=id]").value)`))
	if err != nil {
		p.t.Fatalf("find the prompt on the sandbox phone: %v", err)
	}
	if len(ids) != 1 {
		p.t.Fatalf("the sandbox phone shows %d pending prompts for %s, want 1: %q", len(ids), stkMSISDN, p.text(`main`))
	}
	var prompt sandbox.STKPrompt
	for _, pr := range sb.STKPrompts() {
		if pr.ID == ids[0] {
			prompt = pr
		}
	}
	if prompt.ID == "" || prompt.Phone != stkMSISDN || prompt.Status != sandbox.STKPending || prompt.Amount != 150000 {
		p.t.Fatalf("the simulator has the phone page's prompt %s as %+v, want pending for %s, KES 1,500", ids[0], prompt, stkMSISDN)
	}
	card := `section.card:has(input[name=id][value="` + prompt.ID + `"])`
	// M-Pesa takes whole shillings: the phone writes no cents.
	if got := p.text(card + ` .amount`); got != "KES 1,500" {
		p.t.Errorf("the sandbox phone's prompt asks for %q, want KES 1,500", got)
	}
	button := card + ` button[name=action][value=` + action + `]`
	if got := p.text(button); got != label {
		p.t.Errorf("the sandbox phone's %s button says %q, want %s", action, got, label)
	}
	p.checkWidth("the sandbox phone")
	p.screenshot(shot)

	for try := 1; ; try++ {
		if try > 1 {
			p.step("open the sandbox phone again",
				chromedp.Navigate(base+sandbox.PhonePath),
				chromedp.WaitVisible(chromedp.CSS(button)),
			)
		}
		if _, err := chromedp.Run(p.ctx, chromedp.WaitEvent(page.LoadEventFired, nil,
			chromedp.Tap(chromedp.CSS(button)))); err != nil {
			p.t.Fatalf("press %s on the sandbox phone (at %s): %v", label, p.at(), err)
		}
		for range 20 {
			if got, _ := sb.STKPrompt(prompt.Provider, prompt.Reference); got.Status != sandbox.STKPending {
				return got
			}
			time.Sleep(100 * time.Millisecond)
		}
		if try == 3 {
			p.t.Fatalf("the prompt is still pending after pressing %s on the sandbox phone %d times", label, try)
		}
		p.t.Logf("the prompt is still pending after pressing %s on the sandbox phone (try %d); pressing it again", label, try)
	}
}

func TestBrowserSTKPushWaitingPageTurnsIntoReceipt(t *testing.T) {
	chrome := browserChrome(t)
	start := time.Now()

	base, sb := browserStartApp(t, browserFreePort(t))
	const reference = "browser-stk-1"
	co := browserSTKCheckout(t, base, reference)

	// The checkout page offers the M-Pesa form, filled with the customer's
	// number as the merchant sent it.
	p := browserOpenPhone(t, chrome)
	p.openCheckout(co, `form.stk-form #phone`, stkDescription, "stk-checkout")
	p.checkSTKForm(stkCustomerPhone)
	p.step("scroll to the M-Pesa form", chromedp.ScrollIntoView(chromedp.CSS(`form.stk-form`)))
	p.screenshot("stk-form")

	// Send the prompt: "Check your phone", with a live countdown.
	p.pushSTK(co, "stk-wait")

	// The customer approves the prompt on the sandbox phone, in a second
	// tab; the waiting page is left alone.
	navs := p.topNavigations()
	phone := p.newTab("sandbox phone tab: ")
	prompt := phone.answerPrompt(base, sb, "approve", "Approve", "stk-phone")
	if prompt.Status != sandbox.STKCompleted || prompt.ResultCode != sandbox.STKCodeSuccess || prompt.Receipt == "" {
		t.Fatalf("the approved prompt is %s (%q) with the receipt %q, want completed (0) with a receipt",
			prompt.Status, prompt.ResultCode, prompt.Receipt)
	}
	phone.step("wait for the phone's list of answered prompts", chromedp.WaitVisible(chromedp.CSS(`main li`)))
	if got := phone.text(`main li`); !strings.Contains(got, stkMSISDN) || !strings.Contains(got, "approved, receipt "+prompt.Receipt) {
		t.Errorf("the sandbox phone lists the answer as %q, want %s approved with the receipt %s", got, stkMSISDN, prompt.Receipt)
	}

	// The waiting page turns into the receipt by itself.
	took := p.waitTurnsInto(co, `#receipt-heading`, "the receipt", navs)
	t.Logf("the waiting page turned into the receipt %v after the approval", took.Round(time.Millisecond))
	details := p.checkReceipt(stkDescription, reference, co.ID, "M-Pesa", prompt.Receipt)
	p.screenshot("stk-receipt")
	if strings.Contains(details, "—") {
		t.Errorf("the receipt lacks a detail: %q", details)
	}

	// The merchant sees it paid by M-Pesa, with M-Pesa's receipt.
	got := browserPaidCheckout(t, base, co.ID, "stk", 5*time.Second)
	if got.Receipt != nil && *got.Receipt != prompt.Receipt {
		t.Errorf("API checkout receipt = %q, want the M-Pesa receipt %q", *got.Receipt, prompt.Receipt)
	}

	t.Logf("the payment in the browser took %v", time.Since(start).Round(time.Millisecond))
}

func TestBrowserSTKDeclineShowsTheReasonAndTryAgain(t *testing.T) {
	chrome := browserChrome(t)

	base, sb := browserStartApp(t, browserFreePort(t))
	co := browserSTKCheckout(t, base, "browser-stk-decline-1")

	p := browserOpenPhone(t, chrome)
	p.openCheckout(co, `form.stk-form #phone`, stkDescription, "stk-decline-checkout")
	p.checkSTKForm(stkCustomerPhone)
	p.pushSTK(co, "stk-decline-wait")

	// The customer declines the prompt on the sandbox phone.
	navs := p.topNavigations()
	phone := p.newTab("sandbox phone tab: ")
	prompt := phone.answerPrompt(base, sb, "decline", "Decline", "stk-decline-phone")
	if prompt.Status != sandbox.STKFailed || prompt.ResultCode != sandbox.STKCodeCancelled {
		t.Fatalf("the declined prompt is %s (%q), want failed (1032)", prompt.Status, prompt.ResultCode)
	}

	// The waiting page goes back to the checkout page by itself, with the
	// reason and the M-Pesa form again.
	took := p.waitTurnsInto(co, `.pay-area form.stk-form #phone`, "the checkout page", navs)
	t.Logf("the waiting page turned into the checkout page %v after the decline", took.Round(time.Millisecond))
	reason := payments.STKMessage(sandbox.STKCodeCancelled)
	if !strings.HasPrefix(reason, "You cancelled the M-Pesa prompt") {
		t.Fatalf("STKMessage(1032) = %q, want the sentence for a cancelled prompt", reason)
	}
	if got := p.text(`.alert`); got != reason {
		t.Errorf("the checkout page's alert says %q, want %q", got, reason)
	}
	// Nothing is under way any more: no live status, no waiting page.
	if other, err := chromedp.Run(p.ctx, chromedp.Evaluate[bool](
		`document.querySelector("#status, #stk-heading, #receipt-heading") !== null`)); err != nil || other {
		t.Errorf("after the decline the checkout page still shows a status, the waiting page or a receipt (%v)", err)
	}
	if got := p.text(`.summary .amount`); got != "KES 1,500.00" {
		t.Errorf("the checkout page's amount is %q after the decline, want KES 1,500.00", got)
	}
	p.checkSTKForm(stkCustomerPhone)
	p.checkWidth("the checkout page after the decline")
	p.screenshot("stk-declined")

	// The merchant sees it still open, with the reason.
	got := browserAPI(t, http.MethodGet, base+"/api/v1/checkouts/"+co.ID, nil, http.StatusOK)
	if got.Status != "open" || got.Receipt != nil {
		t.Errorf("API checkout after the decline: status %q receipt %s, want open with none", got.Status, browserOrNull(got.Receipt))
	}
	if got.Message == nil || *got.Message != reason {
		t.Errorf("API checkout message after the decline = %s, want %q", browserOrNull(got.Message), reason)
	}
}
