package httpx

import (
	"bytes"
	"fmt"
	"regexp"
	"strings"
	"unicode"
	"unicode/utf8"
)

// redacted replaces a secret found in provider-written text.
const redacted = "[redacted]"

// minSecretLen is the shortest value searched for: a shorter one would
// match ordinary words and garble the text for nothing (an email is at
// least "a@b.c" long anyway).
const minSecretLen = 4

// Secrets are the credentials to remove from text a provider writes back
// (error messages, answers kept for the event log), in case an answer
// echoes them. Each is found in any case: a provider may echo a value
// upper- or lower-cased.
type Secrets []*regexp.Regexp

// NewSecrets returns the patterns for values, leaving out the ones shorter
// than 4 bytes (see minSecretLen).
func NewSecrets(values ...string) Secrets {
	var s Secrets
	for _, v := range values {
		if len(v) >= minSecretLen {
			s = append(s, regexp.MustCompile("(?i)"+regexp.QuoteMeta(v)))
		}
	}
	return s
}

// Redact removes every secret, and the bearer token sent with the request
// (exactly as sent; "" when none was), from text.
func (s Secrets) Redact(text, bearer string) string {
	for _, re := range s {
		text = re.ReplaceAllLiteralString(text, redacted)
	}
	if len(bearer) >= minSecretLen {
		text = strings.ReplaceAll(text, bearer, redacted)
	}
	return text
}

// RedactBytes is Redact for an answer kept for the event log. It returns b
// itself when nothing matches, so that an answer is copied only when it
// must change.
func (s Secrets) RedactBytes(b []byte, bearer string) []byte {
	out := b
	for _, re := range s {
		if re.Match(out) {
			out = re.ReplaceAllLiteral(out, []byte(redacted))
		}
	}
	if len(bearer) >= minSecretLen && bytes.Contains(out, []byte(bearer)) {
		out = bytes.ReplaceAll(out, []byte(bearer), []byte(redacted))
	}
	return out
}

// TidyText makes provider-written text fit for an error or the event log:
// control characters and invalid UTF-8 dropped, spaces trimmed, at most
// maxLen characters (then marked cut with "…"). It removes no secret:
// callers redact first.
func TidyText(s string, maxLen int) string {
	s = strings.Map(func(r rune) rune {
		if r == utf8.RuneError || !unicode.IsPrint(r) {
			return -1
		}
		return r
	}, s)
	s = strings.TrimSpace(s)
	if utf8.RuneCountInString(s) > maxLen {
		s = string([]rune(s)[:maxLen]) + "…"
	}
	return s
}

// Printable reports whether s is valid UTF-8 made of printable characters
// (letters, marks, numbers, punctuation, symbols and the ASCII space): what
// the clients accept in a value they send or read back.
func Printable(s string) bool {
	if !utf8.ValidString(s) {
		return false
	}
	for _, r := range s {
		if !unicode.IsPrint(r) {
			return false
		}
	}
	return true
}

// NotJSON describes an answer whose body is not JSON, without quoting it:
// an HTML error page says nothing useful and could echo anything.
func NotJSON(contentType string, size int) string {
	if contentType == "" {
		contentType = "no content type"
	}
	return fmt.Sprintf("answer is not JSON (%s, %d bytes)", contentType, size)
}
