package httpx

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"syscall"
	"testing"
	"time"
)

// Moved here from the pesapal, pochipay and pokeapay client tests, with the
// default sleep they tested; the assertions are theirs.
func TestDefaultSleepStopsWithTheContext(t *testing.T) {
	if err := Sleep(t.Context(), time.Millisecond); err != nil {
		t.Errorf("short sleep: %v", err)
	}
	if err := Sleep(context.Background(), 0); err != nil {
		t.Errorf("Sleep(0) = %v", err)
	}
	ctx, cancel := context.WithCancel(t.Context())
	cancel()
	start := time.Now()
	if err := Sleep(ctx, time.Hour); !errors.Is(err, context.Canceled) {
		t.Errorf("cancelled sleep: error %v, want context.Canceled", err)
	}
	if time.Since(start) > time.Second {
		t.Errorf("cancelled sleep did not return at once")
	}
}

func TestSleepEndsWhenTheContextEndsMidway(t *testing.T) {
	ctx, cancel := context.WithTimeout(t.Context(), 20*time.Millisecond)
	defer cancel()
	start := time.Now()
	if err := Sleep(ctx, time.Hour); !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("error %v, want context.DeadlineExceeded", err)
	}
	if time.Since(start) > 5*time.Second {
		t.Errorf("sleep outlived its context")
	}
}

func TestBackoffIsCappedAndJittered(t *testing.T) {
	tests := []struct {
		try         int
		base, limit time.Duration
		full        time.Duration
	}{
		{1, 500 * time.Millisecond, 5 * time.Second, 500 * time.Millisecond},
		{2, 500 * time.Millisecond, 5 * time.Second, time.Second},
		{4, 500 * time.Millisecond, 5 * time.Second, 4 * time.Second},
		{5, 500 * time.Millisecond, 5 * time.Second, 5 * time.Second},
		{3, 100 * time.Millisecond, time.Minute, 400 * time.Millisecond},
		// The doubling stops at 2^10, so a late try neither overflows nor
		// passes the cap.
		{11, time.Second, time.Hour, 1024 * time.Second},
		{1000, time.Second, time.Hour, 1024 * time.Second},
		{1000, 500 * time.Millisecond, 5 * time.Second, 5 * time.Second},
	}
	for _, tt := range tests {
		t.Run(fmt.Sprintf("try %d of %v up to %v", tt.try, tt.base, tt.limit), func(t *testing.T) {
			seen := map[time.Duration]bool{}
			for range 200 {
				d := Backoff(tt.try, tt.base, tt.limit)
				if d < tt.full/2 || d > tt.full {
					t.Fatalf("Backoff = %v, want between %v and %v", d, tt.full/2, tt.full)
				}
				seen[d] = true
			}
			if len(seen) < 2 {
				t.Errorf("Backoff is not jittered: always %v", seen)
			}
		})
	}
}

// testError stands for a provider's *Error.
type testError struct {
	transport bool
	status    int
	err       error
}

func (e *testError) Error() string { return fmt.Sprintf("test: %d: %v", e.status, e.err) }
func (e *testError) Unwrap() error { return e.err }

func testFields(e *testError) (bool, int) { return e.transport, e.status }

func TestShouldRetry(t *testing.T) {
	done, cancel := context.WithCancel(context.Background())
	cancel()
	tests := []struct {
		name       string
		ctx        context.Context
		err        error
		want       bool
		wantReason string
	}{
		{"timeout", context.Background(), &testError{transport: true, err: context.DeadlineExceeded}, true, "timed out"},
		{"network error", context.Background(), &testError{transport: true, err: errors.New("connection reset")}, true, "network error"},
		{"5xx", context.Background(), &testError{status: 503}, true, "HTTP 503"},
		{"wrapped 5xx", context.Background(), fmt.Errorf("outer: %w", &testError{status: 500}), true, "HTTP 500"},
		{"4xx", context.Background(), &testError{status: 400}, false, "not retryable"},
		{"deadline from an answer, not a transport failure", context.Background(), &testError{status: 200, err: context.DeadlineExceeded}, false, "not retryable"},
		{"foreign error", context.Background(), errors.New("boom"), false, "not a Test error"},
		{"caller's context done", done, &testError{status: 503}, false, "the caller's context is done"},
		{"caller's context done before the type is looked at", done, errors.New("boom"), false, "the caller's context is done"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, reason := ShouldRetry(tt.ctx, tt.err, "Test", testFields)
			if got != tt.want || reason != tt.wantReason {
				t.Errorf("ShouldRetry = %v, %q; want %v, %q", got, reason, tt.want, tt.wantReason)
			}
		})
	}
}

// timeoutError is a net.Error that says it timed out, as a dial timeout does.
type timeoutError struct{}

func (timeoutError) Error() string   { return "i/o timeout" }
func (timeoutError) Timeout() bool   { return true }
func (timeoutError) Temporary() bool { return true }

var _ net.Error = timeoutError{}

func TestTransportFailure(t *testing.T) {
	expired, cancel := context.WithDeadline(context.Background(), time.Now().Add(-time.Second))
	defer cancel()
	cancelled, cancel2 := context.WithCancel(context.Background())
	cancel2()
	reset := errors.New("connection reset by peer")

	tests := []struct {
		name     string
		actx     context.Context
		err      error
		want     string
		wantIs   []error
		wantText string
	}{
		{"plain network error", context.Background(), reset, "network error", []error{reset}, "connection reset by peer"},
		{"net.Error timeout", context.Background(), timeoutError{}, "timed out", nil, "i/o timeout"},
		{"deadline the error left out", expired, reset, "timed out", []error{context.DeadlineExceeded, reset},
			"context deadline exceeded (connection reset by peer)"},
		{"deadline already wrapped", expired, fmt.Errorf("get: %w", context.DeadlineExceeded), "timed out",
			[]error{context.DeadlineExceeded}, "get: context deadline exceeded"},
		{"cancelled", cancelled, reset, "cancelled", []error{context.Canceled, reset}, "context canceled (connection reset by peer)"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cause, what := TransportFailure(tt.actx, tt.err)
			if what != tt.want {
				t.Errorf("what = %q, want %q", what, tt.want)
			}
			for _, target := range tt.wantIs {
				if !errors.Is(cause, target) {
					t.Errorf("cause %v does not wrap %v", cause, target)
				}
			}
			if cause.Error() != tt.wantText {
				t.Errorf("cause = %q, want %q", cause, tt.wantText)
			}
		})
	}
}

func TestNeverSent(t *testing.T) {
	// A port nobody listens on: the dial is refused.
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	l.Close()
	_, refused := http.Get("http://" + addr + "/")
	if refused == nil {
		t.Fatal("a closed port answered")
	}
	tests := []struct {
		name string
		err  error
		want bool
	}{
		{"connection refused", fmt.Errorf("network error: %w", refused), true},
		{"name not resolved", &url.Error{Op: "Post", URL: "https://x.invalid", Err: &net.OpError{Op: "dial", Net: "tcp",
			Err: &net.DNSError{Err: "no such host", Name: "x.invalid", IsNotFound: true}}}, true},
		{"dial timed out", &net.OpError{Op: "dial", Net: "tcp", Err: context.DeadlineExceeded}, true},
		{"read reset", &net.OpError{Op: "read", Net: "tcp", Err: syscall.ECONNRESET}, false},
		{"timed out", fmt.Errorf("timed out: %w", context.DeadlineExceeded), false},
		{"unexpected EOF", io.ErrUnexpectedEOF, false},
	}
	for _, tc := range tests {
		if got := NeverSent(tc.err); got != tc.want {
			t.Errorf("%s: NeverSent(%v) = %v, want %v", tc.name, tc.err, got, tc.want)
		}
	}
}
