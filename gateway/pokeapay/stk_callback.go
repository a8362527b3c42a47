package pokeapay

import (
	"errors"
	"fmt"
	"unicode/utf8"

	"checkout/gateway"
)

// ErrInvalidCallback is wrapped by every error ParseCallback returns, so
// that a callback handler can answer 400 without looking at the text.
var ErrInvalidCallback = errors.New("pokeapay: invalid STK callback")

// Limits on what ParseCallback accepts.
const (
	// maxCallbackBody bounds the body: the document's callback is a dozen
	// short values.
	maxCallbackBody = 16 << 10
	// maxCallbackRef bounds orderRef, our own reference (50 at most) with
	// room to spare.
	maxCallbackRef = 100
)

// ParseCallback reads an STK callback, the JSON body the document shows:
//
//	{"success": true, "message": "Transaction completed successfully",
//	 "data": {"receipt", "firstname", "middlename", "lastname", "orderRef",
//	          "amount", "phone", "outletCode", "variable1", "variable2"}}
//	{"success": false, "message": "Failed Reason",
//	 "data": {"orderRef", "amount", "phone", "outletCode", "variable1", "variable2"}}
//
// The content type is not relied on (the document shows only the body).
// Values may be strings or numbers, unknown fields are ignored, and
// data.resultCode is read when present (assumed: the document shows none).
// A body larger than 16 KiB, not a JSON object, or without a printable
// orderRef of at most 100 characters is refused with an error wrapping
// ErrInvalidCallback.
//
// The callback carries no signature (the document's example has an
// Authorization header whose meaning it does not give), so its verdict is
// kept for the event log only: Reference and ProviderReference are the
// orderRef, and Confirm decides.
func (c *STKClient) ParseCallback(contentType string, body []byte) (gateway.STKCallback, error) {
	return parseSTKCallback(body)
}

// parseSTKCallback is ParseCallback without a client, for the fuzz test.
func parseSTKCallback(body []byte) (gateway.STKCallback, error) {
	if len(body) > maxCallbackBody {
		return gateway.STKCallback{}, fmt.Errorf("%w: body is larger than 16 KiB", ErrInvalidCallback)
	}
	env, err := readEnvelope(body)
	if err != nil {
		return gateway.STKCallback{}, fmt.Errorf("%w: body is not a JSON object", ErrInvalidCallback)
	}
	var d stkCallbackData
	decodeData(env.Data, &d)
	ref := d.OrderRef.Trimmed()
	switch {
	case ref == "":
		return gateway.STKCallback{}, fmt.Errorf("%w: data.orderRef is missing", ErrInvalidCallback)
	case !printable(ref) || utf8.RuneCountInString(ref) > maxCallbackRef:
		// Our references are short and plain; anything else was not sent
		// by us.
		return gateway.STKCallback{}, fmt.Errorf("%w: data.orderRef is not one of our references", ErrInvalidCallback)
	}
	msg := tidyText(env.Message.Trimmed())
	if msg == "" {
		msg = tidyText(env.Error.Trimmed())
	}
	code := tidyText(d.ResultCode.Trimmed())
	if code == "" && !env.Success.isTrue() {
		code = mpesaCodeFor(msg)
	}
	return gateway.STKCallback{
		Reference:         ref,
		ProviderReference: ref,
		Successful:        env.Success.isTrue(),
		Code:              code,
		Message:           msg,
	}, nil
}
