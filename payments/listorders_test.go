package payments

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"testing"
	"time"

	"checkout/store"
)

// TestListOrdersFindsAPhoneHoweverItIsWritten: the admin types a number
// as customers and receipts show it; the store holds 254 and nine digits.
func TestListOrdersFindsAPhoneHoweverItIsWritten(t *testing.T) {
	e := newAdminEnv(t)
	ctx := context.Background()
	if _, err := e.st.EnsureMerchant(ctx, "m", "Shop", "key-0123456789abcdef0123456789"); err != nil {
		t.Fatal(err)
	}
	mk := func(ref, phone string) string {
		co := &store.Checkout{ID: store.NewID("chk", e.clock.now()), MerchantID: "m", Reference: ref, Description: "d",
			Amount: 100, Currency: "KES", CustomerPhone: phone, ExpiresAt: e.clock.now().Add(time.Hour)}
		if err := e.st.CreateCheckout(ctx, co, "test"); err != nil {
			t.Fatal(err)
		}
		return co.ID
	}
	safaricom := mk("r1", "254712345678")
	airtel := mk("r2", "254112345678")
	mk("r3", "254799999999")
	// An order whose customer gave no phone, paid for (tried) from one.
	byAttempt := mk("r4", "")
	if err := e.st.StartAttempt(ctx, &store.Attempt{ID: store.NewID("att", e.clock.now()), CheckoutID: byAttempt,
		Provider: "pokeapay", Method: MethodSTK, Phone: "254722000111"}, time.Minute, "test"); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		q    string
		want string
	}{
		{"254712345678", safaricom},
		{"0712345678", safaricom},
		{"0712 345 678", safaricom},
		{"0712-345-678", safaricom},
		{"+254712345678", safaricom},
		{"+254 712 345 678", safaricom},
		{"712345678", safaricom},
		{"0112 345 678", airtel},
		{"+254 112 345 678", airtel},
		{"+254-712-345-678", safaricom},
		{"254 712 345 678", safaricom},
		{"0722000111", byAttempt},
		{"0722 000 111", byAttempt},
		{"722000111", byAttempt},
		{"254722000111", byAttempt},
		{"+254 722 000 111", byAttempt},
		{"+254-722-000-111", byAttempt},
	}
	for _, tt := range tests {
		t.Run(tt.q, func(t *testing.T) {
			rows, _, err := e.svc.ListOrders(ctx, OrderFilter{Q: tt.q})
			if err != nil {
				t.Fatal(err)
			}
			if len(rows) != 1 || rows[0].ID != tt.want {
				var ids []string
				for _, r := range rows {
					ids = append(ids, r.ID)
				}
				t.Errorf("ListOrders(q=%q) = %v, want [%s]", tt.q, ids, tt.want)
			}
		})
	}
}

// TestEachOrderHandsEveryOrderOnceNewestFirstInBatches: the export reads
// keyset pages of exportBatch, whatever the filter, until none is left.
func TestEachOrderHandsEveryOrderOnceNewestFirstInBatches(t *testing.T) {
	e := newAdminEnv(t)
	ctx := context.Background()
	if _, err := e.st.EnsureMerchant(ctx, "m", "Shop", "key-0123456789abcdef0123456789"); err != nil {
		t.Fatal(err)
	}
	var want, wantLinked []string
	for i := range 2*exportBatch + 50 {
		e.clock.add(time.Millisecond)
		co := &store.Checkout{ID: store.NewID("chk", e.clock.now()), MerchantID: "m", Reference: fmt.Sprintf("r%d", i),
			Description: "d", Amount: 100, Currency: "KES", ExpiresAt: e.clock.now().Add(time.Hour)}
		if i%3 == 0 {
			co.PaymentLinkID = "plink_x"
		}
		if err := e.st.CreateCheckout(ctx, co, "test"); err != nil {
			t.Fatal(err)
		}
		want = append([]string{co.ID}, want...)
		if i%3 == 0 {
			wantLinked = append([]string{co.ID}, wantLinked...)
		}
	}
	tests := []struct {
		name      string
		filter    OrderFilter
		want      []string
		wantSizes []int
	}{
		{"all", OrderFilter{}, want, []int{exportBatch, exportBatch, 50}},
		{"after_and_limit_ignored", OrderFilter{After: want[10], Limit: 5}, want, []int{exportBatch, exportBatch, 50}},
		{"one_link", OrderFilter{Link: "plink_x"}, wantLinked, []int{150}},
		{"none", OrderFilter{Link: "plink_y"}, nil, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var got []string
			var sizes []int
			err := e.svc.EachOrder(ctx, tt.filter, func(rows []Checkout) error {
				sizes = append(sizes, len(rows))
				for _, r := range rows {
					got = append(got, r.ID)
				}
				return nil
			})
			if err != nil {
				t.Fatal(err)
			}
			if !slices.Equal(got, tt.want) {
				t.Errorf("got %d ids, want %d, newest first, each once", len(got), len(tt.want))
			}
			if !slices.Equal(sizes, tt.wantSizes) {
				t.Errorf("batch sizes %v, want %v", sizes, tt.wantSizes)
			}
		})
	}
}

// TestEachOrderStopsWhenTheContextEnds: a client that goes away stops the
// export after the batch in hand.
func TestEachOrderStopsWhenTheContextEnds(t *testing.T) {
	e := newAdminEnv(t)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	if _, err := e.st.EnsureMerchant(ctx, "m", "Shop", "key-0123456789abcdef0123456789"); err != nil {
		t.Fatal(err)
	}
	for i := range exportBatch + 1 {
		e.clock.add(time.Millisecond)
		co := &store.Checkout{ID: store.NewID("chk", e.clock.now()), MerchantID: "m", Reference: fmt.Sprintf("r%d", i),
			Description: "d", Amount: 100, Currency: "KES", ExpiresAt: e.clock.now().Add(time.Hour)}
		if err := e.st.CreateCheckout(ctx, co, "test"); err != nil {
			t.Fatal(err)
		}
	}
	batches := 0
	err := e.svc.EachOrder(ctx, OrderFilter{}, func([]Checkout) error {
		batches++
		cancel()
		return nil
	})
	if !errors.Is(err, context.Canceled) || batches != 1 {
		t.Errorf("err = %v after %d batches, want context.Canceled after 1", err, batches)
	}
}
