package payments

import (
	"errors"
	"regexp"
	"testing"
)

func TestNormalizePhoneAcceptsWhatKenyanCustomersType(t *testing.T) {
	cases := []struct{ in, want string }{
		{"0712345678", "254712345678"},
		{"0112345678", "254112345678"},
		{"0712 345 678", "254712345678"},
		{"0712-345-678", "254712345678"},
		{" 0712 345 678 ", "254712345678"},
		{"+254712345678", "254712345678"},
		{"+254 712 345 678", "254712345678"},
		{"254712345678", "254712345678"},
		{"254112345678", "254112345678"},
		{"712345678", "254712345678"},
	}
	for _, tc := range cases {
		got, err := NormalizePhone(tc.in)
		if err != nil || got != tc.want {
			t.Errorf("NormalizePhone(%q) = %q, %v; want %q", tc.in, got, err, tc.want)
		}
	}
}

func TestNormalizePhoneRejectsEverythingElseWithASentence(t *testing.T) {
	for _, in := range []string{
		"", "07123", "07123456789", "0812345678", "+255712345678", "254812345678", "2547123456789",
		"0712a45678", "++254712345678", "0712+345678", "(0712) 345678", "0712.345.678", "٠٧١٢٣٤٥٦٧٨",
	} {
		got, err := NormalizePhone(in)
		if !errors.Is(err, ErrPhone) || got != "" {
			t.Errorf("NormalizePhone(%q) = %q, %v; want ErrPhone", in, got, err)
		}
	}
	if msg := ErrPhone.Error(); len(msg) < 20 || msg[len(msg)-1] != '.' {
		t.Errorf("the message is not a sentence: %q", msg)
	}
}

var stkPattern = regexp.MustCompile(`^254(7|1)\d{8}$`)

func FuzzNormalizePhone(f *testing.F) {
	for _, s := range []string{"0712345678", "+254 712 345 678", "254112345678", "712345678", "0712-345", "", "+", "٠"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, in string) {
		got, err := NormalizePhone(in)
		if err != nil {
			if got != "" || !errors.Is(err, ErrPhone) {
				t.Fatalf("NormalizePhone(%q) = %q, %v", in, got, err)
			}
			return
		}
		if !stkPattern.MatchString(got) {
			t.Fatalf("NormalizePhone(%q) = %q, which M-Pesa refuses", in, got)
		}
		again, err := NormalizePhone(got)
		if err != nil || again != got {
			t.Fatalf("not idempotent: %q -> %q -> %q, %v", in, got, again, err)
		}
	})
}
