package handlers

import (
	"errors"
	"net/http"
	"net/url"
	"slices"

	"github.com/gin-gonic/gin"

	"checkout/locale"
	"checkout/money"
	"checkout/payments"
	"checkout/templates"
)

// linkPath is a payment link's customer address.
func linkPath(id string) string { return "/l/" + url.PathEscape(id) }

// OpenLink is GET /l/{id}: the link's payment page, which makes nothing
// (a link preview or a crawler opening it leaves no checkout behind). A
// link with a fixed amount shows the order and the method choice, as a
// checkout page does; the browser that already has an open checkout of it
// is sent there instead. A link whose customer enters the amount asks for
// the amount first (offering this browser's open checkout, if any). A
// link that makes no checkout any more shows why.
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
	page, err := h.svc.LinkPage(c.Request.Context(), l, l.Amount)
	if err != nil {
		h.fail(c, err)
		return
	}
	h.renderLinkPay(c, http.StatusOK, l, page, "", nil, "", nil)
}

// LinkPay is POST /l/{id}: the link's payment page sent. With a
// customer-entered amount outside the link's bounds, the amount form
// comes back with the field marked (422). Without a method (the amount
// step), the method choice for that amount is shown. With a method, the
// checkout is made and that payment started on it exactly as POST
// /c/{id}/pay would; a field that would refuse it (the M-Pesa number, the
// receipt contact) is checked first, and the page comes back marked with
// nothing made. The browser's open checkout of the link, for the same
// amount, is paid instead of a new one (a checkout's amount never
// changes).
func (h *Handlers) LinkPay(c *gin.Context) {
	l, ok := h.openLink(c)
	if !ok {
		return
	}
	prev, ok := h.rememberedCheckout(c, l.ID)
	if !ok {
		return
	}
	amount, typed := l.Amount, ""
	if amount == 0 {
		typed = c.PostForm("amount")
		a, err := h.svc.CustomerAmount(l, typed)
		var fe *payments.FieldError
		if errors.As(err, &fe) {
			h.renderLinkAmount(c, http.StatusUnprocessableEntity, l, prev, typed, map[string]string{"amount": customerText(c, fe.Message)})
			return
		}
		if err != nil {
			h.fail(c, err)
			return
		}
		amount = a
	}
	method := c.PostForm("method")
	if prev != nil && prev.Amount == amount {
		if method == "" {
			c.Redirect(http.StatusSeeOther, checkoutPath(prev.ID))
			return
		}
		co, err := h.svc.CheckoutPage(c.Request.Context(), prev.ID)
		if err != nil {
			h.fail(c, err)
			return
		}
		if h.payable(c, co) {
			h.pay(c, co)
		}
		return
	}
	page, err := h.svc.LinkPage(c.Request.Context(), l, amount)
	if err != nil {
		h.fail(c, err)
		return
	}
	if method == "" {
		h.renderLinkPay(c, http.StatusOK, l, page, typed, nil, "", nil)
		return
	}
	err = h.svc.CheckLinkPayment(page, method, c.PostForm("phone"), payments.CustomerContact{Contact: c.PostForm("contact"),
		Email: c.PostForm(payments.FieldCustomerEmail), Phone: c.PostForm(payments.FieldCustomerPhone)})
	var fe *payments.FieldError
	var need *payments.ContactNeeded
	switch {
	case errors.As(err, &need):
		status, errs, step := contactStep(c, need, linkPath(l.ID))
		h.renderLinkPay(c, status, l, page, typed, errs, "", step)
		return
	case errors.As(err, &fe):
		h.renderLinkPay(c, http.StatusUnprocessableEntity, l, page, typed, map[string]string{fe.Field: customerText(c, fe.Message)}, c.PostForm("contact"), nil)
		return
	case errors.Is(err, payments.ErrMethodUnavailable):
		msg := tr(c, "err_method_unavailable")
		if !slices.Contains(payments.AllMethods, method) {
			msg = tr(c, "err_choose_method")
		}
		h.renderLinkPay(c, http.StatusUnprocessableEntity, l, page, typed, map[string]string{"method": msg}, c.PostForm("contact"), nil)
		return
	case err != nil:
		h.fail(c, err)
		return
	}
	made, err := h.svc.CheckoutFromLink(c.Request.Context(), l, typed)
	if err != nil {
		// Deactivated, expired or used since openLink looked: the same
		// pages; a payment of a single-use link under way: 409, nothing
		// made.
		h.linkClosed(c, err)
		return
	}
	if err := h.sessions.RememberLinkCheckout(c, l.ID, made.ID); err != nil {
		h.fail(c, err)
		return
	}
	co, err := h.svc.CheckoutPage(c.Request.Context(), made.ID)
	if err != nil {
		h.fail(c, err)
		return
	}
	c.Header("Cache-Control", "no-store")
	h.pay(c, co)
}

// renderLinkPay shows the link's payment page: the checkout page of co,
// the checkout the link would make (payments.LinkPage), its forms posting
// to /l/{id}, with typed (the customer's amount, "" for a fixed one)
// carried along.
func (h *Handlers) renderLinkPay(c *gin.Context, status int, l *payments.PaymentLink, co *payments.CheckoutPage, typed string,
	errs map[string]string, contact string, step *templates.ContactStep) {
	v := h.checkoutView(c, co, errs, contact, step)
	v.PayAction = linkPath(l.ID)
	if l.Amount == 0 {
		v.Amount, v.AmountURL = typed, linkPath(l.ID)
	}
	c.Header("Cache-Control", "no-store")
	h.render(c, status, templates.CheckoutView(v))
}

// openLink loads the link named in the URL, answering a clear page when it
// makes no checkout: unknown (404), deactivated, expired, or single use
// and paid (410). A browser with an open checkout of a deactivated or
// expired link, still payable, is sent to it instead (303), as a reload
// is: the link makes no new checkout, but the one made earlier can be
// paid.
func (h *Handlers) openLink(c *gin.Context) (*payments.PaymentLink, bool) {
	h.customerLang(c, "") // a link has no locale: the switch, the cookie or the browser
	l, err := h.svc.OpenLink(c.Request.Context(), c.Param("id"))
	if err != nil {
		if l != nil && (errors.Is(err, payments.ErrLinkInactive) || errors.Is(err, payments.ErrLinkExpired)) {
			prev, ok := h.rememberedCheckout(c, l.ID)
			if !ok {
				return nil, false
			}
			if prev != nil {
				c.Redirect(http.StatusSeeOther, checkoutPath(prev.ID))
				return nil, false
			}
		}
		h.linkClosed(c, err)
		return nil, false
	}
	return l, true
}

// linkClosed answers a link that makes no checkout, or fails.
func (h *Handlers) linkClosed(c *gin.Context, err error) {
	switch {
	case errors.Is(err, payments.ErrNotFound):
		customerNotice(c, http.StatusNotFound, "link_not_found", "link_not_found_text")
	case errors.Is(err, payments.ErrLinkInactive):
		customerNotice(c, http.StatusGone, "link_inactive", "link_inactive_text")
	case errors.Is(err, payments.ErrLinkExpired):
		customerNotice(c, http.StatusGone, "link_expired", "link_expired_text")
	case errors.Is(err, payments.ErrLinkBusy):
		customerNotice(c, http.StatusConflict, "link_busy", "link_busy_text")
	case errors.Is(err, payments.ErrLinkUsed):
		customerNotice(c, http.StatusGone, "link_used", "link_used_text")
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

func (h *Handlers) renderLinkAmount(c *gin.Context, status int, l *payments.PaymentLink, prev *payments.Checkout,
	typed string, errs map[string]string) {
	name := ""
	if m, err := h.svc.Merchant(c.Request.Context(), l.MerchantID); err == nil {
		name = m.Name
	}
	v := templates.LinkAmountPage{Page: h.branded(c, formPage(c, l.Description), l.MerchantID), MerchantName: merchantName(c, name),
		Description: l.Description, Currency: l.Currency, Bounds: linkBounds(langOf(c), l), Amount: typed, FieldErrors: errs,
		Action: linkPath(l.ID)}
	if prev != nil {
		v.ContinueURL, v.ContinueAmount = checkoutPath(prev.ID), money.Display(prev.Currency, money.Amount(prev.Amount))
	}
	c.Header("Cache-Control", "no-store")
	h.render(c, status, templates.LinkAmountView(v))
}

// linkBounds says a link's bounds on the customer's amount in words.
func linkBounds(lang locale.Lang, l *payments.PaymentLink) string {
	lo, hi := money.Display(l.Currency, money.Amount(l.MinAmount)), money.Display(l.Currency, money.Amount(l.MaxAmount))
	switch {
	case l.MinAmount > 0 && l.MaxAmount > 0:
		return locale.Format(lang, "bounds_between", "Min", lo, "Max", hi)
	case l.MinAmount > 0:
		return locale.Format(lang, "bounds_at_least", "Min", lo)
	case l.MaxAmount > 0:
		return locale.Format(lang, "bounds_at_most", "Max", hi)
	}
	return ""
}
