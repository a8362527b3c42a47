package web_test

import (
	"context"
	"database/sql"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/PuerkitoBio/goquery"

	"checkout/payments"
	"checkout/store"
)

// wantAudit finds the newest audit entry of action on objectID and checks
// who (actor's email and id), what (object type) and from where (the test
// client's loopback address). It returns the entry.
func (e *env) wantAudit(action, objectType, objectID, actor string) payments.AuditEntry {
	e.t.Helper()
	es, err := e.svc.AuditEntries(context.Background(), payments.AuditFilter{Action: action, ObjectID: objectID})
	if err != nil {
		e.t.Fatal(err)
	}
	if len(es) == 0 {
		all, _ := e.svc.AuditEntries(context.Background(), payments.AuditFilter{})
		e.t.Fatalf("no audit entry %s on %s; the log holds %+v", action, objectID, all)
	}
	got := es[0]
	if got.ActorEmail != actor || got.ObjectType != objectType || got.IP != "127.0.0.1" {
		e.t.Errorf("audit %s on %s = actor %q type %q ip %q, want %q %q 127.0.0.1", action, objectID,
			got.ActorEmail, got.ObjectType, got.IP, actor, objectType)
	}
	u, err := e.store.AdminByEmail(context.Background(), actor)
	if err != nil {
		e.t.Fatal(err)
	}
	if got.ActorID != u.ID {
		e.t.Errorf("audit %s actor id = %q, want %q", action, got.ActorID, u.ID)
	}
	if got.CreatedAt.IsZero() {
		e.t.Errorf("audit %s has no time", action)
	}
	return got
}

// noSecretIn fails when an audit entry's detail holds secret.
func (e *env) noSecretIn(secret string) {
	e.t.Helper()
	if secret == "" {
		e.t.Fatal("noSecretIn: empty secret")
	}
	es, err := e.svc.AuditEntries(context.Background(), payments.AuditFilter{Limit: 200})
	if err != nil {
		e.t.Fatal(err)
	}
	for _, en := range es {
		if strings.Contains(en.Detail, secret) || strings.Contains(en.ObjectID, secret) {
			e.t.Errorf("audit entry %s holds a secret: %+v", en.Action, en)
		}
	}
}

func TestAuditOfAManagersRefundApprovalAndPayoutDecline(t *testing.T) {
	e := newEnv(t, envOptions{stk: "pochipay", payout: "pochipay", approvalLimit: 100_00})
	id := e.createCheckout("audit-approve")
	e.payBySTK(id)
	a := e.adminBrowser()
	order := a.get(e.app.URL + "/admin/orders/" + id)
	confirm := a.submit(order, "form.refund-form", nil)
	a.submit(confirm, "form.confirm-form", url.Values{"confirm": {"1"}})
	rs := e.refunds(id)
	if len(rs) != 1 || rs[0].Stage != store.StageApproval {
		t.Fatalf("refunds = %+v", rs)
	}
	// A manager approves (the approval rule: a manager or owner, not the
	// one who asked).
	b := e.adminBrowserWithRole(secondAdmin, store.RoleManager)
	p := b.get(e.app.URL + "/admin/refunds/" + rs[0].ID)
	if approved := b.submit(p, `form[action="/admin/refunds/`+rs[0].ID+`/approve"]`, nil); approved.status != http.StatusOK {
		t.Fatalf("approve: %d", approved.status)
	}
	e.wantAudit("refund.approve", "refund", rs[0].ID, secondAdmin)

	form := a.get(e.app.URL + "/admin/payouts/new")
	confirm = a.submit(form, "form.payout-form", url.Values{"phone": {"0712 345 678"}, "amount": {"2,000"}})
	a.submit(confirm, "form.confirm-form", url.Values{"confirm": {"1"}})
	var ps []store.Payout
	for _, p := range e.payouts() {
		if p.RefundID == "" { // not the approved refund's payout
			ps = append(ps, p)
		}
	}
	if len(ps) != 1 || ps[0].Stage != store.StageApproval {
		t.Fatalf("payouts = %+v", ps)
	}
	p = b.get(e.app.URL + "/admin/payouts/" + ps[0].ID)
	if declined := b.submit(p, `form[action="/admin/payouts/`+ps[0].ID+`/decline"]`, url.Values{"reason": {"wrong number"}}); declined.status != http.StatusOK {
		t.Fatalf("decline: %d", declined.status)
	}
	if got := e.wantAudit("payout.decline", "payout", ps[0].ID, secondAdmin); got.Detail != "wrong number" {
		t.Errorf("decline detail = %q", got.Detail)
	}
}

func TestAuditPageListsNewestFirstInNairobiTimeFiltersAndPages(t *testing.T) {
	e := newEnv(t, envOptions{})
	owner := e.adminBrowser()
	ctx := context.Background()
	e.clock.Advance(-e.clock.Now().Sub(time.Date(2026, 3, 14, 21, 30, 0, 0, time.UTC)))
	for i := range 55 {
		e.clock.Advance(time.Second)
		if err := e.svc.Audit(ctx, payments.AuditEntry{ActorEmail: "a@example.com", Action: "link.create", ObjectType: "link",
			ObjectID: fmt.Sprintf("lnk_%02d", i), IP: "192.0.2.7", Detail: "Maize"}); err != nil {
			t.Fatal(err)
		}
	}
	if err := e.svc.Audit(ctx, payments.AuditEntry{ActorEmail: "b@example.com", Action: "refund.create", ObjectType: "refund",
		ObjectID: "rf_1", IP: "192.0.2.8"}); err != nil {
		t.Fatal(err)
	}
	objects := func(p page) []string {
		var ids []string
		p.doc.Find("table.audit tbody tr .audit-object").Each(func(_ int, s *goquery.Selection) {
			ids = append(ids, strings.Fields(s.Text())[1])
		})
		return ids
	}
	all := owner.get(e.app.URL + "/admin/audit")
	if all.status != http.StatusOK {
		t.Fatalf("audit page: %d", all.status)
	}
	if ids := objects(all); len(ids) != 50 || ids[0] != "rf_1" || ids[1] != "lnk_54" {
		t.Fatalf("first page = %v", ids)
	}
	// 21:30:55 UTC is 00:30:55 the next day in Nairobi.
	if at := strings.TrimSpace(all.doc.Find("table.audit tbody tr .audit-at").First().Text()); at != "15 Mar 2026 00:30:55" {
		t.Errorf("time = %q, want Nairobi's", at)
	}
	filtered := owner.get(e.app.URL + "/admin/audit?action=link.create")
	first := objects(filtered)
	next := filtered.doc.Find(`a[rel="next"]`).AttrOr("href", "")
	if len(first) != 50 || first[0] != "lnk_54" || next == "" {
		t.Fatalf("filtered first page: %d rows from %v, next %q", len(first), first[:1], next)
	}
	second := owner.get(e.app.URL + next)
	if ids := objects(second); strings.Join(ids, " ") != "lnk_04 lnk_03 lnk_02 lnk_01 lnk_00" ||
		second.doc.Find(`a[rel="next"]`).Length() != 0 {
		t.Errorf("second page = %v", ids)
	}
	for q, want := range map[string]string{"actor=b@example.com": "rf_1", "object=lnk_07": "lnk_07"} {
		if ids := objects(owner.get(e.app.URL + "/admin/audit?" + q)); len(ids) != 1 || ids[0] != want {
			t.Errorf("?%s = %v, want [%s]", q, ids, want)
		}
	}
	if r := owner.get(e.app.URL + "/admin/audit?before=abc"); r.status != http.StatusBadRequest {
		t.Errorf("bad page: %d", r.status)
	}
}

// TestAnAuditWriteThatFailsIsCountedAndTheActionStands: the action is done
// and answered as usual; the lost entry is logged and counted.
func TestAnAuditWriteThatFailsIsCountedAndTheActionStands(t *testing.T) {
	e := newEnv(t, envOptions{})
	b := e.adminBrowser()
	db, err := sql.Open("sqlite3", "file:"+e.dbPath+"?_busy_timeout=5000")
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	if _, err := db.Exec(`CREATE TRIGGER audit_log_refuse_all BEFORE INSERT ON audit_log
		BEGIN SELECT RAISE(ABORT, 'audit log unavailable'); END`); err != nil {
		t.Fatal(err)
	}
	if got := e.scrape().value("checkout_audit_write_failures_total", ""); got != 0 {
		t.Fatalf("failures before = %v", got)
	}
	form := b.get(e.app.URL + "/admin/links/new")
	detail := b.submit(form, "form.link-form", url.Values{"description": {"Maize"}, "amount_mode": {"fixed"}, "amount": {"100"}})
	linkID, ok := strings.CutPrefix(strings.Split(strings.TrimPrefix(detail.url, e.app.URL), "?")[0], "/admin/links/")
	if detail.status != http.StatusOK || !ok {
		t.Fatalf("link create with the audit log down: %d at %s", detail.status, detail.url)
	}
	if _, err := e.store.PaymentLink(context.Background(), linkID); err != nil {
		t.Fatalf("the link was not kept: %v", err)
	}
	if got := e.scrape().value("checkout_audit_write_failures_total", ""); got != 1 {
		t.Errorf("failures after = %v, want 1", got)
	}
}
