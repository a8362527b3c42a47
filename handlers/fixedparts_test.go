package handlers

import (
	"testing"

	"checkout/money"
	"checkout/payments"
)

func TestFixedPartsAreRememberedAndFollowTheirFields(t *testing.T) {
	calls := 0
	methods := func(co *payments.Checkout) []payments.MethodChoice {
		calls++
		return []payments.MethodChoice{{Key: co.Methods + "/" + co.Currency, Available: co.Amount%100 == 0}}
	}
	fc := newFixedPartsCache(methods)
	co := &payments.Checkout{ID: "chk_1", Methods: "pesapal", Currency: "KES", Amount: 150000}
	check := func(step string, wantCalls int) {
		t.Helper()
		p := fc.of(co)
		want := methods(co)
		calls--
		if calls != wantCalls {
			t.Errorf("%s: Methods called %d times, want %d", step, calls, wantCalls)
		}
		if len(p.choices) != 1 || p.choices[0] != want[0] {
			t.Errorf("%s: choices %v, want %v", step, p.choices, want)
		}
		if d := money.Display(co.Currency, money.Amount(co.Amount)); p.display != d {
			t.Errorf("%s: amount %q, want %q", step, p.display, d)
		}
	}
	check("first view", 1)
	check("second view", 1)
	co.Amount = 150050
	check("amount changed", 2)
	co.Currency = "USD"
	check("currency changed", 3)
	co.Methods = "pesapal,stk"
	check("methods changed", 4)
	check("same again", 4)
	other := *co
	other.ID = "chk_2"
	if fc.of(&other); calls != 5 {
		t.Errorf("another checkout: Methods called %d times, want 5", calls)
	}
}

func TestFixedPartsAreBounded(t *testing.T) {
	fc := newFixedPartsCache(func(*payments.Checkout) []payments.MethodChoice { return nil })
	for i := range fixedPartsSize + 10 {
		fc.of(&payments.Checkout{ID: string(rune('a'+i%26)) + string(rune(i)), Currency: "KES", Amount: 100})
	}
	if n := fc.parts.Len(); n != fixedPartsSize {
		t.Errorf("%d remembered, want %d", n, fixedPartsSize)
	}
}
