package handlers

import (
	"net/http"
	"time"

	"github.com/gin-gonic/gin"

	"checkout/payments"
	"checkout/templates"
)

func (h *Handlers) renderReceipt(c *gin.Context, co *payments.CheckoutPage) {
	v := templates.ReceiptPage{Page: h.branded(c, page(c, "Payment received"), co.MerchantID), Summary: pageSummary(co),
		Receipt: co.Receipt, Method: co.Method, Provider: co.Provider}
	if co.PaidAt != nil {
		v.PaidAt = co.PaidAt.In(nairobi).Format("2 Jan 2006, 15:04") + " EAT"
	}
	if co.SuccessURL != "" {
		v.ReturnURL, v.ReturnLabel, v.AutoReturn = withCheckoutID(co.SuccessURL, co.ID), "Return to "+v.MerchantName, true
	}
	h.render(c, http.StatusOK, templates.ReceiptView(v))
}

// nairobi is East Africa Time (UTC+3, no daylight saving), the customers'
// clock; a fixed zone needs no tzdata on the server.
var nairobi = time.FixedZone("EAT", 3*60*60)
