package pokeapay

import (
	"context"
	"errors"
	"regexp"
	"strings"
	"unicode/utf8"

	"checkout/gateway"
	"checkout/gateway/internal/httpx"
)

// stkPhonePattern is the document's pattern for "phone", which PokeaPay
// checks itself (its validation error quotes it). Checking it here refuses
// a bad number before anything is sent.
var stkPhonePattern = regexp.MustCompile(`^(254(7|1)\d{8})$`)

// busyMarker is in PokeaPay's error when the phone already has a prompt:
// "Unable to lock subscriber, a transaction is already in process for the
// current subscriber" (the document's sample spells it "Unableto"). It is
// compared in any case.
const busyMarker = "lock subscriber"

// Push asks PokeaPay to send an M-Pesa prompt to r.Phone
// (POST /stkPush/transaction) with the document's fields: amount (whole
// shillings, a JSON number), phone, callBackUrl, outletCode, orderRef
// (r.Reference), and, when they have a value, variable1
// (r.AccountReference), customerName and customerEmail; variable2 is not
// used. An optional field without a value is left out, never sent as "".
// r.Description has no field in the document and is not sent.
//
// The request is checked before anything is sent (not even a login): the
// phone must match ^(254(7|1)\d{8})$, the amount must be more than zero and
// whole shillings, the reference printable and at most 50 characters, the
// callback URL absolute http(s). A refusal wraps ErrInvalidRequest.
//
// PokeaPay's answer is judged by its "success" and its text, not its HTTP
// status: the document shows a validation failure with HTTP 200 and
// "Unable to lock subscriber" with 400 and with 422. An error text
// containing "lock subscriber" (any case) is an *Error wrapping
// gateway.ErrSubscriberBusy: the phone already has a prompt, and nothing
// was started. Any other failure is an *Error with PokeaPay's text.
//
// Push is never retried, not even after a timeout, since a repeat could
// prompt the customer twice. The single exception is a 401 (the token
// refused before anything was done), which is sent once more with a new
// token.
//
// An error wraps gateway.ErrNotStarted when no prompt was started (see
// pushNotStarted): the request refused before sending, the login failed,
// no connection made, a 4xx answer, or "success": false with PokeaPay's
// reason. Any other error (a timeout or a broken connection once the push
// was sent, a 5xx, a 2xx answer that cannot be read or has no success flag)
// leaves the outcome unknown: the prompt may be on the phone, and only
// Confirm can tell.
func (c *STKClient) Push(ctx context.Context, r gateway.STKRequest) (gateway.STKStarted, error) {
	const op = "stk push"
	req, err := c.pushRequest(op, r)
	if err != nil {
		return gateway.STKStarted{}, gateway.NotStarted(err)
	}
	a, err := c.call(ctx, op, pathSTKPush, req)
	if err != nil {
		if pushNotStarted(op, err) {
			err = gateway.NotStarted(err)
		}
		return gateway.STKStarted{}, err
	}
	env, err := c.envelope(op, a)
	if err != nil {
		if refusedStatus(a.Status) {
			err = gateway.NotStarted(err)
		}
		return gateway.STKStarted{}, err
	}
	if !env.Success.isTrue() {
		e := c.pushRefused(op, a, env)
		// A clear refusal: any 4xx; "success": false with a reason, unless
		// a 5xx says PokeaPay failed while handling it; a busy phone. A
		// 2xx without a readable success flag, or with false and no
		// reason, is not one.
		if refusedStatus(a.Status) || errors.Is(e, gateway.ErrSubscriberBusy) ||
			(env.Success.Set && c.text(env, a.Bearer) != "" && a.Status < 500) {
			return gateway.STKStarted{}, gateway.NotStarted(e)
		}
		return gateway.STKStarted{}, e
	}
	var d stkPushData
	decodeData(env.Data, &d)
	ref := c.clean(d.OrderRef.Trimmed(), a.Bearer)
	switch {
	case ref == "":
		// The document's answer echoes orderRef, which is ours anyway.
		ref = req.OrderRef
	case ref != req.OrderRef:
		// Not refused: with "success" the prompt may be on the phone, and an
		// error would invite a second push. The query asks by our
		// reference, so this one is only recorded.
		c.log.WarnContext(ctx, "pokeapay push answer names another orderRef", "op", op,
			"order_ref", req.OrderRef, "answer_order_ref", ref)
	}
	c.log.DebugContext(ctx, "pokeapay push accepted", "op", op, "order_ref", req.OrderRef)
	return gateway.STKStarted{ProviderReference: ref, Raw: c.secrets.RedactBytes(a.Body, a.Bearer)}, nil
}

// refusedStatus reports an HTTP status that refuses a request without
// acting on it: 4xx.
func refusedStatus(status int) bool { return status >= 400 && status <= 499 }

// pushNotStarted reports whether err, from sending the push (c.call), came
// before any push could reach PokeaPay or from PokeaPay's refusal of it: an
// error of another call (the login), a request that could not be built, a
// connection never made, or a 4xx answer (a token refused twice). A
// timeout or a broken connection after the push was sent is not: the push
// may have been received.
func pushNotStarted(op string, err error) bool {
	var e *Error
	if !errors.As(err, &e) {
		return false
	}
	switch {
	case e.Op != op:
		return true // the login: no push was sent
	case e.transport:
		return httpx.NeverSent(e.Err)
	case e.HTTPStatus == 0:
		return true // refused before sending
	}
	return refusedStatus(e.HTTPStatus)
}

// pushRefused is the error for a push answer without success.
func (c *STKClient) pushRefused(op string, a stkAnswer, env stkEnvelope) *Error {
	e := &Error{Op: op, HTTPStatus: a.Status, Message: c.text(env, a.Bearer)}
	for _, s := range []string{env.Error.Trimmed(), env.Message.Trimmed()} {
		if strings.Contains(strings.ToLower(s), busyMarker) {
			e.Err = gateway.ErrSubscriberBusy
			break
		}
	}
	if e.Message == "" {
		e.Message = "PokeaPay did not start the prompt"
	}
	return e
}

// pushRequest builds the push body from r, or refuses r.
func (c *STKClient) pushRequest(op string, r gateway.STKRequest) (stkPushRequest, error) {
	ref := strings.TrimSpace(r.Reference)
	req := stkPushRequest{
		Phone:         r.Phone,
		CallBackURL:   strings.TrimSpace(r.CallbackURL),
		OutletCode:    c.outletCode,
		OrderRef:      ref,
		Variable1:     strings.TrimSpace(r.AccountReference),
		CustomerName:  strings.TrimSpace(r.CustomerName),
		CustomerEmail: strings.TrimSpace(r.CustomerEmail),
	}
	switch {
	case ref == "":
		return stkPushRequest{}, invalid(op, "reference is required")
	case utf8.RuneCountInString(ref) > maxOrderRef:
		return stkPushRequest{}, invalid(op, "reference is longer than %d characters", maxOrderRef)
	case !stkPhonePattern.MatchString(r.Phone):
		// The number itself is not quoted: it is the customer's.
		return stkPushRequest{}, invalid(op, "phone must be 254 followed by 7 or 1 and 8 digits")
	case r.Amount <= 0:
		return stkPushRequest{}, invalid(op, "amount must be more than zero")
	case !r.Amount.Whole():
		return stkPushRequest{}, invalid(op, "amount %s has cents; M-Pesa takes whole shillings", r.Amount)
	case !absoluteHTTP(req.CallBackURL) || !printable(req.CallBackURL):
		return stkPushRequest{}, invalid(op, "callback URL must be an absolute http(s) URL")
	}
	for _, f := range []struct{ name, value string }{
		{"reference", ref},
		{"account reference", req.Variable1},
		{"customer name", req.CustomerName},
		{"customer email", req.CustomerEmail},
	} {
		if !printable(f.value) {
			return stkPushRequest{}, invalid(op, "%s contains a character that is not printable", f.name)
		}
		if utf8.RuneCountInString(f.value) > maxText {
			return stkPushRequest{}, invalid(op, "%s is longer than %d characters", f.name, maxText)
		}
	}
	req.Amount = int64(r.Amount / 100)
	return req, nil
}
