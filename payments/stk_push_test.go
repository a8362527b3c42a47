package payments

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"sync"
	"testing"
	"time"

	"checkout/gateway"
	"checkout/gateway/pochipay"
	"checkout/gateway/pokeapay"
	"checkout/store"
	"checkout/store/storetest"
)

// providerServer stands in for an STK provider's API on loopback: each path
// (under /api/v1) is answered by its handler, and every request's path is
// recorded.
type providerServer struct {
	srv *httptest.Server

	mu     sync.Mutex
	routes map[string]http.HandlerFunc
	seen   map[string]int
}

func newProviderServer(t *testing.T, routes map[string]http.HandlerFunc) *providerServer {
	t.Helper()
	p := &providerServer{routes: routes, seen: map[string]int{}}
	p.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		// Read in full, so that the server notices a client that gives up
		// (and ends r's context) while a handler waits.
		_, _ = io.Copy(io.Discard, r.Body)
		p.mu.Lock()
		p.seen[r.URL.Path]++
		h := p.routes[r.URL.Path]
		p.mu.Unlock()
		if h == nil {
			http.NotFound(w, r)
			return
		}
		h(w, r)
	}))
	t.Cleanup(p.srv.Close)
	return p
}

// count is how many requests path received.
func (p *providerServer) count(path string) int {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.seen[path]
}

func answer(status int, contentType, body string) http.HandlerFunc {
	return func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", contentType)
		w.WriteHeader(status)
		_, _ = w.Write([]byte(body))
	}
}

func jsonAnswer(status int, body string) http.HandlerFunc {
	return answer(status, "application/json; charset=utf-8", body)
}

// hangUntilClosed answers nothing until the client gives up.
func hangUntilClosed(_ http.ResponseWriter, r *http.Request) { <-r.Context().Done() }

// The PokeaPay STK API's paths and answers (the document's shapes).
const (
	pokeaLogin = "/api/v1/login"
	pokeaPush  = "/api/v1/stkPush/transaction"
	pokeaQuery = "/api/v1/transaction/query"

	pokeaLoginOK = `{"success":true,"message":"Login successful","data":{"token":"opaque-test-token"}}`
	// pokeaQueryInitiated is the document's "stkPush Transaction POST
	// Success" query answer: the prompt exists, not yet answered.
	pokeaQueryInitiated = `{"success":true,"message":"Transaction initiated successfully","data":{"orderRef":"x","amount":1500,"phone":"254712345678"}}`
)

// The Pochipay API's paths.
const (
	pochiToken   = "/api/v1/account/token"
	pochiCollect = "/api/v1/collections/mpesa"
)

// pushEnv is a service whose STK backend is a real client talking to a
// providerServer, with a fake clock, a real SQLite file and one open
// checkout for KES 1,500.
type pushEnv struct {
	st    *store.Store
	svc   *Service
	clock *clock
	co    *store.Checkout
}

func newPushEnv(t *testing.T, stk gateway.STKProvider) *pushEnv {
	t.Helper()
	ctx := context.Background()
	e := &pushEnv{clock: &clock{t: testNow()}}
	st, err := store.Open(ctx, storetest.DSN(t), store.Options{Now: e.clock.now})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	e.st = st
	if _, err := st.EnsureMerchant(ctx, "m", "Shop", "key-0123456789abcdef0123456789"); err != nil {
		t.Fatal(err)
	}
	e.svc, err = New(Config{PublicURL: "http://x", Store: st, Now: e.clock.now, STK: stk, Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		t.Fatal(err)
	}
	e.co = &store.Checkout{ID: store.NewID("chk", e.clock.now()), MerchantID: "m", Reference: "r", Description: "d",
		Amount: 150000, Currency: "KES", ExpiresAt: e.clock.now().Add(24 * time.Hour)}
	if err := st.CreateCheckout(ctx, e.co, "test"); err != nil {
		t.Fatal(err)
	}
	return e
}

// onlyAttempt is the checkout's single attempt, as stored.
func (e *pushEnv) onlyAttempt(t *testing.T) store.Attempt {
	t.Helper()
	as, err := e.st.Attempts(context.Background(), e.co.ID)
	if err != nil {
		t.Fatal(err)
	}
	if len(as) != 1 {
		t.Fatalf("attempts = %d, want 1", len(as))
	}
	return as[0]
}

func (e *pushEnv) checkoutStatus(t *testing.T) store.Status {
	t.Helper()
	co, err := e.st.Checkout(context.Background(), e.co.ID)
	if err != nil {
		t.Fatal(err)
	}
	return co.Status
}

func newPokeaPaySTK(t *testing.T, p *providerServer, timeout time.Duration) *pokeapay.STKClient {
	t.Helper()
	c, err := pokeapay.NewSTK(pokeapay.STKConfig{APIURL: p.srv.URL + "/api/v1", Email: "stk@example.com",
		Password: "stk-password-0123", OutletCode: "OC1", Timeout: timeout,
		Sleep: func(context.Context, time.Duration) error { return nil }})
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func newPochipaySTK(t *testing.T, p *providerServer) *pochipay.Client {
	t.Helper()
	c, err := pochipay.New(pochipay.Config{BaseURL: p.srv.URL + "/api/v1", Email: "pochi@example.com",
		Password: "pochi-password-0123", Sleep: func(context.Context, time.Duration) error { return nil }})
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// A push that was never sent, or that the provider plainly refused, started
// no prompt: the attempt fails at once, the checkout stays open and the
// customer is told nothing was charged.
func TestSTKPushThatStartedNoPromptFailsTheAttempt(t *testing.T) {
	invalidInputs, err := os.ReadFile("../gateway/pokeapay/testdata/doc-stk-push-invalid-inputs.json")
	if err != nil {
		t.Fatal(err)
	}
	const notSent = "M-Pesa could not send the prompt. Nothing was charged; please try again."
	tests := []struct {
		name       string
		pochipay   bool
		routes     map[string]http.HandlerFunc
		pushPath   string
		wantPushes int
	}{
		{name: "PokeaPay login answering 503", routes: map[string]http.HandlerFunc{
			pokeaLogin: jsonAnswer(http.StatusServiceUnavailable, `{"success":false,"error":"Service Unavailable"}`),
		}, pushPath: pokeaPush, wantPushes: 0},
		{name: "Pochipay token request answering 502", pochipay: true, routes: map[string]http.HandlerFunc{
			pochiToken: answer(http.StatusBadGateway, "text/html", "<h1>502 Bad Gateway</h1>"),
		}, pushPath: pochiCollect, wantPushes: 0},
		// The document's "Invalid/Missing Inputs" answer, saved with HTTP 200.
		{name: "PokeaPay documented refusal", routes: map[string]http.HandlerFunc{
			pokeaLogin: jsonAnswer(http.StatusOK, pokeaLoginOK),
			pokeaPush:  jsonAnswer(http.StatusOK, string(invalidInputs)),
		}, pushPath: pokeaPush, wantPushes: 1},
		{name: "Pochipay refusal with HTTP 400", pochipay: true, routes: map[string]http.HandlerFunc{
			pochiToken:   jsonAnswer(http.StatusOK, `{"result":{"accessToken":"tok-1","tokenType":"Bearer","expiresIn":3600},"errors":[]}`),
			pochiCollect: jsonAnswer(http.StatusBadRequest, `{"message":"Insufficient float","errors":[]}`),
		}, pushPath: pochiCollect, wantPushes: 1},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			p := newProviderServer(t, tc.routes)
			var stk gateway.STKProvider = newPokeaPaySTK(t, p, 0)
			if tc.pochipay {
				stk = newPochipaySTK(t, p)
			}
			e := newPushEnv(t, stk)

			a, err := e.svc.StartSTK(context.Background(), e.co.ID, "0712345678")

			if !errors.Is(err, ErrProvider) || a != nil {
				t.Fatalf("StartSTK = %+v, %v; want ErrProvider", a, err)
			}
			got := e.onlyAttempt(t)
			if got.Status != store.AttemptFailed || got.Message != notSent {
				t.Errorf("attempt %s %q, want failed %q", got.Status, got.Message, notSent)
			}
			if s := e.checkoutStatus(t); s != store.StatusOpen {
				t.Errorf("checkout %s, want open (the customer may try again)", s)
			}
			if n := p.count(tc.pushPath); n != tc.wantPushes {
				t.Errorf("pushes sent = %d, want %d", n, tc.wantPushes)
			}
		})
	}
}

// A push that may have reached the phone (no answer, a server error, a 2xx
// that cannot be read) leaves the attempt pending, and the reconciler asks
// the provider about it: a prompt the customer approves is not lost.
func TestSTKPushThatMayHaveStartedAPromptStaysPendingAndIsQueried(t *testing.T) {
	tests := []struct {
		name    string
		push    http.HandlerFunc
		timeout time.Duration
	}{
		{name: "HTTP 200 that cannot be read", push: answer(http.StatusOK, "text/html", "<html>accepted</html>")},
		{name: "HTTP 200 without a success flag", push: jsonAnswer(http.StatusOK, `{"message":"Transaction initiated successfully"}`)},
		{name: "HTTP 500", push: jsonAnswer(http.StatusInternalServerError, `{"success":false,"error":"Internal Server Error"}`)},
		{name: "timeout", push: hangUntilClosed, timeout: 300 * time.Millisecond},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			p := newProviderServer(t, map[string]http.HandlerFunc{
				pokeaLogin: jsonAnswer(http.StatusOK, pokeaLoginOK),
				pokeaPush:  tc.push,
				pokeaQuery: jsonAnswer(http.StatusOK, pokeaQueryInitiated),
			})
			e := newPushEnv(t, newPokeaPaySTK(t, p, tc.timeout))

			a, err := e.svc.StartSTK(context.Background(), e.co.ID, "0712345678")

			if err != nil || a == nil {
				t.Fatalf("StartSTK = %+v, %v; want the pending attempt", a, err)
			}
			got := e.onlyAttempt(t)
			if got.ID != a.ID || got.Status != store.AttemptPending {
				t.Fatalf("attempt %s %s, want %s pending", got.ID, got.Status, a.ID)
			}
			if s := e.checkoutStatus(t); s != store.StatusPending {
				t.Errorf("checkout %s, want pending", s)
			}
			if n := p.count(pokeaPush); n != 1 {
				t.Errorf("pushes sent = %d, want exactly 1", n)
			}
			if n := p.count(pokeaQuery); n != 0 {
				t.Fatalf("queried %d times before the first check", n)
			}
			e.clock.add(stkFirstCheck)
			if err := e.svc.Reconcile(context.Background()); err != nil {
				t.Fatal(err)
			}
			if n := p.count(pokeaQuery); n != 1 {
				t.Errorf("queries after the first check = %d, want 1", n)
			}
			if got := e.onlyAttempt(t); got.Status != store.AttemptPending {
				t.Errorf("attempt %s after a pending answer, want pending", got.Status)
			}
		})
	}
}
