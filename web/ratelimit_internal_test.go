package web

import (
	"fmt"
	"testing"
	"time"
)

// TestBucketsStayBoundedUnderManyAddresses: a flood of distinct addresses
// keeps at most the limiter's size of buckets, and the addresses seen last
// are still limited.
func TestBucketsStayBoundedUnderManyAddresses(t *testing.T) {
	const size = 1000
	l := newKeyedLimiter(Rate{Every: time.Minute, Burst: 1}, size)
	now := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	for i := range 50 * size {
		key := ipKey(fmt.Sprintf("2001:db8:%x:%x::1", i>>16, i&0xffff))
		if ok, _ := l.Take(key, now); !ok {
			t.Fatalf("address %d: refused on its first request", i)
		}
		if n := l.len(); n > size {
			t.Fatalf("after %d addresses: %d buckets, want at most %d", i+1, n, size)
		}
	}
	last := ipKey(fmt.Sprintf("2001:db8:%x:%x::1", (50*size-1)>>16, (50*size-1)&0xffff))
	if ok, wait := l.Take(last, now); ok || wait != time.Minute {
		t.Fatalf("the last address again: allowed=%v wait %s, want refused for a minute", ok, wait)
	}
}

// TestIPKey: IPv4 addresses are their own bucket, IPv6 ones their /64.
func TestIPKey(t *testing.T) {
	for _, tc := range []struct{ in, want string }{
		{"203.0.113.9", "203.0.113.9"},
		{"::ffff:203.0.113.9", "203.0.113.9"},
		{"2001:db8:1:2::1", "2001:db8:1:2::/64"},
		{"2001:db8:1:2:ffff:ffff:ffff:ffff", "2001:db8:1:2::/64"},
		{"not an address", "not an address"},
	} {
		if got := ipKey(tc.in); got != tc.want {
			t.Errorf("ipKey(%q) = %q, want %q", tc.in, got, tc.want)
		}
	}
}
