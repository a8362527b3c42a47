package main

// The real-browser end-to-end tests: the whole app in sandbox mode, and a
// headless Chromium the size of a cheap phone paying a checkout through a
// provider's simulator: Pesapal's page in our iframe, and PokeaPay's hosted
// page that the whole window is sent to.

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
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/cdproto/log"
	"github.com/chromedp/cdproto/page"
	"github.com/chromedp/cdproto/runtime"
	"github.com/chromedp/chromedp"

	"checkout/gateway/sandbox"
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
	res, err := (&http.Client{Timeout: 10 * time.Second}).Do(req)
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
	shots, profile := t.TempDir(), t.TempDir()
	tctx, tcancel := context.WithTimeout(context.Background(), 60*time.Second)
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
	t.Cleanup(func() {
		lines, bad := p.console.snapshot()
		for _, l := range lines {
			t.Log(l)
		}
		for _, b := range bad {
			t.Errorf("the browser reported: %s", b)
		}
	})
	return p
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
		chromedp.EmulateViewport(360, 740, chromedp.EmulateScale(2), chromedp.EmulateMobile,
			chromedp.EmulatePortrait, chromedp.EmulateTouch),
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

	// The merchant sees it paid with PokeaPay. The receipt comes with the
	// IPN, a moment after the verification at the return marked it paid.
	got := browserPaidCheckout(t, base, co.ID, "pokeapay", 5*time.Second)
	if got.Receipt != nil && *got.Receipt != "" && *got.Receipt != order.ReferenceNo {
		t.Errorf("API checkout receipt = %q, want the simulator's reference %q", *got.Receipt, order.ReferenceNo)
	}

	// Now the receipt shows PokeaPay's reference.
	mentions := []string{description, reference, co.ID, "PokeaPay"}
	if order.ReferenceNo != "" {
		mentions = append(mentions, order.ReferenceNo)
	}
	p.openReceipt(co, mentions...)
	p.screenshot("pokeapay-receipt")

	t.Logf("the payment in the browser took %v", time.Since(start).Round(time.Millisecond))
}
