package handlers

import (
	"net/http"

	"github.com/gin-gonic/gin"

	"checkout/payments"
	"checkout/templates"
)

// renderContactStep asks for the details PokeaPay still needs. Coming from
// the method choice it is a question (200, nothing marked); the step's own
// form sent back with something missing or wrong is marked field by field
// (422).
func (h *Handlers) renderContactStep(c *gin.Context, co *payments.CheckoutPage, need *payments.ContactNeeded) {
	status, errs, step := contactStep(c, need, checkoutPath(co.ID))
	h.renderCheckoutPage(c, status, co, errs, "", step)
}

// contactStep is the step asking for what need lacks, the status and the
// field errors it is shown with, and back, where "Choose another way to
// pay" goes.
func contactStep(c *gin.Context, need *payments.ContactNeeded, back string) (int, map[string]string, *templates.ContactStep) {
	step := &templates.ContactStep{Method: need.Method, Provider: "PokeaPay", BackURL: back,
		AskPhone: need.Asks(payments.FieldCustomerPhone), AskEmail: need.Asks(payments.FieldCustomerEmail),
		Phone: need.Values[payments.FieldCustomerPhone], Email: need.Values[payments.FieldCustomerEmail]}
	switch {
	case step.AskPhone && step.AskEmail:
		step.Why = tr(c, "why_phone_email")
	case step.AskPhone:
		step.Why = tr(c, "why_phone")
	default:
		step.Why = tr(c, "why_email")
	}
	status, errs := http.StatusOK, map[string]string(nil)
	if c.PostForm("step") == "contact" {
		status, errs = http.StatusUnprocessableEntity, customerTexts(c, need.Errors)
	}
	return status, errs, step
}
