package pochipay

import (
	"bytes"
	"encoding/json"
	"fmt"
	"unicode/utf8"

	"checkout/gateway"
	"checkout/gateway/internal/httpx"
)

// maxCallback caps the callback body; Pochipay's is a few hundred bytes.
const maxCallback = 16 << 10

// ParseCallback reads a collection callback. The content type is not
// relied on (the page says only that the body is JSON). The body is read
// leniently: unknown fields are ignored, and values may be strings or
// numbers. A body without an orderId, not a JSON object, or larger than 16
// KiB is refused with an error wrapping ErrInvalidCallback.
//
// The callback's verdict (Successful, Code, Message) is kept for the event
// log only: it is not signed, so Confirm decides.
func (c *Client) ParseCallback(contentType string, body []byte) (gateway.STKCallback, error) {
	return parseCallback(body)
}

func parseCallback(body []byte) (gateway.STKCallback, error) {
	if len(body) > maxCallback {
		return gateway.STKCallback{}, fmt.Errorf("%w: body is larger than 16 KiB", ErrInvalidCallback)
	}
	t := bytes.TrimSpace(body)
	if len(t) == 0 || t[0] != '{' {
		return gateway.STKCallback{}, fmt.Errorf("%w: body is not a JSON object", ErrInvalidCallback)
	}
	var cb callbackBody
	if err := json.Unmarshal(t, &cb); err != nil {
		// encoding/json's messages name fields and types, never values.
		return gateway.STKCallback{}, fmt.Errorf("%w: %w", ErrInvalidCallback, err)
	}
	ref := cb.OrderID.Trimmed()
	switch {
	case ref == "":
		return gateway.STKCallback{}, fmt.Errorf("%w: no orderId", ErrInvalidCallback)
	case !httpx.Printable(ref) || utf8.RuneCountInString(ref) > 100:
		// Our ids are short and plain; anything else was not sent by us.
		return gateway.STKCallback{}, fmt.Errorf("%w: orderId is not one of our references", ErrInvalidCallback)
	}
	msg := cb.FailReason.Trimmed()
	if msg == "" {
		msg = cb.ResultDescription.Trimmed()
	}
	return gateway.STKCallback{
		Reference:         ref,
		ProviderReference: plainText(cb.CollectionID.Trimmed()),
		Successful:        cb.IsSuccessful.Set && cb.IsSuccessful.Value,
		Code:              firstNonEmpty(plainText(cb.ResultCode.Trimmed()), mpesaCode(msg)),
		Message:           plainText(msg),
	}, nil
}

// plainText drops control characters and invalid UTF-8 from s and keeps at
// most maxMessageLen characters, for text that ends up in the event log.
func plainText(s string) string {
	return httpx.TidyText(s, maxMessageLen)
}
