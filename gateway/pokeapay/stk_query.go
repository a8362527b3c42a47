package pokeapay

import (
	"context"
	"fmt"
	"net/http"
	"strings"
	"unicode/utf8"

	"checkout/gateway"
)

// Confirm asks PokeaPay's transaction query about a prompt
// (POST /transaction/query with the document's body: amount in whole
// shillings, phone, outletCode, and orderRef = q.AttemptID). It implements
// gateway.Confirmer.
//
// The query is checked before anything is sent: q.AttemptID must be set,
// q.Phone must match ^(254(7|1)\d{8})$, q.Amount must be whole shillings
// and more than zero, and q.Currency empty or KES. A refusal wraps
// ErrInvalidRequest.
//
// The answer is read as the document's saved answers mean it (see
// queryResult and testdata/ASSUMED.md). Comparing the amount with the
// attempt is the caller's job.
//
// Asking only reads, so network errors, timeouts and 5xx answers are
// retried, up to 3 tries in all, with capped, jittered backoff.
func (c *STKClient) Confirm(ctx context.Context, q gateway.Query) (gateway.Result, error) {
	const op = "transaction query"
	ref := strings.TrimSpace(q.AttemptID)
	switch {
	case ref == "":
		return gateway.Result{}, invalid(op, "attempt id is required")
	case utf8.RuneCountInString(ref) > maxOrderRef || !printable(ref):
		return gateway.Result{}, invalid(op, "attempt id must be printable and at most %d characters", maxOrderRef)
	case !stkPhonePattern.MatchString(q.Phone):
		return gateway.Result{}, invalid(op, "phone must be 254 followed by 7 or 1 and 8 digits")
	case q.Amount <= 0:
		return gateway.Result{}, invalid(op, "amount must be more than zero")
	case !q.Amount.Whole():
		return gateway.Result{}, invalid(op, "amount %s has cents; M-Pesa takes whole shillings", q.Amount)
	case q.Currency != "" && q.Currency != CurrencyKES:
		return gateway.Result{}, invalid(op, "currency %q is not KES", tidyText(q.Currency))
	}
	req := transactionQueryRequest{
		Amount:     int64(q.Amount / 100),
		Phone:      q.Phone,
		OutletCode: c.outletCode,
		OrderRef:   ref,
	}
	return c.withRetries(ctx, op, func() (gateway.Result, error) {
		a, err := c.call(ctx, op, pathTransactionQuery, req)
		if err != nil {
			return gateway.Result{}, err
		}
		return c.queryResult(op, a, ref)
	})
}

// queryResult maps one transaction query answer about ref. The document's
// examples under "Transaction Query" decide it:
//
//   - "Transaction Query Success" ({"success": true, "message": ...,
//     "data": {"receipt", ..., "orderRef", "amount", ...}}, the success
//     callback's body): StatusSucceeded with the receipt, the resultCode
//     only when the answer has one (the example has none), and the
//     amount when data.amount is there (HasAmount; an amount that is there
//     but unreadable is an error). It needs HTTP 2xx and a receipt.
//   - "stkPush Transaction POST Success" ({"success": true, "message":
//     "Transaction initiated successfully", "data": {"orderRef", "amount",
//     "phone"}}, no receipt): the prompt is under way, StatusPending.
//   - "Error" ({"success": false, "error": "Unableto lock subscriber, a
//     transaction is already in process ..."}): StatusPending, as is any
//     "success": false whose text says pending (stkPendingTexts).
//   - a "success": false whose text says the transaction is not found
//     (stkNotFoundTexts, assumed), with HTTP 2xx, or 404 when the text
//     names the transaction or the order: StatusNotFound. A text about a
//     route is never "not found".
//   - the failure callback's body ({"success": false, "message": "Failed
//     Reason", "data": {"orderRef", ...}}, no "error"), about ref, with
//     HTTP 2xx: StatusFailed with the reason as Message (assumed: the
//     document shows it as a callback, not as a query answer).
//   - "Invalid/Missing Inputs" ({"success": false, "error": "\"phone\" ...
//     fails to match ...", "data": {the request}}) and anything else: an
//     *Error with PokeaPay's text, never a success.
//
// A 5xx is an error whatever its body says, and so is a "success": false
// with any 4xx but 400 and 422 (the document's refusals of the query) and
// a 404 naming the transaction: a limiter's 429, a firewall's 403 or a
// router's 404 echoing our request is not M-Pesa's word on the prompt. An
// answer whose data.orderRef names another reference is an error.
func (c *STKClient) queryResult(op string, a stkAnswer, ref string) (gateway.Result, error) {
	if a.Status >= 500 {
		// Whatever the body says, a 5xx is PokeaPay failing: an error, which
		// withRetries repeats.
		e := &Error{Op: op, HTTPStatus: a.Status, Message: http.StatusText(a.Status)}
		if env, err := readEnvelope(a.Body); err == nil {
			if s := c.text(env, a.Bearer); s != "" {
				e.Message = s
			}
		}
		return gateway.Result{}, e
	}
	env, err := c.envelope(op, a)
	if err != nil {
		return gateway.Result{}, err
	}
	var d stkCallbackData
	decodeData(env.Data, &d)
	text := c.text(env, a.Bearer)
	fail := func(format string, args ...any) (gateway.Result, error) {
		e := &Error{Op: op, HTTPStatus: a.Status, Message: "unexpected answer: " + fmt.Sprintf(format, args...)}
		if text != "" {
			e.Message += ": " + text
		}
		return gateway.Result{}, e
	}
	orderRef := c.clean(d.OrderRef.Trimmed(), a.Bearer)
	r := gateway.Result{
		Currency:          CurrencyKES,
		Reference:         ref,
		ProviderReference: ref,
		Method:            "M-Pesa",
		Raw:               c.secrets.RedactBytes(a.Body, a.Bearer),
	}
	code := c.clean(d.ResultCode.Trimmed(), a.Bearer)
	switch {
	case !env.Success.Set:
		return fail("answer has no success flag")
	case env.Success.Value:
		if orderRef != "" && orderRef != ref {
			return fail("answer is about another orderRef (asked %q, got %q)", ref, orderRef)
		}
		receipt := c.clean(d.Receipt.Trimmed(), a.Bearer)
		switch {
		case a.Status < 200 || a.Status > 299:
			return fail("success true with HTTP %d", a.Status)
		case receipt == "":
			// "Transaction initiated successfully": asked, not yet paid.
			r.Status = gateway.StatusPending
			return r, nil
		case code != "" && code != "0":
			return fail("data.receipt with data.resultCode %q", code)
		}
		if amt := d.Amount.Trimmed(); amt != "" {
			v, err := gateway.ParseProviderAmount(amt)
			if err != nil {
				return fail("data.amount %q is not an amount", c.clean(amt, a.Bearer))
			}
			r.Amount, r.HasAmount = v, true
		}
		// Code is M-Pesa's code only when PokeaPay reports one; the
		// documented success carries none.
		r.Status, r.Receipt, r.Code = gateway.StatusSucceeded, receipt, code
		return r, nil
	case !queryStatusRead(a.Status, env):
		// A limiter, a firewall, a missing route: an answer that is not
		// PokeaPay's word on the prompt, whatever its body says.
		e := &Error{Op: op, HTTPStatus: a.Status, Message: text}
		if e.Message == "" {
			e.Message = http.StatusText(a.Status)
		}
		return gateway.Result{}, e
	case saysAny(stkPendingTexts, env.Error.Trimmed(), env.Message.Trimmed()):
		r.Status = gateway.StatusPending
		return r, nil
	case saysNotFound(env) && (ok2xx(a.Status) || a.Status == http.StatusNotFound):
		r.Status, r.Message = gateway.StatusNotFound, text
		return r, nil
	case ok2xx(a.Status) && env.Error.Trimmed() == "" && env.Message.Trimmed() != "" && orderRef == ref:
		// The failure callback's body, about this prompt.
		if code == "0" {
			return fail("a failure with data.resultCode 0")
		}
		if code == "" {
			code = mpesaCodeFor(text)
		}
		r.Status, r.Code, r.Message = gateway.StatusFailed, code, text
		return r, nil
	case orderRef != "" && orderRef != ref && env.Error.Trimmed() == "":
		return fail("answer is about another orderRef (asked %q, got %q)", ref, orderRef)
	}
	e := &Error{Op: op, HTTPStatus: a.Status, Message: text}
	if e.Message == "" {
		e.Message = "PokeaPay did not answer the query"
	}
	return gateway.Result{}, e
}

// ok2xx reports an HTTP status of success.
func ok2xx(status int) bool { return status >= 200 && status <= 299 }

// queryStatusRead reports whether a query answer with "success": false and
// this HTTP status may carry a verdict on the prompt: a 2xx, the statuses
// of the document's query refusals (400 "Unable to lock subscriber", 422
// its validator; neither is a failure of the prompt), and a 404 whose text
// says the transaction or the order is not found (saysNotFound and
// stkNotFoundSubjects). Any other status (403, 429, a 404 about a route or
// naming nothing, ...) comes from something that did not look at the
// prompt (ASSUMED.md, "STK query answers by HTTP status").
func queryStatusRead(status int, env stkEnvelope) bool {
	switch {
	case ok2xx(status), status == http.StatusBadRequest, status == http.StatusUnprocessableEntity:
		return true
	case status == http.StatusNotFound:
		return saysNotFound(env) && saysAny(stkNotFoundSubjects, env.Error.Trimmed(), env.Message.Trimmed())
	}
	return false
}

// saysNotFound reports whether a "success": false answer's text says
// there is no record (stkNotFoundTexts), and not that a route is unknown
// (stkRouteTexts): an unknown URL's {"error": "Route not found"} never
// reads as "this prompt does not exist".
func saysNotFound(env stkEnvelope) bool {
	texts := []string{env.Error.Trimmed(), env.Message.Trimmed()}
	return saysAny(stkNotFoundTexts, texts...) && !saysAny(stkRouteTexts, texts...)
}

// saysAny reports whether any of texts contains one of markers, in any
// case.
func saysAny(markers []string, texts ...string) bool {
	for _, s := range texts {
		s = strings.ToLower(s)
		for _, m := range markers {
			if strings.Contains(s, m) {
				return true
			}
		}
	}
	return false
}
