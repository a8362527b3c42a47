package handlers

import (
	"errors"
	"math"
	"net/http"
	"strconv"
	"time"

	"github.com/gin-gonic/gin"

	"checkout/payments"
)

// Pay is POST /c/{id}/pay: the customer chose a method.
func (h *Handlers) Pay(c *gin.Context) {
	co, _, ok := h.open(c, nil)
	if !ok {
		return
	}
	h.pay(c, co)
}

// pay starts the method the customer chose (the form's "method", with
// "phone" for an M-Pesa prompt and the receipt contact fields) on co, a
// checkout that can take a payment, and answers: the provider's page, or
// the form again with what is wrong. POST /c/{id}/pay and POST /l/{id}
// both pay through it.
func (h *Handlers) pay(c *gin.Context, co *payments.CheckoutPage) {
	method := c.PostForm("method")
	switch method {
	case payments.MethodPesapal:
		_, err := h.svc.StartPesapal(c.Request.Context(), co.ID, c.PostForm("contact"))
		if h.payError(c, co, err) {
			return
		}
		c.Redirect(http.StatusSeeOther, pesapalPath(co.ID))
	case payments.MethodSTK:
		_, err := h.svc.StartSTK(c.Request.Context(), co.ID, c.PostForm("phone"))
		if errors.Is(err, payments.ErrPhoneBusy) {
			fresh, ferr := h.svc.CheckoutPage(c.Request.Context(), co.ID)
			if ferr != nil {
				h.fail(c, ferr)
				return
			}
			h.renderCheckout(c, http.StatusConflict, fresh, nil)
			return
		}
		if h.payError(c, co, err) {
			return
		}
		c.Redirect(http.StatusSeeOther, stkPath(co.ID))
	case payments.MethodPokeaPay:
		u, err := h.svc.StartPokeaPay(c.Request.Context(), co.ID, payments.CustomerContact{Contact: c.PostForm("contact"),
			Email: c.PostForm(payments.FieldCustomerEmail), Phone: c.PostForm(payments.FieldCustomerPhone)})
		var need *payments.ContactNeeded
		if errors.As(err, &need) {
			h.renderContactStep(c, co, need)
			return
		}
		if h.payError(c, co, err) {
			return
		}
		c.Redirect(http.StatusSeeOther, u)
	default:
		h.renderCheckout(c, http.StatusUnprocessableEntity, co, map[string]string{"method": tr(c, "err_choose_method")})
	}
}

// PayFormReload is GET /c/{id}/pay. A form shown again after an error
// stays at its POST address; a reload of it lands on the checkout page.
func (h *Handlers) PayFormReload(c *gin.Context) {
	to := checkoutPath(c.Param("id"))
	if l, ok := queryLang(c.Request.URL.RawQuery); ok {
		to += "?lang=" + string(l) // the language switch of a form shown again
	}
	c.Redirect(http.StatusSeeOther, to)
}

// setRetryAfter sets Retry-After to d in whole seconds, rounded up, at
// least 1.
func setRetryAfter(c *gin.Context, d time.Duration) {
	c.Header("Retry-After", strconv.Itoa(max(1, int(math.Ceil(d.Seconds())))))
}

// payError shows what went wrong starting a payment and reports whether
// there was an error.
func (h *Handlers) payError(c *gin.Context, co *payments.CheckoutPage, err error) bool {
	var fe *payments.FieldError
	var limited *payments.PromptLimitError
	switch {
	case err == nil:
		return false
	case errors.As(err, &limited):
		setRetryAfter(c, limited.RetryAfter)
		h.renderCheckoutForm(c, http.StatusTooManyRequests, co, map[string]string{limited.Field: customerText(c, limited.Message)}, c.PostForm("contact"))
	case errors.As(err, &fe):
		h.renderCheckoutForm(c, http.StatusUnprocessableEntity, co, map[string]string{fe.Field: customerText(c, fe.Message)}, c.PostForm("contact"))
	case errors.Is(err, payments.ErrMethodUnavailable):
		h.renderCheckout(c, http.StatusUnprocessableEntity, co, map[string]string{"method": tr(c, "err_method_unavailable")})
	case errors.Is(err, payments.ErrNotPayable):
		if fresh, ferr := h.svc.CheckoutPage(c.Request.Context(), co.ID); ferr == nil && !h.payable(c, fresh) {
			return true
		}
		customerNotice(c, http.StatusConflict, "not_payable", "not_payable_text")
	case errors.Is(err, payments.ErrLinkUsed):
		customerNotice(c, http.StatusConflict, "link_used", "link_used_pay_text")
	case errors.Is(err, payments.ErrProvider):
		fresh, ferr := h.svc.CheckoutPage(c.Request.Context(), co.ID)
		if ferr != nil {
			h.fail(c, ferr)
			return true
		}
		h.renderCheckout(c, http.StatusBadGateway, fresh, map[string]string{
			"method": tr(c, "err_provider_start")})
	default:
		h.fail(c, err)
	}
	return true
}
