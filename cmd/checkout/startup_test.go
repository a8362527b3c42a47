package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/PuerkitoBio/goquery"
)

// TestMain runs main itself when a test starts this binary as the app
// (CHECKOUT_TEST_RUN_MAIN=1), so that a test sees its exit code and output.
func TestMain(m *testing.M) {
	if os.Getenv("CHECKOUT_TEST_RUN_MAIN") == "1" {
		main()
		os.Exit(0)
	}
	os.Exit(m.Run())
}

// liveEnv is a production-like live start: a public https URL, Pesapal
// credentials (Pesapal itself unreachable: nothing in these tests pays),
// the admin and the API key.
func liveEnv(t *testing.T, db string) map[string]string {
	t.Helper()
	return map[string]string{
		"CHECKOUT_ADDR": "127.0.0.1:0", "CHECKOUT_PUBLIC_URL": "https://pay.example.co.ke", "CHECKOUT_DB": db,
		"CHECKOUT_SECRET":      strings.Repeat("s", 40),
		"CHECKOUT_ADMIN_EMAIL": "ops@example.co.ke", "CHECKOUT_ADMIN_PASSWORD": "a long admin password",
		"CHECKOUT_API_KEY": runTestKey, "PESAPAL_URL": "http://127.0.0.1:1/v3",
		"PESAPAL_CONSUMER_KEY": "qkio1BGGYAXTu2JOfm7XSXNruoZsrqEW", "PESAPAL_CONSUMER_SECRET": "osGQ364R49cXKeOYSpaOnT++rHs=",
	}
}

// sandboxEnv is a `make run` start: nothing configured but where (on a
// loopback address) and the API key.
func sandboxEnv(t *testing.T, db string) map[string]string {
	t.Helper()
	addr := freeAddr(t)
	return map[string]string{"CHECKOUT_ADDR": addr, "CHECKOUT_PUBLIC_URL": "http://" + addr, "CHECKOUT_DB": db,
		"CHECKOUT_API_KEY": runTestKey}
}

// runWith runs the app with opt until the test ends; it returns the app
// once ready and a stop function that returns run's error.
func runWith(t *testing.T, env map[string]string, opt runOptions) (*app, func() error) {
	t.Helper()
	return runWithOut(t, env, opt, io.Discard)
}

// runWithOut is runWith with the start-up text written to out.
func runWithOut(t *testing.T, env map[string]string, opt runOptions, out io.Writer) (*app, func() error) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	ready := make(chan *app, 1)
	done := make(chan error, 1)
	opt.Ready = func(a *app) { ready <- a }
	go func() { done <- run(ctx, func(k string) string { return env[k] }, out, opt) }()
	var a *app
	select {
	case a = <-ready:
	case err := <-done:
		cancel()
		t.Fatalf("app did not start: %v", err)
	case <-time.After(30 * time.Second):
		cancel()
		t.Fatal("app did not start in time")
	}
	stopped := false
	var runErr error
	stop := func() error {
		if !stopped {
			stopped = true
			cancel()
			runErr = <-done
		}
		return runErr
	}
	t.Cleanup(func() { _ = stop() })
	return a, stop
}

// call sends one request, with the test API key when key is true.
func call(t *testing.T, method, url, body string, key bool) (int, http.Header, []byte) {
	t.Helper()
	req, err := http.NewRequest(method, url, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	if key {
		req.Header.Set("Authorization", "Bearer "+runTestKey)
		req.Header.Set("Content-Type", "application/json")
	}
	resp, err := checkedClient(t, 0).Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return resp.StatusCode, resp.Header, b
}

const startupCheckout = `{"amount": "250", "currency": "KES", "reference": "first-second", "description": "Sent at start-up"}`

// TestAPIRequestTheMomentThePortAcceptsIsNever401: a merchant's request with
// the configured key, sent the moment the port accepts connections and before
// start-up has created that key, hears 503 with Retry-After (and changes
// nothing), never 401; /readyz says starting meanwhile. Once start-up is
// done the same request is served.
func TestAPIRequestTheMomentThePortAcceptsIsNever401(t *testing.T) {
	for _, mode := range []struct {
		name string
		env  func(*testing.T, string) map[string]string
	}{{"live", liveEnv}, {"sandbox", sandboxEnv}} {
		t.Run(mode.name, func(t *testing.T) {
			env := mode.env(t, filepath.Join(t.TempDir(), "checkout.db"))
			var during []string
			starting := func(url string) {
				// Start-up waits for this hook: the key does not exist yet.
				status, hdr, body := call(t, http.MethodPost, url+"/api/v1/checkouts", startupCheckout, true)
				if status != http.StatusServiceUnavailable || hdr.Get("Retry-After") != "1" ||
					!strings.Contains(string(body), `"code":"starting"`) {
					during = append(during, "api: "+http.StatusText(status)+" "+hdr.Get("Retry-After")+" "+string(body))
				}
				if status, _, body := call(t, http.MethodGet, url+"/readyz", "", false); status != http.StatusServiceUnavailable ||
					string(body) != `{"status":"starting"}` {
					during = append(during, "readyz: "+http.StatusText(status)+" "+string(body))
				}
				if status, _, _ := call(t, http.MethodGet, url+"/healthz", "", false); status != http.StatusOK {
					during = append(during, "healthz: "+http.StatusText(status))
				}
			}
			a, _ := runWith(t, env, runOptions{Starting: starting})
			for _, d := range during {
				t.Errorf("while starting, %s", d)
			}
			// 201, not 409: the request refused while starting created nothing.
			if status, _, body := call(t, http.MethodPost, a.URL+"/api/v1/checkouts", startupCheckout, true); status != http.StatusCreated {
				t.Fatalf("once ready: %d %s", status, body)
			}
			if status, _, body := call(t, http.MethodGet, a.URL+"/readyz", "", false); status != http.StatusOK {
				t.Fatalf("readyz once ready: %d %s", status, body)
			}
		})
	}
}

// TestReadyzIs503WhileDraining: at shutdown /readyz turns 503 before the
// server stops, and a request arriving meanwhile is still served.
func TestReadyzIs503WhileDraining(t *testing.T) {
	env := liveEnv(t, filepath.Join(t.TempDir(), "checkout.db"))
	var readyz, api int
	var readyzBody string
	a, stop := runWith(t, env, runOptions{Draining: func(url string) {
		var body []byte
		readyz, _, body = call(t, http.MethodGet, url+"/readyz", "", false)
		readyzBody = string(body)
		api, _, _ = call(t, http.MethodPost, url+"/api/v1/checkouts", startupCheckout, true)
	}})
	if status, _, body := call(t, http.MethodGet, a.URL+"/readyz", "", false); status != http.StatusOK {
		t.Fatalf("readyz before the shutdown: %d %s", status, body)
	}
	if err := stop(); err != nil {
		t.Fatalf("run: %v", err)
	}
	if readyz != http.StatusServiceUnavailable || readyzBody != `{"status":"draining"}` {
		t.Errorf("readyz while draining: %d %s, want 503 draining", readyz, readyzBody)
	}
	if api != http.StatusCreated {
		t.Errorf("API while draining: %d, want 201 (served until the server stops)", api)
	}
}

// TestTestModeIsAssumedOnlyOnLoopbackWithoutCredentials holds the
// CHECKOUT_SANDBOX rule (design.md, "Configuration"): test mode is inferred
// only when no provider has credentials, the public URL is loopback and
// CHECKOUT_WEBHOOK_URL is unset or loopback too.
func TestTestModeIsAssumedOnlyOnLoopbackWithoutCredentials(t *testing.T) {
	admin := map[string]string{"CHECKOUT_ADMIN_EMAIL": "ops@example.co.ke", "CHECKOUT_ADMIN_PASSWORD": "a long admin password"}
	pesapal := map[string]string{"PESAPAL_CONSUMER_KEY": "qkio1BGGYAXTu2JOfm7XSXNruoZsrqEW", "PESAPAL_CONSUMER_SECRET": "osGQ364R49cXKeOYSpaOnT++rHs="}
	with := func(maps ...map[string]string) map[string]string {
		out := map[string]string{}
		for _, m := range maps {
			for k, v := range m {
				out[k] = v
			}
		}
		return out
	}
	// A refusal names CHECKOUT_SANDBOX, says what to set, and repeats no
	// credential's value.
	noCreds := []string{"CHECKOUT_SANDBOX=1", "PESAPAL_CONSUMER_KEY", "POKEAPAY_OUTLET_CODE", "POKEAPAY_EMAIL", "POCHIPAY_EMAIL"}
	cases := []struct {
		name    string
		env     map[string]string
		sandbox bool     // the mode when accepted
		badVar  string   // "" when accepted
		mention []string // what the refusal's line says
	}{
		{"nothing set: make run", map[string]string{}, true, "", nil},
		{"localhost", map[string]string{"CHECKOUT_PUBLIC_URL": "http://localhost:9000"}, true, "", nil},
		{"127.0.0.1", map[string]string{"CHECKOUT_PUBLIC_URL": "http://127.0.0.1:8080"}, true, "", nil},
		{"127.8.9.10", map[string]string{"CHECKOUT_PUBLIC_URL": "http://127.8.9.10"}, true, "", nil},
		{"[::1]", map[string]string{"CHECKOUT_PUBLIC_URL": "http://[::1]:8080"}, true, "", nil},
		{"public URL without credentials", map[string]string{"CHECKOUT_PUBLIC_URL": "https://pay.example.co.ke"}, false, "CHECKOUT_SANDBOX",
			append([]string{"https://pay.example.co.ke"}, noCreds...)},
		{"private address without credentials", map[string]string{"CHECKOUT_PUBLIC_URL": "http://10.0.0.5:8080"}, false, "CHECKOUT_SANDBOX", noCreds},
		{"localhost look-alike without credentials", map[string]string{"CHECKOUT_PUBLIC_URL": "https://localhost.example.com"}, false, "CHECKOUT_SANDBOX", noCreds},
		{"explicit sandbox on a public URL", map[string]string{"CHECKOUT_SANDBOX": "1", "CHECKOUT_PUBLIC_URL": "https://demo.example.co.ke"}, true, "", nil},
		{"sandbox with Pesapal credentials", with(pesapal, map[string]string{"CHECKOUT_SANDBOX": "1"}), false, "CHECKOUT_SANDBOX",
			[]string{"PESAPAL_CONSUMER_KEY", "PESAPAL_CONSUMER_SECRET", "CHECKOUT_SANDBOX=0"}},
		{"sandbox with a PokeaPay outlet", map[string]string{"CHECKOUT_SANDBOX": "1", "POKEAPAY_OUTLET_CODE": "OCT00001", "POKEAPAY_HASH_KEY": "hash-key-value"},
			false, "CHECKOUT_SANDBOX", []string{"POKEAPAY_OUTLET_CODE", "POKEAPAY_HASH_KEY"}},
		{"sandbox with a PokeaPay STK login", map[string]string{"CHECKOUT_SANDBOX": "1", "POKEAPAY_EMAIL": "stk@shop.example"},
			false, "CHECKOUT_SANDBOX", []string{"POKEAPAY_EMAIL"}},
		{"sandbox with a Pochipay login", map[string]string{"CHECKOUT_SANDBOX": "true", "POCHIPAY_EMAIL": "p@shop.example", "POCHIPAY_PASSWORD": "pochi-password-value"},
			false, "CHECKOUT_SANDBOX", []string{"POCHIPAY_EMAIL", "POCHIPAY_PASSWORD"}},
		{"sandbox with a B2C key", map[string]string{"CHECKOUT_SANDBOX": "1", "POKEAPAY_B2C_PRIVATE_KEY_FILE": "/run/secrets/b2c.pem"},
			false, "CHECKOUT_SANDBOX", []string{"POKEAPAY_B2C_PRIVATE_KEY_FILE"}},
		{"live without credentials", with(admin, map[string]string{"CHECKOUT_SANDBOX": "0"}), false, "CHECKOUT_SANDBOX",
			[]string{"PESAPAL_CONSUMER_KEY", "POKEAPAY_OUTLET_CODE", "POCHIPAY_EMAIL"}},
		{"payout credentials alone", with(admin, map[string]string{"CHECKOUT_PUBLIC_URL": "https://pay.example.co.ke", "POKEAPAY_B2C_CUSTOMER_CODE": "C1"}),
			false, "CHECKOUT_SANDBOX", []string{"live mode needs a payment provider", "PESAPAL_CONSUMER_KEY"}},
		{"production: credentials on a public URL", with(admin, pesapal, map[string]string{"CHECKOUT_PUBLIC_URL": "https://pay.example.co.ke"}), false, "", nil},
		{"credentials on localhost", with(admin, pesapal), false, "", nil},
		// The webhook URL: test events go to this machine only, unless
		// CHECKOUT_SANDBOX=1 says so on purpose.
		{"make run with the API key and admin", with(admin, map[string]string{"CHECKOUT_API_KEY": runTestKey}), true, "", nil},
		{"webhook to a receiver on 127.0.0.1", map[string]string{"CHECKOUT_WEBHOOK_URL": "http://127.0.0.1:9000/hooks"}, true, "", nil},
		{"webhook to a receiver on localhost", map[string]string{"CHECKOUT_WEBHOOK_URL": "http://localhost:3000/hooks"}, true, "", nil},
		// The failed mount with the public URL's variable lost too:
		// the default public URL is loopback, the merchant's endpoint is not.
		{"failed secrets mount: default public URL, the merchant's webhook",
			with(admin, map[string]string{"CHECKOUT_API_KEY": runTestKey, "CHECKOUT_WEBHOOK_URL": "https://shop.example.co.ke/hooks/checkout?token=t0k3n-in-the-url"}),
			false, "CHECKOUT_SANDBOX",
			append([]string{"CHECKOUT_WEBHOOK_URL goes to shop.example.co.ke, not this machine", "test events would reach a real server"}, noCreds...)},
		{"webhook to a private address", map[string]string{"CHECKOUT_PUBLIC_URL": "http://localhost:8080", "CHECKOUT_WEBHOOK_URL": "http://10.0.0.7/hooks"},
			false, "CHECKOUT_SANDBOX", append([]string{"CHECKOUT_WEBHOOK_URL goes to 10.0.0.7"}, noCreds...)},
		{"explicit sandbox with the merchant's webhook", map[string]string{"CHECKOUT_SANDBOX": "1", "CHECKOUT_WEBHOOK_URL": "https://shop.example.co.ke/hooks"}, true, "", nil},
		{"credentials with the merchant's webhook on localhost", with(admin, pesapal, map[string]string{"CHECKOUT_WEBHOOK_URL": "https://shop.example.co.ke/hooks"}), false, "", nil},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			c, err := loadConfig(func(k string) string { return tc.env[k] })
			if tc.badVar == "" {
				if err != nil {
					t.Fatalf("refused: %v", err)
				}
				if c.Sandbox != tc.sandbox {
					t.Fatalf("sandbox = %v, want %v", c.Sandbox, tc.sandbox)
				}
				return
			}
			var ce *configError
			if !errors.As(err, &ce) || ce.name != tc.badVar {
				t.Fatalf("err = %v, want one naming %s", err, tc.badVar)
			}
			line := ce.Error()
			if !strings.HasPrefix(line, tc.badVar+": ") || strings.Contains(line, "\n") {
				t.Fatalf("%q is not one line naming %s", line, tc.badVar)
			}
			for _, m := range tc.mention {
				if !strings.Contains(line, m) {
					t.Errorf("%q does not mention %s", line, m)
				}
			}
			for k, v := range tc.env {
				// A webhook URL may carry a token: only its host is named.
				if strings.Contains(k, "KEY") || strings.Contains(k, "SECRET") || strings.Contains(k, "PASSWORD") || strings.Contains(k, "EMAIL") ||
					k == "CHECKOUT_WEBHOOK_URL" {
					if strings.Contains(line, v) {
						t.Errorf("%q repeats the value of %s", line, k)
					}
				}
			}
		})
	}
}

// TestADatabaseRefusesTheOtherMode: a database started in test mode refuses
// a live start, and one started live refuses test mode, each with one line
// saying how to start over; the same mode starts again.
func TestADatabaseRefusesTheOtherMode(t *testing.T) {
	for _, tc := range []struct {
		name         string
		first, other func(*testing.T, string) map[string]string
		line         string
	}{
		{"test then live", sandboxEnv, liveEnv, "was created in test mode and this start is in live mode"},
		{"live then test", liveEnv, sandboxEnv, "was created in live mode and this start is in test mode"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			db := filepath.Join(t.TempDir(), "checkout.db")
			_, stop := runWith(t, tc.first(t, db), runOptions{})
			if err := stop(); err != nil {
				t.Fatal(err)
			}
			env := tc.other(t, db)
			err := run(context.Background(), func(k string) string { return env[k] }, io.Discard, runOptions{})
			var ce *configError
			if !errors.As(err, &ce) || ce.name != "CHECKOUT_DB" {
				t.Fatalf("err = %v, want a refusal naming CHECKOUT_DB", err)
			}
			for _, want := range []string{db, tc.line, "set CHECKOUT_DB to a new database file"} {
				if !strings.Contains(ce.Error(), want) || strings.Contains(ce.Error(), "\n") {
					t.Errorf("%q is not one line saying %q", ce.Error(), want)
				}
			}
			// The same mode as the first start is welcome again.
			_, stop = runWith(t, tc.first(t, db), runOptions{})
			if err := stop(); err != nil {
				t.Fatal(err)
			}
		})
	}
}

// TestRefusedStartsExitNonZeroWithOneLine runs the binary as an operator
// would: each refused start exits 1 and prints one line on stderr.
func TestRefusedStartsExitNonZeroWithOneLine(t *testing.T) {
	testDB := filepath.Join(t.TempDir(), "test-mode.db")
	_, stop := runWith(t, sandboxEnv(t, testDB), runOptions{})
	if err := stop(); err != nil {
		t.Fatal(err)
	}
	oldDB := filepath.Join(t.TempDir(), "before-the-mode-record.db")
	_, stop = runWith(t, sandboxEnv(t, oldDB), runOptions{})
	if err := stop(); err != nil {
		t.Fatal(err)
	}
	asWrittenByThePreviousRelease(t, oldDB)
	for _, tc := range []struct {
		name string
		env  map[string]string
		line string // the start of the one line on stderr
		says string // and a part of it
	}{
		{"public URL without credentials",
			map[string]string{"CHECKOUT_PUBLIC_URL": "https://pay.example.co.ke", "CHECKOUT_DB": filepath.Join(t.TempDir(), "a.db")},
			"configuration error: CHECKOUT_SANDBOX: ", "for test mode set CHECKOUT_SANDBOX=1"},
		{"no credentials, the merchant's webhook",
			map[string]string{"CHECKOUT_WEBHOOK_URL": "https://shop.example.co.ke/hooks", "CHECKOUT_DB": filepath.Join(t.TempDir(), "w.db")},
			"configuration error: CHECKOUT_SANDBOX: ", "CHECKOUT_WEBHOOK_URL goes to shop.example.co.ke, not this machine"},
		{"sandbox with a credential",
			map[string]string{"CHECKOUT_SANDBOX": "1", "PESAPAL_CONSUMER_KEY": "k", "PESAPAL_CONSUMER_SECRET": "s", "CHECKOUT_DB": filepath.Join(t.TempDir(), "b.db")},
			"configuration error: CHECKOUT_SANDBOX: ", "test mode takes no real credential"},
		{"live start on a test-mode database", liveEnv(t, testDB),
			"configuration error: CHECKOUT_DB: ", "set CHECKOUT_DB to a new database file"},
		{"inferred start on a database from before the mode record", liveEnv(t, oldDB),
			"configuration error: CHECKOUT_SANDBOX: ", "start once with CHECKOUT_SANDBOX=1 if it holds test data or CHECKOUT_SANDBOX=0 if it holds live data"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
			defer cancel()
			cmd := exec.CommandContext(ctx, os.Args[0], "-test.run=^$")
			cmd.Env = []string{"CHECKOUT_TEST_RUN_MAIN=1"}
			for k, v := range tc.env {
				cmd.Env = append(cmd.Env, k+"="+v)
			}
			var stdout, stderr bytes.Buffer
			cmd.Stdout, cmd.Stderr = &stdout, &stderr
			err := cmd.Run()
			var exit *exec.ExitError
			if !errors.As(err, &exit) || exit.ExitCode() != 1 {
				t.Fatalf("exit: %v, want status 1\nstderr: %s", err, stderr.String())
			}
			lines := strings.Split(strings.TrimRight(stderr.String(), "\n"), "\n")
			if len(lines) != 1 || !strings.HasPrefix(lines[0], tc.line) || !strings.Contains(lines[0], tc.says) {
				t.Fatalf("stderr %q, want one line starting %q saying %q", stderr.String(), tc.line, tc.says)
			}
			if stdout.Len() != 0 {
				t.Fatalf("stdout %q, want nothing", stdout.String())
			}
		})
	}
}

// TestModeShowsOnTheAPIAndThePages: a `make run` start is test mode (API
// objects say livemode false, pages show the mark, the simulators answer);
// a production-like start is live (livemode true, no mark, no simulators).
func TestModeShowsOnTheAPIAndThePages(t *testing.T) {
	for _, tc := range []struct {
		name     string
		env      func(*testing.T, string) map[string]string
		livemode bool
		sandbox  int // the status of GET /sandbox/phone
	}{
		{"make run", sandboxEnv, false, http.StatusOK},
		{"production-like", liveEnv, true, http.StatusNotFound},
	} {
		t.Run(tc.name, func(t *testing.T) {
			a, _ := runWith(t, tc.env(t, filepath.Join(t.TempDir(), "checkout.db")), runOptions{})
			if (a.Sandbox != nil) == tc.livemode {
				t.Fatalf("simulators running: %v, livemode %v", a.Sandbox != nil, tc.livemode)
			}
			status, _, body := call(t, http.MethodPost, a.URL+"/api/v1/checkouts", startupCheckout, true)
			var obj map[string]any
			if err := json.Unmarshal(body, &obj); err != nil || status != http.StatusCreated {
				t.Fatalf("create: %d %s", status, body)
			}
			if got, ok := obj["livemode"]; !ok || got != tc.livemode {
				t.Errorf("livemode = %v (present %v), want %v", got, ok, tc.livemode)
			}
			for _, path := range []string{"/c/" + obj["id"].(string), "/admin/login"} {
				status, _, body := call(t, http.MethodGet, a.URL+path, "", false)
				doc, err := goquery.NewDocumentFromReader(bytes.NewReader(body))
				if err != nil || status != http.StatusOK {
					t.Fatalf("%s: %d %v", path, status, err)
				}
				if marked := doc.Find("body > .test-mode").Length() == 1; marked == tc.livemode {
					t.Errorf("%s: test mode mark shown %v, livemode %v", path, marked, tc.livemode)
				}
			}
			if status, _, _ := call(t, http.MethodGet, a.URL+"/sandbox/phone", "", false); status != tc.sandbox {
				t.Errorf("/sandbox/phone: %d, want %d", status, tc.sandbox)
			}
		})
	}
}
