package handlers

import (
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"strconv"
	"strings"

	"github.com/gin-gonic/gin"

	"checkout/payments"
)

// Refunds and payouts over the merchant API (issue 13).

// refundKeyScope and payoutKeyScope go before a body when its
// Idempotency-Key is checked (as linkKeyScope): one key sent to two
// endpoints is a mismatch, never the other's answer replayed. A refund's
// scope names its checkout.
const (
	refundKeyScope = "POST /api/v1/checkouts/{id}/refunds\n"
	payoutKeyScope = "POST /api/v1/payouts\n"
)

// refundBody is the body of POST /api/v1/checkouts/{id}/refunds. amount
// is a JSON number or a string of digits, in major units; left out, what
// is left to refund.
type refundBody struct {
	Amount json.RawMessage `json:"amount"`
	Reason string          `json:"reason"`
}

// payoutBody is the body of POST /api/v1/payouts.
type payoutBody struct {
	Amount      json.RawMessage `json:"amount"`
	Phone       string          `json:"phone"`
	Name        string          `json:"name"`
	Reference   string          `json:"reference"`
	Description string          `json:"description"`
}

// amountText turns a JSON amount (number or string) into its text; ""
// for one left out or null. ok is false for another JSON type.
func amountText(raw json.RawMessage) (string, bool) {
	s := strings.TrimSpace(string(raw))
	switch {
	case s == "" || s == "null":
		return "", true
	case strings.HasPrefix(s, `"`):
		var v string
		if err := json.Unmarshal(raw, &v); err != nil {
			return "", false
		}
		return v, true
	case s[0] == '-' || (s[0] >= '0' && s[0] <= '9'):
		return s, true
	}
	return "", false
}

// decodeRefund reads a refund's body; a body it refuses comes with its
// status: 400 for what is not the body's shape, 422 for an amount given
// as an empty string (a field that is there but invalid, as every other).
func decodeRefund(body []byte) (payments.RefundRequest, int, gin.H) {
	var b refundBody
	if code, msg, field := decodeStrict(body, &b); code != "" {
		return payments.RefundRequest{}, http.StatusBadRequest, errorBody(code, msg, field)
	}
	amount, ok := amountText(b.Amount)
	if !ok {
		return payments.RefundRequest{}, http.StatusBadRequest, errorBody("malformed", "amount must be a number or a string of digits", "amount")
	}
	if b.Amount != nil && amount == "" && strings.TrimSpace(string(b.Amount)) != "null" {
		return payments.RefundRequest{}, http.StatusUnprocessableEntity,
			errorBody("invalid", "amount must not be empty; leave it out to refund what is left", "amount")
	}
	return payments.RefundRequest{Amount: amount, Reason: b.Reason}, 0, nil
}

func decodePayout(body []byte) (payments.PayoutRequest, gin.H) {
	var b payoutBody
	if code, msg, field := decodeStrict(body, &b); code != "" {
		return payments.PayoutRequest{}, errorBody(code, msg, field)
	}
	amount, ok := amountText(b.Amount)
	if !ok {
		return payments.PayoutRequest{}, errorBody("malformed", "amount must be a number or a string of digits", "amount")
	}
	return payments.PayoutRequest{Amount: amount, Phone: b.Phone, Name: b.Name, Reference: b.Reference,
		Description: b.Description}, nil
}

// transferRefusal is the answer for a refund or payout the service
// refused: a *FieldError (422, 409 for a duplicate), or one of its
// errors. ok is false for a failure on our side.
func transferRefusal(err error) (int, any, bool) {
	if st, answer, ok := refusal(err); ok {
		return st, answer, true
	}
	switch {
	case errors.Is(err, payments.ErrNotFound):
		return http.StatusNotFound, errorBody("not_found", "no checkout with this id", "id"), true
	case errors.Is(err, payments.ErrNotPaid):
		return http.StatusConflict, errorBody("not_paid", err.Error(), ""), true
	case errors.Is(err, payments.ErrRefundExists):
		return http.StatusConflict, errorBody("refund_exists", err.Error(), ""), true
	case errors.Is(err, payments.ErrNoPayoutProvider):
		return http.StatusUnprocessableEntity, errorBody("no_payout_provider", err.Error(), ""), true
	case errors.Is(err, payments.ErrRefundUnavailable):
		return http.StatusUnprocessableEntity, errorBody("refund_unavailable", err.Error(), ""), true
	}
	return 0, nil, false
}

// transferOnce is createdOrRefused with the refund and payout refusals.
func transferOnce(ans payments.StoredAnswer, err error) (payments.StoredAnswer, bool, error) {
	if st, answer, ok := transferRefusal(err); ok {
		out, err := json.Marshal(answer)
		return payments.StoredAnswer{Status: st, Body: out}, false, err
	}
	if err != nil {
		return payments.StoredAnswer{}, false, err
	}
	return ans, true, nil
}

// CreateRefund is POST /api/v1/checkouts/{id}/refunds, with an optional
// Idempotency-Key.
func (h *Handlers) CreateRefund(c *gin.Context) {
	key, hasKey, body, ok := apiBody(c)
	if !ok {
		return
	}
	id := c.Param("id")
	if hasKey {
		scoped := append([]byte(refundKeyScope+id+"\n"), body...)
		h.createIdempotent(c, key, scoped, func(claim *payments.IdempotencyClaim) (payments.StoredAnswer, bool, error) {
			req, status, bad := decodeRefund(body)
			if bad != nil {
				out, err := json.Marshal(bad)
				return payments.StoredAnswer{Status: status, Body: out}, false, err
			}
			_, ans, err := h.svc.CreateRefundOnce(c.Request.Context(), merchant(c), id, req, claim,
				func(r *payments.Refund) (int, []byte, error) {
					b, err := json.Marshal(h.svc.RefundObject(r))
					return http.StatusCreated, b, err
				})
			return transferOnce(ans, err)
		})
		return
	}
	req, status, bad := decodeRefund(body)
	if bad != nil {
		c.AbortWithStatusJSON(status, bad)
		return
	}
	r, err := h.svc.CreateRefund(c.Request.Context(), merchant(c), id, req, "api")
	answerCreated(h, c, r, err, h.svc.RefundObject)
}

// CreatePayout is POST /api/v1/payouts, with an optional Idempotency-Key.
func (h *Handlers) CreatePayout(c *gin.Context) {
	key, hasKey, body, ok := apiBody(c)
	if !ok {
		return
	}
	if hasKey {
		scoped := append([]byte(payoutKeyScope), body...)
		h.createIdempotent(c, key, scoped, func(claim *payments.IdempotencyClaim) (payments.StoredAnswer, bool, error) {
			req, bad := decodePayout(body)
			if bad != nil {
				out, err := json.Marshal(bad)
				return payments.StoredAnswer{Status: http.StatusBadRequest, Body: out}, false, err
			}
			_, ans, err := h.svc.CreatePayoutOnce(c.Request.Context(), merchant(c), req, claim,
				func(p *payments.Payout) (int, []byte, error) {
					b, err := json.Marshal(h.svc.PayoutObject(p))
					return http.StatusCreated, b, err
				})
			return transferOnce(ans, err)
		})
		return
	}
	req, bad := decodePayout(body)
	if bad != nil {
		c.AbortWithStatusJSON(http.StatusBadRequest, bad)
		return
	}
	p, err := h.svc.CreatePayout(c.Request.Context(), merchant(c), req, "api")
	answerCreated(h, c, p, err, h.svc.PayoutObject)
}

// answerCreated answers a create without Idempotency-Key: 201 with the
// object, or the refusal in the API's error format.
func answerCreated[M, O any](h *Handlers, c *gin.Context, v *M, err error, object func(*M) O) {
	if st, answer, ok := transferRefusal(err); ok {
		c.AbortWithStatusJSON(st, answer)
		return
	}
	if err != nil {
		h.fail(c, err)
		return
	}
	c.Header("Cache-Control", "no-store")
	c.JSON(http.StatusCreated, object(v))
}

// GetRefund is GET /api/v1/refunds/{id}: another merchant's is 404.
func (h *Handlers) GetRefund(c *gin.Context) {
	r, err := h.svc.RefundFor(c.Request.Context(), merchant(c).ID, c.Param("id"))
	answerOne(h, c, "refund", r, err, h.svc.RefundObject)
}

// GetPayout is GET /api/v1/payouts/{id}: another merchant's is 404.
func (h *Handlers) GetPayout(c *gin.Context) {
	p, err := h.svc.PayoutFor(c.Request.Context(), merchant(c).ID, c.Param("id"))
	answerOne(h, c, "payout", p, err, h.svc.PayoutObject)
}

// answerOne answers a GET of one of the merchant's objects: 404 when
// there is none with the id (or it is another merchant's).
func answerOne[M, O any](h *Handlers, c *gin.Context, what string, v *M, err error, object func(*M) O) {
	if errors.Is(err, payments.ErrNotFound) {
		apiError(c, http.StatusNotFound, "not_found", "no "+what+" with this id", "id")
		return
	}
	if err != nil {
		h.fail(c, err)
		return
	}
	c.Header("Cache-Control", "no-store")
	c.JSON(http.StatusOK, object(v))
}

// listLimit reads ?limit= (1 to 100, default 20), answering the request
// itself (ok false) when it is refused.
func listLimit(c *gin.Context) (int, bool) {
	v, ok := c.GetQuery("limit")
	if !ok {
		return 20, true
	}
	n, err := strconv.Atoi(v)
	if err != nil || n < 1 || n > 100 {
		apiError(c, http.StatusUnprocessableEntity, "invalid", "limit must be a whole number from 1 to 100", "limit")
		return 0, false
	}
	return n, true
}

// unknownCursor answers 404 (field starting_after) when err says a list's
// starting_after is not one of the merchant's objects (what: "checkouts",
// "refunds"...), and reports whether it did.
func unknownCursor(c *gin.Context, err error, what string) bool {
	if !errors.Is(err, payments.ErrNotFound) {
		return false
	}
	apiError(c, http.StatusNotFound, "not_found",
		"starting_after must be the id of one of your "+what+" (the last of the previous page)", "starting_after")
	return true
}

// ListRefunds is GET /api/v1/refunds: the merchant's refunds, newest
// first, ?limit= after ?starting_after= (one of the merchant's refunds,
// else 404).
func (h *Handlers) ListRefunds(c *gin.Context) {
	limit, ok := listLimit(c)
	if !ok {
		return
	}
	rs, more, err := h.svc.Refunds(c.Request.Context(), merchant(c).ID, c.Query("starting_after"), limit)
	if unknownCursor(c, err, "refunds") {
		return
	}
	answerList(h, c, rs, more, err, infallible(h.svc.RefundObject))
}

// ListPayouts is GET /api/v1/payouts, as ListRefunds.
func (h *Handlers) ListPayouts(c *gin.Context) {
	limit, ok := listLimit(c)
	if !ok {
		return
	}
	ps, more, err := h.svc.Payouts(c.Request.Context(), merchant(c).ID, c.Query("starting_after"), limit)
	if unknownCursor(c, err, "payouts") {
		return
	}
	answerList(h, c, ps, more, err, infallible(h.svc.PayoutObject))
}

// answerList answers a list in the API's list format, each item as object
// makes it.
func answerList[M, O any](h *Handlers, c *gin.Context, items []M, more bool, err error, object func(*M) (O, error)) {
	if err != nil {
		h.fail(c, err)
		return
	}
	out := struct {
		Data    []O  `json:"data"`
		HasMore bool `json:"has_more"`
	}{Data: make([]O, 0, len(items)), HasMore: more}
	for i := range items {
		obj, err := object(&items[i])
		if err != nil {
			h.fail(c, err)
			return
		}
		out.Data = append(out.Data, obj)
	}
	c.Header("Cache-Control", "no-store")
	c.JSON(http.StatusOK, out)
}

// infallible is an object builder that cannot fail, in answerList's shape.
func infallible[M, O any](object func(*M) O) func(*M) (O, error) {
	return func(m *M) (O, error) { return object(m), nil }
}

// PayoutCallback serves POST /callback/pokeapay-b2c and
// /callback/pochipay-payout: a payout's result. It is stored as received
// and only makes us look (see payments.Service.PayoutCallback). 200 once
// handled, 400 for a body that is not a callback, 404 when the provider
// is not the one configured, 429 past the per-reference limit, 500 when
// the provider could not be asked (a retrying sender tries again).
func (h *Handlers) PayoutCallback(provider string) gin.HandlerFunc {
	return func(c *gin.Context) {
		body, err := io.ReadAll(io.LimitReader(c.Request.Body, maxNotificationBody+1))
		if err != nil || len(body) > maxNotificationBody {
			h.Refuse(c, ShapeProvider, http.StatusRequestEntityTooLarge, "callback too large or unreadable")
			return
		}
		err = h.svc.PayoutCallback(c.Request.Context(), provider, c.ContentType(), body)
		var limited *payments.RateLimitedError
		switch {
		case err == nil:
			c.JSON(http.StatusOK, gin.H{"status": "ok"})
		case errors.As(err, &limited):
			setRetryAfter(c, limited.RetryAfter)
			c.JSON(http.StatusTooManyRequests, gin.H{"status": "error", "message": "too many callbacks for this payout; retry later"})
		case errors.Is(err, payments.ErrCallback):
			h.log.WarnContext(c.Request.Context(), "payout callback rejected", "provider", provider, "err", err)
			c.JSON(http.StatusBadRequest, gin.H{"status": "error", "message": "not a callback of this provider"})
		case errors.Is(err, payments.ErrNoPayoutProvider):
			c.JSON(http.StatusNotFound, gin.H{"status": "error", "message": "no such payout provider"})
		default:
			h.log.ErrorContext(c.Request.Context(), "payout callback failed", "provider", provider, "err", err)
			c.JSON(http.StatusInternalServerError, gin.H{"status": "error", "message": "not handled yet; retry later"})
		}
	}
}
