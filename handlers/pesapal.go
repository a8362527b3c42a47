package handlers

import (
	"errors"
	"io"
	"net/http"

	"github.com/gin-gonic/gin"

	"checkout/payments"
	"checkout/templates"
)

// maxNotificationBody bounds what a notification may send us (the limits
// middleware in web refuses more before the handler runs).
const maxNotificationBody = 16 << 10

// PesapalReturn is GET /return/pesapal, Pesapal's callback URL: the
// customer's browser comes back here. It only says "look now": the page asks
// Pesapal for the status before showing anything.
func (h *Handlers) PesapalReturn(c *gin.Context) {
	co, err := h.svc.PesapalReturn(c.Request.Context(), c.Request.URL.Query())
	switch {
	case errors.Is(err, payments.ErrInvalidNotification):
		h.customerLang(c, "")
		customerNotice(c, http.StatusBadRequest, "pesapal_unreadable", "pesapal_unreadable_text")
		return
	case errors.Is(err, payments.ErrNotFound):
		h.customerLang(c, "")
		customerNotice(c, http.StatusNotFound, "payment_not_found", "payment_not_found_text")
		return
	case err != nil:
		h.fail(c, err)
		return
	}
	h.renderResult(c, co)
}

func (h *Handlers) renderResult(c *gin.Context, co *payments.Checkout) {
	h.customerLang(c, co.Locale)
	sum := h.summary(c, co)
	v := templates.ResultPage{Page: h.branded(c, page(c, tr(c, "result_title")), co.MerchantID), Summary: sum, Status: h.statusView(c, co), BreakOut: true}
	switch co.Status {
	case payments.StatusOpen:
		v.RetryURL = checkoutPath(co.ID)
	case payments.StatusPaid:
		if co.SuccessURL != "" {
			v.ReturnURL, v.ReturnLabel = withCheckoutID(co.SuccessURL, co.ID), trf(c, "return_to", "Merchant", sum.MerchantName)
		}
	}
	h.render(c, http.StatusOK, templates.ResultView(v))
}

// PesapalIPN is GET and POST /ipn/pesapal. What the notification names is
// stored (parsed, cut to a few KB), then confirmed with GetTransactionStatus. The answer is Pesapal's
// JSON acknowledgement with an HTTP status equal to its "status": 200 when
// the status was confirmed and stored, 500 when not, so Pesapal retries.
func (h *Handlers) PesapalIPN(c *gin.Context) {
	body, err := io.ReadAll(io.LimitReader(c.Request.Body, maxNotificationBody+1))
	if err != nil || len(body) > maxNotificationBody {
		h.Refuse(c, ShapePesapal, http.StatusRequestEntityTooLarge, "notification too large or unreadable")
		return
	}
	reply, err := h.svc.PesapalIPN(c.Request.Context(), c.Request.Method, c.Request.URL.Query(), c.ContentType(), body)
	var limited *payments.RateLimitedError
	switch {
	case errors.As(err, &limited):
		setRetryAfter(c, reply.RetryAfter)
	case errors.Is(err, payments.ErrInvalidNotification):
		h.log.WarnContext(c.Request.Context(), "pesapal ipn rejected", "err", err)
	case err != nil && !errors.Is(err, payments.ErrNotConfirmed) && !errors.Is(err, payments.ErrNotFound):
		h.log.ErrorContext(c.Request.Context(), "pesapal ipn failed",
			"tracking_id", reply.Reference, "err", err)
	}
	c.Data(reply.Status, reply.ContentType, reply.Body)
}
