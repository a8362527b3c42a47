package httpx

import (
	"strings"
	"testing"
	"unicode/utf8"
)

func TestSecretsRedact(t *testing.T) {
	s := NewSecrets("merchant@example.com", "Pa55word", "abc", "")
	if len(s) != 2 {
		t.Fatalf("patterns = %d, want 2 (values under 4 bytes are left out)", len(s))
	}
	tests := []struct {
		name, in, bearer, want string
	}{
		{"nothing to remove", "invalid phone", "", "invalid phone"},
		{"any case", "user MERCHANT@EXAMPLE.COM with pa55WORD", "", "user [redacted] with [redacted]"},
		{"metacharacters are literal", "merchant@exampleXcom", "", "merchant@exampleXcom"},
		{"short value kept", "abc is fine", "", "abc is fine"},
		{"bearer exactly as sent", "token tok-123456 and TOK-123456", "tok-123456", "token [redacted] and TOK-123456"},
		{"short bearer kept", "xyz", "xyz", "xyz"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := s.Redact(tt.in, tt.bearer); got != tt.want {
				t.Errorf("Redact = %q, want %q", got, tt.want)
			}
			if got := string(s.RedactBytes([]byte(tt.in), tt.bearer)); got != tt.want {
				t.Errorf("RedactBytes = %q, want %q", got, tt.want)
			}
		})
	}
}

func TestRedactBytesKeepsAnUntouchedAnswer(t *testing.T) {
	s := NewSecrets("Pa55word")
	b := []byte(`{"status":"ok"}`)
	if got := s.RedactBytes(b, "tok-123456"); &got[0] != &b[0] {
		t.Errorf("RedactBytes copied an answer with nothing to remove")
	}
	var none Secrets
	if got := none.Redact("Pa55word", ""); got != "Pa55word" {
		t.Errorf("no secrets: Redact = %q", got)
	}
}

func TestTidyText(t *testing.T) {
	tests := []struct {
		name, in string
		max      int
		want     string
	}{
		{"plain", "Insufficient balance", 200, "Insufficient balance"},
		{"control characters and spaces", " a\x00b\r\nc\t ", 200, "abc"},
		{"invalid UTF-8", "ok\xff\xfe!", 200, "ok!"},
		{"cut at max runes", strings.Repeat("é", 5), 3, "ééé…"},
		{"exactly max", "abc", 3, "abc"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := TidyText(tt.in, tt.max)
			if got != tt.want {
				t.Errorf("TidyText = %q, want %q", got, tt.want)
			}
			if !utf8.ValidString(got) {
				t.Errorf("TidyText = %q, not valid UTF-8", got)
			}
		})
	}
}

func TestPrintable(t *testing.T) {
	for s, want := range map[string]bool{
		"":                true,
		"ORD-1 Café":      true,
		"a\nb":            false,
		"a\x00b":          false,
		"bad \xff utf-8":  false,
		"tab\tinside":     false,
		"emoji 😀 allowed": true,
	} {
		if got := Printable(s); got != want {
			t.Errorf("Printable(%q) = %v, want %v", s, got, want)
		}
	}
}

func TestNotJSON(t *testing.T) {
	if got, want := NotJSON("text/html", 12), "answer is not JSON (text/html, 12 bytes)"; got != want {
		t.Errorf("NotJSON = %q, want %q", got, want)
	}
	if got, want := NotJSON("", 0), "answer is not JSON (no content type, 0 bytes)"; got != want {
		t.Errorf("NotJSON = %q, want %q", got, want)
	}
}
