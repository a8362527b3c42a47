package handlers

import (
	"net/http"

	"github.com/gin-gonic/gin"

	"checkout/payments"
	"checkout/templates"
)

// methodLabels are the catalog messages naming each method's button and
// the line under it.
var methodLabels = map[string][2]string{
	payments.MethodPesapal:  {"method_pesapal", "method_pesapal_hint"},
	payments.MethodPokeaPay: {"method_pokeapay", "method_pokeapay_hint"},
	payments.MethodSTK:      {"stk_legend", "method_stk_hint"},
}

// CheckoutPage is GET /c/{id}: the order and the method choice, or the
// receipt, or a clear page for a checkout that can no longer be paid.
func (h *Handlers) CheckoutPage(c *gin.Context) {
	co, _, ok := h.open(c, nil)
	if !ok {
		return
	}
	h.renderCheckout(c, http.StatusOK, co, nil)
}

func (h *Handlers) renderCheckout(c *gin.Context, status int, co *payments.CheckoutPage, fieldErrs map[string]string) {
	h.renderCheckoutForm(c, status, co, fieldErrs, "")
}

func (h *Handlers) renderCheckoutForm(c *gin.Context, status int, co *payments.CheckoutPage, fieldErrs map[string]string, contact string) {
	h.renderCheckoutPage(c, status, co, fieldErrs, contact, nil)
}

func (h *Handlers) renderCheckoutPage(c *gin.Context, status int, co *payments.CheckoutPage, fieldErrs map[string]string, contact string,
	step *templates.ContactStep) {
	v := h.checkoutView(c, co, fieldErrs, contact, step)
	h.withNote(c, &co.Checkout, &v.Status)
	if co.CancelURL != "" {
		v.CancelAction = cancelPath(co.ID)
	}
	h.checkoutPages.render(h, c, status, co.ID, v)
}

// checkoutView is the checkout page of co: its summary and the method
// choice posting to /c/{id}/pay.
func (h *Handlers) checkoutView(c *gin.Context, co *payments.CheckoutPage, fieldErrs map[string]string, contact string,
	step *templates.ContactStep) templates.CheckoutPage {
	var methods []templates.MethodOption
	var stk *templates.STKForm
	pesapal := false
	fixed := h.fixedParts.of(&co.Checkout)
	for _, m := range fixed.choices {
		pesapal = pesapal || m.Key == payments.MethodPesapal && m.Available
		if m.Key == payments.MethodSTK {
			// A form of its own: it needs the phone number.
			stk = &templates.STKForm{Phone: stkPhone(c, co), Disabled: !m.Available, DisabledReason: customerText(c, m.Why)}
			continue
		}
		l := methodLabels[m.Key]
		methods = append(methods, templates.MethodOption{Key: m.Key, Label: tr(c, l[0]), Hint: tr(c, l[1]),
			Disabled: !m.Available, DisabledReason: customerText(c, m.Why)})
	}
	sum := templates.Summary{ID: co.ID, MerchantName: merchantName(c, co.MerchantName), Description: co.Description,
		Reference: co.Reference, Amount: fixed.display} // pageSummary, with the amount remembered
	v := templates.CheckoutPage{
		Page: formPage(c, trf(c, "pay_merchant", "Merchant", sum.MerchantName)), Summary: sum,
		Methods: methods, Message: customerMessage(c, co.Message), FieldErrors: customerTexts(c, fieldErrs),
		Pending: co.Status == payments.StatusPending, Status: h.statusView(c, &co.Checkout),
		PayAction: payPath(co.ID), NeedsContact: pesapal && payments.NeedsContact(&co.Checkout), Contact: contact, STK: stk,
		ContactStep: step,
	}
	if step != nil {
		v.Page = formPage(c, trf(c, "details_for", "Provider", step.Provider))
	}
	v.Page = h.branded(c, v.Page, co.MerchantID)
	return v
}

// stkPhone fills the M-Pesa number: what the customer just typed (a form
// posted back with an error; a GET has no form body, and Gin would parse
// the query to find none), else the last number tried, else the
// checkout's phone.
func stkPhone(c *gin.Context, co *payments.CheckoutPage) string {
	if c.Request.Method == http.MethodPost {
		if p := c.PostForm("phone"); p != "" {
			return p
		}
	}
	if p := co.LastPhone; p != "" {
		return payments.LocalPhone(p)
	}
	return payments.LocalPhone(co.CustomerPhone)
}
