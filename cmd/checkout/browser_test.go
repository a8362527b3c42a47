package main

// The real-browser end-to-end test: the whole app in sandbox mode, and a
// headless Chromium the size of a cheap phone paying a checkout with Pesapal
// through the simulator's page in the iframe.

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
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

// browserStartApp runs the whole app on base's port until the test ends.
func browserStartApp(t *testing.T, port int) (base string) {
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
	case err := <-done:
		t.Fatalf("run ended before it was ready: %v", err)
	case <-time.After(20 * time.Second):
		t.Fatal("the app was not ready within 20 s")
	}
	return base
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

func TestBrowserPaysWithPesapalOnAPhone(t *testing.T) {
	chrome := browserExecPath()
	if chrome == "" {
		if os.Getenv("CI") == "true" {
			t.Fatal("CI=true but Chromium is missing: install it (apt-get install chromium) so the browser test runs")
		}
		t.Skip("no Chromium at /usr/bin/chromium or on PATH; install it to run the browser test (CI=true makes this a failure)")
	}
	start := time.Now()

	base := browserStartApp(t, browserFreePort(t))

	// The merchant creates the checkout.
	co := browserAPI(t, http.MethodPost, base+"/api/v1/checkouts", map[string]any{
		"amount": "1500", "currency": "KES", "reference": "browser-1", "description": "Two bags of coffee",
		"customer": map[string]string{"email": "jane@example.com"},
	}, http.StatusCreated)
	if co.ID == "" || co.URL != base+"/c/"+co.ID {
		t.Fatalf("created checkout has id %q and url %q, want the url %s/c/<id>", co.ID, co.URL, base)
	}
	if co.Status != "open" || co.Amount != "1500.00" {
		t.Fatalf("created checkout has status %q and amount %q, want open and 1500.00", co.Status, co.Amount)
	}

	// A headless Chromium the size of a cheap phone: 360x740 CSS pixels at
	// a device scale of 2, with mobile and touch emulation.
	shots, profile := t.TempDir(), t.TempDir()
	tctx, tcancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer tcancel()
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
	defer allocCancel()
	ctx, cancel := chromedp.NewContext(allocCtx)
	defer cancel()

	// Listen starts the browser and opens the tab; from here on every
	// console call, browser log entry (where Chromium reports CSP
	// violations) and uncaught exception of the tab and of its same-origin
	// iframe is recorded.
	var console consoleRecorder
	if err := chromedp.Listen(ctx, console.listen); err != nil {
		t.Fatalf("start Chromium (%s): %v", chrome, err)
	}
	defer func() {
		lines, bad := console.snapshot()
		for _, l := range lines {
			t.Log(l)
		}
		for _, b := range bad {
			t.Errorf("the browser reported: %s", b)
		}
	}()

	step := func(what string, actions ...chromedp.Action[chromedp.Void]) {
		t.Helper()
		if err := chromedp.Do(ctx, actions...); err != nil {
			loc, _ := chromedp.Run(ctx, chromedp.Location())
			t.Fatalf("%s (at %s): %v", what, loc, err)
		}
	}
	text := func(sel string, opts ...chromedp.QueryOption) string {
		t.Helper()
		s, err := chromedp.Run(ctx, chromedp.Text(chromedp.CSS(sel), opts...))
		if err != nil {
			t.Fatalf("read %s: %v", sel, err)
		}
		return strings.TrimSpace(s)
	}

	// The checkout page: the order and the method choice.
	const pesapalButton = `button[name=method][value=pesapal]`
	step("open the checkout page",
		chromedp.EmulateViewport(360, 740, chromedp.EmulateScale(2), chromedp.EmulateMobile,
			chromedp.EmulatePortrait, chromedp.EmulateTouch),
		chromedp.Navigate(co.URL),
		chromedp.WaitVisible(chromedp.CSS(pesapalButton)),
	)
	if got := text(".summary .amount"); got != "KES 1,500.00" {
		t.Errorf("checkout page amount = %q, want KES 1,500.00", got)
	}
	if got := text(".summary .description"); got != "Two bags of coffee" {
		t.Errorf("checkout page description = %q, want Two bags of coffee", got)
	}
	width, err := chromedp.Run(ctx, chromedp.Evaluate[int](`document.documentElement.scrollWidth`))
	if err != nil {
		t.Fatal(err)
	}
	if width > 360 {
		t.Errorf("the checkout page is %d px wide on a 360 px phone: it scrolls sideways", width)
	}
	browserScreenshot(t, ctx, shots, "checkout")

	// Choose Pesapal: the form posts, and the answer is the page with
	// Pesapal's payment page (the simulator) in an iframe. The load event
	// of that page comes once the iframe has loaded too.
	if _, err := chromedp.Run(ctx, chromedp.WaitEvent(page.LoadEventFired, nil,
		chromedp.Tap(chromedp.CSS(pesapalButton)))); err != nil {
		t.Fatalf("choose Pesapal: %v", err)
	}
	step("wait for the Pesapal frame page",
		chromedp.WaitVisible(chromedp.CSS(`iframe.pay-frame`)),
	)
	if loc, _ := chromedp.Run(ctx, chromedp.Location()); loc != base+"/c/"+co.ID+"/pesapal" {
		t.Fatalf("after choosing Pesapal the browser is at %s, want %s/c/%s/pesapal", loc, base, co.ID)
	}
	if got := text(".summary-line .amount-inline"); got != "KES 1,500.00" {
		t.Errorf("Pesapal page amount = %q, want KES 1,500.00", got)
	}
	frames, err := chromedp.Run(ctx, chromedp.Nodes(chromedp.CSS(`iframe.pay-frame`)))
	if err != nil {
		t.Fatalf("find the Pesapal iframe: %v", err)
	}
	frame := frames[0]
	if src := frame.AttributeValue("src"); !strings.HasPrefix(src, base+"/sandbox/") {
		t.Errorf("the iframe shows %q, want the simulator under %s/sandbox/", src, base)
	}
	step("wait for the simulator's Pay button in the iframe",
		chromedp.WaitVisible(chromedp.CSS(`button.pay`), chromedp.FromNode(frame)),
	)
	if got := text(`.amount`, chromedp.FromNode(frame)); got != "KES 1,500.00" {
		t.Errorf("the simulator's page shows %q, want KES 1,500.00", got)
	}
	browserScreenshot(t, ctx, shots, "pesapal")

	// Pay in the iframe. Its form targets _top, so the whole window goes to
	// the simulator, which sends it on to our /return/pesapal.
	isReturn := func(ev page.EventFrameNavigated) bool {
		return ev.Frame != nil && ev.Frame.ParentID == "" && strings.Contains(ev.Frame.URL, "/return/pesapal")
	}
	if _, err := chromedp.Run(ctx, chromedp.WaitEvent(page.FrameNavigated, isReturn,
		chromedp.Tap(chromedp.CSS(`button.pay`), chromedp.FromNode(frame)))); err != nil {
		loc, _ := chromedp.Run(ctx, chromedp.Location())
		t.Fatalf("pay in the simulator (at %s): %v", loc, err)
	}

	// The return page shows the result ("Paid"), or the status fragment
	// already sent the window on to the receipt.
	step("wait for the paid result or the receipt",
		chromedp.WaitVisible(chromedp.CSS(`#receipt-heading, #status .status-paid-text`)),
	)
	loc, err := chromedp.Run(ctx, chromedp.Location())
	if err != nil {
		t.Fatal(err)
	}
	if strings.Contains(loc, "/return/pesapal") {
		if got := text(`#status .status-paid-text`); got != "Paid" {
			t.Errorf("the return page says %q, want Paid", got)
		}
		if got := text(".summary .amount"); got != "KES 1,500.00" {
			t.Errorf("the return page amount = %q, want KES 1,500.00", got)
		}
		browserScreenshot(t, ctx, shots, "result")
	}

	// The checkout's own URL now shows the receipt.
	step("open the receipt",
		chromedp.Navigate(co.URL),
		chromedp.WaitVisible(chromedp.CSS(`#receipt-heading`)),
	)
	if got := text("#receipt-heading"); got != "Payment received" {
		t.Errorf("receipt heading = %q, want Payment received", got)
	}
	if got := text(".receipt .amount"); got != "KES 1,500.00" {
		t.Errorf("receipt amount = %q, want KES 1,500.00", got)
	}
	details := text(".receipt .details")
	for _, want := range []string{"Two bags of coffee", "browser-1", co.ID} {
		if !strings.Contains(details, want) {
			t.Errorf("the receipt details %q do not mention %q", details, want)
		}
	}
	width, err = chromedp.Run(ctx, chromedp.Evaluate[int](`document.documentElement.scrollWidth`))
	if err != nil {
		t.Fatal(err)
	}
	if width > 360 {
		t.Errorf("the receipt is %d px wide on a 360 px phone: it scrolls sideways", width)
	}
	browserScreenshot(t, ctx, shots, "receipt")

	// The merchant sees it paid, with the provider's receipt.
	got := browserAPI(t, http.MethodGet, base+"/api/v1/checkouts/"+co.ID, nil, http.StatusOK)
	if got.Status != "paid" || got.Amount != "1500.00" || got.Currency != "KES" {
		t.Errorf("API checkout: status %q amount %q currency %q, want paid 1500.00 KES", got.Status, got.Amount, got.Currency)
	}
	if got.Receipt == nil || *got.Receipt == "" {
		t.Error("API checkout has no receipt")
	} else if !strings.Contains(details, *got.Receipt) {
		t.Errorf("the receipt page does not show the receipt %q: %q", *got.Receipt, details)
	}
	if got.Method == nil || *got.Method != "pesapal" {
		t.Errorf("API checkout method = %v, want pesapal", got.Method)
	}

	// A few seconds on a laptop; only reported, so that a slow CI machine
	// does not make it flaky (the 60 s browser timeout is the hard limit).
	t.Logf("the payment in the browser took %v", time.Since(start).Round(time.Millisecond))
}
