package payments

import (
	"context"
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
