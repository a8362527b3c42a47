package handlers

import (
	"errors"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/gin-gonic/gin"

	"checkout/payments"
	"checkout/reqctx"
	"checkout/templates"
)

// adminMerchantPath is a merchant's admin page.
func adminMerchantPath(id string) string { return "/admin/merchants/" + url.PathEscape(id) }

// Merchants is GET /admin/merchants: every merchant, by name, with how many
// of its API keys work.
func (h *Handlers) Merchants(c *gin.Context) {
	ctx := c.Request.Context()
	ms, err := h.svc.Merchants(ctx)
	if err != nil {
		h.fail(c, err)
		return
	}
	now := h.svc.Now()
	v := templates.MerchantsPage{AdminPage: adminPage(c, "Merchants")}
	for i := range ms {
		m := &ms[i]
		keys, err := h.svc.APIKeys(ctx, m.ID)
		if err != nil {
			h.fail(c, err)
			return
		}
		r := templates.MerchantRow{ID: m.ID, URL: adminMerchantPath(m.ID), Name: m.Name, Color: m.BrandColor,
			Methods: splitMethods(m.Methods)}
		if m.LogoType != "" {
			r.LogoURL = payments.LogoPath(m.ID, m.LogoEtag)
		}
		for j := range keys {
			if keys[j].Works(now) {
				r.Keys++
			}
		}
		v.Rows = append(v.Rows, r)
	}
	h.render(c, http.StatusOK, templates.MerchantsView(v))
}

// NewMerchant is GET /admin/merchants/new: the form, every method ticked.
func (h *Handlers) NewMerchant(c *gin.Context) {
	h.renderNewMerchant(c, http.StatusOK, templates.MerchantForm{Methods: payments.AllMethods}, nil)
}

func (h *Handlers) renderNewMerchant(c *gin.Context, status int, f templates.MerchantForm, errs map[string]string) {
	v := templates.MerchantFormPage{AdminPage: adminPage(c, "New merchant"), Form: f, FieldErrors: errs,
		MethodKeys: payments.AllMethods, Action: "/admin/merchants"}
	h.render(c, status, templates.MerchantNewView(v))
}

// merchantForm reads the merchant form (multipart: it carries the logo).
// ok is false when the logo could not be read (answered already).
func (h *Handlers) merchantForm(c *gin.Context) (payments.MerchantForm, templates.MerchantForm, bool) {
	f := payments.MerchantForm{Name: c.PostForm("name"), BrandColor: c.PostForm("brand_color"),
		SupportPhone: c.PostForm("support_phone"), SupportEmail: c.PostForm("support_email"),
		SuccessURL: c.PostForm("success_url"), CancelURL: c.PostForm("cancel_url"), Methods: c.PostFormArray("methods"),
		RemoveLogo: c.PostForm("remove_logo") != ""}
	shown := templates.MerchantForm{Name: f.Name, BrandColor: f.BrandColor, SupportPhone: f.SupportPhone,
		SupportEmail: f.SupportEmail, SuccessURL: f.SuccessURL, CancelURL: f.CancelURL, Methods: f.Methods}
	fh, err := c.FormFile("logo")
	switch {
	case errors.Is(err, http.ErrMissingFile) || errors.Is(err, http.ErrNotMultipart):
		return f, shown, true
	case err != nil:
		h.fail(c, err)
		return f, shown, false
	case fh.Size == 0 && fh.Filename == "":
		// The file input left empty.
		return f, shown, true
	}
	file, err := fh.Open()
	if err != nil {
		h.fail(c, err)
		return f, shown, false
	}
	defer file.Close()
	// One byte over the limit is enough to refuse it.
	f.Logo, err = io.ReadAll(io.LimitReader(file, payments.MaxLogoBytes+1))
	if err != nil {
		h.fail(c, err)
		return f, shown, false
	}
	if f.Logo == nil {
		f.Logo = []byte{}
	}
	return f, shown, true
}

// CreateMerchant is POST /admin/merchants: the merchant is made and its
// page shown; refused, the form comes back with the fields marked (422)
// and nothing is saved.
func (h *Handlers) CreateMerchant(c *gin.Context) {
	f, shown, ok := h.merchantForm(c)
	if !ok {
		return
	}
	m, err := h.svc.CreateMerchant(c.Request.Context(), f)
	var fe payments.FieldErrors
	if errors.As(err, &fe) {
		h.renderNewMerchant(c, http.StatusUnprocessableEntity, shown, fe)
		return
	}
	if err != nil {
		h.fail(c, err)
		return
	}
	h.audit(c, "merchant.create", "merchant", m.ID, "name: "+m.Name)
	c.Redirect(http.StatusSeeOther, adminMerchantPath(m.ID)+"?flash=created")
}

var merchantFlashes = map[string]string{
	"created": "Merchant made. Make it an API key below, and set its webhook on the webhooks page.",
	"saved":   "Saved. Customers see the change within half a minute.",
	"revoked": "Key revoked: calls with it are refused from now on.",
}

// Merchant is GET /admin/merchants/{id}: its profile form, its API keys and
// the links to everything of it.
func (h *Handlers) Merchant(c *gin.Context) {
	h.renderMerchant(c, http.StatusOK, c.Param("id"), merchantFlashes[c.Query("flash")], nil, nil, nil, "", nil)
}

// renderMerchant shows merchant id's page: with the profile form as posted
// (edit, its errors), a key just made (shown once), or the key form's
// errors (keyName, keyErrs).
func (h *Handlers) renderMerchant(c *gin.Context, status int, id, flash string, edit *templates.MerchantForm,
	editErrs map[string]string, newKey *templates.ShownKey, keyName string, keyErrs map[string]string) {
	ctx := c.Request.Context()
	m, err := h.svc.Merchant(ctx, id)
	if errors.Is(err, payments.ErrNotFound) {
		h.NotFound(c)
		return
	}
	if err != nil {
		h.fail(c, err)
		return
	}
	keys, err := h.svc.APIKeys(ctx, id)
	if err != nil {
		h.fail(c, err)
		return
	}
	path := adminMerchantPath(id)
	q := "?merchant=" + url.QueryEscape(id)
	v := templates.MerchantDetailPage{AdminPage: adminPage(c, m.Name), ID: m.ID, Name: m.Name, Flash: flash,
		NewKey: newKey, KeyAction: path + "/keys", KeyName: keyName, KeyErrors: keyErrs,
		OrdersURL: "/admin/orders" + q, LinksURL: "/admin/links" + q, RefundsURL: "/admin/refunds" + q,
		PayoutsURL: "/admin/payouts" + q, WebhooksURL: "/admin/webhooks"}
	form := templates.MerchantForm{Name: m.Name, BrandColor: m.BrandColor, SupportPhone: m.SupportPhone,
		SupportEmail: m.SupportEmail, SuccessURL: m.SuccessURL, CancelURL: m.CancelURL, Methods: splitMethods(m.Methods)}
	if len(form.Methods) == 0 {
		form.Methods = payments.AllMethods
	}
	if edit != nil {
		form = *edit
	}
	if m.LogoType != "" {
		form.LogoURL = payments.LogoPath(m.ID, m.LogoEtag)
	}
	v.Edit = templates.MerchantFormPage{AdminPage: v.AdminPage, Form: form, FieldErrors: editErrs,
		MethodKeys: payments.AllMethods, Action: path}
	for _, d := range payments.RotationOverlaps {
		v.Overlaps = append(v.Overlaps, templates.Overlap{Value: d.String(), Label: overlapLabel(d)})
	}
	now := h.svc.Now()
	for i := range keys {
		v.Keys = append(v.Keys, keyRow(&keys[i], path, now))
	}
	// A page that may show a key is never kept by a browser or proxy.
	c.Header("Cache-Control", "no-store")
	h.render(c, status, templates.MerchantDetailView(v))
}

// UpdateMerchant is POST /admin/merchants/{id}: the profile is saved;
// refused, the page comes back with the fields marked (422) and nothing
// is saved.
func (h *Handlers) UpdateMerchant(c *gin.Context) {
	id := c.Param("id")
	f, shown, ok := h.merchantForm(c)
	if !ok {
		return
	}
	err := h.svc.UpdateMerchant(c.Request.Context(), id, f)
	var fe payments.FieldErrors
	switch {
	case errors.As(err, &fe):
		h.renderMerchant(c, http.StatusUnprocessableEntity, id, "", &shown, fe, nil, "", nil)
		return
	case errors.Is(err, payments.ErrNotFound):
		h.NotFound(c)
		return
	case err != nil:
		h.fail(c, err)
		return
	}
	h.audit(c, "merchant.update", "merchant", id, "name: "+f.Name)
	c.Redirect(http.StatusSeeOther, adminMerchantPath(id)+"?flash=saved")
}

// CreateAPIKey is POST /admin/merchants/{id}/keys: a named key is made and
// shown on this answer, once (no redirect: the key is in no URL and no
// session).
func (h *Handlers) CreateAPIKey(c *gin.Context) {
	id, name := c.Param("id"), c.PostForm("name")
	k, key, err := h.svc.CreateAPIKey(c.Request.Context(), id, name, reqctx.Admin(c))
	var fe *payments.FieldError
	switch {
	case errors.As(err, &fe):
		h.renderMerchant(c, http.StatusUnprocessableEntity, id, "", nil, nil, nil, name, map[string]string{"key_name": fe.Message})
		return
	case errors.Is(err, payments.ErrNotFound):
		h.NotFound(c)
		return
	case err != nil:
		h.fail(c, err)
		return
	}
	h.audit(c, "api_key.create", "api_key", k.ID, "merchant "+id+", name: "+k.Name+", ends in "+k.Hint)
	h.renderMerchant(c, http.StatusOK, id, "", nil, nil, &templates.ShownKey{Name: k.Name, Key: key}, "", nil)
}

// RotateAPIKey is POST /admin/merchants/{id}/keys/{key}/rotate: a new key
// replaces the old, shown once; the old one works until the chosen overlap
// ends.
func (h *Handlers) RotateAPIKey(c *gin.Context) {
	id, keyID := c.Param("id"), c.Param("key")
	overlap, err := time.ParseDuration(c.PostForm("overlap"))
	if err != nil {
		overlap = 0 // refused below, with the form's sentence
	}
	old, next, key, err := h.svc.RotateAPIKey(c.Request.Context(), id, keyID, overlap, reqctx.Admin(c))
	var fe *payments.FieldError
	switch {
	case errors.As(err, &fe):
		h.renderMerchant(c, http.StatusUnprocessableEntity, id, fe.Message, nil, nil, nil, "", nil)
		return
	case errors.Is(err, payments.ErrKeyInactive):
		h.renderMerchant(c, http.StatusConflict, id, "That key no longer works: it cannot be rotated.", nil, nil, nil, "", nil)
		return
	case errors.Is(err, payments.ErrNotFound):
		h.NotFound(c)
		return
	case err != nil:
		h.fail(c, err)
		return
	}
	h.audit(c, "api_key.rotate", "api_key", keyID, "merchant "+id+", name: "+old.Name+", ends in "+old.Hint+
		" -> "+next.Hint+", old key works for "+overlapLabel(overlap))
	note := "The key ending in " + old.Hint + " keeps working until " + adminTimeOf(old.ExpiresAt) + " (Nairobi time)."
	h.renderMerchant(c, http.StatusOK, id, "", nil, nil, &templates.ShownKey{Name: next.Name, Key: key, Note: note}, "", nil)
}

// RevokeAPIKey is POST /admin/merchants/{id}/keys/{key}/revoke: the key is
// refused from now on.
func (h *Handlers) RevokeAPIKey(c *gin.Context) {
	id, keyID := c.Param("id"), c.Param("key")
	k, err := h.svc.RevokeAPIKey(c.Request.Context(), id, keyID)
	switch {
	case errors.Is(err, payments.ErrKeyInactive):
		h.renderMerchant(c, http.StatusConflict, id, "That key no longer works already.", nil, nil, nil, "", nil)
		return
	case errors.Is(err, payments.ErrNotFound):
		h.NotFound(c)
		return
	case err != nil:
		h.fail(c, err)
		return
	}
	h.audit(c, "api_key.revoke", "api_key", keyID, "merchant "+id+", name: "+k.Name+", ends in "+k.Hint)
	c.Redirect(http.StatusSeeOther, adminMerchantPath(id)+"?flash=revoked")
}

// keyRow is a key as its merchant's page shows it.
func keyRow(k *payments.APIKey, merchantPath string, now time.Time) templates.APIKeyRow {
	r := templates.APIKeyRow{ID: k.ID, Name: k.Name, Hint: k.Hint, CreatedAt: adminTimeOf(&k.CreatedAt),
		CreatedBy: k.CreatedBy, LastUsed: adminTimeOf(k.LastUsedAt), Active: k.Works(now)}
	switch {
	case k.RevokedAt != nil:
		r.State = "Revoked " + adminTimeOf(k.RevokedAt)
	case k.ExpiresAt != nil && !now.Before(*k.ExpiresAt):
		r.State = "Expired " + adminTimeOf(k.ExpiresAt)
	case k.ExpiresAt != nil:
		r.State = "Works until " + adminTimeOf(k.ExpiresAt)
	default:
		r.State = "Active"
	}
	if r.Active {
		base := merchantPath + "/keys/" + url.PathEscape(k.ID)
		r.RotateAction, r.RevokeAction = base+"/rotate", base+"/revoke"
	}
	return r
}

// overlapLabel says a rotation's overlap for people.
func overlapLabel(d time.Duration) string {
	switch {
	case d%(24*time.Hour) == 0 && d >= 48*time.Hour:
		return strconv.Itoa(int(d/(24*time.Hour))) + " days"
	case d == time.Hour:
		return "1 hour"
	case d%time.Hour == 0:
		return strconv.Itoa(int(d/time.Hour)) + " hours"
	}
	return d.String()
}

// splitMethods is a comma list of methods as a slice, nil for "" (every
// method).
func splitMethods(methods string) []string {
	if methods == "" {
		return nil
	}
	return strings.Split(methods, ",")
}
