package handlers

// The customer pages share these: the prologue that loads a checkout, the
// pages of a checkout that can no longer be paid, and the parts every page
// shows (summary, live status).

import (
	"context"
	"errors"
	"net/http"
	"net/url"

	"github.com/gin-gonic/gin"

	"checkout/money"
	"checkout/payments"
	"checkout/templates"
)

// open is the prologue of every customer page that can take a payment: the
// checkout named in the URL, loaded and still payable, and, when current is
// given, its payment under way that current finds. When it reports false the
// request is answered: a page for a checkout that is unknown or can no longer
// be paid (paid: the receipt), the checkout page when no payment is under
// way, or the error page.
func (h *Handlers) open(c *gin.Context, current func(context.Context, string) (*payments.Attempt, error)) (
	*payments.CheckoutPage, *payments.Attempt, bool) {
	co, ok := h.loadCheckout(c)
	if !ok || !h.payable(c, co) {
		return nil, nil, false
	}
	if current == nil {
		return co, nil, true
	}
	a, err := current(c.Request.Context(), co.ID)
	if errors.Is(err, payments.ErrNotFound) {
		c.Redirect(http.StatusSeeOther, checkoutPath(co.ID))
		return nil, nil, false
	}
	if err != nil {
		h.fail(c, err)
		return nil, nil, false
	}
	return co, a, true
}

// loadCheckout loads the checkout named in the URL with what its page shows
// besides (one query), answering a clear page when it does not exist.
func (h *Handlers) loadCheckout(c *gin.Context) (*payments.CheckoutPage, bool) {
	co, err := h.svc.CheckoutPage(c.Request.Context(), c.Param("id"))
	if errors.Is(err, payments.ErrNotFound) {
		h.customerLang(c, "")
		customerNotice(c, http.StatusNotFound, "checkout_not_found", "checkout_not_found_text")
		return nil, false
	}
	if err != nil {
		h.fail(c, err)
		return nil, false
	}
	h.customerLang(c, co.Locale)
	return co, true
}

// payable renders the page for a checkout that cannot take a payment (paid:
// the receipt) and reports whether the caller should go on.
func (h *Handlers) payable(c *gin.Context, co *payments.CheckoutPage) bool {
	switch {
	case co.Status == payments.StatusPaid:
		h.renderReceipt(c, co)
	case co.Status == payments.StatusExpired || h.svc.PastDeadline(&co.Checkout) && co.Status == payments.StatusOpen:
		u, label := h.cancelReturn(c, co)
		customerNoticeWithLink(c, http.StatusGone, "expired_heading", "expired_notice", u, label)
	case co.Status == payments.StatusCancelled:
		u, label := h.cancelReturn(c, co)
		customerNoticeWithLink(c, http.StatusGone, "cancelled_heading", "cancelled_notice", u, label)
	case co.Status == payments.StatusReversed:
		u, label := h.cancelReturn(c, co)
		customerNoticeWithLink(c, http.StatusGone, "reversed_heading", "reversed_notice", u, label)
	default:
		return true
	}
	return false
}

// cancelReturn is the link back to the merchant for an order that ended
// unpaid: cancel_url with the checkout id.
func (h *Handlers) cancelReturn(c *gin.Context, co *payments.CheckoutPage) (string, string) {
	if co.CancelURL == "" {
		return "", ""
	}
	return withCheckoutID(co.CancelURL, co.ID), trf(c, "return_to", "Merchant", merchantName(c, co.MerchantName))
}

// summary is the order summary of a checkout loaded alone: it asks for the
// merchant's name.
func (h *Handlers) summary(c *gin.Context, co *payments.Checkout) templates.Summary {
	name := ""
	if m, err := h.svc.Merchant(c.Request.Context(), co.MerchantID); err == nil {
		name = m.Name
	}
	return summaryOf(c, co, name)
}

// pageSummary is the order summary of a checkout loaded for its page,
// which carries the merchant's name.
func pageSummary(c *gin.Context, co *payments.CheckoutPage) templates.Summary {
	return summaryOf(c, &co.Checkout, co.MerchantName)
}

// summaryOf is the order summary; the amount is written for Kenya, the
// same in both languages (money.Display: "KES 1,500.00").
func summaryOf(c *gin.Context, co *payments.Checkout, merchant string) templates.Summary {
	return templates.Summary{ID: co.ID, MerchantName: merchantName(c, merchant), Description: co.Description, Reference: co.Reference,
		Amount: money.Display(co.Currency, money.Amount(co.Amount))}
}

// merchantName is what the customer reads for the shop: its name, or "the
// shop" (in the page's language) when the merchant is gone.
func merchantName(c *gin.Context, name string) string {
	if name == "" {
		return tr(c, "the_shop")
	}
	return name
}

func (h *Handlers) statusView(c *gin.Context, co *payments.Checkout) templates.StatusView {
	st := co.Status
	if h.svc.PastDeadline(co) && st == payments.StatusOpen {
		st = payments.StatusExpired
	}
	v := templates.StatusView{ID: co.ID, Status: string(st), Method: co.Method, Receipt: co.Receipt, Message: customerMessage(c, co.Message),
		ReceiptURL: checkoutPath(co.ID), Final: st != payments.StatusOpen && st != payments.StatusPending}
	if st == payments.StatusPending {
		// Polled while a payment is under way; when it ends either way the
		// page is replaced (see Status).
		v.PollURL = statusPath(co.ID) + "?while=pending&lang=" + string(langOf(c))
	}
	return v
}

// withNote adds what the customer should read about a payment whose
// provider is silent (payments.WaitingNote). Without it the page still says
// "waiting", so a failure to find it is logged, not shown.
func (h *Handlers) withNote(c *gin.Context, co *payments.Checkout, v *templates.StatusView) {
	note, err := h.svc.WaitingNote(c.Request.Context(), co)
	if err != nil {
		h.log.WarnContext(c.Request.Context(), "waiting note", "checkout_id", co.ID, "err", err)
		return
	}
	v.Note = customerText(c, note)
}

// withCheckoutID appends checkout_id to a merchant's URL, so that the shop
// knows which order the customer comes back from. The URL was checked when
// the checkout was created.
func withCheckoutID(raw, id string) string {
	u, err := url.Parse(raw)
	if err != nil {
		return raw
	}
	q := u.Query()
	q.Set("checkout_id", id)
	u.RawQuery = q.Encode()
	return u.String()
}
