package payments

import (
	"context"
	"errors"
	"testing"
	"time"

	"checkout/store"
	"checkout/store/storetest"
)

type adminEnv struct {
	st    *store.Store
	svc   *Service
	clock *clock
}

const (
	testAdminEmail    = "admin@example.com"
	testAdminPassword = "correct horse battery staple"
)

func newAdminEnv(t *testing.T) *adminEnv {
	t.Helper()
	return newAdminEnvWith(t, Config{})
}

// newAdminEnvWith is newAdminEnv with cfg's login settings.
func newAdminEnvWith(t *testing.T, cfg Config) *adminEnv {
	t.Helper()
	ctx := context.Background()
	c := &clock{t: time.Date(2026, 3, 1, 9, 0, 0, 0, time.UTC)}
	st, err := store.Open(ctx, storetest.DSN(t), store.Options{Now: c.now})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	hash, err := store.HashPassword(testAdminPassword)
	if err != nil {
		t.Fatal(err)
	}
	if err := st.CreateAdmin(ctx, "adm_1", testAdminEmail, hash); err != nil {
		t.Fatal(err)
	}
	cfg.PublicURL, cfg.Store, cfg.Now = "http://shop.example", st, c.now
	svc, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	return &adminEnv{st: st, svc: svc, clock: c}
}

func TestAdminSessionIdlesOutOnTheServiceClockAndEndsAtLogout(t *testing.T) {
	e := newAdminEnv(t)
	ctx := context.Background()
	u, err := e.st.AdminByEmail(ctx, testAdminEmail)
	if err != nil {
		t.Fatal(err)
	}
	token, err := e.svc.StartAdminSession(ctx, u, "192.0.2.1", "Mozilla/5.0")
	if err != nil {
		t.Fatal(err)
	}
	seen := e.svc.Now().Unix()
	for _, tc := range []struct {
		name  string
		email string
		after time.Duration
		epoch int64
		token string
		live  bool
	}{
		{"fresh", testAdminEmail, 0, u.SessionEpoch, token, true},
		{"at the idle limit", testAdminEmail, AdminIdle, u.SessionEpoch, token, true},
		{"past the idle limit", testAdminEmail, AdminIdle + time.Second, u.SessionEpoch, token, false},
		{"an old epoch", testAdminEmail, 0, u.SessionEpoch - 1, token, false},
		{"no email", "", 0, u.SessionEpoch, token, false},
		{"an unknown admin", "nobody@example.com", 0, u.SessionEpoch, token, false},
		{"no token (a cookie from before server-side sessions)", testAdminEmail, 0, u.SessionEpoch, "", false},
		{"a token with no row", testAdminEmail, 0, u.SessionEpoch, "made-up", false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c := &clock{t: e.clock.now().Add(tc.after)}
			svc, err := New(Config{PublicURL: "http://shop.example", Store: e.st, Now: c.now})
			if err != nil {
				t.Fatal(err)
			}
			got, id, err := svc.AdminSession(ctx, tc.email, seen, tc.epoch, tc.token)
			if (got != nil) != tc.live || err != nil {
				t.Fatalf("live %v err %v, want %v", got != nil, err, tc.live)
			}
			if tc.live && (got.ID != u.ID || id != store.AdminSessionID(token)) {
				t.Fatalf("admin %s session %s, want %s %s", got.ID, id, u.ID, store.AdminSessionID(token))
			}
		})
	}
	if err := e.svc.Logout(ctx, testAdminEmail, store.AdminSessionID(token)); err != nil {
		t.Fatal(err)
	}
	if got, _, err := e.svc.AdminSession(ctx, testAdminEmail, seen, u.SessionEpoch, token); got != nil || err != nil {
		t.Fatalf("after logout: live %v err %v, want the session ended", got != nil, err)
	}
}

// TestAdminSessionWritesLastSeenAtMostOnceAMinute: requests within a
// minute of the row's last write leave it; the first after writes it.
func TestAdminSessionWritesLastSeenAtMostOnceAMinute(t *testing.T) {
	e := newAdminEnv(t)
	ctx := context.Background()
	u, err := e.st.AdminByEmail(ctx, testAdminEmail)
	if err != nil {
		t.Fatal(err)
	}
	start := e.svc.Now()
	token, err := e.svc.StartAdminSession(ctx, u, "", "")
	if err != nil {
		t.Fatal(err)
	}
	id := store.AdminSessionID(token)
	lastSeen := func() time.Time {
		t.Helper()
		row, err := e.st.AdminSessionByID(ctx, id)
		if err != nil {
			t.Fatal(err)
		}
		return row.LastSeenAt
	}
	for _, step := range []struct {
		after time.Duration
		want  time.Time
	}{
		{10 * time.Second, start},
		{59 * time.Second, start},
		{time.Minute, start.Add(time.Minute)},
		{time.Minute + 30*time.Second, start.Add(time.Minute)},
		{2 * time.Minute, start.Add(2 * time.Minute)},
	} {
		e.clock.add(start.Add(step.after).Sub(e.clock.now()))
		if got, _, err := e.svc.AdminSession(ctx, testAdminEmail, e.svc.Now().Unix(), u.SessionEpoch, token); got == nil || err != nil {
			t.Fatalf("at +%s: live %v err %v", step.after, got != nil, err)
		}
		if got := lastSeen(); !got.Equal(step.want) {
			t.Fatalf("at +%s: last seen %v, want %v", step.after, got, step.want)
		}
	}
}

func TestAuthenticateFindsTheMerchantByItsKeyOnly(t *testing.T) {
	e := newAdminEnv(t)
	ctx := context.Background()
	const key = "key-0123456789abcdef0123456789"
	if _, err := e.st.EnsureMerchant(ctx, "m", "Shop", key); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name, key, merchant string
		err                 error
	}{
		{"the key", key, "m", nil},
		{"the key with spaces around", "  " + key + " ", "m", nil},
		{"another key", "key-wrong", "", ErrBadAPIKey},
	} {
		t.Run(tc.name, func(t *testing.T) {
			m, err := e.svc.Authenticate(ctx, tc.key)
			if !errors.Is(err, tc.err) {
				t.Fatalf("err %v, want %v", err, tc.err)
			}
			if id := func() string {
				if m == nil {
					return ""
				}
				return m.ID
			}(); id != tc.merchant {
				t.Fatalf("merchant %q, want %q", id, tc.merchant)
			}
		})
	}
}

// TestALoginPrunesSessionRowsLongEnded: rows last used or revoked more than
// an hour ago are deleted when a session starts; a live one stays.
func TestALoginPrunesSessionRowsLongEnded(t *testing.T) {
	e := newAdminEnv(t)
	ctx := context.Background()
	u, err := e.st.AdminByEmail(ctx, testAdminEmail)
	if err != nil {
		t.Fatal(err)
	}
	idle, err := e.svc.StartAdminSession(ctx, u, "", "")
	if err != nil {
		t.Fatal(err)
	}
	e.clock.add(50 * time.Minute)
	revoked, err := e.svc.StartAdminSession(ctx, u, "", "")
	if err != nil {
		t.Fatal(err)
	}
	live, err := e.svc.StartAdminSession(ctx, u, "", "")
	if err != nil {
		t.Fatal(err)
	}
	if err := e.svc.RevokeAccountSession(ctx, testAdminEmail, store.AdminSessionID(revoked)); err != nil {
		t.Fatal(err)
	}
	e.clock.add(20 * time.Minute) // idle: 70 min unused; revoked and live: 20 min ago
	if _, err := e.svc.StartAdminSession(ctx, u, "", ""); err != nil {
		t.Fatal(err)
	}
	for tok, kept := range map[string]bool{idle: false, revoked: true, live: true} {
		_, err := e.st.AdminSessionByID(ctx, store.AdminSessionID(tok))
		if gone := errors.Is(err, store.ErrNotFound); gone == kept {
			t.Errorf("row kept %v (err %v), want kept %v", !gone, err, kept)
		}
	}
	e.clock.add(time.Hour) // now the revoked row is an hour old too
	if _, err := e.svc.StartAdminSession(ctx, u, "", ""); err != nil {
		t.Fatal(err)
	}
	if _, err := e.st.AdminSessionByID(ctx, store.AdminSessionID(revoked)); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("the revoked row an hour on: %v, want pruned", err)
	}
}
