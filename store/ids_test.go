package store

import (
	"regexp"
	"strings"
	"testing"
	"time"
)

// idPattern is prefix_ then 26 characters of Crockford's base32 alphabet in
// lower case (no i, l, o, u).
var idPattern = regexp.MustCompile(`^([a-z]*)_([0-9a-hjkmnp-tv-z]{26})$`)

// decodeMillis reads the first ten characters of an id's body back as the
// milliseconds they encode (50 bits, the top two always zero).
func decodeMillis(t *testing.T, body string) int64 {
	t.Helper()
	var v int64
	for _, c := range body[:10] {
		d := strings.IndexRune(crockford, c)
		if d < 0 {
			t.Fatalf("%q is not in the alphabet", c)
		}
		v = v<<5 | int64(d)
	}
	return v
}

func TestNewIDIsPrefixAndTwentySixCrockfordCharacters(t *testing.T) {
	tests := []struct {
		name   string
		prefix string
		at     time.Time
	}{
		{"checkout", "chk", t0},
		{"attempt", "att", t0.Add(time.Millisecond)},
		{"admin_at_the_epoch", "adm", time.UnixMilli(0)},
		{"far_future", "chk", time.Date(9999, 12, 31, 23, 59, 59, 999_000_000, time.UTC)},
		{"time_zone_does_not_matter", "chk", t0.In(time.FixedZone("EAT", 3*60*60))},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			id := NewID(tt.prefix, tt.at)
			m := idPattern.FindStringSubmatch(id)
			if m == nil {
				t.Fatalf("NewID = %q, want %s_ and 26 Crockford characters", id, tt.prefix)
			}
			if m[1] != tt.prefix {
				t.Errorf("prefix = %q, want %q", m[1], tt.prefix)
			}
			if got := decodeMillis(t, m[2]); got != tt.at.UnixMilli() {
				t.Errorf("the id encodes %d ms, want %d", got, tt.at.UnixMilli())
			}
		})
	}
}

func TestNewIDsOfLaterTimesSortAfterEarlierOnes(t *testing.T) {
	times := []time.Time{
		time.UnixMilli(1),
		t0,
		t0.Add(time.Millisecond),
		t0.Add(2 * time.Millisecond),
		t0.Add(time.Second),
		t0.Add(24 * time.Hour),
		time.Date(2038, 1, 19, 3, 14, 8, 0, time.UTC), // past 32-bit seconds
		time.Date(2100, 1, 1, 0, 0, 0, 0, time.UTC),
	}
	// Many ids per instant, so the random part cannot hide a wrong order:
	// every id of an instant must sort after every id of the one before.
	var prevMax string
	for i, at := range times {
		lo, hi := "", ""
		for range 200 {
			id := NewID("chk", at)
			if lo == "" || id < lo {
				lo = id
			}
			if id > hi {
				hi = id
			}
		}
		if i > 0 && lo <= prevMax {
			t.Errorf("an id at %s (%s) sorts before or equal to one at %s (%s)", at, lo, times[i-1], prevMax)
		}
		prevMax = hi
	}
}

func TestTenThousandNewIDsInOneMillisecondAreUnique(t *testing.T) {
	timePart := NewID("chk", t0)[:len("chk_")+10]
	seen := make(map[string]bool, 10_000)
	for range 10_000 {
		id := NewID("chk", t0)
		if seen[id] {
			t.Fatalf("duplicate id %s after %d ids", id, len(seen))
		}
		seen[id] = true
		if !strings.HasPrefix(id, timePart) {
			t.Fatalf("%s does not carry the time part of its millisecond", id)
		}
	}
}
