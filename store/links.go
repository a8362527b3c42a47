package store

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"gorm.io/gorm"
	"gorm.io/gorm/clause"

	"checkout/money"
)

// Why a payment link makes no checkout (any more).
var (
	// ErrLinkInactive: the merchant deactivated the link.
	ErrLinkInactive = errors.New("payment link deactivated")
	// ErrLinkExpired: the link's expires_at has passed.
	ErrLinkExpired = errors.New("payment link expired")
	// ErrLinkUsed: a single-use link already has a paid checkout, or one
	// with a payment under way.
	ErrLinkUsed = errors.New("single-use payment link already used")
	// ErrLinkBusy: a payment of a single-use link is under way on one of
	// its open or pending checkouts; the link makes no other checkout
	// until that payment ends (paid: ErrLinkUsed; failed: usable again).
	ErrLinkBusy = errors.New("single-use payment link: a payment of it is under way")
)

// LinkPaid is what a payment link has brought in: its paid checkouts and
// their total, in cents.
type LinkPaid struct {
	Count  int64
	Amount int64
}

// CreatePaymentLink inserts a new active link.
func (s *Store) CreatePaymentLink(ctx context.Context, l *PaymentLink) error {
	s.newLink(l)
	return s.tx(ctx, func(tx *gorm.DB) error { return createLink(tx, l) })
}

func (s *Store) newLink(l *PaymentLink) {
	now := s.now()
	l.Active = true
	l.CreatedAt, l.UpdatedAt = now, now
	if l.ExpiresAt != nil {
		t := l.ExpiresAt.UTC()
		l.ExpiresAt = &t
	}
}

func createLink(tx *gorm.DB, l *PaymentLink) error {
	if err := tx.Create(l).Error; err != nil {
		return fmt.Errorf("store: create payment link: %w", err)
	}
	return nil
}

// LinkAnswer builds the answer an Idempotency-Key stores for the link its
// request created (see CreatePaymentLinkOnce).
type LinkAnswer func(l *PaymentLink) (status int, body []byte, err error)

// CreatePaymentLinkOnce is CreatePaymentLink for a request that holds its
// Idempotency-Key, as CreateCheckoutOnce is for checkouts: the link and
// the key's answer commit in one transaction. When the key is no longer
// this caller's (ErrConflict) and another request with the same key and
// body finished it, its answer is returned, Replayed, and nothing is
// written.
func (s *Store) CreatePaymentLinkOnce(ctx context.Context, l *PaymentLink, c *IdempotencyClaim, answer LinkAnswer) (StoredAnswer, error) {
	if c.Result != IdempotencyStarted {
		return StoredAnswer{}, fmt.Errorf("store: create payment link with a %s idempotency claim", c.Result)
	}
	s.newLink(l)
	var out StoredAnswer
	err := s.tx(ctx, func(tx *gorm.DB) error {
		if err := createLink(tx, l); err != nil {
			return err
		}
		var err error
		if out.Status, out.Body, err = answer(l); err != nil {
			return fmt.Errorf("store: answer for payment link %s: %w", l.ID, err)
		}
		return finishIdempotency(tx, c, out.Status, out.Body)
	})
	if errors.Is(err, ErrConflict) {
		replay, ok, rerr := s.finishedAnswer(ctx, c)
		if rerr != nil {
			return StoredAnswer{}, fmt.Errorf("%v; then %w", err, rerr)
		}
		if ok {
			return replay, nil
		}
	}
	if err != nil {
		return StoredAnswer{}, err
	}
	return out, nil
}

// PaymentLink loads one link.
func (s *Store) PaymentLink(ctx context.Context, id string) (*PaymentLink, error) {
	var l PaymentLink
	if err := s.r.WithContext(ctx).First(&l, "id = ?", id).Error; err != nil {
		if notFound(err) {
			return nil, fmt.Errorf("store: payment link %s: %w", id, ErrNotFound)
		}
		return nil, fmt.Errorf("store: load payment link %s: %w", id, err)
	}
	return &l, nil
}

// PaymentLinkForMerchant loads a link only if the merchant owns it;
// another merchant's is ErrNotFound.
func (s *Store) PaymentLinkForMerchant(ctx context.Context, merchantID, id string) (*PaymentLink, error) {
	l, err := s.PaymentLink(ctx, id)
	if err != nil {
		return nil, err
	}
	if l.MerchantID != merchantID {
		return nil, fmt.Errorf("store: payment link %s: %w", id, ErrNotFound)
	}
	return l, nil
}

// ListPaymentLinks returns one page of a merchant's links (every
// merchant's when merchantID is ""), newest first, after the link with id
// after (keyset), and whether more follow. limit is 1 to 200 (else 20).
func (s *Store) ListPaymentLinks(ctx context.Context, merchantID, after string, limit int) ([]PaymentLink, bool, error) {
	if limit <= 0 || limit > 200 {
		limit = 20
	}
	q := s.r.WithContext(ctx).Model(&PaymentLink{})
	if merchantID != "" {
		q = q.Where("merchant_id = ?", merchantID)
	}
	if after != "" {
		q = q.Where("id < ?", after)
	}
	var rows []PaymentLink
	if err := q.Order("id DESC").Limit(limit + 1).Find(&rows).Error; err != nil {
		return nil, false, fmt.Errorf("store: list payment links: %w", err)
	}
	more := len(rows) > limit
	if more {
		rows = rows[:limit]
	}
	return rows, more, nil
}

// DeactivatePaymentLink turns a merchant's link off: it makes no checkout
// any more (checkouts already made stay payable until they expire).
// Deactivating an inactive link changes nothing. Another merchant's link
// is ErrNotFound; merchantID "" is the admin, who may deactivate any.
func (s *Store) DeactivatePaymentLink(ctx context.Context, merchantID, id string) (*PaymentLink, error) {
	var l PaymentLink
	err := s.tx(ctx, func(tx *gorm.DB) error {
		if err := forUpdate(tx).First(&l, "id = ?", id).Error; err != nil {
			if notFound(err) {
				return fmt.Errorf("store: payment link %s: %w", id, ErrNotFound)
			}
			return fmt.Errorf("store: load payment link %s: %w", id, err)
		}
		if merchantID != "" && l.MerchantID != merchantID {
			return fmt.Errorf("store: payment link %s: %w", id, ErrNotFound)
		}
		if !l.Active {
			return nil
		}
		now := s.now()
		l.Active, l.DeactivatedAt, l.UpdatedAt = false, &now, now
		if err := tx.Model(&PaymentLink{}).Where("id = ?", id).
			Updates(map[string]any{"active": false, "deactivated_at": now, "updated_at": now}).Error; err != nil {
			return fmt.Errorf("store: deactivate payment link %s: %w", id, err)
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	return &l, nil
}

// LinksPaid counts the paid checkouts of each link and their total; a link
// with none is absent from the map.
func (s *Store) LinksPaid(ctx context.Context, ids []string) (map[string]LinkPaid, error) {
	out := make(map[string]LinkPaid, len(ids))
	if len(ids) == 0 {
		return out, nil
	}
	var rows []struct {
		PaymentLinkID string
		N             int64
		Total         int64
	}
	err := s.r.WithContext(ctx).Model(&Checkout{}).
		Select("payment_link_id, COUNT(*) AS n, COALESCE(SUM(amount), 0) AS total").
		Where("payment_link_id IN ? AND status = ?", ids, StatusPaid).
		Group("payment_link_id").Scan(&rows).Error
	if err != nil {
		return nil, fmt.Errorf("store: paid checkouts of payment links: %w", err)
	}
	for _, r := range rows {
		out[r.PaymentLinkID] = LinkPaid{Count: r.N, Amount: r.Total}
	}
	return out, nil
}

// CreateCheckoutFromLink inserts co, a checkout made from the link linkID,
// in one transaction with the check that the link still makes checkouts:
// active (ErrLinkInactive), not expired (ErrLinkExpired), and, single use,
// not already paid (ErrLinkUsed) nor with a payment under way on another of
// its open or pending checkouts (ErrLinkBusy). co's PaymentLinkID and MerchantID are set
// from the link. Its Reference is the link's prefix followed by suffix;
// the caller gives a suffix drawn at random, so a taken one (ErrDuplicate)
// is a retry with another.
func (s *Store) CreateCheckoutFromLink(ctx context.Context, linkID string, co *Checkout, suffix, source string) error {
	s.newCheckout(co)
	return s.tx(ctx, func(tx *gorm.DB) error {
		// Shared on PostgreSQL: checkouts of one link are made side by
		// side, and a deactivation (an UPDATE) waits for them.
		q := tx
		if isPostgres(tx) {
			q = tx.Clauses(clause.Locking{Strength: clause.LockingStrengthShare})
		}
		var l PaymentLink
		if err := q.First(&l, "id = ?", linkID).Error; err != nil {
			if notFound(err) {
				return fmt.Errorf("store: payment link %s: %w", linkID, ErrNotFound)
			}
			return fmt.Errorf("store: load payment link %s: %w", linkID, err)
		}
		if err := s.linkUsable(&l); err != nil {
			return err
		}
		if l.SingleUse {
			n, err := linkTaken(tx, l.ID, "", false)
			if err != nil {
				return err
			}
			if n > 0 {
				return fmt.Errorf("store: payment link %s: %w", l.ID, ErrLinkUsed)
			}
			// A checkout made now could not be paid while another
			// customer's payment is under way (checkSingleUse): make
			// none.
			if n, err = linkTaken(tx, l.ID, "", true); err != nil {
				return err
			}
			if n > 0 {
				return fmt.Errorf("store: payment link %s: %w", l.ID, ErrLinkBusy)
			}
		}
		co.PaymentLinkID, co.MerchantID = l.ID, l.MerchantID
		co.Reference = l.ReferencePrefix + suffix
		if err := tx.Create(co).Error; err != nil {
			if duplicate(err) {
				return fmt.Errorf("store: create checkout %q: %w", co.Reference, ErrDuplicate)
			}
			return fmt.Errorf("store: create checkout %q: %w", co.Reference, err)
		}
		return s.addEvent(tx, &Event{CheckoutID: co.ID, Kind: EventCreated, Source: source, ToStatus: string(StatusOpen),
			Message: fmt.Sprintf("checkout created from payment link %s for %s %s", l.ID, co.Currency, money.Amount(co.Amount))})
	})
}

// linkUsable reports why l makes no checkout, nil when it does.
func (s *Store) linkUsable(l *PaymentLink) error {
	if !l.Active {
		return fmt.Errorf("store: payment link %s: %w", l.ID, ErrLinkInactive)
	}
	if l.ExpiresAt != nil && !s.now().Before(*l.ExpiresAt) {
		return fmt.Errorf("store: payment link %s: %w", l.ID, ErrLinkExpired)
	}
	return nil
}

// linkTaken counts the checkouts of a link, other than except, that hold
// it: paid, or with a succeeded attempt (money arrived, also for a checkout
// that could no longer take it and was flagged for review), or, with
// pending, with a payment attempt under way while the checkout itself is
// still open or pending. The attempt of a cancelled or expired checkout,
// polled for days, does not hold the link: it cannot pay that checkout,
// and if its money arrives it holds the link from then on.
func linkTaken(tx *gorm.DB, linkID, except string, pending bool) (int64, error) {
	cond := `status = ? OR EXISTS (SELECT 1 FROM attempts
			WHERE attempts.checkout_id = checkouts.id AND attempts.status = ?)`
	args := []any{StatusPaid, AttemptSucceeded}
	if pending {
		cond += ` OR (status IN ? AND EXISTS (SELECT 1 FROM attempts
			WHERE attempts.checkout_id = checkouts.id AND attempts.status = ?))`
		args = append(args, []Status{StatusOpen, StatusPending}, AttemptPending)
	}
	q := tx.Model(&Checkout{}).Where("payment_link_id = ? AND id <> ?", linkID, except).Where("("+cond+")", args...)
	var n int64
	if err := q.Count(&n).Error; err != nil {
		return 0, fmt.Errorf("store: checkouts of payment link %s: %w", linkID, err)
	}
	return n, nil
}

// LinkUsed reports whether the link is single use and taken: one of its
// checkouts is paid or has a succeeded attempt.
func (s *Store) LinkUsed(ctx context.Context, l *PaymentLink) (bool, error) {
	if !l.SingleUse {
		return false, nil
	}
	n, err := linkTaken(s.r.WithContext(ctx), l.ID, "", false)
	return n > 0, err
}

// secondLinkPayment is why a success confirmed for co must not pay it: co
// was made from a single-use link of which another checkout is paid or has
// a succeeded attempt ("" when co may be paid). It runs in applyResult's
// transaction, co locked; the link's row is locked after it, in
// startAttempt's order.
func secondLinkPayment(tx *gorm.DB, co *Checkout) (string, error) {
	if co.PaymentLinkID == "" {
		return "", nil
	}
	var l PaymentLink
	if err := forUpdate(tx).Select("id", "single_use").First(&l, "id = ?", co.PaymentLinkID).Error; err != nil {
		if notFound(err) {
			return "", nil
		}
		return "", fmt.Errorf("store: load payment link %s: %w", co.PaymentLinkID, err)
	}
	if !l.SingleUse {
		return "", nil
	}
	n, err := linkTaken(tx, l.ID, co.ID, false)
	if err != nil || n == 0 {
		return "", err
	}
	return fmt.Sprintf("second payment of single-use link %s: another of its checkouts is paid already; "+
		"this checkout stays %s", l.ID, co.Status), nil
}

// checkSingleUse refuses (ErrLinkUsed) a payment attempt on co when co was
// made from a single-use link of which another checkout is paid or has an
// attempt under way. It runs in the transaction that starts the attempt,
// after co is locked: on PostgreSQL the link's row is locked too (FOR
// UPDATE), so two attempts on two checkouts of one link take turns and the
// second sees the first's attempt; SQLite's one writer does the same.
func checkSingleUse(tx *gorm.DB, co *Checkout) error {
	if co.PaymentLinkID == "" {
		return nil
	}
	var l PaymentLink
	if err := forUpdate(tx).Select("id", "single_use").First(&l, "id = ?", co.PaymentLinkID).Error; err != nil {
		if notFound(err) {
			return nil // the link is gone; the checkout stands on its own
		}
		return fmt.Errorf("store: load payment link %s: %w", co.PaymentLinkID, err)
	}
	if !l.SingleUse {
		return nil
	}
	n, err := linkTaken(tx, l.ID, co.ID, true)
	if err != nil {
		return err
	}
	if n > 0 {
		return fmt.Errorf("store: start attempt on %s: %w", co.ID, ErrLinkUsed)
	}
	return nil
}

// refuseSecondLinkPayment flags a success that secondLinkPayment refused,
// as money for a final checkout is, and leaves the checkout unpaid (no
// webhook, no receipt): open again when no other attempt is under way,
// with a word for the customer.
func (s *Store) refuseSecondLinkPayment(tx *gorm.DB, co *Checkout, a *Attempt, source, why string) error {
	if err := s.flag(tx, co, a, source, why); err != nil {
		return err
	}
	return s.reopenIfIdle(tx, co, a, source,
		"This link takes one payment and it was already paid. The shop will review your payment and contact you.")
}

// LinkReferenceSuffix is a checkout id's random tail, upper case, as the
// unique end of a reference made from a payment link.
func LinkReferenceSuffix(checkoutID string) string {
	if len(checkoutID) < 12 {
		return strings.ToUpper(checkoutID)
	}
	return strings.ToUpper(checkoutID[len(checkoutID)-12:])
}
