package store

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"
)

// newAdminEnv opens a store with a fake clock and two admins.
func newAdminEnv(t *testing.T) (*Store, *fakeClock, string, string) {
	t.Helper()
	clk := newFakeClock(t0)
	s := openTestStore(t, clk.Now)
	ctx := context.Background()
	for _, a := range [][2]string{{"adm_a", "a@example.com"}, {"adm_b", "b@example.com"}} {
		if err := s.CreateAdmin(ctx, a[0], a[1], "$argon2id$placeholder"); err != nil {
			t.Fatal(err)
		}
	}
	return s, clk, "adm_a", "adm_b"
}

func TestAdminSessionRowsAreMadeTouchedAtMostOncePerPeriodRevokedAndPruned(t *testing.T) {
	s, clk, a, b := newAdminEnv(t)
	ctx := context.Background()
	id := AdminSessionID("token-one")
	if id == "token-one" || len(id) != 64 {
		t.Fatalf("AdminSessionID = %q, want a 64-digit hex digest", id)
	}
	longUA := strings.Repeat("é", 150) // 300 bytes
	row, err := s.CreateAdminSession(ctx, id, a, "192.0.2.7", longUA)
	if err != nil {
		t.Fatal(err)
	}
	got, err := s.AdminSessionByID(ctx, id)
	if err != nil {
		t.Fatal(err)
	}
	assertFields(t, "session", *got, AdminSession{ID: id, AdminID: a, CreatedAt: t0, LastSeenAt: t0, IP: "192.0.2.7",
		UserAgent: strings.Repeat("é", 100)})
	assertFields(t, "created row", *row, *got)
	if _, err := s.CreateAdminSession(ctx, id, a, "", ""); !errors.Is(err, ErrDuplicate) {
		t.Fatalf("second session with the same id: %v, want ErrDuplicate", err)
	}

	// Touched at most once a minute.
	clk.Advance(30 * time.Second)
	if wrote, err := s.TouchAdminSession(ctx, id, time.Minute); err != nil || wrote {
		t.Fatalf("touch after 30 s = %v, %v; want no write", wrote, err)
	}
	clk.Advance(30 * time.Second)
	if wrote, err := s.TouchAdminSession(ctx, id, time.Minute); err != nil || !wrote {
		t.Fatalf("touch after a minute = %v, %v; want a write", wrote, err)
	}
	if got, _ := s.AdminSessionByID(ctx, id); !got.LastSeenAt.Equal(t0.Add(time.Minute)) {
		t.Fatalf("last seen %v, want %v", got.LastSeenAt, t0.Add(time.Minute))
	}

	// Another admin cannot revoke it; its own admin can, once.
	if err := s.RevokeAdminSession(ctx, b, id); !errors.Is(err, ErrNotFound) {
		t.Fatalf("revoke by another admin: %v, want ErrNotFound", err)
	}
	if got, _ := s.AdminSessionByID(ctx, id); got.RevokedAt != nil {
		t.Fatal("another admin's revoke ended the session")
	}
	if err := s.RevokeAdminSession(ctx, a, "unknown"); !errors.Is(err, ErrNotFound) {
		t.Fatalf("revoke unknown: %v, want ErrNotFound", err)
	}
	if err := s.RevokeAdminSession(ctx, a, id); err != nil {
		t.Fatal(err)
	}
	if err := s.RevokeAdminSession(ctx, a, id); !errors.Is(err, ErrNotFound) {
		t.Fatalf("second revoke: %v, want ErrNotFound", err)
	}
	got, _ = s.AdminSessionByID(ctx, id)
	if got.RevokedAt == nil || !got.RevokedAt.Equal(clk.Now()) {
		t.Fatalf("revoked at %v, want %v", got.RevokedAt, clk.Now())
	}
	clk.Advance(2 * time.Minute)
	if wrote, err := s.TouchAdminSession(ctx, id, time.Minute); err != nil || wrote {
		t.Fatalf("touch of a revoked session = %v, %v; want no write", wrote, err)
	}

	// Pruning: revoked or last seen before the cutoff.
	fresh := AdminSessionID("token-two")
	if _, err := s.CreateAdminSession(ctx, fresh, a, "", ""); err != nil {
		t.Fatal(err)
	}
	n, err := s.PruneAdminSessions(ctx, clk.Now().Add(-time.Second))
	if err != nil || n != 1 {
		t.Fatalf("prune = %d, %v; want the revoked row", n, err)
	}
	if _, err := s.AdminSessionByID(ctx, id); !errors.Is(err, ErrNotFound) {
		t.Fatalf("pruned row: %v, want ErrNotFound", err)
	}
	clk.Advance(time.Hour)
	if n, err := s.PruneAdminSessions(ctx, clk.Now().Add(-30*time.Minute)); err != nil || n != 1 {
		t.Fatalf("prune of the idle row = %d, %v; want 1", n, err)
	}
}

func TestLiveAdminSessionsAndRevokeKeepToOneAdmin(t *testing.T) {
	s, clk, a, b := newAdminEnv(t)
	ctx := context.Background()
	mk := func(tok, admin string) string {
		t.Helper()
		id := AdminSessionID(tok)
		if _, err := s.CreateAdminSession(ctx, id, admin, "198.51.100.1", "UA "+tok); err != nil {
			t.Fatal(err)
		}
		clk.Advance(time.Minute)
		return id
	}
	old := mk("old", a)
	clk.Advance(time.Hour)
	a1, a2, b1 := mk("a1", a), mk("a2", a), mk("b1", b)

	ids := func(admin string) []string {
		t.Helper()
		rows, err := s.LiveAdminSessions(ctx, admin, clk.Now().Add(-30*time.Minute), 10)
		if err != nil {
			t.Fatal(err)
		}
		var out []string
		for _, r := range rows {
			if r.AdminID != admin {
				t.Fatalf("listed %s's session for %s", r.AdminID, admin)
			}
			out = append(out, r.ID)
		}
		return out
	}
	if got := ids(a); len(got) != 2 || got[0] != a2 || got[1] != a1 {
		t.Fatalf("live sessions of a = %v, want [a2 a1] (the idle one %s left out)", got, old)
	}
	if err := s.RevokeAdminSession(ctx, a, b1); !errors.Is(err, ErrNotFound) {
		t.Fatalf("a revoking b's session = %v, want ErrNotFound", err)
	}
	if err := s.RevokeAdminSession(ctx, a, a1); err != nil {
		t.Fatal(err)
	}
	if got := ids(a); len(got) != 1 || got[0] != a2 {
		t.Fatalf("after revoking a1: %v, want [a2]", got)
	}
	if got := ids(b); len(got) != 1 || got[0] != b1 {
		t.Fatalf("b's sessions: %v, want [b1] untouched", got)
	}
}

func TestTOTPStepIsUsedOnceAndOnlyForward(t *testing.T) {
	s, _, a, _ := newAdminEnv(t)
	ctx := context.Background()
	if ok, err := s.UseTOTPStep(ctx, a, 100); err != nil || ok {
		t.Fatalf("step with two-factor off = %v, %v; want refused", ok, err)
	}
	if err := s.EnableTOTP(ctx, a, "sealed", 100); err != nil {
		t.Fatal(err)
	}
	if err := s.EnableTOTP(ctx, a, "other", 101); !errors.Is(err, ErrConflict) {
		t.Fatalf("enable twice: %v, want ErrConflict", err)
	}
	u, err := s.AdminByEmail(ctx, "a@example.com")
	if err != nil {
		t.Fatal(err)
	}
	if u.TOTPSecret != "sealed" || u.TOTPEnabledAt == nil || !u.TOTPEnabledAt.Equal(t0) || u.TOTPLastStep != 100 {
		t.Fatalf("after enable: secret %q enabled %v step %d", u.TOTPSecret, u.TOTPEnabledAt, u.TOTPLastStep)
	}
	for _, tc := range []struct {
		step int64
		want bool
	}{{100, false}, {99, false}, {101, true}, {101, false}, {103, true}, {102, false}} {
		if ok, err := s.UseTOTPStep(ctx, a, tc.step); err != nil || ok != tc.want {
			t.Fatalf("UseTOTPStep(%d) = %v, %v; want %v", tc.step, ok, err, tc.want)
		}
	}
	if err := s.DisableTOTP(ctx, a); err != nil {
		t.Fatal(err)
	}
	u, _ = s.AdminByEmail(ctx, "a@example.com")
	if u.TOTPSecret != "" || u.TOTPEnabledAt != nil {
		t.Fatalf("after disable: secret %q enabled %v", u.TOTPSecret, u.TOTPEnabledAt)
	}
}

func TestSetAdminPasswordRevokesEveryLiveSessionOfThatAdmin(t *testing.T) {
	s, _, a, b := newAdminEnv(t)
	ctx := context.Background()
	for _, tok := range []string{"a1", "a2", "b1"} {
		admin := a
		if tok == "b1" {
			admin = b
		}
		if _, err := s.CreateAdminSession(ctx, AdminSessionID(tok), admin, "", ""); err != nil {
			t.Fatal(err)
		}
	}
	if err := s.RevokeAdminSession(ctx, a, AdminSessionID("a2")); err != nil {
		t.Fatal(err)
	}
	ended, err := s.SetAdminPassword(ctx, a, "$argon2id$new")
	if err != nil || ended != 1 {
		t.Fatalf("SetAdminPassword = %d, %v; want 1 session ended (a2 was already)", ended, err)
	}
	if u, _ := s.AdminByEmail(ctx, "a@example.com"); u.PasswordHash != "$argon2id$new" || u.SessionEpoch != 1 {
		t.Fatalf("password hash %q epoch %d, want the new hash and the epoch raised to 1", u.PasswordHash, u.SessionEpoch)
	}
	if u, _ := s.AdminByEmail(ctx, "b@example.com"); u.SessionEpoch != 0 {
		t.Fatalf("another admin's epoch raised to %d", u.SessionEpoch)
	}
	for tok, revoked := range map[string]bool{"a1": true, "a2": true, "b1": false} {
		row, err := s.AdminSessionByID(ctx, AdminSessionID(tok))
		if err != nil {
			t.Fatal(err)
		}
		if (row.RevokedAt != nil) != revoked {
			t.Errorf("session %s revoked %v, want %v", tok, row.RevokedAt, revoked)
		}
	}
	if _, err := s.SetAdminPassword(ctx, "nobody", "x"); !errors.Is(err, ErrNotFound) {
		t.Fatalf("set password of nobody: %v, want ErrNotFound", err)
	}
}
