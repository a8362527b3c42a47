package pochipay

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"regexp"
	"strings"

	"checkout/gateway"
)

// Pochipay's collection status values, compared in any case.
const (
	statusComplete = "complete"
	statusFailed   = "failed"
	statusPending  = "pending"
)

// Confirm asks Pochipay what happened to a prompt. It implements
// gateway.Confirmer.
//
// With a collection id (q.ProviderReference) it asks transaction-status.
// Without one (the push answer was lost) it asks collection-query for the
// order id q.AttemptID. Either answering that it has no record of the
// collection (a 404 carrying a JSON body) is gateway.StatusNotFound; what
// that means is the payments service's decision. Both calls only read, so
// network errors, timeouts and 5xx are retried, up to 3 tries in all. Any
// answer that cannot be mapped is an *Error, never a success. Comparing the
// amount, currency and reference with the attempt is the caller's job; a
// success whose answer reports no amount (Pochipay's documented fields have
// none) has HasAmount false.
func (c *Client) Confirm(ctx context.Context, q gateway.Query) (gateway.Result, error) {
	if id := strings.TrimSpace(q.ProviderReference); id != "" {
		const op = "transaction status"
		return withRetries(ctx, c, op, func() (gateway.Result, error) {
			a, err := c.call(ctx, op, http.MethodPost, pathTransactionStatus, nil, statusRequest{CollectionID: id})
			if err != nil {
				return gateway.Result{}, err
			}
			return c.statusResult(op, a, q, orderID(q))
		})
	}
	const op = "collection query"
	id := orderID(q)
	if id == "" {
		return gateway.Result{}, invalid(op, "a collection id or an order id is required")
	}
	return withRetries(ctx, c, op, func() (gateway.Result, error) {
		a, err := c.call(ctx, op, http.MethodGet, pathCollectionQuery, url.Values{queryOrderID: {id}}, nil)
		if err != nil {
			return gateway.Result{}, err
		}
		return c.statusResult(op, a, q, id)
	})
}

// orderID is the order id Pochipay knows the attempt by: our attempt id.
func orderID(q gateway.Query) string { return strings.TrimSpace(q.AttemptID) }

// notFoundText recognises Pochipay saying it has no record of a
// collection in an answer with no result (assumed texts, see
// testdata/ASSUMED.md).
var notFoundText = regexp.MustCompile(`(?i)\bnot\s+found\b|\bdoes\s+not\s+exist\b|\bno\s+(\w+\s+){0,2}found\b`)

// A 404's text must name what was asked about (aboutPayment), never a
// route: a router or a firewall in front of Pochipay answering 404 in JSON
// ("Route not found") must stay an error, or every payment would read as
// unknown to Pochipay and fail.
var (
	aboutPayment = regexp.MustCompile(`(?i)collection|transaction|order|payment|record`)
	aboutRoute   = regexp.MustCompile(`(?i)route|endpoint|\bpath\b|\burl\b|\bpage\b|resource|cannot\s+(get|post)`)
)

// namesTheCollection reports whether a 404's text says that the
// collection asked about is unknown.
func namesTheCollection(texts []string) bool {
	for _, m := range texts {
		if notFoundText.MatchString(m) && aboutPayment.MatchString(m) && !aboutRoute.MatchString(m) {
			return true
		}
	}
	return false
}

// notFound reports whether a is Pochipay saying it has no record of the
// collection, with the texts it gave: a 404 whose JSON body's text names
// the collection (the page lists a 404 for both status calls), or a 2xx
// with no result whose text says so. A 404 without a JSON body is not: a wrong base URL looks like
// that, and must stay an error rather than tell the payments service that
// every payment is unknown.
func (c *Client) notFound(a answer) (bool, []string) {
	t := bytes.TrimSpace(a.Body)
	if len(t) == 0 || t[0] != '{' || !json.Valid(t) {
		return false, nil
	}
	var env envelope
	if err := json.Unmarshal(t, &env); err != nil {
		return false, nil
	}
	texts := c.cleanAll(a, env.Message, env.Errors)
	if a.Status == http.StatusNotFound {
		return namesTheCollection(texts), texts
	}
	if a.Status < 200 || a.Status > 299 {
		return false, nil
	}
	if r := bytes.TrimSpace(env.Result); len(r) != 0 && string(r) != "null" {
		return false, nil
	}
	for _, m := range texts {
		if notFoundText.MatchString(m) {
			return true, texts
		}
	}
	return false, nil
}

// statusResult maps a transaction-status or collection-query answer;
// order is the order id asked about.
func (c *Client) statusResult(op string, a answer, q gateway.Query, order string) (gateway.Result, error) {
	if ok, texts := c.notFound(a); ok {
		return gateway.Result{
			Status:            gateway.StatusNotFound,
			Currency:          "KES",
			Reference:         order,
			ProviderReference: strings.TrimSpace(q.ProviderReference),
			Method:            "M-Pesa",
			Message:           firstNonEmpty(strings.Join(texts, "; "), "Pochipay has no record of this collection"),
			Raw:               c.secrets.RedactBytes(a.Body, a.Bearer),
		}, nil
	}
	var s statusResult
	if err := c.decode(op, a, &s); err != nil {
		return gateway.Result{}, err
	}
	fail := func(format string, args ...any) (gateway.Result, error) {
		return gateway.Result{}, &Error{Op: op, HTTPStatus: a.Status, Err: fmt.Errorf(format, args...)}
	}
	r := gateway.Result{
		Currency:          "KES", // Pochipay's only currency
		Reference:         firstNonEmpty(plainText(s.OrderID.Trimmed()), order),
		ProviderReference: firstNonEmpty(strings.TrimSpace(q.ProviderReference), plainText(s.CollectionID.Trimmed())),
		Receipt:           plainText(s.MpesaReference.Trimmed()),
		Method:            "M-Pesa",
		Raw:               c.secrets.RedactBytes(a.Body, a.Bearer),
	}
	// No documented status shape has an amount, so a success without one
	// is a success (HasAmount false: the payments service pays the pushed
	// amount, which the customer cannot change). An amount that is there
	// but unreadable is an error: it must never pass for "not reported".
	if s.Amount.Set {
		amt, err := gateway.ParseProviderAmount(s.Amount.Text)
		if !s.Amount.OK || err != nil {
			return fail("unreadable result.amount")
		}
		r.Amount, r.HasAmount = amt, true
	}
	code := plainText(s.ResultCode.Trimmed())
	status := s.Status.Trimmed()
	switch strings.ToLower(status) {
	case statusComplete:
		switch {
		case !s.IsSuccessful.Set:
			return fail("status Complete without a readable result.isSuccessful")
		case !s.IsSuccessful.Value:
			return fail("status Complete with result.isSuccessful false")
		case code != "" && code != "0":
			return fail("status Complete with result.resultCode %q", code)
		}
		r.Status, r.Code = gateway.StatusSucceeded, "0"
	case statusFailed:
		switch {
		case s.IsSuccessful.Set && s.IsSuccessful.Value:
			return fail("status Failed with result.isSuccessful true")
		case code == "0":
			return fail("status Failed with result.resultCode 0")
		}
		reason := c.clean(s.FailReason.Trimmed(), a.Bearer)
		desc := c.clean(s.ResultDescription.Trimmed(), a.Bearer)
		r.Status, r.Code = gateway.StatusFailed, firstNonEmpty(code, mpesaCode(reason), mpesaCode(desc))
		r.Message = firstNonEmpty(reason, desc, "Pochipay reports the collection as failed")
	case statusPending:
		r.Status = gateway.StatusPending
	case "":
		return fail("answer has no result.status")
	default:
		return fail("unknown result.status %q", c.clean(status, a.Bearer))
	}
	return r, nil
}

// mpesaSentences are M-Pesa's own result descriptions (Safaricom's
// ResultDesc) with their result codes. Pochipay's documented fields carry
// no result code, only failReason and resultDescription; when they pass
// M-Pesa's sentence on, the code tells the customer what happened
// (assumed, see testdata/ASSUMED.md).
var mpesaSentences = []struct {
	code string
	text *regexp.Regexp
}{
	{"1", regexp.MustCompile(`(?i)\binsufficient\b`)},
	{"1001", regexp.MustCompile(`(?i)lock(ing)?\s+(the\s+)?subscriber|already\s+in\s+process`)},
	{"1019", regexp.MustCompile(`(?i)transaction\s+has\s+expired`)},
	{"1032", regexp.MustCompile(`(?i)cancel+ed\s+by\s+(the\s+)?(user|customer)`)},
	{"1037", regexp.MustCompile(`(?i)\bDS\s+timeout|cannot\s+be\s+reached|no\s+response\s+from\s+(the\s+)?user`)},
	{"2001", regexp.MustCompile(`(?i)initiator\s+information\s+is\s+invalid|\bwrong\s+pin\b`)},
}

// mpesaCode is the M-Pesa result code whose sentence text is, or "".
func mpesaCode(text string) string {
	for _, m := range mpesaSentences {
		if m.text.MatchString(text) {
			return m.code
		}
	}
	return ""
}

// firstNonEmpty returns the first of its arguments that is not empty.
func firstNonEmpty(ss ...string) string {
	for _, s := range ss {
		if s != "" {
			return s
		}
	}
	return ""
}
