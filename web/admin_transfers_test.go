package web_test

import (
	"context"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/PuerkitoBio/goquery"

	"checkout/gateway"
	"checkout/gateway/sandbox"
	"checkout/payments"
	"checkout/store"
)

const secondAdmin = "second@example.com"

// adminBrowserAs adds an admin with this email (the test password) and
// returns a browser logged in as it.
func (e *env) adminBrowserAs(email string) *browser {
	e.t.Helper()
	hash, err := store.HashPassword(adminPassword)
	if err != nil {
		e.t.Fatal(err)
	}
	if err := e.store.CreateAdmin(context.Background(), store.NewID("adm", e.clock.Now()), email, hash); err != nil {
		e.t.Fatal(err)
	}
	b := e.browser()
	if _, r := e.login(b, email, adminPassword); r.status != http.StatusSeeOther {
		e.t.Fatalf("login as %s: %d\n%s", email, r.status, r.body)
	}
	return b
}

// payBySTK has a customer pay a new checkout by M-Pesa prompt (the STK
// simulator), from phone 0712 345 678.
func (e *env) payBySTK(id string) {
	e.t.Helper()
	e.pushSTK(e.browser(), id, "0712 345 678")
	a := e.stkAttempt(id)
	if err := e.sim.STKAnswer("pochipay", a.ID, "0", true); err != nil {
		e.t.Fatal(err)
	}
	e.sim.WaitIPNs()
	if co := e.checkout(id); co.Status != store.StatusPaid {
		e.t.Fatalf("status after the prompt = %s", co.Status)
	}
}

func (e *env) refunds(checkoutID string) []store.Refund {
	e.t.Helper()
	rs, err := e.store.CheckoutRefunds(context.Background(), checkoutID)
	if err != nil {
		e.t.Fatal(err)
	}
	return rs
}

func (e *env) payouts() []store.Payout {
	e.t.Helper()
	ps, _, err := e.svc.AdminPayouts(context.Background(), payments.TransferFilter{}, "", 100)
	if err != nil {
		e.t.Fatal(err)
	}
	return ps
}

// listIDs are the ids in a refunds or payouts table, top to bottom.
func listIDs(p page) []string {
	var ids []string
	p.doc.Find("table.transfers tbody tr").Each(func(_ int, s *goquery.Selection) {
		ids = append(ids, s.AttrOr("data-id", ""))
	})
	return ids
}

func TestRefundFromTheOrderPageReservesTheAmountAndIsListed(t *testing.T) {
	e := newEnv(t, envOptions{stk: "pochipay", payout: "pochipay"})
	id := e.createCheckout("refund-1")
	e.payBySTK(id)
	b := e.adminBrowser()

	order := b.get(e.app.URL + "/admin/orders/" + id)
	form := order.doc.Find("form.refund-form")
	if order.status != http.StatusOK || form.Length() != 1 {
		t.Fatalf("order page: %d, %d refund forms\n%s", order.status, form.Length(), order.body)
	}
	if got := form.Find(`input[name="amount"]`).AttrOr("value", ""); got != "1500.00" {
		t.Errorf("amount starts at %q, want what is left", got)
	}
	hints := form.Find(".refund-hints").Text()
	for _, want := range []string{"whole shillings", "Pochipay", "second admin's approval"} {
		if !strings.Contains(hints, want) {
			t.Errorf("hints lack %q: %q", want, hints)
		}
	}

	// Cents: refused before the confirm step, the field marked, nothing
	// reserved.
	refused := b.submit(order, "form.refund-form", url.Values{"amount": {"10.50"}, "reason": {"broken"}})
	if refused.status != http.StatusUnprocessableEntity || refused.doc.Find("#refund-amount").AttrOr("aria-invalid", "") != "true" ||
		!strings.Contains(refused.doc.Find("#amount-error").Text(), "whole shillings") {
		t.Fatalf("cents: %d\n%s", refused.status, refused.body)
	}
	if got := refused.doc.Find("#refund-reason").AttrOr("value", ""); got != "broken" {
		t.Errorf("the typed reason is lost: %q", got)
	}

	// The confirm step changes nothing.
	confirm := b.submit(order, "form.refund-form", url.Values{"amount": {"500"}, "reason": {"broken"}})
	if confirm.status != http.StatusOK || strings.TrimSpace(confirm.doc.Find("h1").Text()) != "Refund KES 500.00?" {
		t.Fatalf("confirm step: %d\n%s", confirm.status, confirm.body)
	}
	if !strings.Contains(confirm.doc.Find("dl.details").Text(), "254712345678") {
		t.Error("the confirm step does not name the phone the money goes to")
	}
	if n := len(e.refunds(id)); n != 0 || e.checkout(id).RefundReserved != 0 {
		t.Fatalf("the confirm step made %d refunds, reserved %d", n, e.checkout(id).RefundReserved)
	}

	done := b.submit(confirm, "form.confirm-form", url.Values{"confirm": {"1"}})
	rs := e.refunds(id)
	if len(rs) != 1 {
		t.Fatalf("refunds after confirming: %d", len(rs))
	}
	r := rs[0]
	if done.status != http.StatusOK || !strings.HasSuffix(done.url, "/admin/refunds/"+r.ID+"?flash=created") {
		t.Fatalf("after confirming: %d at %s", done.status, done.url)
	}
	if r.Amount != 50000 || r.Reason != "broken" || r.Route != "payout" || r.Phone != "254712345678" ||
		r.RequestedBy != "admin:"+adminEmail || r.Status != store.TransferPending {
		t.Errorf("refund = %+v", r)
	}
	if co := e.checkout(id); co.RefundReserved != 50000 || co.AmountRefunded != 0 {
		t.Errorf("reserved %d, refunded %d; want 50000, 0", co.RefundReserved, co.AmountRefunded)
	}

	list := b.get(e.app.URL + "/admin/refunds")
	if ids := listIDs(list); len(ids) != 1 || ids[0] != r.ID {
		t.Fatalf("refunds list = %v", ids)
	}
	row := list.doc.Find("table.transfers tbody tr").First()
	if txt := strings.Join(strings.Fields(row.Text()), " "); !strings.Contains(txt, "KES 500.00") ||
		!strings.Contains(txt, adminEmail) || !strings.Contains(txt, id) {
		t.Errorf("refunds row = %q", txt)
	}

	order = b.get(e.app.URL + "/admin/orders/" + id)
	if got := order.doc.Find(`label[for="refund-amount"]`).Text(); !strings.Contains(got, "KES 1,000.00 left") {
		t.Errorf("after the refund the form says %q", got)
	}
	if order.doc.Find(`section.refunds a[href="/admin/refunds/`+r.ID+`"]`).Length() != 1 {
		t.Error("the order page does not list its refund")
	}
}

func TestOverLimitPayoutWaitsAndOnlyAnotherAdminApproves(t *testing.T) {
	e := newEnv(t, envOptions{payout: "pochipay", approvalLimit: 1000_00})
	a := e.adminBrowser()

	form := a.get(e.app.URL + "/admin/payouts/new")
	if form.status != http.StatusOK || form.doc.Find("form.payout-form").Length() != 1 {
		t.Fatalf("send money: %d\n%s", form.status, form.body)
	}
	confirm := a.submit(form, "form.payout-form", url.Values{"phone": {"0712 345 678"}, "name": {"Jane Doe"},
		"amount": {"2,000"}, "reference": {"RENT-12"}, "description": {"December rent"}})
	if confirm.status != http.StatusOK || !strings.Contains(confirm.doc.Find(".confirm-note").Text(), "second admin") {
		t.Fatalf("confirm step: %d\n%s", confirm.status, confirm.body)
	}
	if len(e.payouts()) != 0 {
		t.Fatal("the confirm step made a payout")
	}
	page := a.submit(confirm, "form.confirm-form", url.Values{"confirm": {"1"}})
	ps := e.payouts()
	if len(ps) != 1 {
		t.Fatalf("payouts = %d", len(ps))
	}
	p := ps[0]
	if p.Stage != store.StageApproval || p.Amount != 2000_00 || p.Phone != "254712345678" || p.Reference != "RENT-12" ||
		p.RequestedBy != "admin:"+adminEmail {
		t.Fatalf("payout = %+v", p)
	}
	if got := e.wantAudit("payout.create", "payout", p.ID, adminEmail); got.Detail != "KES 2000.00 to 254712345678 (Demo Shop)" {
		t.Errorf("payout.create detail = %q", got.Detail)
	}
	if page.doc.Find(`form[action="/admin/payouts/`+p.ID+`/approve"]`).Length() != 0 ||
		page.doc.Find(".own-request").Length() != 1 {
		t.Error("the requester is offered Approve")
	}
	if got := strings.Join(strings.Fields(page.doc.Find(`.admin-nav a[href="/admin/payouts"]`).Text()), " "); got != "Payouts 1 waiting" {
		t.Errorf("nav = %q", got)
	}
	waiting := a.get(e.app.URL + "/admin/payouts?stage=approval")
	if ids := listIDs(waiting); len(ids) != 1 || ids[0] != p.ID {
		t.Errorf("approval list = %v", ids)
	}
	if ids := listIDs(a.get(e.app.URL + "/admin/payouts?stage=attention")); len(ids) != 0 {
		t.Errorf("attention list = %v", ids)
	}

	// The requester's own Approve, posted anyway, is refused.
	own := a.post(e.app.URL+"/admin/payouts/"+p.ID+"/approve", url.Values{"csrf_token": {csrfToken(page)}}, nil)
	if own.status != http.StatusOK || !strings.Contains(alert(own.page, "error"), "another admin must approve") {
		t.Errorf("own approval: %d %q", own.status, alert(own.page, "error"))
	}
	if got := e.payouts()[0]; got.Stage != store.StageApproval || got.ApprovedBy != "" {
		t.Fatalf("after the requester's approval: stage %s, approved by %q", got.Stage, got.ApprovedBy)
	}

	// Another admin's is accepted, and only then is the money sent.
	b := e.adminBrowserAs(secondAdmin)
	other := b.get(e.app.URL + "/admin/payouts/" + p.ID)
	if other.doc.Find(".own-request").Length() != 0 {
		t.Error("the second admin is told it is their own")
	}
	approved := b.submit(other, `form[action="/admin/payouts/`+p.ID+`/approve"]`, nil)
	if approved.status != http.StatusOK || !strings.Contains(alert(approved, "info"), "Approved") {
		t.Fatalf("approval: %d\n%s", approved.status, approved.body)
	}
	got := e.payouts()[0]
	if got.Stage != store.StageQueued || got.ApprovedBy != secondAdmin || got.ApprovedAt == nil {
		t.Fatalf("after approval: stage %s, approved by %q", got.Stage, got.ApprovedBy)
	}
	e.wantAudit("payout.approve", "payout", p.ID, secondAdmin)
	if !strings.Contains(approved.doc.Find("ol.timeline").Text(), "approved by "+secondAdmin) {
		t.Error("the timeline does not say who approved")
	}
	if n := e.sim.PayoutSends(sandbox.PayoutPochipay); n != 0 {
		t.Fatalf("sent %d before the worker ran", n)
	}
	if err := e.svc.ProcessTransfers(context.Background()); err != nil {
		t.Fatal(err)
	}
	if s := e.sim.Payouts(); len(s) != 1 || s[0].Amount != gateway.Amount(2000_00) || s[0].Phone != "254712345678" {
		t.Fatalf("sends = %+v", s)
	}
}

func TestDeclineEndsAnOverLimitRefundAndGivesTheReservationBack(t *testing.T) {
	e := newEnv(t, envOptions{stk: "pochipay", payout: "pochipay", approvalLimit: 100_00})
	id := e.createCheckout("refund-2")
	e.payBySTK(id)
	a := e.adminBrowser()
	order := a.get(e.app.URL + "/admin/orders/" + id)
	confirm := a.submit(order, "form.refund-form", nil) // the whole amount
	if !strings.Contains(confirm.doc.Find(".confirm-note").Text(), "second admin") {
		t.Errorf("confirm notes = %q", confirm.doc.Find(".confirm-note").Text())
	}
	a.submit(confirm, "form.confirm-form", url.Values{"confirm": {"1"}})
	rs := e.refunds(id)
	if len(rs) != 1 || rs[0].Stage != store.StageApproval || e.checkout(id).RefundReserved != 1500_00 {
		t.Fatalf("refunds = %+v, reserved %d", rs, e.checkout(id).RefundReserved)
	}
	b := e.adminBrowserAs(secondAdmin)
	p := b.get(e.app.URL + "/admin/refunds/" + rs[0].ID)
	declined := b.submit(p, `form[action="/admin/refunds/`+rs[0].ID+`/decline"]`, url.Values{"reason": {"customer kept it"}})
	if declined.status != http.StatusOK || !strings.Contains(alert(declined, "info"), "Declined") {
		t.Fatalf("decline: %d\n%s", declined.status, declined.body)
	}
	e.wantAudit("refund.create", "refund", rs[0].ID, adminEmail)
	if got := e.wantAudit("refund.decline", "refund", rs[0].ID, secondAdmin); got.Detail != "customer kept it" {
		t.Errorf("decline detail = %q", got.Detail)
	}
	r := e.refunds(id)[0]
	if r.Status != store.TransferFailed || !strings.Contains(r.Message, "customer kept it") {
		t.Errorf("after decline: %s %q", r.Status, r.Message)
	}
	if co := e.checkout(id); co.RefundReserved != 0 {
		t.Errorf("reserved after decline = %d", co.RefundReserved)
	}
}

func TestAttentionPayoutIsMarkedByAPerson(t *testing.T) {
	e := newEnv(t, envOptions{payout: "pochipay"})
	b := e.adminBrowser()
	form := b.get(e.app.URL + "/admin/payouts/new")
	confirm := b.submit(form, "form.payout-form", url.Values{"phone": {"254712345678"}, "amount": {"300"}})
	b.submit(confirm, "form.confirm-form", url.Values{"confirm": {"1"}})
	p := e.payouts()[0]
	if p.Stage != store.StageQueued {
		t.Fatalf("stage = %s", p.Stage)
	}
	if err := e.store.ToAttention(context.Background(), "payout", p.ID, []string{store.StageQueued}, "no answer from the provider", "system", ""); err != nil {
		t.Fatal(err)
	}
	page := b.get(e.app.URL + "/admin/payouts/" + p.ID)
	if !strings.Contains(alert(page, "error"), "no answer from the provider") {
		t.Errorf("attention alert = %q", alert(page, "error"))
	}
	if got := strings.Join(strings.Fields(page.doc.Find(`.admin-nav a[href="/admin/payouts"]`).Text()), " "); got != "Payouts 1 waiting" {
		t.Errorf("nav = %q", got)
	}
	marked := b.submit(page, `form[action="/admin/payouts/`+p.ID+`/resolve"]:has(input[value="failed"])`, url.Values{"note": {"not on the statement"}})
	if marked.status != http.StatusOK {
		t.Fatalf("mark failed: %d", marked.status)
	}
	got := e.payouts()[0]
	if got.Status != store.TransferFailed || got.Stage != store.StageDone || !strings.Contains(got.Message, "not on the statement") {
		t.Errorf("after mark failed: %s %s %q", got.Status, got.Stage, got.Message)
	}
	if !strings.Contains(marked.doc.Find("ol.timeline").Text(), adminEmail) {
		t.Error("the timeline does not name who marked it")
	}
	if got := e.wantAudit("payout.resolve", "payout", p.ID, adminEmail); got.Detail != "marked failed: not on the statement" {
		t.Errorf("resolve detail = %q", got.Detail)
	}
	if n := marked.doc.Find(".nav-count").Length(); n != 0 {
		t.Errorf("nav still counts %d", n)
	}
	// A second mark, from a stale page, changes nothing.
	again := b.submit(page, `form[action="/admin/payouts/`+p.ID+`/resolve"]`, nil)
	if !strings.Contains(alert(again, "error"), "no longer needs attention") {
		t.Errorf("second mark: %q", alert(again, "error"))
	}
}

func TestSendMoneyRefusesBadInputWithTheFieldMarkedAndSendsNothing(t *testing.T) {
	e := newEnv(t, envOptions{payout: "pochipay"})
	e.sim.SetPochipayBalance(1000_00)
	b := e.adminBrowser()
	form := b.get(e.app.URL + "/admin/payouts/new")
	if got := strings.TrimSpace(form.doc.Find(".payout-balance").Text()); got != "Balance: KES 1,000.00" {
		t.Errorf("balance = %q", got)
	}
	good := url.Values{"phone": {"0712345678"}, "name": {"Jane"}, "amount": {"500"}, "reference": {"R-1"}}
	// steps are the values of confirm a refusal is checked at: both the
	// first step and the confirm step for what the form reads itself, the
	// confirm step alone for the service's own text limits.
	both, atConfirm := []string{"", "1"}, []string{"1"}
	tests := []struct {
		name, field, value, msg string
		steps                   []string
	}{
		{"bad phone", "phone", "12345", "Kenyan M-Pesa number", both},
		{"no amount", "amount", "", "whole shillings", both},
		{"cents", "amount", "10.50", "without cents", both},
		{"not a number", "amount", "ten", "whole shillings", both},
		{"above the balance", "amount", "1,001", "More than the balance (KES 1,000.00)", both},
		{"name too long", "name", strings.Repeat("n", 101), "name", atConfirm},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			vals := url.Values{}
			for k, v := range good {
				vals[k] = v
			}
			vals.Set(tt.field, tt.value)
			for _, confirm := range tt.steps {
				vals.Set("confirm", confirm)
				p := b.submit(form, "form.payout-form", vals)
				in := p.doc.Find("#f-" + tt.field)
				if p.status != http.StatusUnprocessableEntity || in.AttrOr("aria-invalid", "") != "true" ||
					!strings.Contains(p.doc.Find("#"+tt.field+"-error").Text(), tt.msg) {
					t.Fatalf("confirm=%q: %d, invalid=%q, error %q\n%s", confirm, p.status, in.AttrOr("aria-invalid", ""),
						p.doc.Find("#"+tt.field+"-error").Text(), p.body)
				}
				if got := in.AttrOr("value", ""); got != tt.value {
					t.Errorf("the typed value came back as %q", got)
				}
			}
			if n := len(e.payouts()); n != 0 {
				t.Errorf("payouts = %d", n)
			}
		})
	}
	if err := e.svc.ProcessTransfers(context.Background()); err != nil {
		t.Fatal(err)
	}
	if n := e.sim.PayoutSends(sandbox.PayoutPochipay); n != 0 {
		t.Errorf("sent %d", n)
	}

	// The same reference twice: the second is refused on its field.
	ok := b.submit(form, "form.payout-form", url.Values{"phone": {"0712345678"}, "amount": {"100"}, "reference": {"R-2"}, "confirm": {"1"}})
	if ok.status != http.StatusOK || len(e.payouts()) != 1 {
		t.Fatalf("first R-2: %d, %d payouts", ok.status, len(e.payouts()))
	}
	dup := b.submit(form, "form.payout-form", url.Values{"phone": {"0712345678"}, "amount": {"100"}, "reference": {"R-2"}, "confirm": {"1"}})
	if dup.status != http.StatusUnprocessableEntity || dup.doc.Find("#f-reference").AttrOr("aria-invalid", "") != "true" || len(e.payouts()) != 1 {
		t.Errorf("second R-2: %d, %d payouts\n%s", dup.status, len(e.payouts()), dup.body)
	}
}

func TestSendMoneyWithoutAPayoutProviderSaysSo(t *testing.T) {
	e := newEnv(t, envOptions{})
	b := e.adminBrowser()
	p := b.get(e.app.URL + "/admin/payouts/new")
	if p.status != http.StatusOK || p.doc.Find("form.payout-form").Length() != 0 ||
		!strings.Contains(p.doc.Find(".empty").Text(), "No payout provider") {
		t.Fatalf("send money without provider: %d\n%s", p.status, p.body)
	}
	r := b.post(e.app.URL+"/admin/payouts", url.Values{"csrf_token": {csrfToken(p)}, "phone": {"0712345678"}, "amount": {"100"}}, nil)
	if r.status != http.StatusUnprocessableEntity || len(e.payouts()) != 0 {
		t.Errorf("post without provider: %d, %d payouts", r.status, len(e.payouts()))
	}
}

func TestTransferListsAndPagesRender(t *testing.T) {
	e := newEnv(t, envOptions{payout: "pochipay"})
	b := e.adminBrowser()
	for _, path := range []string{"/admin/refunds", "/admin/payouts", "/admin/refunds?status=failed&stage=attention"} {
		p := b.get(e.app.URL + path)
		if p.status != http.StatusOK || p.doc.Find("form.filters").Length() != 1 || p.doc.Find(".empty").Length() != 1 {
			t.Errorf("%s: %d", path, p.status)
		}
	}
	bad := b.get(e.app.URL + "/admin/payouts?stage=sending")
	if bad.status != http.StatusUnprocessableEntity || bad.doc.Find("#f-stage").AttrOr("aria-invalid", "") != "true" {
		t.Errorf("bad stage: %d", bad.status)
	}
	for _, path := range []string{"/admin/refunds/ref_nope", "/admin/payouts/po_nope"} {
		if p := b.get(e.app.URL + path); p.status != http.StatusNotFound {
			t.Errorf("%s: %d", path, p.status)
		}
	}
	dash := b.get(e.app.URL + "/admin")
	for _, nav := range []string{"/admin/refunds", "/admin/payouts"} {
		if dash.doc.Find(`.admin-nav a[href="`+nav+`"]`).Length() != 1 {
			t.Errorf("nav lacks %s", nav)
		}
	}
	if dash.doc.Find(".nav-count").Length() != 0 {
		t.Error("nav counts with nothing waiting")
	}
	// Without a session, the new pages go to the login page.
	anon := e.browser()
	if p := anon.get(e.app.URL + "/admin/payouts/new"); !strings.HasSuffix(p.url, "/admin/login") {
		t.Errorf("anonymous send money ended at %s", p.url)
	}
}

// The keyset pages of the payouts list keep the filter.
func TestPayoutsListPagesByKeyset(t *testing.T) {
	e := newEnv(t, envOptions{payout: "pochipay"})
	b := e.adminBrowser()
	m, err := e.svc.Merchant(context.Background(), "default")
	if err != nil {
		t.Fatal(err)
	}
	for i := 0; i < 51; i++ {
		if _, err := e.svc.CreatePayout(context.Background(), m, payments.PayoutRequest{Amount: "10", Phone: "0712345678"}, "api"); err != nil {
			t.Fatal(err)
		}
	}
	first := b.get(e.app.URL + "/admin/payouts?status=pending")
	next := first.doc.Find(`.pager a[rel="next"]`).AttrOr("href", "")
	if len(listIDs(first)) != 50 || !strings.Contains(next, "status=pending") || !strings.Contains(next, "after=") {
		t.Fatalf("first page: %d rows, next %q", len(listIDs(first)), next)
	}
	second := b.get(e.app.URL + next)
	if ids := listIDs(second); len(ids) != 1 || second.doc.Find(`.pager a[href="/admin/payouts?status=pending"]`).Length() != 1 {
		t.Errorf("second page: %v", ids)
	}
}

func TestPesapalMobileMoneyRefundIsOfferedInFullOnceOnly(t *testing.T) {
	e := newEnv(t, envOptions{pesapalRefunds: true})
	id := e.createCheckout("refund-pesapal")
	e.payByIPN(id) // M-Pesa on Pesapal's page
	b := e.adminBrowser()
	order := b.get(e.app.URL + "/admin/orders/" + id)
	amount := order.doc.Find("#refund-amount")
	if _, ro := amount.Attr("readonly"); !ro || amount.AttrOr("value", "") != "1500.00" {
		t.Fatalf("amount field: readonly %v, value %q\n%s", ro, amount.AttrOr("value", ""), order.body)
	}
	hints := order.doc.Find(".refund-hints").Text()
	for _, want := range []string{"in full only", "MPESA", "one refund per payment"} {
		if !strings.Contains(hints, want) {
			t.Errorf("hints lack %q: %q", want, hints)
		}
	}
	// A part, posted anyway, is refused on its field before any call.
	part := b.submit(order, "form.refund-form", url.Values{"amount": {"500"}, "confirm": {"1"}})
	if part.status != http.StatusUnprocessableEntity || part.doc.Find("#refund-amount").AttrOr("aria-invalid", "") != "true" ||
		!strings.Contains(part.doc.Find("#amount-error").Text(), "in full only") {
		t.Fatalf("part: %d\n%s", part.status, part.body)
	}
	if len(e.refunds(id)) != 0 {
		t.Fatal("a refused part made a refund")
	}

	confirm := b.submit(order, "form.refund-form", nil)
	b.submit(confirm, "form.confirm-form", url.Values{"confirm": {"1"}})
	if rs := e.refunds(id); len(rs) != 1 || rs[0].Amount != 1500_00 || rs[0].Route != "pesapal" {
		t.Fatalf("refunds = %+v", rs)
	}
	order = b.get(e.app.URL + "/admin/orders/" + id)
	if order.doc.Find("form.refund-form").Length() != 0 ||
		!strings.Contains(order.doc.Find(".refund-blocked").Text(), "one refund per payment") {
		t.Errorf("after the refund: %q", order.doc.Find(".refund-blocked").Text())
	}
}

func TestPokeaPayCardRefundIsMadeByHandAndMarkedRefunded(t *testing.T) {
	e := newEnv(t, envOptions{payout: "pokeapay"})
	id := e.createCheckout("refund-card")
	b, hosted, _ := e.startPokeaPay(id)
	b.submit(hosted, "form", url.Values{"action": {"pay"}, "type": {"c"}})
	if co := e.checkout(id); co.Status != store.StatusPaid {
		t.Fatalf("status = %s", co.Status)
	}
	a := e.adminBrowser()
	order := a.get(e.app.URL + "/admin/orders/" + id)
	if !strings.Contains(order.doc.Find(".refund-hints").Text(), "refunded by hand") {
		t.Errorf("hints = %q", order.doc.Find(".refund-hints").Text())
	}
	confirm := a.submit(order, "form.refund-form", url.Values{"amount": {"1,500"}})
	if !strings.Contains(confirm.doc.Find(".confirm-note").Text(), "by hand") {
		t.Errorf("confirm notes = %q", confirm.doc.Find(".confirm-note").Text())
	}
	page := a.submit(confirm, "form.confirm-form", url.Values{"confirm": {"1"}})
	rs := e.refunds(id)
	if len(rs) != 1 || rs[0].Route != "manual" || rs[0].Stage != store.StageAttention || rs[0].Status != store.TransferPending {
		t.Fatalf("refunds = %+v", rs)
	}
	if !strings.Contains(alert(page, "error"), "refund by hand") || page.doc.Find(`form[action="/admin/refunds/`+rs[0].ID+`/resolve"]`).Length() != 2 {
		t.Fatalf("refund page:\n%s", page.body)
	}
	if got := strings.Join(strings.Fields(page.doc.Find(`.admin-nav a[href="/admin/refunds"]`).Text()), " "); got != "Refunds 1 waiting" {
		t.Errorf("nav = %q", got)
	}
	attention := a.get(e.app.URL + "/admin/refunds?stage=attention")
	if ids := listIDs(attention); len(ids) != 1 || ids[0] != rs[0].ID {
		t.Errorf("attention list = %v", ids)
	}
	done := a.submit(page, `form[action="/admin/refunds/`+rs[0].ID+`/resolve"]:has(input[value="succeeded"])`, url.Values{"note": {"bank transfer 8812"}})
	if !strings.Contains(alert(done, "info"), "Marked") {
		t.Errorf("after marking: %q", alert(done, "info"))
	}
	if got := e.wantAudit("refund.resolve", "refund", rs[0].ID, adminEmail); got.Detail != "marked succeeded: bank transfer 8812" {
		t.Errorf("resolve detail = %q", got.Detail)
	}
	r := e.refunds(id)[0]
	if r.Status != store.TransferSucceeded || !strings.Contains(r.Message, "bank transfer 8812") {
		t.Errorf("refund after marking: %s %q", r.Status, r.Message)
	}
	if co := e.checkout(id); co.AmountRefunded != 1500_00 || co.RefundReserved != 1500_00 {
		t.Errorf("refunded %d, reserved %d", co.AmountRefunded, co.RefundReserved)
	}
	order = a.get(e.app.URL + "/admin/orders/" + id)
	if !strings.Contains(order.doc.Find(".refund-blocked").Text(), "refunded in full") {
		t.Errorf("order after the full refund: %q", order.doc.Find(".refund-blocked").Text())
	}
}

// A confirm pressed twice (a double click, a page sent again) makes one
// refund and one payout: the second press shows what the first made.
// Another confirm page (a new token) makes a new one.
func TestAdminConfirmPressedTwiceMakesOneRefundAndOnePayout(t *testing.T) {
	e := newEnv(t, envOptions{stk: "pochipay", payout: "pochipay"})
	id := e.createCheckout("refund-twice")
	e.payBySTK(id)
	b := e.adminBrowser()

	order := b.get(e.app.URL + "/admin/orders/" + id)
	confirm := b.submit(order, "form.refund-form", url.Values{"amount": {"500"}, "reason": {"broken"}})
	first := b.submit(confirm, "form.confirm-form", url.Values{"confirm": {"1"}})
	second := b.submit(confirm, "form.confirm-form", url.Values{"confirm": {"1"}})
	rs := e.refunds(id)
	if len(rs) != 1 || e.checkout(id).RefundReserved != 500_00 {
		t.Fatalf("two presses of one confirm made %d refunds, reserved %d; want 1 and 500_00", len(rs), e.checkout(id).RefundReserved)
	}
	want := "/admin/refunds/" + rs[0].ID + "?flash=created"
	if !strings.HasSuffix(first.url, want) || !strings.HasSuffix(second.url, want) || second.status != http.StatusOK {
		t.Errorf("first press at %s, second at %s (%d); want both at the refund's page", first.url, second.url, second.status)
	}
	again := b.submit(b.get(e.app.URL+"/admin/orders/"+id), "form.refund-form", url.Values{"amount": {"500"}, "reason": {"broken"}})
	b.submit(again, "form.confirm-form", url.Values{"confirm": {"1"}})
	if n := len(e.refunds(id)); n != 2 {
		t.Errorf("a new confirm page made %d refunds in all, want 2", n)
	}

	form := b.get(e.app.URL + "/admin/payouts/new")
	pconfirm := b.submit(form, "form.payout-form", url.Values{"phone": {"0712 345 678"}, "amount": {"300"}})
	p1 := b.submit(pconfirm, "form.confirm-form", url.Values{"confirm": {"1"}})
	p2 := b.submit(pconfirm, "form.confirm-form", url.Values{"confirm": {"1"}})
	var plain []store.Payout
	for _, p := range e.payouts() {
		if p.RefundID == "" {
			plain = append(plain, p)
		}
	}
	if len(plain) != 1 {
		t.Fatalf("two presses of Send money's confirm made %d payouts, want 1", len(plain))
	}
	if w := "/admin/payouts/" + plain[0].ID + "?flash=created"; !strings.HasSuffix(p1.url, w) || !strings.HasSuffix(p2.url, w) {
		t.Errorf("first press at %s, second at %s; want both at the payout's page", p1.url, p2.url)
	}
}

// A refund flagged paid after it was marked failed, whose payment another
// refund took meanwhile, cannot be marked refunded: the page says why
// (settle it outside the app) and nothing changes.
func TestFlaggedRefundCoveredByAnotherCannotBeMarkedRefunded(t *testing.T) {
	e := newEnv(t, envOptions{stk: "pochipay", payout: "pochipay", approvalLimit: 100_00})
	id := e.createCheckout("refund-covered")
	e.payBySTK(id)
	a := e.adminBrowser()
	refund := func() {
		order := a.get(e.app.URL + "/admin/orders/" + id)
		confirm := a.submit(order, "form.refund-form", nil) // the whole amount
		a.submit(confirm, "form.confirm-form", url.Values{"confirm": {"1"}})
	}
	refund()
	first := e.refunds(id)[0]
	b := e.adminBrowserAs(secondAdmin)
	p := b.get(e.app.URL + "/admin/refunds/" + first.ID)
	b.submit(p, `form[action="/admin/refunds/`+first.ID+`/decline"]`, url.Values{"reason": {"wrong order"}})
	refund() // takes the whole amount again
	if rs := e.refunds(id); len(rs) != 2 || e.checkout(id).RefundReserved != 1500_00 {
		t.Fatalf("refunds = %+v, reserved %d", rs, e.checkout(id).RefundReserved)
	}
	flagged, err := e.store.FlagPaidAfterFailed(context.Background(), first.PayoutID, "pochipay's status call says it was paid", "pochipay", "")
	if err != nil || !flagged {
		t.Fatalf("flag: %v %v", flagged, err)
	}
	page := b.get(e.app.URL + "/admin/refunds/" + first.ID)
	marked := b.submit(page, `form[action="/admin/refunds/`+first.ID+`/resolve"]:has(input[value="succeeded"])`, url.Values{"note": {"on the statement"}})
	if marked.status != http.StatusOK || !strings.Contains(alert(marked, "error"), "already covers this payment") {
		t.Fatalf("mark refunded: %d %q", marked.status, alert(marked, "error"))
	}
	r, err := e.store.Refund(context.Background(), first.ID)
	if err != nil {
		t.Fatal(err)
	}
	if r.Status != store.TransferFailed || r.Stage != store.StageAttention {
		t.Errorf("refund after the refusal: %s/%s, want failed in attention", r.Status, r.Stage)
	}
	if co := e.checkout(id); co.RefundReserved != 1500_00 || co.AmountRefunded != 0 {
		t.Errorf("reserved %d, refunded %d", co.RefundReserved, co.AmountRefunded)
	}
}
