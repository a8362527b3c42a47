package store

import (
	"context"
	"errors"
	"fmt"
	"time"

	"gorm.io/gorm"
)

// Webhook event types (design.md, "Merchant webhooks").
const (
	WebhookCheckoutPaid      = "checkout.paid"
	WebhookCheckoutExpired   = "checkout.expired"
	WebhookCheckoutCancelled = "checkout.cancelled"
	WebhookCheckoutReversed  = "checkout.reversed"
	// WebhookPaymentFailed: an attempt failed and the checkout is open again.
	WebhookPaymentFailed = "payment.failed"
)

// WebhookEventTypes lists every event a merchant can receive.
var WebhookEventTypes = []string{WebhookCheckoutPaid, WebhookCheckoutExpired, WebhookCheckoutCancelled,
	WebhookCheckoutReversed, WebhookPaymentFailed}

// webhookEventFor names the event a change to status announces ("" for
// none). The only way back to open is a failed attempt (reopenIfIdle).
func webhookEventFor(to Status) string {
	switch to {
	case StatusPaid:
		return WebhookCheckoutPaid
	case StatusExpired:
		return WebhookCheckoutExpired
	case StatusCancelled:
		return WebhookCheckoutCancelled
	case StatusReversed:
		return WebhookCheckoutReversed
	case StatusOpen:
		return WebhookPaymentFailed
	}
	return ""
}

// EventWebhook is a timeline line about a merchant webhook (an endpoint
// disabled, a delivery given up).
const EventWebhook = "webhook"

// Delivery statuses.
const (
	DeliveryPending   = "pending"
	DeliveryDelivered = "delivered"
	DeliveryFailed    = "failed"
)

// WebhookDelivery is one event for one merchant, in the outbox. ID is the
// webhook-id the merchant sees, the same on every try; Payload is the exact
// body sent, a snapshot taken with the status change.
type WebhookDelivery struct {
	ID             string `gorm:"primaryKey"`
	MerchantID     string
	CheckoutID     string
	EventType      string
	Payload        string
	Status         string
	Attempts       int
	NextAttemptAt  *time.Time
	ClaimedUntil   *time.Time
	LastStatusCode int
	LastError      string
	CreatedAt      time.Time
	DeliveredAt    *time.Time
}

// TableName is the outbox table.
func (WebhookDelivery) TableName() string { return "webhook_deliveries" }

// WebhookAttempt is one try of a delivery, for the admin's timeline.
// StatusCode is 0 when no answer came (Error says why).
type WebhookAttempt struct {
	ID          int64 `gorm:"primaryKey"`
	DeliveryID  string
	AttemptedAt time.Time
	StatusCode  int
	Error       string
	DurationMS  int64 `gorm:"column:duration_ms"`
}

// TableName is the attempts table.
func (WebhookAttempt) TableName() string { return "webhook_attempts" }

// WebhookPayloadFunc builds the body of a delivery from the checkout as it
// is after the change.
type WebhookPayloadFunc func(co *Checkout, eventType string, at time.Time) ([]byte, error)

// ErrNoWebhookPayload: a status change must announce itself to a merchant
// with a webhook URL, and this store has no WebhookPayloadFunc to build the
// body (see WithWebhookPayload). The change is refused, so that no event
// goes out in another shape than the payments service's.
var ErrNoWebhookPayload = errors.New("no webhook payload builder: statuses change through the payments service")

// WithWebhookPayload returns a store that builds the body of each status
// change's webhook with fn, inside the change's transaction. The payments
// service makes one from the store it is given (bodies carry the merchant
// API's checkout object, and store cannot import payments). The result
// shares s's database handles and clock (closing either closes both); s is
// left as it was.
func (s *Store) WithWebhookPayload(fn WebhookPayloadFunc) *Store {
	c := *s
	c.webhookPayload = fn
	return &c
}

// enqueueWebhook writes the delivery for a status change inside the
// transaction that made it (outbox): the change and its event commit or
// roll back together. co is the checkout as the change left it (transition
// sets the columns it wrote). Merchants without a webhook URL get none.
func (s *Store) enqueueWebhook(tx *gorm.DB, co *Checkout, eventType string) error {
	// The merchant's webhook URL, read in the transaction: a URL changed
	// before the change commits is the one that gets the event.
	var url string
	found, err := rawFirst(tx, []any{&url}, `SELECT webhook_url FROM merchants WHERE id = ?`, co.MerchantID)
	if err != nil {
		return fmt.Errorf("store: webhook for %s: load merchant %s: %w", co.ID, co.MerchantID, err)
	}
	if !found {
		return fmt.Errorf("store: webhook for %s: merchant %s: %w", co.ID, co.MerchantID, ErrNotFound)
	}
	if url == "" {
		return nil
	}
	if s.webhookPayload == nil {
		return fmt.Errorf("store: webhook %s for %s: %w", eventType, co.ID, ErrNoWebhookPayload)
	}
	now := s.now()
	snapshot := *co // the builder gets its own copy
	body, err := s.webhookPayload(&snapshot, eventType, now)
	if err != nil {
		return fmt.Errorf("store: webhook %s for %s: %w", eventType, co.ID, err)
	}
	d := WebhookDelivery{ID: NewID("msg", now), MerchantID: co.MerchantID, CheckoutID: co.ID, EventType: eventType,
		Payload: string(body), Status: DeliveryPending, NextAttemptAt: &now, CreatedAt: now}
	if err := insertDelivery(tx, &d); err != nil {
		return fmt.Errorf("store: webhook %s for %s: %w", eventType, co.ID, err)
	}
	return nil
}

// SetMerchantWebhook sets a merchant's webhook URL and whsec_ secret; an
// empty URL turns webhooks off.
func (s *Store) SetMerchantWebhook(ctx context.Context, merchantID, url, secret string) error {
	res := s.w.WithContext(ctx).Model(&Merchant{}).Where("id = ?", merchantID).
		Updates(map[string]any{"webhook_url": url, "webhook_secret": secret})
	if res.Error != nil {
		return fmt.Errorf("store: webhook of merchant %s: %w", merchantID, res.Error)
	}
	if res.RowsAffected != 1 {
		return fmt.Errorf("store: webhook of merchant %s: %w", merchantID, ErrNotFound)
	}
	return nil
}

// DueWebhookDeliveries lists pending deliveries whose next try is due and
// that no worker holds, leaving out those of the merchants in skip (the
// worker's busy endpoints, so that one merchant's backlog never hides the
// others' deliveries).
func (s *Store) DueWebhookDeliveries(ctx context.Context, now time.Time, limit int, skip ...string) ([]WebhookDelivery, error) {
	var ds []WebhookDelivery
	now = now.UTC()
	q := s.r.WithContext(ctx).
		Where("status = ? AND next_attempt_at <= ? AND (claimed_until IS NULL OR claimed_until <= ?)", DeliveryPending, now, now)
	if len(skip) > 0 {
		q = q.Where("merchant_id NOT IN ?", skip)
	}
	err := q.Order("next_attempt_at").Limit(limit).Find(&ds).Error
	if err != nil {
		return nil, fmt.Errorf("store: due webhook deliveries: %w", err)
	}
	return ds, nil
}

// ClaimWebhookDelivery takes the delivery's next try for this worker until
// `until`, only if it is still due, unclaimed and untried since d was read
// (attempts works as a version). Of several workers, one wins.
func (s *Store) ClaimWebhookDelivery(ctx context.Context, d *WebhookDelivery, now, until time.Time) (bool, error) {
	now, until = now.UTC(), until.UTC()
	res := s.w.WithContext(ctx).Model(&WebhookDelivery{}).
		Where("id = ? AND status = ? AND attempts = ? AND next_attempt_at <= ? AND (claimed_until IS NULL OR claimed_until <= ?)",
			d.ID, DeliveryPending, d.Attempts, now, now).
		Update("claimed_until", until)
	if res.Error != nil {
		return false, fmt.Errorf("store: claim webhook delivery %s: %w", d.ID, res.Error)
	}
	if res.RowsAffected != 1 {
		return false, nil
	}
	d.ClaimedUntil = &until
	return true, nil
}

// WebhookTry is what one try of a delivery gave, and what to do next.
type WebhookTry struct {
	At         time.Time
	StatusCode int
	Error      string
	Duration   time.Duration
	// Outcome is DeliveryDelivered, DeliveryPending (try again at NextAt)
	// or DeliveryFailed (given up).
	Outcome string
	NextAt  time.Time
	// DisableURL, when set, is the endpoint that answered 410 Gone: it is
	// removed from the merchant, unless the merchant changed it since.
	DisableURL string
}

// RecordWebhookTry stores one try in the delivery's timeline and moves the
// delivery on, in one transaction. A try recorded by a worker whose claim
// ran out after another worker took over changes nothing but the timeline.
func (s *Store) RecordWebhookTry(ctx context.Context, d *WebhookDelivery, t WebhookTry) error {
	at := t.At.UTC()
	return s.tx(ctx, func(tx *gorm.DB) error {
		if err := tx.Create(&WebhookAttempt{DeliveryID: d.ID, AttemptedAt: at, StatusCode: t.StatusCode,
			Error: t.Error, DurationMS: t.Duration.Milliseconds()}).Error; err != nil {
			return fmt.Errorf("store: webhook attempt of %s: %w", d.ID, err)
		}
		fields := map[string]any{"attempts": d.Attempts + 1, "last_status_code": t.StatusCode, "last_error": t.Error,
			"claimed_until": nil}
		switch t.Outcome {
		case DeliveryDelivered:
			fields["status"], fields["delivered_at"], fields["next_attempt_at"] = DeliveryDelivered, at, nil
		case DeliveryPending:
			fields["next_attempt_at"] = t.NextAt.UTC()
		case DeliveryFailed:
			fields["status"], fields["next_attempt_at"] = DeliveryFailed, nil
		default:
			return fmt.Errorf("store: webhook delivery %s: unknown outcome %q", d.ID, t.Outcome)
		}
		res := tx.Model(&WebhookDelivery{}).Where("id = ? AND status = ? AND attempts = ?", d.ID, DeliveryPending, d.Attempts).
			Updates(fields)
		if res.Error != nil {
			return fmt.Errorf("store: webhook delivery %s: %w", d.ID, res.Error)
		}
		if res.RowsAffected != 1 {
			return nil
		}
		if t.DisableURL != "" {
			dis := tx.Model(&Merchant{}).Where("id = ? AND webhook_url = ?", d.MerchantID, t.DisableURL).Update("webhook_url", "")
			if dis.Error != nil {
				return fmt.Errorf("store: disable webhook of merchant %s: %w", d.MerchantID, dis.Error)
			}
			if dis.RowsAffected == 1 && d.CheckoutID != "" {
				if err := s.addEvent(tx, &Event{CheckoutID: d.CheckoutID, Kind: EventWebhook, Source: "webhooks",
					Message: fmt.Sprintf("the merchant's webhook endpoint %s answered 410 Gone and was disabled", t.DisableURL)}); err != nil {
					return err
				}
			}
		}
		// A test event belongs to no checkout, so to no timeline.
		if t.Outcome == DeliveryFailed && d.CheckoutID != "" {
			return s.addEvent(tx, &Event{CheckoutID: d.CheckoutID, Kind: EventWebhook, Source: "webhooks",
				Message: fmt.Sprintf("webhook %s (%s) failed after %d attempts: %s", d.EventType, d.ID, d.Attempts+1,
					firstNonEmpty(t.Error, fmt.Sprintf("HTTP %d", t.StatusCode)))})
		}
		return nil
	})
}

// WebhookDelivery loads one delivery.
func (s *Store) WebhookDelivery(ctx context.Context, id string) (*WebhookDelivery, error) {
	var d WebhookDelivery
	if err := s.r.WithContext(ctx).First(&d, "id = ?", id).Error; err != nil {
		if notFound(err) {
			return nil, fmt.Errorf("store: webhook delivery %s: %w", id, ErrNotFound)
		}
		return nil, fmt.Errorf("store: load webhook delivery %s: %w", id, err)
	}
	return &d, nil
}

// WebhookDeliveries lists a checkout's deliveries, oldest first.
func (s *Store) WebhookDeliveries(ctx context.Context, checkoutID string) ([]WebhookDelivery, error) {
	var ds []WebhookDelivery
	if err := s.r.WithContext(ctx).Where("checkout_id = ?", checkoutID).Order("id").Find(&ds).Error; err != nil {
		return nil, fmt.Errorf("store: webhook deliveries of %s: %w", checkoutID, err)
	}
	return ds, nil
}

// WebhookAttempts lists a delivery's tries, oldest first.
func (s *Store) WebhookAttempts(ctx context.Context, deliveryID string) ([]WebhookAttempt, error) {
	var as []WebhookAttempt
	if err := s.r.WithContext(ctx).Where("delivery_id = ?", deliveryID).Order("id").Find(&as).Error; err != nil {
		return nil, fmt.Errorf("store: webhook attempts of %s: %w", deliveryID, err)
	}
	return as, nil
}

// WebhookTestEvent is the event the admin's "Send test event" queues.
const WebhookTestEvent = "webhook.test"

// MerchantWebhook is a merchant's webhook settings, with the secret a
// rotation replaced: it keeps signing deliveries until PreviousUntil.
type MerchantWebhook struct {
	ID, Name                  string
	WebhookURL, WebhookSecret string
	WebhookPreviousSecret     string
	WebhookPreviousUntil      *time.Time
}

// MerchantWebhooks lists every merchant's webhook settings, by id.
func (s *Store) MerchantWebhooks(ctx context.Context) ([]MerchantWebhook, error) {
	var ms []MerchantWebhook
	if err := s.r.WithContext(ctx).Table("merchants").Select("id", "name", "webhook_url", "webhook_secret",
		"webhook_previous_secret", "webhook_previous_until").Order("id").Find(&ms).Error; err != nil {
		return nil, fmt.Errorf("store: merchants' webhooks: %w", err)
	}
	return ms, nil
}

// MerchantWebhookOf loads one merchant's webhook settings.
func (s *Store) MerchantWebhookOf(ctx context.Context, merchantID string) (*MerchantWebhook, error) {
	var ms []MerchantWebhook
	if err := s.r.WithContext(ctx).Table("merchants").Select("id", "name", "webhook_url", "webhook_secret",
		"webhook_previous_secret", "webhook_previous_until").Where("id = ?", merchantID).Limit(1).Find(&ms).Error; err != nil {
		return nil, fmt.Errorf("store: webhook of merchant %s: %w", merchantID, err)
	}
	if len(ms) == 0 {
		return nil, fmt.Errorf("store: webhook of merchant %s: %w", merchantID, ErrNotFound)
	}
	return &ms[0], nil
}

// SetMerchantWebhookURL changes only the merchant's webhook URL; a secret
// is set at the same time when given ("" keeps the one it has).
func (s *Store) SetMerchantWebhookURL(ctx context.Context, merchantID, url, secret string) error {
	fields := map[string]any{"webhook_url": url}
	if secret != "" {
		fields["webhook_secret"] = secret
	}
	res := s.w.WithContext(ctx).Model(&Merchant{}).Where("id = ?", merchantID).Updates(fields)
	if res.Error != nil {
		return fmt.Errorf("store: webhook URL of merchant %s: %w", merchantID, res.Error)
	}
	if res.RowsAffected != 1 {
		return fmt.Errorf("store: webhook URL of merchant %s: %w", merchantID, ErrNotFound)
	}
	return nil
}

// RotateWebhookSecret makes secret the merchant's webhook secret; the one
// it replaces keeps signing (beside the new one) until keepUntil. One
// statement: SQL reads the old secret before the row changes. A second
// rotation while an earlier one is still overlapping keeps the older
// secret signing instead: that is the one the merchant's server has, and
// the secret in between was never installed.
func (s *Store) RotateWebhookSecret(ctx context.Context, merchantID, secret string, keepUntil time.Time) error {
	res := s.w.WithContext(ctx).Model(&Merchant{}).Where("id = ?", merchantID).Updates(map[string]any{
		"webhook_previous_secret": gorm.Expr(
			"CASE WHEN webhook_previous_secret <> '' AND webhook_previous_until > ? THEN webhook_previous_secret ELSE webhook_secret END",
			s.now()),
		"webhook_previous_until": keepUntil.UTC(),
		"webhook_secret":         secret,
	})
	if res.Error != nil {
		return fmt.Errorf("store: rotate webhook secret of merchant %s: %w", merchantID, res.Error)
	}
	if res.RowsAffected != 1 {
		return fmt.Errorf("store: rotate webhook secret of merchant %s: %w", merchantID, ErrNotFound)
	}
	return nil
}

// ErrNoWebhookURL: the merchant has no webhook endpoint to send to.
var ErrNoWebhookURL = errors.New("the merchant has no webhook URL")

// EnqueueWebhookEvent queues an event that no status change carries (the
// admin's test event) for a merchant, through the same outbox and worker.
func (s *Store) EnqueueWebhookEvent(ctx context.Context, merchantID, eventType string, payload []byte) (*WebhookDelivery, error) {
	var d WebhookDelivery
	err := s.tx(ctx, func(tx *gorm.DB) error {
		var m Merchant
		if err := tx.Select("id", "webhook_url").First(&m, "id = ?", merchantID).Error; err != nil {
			if notFound(err) {
				return ErrNotFound
			}
			return err
		}
		if m.WebhookURL == "" {
			return ErrNoWebhookURL
		}
		now := s.now()
		d = WebhookDelivery{ID: NewID("msg", now), MerchantID: m.ID, EventType: eventType, Payload: string(payload),
			Status: DeliveryPending, NextAttemptAt: &now, CreatedAt: now}
		return tx.Create(&d).Error
	})
	if err != nil {
		return nil, fmt.Errorf("store: queue %s for merchant %s: %w", eventType, merchantID, err)
	}
	return &d, nil
}

// ErrDeliveryPending: the delivery is already waiting for its next try.
var ErrDeliveryPending = errors.New("the delivery is already queued")

// ResendWebhookDelivery queues a failed or delivered delivery again, with
// the same webhook-id and body, due now. Attempts are kept: they are the
// delivery's history (and its version for claims).
func (s *Store) ResendWebhookDelivery(ctx context.Context, id string) (*WebhookDelivery, error) {
	now := s.now()
	res := s.w.WithContext(ctx).Model(&WebhookDelivery{}).
		Where("id = ? AND status IN ?", id, []string{DeliveryFailed, DeliveryDelivered}).
		Updates(map[string]any{"status": DeliveryPending, "next_attempt_at": now, "claimed_until": nil, "delivered_at": nil})
	if res.Error != nil {
		return nil, fmt.Errorf("store: resend webhook delivery %s: %w", id, res.Error)
	}
	d, err := s.WebhookDelivery(ctx, id)
	if err != nil {
		return nil, err
	}
	if res.RowsAffected != 1 {
		return d, fmt.Errorf("store: resend webhook delivery %s: %w", id, ErrDeliveryPending)
	}
	return d, nil
}

// RecentWebhookDeliveries lists deliveries of all merchants for the admin:
// failures first, then pending, then delivered, newest first within each,
// at most limit.
func (s *Store) RecentWebhookDeliveries(ctx context.Context, limit int) ([]WebhookDelivery, error) {
	var ds []WebhookDelivery
	err := s.r.WithContext(ctx).
		// The statuses are our constants, written into the SQL (GORM's
		// Order takes no bound values).
		Order("CASE status WHEN '" + DeliveryFailed + "' THEN 0 WHEN '" + DeliveryPending + "' THEN 1 ELSE 2 END, id DESC").
		Limit(limit).Find(&ds).Error
	if err != nil {
		return nil, fmt.Errorf("store: recent webhook deliveries: %w", err)
	}
	return ds, nil
}
