package handlers

import (
	"encoding/json"
	"errors"
	"net/http"

	"github.com/gin-gonic/gin"

	"checkout/payments"
)

// linkKeyScope goes before a payment link's body when its Idempotency-Key
// is checked, so that one key sent to both creation endpoints is a
// mismatch (409), never the other endpoint's answer replayed.
const linkKeyScope = "POST /api/v1/payment_links\n"

// CreatePaymentLink is POST /api/v1/payment_links, with an optional
// Idempotency-Key as POST /api/v1/checkouts.
func (h *Handlers) CreatePaymentLink(c *gin.Context) {
	key, hasKey, body, ok := apiBody(c)
	if !ok {
		return
	}
	if hasKey {
		scoped := append([]byte(linkKeyScope), body...)
		h.createIdempotent(c, key, scoped, func(claim *payments.IdempotencyClaim) (payments.StoredAnswer, bool, error) {
			return h.createLinkOnce(c, body, claim)
		})
		return
	}
	var req payments.LinkRequest
	if code, msg, field := decodeStrict(body, &req); code != "" {
		apiError(c, http.StatusBadRequest, code, msg, field)
		return
	}
	l, err := h.svc.CreateLink(c.Request.Context(), merchant(c), req, "api")
	if status, answer, ok := refusal(err); ok {
		c.AbortWithStatusJSON(status, answer)
		return
	}
	if err != nil {
		h.fail(c, err)
		return
	}
	h.writeLink(c, http.StatusCreated, l, payments.LinkPaid{})
}

// createLinkOnce is createOnce for a payment link.
func (h *Handlers) createLinkOnce(c *gin.Context, body []byte, claim *payments.IdempotencyClaim) (payments.StoredAnswer, bool, error) {
	var req payments.LinkRequest
	if code, msg, field := decodeStrict(body, &req); code != "" {
		out, err := json.Marshal(errorBody(code, msg, field))
		return payments.StoredAnswer{Status: http.StatusBadRequest, Body: out}, false, err
	}
	_, ans, err := h.svc.CreateLinkOnce(c.Request.Context(), merchant(c), req, claim,
		func(l *payments.PaymentLink) (int, []byte, error) {
			obj, err := h.svc.LinkObject(l, payments.LinkPaid{})
			if err != nil {
				return 0, nil, err
			}
			b, err := json.Marshal(obj)
			return http.StatusCreated, b, err
		})
	return createdOrRefused(ans, err)
}

// GetPaymentLink is GET /api/v1/payment_links/{id}.
func (h *Handlers) GetPaymentLink(c *gin.Context) {
	l, err := h.svc.LinkForMerchant(c.Request.Context(), merchant(c).ID, c.Param("id"))
	h.answerLink(c, l, err)
}

// DeactivatePaymentLink is POST /api/v1/payment_links/{id}/deactivate:
// the link makes no more checkouts. Deactivating it again answers the
// same.
func (h *Handlers) DeactivatePaymentLink(c *gin.Context) {
	l, err := h.svc.DeactivateLink(c.Request.Context(), merchant(c).ID, c.Param("id"))
	h.answerLink(c, l, err)
}

// answerLink answers with the link found (and what it has brought in), or
// the error of finding it: 404 for an unknown link or another merchant's.
func (h *Handlers) answerLink(c *gin.Context, l *payments.PaymentLink, err error) {
	if errors.Is(err, payments.ErrNotFound) {
		apiError(c, http.StatusNotFound, "not_found", "no payment link with this id", "id")
		return
	}
	if err != nil {
		h.fail(c, err)
		return
	}
	paid, err := h.svc.LinksPaid(c.Request.Context(), []string{l.ID})
	if err != nil {
		h.fail(c, err)
		return
	}
	h.writeLink(c, http.StatusOK, l, paid[l.ID])
}

// linkList is the answer of GET /api/v1/payment_links.
type linkList struct {
	Data    []payments.LinkObject `json:"data"`
	HasMore bool                  `json:"has_more"`
}

// ListPaymentLinks is GET /api/v1/payment_links: the merchant's links,
// newest first, ?limit= (1 to 100, default 20) after ?starting_after= (one
// of the merchant's links, else 404).
func (h *Handlers) ListPaymentLinks(c *gin.Context) {
	ctx := c.Request.Context()
	limit, ok := listLimit(c)
	if !ok {
		return
	}
	links, more, err := h.svc.MerchantLinks(ctx, merchant(c).ID, c.Query("starting_after"), limit)
	if unknownCursor(c, err, "payment links") {
		return
	}
	if err != nil {
		h.fail(c, err)
		return
	}
	ids := make([]string, len(links))
	for i := range links {
		ids[i] = links[i].ID
	}
	paid, err := h.svc.LinksPaid(ctx, ids)
	if err != nil {
		h.fail(c, err)
		return
	}
	out := linkList{Data: make([]payments.LinkObject, 0, len(links)), HasMore: more}
	for i := range links {
		obj, err := h.svc.LinkObject(&links[i], paid[links[i].ID])
		if err != nil {
			h.fail(c, err)
			return
		}
		out.Data = append(out.Data, obj)
	}
	c.Header("Cache-Control", "no-store")
	c.JSON(http.StatusOK, out)
}

func (h *Handlers) writeLink(c *gin.Context, status int, l *payments.PaymentLink, paid payments.LinkPaid) {
	obj, err := h.svc.LinkObject(l, paid)
	if err != nil {
		h.fail(c, err)
		return
	}
	c.Header("Cache-Control", "no-store")
	c.JSON(status, obj)
}
