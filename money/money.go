// Package money holds the amount type every layer shares: money in cents,
// parsed from and written to decimal text exactly, with the grouped form
// pages show. It imports nothing of ours.
package money

import (
	"errors"
	"fmt"
	"strconv"
	"strings"
)

// Amount is money in cents (hundredths of the major unit). A float never
// holds money: amounts are parsed from and written to decimal text exactly.
type Amount int64

// ErrAmount is returned for text that is not a valid amount.
var ErrAmount = errors.New("amount must be digits with an optional point and at most 2 decimals")

// Parse reads a decimal amount in major units ("1500", "1500.5",
// "1500.50") into cents. It accepts no sign, exponent, separators or more
// than two decimals.
func Parse(s string) (Amount, error) {
	if s == "" {
		return 0, ErrAmount
	}
	whole, frac, hasPoint := strings.Cut(s, ".")
	if whole == "" || (hasPoint && (frac == "" || len(frac) > 2)) {
		return 0, ErrAmount
	}
	for _, part := range []string{whole, frac} {
		for _, r := range part {
			if r < '0' || r > '9' {
				return 0, ErrAmount
			}
		}
	}
	if len(whole) > 13 { // keeps cents well inside int64
		return 0, fmt.Errorf("amount is too large")
	}
	w, err := strconv.ParseInt(whole, 10, 64)
	if err != nil {
		return 0, ErrAmount
	}
	for len(frac) < 2 {
		frac += "0"
	}
	f, err := strconv.ParseInt(frac, 10, 64)
	if err != nil {
		return 0, ErrAmount
	}
	return Amount(w*100 + f), nil
}

// Ungroup removes the thousands separators a person may type in an amount
// ("1,500", "12,345.50"): commas only between groups of three digits of
// the whole part, the first group one to three digits not starting with 0.
// Text without a comma comes back as it is. ok is false for a comma
// anywhere else ("1,5", "15,00", ",500", "1,500,", "0,500", "1.500,00"),
// which a person may have meant as a decimal point: the caller refuses it
// rather than guess.
func Ungroup(s string) (ungrouped string, ok bool) {
	if !strings.Contains(s, ",") {
		return s, true
	}
	whole, frac, _ := strings.Cut(s, ".")
	if strings.Contains(frac, ",") {
		return s, false
	}
	groups := strings.Split(whole, ",")
	for i, g := range groups {
		if !allDigits(g) || (i == 0 && (len(g) < 1 || len(g) > 3 || g[0] == '0')) || (i > 0 && len(g) != 3) {
			return s, false
		}
	}
	return strings.ReplaceAll(s, ",", ""), true
}

func allDigits(s string) bool {
	for _, r := range s {
		if r < '0' || r > '9' {
			return false
		}
	}
	return true
}

// ParseProvider reads an amount as a provider writes it in JSON: like
// Parse, but trailing zeros past the second decimal are allowed
// ("100.000"), since some providers serialise decimals that way.
func ParseProvider(s string) (Amount, error) {
	s = strings.TrimSpace(s)
	if whole, frac, ok := strings.Cut(s, "."); ok && len(frac) > 2 {
		if strings.Trim(frac[2:], "0") != "" {
			return 0, ErrAmount
		}
		s = whole + "." + frac[:2]
	}
	return Parse(s)
}

// String writes the amount in major units with two decimals: "1500.00".
func (a Amount) String() string {
	sign := ""
	v := int64(a)
	if v < 0 {
		sign, v = "-", -v
	}
	return fmt.Sprintf("%s%d.%02d", sign, v/100, v%100)
}

// Grouped writes the amount with thousands separators: "1,500.00".
func (a Amount) Grouped() string {
	s := a.String()
	sign := ""
	if strings.HasPrefix(s, "-") {
		sign, s = "-", s[1:]
	}
	whole, frac, _ := strings.Cut(s, ".")
	var b strings.Builder
	for i, r := range whole {
		if i > 0 && (len(whole)-i)%3 == 0 {
			b.WriteByte(',')
		}
		b.WriteRune(r)
	}
	return sign + b.String() + "." + frac
}

// Whole reports whether the amount has no cents (M-Pesa takes whole units).
func (a Amount) Whole() bool { return a%100 == 0 }

// MarshalJSON writes the amount as a JSON number with two decimals, the way
// providers that take a "Float" expect it, without passing through a float.
func (a Amount) MarshalJSON() ([]byte, error) { return []byte(a.String()), nil }

// UnmarshalJSON reads a JSON number or a string of digits.
func (a *Amount) UnmarshalJSON(b []byte) error {
	s := strings.TrimSpace(string(b))
	if s == "null" {
		return ErrAmount
	}
	s = strings.Trim(s, `"`)
	v, err := ParseProvider(s)
	if err != nil {
		return err
	}
	*a = v
	return nil
}

// Display is an amount as pages show it: the currency, then the grouped
// amount ("KES 1,500.00").
func Display(currency string, a Amount) string { return currency + " " + a.Grouped() }
