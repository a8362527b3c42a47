package payments

import (
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"checkout/gateway/pokeapay"
)

func TestStoredNotificationPayloadIsParsedAndCutToTheLimit(t *testing.T) {
	small := parsedPayload(pokeapay.IPN{BillReference: "pay_1", Amount: "1500.00"})
	if !strings.Contains(small, `"billreference":"pay_1"`) || !strings.Contains(small, `"amount":"1500.00"`) {
		t.Errorf("parsed payload = %s", small)
	}
	big := parsedPayload(pokeapay.IPN{BillReference: "pay_1", AccountName: strings.Repeat("é", 10<<10)})
	if len(big) > maxStoredPayload || !strings.HasSuffix(big, "…(truncated)") || !utf8.ValidString(big) {
		t.Errorf("large payload: %d bytes, valid UTF-8 %v, ends %q", len(big), utf8.ValidString(big), big[max(0, len(big)-20):])
	}
	if got := truncated("short", 100); got != "short" {
		t.Errorf("truncated(short) = %q", got)
	}
}

func TestUnknownReferenceLogLinesAreSampledPerSourceAndMinute(t *testing.T) {
	l := newLogSampler(time.Minute)
	t0 := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	for i, step := range []struct {
		key      string
		at       time.Duration
		wantOK   bool
		wantHeld int
	}{
		{"ipn:pesapal", 0, true, 0},
		{"ipn:pesapal", time.Second, false, 0},
		{"ipn:pesapal", 30 * time.Second, false, 0},
		{"ipn:pokeapay", 30 * time.Second, true, 0},
		{"ipn:pesapal", time.Minute, true, 2},
		{"ipn:pesapal", time.Minute + time.Second, false, 0},
	} {
		held, ok := l.allow(step.key, t0.Add(step.at))
		if ok != step.wantOK || held != step.wantHeld {
			t.Errorf("step %d (%s at %s): allow = %d, %v; want %d, %v", i, step.key, step.at, held, ok, step.wantHeld, step.wantOK)
		}
	}
}
