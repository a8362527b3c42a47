package handlers

import (
	"errors"
	"net/http"

	"github.com/gin-gonic/gin"

	"checkout/payments"
)

// Cancel is POST /c/{id}/cancel: "Cancel and return" to the merchant.
func (h *Handlers) Cancel(c *gin.Context) {
	co, _, ok := h.open(c, nil)
	if !ok {
		return
	}
	done, err := h.svc.Cancel(c.Request.Context(), co.ID)
	if errors.Is(err, payments.ErrNotPayable) {
		c.Redirect(http.StatusSeeOther, checkoutPath(co.ID))
		return
	}
	if err != nil {
		h.fail(c, err)
		return
	}
	// The cancelled page links back to the merchant: a redirect from this
	// form post straight to the merchant's site would be blocked by the
	// page's form-action policy.
	c.Redirect(http.StatusSeeOther, checkoutPath(done.ID))
}
