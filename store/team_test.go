package store

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"checkout/store/storetest"
)

func addAdmin(t *testing.T, s *Store, email, role string) string {
	t.Helper()
	id := NewID("adm", s.now())
	if err := s.CreateAdminWithRole(context.Background(), id, email, "hash-"+email, role); err != nil {
		t.Fatalf("CreateAdminWithRole(%s): %v", email, err)
	}
	return id
}

func TestAdminWithoutRoleIsAnOwner(t *testing.T) {
	s, _ := newTestEnv(t)
	ctx := context.Background()
	if err := s.CreateAdmin(ctx, "adm_a", "a@example.com", "h"); err != nil {
		t.Fatal(err)
	}
	// A row written as before migration 17 (no role given) takes the
	// column's default: existing admins became owners.
	if err := s.w.Exec(`INSERT INTO admin_users (id, email, password_hash, created_at, updated_at) VALUES (?, ?, ?, ?, ?)`,
		"adm_old", "old@example.com", "h", t0, t0).Error; err != nil {
		t.Fatal(err)
	}
	for _, email := range []string{"a@example.com", "old@example.com"} {
		u, err := s.AdminByEmail(ctx, email)
		if err != nil {
			t.Fatal(err)
		}
		if u.Role != RoleOwner || u.RemovedAt != nil {
			t.Errorf("%s: role %q removed %v, want owner, not removed", email, u.Role, u.RemovedAt)
		}
	}
	if err := s.w.Exec(`UPDATE admin_users SET role = 'boss' WHERE id = 'adm_a'`).Error; err == nil {
		t.Error("role 'boss' was stored; the CHECK should refuse it")
	}
}

func TestLastOwnerCannotBeDemotedOrRemoved(t *testing.T) {
	s, _ := newTestEnv(t)
	ctx := context.Background()
	owner := addAdmin(t, s, "owner@example.com", RoleOwner)
	mgr := addAdmin(t, s, "mgr@example.com", RoleManager)
	if _, _, err := s.SetAdminRole(ctx, owner, RoleManager); !errors.Is(err, ErrLastOwner) {
		t.Fatalf("demote the last owner: %v, want ErrLastOwner", err)
	}
	if _, _, err := s.RemoveAdmin(ctx, owner); !errors.Is(err, ErrLastOwner) {
		t.Fatalf("remove the last owner: %v, want ErrLastOwner", err)
	}
	// With a second owner, the first may step down.
	old, _, err := s.SetAdminRole(ctx, mgr, RoleOwner)
	if err != nil || old != RoleManager {
		t.Fatalf("promote: %q %v", old, err)
	}
	if old, _, err := s.SetAdminRole(ctx, owner, RoleViewer); err != nil || old != RoleOwner {
		t.Fatalf("demote with another owner: %q %v", old, err)
	}
	// Now mgr is the only owner again.
	if _, _, err := s.RemoveAdmin(ctx, mgr); !errors.Is(err, ErrLastOwner) {
		t.Fatalf("remove the new last owner: %v, want ErrLastOwner", err)
	}
	u, err := s.AdminByID(ctx, mgr)
	if err != nil || u.Role != RoleOwner || u.RemovedAt != nil {
		t.Fatalf("last owner after refusals: %+v %v", u, err)
	}
}

func TestRemoveAdminEndsSessionsAndLeavesTheTeam(t *testing.T) {
	s, clk := newTestEnv(t)
	ctx := context.Background()
	addAdmin(t, s, "owner@example.com", RoleOwner)
	v := addAdmin(t, s, "viewer@example.com", RoleViewer)
	before, err := s.AdminByID(ctx, v)
	if err != nil {
		t.Fatal(err)
	}
	clk.Advance(time.Minute)
	if _, _, err := s.RemoveAdmin(ctx, v); err != nil {
		t.Fatal(err)
	}
	after, err := s.AdminByID(ctx, v)
	if err != nil {
		t.Fatal(err)
	}
	if after.RemovedAt == nil || !after.RemovedAt.Equal(t0.Add(time.Minute)) {
		t.Errorf("removed_at = %v, want %v", after.RemovedAt, t0.Add(time.Minute))
	}
	if after.SessionEpoch != before.SessionEpoch+1 {
		t.Errorf("session epoch %d -> %d, want raised by one", before.SessionEpoch, after.SessionEpoch)
	}
	team, err := s.Team(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if len(team) != 1 || team[0].Email != "owner@example.com" {
		t.Errorf("team = %+v, want the owner alone", team)
	}
	if _, _, err := s.RemoveAdmin(ctx, v); !errors.Is(err, ErrNotFound) {
		t.Errorf("remove twice: %v, want ErrNotFound", err)
	}
	if _, _, err := s.SetAdminRole(ctx, v, RoleManager); !errors.Is(err, ErrNotFound) {
		t.Errorf("role of a removed admin: %v, want ErrNotFound", err)
	}
}

func TestInviteIsAcceptedOnceAndNotWhenRevokedOrExpired(t *testing.T) {
	s, clk := newTestEnv(t)
	ctx := context.Background()
	mk := func(id, email, hash string) {
		t.Helper()
		if err := s.CreateInvite(ctx, &AdminInvite{ID: id, Email: email, Role: RoleManager, TokenHash: hash,
			InvitedBy: "owner@example.com", CreatedAt: clk.Now(), ExpiresAt: clk.Now().Add(72 * time.Hour)}); err != nil {
			t.Fatal(err)
		}
	}
	mk("inv_1", "New@Example.com", "h1")
	mk("inv_2", "two@example.com", "h2")
	mk("inv_3", "three@example.com", "h3")
	pending, err := s.PendingInvites(ctx, clk.Now())
	if err != nil || len(pending) != 3 {
		t.Fatalf("pending = %d %v, want 3", len(pending), err)
	}
	u, inv, err := s.AcceptInvite(ctx, "h1", "adm_new", "pwhash")
	if err != nil {
		t.Fatal(err)
	}
	if u.ID != "adm_new" || u.Email != "new@example.com" || u.Role != RoleManager || u.PasswordHash != "pwhash" {
		t.Errorf("admin = %+v", u)
	}
	if inv.ID != "inv_1" || inv.AcceptedAt == nil {
		t.Errorf("invite = %+v", inv)
	}
	if _, _, err := s.AcceptInvite(ctx, "h1", "adm_again", "pwhash"); !errors.Is(err, ErrInviteGone) {
		t.Errorf("second use: %v, want ErrInviteGone", err)
	}
	if _, err := s.RevokeInvite(ctx, "inv_2"); err != nil {
		t.Fatal(err)
	}
	if _, _, err := s.AcceptInvite(ctx, "h2", "adm_2", "pwhash"); !errors.Is(err, ErrInviteGone) {
		t.Errorf("revoked: %v, want ErrInviteGone", err)
	}
	if _, err := s.RevokeInvite(ctx, "inv_2"); !errors.Is(err, ErrInviteGone) {
		t.Errorf("revoke twice: %v, want ErrInviteGone", err)
	}
	clk.Advance(72 * time.Hour)
	if _, err := s.InviteByTokenHash(ctx, "h3", clk.Now()); !errors.Is(err, ErrInviteGone) {
		t.Errorf("expired lookup: %v, want ErrInviteGone", err)
	}
	if _, _, err := s.AcceptInvite(ctx, "h3", "adm_3", "pwhash"); !errors.Is(err, ErrInviteGone) {
		t.Errorf("expired: %v, want ErrInviteGone", err)
	}
	if pending, err := s.PendingInvites(ctx, clk.Now()); err != nil || len(pending) != 0 {
		t.Errorf("pending after all = %d %v, want 0", len(pending), err)
	}
	if _, err := s.AdminByEmail(ctx, "three@example.com"); !errors.Is(err, ErrNotFound) {
		t.Errorf("expired invite made an admin: %v", err)
	}
}

func TestInviteOfARemovedAdminBringsThemBack(t *testing.T) {
	s, clk := newTestEnv(t)
	ctx := context.Background()
	addAdmin(t, s, "owner@example.com", RoleOwner)
	v := addAdmin(t, s, "back@example.com", RoleViewer)
	if _, _, err := s.RemoveAdmin(ctx, v); err != nil {
		t.Fatal(err)
	}
	removed, err := s.AdminByID(ctx, v)
	if err != nil {
		t.Fatal(err)
	}
	if err := s.CreateInvite(ctx, &AdminInvite{ID: "inv_b", Email: "back@example.com", Role: RoleManager, TokenHash: "hb",
		CreatedAt: clk.Now(), ExpiresAt: clk.Now().Add(time.Hour)}); err != nil {
		t.Fatal(err)
	}
	u, _, err := s.AcceptInvite(ctx, "hb", "adm_unused", "newhash")
	if err != nil {
		t.Fatal(err)
	}
	got, err := s.AdminByID(ctx, v)
	if err != nil {
		t.Fatal(err)
	}
	if u.ID != v || got.RemovedAt != nil || got.Role != RoleManager || got.PasswordHash != "newhash" || got.SessionEpoch != removed.SessionEpoch+1 {
		t.Errorf("back = %+v (returned %+v)", got, u)
	}
	// An active admin's email cannot be taken by an invite.
	if err := s.CreateInvite(ctx, &AdminInvite{ID: "inv_c", Email: "back@example.com", Role: RoleOwner, TokenHash: "hc",
		CreatedAt: clk.Now(), ExpiresAt: clk.Now().Add(time.Hour)}); err != nil {
		t.Fatal(err)
	}
	if _, _, err := s.AcceptInvite(ctx, "hc", "adm_x", "h"); !errors.Is(err, ErrDuplicate) {
		t.Errorf("invite of an active admin: %v, want ErrDuplicate", err)
	}
	if _, err := s.InviteByTokenHash(ctx, "hc", clk.Now()); err != nil {
		t.Errorf("the refused invite should stay open: %v", err)
	}
}

func TestAuditLogRefusesUpdateAndDelete(t *testing.T) {
	s, _ := newTestEnv(t)
	ctx := context.Background()
	e := AuditEntry{ActorID: "adm_1", ActorEmail: "a@example.com", Action: "link.create", ObjectType: "link", ObjectID: "lnk_1",
		IP: "192.0.2.1", Detail: "Coffee"}
	if err := s.AddAudit(ctx, &e); err != nil {
		t.Fatal(err)
	}
	for _, stmt := range []string{
		`UPDATE audit_log SET detail = 'changed' WHERE id = ?`,
		`DELETE FROM audit_log WHERE id = ?`,
	} {
		err := s.w.WithContext(ctx).Exec(stmt, e.ID).Error
		if err == nil || !strings.Contains(err.Error(), "append-only") {
			t.Errorf("%s: %v, want the trigger's refusal", stmt, err)
		}
	}
	if s.postgres() {
		if err := s.w.WithContext(ctx).Exec(`TRUNCATE audit_log`).Error; err == nil || !strings.Contains(err.Error(), "append-only") {
			t.Errorf("TRUNCATE: %v, want the trigger's refusal", err)
		}
	}
	got, err := s.AuditEntries(ctx, AuditFilter{})
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 1 || got[0].Detail != "Coffee" || got[0].Action != "link.create" {
		t.Errorf("entries after refused changes = %+v", got)
	}
}

func TestAuditEntriesNewestFirstFilteredAndPaged(t *testing.T) {
	s, clk := newTestEnv(t)
	ctx := context.Background()
	for i, a := range []struct{ actor, action, object string }{
		{"a@example.com", "link.create", "lnk_1"},
		{"b@example.com", "link.create", "lnk_2"},
		{"a@example.com", "link.deactivate", "lnk_1"},
		{"a@example.com", "refund.create", "rf_1"},
		{"b@example.com", "link.deactivate", "lnk_2"},
	} {
		clk.Advance(time.Second)
		if err := s.AddAudit(ctx, &AuditEntry{ActorEmail: a.actor, Action: a.action, ObjectID: a.object, ObjectType: "x"}); err != nil {
			t.Fatalf("entry %d: %v", i, err)
		}
	}
	objects := func(es []AuditEntry) string {
		var ids []string
		for _, e := range es {
			ids = append(ids, e.ActorEmail[:1]+":"+e.Action+":"+e.ObjectID)
		}
		return strings.Join(ids, " ")
	}
	for _, tc := range []struct {
		name string
		f    AuditFilter
		want string
	}{
		{"all", AuditFilter{}, "b:link.deactivate:lnk_2 a:refund.create:rf_1 a:link.deactivate:lnk_1 b:link.create:lnk_2 a:link.create:lnk_1"},
		{"action", AuditFilter{Action: "link.create"}, "b:link.create:lnk_2 a:link.create:lnk_1"},
		{"actor", AuditFilter{ActorEmail: "a@example.com"}, "a:refund.create:rf_1 a:link.deactivate:lnk_1 a:link.create:lnk_1"},
		{"object", AuditFilter{ObjectID: "lnk_2"}, "b:link.deactivate:lnk_2 b:link.create:lnk_2"},
		{"actor and action", AuditFilter{ActorEmail: "a@example.com", Action: "link.deactivate"}, "a:link.deactivate:lnk_1"},
		{"first page", AuditFilter{Limit: 2}, "b:link.deactivate:lnk_2 a:refund.create:rf_1"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := s.AuditEntries(ctx, tc.f)
			if err != nil {
				t.Fatal(err)
			}
			if objects(got) != tc.want {
				t.Errorf("got %s\nwant %s", objects(got), tc.want)
			}
		})
	}
	first, err := s.AuditEntries(ctx, AuditFilter{Limit: 2})
	if err != nil {
		t.Fatal(err)
	}
	next, err := s.AuditEntries(ctx, AuditFilter{Limit: 2, Before: first[1].ID})
	if err != nil {
		t.Fatal(err)
	}
	if objects(next) != "a:link.deactivate:lnk_1 b:link.create:lnk_2" {
		t.Errorf("second page = %s", objects(next))
	}
	if !first[0].CreatedAt.Equal(t0.Add(5 * time.Second)) {
		t.Errorf("created_at = %v, want the store's clock %v", first[0].CreatedAt, t0.Add(5*time.Second))
	}
}

func TestTeamShowsTheLastLoginFromTheAuditLog(t *testing.T) {
	s, clk := newTestEnv(t)
	ctx := context.Background()
	a := addAdmin(t, s, "a@example.com", RoleOwner)
	clk.Advance(time.Second)
	addAdmin(t, s, "b@example.com", RoleViewer)
	for range 2 {
		clk.Advance(time.Hour)
		if err := s.AddAudit(ctx, &AuditEntry{ActorID: a, ActorEmail: "a@example.com", Action: AuditAdminLogin, ObjectType: "admin", ObjectID: a}); err != nil {
			t.Fatal(err)
		}
	}
	team, err := s.Team(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if len(team) != 2 || team[0].Email != "a@example.com" || team[1].Email != "b@example.com" {
		t.Fatalf("team = %+v, want a then b (oldest first)", team)
	}
	if want := t0.Add(time.Second + 2*time.Hour); team[0].LastLoginAt == nil || !team[0].LastLoginAt.Equal(want) {
		t.Errorf("a's last login = %v, want %v", team[0].LastLoginAt, want)
	}
	if team[1].LastLoginAt != nil {
		t.Errorf("b's last login = %v, want none", team[1].LastLoginAt)
	}
}

// TestTwoOwnersDemotingEachOtherAtOnceLeaveAnOwner: two processes (two
// stores on one database) each demote the other of the two owners at the
// same moment; one change wins and the other is refused, every time.
func TestTwoOwnersDemotingEachOtherAtOnceLeaveAnOwner(t *testing.T) {
	clk := newFakeClock(t0)
	dsn := storetest.DSN(t)
	s1 := openTestStoreAt(t, dsn, clk.Now)
	s2 := openTestStoreAt(t, dsn, clk.Now)
	ctx := context.Background()
	a := addAdmin(t, s1, "a@example.com", RoleOwner)
	b := addAdmin(t, s1, "b@example.com", RoleOwner)
	for round := range 10 {
		start := make(chan struct{})
		errs := make(chan error, 2)
		for _, job := range []struct {
			s  *Store
			id string
		}{{s1, a}, {s2, b}} {
			go func() {
				<-start
				var err error
				if round%2 == 0 {
					_, _, err = job.s.SetAdminRole(ctx, job.id, RoleViewer)
				} else {
					_, _, err = job.s.RemoveAdmin(ctx, job.id)
				}
				errs <- err
			}()
		}
		close(start)
		var refused, done int
		for range 2 {
			switch err := <-errs; {
			case err == nil:
				done++
			case errors.Is(err, ErrLastOwner):
				refused++
			default:
				t.Fatalf("round %d: %v", round, err)
			}
		}
		var owners int64
		if err := s1.w.Model(&AdminUser{}).Where("role = ? AND removed_at IS NULL", RoleOwner).Count(&owners).Error; err != nil {
			t.Fatal(err)
		}
		if done != 1 || refused != 1 || owners != 1 {
			t.Fatalf("round %d: %d done, %d refused, %d owners left; want 1, 1, 1", round, done, refused, owners)
		}
		// Both owners again for the next round.
		if err := s1.w.Exec(`UPDATE admin_users SET role = 'owner', removed_at = NULL`).Error; err != nil {
			t.Fatal(err)
		}
	}
}

// TestRemovalOrDemotionRevokesTheOwnersOpenInvites: an owner removed, or
// demoted below owner, leaves no invite of theirs open (they are revoked
// in the same step and returned); other owners' invites, and ones already
// used, stay as they were; a change among non-owners revokes nothing.
func TestRemovalOrDemotionRevokesTheOwnersOpenInvites(t *testing.T) {
	s, _ := newTestEnv(t)
	ctx := context.Background()
	addAdmin(t, s, "stays@example.com", RoleOwner)
	gone := addAdmin(t, s, "gone@example.com", RoleOwner)
	down := addAdmin(t, s, "down@example.com", RoleOwner)
	mgr := addAdmin(t, s, "mgr@example.com", RoleManager)
	for _, inv := range []struct{ id, by string }{
		{"inv_gone1", "gone@example.com"}, {"inv_gone2", "gone@example.com"},
		{"inv_down", "down@example.com"}, {"inv_stays", "stays@example.com"},
	} {
		if err := s.CreateInvite(ctx, &AdminInvite{ID: inv.id, Email: inv.id + "@example.com", Role: RoleOwner,
			TokenHash: "h_" + inv.id, InvitedBy: inv.by, CreatedAt: s.now(), ExpiresAt: s.now().Add(time.Hour)}); err != nil {
			t.Fatal(err)
		}
	}
	open := func() map[string]bool {
		t.Helper()
		is, err := s.PendingInvites(ctx, s.now())
		if err != nil {
			t.Fatal(err)
		}
		m := map[string]bool{}
		for _, i := range is {
			m[i.ID] = true
		}
		return m
	}
	if _, revoked, err := s.SetAdminRole(ctx, mgr, RoleViewer); err != nil || len(revoked) != 0 {
		t.Fatalf("manager to viewer: revoked %+v, %v; want none", revoked, err)
	}
	_, revoked, err := s.RemoveAdmin(ctx, gone)
	if err != nil || len(revoked) != 2 || revoked[0].RevokedAt == nil || revoked[1].RevokedAt == nil {
		t.Fatalf("remove: revoked %+v, %v; want the two invites of gone@, revoked", revoked, err)
	}
	if got := open(); got["inv_gone1"] || got["inv_gone2"] || !got["inv_down"] || !got["inv_stays"] {
		t.Fatalf("open after the removal: %v", got)
	}
	if _, revoked, err := s.SetAdminRole(ctx, down, RoleOwner); err != nil || len(revoked) != 0 {
		t.Fatalf("owner to owner: revoked %+v, %v; want none", revoked, err)
	}
	_, revoked, err = s.SetAdminRole(ctx, down, RoleManager)
	if err != nil || len(revoked) != 1 || revoked[0].ID != "inv_down" {
		t.Fatalf("demotion: revoked %+v, %v; want inv_down", revoked, err)
	}
	if got := open(); len(got) != 1 || !got["inv_stays"] {
		t.Fatalf("open after the demotion: %v, want only inv_stays", got)
	}
}

// TestAReinvitedAdminComesBackWithoutTwoFactorOrSessionsOfBefore: an admin
// removed and invited again starts afresh: the old two-factor secret is
// gone (whoever holds it keeps nothing of the account), and no session of
// before is left live on the list (the removal revoked them already).
func TestAReinvitedAdminComesBackWithoutTwoFactorOrSessionsOfBefore(t *testing.T) {
	s, clk := newTestEnv(t)
	ctx := context.Background()
	addAdmin(t, s, "owner@example.com", RoleOwner)
	v := addAdmin(t, s, "back@example.com", RoleManager)
	if err := s.EnableTOTP(ctx, v, "v1.sealed-old-secret", 100); err != nil {
		t.Fatal(err)
	}
	sess, err := s.CreateAdminSession(ctx, "sess_before", v, "192.0.2.1", "phone")
	if err != nil {
		t.Fatal(err)
	}
	if _, _, err := s.RemoveAdmin(ctx, v); err != nil {
		t.Fatal(err)
	}
	if row, err := s.AdminSessionByID(ctx, sess.ID); err != nil || row.RevokedAt == nil {
		t.Errorf("a session after the removal: %+v, %v; want revoked", row, err)
	}
	if err := s.CreateInvite(ctx, &AdminInvite{ID: "inv_b", Email: "back@example.com", Role: RoleViewer, TokenHash: "hb",
		CreatedAt: clk.Now(), ExpiresAt: clk.Now().Add(time.Hour)}); err != nil {
		t.Fatal(err)
	}
	u, _, err := s.AcceptInvite(ctx, "hb", "adm_unused", "newhash")
	if err != nil {
		t.Fatal(err)
	}
	got, err := s.AdminByID(ctx, v)
	if err != nil {
		t.Fatal(err)
	}
	if got.TOTPSecret != "" || got.TOTPEnabledAt != nil || u.TOTPSecret != "" || u.TOTPEnabledAt != nil {
		t.Errorf("back with two-factor of before: stored secret %q on %v (returned on %v)", got.TOTPSecret, got.TOTPEnabledAt, u.TOTPEnabledAt)
	}
	if row, err := s.AdminSessionByID(ctx, sess.ID); err != nil || row.RevokedAt == nil {
		t.Errorf("the session of before: %+v, %v; want revoked", row, err)
	}
}
