package store

import (
	"context"
	"errors"
	"testing"
	"time"
)

func TestEnsureMerchantCreatesOnceAndFindsByAPIKey(t *testing.T) {
	clk := newFakeClock(t0)
	s := openTestStore(t, clk.Now)
	ctx := context.Background()

	created, err := s.EnsureMerchant(ctx, "default", "Duka Letu", "sk_live_first_key_9f3a")
	if err != nil || !created {
		t.Fatalf("first EnsureMerchant = %v, %v; want created", created, err)
	}
	want := Merchant{ID: "default", Name: "Duka Letu", WebhookURL: "", WebhookSecret: "", CreatedAt: t0, UpdatedAt: ptr(t0)}
	got, err := s.MerchantByAPIKey(ctx, "sk_live_first_key_9f3a")
	if err != nil {
		t.Fatalf("MerchantByAPIKey: %v", err)
	}
	assertFields(t, "merchant by key", got.Merchant, want)
	if k := got.Key; k.MerchantID != "default" || k.Name != StartupKeyName || k.KeyHash != HashAPIKey("sk_live_first_key_9f3a") ||
		k.Hint != "9f3a" || !k.CreatedAt.Equal(t0) || k.CreatedBy != "" || k.LastUsedAt != nil || k.ExpiresAt != nil || k.RevokedAt != nil {
		t.Errorf("the key's row = %+v", k)
	}
	byID, err := s.Merchant(ctx, "default")
	if err != nil {
		t.Fatalf("Merchant: %v", err)
	}
	assertFields(t, "merchant by id", *byID, want)

	clk.Advance(time.Hour)
	created, err = s.EnsureMerchant(ctx, "default", "Another name", "sk_live_first_key_9f3a")
	if err != nil || created {
		t.Errorf("EnsureMerchant with the same key = %v, %v; want not created", created, err)
	}
	got, err = s.MerchantByAPIKey(ctx, "sk_live_first_key_9f3a")
	if err != nil {
		t.Fatalf("MerchantByAPIKey: %v", err)
	}
	assertFields(t, "merchant after the second call", got.Merchant, want)

	for _, key := range []string{"sk_live_wrong", "", "SK_LIVE_FIRST_KEY_9F3A"} {
		if m, err := s.MerchantByAPIKey(ctx, key); !errors.Is(err, ErrNotFound) || m != nil {
			t.Errorf("MerchantByAPIKey(%q) = %v, %v; want nil, ErrNotFound", key, m, err)
		}
	}
	if m, err := s.Merchant(ctx, "nobody"); !errors.Is(err, ErrNotFound) || m != nil {
		t.Errorf("Merchant(nobody) = %v, %v; want nil, ErrNotFound", m, err)
	}
	for id, want := range map[string]bool{"default": true, "nobody": false} {
		if ok, err := s.HasMerchant(ctx, id); err != nil || ok != want {
			t.Errorf("HasMerchant(%s) = %v, %v; want %v", id, ok, err, want)
		}
	}
}

func TestEnsureMerchantWithANewKeyReplacesTheOldOne(t *testing.T) {
	clk := newFakeClock(t0)
	s := openTestStore(t, clk.Now)
	ctx := context.Background()
	if _, err := s.EnsureMerchant(ctx, "default", "Duka Letu", "sk_live_old_key_1111"); err != nil {
		t.Fatal(err)
	}
	clk.Advance(time.Hour)

	created, err := s.EnsureMerchant(ctx, "default", "Duka Letu", "sk_live_new_key_2222")
	if err != nil || created {
		t.Fatalf("EnsureMerchant with a new key = %v, %v; want not created", created, err)
	}

	if o, err := s.MerchantByAPIKey(ctx, "sk_live_old_key_1111"); err != nil || o.Key.RevokedAt == nil || !o.Key.RevokedAt.Equal(t0.Add(time.Hour)) {
		t.Errorf("the old key = %+v (err %v), want it revoked at the second start", o, err)
	}
	got, err := s.MerchantByAPIKey(ctx, "sk_live_new_key_2222")
	if err != nil {
		t.Fatalf("MerchantByAPIKey(new key): %v", err)
	}
	assertFields(t, "merchant", got.Merchant, Merchant{ID: "default", Name: "Duka Letu", CreatedAt: t0, UpdatedAt: ptr(t0)})
	if got.Key.RevokedAt != nil || got.Key.Name != StartupKeyName {
		t.Errorf("the new key = %+v, want a working start-up key", got.Key)
	}
}

func TestHashAPIKeyIsHexSHA256(t *testing.T) {
	// sha256("abc") from FIPS 180-2, appendix B.1.
	if got, want := HashAPIKey("abc"), "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"; got != want {
		t.Errorf("HashAPIKey(abc) = %s, want %s", got, want)
	}
}

func TestKeyHintIsTheLastFourCharactersOfLongerKeys(t *testing.T) {
	tests := []struct{ key, want string }{
		{"sk_live_abcd1234", "1234"},
		{"12345", "2345"},
		{"1234", ""},
		{"", ""},
	}
	for _, tt := range tests {
		if got := KeyHint(tt.key); got != tt.want {
			t.Errorf("KeyHint(%q) = %q, want %q", tt.key, got, tt.want)
		}
	}
}

func TestCreateAdminAndFindByEmailIgnoringCase(t *testing.T) {
	clk := newFakeClock(t0)
	s := openTestStore(t, clk.Now)
	ctx := context.Background()
	if err := s.CreateAdmin(ctx, "adm_1", "  Wanjiku@Example.CO.KE ", "$argon2id$hash"); err != nil {
		t.Fatalf("CreateAdmin: %v", err)
	}
	want := AdminUser{ID: "adm_1", Email: "wanjiku@example.co.ke", PasswordHash: "$argon2id$hash",
		FailedLogins: 0, LastFailedAt: nil, Role: RoleOwner, CreatedAt: t0, UpdatedAt: t0}
	for _, email := range []string{"wanjiku@example.co.ke", "WANJIKU@EXAMPLE.CO.KE", " Wanjiku@example.co.ke\n"} {
		got, err := s.AdminByEmail(ctx, email)
		if err != nil {
			t.Fatalf("AdminByEmail(%q): %v", email, err)
		}
		assertFields(t, "admin by "+email, *got, want)
	}
	if u, err := s.AdminByEmail(ctx, "someone@example.co.ke"); !errors.Is(err, ErrNotFound) || u != nil {
		t.Errorf("AdminByEmail(unknown) = %v, %v; want nil, ErrNotFound", u, err)
	}
}

func TestCreateAdminWithATakenEmailIsErrDuplicate(t *testing.T) {
	s := openTestStore(t, newFakeClock(t0).Now)
	ctx := context.Background()
	if err := s.CreateAdmin(ctx, "adm_1", "admin@localhost", "h1"); err != nil {
		t.Fatal(err)
	}
	tests := []struct{ name, id, email string }{
		{"same_email", "adm_2", "admin@localhost"},
		{"same_email_other_case", "adm_3", "Admin@LocalHost"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if err := s.CreateAdmin(ctx, tt.id, tt.email, "h2"); !errors.Is(err, ErrDuplicate) {
				t.Errorf("CreateAdmin(%q) = %v, want ErrDuplicate", tt.email, err)
			}
			got, err := s.AdminByEmail(ctx, "admin@localhost")
			if err != nil || got.ID != "adm_1" || got.PasswordHash != "h1" {
				t.Errorf("AdminByEmail = %+v, %v; want the first admin unchanged", got, err)
			}
		})
	}
}

func TestLoginFailuresAreCountedAndReset(t *testing.T) {
	clk := newFakeClock(t0)
	s := openTestStore(t, clk.Now)
	ctx := context.Background()
	if err := s.CreateAdmin(ctx, "adm_1", "admin@localhost", "h"); err != nil {
		t.Fatal(err)
	}
	if err := s.CreateAdmin(ctx, "adm_2", "other@localhost", "h"); err != nil {
		t.Fatal(err)
	}
	load := func(email string) AdminUser {
		t.Helper()
		u, err := s.AdminByEmail(ctx, email)
		if err != nil {
			t.Fatal(err)
		}
		return *u
	}

	clk.Advance(time.Minute)
	if err := s.RecordLoginFailure(ctx, "adm_1"); err != nil {
		t.Fatal(err)
	}
	clk.Advance(time.Minute)
	second := clk.Now()
	if err := s.RecordLoginFailure(ctx, "adm_1"); err != nil {
		t.Fatal(err)
	}
	assertFields(t, "after two failures", load("admin@localhost"), AdminUser{ID: "adm_1", Email: "admin@localhost",
		PasswordHash: "h", Role: RoleOwner, FailedLogins: 2, LastFailedAt: ptr(second), CreatedAt: t0, UpdatedAt: second})
	assertFields(t, "the other admin", load("other@localhost"), AdminUser{ID: "adm_2", Email: "other@localhost",
		PasswordHash: "h", Role: RoleOwner, CreatedAt: t0, UpdatedAt: t0})

	clk.Advance(time.Minute)
	if err := s.ResetLoginFailures(ctx, "adm_1"); err != nil {
		t.Fatal(err)
	}
	assertFields(t, "after the reset", load("admin@localhost"), AdminUser{ID: "adm_1", Email: "admin@localhost",
		PasswordHash: "h", Role: RoleOwner, FailedLogins: 0, LastFailedAt: nil, CreatedAt: t0, UpdatedAt: clk.Now()})
}
