package handlers

import (
	"errors"
	"io"
	"net/http"

	"github.com/gin-gonic/gin"

	"checkout/payments"
)

// PokeaPayReturn is GET /return/pokeapay: the customer's browser back from
// PokeaPay's hosted page. A return whose hash does not verify changes
// nothing and gets a neutral page; a verified one is still only a hint, and
// the page shows what PokeaPay's payment verification says.
func (h *Handlers) PokeaPayReturn(c *gin.Context) {
	co, err := h.svc.PokeaPayReturn(c.Request.Context(), c.Request.URL.Query())
	switch {
	case errors.Is(err, payments.ErrForged) || errors.Is(err, payments.ErrNotFound):
		h.customerLang(c, "")
		customerNotice(c, http.StatusBadRequest, "pokeapay_unconfirmed", "pokeapay_unconfirmed_text")
		return
	case err != nil:
		h.fail(c, err)
		return
	}
	h.renderResult(c, co)
}

// PokeaPayIPN is POST /ipn/pokeapay. What the notification names is
// stored (parsed, cut to a few KB), then confirmed with PokeaPay's payment verification; the
// payments service says what to answer (see payments.Service.PokeaPayIPN).
func (h *Handlers) PokeaPayIPN(c *gin.Context) {
	body, err := io.ReadAll(io.LimitReader(c.Request.Body, maxNotificationBody+1))
	if err != nil || len(body) > maxNotificationBody {
		h.Refuse(c, ShapeProvider, http.StatusRequestEntityTooLarge, "notification too large or unreadable")
		return
	}
	reply, err := h.svc.PokeaPayIPN(c.Request.Context(), c.ContentType(), body)
	var limited *payments.RateLimitedError
	switch {
	case errors.As(err, &limited):
		setRetryAfter(c, reply.RetryAfter)
	case errors.Is(err, payments.ErrInvalidNotification):
		h.log.WarnContext(c.Request.Context(), "pokeapay ipn rejected", "err", err)
	case err != nil && !errors.Is(err, payments.ErrNotFound) && !errors.Is(err, payments.ErrNotConfirmed):
		h.log.ErrorContext(c.Request.Context(), "pokeapay ipn failed",
			"billreference", reply.Reference, "err", err)
	}
	c.Data(reply.Status, reply.ContentType, reply.Body)
}
