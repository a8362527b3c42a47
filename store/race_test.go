package store

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sync"
	"testing"
	"time"

	"checkout/store/storetest"
)

// These tests race transactions that read, check and then write. On SQLite
// every write transaction holds the database from BEGIN, so they pass by
// construction there; on PostgreSQL (CHECKOUT_TEST_DB=postgres, READ
// COMMITTED) they pass only because each such transaction locks what its
// check depends on. Every test goes through two Store instances on one
// database, as two app processes would.

// twoProcesses opens two stores on one new database with a shared fake
// clock and the test merchant.
func twoProcesses(t *testing.T) (*Store, *Store, *fakeClock) {
	t.Helper()
	clk := newFakeClock(t0)
	dsn := storetest.DSN(t)
	s1 := openTestStoreAt(t, dsn, clk.Now)
	s2 := openTestStoreAt(t, dsn, clk.Now)
	if _, err := s1.EnsureMerchant(context.Background(), testMerchantID, "Test shop", testAPIKey); err != nil {
		t.Fatal(err)
	}
	return s1, s2, clk
}

// atOnce runs fn(i) for i in [0, n) on n goroutines released together and
// returns their errors, by i.
func atOnce(n int, fn func(i int) error) []error {
	errs := make([]error, n)
	start := make(chan struct{})
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() {
			<-start
			errs[i] = fn(i)
		})
	}
	close(start)
	wg.Wait()
	return errs
}

func noErrors(t *testing.T, what string, errs []error) {
	t.Helper()
	for i, err := range errs {
		if err != nil {
			t.Errorf("%s #%d: %v", what, i, err)
		}
	}
}

// pick alternates between the two stores.
func pick(i int, s1, s2 *Store) *Store {
	if i%2 == 0 {
		return s1
	}
	return s2
}

// TestConcurrentPromptsForOneCheckoutStartOneAttempt: 20 customers' taps
// (or one customer's double submits across two processes) start an M-Pesa
// prompt for the same checkout at once. Exactly one attempt is started and
// the other 19 are handed that one. The checkout is already pending (a card
// payment is under way), so no status change guards the insert: only the
// check-then-insert being one step does.
func TestConcurrentPromptsForOneCheckoutStartOneAttempt(t *testing.T) {
	s1, s2, _ := twoProcesses(t)
	co := newCheckout(t, s1, nil)
	startAttempt(t, s1, co.ID, "pesapal", "card", time.Minute)

	const n = 20
	ids := make([]string, n)
	errs := atOnce(n, func(i int) error {
		s := pick(i, s1, s2)
		a := &Attempt{ID: NewID("att", s.Now()), CheckoutID: co.ID, Provider: "pokeapay", Method: "stk",
			Phone: "254700000001"}
		got, err := s.StartExclusiveAttempt(context.Background(), a, 20*time.Second, 2*time.Minute, "customer")
		if got != nil {
			a = got
		}
		ids[i] = a.ID
		return err
	})
	noErrors(t, "StartExclusiveAttempt", errs)

	as, err := s1.Attempts(context.Background(), co.ID)
	if err != nil {
		t.Fatal(err)
	}
	var stk []string
	for _, a := range as {
		if a.Method == "stk" {
			stk = append(stk, a.ID)
		}
	}
	if len(stk) != 1 {
		t.Fatalf("%d stk attempts stored, want 1: %v", len(stk), stk)
	}
	for i, id := range ids {
		if id != stk[0] {
			t.Errorf("caller %d was handed attempt %s, want the one stored (%s)", i, id, stk[0])
		}
	}
	if n := len(eventsOf(t, s1, co.ID, EventAttempt)); n != 1 {
		t.Errorf("%d attempt events, want 1 (for the one prompt)", n)
	}
}

// TestConcurrentPromptsToOnePhoneKeepItsLimit: 12 checkouts each start a
// prompt to the same phone at once, with a guard that allows 3 per phone.
// Exactly 3 start; the other 9 get the guard's refusal.
func TestConcurrentPromptsToOnePhoneKeepItsLimit(t *testing.T) {
	s1, s2, clk := twoProcesses(t)
	const n, limit = 12, 3
	cos := make([]*Checkout, n)
	for i := range cos {
		cos[i] = newCheckout(t, s1, nil)
	}
	errLimit := errors.New("too many prompts to this phone")
	guard := func(recent []Attempt) error {
		if len(recent) >= limit {
			return errLimit
		}
		return nil
	}
	since := clk.Now().Add(-time.Hour)
	errs := atOnce(n, func(i int) error {
		s := pick(i, s1, s2)
		a := &Attempt{ID: NewID("att", s.Now()), CheckoutID: cos[i].ID, Provider: "pokeapay", Method: "stk",
			Phone: "254700000002"}
		_, err := s.StartPromptAttempt(context.Background(), a, 20*time.Second, 2*time.Minute, "customer", since, guard)
		return err
	})
	started, refused := 0, 0
	for i, err := range errs {
		switch {
		case err == nil:
			started++
		case errors.Is(err, errLimit):
			refused++
		default:
			t.Errorf("StartPromptAttempt #%d: %v", i, err)
		}
	}
	if started != limit || refused != n-limit {
		t.Errorf("%d prompts started and %d refused, want %d and %d", started, refused, limit, n-limit)
	}
	var stored int
	for _, co := range cos {
		as, err := s1.Attempts(context.Background(), co.ID)
		if err != nil {
			t.Fatal(err)
		}
		stored += len(as)
	}
	if stored != limit {
		t.Errorf("%d attempts stored for the phone, want %d", stored, limit)
	}
}

// TestTwoAttemptsFailingAtOnceReopenTheCheckout: a checkout has two
// payments under way and both fail at the same moment (two IPNs in two
// processes). Each failure checks whether the other attempt is still
// pending before deciding to reopen; whichever commits second must see the
// first, so the checkout ends open, moved there once. Repeated, since one
// round may not overlap.
func TestTwoAttemptsFailingAtOnceReopenTheCheckout(t *testing.T) {
	s1, s2, _ := twoProcesses(t)
	for round := range 10 {
		co := newCheckout(t, s1, nil)
		a := startAttempt(t, s1, co.ID, "pesapal", "card", time.Minute)
		b := startAttempt(t, s1, co.ID, "pokeapay", "stk", time.Minute)
		ids := []string{a.ID, b.ID}
		errs := atOnce(2, func(i int) error {
			_, err := pick(i, s1, s2).ApplyResult(context.Background(), ids[i], failed("declined"))
			return err
		})
		noErrors(t, "ApplyResult", errs)
		got := loadCheckout(t, s1, co.ID)
		want := []string{"open->pending", "pending->open"}
		if tr := transitionsOf(t, s1, co.ID); got.Status != StatusOpen || !slices.Equal(tr, want) {
			t.Fatalf("round %d: status %s, transitions %q; want open after %q", round, got.Status, tr, want)
		}
	}
}

// TestCancelAndPaymentAtOnceEndInOneFinalStatus: the customer cancels while
// the provider confirms the payment. Exactly one of them ends the checkout;
// the other changes no status (a payment that lost is flagged for review).
func TestCancelAndPaymentAtOnceEndInOneFinalStatus(t *testing.T) {
	s1, s2, _ := twoProcesses(t)
	for round := range 10 {
		co := newCheckout(t, s1, nil)
		a := startAttempt(t, s1, co.ID, "pokeapay", "stk", time.Minute)
		errs := atOnce(2, func(i int) error {
			if i == 0 {
				_, err := s1.Cancel(context.Background(), co.ID, "customer")
				if errors.Is(err, ErrTransition) {
					return nil // the payment came first
				}
				return err
			}
			_, err := s2.ApplyResult(context.Background(), a.ID, succeeded(a, fmt.Sprintf("RACE%d", round)))
			return err
		})
		noErrors(t, "cancel or pay", errs)
		got := loadCheckout(t, s1, co.ID)
		tr := transitionsOf(t, s1, co.ID)
		switch got.Status {
		case StatusPaid:
			if !slices.Equal(tr, []string{"open->pending", "pending->paid"}) {
				t.Errorf("round %d: paid after %q, want one change to paid", round, tr)
			}
		case StatusCancelled:
			if !slices.Equal(tr, []string{"open->pending", "pending->cancelled"}) || !got.Review {
				t.Errorf("round %d: cancelled after %q (review %v), want one change to cancelled and the late payment flagged",
					round, tr, got.Review)
			}
		default:
			t.Errorf("round %d: status %s after %q, want paid or cancelled", round, got.Status, tr)
		}
	}
}

// TestAttemptStartedAndItsResultAtOnceBothApply: the provider's answer to
// starting a payment and its confirmation arrive together. The two
// transactions touch the attempt and its checkout; taken in the same order
// by both, neither waits for the other forever, and both apply.
func TestAttemptStartedAndItsResultAtOnceBothApply(t *testing.T) {
	s1, s2, _ := twoProcesses(t)
	for round := range 10 {
		co := newCheckout(t, s1, nil)
		a := startAttempt(t, s1, co.ID, "pokeapay", "stk", time.Minute)
		errs := atOnce(2, func(i int) error {
			if i == 0 {
				return s1.AttemptStarted(context.Background(), a.ID, "prov-"+a.ID, "", "{}")
			}
			_, err := s2.ApplyResult(context.Background(), a.ID, succeeded(a, fmt.Sprintf("BOTH%d", round)))
			return err
		})
		noErrors(t, "AttemptStarted or ApplyResult", errs)
		if got := loadAttempt(t, s1, a.ID); got.Status != AttemptSucceeded || got.ProviderReference != "prov-"+a.ID {
			t.Errorf("round %d: attempt %s with reference %q, want succeeded with prov-%s", round, got.Status,
				got.ProviderReference, a.ID)
		}
	}
}

// TestProcessesStartingTogetherEnsureOneMerchant: every app process makes
// sure the configured merchant exists at start. Started together, they all
// succeed and one of them creates it.
func TestProcessesStartingTogetherEnsureOneMerchant(t *testing.T) {
	clk := newFakeClock(t0)
	dsn := storetest.DSN(t)
	s1 := openTestStoreAt(t, dsn, clk.Now)
	s2 := openTestStoreAt(t, dsn, clk.Now)
	const n = 8
	created := make([]bool, n)
	errs := atOnce(n, func(i int) (err error) {
		created[i], err = pick(i, s1, s2).EnsureMerchant(context.Background(), testMerchantID, "Test shop", testAPIKey)
		return err
	})
	noErrors(t, "EnsureMerchant", errs)
	if c := len(slices.DeleteFunc(created, func(b bool) bool { return !b })); c != 1 {
		t.Errorf("%d of %d calls created the merchant, want 1", c, n)
	}
}

// TestConcurrentWebhookClaimsOneWins: workers in two processes that read
// the same due delivery all try to claim it; one gets it.
func TestConcurrentWebhookClaimsOneWins(t *testing.T) {
	b1, b2, clk := twoProcesses(t)
	s1, s2 := b1.WithWebhookPayload(recordingPayload), b2.WithWebhookPayload(recordingPayload)
	ctx := context.Background()
	if err := s1.SetMerchantWebhook(ctx, testMerchantID, "https://shop.example/hooks", "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"); err != nil {
		t.Fatal(err)
	}
	co := newCheckout(t, s1, nil)
	if _, err := s1.Cancel(ctx, co.ID, "customer"); err != nil {
		t.Fatal(err)
	}
	due, err := s1.DueWebhookDeliveries(ctx, clk.Now(), 10)
	if err != nil || len(due) != 1 {
		t.Fatalf("DueWebhookDeliveries = %d, %v; want one", len(due), err)
	}
	const n = 20
	won := make([]bool, n)
	errs := atOnce(n, func(i int) (err error) {
		d := due[0] // each worker its own copy, as each read it
		won[i], err = pick(i, s1, s2).ClaimWebhookDelivery(ctx, &d, clk.Now(), clk.Now().Add(time.Minute))
		return err
	})
	noErrors(t, "ClaimWebhookDelivery", errs)
	if w := len(slices.DeleteFunc(won, func(b bool) bool { return !b })); w != 1 {
		t.Errorf("%d of %d claims won, want 1", w, n)
	}
}

// TestProcessesClaimingOneSettingAgreeOnTheFirst: processes starting
// together each claim the database's mode with their own value; all of
// them get back the one value stored.
func TestProcessesClaimingOneSettingAgreeOnTheFirst(t *testing.T) {
	s1, s2, _ := twoProcesses(t)
	const n = 10
	got := make([]string, n)
	errs := atOnce(n, func(i int) (err error) {
		got[i], err = pick(i, s1, s2).ClaimSetting(context.Background(), "mode", fmt.Sprintf("value-%d", i))
		return err
	})
	noErrors(t, "ClaimSetting", errs)
	stored, err := s1.Setting(context.Background(), "mode")
	if err != nil {
		t.Fatal(err)
	}
	for i, v := range got {
		if v != stored {
			t.Errorf("claim %d got %q, the stored value is %q", i, v, stored)
		}
	}
}

// TestConcurrentCheckoutsWithOneReferenceCreateOne: a merchant's retries
// that carry no idempotency key race with one reference; one checkout is
// created and the others hear ErrDuplicate.
func TestConcurrentCheckoutsWithOneReferenceCreateOne(t *testing.T) {
	s1, s2, _ := twoProcesses(t)
	const n = 10
	errs := atOnce(n, func(i int) error {
		s := pick(i, s1, s2)
		return s.CreateCheckout(context.Background(), &Checkout{ID: NewID("chk", s.Now()), MerchantID: testMerchantID,
			Reference: "ord-same", Description: "d", Amount: testAmount, Currency: "KES", ExpiresAt: s.Now().Add(time.Hour)}, "api")
	})
	created := 0
	for i, err := range errs {
		switch {
		case err == nil:
			created++
		case !errors.Is(err, ErrDuplicate):
			t.Errorf("CreateCheckout #%d: %v, want nil or ErrDuplicate", i, err)
		}
	}
	if created != 1 {
		t.Errorf("%d checkouts created, want 1", created)
	}
}

// TestConcurrentUnknownNotificationsAreAllCounted: a flood of notifications
// for references we never issued, in two processes, loses no count.
func TestConcurrentUnknownNotificationsAreAllCounted(t *testing.T) {
	s1, s2, clk := twoProcesses(t)
	const n = 30
	noErrors(t, "CountUnknownNotification", atOnce(n, func(i int) error {
		return pick(i, s1, s2).CountUnknownNotification(context.Background(), "ipn:pesapal")
	}))
	if got, err := s1.UnknownNotifications(context.Background(), clk.Now().Add(-time.Hour)); err != nil || got != n {
		t.Errorf("UnknownNotifications = %d, %v; want %d", got, err, n)
	}
}
