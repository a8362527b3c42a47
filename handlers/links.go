package handlers

import (
	"errors"
	"net/http"
	"net/url"

	"github.com/gin-gonic/gin"

	"checkout/money"
	"checkout/payments"
	"checkout/templates"
)

// linkPath is a payment link's customer address.
func linkPath(id string) string { return "/l/" + url.PathEscape(id) }

// OpenLink is GET /l/{id}. A link with a fixed amount sends the browser to
// its checkout: the one this browser was given before while it can still
// be paid there, else a new one. A link whose customer enters the amount
// shows the amount form first. A link that makes no checkout any more
// shows why.
func (h *Handlers) OpenLink(c *gin.Context) {
	l, ok := h.openLink(c)
	if !ok {
		return
	}
	prev, ok := h.rememberedCheckout(c, l.ID)
	if !ok {
		return
	}
	if l.Amount == 0 {
		h.renderLinkAmount(c, http.StatusOK, l, prev, "", nil)
		return
	}
	if prev != nil {
		c.Redirect(http.StatusSeeOther, checkoutPath(prev.ID))
		return
	}
	h.newLinkCheckout(c, l, "")
}

// LinkAmount is POST /l/{id}: the amount a customer entered. Outside the
// link's bounds the form comes back with the field marked (422) and
// nothing is made; else the checkout is made and the browser sent to it.
// The same amount as the open checkout this browser already has goes back
// to that one; another amount is a new checkout (a checkout's amount never
// changes).
func (h *Handlers) LinkAmount(c *gin.Context) {
	l, ok := h.openLink(c)
	if !ok {
		return
	}
	if l.Amount != 0 {
		c.Redirect(http.StatusSeeOther, linkPath(l.ID))
		return
	}
	prev, ok := h.rememberedCheckout(c, l.ID)
	if !ok {
		return
	}
	typed := c.PostForm("amount")
	amount, err := h.svc.CustomerAmount(l, typed)
	var fe *payments.FieldError
	if errors.As(err, &fe) {
		h.renderLinkAmount(c, http.StatusUnprocessableEntity, l, prev, typed, map[string]string{"amount": fe.Message})
		return
	}
	if err != nil {
		h.fail(c, err)
		return
	}
	if prev != nil && prev.Amount == amount {
		c.Redirect(http.StatusSeeOther, checkoutPath(prev.ID))
		return
	}
	h.newLinkCheckout(c, l, typed)
}

// openLink loads the link named in the URL, answering a clear page when it
// makes no checkout: unknown (404), deactivated, expired, or single use
// and paid (410).
func (h *Handlers) openLink(c *gin.Context) (*payments.PaymentLink, bool) {
	l, err := h.svc.OpenLink(c.Request.Context(), c.Param("id"))
	if err != nil {
		h.linkClosed(c, err)
		return nil, false
	}
	return l, true
}

// linkClosed answers a link that makes no checkout, or fails.
func (h *Handlers) linkClosed(c *gin.Context, err error) {
	switch {
	case errors.Is(err, payments.ErrNotFound):
		notice(c, http.StatusNotFound, "Payment link not found",
			"There is no payment link at this address. Check the link you were given, or ask the shop for it again.")
	case errors.Is(err, payments.ErrLinkInactive):
		notice(c, http.StatusGone, "This payment link no longer works",
			"The shop has turned this payment link off. Nothing was charged. Ask the shop for a new link if you still need to pay.")
	case errors.Is(err, payments.ErrLinkExpired):
		notice(c, http.StatusGone, "This payment link has expired",
			"The time to pay with this link has passed. Nothing was charged. Ask the shop for a new link if you still need to pay.")
	case errors.Is(err, payments.ErrLinkUsed):
		notice(c, http.StatusGone, "This payment link was already used",
			"This link takes one payment only, and it has been paid. Nothing was charged now. Ask the shop if you think this is wrong.")
	default:
		h.fail(c, err)
	}
}

// rememberedCheckout is the checkout this browser was given for the link
// before, if it can still be paid (nil otherwise). ok is false when the
// request was answered (an error).
func (h *Handlers) rememberedCheckout(c *gin.Context, linkID string) (*payments.Checkout, bool) {
	id := h.sessions.LinkCheckout(c, linkID)
	if id == "" {
		return nil, true
	}
	co, ok, err := h.svc.LinkCheckout(c.Request.Context(), linkID, id)
	if err != nil {
		h.fail(c, err)
		return nil, false
	}
	if !ok {
		return nil, true
	}
	return co, true
}

// newLinkCheckout makes this browser's checkout of the link, remembers it
// in the browser, and sends the browser to it.
func (h *Handlers) newLinkCheckout(c *gin.Context, l *payments.PaymentLink, amount string) {
	co, err := h.svc.CheckoutFromLink(c.Request.Context(), l, amount)
	var fe *payments.FieldError
	if errors.As(err, &fe) {
		h.renderLinkAmount(c, http.StatusUnprocessableEntity, l, nil, amount, map[string]string{"amount": fe.Message})
		return
	}
	if err != nil {
		// Deactivated, expired or used since openLink looked: the same
		// pages.
		h.linkClosed(c, err)
		return
	}
	if err := h.sessions.RememberLinkCheckout(c, l.ID, co.ID); err != nil {
		h.fail(c, err)
		return
	}
	c.Header("Cache-Control", "no-store")
	c.Redirect(http.StatusSeeOther, checkoutPath(co.ID))
}

func (h *Handlers) renderLinkAmount(c *gin.Context, status int, l *payments.PaymentLink, prev *payments.Checkout,
	typed string, errs map[string]string) {
	name := ""
	if m, err := h.svc.Merchant(c.Request.Context(), l.MerchantID); err == nil {
		name = m.Name
	}
	v := templates.LinkAmountPage{Page: formPage(c, l.Description), MerchantName: merchantName(name),
		Description: l.Description, Currency: l.Currency, Bounds: linkBounds(l), Amount: typed, FieldErrors: errs,
		Action: linkPath(l.ID)}
	if prev != nil {
		v.ContinueURL, v.ContinueAmount = checkoutPath(prev.ID), money.Display(prev.Currency, money.Amount(prev.Amount))
	}
	c.Header("Cache-Control", "no-store")
	h.render(c, status, templates.LinkAmountView(v))
}

// linkBounds says a link's bounds on the customer's amount in words.
func linkBounds(l *payments.PaymentLink) string {
	lo, hi := money.Display(l.Currency, money.Amount(l.MinAmount)), money.Display(l.Currency, money.Amount(l.MaxAmount))
	switch {
	case l.MinAmount > 0 && l.MaxAmount > 0:
		return "Between " + lo + " and " + hi + "."
	case l.MinAmount > 0:
		return "At least " + lo + "."
	case l.MaxAmount > 0:
		return "At most " + hi + "."
	}
	return ""
}
