package handlers

import (
	"net/http"

	"github.com/gin-gonic/gin"

	"checkout/locale"
	"checkout/payments"
	"checkout/templates"
)

func (h *Handlers) renderReceipt(c *gin.Context, co *payments.CheckoutPage) {
	v := templates.ReceiptPage{Page: h.branded(c, page(c, tr(c, "receipt_title")), co.MerchantID), Summary: pageSummary(c, co),
		Receipt: co.Receipt, Method: co.Method, Provider: co.Provider}
	if co.PaidAt != nil {
		v.PaidAt = locale.DateTime(langOf(c), *co.PaidAt)
	}
	if co.SuccessURL != "" {
		v.ReturnURL, v.ReturnLabel, v.AutoReturn = withCheckoutID(co.SuccessURL, co.ID), trf(c, "return_to", "Merchant", v.MerchantName), true
	}
	h.render(c, http.StatusOK, templates.ReceiptView(v))
}

// nairobi is East Africa Time (UTC+3, no daylight saving), the customers'
// clock; a fixed zone needs no tzdata on the server.
var nairobi = locale.Nairobi
