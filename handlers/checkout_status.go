package handlers

import (
	"errors"
	"net/http"

	"github.com/gin-gonic/gin"

	"checkout/payments"
	"checkout/templates"
)

// Status is GET /c/{id}/status: the live status as an htmx fragment, or as
// JSON for scripts.
func (h *Handlers) Status(c *gin.Context) {
	co, err := h.svc.Checkout(c.Request.Context(), c.Param("id"))
	if errors.Is(err, payments.ErrNotFound) {
		if wantsJSON(c) {
			c.JSON(http.StatusNotFound, gin.H{"error": gin.H{"code": "not_found", "message": "no such checkout", "field": nil}})
			return
		}
		h.fragmentLang(c, "")
		customerNotice(c, http.StatusNotFound, "checkout_not_found", "status_not_found_text")
		return
	}
	if err != nil {
		h.fail(c, err)
		return
	}
	// The page's language, which its poll URL carries; the JSON status
	// stays English, like the API.
	h.fragmentLang(c, co.Locale)
	if wantsJSON(c) {
		c.Set(keyLang, boxedEN)
	}
	v := h.statusView(c, co)
	h.withNote(c, co, &v)
	ended := v.Status != string(payments.StatusPending)
	if id := c.Query("attempt"); id != "" && !ended {
		a, err := h.svc.Attempt(c.Request.Context(), id)
		if err != nil && !errors.Is(err, payments.ErrNotFound) {
			// A database failure is not "no such attempt".
			h.fail(c, err)
			return
		}
		ended = err == nil && a.CheckoutID == co.ID && a.Status != payments.AttemptPending
	}
	if wantsJSON(c) {
		// The message is what the page says: a silent M-Pesa prompt's note
		// before an older failure's reason.
		msg := co.Message
		if v.Note != "" {
			msg = v.Note
		}
		c.JSON(http.StatusOK, gin.H{"id": co.ID, "status": v.Status, "method": nullable(co.Method),
			"receipt": nullable(co.Receipt), "message": nullable(msg)})
		return
	}
	c.Header("Cache-Control", "no-store")
	if c.GetHeader("HX-Request") == "true" && (v.Final || c.Query("while") == "pending" && ended) {
		// The page the customer is on (choice, iframe, return, "check your
		// phone") is replaced by the checkout page: the receipt, the notice,
		// or, when a page waiting on a payment sees it fail, the choice again
		// with the reason.
		c.Header("HX-Redirect", inPageLang(c, checkoutPath(co.ID), co.Locale))
	}
	h.render(c, http.StatusOK, templates.StatusPartial(v))
}

func nullable(s string) any {
	if s == "" {
		return nil
	}
	return s
}
