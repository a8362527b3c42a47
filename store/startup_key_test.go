package store

import (
	"context"
	"errors"
	"testing"
	"time"
)

// TestStartupKeyRevokedInTheAdminStaysRevokedAcrossAStart: an owner
// revokes the start-up key in the admin (say it leaked). The next start of
// any instance, with CHECKOUT_API_KEY unchanged, runs EnsureMerchant with
// that key: it must not bring the revoked key back to life.
func TestStartupKeyRevokedInTheAdminStaysRevokedAcrossAStart(t *testing.T) {
	ctx := context.Background()
	s, clk := newTestEnv(t)
	o, err := s.MerchantByAPIKey(ctx, testAPIKey)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.RevokeAPIKey(ctx, testMerchantID, o.Key.ID); err != nil {
		t.Fatal(err)
	}
	clk.Advance(time.Minute)
	// A restart (or another instance starting) with the same configuration.
	if _, err := s.EnsureMerchant(ctx, testMerchantID, "Test shop", testAPIKey); !errors.Is(err, ErrStartupKeyInactive) {
		t.Fatalf("EnsureMerchant with the key the admin ended: %v, want ErrStartupKeyInactive", err)
	}
	o, err = s.MerchantByAPIKey(ctx, testAPIKey)
	if err != nil {
		t.Fatal(err)
	}
	if o.Key.RevokedAt == nil {
		t.Errorf("the key the owner revoked works again after a start: %+v", o.Key)
	}
}

// TestStartDoesNotUndoARotationMadeInTheAdmin: an owner rotates
// the start-up key with a one-hour overlap; once the overlap is over the
// old key must stay refused, also after a start with CHECKOUT_API_KEY
// unchanged.
func TestStartDoesNotUndoARotationMadeInTheAdmin(t *testing.T) {
	ctx := context.Background()
	s, clk := newTestEnv(t)
	o, err := s.MerchantByAPIKey(ctx, testAPIKey)
	if err != nil {
		t.Fatal(err)
	}
	next := &APIKey{ID: "key_rotated", CreatedBy: "owner@example.com"}
	if _, err := s.RotateAPIKey(ctx, testMerchantID, o.Key.ID, next, "sk_live_rotated_in_admin_9999", time.Hour); err != nil {
		t.Fatal(err)
	}
	clk.Advance(2 * time.Hour)
	if _, err := s.EnsureMerchant(ctx, testMerchantID, "Test shop", testAPIKey); !errors.Is(err, ErrStartupKeyInactive) {
		t.Fatalf("EnsureMerchant with the key the admin ended: %v, want ErrStartupKeyInactive", err)
	}
	o, err = s.MerchantByAPIKey(ctx, testAPIKey)
	if err != nil {
		t.Fatal(err)
	}
	if o.Key.RevokedAt == nil && (o.Key.ExpiresAt == nil || clk.Now().Before(*o.Key.ExpiresAt)) {
		t.Errorf("the key replaced by a rotation works again after a start: %+v", o.Key)
	}
}
