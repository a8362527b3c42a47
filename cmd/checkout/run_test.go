package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"checkout/gateway/sandbox"
	"checkout/store"
	"checkout/store/storetest"
)

const runTestKey = "sk_test_run_0123456789abcdef012345"

// freeAddr finds a loopback port for an app whose public URL must be known
// before it starts.
func freeAddr(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	if err := ln.Close(); err != nil {
		t.Fatal(err)
	}
	return addr
}

type fakeClock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *fakeClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

// startApp runs the whole app as main does, and stops it at cleanup or
// when stop is called.
func startApp(t *testing.T, env map[string]string, now func() time.Time) (a *app, stop func()) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	ready := make(chan *app, 1)
	done := make(chan error, 1)
	go func() {
		done <- run(ctx, func(k string) string { return env[k] }, io.Discard,
			runOptions{Ready: func(a *app) { ready <- a }, Now: now, ReconcileEvery: 20 * time.Millisecond})
	}()
	select {
	case a = <-ready:
	case err := <-done:
		cancel()
		t.Fatalf("app did not start: %v", err)
	case <-time.After(20 * time.Second):
		cancel()
		t.Fatal("app did not start in time")
	}
	var once sync.Once
	stop = func() {
		once.Do(func() {
			cancel()
			if err := <-done; err != nil {
				t.Errorf("app stopped with %v", err)
			}
		})
	}
	t.Cleanup(stop)
	return a, stop
}

func apiCall(t *testing.T, base, method, path, body string) map[string]any {
	t.Helper()
	req, err := http.NewRequest(method, base+path, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Authorization", "Bearer "+runTestKey)
	req.Header.Set("Content-Type", "application/json")
	resp, err := checkedClient(t, 0).Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var out map[string]any
	if err := json.NewDecoder(resp.Body).Decode(&out); err != nil {
		t.Fatal(err)
	}
	return out
}

// TestRestartAfterProviderCompletedBeforeAnyIPNEndsPaid: the customer pays
// at Pesapal, the app stops before any IPN reaches it, and the IPN never
// comes. Started again on the same database file, the app finds the payment
// by itself.
func TestRestartAfterProviderCompletedBeforeAnyIPNEndsPaid(t *testing.T) {
	restartAfterProviderCompleted(t, filepath.Join(t.TempDir(), "shop.db"))
}

// TestOnPostgreSQLRestartAfterProviderCompletedBeforeAnyIPNEndsPaid is the
// same with CHECKOUT_DB a postgres:// URL (a schema of the test's own):
// the app migrates it, serves the API and the payment, stops, and started
// again on it finds the payment.
func TestOnPostgreSQLRestartAfterProviderCompletedBeforeAnyIPNEndsPaid(t *testing.T) {
	restartAfterProviderCompleted(t, storetest.PostgresDSN(t))
}

func restartAfterProviderCompleted(t *testing.T, db string) {
	// Pesapal lives outside the app, so it outlives the restart.
	sim := simulator(t, func(url string) *sandbox.Sandbox {
		return sandbox.New(sandbox.Config{PublicURL: url, ConsumerKey: "live-key", ConsumerSecret: "live-secret-value",
			IPNDelay: time.Millisecond, IPNRetries: -1})
	})

	addr := freeAddr(t)
	env := map[string]string{
		"CHECKOUT_ADDR": addr, "CHECKOUT_PUBLIC_URL": "http://" + addr,
		"CHECKOUT_DB": db, "CHECKOUT_SANDBOX": "0",
		"CHECKOUT_ADMIN_EMAIL": "admin@example.com", "CHECKOUT_ADMIN_PASSWORD": "a long admin password",
		"CHECKOUT_API_KEY": runTestKey, "CHECKOUT_SECRET": strings.Repeat("s", 40),
		"PESAPAL_URL": sim.PesapalBaseURL(), "PESAPAL_CONSUMER_KEY": "live-key", "PESAPAL_CONSUMER_SECRET": "live-secret-value",
	}
	clock := &fakeClock{t: time.Now().UTC()}

	first, stop := startApp(t, env, clock.Now)
	obj := apiCall(t, first.URL, http.MethodPost, "/api/v1/checkouts",
		`{"amount": "999", "currency": "KES", "reference": "restart-1", "description": "Restart", "customer": {"email": "a@example.com"}}`)
	id, _ := obj["id"].(string)
	if id == "" {
		t.Fatalf("create: %v", obj)
	}
	// The customer chooses Pesapal (a plain form post with the CSRF token of
	// the page's session).
	attempt, err := first.Service.StartPesapal(context.Background(), id, "")
	if err != nil {
		t.Fatal(err)
	}
	stop()

	// Pesapal completes the payment while the app is down; its IPN is lost.
	if err := sim.PesapalComplete(attempt.ProviderReference, false); err != nil {
		t.Fatal(err)
	}
	clock.mu.Lock()
	clock.t = clock.t.Add(2 * time.Minute)
	clock.mu.Unlock()

	second, _ := startApp(t, env, clock.Now)
	deadline := time.Now().Add(10 * time.Second)
	for {
		co, err := second.Store.Checkout(context.Background(), id)
		if err != nil {
			t.Fatal(err)
		}
		if co.Status == store.StatusPaid {
			if co.Receipt == "" {
				t.Fatal("paid without a receipt")
			}
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("status after restart = %s, want paid", co.Status)
		}
		time.Sleep(20 * time.Millisecond)
	}
	if sim.IPNsSent() != 0 {
		t.Fatalf("IPNs sent = %d; the payment should have been found without one", sim.IPNsSent())
	}
	got := apiCall(t, second.URL, http.MethodGet, "/api/v1/checkouts/"+id, "")
	if got["status"] != "paid" || got["amount"] != "999.00" {
		t.Fatalf("API after restart: %v", got)
	}
}

func TestSandboxStartPrintsCredentialsAndADemoLinkThatWorks(t *testing.T) {
	addr := freeAddr(t)
	var out bytes.Buffer
	env := map[string]string{"CHECKOUT_ADDR": addr, "CHECKOUT_PUBLIC_URL": "http://" + addr,
		"CHECKOUT_DB": filepath.Join(t.TempDir(), "checkout.db")}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	ready := make(chan struct{})
	var mu sync.Mutex
	w := writerFunc(func(p []byte) (int, error) { mu.Lock(); defer mu.Unlock(); return out.Write(p) })
	go func() {
		done <- run(ctx, func(k string) string { return env[k] }, w, runOptions{Ready: func(*app) { close(ready) }})
	}()
	select {
	case <-ready:
	case err := <-done:
		t.Fatalf("did not start: %v", err)
	}
	defer func() { cancel(); <-done }()
	mu.Lock()
	banner := out.String()
	mu.Unlock()
	for _, want := range []string{"SANDBOX", "Demo checkout: http://" + addr + "/c/chk_", "admin@localhost", "API key:      sk_sandbox_"} {
		if !strings.Contains(banner, want) {
			t.Errorf("banner lacks %q:\n%s", want, banner)
		}
	}
	link := banner[strings.Index(banner, "http://"+addr+"/c/"):]
	link = strings.Fields(link)[0]
	resp, err := http.Get(link)
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK || !strings.Contains(string(body), "KES 1,500.00") ||
		!strings.Contains(string(body), `value="pesapal"`) {
		t.Fatalf("demo link %s: %d\n%s", link, resp.StatusCode, body)
	}
	// The printed API key works.
	key := strings.Fields(banner[strings.Index(banner, "sk_sandbox_"):])[0]
	req, _ := http.NewRequest(http.MethodGet, "http://"+addr+"/api/v1/checkouts/"+strings.TrimPrefix(link, "http://"+addr+"/c/"), nil)
	req.Header.Set("Authorization", "Bearer "+key)
	resp, err = http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("printed API key: %d", resp.StatusCode)
	}
}

type writerFunc func([]byte) (int, error)

func (f writerFunc) Write(p []byte) (int, error) { return f(p) }

func TestBadEnvironmentStopsTheStartWithOneLineNamingTheVariable(t *testing.T) {
	dir := t.TempDir()
	cases := []struct {
		name string
		env  map[string]string
		want string
	}{
		{"bad address", map[string]string{"CHECKOUT_ADDR": "eighty"}, "CHECKOUT_ADDR"},
		{"relative public URL", map[string]string{"CHECKOUT_PUBLIC_URL": "shop.example"}, "CHECKOUT_PUBLIC_URL"},
		{"ftp public URL", map[string]string{"CHECKOUT_PUBLIC_URL": "ftp://shop.example"}, "CHECKOUT_PUBLIC_URL"},
		{"public URL with a path", map[string]string{"CHECKOUT_PUBLIC_URL": "https://shop.example/pay"}, "CHECKOUT_PUBLIC_URL"},
		{"database path with a query", map[string]string{"CHECKOUT_DB": "shop.db?mode=memory"}, "CHECKOUT_DB"},
		{"PokeaPay outlet without key", map[string]string{"POKEAPAY_OUTLET_CODE": "OCT00001"}, "POKEAPAY_HASH_KEY"},
		{"lower-case outlet", map[string]string{"POKEAPAY_OUTLET_CODE": "oct1", "POKEAPAY_HASH_KEY": "k"}, "POKEAPAY_OUTLET_CODE"},
		{"PokeaPay live not a flag", map[string]string{"POKEAPAY_LIVE": "yes"}, "POKEAPAY_LIVE"},
		{"short secret", map[string]string{"CHECKOUT_SECRET": "short"}, "CHECKOUT_SECRET"},
		{"sandbox not a flag", map[string]string{"CHECKOUT_SANDBOX": "yes"}, "CHECKOUT_SANDBOX"},
		{"live without credentials", map[string]string{"CHECKOUT_SANDBOX": "0"}, "CHECKOUT_SANDBOX"},
		{"email without password", map[string]string{"CHECKOUT_ADMIN_EMAIL": "a@example.com"}, "CHECKOUT_ADMIN_PASSWORD"},
		{"bad admin email", map[string]string{"CHECKOUT_ADMIN_EMAIL": "nobody", "CHECKOUT_ADMIN_PASSWORD": "long enough password"}, "CHECKOUT_ADMIN_EMAIL"},
		{"short admin password", map[string]string{"CHECKOUT_ADMIN_EMAIL": "a@example.com", "CHECKOUT_ADMIN_PASSWORD": "short"}, "CHECKOUT_ADMIN_PASSWORD"},
		{"short API key", map[string]string{"CHECKOUT_API_KEY": "abc"}, "CHECKOUT_API_KEY"},
		{"short metrics token", map[string]string{"CHECKOUT_METRICS_TOKEN": "abc"}, "CHECKOUT_METRICS_TOKEN"},
		{"metrics token with a space", map[string]string{"CHECKOUT_METRICS_TOKEN": "metrics token 0123456789abcdef"}, "CHECKOUT_METRICS_TOKEN"},
		{"key without secret", map[string]string{"PESAPAL_CONSUMER_KEY": "k"}, "PESAPAL_CONSUMER_SECRET"},
		{"bad Pesapal URL", map[string]string{"PESAPAL_URL": "not a url"}, "PESAPAL_URL"},
		{"postgres without a secret", map[string]string{"CHECKOUT_DB": "postgres://db/checkout"}, "CHECKOUT_SECRET"},
		{"postgres URL without a host", map[string]string{"CHECKOUT_DB": "postgres:///checkout", "CHECKOUT_SECRET": strings.Repeat("s", 40)}, "CHECKOUT_DB"},
		{"trusted proxy not a CIDR", map[string]string{"CHECKOUT_TRUSTED_PROXIES": "10.0.0.0/8, proxy.internal"}, "CHECKOUT_TRUSTED_PROXIES"},
		{"trusted proxy prefix too long", map[string]string{"CHECKOUT_TRUSTED_PROXIES": "10.0.0.0/33"}, "CHECKOUT_TRUSTED_PROXIES"},
		{"SMTP URL of another scheme", map[string]string{"CHECKOUT_SMTP_URL": "https://u:hunter2@mail.example.com"}, "CHECKOUT_SMTP_URL"},
		{"SMTP URL with a bad port", map[string]string{"CHECKOUT_SMTP_URL": "smtp://u:hunter2@mail.example.com:99999"}, "CHECKOUT_SMTP_URL"},
		{"SMTP URL not a URL", map[string]string{"CHECKOUT_SMTP_URL": "smtp://u:hunter2%zz@mail.example.com"}, "CHECKOUT_SMTP_URL"},
		{"mail sender not an address", map[string]string{"CHECKOUT_MAIL_FROM": "receipts"}, "CHECKOUT_MAIL_FROM"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			if _, ok := tc.env["CHECKOUT_DB"]; !ok {
				tc.env["CHECKOUT_DB"] = filepath.Join(dir, tc.name+".db")
			}
			err := run(context.Background(), func(k string) string { return tc.env[k] }, io.Discard, runOptions{})
			var ce *configError
			if !errors.As(err, &ce) {
				t.Fatalf("err = %v, want a configuration error", err)
			}
			if ce.name != tc.want || !strings.HasPrefix(ce.Error(), tc.want+": ") || strings.Contains(ce.Error(), "\n") {
				t.Fatalf("error %q, want one line naming %s", ce.Error(), tc.want)
			}
			// The SMTP URL's password is never shown.
			if strings.Contains(ce.Error(), "hunter2") {
				t.Fatalf("error %q shows a password", ce.Error())
			}
		})
	}
}

func TestSecretIsGeneratedOnceAndKeptBesideTheDatabase(t *testing.T) {
	db := filepath.Join(t.TempDir(), "c.db")
	cfg := &config{DB: db}
	n := 0
	gen := func() string { n++; return strings.Repeat("x", 63) + string(rune('a'+n)) }
	s1, created1, err := loadSecret(cfg, gen)
	if err != nil || !created1 {
		t.Fatal(err, created1)
	}
	s2, created2, err := loadSecret(cfg, gen)
	if err != nil || created2 || s2 != s1 || n != 1 {
		t.Fatalf("second load: %q created=%v err=%v generated %d times", s2, created2, err, n)
	}
	info, err := os.Stat(db + ".secret")
	if err != nil || info.Mode().Perm() != 0o600 {
		t.Fatalf("secret file: %v %v, want mode 0600", err, info)
	}
}
