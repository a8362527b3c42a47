package handlers

import (
	"context"
	"errors"
	"net/http"
	"net/url"
	"strings"

	"github.com/gin-gonic/gin"

	"checkout/money"
	"checkout/payments"
	"checkout/reqctx"
	"checkout/templates"
)

// The admin's refunds: the order page's refund form and its confirm step,
// the list of every refund, and a refund's page with the actions a person
// takes on it. The rules (what may be refunded, how, who approves) are
// payments'; these handlers ask, show and pass on.

const transfersPerPage = 50

// The stages a person acts on, as the lists filter them.
const (
	stageApproval  = "approval"
	stageAttention = "attention"
)

var (
	transferStatuses = []string{"pending", "succeeded", "failed"}
	transferStages   = []string{stageApproval, stageAttention}
)

func adminRefundPath(id string) string { return "/admin/refunds/" + url.PathEscape(id) }
func adminPayoutPath(id string) string { return "/admin/payouts/" + url.PathEscape(id) }
func adminOrderPath(id string) string  { return "/admin/orders/" + url.PathEscape(id) }

// adminActor is who asked for a refund or payout made in the admin:
// "admin:<email>", as payment links' CreatedBy. Approve, Decline and
// Resolve take the bare email (the store compares it with requested_by).
func adminActor(c *gin.Context) string { return "admin:" + reqctx.Admin(c) }

// actorLabel writes requested_by / approved_by for people.
func actorLabel(s string) string {
	switch {
	case s == "api":
		return "API"
	case strings.HasPrefix(s, "admin:"):
		return strings.TrimPrefix(s, "admin:")
	}
	return s
}

func cents(currency string, amount int64) string {
	return money.Display(currency, money.Amount(amount))
}

// refundRow is a refund as the lists and the order page show it.
func refundRow(r *payments.Refund) templates.TransferRow {
	return templates.TransferRow{ID: r.ID, URL: adminRefundPath(r.ID), CreatedAt: r.CreatedAt.In(nairobi).Format("2 Jan 2006 15:04"),
		Amount: cents(r.Currency, r.Amount), Status: string(r.Status), Stage: string(r.Stage), Provider: r.Provider,
		ProviderReference: r.ProviderReference, RequestedBy: actorLabel(r.RequestedBy), ApprovedBy: actorLabel(r.ApprovedBy),
		Order: r.CheckoutID, OrderURL: adminOrderPath(r.CheckoutID)}
}

// parseTransferFilter reads a list's ?status= and ?stage=; refused values
// come back with a sentence each.
func parseTransferFilter(c *gin.Context) (payments.TransferFilter, templates.TransferFilter, map[string]string) {
	v := templates.TransferFilter{Status: c.Query("status"), Stage: c.Query("stage"), Merchant: c.Query("merchant")}
	errs := map[string]string{}
	if v.Status != "" && !contains(transferStatuses, v.Status) {
		errs["status"] = "Choose a status from the list."
	}
	if v.Stage != "" && !contains(transferStages, v.Stage) {
		errs["stage"] = "Choose approval or attention from the list."
	}
	if !plainID(v.Merchant) {
		errs["merchant"] = "Enter a merchant id, like mer_01jq... or default."
	}
	return payments.TransferFilter{Status: v.Status, Stage: v.Stage, Merchant: v.Merchant}, v, errs
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

// transferPager fills a list's paging links, keeping the filter.
func transferPager(v *templates.TransfersPage, base string, f templates.TransferFilter, after, last string, more bool) {
	q := url.Values{}
	if f.Status != "" {
		q.Set("status", f.Status)
	}
	if f.Stage != "" {
		q.Set("stage", f.Stage)
	}
	if f.Merchant != "" {
		q.Set("merchant", f.Merchant)
	}
	if after != "" {
		v.FirstURL = base
		if len(q) > 0 {
			v.FirstURL += "?" + q.Encode()
		}
	}
	if more && last != "" {
		q.Set("after", last)
		v.NextURL = base + "?" + q.Encode()
	}
}

// Refunds is GET /admin/refunds: every refund, newest first, filtered by
// status and by the stage a person acts on, paged by keyset (?after=).
func (h *Handlers) Refunds(c *gin.Context) {
	f, shown, errs := parseTransferFilter(c)
	v := templates.TransfersPage{AdminPage: adminPage(c, "Refunds"), Kind: "refund", Action: "/admin/refunds",
		Filter: shown, Statuses: transferStatuses, Stages: transferStages, FieldErrors: errs}
	if len(errs) > 0 {
		h.render(c, http.StatusUnprocessableEntity, templates.TransfersView(v))
		return
	}
	after := c.Query("after")
	rs, more, err := h.svc.AdminRefunds(c.Request.Context(), f, after, transfersPerPage)
	if err != nil {
		h.fail(c, err)
		return
	}
	for i := range rs {
		v.Rows = append(v.Rows, refundRow(&rs[i]))
	}
	last := ""
	if len(rs) > 0 {
		last = rs[len(rs)-1].ID
	}
	transferPager(&v, "/admin/refunds", shown, after, last, more)
	h.render(c, http.StatusOK, templates.TransfersView(v))
}

// transferFlashes are the one-time messages of the refund and payout
// pages, after an action.
var transferFlashes = map[string]string{
	"created":      "Asked for. The timeline shows each step.",
	"approved":     "Approved: it is sent now; the timeline shows the provider's answer.",
	"declined":     "Declined: nothing was sent.",
	"resolved":     "Marked. The timeline records who did it.",
	"self":         "You asked for this one, so another admin must approve it.",
	"not-approval": "It no longer waits for approval (someone acted first). Nothing changed.",
	"bad-note":     "The reason or note is too long (at most 200 characters). Nothing changed.",
	"not-attention": "It no longer needs attention (someone acted first, or the provider answered). " +
		"Nothing changed.",
	"not-paid": "The payment is no longer paid (the provider reversed it): the refund ended failed, its amount " +
		"was given back, and nothing was sent.",
	"covered": "Another refund (or the provider's reversal) already covers this payment, so this one cannot be " +
		"counted as refunded too: settle it outside the app, then mark it failed with a note. Nothing changed.",
}

// transferErrorFlashes are the flashes that say an action was refused.
var transferErrorFlashes = map[string]bool{"bad-note": true, "self": true, "not-approval": true, "not-attention": true,
	"not-paid": true, "covered": true}

// Refund is GET /admin/refunds/{id}: the refund, what can be done now,
// its timeline.
func (h *Handlers) Refund(c *gin.Context) {
	ctx := c.Request.Context()
	r, err := h.svc.AdminRefund(ctx, c.Param("id"))
	if errors.Is(err, payments.ErrNotFound) {
		notice(c, http.StatusNotFound, "Refund not found", "There is no refund with this id.")
		return
	}
	if err != nil {
		h.fail(c, err)
		return
	}
	v := templates.TransferPage{AdminPage: adminPage(c, "Refund "+r.ID), Kind: "refund", ID: r.ID,
		Status: string(r.Status), Stage: string(r.Stage), Amount: cents(r.Currency, r.Amount), Message: r.Message,
		BackURL: "/admin/refunds", BackLabel: "Refunds"}
	v.Details = []templates.DetailRow{
		{Label: "ID", Value: r.ID, Mono: true},
		{Label: "Order", Value: r.CheckoutID, URL: adminOrderPath(r.CheckoutID), Mono: true},
		{Label: "Amount", Value: v.Amount},
		{Label: "Status", Value: statusWord(string(r.Status))},
		{Label: "Goes back", Value: routeWords(r.Route, r.Provider)},
		{Label: "Phone", Value: r.Phone, Mono: true},
		{Label: "Provider reference", Value: r.ProviderReference, Mono: true},
		{Label: "Payout", Value: r.PayoutID, URL: payoutURL(r.PayoutID), Mono: true},
		{Label: "Reason", Value: r.Reason},
		{Label: "Message", Value: r.Message},
		{Label: "Asked by", Value: actorLabel(r.RequestedBy)},
		{Label: "Approved by", Value: actorLabel(r.ApprovedBy)},
		{Label: "Approved", Value: adminTimeOf(r.ApprovedAt)},
		{Label: "Created", Value: adminTimeOf(&r.CreatedAt)},
		{Label: "Completed", Value: adminTimeOf(r.CompletedAt)},
	}
	h.transferActions(c, &v, adminRefundPath(r.ID), r.RequestedBy)
	if v.Events, err = h.transferEvents(ctx, r.ID); err != nil {
		h.fail(c, err)
		return
	}
	h.render(c, http.StatusOK, templates.TransferView(v))
}

func payoutURL(id string) string {
	if id == "" {
		return ""
	}
	return adminPayoutPath(id)
}

// statusWord is a transfer status for people, in a definition list.
func statusWord(s string) string {
	switch s {
	case "pending":
		return "Pending"
	case "succeeded":
		return "Succeeded"
	case "failed":
		return "Failed"
	}
	return s
}

// routeWords says how a refund's money goes back.
func routeWords(route, provider string) string {
	switch route {
	case "pesapal":
		return "Through Pesapal's refund request"
	case "payout":
		return "To the payer's M-Pesa phone, through " + providerName(provider)
	case "manual":
		return "By hand (the provider has no refund API for this payment)"
	}
	return route
}

func providerName(key string) string {
	switch key {
	case "pesapal":
		return "Pesapal"
	case "pokeapay":
		return "PokeaPay"
	case "pochipay":
		return "Pochipay"
	}
	return key
}

// transferActions offers what the stage allows, and the flash of the last
// action.
func (h *Handlers) transferActions(c *gin.Context, v *templates.TransferPage, base, requestedBy string) {
	stage := v.Stage
	if !canManage(c) {
		stage = "" // a viewer is offered no action
	}
	switch stage {
	case stageApproval:
		v.DeclineAction = base + "/decline"
		if requestedBy == adminActor(c) {
			v.OwnRequest = true
		} else {
			v.ApproveAction = base + "/approve"
		}
	case stageAttention:
		v.ResolveAction = base + "/resolve"
	}
	if key := c.Query("flash"); transferErrorFlashes[key] {
		v.Error = transferFlashes[key]
	} else {
		v.Flash = transferFlashes[key]
	}
}

// transferEvents is a refund's or payout's timeline, newest first.
func (h *Handlers) transferEvents(ctx context.Context, id string) ([]templates.EventRow, error) {
	evs, err := h.svc.TransferEvents(ctx, id)
	if err != nil {
		return nil, err
	}
	rows := make([]templates.EventRow, 0, len(evs))
	for i := len(evs) - 1; i >= 0; i-- {
		e := &evs[i]
		src := e.Source
		if a := actorLabel(e.Actor); a != "" && a != src {
			src = strings.TrimSpace(src + " " + a)
		}
		rows = append(rows, templates.EventRow{At: e.CreatedAt.In(nairobi).Format("2 Jan 2006 15:04:05"), Kind: e.Kind,
			Source: src, Summary: e.Message, FromStatus: e.FromStatus, ToStatus: e.ToStatus, Payload: e.Payload})
	}
	return rows, nil
}

// ApproveRefund, DeclineRefund and ResolveRefund are the refund page's
// actions: POST /admin/refunds/{id}/approve, /decline and /resolve.
func (h *Handlers) ApproveRefund(c *gin.Context) { h.approve(c, "refund", adminRefundPath) }
func (h *Handlers) DeclineRefund(c *gin.Context) { h.decline(c, "refund", adminRefundPath) }
func (h *Handlers) ResolveRefund(c *gin.Context) { h.resolve(c, "refund", adminRefundPath) }

// approve lets a second admin approve a refund or payout above the limit:
// the one who asked is refused (payments.ErrSelfApproval).
func (h *Handlers) approve(c *gin.Context, kind string, path func(string) string) {
	id := c.Param("id")
	err := h.svc.Approve(c.Request.Context(), kind, id, reqctx.Admin(c))
	if err == nil {
		h.audit(c, kind+".approve", kind, id, "")
	}
	h.afterAction(c, kind, id, path, "approved", err)
}

// decline ends a refund or payout that waits for approval, failed.
func (h *Handlers) decline(c *gin.Context, kind string, path func(string) string) {
	id := c.Param("id")
	reason := strings.TrimSpace(c.PostForm("reason"))
	err := h.svc.Decline(c.Request.Context(), kind, id, reqctx.Admin(c), reason)
	if err == nil {
		h.audit(c, kind+".decline", kind, id, reason)
	}
	h.afterAction(c, kind, id, path, "declined", err)
}

// resolve records what a person found for one in stage attention:
// outcome=succeeded (refunded or sent by hand, or the statement shows it)
// or outcome=failed.
func (h *Handlers) resolve(c *gin.Context, kind string, path func(string) string) {
	id := c.Param("id")
	var ok bool
	switch c.PostForm("outcome") {
	case "succeeded":
		ok = true
	case "failed":
	default:
		notice(c, http.StatusUnprocessableEntity, "Choose an outcome", "Mark it done or failed from its page.")
		return
	}
	note := strings.TrimSpace(c.PostForm("note"))
	err := h.svc.Resolve(c.Request.Context(), kind, id, reqctx.Admin(c), ok, note)
	if err == nil {
		h.audit(c, kind+".resolve", kind, id, strings.TrimSpace("marked "+c.PostForm("outcome")+": "+note))
	}
	h.afterAction(c, kind, id, path, "resolved", err)
}

// afterAction sends the admin back to the page with what happened.
func (h *Handlers) afterAction(c *gin.Context, kind, id string, path func(string) string, done string, err error) {
	flash := done
	var fe *payments.FieldError
	switch {
	case errors.As(err, &fe):
		flash = "bad-note"
	case errors.Is(err, payments.ErrNotFound):
		notice(c, http.StatusNotFound, transferHeading(kind)+" not found", "There is no "+kind+" with this id.")
		return
	case errors.Is(err, payments.ErrSelfApproval):
		flash = "self"
	case errors.Is(err, payments.ErrNotAwaitingApproval):
		flash = "not-approval"
	case errors.Is(err, payments.ErrNotAttention):
		flash = "not-attention"
	case errors.Is(err, payments.ErrNotPaid):
		flash = "not-paid"
	case errors.Is(err, payments.ErrRefundCovered):
		flash = "covered"
	case err != nil:
		h.fail(c, err)
		return
	}
	c.Redirect(http.StatusSeeOther, path(id)+"?flash="+flash)
}

func transferHeading(kind string) string {
	if kind == "payout" {
		return "Payout"
	}
	return "Refund"
}

// refundFormState is what the admin typed in the order page's refund form,
// with the fields refused or the one refusal for the whole form.
type refundFormState struct {
	Amount, Reason string
	Errs           map[string]string
	// Blocked replaces the options' own reason (the service refused).
	Blocked string
}

// orderRefunds is the order page's refunds section: the refunds, how much
// went back, and the form with the rules that apply to this payment.
func (h *Handlers) orderRefunds(ctx context.Context, co *payments.Checkout, st *refundFormState) (templates.RefundsSection, error) {
	var s templates.RefundsSection
	rs, err := h.svc.CheckoutRefunds(ctx, co.ID)
	if err != nil {
		return s, err
	}
	for i := range rs {
		s.Rows = append(s.Rows, refundRow(&rs[i]))
	}
	if co.RefundReserved > 0 {
		s.Refunded = cents(co.Currency, co.AmountRefunded) + " of " + cents(co.Currency, co.Amount) + " refunded"
		if p := co.RefundReserved - co.AmountRefunded; p > 0 {
			s.Refunded += ", " + cents(co.Currency, p) + " more under way"
		}
		s.Refunded += "."
	}
	if co.Status != payments.StatusPaid {
		return s, nil
	}
	opts, err := h.svc.RefundOptions(ctx, co)
	if err != nil {
		return s, err
	}
	f := &templates.RefundForm{Action: adminOrderPath(co.ID) + "/refunds", Left: cents(co.Currency, opts.Refundable),
		Amount: money.Amount(opts.Refundable).String(), FullOnly: opts.FullOnly, Blocked: opts.Blocked}
	if opts.Blocked == "" && opts.Refundable <= 0 {
		f.Blocked = "Refunded in full: nothing is left to refund."
	}
	if st != nil {
		f.Amount, f.Reason, f.FieldErrors = st.Amount, st.Reason, st.Errs
		if st.Blocked != "" {
			f.Blocked = st.Blocked
		}
	}
	f.Hints = h.refundHints(opts, co.Currency)
	s.Form = f
	return s, nil
}

// refundHints are the rules that apply to a payment's refund, one sentence
// each.
func (h *Handlers) refundHints(o payments.RefundOptions, currency string) []string {
	var hints []string
	method := o.PaymentMethod
	if method == "" {
		method = "a method Pesapal did not name"
	}
	switch o.Route {
	case "pesapal":
		if o.FullOnly {
			hints = append(hints, "Pesapal refunds mobile money in full only, and this payment was made with "+method+
				": the amount is all of it.")
		} else {
			hints = append(hints, "Paid by card ("+method+"): Pesapal can refund part of it.")
		}
		hints = append(hints, "Pesapal takes one refund per payment: refund what you need in one go.")
	case "payout":
		hints = append(hints, "Goes back to the payer's M-Pesa phone through "+providerName(o.Provider)+
			", in whole shillings (M-Pesa takes no cents).")
	case "manual":
		hints = append(hints, "PokeaPay has no refund API for cards: the refund is recorded to be refunded by hand, "+
			"then you mark it refunded.")
	}
	if limit := h.svc.ApprovalLimit(); limit > 0 {
		hints = append(hints, "Above "+cents(currency, limit)+" it needs a second admin's approval before anything is sent.")
	}
	return hints
}

// RefundOrder is POST /admin/orders/{id}/refunds, the order page's refund
// form, in two steps: without confirm=1 it shows what will happen (the
// confirm step); with confirm=1 the refund is asked for and its page
// shown; edit=1 goes back to the form with what was typed. Refused, the
// order page comes back with the field marked (422) and nothing changed.
func (h *Handlers) RefundOrder(c *gin.Context) {
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
	st := &refundFormState{Amount: strings.TrimSpace(c.PostForm("amount")), Reason: strings.TrimSpace(c.PostForm("reason"))}
	if c.PostForm("edit") != "" {
		h.renderOrderWith(c, http.StatusOK, "", st)
		return
	}
	if co.Status != payments.StatusPaid {
		st.Blocked = "Only a paid order can be refunded."
		h.renderOrderWith(c, http.StatusConflict, "", st)
		return
	}
	opts, err := h.svc.RefundOptions(ctx, co)
	if err != nil {
		h.fail(c, err)
		return
	}
	if opts.Blocked != "" {
		h.renderOrderWith(c, http.StatusConflict, "", st)
		return
	}
	amount, msg := refundAmount(st.Amount, opts)
	if msg != "" {
		st.Errs = map[string]string{"amount": msg}
		h.renderOrderWith(c, http.StatusUnprocessableEntity, "", st)
		return
	}
	if len(st.Reason) > 200 {
		st.Errs = map[string]string{"reason": "A reason has at most 200 characters."}
		h.renderOrderWith(c, http.StatusUnprocessableEntity, "", st)
		return
	}
	if c.PostForm("confirm") == "" {
		h.renderRefundConfirm(c, co, opts, amount, st.Reason)
		return
	}
	m, err := h.svc.Merchant(ctx, co.MerchantID)
	if err != nil {
		h.fail(c, err)
		return
	}
	req := payments.RefundRequest{Amount: money.Amount(amount).String(), Reason: st.Reason}
	var id string
	made := false // this request made the refund (not a replayed confirm)
	if token, ok := confirmToken(c); ok {
		// The confirm page's press: once per token.
		scope := "admin refund\n" + adminActor(c) + "\n" + co.ID + "\n" + req.Amount + "\n" + req.Reason
		var answered bool
		id, answered, err = h.confirmOnce(c, co.MerchantID, token, scope, func(claim *payments.IdempotencyClaim) (payments.StoredAnswer, error) {
			_, ans, err := h.svc.CreateRefundOnceBy(ctx, m, co.ID, req, adminActor(c), claim,
				func(r *payments.Refund) (int, []byte, error) { return confirmedAnswer(r.ID) })
			made = err == nil
			return ans, err
		})
		if err == nil && !answered {
			return
		}
	} else {
		// Posted without the confirm page (no token): made as asked.
		var r *payments.Refund
		if r, err = h.svc.CreateRefund(ctx, m, co.ID, req, adminActor(c)); err == nil {
			id, made = r.ID, true
		}
	}
	var fe *payments.FieldError
	switch {
	case errors.As(err, &fe):
		field := fe.Field
		if field != "reason" {
			field = "amount"
		}
		st.Errs = map[string]string{field: fe.Message}
		h.renderOrderWith(c, http.StatusUnprocessableEntity, "", st)
		return
	case errors.Is(err, payments.ErrNotPaid):
		st.Blocked = "Only a paid order can be refunded. Nothing changed."
		h.renderOrderWith(c, http.StatusConflict, "", st)
		return
	case errors.Is(err, payments.ErrRefundExists):
		st.Blocked = "Pesapal takes one refund per payment, and this payment already has one. Nothing changed."
		h.renderOrderWith(c, http.StatusConflict, "", st)
		return
	case errors.Is(err, payments.ErrRefundUnavailable):
		st.Blocked = "Refunds of this payment are not available on this server. Nothing changed."
		h.renderOrderWith(c, http.StatusUnprocessableEntity, "", st)
		return
	case errors.Is(err, payments.ErrNoPayoutProvider):
		st.Blocked = "No payout provider is configured (CHECKOUT_PAYOUT_PROVIDER), so M-Pesa payments cannot be refunded. Nothing changed."
		h.renderOrderWith(c, http.StatusUnprocessableEntity, "", st)
		return
	case err != nil:
		h.fail(c, err)
		return
	}
	if made {
		h.audit(c, "refund.create", "refund", id, co.Currency+" "+req.Amount+" of order "+co.ID)
	}
	c.Redirect(http.StatusSeeOther, adminRefundPath(id)+"?flash=created")
}

// refundAmount reads the form's amount ("" is what is left) against the
// payment's rules, for the confirm step; payments checks them all again
// when the refund is made.
func refundAmount(typed string, o payments.RefundOptions) (int64, string) {
	if typed == "" {
		return o.Refundable, ""
	}
	s, ok := money.Ungroup(typed)
	if !ok {
		return 0, "Enter an amount such as 500, 1,500 or 1,500.50 (a point before the cents)."
	}
	a, err := money.Parse(s)
	if err != nil || a <= 0 {
		return 0, "Enter an amount such as 500, 1,500 or 1,500.50 (a point before the cents)."
	}
	if err := o.CheckAmount(int64(a)); err != nil {
		return 0, err.Message
	}
	return int64(a), ""
}

// renderRefundConfirm is the refund's confirm step.
func (h *Handlers) renderRefundConfirm(c *gin.Context, co *payments.Checkout, o payments.RefundOptions, amount int64, reason string) {
	what := cents(co.Currency, amount)
	v := templates.ConfirmPage{AdminPage: adminPage(c, "Refund "+what+"?"), Heading: "Refund " + what + "?",
		Action: adminOrderPath(co.ID) + "/refunds", Button: "Refund " + what, BackURL: adminOrderPath(co.ID),
		Hidden: []templates.HiddenField{{Name: "amount", Value: money.Amount(amount).String()}, {Name: "reason", Value: reason},
			{Name: confirmField, Value: newConfirmToken()}}}
	v.Details = []templates.DetailRow{
		{Label: "Order", Value: orderLabel(co), Mono: true},
		{Label: "Paid", Value: cents(co.Currency, co.Amount)},
		{Label: "Refund", Value: what},
		{Label: "Goes back", Value: routeWords(o.Route, o.Provider)},
		{Label: "Reason", Value: reason},
	}
	if o.Route == "payout" && o.Phone != "" {
		v.Details = append(v.Details, templates.DetailRow{Label: "To the phone", Value: o.Phone, Mono: true})
	}
	if o.Route == "manual" {
		v.Notes = append(v.Notes, "PokeaPay has no refund API for cards: this records a refund to make by hand; "+
			"mark it refunded once you have.")
	}
	if o.NeedsApproval != nil && o.NeedsApproval(amount) {
		v.Notes = append(v.Notes, "This is above "+cents(co.Currency, h.svc.ApprovalLimit())+
			": it waits for a second admin's approval before anything is sent.")
	} else if o.Route != "manual" {
		v.Notes = append(v.Notes, "It is sent at once, and cannot be called back.")
	}
	h.render(c, http.StatusOK, templates.ConfirmView(v))
}

func orderLabel(co *payments.Checkout) string {
	if co.Reference != "" {
		return co.Reference
	}
	return co.ID
}
