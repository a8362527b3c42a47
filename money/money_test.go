package money

import (
	"encoding/json"
	"errors"
	"testing"
)

func TestParseReadsMajorUnitsIntoCents(t *testing.T) {
	for _, tc := range []struct {
		in   string
		want Amount
		ok   bool
	}{
		{"1500", 150000, true},
		{"1500.5", 150050, true},
		{"1500.50", 150050, true},
		{"0.01", 1, true},
		{"", 0, false},
		{"-1", 0, false},
		{"1e3", 0, false},
		{"1,500", 0, false},
		{"1.005", 0, false},
		{"1.", 0, false},
		{".5", 0, false},
		{"12345678901234", 0, false},
	} {
		got, err := Parse(tc.in)
		if (err == nil) != tc.ok || got != tc.want {
			t.Errorf("Parse(%q) = %d, %v; want %d, ok %v", tc.in, got, err, tc.want, tc.ok)
		}
	}
}

func TestParseProviderAllowsTrailingZeros(t *testing.T) {
	for _, tc := range []struct {
		in   string
		want Amount
		ok   bool
	}{
		{"100.000", 10000, true},
		{" 100.50 ", 10050, true},
		{"100.001", 0, false},
	} {
		got, err := ParseProvider(tc.in)
		if (err == nil) != tc.ok || got != tc.want {
			t.Errorf("ParseProvider(%q) = %d, %v; want %d, ok %v", tc.in, got, err, tc.want, tc.ok)
		}
	}
}

func TestFormatting(t *testing.T) {
	for _, tc := range []struct {
		in                      Amount
		str, grouped, displayed string
		whole                   bool
	}{
		{0, "0.00", "0.00", "KES 0.00", true},
		{150000, "1500.00", "1,500.00", "KES 1,500.00", true},
		{123456789, "1234567.89", "1,234,567.89", "KES 1,234,567.89", false},
		{-150050, "-1500.50", "-1,500.50", "KES -1,500.50", false},
	} {
		if got := tc.in.String(); got != tc.str {
			t.Errorf("%d.String() = %q, want %q", tc.in, got, tc.str)
		}
		if got := tc.in.Grouped(); got != tc.grouped {
			t.Errorf("%d.Grouped() = %q, want %q", tc.in, got, tc.grouped)
		}
		if got := Display("KES", tc.in); got != tc.displayed {
			t.Errorf("Display(KES, %d) = %q, want %q", tc.in, got, tc.displayed)
		}
		if got := tc.in.Whole(); got != tc.whole {
			t.Errorf("%d.Whole() = %v, want %v", tc.in, got, tc.whole)
		}
	}
}

func TestJSONRoundTripWithoutFloats(t *testing.T) {
	b, err := json.Marshal(struct{ A Amount }{150050})
	if err != nil || string(b) != `{"A":1500.50}` {
		t.Fatalf("Marshal = %s, %v", b, err)
	}
	for _, in := range []string{`1500.50`, `"1500.50"`} {
		var a Amount
		if err := json.Unmarshal([]byte(in), &a); err != nil || a != 150050 {
			t.Errorf("Unmarshal(%s) = %d, %v", in, a, err)
		}
	}
	var a Amount
	if err := json.Unmarshal([]byte(`null`), &a); !errors.Is(err, ErrAmount) {
		t.Errorf("Unmarshal(null) err = %v, want ErrAmount", err)
	}
}

func TestUngroupTakesCommasOnlyAsThousandsSeparators(t *testing.T) {
	for in, want := range map[string]string{
		"1500": "1500", "1,500": "1500", "12,345.50": "12345.50", "1,234,567": "1234567", "999": "999",
		"100,000.5": "100000.5", "1.5": "1.5",
	} {
		if got, ok := Ungroup(in); !ok || got != want {
			t.Errorf("Ungroup(%q) = %q, %v; want %q, true", in, got, ok, want)
		}
	}
	for _, in := range []string{"1,5", "15,00", "1,50", ",500", "1,500,", "1,,500", "0,500", "1234,567", "1,5000",
		"1.500,00", "1,500.5,0", "a,500", "1,50a"} {
		if got, ok := Ungroup(in); ok {
			t.Errorf("Ungroup(%q) = %q, true; want refused", in, got)
		}
	}
}
