package handlers

import (
	"net/http"

	"github.com/gin-gonic/gin"

	"checkout/payments"
	"checkout/templates"
)

// STKWait is GET /c/{id}/stk: "Check your phone" while the M-Pesa prompt is
// on the customer's phone.
func (h *Handlers) STKWait(c *gin.Context) {
	co, a, ok := h.open(c, h.svc.CurrentSTKAttempt)
	if !ok {
		return
	}
	left := int((payments.STKPromptWindow - h.svc.Since(a.CreatedAt)).Seconds())
	v := templates.STKWaitPage{Page: h.branded(c, formPage(c, tr(c, "stk_title")), co.MerchantID), Summary: pageSummary(c, co),
		Phone: payments.LocalPhone(a.Phone), Seconds: max(left, 0), Status: h.statusView(c, &co.Checkout),
		RetryAction: payPath(co.ID), RetryPhone: payments.LocalPhone(a.Phone), BackURL: checkoutPath(co.ID)}
	v.Status.PageURL = stkPath(co.ID)
	h.withNote(c, &co.Checkout, &v.Status)
	if v.Status.PollURL != "" {
		// This page waits on this prompt, not on the checkout: another
		// attempt left pending (a provider page the customer walked away
		// from) must not keep it waiting after the prompt has ended.
		v.Status.PollURL += "&attempt=" + a.ID
	}
	h.render(c, http.StatusOK, templates.STKWaitView(v))
}
