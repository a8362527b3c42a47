package web_test

import (
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/url"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/PuerkitoBio/goquery"
	"github.com/gin-gonic/gin"

	"checkout/gateway"
	"checkout/gateway/pesapal"
	"checkout/gateway/pochipay"
	"checkout/gateway/pokeapay"
	"checkout/gateway/sandbox"
	"checkout/handlers"
	"checkout/metrics"
	"checkout/payments"
	"checkout/store"
	"checkout/web"
	"checkout/web/apicheck"
)

const (
	testAPIKey  = "sk_test_0123456789abcdef0123456789"
	testOutlet  = "OCT00001"
	testHashKey = "pk-test-hash-key-0123"
)

// clock is a fake clock the tests move by hand.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *clock) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(d)
}

// env is the whole app on loopback: the engine on one httptest server, the
// Pesapal simulator on another, a real SQLite file.
type env struct {
	t       *testing.T
	app     *httptest.Server
	sim     *sandbox.Sandbox
	simSrv  *httptest.Server
	store   *store.Store
	svc     *payments.Service
	clock   *clock
	dbPath  string
	pesapal *pesapal.Client
	// metrics are the app's metrics, the clients', the service's and the
	// engine's.
	metrics *metrics.Metrics
	// engine is the app's engine, as web.New built it.
	engine *gin.Engine
}

type envOptions struct {
	dbPath     string
	sim        *sandbox.Sandbox
	simSrv     *httptest.Server
	ipnRetries int
	duplicates float64
	// stk names the M-Pesa STK backend: "pokeapay", "pochipay" or "" for
	// none.
	stk string
	// testMode builds the service in test mode (CHECKOUT_SANDBOX).
	testMode bool
	// logs receives the app's log records; nil discards them.
	logs slog.Handler
	// limits are the engine's rate limits (zero: the defaults).
	limits web.Limits
	// trustedProxies is web.Config.TrustedProxies.
	trustedProxies []string
	// metricsToken is web.Config.MetricsToken.
	metricsToken string
	// mailer, when set, gives the service's mailer (receipt emails on),
	// given the simulator (whose inbox is a mailer); nil sends no mail.
	mailer func(*sandbox.Sandbox) payments.Mailer
	// wrap, when set, wraps the engine (a test that watches the answers
	// as the handlers write them).
	wrap func(http.Handler) http.Handler
	// payouts and refunder are the service's payout provider and Pesapal
	// refunder (nil: none).
	payouts  gateway.PayoutProvider
	refunder gateway.Refunder
	// approvalLimit is payments.Config.ApprovalLimit (cents; 0: the
	// default).
	approvalLimit int64
	// payout, when set, builds the real payout client of that provider
	// against the simulator: "pokeapay" (B2C, signed with the simulator's
	// B2CKey) or "pochipay" (disbursements). It replaces payouts.
	payout string
	// payoutTimeout bounds each of the payout client's HTTP exchanges
	// (0: the client's default).
	payoutTimeout time.Duration
	// pesapalRefunds makes the Pesapal client the service's refunder (the
	// simulator's RefundRequest). It replaces refunder.
	pesapalRefunds bool
	// privateWebhooks lets the service send webhooks to loopback (a test
	// receiver), as CHECKOUT_WEBHOOK_ALLOW_PRIVATE=1 does, without retry
	// jitter.
	privateWebhooks bool
}

// Values the simulator checks in PokeaPay B2C requests' source.
const (
	testB2CCustomer = "TESTB2C"
	testB2CAccount  = "100200300"
)

// newEnv starts the app. A simulator can be shared between two envs (an
// app restart on the same database).
func newEnv(t *testing.T, o envOptions) *env {
	t.Helper()
	e := &env{t: t, clock: &clock{t: time.Now().UTC()}}
	log := slog.New(slog.DiscardHandler)
	if o.logs != nil {
		log = slog.New(o.logs)
	}

	// The app's server is created first (unstarted) so that its URL is
	// known to the simulator, which sends IPNs there.
	var engine http.Handler
	e.app = httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		engine.ServeHTTP(w, r)
	}))
	e.app.Start()
	t.Cleanup(e.app.Close)

	e.sim, e.simSrv = o.sim, o.simSrv
	if e.sim == nil {
		var simHandler http.Handler
		e.simSrv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			simHandler.ServeHTTP(w, r)
		}))
		t.Cleanup(e.simSrv.Close)
		retries := o.ipnRetries
		if retries == 0 {
			retries = -1
		}
		e.sim = sandbox.New(sandbox.Config{PublicURL: e.simSrv.URL, ConsumerKey: "test-key", ConsumerSecret: "test-secret",
			PokeaPayOutletCode: testOutlet, PokeaPayHashKey: testHashKey, PokeaPayIPNURL: e.app.URL + "/ipn/pokeapay",
			PokeaPaySTKEmail: "stk@example.com", PokeaPaySTKPassword: "stk-password",
			PochipayEmail: "pochi@example.com", PochipayPassword: "pochi-password",
			PokeaPayB2CCustomerCode: testB2CCustomer, PokeaPayB2CAccountNo: testB2CAccount,
			IPNDelay: time.Millisecond, IPNRetries: retries, DuplicateIPNRate: o.duplicates})
		simHandler = e.sim.Handler()
		t.Cleanup(e.sim.Close)
	}

	e.dbPath = o.dbPath
	if e.dbPath == "" {
		e.dbPath = filepath.Join(t.TempDir(), "checkout.db")
	}
	st, err := store.Open(context.Background(), e.dbPath, store.Options{Now: e.clock.Now})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	e.store = st
	if _, err := st.EnsureMerchant(context.Background(), "default", "Demo Shop", testAPIKey); err != nil {
		t.Fatal(err)
	}

	e.metrics = metrics.New()
	obs := payments.CallObserver(e.metrics)
	pp, err := pesapal.New(pesapal.Config{BaseURL: e.sim.PesapalBaseURL(), ConsumerKey: "test-key", ConsumerSecret: "test-secret",
		Now: e.clock.Now, Sleep: func(context.Context, time.Duration) error { return nil }, Observer: obs})
	if err != nil {
		t.Fatal(err)
	}
	e.pesapal = pp
	ipnURL := e.app.URL + "/ipn/pesapal"
	pk, err := pokeapay.New(pokeapay.Config{CheckoutURL: e.sim.PokeaPayCheckoutURL(), CoreURL: e.sim.PokeaPayCoreURL(),
		OutletCode: testOutlet, HashKey: testHashKey, Sleep: func(context.Context, time.Duration) error { return nil }, Observer: obs})
	if err != nil {
		t.Fatal(err)
	}
	var stk gateway.STKProvider
	noSleep := func(context.Context, time.Duration) error { return nil }
	switch o.stk {
	case "pokeapay":
		c, err := pokeapay.NewSTK(pokeapay.STKConfig{APIURL: e.sim.PokeaPaySTKURL(), Email: "stk@example.com",
			Password: "stk-password", OutletCode: testOutlet, Now: e.clock.Now, Sleep: noSleep, Observer: obs})
		if err != nil {
			t.Fatal(err)
		}
		stk = c
	case "pochipay":
		c, err := pochipay.New(pochipay.Config{BaseURL: e.sim.PochipayURL(), Email: "pochi@example.com",
			Password: "pochi-password", Now: e.clock.Now, Sleep: noSleep, Observer: obs})
		if err != nil {
			t.Fatal(err)
		}
		stk = c
	}
	payouts, refunder := o.payouts, o.refunder
	switch o.payout {
	case "pokeapay":
		c, err := pokeapay.NewB2C(pokeapay.B2CConfig{URL: e.sim.PokeaPayB2CURL(), APIURL: e.sim.PokeaPaySTKURL(),
			CustomerCode: testB2CCustomer, AccountNo: testB2CAccount, Key: e.sim.B2CKey(), Email: "stk@example.com",
			Password: "stk-password", Timeout: o.payoutTimeout, Now: e.clock.Now, Observer: obs})
		if err != nil {
			t.Fatal(err)
		}
		payouts = c
	case "pochipay":
		c, err := pochipay.NewPayouts(pochipay.Config{BaseURL: e.sim.PochipayURL(), Email: "pochi@example.com",
			Password: "pochi-password", Timeout: o.payoutTimeout, Now: e.clock.Now, Sleep: noSleep, Observer: obs})
		if err != nil {
			t.Fatal(err)
		}
		payouts = c
	}
	if o.pesapalRefunds {
		refunder = pp
	}
	var jitter func(time.Duration) time.Duration
	if o.privateWebhooks {
		jitter = func(d time.Duration) time.Duration { return d }
	}
	var mailer payments.Mailer
	if o.mailer != nil {
		mailer = o.mailer(e.sim)
	}
	svc, err := payments.New(payments.Config{Payouts: payouts, Refunder: refunder, ApprovalLimit: o.approvalLimit, Mailer: mailer, PublicURL: e.app.URL, Pesapal: pp, PokeaPay: pk, STK: stk, Store: st, Logger: log, Now: e.clock.Now,
		TestMode: o.testMode, Metrics: e.metrics, TOTPKey: testTOTPKey, WebhookAllowPrivate: o.privateWebhooks, WebhookJitter: jitter, NotificationLimit: web.NewLimiter(refLimit(o.limits)), PesapalIPN: payments.IPNOnce(func(ctx context.Context) (string, error) { return pp.EnsureIPN(ctx, ipnURL, "POST") })})
	if err != nil {
		t.Fatal(err)
	}
	e.svc = svc
	sess := web.NewSessions([]byte("0123456789abcdef0123456789abcdef"), []byte("abcdef0123456789abcdef0123456789"), false)
	e.engine = web.New(handlers.New(svc, sess, log), web.Config{Logger: log, Sessions: sess, ProviderOrigins: []string{e.simSrv.URL},
		Limits: o.limits, TrustedProxies: o.trustedProxies, MetricsToken: o.metricsToken, Metrics: e.metrics})
	engine = e.engine
	if o.wrap != nil {
		engine = o.wrap(engine)
	}
	// Every /api/ request and answer of every test is held to the OpenAPI
	// document (see apicheck).
	engine = apicheck.For(t).Handler(t, engine)
	return e
}

// refLimit is the rate per reference of l, or the default.
func refLimit(l web.Limits) web.Rate {
	if l.Reference.Every > 0 && l.Reference.Burst > 0 {
		return l.Reference
	}
	return web.DefaultLimits.Reference
}

// browser is a customer's browser: a cookie jar, redirects followed.
type browser struct {
	t *testing.T
	c *http.Client
}

func (e *env) browser() *browser {
	jar, err := cookiejar.New(nil)
	if err != nil {
		e.t.Fatal(err)
	}
	return &browser{t: e.t, c: &http.Client{Jar: jar, Timeout: 10 * time.Second}}
}

type page struct {
	status int
	url    string
	doc    *goquery.Document
	body   string
}

func (b *browser) do(req *http.Request) page {
	b.t.Helper()
	resp, err := b.c.Do(req)
	if err != nil {
		b.t.Fatal(err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		b.t.Fatal(err)
	}
	doc, err := goquery.NewDocumentFromReader(strings.NewReader(string(body)))
	if err != nil {
		b.t.Fatal(err)
	}
	return page{status: resp.StatusCode, url: resp.Request.URL.String(), doc: doc, body: string(body)}
}

func (b *browser) get(u string) page {
	b.t.Helper()
	req, err := http.NewRequest(http.MethodGet, u, nil)
	if err != nil {
		b.t.Fatal(err)
	}
	return b.do(req)
}

// submit posts a form the page shows, with its hidden fields (the CSRF
// token among them) and the given values.
func (b *browser) submit(p page, formSel string, vals url.Values) page {
	b.t.Helper()
	form := p.doc.Find(formSel).First()
	if form.Length() == 0 {
		b.t.Fatalf("no form %q on %s:\n%s", formSel, p.url, p.body)
	}
	all := url.Values{}
	form.Find("input[type=hidden]").Each(func(_ int, s *goquery.Selection) {
		all.Set(s.AttrOr("name", ""), s.AttrOr("value", ""))
	})
	for k, v := range vals {
		all[k] = v
	}
	base, err := url.Parse(p.url)
	if err != nil {
		b.t.Fatal(err)
	}
	action, err := base.Parse(form.AttrOr("action", p.url))
	if err != nil {
		b.t.Fatal(err)
	}
	req, err := http.NewRequest(http.MethodPost, action.String(), strings.NewReader(all.Encode()))
	if err != nil {
		b.t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	return b.do(req)
}

// api calls the merchant API.
func (e *env) api(method, path, body string) (int, map[string]any) {
	e.t.Helper()
	req, err := http.NewRequest(method, e.app.URL+path, strings.NewReader(body))
	if err != nil {
		e.t.Fatal(err)
	}
	req.Header.Set("Authorization", "Bearer "+testAPIKey)
	req.Header.Set("Content-Type", "application/json")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		e.t.Fatal(err)
	}
	defer resp.Body.Close()
	var out map[string]any
	if err := json.NewDecoder(resp.Body).Decode(&out); err != nil {
		e.t.Fatalf("%s %s: answer is not JSON: %v", method, path, err)
	}
	return resp.StatusCode, out
}

// createCheckout creates a KES 1,500.00 checkout and returns its id.
func (e *env) createCheckout(ref string) string {
	e.t.Helper()
	status, obj := e.api(http.MethodPost, "/api/v1/checkouts",
		`{"amount": "1500", "currency": "KES", "reference": "`+ref+`", "description": "Two bags of coffee", "customer": {"email": "jane@example.com"}}`)
	if status != http.StatusCreated {
		e.t.Fatalf("create checkout: %d %v", status, obj)
	}
	return obj["id"].(string)
}

// startPesapal has a customer choose Pesapal, and returns the browser, the
// iframe page and the simulator's order.
func (e *env) startPesapal(id string) (*browser, page, sandbox.Order) {
	e.t.Helper()
	b := e.browser()
	p := b.get(e.app.URL + "/c/" + id)
	if p.status != http.StatusOK {
		e.t.Fatalf("checkout page: %d", p.status)
	}
	frame := b.submit(p, "form.method-choice", url.Values{"method": {"pesapal"}})
	if frame.status != http.StatusOK || !strings.HasSuffix(frame.url, "/c/"+id+"/pesapal") {
		e.t.Fatalf("after choosing Pesapal: %d at %s:\n%s", frame.status, frame.url, frame.body)
	}
	as, err := e.store.Attempts(context.Background(), id)
	if err != nil || len(as) != 1 {
		e.t.Fatalf("attempts: %v %d", err, len(as))
	}
	o, ok := e.sim.PesapalOrderByReference(as[0].ID)
	if !ok {
		e.t.Fatalf("the simulator has no order for attempt %s", as[0].ID)
	}
	return b, frame, o
}

func (e *env) checkout(id string) *store.Checkout {
	e.t.Helper()
	co, err := e.store.Checkout(context.Background(), id)
	if err != nil {
		e.t.Fatal(err)
	}
	return co
}

// transitions counts the checkout's status changes to the given status.
func (e *env) transitions(id string, to store.Status) int {
	e.t.Helper()
	evs, err := e.store.Events(context.Background(), id)
	if err != nil {
		e.t.Fatal(err)
	}
	n := 0
	for _, ev := range evs {
		if ev.Kind == store.EventTransition && ev.ToStatus == string(to) {
			n++
		}
	}
	return n
}

// ipn sends Pesapal's POST IPN for an order, as Pesapal would.
func (e *env) ipn(o sandbox.Order) (int, map[string]any) {
	e.t.Helper()
	body := `{"OrderNotificationType":"IPNCHANGE","OrderTrackingId":"` + o.TrackingID + `","OrderMerchantReference":"` + o.MerchantReference + `"}`
	resp, err := http.Post(e.app.URL+"/ipn/pesapal", "application/json", strings.NewReader(body))
	if err != nil {
		e.t.Fatal(err)
	}
	defer resp.Body.Close()
	var ack map[string]any
	if err := json.NewDecoder(resp.Body).Decode(&ack); err != nil {
		e.t.Fatal(err)
	}
	return resp.StatusCode, ack
}

func sandboxOrder(tracking, ref string) sandbox.Order {
	return sandbox.Order{TrackingID: tracking, MerchantReference: ref}
}
