package pesapal

import (
	"encoding/json"
	"testing"

	"checkout/gateway"
)

func TestUnreadableAmountInACompletedAnswerLeavesNoAmountInsteadOfFailing(t *testing.T) {
	cases := []struct {
		name   string
		amount string
		want   *gateway.Amount
	}{
		{"number", `1500`, ptrAmount(150000)},
		{"two decimals", `1500.50`, ptrAmount(150050)},
		{"separators", `"1,500.00"`, nil},
		{"three decimals", `100.555`, nil},
		{"empty string", `""`, nil},
		{"null", `null`, nil},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			body := `{"payment_method":"MPESA","amount":` + tc.amount + `,"confirmation_code":"QK1","status_code":1,
				"merchant_reference":"pay_1","currency":"KES","status":"200"}`
			var ts TransactionStatus
			if err := json.Unmarshal([]byte(body), &ts); err != nil {
				t.Fatalf("the answer was refused: %v", err)
			}
			if ts.StatusCode != 1 || ts.ConfirmationCode != "QK1" || ts.MerchantReference != "pay_1" || ts.Currency != "KES" {
				t.Fatalf("other fields lost: %+v", ts)
			}
			switch {
			case tc.want == nil && ts.Amount != nil:
				t.Fatalf("amount = %v, want none", *ts.Amount)
			case tc.want != nil && (ts.Amount == nil || *ts.Amount != *tc.want):
				t.Fatalf("amount = %v, want %v", ts.Amount, *tc.want)
			}
			r := ts.Result()
			if r.Status != gateway.StatusSucceeded || r.HasAmount != (tc.want != nil) {
				t.Fatalf("result status %s has amount %v", r.Status, r.HasAmount)
			}
		})
	}
}

func ptrAmount(a gateway.Amount) *gateway.Amount { return &a }
