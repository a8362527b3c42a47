package store

import (
	"context"
	"errors"
	"regexp"
	"sync"
	"testing"
	"time"

	"checkout/store/storetest"
)

// paidCheckout makes a checkout of amount cents and pays it by an attempt
// whose provider reports method.
func paidCheckout(t *testing.T, s *Store, amount int64, provider, method string) (*Checkout, *Attempt) {
	t.Helper()
	co := newCheckout(t, s, func(c *Checkout) { c.Amount = amount })
	a := startAttempt(t, s, co.ID, provider, provider, 20*time.Second)
	r := succeeded(a, "RCPT"+a.ID[len(a.ID)-6:])
	r.Method = method
	if out := applyResult(t, s, a.ID, r); out != OutcomePaid {
		t.Fatalf("paying %s: %s", co.ID, out)
	}
	return co, a
}

func newTestRefund(s *Store, co *Checkout, a *Attempt, amount int64, route string) *Refund {
	return &Refund{ID: NewID("ref", s.Now()), MerchantID: co.MerchantID, CheckoutID: co.ID, AttemptID: a.ID,
		Amount: amount, Currency: co.Currency, Route: route, Provider: "pesapal", Status: TransferPending,
		Stage: StageQueued, RequestedBy: "api"}
}

// withPayloads is s building every webhook body as its event type alone.
func withPayloads(s *Store) *Store {
	return s.WithWebhookPayload(func(co *Checkout, ev string, _ time.Time) ([]byte, error) {
		return []byte(ev + " " + co.ID), nil
	}).WithTransferPayloads(TransferPayloads{
		Refund: func(r *Refund, ev string, _ time.Time) ([]byte, error) { return []byte(ev + " " + r.ID), nil },
		Payout: func(p *Payout, ev string, _ time.Time) ([]byte, error) { return []byte(ev + " " + p.ID), nil },
	})
}

// outboxCounts counts the outbox rows of each event type.
func outboxCounts(t *testing.T, s *Store) map[string]int {
	t.Helper()
	var ds []WebhookDelivery
	if err := s.r.Find(&ds).Error; err != nil {
		t.Fatal(err)
	}
	out := map[string]int{}
	for _, d := range ds {
		out[d.EventType]++
	}
	return out
}

// TestConcurrentRefundsReserveOnce: two refunds of 600 on a payment of
// 1,000, asked at once from two processes: exactly one is accepted, and
// the checkout holds 600.
func TestConcurrentRefundsReserveOnce(t *testing.T) {
	clk := newFakeClock(t0)
	path := storetest.DSN(t)
	s1 := openTestStoreAt(t, path, clk.Now)
	s2 := openTestStoreAt(t, path, clk.Now)
	if _, err := s1.EnsureMerchant(context.Background(), testMerchantID, "Test shop", testAPIKey); err != nil {
		t.Fatal(err)
	}
	for round := range 5 {
		co, a := paidCheckout(t, s1, 100_000, "pokeapay", "M-Pesa")
		start := make(chan struct{})
		var wg sync.WaitGroup
		errs := make([]error, 2)
		for i, s := range []*Store{s1, s2} {
			wg.Go(func() {
				r := newTestRefund(s, co, a, 60_000, RouteManual)
				r.Stage = StageAttention
				<-start
				errs[i] = s.CreateRefund(context.Background(), r, nil, false)
			})
		}
		close(start)
		wg.Wait()
		ok, refused := 0, 0
		for _, err := range errs {
			switch {
			case err == nil:
				ok++
			case errors.Is(err, ErrRefundRefused):
				refused++
			default:
				t.Fatalf("round %d: CreateRefund: %v", round, err)
			}
		}
		if ok != 1 || refused != 1 {
			t.Fatalf("round %d: %d accepted, %d refused; want 1 and 1", round, ok, refused)
		}
		got := loadCheckout(t, s1, co.ID)
		if got.RefundReserved != 60_000 || got.AmountRefunded != 0 {
			t.Errorf("round %d: reserved %d refunded %d, want 60000 and 0", round, got.RefundReserved, got.AmountRefunded)
		}
		rs, err := s1.CheckoutRefunds(context.Background(), co.ID)
		if err != nil || len(rs) != 1 {
			t.Errorf("round %d: %d refunds (%v), want 1", round, len(rs), err)
		}
	}
}

// TestRefundOnlyOne: with onlyOne (Pesapal), a second refund is refused
// even with money left, until the first has failed.
func TestRefundOnlyOne(t *testing.T) {
	s, _ := newTestEnv(t)
	s = withPayloads(s)
	ctx := context.Background()
	co, a := paidCheckout(t, s, 100_000, "pesapal", "Visa")
	r1 := newTestRefund(s, co, a, 30_000, RoutePesapal)
	if err := s.CreateRefund(ctx, r1, nil, true); err != nil {
		t.Fatal(err)
	}
	if err := s.CreateRefund(ctx, newTestRefund(s, co, a, 30_000, RoutePesapal), nil, true); !errors.Is(err, ErrRefundRefused) {
		t.Fatalf("second refund: %v, want ErrRefundRefused", err)
	}
	if err := s.FinishTransfer(ctx, KindRefund, r1.ID, []string{StageQueued}, TransferOutcome{Message: "refused"}); err != nil {
		t.Fatal(err)
	}
	if got := loadCheckout(t, s, co.ID); got.RefundReserved != 0 {
		t.Fatalf("reserved %d after the refund failed, want 0", got.RefundReserved)
	}
	if err := s.CreateRefund(ctx, newTestRefund(s, co, a, 30_000, RoutePesapal), nil, true); err != nil {
		t.Fatalf("refund after the first failed: %v", err)
	}
}

// TestRefundOfUnpaidCheckoutRefused: an open checkout has nothing to
// refund.
func TestRefundOfUnpaidCheckoutRefused(t *testing.T) {
	s, _ := newTestEnv(t)
	co := newCheckout(t, s, nil)
	r := &Refund{ID: NewID("ref", s.Now()), MerchantID: co.MerchantID, CheckoutID: co.ID, Amount: 100, Currency: "KES",
		Route: RouteManual, Status: TransferPending, Stage: StageAttention}
	if err := s.CreateRefund(context.Background(), r, nil, false); !errors.Is(err, ErrRefundRefused) {
		t.Fatalf("CreateRefund on an open checkout: %v, want ErrRefundRefused", err)
	}
}

// TestDeclinedRefundReleasesReservation: a refund over the limit waits;
// its requester cannot approve it; declined, it ends failed, the
// reservation is given back, and refund.failed is queued once.
func TestDeclinedRefundReleasesReservation(t *testing.T) {
	s, _ := newTestEnv(t)
	s = withPayloads(s)
	ctx := context.Background()
	co, a := paidCheckout(t, s, 100_000, "pokeapay", "M-Pesa")
	if err := s.SetMerchantWebhook(ctx, testMerchantID, "https://shop.example/hooks", "whsec_x"); err != nil {
		t.Fatal(err)
	}
	r := newTestRefund(s, co, a, 100_000, RoutePayout)
	r.Stage, r.RequestedBy = StageApproval, "admin:ann@example.com"
	p := &Payout{ID: NewID("po", s.Now()), MerchantID: co.MerchantID, Provider: "pochipay", Amount: r.Amount,
		Currency: "KES", Phone: "254712345678", Status: TransferPending, Stage: StageApproval, RequestedBy: r.RequestedBy}
	if err := s.CreateRefund(ctx, r, p, false); err != nil {
		t.Fatal(err)
	}
	if !regexp.MustCompile(`^\d{12}$`).MatchString(p.ProviderReference) || r.ProviderReference != p.ProviderReference {
		t.Fatalf("provider reference %q (refund %q), want 12 digits on both", p.ProviderReference, r.ProviderReference)
	}
	if err := s.Approve(ctx, KindRefund, r.ID, "ann@example.com"); !errors.Is(err, ErrSelfApproval) {
		t.Fatalf("self approval: %v, want ErrSelfApproval", err)
	}
	if err := s.Decline(ctx, KindPayout, p.ID, "bob@example.com", "wrong order"); err != nil {
		t.Fatal(err)
	}
	got, _ := s.Refund(ctx, r.ID)
	gp, _ := s.Payout(ctx, p.ID)
	if got.Status != TransferFailed || got.Stage != StageDone || gp.Status != TransferFailed || gp.Stage != StageDone {
		t.Fatalf("refund %s/%s payout %s/%s, want failed/done", got.Status, got.Stage, gp.Status, gp.Stage)
	}
	if got.Message != "Declined by bob@example.com: wrong order" {
		t.Errorf("message %q", got.Message)
	}
	if c := loadCheckout(t, s, co.ID); c.RefundReserved != 0 || c.AmountRefunded != 0 {
		t.Errorf("reserved %d refunded %d after the decline, want 0 and 0", c.RefundReserved, c.AmountRefunded)
	}
	if err := s.Approve(ctx, KindRefund, r.ID, "bob@example.com"); !errors.Is(err, ErrStage) {
		t.Errorf("approve after decline: %v, want ErrStage", err)
	}
	d := outboxCounts(t, s)
	if d[WebhookRefundFailed] != 1 || d[WebhookPayoutFailed] != 0 || len(d) != 1 {
		t.Errorf("deliveries %v, want one refund.failed", d)
	}
}

// TestRefundSucceededEventsOnce: two refunds that add up to the amount
// queue refund.succeeded each and checkout.refunded once; finishing one
// again changes nothing.
func TestRefundSucceededEventsOnce(t *testing.T) {
	s, _ := newTestEnv(t)
	s = withPayloads(s)
	ctx := context.Background()
	co, a := paidCheckout(t, s, 100_000, "pokeapay", "Card")
	if err := s.SetMerchantWebhook(ctx, testMerchantID, "https://shop.example/hooks", "whsec_x"); err != nil {
		t.Fatal(err)
	}
	var ids []string
	for _, amount := range []int64{40_000, 60_000} {
		r := newTestRefund(s, co, a, amount, RouteManual)
		r.Stage = StageAttention
		if err := s.CreateRefund(ctx, r, nil, false); err != nil {
			t.Fatal(err)
		}
		ids = append(ids, r.ID)
	}
	for _, id := range ids {
		if err := s.Resolve(ctx, KindRefund, id, "ann@example.com", true, "refunded at the till"); err != nil {
			t.Fatal(err)
		}
	}
	if err := s.Resolve(ctx, KindRefund, ids[0], "ann@example.com", false, ""); !errors.Is(err, ErrStage) {
		t.Errorf("resolving again: %v, want ErrStage", err)
	}
	c := loadCheckout(t, s, co.ID)
	if c.AmountRefunded != 100_000 || c.RefundReserved != 100_000 || c.Status != StatusPaid {
		t.Errorf("refunded %d reserved %d status %s", c.AmountRefunded, c.RefundReserved, c.Status)
	}
	d := outboxCounts(t, s)
	if d[WebhookRefundSucceeded] != 2 || d[WebhookCheckoutRefunded] != 1 || len(d) != 2 {
		t.Errorf("deliveries %v, want 2 refund.succeeded and 1 checkout.refunded", d)
	}
	evs, err := s.TransferEvents(ctx, ids[0])
	if err != nil || len(evs) != 2 || evs[1].ToStatus != TransferSucceeded || evs[1].Actor != "ann@example.com" {
		t.Errorf("timeline %+v (%v)", evs, err)
	}
}

// TestPayoutClaimedOnce: of two processes claiming a queued payout, one
// wins; once its claim runs out the payout is due again, in sending, and
// can never be claimed for a send again.
func TestPayoutClaimedOnce(t *testing.T) {
	clk := newFakeClock(t0)
	path := storetest.DSN(t)
	s1 := openTestStoreAt(t, path, clk.Now)
	s2 := openTestStoreAt(t, path, clk.Now)
	ctx := context.Background()
	if _, err := s1.EnsureMerchant(ctx, testMerchantID, "Test shop", testAPIKey); err != nil {
		t.Fatal(err)
	}
	p := &Payout{ID: NewID("po", clk.Now()), MerchantID: testMerchantID, Provider: "pochipay", Amount: 50_000,
		Currency: "KES", Phone: "254712345678", Reference: "INV-1", Status: TransferPending, Stage: StageQueued, RequestedBy: "api"}
	if err := s1.CreatePayout(ctx, p); err != nil {
		t.Fatal(err)
	}
	dup := *p
	dup.ID = NewID("po", clk.Now())
	if err := s1.CreatePayout(ctx, &dup); !errors.Is(err, ErrDuplicate) {
		t.Fatalf("second payout with reference INV-1: %v, want ErrDuplicate", err)
	}
	var wg sync.WaitGroup
	won := make([]bool, 2)
	for i, s := range []*Store{s1, s2} {
		wg.Go(func() {
			ok, err := s.ClaimPayout(ctx, p.ID, clk.Now().Add(time.Minute))
			if err != nil {
				t.Error(err)
			}
			won[i] = ok
		})
	}
	wg.Wait()
	if won[0] == won[1] {
		t.Fatalf("claims %v, want exactly one", won)
	}
	_, ps, err := s1.DueTransfers(ctx, clk.Now(), clk.Now(), 10)
	if err != nil || len(ps) != 0 {
		t.Fatalf("due while claimed: %d (%v), want 0", len(ps), err)
	}
	clk.Advance(2 * time.Minute)
	_, ps, err = s1.DueTransfers(ctx, clk.Now(), clk.Now(), 10)
	if err != nil || len(ps) != 1 || ps[0].Stage != StageSending {
		t.Fatalf("due after the claim ran out: %+v (%v), want the payout in sending", ps, err)
	}
	if ok, err := s2.ClaimPayout(ctx, p.ID, clk.Now().Add(time.Minute)); ok || err != nil {
		t.Fatalf("ClaimPayout of a payout in sending: %v %v, want false", ok, err)
	}
}

// TestAttemptKeepsPaymentMethod: the provider's payment method is on the
// succeeded attempt.
func TestAttemptKeepsPaymentMethod(t *testing.T) {
	s, _ := newTestEnv(t)
	_, a := paidCheckout(t, s, 100_000, "pesapal", "MpesaKE")
	if got := loadAttempt(t, s, a.ID); got.PaymentMethod != "MpesaKE" {
		t.Fatalf("payment method %q, want MpesaKE", got.PaymentMethod)
	}
	pa, err := s.PaidAttempt(context.Background(), a.CheckoutID)
	if err != nil || pa.ID != a.ID {
		t.Fatalf("PaidAttempt: %v %v", pa, err)
	}
}

// TestPayoutCheckedKeepsASendersClaim: a look that settles nothing (a
// callback confirmed as still pending) while the payout is being sent
// (stage sending, claimed) leaves the sender's claim: the payout is not
// due (taken for interrupted) until the claim runs out.
func TestPayoutCheckedKeepsASendersClaim(t *testing.T) {
	clk := newFakeClock(t0)
	s := openTestStoreAt(t, storetest.DSN(t), clk.Now)
	ctx := context.Background()
	if _, err := s.EnsureMerchant(ctx, testMerchantID, "Test shop", testAPIKey); err != nil {
		t.Fatal(err)
	}
	p := &Payout{ID: NewID("po", clk.Now()), MerchantID: testMerchantID, Provider: "pochipay", Amount: 50_000,
		Currency: "KES", Phone: "254712345678", Status: TransferPending, Stage: StageQueued, RequestedBy: "api"}
	if err := s.CreatePayout(ctx, p); err != nil {
		t.Fatal(err)
	}
	if ok, err := s.ClaimPayout(ctx, p.ID, clk.Now().Add(time.Minute)); !ok || err != nil {
		t.Fatalf("ClaimPayout: %v %v", ok, err)
	}
	next := clk.Now().Add(time.Minute)
	if err := s.PayoutChecked(ctx, p.ID, &next, TransferEvent{Kind: TransferEventStatusQuery, Source: "pochipay",
		Message: "provider says: pending"}); err != nil {
		t.Fatal(err)
	}
	got, err := s.Payout(ctx, p.ID)
	if err != nil {
		t.Fatal(err)
	}
	if got.Stage != StageSending || got.ClaimedUntil == nil {
		t.Fatalf("payout %s claimed until %v after a look during the send, want sending and still claimed", got.Stage, got.ClaimedUntil)
	}
	if _, ps, err := s.DueTransfers(ctx, clk.Now(), clk.Now(), 10); err != nil || len(ps) != 0 {
		t.Fatalf("due during the send: %d (%v), want 0", len(ps), err)
	}
}
