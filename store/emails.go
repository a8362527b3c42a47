package store

import (
	"context"
	"errors"
	"fmt"
	"time"

	"gorm.io/gorm"
	"gorm.io/gorm/clause"
)

// EmailReceipt is the kind of an email delivery that sends a paid
// checkout's receipt to its customer.
const EmailReceipt = "receipt"

// Email delivery statuses.
const (
	EmailPending = "pending"
	EmailSent    = "sent"
	EmailFailed  = "failed"
)

// EventEmail is a timeline line about an email to the customer (a receipt
// sent, or given up).
const EventEmail = "email"

// EmailDelivery is one email to a customer, in the outbox. ID is the same
// on every try (the message's Message-ID is made from it, so a mail client
// that receives it twice shows it once).
type EmailDelivery struct {
	ID            string `gorm:"primaryKey"`
	CheckoutID    string
	Recipient     string
	Kind          string
	Status        string
	Attempts      int
	NextAttemptAt *time.Time
	ClaimedUntil  *time.Time
	LastError     string
	CreatedAt     time.Time
	SentAt        *time.Time
}

// TableName is the outbox table.
func (EmailDelivery) TableName() string { return "email_deliveries" }

// WithReceiptEmails returns a store that, when on, queues a receipt email
// with every checkout that becomes paid and has a customer email, inside
// the transaction that marks it paid. Off (the zero value) queues none: no
// mail is configured. The result shares s's database handles and clock; s
// is left as it was.
func (s *Store) WithReceiptEmails(on bool) *Store {
	c := *s
	c.receiptEmails = on
	return &c
}

// enqueueReceipt writes a paid checkout's receipt email inside the
// transaction that marked it paid (outbox). co is the checkout as the
// transition read it (its whole row). At most one per checkout: the
// (checkout_id, kind) index makes a second insert a no-op.
func (s *Store) enqueueReceipt(tx *gorm.DB, co *Checkout) error {
	if !s.receiptEmails || co.CustomerEmail == "" {
		return nil
	}
	now := s.now()
	d := EmailDelivery{ID: NewID("eml", now), CheckoutID: co.ID, Recipient: co.CustomerEmail, Kind: EmailReceipt,
		Status: EmailPending, NextAttemptAt: &now, CreatedAt: now}
	if err := tx.Clauses(clause.OnConflict{DoNothing: true}).Create(&d).Error; err != nil {
		return fmt.Errorf("store: receipt email for %s: %w", co.ID, err)
	}
	return nil
}

// DueEmailDeliveries lists pending emails whose next try is due and that
// no worker holds, oldest due first, at most limit.
func (s *Store) DueEmailDeliveries(ctx context.Context, now time.Time, limit int) ([]EmailDelivery, error) {
	var ds []EmailDelivery
	now = now.UTC()
	err := s.r.WithContext(ctx).
		Where("status = ? AND next_attempt_at <= ? AND (claimed_until IS NULL OR claimed_until <= ?)", EmailPending, now, now).
		Order("next_attempt_at").Limit(limit).Find(&ds).Error
	if err != nil {
		return nil, fmt.Errorf("store: due email deliveries: %w", err)
	}
	return ds, nil
}

// ClaimEmailDelivery takes the email's next try for this worker until
// `until`, only if it is still due, unclaimed and untried since d was read
// (attempts works as a version). Of several workers, one wins.
func (s *Store) ClaimEmailDelivery(ctx context.Context, d *EmailDelivery, now, until time.Time) (bool, error) {
	now, until = now.UTC(), until.UTC()
	res := s.w.WithContext(ctx).Model(&EmailDelivery{}).
		Where("id = ? AND status = ? AND attempts = ? AND next_attempt_at <= ? AND (claimed_until IS NULL OR claimed_until <= ?)",
			d.ID, EmailPending, d.Attempts, now, now).
		Update("claimed_until", until)
	if res.Error != nil {
		return false, fmt.Errorf("store: claim email delivery %s: %w", d.ID, res.Error)
	}
	if res.RowsAffected != 1 {
		return false, nil
	}
	d.ClaimedUntil = &until
	return true, nil
}

// EmailTry is what one try of an email gave, and what to do next.
type EmailTry struct {
	At    time.Time
	Error string
	// Outcome is EmailSent, EmailPending (try again at NextAt) or
	// EmailFailed (given up).
	Outcome string
	NextAt  time.Time
}

// RecordEmailTry moves the email on after a try, in one transaction with
// its line in the checkout's timeline (sent, or given up). A try recorded
// by a worker whose claim ran out after another worker took over changes
// nothing.
func (s *Store) RecordEmailTry(ctx context.Context, d *EmailDelivery, t EmailTry) error {
	at := t.At.UTC()
	return s.tx(ctx, func(tx *gorm.DB) error {
		fields := map[string]any{"attempts": d.Attempts + 1, "last_error": t.Error, "claimed_until": nil}
		var line string
		switch t.Outcome {
		case EmailSent:
			fields["status"], fields["sent_at"], fields["next_attempt_at"] = EmailSent, at, nil
			line = fmt.Sprintf("%s email sent to %s (%s)", d.Kind, d.Recipient, d.ID)
		case EmailPending:
			fields["next_attempt_at"] = t.NextAt.UTC()
		case EmailFailed:
			fields["status"], fields["next_attempt_at"] = EmailFailed, nil
			tries := fmt.Sprintf("%d attempts", d.Attempts+1)
			if d.Attempts == 0 {
				tries = "1 attempt"
			}
			line = fmt.Sprintf("%s email to %s (%s) failed after %s: %s", d.Kind, d.Recipient, d.ID, tries, t.Error)
		default:
			return fmt.Errorf("store: email delivery %s: unknown outcome %q", d.ID, t.Outcome)
		}
		res := tx.Model(&EmailDelivery{}).Where("id = ? AND status = ? AND attempts = ?", d.ID, EmailPending, d.Attempts).
			Updates(fields)
		if res.Error != nil {
			return fmt.Errorf("store: email delivery %s: %w", d.ID, res.Error)
		}
		if res.RowsAffected != 1 || line == "" {
			return nil
		}
		return s.addEvent(tx, &Event{CheckoutID: d.CheckoutID, Kind: EventEmail, Source: "email", Message: line, CreatedAt: at})
	})
}

// EmailDeliveries lists a checkout's emails, oldest first.
func (s *Store) EmailDeliveries(ctx context.Context, checkoutID string) ([]EmailDelivery, error) {
	var ds []EmailDelivery
	if err := s.r.WithContext(ctx).Where("checkout_id = ?", checkoutID).Order("id").Find(&ds).Error; err != nil {
		return nil, fmt.Errorf("store: email deliveries of %s: %w", checkoutID, err)
	}
	return ds, nil
}

// Why ResendEmailDelivery refuses.
var (
	// ErrEmailNotFailed: the email is pending (the worker sends it) or
	// sent (never sent twice from the admin).
	ErrEmailNotFailed = errors.New("the email has not failed")
	// ErrEmailNotPaid: the checkout is no longer paid, so no receipt goes
	// out.
	ErrEmailNotPaid = errors.New("the checkout is not paid")
)

// ResendEmailDelivery puts a failed email of this checkout back in the
// outbox: the same row (so the same Message-ID), pending, with attempts
// and next try reset, so the worker sends it on its next pass. Its line in
// the timeline names who asked (source). Only a failed email of a paid
// checkout: ErrNotFound when the email is not this checkout's,
// ErrEmailNotFailed when it is pending or sent, ErrEmailNotPaid when the
// checkout is no longer paid; each of these changes nothing.
func (s *Store) ResendEmailDelivery(ctx context.Context, checkoutID, id, source string) (*EmailDelivery, error) {
	var d EmailDelivery
	err := s.tx(ctx, func(tx *gorm.DB) error {
		now := s.now()
		// One conditional update: a row that changed, or a checkout
		// reversed, since the page was drawn is never queued.
		res := tx.Model(&EmailDelivery{}).
			Where("id = ? AND checkout_id = ? AND status = ?", id, checkoutID, EmailFailed).
			Where("EXISTS (SELECT 1 FROM checkouts WHERE checkouts.id = email_deliveries.checkout_id AND checkouts.status = ?)", StatusPaid).
			Updates(map[string]any{"status": EmailPending, "attempts": 0, "next_attempt_at": now, "claimed_until": nil})
		if res.Error != nil {
			return fmt.Errorf("store: resend email %s: %w", id, res.Error)
		}
		if err := tx.Where("id = ? AND checkout_id = ?", id, checkoutID).Limit(1).Find(&d).Error; err != nil {
			return fmt.Errorf("store: resend email %s: %w", id, err)
		}
		if res.RowsAffected != 1 {
			switch {
			case d.ID == "":
				return fmt.Errorf("store: resend email %s of %s: %w", id, checkoutID, ErrNotFound)
			case d.Status != EmailFailed:
				return fmt.Errorf("store: resend email %s (%s): %w", id, d.Status, ErrEmailNotFailed)
			}
			return fmt.Errorf("store: resend email %s: %w", id, ErrEmailNotPaid)
		}
		return s.addEvent(tx, &Event{CheckoutID: checkoutID, Kind: EventEmail, Source: source, CreatedAt: now,
			Message: fmt.Sprintf("%s email to %s (%s) queued again by %s", d.Kind, d.Recipient, d.ID, source)})
	})
	if err != nil {
		return nil, err
	}
	return &d, nil
}
