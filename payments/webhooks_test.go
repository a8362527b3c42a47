package payments

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"checkout/gateway"
	"checkout/gateway/pesapal"
	"checkout/store"
	"checkout/store/storetest"
)

// The Standard Webhooks specification's published example.
const (
	vectorSecret = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"
	vectorID     = "msg_p5jXN8AQM9LWM0D4loKWxJek"
	vectorTS     = 1614265330
	vectorBody   = `{"test": 2432232314}`
	vectorSig    = "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE="
)

func TestSignatureMatchesTheStandardWebhooksTestVector(t *testing.T) {
	key, err := ParseWebhookSecret(vectorSecret)
	if err != nil {
		t.Fatal(err)
	}
	if got := SignWebhook(key, vectorID, vectorTS, []byte(vectorBody)); got != vectorSig {
		t.Fatalf("signature = %s, want %s", got, vectorSig)
	}
}

func TestParseWebhookSecretAcceptsOnlyWhsecBase64Of24To64Bytes(t *testing.T) {
	cases := []struct {
		name, secret string
		ok           bool
		keyLen       int
	}{
		{"spec example", vectorSecret, true, 24},
		{"generated", NewWebhookSecret(), true, 32},
		{"no prefix", "MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw", false, 0},
		{"not base64", "whsec_not*base64!", false, 0},
		{"too short", "whsec_" + base64.StdEncoding.EncodeToString(make([]byte, 23)), false, 0},
		{"too long", "whsec_" + base64.StdEncoding.EncodeToString(make([]byte, 65)), false, 0},
		{"64 bytes", "whsec_" + base64.StdEncoding.EncodeToString(make([]byte, 64)), true, 64},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			key, err := ParseWebhookSecret(tc.secret)
			if (err == nil) != tc.ok {
				t.Fatalf("err = %v, want ok %v", err, tc.ok)
			}
			if len(key) != tc.keyLen {
				t.Fatalf("key length = %d, want %d", len(key), tc.keyLen)
			}
		})
	}
}

// received is one request the test receiver got.
type received struct {
	id, timestamp, signature string
	body                     []byte
}

// receiver is a merchant's server: it records every request and answers
// with the status the test chooses.
type receiver struct {
	srv    *httptest.Server
	mu     sync.Mutex
	reqs   []received
	answer func(n int) int // n is the 1-based number of the request
}

func newReceiver(t *testing.T, answer func(n int) int) *receiver {
	r := &receiver{answer: answer}
	r.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		body, err := io.ReadAll(req.Body)
		if err != nil {
			t.Errorf("read body: %v", err)
		}
		r.mu.Lock()
		r.reqs = append(r.reqs, received{id: req.Header.Get("webhook-id"), timestamp: req.Header.Get("webhook-timestamp"),
			signature: req.Header.Get("webhook-signature"), body: body})
		n := len(r.reqs)
		r.mu.Unlock()
		code := http.StatusOK
		if r.answer != nil {
			code = r.answer(n)
		}
		w.WriteHeader(code)
	}))
	t.Cleanup(r.srv.Close)
	return r
}

func (r *receiver) all() []received {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]received(nil), r.reqs...)
}

// whEnv is a store, a scripted provider and the service, with the
// merchant "m" sending webhooks to a receiver.
type whEnv struct {
	t      *testing.T
	ctx    context.Context
	clock  *clock
	path   string
	st     *store.Store
	svc    *Service
	fake   *scripted
	secret string
	rcv    *receiver
	// testMode builds the service in test mode (set it, then call open).
	testMode bool
}

var webhookT0 = time.Date(2025, 3, 14, 9, 30, 0, 250_000_000, time.UTC)

func newWhEnv(t *testing.T, answer func(n int) int) *whEnv {
	t.Helper()
	e := &whEnv{t: t, ctx: context.Background(), clock: &clock{t: webhookT0}, path: storetest.DSN(t),
		fake: &scripted{results: map[string]gateway.Result{}}, secret: NewWebhookSecret(), rcv: newReceiver(t, answer)}
	e.open()
	if _, err := e.st.EnsureMerchant(e.ctx, "m", "Shop", "key-0123456789abcdef0123456789"); err != nil {
		t.Fatal(err)
	}
	if err := e.st.SetMerchantWebhook(e.ctx, "m", e.rcv.srv.URL+"/hooks", e.secret); err != nil {
		t.Fatal(err)
	}
	return e
}

// open opens the store and builds the service (again, after close: a
// restart on the same file).
func (e *whEnv) open() {
	e.t.Helper()
	st, err := store.Open(e.ctx, e.path, store.Options{Now: e.clock.now})
	if err != nil {
		e.t.Fatal(err)
	}
	e.t.Cleanup(func() { st.Close() })
	e.svc = e.service(st)
	// The store as the service holds it: status changes made through it
	// directly (a cancel, an expiry) write their webhooks as the service's
	// would.
	e.st = e.svc.st
}

func (e *whEnv) service(st *store.Store) *Service {
	e.t.Helper()
	svc, err := New(Config{PublicURL: "http://shop.test", Store: st, Now: e.clock.now, Pesapal: e.fake, Logger: slog.New(slog.DiscardHandler),
		TestMode:            e.testMode,
		PesapalIPN:          func(context.Context) (string, error) { return "ipn-1", nil },
		WebhookAllowPrivate: true, WebhookJitter: func(d time.Duration) time.Duration { return d }})
	if err != nil {
		e.t.Fatal(err)
	}
	return svc
}

// pending creates a checkout with a Pesapal attempt under way, tracking id
// "trk-"+ref, and scripts the provider's answer.
func (e *whEnv) pending(ref string, res gateway.Result) (*store.Checkout, *store.Attempt) {
	e.t.Helper()
	co := &store.Checkout{ID: store.NewID("chk", e.clock.now()), MerchantID: "m", Reference: ref, Description: "d",
		Amount: 150000, Currency: "KES", ExpiresAt: e.clock.now().Add(time.Hour)}
	if err := e.st.CreateCheckout(e.ctx, co, "test"); err != nil {
		e.t.Fatal(err)
	}
	a := &store.Attempt{ID: store.NewID("pay", e.clock.now()), CheckoutID: co.ID, Provider: ProviderPesapal, Method: MethodPesapal}
	if err := e.st.StartAttempt(e.ctx, a, time.Hour, "test"); err != nil {
		e.t.Fatal(err)
	}
	if err := e.st.AttemptStarted(e.ctx, a.ID, "trk-"+ref, "http://pay", ""); err != nil {
		e.t.Fatal(err)
	}
	if res.Status == gateway.StatusSucceeded {
		res.Amount, res.HasAmount, res.Currency, res.Reference = 150000, true, "KES", a.ID
	}
	e.fake.mu.Lock()
	e.fake.results["trk-"+ref] = res
	e.fake.mu.Unlock()
	return co, a
}

func (e *whEnv) notify(ref string) {
	e.t.Helper()
	if _, _, err := e.svc.PesapalNotification(e.ctx, pesapal.Notification{OrderTrackingID: "trk-" + ref,
		OrderNotificationType: "IPNCHANGE"}, "ipn:pesapal"); err != nil {
		e.t.Fatal(err)
	}
}

func (e *whEnv) deliver() {
	e.t.Helper()
	if err := e.svc.DeliverWebhooks(e.ctx); err != nil {
		e.t.Fatal(err)
	}
}

func (e *whEnv) deliveries(checkoutID string) []store.WebhookDelivery {
	e.t.Helper()
	ds, err := e.st.WebhookDeliveries(e.ctx, checkoutID)
	if err != nil {
		e.t.Fatal(err)
	}
	return ds
}

var paid = gateway.Result{Status: gateway.StatusSucceeded, Receipt: "QK12345678"}

// verify checks a Standard Webhooks signature the way a merchant would,
// written here from the spec rather than with SignWebhook.
func verify(t *testing.T, secret string, r received) {
	t.Helper()
	key, err := base64.StdEncoding.DecodeString(strings.TrimPrefix(secret, "whsec_"))
	if err != nil {
		t.Fatal(err)
	}
	mac := hmac.New(sha256.New, key)
	fmt.Fprintf(mac, "%s.%s.%s", r.id, r.timestamp, r.body)
	want := mac.Sum(nil)
	for _, sig := range strings.Fields(r.signature) {
		version, b64, ok := strings.Cut(sig, ",")
		got, err := base64.StdEncoding.DecodeString(b64)
		if ok && version == "v1" && err == nil && hmac.Equal(got, want) {
			return
		}
	}
	t.Fatalf("signature %q does not verify for id %s timestamp %s", r.signature, r.id, r.timestamp)
}

func TestPaidCheckoutSendsOneSignedCheckoutPaidWebhookThatVerifiesIndependently(t *testing.T) {
	e := newWhEnv(t, nil)
	co, _ := e.pending("order-1", paid)
	e.notify("order-1")
	e.deliver()

	reqs := e.rcv.all()
	if len(reqs) != 1 {
		t.Fatalf("requests = %d, want 1", len(reqs))
	}
	r := reqs[0]
	verify(t, e.secret, r)
	if r.timestamp != strconv.FormatInt(e.clock.now().Unix(), 10) {
		t.Fatalf("webhook-timestamp = %s, want %d", r.timestamp, e.clock.now().Unix())
	}
	var body struct {
		Type      string         `json:"type"`
		Timestamp string         `json:"timestamp"`
		Data      map[string]any `json:"data"`
	}
	if err := json.Unmarshal(r.body, &body); err != nil {
		t.Fatal(err)
	}
	if body.Type != "checkout.paid" || body.Timestamp != "2025-03-14T09:30:00Z" {
		t.Fatalf("envelope = %s %s", body.Type, body.Timestamp)
	}
	for k, want := range map[string]any{"id": co.ID, "status": "paid", "amount": "1500.00", "currency": "KES",
		"reference": "order-1", "receipt": "QK12345678", "provider": "pesapal", "message": nil,
		"url": "http://shop.test/c/" + co.ID, "paid_at": "2025-03-14T09:30:00Z", "livemode": true, "payment_link": nil, "amount_refunded": "0.00", "locale": nil} {
		if got, ok := body.Data[k]; !ok || got != want {
			t.Errorf("data.%s = %v (present %v), want %v", k, got, ok, want)
		}
	}
	if len(body.Data) != 20 {
		t.Errorf("data has %d fields, want the checkout object's 20", len(body.Data))
	}

	ds := e.deliveries(co.ID)
	if len(ds) != 1 {
		t.Fatalf("deliveries = %d", len(ds))
	}
	d := ds[0]
	if d.ID != r.id || !strings.HasPrefix(d.ID, "msg_") || d.Status != store.DeliveryDelivered || d.Attempts != 1 ||
		d.LastStatusCode != 200 || d.LastError != "" || d.DeliveredAt == nil || d.EventType != "checkout.paid" ||
		d.Payload != string(r.body) || d.ClaimedUntil != nil || d.NextAttemptAt != nil {
		t.Fatalf("delivery = %+v", d)
	}
	as, err := e.st.WebhookAttempts(e.ctx, d.ID)
	if err != nil {
		t.Fatal(err)
	}
	if len(as) != 1 || as[0].StatusCode != 200 || as[0].Error != "" || !as[0].AttemptedAt.Equal(e.clock.now()) {
		t.Fatalf("attempts = %+v", as)
	}
	e.deliver()
	if n := len(e.rcv.all()); n != 1 {
		t.Fatalf("a delivered webhook was sent again: %d requests", n)
	}
}

func TestThousandCheckoutsNotifiedThreeTimesConcurrentlyGiveThousandPaidWebhooksEachDeliveredOnce(t *testing.T) {
	if testing.Short() {
		t.Skip("slow")
	}
	e := newWhEnv(t, nil)
	const n = 1000
	ids := map[string]bool{}
	for i := 0; i < n; i++ {
		co, _ := e.pending(fmt.Sprintf("o-%04d", i), paid)
		ids[co.ID] = true
	}
	// Three notifications per checkout, all at once, from 24 workers.
	jobs := make(chan string)
	var wg sync.WaitGroup
	for w := 0; w < 24; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for ref := range jobs {
				var inner sync.WaitGroup
				for k := 0; k < 3; k++ {
					inner.Add(1)
					go func() {
						defer inner.Done()
						if _, _, err := e.svc.PesapalNotification(e.ctx, pesapal.Notification{OrderTrackingID: "trk-" + ref,
							OrderNotificationType: "IPNCHANGE"}, "ipn:pesapal"); err != nil {
							t.Error(err)
						}
					}()
				}
				inner.Wait()
			}
		}()
	}
	for i := 0; i < n; i++ {
		jobs <- fmt.Sprintf("o-%04d", i)
	}
	close(jobs)
	wg.Wait()

	// Two processes' workers on one database, each running two passes at once.
	st2, err := store.Open(e.ctx, e.path, store.Options{Now: e.clock.now})
	if err != nil {
		t.Fatal(err)
	}
	defer st2.Close()
	svc2 := e.service(st2)
	var dw sync.WaitGroup
	for _, svc := range []*Service{e.svc, svc2, e.svc, svc2} {
		dw.Add(1)
		go func() {
			defer dw.Done()
			if err := svc.DeliverWebhooks(e.ctx); err != nil {
				t.Error(err)
			}
		}()
	}
	dw.Wait()

	reqs := e.rcv.all()
	if len(reqs) != n {
		t.Fatalf("requests = %d, want %d", len(reqs), n)
	}
	seenID, seenCheckout := map[string]bool{}, map[string]bool{}
	for _, r := range reqs {
		var body struct {
			Type string
			Data struct{ ID, Status string }
		}
		if err := json.Unmarshal(r.body, &body); err != nil {
			t.Fatal(err)
		}
		if body.Type != "checkout.paid" || body.Data.Status != "paid" || !ids[body.Data.ID] {
			t.Fatalf("unexpected webhook %s", r.body)
		}
		if seenID[r.id] || seenCheckout[body.Data.ID] {
			t.Fatalf("webhook %s for %s delivered twice", r.id, body.Data.ID)
		}
		seenID[r.id], seenCheckout[body.Data.ID] = true, true
	}
	for id := range ids {
		ds := e.deliveries(id)
		if len(ds) != 1 || ds[0].Status != store.DeliveryDelivered || ds[0].Attempts != 1 || !seenID[ds[0].ID] {
			t.Fatalf("deliveries of %s = %+v", id, ds)
		}
	}
}

func TestPendingDeliveriesAreDeliveredAfterARestartWithTheSameIDs(t *testing.T) {
	e := newWhEnv(t, nil)
	var want []string
	for i := 0; i < 3; i++ {
		ref := fmt.Sprintf("r-%d", i)
		co, _ := e.pending(ref, paid)
		e.notify(ref)
		want = append(want, e.deliveries(co.ID)[0].ID)
	}
	// A worker claimed the first one and died mid-delivery.
	ds, err := e.st.DueWebhookDeliveries(e.ctx, e.clock.now(), 10)
	if err != nil || len(ds) != 3 {
		t.Fatalf("due = %d %v", len(ds), err)
	}
	if ok, err := e.st.ClaimWebhookDelivery(e.ctx, &ds[0], e.clock.now(), e.clock.now().Add(webhookClaim)); !ok || err != nil {
		t.Fatalf("claim: %v %v", ok, err)
	}
	claimed := ds[0].ID
	if err := e.st.Close(); err != nil {
		t.Fatal(err)
	}

	e.open()
	e.deliver()
	got := map[string]bool{}
	for _, r := range e.rcv.all() {
		got[r.id] = true
	}
	if len(got) != 2 || got[claimed] {
		t.Fatalf("after restart delivered %v; the claimed %s must wait for its claim to run out", got, claimed)
	}
	e.clock.add(webhookClaim)
	e.deliver()
	got = map[string]bool{}
	for _, r := range e.rcv.all() {
		verify(t, e.secret, r)
		got[r.id] = true
	}
	for _, id := range want {
		if !got[id] {
			t.Fatalf("delivery %s lost; delivered %v", id, got)
		}
	}
	if len(e.rcv.all()) != 3 {
		t.Fatalf("requests = %d, want 3", len(e.rcv.all()))
	}
}

func TestReceiverFailingThreeTimesGetsFourAttemptsOnTheSchedule(t *testing.T) {
	e := newWhEnv(t, func(n int) int {
		if n <= 3 {
			return http.StatusInternalServerError
		}
		return http.StatusOK
	})
	co, _ := e.pending("order-1", paid)
	e.notify("order-1")
	start := e.clock.now()
	e.deliver()
	for _, step := range []time.Duration{5 * time.Second, 5 * time.Minute, 30 * time.Minute} {
		before := len(e.rcv.all())
		e.clock.add(step - time.Second)
		e.deliver()
		if len(e.rcv.all()) != before {
			t.Fatalf("retried before the %v delay", step)
		}
		e.clock.add(time.Second)
		e.deliver()
		if len(e.rcv.all()) != before+1 {
			t.Fatalf("not retried after %v", step)
		}
	}
	reqs := e.rcv.all()
	if len(reqs) != 4 {
		t.Fatalf("requests = %d, want 4", len(reqs))
	}
	wantAt := []time.Time{start, start.Add(5 * time.Second), start.Add(5*time.Second + 5*time.Minute),
		start.Add(5*time.Second + 35*time.Minute)}
	for i, r := range reqs {
		verify(t, e.secret, r)
		if r.id != reqs[0].id {
			t.Fatalf("webhook-id changed across retries: %s then %s", reqs[0].id, r.id)
		}
		if r.timestamp != strconv.FormatInt(wantAt[i].Unix(), 10) {
			t.Fatalf("try %d timestamp %s, want %d", i+1, r.timestamp, wantAt[i].Unix())
		}
	}
	d := e.deliveries(co.ID)[0]
	if d.Status != store.DeliveryDelivered || d.Attempts != 4 || d.LastStatusCode != 200 {
		t.Fatalf("delivery = %+v", d)
	}
	as, err := e.st.WebhookAttempts(e.ctx, d.ID)
	if err != nil {
		t.Fatal(err)
	}
	if len(as) != 4 {
		t.Fatalf("attempts = %d", len(as))
	}
	for i, a := range as {
		wantCode, wantErr := 500, "the endpoint answered HTTP 500"
		if i == 3 {
			wantCode, wantErr = 200, ""
		}
		if a.StatusCode != wantCode || a.Error != wantErr || !a.AttemptedAt.Equal(wantAt[i]) {
			t.Fatalf("attempt %d = %+v, want %d %q at %v", i+1, a, wantCode, wantErr, wantAt[i])
		}
	}
}

func TestDeliveryFailsAfterTheLastRetry(t *testing.T) {
	e := newWhEnv(t, func(int) int { return http.StatusServiceUnavailable })
	co, _ := e.pending("order-1", paid)
	e.notify("order-1")
	for i := 0; i < 15; i++ {
		e.deliver()
		e.clock.add(25 * time.Hour)
	}
	if n := len(e.rcv.all()); n != 10 {
		t.Fatalf("requests = %d, want 10 (the first and 9 retries)", n)
	}
	d := e.deliveries(co.ID)[0]
	if d.Status != store.DeliveryFailed || d.Attempts != 10 || d.LastStatusCode != 503 || d.NextAttemptAt != nil {
		t.Fatalf("delivery = %+v", d)
	}
	evs, err := e.st.Events(e.ctx, co.ID)
	if err != nil {
		t.Fatal(err)
	}
	if evs[0].Kind != store.EventWebhook || !strings.Contains(evs[0].Message, "failed after 10 attempts") {
		t.Fatalf("latest event = %+v", evs[0])
	}
}

func TestJitterStaysWithinTenPercent(t *testing.T) {
	for _, d := range webhookRetries {
		for i := 0; i < 200; i++ {
			if j := jitter(d); j < d-d/10 || j > d+d/10 {
				t.Fatalf("jitter(%v) = %v", d, j)
			}
		}
	}
}

func TestGoneDisablesTheEndpointAndFailsTheDelivery(t *testing.T) {
	e := newWhEnv(t, func(int) int { return http.StatusGone })
	co, _ := e.pending("order-1", paid)
	e.notify("order-1")
	e.deliver()
	d := e.deliveries(co.ID)[0]
	if d.Status != store.DeliveryFailed || d.Attempts != 1 || d.LastStatusCode != 410 {
		t.Fatalf("delivery = %+v", d)
	}
	m, err := e.st.Merchant(e.ctx, "m")
	if err != nil {
		t.Fatal(err)
	}
	if m.WebhookURL != "" {
		t.Fatalf("webhook URL still %q", m.WebhookURL)
	}
	evs, err := e.st.Events(e.ctx, co.ID)
	if err != nil {
		t.Fatal(err)
	}
	found := false
	for _, ev := range evs {
		found = found || (ev.Kind == store.EventWebhook && strings.Contains(ev.Message, "410 Gone and was disabled"))
	}
	if !found {
		t.Fatalf("no timeline line about the disabled endpoint: %+v", evs)
	}
	co2, _ := e.pending("order-2", paid)
	e.notify("order-2")
	if ds := e.deliveries(co2.ID); len(ds) != 0 {
		t.Fatalf("a disabled endpoint got a delivery: %+v", ds)
	}
}

func TestWebhookURLsToPrivateAddressesAreRefusedUnlessAllowed(t *testing.T) {
	cases := []struct {
		url       string
		okPublic  bool // allowPrivate false
		okPrivate bool // allowPrivate true
	}{
		{"https://shop.example.com/hooks", true, true},
		{"https://203.0.113.7/hooks", true, true},
		{"http://127.0.0.1:9000/hooks", false, true},
		{"http://10.0.0.1/hooks", false, true},
		{"http://192.168.1.20/hooks", false, true},
		{"http://169.254.169.254/latest/meta-data", false, true},
		{"http://[::1]/hooks", false, true},
		{"http://[::ffff:10.0.0.1]/hooks", false, true},
		{"http://0.0.0.0/hooks", false, true},
		{"http://localhost:8080/hooks", false, true},
		{"ftp://shop.example.com/hooks", false, false},
		{"https://user:pass@shop.example.com/hooks", false, false},
		{"/hooks", false, false},
	}
	for _, tc := range cases {
		t.Run(tc.url, func(t *testing.T) {
			if err := CheckWebhookURL(tc.url, false); (err == nil) != tc.okPublic {
				t.Errorf("allowPrivate=false: err = %v, want ok %v", err, tc.okPublic)
			}
			if err := CheckWebhookURL(tc.url, true); (err == nil) != tc.okPrivate {
				t.Errorf("allowPrivate=true: err = %v, want ok %v", err, tc.okPrivate)
			}
		})
	}
}

func TestDialerRefusesInternalAddressesAfterResolution(t *testing.T) {
	for addr, blocked := range map[string]bool{
		"127.0.0.1:80": true, "10.0.0.1:443": true, "169.254.169.254:80": true, "[::1]:80": true,
		"[::ffff:192.168.0.1]:80": true, "0.0.0.0:80": true, "224.0.0.1:80": true, "[fe80::1]:80": true,
		"100.100.100.200:80": true, "8.8.8.8:443": false, "[2001:4860:4860::8888]:443": false,
	} {
		if err := guardControl("tcp", addr, nil); (err != nil) != blocked {
			t.Errorf("guardControl(%s) = %v, want blocked %v", addr, err, blocked)
		}
	}

	// The real client, private addresses not allowed: the receiver on
	// 127.0.0.1 is never reached, and the try is recorded and retried.
	e := newWhEnv(t, nil)
	svc, err := New(Config{PublicURL: "http://shop.test", Store: e.st, Now: e.clock.now, Pesapal: e.fake, Logger: slog.New(slog.DiscardHandler),
		PesapalIPN: func(context.Context) (string, error) { return "ipn-1", nil }})
	if err != nil {
		t.Fatal(err)
	}
	co, _ := e.pending("order-1", paid)
	e.notify("order-1")
	if err := svc.DeliverWebhooks(e.ctx); err != nil {
		t.Fatal(err)
	}
	if n := len(e.rcv.all()); n != 0 {
		t.Fatalf("the guard let %d requests through to 127.0.0.1", n)
	}
	d := e.deliveries(co.ID)[0]
	if d.Status != store.DeliveryPending || d.Attempts != 1 || d.LastStatusCode != 0 ||
		!strings.Contains(d.LastError, "webhook address refused") || d.NextAttemptAt == nil {
		t.Fatalf("delivery = %+v", d)
	}
}

func TestRedirectsAreNotFollowed(t *testing.T) {
	target := newReceiver(t, nil)
	e := newWhEnv(t, nil)
	redirect := httptest.NewServer(http.RedirectHandler(target.srv.URL, http.StatusTemporaryRedirect))
	defer redirect.Close()
	if err := e.st.SetMerchantWebhook(e.ctx, "m", redirect.URL, e.secret); err != nil {
		t.Fatal(err)
	}
	co, _ := e.pending("order-1", paid)
	e.notify("order-1")
	e.deliver()
	if n := len(target.all()); n != 0 {
		t.Fatalf("the redirect was followed")
	}
	if d := e.deliveries(co.ID)[0]; d.Status != store.DeliveryPending || d.LastStatusCode != 307 {
		t.Fatalf("delivery = %+v", d)
	}
}

func TestEveryOutcomeWritesItsEvent(t *testing.T) {
	e := newWhEnv(t, nil)
	failedCo, _ := e.pending("failed", gateway.Result{Status: gateway.StatusFailed, Message: "Declined by the bank"})
	e.notify("failed")
	cancelled, _ := e.pending("cancelled", gateway.Result{Status: gateway.StatusPending})
	if _, err := e.st.Cancel(e.ctx, cancelled.ID, "customer"); err != nil {
		t.Fatal(err)
	}
	expired, _ := e.pending("expired", gateway.Result{Status: gateway.StatusPending})
	reversed, _ := e.pending("reversed", paid)
	e.notify("reversed")
	e.clock.add(time.Millisecond) // ids order by millisecond
	e.fake.mu.Lock()
	e.fake.results["trk-reversed"] = gateway.Result{Status: gateway.StatusReversed}
	e.fake.mu.Unlock()
	e.notify("reversed")
	e.clock.add(time.Hour)
	if _, err := e.st.Expire(e.ctx, expired.ID, "reconciler"); err != nil {
		t.Fatal(err)
	}

	cases := []struct {
		co     *store.Checkout
		types  []string
		status string
	}{
		{failedCo, []string{"payment.failed"}, "open"},
		{cancelled, []string{"checkout.cancelled"}, "cancelled"},
		{expired, []string{"checkout.expired"}, "expired"},
		{reversed, []string{"checkout.paid", "checkout.reversed"}, "reversed"},
	}
	for _, tc := range cases {
		ds := e.deliveries(tc.co.ID)
		if len(ds) != len(tc.types) {
			t.Fatalf("%s: deliveries = %+v, want %v", tc.co.Reference, ds, tc.types)
		}
		for i, d := range ds {
			var body struct {
				Type string
				Data struct {
					Status  string
					Message *string
				}
			}
			if err := json.Unmarshal([]byte(d.Payload), &body); err != nil {
				t.Fatal(err)
			}
			if d.EventType != tc.types[i] || body.Type != tc.types[i] {
				t.Fatalf("%s: delivery %d is %s/%s, want %s", tc.co.Reference, i, d.EventType, body.Type, tc.types[i])
			}
			if i == len(ds)-1 && body.Data.Status != tc.status {
				t.Fatalf("%s: data.status = %s, want %s", tc.co.Reference, body.Data.Status, tc.status)
			}
			if tc.types[i] == "payment.failed" && (body.Data.Message == nil || *body.Data.Message != "Declined by the bank") {
				t.Fatalf("payment.failed message = %v", body.Data.Message)
			}
		}
	}
}

func TestNoDeliveryForAMerchantWithoutAWebhookURL(t *testing.T) {
	e := newWhEnv(t, nil)
	if err := e.st.SetMerchantWebhook(e.ctx, "m", "", ""); err != nil {
		t.Fatal(err)
	}
	co, _ := e.pending("order-1", paid)
	e.notify("order-1")
	if got, _ := e.st.Checkout(e.ctx, co.ID); got.Status != store.StatusPaid {
		t.Fatalf("status = %s", got.Status)
	}
	e.deliver()
	if ds := e.deliveries(co.ID); len(ds) != 0 {
		t.Fatalf("deliveries = %+v", ds)
	}
	if n := len(e.rcv.all()); n != 0 {
		t.Fatalf("requests = %d", n)
	}
}

func TestAPayloadThatCannotBeBuiltRollsBackTheStatusChange(t *testing.T) {
	e := newWhEnv(t, nil)
	co, a := e.pending("order-1", paid)
	failing := e.st.WithWebhookPayload(func(*store.Checkout, string, time.Time) ([]byte, error) { return nil, errors.New("boom") })
	_, err := failing.ApplyResult(e.ctx, a.ID, storeResult(gateway.Result{Status: gateway.StatusSucceeded, Amount: 150000,
		HasAmount: true, Currency: "KES", Reference: a.ID}, "test"))
	if err == nil {
		t.Fatal("ApplyResult succeeded without its webhook")
	}
	if got, _ := e.st.Checkout(e.ctx, co.ID); got.Status != store.StatusPending {
		t.Fatalf("status = %s: a change without its event", got.Status)
	}
	if ds := e.deliveries(co.ID); len(ds) != 0 {
		t.Fatalf("deliveries = %+v", ds)
	}
}
