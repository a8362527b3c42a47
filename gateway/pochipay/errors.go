package pochipay

import (
	"errors"
	"fmt"
	"regexp"
	"strings"

	"checkout/gateway"
)

// ErrInvalidRequest is wrapped by the *Error returned when a request is
// refused before anything is sent (a bad phone number, an amount with
// cents, a missing field).
var ErrInvalidRequest = errors.New("invalid request")

// ErrInvalidCallback is wrapped by every error ParseCallback returns, so
// that a callback handler can answer 400 without looking at the text.
var ErrInvalidCallback = errors.New("pochipay: invalid callback")

// Error is every error the Client's calls return: Pochipay's own error
// messages, an answer that could not be understood or cannot mean success,
// a refused request, or a transport failure. Use errors.As to read it;
// Unwrap gives the cause, so errors.Is(err, context.DeadlineExceeded) holds
// on a timeout and errors.Is(err, gateway.ErrSubscriberBusy) when the phone
// already has a prompt.
//
// Its text never contains the password, the email or a bearer token.
type Error struct {
	// HTTPStatus is the HTTP status of Pochipay's answer; 0 when there was
	// no answer (transport failure, or a request refused before sending).
	HTTPStatus int
	// Messages are Pochipay's "message" and "errors", cleaned of
	// credentials and control characters.
	Messages []string
	// Op names the call that failed: "request token", "push",
	// "transaction status" or "collection query".
	Op string
	// Err is the cause, if any: a context or network error,
	// ErrInvalidRequest, gateway.ErrSubscriberBusy, or our description of
	// an answer that could not be used.
	Err error

	// transport is set when no HTTP answer came back: such a failure is
	// safe to retry for calls that may be repeated.
	transport bool
}

// Error reads "pochipay: <op>: HTTP <status>: <message>; <message>: <cause>",
// leaving out the parts that are empty.
func (e *Error) Error() string {
	var b strings.Builder
	b.WriteString("pochipay")
	if e.Op != "" {
		b.WriteString(": " + e.Op)
	}
	if e.HTTPStatus != 0 {
		fmt.Fprintf(&b, ": HTTP %d", e.HTTPStatus)
	}
	if len(e.Messages) > 0 {
		b.WriteString(": " + strings.Join(e.Messages, "; "))
	}
	if e.Err != nil {
		b.WriteString(": " + e.Err.Error())
	}
	return b.String()
}

// Unwrap returns the cause.
func (e *Error) Unwrap() error { return e.Err }

// invalid builds the error for a request refused before sending.
func invalid(op, format string, args ...any) *Error {
	return &Error{Op: op, Err: fmt.Errorf("%w: "+format, append([]any{ErrInvalidRequest}, args...)...)}
}

// busyText recognises M-Pesa's "a prompt is already on this phone" in
// Pochipay's error text, however it is passed on: Safaricom's "Unable to
// lock subscriber, a transaction is already in process for the current
// subscriber", or the result code 1001 on its own. \b keeps 1001 inside a
// phone number or a longer code from matching.
var busyText = regexp.MustCompile(`(?i)lock(ing)?\s+(the\s+)?subscriber|already\s+in\s+(process|progress)|\b1001\b`)

// markBusy makes err wrap gateway.ErrSubscriberBusy when it is Pochipay's
// answer saying the phone already has a prompt.
func markBusy(err error) error {
	var e *Error
	if !errors.As(err, &e) || e.HTTPStatus == 0 {
		return err
	}
	for _, m := range e.Messages {
		if busyText.MatchString(m) {
			if e.Err == nil {
				e.Err = gateway.ErrSubscriberBusy
			} else {
				e.Err = fmt.Errorf("%w: %w", gateway.ErrSubscriberBusy, e.Err)
			}
			return e
		}
	}
	return err
}
