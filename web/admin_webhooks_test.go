package web_test

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/PuerkitoBio/goquery"

	"checkout/handlers"
	"checkout/payments"
	"checkout/store"
	"checkout/web"
	"checkout/web/apicheck"
)

// received is one webhook request as the merchant's server saw it.
type received struct {
	id, timestamp, signature string
	body                     []byte
}

// receiver is a merchant's webhook endpoint: it answers the queued status
// codes in turn, then 200, and keeps every request.
type receiver struct {
	t     *testing.T
	srv   *httptest.Server
	mu    sync.Mutex
	codes []int
	got   []received
}

func newReceiver(t *testing.T) *receiver {
	r := &receiver{t: t}
	r.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		body, err := io.ReadAll(req.Body)
		if err != nil {
			t.Errorf("receiver: %v", err)
		}
		r.mu.Lock()
		r.got = append(r.got, received{id: req.Header.Get("webhook-id"), timestamp: req.Header.Get("webhook-timestamp"),
			signature: req.Header.Get("webhook-signature"), body: body})
		code := http.StatusOK
		if len(r.codes) > 0 {
			code, r.codes = r.codes[0], r.codes[1:]
		}
		r.mu.Unlock()
		w.WriteHeader(code)
	}))
	t.Cleanup(r.srv.Close)
	return r
}

func (r *receiver) answer(codes ...int) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.codes = append(r.codes, codes...)
}

func (r *receiver) requests() []received {
	r.mu.Lock()
	defer r.mu.Unlock()
	return slices.Clone(r.got)
}

// withPrivateWebhooks serves the app again, on the same store and clock,
// with a service that may send webhooks to loopback (the test receiver),
// as CHECKOUT_WEBHOOK_ALLOW_PRIVATE=1 does. The retry jitter is off.
func (e *env) withPrivateWebhooks() {
	e.t.Helper()
	log := slog.New(slog.DiscardHandler)
	var engine http.Handler
	app := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { engine.ServeHTTP(w, r) }))
	e.t.Cleanup(app.Close)
	ipnURL := app.URL + "/ipn/pesapal"
	svc, err := payments.New(payments.Config{PublicURL: app.URL, Pesapal: e.pesapal, Store: e.store, Logger: log, Now: e.clock.Now,
		PesapalIPN:          payments.IPNOnce(func(ctx context.Context) (string, error) { return e.pesapal.EnsureIPN(ctx, ipnURL, "POST") }),
		WebhookAllowPrivate: true, WebhookJitter: func(d time.Duration) time.Duration { return d }, Metrics: e.metrics})
	if err != nil {
		e.t.Fatal(err)
	}
	sess := web.NewSessions([]byte("0123456789abcdef0123456789abcdef"), []byte("abcdef0123456789abcdef0123456789"), false)
	engine = apicheck.For(e.t).Handler(e.t, web.New(handlers.New(svc, sess, log), web.Config{Logger: log, Sessions: sess,
		ProviderOrigins: []string{e.simSrv.URL}, Metrics: e.metrics}))
	e.app, e.svc = app, svc
}

func (e *env) deliver() {
	e.t.Helper()
	if err := e.svc.DeliverWebhooks(context.Background()); err != nil {
		e.t.Fatal(err)
	}
}

// verifies checks a Standard Webhooks signature independently of the
// app's code: HMAC-SHA256 of id.timestamp.body under the decoded secret.
func verifies(t *testing.T, secret string, r received, sig string) bool {
	t.Helper()
	key, err := base64.StdEncoding.DecodeString(strings.TrimPrefix(secret, "whsec_"))
	if err != nil {
		t.Fatalf("secret %q: %v", secret, err)
	}
	m := hmac.New(sha256.New, key)
	m.Write([]byte(r.id + "." + r.timestamp + "." + string(r.body)))
	want := "v1," + base64.StdEncoding.EncodeToString(m.Sum(nil))
	return hmac.Equal([]byte(sig), []byte(want))
}

func eventType(t *testing.T, r received) string {
	t.Helper()
	var env struct {
		Type string `json:"type"`
	}
	if err := json.Unmarshal(r.body, &env); err != nil {
		t.Fatalf("webhook body is not JSON: %v", err)
	}
	return env.Type
}

// setWebhookURL saves the default merchant's URL through the settings
// page and returns the answer.
func setWebhookURL(b *browser, e *env, u string) page {
	b.t.Helper()
	p := b.get(e.app.URL + "/admin/webhooks")
	if p.status != http.StatusOK {
		b.t.Fatalf("webhooks page: %d", p.status)
	}
	return b.submit(p, "section[data-merchant=default] form.webhook-url-form", url.Values{"url": {u}})
}

// shownSecret is the secret the page shows whole ("" when none is).
func shownSecret(p page) string {
	return strings.TrimSpace(p.doc.Find(".new-secret pre.secret").Text())
}

func (e *env) merchantWebhook() *store.MerchantWebhook {
	e.t.Helper()
	m, err := e.store.MerchantWebhookOf(context.Background(), "default")
	if err != nil {
		e.t.Fatal(err)
	}
	return m
}

func (e *env) delivery(id string) *store.WebhookDelivery {
	e.t.Helper()
	d, err := e.store.WebhookDelivery(context.Background(), id)
	if err != nil {
		e.t.Fatal(err)
	}
	return d
}

func TestAdminOrderPageShowsWebhookDeliveriesAfterPaidFlow(t *testing.T) {
	e := newEnv(t, envOptions{})
	e.withPrivateWebhooks()
	rcv := newReceiver(t)
	b := e.adminBrowser()
	saved := setWebhookURL(b, e, rcv.srv.URL+"/hooks")
	secret := shownSecret(saved)
	if saved.status != http.StatusOK || !strings.HasPrefix(secret, "whsec_") {
		t.Fatalf("saving the first URL: %d, secret shown %q", saved.status, secret)
	}
	if got := e.merchantWebhook(); got.WebhookURL != rcv.srv.URL+"/hooks" || got.WebhookSecret != secret {
		t.Fatalf("stored %q %q", got.WebhookURL, got.WebhookSecret)
	}

	id := e.createCheckout("order-wh")
	e.payByIPN(id)
	e.deliver()
	reqs := rcv.requests()
	if len(reqs) != 1 || eventType(t, reqs[0]) != store.WebhookCheckoutPaid || !verifies(t, secret, reqs[0], reqs[0].signature) {
		t.Fatalf("receiver got %d requests (%+v)", len(reqs), reqs)
	}

	p := b.get(e.app.URL + "/admin/orders/" + id)
	items := p.doc.Find("section.deliveries li.delivery")
	if p.status != http.StatusOK || items.Length() != 1 {
		t.Fatalf("order page %d with %d deliveries, want 1", p.status, items.Length())
	}
	li := items.First()
	text := func(sel string) string { return strings.TrimSpace(li.Find(sel).Text()) }
	got := []string{li.AttrOr("data-webhook-id", ""), text(".delivery-id"), text(".delivery-event"), text(".badge"),
		text(".delivery-attempts"), text(".try-code")}
	want := []string{reqs[0].id, reqs[0].id, "checkout.paid", "Delivered", "1", "200"}
	if !slices.Equal(got, want) {
		t.Fatalf("delivery shows %q, want %q", got, want)
	}
	if li.Find(".try-at").Text() == "" || li.Find(".delivery-next").Length() != 0 {
		t.Fatal("a delivered try has no time, or a next try is shown")
	}
	if li.Find("form.resend").Length() != 1 {
		t.Fatal("a delivered delivery has no Resend button")
	}
}

func TestAdminDeliveriesListFailuresFirstAndResendKeepsWebhookID(t *testing.T) {
	e := newEnv(t, envOptions{})
	e.withPrivateWebhooks()
	rcv := newReceiver(t)
	b := e.adminBrowser()
	setWebhookURL(b, e, rcv.srv.URL)
	ctx := context.Background()
	lastDelivery := func(checkoutID string) string {
		t.Helper()
		ds, err := e.store.WebhookDeliveries(ctx, checkoutID)
		if err != nil || len(ds) == 0 {
			t.Fatalf("deliveries of %s: %v %d", checkoutID, err, len(ds))
		}
		return ds[len(ds)-1].ID
	}

	// Two delivered (older, newer), one failed after every retry, one pending.
	older := e.createCheckout("order-1")
	e.payByIPN(older)
	e.deliver()
	e.clock.Advance(time.Second)
	newer := e.createCheckout("order-2")
	e.payByIPN(newer)
	e.deliver()
	e.clock.Advance(time.Second)
	failing := e.createCheckout("order-3")
	e.payByIPN(failing)
	failed := lastDelivery(failing)
	for i := 0; i < 10; i++ {
		rcv.answer(http.StatusInternalServerError)
		e.deliver()
		e.clock.Advance(25 * time.Hour)
	}
	if d := e.delivery(failed); d.Status != store.DeliveryFailed || d.Attempts != 10 {
		t.Fatalf("after 10 answers of 500: %s with %d attempts", d.Status, d.Attempts)
	}
	// 250 hours went by on the app's clock: the admin's session has idled
	// out, so the admin logs in again.
	if _, r := e.login(b, adminEmail, adminPassword); r.status != http.StatusSeeOther {
		t.Fatalf("login again: %d", r.status)
	}
	waiting := e.createCheckout("order-4")
	e.payByIPN(waiting)
	pending := lastDelivery(waiting)

	p := b.get(e.app.URL + "/admin/deliveries")
	var ids []string
	p.doc.Find("table.deliveries-table tbody tr").Each(func(_ int, s *goquery.Selection) {
		ids = append(ids, s.AttrOr("data-webhook-id", ""))
	})
	want := []string{failed, pending, lastDelivery(newer), lastDelivery(older)}
	if p.status != http.StatusOK || !slices.Equal(ids, want) {
		t.Fatalf("deliveries page %d rows %v, want %v", p.status, ids, want)
	}
	row := p.doc.Find("tr[data-webhook-id='" + failed + "']")
	var cells []string
	row.Find("td").Each(func(_ int, s *goquery.Selection) { cells = append(cells, strings.TrimSpace(s.Text())) })
	if len(cells) != 10 || cells[1] != failed || cells[2] != "Demo Shop" || cells[3] != failing || cells[4] != "checkout.paid" ||
		cells[5] != "Failed" || cells[6] != "10" || cells[7] != "HTTP 500: the endpoint answered HTTP 500" || cells[8] != "" {
		t.Fatalf("failed row %q", cells)
	}
	if href := row.Find("td a").AttrOr("href", ""); href != "/admin/orders/"+failing {
		t.Fatalf("checkout link %q", href)
	}
	if p.doc.Find("tr[data-webhook-id='"+pending+"'] form.resend").Length() != 0 {
		t.Fatal("a pending delivery offers Resend")
	}

	// Without the token the resend is refused and nothing changes.
	forged := b.noFollow().post(e.app.URL+"/admin/deliveries/"+failed+"/resend", url.Values{}, nil)
	if forged.status != http.StatusForbidden || e.delivery(failed).Status != store.DeliveryFailed {
		t.Fatalf("resend without CSRF token: %d, status %s", forged.status, e.delivery(failed).Status)
	}

	after := b.submit(p, "tr[data-webhook-id='"+failed+"'] form.resend", nil)
	if after.status != http.StatusOK || !strings.HasSuffix(after.url, "/admin/deliveries?flash=resent") || alert(after, "info") == "" {
		t.Fatalf("after resend: %d at %s, flash %q", after.status, after.url, alert(after, "info"))
	}
	if d := e.delivery(failed); d.Status != store.DeliveryPending || d.NextAttemptAt == nil || d.NextAttemptAt.After(e.clock.Now()) {
		t.Fatalf("after resend: %s next %v, want pending and due now", d.Status, d.NextAttemptAt)
	}
	e.wantAudit("delivery.resend", "delivery", failed, adminEmail)
	before := len(rcv.requests())
	e.deliver()
	reqs := rcv.requests()[before:]
	var resent []string
	for _, r := range reqs {
		resent = append(resent, r.id)
	}
	if !slices.Contains(resent, failed) {
		t.Fatalf("receiver got %v after the resend, want %s again", resent, failed)
	}
	if d := e.delivery(failed); d.Status != store.DeliveryDelivered || d.Attempts != 11 {
		t.Fatalf("resent delivery: %s with %d attempts, want delivered with 11", d.Status, d.Attempts)
	}

	// From the order page the resend comes back to the order.
	o := b.get(e.app.URL + "/admin/orders/" + older)
	back := b.submit(o, "li.delivery form.resend", nil)
	if !strings.HasSuffix(back.url, "/admin/orders/"+older+"?flash=resent") || alert(back, "info") == "" {
		t.Fatalf("resend from the order page lands at %s", back.url)
	}
}

func TestAdminWebhookURLBadValueIsMarkedAndChangesNothing(t *testing.T) {
	e := newEnv(t, envOptions{}) // CHECKOUT_WEBHOOK_ALLOW_PRIVATE off
	b := e.adminBrowser()
	secret := payments.NewWebhookSecret()
	if err := e.store.SetMerchantWebhook(context.Background(), "default", "https://shop.example/hooks", secret); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct{ name, url string }{
		{"not http", "ftp://shop.example/hooks"},
		{"credentials", "https://user:pass@shop.example/hooks"},
		{"loopback", "http://127.0.0.1:9000/hooks"},
		{"private", "http://10.0.0.1/hooks"},
		{"localhost", "http://localhost/hooks"},
		{"not a URL", "shop dot example"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			p := setWebhookURL(b, e, tc.url)
			if p.status != http.StatusUnprocessableEntity {
				t.Fatalf("status %d, want 422", p.status)
			}
			in := p.doc.Find("input#url-default")
			if in.AttrOr("aria-invalid", "") != "true" || in.AttrOr("value", "") != tc.url {
				t.Fatalf("field aria-invalid %q value %q", in.AttrOr("aria-invalid", ""), in.AttrOr("value", ""))
			}
			if msg := strings.TrimSpace(p.doc.Find("#" + in.AttrOr("aria-describedby", "none")).Text()); msg == "" {
				t.Fatal("the field has no error message")
			}
			if shownSecret(p) != "" || strings.Contains(p.body, secret) {
				t.Fatal("the page shows the secret")
			}
			if m := e.merchantWebhook(); m.WebhookURL != "https://shop.example/hooks" || m.WebhookSecret != secret {
				t.Fatalf("stored %q %q after a refused URL", m.WebhookURL, m.WebhookSecret)
			}
		})
	}
	// A good URL is saved; the secret stays and is not shown again.
	ok := setWebhookURL(b, e, "https://shop.example/v2/hooks")
	if !strings.HasSuffix(ok.url, "/admin/webhooks?flash=saved") || shownSecret(ok) != "" {
		t.Fatalf("good URL: %s, secret shown %q", ok.url, shownSecret(ok))
	}
	if m := e.merchantWebhook(); m.WebhookURL != "https://shop.example/v2/hooks" || m.WebhookSecret != secret {
		t.Fatalf("stored %q %q", m.WebhookURL, m.WebhookSecret)
	}
	if hint := strings.TrimSpace(ok.doc.Find(".secret-hint").Text()); hint != "whsec_…"+secret[len(secret)-4:] {
		t.Fatalf("secret hint %q", hint)
	}
}

func TestAdminRotateSecretShowsItOnceAndSignsWithBothFor24Hours(t *testing.T) {
	e := newEnv(t, envOptions{})
	e.withPrivateWebhooks()
	rcv := newReceiver(t)
	b := e.adminBrowser()
	old := shownSecret(setWebhookURL(b, e, rcv.srv.URL))
	if old == "" {
		t.Fatal("no secret shown for a new endpoint")
	}

	settings := b.get(e.app.URL + "/admin/webhooks")
	if forged := b.noFollow().post(e.app.URL+"/admin/webhooks/default/rotate", url.Values{}, nil); forged.status != http.StatusForbidden {
		t.Fatalf("rotate without CSRF token: %d, want 403", forged.status)
	}
	if e.merchantWebhook().WebhookSecret != old {
		t.Fatal("a refused rotation changed the secret")
	}
	rotated := b.submit(settings, "section[data-merchant=default] form.rotate", nil)
	fresh := shownSecret(rotated)
	if rotated.status != http.StatusOK || !strings.HasPrefix(fresh, "whsec_") || fresh == old {
		t.Fatalf("rotation: %d, secret shown %q (old %q)", rotated.status, fresh, old)
	}
	if got := e.wantAudit("webhook.url_change", "merchant", "default", adminEmail); got.Detail != "URL "+rcv.srv.URL+", with a new secret" {
		t.Errorf("url change detail = %q", got.Detail)
	}
	e.wantAudit("webhook.secret_rotate", "merchant", "default", adminEmail)
	e.noSecretIn(old)
	e.noSecretIn(fresh)
	if m := e.merchantWebhook(); m.WebhookSecret != fresh || m.WebhookPreviousSecret != old {
		t.Fatal("the rotation did not store the new secret and keep the old one")
	}
	again := b.get(e.app.URL + "/admin/webhooks")
	if shownSecret(again) != "" || strings.Contains(again.body, fresh) || strings.Contains(again.body, old) {
		t.Fatal("the settings page shows a secret again")
	}
	if hint := strings.TrimSpace(again.doc.Find(".secret-hint").Text()); hint != "whsec_…"+fresh[len(fresh)-4:] {
		t.Fatalf("secret hint %q", hint)
	}
	if again.doc.Find(".previous-until").Length() != 1 {
		t.Fatal("the page does not say the previous secret still signs")
	}

	id := e.createCheckout("order-rot")
	e.payByIPN(id)
	e.deliver()
	reqs := rcv.requests()
	if len(reqs) != 1 {
		t.Fatalf("receiver got %d requests", len(reqs))
	}
	sigs := strings.Split(reqs[0].signature, " ")
	if len(sigs) != 2 || !verifies(t, fresh, reqs[0], sigs[0]) || !verifies(t, old, reqs[0], sigs[1]) {
		t.Fatalf("webhook-signature %q: want v1 with the new secret, then v1 with the old", reqs[0].signature)
	}

	// After 24 hours only the new secret signs.
	e.clock.Advance(24*time.Hour + time.Second)
	// The admin's session idled out meanwhile.
	if _, r := e.login(b, adminEmail, adminPassword); r.status != http.StatusSeeOther {
		t.Fatalf("login again: %d", r.status)
	}
	test := b.submit(b.get(e.app.URL+"/admin/webhooks"), "section[data-merchant=default] form.send-test", nil)
	if !strings.HasSuffix(test.url, "?flash=test") {
		t.Fatalf("send test event lands at %s", test.url)
	}
	e.deliver()
	reqs = rcv.requests()
	if len(reqs) != 2 || eventType(t, reqs[1]) != store.WebhookTestEvent {
		t.Fatalf("receiver got %d requests", len(reqs))
	}
	if sig := reqs[1].signature; strings.Contains(sig, " ") || !verifies(t, fresh, reqs[1], sig) {
		t.Fatalf("after 24 h webhook-signature %q: want the new secret's alone", sig)
	}
}

func TestAdminSendTestEventIsDelivered(t *testing.T) {
	e := newEnv(t, envOptions{})
	e.withPrivateWebhooks()
	rcv := newReceiver(t)
	b := e.adminBrowser()

	// No URL yet: no button, and a forged post queues nothing.
	p := b.get(e.app.URL + "/admin/webhooks")
	if p.doc.Find("form.send-test").Length() != 0 {
		t.Fatal("Send test event offered without a URL")
	}
	secret := shownSecret(setWebhookURL(b, e, rcv.srv.URL))
	p = b.get(e.app.URL + "/admin/webhooks")
	if forged := b.noFollow().post(e.app.URL+"/admin/webhooks/default/test", url.Values{}, nil); forged.status != http.StatusForbidden {
		t.Fatalf("test event without CSRF token: %d, want 403", forged.status)
	}
	if ds, err := e.store.RecentWebhookDeliveries(context.Background(), 10); err != nil || len(ds) != 0 {
		t.Fatalf("a refused post queued %d deliveries (%v)", len(ds), err)
	}

	after := b.submit(p, "section[data-merchant=default] form.send-test", nil)
	if after.status != http.StatusOK || !strings.HasSuffix(after.url, "/admin/webhooks?flash=test") || alert(after, "info") == "" {
		t.Fatalf("after send: %d at %s", after.status, after.url)
	}
	e.wantAudit("webhook.test", "merchant", "default", adminEmail)
	e.deliver()
	reqs := rcv.requests()
	if len(reqs) != 1 || eventType(t, reqs[0]) != store.WebhookTestEvent || !verifies(t, secret, reqs[0], reqs[0].signature) {
		t.Fatalf("receiver got %+v", reqs)
	}
	list := b.get(e.app.URL + "/admin/deliveries")
	row := list.doc.Find("tr[data-webhook-id='" + reqs[0].id + "']")
	var cells []string
	row.Find("td").Each(func(_ int, s *goquery.Selection) { cells = append(cells, strings.TrimSpace(s.Text())) })
	if len(cells) != 10 || cells[3] != "—" || cells[4] != "webhook.test" || cells[5] != "Delivered" || cells[7] != "HTTP 200" {
		t.Fatalf("test event row %q", cells)
	}
}

func TestAdminWebhookPostsWithoutCSRFTokenChangeNothing(t *testing.T) {
	e := newEnv(t, envOptions{})
	b := e.adminBrowser()
	secret := payments.NewWebhookSecret()
	if err := e.store.SetMerchantWebhook(context.Background(), "default", "https://shop.example/hooks", secret); err != nil {
		t.Fatal(err)
	}
	for _, path := range []string{"/admin/webhooks/default/url", "/admin/webhooks/default/rotate",
		"/admin/webhooks/default/test", "/admin/deliveries/msg_x/resend"} {
		t.Run(path, func(t *testing.T) {
			r := b.noFollow().post(e.app.URL+path, url.Values{"url": {"https://evil.example/"}}, nil)
			if r.status != http.StatusForbidden {
				t.Fatalf("without token: %d, want 403", r.status)
			}
			anon := e.browser().noFollow().post(e.app.URL+path, url.Values{}, nil)
			if anon.status != http.StatusSeeOther || anon.header.Get("Location") != "/admin/login" {
				t.Fatalf("without session: %d to %q", anon.status, anon.header.Get("Location"))
			}
		})
	}
	if m := e.merchantWebhook(); m.WebhookURL != "https://shop.example/hooks" || m.WebhookSecret != secret || m.WebhookPreviousSecret != "" {
		t.Fatalf("refused posts changed the settings: %+v", m)
	}
	if ds, err := e.store.RecentWebhookDeliveries(context.Background(), 10); err != nil || len(ds) != 0 {
		t.Fatalf("refused posts queued %d deliveries (%v)", len(ds), err)
	}
	for _, path := range []string{"/admin/webhooks", "/admin/deliveries"} {
		if r := e.browser().noFollow().fetch(e.app.URL + path); r.status != http.StatusSeeOther {
			t.Fatalf("%s without session: %d", path, r.status)
		}
	}
}
