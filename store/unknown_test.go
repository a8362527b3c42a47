package store

import (
	"context"
	"testing"
	"time"
)

func TestUnknownNotificationsAreCountedPerHourAndSummedOverTheWindow(t *testing.T) {
	s, clk := newTestEnv(t)
	ctx := context.Background()
	if n, err := s.UnknownNotifications(ctx, clk.Now().Add(-24*time.Hour)); err != nil || n != 0 {
		t.Fatalf("UnknownNotifications on a new database = %d, %v; want 0", n, err)
	}
	for range 3 {
		if err := s.CountUnknownNotification(ctx, "ipn:pesapal"); err != nil {
			t.Fatal(err)
		}
	}
	if err := s.CountUnknownNotification(ctx, "ipn:pokeapay"); err != nil {
		t.Fatal(err)
	}
	clk.Advance(2 * time.Hour)
	if err := s.CountUnknownNotification(ctx, "ipn:pesapal"); err != nil {
		t.Fatal(err)
	}
	var rows int64
	if err := s.r.Model(&unknownNotification{}).Count(&rows).Error; err != nil {
		t.Fatal(err)
	}
	if rows != 3 {
		t.Errorf("counter rows = %d, want 3 (one per source and hour)", rows)
	}
	if n, err := s.UnknownNotifications(ctx, clk.Now().Add(-24*time.Hour)); err != nil || n != 5 {
		t.Errorf("last 24 h = %d, %v; want 5", n, err)
	}
	if n, err := s.UnknownNotifications(ctx, clk.Now()); err != nil || n != 1 {
		t.Errorf("this hour = %d, %v; want 1", n, err)
	}
	clk.Advance(25 * time.Hour)
	if n, err := s.UnknownNotifications(ctx, clk.Now().Add(-24*time.Hour)); err != nil || n != 0 {
		t.Errorf("a day later = %d, %v; want 0", n, err)
	}
}
