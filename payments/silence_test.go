package payments

import (
	"context"
	"errors"
	"log/slog"
	"strings"
	"sync"
	"testing"
	"time"

	"checkout/gateway"
	"checkout/store"
	"checkout/store/storetest"
)

// fakeSTK is an STK backend at the provider boundary: the push is accepted,
// and each query is answered by answer (with the attempt and the current
// time of the test's clock).
type fakeSTK struct {
	mu      sync.Mutex
	answer  func(q gateway.Query) (gateway.Result, error)
	queries int
}

func (f *fakeSTK) Name() string { return ProviderPokeaPay }

func (f *fakeSTK) Push(_ context.Context, r gateway.STKRequest) (gateway.STKStarted, error) {
	return gateway.STKStarted{ProviderReference: r.Reference, Raw: []byte(`{"success":true}`)}, nil
}

func (f *fakeSTK) ParseCallback(string, []byte) (gateway.STKCallback, error) {
	return gateway.STKCallback{}, errors.New("not used")
}

func (f *fakeSTK) Confirm(_ context.Context, q gateway.Query) (gateway.Result, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.queries++
	return f.answer(q)
}

// stkEnv is a service with a fake STK backend, a fake clock and a real
// SQLite file, and one checkout for KES 1,500 with a prompt pushed at the
// clock's start.
type stkEnv struct {
	st    *store.Store
	svc   *Service
	clock *clock
	stk   *fakeSTK
	co    *store.Checkout
	a     *store.Attempt
}

func newSTKEnv(t *testing.T, answer func(e *stkEnv, q gateway.Query) (gateway.Result, error)) *stkEnv {
	t.Helper()
	ctx := context.Background()
	e := &stkEnv{clock: &clock{t: testNow()}}
	st, err := store.Open(ctx, storetest.DSN(t), store.Options{Now: e.clock.now})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	e.st = st
	if _, err := st.EnsureMerchant(ctx, "m", "Shop", "key-0123456789abcdef0123456789"); err != nil {
		t.Fatal(err)
	}
	e.stk = &fakeSTK{answer: func(q gateway.Query) (gateway.Result, error) { return answer(e, q) }}
	e.svc, err = New(Config{PublicURL: "http://x", Store: st, Now: e.clock.now, STK: e.stk, Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		t.Fatal(err)
	}
	e.co = &store.Checkout{ID: store.NewID("chk", e.clock.now()), MerchantID: "m", Reference: "r", Description: "d",
		Amount: 150000, Currency: "KES", ExpiresAt: e.clock.now().Add(24 * time.Hour)}
	if err := st.CreateCheckout(ctx, e.co, "test"); err != nil {
		t.Fatal(err)
	}
	e.a, err = e.svc.StartSTK(ctx, e.co.ID, "0712345678")
	if err != nil {
		t.Fatal(err)
	}
	return e
}

// since is how long ago the prompt was pushed.
func (e *stkEnv) since() time.Duration { return e.clock.now().Sub(e.a.CreatedAt) }

// runFor moves the clock by step and runs a reconciler pass, until d has
// passed.
func (e *stkEnv) runFor(t *testing.T, d, step time.Duration) {
	t.Helper()
	for end := e.clock.now().Add(d); e.clock.now().Before(end); {
		e.clock.add(step)
		if err := e.svc.Reconcile(context.Background()); err != nil {
			t.Fatal(err)
		}
	}
}

func (e *stkEnv) attempt(t *testing.T) *store.Attempt {
	t.Helper()
	a, err := e.st.Attempt(context.Background(), e.a.ID)
	if err != nil {
		t.Fatal(err)
	}
	return a
}

func (e *stkEnv) checkout(t *testing.T) *store.Checkout {
	t.Helper()
	co, err := e.st.Checkout(context.Background(), e.co.ID)
	if err != nil {
		t.Fatal(err)
	}
	return co
}

func paidAnswer(a *store.Attempt, receipt string) gateway.Result {
	return gateway.Result{Status: gateway.StatusSucceeded, Amount: gateway.Amount(a.Amount), HasAmount: true,
		Currency: "KES", Reference: a.ID, ProviderReference: a.ID, Receipt: receipt, Code: "0"}
}

var errQueryDown = errors.New("pokeapay: transaction query: HTTP 503: Service Unavailable")

func TestSTKQueryDownForFiveMinutesAfterThePaymentStaysPendingAndIsPaidWhenItRecovers(t *testing.T) {
	const approvedAt, downFor = 40 * time.Second, 5 * time.Minute
	e := newSTKEnv(t, func(e *stkEnv, q gateway.Query) (gateway.Result, error) {
		// The customer approves the prompt 40 s after the push; the callback
		// is lost, and the provider's query is down for the next 5 minutes.
		switch since := e.since(); {
		case since < approvedAt:
			return gateway.Result{Status: gateway.StatusPending, Currency: "KES", Reference: e.a.ID}, nil
		case since < approvedAt+downFor:
			return gateway.Result{}, errQueryDown
		}
		return paidAnswer(e.a, "QDOWN12345"), nil
	})
	e.runFor(t, approvedAt+downFor-time.Second, time.Second)
	a, co := e.attempt(t), e.checkout(t)
	if a.Status != store.AttemptPending || co.Status != store.StatusPending || co.Message != "" || a.NextCheckAt == nil {
		t.Fatalf("after 5 minutes of errors: attempt %s (next check %v), checkout %s %q; want both pending and still polled",
			a.Status, a.NextCheckAt, co.Status, co.Message)
	}
	// Asked on the backoff schedule (20 s, 60 s, 140 s, 300 s... after the
	// push), among them once more than 3 minutes after it, when the query
	// was still down.
	if e.stk.queries != 4 {
		t.Fatalf("%d queries in the first 5 min 40 s, want 4", e.stk.queries)
	}
	note, err := e.svc.WaitingNote(context.Background(), co)
	if err != nil || note != STKNoAnswer {
		t.Fatalf("the customer reads %q (%v), want %q", note, err, STKNoAnswer)
	}

	e.runFor(t, 6*time.Minute, 10*time.Second) // the backoff is capped at 5 min (+10% jitter)
	a, co = e.attempt(t), e.checkout(t)
	if a.Status != store.AttemptSucceeded || co.Status != store.StatusPaid || co.Receipt != "QDOWN12345" || co.Review {
		t.Fatalf("after the query recovered: attempt %s, checkout %s receipt %q review %v; want paid",
			a.Status, co.Status, co.Receipt, co.Review)
	}
}

func TestSTKQueryAnsweringPendingForTenMinutesStaysPending(t *testing.T) {
	e := newSTKEnv(t, func(e *stkEnv, q gateway.Query) (gateway.Result, error) {
		return gateway.Result{Status: gateway.StatusPending, Currency: "KES", Reference: e.a.ID}, nil
	})
	e.runFor(t, 10*time.Minute, 10*time.Second)
	a, co := e.attempt(t), e.checkout(t)
	if a.Status != store.AttemptPending || co.Status != store.StatusPending || co.Message != "" || a.NextCheckAt == nil {
		t.Fatalf("after 10 minutes of pending: attempt %s (next check %v), checkout %s %q", a.Status, a.NextCheckAt, co.Status, co.Message)
	}
	// Backing off to every 5 minutes: 20 s, then 40, 80, 160, 300... after
	// the push, not every pass.
	if e.stk.queries < 4 || e.stk.queries > 6 {
		t.Fatalf("%d queries in 10 minutes, want the backoff schedule", e.stk.queries)
	}
	if next := a.NextCheckAt.Sub(e.clock.now()); next > 5*time.Minute+30*time.Second {
		t.Fatalf("next check in %v, want at most 5 min (+10%%)", next)
	}
}

func TestSTKFailureReportedByTheProviderFailsTheAttempt(t *testing.T) {
	e := newSTKEnv(t, func(e *stkEnv, q gateway.Query) (gateway.Result, error) {
		return gateway.Result{Status: gateway.StatusFailed, Code: "1032", Message: "Request cancelled by user",
			Currency: "KES", Reference: e.a.ID}, nil
	})
	e.runFor(t, 30*time.Second, 10*time.Second)
	a, co := e.attempt(t), e.checkout(t)
	if a.Status != store.AttemptFailed || co.Status != store.StatusOpen || co.Message != STKMessage("1032") || a.NextCheckAt != nil {
		t.Fatalf("attempt %s (next %v), checkout %s %q; want failed, open with %q", a.Status, a.NextCheckAt, co.Status, co.Message, STKMessage("1032"))
	}
}

func TestSTKNotFoundIsPendingInsideThePromptWindowAndFailedAfterIt(t *testing.T) {
	e := newSTKEnv(t, func(e *stkEnv, q gateway.Query) (gateway.Result, error) {
		return gateway.Result{Status: gateway.StatusNotFound, Currency: "KES", Reference: e.a.ID}, nil
	})
	ctx := context.Background()
	// Inside the window: the provider may not know the prompt yet.
	e.clock.add(STKPromptWindow - time.Second)
	if _, out, err := e.svc.Recheck(ctx, e.attempt(t), "test"); err != nil || out != store.OutcomeUnchanged {
		t.Fatalf("not found inside the window: %s, %v", out, err)
	}
	if a, co := e.attempt(t), e.checkout(t); a.Status != store.AttemptPending || co.Status != store.StatusPending {
		t.Fatalf("not found inside the window: attempt %s, checkout %s; want pending", a.Status, co.Status)
	}
	// Once the prompt has left the phone, no record means no payment.
	e.clock.add(time.Second)
	if _, out, err := e.svc.Recheck(ctx, e.attempt(t), "test"); err != nil || out != store.OutcomeFailed {
		t.Fatalf("not found after the window: %s, %v", out, err)
	}
	a, co := e.attempt(t), e.checkout(t)
	if a.Status != store.AttemptFailed || co.Status != store.StatusOpen || co.Message != stkNotFoundMessage {
		t.Fatalf("not found after the window: attempt %s, checkout %s %q", a.Status, co.Status, co.Message)
	}
}

func TestSTKAttemptWithoutAVerdictIsPolledFor72HoursThenLeftPendingWithAnEvent(t *testing.T) {
	e := newSTKEnv(t, func(e *stkEnv, q gateway.Query) (gateway.Result, error) { return gateway.Result{}, errQueryDown })
	ctx := context.Background()
	e.runFor(t, store.PollFor-10*time.Minute, 10*time.Minute)
	if a := e.attempt(t); a.Status != store.AttemptPending || a.NextCheckAt == nil {
		t.Fatalf("before 72 h: attempt %s next %v", a.Status, a.NextCheckAt)
	}
	asked := e.stk.queries
	e.runFor(t, 20*time.Minute, 10*time.Minute)
	a := e.attempt(t)
	if a.Status != store.AttemptPending || a.NextCheckAt != nil {
		t.Fatalf("after 72 h: attempt %s next %v; want pending and no longer polled", a.Status, a.NextCheckAt)
	}
	if e.stk.queries > asked+2 {
		t.Fatalf("still asked after 72 h: %d queries, %d before", e.stk.queries, asked)
	}
	// The checkout itself expired at its deadline; the payment is visible to
	// the admin, and what happened is on the timeline.
	if co := e.checkout(t); co.Status != store.StatusExpired {
		t.Fatalf("checkout %s, want expired", co.Status)
	}
	evs, err := e.st.Events(ctx, e.co.ID)
	if err != nil {
		t.Fatal(err)
	}
	found := false
	for _, ev := range evs {
		if ev.AttemptID == a.ID && ev.Kind == store.EventError && strings.Contains(ev.Message, "no longer asked automatically") {
			found = true
		}
	}
	if !found {
		t.Fatal("no event says the attempt is no longer polled")
	}
	// The admin can still ask.
	before := e.stk.queries
	if err := e.svc.RecheckCheckout(ctx, e.co.ID, "admin:a@example.com"); err == nil || e.stk.queries != before+1 {
		t.Fatalf("admin re-check: %v after %d queries (was %d)", err, e.stk.queries, before)
	}
}

func TestSilentSTKAttemptThatSucceedsAfterAnotherMethodPaidIsFlaggedForReview(t *testing.T) {
	late := false
	e := newSTKEnv(t, func(e *stkEnv, q gateway.Query) (gateway.Result, error) {
		if !late {
			return gateway.Result{}, errQueryDown
		}
		return paidAnswer(e.a, "QLATE12345"), nil
	})
	ctx := context.Background()
	e.runFor(t, 3*time.Minute, 10*time.Second)
	// The customer read the note and paid another way: a second attempt
	// that the provider confirms.
	other := &store.Attempt{ID: store.NewID("pay", e.clock.now()), CheckoutID: e.co.ID, Provider: ProviderPesapal, Method: MethodPesapal}
	if err := e.st.StartAttempt(ctx, other, time.Minute, "customer"); err != nil {
		t.Fatal(err)
	}
	if out, err := e.st.ApplyResult(ctx, other.ID, store.Result{Status: store.AttemptSucceeded, Amount: 150000, HasAmount: true,
		Currency: "KES", Reference: other.ID, Receipt: "PESAPAL1", Source: "test"}); err != nil || out != store.OutcomePaid {
		t.Fatalf("second payment: %s, %v", out, err)
	}
	if a := e.attempt(t); a.Status != store.AttemptPending || a.NextCheckAt == nil {
		t.Fatalf("the first attempt was lost: %s next %v", a.Status, a.NextCheckAt)
	}
	late = true
	e.runFor(t, 6*time.Minute, 10*time.Second)
	a, co := e.attempt(t), e.checkout(t)
	if co.Status != store.StatusPaid || co.Receipt != "PESAPAL1" || !co.Review {
		t.Fatalf("checkout %s receipt %q review %v; want paid by the second attempt and flagged", co.Status, co.Receipt, co.Review)
	}
	if a.Status != store.AttemptSucceeded || !a.Review || !strings.Contains(a.ReviewReason, "second payment") {
		t.Fatalf("late attempt %s review %v %q", a.Status, a.Review, a.ReviewReason)
	}
}

func TestWaitingNoteSpeaksOnlyOnceThePromptWindowHasPassed(t *testing.T) {
	e := newSTKEnv(t, func(e *stkEnv, q gateway.Query) (gateway.Result, error) {
		return gateway.Result{Status: gateway.StatusPending}, nil
	})
	ctx := context.Background()
	cases := []struct {
		at   time.Duration
		want string
	}{
		{0, ""},
		{STKPromptWindow - time.Second, ""},
		{STKPromptWindow, STKNoAnswer},
		{time.Hour, STKNoAnswer},
	}
	for _, tc := range cases {
		e.clock.add(tc.at - e.since())
		got, err := e.svc.WaitingNote(ctx, e.checkout(t))
		if err != nil || got != tc.want {
			t.Errorf("at %v: %q (%v), want %q", tc.at, got, err, tc.want)
		}
	}
	// Another method chosen since: the note is not about it.
	other := &store.Attempt{ID: store.NewID("pay", e.clock.now()), CheckoutID: e.co.ID, Provider: ProviderPesapal, Method: MethodPesapal}
	if err := e.st.StartAttempt(ctx, other, time.Minute, "customer"); err != nil {
		t.Fatal(err)
	}
	if got, err := e.svc.WaitingNote(ctx, e.checkout(t)); err != nil || got != "" {
		t.Errorf("with a Pesapal attempt chosen since: %q (%v), want none", got, err)
	}
}

func TestSTKSuccessWithoutAnAmountIsPaidAtThePushedAmount(t *testing.T) {
	cases := []struct {
		name        string
		amount      gateway.Amount
		hasAmount   bool
		wantStatus  store.Status
		wantReview  bool
		wantAttempt store.AttemptStatus
	}{
		{"no_amount_reported", 0, false, store.StatusPaid, false, store.AttemptSucceeded},
		{"same_amount_reported", 150000, true, store.StatusPaid, false, store.AttemptSucceeded},
		{"other_amount_reported", 100000, true, store.StatusPending, true, store.AttemptPending},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			e := newSTKEnv(t, func(e *stkEnv, q gateway.Query) (gateway.Result, error) {
				return gateway.Result{Status: gateway.StatusSucceeded, Amount: tc.amount, HasAmount: tc.hasAmount,
					Currency: "KES", Reference: e.a.ID, Receipt: "QAMT123456", Code: "0"}, nil
			})
			e.clock.add(20 * time.Second)
			if _, _, err := e.svc.Recheck(context.Background(), e.attempt(t), "test"); err != nil {
				t.Fatal(err)
			}
			a, co := e.attempt(t), e.checkout(t)
			if co.Status != tc.wantStatus || co.Review != tc.wantReview || a.Status != tc.wantAttempt || a.Review != tc.wantReview {
				t.Fatalf("checkout %s review %v, attempt %s review %v; want %s %v %s", co.Status, co.Review, a.Status, a.Review,
					tc.wantStatus, tc.wantReview, tc.wantAttempt)
			}
		})
	}
}

func TestHostedPageSuccessWithoutAnAmountIsStillReviewed(t *testing.T) {
	ctx := context.Background()
	c := &clock{t: testNow()}
	st, err := store.Open(ctx, storetest.DSN(t), store.Options{Now: c.now})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	if _, err := st.EnsureMerchant(ctx, "m", "Shop", "key-0123456789abcdef0123456789"); err != nil {
		t.Fatal(err)
	}
	co := &store.Checkout{ID: store.NewID("chk", c.now()), MerchantID: "m", Reference: "r", Description: "d",
		Amount: 150000, Currency: "KES", ExpiresAt: c.now().Add(time.Hour)}
	if err := st.CreateCheckout(ctx, co, "test"); err != nil {
		t.Fatal(err)
	}
	a := &store.Attempt{ID: store.NewID("pay", c.now()), CheckoutID: co.ID, Provider: ProviderPesapal, Method: MethodPesapal}
	if err := st.StartAttempt(ctx, a, time.Minute, "test"); err != nil {
		t.Fatal(err)
	}
	if err := st.AttemptStarted(ctx, a.ID, "trk-1", "http://pay", ""); err != nil {
		t.Fatal(err)
	}
	fake := &scripted{results: map[string]gateway.Result{
		"trk-1": {Status: gateway.StatusSucceeded, Currency: "KES", Reference: a.ID, Receipt: "R1"},
	}}
	svc, err := New(Config{PublicURL: "http://x", Store: st, Now: c.now, Pesapal: fake,
		PesapalIPN: func(context.Context) (string, error) { return "ipn-1", nil }})
	if err != nil {
		t.Fatal(err)
	}
	a, err = st.Attempt(ctx, a.ID)
	if err != nil {
		t.Fatal(err)
	}
	if _, out, err := svc.Recheck(ctx, a, "test"); err != nil || out != store.OutcomeReview {
		t.Fatalf("outcome %s, %v; want review", out, err)
	}
	if got, _ := st.Checkout(ctx, co.ID); got.Status != store.StatusPending || !got.Review {
		t.Fatalf("checkout %s review %v", got.Status, got.Review)
	}
}
