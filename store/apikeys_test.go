package store

import (
	"bytes"
	"context"
	"errors"
	"slices"
	"testing"
	"time"

	"checkout/store/storetest"
)

// TestMigration16CopiesTheMerchantsKeysIntoAPIKeys: a database made before
// migration 16 (a merchant with its key in merchants.api_key_hash) opens
// with that key in api_keys, where authentication finds it.
func TestMigration16CopiesTheMerchantsKeysIntoAPIKeys(t *testing.T) {
	ctx := context.Background()
	dsn := storetest.DSN(t)
	all := migrations
	i := slices.IndexFunc(all, func(m migration) bool { return m.version == 16 })
	migrations = all[:i]
	old, err := Open(ctx, dsn, Options{Now: newFakeClock(t0).Now})
	migrations = all
	if err != nil {
		t.Fatal(err)
	}
	if err := old.w.Exec(`INSERT INTO merchants (id, name, api_key_hash, api_key_hint, created_at) VALUES (?, ?, ?, ?, ?)`,
		"m_old", "Old shop", HashAPIKey("sk_live_from_before_7a7a"), "7a7a", t0).Error; err != nil {
		t.Fatal(err)
	}
	if err := old.Close(); err != nil {
		t.Fatal(err)
	}
	s := openTestStoreAt(t, dsn, newFakeClock(t0).Now)
	o, err := s.MerchantByAPIKey(ctx, "sk_live_from_before_7a7a")
	if err != nil {
		t.Fatalf("MerchantByAPIKey: %v", err)
	}
	if o.Merchant.ID != "m_old" || o.Merchant.Name != "Old shop" || o.Merchant.UpdatedAt == nil || o.Key.ID != "key_m_old" ||
		o.Key.Name != StartupKeyName || o.Key.Hint != "7a7a" || !o.Key.CreatedAt.Equal(t0) || o.Key.RevokedAt != nil || o.Key.ExpiresAt != nil {
		t.Errorf("the copied key = %+v of %+v", o.Key, o.Merchant)
	}
}

func TestMigration16IsInTheMigrations(t *testing.T) {
	s, _ := newTestEnv(t)
	var n int64
	if err := s.r.Raw(`SELECT COUNT(*) FROM schema_migrations WHERE version = 16`).Scan(&n).Error; err != nil || n != 1 {
		t.Fatalf("migration 16 recorded %d times (%v)", n, err)
	}
	// A new merchant has no key in merchants.api_key_hash: two of them do
	// not collide on the old unique index.
	for _, id := range []string{"m_a", "m_b"} {
		if err := s.CreateMerchant(context.Background(), &Merchant{ID: id, Name: id}, nil); err != nil {
			t.Fatalf("CreateMerchant(%s): %v", id, err)
		}
	}
}

func TestCreateAndUpdateMerchantWithItsLogo(t *testing.T) {
	ctx := context.Background()
	s, clk := newTestEnv(t)
	png := append([]byte("\x89PNG\r\n\x1a\n"), bytes.Repeat([]byte{0, 1, 2, 0xff}, 100)...)
	m := &Merchant{ID: "mer_1", Name: "Mama Mboga", BrandColor: "#0a7d32", SupportPhone: "0712345678",
		SupportEmail: "help@mboga.co.ke", Methods: "stk", SuccessURL: "https://mboga.co.ke/ok", CancelURL: "https://mboga.co.ke/back"}
	logo := NewLogo(png, "image/png")
	if err := s.CreateMerchant(ctx, m, logo); err != nil {
		t.Fatalf("CreateMerchant: %v", err)
	}
	got, err := s.Merchant(ctx, "mer_1")
	if err != nil {
		t.Fatal(err)
	}
	assertFields(t, "created", *got, Merchant{ID: "mer_1", Name: "Mama Mboga", BrandColor: "#0a7d32", SupportPhone: "0712345678",
		SupportEmail: "help@mboga.co.ke", Methods: "stk", SuccessURL: "https://mboga.co.ke/ok", CancelURL: "https://mboga.co.ke/back",
		LogoType: "image/png", LogoEtag: logo.Etag, CreatedAt: t0, UpdatedAt: ptr(t0)})
	l, err := s.MerchantLogo(ctx, "mer_1")
	if err != nil || !bytes.Equal(l.Data, png) || l.Type != "image/png" || l.Etag != logo.Etag || len(l.Etag) != 32 {
		t.Fatalf("MerchantLogo = %v, %v", l, err)
	}
	if err := s.CreateMerchant(ctx, &Merchant{ID: "mer_1", Name: "again"}, nil); !errors.Is(err, ErrDuplicate) {
		t.Errorf("CreateMerchant of a taken id: %v, want ErrDuplicate", err)
	}

	// An update without a logo keeps it; a new logo has a new etag.
	clk.Advance(time.Minute)
	p := MerchantProfile{Name: "Mama Mboga Ltd", BrandColor: "", SupportPhone: "", SupportEmail: "a@b.co", Methods: "",
		SuccessURL: "", CancelURL: "https://x.co/c"}
	if err := s.UpdateMerchant(ctx, "mer_1", p, nil, false); err != nil {
		t.Fatal(err)
	}
	got, _ = s.Merchant(ctx, "mer_1")
	assertFields(t, "updated", *got, Merchant{ID: "mer_1", Name: "Mama Mboga Ltd", SupportEmail: "a@b.co", CancelURL: "https://x.co/c",
		LogoType: "image/png", LogoEtag: logo.Etag, CreatedAt: t0, UpdatedAt: ptr(t0.Add(time.Minute))})
	jpeg := []byte("\xff\xd8\xff\xe0 a jpeg")
	if err := s.UpdateMerchant(ctx, "mer_1", p, NewLogo(jpeg, "image/jpeg"), false); err != nil {
		t.Fatal(err)
	}
	got, _ = s.Merchant(ctx, "mer_1")
	if got.LogoType != "image/jpeg" || got.LogoEtag == logo.Etag || got.LogoEtag != NewLogo(jpeg, "").Etag {
		t.Errorf("after a new logo: %s %s", got.LogoType, got.LogoEtag)
	}
	if err := s.UpdateMerchant(ctx, "mer_1", p, nil, true); err != nil {
		t.Fatal(err)
	}
	if _, err := s.MerchantLogo(ctx, "mer_1"); !errors.Is(err, ErrNotFound) {
		t.Errorf("MerchantLogo after removal: %v, want ErrNotFound", err)
	}
	if err := s.UpdateMerchant(ctx, "nobody", p, nil, false); !errors.Is(err, ErrNotFound) {
		t.Errorf("UpdateMerchant(nobody): %v, want ErrNotFound", err)
	}
	ms, err := s.Merchants(ctx)
	if err != nil || len(ms) != 2 || ms[0].ID != "mer_1" || ms[1].ID != testMerchantID {
		t.Errorf("Merchants = %+v, %v; want by name", ms, err)
	}
}

func TestAPIKeysCreateRotateRevoke(t *testing.T) {
	ctx := context.Background()
	s, clk := newTestEnv(t)
	if err := s.CreateMerchant(ctx, &Merchant{ID: "m_other", Name: "Other"}, nil); err != nil {
		t.Fatal(err)
	}
	k := &APIKey{ID: "key_1", MerchantID: testMerchantID, Name: "Shop server", CreatedBy: "owner@shop.co.ke"}
	if err := s.CreateAPIKey(ctx, k, "sk_live_0000000000001111"); err != nil {
		t.Fatal(err)
	}
	if err := s.CreateAPIKey(ctx, &APIKey{ID: "key_x", MerchantID: "nobody", Name: "x"}, "sk_live_x9"); !errors.Is(err, ErrNotFound) {
		t.Errorf("a key for no merchant: %v, want ErrNotFound", err)
	}
	o, err := s.MerchantByAPIKey(ctx, "sk_live_0000000000001111")
	if err != nil || o.Merchant.ID != testMerchantID || o.Key.ID != "key_1" || o.Key.Hint != "1111" || o.Key.CreatedBy != "owner@shop.co.ke" {
		t.Fatalf("MerchantByAPIKey = %+v, %v", o, err)
	}

	// Last use: written once per interval.
	if err := s.TouchAPIKey(ctx, "key_1", t0, t0.Add(-time.Minute)); err != nil {
		t.Fatal(err)
	}
	if err := s.TouchAPIKey(ctx, "key_1", t0.Add(30*time.Second), t0.Add(-30*time.Second)); err != nil {
		t.Fatal(err)
	}
	ks, err := s.APIKeys(ctx, testMerchantID)
	if err != nil || len(ks) != 2 {
		t.Fatalf("APIKeys = %v, %v", ks, err)
	}
	var k1 APIKey
	for _, x := range ks {
		if x.ID == "key_1" {
			k1 = x
		}
	}
	if k1.LastUsedAt == nil || !k1.LastUsedAt.Equal(t0) {
		t.Errorf("last used = %v, want the first touch's %v (the second was within the interval)", k1.LastUsedAt, t0)
	}

	// Another merchant's key is not found for rotation or revocation.
	if _, err := s.RotateAPIKey(ctx, "m_other", "key_1", &APIKey{ID: "key_2"}, "sk_live_2222222222222222", time.Hour); !errors.Is(err, ErrNotFound) {
		t.Errorf("rotate another merchant's key: %v, want ErrNotFound", err)
	}
	if _, err := s.RevokeAPIKey(ctx, "m_other", "key_1"); !errors.Is(err, ErrNotFound) {
		t.Errorf("revoke another merchant's key: %v, want ErrNotFound", err)
	}

	clk.Advance(time.Minute)
	next := &APIKey{ID: "key_2", CreatedBy: "owner@shop.co.ke"}
	old, err := s.RotateAPIKey(ctx, testMerchantID, "key_1", next, "sk_live_2222222222222222", 24*time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	until := t0.Add(time.Minute + 24*time.Hour)
	if old.ExpiresAt == nil || !old.ExpiresAt.Equal(until) || next.Name != "Shop server" || next.MerchantID != testMerchantID {
		t.Errorf("rotation: old %+v, next %+v", old, next)
	}
	o, err = s.MerchantByAPIKey(ctx, "sk_live_0000000000001111")
	if err != nil || o.Key.ExpiresAt == nil || !o.Key.ExpiresAt.Equal(until) {
		t.Errorf("the old key after rotation = %+v, %v", o, err)
	}
	// A rotation of the old key again may only shorten its overlap.
	if _, err := s.RotateAPIKey(ctx, testMerchantID, "key_1", &APIKey{ID: "key_3"}, "sk_live_3333333333333333", 7*24*time.Hour); err != nil {
		t.Fatal(err)
	}
	o, _ = s.MerchantByAPIKey(ctx, "sk_live_0000000000001111")
	if !o.Key.ExpiresAt.Equal(until) {
		t.Errorf("a second rotation moved the expiry to %v, want %v", o.Key.ExpiresAt, until)
	}
	clk.Advance(24 * time.Hour)
	if _, err := s.RevokeAPIKey(ctx, testMerchantID, "key_1"); !errors.Is(err, ErrKeyInactive) {
		t.Errorf("revoke an expired key: %v, want ErrKeyInactive", err)
	}

	r, err := s.RevokeAPIKey(ctx, testMerchantID, "key_2")
	if err != nil || r.RevokedAt == nil || !r.RevokedAt.Equal(clk.Now()) {
		t.Fatalf("RevokeAPIKey = %+v, %v", r, err)
	}
	o, _ = s.MerchantByAPIKey(ctx, "sk_live_2222222222222222")
	if o.Key.RevokedAt == nil {
		t.Errorf("the revoked key reads as %+v", o.Key)
	}
	if _, err := s.RevokeAPIKey(ctx, testMerchantID, "key_2"); !errors.Is(err, ErrKeyInactive) {
		t.Errorf("revoke twice: %v, want ErrKeyInactive", err)
	}
}

// TestEnsureMerchantKeepsAdminKeysWhenTheStartupKeyChanges: a changed
// CHECKOUT_API_KEY revokes the start-up key of before, not the keys made
// in the admin; the same key again is taken back.
func TestEnsureMerchantKeepsAdminKeysWhenTheStartupKeyChanges(t *testing.T) {
	ctx := context.Background()
	s, clk := newTestEnv(t)
	if err := s.CreateAPIKey(ctx, &APIKey{ID: "key_admin", MerchantID: testMerchantID, Name: "Till", CreatedBy: "a@b.co"}, "sk_live_admin_made_4444"); err != nil {
		t.Fatal(err)
	}
	clk.Advance(time.Hour)
	if _, err := s.EnsureMerchant(ctx, testMerchantID, "Test shop", "sk_live_next_start_5555"); err != nil {
		t.Fatal(err)
	}
	for key, revoked := range map[string]bool{testAPIKey: true, "sk_live_admin_made_4444": false, "sk_live_next_start_5555": false} {
		o, err := s.MerchantByAPIKey(ctx, key)
		if err != nil || (o.Key.RevokedAt != nil) != revoked {
			t.Errorf("%s: %+v, %v; want revoked %v", key, o, err, revoked)
		}
	}
	if _, err := s.EnsureMerchant(ctx, testMerchantID, "Test shop", testAPIKey); err != nil {
		t.Fatal(err)
	}
	if o, err := s.MerchantByAPIKey(ctx, testAPIKey); err != nil || o.Key.RevokedAt != nil {
		t.Errorf("the first key configured again: %+v, %v; want working", o, err)
	}
}
