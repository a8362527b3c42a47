package store

import (
	"context"
	"testing"
	"time"
)

func TestDueAttemptsPerProviderListsEachProvidersDueChecksSoABacklogHidesNoOther(t *testing.T) {
	s, clk := newTestEnv(t)
	ctx := context.Background()
	// Pesapal's backlog comes due first and is longer than the limit.
	var pesapal []*Attempt
	// A millisecond apart, so that their checks come due in this order
	// (the order among equal next_check_at is the index's, not a rule).
	for range 3 {
		pesapal = append(pesapal, startAttempt(t, s, newCheckout(t, s, nil).ID, "pesapal", "pesapal", time.Second))
		clk.Advance(time.Millisecond)
	}
	stk := startAttempt(t, s, newCheckout(t, s, nil).ID, "pokeapay", "stk", 2*time.Second)
	later := startAttempt(t, s, newCheckout(t, s, nil).ID, "pochipay", "stk", time.Hour)
	clk.Advance(time.Minute)

	if all, err := s.DueAttempts(ctx, clk.Now(), 2); err != nil || len(all) != 2 || all[0].Provider != "pesapal" || all[1].Provider != "pesapal" {
		t.Fatalf("DueAttempts(limit 2) = %v, %v: the backlog fills the page (the reason for the per-provider list)", attemptIDs(all), err)
	}
	due, err := s.DueAttemptsPerProvider(ctx, clk.Now(), 2)
	if err != nil {
		t.Fatal(err)
	}
	want := map[string][]*Attempt{"pesapal": pesapal[:2], "pokeapay": {stk}}
	if len(due) != len(want) {
		t.Fatalf("providers with due checks = %d, want %d (not pochipay: %s is not due)", len(due), len(want), later.ID)
	}
	for p, ws := range want {
		got := due[p]
		if len(got) != len(ws) {
			t.Fatalf("%s: due = %v, want %v", p, attemptIDs(got), attemptIDs(ws))
		}
		for i, w := range ws {
			assertFields(t, "due attempt "+w.ID, got[i], loadAttempt(t, s, w.ID))
		}
	}
}

func TestDueWebhookDeliveriesLeavesOutTheMerchantsSkipped(t *testing.T) {
	s, clk := newTestEnv(t)
	ctx := context.Background()
	if _, err := s.EnsureMerchant(ctx, "m_other", "Other shop", "sk_test_other_0123456789"); err != nil {
		t.Fatal(err)
	}
	for _, m := range []string{testMerchantID, "m_other"} {
		if err := s.SetMerchantWebhook(ctx, m, "https://"+m+".example/hooks", "whsec_x"); err != nil {
			t.Fatal(err)
		}
	}
	var busy []string
	for range 3 {
		d, err := s.EnqueueWebhookEvent(ctx, testMerchantID, WebhookTestEvent, []byte(`{}`))
		if err != nil {
			t.Fatal(err)
		}
		busy = append(busy, d.ID)
	}
	clk.Advance(time.Second)
	other, err := s.EnqueueWebhookEvent(ctx, "m_other", WebhookTestEvent, []byte(`{}`))
	if err != nil {
		t.Fatal(err)
	}
	clk.Advance(time.Second)

	first, err := s.DueWebhookDeliveries(ctx, clk.Now(), 3)
	if err != nil {
		t.Fatal(err)
	}
	if len(first) != 3 || first[0].ID != busy[0] || first[2].ID != busy[2] {
		t.Fatalf("page of 3 = %d deliveries, want the busy merchant's 3 (older)", len(first))
	}
	got, err := s.DueWebhookDeliveries(ctx, clk.Now(), 3, testMerchantID)
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 1 || got[0].ID != other.ID || got[0].MerchantID != "m_other" {
		t.Fatalf("skipping %s: got %d deliveries, want only %s", testMerchantID, len(got), other.ID)
	}
}
