package main

import (
	"bytes"
	"context"
	"database/sql"
	"io"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"checkout/payments"
	"checkout/store"
)

// webhookStarts starts the app again and again on one database, as an
// operator restarting it would, with CHECKOUT_WEBHOOK_* as each start
// says.
type webhookStarts struct {
	t     *testing.T
	addr  string
	db    string
	clock *fakeClock
}

func newWebhookStarts(t *testing.T) *webhookStarts {
	return &webhookStarts{t: t, addr: freeAddr(t), db: filepath.Join(t.TempDir(), "checkout.db"),
		clock: &fakeClock{t: time.Now().UTC()}}
}

// start runs the app with the webhook URL and secret given ("" unsets the
// variable) and returns it with its banner; stop ends it.
func (w *webhookStarts) start(url, secret string) (a *app, banner string, stop func()) {
	t := w.t
	t.Helper()
	env := map[string]string{"CHECKOUT_ADDR": w.addr, "CHECKOUT_PUBLIC_URL": "http://" + w.addr, "CHECKOUT_DB": w.db,
		"CHECKOUT_SANDBOX": "1", "CHECKOUT_API_KEY": runTestKey,
		"CHECKOUT_WEBHOOK_URL": url, "CHECKOUT_WEBHOOK_SECRET": secret}
	var mu sync.Mutex
	var out bytes.Buffer
	wr := writerFunc(func(p []byte) (int, error) { mu.Lock(); defer mu.Unlock(); return out.Write(p) })
	ctx, cancel := context.WithCancel(context.Background())
	ready := make(chan *app, 1)
	done := make(chan error, 1)
	go func() {
		done <- run(ctx, func(k string) string { return env[k] }, wr, runOptions{Ready: func(a *app) { ready <- a }, Now: w.clock.Now})
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
	mu.Lock()
	defer mu.Unlock()
	for _, line := range strings.Split(out.String(), "\n") {
		if strings.HasPrefix(line, "  Webhooks:") {
			banner = line
		}
	}
	return a, banner, stop
}

func (w *webhookStarts) webhook(a *app) *store.MerchantWebhook {
	w.t.Helper()
	m, err := a.Store.MerchantWebhookOf(context.Background(), "default")
	if err != nil {
		w.t.Fatal(err)
	}
	return m
}

func (w *webhookStarts) advance(d time.Duration) {
	w.clock.mu.Lock()
	defer w.clock.mu.Unlock()
	w.clock.t = w.clock.t.Add(d)
}

// receiver is a merchant's endpoint: it answers status and hands every
// request it gets, with its body, to the test.
type receiver struct {
	*httptest.Server
	got chan received
}

type received struct {
	req  *http.Request
	body []byte
}

func newReceiver(t *testing.T, status int) *receiver {
	r := &receiver{got: make(chan received, 10)}
	r.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		body, err := io.ReadAll(req.Body)
		if err != nil {
			t.Error(err)
		}
		w.WriteHeader(status)
		r.got <- received{req, body}
	}))
	t.Cleanup(r.Close)
	return r
}

func (r *receiver) next(t *testing.T) received {
	t.Helper()
	select {
	case got := <-r.got:
		return got
	case <-time.After(10 * time.Second):
		t.Fatal("no webhook arrived in 10 s")
		return received{}
	}
}

// sendTestEvent queues the admin's test event and has it delivered now.
func sendTestEvent(t *testing.T, a *app) {
	t.Helper()
	if _, err := a.Service.SendTestWebhook(context.Background(), "default"); err != nil {
		t.Fatal(err)
	}
	if err := a.Service.DeliverWebhooks(context.Background()); err != nil {
		t.Fatal(err)
	}
}

// signedWith reports whether the delivery's webhook-signature holds a
// signature made with secret.
func signedWith(t *testing.T, got received, secret string) bool {
	t.Helper()
	key, err := payments.ParseWebhookSecret(secret)
	if err != nil {
		t.Fatal(err)
	}
	ts, err := strconv.ParseInt(got.req.Header.Get("webhook-timestamp"), 10, 64)
	if err != nil {
		t.Fatal(err)
	}
	want := payments.SignWebhook(key, got.req.Header.Get("webhook-id"), ts, got.body)
	return slices.Contains(strings.Fields(got.req.Header.Get("webhook-signature")), want)
}

func TestWebhookEnvIsAppliedAtTheFirstStartAndOnlyItsHashIsKept(t *testing.T) {
	w := newWebhookStarts(t)
	secret := payments.NewWebhookSecret()
	const url = "http://127.0.0.1:9/hooks"
	a, banner, _ := w.start(url, secret)

	m := w.webhook(a)
	if m.WebhookURL != url || m.WebhookSecret != secret || m.WebhookPreviousSecret != "" {
		t.Fatalf("webhook %q, secret from env %v, previous %q", m.WebhookURL, m.WebhookSecret == secret, m.WebhookPreviousSecret)
	}
	if want := "  Webhooks:     " + url + "  (secret from CHECKOUT_WEBHOOK_SECRET)"; banner != want {
		t.Errorf("banner %q, want %q", banner, want)
	}
	ctx := context.Background()
	if v, err := a.Store.Setting(ctx, settingWebhookEnvURL); err != nil || v != url {
		t.Errorf("remembered URL %q, %v", v, err)
	}
	v, err := a.Store.Setting(ctx, settingWebhookEnvSecret)
	if err != nil || v != webhookSecretHash(secret) {
		t.Errorf("remembered secret %q, %v; want its hash", v, err)
	}
	if strings.Contains(v, strings.TrimPrefix(secret, "whsec_")) {
		t.Errorf("the settings keep the secret itself: %q", v)
	}
}

func TestWebhookEnvWithoutASecretGivesANewOneShownOnceThenKeepsIt(t *testing.T) {
	w := newWebhookStarts(t)
	const url = "http://127.0.0.1:9/hooks"
	a, banner, stop := w.start(url, "")
	m := w.webhook(a)
	if _, err := payments.ParseWebhookSecret(m.WebhookSecret); err != nil || m.WebhookURL != url {
		t.Fatalf("webhook %q, secret: %v", m.WebhookURL, err)
	}
	if want := "  Webhooks:     " + url + "  secret " + m.WebhookSecret + "  (shown once)"; banner != want {
		t.Errorf("banner %q, want %q", banner, want)
	}
	stop()

	a, banner, _ = w.start(url, "")
	if got := w.webhook(a); got.WebhookSecret != m.WebhookSecret {
		t.Error("the secret changed at the restart")
	}
	if want := "  Webhooks:     " + url + "  (secret as shown when it was created)"; banner != want {
		t.Errorf("banner %q, want %q", banner, want)
	}
}

func TestRestartWithTheSameWebhookEnvKeepsTheURLAndSecretTheAdminSet(t *testing.T) {
	w := newWebhookStarts(t)
	ctx := context.Background()
	secret := payments.NewWebhookSecret()
	const url, adminURL = "http://127.0.0.1:9/hooks", "http://127.0.0.1:9/new-hooks"
	a, _, stop := w.start(url, secret)
	if _, err := a.Service.SetWebhookURL(ctx, "default", adminURL); err != nil {
		t.Fatal(err)
	}
	rotated, err := a.Service.RotateWebhookSecret(ctx, "default")
	if err != nil {
		t.Fatal(err)
	}
	before := w.webhook(a)
	stop()

	a, banner, _ := w.start(url, secret)
	after := w.webhook(a)
	if after.WebhookURL != adminURL || after.WebhookSecret != rotated || after.WebhookPreviousSecret != secret ||
		!after.WebhookPreviousUntil.Equal(*before.WebhookPreviousUntil) {
		t.Fatalf("after the restart: URL %q, secret is the admin's %v, previous is the env's %v until %v (was %v)",
			after.WebhookURL, after.WebhookSecret == rotated, after.WebhookPreviousSecret == secret,
			after.WebhookPreviousUntil, before.WebhookPreviousUntil)
	}
	want := "  Webhooks:     " + adminURL + "  (secret rotated in the admin; CHECKOUT_WEBHOOK_SECRET is unchanged, so not applied again; " +
		"URL set in the admin; CHECKOUT_WEBHOOK_URL is unchanged, so not applied again)"
	if banner != want {
		t.Errorf("banner %q\nwant   %q", banner, want)
	}
	if strings.Contains(banner, "whsec_") {
		t.Error("the banner shows a secret")
	}
}

func TestRestartWithTheSameWebhookEnvLeavesAnEndpointA410DisabledOff(t *testing.T) {
	w := newWebhookStarts(t)
	gone := newReceiver(t, http.StatusGone)
	secret := payments.NewWebhookSecret()
	a, _, stop := w.start(gone.URL, secret)
	sendTestEvent(t, a)
	gone.next(t)
	// The 410 is recorded after the answer, by whichever worker sent it.
	deadline := time.Now().Add(10 * time.Second)
	for w.webhook(a).WebhookURL != "" {
		if time.Now().After(deadline) {
			t.Fatal("the endpoint that answered 410 was not disabled")
		}
		time.Sleep(10 * time.Millisecond)
	}
	stop()

	a, banner, _ := w.start(gone.URL, secret)
	if m := w.webhook(a); m.WebhookURL != "" || m.WebhookSecret != secret {
		t.Fatalf("after the restart: URL %q, secret kept %v; want still off", m.WebhookURL, m.WebhookSecret == secret)
	}
	want := "  Webhooks:     off  (secret from CHECKOUT_WEBHOOK_SECRET; turned off since CHECKOUT_WEBHOOK_URL was applied " +
		"(in the admin, or after the endpoint answered 410 Gone); it is applied again when it changes)"
	if banner != want {
		t.Errorf("banner %q\nwant   %q", banner, want)
	}
}

func TestRestartWithAChangedWebhookURLAppliesItEvenToADisabledEndpoint(t *testing.T) {
	w := newWebhookStarts(t)
	ctx := context.Background()
	secret := payments.NewWebhookSecret()
	a, _, stop := w.start("http://127.0.0.1:9/hooks", secret)
	// Turned off in the admin (as a 410 does).
	if _, err := a.Service.SetWebhookURL(ctx, "default", ""); err != nil {
		t.Fatal(err)
	}
	stop()

	ok := newReceiver(t, http.StatusOK)
	a, banner, _ := w.start(ok.URL, secret)
	if m := w.webhook(a); m.WebhookURL != ok.URL || m.WebhookSecret != secret || m.WebhookPreviousSecret != "" {
		t.Fatalf("after the restart: URL %q, secret kept %v, previous %q", m.WebhookURL, m.WebhookSecret == secret, m.WebhookPreviousSecret)
	}
	if want := "  Webhooks:     " + ok.URL + "  (secret from CHECKOUT_WEBHOOK_SECRET)"; banner != want {
		t.Errorf("banner %q, want %q", banner, want)
	}
	sendTestEvent(t, a)
	if got := ok.next(t); !signedWith(t, got, secret) {
		t.Error("the delivery to the URL applied again is not signed with the secret")
	}
}

func TestRestartWithAChangedWebhookSecretRotatesItAndTheOldOneKeepsSigning(t *testing.T) {
	w := newWebhookStarts(t)
	hook := newReceiver(t, http.StatusOK)
	oldSecret, newSecret := payments.NewWebhookSecret(), payments.NewWebhookSecret()
	_, _, stop := w.start(hook.URL, oldSecret)
	stop()

	w.advance(time.Hour)
	a, banner, stop := w.start(hook.URL, newSecret)
	m := w.webhook(a)
	if m.WebhookSecret != newSecret || m.WebhookPreviousSecret != oldSecret || m.WebhookPreviousUntil == nil ||
		!m.WebhookPreviousUntil.Equal(w.clock.Now().Add(24*time.Hour)) {
		t.Fatalf("after the restart: secret is the new one %v, previous is the old one %v until %v",
			m.WebhookSecret == newSecret, m.WebhookPreviousSecret == oldSecret, m.WebhookPreviousUntil)
	}
	want := "  Webhooks:     " + hook.URL + "  (secret from CHECKOUT_WEBHOOK_SECRET; the previous secret keeps signing for 24 hours)"
	if banner != want {
		t.Errorf("banner %q\nwant   %q", banner, want)
	}
	sendTestEvent(t, a)
	got := hook.next(t)
	if !signedWith(t, got, newSecret) || !signedWith(t, got, oldSecret) {
		t.Fatalf("during the overlap: signed with the new secret %v, the old %v; want both",
			signedWith(t, got, newSecret), signedWith(t, got, oldSecret))
	}
	stop()

	// A restart with the same new secret rotates nothing again: the old
	// one's overlap ends when it was set to.
	a, _, _ = w.start(hook.URL, newSecret)
	if again := w.webhook(a); again.WebhookSecret != newSecret || again.WebhookPreviousSecret != oldSecret ||
		!again.WebhookPreviousUntil.Equal(*m.WebhookPreviousUntil) {
		t.Fatalf("second restart: secret new %v, previous old %v until %v (was %v)", again.WebhookSecret == newSecret,
			again.WebhookPreviousSecret == oldSecret, again.WebhookPreviousUntil, m.WebhookPreviousUntil)
	}
}

func TestWebhookEnvUnsetThenSetAgainToTheSameValuesIsApplied(t *testing.T) {
	w := newWebhookStarts(t)
	ctx := context.Background()
	secret := payments.NewWebhookSecret()
	const url = "http://127.0.0.1:9/hooks"
	a, _, stop := w.start(url, secret)
	if _, err := a.Service.SetWebhookURL(ctx, "default", "http://127.0.0.1:9/admin-hooks"); err != nil {
		t.Fatal(err)
	}
	stop()

	// Started without the variables: nothing is applied, the admin's URL
	// stays, and the absence is remembered.
	a, banner, stop := w.start("", "")
	if m := w.webhook(a); m.WebhookURL != "http://127.0.0.1:9/admin-hooks" {
		t.Fatalf("without the variables: URL %q", m.WebhookURL)
	}
	if banner != "" {
		t.Errorf("banner %q without CHECKOUT_WEBHOOK_URL", banner)
	}
	stop()

	// Set again to what they were: a change since the last start.
	a, _, _ = w.start(url, secret)
	if m := w.webhook(a); m.WebhookURL != url || m.WebhookSecret != secret {
		t.Fatalf("set again: URL %q, secret from env %v", m.WebhookURL, m.WebhookSecret == secret)
	}
}

// upgradeNote is how the banner says that the variables were recorded, not
// applied, at the first start after the upgrade.
const upgradeNote = "first start since these variables are remembered: recorded as applied without applying them, " +
	"as the previous release applied them at every start; they are applied when they change"

// rememberedWebhookEnv reports what the settings say the variables were.
func rememberedWebhookEnv(t *testing.T, a *app) (url, secretHash string) {
	t.Helper()
	ctx := context.Background()
	url, err := a.Store.Setting(ctx, settingWebhookEnvURL)
	if err != nil {
		t.Fatal(err)
	}
	secretHash, err = a.Store.Setting(ctx, settingWebhookEnvSecret)
	if err != nil {
		t.Fatal(err)
	}
	return url, secretHash
}

func TestFirstStartAfterTheUpgradeLeavesAWebhookA410DisabledOff(t *testing.T) {
	w := newWebhookStarts(t)
	rcv := newReceiver(t, http.StatusOK)
	secret := payments.NewWebhookSecret()
	a, _, stop := w.start(rcv.URL, secret)
	// What the worker does when the endpoint answers 410 Gone.
	if err := a.Store.SetMerchantWebhookURL(context.Background(), "default", "", ""); err != nil {
		t.Fatal(err)
	}
	stop()
	asWrittenByThePreviousRelease(t, w.db)

	a, banner, stop := w.start(rcv.URL, secret)
	if m := w.webhook(a); m.WebhookURL != "" || m.WebhookSecret != secret {
		t.Fatalf("first start after the upgrade: URL %q, secret kept %v; want still off", m.WebhookURL, m.WebhookSecret == secret)
	}
	want := "  Webhooks:     off  (" + upgradeNote + "; secret from CHECKOUT_WEBHOOK_SECRET; turned off since CHECKOUT_WEBHOOK_URL was applied " +
		"(in the admin, or after the endpoint answered 410 Gone); it is applied again when it changes)"
	if banner != want {
		t.Errorf("banner %q\nwant   %q", banner, want)
	}
	if url, hash := rememberedWebhookEnv(t, a); url != rcv.URL || hash != webhookSecretHash(secret) {
		t.Errorf("remembered URL %q, secret hash is the env's %v", url, hash == webhookSecretHash(secret))
	}
	stop()

	// Recorded: the next start with the same variables is an ordinary one.
	a, banner, _ = w.start(rcv.URL, secret)
	if m := w.webhook(a); m.WebhookURL != "" {
		t.Fatalf("second start after the upgrade: URL %q, want still off", m.WebhookURL)
	}
	if strings.Contains(banner, upgradeNote) {
		t.Errorf("second start's banner %q still says it is the first after the upgrade", banner)
	}
}

func TestFirstStartAfterTheUpgradeKeepsTheSecretRotatedInTheAdmin(t *testing.T) {
	w := newWebhookStarts(t)
	ctx := context.Background()
	secret := payments.NewWebhookSecret()
	const url = "http://127.0.0.1:9/hooks"
	a, _, stop := w.start(url, secret)
	rotated, err := a.Service.RotateWebhookSecret(ctx, "default")
	if err != nil {
		t.Fatal(err)
	}
	before := w.webhook(a)
	stop()
	asWrittenByThePreviousRelease(t, w.db)

	a, banner, _ := w.start(url, secret)
	after := w.webhook(a)
	if after.WebhookURL != url || after.WebhookSecret != rotated || after.WebhookPreviousSecret != secret ||
		!after.WebhookPreviousUntil.Equal(*before.WebhookPreviousUntil) {
		t.Fatalf("first start after the upgrade: URL %q, secret is the admin's %v, previous is the env's %v until %v (was %v)",
			after.WebhookURL, after.WebhookSecret == rotated, after.WebhookPreviousSecret == secret,
			after.WebhookPreviousUntil, before.WebhookPreviousUntil)
	}
	want := "  Webhooks:     " + url + "  (" + upgradeNote + "; secret rotated in the admin; CHECKOUT_WEBHOOK_SECRET is recorded, not applied)"
	if banner != want {
		t.Errorf("banner %q\nwant   %q", banner, want)
	}
	if strings.Contains(banner, "whsec_") {
		t.Error("the banner shows a secret")
	}
	if u, hash := rememberedWebhookEnv(t, a); u != url || hash != webhookSecretHash(secret) {
		t.Errorf("remembered URL %q, secret hash is the env's %v", u, hash == webhookSecretHash(secret))
	}
}

func TestFirstStartAfterTheUpgradeKeepsTheURLSetInTheAdmin(t *testing.T) {
	w := newWebhookStarts(t)
	ctx := context.Background()
	const url, adminURL = "http://127.0.0.1:9/hooks", "http://127.0.0.1:9/admin-hooks"
	a, _, stop := w.start(url, "")
	if _, err := a.Service.SetWebhookURL(ctx, "default", adminURL); err != nil {
		t.Fatal(err)
	}
	secret := w.webhook(a).WebhookSecret
	stop()
	asWrittenByThePreviousRelease(t, w.db)

	a, banner, _ := w.start(url, "")
	if m := w.webhook(a); m.WebhookURL != adminURL || m.WebhookSecret != secret {
		t.Fatalf("first start after the upgrade: URL %q, secret kept %v; want the admin's URL", m.WebhookURL, m.WebhookSecret == secret)
	}
	want := "  Webhooks:     " + adminURL + "  (" + upgradeNote + "; secret as shown when it was created; " +
		"URL set in the admin; CHECKOUT_WEBHOOK_URL is recorded, not applied)"
	if banner != want {
		t.Errorf("banner %q\nwant   %q", banner, want)
	}
	if u, hash := rememberedWebhookEnv(t, a); u != url || hash != "" {
		t.Errorf("remembered URL %q, secret hash %q; want the env's URL and no secret", u, hash)
	}
}

// A merchant that never had a webhook has no secret: the variables were
// never applied to it, so the first start after the upgrade applies them.
func TestFirstStartAfterTheUpgradeAppliesTheVariablesToAMerchantThatNeverHadAWebhook(t *testing.T) {
	w := newWebhookStarts(t)
	_, _, stop := w.start("", "")
	stop()
	asWrittenByThePreviousRelease(t, w.db)
	db, err := sql.Open("sqlite3", w.db)
	if err != nil {
		t.Fatal(err)
	}
	// The sandbox inbox gave it a webhook; a live start without the
	// variables gives none.
	if _, err := db.Exec(`UPDATE merchants SET webhook_url = '', webhook_secret = '' WHERE id = 'default'`); err != nil {
		t.Fatal(err)
	}
	db.Close()

	secret := payments.NewWebhookSecret()
	const url = "http://127.0.0.1:9/hooks"
	a, banner, _ := w.start(url, secret)
	if m := w.webhook(a); m.WebhookURL != url || m.WebhookSecret != secret || m.WebhookPreviousSecret != "" {
		t.Fatalf("first start after the upgrade: URL %q, secret from env %v, previous %q", m.WebhookURL, m.WebhookSecret == secret, m.WebhookPreviousSecret)
	}
	if want := "  Webhooks:     " + url + "  (secret from CHECKOUT_WEBHOOK_SECRET)"; banner != want {
		t.Errorf("banner %q, want %q", banner, want)
	}
	if u, hash := rememberedWebhookEnv(t, a); u != url || hash != webhookSecretHash(secret) {
		t.Errorf("remembered URL %q, secret hash is the env's %v", u, hash == webhookSecretHash(secret))
	}
}

// A database of this release that first started without the variables is
// not taken for one from before the upgrade when they are set later, even
// though its merchant has a secret by then (the sandbox inbox's).
func TestWebhookEnvFirstSetAfterStartsWithoutItIsApplied(t *testing.T) {
	w := newWebhookStarts(t)
	a, banner, stop := w.start("", "")
	if banner != "" {
		t.Errorf("banner %q without CHECKOUT_WEBHOOK_URL", banner)
	}
	inboxSecret := w.webhook(a).WebhookSecret
	if _, err := payments.ParseWebhookSecret(inboxSecret); err != nil {
		t.Fatalf("the sandbox inbox's secret: %v", err)
	}
	if u, hash := rememberedWebhookEnv(t, a); u != "" || hash != "" {
		t.Errorf("remembered URL %q, secret hash %q; want both unset", u, hash)
	}
	stop()

	secret := payments.NewWebhookSecret()
	const url = "http://127.0.0.1:9/hooks"
	a, banner, _ = w.start(url, secret)
	if m := w.webhook(a); m.WebhookURL != url || m.WebhookSecret != secret || m.WebhookPreviousSecret != inboxSecret {
		t.Fatalf("variables set: URL %q, secret from env %v, previous is the inbox's %v", m.WebhookURL, m.WebhookSecret == secret,
			m.WebhookPreviousSecret == inboxSecret)
	}
	want := "  Webhooks:     " + url + "  (secret from CHECKOUT_WEBHOOK_SECRET; the previous secret keeps signing for 24 hours)"
	if banner != want {
		t.Errorf("banner %q\nwant   %q", banner, want)
	}
}
