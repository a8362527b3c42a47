package money

import (
	"encoding/json"
	"math/big"
	"regexp"
	"strings"
	"testing"
)

// decimal is what Parse accepts: digits, then at most two decimals.
var decimal = regexp.MustCompile(`^[0-9]+(\.[0-9]{1,2})?$`)

// FuzzParse reads any text as an amount: Parse accepts exactly the decimal
// form, gives its value in cents exactly, and the amount it gives writes
// out (String, Grouped, JSON) and reads back to itself; ParseProvider
// agrees with Parse wherever Parse accepts.
func FuzzParse(f *testing.F) {
	for _, s := range []string{
		"1500", "1500.5", "1500.50", "0", "0.01", "00.10", "9999999999999.99", "99999999999999",
		"1.", ".5", "-1", "+1", "1e3", "1,500.00", " 1500", "1500.505", "100.000", "100.0001", "١٠٠", "",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		a, err := Parse(s)
		if err != nil {
			if a != 0 {
				t.Fatalf("Parse(%q) = %d with %v", s, a, err)
			}
			if decimal.MatchString(s) && len(strings.SplitN(s, ".", 2)[0]) <= 13 {
				t.Fatalf("Parse(%q) refused a decimal amount: %v", s, err)
			}
		} else {
			if !decimal.MatchString(s) {
				t.Fatalf("Parse(%q) = %d, but it is not a decimal amount", s, a)
			}
			want, _ := new(big.Rat).SetString(s)
			want.Mul(want, big.NewRat(100, 1))
			if !want.IsInt() || want.Num().Cmp(big.NewInt(int64(a))) != 0 {
				t.Fatalf("Parse(%q) = %d cents, want %s", s, a, want.RatString())
			}
			if p, err := ParseProvider(s); err != nil || p != a {
				t.Fatalf("ParseProvider(%q) = %d, %v; Parse gave %d", s, p, err, a)
			}
			roundTrip(t, a)
		}
		if p, err := ParseProvider(s); err == nil {
			if p < 0 {
				t.Fatalf("ParseProvider(%q) = %d", s, p)
			}
			roundTrip(t, p)
		}
	})
}

// roundTrip checks that a writes out and reads back to itself.
func roundTrip(t *testing.T, a Amount) {
	t.Helper()
	if back, err := Parse(a.String()); err != nil || back != a {
		t.Fatalf("%d writes %q, which reads back as %d, %v", a, a.String(), back, err)
	}
	if g := a.Grouped(); strings.ReplaceAll(g, ",", "") != a.String() {
		t.Fatalf("Grouped %q is not String %q with separators", g, a.String())
	}
	b, err := json.Marshal(a)
	if err != nil {
		t.Fatal(err)
	}
	var back Amount
	if err := json.Unmarshal(b, &back); err != nil || back != a {
		t.Fatalf("%d marshals to %s, which reads back as %d, %v", a, b, back, err)
	}
}
