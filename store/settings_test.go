package store

import (
	"context"
	"errors"
	"testing"
)

func TestSettingsRememberAndClaimOnce(t *testing.T) {
	s := openTestStore(t, nil)
	ctx := context.Background()
	if _, err := s.Setting(ctx, "mode"); !errors.Is(err, ErrNotFound) {
		t.Fatalf("Setting before any write: err = %v, want ErrNotFound", err)
	}
	got, err := s.ClaimSetting(ctx, "mode", "test")
	if err != nil || got != "test" {
		t.Fatalf("first ClaimSetting = %q, %v; want test", got, err)
	}
	got, err = s.ClaimSetting(ctx, "mode", "live")
	if err != nil || got != "test" {
		t.Fatalf("second ClaimSetting = %q, %v; want the first value, test", got, err)
	}
	if err := s.SetSetting(ctx, "mode", "live"); err != nil {
		t.Fatal(err)
	}
	if v, err := s.Setting(ctx, "mode"); err != nil || v != "live" {
		t.Fatalf("Setting after SetSetting = %q, %v; want live", v, err)
	}
}

func TestHasDataIsFalseOnANewDatabaseAndTrueOnceAMerchantExists(t *testing.T) {
	s := openTestStore(t, nil)
	ctx := context.Background()
	if has, err := s.HasData(ctx); err != nil || has {
		t.Fatalf("HasData on a new database = %v, %v; want false", has, err)
	}
	// Settings are not data: a database that only remembers its mode is
	// still empty.
	if err := s.SetSetting(ctx, "mode", "test"); err != nil {
		t.Fatal(err)
	}
	if has, err := s.HasData(ctx); err != nil || has {
		t.Fatalf("HasData with only a setting = %v, %v; want false", has, err)
	}
	if _, err := s.EnsureMerchant(ctx, "default", "Demo Shop", "sk_test_0123456789abcdefghijkl"); err != nil {
		t.Fatal(err)
	}
	if has, err := s.HasData(ctx); err != nil || !has {
		t.Fatalf("HasData with a merchant = %v, %v; want true", has, err)
	}
}

// TestHasTableTellsTablesThatExistFromOnesThatDoNot: what a tool looking
// at a database before migrating it relies on, on either database.
func TestHasTableTellsTablesThatExistFromOnesThatDoNot(t *testing.T) {
	s, _ := newTestEnv(t)
	ctx := context.Background()
	for name, want := range map[string]bool{"settings": true, "merchants": true, "no_such_table": false} {
		if got, err := s.HasTable(ctx, name); err != nil || got != want {
			t.Errorf("HasTable(%q) = %v, %v; want %v", name, got, err, want)
		}
	}
}
