package pokeapay

import (
	"errors"
	"net/url"
	"strings"
	"testing"
)

// mustQuery parses a raw query or fails the test.
func mustQuery(t *testing.T, raw string) url.Values {
	t.Helper()
	v, err := url.ParseQuery(raw)
	if err != nil {
		t.Fatal(err)
	}
	return v
}

func TestParseReturnReadsTheDocumentParameters(t *testing.T) {
	tests := []struct {
		name  string
		query string
		want  Return
	}{
		{"the document's text spelling status", "oref=23&hsh=aei7p7yrx4ae34&type=m&amount=100&status=1",
			Return{OrderRef: "23", Hash: "aei7p7yrx4ae34", Type: "m", Amount: "100", Status: "1"}},
		{"the document's example spelling sstatus", "oref=23&hsh=aei7p7yrx4ae34&type=m&amount=100&sstatus=1",
			Return{OrderRef: "23", Hash: "aei7p7yrx4ae34", Type: "m", Amount: "100", Status: "1"}},
		{"sstatus pending by card", "oref=ORD-1&hsh=" + vecReturnHash + "&type=c&amount=1500.00&sstatus=0",
			Return{OrderRef: "ORD-1", Hash: vecReturnHash, Type: "c", Amount: "1500.00", Status: "0"}},
		{"status and sstatus agreeing", "oref=1&status=1&sstatus=1", Return{OrderRef: "1", Status: "1"}},
		{"only oref", "oref=ORD-9", Return{OrderRef: "ORD-9"}},
		{"spaces trimmed and other keys ignored", "oref=+ORD-9+&hsh=%20ab&v1=chk&utm=x", Return{OrderRef: "ORD-9", Hash: "ab"}},
		{"upper-case keys", "OREF=ORD-9&HSH=ab&STATUS=1", Return{OrderRef: "ORD-9", Hash: "ab", Status: "1"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := newClient(t, true).ParseReturn(mustQuery(t, tt.query))
			if err != nil {
				t.Fatal(err)
			}
			if got != tt.want {
				t.Errorf("return:\n got %+v\nwant %+v", got, tt.want)
			}
		})
	}
}

func TestParseReturnRefuses(t *testing.T) {
	tests := []struct {
		name    string
		query   url.Values
		wantErr string
	}{
		{"no oref", url.Values{"hsh": {"ab"}, "status": {"1"}}, "oref is missing"},
		{"blank oref", url.Values{"oref": {" "}}, "oref is missing"},
		{"status and sstatus disagreeing", url.Values{"oref": {"1"}, "status": {"1"}, "sstatus": {"0"}}, "status and sstatus are sent with different values"},
		{"oref twice", url.Values{"oref": {"1", "2"}}, "oref is sent more than once with different values"},
		{"newline in oref", url.Values{"oref": {"1\n2"}}, "oref contains a character that is not printable"},
		{"hash of 101 characters", url.Values{"oref": {"1"}, "hsh": {strings.Repeat("a", 101)}}, "hsh is longer than 100 characters"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := newClient(t, true).ParseReturn(tt.query)
			if !errors.Is(err, ErrInvalidReturn) {
				t.Fatalf("error %v does not wrap ErrInvalidReturn (got %+v)", err, got)
			}
			if want := "pokeapay: invalid return: " + tt.wantErr; err.Error() != want {
				t.Errorf("error = %q\nwant    %q", err, want)
			}
			if got != (Return{}) {
				t.Errorf("return %+v came with an error", got)
			}
		})
	}
}

func TestVerifyReturnChecksTheHash(t *testing.T) {
	good := ReturnHash(testKey, "ORD-123", testOC)
	tests := []struct {
		name    string
		ret     Return
		wantErr string // "" for a good hash
	}{
		{"good hash", Return{OrderRef: "ORD-123", Hash: good, Type: "m", Amount: "1500", Status: "1"}, ""},
		{"good hash whatever the unsigned status says", Return{OrderRef: "ORD-123", Hash: good, Status: "0"}, ""},
		{"missing hash", Return{OrderRef: "ORD-123", Status: "1"}, "hsh is missing"},
		{"missing oref", Return{Hash: good}, "oref is missing"},
		{"wrong hash", Return{OrderRef: "ORD-123", Hash: strings.Repeat("0", 40)}, "hsh does not match"},
		{"hash of another order", Return{OrderRef: "ORD-124", Hash: good}, "hsh does not match"},
		{"truncated hash", Return{OrderRef: "ORD-123", Hash: good[:39]}, "hsh does not match"},
		{"hash with a suffix", Return{OrderRef: "ORD-123", Hash: good + "0"}, "hsh does not match"},
		{"upper-cased hash", Return{OrderRef: "ORD-123", Hash: strings.ToUpper(good)}, "hsh does not match"},
		{"hash made with another key", Return{OrderRef: "ORD-123", Hash: ReturnHash("other-key", "ORD-123", testOC)}, "hsh does not match"},
		{"hash made with another outlet", Return{OrderRef: "ORD-123", Hash: ReturnHash(testKey, "ORD-123", "OCT00002")}, "hsh does not match"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := newClient(t, true).VerifyReturn(tt.ret)
			if tt.wantErr == "" {
				if err != nil {
					t.Fatalf("VerifyReturn: %v", err)
				}
				return
			}
			if !errors.Is(err, ErrBadHash) {
				t.Fatalf("error %v does not wrap ErrBadHash", err)
			}
			if want := "pokeapay: bad return hash: " + tt.wantErr; err.Error() != want {
				t.Errorf("error = %q, want %q", err, want)
			}
			if strings.Contains(err.Error(), testKey) {
				t.Errorf("error contains the hash key")
			}
		})
	}
}

func TestParsedReturnVerifiesWithSstatus(t *testing.T) {
	c := newClient(t, true)
	q := mustQuery(t, "oref=ORD-123&hsh="+vecReturnHash+"&type=m&amount=100&sstatus=1")

	r, err := c.ParseReturn(q)
	if err != nil {
		t.Fatal(err)
	}
	if err := c.VerifyReturn(r); err != nil {
		t.Fatalf("VerifyReturn: %v", err)
	}
	if want := (Return{OrderRef: "ORD-123", Hash: vecReturnHash, Type: "m", Amount: "100", Status: "1"}); r != want {
		t.Errorf("return:\n got %+v\nwant %+v", r, want)
	}
}
