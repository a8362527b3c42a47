package handlers

import (
	"errors"
	"net/http"
	"net/url"
	"slices"
	"strings"

	"github.com/gin-gonic/gin"

	"checkout/money"
	"checkout/payments"
	"checkout/reqctx"
	"checkout/templates"
)

const ordersPerPage = 50

func adminPage(c *gin.Context, title string) templates.AdminPage {
	return templates.AdminPage{Page: formPage(c, title), AdminEmail: reqctx.Admin(c)}
}

// Orders is GET /admin/orders: newest first, filtered by status and method,
// searched by reference, id, phone or receipt, paged by keyset.
func (h *Handlers) Orders(c *gin.Context) {
	f := templates.OrderFilter{Status: c.Query("status"), Method: c.Query("method"), Q: strings.TrimSpace(c.Query("q"))}
	v := templates.OrdersPage{AdminPage: adminPage(c, "Orders"), Filter: f, MethodKeys: payments.AllMethods, FieldErrors: map[string]string{}}
	for _, s := range payments.Statuses {
		v.Statuses = append(v.Statuses, string(s))
	}
	if f.Status != "" && !slices.Contains(v.Statuses, f.Status) {
		v.FieldErrors["status"] = "Choose a status from the list."
	}
	if f.Method != "" && !slices.Contains(v.MethodKeys, f.Method) {
		v.FieldErrors["method"] = "Choose a method from the list."
	}
	if len(f.Q) > 100 {
		v.FieldErrors["q"] = "Search for one reference, id, phone number or receipt (at most 100 characters)."
	}
	unknown, err := h.svc.UnknownNotifications(c.Request.Context())
	if err != nil {
		h.fail(c, err)
		return
	}
	v.UnknownNotifications = unknown
	if len(v.FieldErrors) > 0 {
		h.render(c, http.StatusUnprocessableEntity, templates.OrdersView(v))
		return
	}
	after := c.Query("after")
	rows, more, err := h.svc.ListOrders(c.Request.Context(), payments.OrderFilter{
		Status: f.Status, Method: f.Method, Q: f.Q, After: after, Limit: ordersPerPage})
	if err != nil {
		h.fail(c, err)
		return
	}
	for _, co := range rows {
		v.Rows = append(v.Rows, templates.OrderRow{ID: co.ID, URL: "/admin/orders/" + co.ID,
			CreatedAt: co.CreatedAt.In(nairobi).Format("2 Jan 2006 15:04"), Reference: co.Reference, Description: co.Description,
			Amount: money.Display(co.Currency, money.Amount(co.Amount)), Status: string(co.Status), Method: co.Method,
			Receipt: co.Receipt, Phone: co.CustomerPhone, Review: co.Review})
	}
	q := url.Values{}
	for k, val := range map[string]string{"status": f.Status, "method": f.Method, "q": f.Q} {
		if val != "" {
			q.Set(k, val)
		}
	}
	if after != "" {
		v.FirstURL = "/admin/orders?" + q.Encode()
	}
	if more && len(rows) > 0 {
		q.Set("after", rows[len(rows)-1].ID)
		v.NextURL = "/admin/orders?" + q.Encode()
	}
	h.render(c, http.StatusOK, templates.OrdersView(v))
}

// Order is GET /admin/orders/{id}: everything about one order and its
// timeline.
func (h *Handlers) Order(c *gin.Context) {
	h.renderOrder(c, c.Query("flash"))
}

func (h *Handlers) renderOrder(c *gin.Context, flash string) {
	ctx := c.Request.Context()
	co, err := h.svc.Checkout(ctx, c.Param("id"))
	if errors.Is(err, payments.ErrNotFound) {
		notice(c, http.StatusNotFound, "Order not found", "There is no order with this id.")
		return
	}
	if err != nil {
		h.fail(c, err)
		return
	}
	attempts, err := h.svc.Attempts(ctx, co.ID)
	if err != nil {
		h.fail(c, err)
		return
	}
	events, err := h.svc.Events(ctx, co.ID)
	if err != nil {
		h.fail(c, err)
		return
	}
	fmtTime := "2 Jan 2006 15:04:05"
	v := templates.OrderPage{AdminPage: adminPage(c, "Order "+co.Reference), Summary: h.summary(ctx, co),
		Status: string(co.Status), Method: co.Method, Provider: co.Provider, ProviderReference: co.ProviderReference,
		Receipt: co.Receipt, Message: co.Message, Currency: co.Currency,
		CreatedAt: co.CreatedAt.In(nairobi).Format(fmtTime), ExpiresAt: co.ExpiresAt.In(nairobi).Format(fmtTime),
		Customer:   strings.TrimSpace(strings.Join([]string{co.CustomerName, co.CustomerEmail, co.CustomerPhone}, " ")),
		SuccessURL: co.SuccessURL, CancelURL: co.CancelURL, Metadata: co.Metadata, Review: co.Review,
		RecheckAction: "/admin/orders/" + co.ID + "/recheck", Flash: flashText(flash)}
	if co.PaidAt != nil {
		v.PaidAt = co.PaidAt.In(nairobi).Format(fmtTime)
	}
	for _, a := range attempts {
		v.Attempts = append(v.Attempts, templates.AttemptRow{ID: a.ID, Provider: a.Provider, Method: a.Method,
			Status: string(a.Status), ProviderReference: a.ProviderReference, Receipt: a.Receipt, Message: a.Message,
			Phone: a.Phone, CreatedAt: a.CreatedAt.In(nairobi).Format(fmtTime), UpdatedAt: a.UpdatedAt.In(nairobi).Format(fmtTime),
			Review: a.Review, ReviewReason: a.ReviewReason})
	}
	for _, e := range events {
		v.Events = append(v.Events, templates.EventRow{At: e.CreatedAt.In(nairobi).Format(fmtTime), Kind: e.Kind,
			Source: e.Source, Summary: e.Message, FromStatus: e.FromStatus, ToStatus: e.ToStatus, Payload: e.Payload})
	}
	if v.Deliveries, err = h.orderDeliveries(ctx, co.ID); err != nil {
		h.fail(c, err)
		return
	}
	h.render(c, http.StatusOK, templates.OrderView(v))
}

var flashes = map[string]string{
	"rechecked": "Checked with the provider; the timeline shows the answer.",
	"unchecked": "The provider could not be reached; the order is unchanged. Try again in a moment.",
	"nothing":   "There is no payment attempt with a provider to check yet.",
	"resent":    "Webhook queued again with the same webhook-id; it goes out on the worker's next pass.",
	"already":   "This webhook is already queued; it goes out on the worker's next pass.",
}

func flashText(key string) string { return flashes[key] }

// Recheck is POST /admin/orders/{id}/recheck: ask the provider now.
func (h *Handlers) Recheck(c *gin.Context) {
	ctx := c.Request.Context()
	id := c.Param("id")
	co, err := h.svc.Checkout(ctx, id)
	if errors.Is(err, payments.ErrNotFound) {
		notice(c, http.StatusNotFound, "Order not found", "There is no order with this id.")
		return
	}
	if err != nil {
		h.fail(c, err)
		return
	}
	attempts, err := h.svc.Attempts(ctx, co.ID)
	if err != nil {
		h.fail(c, err)
		return
	}
	flash := "nothing"
	if len(attempts) > 0 {
		flash = "rechecked"
		if err := h.svc.RecheckCheckout(ctx, co.ID, "admin:"+reqctx.Admin(c)); err != nil {
			h.log.WarnContext(ctx, "admin re-check failed", "checkout_id", co.ID, "err", err)
			flash = "unchecked"
		}
	}
	c.Redirect(http.StatusSeeOther, "/admin/orders/"+co.ID+"?flash="+flash)
}
