package httpx

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"net"
	"syscall"
	"time"
)

// Sleep waits d unless ctx ends first, in which case it returns ctx's error
// at once. It is the clients' default Config.Sleep: a retry must not outlive
// the caller that asked for it.
func Sleep(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		return nil
	}
}

// Backoff is the wait after the given try (1-based), after stripe-go: base
// doubling per try, capped at limit, with jitter that keeps between half and
// all of it so that clients retrying together spread out. The doubling stops
// after 10 tries so that the shift cannot overflow.
func Backoff(try int, base, limit time.Duration) time.Duration {
	d := base << min(try-1, 10)
	d = min(d, limit)
	return d/2 + rand.N(d/2+1)
}

// ShouldRetry says whether a failed try of a call that is safe to repeat
// may be tried again, and why (the reason goes in the retry log line and in
// the error when the wait is cut short). After stripe-go: a transport
// failure (no HTTP answer, timeouts included) and a 5xx answer are retried;
// nothing is once the caller's context is done, nor an error that is not
// the provider's own E (it did not come from an exchange), nor any other
// answer.
//
// provider is the name used in the reason for a foreign error ("not a
// Pesapal error"); fields reads from the provider's error whether no HTTP
// answer came back and the HTTP status, which its *Error keeps unexported.
func ShouldRetry[E error](ctx context.Context, err error, provider string, fields func(E) (transport bool, httpStatus int)) (bool, string) {
	if ctx.Err() != nil {
		return false, "the caller's context is done"
	}
	var e E
	if !errors.As(err, &e) {
		return false, "not a " + provider + " error"
	}
	transport, status := fields(e)
	switch {
	case transport && errors.Is(e, context.DeadlineExceeded):
		return true, "timed out"
	case transport:
		return true, "network error"
	case status >= 500:
		return true, fmt.Sprintf("HTTP %d", status)
	}
	return false, "not retryable"
}

// What TransportFailure says of a request that got no HTTP answer.
const (
	whatNetwork   = "network error"
	whatTimedOut  = "timed out"
	whatCancelled = "cancelled"
)

// TransportFailure describes a request that got no HTTP answer: err is what
// the HTTP client (or reading the body) returned, actx the context the
// exchange ran under. It returns the cause to wrap and what happened, in
// the words the clients' errors use: "timed out", "cancelled" or "network
// error".
//
// net/http does not wrap the context's error on every path (a deadline that
// fires while the body is read, some custom transports), so the cause has
// actx's error attached when err lacks it: errors.Is(cause,
// context.DeadlineExceeded) must hold on every timeout, for the callers and
// for ShouldRetry.
func TransportFailure(actx context.Context, err error) (cause error, what string) {
	if cerr := actx.Err(); cerr != nil && !errors.Is(err, cerr) {
		err = fmt.Errorf("%w (%w)", cerr, err)
	}
	what = whatNetwork
	var ne net.Error
	switch {
	case errors.Is(err, context.DeadlineExceeded), errors.As(err, &ne) && ne.Timeout():
		what = whatTimedOut
	case errors.Is(err, context.Canceled):
		what = whatCancelled
	}
	return err, what
}

// NeverSent reports whether a transport failure (err, as returned by the
// HTTP client or wrapping it) happened before any byte of the request could
// reach the server: the name did not resolve, or the connection was never
// made (refused, or the dial failed or timed out). Any other failure (a
// timeout or a broken connection once connected) may come after the server
// got the request.
func NeverSent(err error) bool {
	var dns *net.DNSError
	var op *net.OpError
	return errors.As(err, &dns) || errors.Is(err, syscall.ECONNREFUSED) ||
		(errors.As(err, &op) && op.Op == "dial")
}
