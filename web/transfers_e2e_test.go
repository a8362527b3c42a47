package web_test

// End-to-end tests of refunds and payouts: the real Pesapal, PokeaPay B2C
// and Pochipay clients against the sandbox simulators on loopback, the
// merchant API, the admin pages, the provider callbacks and the webhook
// outbox. The transfer worker and the webhook worker are run by hand
// (ProcessTransfers, DeliverWebhooks), as the reconciler is in the payment
// flow tests; the simulators' callbacks are awaited with WaitIPNs.

import (
	"context"
	"encoding/json"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"checkout/gateway"
	"checkout/gateway/sandbox"
	"checkout/payments"
	"checkout/store"
)

// The phones of these tests, as typed and as M-Pesa writes them.
const (
	payerPhone     = "0712 345 678" // the STK payer (payBySTK)
	payerMSISDN    = "254712345678"
	billingPhone   = "0722 000 111" // a Pesapal order's billing phone
	billingMSISDN  = "254722000111"
	payeePhone     = "0733 444 555" // a plain payout's recipient
	payeeMSISDN    = "254733444555"
	refundsPath    = "/refunds"
	checkoutsPath  = "/api/v1/checkouts/"
	payoutsAPIPath = "/api/v1/payouts"
)

// work runs one pass of the transfer worker.
func (e *env) work() {
	e.t.Helper()
	if err := e.svc.ProcessTransfers(context.Background()); err != nil {
		e.t.Fatal(err)
	}
}

// payByPesapalWith takes a new checkout (with the billing phone) through
// Pesapal to paid, paid by method ("mpesa" or "visa"), with the IPN.
func (e *env) payByPesapalWith(ref, method string) string {
	e.t.Helper()
	status, obj := e.api(http.MethodPost, "/api/v1/checkouts", `{"amount": "1500", "currency": "KES", "reference": "`+ref+
		`", "description": "Two bags of coffee", "customer": {"email": "jane@example.com", "phone": "`+billingPhone+`"}}`)
	if status != http.StatusCreated {
		e.t.Fatalf("create checkout: %d %v", status, obj)
	}
	id := obj["id"].(string)
	_, _, order := e.startPesapal(id)
	if err := e.sim.PesapalCompleteWith(order.TrackingID, method, false); err != nil {
		e.t.Fatal(err)
	}
	if status, _ := e.ipn(order); status != http.StatusOK {
		e.t.Fatalf("IPN answered %d", status)
	}
	if co := e.checkout(id); co.Status != store.StatusPaid {
		e.t.Fatalf("status after IPN = %s", co.Status)
	}
	return id
}

// refundOverAPI asks for a refund of a checkout and returns the answer.
func (e *env) refundOverAPI(id, body string) (int, map[string]any) {
	e.t.Helper()
	return e.api(http.MethodPost, checkoutsPath+id+refundsPath, body)
}

func (e *env) refundObject(id string) map[string]any {
	e.t.Helper()
	status, obj := e.api(http.MethodGet, "/api/v1/refunds/"+id, "")
	if status != http.StatusOK {
		e.t.Fatalf("GET refund %s: %d %v", id, status, obj)
	}
	return obj
}

func (e *env) checkoutObject(id string) map[string]any {
	e.t.Helper()
	status, obj := e.api(http.MethodGet, checkoutsPath+id, "")
	if status != http.StatusOK {
		e.t.Fatalf("GET checkout %s: %d %v", id, status, obj)
	}
	return obj
}

func (e *env) timeline(subjectID string) string {
	e.t.Helper()
	evs, err := e.store.TransferEvents(context.Background(), subjectID)
	if err != nil {
		e.t.Fatal(err)
	}
	var b strings.Builder
	for _, ev := range evs {
		b.WriteString(ev.Kind + " " + ev.Source + ": " + ev.Message + "\n")
	}
	return b.String()
}

// webhooksTo points the merchant's webhook at a new test receiver.
func (e *env) webhooksTo() *receiver {
	e.t.Helper()
	rcv := newReceiver(e.t)
	if err := e.store.SetMerchantWebhook(context.Background(), "default", rcv.srv.URL+"/hooks",
		payments.NewWebhookSecret()); err != nil {
		e.t.Fatal(err)
	}
	return rcv
}

// byType groups what a receiver got by event type.
func byType(t *testing.T, rs []received) map[string][]received {
	out := map[string][]received{}
	for _, r := range rs {
		typ := eventType(t, r)
		out[typ] = append(out[typ], r)
	}
	return out
}

func TestPesapalRefundsFullMpesaAndPartCardThroughTheSimulatorAndASecondIsRefusedBeforeAnyCall(t *testing.T) {
	e := newEnv(t, envOptions{pesapalRefunds: true})

	// M-Pesa: refunded in full, back to the billing phone.
	mpesa := e.payByPesapalWith("refund-mpesa", "mpesa")
	status, obj := e.refundOverAPI(mpesa, `{"reason": "out of stock"}`)
	if status != http.StatusCreated || obj["status"] != "pending" || obj["amount"] != "1500.00" || obj["provider"] != "pesapal" {
		t.Fatalf("full refund: %d %v", status, obj)
	}
	full := obj["id"].(string)
	e.work()
	if got := e.refundObject(full); got["status"] != "succeeded" || got["completed_at"] == nil {
		t.Fatalf("full refund after the worker: %v", got)
	}
	rs := e.sim.PesapalRefunds()
	if len(rs) != 1 || rs[0].Amount != gateway.Amount(1500_00) || rs[0].PaymentMethod != "MPESA" {
		t.Fatalf("the simulator's refunds = %+v", rs)
	}
	if got := e.sim.PhoneReceived(billingMSISDN); len(got) != 1 || got[0].Amount != gateway.Amount(1500_00) ||
		got[0].Provider != sandbox.PayoutPesapal {
		t.Fatalf("the billing phone received %+v", got)
	}
	if co := e.checkoutObject(mpesa); co["amount_refunded"] != "1500.00" || co["status"] != "paid" {
		t.Errorf("checkout after the full refund: amount_refunded %v, status %v", co["amount_refunded"], co["status"])
	}

	// Card: refunded in part.
	card := e.payByPesapalWith("refund-card", "visa")
	status, obj = e.refundOverAPI(card, `{"amount": "500", "reason": "one bag missing"}`)
	if status != http.StatusCreated || obj["amount"] != "500.00" {
		t.Fatalf("partial refund: %d %v", status, obj)
	}
	part := obj["id"].(string)
	e.work()
	if got := e.refundObject(part); got["status"] != "succeeded" {
		t.Fatalf("partial refund after the worker: %v", got)
	}
	rs = e.sim.PesapalRefunds()
	if len(rs) != 2 || rs[1].Amount != gateway.Amount(500_00) || rs[1].PaymentMethod != "Visa" {
		t.Fatalf("the simulator's refunds = %+v", rs)
	}
	if co := e.checkoutObject(card); co["amount_refunded"] != "500.00" {
		t.Errorf("card checkout amount_refunded = %v", co["amount_refunded"])
	}
	sent := e.sim.PayoutSends(sandbox.PayoutPesapal)
	if sent != 2 {
		t.Fatalf("the simulator saw %d RefundRequests, want 2", sent)
	}

	// A second refund of the card payment (KES 1,000 is left): Pesapal
	// takes one refund per payment, so it is refused here, before any call.
	status, obj = e.refundOverAPI(card, `{"amount": "200"}`)
	if status != http.StatusConflict {
		t.Fatalf("second refund: %d %v, want 409", status, obj)
	}
	if eo, _ := obj["error"].(map[string]any); eo["code"] != "refund_exists" {
		t.Errorf("second refund's error = %v, want refund_exists", obj["error"])
	}
	e.work()
	if n := e.sim.PayoutSends(sandbox.PayoutPesapal); n != sent {
		t.Fatalf("the simulator saw %d RefundRequests after the refused one, want %d", n, sent)
	}
	if got := e.refunds(card); len(got) != 1 {
		t.Errorf("card checkout has %d refunds, want 1", len(got))
	}
}

func TestSTKPaymentIsRefundedByEachPayoutProviderToThePayersPhone(t *testing.T) {
	for _, provider := range []string{sandbox.PayoutPokeaPay, sandbox.PayoutPochipay} {
		t.Run(provider, func(t *testing.T) {
			e := newEnv(t, envOptions{stk: "pochipay", payout: provider, privateWebhooks: true})
			rcv := e.webhooksTo()
			id := e.createCheckout("stk-refund-" + provider)
			e.payBySTK(id)

			status, obj := e.refundOverAPI(id, `{"reason": "customer changed their mind"}`)
			if status != http.StatusCreated || obj["amount"] != "1500.00" || obj["provider"] != provider {
				t.Fatalf("refund: %d %v", status, obj)
			}
			refundID := obj["id"].(string)
			e.work()
			e.sim.WaitIPNs() // the payout's result callback

			got := e.sim.PhoneReceived(payerMSISDN)
			if len(got) != 1 || got[0].Provider != provider || got[0].Amount != gateway.Amount(1500_00) || got[0].Currency != "KES" {
				t.Fatalf("the payer's phone received %+v, want KES 1,500.00 through %s", got, provider)
			}
			if n := e.sim.PayoutSends(provider); n != 1 {
				t.Errorf("%s saw %d sends, want 1", provider, n)
			}
			r := e.refundObject(refundID)
			if r["status"] != "succeeded" {
				t.Fatalf("refund = %v (timeline:\n%s)", r, e.timeline(refundID))
			}
			rf := e.refunds(id)
			if len(rf) != 1 || rf[0].PayoutID == "" || rf[0].Phone != payerMSISDN {
				t.Fatalf("refunds = %+v", rf)
			}
			po, err := e.svc.AdminPayout(context.Background(), rf[0].PayoutID)
			if err != nil {
				t.Fatal(err)
			}
			if po.Status != store.TransferSucceeded || po.Receipt != got[0].Receipt || po.Phone != payerMSISDN {
				t.Fatalf("payout = %+v", po)
			}
			switch provider {
			case sandbox.PayoutPokeaPay:
				// No status call: the callback is all there is.
				if po.Verified {
					t.Error("a PokeaPay payout is marked verified")
				}
				if tl := e.timeline(po.ID); !strings.Contains(tl, "not verified") {
					t.Errorf("the PokeaPay payout's timeline has no \"not verified\" note:\n%s", tl)
				}
			case sandbox.PayoutPochipay:
				// The callback only said "look now": the status call confirmed it.
				if !po.Verified || e.sim.PayoutStatusQueries() == 0 {
					t.Errorf("Pochipay payout verified %v after %d status calls", po.Verified, e.sim.PayoutStatusQueries())
				}
			}
			co := e.checkoutObject(id)
			if co["amount_refunded"] != "1500.00" {
				t.Errorf("checkout amount_refunded = %v", co["amount_refunded"])
			}

			e.deliver()
			types := byType(t, rcv.requests())
			if len(types["refund.succeeded"]) != 1 || len(types["checkout.refunded"]) != 1 {
				t.Fatalf("webhooks by type: refund.succeeded %d, checkout.refunded %d",
					len(types["refund.succeeded"]), len(types["checkout.refunded"]))
			}
			if len(types["payout.succeeded"]) != 0 {
				t.Error("a refund's payout emitted payout.succeeded")
			}
			var refunded struct {
				Data struct {
					AmountRefunded string `json:"amount_refunded"`
				} `json:"data"`
			}
			if err := json.Unmarshal(types["checkout.refunded"][0].body, &refunded); err != nil ||
				refunded.Data.AmountRefunded != "1500.00" {
				t.Errorf("checkout.refunded: %v %s", err, types["checkout.refunded"][0].body)
			}
			var succeeded struct {
				Data struct {
					ID     string `json:"id"`
					Status string `json:"status"`
				} `json:"data"`
			}
			if err := json.Unmarshal(types["refund.succeeded"][0].body, &succeeded); err != nil ||
				succeeded.Data.ID != refundID || succeeded.Data.Status != "succeeded" {
				t.Errorf("refund.succeeded: %v %s", err, types["refund.succeeded"][0].body)
			}
		})
	}
}

func TestPochipayPayoutThatTimesOutIsNotSentAgainAndEndsSucceededAfterTheStatusCall(t *testing.T) {
	// The client gives up after a second; the simulator takes and pays the
	// payout but holds its answer until then, and sends no callback.
	e := newEnv(t, envOptions{payout: "pochipay", payoutTimeout: time.Second})
	e.sim.PayoutNext(payeeMSISDN, sandbox.PayoutFault{Late: true, NoCallback: true})
	status, obj := e.api(http.MethodPost, payoutsAPIPath, `{"amount": "300", "phone": "`+payeePhone+`", "reference": "late-1"}`)
	if status != http.StatusCreated {
		t.Fatalf("payout: %d %v", status, obj)
	}
	id := obj["id"].(string)

	e.work() // the send times out
	p, err := e.svc.AdminPayout(context.Background(), id)
	if err != nil {
		t.Fatal(err)
	}
	if p.Status != store.TransferPending || p.Stage != store.StageSent {
		t.Fatalf("after the timed-out send: %s at %s (timeline:\n%s)", p.Status, p.Stage, e.timeline(id))
	}
	if got := e.sim.PhoneReceived(payeeMSISDN); len(got) != 1 {
		t.Fatalf("the phone received %+v: the simulator should have paid the late send", got)
	}

	e.work() // not yet due: nothing happens
	e.clock.Advance(time.Minute)
	e.work() // the status call decides
	p, err = e.svc.AdminPayout(context.Background(), id)
	if err != nil {
		t.Fatal(err)
	}
	if p.Status != store.TransferSucceeded || !p.Verified || p.Receipt == "" {
		t.Fatalf("after the status call: %+v (timeline:\n%s)", p, e.timeline(id))
	}
	if e.sim.PayoutStatusQueries() == 0 {
		t.Error("no status call was made")
	}
	e.clock.Advance(time.Hour)
	e.work()
	if n := e.sim.PayoutSends(sandbox.PayoutPochipay); n != 1 {
		t.Fatalf("Pochipay saw %d sends, want 1", n)
	}
	if got := e.sim.PhoneReceived(payeeMSISDN); len(got) != 1 || got[0].Amount != gateway.Amount(300_00) {
		t.Fatalf("the phone received %+v, want KES 300.00 once", got)
	}
}

func TestRefundEventsArriveOnceWithAStableWebhookIDThoughTheCallbackComesTwice(t *testing.T) {
	e := newEnv(t, envOptions{stk: "pochipay", payout: "pochipay", privateWebhooks: true})
	rcv := e.webhooksTo()
	id := e.createCheckout("twice-1")
	e.payBySTK(id)
	e.deliver() // checkout.paid

	e.sim.PayoutNext(payerMSISDN, sandbox.PayoutFault{TwiceCallback: true})
	if status, obj := e.refundOverAPI(id, `{}`); status != http.StatusCreated {
		t.Fatalf("refund: %d %v", status, obj)
	}
	e.work()
	e.sim.WaitIPNs()
	if n := e.sim.PayoutCallbacksSent(sandbox.PayoutPochipay); n < 2 {
		t.Fatalf("the simulator sent %d callbacks, want 2", n)
	}
	if rs := e.refunds(id); len(rs) != 1 || rs[0].Status != store.TransferSucceeded {
		t.Fatalf("refunds = %+v", rs)
	}

	// The merchant's server fails the first try of each event: the retry
	// must carry the same webhook-id.
	rcv.answer(http.StatusInternalServerError, http.StatusInternalServerError)
	e.deliver()
	e.clock.Advance(time.Hour)
	e.deliver()
	e.clock.Advance(25 * time.Hour)
	e.deliver() // nothing is left to send

	types := byType(t, rcv.requests())
	for _, typ := range []string{"refund.succeeded", "checkout.refunded"} {
		got := types[typ]
		if len(got) != 2 {
			t.Fatalf("%s arrived %d times, want one failed try and one delivery", typ, len(got))
		}
		if got[0].id == "" || got[0].id != got[1].id {
			t.Errorf("%s webhook-ids %q and %q, want one stable id", typ, got[0].id, got[1].id)
		}
	}
	if types["refund.succeeded"][0].id == types["checkout.refunded"][0].id {
		t.Error("two events share a webhook-id")
	}
	if len(types["checkout.paid"]) != 1 {
		t.Errorf("checkout.paid arrived %d times", len(types["checkout.paid"]))
	}
}

func TestOverLimitAPIPayoutWaitsForAnAdminsApprovalInTheAdminPagesThenReachesThePhone(t *testing.T) {
	e := newEnv(t, envOptions{payout: "pochipay", approvalLimit: 1000_00})
	status, obj := e.api(http.MethodPost, payoutsAPIPath,
		`{"amount": "2000", "phone": "`+payeePhone+`", "name": "Jane Doe", "reference": "RENT-12"}`)
	if status != http.StatusCreated || obj["status"] != "pending" {
		t.Fatalf("payout: %d %v", status, obj)
	}
	id := obj["id"].(string)
	e.work()
	if n := e.sim.PayoutSends(sandbox.PayoutPochipay); n != 0 {
		t.Fatalf("sent %d times before approval", n)
	}
	if p, _ := e.svc.AdminPayout(context.Background(), id); p == nil || p.Stage != store.StageApproval || p.RequestedBy != "api" {
		t.Fatalf("payout = %+v, want waiting for approval, asked by the API", p)
	}

	// Asked over the API: any admin may approve.
	b := e.adminBrowser()
	page := b.get(e.app.URL + "/admin/payouts/" + id)
	approved := b.submit(page, `form[action="/admin/payouts/`+id+`/approve"]`, nil)
	if approved.status != http.StatusOK || !strings.Contains(alert(approved, "info"), "Approved") {
		t.Fatalf("approval: %d\n%s", approved.status, approved.body)
	}
	if p, _ := e.svc.AdminPayout(context.Background(), id); p.ApprovedBy != adminEmail || p.Stage != store.StageQueued {
		t.Fatalf("after approval: stage %s, approved by %q", p.Stage, p.ApprovedBy)
	}

	e.work()
	e.sim.WaitIPNs()
	if got := e.sim.PhoneReceived(payeeMSISDN); len(got) != 1 || got[0].Amount != gateway.Amount(2000_00) {
		t.Fatalf("the phone received %+v, want KES 2,000.00", got)
	}
	if _, obj := e.api(http.MethodGet, payoutsAPIPath+"/"+id, ""); obj["status"] != "succeeded" {
		t.Fatalf("payout = %v", obj)
	}
}

func TestTwoConcurrentRefundsThatTogetherExceedThePaymentAcceptOne(t *testing.T) {
	e := newEnv(t, envOptions{stk: "pochipay", payout: "pochipay"})
	id := e.createCheckout("concurrent-1")
	e.payBySTK(id)

	var wg sync.WaitGroup
	statuses := make([]int, 2)
	for i := range statuses {
		wg.Add(1)
		go func() {
			defer wg.Done()
			statuses[i], _ = e.refundOverAPI(id, `{"amount": "1000"}`)
		}()
	}
	wg.Wait()
	created := 0
	for _, st := range statuses {
		switch {
		case st == http.StatusCreated:
			created++
		case st < 400 || st >= 500:
			t.Errorf("a refund answered %d", st)
		}
	}
	if created != 1 {
		t.Fatalf("answers %v: %d refunds accepted, want 1", statuses, created)
	}
	if rs := e.refunds(id); len(rs) != 1 {
		t.Fatalf("refunds = %+v", rs)
	}
	e.work()
	e.sim.WaitIPNs()
	if got := e.sim.PhoneReceived(payerMSISDN); len(got) != 1 || got[0].Amount != gateway.Amount(1000_00) {
		t.Fatalf("the payer's phone received %+v, want KES 1,000.00 once", got)
	}
	if co := e.checkout(id); co.AmountRefunded != 1000_00 || co.RefundReserved != 1000_00 {
		t.Errorf("refunded %d, reserved %d", co.AmountRefunded, co.RefundReserved)
	}
}

// A PokeaPay B2C failure callback cannot be verified: the refund stays
// pending with its amount reserved, waiting for a person (never sent
// again); the admin's "failed" after checking the statement ends it and
// gives the amount back, with refund.failed once.
func TestPokeaPayB2CFailureCallbackLeavesTheRefundReservedForAPersonWhoEndsIt(t *testing.T) {
	e := newEnv(t, envOptions{stk: "pochipay", payout: "pokeapay", privateWebhooks: true})
	rcv := e.webhooksTo()
	id := e.createCheckout("b2c-fail-1")
	e.payBySTK(id)
	e.sim.PayoutNext(payerMSISDN, sandbox.PayoutFault{Fail: true})
	if status, obj := e.refundOverAPI(id, `{}`); status != http.StatusCreated {
		t.Fatalf("refund: %d %v", status, obj)
	}
	e.work()
	e.sim.WaitIPNs()
	rs := e.refunds(id)
	if len(rs) != 1 || rs[0].Status != store.TransferPending || rs[0].Stage != store.StageAttention {
		t.Fatalf("refunds = %+v, want one pending in attention", rs)
	}
	if got := e.sim.PhoneReceived(payerMSISDN); len(got) != 0 {
		t.Fatalf("the phone received %+v from a failed payout", got)
	}
	po, err := e.svc.AdminPayout(context.Background(), rs[0].PayoutID)
	if err != nil {
		t.Fatal(err)
	}
	if po.Status != store.TransferPending || po.Stage != store.StageAttention || po.Verified ||
		!strings.Contains(po.Message, "PokeaPay says it failed (not verified)") {
		t.Errorf("payout = %s/%s verified %v %q", po.Status, po.Stage, po.Verified, po.Message)
	}
	if co := e.checkout(id); co.RefundReserved != co.Amount || co.AmountRefunded != 0 {
		t.Errorf("reserved %d, refunded %d after the unverified failure, want the whole %d kept reserved",
			co.RefundReserved, co.AmountRefunded, co.Amount)
	}
	if status, obj := e.refundOverAPI(id, `{}`); status == http.StatusCreated {
		t.Errorf("a second refund was accepted while the first waits: %v", obj)
	}
	e.clock.Advance(25 * time.Hour)
	e.work()
	if n := e.sim.PayoutSends(sandbox.PayoutPokeaPay); n != 1 {
		t.Errorf("PokeaPay saw %d sends, want 1 (never sent again)", n)
	}
	e.deliver()
	if types := byType(t, rcv.requests()); len(types["refund.failed"]) != 0 || len(types["refund.succeeded"]) != 0 {
		t.Errorf("webhooks before a person decided: refund.failed %d, refund.succeeded %d", len(types["refund.failed"]),
			len(types["refund.succeeded"]))
	}
	if err := e.svc.Resolve(context.Background(), "refund", rs[0].ID, "ann@example.com", false, "not on the statement"); err != nil {
		t.Fatal(err)
	}
	if co := e.checkout(id); co.RefundReserved != 0 || co.AmountRefunded != 0 {
		t.Errorf("reserved %d, refunded %d after the admin marked it failed", co.RefundReserved, co.AmountRefunded)
	}
	e.deliver()
	types := byType(t, rcv.requests())
	if len(types["refund.failed"]) != 1 || len(types["refund.succeeded"]) != 0 || len(types["checkout.refunded"]) != 0 {
		t.Errorf("webhooks: refund.failed %d, refund.succeeded %d, checkout.refunded %d", len(types["refund.failed"]),
			len(types["refund.succeeded"]), len(types["checkout.refunded"]))
	}
}

func TestPokeaPayB2CSendThatTimesOutIsNotSentAgainAndItsLateCallbackEndsIt(t *testing.T) {
	e := newEnv(t, envOptions{payout: "pokeapay", payoutTimeout: time.Second})
	e.sim.PayoutNext(payeeMSISDN, sandbox.PayoutFault{Late: true})
	status, obj := e.api(http.MethodPost, payoutsAPIPath, `{"amount": "300", "phone": "`+payeePhone+`", "reference": "late-b2c"}`)
	if status != http.StatusCreated {
		t.Fatalf("payout: %d %v", status, obj)
	}
	id := obj["id"].(string)
	e.work() // the send times out; the simulator paid it
	// The simulator posts the result once it sees the client gone, which
	// may be after the client's call returned: wait for the post to start,
	// then for it to be answered.
	deadline := time.Now().Add(10 * time.Second)
	for e.sim.PayoutCallbacksSent(sandbox.PayoutPokeaPay) == 0 {
		if time.Now().After(deadline) {
			t.Fatal("the simulator posted no result")
		}
		time.Sleep(10 * time.Millisecond)
	}
	e.sim.WaitIPNs()
	p, err := e.svc.AdminPayout(context.Background(), id)
	if err != nil {
		t.Fatal(err)
	}
	if p.Status != store.TransferSucceeded || p.Verified {
		t.Fatalf("payout = %s verified %v (timeline:\n%s)", p.Status, p.Verified, e.timeline(id))
	}
	e.clock.Advance(25 * time.Hour)
	e.work()
	if n := e.sim.PayoutSends(sandbox.PayoutPokeaPay); n != 1 {
		t.Fatalf("PokeaPay saw %d sends, want 1", n)
	}
	if got := e.sim.PhoneReceived(payeeMSISDN); len(got) != 1 || got[0].Amount != gateway.Amount(300_00) {
		t.Fatalf("the phone received %+v, want KES 300.00 once", got)
	}
}
