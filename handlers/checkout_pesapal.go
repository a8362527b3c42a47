package handlers

import (
	"net/http"
	"strings"

	"github.com/gin-gonic/gin"

	"checkout/templates"
)

// PesapalFrame is GET /c/{id}/pesapal: Pesapal's payment page in an iframe
// on ours, with the live status below it.
func (h *Handlers) PesapalFrame(c *gin.Context) {
	co, a, ok := h.open(c, h.svc.CurrentPesapalAttempt)
	if !ok {
		return
	}
	sum := pageSummary(c, co)
	v := templates.PesapalFramePage{Page: h.branded(c, page(c, tr(c, "method_pesapal")), co.MerchantID), Summary: sum, FrameURL: a.RedirectURL,
		BackURL: checkoutPath(co.ID), Status: h.statusView(c, &co.Checkout)}
	// Pesapal lets the customer try again inside its own page after a
	// decline, so this page stays through a failure and only a final status
	// replaces it.
	v.Status.PollURL = strings.Replace(v.Status.PollURL, "while=pending&", "", 1)
	h.render(c, http.StatusOK, templates.PesapalFrameView(v))
}
