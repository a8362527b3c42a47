package store

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"testing"
	"time"
)

func TestApplyResultSuccessMarksAttemptSucceededAndCheckoutPaid(t *testing.T) {
	s, clk := newTestEnv(t)
	co := newCheckout(t, s, nil)
	started := clk.Now()
	a := startAttempt(t, s, co.ID, "pesapal", "pesapal", 60*time.Second)
	if err := s.AttemptStarted(context.Background(), a.ID, "prov-start", "https://pay.example/x", "{}"); err != nil {
		t.Fatalf("AttemptStarted: %v", err)
	}
	clk.Advance(30 * time.Second)
	paidAt := clk.Now()

	r := succeeded(a, "QJK7XYZ")
	r.ProviderReference = "prov-confirmed"
	if out := applyResult(t, s, a.ID, r); out != OutcomePaid {
		t.Fatalf("outcome = %s, want paid", out)
	}

	wantAttempt := Attempt{
		ID: a.ID, CheckoutID: co.ID, Provider: "pesapal", Method: "pesapal", Status: AttemptSucceeded,
		Amount: testAmount, Currency: "KES", ProviderReference: "prov-confirmed",
		RedirectURL: "https://pay.example/x", Receipt: "QJK7XYZ", Message: "", Phone: "",
		Review: false, ReviewReason: "", NextCheckAt: nil, Checks: 0, CreatedAt: started, UpdatedAt: paidAt,
		PaymentMethod: r.Method, // what the provider said the customer paid with
	}
	assertFields(t, "attempt", loadAttempt(t, s, a.ID), wantAttempt)

	wantCheckout := *co
	wantCheckout.Status = StatusPaid
	wantCheckout.Method = "pesapal"
	wantCheckout.Provider = "pesapal"
	wantCheckout.ProviderReference = "prov-confirmed"
	wantCheckout.Receipt = "QJK7XYZ"
	wantCheckout.UpdatedAt = paidAt
	wantCheckout.PaidAt = ptr(paidAt)
	assertFields(t, "checkout", loadCheckout(t, s, co.ID), wantCheckout)

	evs := eventsOf(t, s, co.ID, "")
	last := evs[len(evs)-2:]
	wantEvents := []Event{
		{ID: last[0].ID, CheckoutID: co.ID, AttemptID: a.ID, Kind: EventStatusQuery, Source: "ipn:test",
			Message: "provider says: paid, receipt QJK7XYZ", Payload: `{"status":"COMPLETED"}`, CreatedAt: paidAt},
		{ID: last[1].ID, CheckoutID: co.ID, AttemptID: a.ID, Kind: EventTransition, Source: "ipn:test",
			FromStatus: "pending", ToStatus: "paid", Message: "payment confirmed by the provider", CreatedAt: paidAt},
	}
	assertFields(t, "last two events", last, wantEvents)
}

func TestApplyResultTwiceChangesNothingTheSecondTime(t *testing.T) {
	s, clk := newTestEnv(t)
	co := newCheckout(t, s, nil)
	a := startAttempt(t, s, co.ID, "pokeapay", "stk", 20*time.Second)
	clk.Advance(10 * time.Second)
	r := succeeded(a, "SBX123")
	if out := applyResult(t, s, a.ID, r); out != OutcomePaid {
		t.Fatalf("first outcome = %s, want paid", out)
	}
	before := takeSnapshot(t, s, co.ID)

	clk.Advance(10 * time.Second)
	if out := applyResult(t, s, a.ID, r); out != OutcomeUnchanged {
		t.Fatalf("second outcome = %s, want unchanged", out)
	}

	after := takeSnapshot(t, s, co.ID)
	assertFields(t, "checkout", after.Checkout, before.Checkout)
	assertFields(t, "attempts", after.Attempts, before.Attempts)
	if got := transitionsOf(t, s, co.ID); !slices.Equal(got, []string{"open->pending", "pending->paid"}) {
		t.Errorf("transitions = %q, want one to paid", got)
	}
	// The second answer is still kept in the timeline, as a status query.
	if n := len(after.Events) - len(before.Events); n != 1 || after.Events[len(after.Events)-1].Kind != EventStatusQuery {
		t.Errorf("the second result added %d events, want one status_query event", n)
	}
}

func TestApplyResultFailedReopensCheckoutWithMessage(t *testing.T) {
	tests := []struct {
		name    string
		message string
		want    string
	}{
		{"provider_message", "The customer entered a wrong PIN", "The customer entered a wrong PIN"},
		{"no_message", "", "The payment did not go through."},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s, clk := newTestEnv(t)
			co := newCheckout(t, s, nil)
			started := clk.Now()
			a := startAttempt(t, s, co.ID, "pokeapay", "stk", 20*time.Second)
			clk.Advance(15 * time.Second)

			if out := applyResult(t, s, a.ID, failed(tt.message)); out != OutcomeFailed {
				t.Fatalf("outcome = %s, want failed", out)
			}

			wantAttempt := *a
			wantAttempt.Status = AttemptFailed
			wantAttempt.Message = tt.want
			wantAttempt.NextCheckAt = nil
			wantAttempt.CreatedAt = started
			wantAttempt.UpdatedAt = clk.Now()
			assertFields(t, "attempt", loadAttempt(t, s, a.ID), wantAttempt)

			wantCheckout := *co
			wantCheckout.Status = StatusOpen
			wantCheckout.Method = "stk"
			wantCheckout.Provider = "pokeapay"
			wantCheckout.Message = tt.want
			wantCheckout.UpdatedAt = clk.Now()
			assertFields(t, "checkout", loadCheckout(t, s, co.ID), wantCheckout)

			evs := eventsOf(t, s, co.ID, EventTransition)
			ev := evs[len(evs)-1]
			assertFields(t, "transition event", ev, Event{ID: ev.ID, CheckoutID: co.ID, AttemptID: a.ID,
				Kind: EventTransition, Source: "ipn:test", FromStatus: "pending", ToStatus: "open",
				Message: tt.want, CreatedAt: clk.Now()})

			// The same failure again says nothing new.
			before := takeSnapshot(t, s, co.ID)
			if out := applyResult(t, s, a.ID, failed(tt.message)); out != OutcomeUnchanged {
				t.Errorf("repeated failure outcome = %s, want unchanged", out)
			}
			after := takeSnapshot(t, s, co.ID)
			assertFields(t, "checkout after repeat", after.Checkout, before.Checkout)
			assertFields(t, "attempts after repeat", after.Attempts, before.Attempts)
		})
	}
}

func TestApplyResultFailedKeepsCheckoutPendingWhileAnotherAttemptIsPending(t *testing.T) {
	s, clk := newTestEnv(t)
	co := newCheckout(t, s, nil)
	first := startAttempt(t, s, co.ID, "pokeapay", "stk", 20*time.Second)
	clk.Advance(time.Second)
	second := startAttempt(t, s, co.ID, "pesapal", "pesapal", 60*time.Second)
	clk.Advance(time.Second)

	if out := applyResult(t, s, first.ID, failed("Request cancelled by user")); out != OutcomeFailed {
		t.Fatalf("outcome = %s, want failed", out)
	}

	got := loadCheckout(t, s, co.ID)
	if got.Status != StatusPending || got.Message != "Request cancelled by user" {
		t.Errorf("checkout status %s message %q, want pending with the failure message", got.Status, got.Message)
	}
	if a := loadAttempt(t, s, first.ID); a.Status != AttemptFailed {
		t.Errorf("failed attempt status = %s, want failed", a.Status)
	}
	if a := loadAttempt(t, s, second.ID); a.Status != AttemptPending {
		t.Errorf("other attempt status = %s, want pending", a.Status)
	}
	if tr := transitionsOf(t, s, co.ID); !slices.Equal(tr, []string{"open->pending"}) {
		t.Errorf("transitions = %q, want only open->pending", tr)
	}

	// When the other attempt fails too, nothing is under way any more.
	if out := applyResult(t, s, second.ID, failed("Declined")); out != OutcomeFailed {
		t.Fatalf("outcome = %s, want failed", out)
	}
	if got := loadCheckout(t, s, co.ID); got.Status != StatusOpen || got.Message != "Declined" {
		t.Errorf("checkout status %s message %q, want open with the last message", got.Status, got.Message)
	}
}

func TestApplyResultMismatchFlagsForReviewAndLeavesPending(t *testing.T) {
	tests := []struct {
		name       string
		change     func(*Result)
		wantReason string
	}{
		{"amount_lower", func(r *Result) { r.Amount = 100_000 },
			"the provider reports 1000.00 paid, the order is for 1500.00"},
		{"amount_higher_by_a_cent", func(r *Result) { r.Amount = 150_001 },
			"the provider reports 1500.01 paid, the order is for 1500.00"},
		{"no_amount", func(r *Result) { r.HasAmount = false },
			"the provider confirmed a payment without an amount"},
		{"fixed_amount_reported_lower", func(r *Result) { r.AmountFixed, r.Amount = true, 100_000 },
			"the provider reports 1000.00 paid, the order is for 1500.00"},
		{"fixed_amount_without_amount_other_currency", func(r *Result) { r.AmountFixed, r.HasAmount, r.Currency = true, false, "USD" },
			`the provider reports currency "USD", the order is in KES`},
		{"currency", func(r *Result) { r.Currency = "USD" },
			`the provider reports currency "USD", the order is in KES`},
		{"reference", func(r *Result) { r.Reference = "att_someoneelse" },
			`the provider reports reference "att_someoneelse", the attempt is `},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s, clk := newTestEnv(t)
			co := newCheckout(t, s, nil)
			a := startAttempt(t, s, co.ID, "pokeapay", "stk", 20*time.Second)
			clk.Advance(20 * time.Second)
			before := takeSnapshot(t, s, co.ID)
			r := succeeded(a, "MISMATCH1")
			tt.change(&r)
			wantReason := tt.wantReason
			if tt.name == "reference" {
				wantReason += a.ID
			}

			if out := applyResult(t, s, a.ID, r); out != OutcomeReview {
				t.Fatalf("outcome = %s, want review", out)
			}

			wantAttempt := before.Attempts[0]
			wantAttempt.Review = true
			wantAttempt.ReviewReason = wantReason
			wantAttempt.UpdatedAt = clk.Now()
			assertFields(t, "attempt", loadAttempt(t, s, a.ID), wantAttempt)

			wantCheckout := before.Checkout
			wantCheckout.Review = true
			wantCheckout.UpdatedAt = clk.Now()
			assertFields(t, "checkout", loadCheckout(t, s, co.ID), wantCheckout)

			if tr := transitionsOf(t, s, co.ID); !slices.Equal(tr, []string{"open->pending"}) {
				t.Errorf("transitions = %q, want no change after open->pending", tr)
			}
			reviews := eventsOf(t, s, co.ID, EventReview)
			if len(reviews) != 1 {
				t.Fatalf("%d review events, want 1", len(reviews))
			}
			assertFields(t, "review event", reviews[0], Event{ID: reviews[0].ID, CheckoutID: co.ID, AttemptID: a.ID,
				Kind: EventReview, Source: "ipn:test", Message: wantReason, CreatedAt: clk.Now()})

			// The provider repeating itself neither pays nor flags twice.
			clk.Advance(time.Minute)
			if out := applyResult(t, s, a.ID, r); out != OutcomeReview {
				t.Errorf("repeated outcome = %s, want review", out)
			}
			if n := len(eventsOf(t, s, co.ID, EventReview)); n != 1 {
				t.Errorf("%d review events after the repeat, want 1", n)
			}
			if got := loadCheckout(t, s, co.ID); got.Status != StatusPending {
				t.Errorf("status after the repeat = %s, want pending", got.Status)
			}
		})
	}
}

func TestApplyResultSuccessForEndedCheckoutKeepsStatusAndFlagsReview(t *testing.T) {
	tests := []struct {
		name       string
		end        func(s *Store, clk *fakeClock, id string) error
		wantStatus Status
	}{
		{"expired", func(s *Store, clk *fakeClock, id string) error {
			clk.Advance(25 * time.Hour)
			_, err := s.Expire(context.Background(), id, "reconciler")
			return err
		}, StatusExpired},
		{"cancelled", func(s *Store, clk *fakeClock, id string) error {
			_, err := s.Cancel(context.Background(), id, "customer")
			return err
		}, StatusCancelled},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s, clk := newTestEnv(t)
			co := newCheckout(t, s, nil)
			a := startAttempt(t, s, co.ID, "pokeapay", "stk", 20*time.Second)
			clk.Advance(time.Minute)
			if err := tt.end(s, clk, co.ID); err != nil {
				t.Fatalf("ending the checkout: %v", err)
			}
			clk.Advance(time.Minute)
			before := takeSnapshot(t, s, co.ID)

			if out := applyResult(t, s, a.ID, succeeded(a, "LATE1")); out != OutcomeReview {
				t.Fatalf("outcome = %s, want review", out)
			}

			wantReason := fmt.Sprintf("the provider confirmed a payment for a checkout that is %s", tt.wantStatus)
			wantAttempt := before.Attempts[0]
			wantAttempt.Status = AttemptSucceeded
			wantAttempt.Receipt = "LATE1"
			wantAttempt.PaymentMethod = a.Method
			wantAttempt.ProviderReference = "prov-" + a.ID
			wantAttempt.Review = true
			wantAttempt.ReviewReason = wantReason
			wantAttempt.UpdatedAt = clk.Now()
			wantAttempt.NextCheckAt = nil // settled: no more polling
			assertFields(t, "attempt", loadAttempt(t, s, a.ID), wantAttempt)

			wantCheckout := before.Checkout
			wantCheckout.Review = true
			wantCheckout.UpdatedAt = clk.Now()
			assertFields(t, "checkout", loadCheckout(t, s, co.ID), wantCheckout)

			if tr := transitionsOf(t, s, co.ID); !slices.Equal(tr, []string{"open->pending", "pending->" + string(tt.wantStatus)}) {
				t.Errorf("transitions = %q, want nothing after the end", tr)
			}
			if reviews := eventsOf(t, s, co.ID, EventReview); len(reviews) != 1 || reviews[0].Message != wantReason {
				t.Errorf("review events = %+v, want one saying %q", reviews, wantReason)
			}
		})
	}
}

func TestSecondSuccessfulAttemptOnPaidCheckoutIsFlagged(t *testing.T) {
	s, clk := newTestEnv(t)
	co := newCheckout(t, s, nil)
	first := startAttempt(t, s, co.ID, "pokeapay", "stk", 20*time.Second)
	clk.Advance(time.Second)
	second := startAttempt(t, s, co.ID, "pesapal", "pesapal", 60*time.Second)
	clk.Advance(time.Second)
	if out := applyResult(t, s, first.ID, succeeded(first, "FIRST1")); out != OutcomePaid {
		t.Fatalf("first outcome = %s, want paid", out)
	}
	clk.Advance(time.Second)
	before := takeSnapshot(t, s, co.ID)

	if out := applyResult(t, s, second.ID, succeeded(second, "SECOND2")); out != OutcomeReview {
		t.Fatalf("second outcome = %s, want review", out)
	}

	wantReason := "the provider confirmed a second payment for a checkout already paid"
	got := loadAttempt(t, s, second.ID)
	if got.Status != AttemptSucceeded || got.Receipt != "SECOND2" || !got.Review || got.ReviewReason != wantReason {
		t.Errorf("second attempt = %s receipt %q review %v %q; want succeeded, SECOND2, flagged %q",
			got.Status, got.Receipt, got.Review, got.ReviewReason, wantReason)
	}
	wantCheckout := before.Checkout
	wantCheckout.Review = true
	wantCheckout.UpdatedAt = clk.Now()
	assertFields(t, "checkout (still paid by the first attempt)", loadCheckout(t, s, co.ID), wantCheckout)
	if tr := transitionsOf(t, s, co.ID); !slices.Equal(tr, []string{"open->pending", "pending->paid"}) {
		t.Errorf("transitions = %q, want one to paid", tr)
	}
}

func TestFailedAttemptLaterConfirmedSucceededPaysOpenCheckout(t *testing.T) {
	s, clk := newTestEnv(t)
	co := newCheckout(t, s, nil)
	a := startAttempt(t, s, co.ID, "pesapal", "pesapal", 60*time.Second)
	clk.Advance(time.Minute)
	if out := applyResult(t, s, a.ID, failed("Insufficient funds")); out != OutcomeFailed {
		t.Fatalf("failure outcome = %s, want failed", out)
	}
	clk.Advance(time.Minute)

	if out := applyResult(t, s, a.ID, succeeded(a, "RETRY9")); out != OutcomePaid {
		t.Fatalf("success outcome = %s, want paid", out)
	}

	att := loadAttempt(t, s, a.ID)
	if att.Status != AttemptSucceeded || att.Receipt != "RETRY9" || att.Message != "" {
		t.Errorf("attempt = %s receipt %q message %q; want succeeded, RETRY9, no message", att.Status, att.Receipt, att.Message)
	}
	got := loadCheckout(t, s, co.ID)
	if got.Status != StatusPaid || got.Receipt != "RETRY9" || got.Message != "" || got.PaidAt == nil || !got.PaidAt.Equal(clk.Now()) {
		t.Errorf("checkout = %s receipt %q message %q paid_at %v; want paid, RETRY9, no message, %s",
			got.Status, got.Receipt, got.Message, got.PaidAt, clk.Now())
	}
	if tr := transitionsOf(t, s, co.ID); !slices.Equal(tr, []string{"open->pending", "pending->open", "open->paid"}) {
		t.Errorf("transitions = %q", tr)
	}
}

func TestReversedMovesOnlyPaidToReversed(t *testing.T) {
	tests := []struct {
		name string
		// setup returns the attempt the reversal is for.
		setup       func(t *testing.T, s *Store, co *Checkout) *Attempt
		wantOutcome Outcome
		wantStatus  Status
		transitions []string
	}{
		{"paid_becomes_reversed", func(t *testing.T, s *Store, co *Checkout) *Attempt {
			a := startAttempt(t, s, co.ID, "pesapal", "pesapal", time.Minute)
			applyResult(t, s, a.ID, succeeded(a, "R1"))
			return a
		}, OutcomeReversed, StatusReversed, []string{"open->pending", "pending->paid", "paid->reversed"}},
		{"pending_stays_pending", func(t *testing.T, s *Store, co *Checkout) *Attempt {
			return startAttempt(t, s, co.ID, "pesapal", "pesapal", time.Minute)
		}, OutcomeUnchanged, StatusPending, []string{"open->pending"}},
		{"open_after_failure_stays_open", func(t *testing.T, s *Store, co *Checkout) *Attempt {
			a := startAttempt(t, s, co.ID, "pesapal", "pesapal", time.Minute)
			applyResult(t, s, a.ID, failed("Declined"))
			return a
		}, OutcomeUnchanged, StatusOpen, []string{"open->pending", "pending->open"}},
		{"cancelled_stays_cancelled", func(t *testing.T, s *Store, co *Checkout) *Attempt {
			a := startAttempt(t, s, co.ID, "pesapal", "pesapal", time.Minute)
			if _, err := s.Cancel(context.Background(), co.ID, "customer"); err != nil {
				t.Fatal(err)
			}
			applyResult(t, s, a.ID, succeeded(a, "R1"))
			return a
		}, OutcomeUnchanged, StatusCancelled, []string{"open->pending", "pending->cancelled"}},
		{"reversed_twice_stays_reversed", func(t *testing.T, s *Store, co *Checkout) *Attempt {
			a := startAttempt(t, s, co.ID, "pesapal", "pesapal", time.Minute)
			applyResult(t, s, a.ID, succeeded(a, "R1"))
			applyResult(t, s, a.ID, reversed(a))
			return a
		}, OutcomeUnchanged, StatusReversed, []string{"open->pending", "pending->paid", "paid->reversed"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s, clk := newTestEnv(t)
			co := newCheckout(t, s, nil)
			a := tt.setup(t, s, co)
			clk.Advance(time.Hour)
			before := takeSnapshot(t, s, co.ID)

			if out := applyResult(t, s, a.ID, reversed(a)); out != tt.wantOutcome {
				t.Errorf("outcome = %s, want %s", out, tt.wantOutcome)
			}

			after := takeSnapshot(t, s, co.ID)
			wantCheckout := before.Checkout
			if tt.wantStatus != before.Checkout.Status {
				wantCheckout.Status = tt.wantStatus
				wantCheckout.UpdatedAt = clk.Now()
			}
			assertFields(t, "checkout", after.Checkout, wantCheckout)
			assertFields(t, "attempts", after.Attempts, before.Attempts)
			if tr := transitionsOf(t, s, co.ID); !slices.Equal(tr, tt.transitions) {
				t.Errorf("transitions = %q, want %q", tr, tt.transitions)
			}
		})
	}
}

// A provider that returns the money of a double payment reverses the
// second attempt; the checkout is still paid by the first.
func TestReversalOfSecondPaymentKeepsCheckoutPaidAndFlagsIt(t *testing.T) {
	s, clk := newTestEnv(t)
	co := newCheckout(t, s, nil)
	first := startAttempt(t, s, co.ID, "pokeapay", "stk", 20*time.Second)
	second := startAttempt(t, s, co.ID, "pesapal", "pesapal", time.Minute)
	applyResult(t, s, first.ID, succeeded(first, "FIRST1"))
	applyResult(t, s, second.ID, succeeded(second, "SECOND2"))
	clk.Advance(time.Hour)

	if out := applyResult(t, s, second.ID, reversed(second)); out != OutcomeReview {
		t.Errorf("outcome = %s, want review", out)
	}

	got := loadCheckout(t, s, co.ID)
	if got.Status != StatusPaid || got.Receipt != "FIRST1" || !got.Review {
		t.Errorf("checkout = %s receipt %q review %v; want paid by FIRST1 and flagged", got.Status, got.Receipt, got.Review)
	}
	wantReason := "the provider reversed this payment; the checkout was paid by attempt " + first.ID + " and stays paid"
	if a := loadAttempt(t, s, second.ID); !a.Review || a.ReviewReason != wantReason {
		t.Errorf("second attempt review %v %q, want flagged %q", a.Review, a.ReviewReason, wantReason)
	}
	if tr := transitionsOf(t, s, co.ID); !slices.Equal(tr, []string{"open->pending", "pending->paid"}) {
		t.Errorf("transitions = %q, want no reversal", tr)
	}

	// Reversing the payment that did pay it still reverses the checkout.
	if out := applyResult(t, s, first.ID, reversed(first)); out != OutcomeReversed {
		t.Errorf("outcome for the paying attempt = %s, want reversed", out)
	}
	if got := loadCheckout(t, s, co.ID); got.Status != StatusReversed {
		t.Errorf("status = %s, want reversed", got.Status)
	}
}

func TestApplyResultStillPendingChangesNothing(t *testing.T) {
	s, clk := newTestEnv(t)
	co := newCheckout(t, s, nil)
	a := startAttempt(t, s, co.ID, "pokeapay", "stk", 20*time.Second)
	clk.Advance(time.Minute)
	before := takeSnapshot(t, s, co.ID)

	if out := applyResult(t, s, a.ID, Result{Source: "reconciler", Payload: `{"status":"PENDING"}`}); out != OutcomeUnchanged {
		t.Errorf("outcome = %s, want unchanged", out)
	}
	after := takeSnapshot(t, s, co.ID)
	assertFields(t, "checkout", after.Checkout, before.Checkout)
	assertFields(t, "attempts", after.Attempts, before.Attempts)
	last := after.Events[len(after.Events)-1]
	assertFields(t, "status query event", last, Event{ID: last.ID, CheckoutID: co.ID, AttemptID: a.ID,
		Kind: EventStatusQuery, Source: "reconciler", Message: "provider says: pending",
		Payload: `{"status":"PENDING"}`, CreatedAt: clk.Now()})
}

func TestApplyResultForUnknownAttemptIsNotFound(t *testing.T) {
	s, _ := newTestEnv(t)
	out, err := s.ApplyResult(context.Background(), "att_missing", Result{Status: AttemptSucceeded})
	if !errors.Is(err, ErrNotFound) || out != "" {
		t.Errorf("ApplyResult = %q, %v; want \"\", ErrNotFound", out, err)
	}
}

// TestApplyResultStoresTheNotificationInTheSameTransaction: the
// notification that made us ask is written with the status query, the
// transition and the outbox row, or not at all when the change is refused.
func TestApplyResultStoresTheNotificationInTheSameTransaction(t *testing.T) {
	ctx := context.Background()
	bare, clk := newTestEnv(t)
	full := bare.WithWebhookPayload(recordingPayload)
	if err := bare.SetMerchantWebhook(ctx, testMerchantID, "https://shop.example/hooks", "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"); err != nil {
		t.Fatal(err)
	}
	co := newCheckout(t, full, nil)
	a := startAttempt(t, full, co.ID, "pesapal", "pesapal", time.Minute)
	clk.Advance(10 * time.Second)
	before := eventsOf(t, full, co.ID, "")
	r := succeeded(a, "QJK7XYZ")
	r.Notification = &Event{CheckoutID: co.ID, AttemptID: a.ID, Kind: EventNotification, Source: "ipn:test",
		Message: "Pesapal ipnchange for tracking id T-1", Payload: `{"OrderTrackingId":"T-1"}`}

	// A store that cannot write the outbox row refuses the change: the
	// notification goes with it.
	if _, err := bare.ApplyResult(ctx, a.ID, r); !errors.Is(err, ErrNoWebhookPayload) {
		t.Fatalf("ApplyResult without a payload builder: %v, want ErrNoWebhookPayload", err)
	}
	if evs := eventsOf(t, full, co.ID, ""); len(evs) != len(before) {
		t.Fatalf("a refused change left %d new events", len(evs)-len(before))
	}
	if got := loadCheckout(t, full, co.ID).Status; got != StatusPending {
		t.Fatalf("status after a refused change %s, want pending", got)
	}

	if out := applyResult(t, full, a.ID, r); out != OutcomePaid {
		t.Fatalf("outcome %s, want paid", out)
	}
	evs := eventsOf(t, full, co.ID, "")
	if len(evs) != len(before)+3 {
		t.Fatalf("%d new events, want 3 (notification, status query, transition)", len(evs)-len(before))
	}
	got := evs[len(before):]
	assertFields(t, "new events", got, []Event{
		{ID: got[0].ID, CheckoutID: co.ID, AttemptID: a.ID, Kind: EventNotification, Source: "ipn:test",
			Message: "Pesapal ipnchange for tracking id T-1", Payload: `{"OrderTrackingId":"T-1"}`, CreatedAt: clk.Now()},
		{ID: got[1].ID, CheckoutID: co.ID, AttemptID: a.ID, Kind: EventStatusQuery, Source: "ipn:test",
			Message: "provider says: paid, receipt QJK7XYZ", Payload: `{"status":"COMPLETED"}`, CreatedAt: clk.Now()},
		{ID: got[2].ID, CheckoutID: co.ID, AttemptID: a.ID, Kind: EventTransition, Source: "ipn:test",
			FromStatus: "pending", ToStatus: "paid", Message: "payment confirmed by the provider", CreatedAt: clk.Now()},
	})
	if !(got[0].ID < got[1].ID && got[1].ID < got[2].ID) {
		t.Errorf("event ids %d, %d, %d: want the notification first", got[0].ID, got[1].ID, got[2].ID)
	}
	ds := deliveriesOf(t, full, co.ID)
	if len(ds) != 1 || ds[0].EventType != "checkout.paid" {
		t.Fatalf("deliveries %+v, want one checkout.paid", ds)
	}
	if r.Notification.ID != 0 {
		t.Errorf("the caller's notification was written to (id %d): a retried transaction must insert it afresh", r.Notification.ID)
	}
}
