package pokeapay

import (
	"context"
	"fmt"
	"net/http"
	"strings"
	"unicode/utf8"

	"checkout/gateway"
)

// msgSTKFailed explains a failed query without PokeaPay's own words.
const msgSTKFailed = "PokeaPay reports the M-Pesa payment as failed."

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
// The answer is not documented (the document's examples are copies of the
// push and callback bodies); its assumed shape is transactionQueryData in
// assumed.go. A completed status with a receipt is StatusSucceeded, with
// the amount PokeaPay reports (HasAmount only when it reports a readable
// one), the receipt, Code "0", Currency KES and Reference the orderRef;
// failed is StatusFailed with M-Pesa's resultCode and resultDesc; pending,
// or "success": false with a "not found" or "pending" text, is
// StatusPending. Anything else is an *Error, never a success; comparing the
// amount with the attempt is the caller's job.
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

// queryResult maps one transaction query answer about ref.
func (c *STKClient) queryResult(op string, a stkAnswer, ref string) (gateway.Result, error) {
	if a.status >= 500 {
		// Whatever the body says, a 5xx is PokeaPay failing: an error, which
		// withRetries repeats.
		e := &Error{Op: op, HTTPStatus: a.status, Message: http.StatusText(a.status)}
		if env, err := readEnvelope(a.body); err == nil {
			if s := c.text(env, a.bearer); s != "" {
				e.Message = s
			}
		}
		return gateway.Result{}, e
	}
	env, err := c.envelope(op, a)
	if err != nil {
		return gateway.Result{}, err
	}
	var d transactionQueryData
	decodeData(env.Data, &d)
	fail := func(format string, args ...any) (gateway.Result, error) {
		e := &Error{Op: op, HTTPStatus: a.status, Message: "unexpected answer: " + fmt.Sprintf(format, args...)}
		if s := c.text(env, a.bearer); s != "" {
			e.Message += ": " + s
		}
		return gateway.Result{}, e
	}

	if got := c.clean(d.OrderRef.text(), a.bearer); got != "" && got != ref {
		return fail("answer is about another orderRef (asked %q, got %q)", ref, got)
	}
	r := gateway.Result{
		Currency:          CurrencyKES,
		Reference:         ref,
		ProviderReference: ref,
		Method:            "M-Pesa",
		Raw:               c.secrets.RedactBytes(a.body, a.bearer),
	}
	// An unreadable amount leaves HasAmount false: the payments service then
	// holds a success for review instead of marking it paid.
	if amt, err := gateway.ParseProviderAmount(d.Amount.text()); err == nil {
		r.Amount, r.HasAmount = amt, true
	}
	status := d.Status.text()
	code := c.clean(d.ResultCode.text(), a.bearer)
	switch kind := stkStatusWords[strings.ToLower(status)]; {
	case kind == gateway.StatusSucceeded:
		receipt := c.clean(d.Receipt.text(), a.bearer)
		switch {
		case !env.Success.isTrue():
			return fail("data.status %q without success true", status)
		case a.status < 200 || a.status > 299:
			return fail("data.status %q with HTTP %d", status, a.status)
		case receipt == "":
			return fail("data.status %q without data.receipt", status)
		case code != "" && code != "0":
			return fail("data.status %q with data.resultCode %q", status, code)
		}
		r.Status, r.Receipt, r.Code = gateway.StatusSucceeded, receipt, "0"
	case kind == gateway.StatusFailed:
		if code == "0" {
			return fail("data.status %q with data.resultCode 0", status)
		}
		r.Status, r.Code = gateway.StatusFailed, code
		r.Message = c.clean(d.ResultDesc.text(), a.bearer)
		if r.Message == "" {
			r.Message = c.text(env, a.bearer)
		}
		if r.Message == "" {
			r.Message = msgSTKFailed
		}
	case kind == gateway.StatusPending:
		r.Status = gateway.StatusPending
	case status == "" && !env.Success.isTrue():
		if saysPending(env, d) {
			r.Status = gateway.StatusPending
			break
		}
		e := &Error{Op: op, HTTPStatus: a.status, Message: c.text(env, a.bearer)}
		if e.Message == "" {
			e.Message = "PokeaPay did not answer the query"
		}
		return gateway.Result{}, e
	case status == "":
		return fail("answer has no data.status")
	default:
		return fail("unknown data.status %q", c.clean(status, a.bearer))
	}
	return r, nil
}

// saysPending reports a failure text meaning "nothing final yet".
func saysPending(env stkEnvelope, d transactionQueryData) bool {
	for _, s := range []string{env.Error.text(), env.Message.text(), d.ResultDesc.text()} {
		s = strings.ToLower(s)
		for _, m := range stkPendingTexts {
			if strings.Contains(s, m) {
				return true
			}
		}
	}
	return false
}
