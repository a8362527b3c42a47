package handlers

import (
	"context"
	"errors"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/gin-gonic/gin"

	"checkout/payments"
	"checkout/templates"
)

// deliveriesLimit caps the deliveries page; failures come first, so the
// ones that need a person are always on it.
const deliveriesLimit = 100

const adminTime = "2 Jan 2006 15:04:05"

func adminTimeOf(t *time.Time) string {
	if t == nil || t.IsZero() {
		return ""
	}
	return t.In(nairobi).Format(adminTime)
}

// deliveryRow turns a delivery into its view; tries are loaded only when
// withTries (the order page).
func (h *Handlers) deliveryRow(ctx context.Context, d payments.WebhookDelivery, merchant string, withTries bool) (templates.DeliveryRow, error) {
	r := templates.DeliveryRow{ID: d.ID, EventType: d.EventType, Status: d.Status, Merchant: merchant,
		CreatedAt: d.CreatedAt.In(nairobi).Format(adminTime), CheckoutID: d.CheckoutID, Attempts: d.Attempts,
		LastStatusCode: d.LastStatusCode, LastError: d.LastError}
	if d.CheckoutID != "" {
		r.CheckoutURL = "/admin/orders/" + d.CheckoutID
	}
	if d.Status == payments.DeliveryPending {
		r.NextAttemptAt = adminTimeOf(d.NextAttemptAt)
	} else {
		r.ResendAction = "/admin/deliveries/" + d.ID + "/resend"
	}
	if withTries {
		tries, err := h.svc.WebhookAttempts(ctx, d.ID)
		if err != nil {
			return r, err
		}
		for _, t := range tries {
			r.Tries = append(r.Tries, templates.WebhookTry{At: t.AttemptedAt.In(nairobi).Format(adminTime),
				StatusCode: t.StatusCode, Error: t.Error})
		}
	}
	return r, nil
}

// orderDeliveries is the order page's webhook section.
func (h *Handlers) orderDeliveries(ctx context.Context, checkoutID string) ([]templates.DeliveryRow, error) {
	ds, err := h.svc.WebhookDeliveries(ctx, checkoutID)
	if err != nil {
		return nil, err
	}
	rows := make([]templates.DeliveryRow, 0, len(ds))
	for _, d := range ds {
		r, err := h.deliveryRow(ctx, d, d.MerchantID, true)
		if err != nil {
			return nil, err
		}
		rows = append(rows, r)
	}
	return rows, nil
}

var deliveryFlashes = map[string]string{
	"resent":  "Queued again with the same webhook-id; it goes out on the worker's next pass.",
	"already": "This delivery is already queued; it goes out on the worker's next pass.",
}

// Deliveries is GET /admin/deliveries: webhook deliveries of all merchants,
// failures first, then pending, then delivered, newest first within each.
func (h *Handlers) Deliveries(c *gin.Context) {
	ctx := c.Request.Context()
	ds, err := h.svc.RecentWebhookDeliveries(ctx, deliveriesLimit+1)
	if err != nil {
		h.fail(c, err)
		return
	}
	names, err := h.merchantNames(ctx)
	if err != nil {
		h.fail(c, err)
		return
	}
	v := templates.DeliveriesPage{AdminPage: adminPage(c, "Webhook deliveries"), Flash: deliveryFlashes[c.Query("flash")],
		Limit: deliveriesLimit}
	if len(ds) > deliveriesLimit {
		ds, v.Capped = ds[:deliveriesLimit], true
	}
	for _, d := range ds {
		name := names[d.MerchantID]
		if name == "" {
			name = d.MerchantID
		}
		r, err := h.deliveryRow(ctx, d, name, false)
		if err != nil {
			h.fail(c, err)
			return
		}
		v.Rows = append(v.Rows, r)
	}
	if !canManage(c) {
		for i := range v.Rows {
			v.Rows[i].ResendAction = ""
		}
	}
	h.render(c, http.StatusOK, templates.DeliveriesView(v))
}

func (h *Handlers) merchantNames(ctx context.Context) (map[string]string, error) {
	ms, err := h.svc.MerchantWebhooks(ctx)
	if err != nil {
		return nil, err
	}
	names := make(map[string]string, len(ms))
	for _, m := range ms {
		names[m.ID] = m.Name
	}
	return names, nil
}

// ResendDelivery is POST /admin/deliveries/{id}/resend: a failed or
// delivered delivery is queued again with the same webhook-id.
func (h *Handlers) ResendDelivery(c *gin.Context) {
	ctx := c.Request.Context()
	d, err := h.svc.ResendWebhook(ctx, c.Param("id"))
	flash := "resent"
	switch {
	case errors.Is(err, payments.ErrNotFound):
		notice(c, http.StatusNotFound, "Delivery not found", "There is no webhook delivery with this id.")
		return
	case errors.Is(err, payments.ErrDeliveryPending):
		flash = "already"
	case err != nil:
		h.fail(c, err)
		return
	default:
		h.audit(c, "delivery.resend", "delivery", d.ID, d.EventType)
	}
	if c.PostForm("from") == "order" && d.CheckoutID != "" {
		c.Redirect(http.StatusSeeOther, "/admin/orders/"+url.PathEscape(d.CheckoutID)+"?flash="+flash)
		return
	}
	c.Redirect(http.StatusSeeOther, "/admin/deliveries?flash="+flash)
}

var webhookFlashes = map[string]string{
	"saved":  "Webhook URL saved.",
	"test":   "Test event queued; it goes out on the worker's next pass and shows on the deliveries page.",
	"no-url": "Set a webhook URL before sending a test event.",
}

// Webhooks is GET /admin/webhooks: every merchant's webhook settings.
func (h *Handlers) Webhooks(c *gin.Context) {
	h.renderWebhooks(c, http.StatusOK, webhookFlashes[c.Query("flash")], nil)
}

// webhookEdit is what a POST changes on the settings page: a new secret
// to show once, or a refused URL to show again with its error.
type webhookEdit struct {
	merchantID, newSecret, url string
	fieldErrors                map[string]string
}

func (h *Handlers) renderWebhooks(c *gin.Context, status int, flash string, edit *webhookEdit) {
	ms, err := h.svc.MerchantWebhooks(c.Request.Context())
	if err != nil {
		h.fail(c, err)
		return
	}
	v := templates.WebhooksPage{AdminPage: adminPage(c, "Webhooks"), Flash: flash, AllowPrivate: h.svc.WebhookAllowPrivate()}
	now := h.svc.Now()
	for _, m := range ms {
		base := "/admin/webhooks/" + url.PathEscape(m.ID)
		w := templates.WebhookSettings{MerchantID: m.ID, MerchantName: m.Name, URL: m.WebhookURL,
			URLAction: base + "/url", RotateAction: base + "/rotate", TestAction: base + "/test"}
		if len(m.WebhookSecret) > 4 {
			w.SecretHint = m.WebhookSecret[len(m.WebhookSecret)-4:]
		}
		if m.WebhookPreviousSecret != "" && m.WebhookPreviousUntil != nil && m.WebhookPreviousUntil.After(now) {
			w.PreviousUntil = adminTimeOf(m.WebhookPreviousUntil)
		}
		if edit != nil && edit.merchantID == m.ID {
			w.NewSecret = edit.newSecret
			if edit.fieldErrors != nil {
				w.URL, w.FieldErrors = edit.url, edit.fieldErrors
			}
		}
		v.Merchants = append(v.Merchants, w)
	}
	if edit != nil && edit.newSecret != "" {
		// The secret is in this answer only: keep it out of every cache.
		c.Header("Cache-Control", "no-store")
	}
	h.render(c, status, templates.WebhooksView(v))
}

// SaveWebhookURL is POST /admin/webhooks/{merchant}/url. A bad URL shows
// the form again with the field marked and changes nothing.
func (h *Handlers) SaveWebhookURL(c *gin.Context) {
	id := c.Param("merchant")
	raw := c.PostForm("url")
	secret, err := h.svc.SetWebhookURL(c.Request.Context(), id, raw)
	var fe *payments.FieldError
	switch {
	case errors.As(err, &fe):
		h.renderWebhooks(c, http.StatusUnprocessableEntity, "", &webhookEdit{merchantID: id, url: raw,
			fieldErrors: map[string]string{"url": fe.Message}})
		return
	case errors.Is(err, payments.ErrNotFound):
		notice(c, http.StatusNotFound, "Merchant not found", "There is no merchant with this id.")
		return
	case err != nil:
		h.fail(c, err)
		return
	}
	detail := "URL " + urlForAudit(raw)
	if secret != "" {
		detail += ", with a new secret"
	}
	h.audit(c, "webhook.url_change", "merchant", id, detail)
	if secret != "" {
		h.renderWebhooks(c, http.StatusOK, "Webhook URL saved, with a new secret.", &webhookEdit{merchantID: id, newSecret: secret})
		return
	}
	c.Redirect(http.StatusSeeOther, "/admin/webhooks?flash=saved")
}

// RotateWebhookSecret is POST /admin/webhooks/{merchant}/rotate: a new
// secret, shown in this answer only; the old one signs too for 24 hours.
func (h *Handlers) RotateWebhookSecret(c *gin.Context) {
	id := c.Param("merchant")
	secret, err := h.svc.RotateWebhookSecret(c.Request.Context(), id)
	switch {
	case errors.Is(err, payments.ErrNotFound):
		notice(c, http.StatusNotFound, "Merchant not found", "There is no merchant with this id.")
		return
	case err != nil:
		h.fail(c, err)
		return
	}
	h.audit(c, "webhook.secret_rotate", "merchant", id, "the previous secret signs for 24 hours")
	h.renderWebhooks(c, http.StatusOK, "Secret rotated. The previous secret keeps signing deliveries, beside the new one, for 24 hours.",
		&webhookEdit{merchantID: id, newSecret: secret})
}

// SendTestWebhook is POST /admin/webhooks/{merchant}/test: a webhook.test
// event through the outbox and worker.
func (h *Handlers) SendTestWebhook(c *gin.Context) {
	_, err := h.svc.SendTestWebhook(c.Request.Context(), c.Param("merchant"))
	switch {
	case errors.Is(err, payments.ErrNoWebhookURL):
		c.Redirect(http.StatusSeeOther, "/admin/webhooks?flash=no-url")
		return
	case errors.Is(err, payments.ErrNotFound):
		notice(c, http.StatusNotFound, "Merchant not found", "There is no merchant with this id.")
		return
	case err != nil:
		h.fail(c, err)
		return
	}
	h.audit(c, "webhook.test", "merchant", c.Param("merchant"), "")
	c.Redirect(http.StatusSeeOther, "/admin/webhooks?flash=test")
}

// urlForAudit is a webhook URL without what may hold a credential (user
// info, path, query, fragment): its scheme and host; "" stays "(none)".
func urlForAudit(raw string) string {
	u, err := url.Parse(strings.TrimSpace(raw))
	switch {
	case strings.TrimSpace(raw) == "":
		return "(none)"
	case err != nil:
		return "(unreadable)"
	}
	// Scheme and host only: receivers often carry their secret in the
	// path (hooks.slack.com/services/T/B/<secret>), and the audit log
	// cannot be cleaned. "/…" says a path was there.
	out := u.Scheme + "://" + u.Host
	if (u.Path != "" && u.Path != "/") || u.Opaque != "" {
		out += "/…"
	}
	return out
}
