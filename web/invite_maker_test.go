package web_test

import (
	"context"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"checkout/store"
)

// TestInvitesOfARemovedOwnerStopWorking: an owner who is about to
// be removed invites a second address of theirs as an owner and keeps the
// link (shown to them once). Another owner removes them. Their removal
// must end what they can do; the invite they made lets them back in as an
// owner instead.
func TestInvitesOfARemovedOwnerStopWorking(t *testing.T) {
	e := newEnv(t, envOptions{})
	e.createAdmin() // an owner: the one who stays
	stays := e.browser()
	if _, r := e.login(stays, adminEmail, adminPassword); r.status != http.StatusSeeOther {
		t.Fatalf("login: %d", r.status)
	}
	leaving := e.adminBrowserWithRole("leaving@example.com", store.RoleOwner)
	made := invite(leaving, e, "leaving.personal@example.com", store.RoleOwner)
	link := made.doc.Find("input.invite-link").AttrOr("value", "")
	if !strings.Contains(link, "/admin/invite/") {
		t.Fatalf("invite: %d", made.status)
	}
	invID := inviteID(t, e, "leaving.personal@example.com")
	u, err := e.store.AdminByEmail(context.Background(), "leaving@example.com")
	if err != nil {
		t.Fatal(err)
	}
	team := stays.get(e.app.URL + "/admin/team")
	if removed := stays.submit(team, `tr[data-admin-id="`+u.ID+`"] form.remove-form`, nil); !strings.HasSuffix(removed.url, "done=removed") {
		t.Fatalf("remove: %d at %s", removed.status, removed.url)
	}

	// The removal revoked the invite, on the record.
	e.wantAudit("team.invite_revoke", "invite", invID, adminEmail)

	n := e.browser()
	form := n.get(link)
	if form.status != http.StatusOK {
		return // the invite died with its maker's membership
	}
	done := n.noFollow().submitRaw(form, "form", url.Values{"password": {"a long enough password"}, "confirm": {"a long enough password"}})
	if back, err := e.store.AdminByEmail(context.Background(), "leaving.personal@example.com"); err == nil && back.RemovedAt == nil {
		t.Fatalf("the removed owner's invite made an owner after the removal (accept: %d, role %s)", done.status, back.Role)
	}
}

// TestInvitesOfADemotedOwnerStopWorking: an owner demoted to manager can
// no longer invite, nor through the invites made before: they are
// revoked with the demotion (each on the audit log), while another
// owner's invite stays open.
func TestInvitesOfADemotedOwnerStopWorking(t *testing.T) {
	e := newEnv(t, envOptions{})
	e.createAdmin()
	stays := e.browser()
	if _, r := e.login(stays, adminEmail, adminPassword); r.status != http.StatusSeeOther {
		t.Fatalf("login: %d", r.status)
	}
	demoted := e.adminBrowserWithRole("demoted@example.com", store.RoleOwner)
	made := invite(demoted, e, "friend@example.com", store.RoleOwner)
	link := made.doc.Find("input.invite-link").AttrOr("value", "")
	if !strings.Contains(link, "/admin/invite/") {
		t.Fatalf("invite: %d", made.status)
	}
	invID := inviteID(t, e, "friend@example.com")
	kept := invite(stays, e, "kept@example.com", store.RoleViewer)
	if kept.status != http.StatusOK {
		t.Fatalf("the other owner's invite: %d", kept.status)
	}
	u, err := e.store.AdminByEmail(context.Background(), "demoted@example.com")
	if err != nil {
		t.Fatal(err)
	}
	team := stays.get(e.app.URL + "/admin/team")
	if changed := stays.submit(team, `tr[data-admin-id="`+u.ID+`"] form.role-form`, url.Values{"role": {store.RoleManager}}); !strings.HasSuffix(changed.url, "done=role") {
		t.Fatalf("demote: %d at %s", changed.status, changed.url)
	}
	e.wantAudit("team.invite_revoke", "invite", invID, adminEmail)
	if r := e.browser().get(link); r.status != http.StatusGone {
		t.Errorf("the demoted owner's invite link: %d, want 410", r.status)
	}
	inviteID(t, e, "kept@example.com") // still open
}
