package handlers

import (
	lru "github.com/hashicorp/golang-lru/v2"

	"checkout/money"
	"checkout/payments"
)

// fixedPartsSize bounds the remembered method choices and amounts: a few
// hundred bytes each. Like the page cache, looked up with Peek (read lock)
// and the oldest dropped first.
const fixedPartsSize = 1024

// fixedParts is what a checkout page shows that follows only from a
// checkout's fixed fields (methods, currency, amount) and the service's
// configuration: the method choices and the amount as shown. Worked out on
// every view they cost a map, a split and a formatted amount; remembered
// per checkout they cost a comparison.
type fixedParts struct {
	methods  string
	currency string
	amount   int64
	choices  []payments.MethodChoice // shared read-only
	display  string
}

type fixedPartsCache struct {
	parts *lru.Cache[string, *fixedParts]
	// methods is the service's Methods.
	methods func(*payments.Checkout) []payments.MethodChoice
}

func newFixedPartsCache(methods func(*payments.Checkout) []payments.MethodChoice) *fixedPartsCache {
	c, err := lru.New[string, *fixedParts](fixedPartsSize)
	if err != nil {
		panic(err) // a positive constant size: never
	}
	return &fixedPartsCache{parts: c, methods: methods}
}

// of is co's method choices and displayed amount: remembered ones when
// they were worked out from the same methods, currency and amount (the
// checked fields are all they depend on, so a changed checkout is never
// shown stale parts), else worked out and remembered.
func (fc *fixedPartsCache) of(co *payments.Checkout) *fixedParts {
	if p, ok := fc.parts.Peek(co.ID); ok && p.methods == co.Methods && p.currency == co.Currency && p.amount == co.Amount {
		return p
	}
	p := &fixedParts{methods: co.Methods, currency: co.Currency, amount: co.Amount,
		choices: fc.methods(co), display: money.Display(co.Currency, money.Amount(co.Amount))}
	fc.parts.Add(co.ID, p)
	return p
}
