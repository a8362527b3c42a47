package store

import (
	"context"
	"testing"
	"time"
)

func TestSecondRotationWithinTheOverlapKeepsTheSecretTheMerchantHas(t *testing.T) {
	s, clk := newTestEnv(t)
	ctx := context.Background()
	if _, err := s.EnsureMerchant(ctx, "m1", "Shop", "key-0123456789abcdef0123456789"); err != nil {
		t.Fatal(err)
	}
	if err := s.RotateWebhookSecret(ctx, "m1", "whsec_installed", clk.Now().Add(time.Hour)); err != nil {
		t.Fatal(err)
	}
	clk.Advance(48 * time.Hour) // the first overlap is over: only "installed" signs
	if err := s.RotateWebhookSecret(ctx, "m1", "whsec_second", clk.Now().Add(24*time.Hour)); err != nil {
		t.Fatal(err)
	}
	clk.Advance(time.Minute) // a double click: rotated again while "installed" still signs
	if err := s.RotateWebhookSecret(ctx, "m1", "whsec_third", clk.Now().Add(24*time.Hour)); err != nil {
		t.Fatal(err)
	}
	w, err := s.MerchantWebhookOf(ctx, "m1")
	if err != nil {
		t.Fatal(err)
	}
	if w.WebhookPreviousSecret != "whsec_installed" || w.WebhookPreviousUntil == nil ||
		!w.WebhookPreviousUntil.Equal(clk.Now().Add(24*time.Hour)) {
		t.Fatalf("previous secret %q until %v, want whsec_installed for 24 h more", w.WebhookPreviousSecret, w.WebhookPreviousUntil)
	}
}
