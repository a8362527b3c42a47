package pokeapay

import (
	"errors"
	"fmt"
	"strings"
)

// ErrInvalidRequest is wrapped by the *Error returned when a request is
// refused before anything is built or sent (a missing or over-long field).
var ErrInvalidRequest = errors.New("invalid request")

// ErrBadHash is returned by VerifyReturn when the return URL's hsh is
// missing or is not the one PokeaPay computes with our hash key: the return
// did not come from PokeaPay, or was altered on the way.
var ErrBadHash = errors.New("pokeapay: bad return hash")

// ErrInvalidReturn is wrapped by every error ParseReturn returns.
var ErrInvalidReturn = errors.New("pokeapay: invalid return")

// ErrInvalidIPN is wrapped by every error ParseIPN returns, so that an IPN
// handler can answer 400 without looking at the text.
var ErrInvalidIPN = errors.New("pokeapay: invalid IPN")

// Error is every error the Client's calls return: an answer that is not a
// success, an answer that could not be understood, a refused request, or a
// transport failure. Use errors.As to read it; Unwrap gives the cause, so
// errors.Is(err, context.DeadlineExceeded) holds on a timeout.
//
// Its text never contains the hash key, nor the STK API's email, password
// or token.
type Error struct {
	// HTTPStatus is the HTTP status of PokeaPay's answer; 0 when there was
	// no answer (transport failure, or a request refused before sending).
	HTTPStatus int
	// Code is the provider's value that could not be used, for example a
	// verification status that is none of the three documented ones.
	Code string
	// Message is PokeaPay's message, or ours when PokeaPay gave none.
	Message string
	// Op names the call that failed, for example "verify payment".
	Op string
	// Err is the underlying cause, if any (a context or network error,
	// ErrInvalidRequest).
	Err error

	// transport is set when no HTTP answer came back: such a failure is safe
	// to retry for calls that may be repeated.
	transport bool
}

// Error reads "pokeapay: <op>: HTTP <status>: <code>: <message>: <cause>",
// leaving out the parts that are empty.
func (e *Error) Error() string {
	var b strings.Builder
	b.WriteString("pokeapay")
	if e.Op != "" {
		b.WriteString(": " + e.Op)
	}
	if e.HTTPStatus != 0 {
		fmt.Fprintf(&b, ": HTTP %d", e.HTTPStatus)
	}
	if e.Code != "" {
		b.WriteString(": " + e.Code)
	}
	if e.Message != "" {
		b.WriteString(": " + e.Message)
	}
	if e.Err != nil {
		b.WriteString(": " + e.Err.Error())
	}
	return b.String()
}

// Unwrap returns the cause, so that errors.Is sees context errors and
// ErrInvalidRequest.
func (e *Error) Unwrap() error { return e.Err }

// invalid builds the error for a request refused before sending.
func invalid(op, format string, args ...any) *Error {
	return &Error{Op: op, Err: fmt.Errorf("%w: "+format, append([]any{ErrInvalidRequest}, args...)...)}
}
