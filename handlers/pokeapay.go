package handlers

import (
	"errors"
	"io"
	"net/http"

	"github.com/gin-gonic/gin"

	"checkout/gateway/pokeapay"
	"checkout/payments"
)

// PokeaPayReturn is GET /return/pokeapay: the customer's browser back from
// PokeaPay's hosted page. A return whose hash does not verify changes
// nothing and gets a neutral page; a verified one is still only a hint, and
// the page shows what PokeaPay's payment verification says.
func (h *Handlers) PokeaPayReturn(c *gin.Context) {
	co, err := h.svc.PokeaPayReturn(c.Request.Context(), c.Request.URL.Query(), c.Request.URL.RawQuery)
	switch {
	case errors.Is(err, payments.ErrForged) || errors.Is(err, payments.ErrNotFound):
		notice(c, http.StatusBadRequest, "We could not confirm this payment here",
			"This link back from PokeaPay could not be checked. If you paid, the shop still receives your payment; "+
				"open the payment link the shop gave you to see its status.")
		return
	case err != nil:
		fail(c, err)
		return
	}
	h.renderResult(c, co)
}

// PokeaPayIPN is POST /ipn/pokeapay. The notification is stored as
// received, then confirmed with PokeaPay's payment verification. It answers
// 200 once the verified status is stored, 500 when PokeaPay could not be
// asked (so that a retrying sender tries again), 400 for what is not a
// PokeaPay notification.
func (h *Handlers) PokeaPayIPN(c *gin.Context) {
	body, err := io.ReadAll(io.LimitReader(c.Request.Body, maxNotificationBody+1))
	if err != nil || len(body) > maxNotificationBody {
		c.JSON(http.StatusBadRequest, gin.H{"status": "error", "message": "unreadable notification"})
		return
	}
	n, err := pokeapay.ParseIPN(c.ContentType(), body)
	if err != nil {
		h.log.WarnContext(c.Request.Context(), "pokeapay ipn rejected", "request_id", c.GetString(keyRequestID), "err", err)
		c.JSON(http.StatusBadRequest, gin.H{"status": "error", "message": "not a PokeaPay notification"})
		return
	}
	_, _, err = h.svc.PokeaPayIPN(c.Request.Context(), n, string(body))
	switch {
	case err == nil:
		c.JSON(http.StatusOK, gin.H{"status": "ok", "billreference": n.BillReference})
	case errors.Is(err, payments.ErrNotFound):
		c.JSON(http.StatusNotFound, gin.H{"status": "error", "message": "unknown billreference"})
	default:
		if !errors.Is(err, payments.ErrNotConfirmed) {
			h.log.ErrorContext(c.Request.Context(), "pokeapay ipn failed", "request_id", c.GetString(keyRequestID),
				"billreference", n.BillReference, "err", err)
		}
		c.JSON(http.StatusInternalServerError, gin.H{"status": "error", "message": "not confirmed yet; retry later"})
	}
}
