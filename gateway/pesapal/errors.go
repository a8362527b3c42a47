package pesapal

import (
	"encoding/json"
	"errors"
	"fmt"
	"strings"
)

// ErrInvalidRequest is wrapped by the *Error returned when a request is
// refused before anything is sent (a missing or over-long field).
var ErrInvalidRequest = errors.New("invalid request")

// Error is every error the Client returns: Pesapal's own error object, an
// answer that could not be understood, a refused request, or a transport
// failure. Use errors.As to read it; Unwrap gives the cause, so
// errors.Is(err, context.DeadlineExceeded) holds on a timeout.
//
// Its text never contains the consumer secret or a bearer token.
type Error struct {
	// HTTPStatus is the HTTP status of Pesapal's answer; 0 when there was no
	// answer (transport failure, or a request refused before sending).
	HTTPStatus int
	// Type is Pesapal's error_type (or "type"), for example "api_error".
	Type string
	// Code is Pesapal's error code, for example "payment_details_not_found".
	Code string
	// Message is Pesapal's message, or ours when Pesapal gave none.
	Message string
	// Op names the call that failed, for example "get transaction status".
	Op string
	// Err is the underlying cause, if any (a context or network error,
	// ErrInvalidRequest).
	Err error

	// transport is set when no HTTP answer came back: such a failure is safe
	// to retry for calls that may be repeated.
	transport bool
}

// Error reads "pesapal: <op>: HTTP <status>: <code> (<type>): <message>: <cause>",
// leaving out the parts that are empty.
func (e *Error) Error() string {
	var b strings.Builder
	b.WriteString("pesapal")
	if e.Op != "" {
		b.WriteString(": " + e.Op)
	}
	if e.HTTPStatus != 0 {
		fmt.Fprintf(&b, ": HTTP %d", e.HTTPStatus)
	}
	switch {
	case e.Code != "" && e.Type != "":
		b.WriteString(": " + e.Code + " (" + e.Type + ")")
	case e.Code != "":
		b.WriteString(": " + e.Code)
	case e.Type != "":
		b.WriteString(": " + e.Type)
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

// ErrorObject is Pesapal's error object. The document's generic error object
// names its first field "type"; the transaction status and IPN answers name
// it "error_type"; both are read. A null error decodes to a nil pointer.
type ErrorObject struct {
	// Type is the "type" spelling of the error type.
	Type string `json:"type"`
	// ErrorType is the "error_type" spelling of the error type.
	ErrorType string `json:"error_type"`
	// Code is Pesapal's code, for example "payment_details_not_found".
	Code string `json:"code"`
	// Message is Pesapal's explanation, for example "Pending Payment".
	Message string `json:"message"`
	// CallBackURL is the order's callback URL, sent with transaction status
	// errors.
	CallBackURL string `json:"call_back_url"`
}

// UnmarshalJSON reads the object, and treats anything that is not an object
// as no error: the document lists "error" as an Integer for GetIpnList and
// SubmitOrderRequest while its samples show null.
func (o *ErrorObject) UnmarshalJSON(b []byte) error {
	if len(b) == 0 || b[0] != '{' {
		*o = ErrorObject{}
		return nil
	}
	type plain ErrorObject // without this method, so no recursion
	return json.Unmarshal(b, (*plain)(o))
}

// empty reports whether o carries no error: nil, or the all-null object of
// the document's successful transaction status sample.
func (o *ErrorObject) empty() bool {
	return o == nil || (o.Type == "" && o.ErrorType == "" && o.Code == "" && o.Message == "")
}

// kind returns the error type under either spelling.
func (o *ErrorObject) kind() string {
	if o.ErrorType != "" {
		return o.ErrorType
	}
	return o.Type
}

// pendingPayment reports Pesapal's way of saying "still pending": an error
// object with code payment_details_not_found (message "Pending Payment").
func (o *ErrorObject) pendingPayment() bool {
	return o != nil && strings.EqualFold(strings.TrimSpace(o.Code), codePendingPayment)
}

// codePendingPayment is the code of Pesapal's pending-payment error object.
const codePendingPayment = "payment_details_not_found"
