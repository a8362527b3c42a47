package payments

import (
	"errors"
	"strings"
	"testing"
	"time"

	"checkout/gateway"
	"checkout/store"
)

// Each test names a defect found in review of refunds and payouts.

// A refund by hand (a PokeaPay card payment) above the approval limit must
// wait for a second admin like every other refund above it: today it is
// created straight in attention, and the admin who asked can mark it
// refunded alone (refund.succeeded and checkout.refunded go out with no
// second admin ever involved).
func TestManualRefundAboveTheLimitNeedsASecondAdmin(t *testing.T) {
	e := newTransferEnv(t, &fakePayouts{name: "pokeapay", noStatus: true}, 50_000) // KES 500
	co := e.paid(100_000, ProviderPokeaPay, MethodPokeaPay, "Card")
	r, err := e.svc.CreateRefund(e.ctx, e.m, co.ID, RefundRequest{}, "admin:ann@example.com")
	if err != nil {
		t.Fatal(err)
	}
	if r.Stage != store.StageApproval {
		t.Errorf("manual refund of KES 1,000 above a KES 500 limit starts in %q, want %q", r.Stage, store.StageApproval)
	}
	if err := e.svc.Resolve(e.ctx, "refund", r.ID, "ann@example.com", true, "done by hand"); err == nil {
		got := e.refund(r.ID)
		t.Fatalf("the requester alone marked a refund above the limit %s (events %v); want it refused until another admin approves",
			got.Status, e.events())
	}
}

// A PokeaPay B2C failure callback cannot be verified (no status call, no
// known hash). Acting on it as a verified failure gives the refund's
// reservation back, so the merchant's integration (or anyone with the API
// key) can at once ask for the same refund again, which is queued and sent
// with no person and no statement check: a forged or premature "failed"
// pays the customer twice. The issue: "a forged 'failed' must not be able
// to make us pay twice; a resend is a new payout that a person asks for
// after checking the provider's statement".
func TestUnverifiedPokeaPayFailureCannotLeadToASecondSend(t *testing.T) {
	pp := &fakePayouts{name: "pokeapay", noStatus: true}
	e := newTransferEnv(t, pp, 0)
	co := e.paid(100_000, ProviderPokeaPay, MethodSTK, "M-Pesa")
	r, err := e.svc.CreateRefund(e.ctx, e.m, co.ID, RefundRequest{}, "api")
	if err != nil {
		t.Fatal(err)
	}
	e.process()
	ref := e.refund(r.ID).ProviderReference
	// Unverifiable: anyone who learns the reference can post this.
	e.callback("pokeapay", `{"reference":"`+ref+`","status":"failed"}`)
	// The merchant's integration retries on refund.failed, over the API.
	r2, err := e.svc.CreateRefund(e.ctx, e.m, co.ID, RefundRequest{}, "api")
	if err == nil {
		e.process()
	}
	if n := len(pp.sent()); n != 1 {
		t.Fatalf("after an unverified failure callback and an API retry (%v, refund %v): %d B2C sends of one "+
			"KES 1,000 payment, want 1", err, r2 != nil, n)
	}
}

// A result that says money went out, for a payout we already ended failed
// (an unverified failure callback first, or a person's "failed" after 24 h
// of silence), is dropped silently: the timeline gets a line, but nothing
// asks a person to look, while the refund reads failed with its amount
// released. Money the provider paid out is then invisible ("nothing is
// lost"; late payments are flagged for review for the same reason).
func TestSuccessAfterAFailedVerdictIsFlaggedForAPerson(t *testing.T) {
	pp := &fakePayouts{name: "pokeapay", noStatus: true}
	e := newTransferEnv(t, pp, 0)
	co := e.paid(100_000, ProviderPokeaPay, MethodSTK, "M-Pesa")
	r, err := e.svc.CreateRefund(e.ctx, e.m, co.ID, RefundRequest{}, "api")
	if err != nil {
		t.Fatal(err)
	}
	e.process()
	ref := e.refund(r.ID).ProviderReference
	e.callback("pokeapay", `{"reference":"`+ref+`","status":"failed"}`)
	e.clk.add(time.Hour)
	e.callback("pokeapay", `{"reference":"`+ref+`","status":"succeeded","amount":100000,"receipt":"QLD82TMWJE"}`)
	refunds, payouts, err := e.svc.TransfersWaiting(e.ctx)
	if err != nil {
		t.Fatal(err)
	}
	got := e.refund(r.ID)
	c, _ := e.st.Checkout(e.ctx, co.ID)
	if refunds+payouts == 0 {
		t.Fatalf("refund %s/%s %q, reserved %d, after PokeaPay reported it paid: nothing waits for a person, "+
			"want it flagged", got.Status, got.Stage, got.Message, c.RefundReserved)
	}
}

// A payout callback naming a reference we never issued is kept whole in
// transfer_events (and logged each time), where design.md's limits say a
// notification for a reference we never issued is "not at all" stored, "a
// counter instead" (as the STK and IPN routes do with
// CountUnknownNotification). Anyone can post these to the public callback
// URLs.
func TestPayoutCallbackForAnUnknownReferenceKeepsOnlyACounter(t *testing.T) {
	e := newTransferEnv(t, &fakePayouts{name: "pokeapay", noStatus: true}, 0)
	body := `{"reference":"999999999999","status":"succeeded","amount":100,"receipt":"` + strings.Repeat("X", 4000) + `"}`
	if err := e.svc.PayoutCallback(e.ctx, "pokeapay", "application/json", []byte(body)); err != nil {
		t.Fatal(err)
	}
	evs, err := e.svc.TransferEvents(e.ctx, "callback:pokeapay")
	if err != nil {
		t.Fatal(err)
	}
	for _, ev := range evs {
		if ev.Payload != "" {
			t.Errorf("stored a %d-byte payload for a reference we never issued", len(ev.Payload))
		}
	}
	n, err := e.svc.UnknownNotifications(e.ctx)
	if err != nil {
		t.Fatal(err)
	}
	if n != 1 {
		t.Errorf("unknown-notification counter %d, want 1", n)
	}
}

// Approve compares the approver with requested_by byte for byte, after
// taking off "admin:" only: the same admin spelled with another case (admin
// emails are kept lower-case, so it is the same account) approves their own
// request.
func TestSelfApprovalIsRefusedWhateverTheCase(t *testing.T) {
	pp := &fakePayouts{name: "pochipay"}
	e := newTransferEnv(t, pp, 100_000)
	p, err := e.svc.CreatePayout(e.ctx, e.m, PayoutRequest{Amount: "2000", Phone: "254712345678"}, "admin:ann@example.com")
	if err != nil {
		t.Fatal(err)
	}
	for _, ann := range []string{"Ann@Example.com", " ann@example.com", "admin:ANN@example.com"} {
		if err := e.svc.Approve(e.ctx, "payout", p.ID, ann); !errors.Is(err, ErrSelfApproval) {
			t.Fatalf("approval by the requester spelled %q: %v, want ErrSelfApproval", ann, err)
		}
	}

}

// A refund waiting for approval (or queued) is sent even after the
// provider reversed the payment it refunds: the checkout is no longer
// paid (a new refund is refused with ErrNotPaid), but nothing between the
// reservation and the send looks at it again, so the payer gets the money
// back twice (the reversal, then our payout).
func TestRefundOfAReversedPaymentIsNotSent(t *testing.T) {
	pp := &fakePayouts{name: "pochipay"}
	e := newTransferEnv(t, pp, 50_000)
	co := e.paid(100_000, ProviderPokeaPay, MethodSTK, "M-Pesa")
	r, err := e.svc.CreateRefund(e.ctx, e.m, co.ID, RefundRequest{}, "admin:ann@example.com")
	if err != nil || r.Stage != store.StageApproval {
		t.Fatalf("refund %v %v, want one waiting for approval", r, err)
	}
	a, err := e.st.PaidAttempt(e.ctx, co.ID)
	if err != nil {
		t.Fatal(err)
	}
	out, err := e.svc.st.ApplyResult(e.ctx, a.ID, store.Result{Reversed: true, Reference: a.ID, Source: "test"})
	if err != nil || out != store.OutcomeReversed {
		t.Fatalf("reversal: %s %v", out, err)
	}
	if _, err := e.svc.CreateRefund(e.ctx, e.m, co.ID, RefundRequest{Amount: "1"}, "api"); !errors.Is(err, ErrNotPaid) {
		t.Fatalf("new refund of the reversed checkout: %v, want ErrNotPaid", err)
	}
	if err := e.svc.Approve(e.ctx, "refund", r.ID, "bob@example.com"); err != nil {
		t.Logf("approve: %v", err)
	}
	e.process()
	if n := len(pp.sent()); n != 0 {
		t.Fatalf("%d payouts sent for a refund of a payment the provider reversed, want 0", n)
	}
}

// An unreadable payout callback body is not kept either: a counter only.
func TestUnreadablePayoutCallbackKeepsOnlyACounter(t *testing.T) {
	e := newTransferEnv(t, &fakePayouts{name: "pokeapay", noStatus: true}, 0)
	body := `{"reference": ` + strings.Repeat("X", 4000)
	if err := e.svc.PayoutCallback(e.ctx, "pokeapay", "application/json", []byte(body)); !errors.Is(err, ErrCallback) {
		t.Fatalf("PayoutCallback: %v, want ErrCallback", err)
	}
	evs, err := e.svc.TransferEvents(e.ctx, "callback:pokeapay")
	if err != nil {
		t.Fatal(err)
	}
	if len(evs) != 0 {
		t.Errorf("stored %d timeline lines for an unreadable callback, want none", len(evs))
	}
	if n, err := e.svc.UnknownNotifications(e.ctx); err != nil || n != 1 {
		t.Errorf("unknown-notification counter %d (%v), want 1", n, err)
	}
}

// Once another admin approves it, a refund by hand above the limit waits
// for a person (attention, with the by-hand note), who marks it refunded.
func TestManualRefundAboveTheLimitApprovedGoesToAPersonThenEnds(t *testing.T) {
	e := newTransferEnv(t, &fakePayouts{name: "pokeapay", noStatus: true}, 50_000)
	co := e.paid(100_000, ProviderPokeaPay, MethodPokeaPay, "Card")
	r, err := e.svc.CreateRefund(e.ctx, e.m, co.ID, RefundRequest{}, "admin:ann@example.com")
	if err != nil {
		t.Fatal(err)
	}
	if err := e.svc.Approve(e.ctx, "refund", r.ID, "bob@example.com"); err != nil {
		t.Fatal(err)
	}
	got := e.refund(r.ID)
	if got.Stage != store.StageAttention || got.Status != store.TransferPending || !strings.Contains(got.Message, "by hand") {
		t.Fatalf("approved manual refund %s/%s %q, want pending in attention with the by-hand note", got.Status, got.Stage, got.Message)
	}
	e.process()
	if got := e.refund(r.ID); got.Stage != store.StageAttention {
		t.Fatalf("the worker moved the manual refund to %q", got.Stage)
	}
	if err := e.svc.Resolve(e.ctx, "refund", r.ID, "ann@example.com", true, "refunded by hand"); err != nil {
		t.Fatal(err)
	}
	if got := e.refund(r.ID); got.Status != store.TransferSucceeded || got.ApprovedBy != "bob@example.com" {
		t.Errorf("refund %s approved by %q, want succeeded, approved by bob", got.Status, got.ApprovedBy)
	}
}

// A queued refund (no approval needed) of a payment reversed before the
// worker's claim ends failed at the claim, its amount given back, and
// nothing is sent: by Pesapal's refund request or by a payout. An approved
// one whose payment was reversed while it waited ends the same way at
// Approve.
func TestRefundOfAReversedPaymentEndsFailedAndReleasedWithoutASend(t *testing.T) {
	reverse := func(e *transferEnv, co *store.Checkout) {
		t.Helper()
		a, err := e.st.PaidAttempt(e.ctx, co.ID)
		if err != nil {
			t.Fatal(err)
		}
		if out, err := e.svc.st.ApplyResult(e.ctx, a.ID, store.Result{Reversed: true, Reference: a.ID, Source: "test"}); err != nil ||
			out != store.OutcomeReversed {
			t.Fatalf("reversal: %s %v", out, err)
		}
	}
	check := func(e *transferEnv, co *store.Checkout, id string) {
		t.Helper()
		got := e.refund(id)
		if got.Status != store.TransferFailed || !strings.Contains(got.Message, "the payment was reversed by the provider") {
			t.Errorf("refund %s %q, want failed: the payment was reversed by the provider", got.Status, got.Message)
		}
		if c, _ := e.st.Checkout(e.ctx, co.ID); c.RefundReserved != 0 || c.AmountRefunded != 0 {
			t.Errorf("reserved %d, refunded %d, want both 0", c.RefundReserved, c.AmountRefunded)
		}
	}
	for _, tc := range []struct {
		name     string
		provider string
		method   string
		pm       string
	}{{"pesapal", ProviderPesapal, MethodPesapal, "Visa"}, {"payout", ProviderPokeaPay, MethodSTK, "M-Pesa"}} {
		t.Run(tc.name+" queued", func(t *testing.T) {
			pp := &fakePayouts{name: "pochipay"}
			e := newTransferEnv(t, pp, 0)
			co := e.paid(100_000, tc.provider, tc.method, tc.pm)
			r, err := e.svc.CreateRefund(e.ctx, e.m, co.ID, RefundRequest{}, "api")
			if err != nil || r.Stage != store.StageQueued {
				t.Fatalf("refund %v %v, want one queued", r, err)
			}
			reverse(e, co)
			e.process()
			if n, m := len(pp.sent()), len(e.refunder.calls); n+m != 0 {
				t.Fatalf("%d payouts and %d refund requests sent for a reversed payment, want none", n, m)
			}
			check(e, co, r.ID)
		})
	}
	t.Run("approved", func(t *testing.T) {
		pp := &fakePayouts{name: "pochipay"}
		e := newTransferEnv(t, pp, 50_000)
		co := e.paid(100_000, ProviderPokeaPay, MethodSTK, "M-Pesa")
		r, err := e.svc.CreateRefund(e.ctx, e.m, co.ID, RefundRequest{}, "admin:ann@example.com")
		if err != nil {
			t.Fatal(err)
		}
		reverse(e, co)
		if err := e.svc.Approve(e.ctx, "refund", r.ID, "bob@example.com"); !errors.Is(err, ErrNotPaid) {
			t.Errorf("approve: %v, want ErrNotPaid", err)
		}
		check(e, co, r.ID)
		if ev := e.events(); ev["refund.failed"] != 1 {
			t.Errorf("events %v, want refund.failed once", ev)
		}
	})
}

// A refund's payout that ended failed (a person's "failed" after checking
// PokeaPay's statement; Pochipay's verified status) and that its provider
// then reports paid is put back in front of a person, still failed, with
// the note, and its amount is reserved again on its checkout in the same
// transaction (nothing else can take it meanwhile). The person's "the
// money went out" ends it succeeded and counted, with refund.succeeded
// and checkout.refunded once each.
func TestPaidAfterFailedRefundIsReservedAgainThenCountedByAPerson(t *testing.T) {
	waiting := func(e *transferEnv) int64 {
		t.Helper()
		r, p, err := e.svc.TransfersWaiting(e.ctx)
		if err != nil {
			t.Fatal(err)
		}
		return r + p
	}
	flagged := func(e *transferEnv, co *store.Checkout, id string) {
		t.Helper()
		got := e.refund(id)
		if got.Status != store.TransferFailed || got.Stage != store.StageAttention {
			t.Fatalf("refund %s/%s %q, want failed in attention", got.Status, got.Stage, got.Message)
		}
		po := e.payout(got.PayoutID)
		if po.Status != store.TransferFailed || po.Stage != store.StageAttention ||
			!strings.Contains(po.Message, "paid after it was marked failed: check and settle by hand") {
			t.Fatalf("payout %s/%s %q, want failed in attention with the note", po.Status, po.Stage, po.Message)
		}
		if n := waiting(e); n != 1 {
			t.Errorf("%d waiting for a person, want 1", n)
		}
		if c, _ := e.st.Checkout(e.ctx, co.ID); c.RefundReserved != 100_000 || c.AmountRefunded != 0 {
			t.Errorf("reserved %d, refunded %d: want the amount reserved again, nothing refunded yet", c.RefundReserved, c.AmountRefunded)
		}
		if _, err := e.svc.CreateRefund(e.ctx, e.m, co.ID, RefundRequest{Amount: "1"}, "api"); !fieldErr(err, "amount") {
			t.Errorf("a new refund while it is flagged: %v, want refused (nothing left)", err)
		}
		if err := e.svc.Resolve(e.ctx, "refund", id, "bob@example.com", true, "on the statement: the money went out"); err != nil {
			t.Fatal(err)
		}
		got = e.refund(id)
		if got.Status != store.TransferSucceeded || got.Stage != store.StageDone || waiting(e) != 0 {
			t.Errorf("after the check: refund %s/%s, %d waiting; want succeeded, done, none", got.Status, got.Stage, waiting(e))
		}
		if po := e.payout(got.PayoutID); po.Status != store.TransferSucceeded || po.Stage != store.StageDone {
			t.Errorf("its payout %s/%s, want succeeded, done", po.Status, po.Stage)
		}
		if c, _ := e.st.Checkout(e.ctx, co.ID); c.RefundReserved != 100_000 || c.AmountRefunded != 100_000 {
			t.Errorf("reserved %d, refunded %d: want both 100000", c.RefundReserved, c.AmountRefunded)
		}
		// Settled once: a second press is refused and sends nothing more.
		if err := e.svc.Resolve(e.ctx, "refund", id, "bob@example.com", true, ""); !errors.Is(err, ErrNotAttention) {
			t.Errorf("second resolve: %v, want ErrNotAttention", err)
		}
		if ev := e.events(); ev["refund.succeeded"] != 1 || ev["checkout.refunded"] != 1 || ev["refund.failed"] != 1 ||
			ev["payout.succeeded"]+ev["payout.failed"] != 0 {
			t.Errorf("events %v, want refund.failed (its first end), then refund.succeeded and checkout.refunded once each", ev)
		}
	}
	t.Run("pokeapay marked failed by a person", func(t *testing.T) {
		e := newTransferEnv(t, &fakePayouts{name: "pokeapay", noStatus: true}, 0)
		co, r := pokeaPayRefundFailedThenPaid(t, e)
		flagged(e, co, r.ID)
	})
	t.Run("pochipay failed by its status, then paid", func(t *testing.T) {
		var paid bool
		pp := &fakePayouts{name: "pochipay"}
		pp.status = func(ref string) (gateway.PayoutResult, error) {
			if paid {
				return gateway.PayoutResult{Status: gateway.StatusSucceeded, Reference: ref, Amount: 100_000, HasAmount: true,
					Receipt: "QLD82TMWJE", Verified: true}, nil
			}
			return gateway.PayoutResult{Status: gateway.StatusFailed, Reference: ref, Verified: true}, nil
		}
		e := newTransferEnv(t, pp, 0)
		co := e.paid(100_000, ProviderPokeaPay, MethodSTK, "M-Pesa")
		r, err := e.svc.CreateRefund(e.ctx, e.m, co.ID, RefundRequest{}, "api")
		if err != nil {
			t.Fatal(err)
		}
		e.process()
		ref := e.refund(r.ID).ProviderReference
		e.callback("pochipay", `{"reference":"`+ref+`","status":"failed"}`)
		if got := e.refund(r.ID); got.Status != store.TransferFailed {
			t.Fatalf("refund %s, want failed by the status call", got.Status)
		}
		paid = true
		e.callback("pochipay", `{"reference":"`+ref+`","status":"succeeded","amount":100000}`)
		flagged(e, co, r.ID)
	})
}

// pokeaPayRefundFailedThenPaid refunds a KES 1,000 STK payment through
// PokeaPay; a failure callback, a person's "failed", then a success
// callback an hour later.
func pokeaPayRefundFailedThenPaid(t *testing.T, e *transferEnv) (*store.Checkout, *store.Refund) {
	t.Helper()
	co := e.paid(100_000, ProviderPokeaPay, MethodSTK, "M-Pesa")
	r, err := e.svc.CreateRefund(e.ctx, e.m, co.ID, RefundRequest{}, "api")
	if err != nil {
		t.Fatal(err)
	}
	e.process()
	ref := e.refund(r.ID).ProviderReference
	e.callback("pokeapay", `{"reference":"`+ref+`","status":"failed"}`)
	if err := e.svc.Resolve(e.ctx, "refund", r.ID, "ann@example.com", false, "not on the statement yet"); err != nil {
		t.Fatal(err)
	}
	if c, _ := e.st.Checkout(e.ctx, co.ID); c.RefundReserved != 0 {
		t.Fatalf("reserved %d after the person's failed, want 0", c.RefundReserved)
	}
	e.clk.add(time.Hour)
	e.callback("pokeapay", `{"reference":"`+ref+`","status":"succeeded","amount":100000,"receipt":"QLD82TMWJE"}`)
	return co, r
}

// The person who finds that nothing went out after all ends the flag: the
// refund stays failed, the amount the flag reserved is given back (it can
// be refunded again), and the merchant, told once it failed, is not told
// again.
func TestPaidAfterFailedRefundFoundNotPaidReleasesItsAmount(t *testing.T) {
	e := newTransferEnv(t, &fakePayouts{name: "pokeapay", noStatus: true}, 0)
	co, r := pokeaPayRefundFailedThenPaid(t, e)
	if c, _ := e.st.Checkout(e.ctx, co.ID); c.RefundReserved != 100_000 {
		t.Fatalf("reserved %d after the flag, want 100000", c.RefundReserved)
	}
	if err := e.svc.Resolve(e.ctx, "refund", r.ID, "bob@example.com", false, "not on the statement"); err != nil {
		t.Fatal(err)
	}
	got := e.refund(r.ID)
	if got.Status != store.TransferFailed || got.Stage != store.StageDone {
		t.Errorf("refund %s/%s, want failed, done", got.Status, got.Stage)
	}
	if po := e.payout(got.PayoutID); po.Status != store.TransferFailed || po.Stage != store.StageDone {
		t.Errorf("its payout %s/%s, want failed, done", po.Status, po.Stage)
	}
	if c, _ := e.st.Checkout(e.ctx, co.ID); c.RefundReserved != 0 || c.AmountRefunded != 0 {
		t.Errorf("reserved %d, refunded %d, want both 0", c.RefundReserved, c.AmountRefunded)
	}
	if ev := e.events(); ev["refund.failed"] != 1 || ev["refund.succeeded"] != 0 {
		t.Errorf("events %v, want refund.failed once (its first end) and nothing more", ev)
	}
	if _, err := e.svc.CreateRefund(e.ctx, e.m, co.ID, RefundRequest{}, "api"); err != nil {
		t.Errorf("refund again after the release: %v", err)
	}
}

// When another refund took what was left before the provider said the
// first one paid, nothing can be reserved again: the flag says the
// customer may have been paid twice, and the person cannot count it as
// succeeded (amount_refunded would exceed the amount paid): refused,
// nothing changed; marking it failed ends the flag and leaves the other
// refund's reservation alone.
func TestPaidAfterFailedRefundAnotherRefundTookTheRoom(t *testing.T) {
	e := newTransferEnv(t, &fakePayouts{name: "pokeapay", noStatus: true}, 0)
	co := e.paid(100_000, ProviderPokeaPay, MethodSTK, "M-Pesa")
	r, err := e.svc.CreateRefund(e.ctx, e.m, co.ID, RefundRequest{}, "api")
	if err != nil {
		t.Fatal(err)
	}
	e.process()
	ref := e.refund(r.ID).ProviderReference
	e.callback("pokeapay", `{"reference":"`+ref+`","status":"failed"}`)
	if err := e.svc.Resolve(e.ctx, "refund", r.ID, "ann@example.com", false, "not on the statement yet"); err != nil {
		t.Fatal(err)
	}
	r2, err := e.svc.CreateRefund(e.ctx, e.m, co.ID, RefundRequest{}, "admin:ann@example.com")
	if err != nil {
		t.Fatal(err)
	}
	e.process()
	e.callback("pokeapay", `{"reference":"`+e.refund(r2.ID).ProviderReference+`","status":"succeeded","amount":100000}`)
	if got := e.refund(r2.ID); got.Status != store.TransferSucceeded {
		t.Fatalf("second refund %s, want succeeded", got.Status)
	}
	e.clk.add(time.Hour)
	e.callback("pokeapay", `{"reference":"`+ref+`","status":"succeeded","amount":100000,"receipt":"QLD82TMWJE"}`)
	got := e.refund(r.ID)
	if got.Status != store.TransferFailed || got.Stage != store.StageAttention || !strings.HasPrefix(got.Message,
		"paid after it was marked failed, and another refund was made since: the customer may have been paid twice; check and settle by hand") {
		t.Fatalf("refund %s/%s %q, want failed in attention: may have been paid twice", got.Status, got.Stage, got.Message)
	}
	before := e.events()
	if err := e.svc.Resolve(e.ctx, "refund", r.ID, "bob@example.com", true, "the money went out"); !errors.Is(err, ErrRefundCovered) {
		t.Fatalf("marking it succeeded: %v, want ErrRefundCovered", err)
	}
	if got := e.refund(r.ID); got.Status != store.TransferFailed || got.Stage != store.StageAttention {
		t.Errorf("after the refusal: refund %s/%s, want failed in attention still", got.Status, got.Stage)
	}
	if c, _ := e.st.Checkout(e.ctx, co.ID); c.RefundReserved != 100_000 || c.AmountRefunded != 100_000 {
		t.Errorf("reserved %d, refunded %d, want both 100000 (the second refund only)", c.RefundReserved, c.AmountRefunded)
	}
	if err := e.svc.Resolve(e.ctx, "refund", r.ID, "bob@example.com", false, "customer paid back by hand"); err != nil {
		t.Fatal(err)
	}
	if got := e.refund(r.ID); got.Status != store.TransferFailed || got.Stage != store.StageDone {
		t.Errorf("refund %s/%s, want failed, done", got.Status, got.Stage)
	}
	if c, _ := e.st.Checkout(e.ctx, co.ID); c.RefundReserved != 100_000 || c.AmountRefunded != 100_000 {
		t.Errorf("reserved %d, refunded %d, want both 100000 still", c.RefundReserved, c.AmountRefunded)
	}
	if after := e.events(); after["refund.succeeded"] != before["refund.succeeded"] || after["refund.failed"] != before["refund.failed"] ||
		after["checkout.refunded"] != 1 {
		t.Errorf("events %v then %v, want nothing more sent for the flagged refund", before, after)
	}
}

// A plain payout (no refund) that ended failed and is then reported paid
// is flagged the same way (nothing to reserve); the person's "the money
// went out" ends it succeeded with payout.succeeded once.
func TestPaidAfterFailedPlainPayoutEndsSucceededOnce(t *testing.T) {
	e := newTransferEnv(t, &fakePayouts{name: "pokeapay", noStatus: true}, 0)
	p, err := e.svc.CreatePayout(e.ctx, e.m, PayoutRequest{Amount: "250", Phone: "254712345678"}, "api")
	if err != nil {
		t.Fatal(err)
	}
	e.process()
	ref := e.payout(p.ID).ProviderReference
	e.callback("pokeapay", `{"reference":"`+ref+`","status":"failed"}`)
	if err := e.svc.Resolve(e.ctx, "payout", p.ID, "ann@example.com", false, "not on the statement yet"); err != nil {
		t.Fatal(err)
	}
	e.clk.add(time.Hour)
	e.callback("pokeapay", `{"reference":"`+ref+`","status":"succeeded","amount":25000,"receipt":"QLD82TMWJE"}`)
	got := e.payout(p.ID)
	if got.Status != store.TransferFailed || got.Stage != store.StageAttention ||
		!strings.HasPrefix(got.Message, "paid after it was marked failed: check and settle by hand") {
		t.Fatalf("payout %s/%s %q, want failed in attention with the note", got.Status, got.Stage, got.Message)
	}
	if err := e.svc.Resolve(e.ctx, "payout", p.ID, "bob@example.com", true, "on the statement"); err != nil {
		t.Fatal(err)
	}
	if got := e.payout(p.ID); got.Status != store.TransferSucceeded || got.Stage != store.StageDone {
		t.Errorf("payout %s/%s, want succeeded, done", got.Status, got.Stage)
	}
	if err := e.svc.Resolve(e.ctx, "payout", p.ID, "bob@example.com", true, ""); !errors.Is(err, ErrNotAttention) {
		t.Errorf("second resolve: %v, want ErrNotAttention", err)
	}
	if ev := e.events(); ev["payout.failed"] != 1 || ev["payout.succeeded"] != 1 {
		t.Errorf("events %v, want payout.failed (its first end) and payout.succeeded once", ev)
	}
}

// A Pesapal payment whose paid attempt has no confirmation code cannot be
// refunded through Pesapal (its refund request names the payment by that
// code): the options block it, and a refund queued anyway goes to a
// person without any call to Pesapal.
func TestPesapalRefundWithoutAConfirmationCodeIsNeverSent(t *testing.T) {
	e := newTransferEnv(t, nil, 0)
	co := &store.Checkout{ID: store.NewID("chk", e.clk.now()), MerchantID: "m", Reference: "ORDER-NOCODE",
		Description: "d", Amount: 100_000, Currency: "KES", ExpiresAt: e.clk.now().Add(time.Hour)}
	if err := e.st.CreateCheckout(e.ctx, co, "test"); err != nil {
		t.Fatal(err)
	}
	a := &store.Attempt{ID: store.NewID("pay", e.clk.now()), CheckoutID: co.ID, Provider: ProviderPesapal, Method: MethodPesapal}
	if err := e.st.StartAttempt(e.ctx, a, time.Minute, "customer"); err != nil {
		t.Fatal(err)
	}
	if out, err := e.svc.st.ApplyResult(e.ctx, a.ID, store.Result{Status: store.AttemptSucceeded, Amount: 100_000, HasAmount: true,
		Currency: "KES", Reference: a.ID, Method: "Visa", Source: "test"}); err != nil || out != store.OutcomePaid {
		t.Fatalf("paying: %s %v", out, err)
	}
	paid, err := e.st.Checkout(e.ctx, co.ID)
	if err != nil {
		t.Fatal(err)
	}
	o, err := e.svc.RefundOptions(e.ctx, paid)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(o.Blocked, "Pesapal gave no confirmation code for this payment: refund it in the Pesapal dashboard") {
		t.Errorf("options blocked %q, want the no-confirmation-code reason", o.Blocked)
	}
	if _, err := e.svc.CreateRefund(e.ctx, e.m, co.ID, RefundRequest{}, "api"); !errors.Is(err, ErrRefundUnavailable) {
		t.Errorf("CreateRefund: %v, want ErrRefundUnavailable", err)
	}
	// One queued anyway (before the check, or by another path).
	r := &store.Refund{ID: store.NewID("ref", e.clk.now()), MerchantID: "m", CheckoutID: co.ID, AttemptID: a.ID,
		Amount: 100_000, Currency: "KES", Route: store.RoutePesapal, Provider: ProviderPesapal,
		Status: store.TransferPending, Stage: store.StageQueued, RequestedBy: "api"}
	if err := e.st.CreateRefund(e.ctx, r, nil, true); err != nil {
		t.Fatal(err)
	}
	e.process()
	if n := e.refunder.count(); n != 0 {
		t.Fatalf("%d refund requests sent with an empty confirmation code, want 0", n)
	}
	got := e.refund(r.ID)
	if got.Status != store.TransferPending || got.Stage != store.StageAttention ||
		!strings.Contains(got.Message, "Pesapal gave no confirmation code for this payment") {
		t.Errorf("refund %s/%s %q, want pending in attention with the reason", got.Status, got.Stage, got.Message)
	}
}

// Rows the worker cannot act on (payouts of a provider no longer
// configured, Pesapal refunds with no refund client or no paid attempt)
// go to a person at once, with a note that says why: left as they were,
// a full pass of them would come back first every time and the payout
// behind them would never be sent.
func TestTransfersTheWorkerCannotSendGoToAPersonAndStarveNothing(t *testing.T) {
	pp := &fakePayouts{name: "pochipay"}
	e := newTransferEnv(t, pp, 0)
	var stuck []string
	for range transfersPerPass {
		p := &store.Payout{ID: store.NewID("po", e.clk.now()), MerchantID: e.m.ID, Provider: "pokeapay", Amount: 10_000,
			Currency: "KES", Phone: "254712345678", Status: store.TransferPending, Stage: store.StageQueued, RequestedBy: "api"}
		if err := e.st.CreatePayout(e.ctx, p); err != nil {
			t.Fatal(err)
		}
		stuck = append(stuck, p.ID)
	}
	e.clk.add(time.Second)
	p, err := e.svc.CreatePayout(e.ctx, e.m, PayoutRequest{Amount: "250", Phone: "254712345678"}, "api")
	if err != nil {
		t.Fatal(err)
	}
	e.process()
	e.process()
	if n := len(pp.sent()); n != 1 || e.payout(p.ID).Stage != store.StageSent {
		t.Fatalf("%d sends, payout %s, want the configured provider's payout sent once", n, e.payout(p.ID).Stage)
	}
	for _, id := range stuck {
		if got := e.payout(id); got.Stage != store.StageAttention || got.Status != store.TransferPending ||
			!strings.Contains(got.Message, "no longer the payout provider configured here: nothing was sent") {
			t.Fatalf("payout of the old provider %s/%s %q, want pending in attention with the note", got.Status, got.Stage, got.Message)
		}
	}

	t.Run("pesapal refund without a refund client", func(t *testing.T) {
		e := newTransferEnv(t, pp, 0)
		co := e.paid(100_000, ProviderPesapal, MethodPesapal, "Visa")
		r, err := e.svc.CreateRefund(e.ctx, e.m, co.ID, RefundRequest{}, "api")
		if err != nil {
			t.Fatal(err)
		}
		e.svc.cfg.Refunder = nil
		e.process()
		if got := e.refund(r.ID); got.Stage != store.StageAttention || !strings.Contains(got.Message, "not configured") {
			t.Fatalf("refund %s %q, want attention: not configured", got.Stage, got.Message)
		}
	})
}

// A result in another currency than the payout's is not taken as paid: a
// person looks (a success callback of KES 1,000 "in USD" is not the
// payout of KES 1,000).
func TestPayoutResultInAnotherCurrencyGoesToAPerson(t *testing.T) {
	e := newTransferEnv(t, &fakePayouts{name: "pokeapay", noStatus: true}, 0)
	p, err := e.svc.CreatePayout(e.ctx, e.m, PayoutRequest{Amount: "1000", Phone: "254712345678"}, "api")
	if err != nil {
		t.Fatal(err)
	}
	e.process()
	e.callback("pokeapay", `{"reference":"`+e.payout(p.ID).ProviderReference+`","status":"succeeded","amount":100000,"currency":"USD"}`)
	got := e.payout(p.ID)
	if got.Status != store.TransferPending || got.Stage != store.StageAttention || !strings.Contains(got.Message, "currency") {
		t.Fatalf("payout %s/%s %q, want pending in attention about the currency", got.Status, got.Stage, got.Message)
	}
	e.callback("pokeapay", `{"reference":"`+e.payout(p.ID).ProviderReference+`","status":"succeeded","amount":100000,"currency":"KES"}`)
	if got := e.payout(p.ID); got.Status != store.TransferSucceeded {
		t.Errorf("payout %s after a KES success, want succeeded", got.Status)
	}
}

// Review 14: a payout flagged "paid after it was marked failed" that a
// person then resolves as paid ("the money went out") stays failed with
// nothing refunded nor reserved on its checkout: the whole payment can be
// refunded again, over the API, and is sent to the phone a second time.
// The person's "money went out" must count against what is left to
// refund.
func TestPaidAfterFailedResolvedAsPaidCannotBeRefundedAgain(t *testing.T) {
	pp := &fakePayouts{name: "pokeapay", noStatus: true}
	e := newTransferEnv(t, pp, 0)
	co := e.paid(100_000, ProviderPokeaPay, MethodSTK, "M-Pesa")
	r, err := e.svc.CreateRefund(e.ctx, e.m, co.ID, RefundRequest{}, "api")
	if err != nil {
		t.Fatal(err)
	}
	e.process()
	ref := e.refund(r.ID).ProviderReference
	e.callback("pokeapay", `{"reference":"`+ref+`","status":"failed"}`)
	if err := e.svc.Resolve(e.ctx, "refund", r.ID, "ann@example.com", false, "not on the statement yet"); err != nil {
		t.Fatal(err)
	}
	e.clk.add(time.Hour)
	e.callback("pokeapay", `{"reference":"`+ref+`","status":"succeeded","amount":100000,"receipt":"QLD82TMWJE"}`)
	if err := e.svc.Resolve(e.ctx, "refund", r.ID, "bob@example.com", true, "on the statement: the money went out"); err != nil {
		t.Fatal(err)
	}
	r2, err := e.svc.CreateRefund(e.ctx, e.m, co.ID, RefundRequest{}, "api")
	if err == nil {
		e.process()
	}
	c, _ := e.st.Checkout(e.ctx, co.ID)
	if n := len(pp.sent()); n != 1 {
		t.Fatalf("a KES 1,000 payment whose refund a person found paid (refunded %d, reserved %d) was refunded again "+
			"(%v, refund %v): %d B2C sends, want 1", c.AmountRefunded, c.RefundReserved, err, r2 != nil, n)
	}
}
