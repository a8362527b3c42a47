package handlers

import (
	"errors"
	"io"
	"net/http"
	"net/url"

	"github.com/gin-gonic/gin"

	"checkout/gateway/pesapal"
	"checkout/payments"
	"checkout/store"
	"checkout/templates"
)

// maxNotificationBody bounds what a notification may send us.
const maxNotificationBody = 64 << 10

// PesapalReturn is GET /return/pesapal, Pesapal's callback URL: the
// customer's browser comes back here. It only says "look now": the page asks
// Pesapal for the status before showing anything.
func (h *Handlers) PesapalReturn(c *gin.Context) {
	n, err := pesapal.ParseNotification(http.MethodGet, c.Request.URL.Query(), "", nil)
	if err != nil {
		notice(c, http.StatusBadRequest, "We could not read this payment",
			"The link back from Pesapal is incomplete. If you paid, the shop will still receive your payment.")
		return
	}
	co, _, err := h.svc.PesapalNotification(c.Request.Context(), n, "return:pesapal", c.Request.URL.RawQuery)
	switch {
	case errors.Is(err, store.ErrNotFound) || errors.Is(err, payments.ErrNotFound):
		notice(c, http.StatusNotFound, "Payment not found",
			"We do not know this payment. If you were charged, contact the shop with your Pesapal confirmation.")
		return
	case errors.Is(err, payments.ErrNotConfirmed):
		// Pesapal did not answer; show the live status, which polls until the
		// reconciler or the IPN confirms it.
		a, aerr := h.svc.Store().AttemptByProviderReference(c.Request.Context(), payments.ProviderPesapal, n.OrderTrackingID)
		if aerr != nil {
			fail(c, aerr)
			return
		}
		if co, err = h.svc.Checkout(c.Request.Context(), a.CheckoutID); err != nil {
			fail(c, err)
			return
		}
	case err != nil:
		fail(c, err)
		return
	}
	h.renderResult(c, co)
}

func (h *Handlers) renderResult(c *gin.Context, co *store.Checkout) {
	sum := h.summary(c.Request.Context(), co)
	v := templates.ResultPage{Page: page(c, "Payment status"), Summary: sum, Status: h.statusView(co), BreakOut: true}
	switch co.Status {
	case store.StatusOpen:
		v.RetryURL = "/c/" + co.ID
	case store.StatusPaid:
		if co.SuccessURL != "" {
			v.ReturnURL, v.ReturnLabel = withCheckoutID(co.SuccessURL, co.ID), "Return to "+sum.MerchantName
		}
	}
	render(c, http.StatusOK, templates.ResultView(v))
}

// PesapalIPN is GET and POST /ipn/pesapal. The notification is stored as
// received, then confirmed with GetTransactionStatus. The answer is Pesapal's
// JSON acknowledgement with an HTTP status equal to its "status": 200 when
// the status was confirmed and stored, 500 when not, so Pesapal retries.
func (h *Handlers) PesapalIPN(c *gin.Context) {
	body, err := io.ReadAll(io.LimitReader(c.Request.Body, maxNotificationBody+1))
	if err != nil || len(body) > maxNotificationBody {
		c.JSON(http.StatusBadRequest, gin.H{"status": http.StatusBadRequest, "error": "unreadable notification"})
		return
	}
	n, err := pesapal.ParseNotification(c.Request.Method, c.Request.URL.Query(), c.ContentType(), body)
	if err != nil {
		h.log.WarnContext(c.Request.Context(), "pesapal ipn rejected", "request_id", c.GetString(keyRequestID), "err", err)
		c.JSON(http.StatusBadRequest, gin.H{"status": http.StatusBadRequest, "error": "not a Pesapal notification"})
		return
	}
	raw := rawNotification(c.Request.Method, c.Request.URL.Query(), body)
	_, _, err = h.svc.PesapalNotification(c.Request.Context(), n, "ipn:pesapal", raw)
	status := http.StatusOK
	if err != nil {
		status = http.StatusInternalServerError
		if !errors.Is(err, payments.ErrNotConfirmed) && !errors.Is(err, payments.ErrNotFound) {
			h.log.ErrorContext(c.Request.Context(), "pesapal ipn failed", "request_id", c.GetString(keyRequestID),
				"tracking_id", n.OrderTrackingID, "err", err)
		}
	}
	c.Data(status, "application/json", pesapal.Ack(n, status))
}

// rawNotification is the notification as received, for the event log.
func rawNotification(method string, q url.Values, body []byte) string {
	raw := method + " ?" + q.Encode()
	if len(body) > 0 {
		raw += "\n" + string(body)
	}
	return raw
}
