package handlers

import (
	"errors"
	"net/http"
	"slices"
	"strings"

	"github.com/gin-gonic/gin"

	"checkout/money"
	"checkout/payments"
	"checkout/templates"
)

// The admin's payouts: the list, a payout's page with its actions, and
// "Send money", a payout to an M-Pesa phone in two steps (the form, then
// what will happen, then sent).

// payoutRow is a payout as the list shows it.
func payoutRow(p *payments.Payout) templates.TransferRow {
	to := p.Phone
	if p.Name != "" {
		to += " " + p.Name
	}
	return templates.TransferRow{ID: p.ID, URL: adminPayoutPath(p.ID), CreatedAt: p.CreatedAt.In(nairobi).Format("2 Jan 2006 15:04"),
		Amount: cents(p.Currency, p.Amount), Status: string(p.Status), Stage: string(p.Stage), Provider: p.Provider,
		ProviderReference: p.ProviderReference, RequestedBy: actorLabel(p.RequestedBy), ApprovedBy: actorLabel(p.ApprovedBy), To: to}
}

// Payouts is GET /admin/payouts: every payout, newest first, filtered by
// status and stage, paged by keyset (?after=).
func (h *Handlers) Payouts(c *gin.Context) {
	f, shown, errs := parseTransferFilter(c)
	v := templates.TransfersPage{AdminPage: adminPage(c, "Payouts"), Kind: "payout", Action: "/admin/payouts",
		Filter: shown, Statuses: transferStatuses, Stages: transferStages, FieldErrors: errs}
	if canManage(c) {
		v.NewURL = "/admin/payouts/new"
	}
	if len(errs) > 0 {
		h.render(c, http.StatusUnprocessableEntity, templates.TransfersView(v))
		return
	}
	after := c.Query("after")
	ps, more, err := h.svc.AdminPayouts(c.Request.Context(), f, after, transfersPerPage)
	if err != nil {
		h.fail(c, err)
		return
	}
	for i := range ps {
		v.Rows = append(v.Rows, payoutRow(&ps[i]))
	}
	last := ""
	if len(ps) > 0 {
		last = ps[len(ps)-1].ID
	}
	transferPager(&v, "/admin/payouts", shown, after, last, more)
	h.render(c, http.StatusOK, templates.TransfersView(v))
}

// Payout is GET /admin/payouts/{id}: the payout, what can be done now, its
// timeline.
func (h *Handlers) Payout(c *gin.Context) {
	ctx := c.Request.Context()
	p, err := h.svc.AdminPayout(ctx, c.Param("id"))
	if errors.Is(err, payments.ErrNotFound) {
		notice(c, http.StatusNotFound, "Payout not found", "There is no payout with this id.")
		return
	}
	if err != nil {
		h.fail(c, err)
		return
	}
	v := templates.TransferPage{AdminPage: adminPage(c, "Payout "+p.ID), Kind: "payout", ID: p.ID,
		Status: string(p.Status), Stage: string(p.Stage), Amount: cents(p.Currency, p.Amount), Message: p.Message,
		BackURL: "/admin/payouts", BackLabel: "Payouts"}
	verified := ""
	if string(p.Status) == "succeeded" {
		verified = "Yes: confirmed by the provider"
		if !p.Verified {
			verified = "No: the provider's callback could not be checked; compare with its statement"
		}
	}
	fees := ""
	if p.Fees > 0 {
		fees = cents(p.Currency, p.Fees)
	}
	v.Details = []templates.DetailRow{
		{Label: "ID", Value: p.ID, Mono: true},
		{Label: "Amount", Value: v.Amount},
		{Label: "Status", Value: statusWord(string(p.Status))},
		{Label: "Phone", Value: p.Phone, Mono: true},
		{Label: "Name", Value: p.Name},
		{Label: "Reference", Value: p.Reference, Mono: true},
		{Label: "Description", Value: p.Description},
		{Label: "Refund", Value: p.RefundID, URL: refundURL(p.RefundID), Mono: true},
		{Label: "Provider", Value: providerName(p.Provider)},
		{Label: "Provider reference", Value: p.ProviderReference, Mono: true},
		{Label: "Provider's id", Value: p.ProviderID, Mono: true},
		{Label: "M-Pesa receipt", Value: p.Receipt, Mono: true},
		{Label: "Fees", Value: fees},
		{Label: "Verified", Value: verified},
		{Label: "Message", Value: p.Message},
		{Label: "Asked by", Value: actorLabel(p.RequestedBy)},
		{Label: "Approved by", Value: actorLabel(p.ApprovedBy)},
		{Label: "Approved", Value: adminTimeOf(p.ApprovedAt)},
		{Label: "Created", Value: adminTimeOf(&p.CreatedAt)},
		{Label: "Sent", Value: adminTimeOf(p.SentAt)},
		{Label: "Completed", Value: adminTimeOf(p.CompletedAt)},
	}
	h.transferActions(c, &v, adminPayoutPath(p.ID), p.RequestedBy)
	if v.Events, err = h.transferEvents(ctx, p.ID); err != nil {
		h.fail(c, err)
		return
	}
	h.render(c, http.StatusOK, templates.TransferView(v))
}

func refundURL(id string) string {
	if id == "" {
		return ""
	}
	return adminRefundPath(id)
}

// ApprovePayout, DeclinePayout and ResolvePayout are the payout page's
// actions: POST /admin/payouts/{id}/approve, /decline and /resolve.
func (h *Handlers) ApprovePayout(c *gin.Context) { h.approve(c, "payout", adminPayoutPath) }
func (h *Handlers) DeclinePayout(c *gin.Context) { h.decline(c, "payout", adminPayoutPath) }
func (h *Handlers) ResolvePayout(c *gin.Context) { h.resolve(c, "payout", adminPayoutPath) }

// NewPayout is GET /admin/payouts/new: "Send money".
func (h *Handlers) NewPayout(c *gin.Context) {
	h.renderNewPayout(c, http.StatusOK, templates.PayoutForm{}, nil, "")
}

// renderNewPayout shows the form with what was typed and what was refused;
// the balance is read afresh each time.
func (h *Handlers) renderNewPayout(c *gin.Context, status int, f templates.PayoutForm, errs map[string]string, formErr string) {
	ctx := c.Request.Context()
	v := templates.PayoutNewPage{AdminPage: adminPage(c, "Send money"), Form: f, FieldErrors: errs, Error: formErr,
		Provider: h.svc.PayoutProviderName()}
	if limit := h.svc.ApprovalLimit(); limit > 0 {
		v.ApprovalNote = "Above " + cents("KES", limit) + " a second admin approves it before anything is sent."
	}
	if v.Provider != "" {
		bal, cur, ok, err := h.svc.PayoutBalance(ctx)
		switch {
		case err != nil:
			h.log.WarnContext(ctx, "payout balance unavailable", "err", err)
			v.Balance = "could not be read just now"
		case ok:
			v.Balance = cents(cur, bal)
		}
	}
	names, err := h.merchantNames(ctx)
	if err != nil {
		h.fail(c, err)
		return
	}
	for id, name := range names {
		v.Merchants = append(v.Merchants, templates.MerchantOption{ID: id, Name: name})
	}
	slices.SortFunc(v.Merchants, func(a, b templates.MerchantOption) int { return strings.Compare(a.ID, b.ID) })
	h.render(c, status, templates.PayoutNewView(v))
}

// SendMoney is POST /admin/payouts, "Send money" in two steps: without
// confirm=1 the form is checked (phone, amount in whole shillings, not
// above the provider's balance when it has one) and what will happen is
// shown; with confirm=1 the payout is made and its page shown; edit=1 goes
// back to the form. Refused, the form comes back with the field marked
// (422) and nothing is sent.
func (h *Handlers) SendMoney(c *gin.Context) {
	ctx := c.Request.Context()
	f := templates.PayoutForm{Merchant: c.PostForm("merchant"), Phone: strings.TrimSpace(c.PostForm("phone")),
		Name: strings.TrimSpace(c.PostForm("name")), Amount: strings.TrimSpace(c.PostForm("amount")),
		Reference: strings.TrimSpace(c.PostForm("reference")), Description: strings.TrimSpace(c.PostForm("description"))}
	if c.PostForm("edit") != "" {
		h.renderNewPayout(c, http.StatusOK, f, nil, "")
		return
	}
	if h.svc.PayoutProviderName() == "" {
		h.renderNewPayout(c, http.StatusUnprocessableEntity, f, nil, "No payout provider is configured: nothing was sent.")
		return
	}
	m, err := h.svc.Merchant(ctx, f.Merchant)
	if errors.Is(err, payments.ErrNotFound) {
		h.renderNewPayout(c, http.StatusUnprocessableEntity, f, map[string]string{"merchant": "Choose a merchant from the list."}, "")
		return
	}
	if err != nil {
		h.fail(c, err)
		return
	}
	errs := map[string]string{}
	phone, err := payments.NormalizePhone(f.Phone)
	if err != nil {
		errs["phone"] = "Enter a Kenyan M-Pesa number, such as 0712 345 678 or 254712345678."
	}
	amount, msg := payoutAmount(f.Amount)
	if msg != "" {
		errs["amount"] = msg
	}
	if len(errs) == 0 {
		if msg := h.aboveBalance(c, amount); msg != "" {
			errs["amount"] = msg
		}
	}
	if len(errs) > 0 {
		h.renderNewPayout(c, http.StatusUnprocessableEntity, f, errs, "")
		return
	}
	if c.PostForm("confirm") == "" {
		h.renderPayoutConfirm(c, f, m.Name, phone, amount)
		return
	}
	req := payments.PayoutRequest{Amount: money.Amount(amount).String(), Phone: f.Phone, Name: f.Name,
		Reference: f.Reference, Description: f.Description}
	var id string
	made := false // this request made the payout (not a replayed confirm)
	if token, ok := confirmToken(c); ok {
		// The confirm page's press: once per token.
		scope := "admin payout\n" + adminActor(c) + "\n" + m.ID + "\n" + req.Amount + "\n" + phone + "\n" + req.Name +
			"\n" + req.Reference + "\n" + req.Description
		var answered bool
		id, answered, err = h.confirmOnce(c, m.ID, token, scope, func(claim *payments.IdempotencyClaim) (payments.StoredAnswer, error) {
			_, ans, err := h.svc.CreatePayoutOnceBy(ctx, m, req, adminActor(c), claim,
				func(p *payments.Payout) (int, []byte, error) { return confirmedAnswer(p.ID) })
			made = err == nil
			return ans, err
		})
		if err == nil && !answered {
			return
		}
	} else {
		// Posted without the confirm page (no token): made as asked.
		var p *payments.Payout
		if p, err = h.svc.CreatePayout(ctx, m, req, adminActor(c)); err == nil {
			id, made = p.ID, true
		}
	}
	var fe *payments.FieldError
	switch {
	case errors.As(err, &fe):
		field := fe.Field
		if !contains([]string{"phone", "name", "amount", "reference", "description"}, field) {
			h.renderNewPayout(c, http.StatusUnprocessableEntity, f, nil, fe.Message)
			return
		}
		h.renderNewPayout(c, http.StatusUnprocessableEntity, f, map[string]string{field: fe.Message}, "")
		return
	case errors.Is(err, payments.ErrNoPayoutProvider):
		h.renderNewPayout(c, http.StatusUnprocessableEntity, f, nil, "No payout provider is configured: nothing was sent.")
		return
	case err != nil:
		h.fail(c, err)
		return
	}
	if made {
		h.audit(c, "payout.create", "payout", id, "KES "+req.Amount+" to "+phone+" ("+m.Name+")")
	}
	c.Redirect(http.StatusSeeOther, adminPayoutPath(id)+"?flash=created")
}

// payoutAmount reads "Send money"'s amount: shillings, whole (M-Pesa takes
// no cents).
func payoutAmount(typed string) (int64, string) {
	const help = "Enter an amount in whole shillings, such as 500 or 1,500."
	if typed == "" {
		return 0, help
	}
	s, ok := money.Ungroup(typed)
	if !ok {
		return 0, help
	}
	a, err := money.Parse(s)
	if err != nil || a <= 0 {
		return 0, help
	}
	if !a.Whole() {
		return 0, "M-Pesa takes whole shillings: enter an amount without cents."
	}
	return int64(a), ""
}

// aboveBalance refuses an amount above the provider's balance, when it has
// one, before anything is sent ("" when the amount fits or the balance is
// not known).
func (h *Handlers) aboveBalance(c *gin.Context, amount int64) string {
	ctx := c.Request.Context()
	bal, cur, ok, err := h.svc.PayoutBalance(ctx)
	if err != nil {
		h.log.WarnContext(ctx, "payout balance unavailable", "err", err)
		return ""
	}
	if ok && amount > bal {
		return "More than the balance (" + cents(cur, bal) + "): nothing was sent."
	}
	return ""
}

// renderPayoutConfirm is "Send money"'s confirm step.
func (h *Handlers) renderPayoutConfirm(c *gin.Context, f templates.PayoutForm, merchant, phone string, amount int64) {
	what := cents("KES", amount)
	v := templates.ConfirmPage{AdminPage: adminPage(c, "Send "+what+"?"), Heading: "Send " + what + "?",
		Action: "/admin/payouts", Button: "Send " + what, BackURL: "/admin/payouts",
		Hidden: []templates.HiddenField{{Name: "merchant", Value: f.Merchant}, {Name: "phone", Value: f.Phone},
			{Name: "name", Value: f.Name}, {Name: "amount", Value: f.Amount}, {Name: "reference", Value: f.Reference},
			{Name: "description", Value: f.Description}, {Name: confirmField, Value: newConfirmToken()}}}
	v.Details = []templates.DetailRow{
		{Label: "To", Value: phone, Mono: true},
		{Label: "Name", Value: f.Name},
		{Label: "Amount", Value: what},
		{Label: "Through", Value: providerName(h.svc.PayoutProviderName())},
		{Label: "For", Value: merchant},
		{Label: "Reference", Value: f.Reference, Mono: true},
		{Label: "Description", Value: f.Description},
	}
	if limit := h.svc.ApprovalLimit(); limit > 0 && amount > limit {
		v.Notes = append(v.Notes, "This is above "+cents("KES", limit)+": it waits for a second admin's approval before anything is sent.")
	} else {
		v.Notes = append(v.Notes, "It is sent at once, and cannot be called back.")
	}
	h.render(c, http.StatusOK, templates.ConfirmView(v))
}
