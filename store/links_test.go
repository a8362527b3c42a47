package store

import (
	"context"
	"errors"
	"strings"
	"sync"
	"testing"
	"time"
)

func newLink(t *testing.T, s *Store, mod func(*PaymentLink)) *PaymentLink {
	t.Helper()
	l := &PaymentLink{ID: NewID("plink", s.Now()), MerchantID: testMerchantID, Amount: testAmount, Currency: "KES",
		Description: "Sack of maize", ReferencePrefix: "MAIZE-", CreatedBy: "api"}
	if mod != nil {
		mod(l)
	}
	if err := s.CreatePaymentLink(context.Background(), l); err != nil {
		t.Fatalf("CreatePaymentLink: %v", err)
	}
	return l
}

func linkCheckout(t *testing.T, s *Store, linkID string) (*Checkout, error) {
	t.Helper()
	id := NewID("chk", s.Now())
	co := &Checkout{ID: id, Description: "Sack of maize", Amount: testAmount, Currency: "KES", ExpiresAt: s.Now().Add(24 * time.Hour)}
	err := s.CreateCheckoutFromLink(context.Background(), linkID, co, LinkReferenceSuffix(id), "test")
	return co, err
}

func TestPaymentLinkCreateGetAndDeactivate(t *testing.T) {
	s, clk := newTestEnv(t)
	ctx := context.Background()
	exp := t0.Add(48 * time.Hour)
	l := newLink(t, s, func(l *PaymentLink) { l.SingleUse = true; l.ExpiresAt = &exp; l.Metadata = `{"a":"b"}` })
	got, err := s.PaymentLink(ctx, l.ID)
	if err != nil {
		t.Fatal(err)
	}
	if !got.Active || !got.SingleUse || got.Amount != testAmount || got.ReferencePrefix != "MAIZE-" || got.Metadata != `{"a":"b"}` ||
		got.ExpiresAt == nil || !got.ExpiresAt.Equal(exp) || got.DeactivatedAt != nil || !got.CreatedAt.Equal(t0) {
		t.Fatalf("link read back as %+v", got)
	}
	if _, err := s.PaymentLinkForMerchant(ctx, "m_other", l.ID); !errors.Is(err, ErrNotFound) {
		t.Fatalf("another merchant's link: %v, want ErrNotFound", err)
	}
	if _, err := s.DeactivatePaymentLink(ctx, "m_other", l.ID); !errors.Is(err, ErrNotFound) {
		t.Fatalf("another merchant deactivates: %v, want ErrNotFound", err)
	}
	clk.Advance(time.Minute)
	d, err := s.DeactivatePaymentLink(ctx, testMerchantID, l.ID)
	if err != nil {
		t.Fatal(err)
	}
	if d.Active || d.DeactivatedAt == nil || !d.DeactivatedAt.Equal(t0.Add(time.Minute)) {
		t.Fatalf("deactivated link: %+v", d)
	}
	clk.Advance(time.Minute)
	again, err := s.DeactivatePaymentLink(ctx, testMerchantID, l.ID)
	if err != nil || again.Active || !again.DeactivatedAt.Equal(t0.Add(time.Minute)) {
		t.Fatalf("second deactivation changed the link: %+v %v", again, err)
	}
	if _, err := linkCheckout(t, s, l.ID); !errors.Is(err, ErrLinkInactive) {
		t.Fatalf("checkout from a deactivated link: %v, want ErrLinkInactive", err)
	}
}

func TestListPaymentLinksNewestFirstWithKeyset(t *testing.T) {
	s, clk := newTestEnv(t)
	ctx := context.Background()
	var ids []string
	for i := 0; i < 5; i++ {
		ids = append(ids, newLink(t, s, nil).ID)
		clk.Advance(time.Millisecond)
	}
	if _, err := s.EnsureMerchant(ctx, "m_other", "Other", "sk_test_other_0123456789"); err != nil {
		t.Fatal(err)
	}
	newLink(t, s, func(l *PaymentLink) { l.MerchantID = "m_other" })

	page1, more, err := s.ListPaymentLinks(ctx, testMerchantID, "", 3)
	if err != nil || !more || len(page1) != 3 || page1[0].ID != ids[4] || page1[2].ID != ids[2] {
		t.Fatalf("first page: %v more=%v err=%v", linkIDs(page1), more, err)
	}
	page2, more, err := s.ListPaymentLinks(ctx, testMerchantID, page1[2].ID, 3)
	if err != nil || more || len(page2) != 2 || page2[0].ID != ids[1] || page2[1].ID != ids[0] {
		t.Fatalf("second page: %v more=%v err=%v", linkIDs(page2), more, err)
	}
	all, _, err := s.ListPaymentLinks(ctx, "", "", 100)
	if err != nil || len(all) != 6 {
		t.Fatalf("every merchant's links: %d %v", len(all), err)
	}
}

func linkIDs(ls []PaymentLink) []string {
	var out []string
	for _, l := range ls {
		out = append(out, l.ID)
	}
	return out
}

func TestCheckoutFromLinkCarriesTheLinkAndCountsWhenPaid(t *testing.T) {
	s, _ := newTestEnv(t)
	ctx := context.Background()
	l := newLink(t, s, nil)
	co, err := linkCheckout(t, s, l.ID)
	if err != nil {
		t.Fatal(err)
	}
	got := loadCheckout(t, s, co.ID)
	if got.PaymentLinkID != l.ID || got.MerchantID != testMerchantID || got.Reference != "MAIZE-"+LinkReferenceSuffix(co.ID) ||
		got.Status != StatusOpen {
		t.Fatalf("checkout from link: %+v", got)
	}
	co2, err := linkCheckout(t, s, l.ID)
	if err != nil {
		t.Fatal(err)
	}
	if co2.Reference == co.Reference {
		t.Fatalf("two checkouts of one link share the reference %s", co.Reference)
	}
	paid, err := s.LinksPaid(ctx, []string{l.ID})
	if err != nil || paid[l.ID] != (LinkPaid{}) {
		t.Fatalf("before payment: %+v %v", paid, err)
	}
	for _, id := range []string{co.ID, co2.ID} {
		a := startAttempt(t, s, id, "pesapal", "pesapal", time.Minute)
		applyResult(t, s, a.ID, succeeded(a, "RCPT-"+id))
	}
	paid, err = s.LinksPaid(ctx, []string{l.ID, "plink_none"})
	if err != nil || paid[l.ID] != (LinkPaid{Count: 2, Amount: 2 * testAmount}) || len(paid) != 1 {
		t.Fatalf("after two payments: %+v %v", paid, err)
	}
}

func TestExpiredLinkMakesNoCheckout(t *testing.T) {
	s, clk := newTestEnv(t)
	exp := t0.Add(time.Hour)
	l := newLink(t, s, func(l *PaymentLink) { l.ExpiresAt = &exp })
	if _, err := linkCheckout(t, s, l.ID); err != nil {
		t.Fatalf("before expiry: %v", err)
	}
	clk.Advance(time.Hour)
	if _, err := linkCheckout(t, s, l.ID); !errors.Is(err, ErrLinkExpired) {
		t.Fatalf("at expiry: %v, want ErrLinkExpired", err)
	}
	if _, err := linkCheckout(t, s, "plink_unknown"); !errors.Is(err, ErrNotFound) {
		t.Fatalf("unknown link: %v, want ErrNotFound", err)
	}
}

func TestSingleUseLinkRefusesASecondPayment(t *testing.T) {
	s, _ := newTestEnv(t)
	ctx := context.Background()
	l := newLink(t, s, func(l *PaymentLink) { l.SingleUse = true })
	first, err := linkCheckout(t, s, l.ID)
	if err != nil {
		t.Fatal(err)
	}
	second, err := linkCheckout(t, s, l.ID)
	if err != nil {
		t.Fatal(err)
	}
	a := startAttempt(t, s, first.ID, "pesapal", "pesapal", time.Minute)

	// A payment under way on the first checkout already holds the link.
	b := &Attempt{ID: NewID("att", s.Now()), CheckoutID: second.ID, Provider: "pesapal", Method: "pesapal"}
	if err := s.StartAttempt(ctx, b, time.Minute, "test"); !errors.Is(err, ErrLinkUsed) {
		t.Fatalf("attempt while another is pending: %v, want ErrLinkUsed", err)
	}
	// The first checkout itself may still be tried again.
	c := startAttempt(t, s, first.ID, "pokeapay", "pokeapay", time.Minute)

	applyResult(t, s, a.ID, succeeded(a, "RCPT1"))
	// No attempt of the link is under way any more: what holds it now is
	// the payment alone.
	applyResult(t, s, c.ID, failed("abandoned"))
	b.ID = NewID("att", s.Now())
	if err := s.StartAttempt(ctx, b, time.Minute, "test"); !errors.Is(err, ErrLinkUsed) {
		t.Fatalf("attempt after the link was paid: %v, want ErrLinkUsed", err)
	}
	if got := loadCheckout(t, s, second.ID); got.Status != StatusOpen {
		t.Fatalf("refused checkout is %s, want open", got.Status)
	}
	if _, err := linkCheckout(t, s, l.ID); !errors.Is(err, ErrLinkUsed) {
		t.Fatalf("checkout from a paid single-use link: %v, want ErrLinkUsed", err)
	}
}

func TestSingleUseLinkConcurrentAttemptsStartOne(t *testing.T) {
	s, _ := newTestEnv(t)
	l := newLink(t, s, func(l *PaymentLink) { l.SingleUse = true })
	const n = 8
	cos := make([]*Checkout, n)
	for i := range cos {
		co, err := linkCheckout(t, s, l.ID)
		if err != nil {
			t.Fatal(err)
		}
		cos[i] = co
	}
	var wg sync.WaitGroup
	errs := make([]error, n)
	start := make(chan struct{})
	for i := range cos {
		wg.Add(1)
		go func() {
			defer wg.Done()
			<-start
			a := &Attempt{ID: NewID("att", s.Now()), CheckoutID: cos[i].ID, Provider: "pesapal", Method: "pesapal"}
			errs[i] = s.StartAttempt(context.Background(), a, time.Minute, "test")
		}()
	}
	close(start)
	wg.Wait()
	started := 0
	for i, err := range errs {
		switch {
		case err == nil:
			started++
		case !errors.Is(err, ErrLinkUsed):
			t.Errorf("attempt %d: %v, want nil or ErrLinkUsed", i, err)
		}
	}
	if started != 1 {
		t.Fatalf("%d attempts started on one single-use link, want 1", started)
	}
}

// A single-use link must not end with two paid checkouts. A Pesapal
// customer whose attempt was reported failed can still pay inside the same
// payment page (the state machine allows open -> paid for exactly that);
// meanwhile another browser's checkout of the link started an attempt
// (the failed one no longer holds the link) and was paid. The late success
// is recorded, flagged for review, and pays nothing.
func TestSingleUseLinkFailedAttemptThatLaterSucceedsIsFlaggedNotPaid(t *testing.T) {
	s, _ := newTestEnv(t)
	ctx := context.Background()
	l := newLink(t, s, func(l *PaymentLink) { l.SingleUse = true })
	first, err := linkCheckout(t, s, l.ID)
	if err != nil {
		t.Fatal(err)
	}
	second, err := linkCheckout(t, s, l.ID)
	if err != nil {
		t.Fatal(err)
	}
	a := startAttempt(t, s, first.ID, "pesapal", "pesapal", time.Minute)
	applyResult(t, s, a.ID, failed("declined"))

	b := startAttempt(t, s, second.ID, "pesapal", "pesapal", time.Minute)
	applyResult(t, s, b.ID, succeeded(b, "RCPT-B"))

	// The first customer retries inside the same Pesapal page and pays.
	if out := applyResult(t, s, a.ID, succeeded(a, "RCPT-A")); out != OutcomeReview {
		t.Fatalf("late success on the single-use link: %s, want %s", out, OutcomeReview)
	}
	paid, err := s.LinksPaid(ctx, []string{l.ID})
	if err != nil {
		t.Fatal(err)
	}
	if paid[l.ID].Count != 1 {
		t.Errorf("single-use link has %d paid checkouts, want 1", paid[l.ID].Count)
	}
	got := loadCheckout(t, s, first.ID)
	if got.Status != StatusOpen || !got.Review {
		t.Errorf("first checkout is %s, review %v; want open and flagged for review", got.Status, got.Review)
	}
	var att Attempt
	if err := s.r.First(&att, "id = ?", a.ID).Error; err != nil {
		t.Fatal(err)
	}
	if att.Status != AttemptSucceeded || !att.Review || !strings.Contains(att.ReviewReason, "second payment of single-use link "+l.ID) {
		t.Errorf("late attempt: %s review=%v %q; want succeeded and flagged as a second payment", att.Status, att.Review, att.ReviewReason)
	}
	// Not paid: no transition to paid, so no webhook and no receipt.
	for _, m := range []any{&Event{}, &WebhookDelivery{}, &EmailDelivery{}} {
		q := s.r.Model(m).Where("checkout_id = ?", first.ID)
		if _, ok := m.(*Event); ok {
			q = q.Where("kind = ? AND to_status = ?", EventTransition, StatusPaid)
		}
		var n int64
		if err := q.Count(&n).Error; err != nil {
			t.Fatal(err)
		}
		if n != 0 {
			t.Errorf("%d %T rows of a payment for the refused second payment", n, m)
		}
	}
}

// Money that arrived late for an expired checkout of a single-use link
// (flagged for review, status stays expired) used the link: another
// checkout must not start a second payment, and no new checkout is made.
func TestSingleUseLinkLatePaymentOnExpiredCheckoutStillHoldsTheLink(t *testing.T) {
	s, clk := newTestEnv(t)
	ctx := context.Background()
	l := newLink(t, s, func(l *PaymentLink) { l.SingleUse = true })
	id := NewID("chk", s.Now())
	first := &Checkout{ID: id, Description: "x", Amount: testAmount, Currency: "KES", ExpiresAt: s.Now().Add(15 * time.Minute)}
	if err := s.CreateCheckoutFromLink(ctx, l.ID, first, LinkReferenceSuffix(id), "test"); err != nil {
		t.Fatal(err)
	}
	a := startAttempt(t, s, first.ID, "pesapal", "pesapal", time.Minute)
	clk.Advance(16 * time.Minute)
	// Past its deadline but not yet expired, the first checkout's payment
	// may still go through: no other checkout is made meanwhile.
	if _, err := linkCheckout(t, s, l.ID); !errors.Is(err, ErrLinkBusy) {
		t.Fatalf("checkout while the first's payment is under way: %v, want ErrLinkBusy", err)
	}
	if _, err := s.Expire(ctx, first.ID, "reconciler"); err != nil {
		t.Fatal(err)
	}
	second, err := linkCheckout(t, s, l.ID)
	if err != nil {
		t.Fatalf("second checkout: %v", err)
	}
	// The customer's payment completes late: kept, flagged for review.
	applyResult(t, s, a.ID, succeeded(a, "RCPT-LATE"))

	b := &Attempt{ID: NewID("att", s.Now()), CheckoutID: second.ID, Provider: "pesapal", Method: "pesapal"}
	if err := s.StartAttempt(ctx, b, time.Minute, "test"); !errors.Is(err, ErrLinkUsed) {
		t.Fatalf("a second payment on a single-use link whose money already arrived: %v, want ErrLinkUsed", err)
	}
	if _, err := linkCheckout(t, s, l.ID); !errors.Is(err, ErrLinkUsed) {
		t.Fatalf("a new checkout of a single-use link whose money already arrived: %v, want ErrLinkUsed", err)
	}
	if used, err := s.LinkUsed(ctx, l); err != nil || !used {
		t.Fatalf("LinkUsed = %v, %v; want true", used, err)
	}
}

// A customer who chose Pesapal on a single-use link's checkout and then
// "Cancel and return" leaves a Pesapal attempt that is polled for 72 h.
// That attempt belongs to a final checkout (a late payment of it is
// flagged for review anyway): it must not lock the link.
func TestSingleUseLinkIsNotLockedByThePendingAttemptOfACancelledCheckout(t *testing.T) {
	s, clk := newTestEnv(t)
	ctx := context.Background()
	l := newLink(t, s, func(l *PaymentLink) { l.SingleUse = true })
	first, err := linkCheckout(t, s, l.ID)
	if err != nil {
		t.Fatal(err)
	}
	startAttempt(t, s, first.ID, "pesapal", "pesapal", time.Minute)
	if _, err := s.Cancel(ctx, first.ID, "customer"); err != nil {
		t.Fatal(err)
	}
	clk.Advance(time.Hour)
	second, err := linkCheckout(t, s, l.ID)
	if err != nil {
		t.Fatal(err)
	}
	b := &Attempt{ID: NewID("att", s.Now()), CheckoutID: second.ID, Provider: "pesapal", Method: "pesapal"}
	if err := s.StartAttempt(ctx, b, time.Minute, "test"); err != nil {
		t.Fatalf("paying the single-use link an hour after its first checkout was cancelled: %v", err)
	}
}

// A single-use link makes no checkout while a payment of it is under way
// on another open checkout (ErrLinkBusy: that checkout could not be paid),
// and makes one again once that payment has failed.
func TestSingleUseLinkMakesNoCheckoutWhileAPaymentIsUnderWay(t *testing.T) {
	s, _ := newTestEnv(t)
	l := newLink(t, s, func(l *PaymentLink) { l.SingleUse = true })
	first, err := linkCheckout(t, s, l.ID)
	if err != nil {
		t.Fatal(err)
	}
	// An open checkout without a payment does not hold the link.
	if _, err := linkCheckout(t, s, l.ID); err != nil {
		t.Fatalf("second checkout before any payment: %v", err)
	}
	a := startAttempt(t, s, first.ID, "pesapal", "pesapal", time.Minute)
	before := countLinkCheckouts(t, s, l.ID)
	if _, err := linkCheckout(t, s, l.ID); !errors.Is(err, ErrLinkBusy) {
		t.Fatalf("checkout while a payment is under way: %v, want ErrLinkBusy", err)
	}
	if n := countLinkCheckouts(t, s, l.ID); n != before {
		t.Fatalf("the refused checkout was made: %d checkouts, want %d", n, before)
	}
	applyResult(t, s, a.ID, failed("Request cancelled by user."))
	if _, err := linkCheckout(t, s, l.ID); err != nil {
		t.Fatalf("checkout after the payment failed: %v", err)
	}
}

func countLinkCheckouts(t *testing.T, s *Store, linkID string) int64 {
	t.Helper()
	var n int64
	if err := s.r.Model(&Checkout{}).Where("payment_link_id = ?", linkID).Count(&n).Error; err != nil {
		t.Fatal(err)
	}
	return n
}
