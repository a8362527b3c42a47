package payments

import (
	"context"
	"encoding/json"
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

// fakePayouts stands for a payout provider at its boundary: it records
// every send, and answers status calls as the test says (noStatus: it has
// none, as PokeaPay's B2C).
type fakePayouts struct {
	mu       sync.Mutex
	name     string
	noStatus bool
	sendErr  error
	sends    []gateway.PayoutRequest
	statuses int
	status   func(ref string) (gateway.PayoutResult, error)
}

func (f *fakePayouts) Name() string { return f.name }

func (f *fakePayouts) Send(_ context.Context, r gateway.PayoutRequest) (gateway.PayoutStarted, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.sends = append(f.sends, r)
	if f.sendErr != nil {
		return gateway.PayoutStarted{}, f.sendErr
	}
	return gateway.PayoutStarted{ProviderReference: "PRV-" + r.Reference, Raw: []byte(`{"ok":true}`)}, nil
}

func (f *fakePayouts) Status(_ context.Context, ref string) (gateway.PayoutResult, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.statuses++
	if f.noStatus {
		return gateway.PayoutResult{}, gateway.ErrNoStatusCall
	}
	if f.status == nil {
		return gateway.PayoutResult{Status: gateway.StatusPending, Reference: ref, Verified: true}, nil
	}
	return f.status(ref)
}

// ParseCallback reads {"reference", "status", "amount" (cents), "receipt"}.
func (f *fakePayouts) ParseCallback(_ string, body []byte) (gateway.PayoutResult, error) {
	var c struct {
		Reference, Status, Receipt, Currency string
		Amount                               *int64
	}
	if err := json.Unmarshal(body, &c); err != nil {
		return gateway.PayoutResult{}, err
	}
	r := gateway.PayoutResult{Status: gateway.Status(c.Status), Reference: c.Reference, Receipt: c.Receipt,
		Currency: c.Currency, Raw: body}
	if c.Amount != nil {
		r.Amount, r.HasAmount = gateway.Amount(*c.Amount), true
	}
	return r, nil
}

func (f *fakePayouts) sent() []gateway.PayoutRequest {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]gateway.PayoutRequest(nil), f.sends...)
}

// fakeRefunder stands for Pesapal's refund request.
type fakeRefunder struct {
	mu    sync.Mutex
	calls []gateway.RefundRequest
	err   error
}

func (f *fakeRefunder) Refund(_ context.Context, r gateway.RefundRequest) (gateway.RefundAnswer, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.calls = append(f.calls, r)
	if f.err != nil {
		return gateway.RefundAnswer{}, f.err
	}
	return gateway.RefundAnswer{Message: "Refund request successfully", Raw: []byte(`{"status":"200"}`)}, nil
}

func (f *fakeRefunder) count() int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return len(f.calls)
}

// transferEnv is a service with fake payout and refund providers, on a
// new database and a fake clock; its merchant has a webhook URL.
type transferEnv struct {
	t        *testing.T
	ctx      context.Context
	clk      *clock
	st       *store.Store
	svc      *Service
	payouts  *fakePayouts
	refunder *fakeRefunder
	m        *store.Merchant
	n        int
	dsn      string
}

func newTransferEnv(t *testing.T, payouts *fakePayouts, limit int64) *transferEnv {
	t.Helper()
	e := &transferEnv{t: t, ctx: context.Background(), clk: &clock{t: testNow()}, payouts: payouts, refunder: &fakeRefunder{}}
	e.dsn = storetest.DSN(t)
	st, err := store.Open(e.ctx, e.dsn, store.Options{Now: e.clk.now})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	e.st = st
	if _, err = st.EnsureMerchant(e.ctx, "m", "Shop", "key-0123456789abcdef0123456789"); err != nil {
		t.Fatal(err)
	}
	if e.m, err = st.Merchant(e.ctx, "m"); err != nil {
		t.Fatal(err)
	}
	if err := st.SetMerchantWebhook(e.ctx, "m", "https://shop.example/hooks", NewWebhookSecret()); err != nil {
		t.Fatal(err)
	}
	cfg := Config{PublicURL: "http://shop.example", Store: st, Now: e.clk.now, Refunder: e.refunder,
		ApprovalLimit: limit, Logger: slog.New(slog.DiscardHandler)}
	if payouts != nil {
		cfg.Payouts = payouts
	}
	if e.svc, err = New(cfg); err != nil {
		t.Fatal(err)
	}
	return e
}

// paid makes a paid checkout of amount cents, paid through provider and
// method, the provider naming paymentMethod.
func (e *transferEnv) paid(amount int64, provider, method, paymentMethod string) *store.Checkout {
	e.t.Helper()
	e.n++
	co := &store.Checkout{ID: store.NewID("chk", e.clk.now()), MerchantID: "m", Reference: "ORDER-" + string(rune('A'+e.n)),
		Description: "d", Amount: amount, Currency: "KES", ExpiresAt: e.clk.now().Add(time.Hour)}
	if err := e.st.CreateCheckout(e.ctx, co, "test"); err != nil {
		e.t.Fatal(err)
	}
	a := &store.Attempt{ID: store.NewID("pay", e.clk.now()), CheckoutID: co.ID, Provider: provider, Method: method}
	if method == MethodSTK {
		a.Phone = "254712345678"
	}
	if err := e.st.StartAttempt(e.ctx, a, time.Minute, "customer"); err != nil {
		e.t.Fatal(err)
	}
	out, err := e.svc.st.ApplyResult(e.ctx, a.ID, store.Result{Status: store.AttemptSucceeded, Amount: amount, HasAmount: true,
		Currency: "KES", Reference: a.ID, Receipt: "CONF" + a.ID[len(a.ID)-6:], Method: paymentMethod, Source: "test"})
	if err != nil || out != store.OutcomePaid {
		e.t.Fatalf("paying: %s %v", out, err)
	}
	got, err := e.st.Checkout(e.ctx, co.ID)
	if err != nil {
		e.t.Fatal(err)
	}
	return got
}

func (e *transferEnv) process() {
	e.t.Helper()
	if err := e.svc.ProcessTransfers(e.ctx); err != nil {
		e.t.Fatalf("ProcessTransfers: %v", err)
	}
}

func (e *transferEnv) payout(id string) *store.Payout {
	e.t.Helper()
	p, err := e.svc.AdminPayout(e.ctx, id)
	if err != nil {
		e.t.Fatal(err)
	}
	return p
}

func (e *transferEnv) refund(id string) *store.Refund {
	e.t.Helper()
	r, err := e.svc.AdminRefund(e.ctx, id)
	if err != nil {
		e.t.Fatal(err)
	}
	return r
}

// events counts the webhook deliveries queued, by type (but the
// payments' checkout.paid).
func (e *transferEnv) events() map[string]int {
	e.t.Helper()
	ds, err := e.st.DueWebhookDeliveries(e.ctx, e.clk.now().Add(time.Hour), 1000)
	if err != nil {
		e.t.Fatal(err)
	}
	out := map[string]int{}
	for _, d := range ds {
		if d.EventType != store.WebhookCheckoutPaid {
			out[d.EventType]++
		}
	}
	return out
}

func fieldErr(err error, field string) bool {
	var fe *FieldError
	return errors.As(err, &fe) && fe.Field == field
}

func TestSecondPesapalRefundIsRefusedBeforeAnyCall(t *testing.T) {
	e := newTransferEnv(t, nil, 0)
	co := e.paid(100_000, ProviderPesapal, MethodPesapal, "Visa")
	r, err := e.svc.CreateRefund(e.ctx, e.m, co.ID, RefundRequest{Amount: "300"}, "api")
	if err != nil {
		t.Fatal(err)
	}
	e.process()
	if got := e.refund(r.ID); got.Status != store.TransferSucceeded || e.refunder.count() != 1 {
		t.Fatalf("refund %s after one pass, %d calls; want succeeded and 1", got.Status, e.refunder.count())
	}
	if e.refunder.calls[0].Amount != 30_000 || e.refunder.calls[0].Receipt == "" {
		t.Errorf("refund request %+v", e.refunder.calls[0])
	}
	if _, err := e.svc.CreateRefund(e.ctx, e.m, co.ID, RefundRequest{Amount: "200"}, "api"); !errors.Is(err, ErrRefundExists) {
		t.Fatalf("second refund: %v, want ErrRefundExists", err)
	}
	e.process()
	if n := e.refunder.count(); n != 1 {
		t.Fatalf("%d refund calls, want 1", n)
	}
}

func TestPesapalMobileMoneyRefundsOnlyInFullAndCardInPart(t *testing.T) {
	e := newTransferEnv(t, nil, 0)
	for _, method := range []string{"MpesaKE", ""} {
		co := e.paid(100_000, ProviderPesapal, MethodPesapal, method)
		if _, err := e.svc.CreateRefund(e.ctx, e.m, co.ID, RefundRequest{Amount: "500"}, "api"); !fieldErr(err, "amount") {
			t.Errorf("partial refund of a %q payment: %v, want an amount error", method, err)
		}
		if _, err := e.svc.CreateRefund(e.ctx, e.m, co.ID, RefundRequest{}, "api"); err != nil {
			t.Errorf("full refund of a %q payment: %v", method, err)
		}
	}
	co := e.paid(100_000, ProviderPesapal, MethodPesapal, "Mastercard")
	o, err := e.svc.RefundOptions(e.ctx, co)
	if err != nil || o.FullOnly || o.Route != store.RoutePesapal || o.Refundable != 100_000 {
		t.Fatalf("options of a card payment: %+v %v", o, err)
	}
	r, err := e.svc.CreateRefund(e.ctx, e.m, co.ID, RefundRequest{Amount: "500"}, "api")
	if err != nil || r.Amount != 50_000 {
		t.Fatalf("partial refund of a card payment: %v %v", r, err)
	}
	if e.refunder.count() != 0 {
		t.Fatalf("refund calls before the worker ran: %d", e.refunder.count())
	}
}

func TestPayoutSendWithoutClearAnswerIsNeverSentAgainAndTheStatusCallEndsIt(t *testing.T) {
	pp := &fakePayouts{name: "pochipay", sendErr: errors.New("read tcp: connection reset by peer")}
	e := newTransferEnv(t, pp, 0)
	p, err := e.svc.CreatePayout(e.ctx, e.m, PayoutRequest{Amount: "1500", Phone: "0712 345 678", Name: "Jane"}, "api")
	if err != nil {
		t.Fatal(err)
	}
	e.process()
	if got := e.payout(p.ID); got.Stage != store.StageSent || got.Status != store.TransferPending {
		t.Fatalf("after an unclear send: %s/%s, want pending/sent", got.Status, got.Stage)
	}
	pp.mu.Lock()
	pp.status = func(ref string) (gateway.PayoutResult, error) {
		return gateway.PayoutResult{Status: gateway.StatusSucceeded, Reference: ref, Receipt: "QLD82TMWJE",
			Amount: 150_000, HasAmount: true, Verified: true}, nil
	}
	pp.mu.Unlock()
	for range 3 {
		e.clk.add(2 * time.Minute)
		e.process()
	}
	got := e.payout(p.ID)
	if got.Status != store.TransferSucceeded || !got.Verified || got.Receipt != "QLD82TMWJE" {
		t.Fatalf("payout %+v, want succeeded, verified, with its receipt", got)
	}
	if n := len(pp.sent()); n != 1 {
		t.Fatalf("%d sends, want 1", n)
	}
	if s := pp.sent()[0]; s.Reference != got.ProviderReference || s.Phone != "254712345678" || s.Amount != 150_000 ||
		s.CallbackURL != "http://shop.example/callback/pochipay-payout" {
		t.Errorf("send %+v", s)
	}
	if ev := e.events(); ev[store.WebhookPayoutSucceeded] != 1 || len(ev) != 1 {
		t.Errorf("events %v, want one payout.succeeded", ev)
	}
}

func TestPayoutRefusedBeforeSendingEndsFailed(t *testing.T) {
	pp := &fakePayouts{name: "pochipay", sendErr: gateway.NotStarted(errors.New("insufficient balance"))}
	e := newTransferEnv(t, pp, 0)
	p, err := e.svc.CreatePayout(e.ctx, e.m, PayoutRequest{Amount: "100", Phone: "254712345678"}, "api")
	if err != nil {
		t.Fatal(err)
	}
	e.process()
	e.process()
	if got := e.payout(p.ID); got.Status != store.TransferFailed || len(pp.sent()) != 1 {
		t.Fatalf("payout %s after %d sends, want failed after 1", got.Status, len(pp.sent()))
	}
}

// claimAndCrash claims a queued payout as a process that then dies
// before recording anything.
func (e *transferEnv) claimAndCrash(id string) {
	e.t.Helper()
	if ok, err := e.st.ClaimPayout(e.ctx, id, e.clk.now().Add(sendLease)); !ok || err != nil {
		e.t.Fatalf("ClaimPayout: %v %v", ok, err)
	}
	e.clk.add(sendLease + time.Second)
}

func TestPayoutLeftInSendingIsNeverSentAgain(t *testing.T) {
	t.Run("status call", func(t *testing.T) {
		pp := &fakePayouts{name: "pochipay", status: func(ref string) (gateway.PayoutResult, error) {
			return gateway.PayoutResult{Status: gateway.StatusNotFound, Reference: ref, Verified: true}, nil
		}}
		e := newTransferEnv(t, pp, 0)
		p, err := e.svc.CreatePayout(e.ctx, e.m, PayoutRequest{Amount: "100", Phone: "254712345678"}, "api")
		if err != nil {
			t.Fatal(err)
		}
		e.claimAndCrash(p.ID)
		e.process()
		if got := e.payout(p.ID); got.Status != store.TransferPending || pp.statuses != 1 {
			t.Fatalf("just after: %s, %d status calls; want pending (within the grace) and 1", got.Status, pp.statuses)
		}
		for range 12 {
			e.clk.add(time.Minute)
			e.process()
		}
		if got := e.payout(p.ID); got.Status != store.TransferFailed {
			t.Fatalf("after the grace: %s, want failed (the provider never got it)", got.Status)
		}
		if n := len(pp.sent()); n != 0 {
			t.Fatalf("%d sends, want 0", n)
		}
	})
	t.Run("no status call", func(t *testing.T) {
		pp := &fakePayouts{name: "pokeapay", noStatus: true}
		e := newTransferEnv(t, pp, 0)
		p, err := e.svc.CreatePayout(e.ctx, e.m, PayoutRequest{Amount: "100", Phone: "254712345678"}, "api")
		if err != nil {
			t.Fatal(err)
		}
		e.claimAndCrash(p.ID)
		e.process()
		e.process()
		if got := e.payout(p.ID); got.Stage != store.StageAttention || got.Status != store.TransferPending {
			t.Fatalf("payout %s/%s, want pending/attention", got.Status, got.Stage)
		}
		if n := len(pp.sent()); n != 0 {
			t.Fatalf("%d sends, want 0", n)
		}
	})
}

func (e *transferEnv) callback(provider string, body string) {
	e.t.Helper()
	if err := e.svc.PayoutCallback(e.ctx, provider, "application/json", []byte(body)); err != nil {
		e.t.Fatalf("PayoutCallback: %v", err)
	}
}

// A PokeaPay success callback ends the payout succeeded, not verified; a
// failure callback (unverifiable) ends nothing: the payout waits, pending,
// for a person who checks the statement.
func TestPokeaPaySuccessCallbackIsActedOnNotVerifiedAndAFailureCallbackWaitsForAPerson(t *testing.T) {
	t.Run("success", func(t *testing.T) {
		pp := &fakePayouts{name: "pokeapay", noStatus: true}
		e := newTransferEnv(t, pp, 0)
		p, err := e.svc.CreatePayout(e.ctx, e.m, PayoutRequest{Amount: "250", Phone: "254712345678"}, "api")
		if err != nil {
			t.Fatal(err)
		}
		e.process()
		e.callback("pokeapay", `{"reference":"`+e.payout(p.ID).ProviderReference+`","status":"succeeded","amount":25000,"receipt":"QAB1"}`)
		got := e.payout(p.ID)
		if got.Status != store.TransferSucceeded || got.Verified || !strings.Contains(got.Message, "not verified") {
			t.Fatalf("payout %s verified=%v %q, want succeeded, not verified, with a note", got.Status, got.Verified, got.Message)
		}
		evs, err := e.svc.TransferEvents(e.ctx, p.ID)
		if err != nil || !hasEvent(evs, store.TransferEventCallback, "") {
			t.Errorf("timeline %+v (%v): want the callback as received", evs, err)
		}
	})
	t.Run("failure", func(t *testing.T) {
		pp := &fakePayouts{name: "pokeapay", noStatus: true}
		e := newTransferEnv(t, pp, 0)
		p, err := e.svc.CreatePayout(e.ctx, e.m, PayoutRequest{Amount: "250", Phone: "254712345678"}, "api")
		if err != nil {
			t.Fatal(err)
		}
		e.process()
		e.callback("pokeapay", `{"reference":"`+e.payout(p.ID).ProviderReference+`","status":"failed"}`)
		got := e.payout(p.ID)
		want := "PokeaPay says it failed (not verified): check the PokeaPay statement, then mark it failed or succeeded"
		if got.Status != store.TransferPending || got.Stage != store.StageAttention || got.Message != want {
			t.Fatalf("payout %s/%s %q, want pending in attention with %q", got.Status, got.Stage, got.Message, want)
		}
		if ev := e.events(); ev["payout.failed"] != 0 {
			t.Errorf("events %v after an unverified failure, want no payout.failed", ev)
		}
		for range 3 {
			e.clk.add(time.Hour)
			e.process()
		}
		if n := len(pp.sent()); n != 1 {
			t.Fatalf("%d sends, want 1", n)
		}
	})
	t.Run("silence", func(t *testing.T) {
		pp := &fakePayouts{name: "pokeapay", noStatus: true}
		e := newTransferEnv(t, pp, 0)
		p, err := e.svc.CreatePayout(e.ctx, e.m, PayoutRequest{Amount: "250", Phone: "254712345678"}, "api")
		if err != nil {
			t.Fatal(err)
		}
		e.process()
		e.clk.add(23 * time.Hour)
		e.process()
		if got := e.payout(p.ID); got.Stage != store.StageSent {
			t.Fatalf("after 23 h: %s, want still sent", got.Stage)
		}
		e.clk.add(time.Hour)
		e.process()
		if got := e.payout(p.ID); got.Stage != store.StageAttention || got.Status != store.TransferPending {
			t.Fatalf("after 24 h: %s/%s, want pending/attention", got.Status, got.Stage)
		}
		if n := len(pp.sent()); n != 1 {
			t.Fatalf("%d sends, want 1", n)
		}
	})
}

func hasEvent(evs []store.TransferEvent, kind, contains string) bool {
	for _, ev := range evs {
		if ev.Kind == kind && strings.Contains(ev.Message, contains) {
			return true
		}
	}
	return false
}

func TestPayoutAboveTheLimitWaitsForASecondAdmin(t *testing.T) {
	pp := &fakePayouts{name: "pochipay"}
	e := newTransferEnv(t, pp, 100_000) // KES 1,000
	p, err := e.svc.CreatePayout(e.ctx, e.m, PayoutRequest{Amount: "2000", Phone: "254712345678"}, "admin:ann@example.com")
	if err != nil {
		t.Fatal(err)
	}
	if p.Stage != store.StageApproval {
		t.Fatalf("stage %s, want approval", p.Stage)
	}
	e.process()
	if n := len(pp.sent()); n != 0 {
		t.Fatalf("%d sends before approval", n)
	}
	for _, ann := range []string{"ann@example.com", "admin:ann@example.com"} {
		if err := e.svc.Approve(e.ctx, "payout", p.ID, ann); !errors.Is(err, ErrSelfApproval) {
			t.Fatalf("approval by the requester (%s): %v, want ErrSelfApproval", ann, err)
		}
	}
	if err := e.svc.Approve(e.ctx, "payout", p.ID, "bob@example.com"); err != nil {
		t.Fatal(err)
	}
	if err := e.svc.Approve(e.ctx, "payout", p.ID, "bob@example.com"); !errors.Is(err, ErrNotAwaitingApproval) {
		t.Fatalf("second approval: %v, want ErrNotAwaitingApproval", err)
	}
	e.process()
	got := e.payout(p.ID)
	if n := len(pp.sent()); n != 1 || got.Stage != store.StageSent || got.ApprovedBy != "bob@example.com" {
		t.Fatalf("%d sends, stage %s, approved by %q; want 1, sent, bob", n, got.Stage, got.ApprovedBy)
	}
	// At the limit: no approval.
	q, err := e.svc.CreatePayout(e.ctx, e.m, PayoutRequest{Amount: "1000", Phone: "254712345678"}, "admin:ann@example.com")
	if err != nil || q.Stage != store.StageQueued {
		t.Fatalf("payout at the limit: %v %v, want queued", q, err)
	}
}

func TestDeclinedRefundReleasesItsReservation(t *testing.T) {
	pp := &fakePayouts{name: "pochipay"}
	e := newTransferEnv(t, pp, 50_000)
	co := e.paid(100_000, ProviderPokeaPay, MethodSTK, "M-Pesa")
	r, err := e.svc.CreateRefund(e.ctx, e.m, co.ID, RefundRequest{Reason: "out of stock"}, "api")
	if err != nil {
		t.Fatal(err)
	}
	if r.Stage != store.StageApproval || r.Route != store.RoutePayout || r.Amount != 100_000 {
		t.Fatalf("refund %+v", r)
	}
	// Over the API: any admin may approve or decline.
	if err := e.svc.Decline(e.ctx, "refund", r.ID, "ann@example.com", "customer kept the goods"); err != nil {
		t.Fatal(err)
	}
	got, err := e.st.Checkout(e.ctx, co.ID)
	if err != nil || got.RefundReserved != 0 {
		t.Fatalf("reserved %d (%v), want 0", got.RefundReserved, err)
	}
	if rr := e.refund(r.ID); rr.Status != store.TransferFailed || !strings.HasPrefix(rr.Message, "Declined by ann@example.com") {
		t.Fatalf("refund %s %q", rr.Status, rr.Message)
	}
	e.process()
	if n := len(pp.sent()); n != 0 {
		t.Fatalf("%d sends after decline", n)
	}
	if ev := e.events(); ev[store.WebhookRefundFailed] != 1 || len(ev) != 1 {
		t.Errorf("events %v, want one refund.failed", ev)
	}
	if _, err := e.svc.CreateRefund(e.ctx, e.m, co.ID, RefundRequest{Amount: "400"}, "api"); err != nil {
		t.Fatalf("refund after the decline: %v", err)
	}
}

func TestSTKRefundIsAPayoutToThePayerAndEveryEventComesOnce(t *testing.T) {
	pp := &fakePayouts{name: "pochipay", status: func(ref string) (gateway.PayoutResult, error) {
		return gateway.PayoutResult{Status: gateway.StatusSucceeded, Reference: ref, Receipt: "QRF1", Verified: true}, nil
	}}
	e := newTransferEnv(t, pp, 0)
	co := e.paid(100_000, ProviderPokeaPay, MethodSTK, "M-Pesa")
	if _, err := e.svc.CreateRefund(e.ctx, e.m, co.ID, RefundRequest{Amount: "400.50"}, "api"); !fieldErr(err, "amount") {
		t.Fatalf("refund with cents by M-Pesa: %v, want an amount error", err)
	}
	if _, err := e.svc.CreateRefund(e.ctx, e.m, co.ID, RefundRequest{Amount: "1000.01"}, "api"); !fieldErr(err, "amount") {
		t.Fatalf("refund above the amount: %v, want an amount error", err)
	}
	r1, err := e.svc.CreateRefund(e.ctx, e.m, co.ID, RefundRequest{Amount: "400"}, "api")
	if err != nil {
		t.Fatal(err)
	}
	r2, err := e.svc.CreateRefund(e.ctx, e.m, co.ID, RefundRequest{}, "api")
	if err != nil || r2.Amount != 60_000 {
		t.Fatalf("refund of what is left: %v %v", r2, err)
	}
	for range 3 {
		e.process()
		e.clk.add(2 * time.Minute)
	}
	for _, id := range []string{r1.ID, r2.ID} {
		if got := e.refund(id); got.Status != store.TransferSucceeded || got.Stage != store.StageDone {
			t.Fatalf("refund %s: %s/%s", id, got.Status, got.Stage)
		}
	}
	sends := pp.sent()
	if len(sends) != 2 || sends[0].Phone != "254712345678" || !strings.HasPrefix(sends[0].Description, "Refund ORDER-") {
		t.Fatalf("sends %+v", sends)
	}
	got, _ := e.st.Checkout(e.ctx, co.ID)
	obj, err := e.svc.Object(got)
	if err != nil || obj.AmountRefunded != "1000.00" {
		t.Fatalf("amount_refunded %q (%v)", obj.AmountRefunded, err)
	}
	want := map[string]int{store.WebhookRefundSucceeded: 2, store.WebhookCheckoutRefunded: 1}
	if ev := e.events(); len(ev) != 2 || ev[store.WebhookRefundSucceeded] != 2 || ev[store.WebhookCheckoutRefunded] != 1 {
		t.Errorf("events %v, want %v", ev, want)
	}
	if _, err := e.svc.CreateRefund(e.ctx, e.m, co.ID, RefundRequest{}, "api"); !fieldErr(err, "amount") {
		t.Errorf("refund of a refunded order: %v, want an amount error", err)
	}
}

func TestPokeaPayCardRefundWaitsForAPerson(t *testing.T) {
	e := newTransferEnv(t, &fakePayouts{name: "pokeapay", noStatus: true}, 0)
	co := e.paid(100_000, ProviderPokeaPay, MethodPokeaPay, "Card")
	r, err := e.svc.CreateRefund(e.ctx, e.m, co.ID, RefundRequest{Amount: "100"}, "api")
	if err != nil {
		t.Fatal(err)
	}
	if r.Route != store.RouteManual || r.Stage != store.StageAttention || r.Status != store.TransferPending ||
		r.Message != "PokeaPay has no refund API for cards: refund by hand, then mark it refunded" {
		t.Fatalf("refund %+v", r)
	}
	if err := e.svc.Resolve(e.ctx, "refund", r.ID, "ann@example.com", true, "refunded on the PokeaPay dashboard"); err != nil {
		t.Fatal(err)
	}
	if err := e.svc.Resolve(e.ctx, "refund", r.ID, "ann@example.com", true, ""); !errors.Is(err, ErrNotAttention) {
		t.Fatalf("resolving again: %v, want ErrNotAttention", err)
	}
	if got := e.refund(r.ID); got.Status != store.TransferSucceeded {
		t.Fatalf("refund %s", got.Status)
	}
}

func TestRefundOfAnotherMerchantsCheckoutIsNotFound(t *testing.T) {
	e := newTransferEnv(t, nil, 0)
	co := e.paid(100_000, ProviderPesapal, MethodPesapal, "Visa")
	if _, err := e.st.EnsureMerchant(e.ctx, "m2", "Other", "key-other-0123456789abcdef012345"); err != nil {
		t.Fatal(err)
	}
	other, err := e.st.Merchant(e.ctx, "m2")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := e.svc.CreateRefund(e.ctx, other, co.ID, RefundRequest{}, "api"); !errors.Is(err, ErrNotFound) {
		t.Fatalf("refund by another merchant: %v, want ErrNotFound", err)
	}
	r, err := e.svc.CreateRefund(e.ctx, e.m, co.ID, RefundRequest{}, "api")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := e.svc.RefundFor(e.ctx, "m2", r.ID); !errors.Is(err, ErrNotFound) {
		t.Fatalf("RefundFor another merchant: %v, want ErrNotFound", err)
	}
}

// TestTwoWorkersSendAPayoutOnce: two processes on one database run their
// passes at once; each queued payout is sent once.
func TestTwoWorkersSendAPayoutOnce(t *testing.T) {
	pp := &fakePayouts{name: "pochipay"}
	e := newTransferEnv(t, pp, 0)
	var ids []string
	for range 5 {
		p, err := e.svc.CreatePayout(e.ctx, e.m, PayoutRequest{Amount: "100", Phone: "254712345678"}, "api")
		if err != nil {
			t.Fatal(err)
		}
		ids = append(ids, p.ID)
	}
	// A second service on its own handles to the database: another
	// process.
	st2, err := store.Open(e.ctx, e.dsn, store.Options{Now: e.clk.now})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st2.Close() })
	other, err := New(Config{PublicURL: "http://shop.example", Store: st2, Now: e.clk.now, Payouts: pp,
		Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		t.Fatal(err)
	}
	start := make(chan struct{})
	var wg sync.WaitGroup
	for _, svc := range []*Service{e.svc, other} {
		wg.Go(func() {
			<-start
			if err := svc.ProcessTransfers(e.ctx); err != nil {
				t.Error(err)
			}
		})
	}
	close(start)
	wg.Wait()
	sends := map[string]int{}
	for _, s := range pp.sent() {
		sends[s.Reference]++
	}
	for _, id := range ids {
		p := e.payout(id)
		if sends[p.ProviderReference] != 1 || p.Stage != store.StageSent {
			t.Errorf("payout %s: %d sends, stage %s; want 1, sent", id, sends[p.ProviderReference], p.Stage)
		}
	}
}

// balancePayouts is a payout provider that tells its balance.
type balancePayouts struct {
	*fakePayouts
	balance gateway.Amount
}

func (b balancePayouts) Balance(context.Context) (gateway.Amount, string, error) {
	return b.balance, "KES", nil
}

func TestPayoutAboveTheBalanceFailsUnsent(t *testing.T) {
	pp := &fakePayouts{name: "pochipay"}
	e := newTransferEnv(t, nil, 0)
	svc, err := New(Config{PublicURL: "http://shop.example", Store: e.st, Now: e.clk.now,
		Payouts: balancePayouts{fakePayouts: pp, balance: 50_000}, Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		t.Fatal(err)
	}
	amount, cur, ok, err := svc.PayoutBalance(e.ctx)
	if amount != 50_000 || cur != "KES" || !ok || err != nil {
		t.Fatalf("PayoutBalance: %d %s %v %v", amount, cur, ok, err)
	}
	over, err := svc.CreatePayout(e.ctx, e.m, PayoutRequest{Amount: "501", Phone: "254712345678"}, "api")
	if err != nil {
		t.Fatal(err)
	}
	within, err := svc.CreatePayout(e.ctx, e.m, PayoutRequest{Amount: "500", Phone: "254712345678"}, "api")
	if err != nil {
		t.Fatal(err)
	}
	if err := svc.ProcessTransfers(e.ctx); err != nil {
		t.Fatal(err)
	}
	if got := e.payout(over.ID); got.Status != store.TransferFailed || !strings.Contains(got.Message, "nothing was sent") {
		t.Errorf("payout above the balance: %s %q", got.Status, got.Message)
	}
	if s := pp.sent(); len(s) != 1 || s[0].Amount != 50_000 || s[0].Reference != e.payout(within.ID).ProviderReference {
		t.Errorf("sends %+v, want only the one within the balance", s)
	}
	if _, _, ok, _ := e.svc.PayoutBalance(e.ctx); ok {
		t.Errorf("PayoutBalance without a payout provider: ok")
	}
}

// cancelPayouts is a payout provider that can cancel a pending send.
type cancelPayouts struct {
	*fakePayouts
	cancels *[]string
}

func (c cancelPayouts) CancelPayout(_ context.Context, ref string) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	*c.cancels = append(*c.cancels, ref)
	return nil
}

func TestPayoutPendingForADayIsCancelledOnceAndItsStatusEndsIt(t *testing.T) {
	var cancels []string
	pp := &fakePayouts{name: "pochipay"} // status: pending
	e := newTransferEnv(t, nil, 0)
	svc, err := New(Config{PublicURL: "http://shop.example", Store: e.st, Now: e.clk.now,
		Payouts: cancelPayouts{fakePayouts: pp, cancels: &cancels}, Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		t.Fatal(err)
	}
	p, err := svc.CreatePayout(e.ctx, e.m, PayoutRequest{Amount: "100", Phone: "254712345678"}, "api")
	if err != nil {
		t.Fatal(err)
	}
	for range 30 { // 30 hours, looked at every hour
		if err := svc.ProcessTransfers(e.ctx); err != nil {
			t.Fatal(err)
		}
		e.clk.add(time.Hour)
	}
	pp.mu.Lock()
	n := len(cancels)
	pp.status = func(ref string) (gateway.PayoutResult, error) {
		return gateway.PayoutResult{Status: gateway.StatusFailed, Reference: ref, Message: "cancelled", Verified: true}, nil
	}
	pp.mu.Unlock()
	if n != 1 || cancels[0] != e.payout(p.ID).ProviderReference {
		t.Fatalf("cancels %v, want one of the payout", cancels)
	}
	if err := svc.ProcessTransfers(e.ctx); err != nil {
		t.Fatal(err)
	}
	if got := e.payout(p.ID); got.Status != store.TransferFailed || len(pp.sent()) != 1 {
		t.Fatalf("payout %s after %d sends, want failed after 1", got.Status, len(pp.sent()))
	}
}

func TestPesapalRefundWithoutAClearAnswerWaitsForAPerson(t *testing.T) {
	for _, tc := range []struct {
		name      string
		err       error
		crash     bool
		status    string
		stage     string
		calls     int
		reserved  int64
		wantEvent string
	}{
		{"refused", gateway.NotStarted(errors.New("payment already refunded")), false, store.TransferFailed, store.StageDone, 1, 0, store.WebhookRefundFailed},
		{"no answer", errors.New("context deadline exceeded"), false, store.TransferPending, store.StageAttention, 1, 100_000, ""},
		{"process died during the call", nil, true, store.TransferPending, store.StageAttention, 0, 100_000, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			e := newTransferEnv(t, nil, 0)
			e.refunder.err = tc.err
			co := e.paid(100_000, ProviderPesapal, MethodPesapal, "MPESA")
			r, err := e.svc.CreateRefund(e.ctx, e.m, co.ID, RefundRequest{}, "admin:ann@example.com")
			if err != nil {
				t.Fatal(err)
			}
			if tc.crash {
				if ok, err := e.st.ClaimRefund(e.ctx, r.ID); !ok || err != nil {
					t.Fatalf("ClaimRefund: %v %v", ok, err)
				}
				e.clk.add(sendLease + time.Second)
			}
			for range 3 {
				e.process()
				e.clk.add(time.Hour)
			}
			got := e.refund(r.ID)
			c, _ := e.st.Checkout(e.ctx, co.ID)
			if got.Status != tc.status || got.Stage != tc.stage || e.refunder.count() != tc.calls || c.RefundReserved != tc.reserved {
				t.Fatalf("refund %s/%s after %d calls, reserved %d; want %s/%s, %d, %d", got.Status, got.Stage,
					e.refunder.count(), c.RefundReserved, tc.status, tc.stage, tc.calls, tc.reserved)
			}
			if tc.calls == 1 && e.refunder.calls[0].Username != "ann@example.com" {
				t.Errorf("username %q", e.refunder.calls[0].Username)
			}
			ev := e.events()
			if (tc.wantEvent == "" && len(ev) != 0) || (tc.wantEvent != "" && (ev[tc.wantEvent] != 1 || len(ev) != 1)) {
				t.Errorf("events %v, want %q once", ev, tc.wantEvent)
			}
		})
	}
}
