package handlers

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/gin-gonic/gin"

	"checkout/money"
	"checkout/payments"
	"checkout/reqctx"
	"checkout/templates"
)

const ordersPerPage = 50

func adminPage(c *gin.Context, title string) templates.AdminPage {
	return templates.AdminPage{Page: formPage(c, title), AdminEmail: reqctx.Admin(c), Role: reqctx.AdminRole(c),
		RefundsWaiting: c.GetString(keyRefundsWaiting), PayoutsWaiting: c.GetString(keyPayoutsWaiting)}
}

// Orders is GET /admin/orders: newest first, filtered (see
// parseOrderFilter), searched, paged by keyset. Refused filters show the
// form again with the fields marked (422) and no list.
func (h *Handlers) Orders(c *gin.Context) {
	f, shown, errs := parseOrderFilter(c)
	v := templates.OrdersPage{AdminPage: adminPage(c, "Orders"), Filter: shown, MethodKeys: payments.AllMethods,
		ProviderKeys: payments.AllProviders, FieldErrors: errs}
	for _, s := range payments.Statuses {
		v.Statuses = append(v.Statuses, string(s))
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
	f.After, f.Limit = after, ordersPerPage
	pg, err := h.svc.OrdersPage(c.Request.Context(), f)
	if err != nil {
		h.fail(c, err)
		return
	}
	rows := pg.Rows
	v.SearchNote = broadSearchNote(pg.Broad, f.Q)
	if pg.NameWindow {
		v.SearchNote = strings.TrimSpace(v.SearchNote + " " + fmt.Sprintf(
			"Names are searched %s orders at a time, newest first: “Next page” looks further back.",
			groupThousands(payments.NameScan)))
	}
	for _, co := range rows {
		v.Rows = append(v.Rows, templates.OrderRow{ID: co.ID, URL: "/admin/orders/" + co.ID,
			CreatedAt: co.CreatedAt.In(nairobi).Format("2 Jan 2006 15:04"), Reference: co.Reference, Description: co.Description,
			Amount: money.Display(co.Currency, money.Amount(co.Amount)), Status: string(co.Status), Method: co.Method,
			Receipt: co.Receipt, Phone: co.CustomerPhone, Review: co.Review})
	}
	q := filterQuery(shown)
	if canManage(c) {
		// The CSV holds customers' contacts: not for viewers.
		v.CSVURL = "/admin/orders.csv?" + q.Encode()
	}
	if after != "" {
		v.FirstURL = "/admin/orders?" + q.Encode()
	}
	if pg.More && pg.Next != "" {
		q.Set("after", pg.Next)
		v.NextURL = "/admin/orders?" + q.Encode()
	}
	h.render(c, http.StatusOK, templates.OrdersView(v))
}

// broadSearchNote tells the admin which fields the search left out for
// matching too many orders ("" when none).
func broadSearchNote(broad []string, q string) string {
	if len(broad) == 0 {
		return ""
	}
	names := map[string]string{"id": "ids", "reference": "references", "receipt": "receipts", "email": "emails"}
	var fields []string
	for _, b := range broad {
		fields = append(fields, names[b])
	}
	list := strings.Join(fields, ", ")
	if n := len(fields); n > 1 {
		list = strings.Join(fields[:n-1], ", ") + " or " + fields[n-1]
	}
	return fmt.Sprintf("More than %s %s start with “%s”, so those are not searched: type more of it to find them.",
		groupThousands(payments.SearchCap), list, q)
}

// dayLayout is how the filter's dates are written (an HTML date input's
// value).
const dayLayout = "2006-01-02"

// parseOrderFilter reads the orders list's query parameters (the list and
// the CSV export take the same): status, method, provider (one of the
// lists), q (a search, at most 100 characters), from, to, paid_from,
// paid_to (YYYY-MM-DD, Africa/Nairobi calendar days, inclusive), link (a
// payment link id), review=1, stale=1, failure (an attempt's failure
// message, exactly) and failed_from, failed_to (days, as above, on when
// that failed attempt was made; only with failure). It returns the filter for payments, the values as
// typed for the form, and the refused fields with a sentence each.
func parseOrderFilter(c *gin.Context) (payments.OrderFilter, templates.OrderFilter, map[string]string) {
	q := c.Request.URL.Query()
	v := templates.OrderFilter{Status: q.Get("status"), Method: q.Get("method"), Provider: q.Get("provider"),
		Q: strings.TrimSpace(q.Get("q")), From: strings.TrimSpace(q.Get("from")), To: strings.TrimSpace(q.Get("to")),
		PaidFrom: strings.TrimSpace(q.Get("paid_from")), PaidTo: strings.TrimSpace(q.Get("paid_to")),
		Link: strings.TrimSpace(q.Get("link")), Merchant: strings.TrimSpace(q.Get("merchant")), Failure: q.Get("failure"),
		FailedFrom: strings.TrimSpace(q.Get("failed_from")), FailedTo: strings.TrimSpace(q.Get("failed_to")),
		Review: q.Get("review") != "", Stale: q.Get("stale") != ""}
	f := payments.OrderFilter{Status: v.Status, Method: v.Method, Provider: v.Provider, Q: v.Q, Link: v.Link, Merchant: v.Merchant,
		Failure: v.Failure, Review: v.Review, Stale: v.Stale}
	errs := map[string]string{}
	statuses := make([]string, 0, len(payments.Statuses))
	for _, s := range payments.Statuses {
		statuses = append(statuses, string(s))
	}
	if v.Status != "" && !slices.Contains(statuses, v.Status) {
		errs["status"] = "Choose a status from the list."
	}
	if v.Method != "" && !slices.Contains(payments.AllMethods, v.Method) {
		errs["method"] = "Choose a method from the list."
	}
	if v.Provider != "" && !slices.Contains(payments.AllProviders, v.Provider) {
		errs["provider"] = "Choose a provider from the list."
	}
	if len(v.Q) > 100 {
		errs["q"] = "Search for one reference, id, receipt, phone number, email or name (at most 100 characters)."
	}
	day := func(field, val string) (from, to time.Time) {
		if val == "" {
			return
		}
		d, err := time.ParseInLocation(dayLayout, val, nairobi)
		if err != nil {
			errs[field] = "Enter a date as YYYY-MM-DD, for example 2025-03-14."
			return
		}
		return d, d.AddDate(0, 0, 1)
	}
	f.CreatedFrom, _ = day("from", v.From)
	_, f.CreatedTo = day("to", v.To)
	f.PaidFrom, _ = day("paid_from", v.PaidFrom)
	_, f.PaidTo = day("paid_to", v.PaidTo)
	if !f.CreatedFrom.IsZero() && !f.CreatedTo.IsZero() && !f.CreatedFrom.Before(f.CreatedTo) {
		errs["to"] = "The last day comes before the first."
	}
	if !f.PaidFrom.IsZero() && !f.PaidTo.IsZero() && !f.PaidFrom.Before(f.PaidTo) {
		errs["paid_to"] = "The last day comes before the first."
	}
	f.FailedFrom, _ = day("failed_from", v.FailedFrom)
	_, f.FailedTo = day("failed_to", v.FailedTo)
	if !f.FailedFrom.IsZero() && !f.FailedTo.IsZero() && !f.FailedFrom.Before(f.FailedTo) {
		errs["failed_to"] = "The last day comes before the first."
	}
	if v.Failure == "" && (v.FailedFrom != "" || v.FailedTo != "") {
		errs["failure"] = "Enter the failure message these days are about."
	}
	if len(v.Link) > 64 || strings.ContainsFunc(v.Link, func(r rune) bool {
		return !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '_' || r == '-')
	}) {
		errs["link"] = "Enter a payment link id, like plink_01jq..."
	}
	if !plainID(v.Merchant) {
		errs["merchant"] = "Enter a merchant id, like mer_01jq... or default."
	}
	if len(v.Failure) > 200 {
		errs["failure"] = "A failure message has at most 200 characters."
	}
	for name, val := range map[string]string{"review": q.Get("review"), "stale": q.Get("stale")} {
		if val != "" && val != "1" {
			errs[name] = "Tick the box, or leave it empty."
		}
	}
	return f, v, errs
}

// filterQuery writes the filter back as the query string that selects it,
// for the paging and export links.
func filterQuery(v templates.OrderFilter) url.Values {
	q := url.Values{}
	for k, val := range map[string]string{"status": v.Status, "method": v.Method, "provider": v.Provider, "q": v.Q,
		"from": v.From, "to": v.To, "paid_from": v.PaidFrom, "paid_to": v.PaidTo, "link": v.Link, "merchant": v.Merchant, "failure": v.Failure,
		"failed_from": v.FailedFrom, "failed_to": v.FailedTo} {
		if val != "" {
			q.Set(k, val)
		}
	}
	if v.Review {
		q.Set("review", "1")
	}
	if v.Stale {
		q.Set("stale", "1")
	}
	return q
}

// groupThousands writes n with thousands separators: 5,000.
func groupThousands(n int) string {
	s := strconv.Itoa(n)
	for i := len(s) - 3; i > 0; i -= 3 {
		s = s[:i] + "," + s[i:]
	}
	return s
}

// Order is GET /admin/orders/{id}: everything about one order and its
// timeline.
func (h *Handlers) Order(c *gin.Context) {
	h.renderOrderWith(c, http.StatusOK, c.Query("flash"), nil)
}

// renderOrderWith renders the order page with the given status; st, when
// set, is the refund form as the admin typed it (refused, or to change).
func (h *Handlers) renderOrderWith(c *gin.Context, status int, flash string, st *refundFormState) {
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
	v := templates.OrderPage{AdminPage: adminPage(c, "Order "+co.Reference), Summary: h.summary(c, co),
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
	if v.Emails, err = h.orderEmails(ctx, co); err != nil {
		h.fail(c, err)
		return
	}
	if v.Refunds, err = h.orderRefunds(ctx, co, st); err != nil {
		h.fail(c, err)
		return
	}
	if !canManage(c) {
		// A viewer reads: no re-check, resend or refund on the page (the
		// routes refuse them all the same).
		v.RecheckAction, v.Refunds.Form = "", nil
		for i := range v.Emails {
			v.Emails[i].ResendAction = ""
		}
		for i := range v.Deliveries {
			v.Deliveries[i].ResendAction = ""
		}
	}
	h.render(c, status, templates.OrderView(v))
}

var flashes = map[string]string{
	"rechecked": "Checked with the provider; the timeline shows the answer.",
	"unchecked": "The provider could not be reached; the order is unchanged. Try again in a moment.",
	"nothing":   "There is no payment attempt with a provider to check yet.",
	"resent":    "Webhook queued again with the same webhook-id; it goes out on the worker's next pass.",
	"already":   "This webhook is already queued; it goes out on the worker's next pass.",

	"email-resent":     "Email queued again; it goes out on the worker's next pass.",
	"email-not-failed": "Only a failed email can be sent again: this one is queued or already sent. Nothing changed.",
	"email-not-paid":   "The order is no longer paid, so no receipt goes out. Nothing changed.",
	"email-not-found":  "This order has no such email. Nothing changed.",
}

// orderEmails is the order page's section of emails to the customer; a
// failed one of a paid order offers "Send again".
func (h *Handlers) orderEmails(ctx context.Context, co *payments.Checkout) ([]templates.EmailRow, error) {
	ds, err := h.svc.EmailDeliveries(ctx, co.ID)
	if err != nil {
		return nil, err
	}
	rows := make([]templates.EmailRow, 0, len(ds))
	for _, d := range ds {
		r := templates.EmailRow{ID: d.ID, Kind: d.Kind, Recipient: d.Recipient, Status: d.Status, Attempts: d.Attempts,
			LastError: d.LastError, CreatedAt: adminTimeOf(&d.CreatedAt), SentAt: adminTimeOf(d.SentAt)}
		switch d.Status {
		case payments.EmailPending:
			r.NextAttemptAt = adminTimeOf(d.NextAttemptAt)
		case payments.EmailFailed:
			if co.Status == payments.StatusPaid {
				r.ResendAction = "/admin/orders/" + url.PathEscape(co.ID) + "/emails/" + url.PathEscape(d.ID) + "/resend"
			}
		}
		rows = append(rows, r)
	}
	return rows, nil
}

// ResendEmail is POST /admin/orders/{id}/emails/{email}/resend: a failed
// email of this paid order goes back to the outbox (same row, same
// Message-ID) and the worker sends it on its next pass. A pending or sent
// email, another order's, or an order no longer paid is refused with a
// message, and nothing changes.
func (h *Handlers) ResendEmail(c *gin.Context) {
	ctx := c.Request.Context()
	id := c.Param("id")
	flash := "email-resent"
	_, err := h.svc.ResendEmail(ctx, id, c.Param("email"), "admin:"+reqctx.Admin(c))
	switch {
	case errors.Is(err, payments.ErrNotFound):
		flash = "email-not-found"
	case errors.Is(err, payments.ErrEmailNotFailed):
		flash = "email-not-failed"
	case errors.Is(err, payments.ErrEmailNotPaid):
		flash = "email-not-paid"
	case err != nil:
		h.fail(c, err)
		return
	default:
		h.audit(c, "email.resend", "email", c.Param("email"), "receipt of order "+id)
	}
	c.Redirect(http.StatusSeeOther, "/admin/orders/"+url.PathEscape(id)+"?flash="+flash)
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
		h.audit(c, "order.recheck", "checkout", co.ID, flash)
	}
	c.Redirect(http.StatusSeeOther, "/admin/orders/"+co.ID+"?flash="+flash)
}
