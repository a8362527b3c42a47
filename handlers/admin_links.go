package handlers

import (
	"encoding/json"
	"errors"
	"html"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"time"

	"github.com/gin-gonic/gin"

	"checkout/locale"
	"checkout/money"
	"checkout/payments"
	"checkout/reqctx"
	"checkout/templates"
)

const linksPerPage = 50

// adminLinkPath is a link's admin page.
func adminLinkPath(id string) string { return "/admin/links/" + url.PathEscape(id) }

// Links is GET /admin/links: every merchant's payment links (or one's:
// ?merchant=), newest first, with what each has brought in, paged by
// keyset (?after=).
func (h *Handlers) Links(c *gin.Context) {
	ctx := c.Request.Context()
	after, merchant := c.Query("after"), c.Query("merchant")
	if !plainID(merchant) {
		notice(c, http.StatusBadRequest, "Not a merchant id", "The merchant filter takes a merchant id, like mer_01jq... or default.")
		return
	}
	links, more, err := h.svc.Links(ctx, merchant, after, linksPerPage)
	if err != nil {
		h.fail(c, err)
		return
	}
	paid, err := h.linksPaid(c, links)
	if err != nil {
		h.fail(c, err)
		return
	}
	v := templates.LinksPage{AdminPage: adminPage(c, "Payment links")}
	for i := range links {
		v.Rows = append(v.Rows, linkRow(&links[i], paid[links[i].ID], ""))
	}
	base := "/admin/links"
	if merchant != "" {
		base += "?merchant=" + url.QueryEscape(merchant)
	}
	if after != "" {
		v.FirstURL = base
	}
	if more && len(links) > 0 {
		v.NextURL = base + sep(base) + "after=" + url.QueryEscape(links[len(links)-1].ID)
	}
	h.render(c, http.StatusOK, templates.LinksView(v))
}

func (h *Handlers) linksPaid(c *gin.Context, links []payments.PaymentLink) (map[string]payments.LinkPaid, error) {
	ids := make([]string, len(links))
	for i := range links {
		ids[i] = links[i].ID
	}
	return h.svc.LinksPaid(c.Request.Context(), ids)
}

// linkRow is a link as the admin reads it.
func linkRow(l *payments.PaymentLink, paid payments.LinkPaid, merchant string) templates.LinkRow {
	r := templates.LinkRow{ID: l.ID, URL: adminLinkPath(l.ID), Description: l.Description, Paid: paid.Count,
		PaidTotal: money.Display(l.Currency, money.Amount(paid.Amount)), Active: l.Active,
		CreatedAt: l.CreatedAt.In(nairobi).Format("2 Jan 2006 15:04"), Merchant: merchant, SingleUse: l.SingleUse,
		SuccessURL: l.SuccessURL, ReferencePrefix: l.ReferencePrefix}
	if l.Amount > 0 {
		r.Amount = money.Display(l.Currency, money.Amount(l.Amount))
	} else {
		r.Amount = "Customer enters"
		if b := linkBounds(locale.EN, l); b != "" {
			r.Amount += " (" + strings.TrimSuffix(strings.ToLower(b[:1])+b[1:], ".") + ")"
		}
	}
	if l.ExpiresAt != nil {
		r.ExpiresAt = l.ExpiresAt.In(nairobi).Format("2 Jan 2006 15:04")
	}
	if !l.Active {
		r.ExpiresAt = "deactivated " + adminTimeOf(l.DeactivatedAt)
	}
	if l.Methods != "" {
		r.Methods = strings.Split(l.Methods, ",")
	}
	return r
}

// NewLink is GET /admin/links/new: the form.
func (h *Handlers) NewLink(c *gin.Context) {
	h.renderNewLink(c, http.StatusOK, templates.LinkForm{}, nil)
}

func (h *Handlers) renderNewLink(c *gin.Context, status int, f templates.LinkForm, errs map[string]string) {
	names, err := h.merchantNames(c.Request.Context())
	if err != nil {
		h.fail(c, err)
		return
	}
	v := templates.LinkNewPage{AdminPage: adminPage(c, "New payment link"), Form: f, FieldErrors: errs, MethodKeys: payments.AllMethods}
	for id, name := range names {
		v.Merchants = append(v.Merchants, templates.MerchantOption{ID: id, Name: name})
	}
	slices.SortFunc(v.Merchants, func(a, b templates.MerchantOption) int { return strings.Compare(a.ID, b.ID) })
	h.render(c, status, templates.LinkNewView(v))
}

// CreateLink is POST /admin/links: the form's link is made and its page
// shown; refused, the form comes back with the field marked (422).
func (h *Handlers) CreateLink(c *gin.Context) {
	ctx := c.Request.Context()
	f := templates.LinkForm{Merchant: c.PostForm("merchant"), Description: c.PostForm("description"),
		AmountMode: c.PostForm("amount_mode"), Amount: c.PostForm("amount"), MinAmount: c.PostForm("min_amount"),
		MaxAmount: c.PostForm("max_amount"), ReferencePrefix: c.PostForm("reference_prefix"),
		ExpiresAt: c.PostForm("expires_at"), SuccessURL: c.PostForm("success_url"),
		SingleUse: c.PostForm("single_use") != "", Methods: c.PostFormArray("methods")}
	m, err := h.svc.Merchant(ctx, f.Merchant)
	if errors.Is(err, payments.ErrNotFound) {
		h.renderNewLink(c, http.StatusUnprocessableEntity, f, map[string]string{"merchant": "Choose a merchant from the list."})
		return
	}
	if err != nil {
		h.fail(c, err)
		return
	}
	req, fieldErr := linkFormRequest(f)
	if fieldErr != nil {
		h.renderNewLink(c, http.StatusUnprocessableEntity, f, fieldErr)
		return
	}
	l, err := h.svc.CreateLink(ctx, m, req, "admin:"+reqctx.Admin(c))
	var fe *payments.FieldError
	if errors.As(err, &fe) {
		h.renderNewLink(c, http.StatusUnprocessableEntity, f, map[string]string{adminLinkField(fe.Field): fe.Message})
		return
	}
	if err != nil {
		h.fail(c, err)
		return
	}
	h.audit(c, "link.create", "link", l.ID, l.Description+" ("+m.Name+")")
	c.Redirect(http.StatusSeeOther, adminLinkPath(l.ID)+"?flash=created")
}

// adminLinkField is the form field an API field's error belongs to.
func adminLinkField(apiField string) string {
	if strings.HasPrefix(apiField, "metadata") {
		return "description"
	}
	return apiField
}

// linkFormRequest turns the admin's form into the API's request, so that
// both are validated by the same rules. The form's only checks of its
// own are the amount kind and the expiry, typed in Nairobi time.
func linkFormRequest(f templates.LinkForm) (payments.LinkRequest, map[string]string) {
	req := payments.LinkRequest{Currency: "KES", Description: f.Description, ReferencePrefix: f.ReferencePrefix,
		SingleUse: f.SingleUse, SuccessURL: f.SuccessURL}
	if len(f.Methods) > 0 {
		req.Methods = f.Methods
	}
	// Commas are thousands separators only where they group the digits by
	// three ("1,500"); elsewhere ("1,5") the field is refused, not read as
	// 15.
	errs := map[string]string{}
	str := func(field, v string) json.RawMessage {
		v, ok := money.Ungroup(strings.TrimSpace(v))
		if !ok {
			errs[field] = "Enter an amount such as 1500, 1,500 or 1,500.50 (a point before the cents)."
			return nil
		}
		if v == "" {
			return nil
		}
		b, _ := json.Marshal(v) // a string always encodes
		return b
	}
	if f.AmountMode == "customer" {
		req.MinAmount, req.MaxAmount = str("min_amount", f.MinAmount), str("max_amount", f.MaxAmount)
	} else {
		req.Amount = str("amount", f.Amount)
		if req.Amount == nil && errs["amount"] == "" {
			errs["amount"] = "Enter the amount, or choose \"The customer enters the amount\"."
		}
	}
	if len(errs) > 0 {
		return req, errs
	}
	if v := strings.TrimSpace(f.ExpiresAt); v != "" {
		t, err := time.ParseInLocation("2006-01-02T15:04", v, nairobi)
		if err != nil {
			return req, map[string]string{"expires_at": "Enter a date and time such as 2026-12-31 18:00."}
		}
		req.ExpiresAt = t.UTC().Format(time.RFC3339)
	}
	return req, nil
}

var linkFlashes = map[string]string{
	"created":     "Payment link made. Share the link, print the QR code, or paste the button into your site.",
	"deactivated": "Payment link deactivated: customers who open it are told it no longer works.",
}

// LinkDetail is GET /admin/links/{id}: the link, its address to copy, its
// QR code and pay button, and what it has brought in.
func (h *Handlers) LinkDetail(c *gin.Context) {
	ctx := c.Request.Context()
	l, ok := h.adminLink(c)
	if !ok {
		return
	}
	paid, err := h.svc.LinksPaid(ctx, []string{l.ID})
	if err != nil {
		h.fail(c, err)
		return
	}
	merchant := l.MerchantID
	if m, err := h.svc.Merchant(ctx, l.MerchantID); err == nil {
		merchant = m.Name
	}
	public := h.svc.LinkURL(l.ID)
	svg, err := payments.QRSVG(public)
	if err != nil {
		h.fail(c, err)
		return
	}
	v := templates.LinkDetailPage{AdminPage: adminPage(c, l.Description), Link: linkRow(l, paid[l.ID], merchant),
		PublicURL: public, QRSVG: svg, QRURL: adminLinkPath(l.ID) + "/qr.svg", Snippet: payButton(public, l),
		OrdersURL: "/admin/orders?link=" + url.QueryEscape(l.ID), DeactivateAction: adminLinkPath(l.ID) + "/deactivate",
		Flash: linkFlashes[c.Query("flash")]}
	if !canManage(c) {
		v.DeactivateAction = ""
	}
	h.render(c, http.StatusOK, templates.LinkDetailView(v))
}

// payButton is the HTML a merchant pastes into a site: a plain link
// styled as a button with inline styles (the merchant's page may have no
// stylesheet of ours), working without script.
func payButton(public string, l *payments.PaymentLink) string {
	label := "Pay now"
	if l.Amount > 0 {
		label = "Pay " + money.Display(l.Currency, money.Amount(l.Amount))
	}
	return `<a href="` + html.EscapeString(public) + `" style="display:inline-block;padding:12px 24px;` +
		`background:#0b6b3a;color:#ffffff;border-radius:6px;font-family:Arial,sans-serif;font-size:16px;` +
		`font-weight:bold;text-decoration:none">` + html.EscapeString(label) + `</a>`
}

// LinkQR is GET /admin/links/{id}/qr.svg: the link's QR code as an SVG
// file to download and print.
func (h *Handlers) LinkQR(c *gin.Context) {
	l, ok := h.adminLink(c)
	if !ok {
		return
	}
	svg, err := payments.QRSVG(h.svc.LinkURL(l.ID))
	if err != nil {
		h.fail(c, err)
		return
	}
	c.Header("Content-Disposition", `attachment; filename="payment-link-`+l.ID+`.svg"`)
	c.Header("Cache-Control", "no-store")
	c.Data(http.StatusOK, "image/svg+xml", []byte(`<?xml version="1.0" encoding="UTF-8"?>`+"\n"+svg+"\n"))
}

// DeactivateLink is POST /admin/links/{id}/deactivate.
func (h *Handlers) DeactivateLink(c *gin.Context) {
	l, err := h.svc.DeactivateLink(c.Request.Context(), "", c.Param("id"))
	if errors.Is(err, payments.ErrNotFound) {
		notice(c, http.StatusNotFound, "Payment link not found", "There is no payment link with this id.")
		return
	}
	if err != nil {
		h.fail(c, err)
		return
	}
	h.audit(c, "link.deactivate", "link", l.ID, l.Description)
	c.Redirect(http.StatusSeeOther, adminLinkPath(l.ID)+"?flash=deactivated")
}

func (h *Handlers) adminLink(c *gin.Context) (*payments.PaymentLink, bool) {
	l, err := h.svc.Link(c.Request.Context(), c.Param("id"))
	if errors.Is(err, payments.ErrNotFound) {
		notice(c, http.StatusNotFound, "Payment link not found", "There is no payment link with this id.")
		return nil, false
	}
	if err != nil {
		h.fail(c, err)
		return nil, false
	}
	return l, true
}
