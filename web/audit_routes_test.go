package web_test

import (
	"context"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"checkout/gateway/sandbox"
	"checkout/payments"
	"checkout/store"
)

// auditedRoute is a state-changing admin route, the audit entry a request
// to it that succeeds writes, and that request.
type auditedRoute struct {
	route      string // "POST /admin/...", as the engine registers it
	action     string
	objectType string
	actor      string
	// do makes a request to the route that succeeds and returns the id of
	// the object acted on.
	do func() string
}

// lastAuditID is the id of the newest audit entry (0: none).
func (e *env) lastAuditID() int64 {
	e.t.Helper()
	es, err := e.svc.AuditEntries(context.Background(), payments.AuditFilter{Limit: 1})
	if err != nil {
		e.t.Fatal(err)
	}
	if len(es) == 0 {
		return 0
	}
	return es[0].ID
}

// newPayoutID is the id of the one payout (not a refund's) made by do.
func (e *env) newPayoutID(do func()) string {
	e.t.Helper()
	seen := map[string]bool{}
	for _, p := range e.payouts() {
		seen[p.ID] = true
	}
	do()
	var ids []string
	for _, p := range e.payouts() {
		if !seen[p.ID] && p.RefundID == "" {
			ids = append(ids, p.ID)
		}
	}
	if len(ids) != 1 {
		e.t.Fatalf("new payouts %v, want one", ids)
	}
	return ids[0]
}

// TestEveryStateChangingAdminRouteWritesAnAuditEntry walks every POST
// route under /admin that the engine registers (so a route added later
// fails here until it has a step below, and that step sees its entry):
// each step makes a request to its route that succeeds, and an audit entry
// of the route's action on the object acted on, newer than the step, is
// then in the log, with the admin (email and id) and the request's IP.
func TestEveryStateChangingAdminRouteWritesAnAuditEntry(t *testing.T) {
	m := &refusableMailer{}
	e := newEnv(t, envOptions{stk: "pochipay", payout: "pochipay", approvalLimit: 100_00, privateWebhooks: true,
		mailer: func(sb *sandbox.Sandbox) payments.Mailer {
			m.next = sb
			return m
		}})
	ctx := context.Background()
	owner := e.adminBrowser()
	ownerID := e.admin().ID
	manager := e.adminBrowserWithRole(secondAdmin, store.RoleManager)
	rcv := newReceiver(t)
	ok := func(what string, r page, want int) page {
		t.Helper()
		if r.status != want {
			t.Fatalf("%s: %d at %s, want %d\n%.2000s", what, r.status, r.url, want, r.body)
		}
		return r
	}
	// refund asks for a refund of a new order paid by M-Pesa prompt
	// (amount "" is the whole KES 1,500, above the approval limit) and
	// returns its id.
	refund := func(ref, amount string) string {
		t.Helper()
		// M-Pesa refuses the same amount to the same phone twice within 2
		// minutes.
		e.clock.Advance(2*time.Minute + time.Second)
		id := e.createCheckout(ref)
		e.payBySTK(id)
		vals := url.Values{}
		if amount != "" {
			vals.Set("amount", amount)
		}
		confirm := ok("refund form", owner.submit(owner.get(e.app.URL+"/admin/orders/"+id), "form.refund-form", vals), http.StatusOK)
		ok("refund confirm", owner.submit(confirm, "form.confirm-form", url.Values{"confirm": {"1"}}), http.StatusOK)
		rs := e.refunds(id)
		if len(rs) != 1 {
			t.Fatalf("refunds of %s: %+v", id, rs)
		}
		return rs[0].ID
	}
	// payout sends money to a phone (above the limit: it waits for
	// approval) and returns its id.
	payout := func(amount string) string {
		t.Helper()
		return e.newPayoutID(func() {
			form := owner.get(e.app.URL + "/admin/payouts/new")
			confirm := ok("payout form", owner.submit(form, "form.payout-form", url.Values{"phone": {"0712 345 678"}, "amount": {amount}}), http.StatusOK)
			ok("payout confirm", owner.submit(confirm, "form.confirm-form", url.Values{"confirm": {"1"}}), http.StatusOK)
		})
	}
	var (
		spare                        *browser
		refundID, payoutID, linkID   string
		inviteLink, newAdminID       string
		totpSecret, merchantID       string
		keyPage                      page
		keyID, rotatedKey, totpLogin string
	)
	const newPassword = "a brand new long password"
	steps := []auditedRoute{
		{"POST /admin/login", "admin.login", "admin", adminEmail, func() string {
			spare = e.browser()
			if _, r := e.login(spare, adminEmail, adminPassword); r.status != http.StatusSeeOther {
				t.Fatalf("login: %d", r.status)
			}
			return ownerID
		}},
		{"POST /admin/logout", "admin.logout", "admin", adminEmail, func() string {
			if r := spare.noFollow().submitRaw(spare.get(e.app.URL+"/admin/orders"), "form.logout", nil); r.status != http.StatusSeeOther {
				t.Fatalf("logout: %d", r.status)
			}
			return ownerID
		}},
		{"POST /admin/orders/:id/recheck", "order.recheck", "checkout", adminEmail, func() string {
			id := e.createCheckout("audit-recheck")
			_, _, order := e.startPesapal(id)
			if err := e.sim.PesapalComplete(order.TrackingID, false); err != nil {
				t.Fatal(err)
			}
			ok("recheck", owner.submit(owner.get(e.app.URL+"/admin/orders/"+id), "form[action$='/recheck']", nil), http.StatusOK)
			return id
		}},
		{"POST /admin/orders/:id/emails/:email/resend", "email.resend", "email", adminEmail, func() string {
			m.setRefuse(true)
			id := e.createCheckout("audit-email")
			e.payByIPN(id)
			e.sendEmails()
			m.setRefuse(false)
			failed := e.email(id)
			if failed.Status != store.EmailFailed {
				t.Fatalf("receipt %+v, want failed", failed)
			}
			ok("resend email", owner.submit(owner.get(e.app.URL+"/admin/orders/"+id), "li.email[data-email-id='"+failed.ID+"'] form.email-resend", nil), http.StatusOK)
			return failed.ID
		}},
		{"POST /admin/orders/:id/refunds", "refund.create", "refund", adminEmail, func() string {
			refundID = refund("audit-refund-1", "")
			return refundID
		}},
		{"POST /admin/refunds/:id/approve", "refund.approve", "refund", secondAdmin, func() string {
			p := manager.get(e.app.URL + "/admin/refunds/" + refundID)
			ok("approve refund", manager.submit(p, `form[action="/admin/refunds/`+refundID+`/approve"]`, nil), http.StatusOK)
			return refundID
		}},
		{"POST /admin/refunds/:id/decline", "refund.decline", "refund", secondAdmin, func() string {
			id := refund("audit-refund-2", "")
			p := manager.get(e.app.URL + "/admin/refunds/" + id)
			ok("decline refund", manager.submit(p, `form[action="/admin/refunds/`+id+`/decline"]`, url.Values{"reason": {"asked twice"}}), http.StatusOK)
			return id
		}},
		{"POST /admin/refunds/:id/resolve", "refund.resolve", "refund", adminEmail, func() string {
			id := refund("audit-refund-3", "50")
			if err := e.store.ToAttention(ctx, "refund", id, []string{store.StageQueued}, "no answer from the provider", "system", ""); err != nil {
				t.Fatal(err)
			}
			p := owner.get(e.app.URL + "/admin/refunds/" + id)
			ok("resolve refund", owner.submit(p, `form[action="/admin/refunds/`+id+`/resolve"]:has(input[value="failed"])`, url.Values{"note": {"not sent"}}), http.StatusOK)
			return id
		}},
		{"POST /admin/payouts", "payout.create", "payout", adminEmail, func() string {
			payoutID = payout("2,000")
			return payoutID
		}},
		{"POST /admin/payouts/:id/approve", "payout.approve", "payout", secondAdmin, func() string {
			p := manager.get(e.app.URL + "/admin/payouts/" + payoutID)
			ok("approve payout", manager.submit(p, `form[action="/admin/payouts/`+payoutID+`/approve"]`, nil), http.StatusOK)
			return payoutID
		}},
		{"POST /admin/payouts/:id/decline", "payout.decline", "payout", secondAdmin, func() string {
			id := payout("2,000")
			p := manager.get(e.app.URL + "/admin/payouts/" + id)
			ok("decline payout", manager.submit(p, `form[action="/admin/payouts/`+id+`/decline"]`, url.Values{"reason": {"wrong number"}}), http.StatusOK)
			return id
		}},
		{"POST /admin/payouts/:id/resolve", "payout.resolve", "payout", adminEmail, func() string {
			id := payout("50")
			if err := e.store.ToAttention(ctx, "payout", id, []string{store.StageQueued}, "no answer from the provider", "system", ""); err != nil {
				t.Fatal(err)
			}
			p := owner.get(e.app.URL + "/admin/payouts/" + id)
			ok("resolve payout", owner.submit(p, `form[action="/admin/payouts/`+id+`/resolve"]:has(input[value="failed"])`, url.Values{"note": {"not sent"}}), http.StatusOK)
			return id
		}},
		{"POST /admin/links", "link.create", "link", adminEmail, func() string {
			detail := ok("create link", owner.submit(owner.get(e.app.URL+"/admin/links/new"), "form.link-form",
				url.Values{"description": {"Maize"}, "amount_mode": {"fixed"}, "amount": {"100"}}), http.StatusOK)
			id, found := strings.CutPrefix(strings.Split(strings.TrimPrefix(detail.url, e.app.URL), "?")[0], "/admin/links/")
			if !found {
				t.Fatalf("after create link: %s", detail.url)
			}
			linkID = id
			return id
		}},
		{"POST /admin/links/:id/deactivate", "link.deactivate", "link", adminEmail, func() string {
			ok("deactivate link", owner.submit(owner.get(e.app.URL+"/admin/links/"+linkID), "form.deactivate", nil), http.StatusOK)
			return linkID
		}},
		{"POST /admin/webhooks/:merchant/url", "webhook.url_change", "merchant", adminEmail, func() string {
			ok("webhook URL", setWebhookURL(owner, e, rcv.srv.URL), http.StatusOK)
			return "default"
		}},
		{"POST /admin/webhooks/:merchant/rotate", "webhook.secret_rotate", "merchant", adminEmail, func() string {
			ok("rotate secret", owner.submit(owner.get(e.app.URL+"/admin/webhooks"), "section[data-merchant=default] form.rotate", nil), http.StatusOK)
			return "default"
		}},
		{"POST /admin/webhooks/:merchant/test", "webhook.test", "merchant", adminEmail, func() string {
			ok("test event", owner.submit(owner.get(e.app.URL+"/admin/webhooks"), "section[data-merchant=default] form.send-test", nil), http.StatusOK)
			return "default"
		}},
		{"POST /admin/deliveries/:id/resend", "delivery.resend", "delivery", adminEmail, func() string {
			e.deliver()
			ds, err := e.store.RecentWebhookDeliveries(ctx, 10)
			if err != nil || len(ds) == 0 || ds[0].Status != store.DeliveryDelivered {
				t.Fatalf("deliveries %+v (%v), want the test event delivered", ds, err)
			}
			id := ds[0].ID
			ok("resend delivery", owner.submit(owner.get(e.app.URL+"/admin/deliveries"), "tr[data-webhook-id='"+id+"'] form.resend", nil), http.StatusOK)
			return id
		}},
		{"POST /admin/team/invites", "team.invite", "invite", adminEmail, func() string {
			m.setRefuse(true) // the link is shown on the page
			made := ok("invite", invite(owner, e, "new.person@example.com", store.RoleManager), http.StatusOK)
			m.setRefuse(false)
			inviteLink = made.doc.Find("input.invite-link").AttrOr("value", "")
			if !strings.HasPrefix(inviteLink, e.app.URL+"/admin/invite/") {
				t.Fatalf("invite link %q", inviteLink)
			}
			return inviteID(t, e, "new.person@example.com")
		}},
		{"POST /admin/invite/:token", "team.invite_accept", "admin", "new.person@example.com", func() string {
			n := e.browser()
			form := n.get(inviteLink)
			if r := n.noFollow().submitRaw(form, "form", url.Values{"password": {"a long enough password"}, "confirm": {"a long enough password"}}); r.status != http.StatusSeeOther {
				t.Fatalf("accept invite: %d\n%s", r.status, r.body)
			}
			u, err := e.store.AdminByEmail(ctx, "new.person@example.com")
			if err != nil {
				t.Fatal(err)
			}
			newAdminID = u.ID
			return u.ID
		}},
		{"POST /admin/team/invites/:id/revoke", "team.invite_revoke", "invite", adminEmail, func() string {
			m.setRefuse(true)
			ok("invite", invite(owner, e, "revoked@example.com", store.RoleViewer), http.StatusOK)
			m.setRefuse(false)
			id := inviteID(t, e, "revoked@example.com")
			ok("revoke invite", owner.submit(owner.get(e.app.URL+"/admin/team"), `tr[data-invite-id="`+id+`"] form.revoke-form`, nil), http.StatusOK)
			return id
		}},
		{"POST /admin/team/:id/role", "team.role_change", "admin", adminEmail, func() string {
			ok("role change", owner.submit(owner.get(e.app.URL+"/admin/team"), `tr[data-admin-id="`+newAdminID+`"] form.role-form`,
				url.Values{"role": {store.RoleViewer}}), http.StatusOK)
			return newAdminID
		}},
		{"POST /admin/team/:id/remove", "team.remove", "admin", adminEmail, func() string {
			ok("remove", owner.submit(owner.get(e.app.URL+"/admin/team"), `tr[data-admin-id="`+newAdminID+`"] form.remove-form`, nil), http.StatusOK)
			return newAdminID
		}},
		{"POST /admin/account/totp", "account.totp_enable", "admin", adminEmail, func() string {
			totpSecret = e.enrolTOTP(owner, ownerID)
			return ownerID
		}},
		{"POST /admin/login/totp", "admin.login", "admin", adminEmail, func() string {
			half, form := e.passwordStep()
			e.clock.Advance(30 * time.Second) // past the step the set-up used
			if r := half.noFollow().submitRaw(form, "form[action='/admin/login/totp']", url.Values{"code": {code(t, totpSecret, e.clock.Now())}}); r.status != http.StatusSeeOther {
				t.Fatalf("code: %d\n%s", r.status, r.body)
			}
			totpLogin = thisSession(t, half.get(e.app.URL+"/admin/account"))
			return ownerID
		}},
		{"POST /admin/account/sessions/:id/revoke", "account.session_revoke", "session", adminEmail, func() string {
			account := owner.get(e.app.URL + "/admin/account")
			if r := owner.noFollow().submitRaw(account, "tr[data-session='"+totpLogin+"'] form.revoke", nil); r.status != http.StatusSeeOther {
				t.Fatalf("revoke session: %d", r.status)
			}
			return totpLogin
		}},
		{"POST /admin/account/totp/disable", "account.totp_disable", "admin", adminEmail, func() string {
			e.clock.Advance(30 * time.Second)
			ok("two-factor off", owner.submit(owner.get(e.app.URL+"/admin/account"), "form.totp-disable", url.Values{"disable_password": {adminPassword},
				"disable_code": {code(t, totpSecret, e.clock.Now())}}), http.StatusOK)
			return ownerID
		}},
		{"POST /admin/account/password", "account.password_change", "admin", adminEmail, func() string {
			ok("password change", owner.submit(owner.get(e.app.URL+"/admin/account"), "form.password-form", url.Values{"current_password": {adminPassword},
				"new_password": {newPassword}, "confirm_password": {newPassword}}), http.StatusOK)
			return ownerID
		}},
		{"POST /admin/merchants", "merchant.create", "merchant", adminEmail, func() string {
			p := e.newMerchant(owner, merchantValues("Duka Letu"), testPNG)
			merchantID = strings.TrimPrefix(strings.SplitN(p.url, "?", 2)[0], e.app.URL+"/admin/merchants/")
			return merchantID
		}},
		{"POST /admin/merchants/:id", "merchant.update", "merchant", adminEmail, func() string {
			r := owner.submitFile(owner.get(e.app.URL+"/admin/merchants/"+merchantID), "form.merchant-form", merchantValues("Duka Letu Ltd"), nil)
			ok("merchant update", r.page, http.StatusOK)
			return merchantID
		}},
		{"POST /admin/merchants/:id/keys", "api_key.create", "api_key", adminEmail, func() string {
			var key string
			keyPage, key = makeKey(t, owner, owner.get(e.app.URL+"/admin/merchants/"+merchantID), "Till")
			keyID = e.keyIDs(merchantID)[key[len(key)-4:]]
			return keyID
		}},
		{"POST /admin/merchants/:id/keys/:key/rotate", "api_key.rotate", "api_key", adminEmail, func() string {
			r := ok("rotate key", owner.submit(keyPage, "form[action$='/rotate']", url.Values{"overlap": {"1h0m0s"}}), http.StatusOK)
			next := strings.TrimSpace(r.doc.Find("#new-key").Text())
			rotatedKey = e.keyIDs(merchantID)[next[len(next)-4:]]
			return keyID
		}},
		{"POST /admin/merchants/:id/keys/:key/revoke", "api_key.revoke", "api_key", adminEmail, func() string {
			p := owner.get(e.app.URL + "/admin/merchants/" + merchantID)
			ok("revoke key", owner.submit(p, `form[action="/admin/merchants/`+merchantID+`/keys/`+rotatedKey+`/revoke"]`, nil), http.StatusOK)
			return rotatedKey
		}},
	}

	// Every state-changing admin route has a step, and every step's route
	// is registered.
	registered := map[string]bool{}
	for _, rt := range e.engine.Routes() {
		if strings.HasPrefix(rt.Path, "/admin") && rt.Method != http.MethodGet && rt.Method != http.MethodHead {
			registered[rt.Method+" "+rt.Path] = true
		}
	}
	stepped := map[string]bool{}
	for _, s := range steps {
		if stepped[s.route] {
			t.Errorf("two steps for %s", s.route)
		}
		stepped[s.route] = true
		if !registered[s.route] {
			t.Errorf("step for %s, which the engine does not register", s.route)
		}
	}
	for r := range registered {
		if !stepped[r] {
			t.Errorf("%s changes state and has no step here: add one that makes it succeed (and have its handler call h.audit)", r)
		}
	}
	if t.Failed() {
		t.FailNow()
	}

	for _, s := range steps {
		before := e.lastAuditID()
		id := s.do()
		es, err := e.svc.AuditEntries(ctx, payments.AuditFilter{Action: s.action, ObjectID: id, Limit: 1})
		if err != nil {
			t.Fatal(err)
		}
		if len(es) == 0 || es[0].ID <= before {
			t.Errorf("%s: no new %s entry on %s", s.route, s.action, id)
			continue
		}
		e.wantAudit(s.action, s.objectType, id, s.actor)
	}
}
