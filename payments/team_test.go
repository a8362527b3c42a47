package payments

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"checkout/store"
)

func TestRemovedAdminCannotLogInAndTheirSessionIsNotLive(t *testing.T) {
	e := newAdminEnv(t)
	ctx := context.Background()
	hash, err := store.HashPassword(testAdminPassword)
	if err != nil {
		t.Fatal(err)
	}
	if err := e.st.CreateAdminWithRole(ctx, "adm_2", "gone@example.com", hash, RoleViewer); err != nil {
		t.Fatal(err)
	}
	u, ok, err := e.svc.Login(ctx, "gone@example.com", testAdminPassword, "192.0.2.1")
	if err != nil || !ok {
		t.Fatalf("login before removal: %v %v", ok, err)
	}
	seen := e.clock.now().Unix()
	if got, live, err := e.svc.LiveAdmin(ctx, u.Email, seen, u.SessionEpoch); err != nil || !live || got.Role != RoleViewer {
		t.Fatalf("live before removal: %+v %v %v", got, live, err)
	}
	if _, _, err := e.svc.RemoveAdmin(ctx, "adm_1", "adm_2"); err != nil {
		t.Fatal(err)
	}
	// Even with the epoch the session had (as if the raise were lost), a
	// removed admin is not live.
	if got, live, err := e.svc.LiveAdmin(ctx, u.Email, seen, u.SessionEpoch+1); err != nil || live || got != nil {
		t.Errorf("live after removal: %+v %v %v", got, live, err)
	}
	if _, ok, err := e.svc.Login(ctx, "gone@example.com", testAdminPassword, "192.0.2.2"); ok || err != nil {
		t.Errorf("login after removal: ok %v err %v, want refused like a wrong password", ok, err)
	}
	if _, _, err := e.svc.RemoveAdmin(ctx, "adm_1", "adm_1"); !errors.Is(err, ErrOwnMembership) {
		t.Errorf("remove oneself: %v", err)
	}
	if _, err := e.svc.ChangeRole(ctx, "adm_1", "adm_1", RoleViewer); !errors.Is(err, ErrOwnMembership) {
		t.Errorf("own role: %v", err)
	}
}

func TestInviteKeepsOnlyTheTokensHashAndAcceptHashesThePasswordOnce(t *testing.T) {
	e := newAdminEnv(t)
	ctx := context.Background()
	res, err := e.svc.Invite(ctx, testAdminEmail, " Kim@Example.com ", RoleManager)
	if err != nil {
		t.Fatal(err)
	}
	token, ok := strings.CutPrefix(res.Link, "http://shop.example/admin/invite/")
	if !ok || len(token) != 43 || res.Emailed {
		t.Fatalf("link %q emailed %v", res.Link, res.Emailed)
	}
	inv := res.Invite
	if inv.Email != "kim@example.com" || inv.Role != RoleManager || inv.TokenHash == token || len(inv.TokenHash) != 64 ||
		!inv.ExpiresAt.Equal(e.clock.now().Add(72*time.Hour)) || inv.InvitedBy != testAdminEmail {
		t.Errorf("invite = %+v", inv)
	}
	if _, _, err := e.svc.AcceptInvite(ctx, token, "too short"); !isField(err, "password") {
		t.Errorf("short password: %v", err)
	}
	if _, _, err := e.svc.AcceptInvite(ctx, token, strings.Repeat("x", MaxPasswordLen+1)); !isField(err, "password") {
		t.Errorf("long password: %v", err)
	}
	u, got, err := e.svc.AcceptInvite(ctx, token, "twelve chars!")
	if err != nil {
		t.Fatal(err)
	}
	if u.Role != RoleManager || got.ID != inv.ID || got.AcceptedAt == nil {
		t.Errorf("accepted: %+v %+v", u, got)
	}
	if ok, err := store.VerifyPassword(u.PasswordHash, "twelve chars!"); !ok || err != nil {
		t.Errorf("password: %v %v", ok, err)
	}
	if _, _, err := e.svc.AcceptInvite(ctx, token, "twelve chars!"); !errors.Is(err, ErrInviteGone) {
		t.Errorf("second use: %v", err)
	}
	for _, bad := range []string{"", "x", strings.Repeat("!", 43)} {
		if _, err := e.svc.OpenInvite(ctx, bad); !errors.Is(err, ErrInviteGone) {
			t.Errorf("OpenInvite(%q) = %v", bad, err)
		}
	}
}

func isField(err error, field string) bool {
	var fe *FieldError
	return errors.As(err, &fe) && fe.Field == field
}
