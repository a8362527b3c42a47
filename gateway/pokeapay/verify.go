package pokeapay

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"unicode/utf8"

	"checkout/gateway"
	"checkout/gateway/internal/httpx"
)

// The payment verification's status values, opaque strings in the document.
const (
	// StatusValueSuccess: "Success: The transaction is valid. Therefore you
	// can update this transaction."
	StatusValueSuccess = "c4812ee2b789226193ad2511495fa559"
	// StatusValueFailed: "Failed transaction. Not all parameters fulfilled.
	// A notification of this transaction sent to the merchant."
	StatusValueFailed = "ccc0377a8afbf50e7094f5c23a8af223"
	// StatusValuePending: "Pending: Incoming Mobile Money Transaction Not
	// found. Please try again in 5 minutes."
	StatusValuePending = "c69f06e1a9b016d133907b4e5f5864d2"
)

// statusValues maps the three documented values to our statuses; any other
// value is an error, never a success.
var statusValues = map[string]gateway.Status{
	StatusValueSuccess: gateway.StatusSucceeded,
	StatusValueFailed:  gateway.StatusFailed,
	StatusValuePending: gateway.StatusPending,
}

// msgNotReceived explains a failed verification to a person.
const msgNotReceived = "PokeaPay did not receive this payment."

// Verification is the payment verification's answer about one order.
type Verification struct {
	// Status is PokeaPay's opaque status value, always one of
	// StatusValueSuccess, StatusValueFailed and StatusValuePending.
	Status string
	// OrderRef is the order the answer is about: its "oref" when it has one
	// (an answer naming another oref is refused), else the bill_ref asked
	// about.
	OrderRef string
	// Amount is the amount the answer reports, when it reports one
	// (HasAmount); an amount that is there but unreadable is an error.
	Amount    gateway.Amount
	HasAmount bool
	// Receipt is the receipt the answer reports ("referenceno" or
	// "receipt"), "" when none.
	Receipt string
	// Raw is PokeaPay's answer, with the hash key removed should it appear.
	Raw []byte
}

// GatewayStatus maps Status to our words: succeeded, failed or pending.
func (v Verification) GatewayStatus() gateway.Status {
	if s, ok := statusValues[v.Status]; ok {
		return s
	}
	// VerifyPayment never returns another value; a Verification built by
	// hand with one must not read as paid or failed.
	return gateway.StatusPending
}

// VerifyPayment asks PokeaPay whether the order billRef (the oref sent at
// checkout) was paid with the given amount through the given channel
// (TypeMPesa or TypeCard):
//
//	GET {CoreURL}/api/payment/status?amount=&hash=&type=&bill_ref=&oc=
//
// amount is the order's amount, written by WireAmount exactly as the
// checkout link's amt: PokeaPay checks it, and answers "failed, not all
// parameters fulfilled" when it does not match what was paid. An
// answer that is not one of the three documented values, or that names
// another oref, is an *Error, never a success.
//
// Asking only reads, so network errors, timeouts and 5xx answers are
// retried, up to 3 tries in all, with capped, jittered exponential backoff.
func (c *Client) VerifyPayment(ctx context.Context, billRef string, amount gateway.Amount, typ string) (Verification, error) {
	const op = "verify payment"
	billRef = strings.TrimSpace(billRef)
	switch {
	case billRef == "":
		return Verification{}, invalid(op, "bill_ref is required")
	case utf8.RuneCountInString(billRef) > maxOrderRef:
		return Verification{}, invalid(op, "bill_ref is longer than %d characters", maxOrderRef)
	case !printable(billRef):
		return Verification{}, invalid(op, "bill_ref contains a character that is not printable")
	case amount <= 0:
		return Verification{}, invalid(op, "amount must be more than zero")
	case typ != TypeMPesa && typ != TypeCard:
		return Verification{}, invalid(op, "type must be %q or %q", TypeMPesa, TypeCard)
	}
	query := encodeQuery([][2]string{
		{"amount", WireAmount(amount)},
		{"hash", VerificationHash(c.hashKey, billRef, c.outletCode)},
		{"type", typ},
		{"bill_ref", billRef},
		{"oc", c.outletCode},
	})
	return httpx.Retry(ctx, &c.be, op, shouldRetry, func() (Verification, error) {
		return c.verifyOnce(ctx, op, query, billRef)
	})
}

// verifyOnce is one try of VerifyPayment.
func (c *Client) verifyOnce(ctx context.Context, op, query, billRef string) (Verification, error) {
	a, err := c.exchange(ctx, op, pathPaymentStatus, query)
	if err != nil {
		return Verification{}, err
	}
	return c.readVerification(op, billRef, a)
}

// readVerification reads the payment verification's answer about billRef.
func (c *Client) readVerification(op, billRef string, a answer) (Verification, error) {
	if a.Status < 200 || a.Status > 299 {
		return Verification{}, c.answerError(op, a)
	}
	p, err := parseVerification(a.Body)
	switch {
	case err != nil:
		// encoding/json's messages name types and offsets, never values.
		return Verification{}, &Error{Op: op, HTTPStatus: a.Status, Message: "unexpected answer", Err: err}
	case !p.known:
		return Verification{}, c.unknownStatus(op, a, p.status, p.message)
	case p.oref != "" && p.oref != billRef:
		return Verification{}, &Error{Op: op, HTTPStatus: a.Status,
			Message: fmt.Sprintf("answer is about another oref (asked %q, got %q)", billRef, c.clean(p.oref))}
	}
	v := Verification{Status: p.status, OrderRef: billRef, Receipt: c.clean(p.receipt), Raw: c.redactBytes(a.Body)}
	if p.amount != "" {
		amt, err := gateway.ParseProviderAmount(p.amount)
		if err != nil {
			return Verification{}, &Error{Op: op, HTTPStatus: a.Status,
				Message: fmt.Sprintf("unexpected answer: amount %q is not an amount", c.clean(p.amount))}
		}
		v.Amount, v.HasAmount = amt, true
	}
	if p.oref != "" {
		v.OrderRef = p.oref
	}
	return v, nil
}

// unknownStatus reports a status value that is none of the three. A short
// single token is quoted as the Code; anything else (an HTML page, a
// sentence) is described, not quoted.
func (c *Client) unknownStatus(op string, a answer, status, message string) *Error {
	e := &Error{Op: op, HTTPStatus: a.Status, Message: "unexpected answer: status is none of the documented values"}
	if s := c.clean(status); s == status && len(s) <= 64 && !strings.ContainsAny(s, " <>") {
		// Unchanged by cleaning: a short token without the key in it.
		e.Code = s
	} else {
		ct := a.ContentType
		if ct == "" {
			ct = "no content type"
		}
		e.Message = fmt.Sprintf("unexpected answer: not a documented status value (%s, %d bytes)", ct, len(a.Body))
	}
	if m := c.clean(message); m != "" {
		e.Message += ": " + m
	}
	return e
}

// Confirm asks PokeaPay's payment verification about the attempt whose oref
// is q.AttemptID, for the amount q.Amount. It implements gateway.Confirmer.
//
// The verification needs the channel ("type"), which gateway.Query does not
// carry. Confirm asks about M-Pesa first and, when that is not a success,
// about card too, and reports success when either says success. A payment
// goes through one channel, and verification only reads, so asking about
// both is safe: the channel that was not used answers pending or failed.
// Without a success, the result is pending when either channel says pending
// (M-Pesa money may still arrive), and failed only when both say failed. An
// error on either call, without a success from the other, is returned as
// the error.
//
// On success the result carries the amount and the receipt the answer
// reports, if any (the documented answer is a status alone, so usually
// neither). The amount asked about is a verification parameter that
// PokeaPay checks (the failed value reads "Not all parameters fulfilled"),
// so a success without an amount of its own confirms q.Amount: the result
// then has Amount = q.Amount and HasAmount. An amount the answer does report
// is returned as reported, for the caller to compare. Reference and ProviderReference are
// the oref; Method is "M-Pesa" or "Card" on success; Raw holds the answers
// by type, as {"m": ..., "c": ...}.
func (c *Client) Confirm(ctx context.Context, q gateway.Query) (gateway.Result, error) {
	const op = "confirm"
	if q.Currency != "" && q.Currency != CurrencyKES {
		return gateway.Result{}, invalid(op, "currency %q is not KES", c.clean(q.Currency))
	}
	var (
		raw      rawAnswers
		firstErr error
		pending  bool
		ref      = strings.TrimSpace(q.AttemptID)
	)
	for _, typ := range []string{TypeMPesa, TypeCard} {
		v, err := c.VerifyPayment(ctx, q.AttemptID, q.Amount, typ)
		if errors.Is(err, ErrInvalidRequest) {
			// The same arguments would be refused for the other type too.
			return gateway.Result{}, err
		}
		if err != nil {
			if firstErr == nil {
				firstErr = err
			}
			continue
		}
		raw.add(typ, v.Raw)
		ref = v.OrderRef
		switch v.GatewayStatus() {
		case gateway.StatusSucceeded:
			amount := q.Amount // checked by PokeaPay as a parameter
			if v.HasAmount {
				amount = v.Amount
			}
			return gateway.Result{
				Status:            gateway.StatusSucceeded,
				Amount:            amount,
				HasAmount:         true,
				Receipt:           v.Receipt,
				Currency:          q.Currency,
				Reference:         ref,
				ProviderReference: ref,
				Method:            methodName(typ),
				Raw:               raw.json(),
			}, nil
		case gateway.StatusPending:
			pending = true
		}
	}
	if firstErr != nil {
		return gateway.Result{}, firstErr
	}
	r := gateway.Result{
		Status:            gateway.StatusFailed,
		Currency:          q.Currency,
		Reference:         ref,
		ProviderReference: ref,
		Message:           msgNotReceived,
		Raw:               raw.json(),
	}
	if pending {
		r.Status, r.Message = gateway.StatusPending, ""
	}
	return r, nil
}

// Client is a gateway.Confirmer.
var _ gateway.Confirmer = (*Client)(nil)

// methodName is the verification type in words, for gateway.Result.Method.
func methodName(typ string) string {
	if typ == TypeCard {
		return "Card"
	}
	return "M-Pesa"
}

// rawAnswers collects the verification answers of one Confirm for the event
// log: a JSON answer is kept as JSON, any other as a JSON string.
type rawAnswers struct {
	M json.RawMessage `json:"m,omitempty"`
	C json.RawMessage `json:"c,omitempty"`
}

// add keeps the answer for typ.
func (r *rawAnswers) add(typ string, body []byte) {
	v := json.RawMessage(body)
	if !json.Valid(body) {
		s, err := json.Marshal(string(body))
		if err != nil {
			// Marshalling a string cannot fail; an empty string keeps the
			// record well-formed should that ever change.
			s = []byte(`""`)
		}
		v = s
	}
	if typ == TypeCard {
		r.C = v
	} else {
		r.M = v
	}
}

// json writes the collected answers as one JSON object.
func (r rawAnswers) json() []byte {
	b, err := json.Marshal(r)
	if err != nil {
		// Every part is valid JSON by construction; this cannot happen.
		return []byte(`{}`)
	}
	return b
}
