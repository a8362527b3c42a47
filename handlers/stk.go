package handlers

import (
	"errors"
	"io"
	"net/http"

	"github.com/gin-gonic/gin"

	"checkout/payments"
)

// STKCallback serves POST /callback/pokeapay-stk and /callback/pochipay: an
// M-Pesa STK push result. What it names is stored (parsed, cut to a few KB); only the
// provider's own query (run before answering) changes the order. It answers
// 200 once the confirmed status is stored, 500 when the provider could not
// be asked (a retrying sender tries again), 400 for a body that is not a
// callback, 404 for an unknown prompt.
func (h *Handlers) STKCallback(provider string) gin.HandlerFunc {
	return func(c *gin.Context) {
		body, err := io.ReadAll(io.LimitReader(c.Request.Body, maxNotificationBody+1))
		if err != nil || len(body) > maxNotificationBody {
			h.Refuse(c, ShapeProvider, http.StatusRequestEntityTooLarge, "callback too large or unreadable")
			return
		}
		_, _, err = h.svc.STKCallback(c.Request.Context(), provider, c.ContentType(), body)
		var limited *payments.RateLimitedError
		switch {
		case err == nil:
			c.JSON(http.StatusOK, gin.H{"status": "ok"})
		case errors.As(err, &limited):
			setRetryAfter(c, limited.RetryAfter)
			c.JSON(http.StatusTooManyRequests, gin.H{"status": "error", "message": "too many callbacks for this payment; retry later"})
		case errors.Is(err, payments.ErrInvalidCallback):
			h.log.WarnContext(c.Request.Context(), "stk callback rejected", "provider", provider, "err", err)
			c.JSON(http.StatusBadRequest, gin.H{"status": "error", "message": "not a callback of this provider"})
		case errors.Is(err, payments.ErrNotFound):
			c.JSON(http.StatusNotFound, gin.H{"status": "error", "message": "unknown payment"})
		default:
			if !errors.Is(err, payments.ErrNotConfirmed) {
				h.log.ErrorContext(c.Request.Context(), "stk callback failed", "provider", provider, "err", err)
			}
			c.JSON(http.StatusInternalServerError, gin.H{"status": "error", "message": "not confirmed yet; retry later"})
		}
	}
}
