package web_test

import (
	"context"
	"database/sql"
	"errors"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"checkout/gateway/sandbox"
	"checkout/payments"
	"checkout/store"
)

func TestOwnerChangesARoleAndRemovesAMemberWhoseSessionsEnd(t *testing.T) {
	e := newEnv(t, envOptions{})
	owner := e.adminBrowser()
	member := e.adminBrowserWithRole("member@example.com", store.RoleViewer)
	m, err := e.store.AdminByEmail(context.Background(), "member@example.com")
	if err != nil {
		t.Fatal(err)
	}
	team := owner.get(e.app.URL + "/admin/team")
	if team.status != http.StatusOK {
		t.Fatalf("team page: %d", team.status)
	}
	row := team.doc.Find(`tr[data-admin-id="` + m.ID + `"]`)
	if strings.TrimSpace(row.Find(".member-role").Text()) != store.RoleViewer || strings.TrimSpace(row.Find(".member-email").Text()) != "member@example.com" {
		t.Fatalf("member row: %q", row.Text())
	}
	// The login was audited, so the page knows when it was.
	if !strings.Contains(row.Text(), e.clock.Now().In(time.FixedZone("EAT", 3*3600)).Format("2 Jan 2006 15:04")) {
		t.Errorf("member row has no last login: %q", row.Text())
	}
	self := team.doc.Find(`tr[data-admin-id="` + e.admin().ID + `"]`)
	if self.Find("form").Length() != 0 {
		t.Error("the owner is offered forms on their own row")
	}

	changed := owner.submit(team, `tr[data-admin-id="`+m.ID+`"] form.role-form`, url.Values{"role": {store.RoleManager}})
	if changed.status != http.StatusOK || !strings.HasSuffix(changed.url, "/admin/team?done=role") {
		t.Fatalf("role change: %d at %s", changed.status, changed.url)
	}
	if u, _ := e.store.AdminByID(context.Background(), m.ID); u.Role != store.RoleManager {
		t.Fatalf("role = %s, want manager", u.Role)
	}
	if got := e.wantAudit("team.role_change", "admin", m.ID, adminEmail); got.Detail != "member@example.com: viewer -> manager" {
		t.Errorf("role change detail = %q", got.Detail)
	}
	// The new role holds on the member's next request.
	if r := member.noFollow().fetch(e.app.URL + "/admin/orders.csv"); r.status != http.StatusOK {
		t.Errorf("manager's CSV after the change: %d", r.status)
	}

	removed := owner.submit(changed, `tr[data-admin-id="`+m.ID+`"] form.remove-form`, nil)
	if removed.status != http.StatusOK || !strings.HasSuffix(removed.url, "/admin/team?done=removed") {
		t.Fatalf("remove: %d at %s", removed.status, removed.url)
	}
	if removed.doc.Find(`tr[data-admin-id="`+m.ID+`"]`).Length() != 0 {
		t.Error("the removed member is still listed")
	}
	e.wantAudit("team.remove", "admin", m.ID, adminEmail)
	// Their session ends now, and they cannot log in again.
	if r := member.noFollow().fetch(e.app.URL + "/admin/orders"); r.status != http.StatusSeeOther || r.header.Get("Location") != "/admin/login" {
		t.Errorf("removed member's session: %d to %q, want 303 to /admin/login", r.status, r.header.Get("Location"))
	}
	if _, r := e.login(e.browser(), "member@example.com", adminPassword); r.status != http.StatusUnauthorized ||
		!strings.Contains(r.body, wrongLoginText) {
		t.Errorf("removed member's login: %d, want 401 with the generic refusal", r.status)
	}
}

// TestNoOwnerChangesTheirOwnRoleAndTheLastOwnerStays: an owner's own row
// offers no change and a hand-made post is refused; the last owner cannot be
// demoted or removed by anyone (with one owner, only a request racing the
// other owner's step down could ask: the service refuses it).
func TestNoOwnerChangesTheirOwnRoleAndTheLastOwnerStays(t *testing.T) {
	e := newEnv(t, envOptions{})
	owner := e.adminBrowser()
	ownerID := e.admin().ID
	token := csrfToken(owner.get(e.app.URL + "/admin/team"))
	for _, path := range []string{"/admin/team/" + ownerID + "/role", "/admin/team/" + ownerID + "/remove"} {
		r := owner.post(e.app.URL+path, url.Values{"csrf_token": {token}, "role": {store.RoleViewer}}, nil)
		if r.status != http.StatusConflict || !strings.Contains(alert(r.page, "error"), "your own role") {
			t.Errorf("%s on oneself: %d %q", path, r.status, alert(r.page, "error"))
		}
	}
	ctx := context.Background()
	if _, err := e.svc.ChangeRole(ctx, "adm_another", ownerID, store.RoleManager); !errors.Is(err, payments.ErrLastOwner) {
		t.Errorf("demote the last owner: %v, want ErrLastOwner", err)
	}
	if _, _, err := e.svc.RemoveAdmin(ctx, "adm_another", ownerID); !errors.Is(err, payments.ErrLastOwner) {
		t.Errorf("remove the last owner: %v, want ErrLastOwner", err)
	}
	if u := e.admin(); u.Role != store.RoleOwner || u.RemovedAt != nil {
		t.Errorf("owner after the refusals: role %s removed %v", u.Role, u.RemovedAt)
	}
	if es, err := e.svc.AuditEntries(ctx, payments.AuditFilter{Action: "team.role_change"}); err != nil || len(es) != 0 {
		t.Errorf("refused changes were audited: %v %v", es, err)
	}

	// A second owner may step the first down; then the first, a manager,
	// no longer reaches the team page.
	other := e.adminBrowserWithRole("other@example.com", store.RoleOwner)
	otherToken := csrfToken(other.get(e.app.URL + "/admin/team"))
	if r := other.noFollow().post(e.app.URL+"/admin/team/"+ownerID+"/role",
		url.Values{"csrf_token": {otherToken}, "role": {store.RoleManager}}, nil); r.status != http.StatusSeeOther {
		t.Fatalf("demote the first owner: %d\n%s", r.status, r.body)
	}
	if r := owner.noFollow().fetch(e.app.URL + "/admin/team"); r.status != http.StatusForbidden {
		t.Errorf("team page as a manager: %d, want 403", r.status)
	}
}

// invite has the owner's browser invite email with role from the team
// page, and returns the answer.
func invite(b *browser, e *env, email, role string) page {
	b.t.Helper()
	team := b.get(e.app.URL + "/admin/team")
	if team.status != http.StatusOK {
		b.t.Fatalf("team page: %d", team.status)
	}
	return b.submit(team, "form.invite-form", url.Values{"email": {email}, "role": {role}})
}

func inviteID(t *testing.T, e *env, email string) string {
	t.Helper()
	is, err := e.svc.PendingInvites(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	for _, i := range is {
		if i.Email == email {
			return i.ID
		}
	}
	t.Fatalf("no open invite for %s", email)
	return ""
}

func TestInviteLinkIsShownOnceWorksOnceAndLogsTheNewAdminInWithItsRole(t *testing.T) {
	e := newEnv(t, envOptions{})
	owner := e.adminBrowser()
	made := invite(owner, e, "New.Person@Example.com", store.RoleManager)
	link := made.doc.Find("input.invite-link").AttrOr("value", "")
	if made.status != http.StatusOK || !strings.HasPrefix(link, e.app.URL+"/admin/invite/") {
		t.Fatalf("invite: %d, link %q\n%s", made.status, link, made.body)
	}
	token := strings.TrimPrefix(link, e.app.URL+"/admin/invite/")
	id := inviteID(t, e, "new.person@example.com")
	if got := e.wantAudit("team.invite", "invite", id, adminEmail); got.Detail != "new.person@example.com as manager (link shown once)" {
		t.Errorf("invite detail = %q", got.Detail)
	}
	e.noSecretIn(token)
	// Shown once: the team page lists the invite, never its link again.
	again := owner.get(e.app.URL + "/admin/team")
	if strings.Contains(again.body, token) || again.doc.Find(`tr[data-invite-id="`+id+`"]`).Length() != 1 {
		t.Errorf("team page after: link shown %v, invite rows %d", strings.Contains(again.body, token),
			again.doc.Find(`tr[data-invite-id="`+id+`"]`).Length())
	}
	// Only the token's hash is stored.
	db, err := sql.Open("sqlite3", "file:"+e.dbPath+"?_busy_timeout=5000")
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	var stored string
	if err := db.QueryRow(`SELECT token_hash FROM admin_invites WHERE id = ?`, id).Scan(&stored); err != nil ||
		len(stored) != 64 || strings.Contains(stored, token) {
		t.Errorf("stored token hash %q (%v)", stored, err)
	}

	// The new admin: no session needed; the form refuses a short password
	// and two that differ, then accepts and logs in.
	n := e.browser()
	form := n.get(link)
	if form.status != http.StatusOK || !strings.Contains(form.body, "new.person@example.com") {
		t.Fatalf("invite page: %d\n%s", form.status, form.body)
	}
	short := n.submit(form, "form", url.Values{"password": {"short"}, "confirm": {"short"}})
	if short.status != http.StatusUnprocessableEntity || short.doc.Find("#password[aria-invalid=true]").Length() != 1 {
		t.Errorf("short password: %d", short.status)
	}
	differ := n.submit(form, "form", url.Values{"password": {"a long enough password"}, "confirm": {"another long password"}})
	if differ.status != http.StatusUnprocessableEntity || differ.doc.Find("#confirm[aria-invalid=true]").Length() != 1 {
		t.Errorf("passwords that differ: %d", differ.status)
	}
	if _, err := e.store.AdminByEmail(context.Background(), "new.person@example.com"); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("a refused form made the admin: %v", err)
	}
	done := n.noFollow().submitRaw(form, "form", url.Values{"password": {"a long enough password"}, "confirm": {"a long enough password"}})
	if done.status != http.StatusSeeOther || done.header.Get("Location") != "/admin" {
		t.Fatalf("accept: %d to %q\n%s", done.status, done.header.Get("Location"), done.body)
	}
	u, err := e.store.AdminByEmail(context.Background(), "new.person@example.com")
	if err != nil || u.Role != store.RoleManager {
		t.Fatalf("new admin: %+v %v", u, err)
	}
	if ok, err := store.VerifyPassword(u.PasswordHash, "a long enough password"); !ok || err != nil || !strings.HasPrefix(u.PasswordHash, "$argon2id$") {
		t.Errorf("password hash: %v %v", ok, err)
	}
	if dash := n.noFollow().fetch(e.app.URL + "/admin"); dash.status != http.StatusOK {
		t.Errorf("the new admin is not logged in: %d", dash.status)
	}
	e.wantAudit("team.invite_accept", "admin", u.ID, "new.person@example.com")

	// A second use, from any browser, gets the one clear page.
	for _, b := range []*browser{n, e.browser()} {
		if p := b.get(link); p.status != http.StatusGone || !strings.Contains(p.body, "This invite link no longer works") {
			t.Errorf("second open: %d", p.status)
		}
	}
	fresh := e.browser()
	tok := csrfToken(fresh.get(e.app.URL + "/admin/login"))
	reuse := fresh.post(link, url.Values{"csrf_token": {tok}, "password": {"another long password"}, "confirm": {"another long password"}}, nil)
	if reuse.status != http.StatusGone || !strings.Contains(reuse.body, "This invite link no longer works") {
		t.Errorf("second use: %d", reuse.status)
	}
	if again, _ := e.store.AdminByEmail(context.Background(), "new.person@example.com"); again.PasswordHash != u.PasswordHash {
		t.Error("the second use changed the password")
	}
}

func TestRevokedExpiredAndMadeUpInviteLinksGetOneClearPage(t *testing.T) {
	e := newEnv(t, envOptions{})
	owner := e.adminBrowser()
	revoked := invite(owner, e, "revoked@example.com", store.RoleViewer)
	revokedLink := revoked.doc.Find("input.invite-link").AttrOr("value", "")
	id := inviteID(t, e, "revoked@example.com")
	after := owner.submit(owner.get(e.app.URL+"/admin/team"), `tr[data-invite-id="`+id+`"] form.revoke-form`, nil)
	if after.status != http.StatusOK || !strings.HasSuffix(after.url, "?done=revoked") || after.doc.Find(`tr[data-invite-id="`+id+`"]`).Length() != 0 {
		t.Fatalf("revoke: %d at %s", after.status, after.url)
	}
	e.wantAudit("team.invite_revoke", "invite", id, adminEmail)

	expired := invite(owner, e, "late@example.com", store.RoleViewer)
	expiredLink := expired.doc.Find("input.invite-link").AttrOr("value", "")
	e.clock.Advance(payments.InviteTTL + time.Second)

	for name, link := range map[string]string{"revoked": revokedLink, "expired": expiredLink,
		"made up": e.app.URL + "/admin/invite/" + strings.Repeat("A", 43), "malformed": e.app.URL + "/admin/invite/x"} {
		t.Run(name, func(t *testing.T) {
			p := e.browser().get(link)
			if p.status != http.StatusGone || !strings.Contains(p.body, "This invite link no longer works") {
				t.Errorf("open: %d\n%.300s", p.status, p.body)
			}
		})
	}
	for _, email := range []string{"revoked@example.com", "late@example.com"} {
		if _, err := e.store.AdminByEmail(context.Background(), email); !errors.Is(err, store.ErrNotFound) {
			t.Errorf("%s became an admin: %v", email, err)
		}
	}
}

func TestInviteIsEmailedWhenMailIsConfiguredAndNotShown(t *testing.T) {
	e := newEnv(t, envOptions{mailer: func(sb *sandbox.Sandbox) payments.Mailer { return sb }})
	owner := e.adminBrowser()
	made := invite(owner, e, "mailed@example.com", store.RoleViewer)
	if made.status != http.StatusOK || made.doc.Find("input.invite-link").Length() != 0 ||
		!strings.Contains(made.doc.Find(".new-invite").Text(), "Invite emailed to mailed@example.com") {
		t.Fatalf("invite with mail: %d\n%s", made.status, made.body)
	}
	mails := e.sim.Mails()
	if len(mails) != 1 || mails[0].To != "mailed@example.com" {
		t.Fatalf("mails = %+v", mails)
	}
	i := strings.Index(mails[0].Text, e.app.URL+"/admin/invite/")
	if i < 0 {
		t.Fatalf("no link in the email:\n%s", mails[0].Text)
	}
	link := strings.Fields(mails[0].Text[i:])[0]
	if strings.Contains(made.body, link) {
		t.Error("the emailed link is on the page too")
	}
	if p := e.browser().get(link); p.status != http.StatusOK {
		t.Errorf("emailed link: %d", p.status)
	}
	if got := e.wantAudit("team.invite", "invite", inviteID(t, e, "mailed@example.com"), adminEmail); got.Detail != "mailed@example.com as viewer (emailed)" {
		t.Errorf("detail = %q", got.Detail)
	}
}

func TestInviteRefusesABadEmailAnExistingMemberAndASecondOpenInvite(t *testing.T) {
	e := newEnv(t, envOptions{})
	owner := e.adminBrowser()
	invite(owner, e, "once@example.com", store.RoleViewer)
	before := e.dbDigest()
	for _, tc := range []struct{ email, role, field string }{
		{"not an email", store.RoleViewer, "email"},
		{adminEmail, store.RoleViewer, "email"},
		{"once@example.com", store.RoleManager, "email"},
		{"fine@example.com", "boss", "role"},
	} {
		p := invite(owner, e, tc.email, tc.role)
		if p.status != http.StatusUnprocessableEntity || p.doc.Find("#"+tc.field+"[aria-invalid=true]").Length() != 1 ||
			p.doc.Find("input.invite-link").Length() != 0 {
			t.Errorf("invite %q as %q: %d, field %s not marked", tc.email, tc.role, p.status, tc.field)
		}
	}
	if e.dbDigest() != before {
		t.Error("a refused invite changed the database")
	}
}

func TestInviteLinksAreLimitedPerClientIP(t *testing.T) {
	e := newEnv(t, envOptions{})
	b := e.browser()
	var last int
	for i := 0; i < 12; i++ {
		last = b.get(e.app.URL + "/admin/invite/" + strings.Repeat("B", 43)).status
	}
	if last != http.StatusTooManyRequests {
		t.Errorf("after 12 tries: %d, want 429", last)
	}
}

func TestInviteWhoseEmailIsRefusedIsShownOnceInstead(t *testing.T) {
	e, m := mailEnv(t)
	m.setRefuse(true)
	owner := e.adminBrowser()
	made := invite(owner, e, "bounced@example.com", store.RoleViewer)
	link := made.doc.Find("input.invite-link").AttrOr("value", "")
	if made.status != http.StatusOK || !strings.HasPrefix(link, e.app.URL+"/admin/invite/") || len(e.sim.Mails()) != 0 {
		t.Fatalf("invite with a refused send: %d, link %q, mails %d", made.status, link, len(e.sim.Mails()))
	}
	if p := e.browser().get(link); p.status != http.StatusOK {
		t.Errorf("shown link: %d", p.status)
	}
	if got := e.wantAudit("team.invite", "invite", inviteID(t, e, "bounced@example.com"), adminEmail); got.Detail != "bounced@example.com as viewer (link shown once)" {
		t.Errorf("detail = %q", got.Detail)
	}
}
