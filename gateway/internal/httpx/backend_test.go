package httpx

import (
	"testing"
	"time"
)

// The retry policy the clients share: moved from each client's tests.
func TestRetryWaitIsCappedAndJittered(t *testing.T) {
	tests := []struct {
		try  int
		full time.Duration
	}{
		{1, 500 * time.Millisecond},
		{2, time.Second},
		{3, 2 * time.Second},
		{4, 4 * time.Second},
		{5, 5 * time.Second},
		{60, 5 * time.Second},
	}
	for _, tt := range tests {
		t.Run(tt.full.String(), func(t *testing.T) {
			seen := map[time.Duration]bool{}
			for range 200 {
				d := RetryWait(tt.try)
				if d < tt.full/2 || d > tt.full {
					t.Fatalf("RetryWait(%d) = %v, want between %v and %v", tt.try, d, tt.full/2, tt.full)
				}
				seen[d] = true
			}
			if len(seen) < 2 {
				t.Errorf("RetryWait(%d) is not jittered: always %v", tt.try, seen)
			}
		})
	}
}

func TestRetryWaitDoublesUpToTheCap(t *testing.T) {
	for try := 1; try <= 12; try++ {
		full := min(RetryBase<<min(try-1, 10), RetryMax)
		seen := map[time.Duration]bool{}
		for range 50 {
			d := RetryWait(try)
			if d < full/2 || d > full {
				t.Fatalf("RetryWait(%d) = %v, want between %v and %v", try, d, full/2, full)
			}
			seen[d] = true
		}
		if len(seen) < 2 {
			t.Errorf("RetryWait(%d) is not jittered: %v", try, seen)
		}
	}
}
