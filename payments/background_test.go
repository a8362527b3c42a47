package payments

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"checkout/gateway"
	"checkout/gateway/pesapal"
	"checkout/store"
	"checkout/store/storetest"
)

// hanging is a provider that never answers: every query blocks until its
// context ends. It counts the queries in flight and the most at once
// (leaving out the query of the reference apart).
type hanging struct {
	mu       sync.Mutex
	apart    string
	inFlight int
	checks   int
	most     int
	calls    int
	// apartLeft is how long the query of apart had before its deadline.
	apartLeft time.Duration
	entered   chan struct{} // one value per query started
}

func newHanging() *hanging { return &hanging{entered: make(chan struct{}, 100)} }

func (h *hanging) Confirm(ctx context.Context, q gateway.Query) (gateway.Result, error) {
	counted := q.ProviderReference != h.apart
	h.mu.Lock()
	h.inFlight++
	h.calls++
	if counted {
		h.checks++
		h.most = max(h.most, h.checks)
	} else if dl, ok := ctx.Deadline(); ok {
		h.apartLeft = time.Until(dl)
	} else {
		h.apartLeft = -1
	}
	h.mu.Unlock()
	h.entered <- struct{}{}
	<-ctx.Done()
	h.mu.Lock()
	h.inFlight--
	if counted {
		h.checks--
	}
	h.mu.Unlock()
	return gateway.Result{}, ctx.Err()
}

func (h *hanging) SubmitOrderRequest(context.Context, pesapal.OrderRequest) (pesapal.OrderResponse, error) {
	return pesapal.OrderResponse{}, errors.New("not used")
}

func (h *hanging) stats() (inFlight, most, calls int) {
	h.mu.Lock()
	defer h.mu.Unlock()
	return h.inFlight, h.most, h.calls
}

// bgEnv is a service whose Pesapal never answers and whose STK backend
// answers "paid" at once, on a real SQLite file and a fake clock.
type bgEnv struct {
	ctx   context.Context
	clock *clock
	st    *store.Store
	svc   *Service
	pp    *hanging
	stk   *fakeSTK
}

func newBgEnv(t *testing.T, bg background) *bgEnv {
	t.Helper()
	e := &bgEnv{ctx: context.Background(), clock: &clock{t: testNow()}, pp: newHanging()}
	st, err := store.Open(e.ctx, storetest.DSN(t), store.Options{Now: e.clock.now})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	e.st = st
	if _, err := st.EnsureMerchant(e.ctx, "m", "Shop", "key-0123456789abcdef0123456789"); err != nil {
		t.Fatal(err)
	}
	e.stk = &fakeSTK{answer: func(q gateway.Query) (gateway.Result, error) {
		a, err := st.Attempt(context.Background(), q.AttemptID)
		if err != nil {
			return gateway.Result{}, err
		}
		return paidAnswer(a, "STK"+a.ID[len(a.ID)-6:]), nil
	}}
	bg.running = new(atomic.Int64)
	e.svc, err = New(Config{PublicURL: "http://x", Store: st, Now: e.clock.now, Pesapal: e.pp, STK: e.stk,
		PesapalIPN: func(context.Context) (string, error) { return "ipn-1", nil }, Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		t.Fatal(err)
	}
	e.svc.bg = bg
	return e
}

// checkout creates a checkout expiring after ttl, with a pending attempt
// of method (none when method is ""), first checked after firstCheck.
func (e *bgEnv) checkout(t *testing.T, ref, method string, ttl, firstCheck time.Duration) (*store.Checkout, *store.Attempt) {
	t.Helper()
	co := &store.Checkout{ID: store.NewID("chk", e.clock.now()), MerchantID: "m", Reference: ref, Description: "d",
		Amount: 100, Currency: "KES", ExpiresAt: e.clock.now().Add(ttl)}
	if err := e.st.CreateCheckout(e.ctx, co, "test"); err != nil {
		t.Fatal(err)
	}
	if method == "" {
		return co, nil
	}
	a := &store.Attempt{ID: store.NewID("pay", e.clock.now()), CheckoutID: co.ID, Provider: ProviderPesapal, Method: MethodPesapal}
	if method == MethodSTK {
		a.Provider, a.Method, a.Phone = ProviderPokeaPay, MethodSTK, "254712345678"
	}
	if err := e.st.StartAttempt(e.ctx, a, firstCheck, "test"); err != nil {
		t.Fatal(err)
	}
	if err := e.st.AttemptStarted(e.ctx, a.ID, "trk-"+ref, "http://pay", ""); err != nil {
		t.Fatal(err)
	}
	return co, a
}

func (e *bgEnv) status(t *testing.T, id string) store.Status {
	t.Helper()
	co, err := e.st.Checkout(e.ctx, id)
	if err != nil {
		t.Fatal(err)
	}
	return co.Status
}

func TestHangingProviderHoldsNeitherAnotherProvidersConfirmationNorADueExpiryInOnePass(t *testing.T) {
	const budget = 3 * time.Second
	e := newBgEnv(t, background{checksPerProvider: 4, passBudget: budget, lastQuery: 100 * time.Millisecond,
		expiriesAtOnce: 4, webhooksAtOnce: 8, drain: time.Second})
	// Six Pesapal checks come due first, so a reconciler that asks one at a
	// time would sit on them before reaching anything else.
	var hung []*store.Attempt
	for _, ref := range []string{"p1", "p2", "p3", "p4", "p5", "p6"} {
		_, a := e.checkout(t, ref, MethodPesapal, time.Hour, time.Second)
		hung = append(hung, a)
	}
	paidCo, _ := e.checkout(t, "stk", MethodSTK, time.Hour, 2*time.Second)
	// Due to expire: one whose last query goes to the hanging Pesapal, one
	// with no attempt at all.
	lateCo, lateA := e.checkout(t, "late", MethodPesapal, time.Minute, time.Hour)
	e.pp.apart = "trk-late"
	openCo, _ := e.checkout(t, "open", "", time.Minute, 0)
	e.clock.add(2 * time.Minute)

	ctx, cancel := context.WithTimeout(e.ctx, 20*time.Second)
	defer cancel()
	started := time.Now()
	if err := e.svc.Reconcile(ctx); err != nil {
		t.Fatal(err)
	}
	took := time.Since(started)

	if got := e.status(t, paidCo.ID); got != store.StatusPaid {
		t.Errorf("STK checkout = %s, want paid while Pesapal hangs", got)
	}
	if got := e.status(t, lateCo.ID); got != store.StatusExpired {
		t.Errorf("checkout whose last query hangs = %s, want expired", got)
	}
	e.pp.mu.Lock()
	left := e.pp.apartLeft
	e.pp.mu.Unlock()
	if left <= 0 || left > 100*time.Millisecond {
		t.Errorf("the last query before expiry had %v before its deadline, want at most the 100ms bound", left)
	}
	if got := e.status(t, openCo.ID); got != store.StatusExpired {
		t.Errorf("open checkout past its deadline = %s, want expired", got)
	}
	if took > budget+2*time.Second {
		t.Errorf("the pass took %v, want about its budget %v", took, budget)
	}
	inFlight, most, calls := e.pp.stats()
	if most != 4 {
		t.Errorf("most Pesapal queries at once = %d, want 4 (checks per provider)", most)
	}
	// Four checks and the last query of the expiring checkout.
	if calls != 5 || inFlight != 0 {
		t.Errorf("Pesapal queries = %d (%d still in flight), want 5, none left", calls, inFlight)
	}
	for _, a := range append(hung, lateA) {
		got, err := e.st.Attempt(e.ctx, a.ID)
		if err != nil {
			t.Fatal(err)
		}
		if got.Status != store.AttemptPending {
			t.Errorf("attempt %s = %s, want still pending (silence is not a verdict)", a.ID, got.Status)
		}
	}
	// The two checks not started are left due for the next pass; the four
	// started were claimed (next check moved on).
	due, err := e.st.DueAttempts(e.ctx, e.clock.now(), 100)
	if err != nil {
		t.Fatal(err)
	}
	if len(due) != 2 {
		t.Errorf("due after the pass = %d attempts, want the 2 not started", len(due))
	}
	if n := e.svc.bg.running.Load(); n != 0 {
		t.Errorf("%d goroutines of the pass still running", n)
	}
}

func TestReconcilerStopsWithinTheDrainDeadlineWithAHangingProviderAndLeavesNothingRunning(t *testing.T) {
	const drain = 200 * time.Millisecond
	e := newBgEnv(t, background{checksPerProvider: 4, passBudget: time.Hour, lastQuery: time.Hour,
		expiriesAtOnce: 4, webhooksAtOnce: 8, drain: drain})
	for _, ref := range []string{"p1", "p2"} {
		e.checkout(t, ref, MethodPesapal, time.Hour, time.Second)
	}
	e.clock.add(time.Minute)

	ctx, cancel := context.WithCancel(e.ctx)
	returned := make(chan struct{})
	go func() { defer close(returned); e.svc.RunReconciler(ctx, time.Hour) }()
	for range 2 {
		select {
		case <-e.pp.entered:
		case <-time.After(10 * time.Second):
			t.Fatal("the reconciler never asked the provider")
		}
	}
	stopAt := time.Now()
	cancel()
	select {
	case <-returned:
	case <-time.After(drain + 5*time.Second):
		t.Fatal("RunReconciler did not return after the drain deadline")
	}
	if took := time.Since(stopAt); took < drain {
		t.Errorf("returned after %v: the work under way was not given its drain time %v", took, drain)
	}
	if inFlight, _, _ := e.pp.stats(); inFlight != 0 {
		t.Errorf("%d provider queries still in flight", inFlight)
	}
	if n := e.svc.bg.running.Load(); n != 0 {
		t.Errorf("%d reconciler goroutines left behind", n)
	}
}

// stalling is a merchant endpoint that holds every request until the test
// lets it go (or the request ends), counting those in flight.
type stalling struct {
	srv      *httptest.Server
	mu       sync.Mutex
	inFlight int
	most     int
	ids      []string
	entered  chan string   // webhook-id of each request, as it arrives
	cut      chan struct{} // one value per request whose context ended first
	release  chan struct{}
	letGo    sync.Once
}

func newStalling(t *testing.T) *stalling {
	s := &stalling{entered: make(chan string, 10), cut: make(chan struct{}, 10), release: make(chan struct{})}
	s.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		// Read first: the server notices a client that hangs up only once
		// the body is read.
		if _, err := io.Copy(io.Discard, r.Body); err != nil {
			t.Errorf("read body: %v", err)
		}
		s.mu.Lock()
		s.inFlight++
		s.most = max(s.most, s.inFlight)
		s.ids = append(s.ids, r.Header.Get("webhook-id"))
		s.mu.Unlock()
		defer func() { s.mu.Lock(); s.inFlight--; s.mu.Unlock() }()
		s.entered <- r.Header.Get("webhook-id")
		select {
		case <-s.release:
			w.WriteHeader(http.StatusNoContent)
		case <-r.Context().Done():
			s.cut <- struct{}{}
		}
	}))
	t.Cleanup(s.srv.Close)
	// Runs before Close (cleanups run last first): no handler is left
	// holding Close up.
	t.Cleanup(s.let)
	return s
}

// let answers the requests held and every later one at once.
func (s *stalling) let() { s.letGo.Do(func() { close(s.release) }) }

func (s *stalling) stats() (inFlight, most int, ids []string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.inFlight, s.most, append([]string(nil), s.ids...)
}

// hooksEnv has merchant "slow" (a stalling endpoint) and merchant "fast"
// (one answering at once), on a real clock.
type hooksEnv struct {
	ctx  context.Context
	path string // the database file
	st   *store.Store
	svc  *Service
	slow *stalling
	fast *stalling
}

func newHooksEnv(t *testing.T, drain time.Duration) *hooksEnv {
	t.Helper()
	e := &hooksEnv{ctx: context.Background(), slow: newStalling(t), fast: newStalling(t)}
	e.fast.let()
	e.path = storetest.DSN(t)
	e.st, e.svc = e.instance(t, drain)
	st := e.st
	for m, url := range map[string]string{"slow": e.slow.srv.URL, "fast": e.fast.srv.URL} {
		if _, err := st.EnsureMerchant(e.ctx, m, m, "key-"+m+"-0123456789abcdef0123456789"); err != nil {
			t.Fatal(err)
		}
		if err := st.SetMerchantWebhook(e.ctx, m, url+"/hooks", NewWebhookSecret()); err != nil {
			t.Fatal(err)
		}
	}
	return e
}

// instance opens the database again and builds a service on it: another
// process sharing the database.
func (e *hooksEnv) instance(t *testing.T, drain time.Duration) (*store.Store, *Service) {
	t.Helper()
	st, err := store.Open(e.ctx, e.path, store.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	svc, err := New(Config{PublicURL: "http://x", Store: st, WebhookAllowPrivate: true, Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		t.Fatal(err)
	}
	svc.bg = background{checksPerProvider: 4, passBudget: time.Hour, lastQuery: time.Hour, expiriesAtOnce: 4,
		webhooksAtOnce: 8, drain: drain, running: new(atomic.Int64)}
	return st, svc
}

func (e *hooksEnv) queue(t *testing.T, merchantID string) *store.WebhookDelivery {
	t.Helper()
	d, err := e.svc.SendTestWebhook(e.ctx, merchantID)
	if err != nil {
		t.Fatal(err)
	}
	return d
}

func TestHangingEndpointDelaysNeitherAnotherMerchantNorGetsASecondDeliveryWhileTheFirstIsInFlight(t *testing.T) {
	e := newHooksEnv(t, time.Second)
	first := e.queue(t, "slow")
	second := e.queue(t, "slow")
	fast := e.queue(t, "fast")

	ctx, cancel := context.WithCancel(e.ctx)
	returned := make(chan struct{})
	go func() { defer close(returned); e.svc.RunWebhooks(ctx, time.Hour) }()
	defer func() { cancel(); <-returned }()

	select {
	case id := <-e.slow.entered:
		if id != first.ID {
			t.Fatalf("first request to the hanging endpoint carries %s, want the older delivery %s", id, first.ID)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("the hanging endpoint was never called")
	}
	// The other merchant's webhook arrives while the first endpoint hangs.
	select {
	case id := <-e.fast.entered:
		if id != fast.ID {
			t.Fatalf("other merchant received %s, want %s", id, fast.ID)
		}
	case <-e.slow.entered:
		t.Fatal("a second delivery to the hanging endpoint started while the first was in flight")
	case <-time.After(5 * time.Second):
		t.Fatal("the other merchant's webhook was not delivered within 5 s while one endpoint hangs")
	}
	inFlight, most, ids := e.slow.stats()
	if inFlight != 1 || most != 1 || len(ids) != 1 {
		t.Fatalf("hanging endpoint: %d in flight, most %d, requests %v; want only the first", inFlight, most, ids)
	}
	// Not even claimed: it was queued before the other merchant's, so a
	// worker that would send it beside the first had taken it by now.
	if got, err := e.st.WebhookDelivery(e.ctx, second.ID); err != nil || got.ClaimedUntil != nil || got.Attempts != 0 {
		t.Fatalf("second delivery to the hanging endpoint = %+v, %v; want unclaimed and untried", got, err)
	}

	// Once the first answers, the second goes out, never beside it.
	e.slow.let()
	select {
	case id := <-e.slow.entered:
		if id != second.ID {
			t.Fatalf("second request carries %s, want %s", id, second.ID)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("the second delivery never went out after the first ended")
	}
	if _, most, _ := e.slow.stats(); most != 1 {
		t.Fatalf("most requests at once to one endpoint = %d, want 1", most)
	}
}

func TestWebhookWorkerStopsWithinTheDrainDeadlineAndLeavesNothingRunning(t *testing.T) {
	const drain = 200 * time.Millisecond
	e := newHooksEnv(t, drain)
	d := e.queue(t, "slow")

	ctx, cancel := context.WithCancel(e.ctx)
	returned := make(chan struct{})
	go func() { defer close(returned); e.svc.RunWebhooks(ctx, time.Hour) }()
	select {
	case <-e.slow.entered:
	case <-time.After(10 * time.Second):
		t.Fatal("the endpoint was never called")
	}
	stopAt := time.Now()
	cancel()
	select {
	case <-returned:
	case <-time.After(drain + 5*time.Second):
		t.Fatal("RunWebhooks did not return after the drain deadline")
	}
	if took := time.Since(stopAt); took < drain {
		t.Errorf("returned after %v: the delivery under way was not given its drain time %v", took, drain)
	}
	if n := e.svc.bg.running.Load(); n != 0 {
		t.Errorf("%d webhook goroutines left behind", n)
	}
	select {
	case <-e.slow.cut:
	case <-time.After(5 * time.Second):
		t.Error("the request under way was not cut at the deadline")
	}
	// Cut by the stop, the try says nothing about the merchant: the
	// delivery stays pending for the next worker, with the same id.
	got, err := e.st.WebhookDelivery(e.ctx, d.ID)
	if err != nil {
		t.Fatal(err)
	}
	if got.Status != store.DeliveryPending || got.Attempts != 0 {
		t.Errorf("delivery = %s after %d attempts, want pending and untried", got.Status, got.Attempts)
	}
}

func TestHangingEndpointsBacklogLongerThanAPageHidesNoOtherMerchantsWebhook(t *testing.T) {
	e := newHooksEnv(t, time.Second)
	for range 101 {
		e.queue(t, "slow")
	}
	fast := e.queue(t, "fast")

	ctx, cancel := context.WithCancel(e.ctx)
	returned := make(chan struct{})
	go func() { defer close(returned); e.svc.RunWebhooks(ctx, time.Hour) }()
	defer func() { cancel(); <-returned }()
	select {
	case id := <-e.fast.entered:
		if id != fast.ID {
			t.Fatalf("other merchant received %s, want %s", id, fast.ID)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("the other merchant's webhook, queued behind 101 for a hanging endpoint, was not delivered within 5 s")
	}
	select {
	case <-e.slow.entered:
	case <-time.After(10 * time.Second):
		t.Fatal("the hanging endpoint was never called")
	}
	if inFlight, most, ids := e.slow.stats(); inFlight != 1 || most != 1 || len(ids) != 1 {
		t.Fatalf("hanging endpoint: %d in flight, most %d, %d requests; want only one", inFlight, most, len(ids))
	}
}

func TestAFailedClaimWakesTheWaitersOnlyWhenNothingIsLeftInFlight(t *testing.T) {
	var w webhookWorker
	if ok, _ := w.take(8, "https://a.example/hook", "m1"); !ok {
		t.Fatal("first take refused")
	}
	if ok, _ := w.take(8, "https://b.example/hook", "m2"); !ok {
		t.Fatal("second take refused")
	}
	wake := w.wake()
	w.release("https://a.example/hook", "m1", false)
	select {
	case <-wake:
		t.Fatal("a failed claim woke the waiters while another delivery is in flight (its end will)")
	default:
	}
	w.release("https://b.example/hook", "m2", false)
	select {
	case <-wake:
	default:
		t.Fatal("with nothing left in flight, the waiters were left asleep for good")
	}
}
