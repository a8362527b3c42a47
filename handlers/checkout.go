package handlers

import (
	"context"
	"errors"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/gin-gonic/gin"

	"checkout/money"
	"checkout/payments"
	"checkout/templates"
)

var methodLabels = map[string][2]string{
	payments.MethodPesapal:  {"Pay with Pesapal", "Card, M-Pesa, Airtel Money and more"},
	payments.MethodPokeaPay: {"Pay with PokeaPay", "M-Pesa or card on PokeaPay's page"},
	payments.MethodSTK:      {"M-Pesa on your phone", "Approve a prompt on your phone"},
}

// loadCheckout loads the checkout named in the URL, answering a clear page
// when it does not exist.
func (h *Handlers) loadCheckout(c *gin.Context) (*payments.Checkout, bool) {
	co, err := h.svc.Checkout(c.Request.Context(), c.Param("id"))
	if errors.Is(err, payments.ErrNotFound) {
		notice(c, http.StatusNotFound, "Checkout not found",
			"We could not find this checkout. Check the link, or ask the shop for a new one.")
		return nil, false
	}
	if err != nil {
		h.fail(c, err)
		return nil, false
	}
	return co, true
}

func (h *Handlers) summary(ctx context.Context, co *payments.Checkout) templates.Summary {
	name := "the shop"
	if m, err := h.svc.Merchant(ctx, co.MerchantID); err == nil {
		name = m.Name
	}
	return templates.Summary{ID: co.ID, MerchantName: name, Description: co.Description, Reference: co.Reference,
		Amount: money.Display(co.Currency, money.Amount(co.Amount))}
}

func (h *Handlers) statusView(co *payments.Checkout) templates.StatusView {
	st := co.Status
	if h.svc.PastDeadline(co) && st == payments.StatusOpen {
		st = payments.StatusExpired
	}
	v := templates.StatusView{ID: co.ID, Status: string(st), Method: co.Method, Receipt: co.Receipt, Message: co.Message,
		ReceiptURL: "/c/" + co.ID, Final: st != payments.StatusOpen && st != payments.StatusPending}
	if st == payments.StatusPending {
		// Polled while a payment is under way; when it ends either way the
		// page is replaced (see Status).
		v.PollURL = "/c/" + co.ID + "/status?while=pending"
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
	v.Note = note
}

// CheckoutPage is GET /c/{id}: the order and the method choice, or the
// receipt, or a clear page for a checkout that can no longer be paid.
func (h *Handlers) CheckoutPage(c *gin.Context) {
	co, ok := h.loadCheckout(c)
	if !ok {
		return
	}
	if !h.payable(c, co) {
		return
	}
	h.renderCheckout(c, http.StatusOK, co, nil)
}

// payable renders the page for a checkout that cannot take a payment (paid:
// the receipt) and reports whether the caller should go on.
func (h *Handlers) payable(c *gin.Context, co *payments.Checkout) bool {
	switch {
	case co.Status == payments.StatusPaid:
		h.renderReceipt(c, co)
	case co.Status == payments.StatusExpired || h.svc.PastDeadline(co) && co.Status == payments.StatusOpen:
		u, label := h.cancelReturn(c, co)
		noticeWithLink(c, http.StatusGone, "This checkout has expired",
			"The time to pay for this order has passed. Ask the shop for a new payment link. "+
				"If money left your account for this order, keep your receipt: the shop will see the payment.", u, label)
	case co.Status == payments.StatusCancelled:
		u, label := h.cancelReturn(c, co)
		noticeWithLink(c, http.StatusGone, "This checkout was cancelled",
			"This order was cancelled. If money left your account for it, keep your receipt: the shop will see the payment.",
			u, label)
	case co.Status == payments.StatusReversed:
		u, label := h.cancelReturn(c, co)
		noticeWithLink(c, http.StatusGone, "This payment was reversed",
			"The payment for this order was reversed by the provider. Contact the shop if you have questions.", u, label)
	default:
		return true
	}
	return false
}

func (h *Handlers) renderCheckout(c *gin.Context, status int, co *payments.Checkout, fieldErrs map[string]string) {
	h.renderCheckoutForm(c, status, co, fieldErrs, "")
}

func (h *Handlers) renderCheckoutForm(c *gin.Context, status int, co *payments.Checkout, fieldErrs map[string]string, contact string) {
	h.renderCheckoutPage(c, status, co, fieldErrs, contact, nil)
}

func (h *Handlers) renderCheckoutPage(c *gin.Context, status int, co *payments.Checkout, fieldErrs map[string]string, contact string,
	step *templates.ContactStep) {
	var methods []templates.MethodOption
	var stk *templates.STKForm
	pesapal := false
	for _, m := range h.svc.Methods(co) {
		pesapal = pesapal || m.Key == payments.MethodPesapal && m.Available
		if m.Key == payments.MethodSTK {
			// A form of its own: it needs the phone number.
			stk = &templates.STKForm{Phone: h.stkPhone(c, co), Disabled: !m.Available, DisabledReason: m.Why}
			continue
		}
		l := methodLabels[m.Key]
		methods = append(methods, templates.MethodOption{Key: m.Key, Label: l[0], Hint: l[1], Disabled: !m.Available, DisabledReason: m.Why})
	}
	v := templates.CheckoutPage{
		Page: page(c, "Pay "+h.summary(c.Request.Context(), co).MerchantName), Summary: h.summary(c.Request.Context(), co),
		Methods: methods, Message: co.Message, FieldErrors: fieldErrs,
		Pending: co.Status == payments.StatusPending, Status: h.statusView(co),
		PayAction: "/c/" + co.ID + "/pay", NeedsContact: pesapal && payments.NeedsContact(co), Contact: contact, STK: stk,
		ContactStep: step,
	}
	if step != nil {
		v.Page = page(c, "Your details for "+step.Provider)
	}
	h.withNote(c, co, &v.Status)
	if co.CancelURL != "" {
		v.CancelAction = "/c/" + co.ID + "/cancel"
	}
	h.render(c, status, templates.CheckoutView(v))
}

func (h *Handlers) renderReceipt(c *gin.Context, co *payments.Checkout) {
	v := templates.ReceiptPage{Page: page(c, "Payment received"), Summary: h.summary(c.Request.Context(), co),
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

// Pay is POST /c/{id}/pay: the customer chose a method.
func (h *Handlers) Pay(c *gin.Context) {
	co, ok := h.loadCheckout(c)
	if !ok || !h.payable(c, co) {
		return
	}
	method := c.PostForm("method")
	switch method {
	case payments.MethodPesapal:
		_, err := h.svc.StartPesapal(c.Request.Context(), co.ID, c.PostForm("contact"))
		if h.payError(c, co, err) {
			return
		}
		c.Redirect(http.StatusSeeOther, "/c/"+co.ID+"/pesapal")
	case payments.MethodSTK:
		_, err := h.svc.StartSTK(c.Request.Context(), co.ID, c.PostForm("phone"))
		if errors.Is(err, payments.ErrPhoneBusy) {
			fresh, ferr := h.svc.Checkout(c.Request.Context(), co.ID)
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
		c.Redirect(http.StatusSeeOther, "/c/"+co.ID+"/stk")
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
		h.renderCheckout(c, http.StatusUnprocessableEntity, co, map[string]string{"method": "Choose one of the payment methods below."})
	}
}

// renderContactStep asks for the details PokeaPay still needs. Coming from
// the method choice it is a question (200, nothing marked); the step's own
// form sent back with something missing or wrong is marked field by field
// (422).
func (h *Handlers) renderContactStep(c *gin.Context, co *payments.Checkout, need *payments.ContactNeeded) {
	step := &templates.ContactStep{Method: need.Method, Provider: "PokeaPay", BackURL: "/c/" + co.ID,
		AskPhone: need.Asks(payments.FieldCustomerPhone), AskEmail: need.Asks(payments.FieldCustomerEmail),
		Phone: need.Values[payments.FieldCustomerPhone], Email: need.Values[payments.FieldCustomerEmail]}
	switch {
	case step.AskPhone && step.AskEmail:
		step.Why = "PokeaPay asks for your phone number and email address with every payment."
	case step.AskPhone:
		step.Why = "PokeaPay asks for your phone number with every payment."
	default:
		step.Why = "PokeaPay asks for your email address with every payment."
	}
	status, errs := http.StatusOK, map[string]string(nil)
	if c.PostForm("step") == "contact" {
		status, errs = http.StatusUnprocessableEntity, need.Errors
	}
	h.renderCheckoutPage(c, status, co, errs, "", step)
}

// payError shows what went wrong starting a payment and reports whether
// there was an error.
func (h *Handlers) payError(c *gin.Context, co *payments.Checkout, err error) bool {
	var fe *payments.FieldError
	switch {
	case err == nil:
		return false
	case errors.As(err, &fe):
		h.renderCheckoutForm(c, http.StatusUnprocessableEntity, co, map[string]string{fe.Field: fe.Message}, c.PostForm("contact"))
	case errors.Is(err, payments.ErrMethodUnavailable):
		h.renderCheckout(c, http.StatusUnprocessableEntity, co, map[string]string{"method": "That payment method is not available for this order."})
	case errors.Is(err, payments.ErrNotPayable):
		if fresh, ferr := h.svc.Checkout(c.Request.Context(), co.ID); ferr == nil && !h.payable(c, fresh) {
			return true
		}
		notice(c, http.StatusConflict, "This checkout can no longer be paid", "Ask the shop for a new payment link.")
	case errors.Is(err, payments.ErrProvider):
		fresh, ferr := h.svc.Checkout(c.Request.Context(), co.ID)
		if ferr != nil {
			h.fail(c, ferr)
			return true
		}
		h.renderCheckout(c, http.StatusBadGateway, fresh, map[string]string{
			"method": "The payment provider could not start the payment. Nothing was charged; please try again in a moment."})
	default:
		h.fail(c, err)
	}
	return true
}

// PesapalFrame is GET /c/{id}/pesapal: Pesapal's payment page in an iframe
// on ours, with the live status below it.
func (h *Handlers) PesapalFrame(c *gin.Context) {
	co, ok := h.loadCheckout(c)
	if !ok || !h.payable(c, co) {
		return
	}
	a, err := h.svc.CurrentPesapalAttempt(c.Request.Context(), co.ID)
	if errors.Is(err, payments.ErrNotFound) {
		c.Redirect(http.StatusSeeOther, "/c/"+co.ID)
		return
	}
	if err != nil {
		h.fail(c, err)
		return
	}
	sum := h.summary(c.Request.Context(), co)
	v := templates.PesapalFramePage{Page: page(c, "Pay with Pesapal"), Summary: sum, FrameURL: a.RedirectURL,
		BackURL: "/c/" + co.ID, Status: h.statusView(co)}
	// Pesapal lets the customer try again inside its own page after a
	// decline, so this page stays through a failure and only a final status
	// replaces it.
	v.Status.PollURL = strings.Replace(v.Status.PollURL, "?while=pending", "", 1)
	h.render(c, http.StatusOK, templates.PesapalFrameView(v))
}

// Status is GET /c/{id}/status: the live status as an htmx fragment, or as
// JSON for scripts.
func (h *Handlers) Status(c *gin.Context) {
	co, err := h.svc.Checkout(c.Request.Context(), c.Param("id"))
	if errors.Is(err, payments.ErrNotFound) {
		if wantsJSON(c) {
			c.JSON(http.StatusNotFound, gin.H{"error": gin.H{"code": "not_found", "message": "no such checkout", "field": nil}})
			return
		}
		notice(c, http.StatusNotFound, "Checkout not found", "We could not find this checkout.")
		return
	}
	if err != nil {
		h.fail(c, err)
		return
	}
	v := h.statusView(co)
	h.withNote(c, co, &v)
	ended := v.Status != string(payments.StatusPending)
	if id := c.Query("attempt"); id != "" && !ended {
		a, err := h.svc.Attempt(c.Request.Context(), id)
		if err != nil && !errors.Is(err, payments.ErrNotFound) {
			// A database failure is not "no such attempt".
			h.fail(c, err)
			return
		}
		ended = err == nil && a.CheckoutID == co.ID && a.Status != payments.AttemptPending
	}
	if wantsJSON(c) {
		// The message is what the page says: a silent M-Pesa prompt's note
		// before an older failure's reason.
		msg := co.Message
		if v.Note != "" {
			msg = v.Note
		}
		c.JSON(http.StatusOK, gin.H{"id": co.ID, "status": v.Status, "method": nullable(co.Method),
			"receipt": nullable(co.Receipt), "message": nullable(msg)})
		return
	}
	c.Header("Cache-Control", "no-store")
	if c.GetHeader("HX-Request") == "true" && (v.Final || c.Query("while") == "pending" && ended) {
		// The page the customer is on (choice, iframe, return, "check your
		// phone") is replaced by the checkout page: the receipt, the notice,
		// or, when a page waiting on a payment sees it fail, the choice again
		// with the reason.
		c.Header("HX-Redirect", "/c/"+co.ID)
	}
	h.render(c, http.StatusOK, templates.StatusPartial(v))
}

func nullable(s string) any {
	if s == "" {
		return nil
	}
	return s
}

// Cancel is POST /c/{id}/cancel: "Cancel and return" to the merchant.
func (h *Handlers) Cancel(c *gin.Context) {
	co, ok := h.loadCheckout(c)
	if !ok || !h.payable(c, co) {
		return
	}
	done, err := h.svc.Cancel(c.Request.Context(), co.ID)
	if errors.Is(err, payments.ErrNotPayable) {
		c.Redirect(http.StatusSeeOther, "/c/"+co.ID)
		return
	}
	if err != nil {
		h.fail(c, err)
		return
	}
	// The cancelled page links back to the merchant: a redirect from this
	// form post straight to the merchant's site would be blocked by the
	// page's form-action policy.
	c.Redirect(http.StatusSeeOther, "/c/"+done.ID)
}

// stkPhone fills the M-Pesa number: what the customer just typed, else the
// last number tried, else the checkout's phone.
func (h *Handlers) stkPhone(c *gin.Context, co *payments.Checkout) string {
	if p := c.PostForm("phone"); p != "" {
		return p
	}
	if p := h.svc.LastSTKPhone(c.Request.Context(), co.ID); p != "" {
		return payments.LocalPhone(p)
	}
	return payments.LocalPhone(co.CustomerPhone)
}

// STKWait is GET /c/{id}/stk: "Check your phone" while the M-Pesa prompt is
// on the customer's phone.
func (h *Handlers) STKWait(c *gin.Context) {
	co, ok := h.loadCheckout(c)
	if !ok || !h.payable(c, co) {
		return
	}
	a, err := h.svc.CurrentSTKAttempt(c.Request.Context(), co.ID)
	if errors.Is(err, payments.ErrNotFound) {
		c.Redirect(http.StatusSeeOther, "/c/"+co.ID)
		return
	}
	if err != nil {
		h.fail(c, err)
		return
	}
	left := int((payments.STKPromptWindow - h.svc.Since(a.CreatedAt)).Seconds())
	v := templates.STKWaitPage{Page: page(c, "Check your phone"), Summary: h.summary(c.Request.Context(), co),
		Phone: payments.LocalPhone(a.Phone), Seconds: max(left, 0), Status: h.statusView(co),
		RetryAction: "/c/" + co.ID + "/pay", RetryPhone: payments.LocalPhone(a.Phone), BackURL: "/c/" + co.ID}
	v.Status.PageURL = "/c/" + co.ID + "/stk"
	h.withNote(c, co, &v.Status)
	if v.Status.PollURL != "" {
		// This page waits on this prompt, not on the checkout: another
		// attempt left pending (a provider page the customer walked away
		// from) must not keep it waiting after the prompt has ended.
		v.Status.PollURL += "&attempt=" + a.ID
	}
	h.render(c, http.StatusOK, templates.STKWaitView(v))
}

// cancelReturn is the link back to the merchant for an order that ended
// unpaid: cancel_url with the checkout id.
func (h *Handlers) cancelReturn(c *gin.Context, co *payments.Checkout) (string, string) {
	if co.CancelURL == "" {
		return "", ""
	}
	return withCheckoutID(co.CancelURL, co.ID), "Return to " + h.summary(c.Request.Context(), co).MerchantName
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
