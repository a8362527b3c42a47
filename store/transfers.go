package store

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"math/big"
	"strings"
	"time"

	"gorm.io/gorm"

	"checkout/money"
)

// Refunds and payouts: money going out. A row moves through stages
// (StageApproval, StageQueued, StageSending, StageSent, StageAttention,
// StageDone) by conditional updates only, so of several processes one
// makes each change; every change writes its timeline line
// (transfer_events) and, when it ends the row, its merchant webhook, in
// the same transaction.

// Webhook events of refunds and payouts.
const (
	WebhookRefundSucceeded  = "refund.succeeded"
	WebhookRefundFailed     = "refund.failed"
	WebhookCheckoutRefunded = "checkout.refunded"
	WebhookPayoutSucceeded  = "payout.succeeded"
	WebhookPayoutFailed     = "payout.failed"
)

// TransferWebhookEventTypes lists the events of refunds and payouts (a
// merchant receives them besides WebhookEventTypes).
var TransferWebhookEventTypes = []string{WebhookRefundSucceeded, WebhookRefundFailed, WebhookCheckoutRefunded,
	WebhookPayoutSucceeded, WebhookPayoutFailed}

// Kinds of transfer events.
const (
	TransferEventCreated     = "created"
	TransferEventApproval    = "approval"
	TransferEventClaim       = "claim"
	TransferEventSent        = "sent"
	TransferEventStatusQuery = "status_query"
	TransferEventCallback    = "callback"
	TransferEventTransition  = "transition"
	TransferEventAttention   = "attention"
	TransferEventNote        = "note"
	TransferEventCancel      = "cancel"
)

// Why a refund or payout change was not made.
var (
	// ErrRefundRefused: the reservation found the checkout not paid, or
	// less left to refund than asked (or, one refund only, a refund
	// already made or under way).
	ErrRefundRefused = errors.New("refund refused by the checkout's reservation")
	// ErrStage: the row is not (any more) in the stage the change needs.
	ErrStage = errors.New("not in the stage this change needs")
	// ErrSelfApproval: the admin who asked cannot approve it.
	ErrSelfApproval = errors.New("a second admin must approve what you asked for")
	// ErrPaymentNotPaid: the refund's checkout is no longer paid (the
	// provider reversed the payment): the refund was ended failed, its
	// amount given back, and nothing is sent.
	ErrPaymentNotPaid = errors.New("the refunded payment is no longer paid")
)

// unpaidRefund ends r (and the payout that carries it), in one of the
// stages from, failed when its checkout is no longer paid: a payment the
// provider reversed after the refund was asked must not be paid back a
// second time. true: it was ended. Called in the transaction that claims
// or approves r, after pair (lock order: refund, payout, checkout).
func (s *Store) unpaidRefund(tx *gorm.DB, r *Refund, p *Payout, from []string) (bool, error) {
	if r == nil {
		return false, nil
	}
	co, err := lockCheckout(tx, r.CheckoutID)
	if err != nil {
		return false, err
	}
	if co.Status == StatusPaid {
		return false, nil
	}
	msg := "the payment was reversed by the provider"
	if co.Status != StatusReversed {
		msg = "the payment is no longer paid (the checkout is " + string(co.Status) + ")"
	}
	if err := s.finishPair(tx, r, p, from, TransferOutcome{Message: msg + ": nothing was sent", Source: "system",
		Kind: TransferEventTransition}); err != nil {
		return false, err
	}
	return true, nil
}

// Transfer kinds (Approve, Decline, Resolve).
const (
	KindRefund = "refund"
	KindPayout = "payout"
)

// TransferPayloads builds the bodies of refund and payout webhooks (the
// merchant API's objects, which only the payments service builds).
type TransferPayloads struct {
	Refund func(r *Refund, eventType string, at time.Time) ([]byte, error)
	Payout func(p *Payout, eventType string, at time.Time) ([]byte, error)
}

// WithTransferPayloads returns a store that builds refund and payout
// webhooks with p, as WithWebhookPayload does for checkouts.
func (s *Store) WithTransferPayloads(p TransferPayloads) *Store {
	c := *s
	c.transferPayloads = p
	return &c
}

// RefundAnswer builds the answer an Idempotency-Key stores for the refund
// its request created.
type RefundAnswer func(r *Refund) (status int, body []byte, err error)

// PayoutAnswer builds the answer an Idempotency-Key stores for the payout
// its request created.
type PayoutAnswer func(p *Payout) (status int, body []byte, err error)

// NewProviderReference returns 12 random decimal digits (crypto/rand).
func NewProviderReference() string {
	n, err := rand.Int(rand.Reader, big.NewInt(1_000_000_000_000))
	if err != nil {
		panic(err) // crypto/rand never fails
	}
	return fmt.Sprintf("%012d", n.Int64())
}

// errReferenceTaken: the random provider reference was taken; the
// transaction is run again with another.
var errReferenceTaken = errors.New("provider reference taken")

// sendTries bounds the draws of a provider reference.
const sendTries = 5

func (s *Store) newRefund(r *Refund, p *Payout) {
	now := s.now()
	r.CreatedAt, r.UpdatedAt = now, now
	if p != nil {
		p.CreatedAt, p.UpdatedAt = now, now
		p.RefundID = r.ID
		r.PayoutID = p.ID
	}
}

// CreateRefund inserts a refund (and, route payout, the payout that
// carries it) after reserving its amount on the checkout with one
// conditional update in the same transaction: the checkout must be paid
// and have at least r.Amount left unreserved, and with onlyOne no refund
// pending or succeeded (Pesapal's one refund per payment). Refused:
// ErrRefundRefused, nothing written.
func (s *Store) CreateRefund(ctx context.Context, r *Refund, p *Payout, onlyOne bool) error {
	s.newRefund(r, p)
	return s.withReference(p, func() error {
		return s.tx(ctx, func(tx *gorm.DB) error { return s.createRefund(tx, r, p, onlyOne) })
	})
}

// CreateRefundOnce is CreateRefund for a request that holds its
// Idempotency-Key (as CreatePaymentLinkOnce).
func (s *Store) CreateRefundOnce(ctx context.Context, r *Refund, p *Payout, onlyOne bool, c *IdempotencyClaim, answer RefundAnswer) (StoredAnswer, error) {
	if c.Result != IdempotencyStarted {
		return StoredAnswer{}, fmt.Errorf("store: create refund with a %s idempotency claim", c.Result)
	}
	s.newRefund(r, p)
	var out StoredAnswer
	err := s.withReference(p, func() error {
		return s.tx(ctx, func(tx *gorm.DB) error {
			if err := s.createRefund(tx, r, p, onlyOne); err != nil {
				return err
			}
			var err error
			if out.Status, out.Body, err = answer(r); err != nil {
				return fmt.Errorf("store: answer for refund %s: %w", r.ID, err)
			}
			return finishIdempotency(tx, c, out.Status, out.Body)
		})
	})
	return s.onceResult(ctx, c, out, err)
}

func (s *Store) onceResult(ctx context.Context, c *IdempotencyClaim, out StoredAnswer, err error) (StoredAnswer, error) {
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

// withReference runs fn, which inserts p (if any), drawing p's provider
// reference afresh each time the unique index refuses it.
func (s *Store) withReference(p *Payout, fn func() error) error {
	var err error
	for i := 0; i < sendTries; i++ {
		if p != nil {
			p.ProviderReference = NewProviderReference()
		}
		if err = fn(); !errors.Is(err, errReferenceTaken) {
			return err
		}
	}
	return err
}

func (s *Store) createRefund(tx *gorm.DB, r *Refund, p *Payout, onlyOne bool) error {
	if p != nil {
		r.ProviderReference = p.ProviderReference
	}
	q := `UPDATE checkouts SET refund_reserved = refund_reserved + ?, updated_at = ?
		WHERE id = ? AND merchant_id = ? AND status = ? AND amount - refund_reserved >= ?`
	if onlyOne {
		q += ` AND refund_reserved = 0`
	}
	res := tx.Exec(q, r.Amount, s.now(), r.CheckoutID, r.MerchantID, StatusPaid, r.Amount)
	if res.Error != nil {
		return fmt.Errorf("store: reserve refund on %s: %w", r.CheckoutID, res.Error)
	}
	if res.RowsAffected != 1 {
		return fmt.Errorf("store: refund of %s on %s: %w", money.Amount(r.Amount), r.CheckoutID, ErrRefundRefused)
	}
	if err := tx.Create(r).Error; err != nil {
		return fmt.Errorf("store: create refund: %w", err)
	}
	evs := []TransferEvent{{SubjectID: r.ID, Kind: TransferEventCreated, Source: r.Route, ToStatus: r.Status,
		Actor: actorOf(r.RequestedBy), Message: fmt.Sprintf("refund of %s %s requested (%s)%s", r.Currency,
			money.Amount(r.Amount), r.Route, stageNote(r.Stage, r.Message))}}
	if p != nil {
		if err := insertPayout(tx, p); err != nil {
			return err
		}
		evs = append(evs, TransferEvent{SubjectID: p.ID, Kind: TransferEventCreated, Source: p.Provider,
			ToStatus: p.Status, Actor: actorOf(p.RequestedBy), Message: fmt.Sprintf("payout of %s %s to %s for refund %s%s",
				p.Currency, money.Amount(p.Amount), p.Phone, r.ID, stageNote(p.Stage, ""))})
	}
	return s.addTransferEvents(tx, evs)
}

func stageNote(stage, msg string) string {
	switch stage {
	case StageApproval:
		return "; waits for a second admin's approval"
	case StageAttention:
		return "; " + msg
	}
	return ""
}

// actorOf turns a requested_by ("api", "admin:<email>") into an actor.
func actorOf(by string) string {
	if e, ok := strings.CutPrefix(by, "admin:"); ok {
		return e
	}
	if by == "" {
		return "system"
	}
	return by
}

// insertPayout inserts p. A merchant reference already used is
// ErrDuplicate (checked first, under a lock on the reference on
// PostgreSQL, so that the unique index refuses only a provider reference
// drawn twice: errReferenceTaken).
func insertPayout(tx *gorm.DB, p *Payout) error {
	if p.Reference != "" {
		if err := lockKey(tx, "payout reference "+p.MerchantID+" "+p.Reference); err != nil {
			return err
		}
		var n int64
		if err := tx.Model(&Payout{}).Where("merchant_id = ? AND reference = ?", p.MerchantID, p.Reference).
			Count(&n).Error; err != nil {
			return fmt.Errorf("store: payout reference %q: %w", p.Reference, err)
		}
		if n > 0 {
			return fmt.Errorf("store: payout reference %q: %w", p.Reference, ErrDuplicate)
		}
	}
	if err := tx.Create(p).Error; err != nil {
		if duplicate(err) {
			return errReferenceTaken
		}
		return fmt.Errorf("store: create payout: %w", err)
	}
	return nil
}

func (s *Store) newPayout(p *Payout) {
	now := s.now()
	p.CreatedAt, p.UpdatedAt = now, now
}

// CreatePayout inserts a payout with a fresh provider reference. A
// merchant reference already used is ErrDuplicate.
func (s *Store) CreatePayout(ctx context.Context, p *Payout) error {
	s.newPayout(p)
	return s.withReference(p, func() error {
		return s.tx(ctx, func(tx *gorm.DB) error { return s.createPayout(tx, p) })
	})
}

// CreatePayoutOnce is CreatePayout for a request that holds its
// Idempotency-Key.
func (s *Store) CreatePayoutOnce(ctx context.Context, p *Payout, c *IdempotencyClaim, answer PayoutAnswer) (StoredAnswer, error) {
	if c.Result != IdempotencyStarted {
		return StoredAnswer{}, fmt.Errorf("store: create payout with a %s idempotency claim", c.Result)
	}
	s.newPayout(p)
	var out StoredAnswer
	err := s.withReference(p, func() error {
		return s.tx(ctx, func(tx *gorm.DB) error {
			if err := s.createPayout(tx, p); err != nil {
				return err
			}
			var err error
			if out.Status, out.Body, err = answer(p); err != nil {
				return fmt.Errorf("store: answer for payout %s: %w", p.ID, err)
			}
			return finishIdempotency(tx, c, out.Status, out.Body)
		})
	})
	return s.onceResult(ctx, c, out, err)
}

func (s *Store) createPayout(tx *gorm.DB, p *Payout) error {
	if err := insertPayout(tx, p); err != nil {
		return err
	}
	return s.addTransferEvent(tx, &TransferEvent{SubjectID: p.ID, Kind: TransferEventCreated, Source: p.Provider,
		ToStatus: p.Status, Actor: actorOf(p.RequestedBy), Message: fmt.Sprintf("payout of %s %s to %s requested%s",
			p.Currency, money.Amount(p.Amount), p.Phone, stageNote(p.Stage, ""))})
}

func (s *Store) addTransferEvent(tx *gorm.DB, ev *TransferEvent) error {
	return s.addTransferEvents(tx, []TransferEvent{*ev})
}

func (s *Store) addTransferEvents(tx *gorm.DB, evs []TransferEvent) error {
	now := s.now()
	for i := range evs {
		evs[i].ID = 0
		if evs[i].CreatedAt.IsZero() {
			evs[i].CreatedAt = now
		}
		if evs[i].Actor == "" {
			evs[i].Actor = "system"
		}
	}
	if err := tx.Create(&evs).Error; err != nil {
		return fmt.Errorf("store: transfer event of %s: %w", evs[0].SubjectID, err)
	}
	return nil
}

// AddTransferEvent appends a line to a refund's or payout's timeline (a
// callback as received, before anything is done with it).
func (s *Store) AddTransferEvent(ctx context.Context, ev *TransferEvent) error {
	return s.tx(ctx, func(tx *gorm.DB) error { return s.addTransferEvent(tx, ev) })
}

// TransferEvents is a refund's or payout's timeline, oldest first.
func (s *Store) TransferEvents(ctx context.Context, subjectID string) ([]TransferEvent, error) {
	var evs []TransferEvent
	if err := s.r.WithContext(ctx).Where("subject_id = ?", subjectID).Order("id").Find(&evs).Error; err != nil {
		return nil, fmt.Errorf("store: timeline of %s: %w", subjectID, err)
	}
	return evs, nil
}

// Refund loads one refund.
func (s *Store) Refund(ctx context.Context, id string) (*Refund, error) {
	var r Refund
	if err := s.r.WithContext(ctx).First(&r, "id = ?", id).Error; err != nil {
		if notFound(err) {
			return nil, fmt.Errorf("store: refund %s: %w", id, ErrNotFound)
		}
		return nil, fmt.Errorf("store: load refund %s: %w", id, err)
	}
	return &r, nil
}

// Payout loads one payout.
func (s *Store) Payout(ctx context.Context, id string) (*Payout, error) {
	var p Payout
	if err := s.r.WithContext(ctx).First(&p, "id = ?", id).Error; err != nil {
		if notFound(err) {
			return nil, fmt.Errorf("store: payout %s: %w", id, ErrNotFound)
		}
		return nil, fmt.Errorf("store: load payout %s: %w", id, err)
	}
	return &p, nil
}

// PayoutByReference finds a provider's payout by our provider reference.
func (s *Store) PayoutByReference(ctx context.Context, provider, reference string) (*Payout, error) {
	var p Payout
	if err := s.r.WithContext(ctx).First(&p, "provider = ? AND provider_reference = ?", provider, reference).Error; err != nil {
		if notFound(err) {
			return nil, fmt.Errorf("store: %s payout %q: %w", provider, reference, ErrNotFound)
		}
		return nil, fmt.Errorf("store: load %s payout %q: %w", provider, reference, err)
	}
	return &p, nil
}

// CheckoutRefunds lists a checkout's refunds, oldest first.
func (s *Store) CheckoutRefunds(ctx context.Context, checkoutID string) ([]Refund, error) {
	var rs []Refund
	if err := s.r.WithContext(ctx).Where("checkout_id = ?", checkoutID).Order("id").Find(&rs).Error; err != nil {
		return nil, fmt.Errorf("store: refunds of %s: %w", checkoutID, err)
	}
	return rs, nil
}

// TransferFilter narrows a list of refunds or payouts ("" = any).
type TransferFilter struct {
	MerchantID, Status, Stage string
}

func listPage[T any](q *gorm.DB, f TransferFilter, after string, limit int) ([]T, bool, error) {
	if limit <= 0 || limit > 200 {
		limit = 20
	}
	if f.MerchantID != "" {
		q = q.Where("merchant_id = ?", f.MerchantID)
	}
	if f.Status != "" {
		q = q.Where("status = ?", f.Status)
	}
	if f.Stage != "" {
		q = q.Where("stage = ?", f.Stage)
	}
	if after != "" {
		q = q.Where("id < ?", after)
	}
	var rows []T
	if err := q.Order("id DESC").Limit(limit + 1).Find(&rows).Error; err != nil {
		return nil, false, err
	}
	more := len(rows) > limit
	if more {
		rows = rows[:limit]
	}
	return rows, more, nil
}

// ListRefunds returns one page of refunds, newest first, after the refund
// with id after, and whether more follow. limit is 1 to 200 (else 20).
func (s *Store) ListRefunds(ctx context.Context, f TransferFilter, after string, limit int) ([]Refund, bool, error) {
	rows, more, err := listPage[Refund](s.r.WithContext(ctx).Model(&Refund{}), f, after, limit)
	if err != nil {
		return nil, false, fmt.Errorf("store: list refunds: %w", err)
	}
	return rows, more, nil
}

// ListPayouts is ListRefunds for payouts.
func (s *Store) ListPayouts(ctx context.Context, f TransferFilter, after string, limit int) ([]Payout, bool, error) {
	rows, more, err := listPage[Payout](s.r.WithContext(ctx).Model(&Payout{}), f, after, limit)
	if err != nil {
		return nil, false, fmt.Errorf("store: list payouts: %w", err)
	}
	return rows, more, nil
}

// TransfersWaiting counts the refunds and payouts a person must act on
// (stage approval or attention). A payout that carries a refund is
// counted with the refunds only.
func (s *Store) TransfersWaiting(ctx context.Context) (refunds, payouts int64, err error) {
	stages := []string{StageApproval, StageAttention}
	if err := s.r.WithContext(ctx).Model(&Refund{}).Where("stage IN ?", stages).Count(&refunds).Error; err != nil {
		return 0, 0, fmt.Errorf("store: refunds waiting: %w", err)
	}
	if err := s.r.WithContext(ctx).Model(&Payout{}).Where("stage IN ? AND refund_id = ''", stages).Count(&payouts).Error; err != nil {
		return 0, 0, fmt.Errorf("store: payouts waiting: %w", err)
	}
	return refunds, payouts, nil
}

// pair loads, locked, a refund or payout and the other half of a refund
// carried by a payout (nil when there is none).
func pair(tx *gorm.DB, kind, id string) (*Refund, *Payout, error) {
	var r *Refund
	var p *Payout
	load := func(dst any, what, id string) error {
		if err := forUpdate(tx).First(dst, "id = ?", id).Error; err != nil {
			if notFound(err) {
				return fmt.Errorf("store: %s %s: %w", what, id, ErrNotFound)
			}
			return fmt.Errorf("store: load %s %s: %w", what, id, err)
		}
		return nil
	}
	switch kind {
	case KindRefund:
		r = &Refund{}
		if err := load(r, "refund", id); err != nil {
			return nil, nil, err
		}
		if r.PayoutID != "" {
			p = &Payout{}
			if err := load(p, "payout", r.PayoutID); err != nil {
				return nil, nil, err
			}
		}
	case KindPayout:
		// The refund first in every transaction (lock order): a payout's
		// refund_id never changes, so it is read before any lock.
		var refundIDs []string
		if err := tx.Model(&Payout{}).Where("id = ?", id).Pluck("refund_id", &refundIDs).Error; err != nil {
			return nil, nil, fmt.Errorf("store: load payout %s: %w", id, err)
		}
		if len(refundIDs) == 1 && refundIDs[0] != "" {
			r = &Refund{}
			if err := load(r, "refund", refundIDs[0]); err != nil {
				return nil, nil, err
			}
		}
		p = &Payout{}
		if err := load(p, "payout", id); err != nil {
			return nil, nil, err
		}
	default:
		return nil, nil, fmt.Errorf("store: unknown transfer kind %q", kind)
	}
	return r, p, nil
}

// setStage moves the refund and payout of a pair from one of the stages
// from to stage to, with fields, by conditional updates. false: the row
// was not in one of those stages (nothing written).
func setStage(tx *gorm.DB, r *Refund, p *Payout, from []string, to string, now time.Time, fields map[string]any) (bool, error) {
	set := func(model any, id string, extra map[string]any) (bool, error) {
		f := map[string]any{"stage": to, "updated_at": now}
		for k, v := range extra {
			f[k] = v
		}
		res := tx.Model(model).Where("id = ? AND status = ? AND stage IN ?", id, TransferPending, from).Updates(f)
		if res.Error != nil {
			return false, fmt.Errorf("store: stage of %s: %w", id, res.Error)
		}
		return res.RowsAffected == 1, nil
	}
	if p != nil {
		ok, err := set(&Payout{}, p.ID, fields)
		if err != nil || !ok {
			return ok, err
		}
		p.Stage, p.UpdatedAt = to, now
	}
	if r != nil {
		rf := map[string]any{}
		for _, k := range []string{"approved_by", "approved_at", "message", "status", "completed_at"} {
			if v, ok := fields[k]; ok {
				rf[k] = v
			}
		}
		ok, err := set(&Refund{}, r.ID, rf)
		if err != nil {
			return false, err
		}
		if !ok {
			if p != nil {
				return false, fmt.Errorf("store: refund %s is not where its payout %s is: %w", r.ID, p.ID, ErrConflict)
			}
			return false, nil
		}
		r.Stage, r.UpdatedAt = to, now
	}
	return true, nil
}

// Approve moves a refund or payout waiting for approval to the queue.
// The admin who asked cannot approve it (ErrSelfApproval); one asked over
// the API may be approved by any admin. Not waiting: ErrStage. A refund
// whose checkout is no longer paid is ended failed instead
// (ErrPaymentNotPaid, after the commit).
func (s *Store) Approve(ctx context.Context, kind, id, admin string) error {
	var reversed bool
	err := s.tx(ctx, func(tx *gorm.DB) error {
		r, p, err := pair(tx, kind, id)
		if err != nil {
			return err
		}
		if sameAdmin(requestedBy(r, p), admin) {
			return fmt.Errorf("store: approve %s %s: %w", kind, id, ErrSelfApproval)
		}
		if reversed, err = s.unpaidRefund(tx, r, p, []string{StageApproval}); err != nil || reversed {
			if errors.Is(err, ErrStage) {
				err = fmt.Errorf("store: approve %s %s: %w", kind, id, ErrStage)
			}
			return err
		}
		now := s.now()
		// A refund by hand goes to a person (attention), not the queue.
		to, msg := StageQueued, "approved by "+admin
		if r != nil && r.Route == RouteManual {
			to, msg = StageAttention, msg+"; "+r.Message
		}
		ok, err := setStage(tx, r, p, []string{StageApproval}, to, now,
			map[string]any{"approved_by": admin, "approved_at": now})
		if err != nil {
			return err
		}
		if !ok {
			return fmt.Errorf("store: approve %s %s: %w", kind, id, ErrStage)
		}
		return s.addTransferEvents(tx, pairEvents(r, p, TransferEvent{Kind: TransferEventApproval, Source: "admin",
			Actor: admin, FromStatus: TransferPending, ToStatus: TransferPending, Message: msg}))
	})
	if err == nil && reversed {
		return fmt.Errorf("store: approve %s %s: %w", kind, id, ErrPaymentNotPaid)
	}
	return err
}

// sameAdmin: requested_by ("admin:<email>") names admin, whatever the
// case or the spaces around the email. A request over the API ("api")
// names no admin.
func sameAdmin(by, admin string) bool {
	e, ok := strings.CutPrefix(by, "admin:")
	return ok && strings.EqualFold(strings.TrimSpace(e), strings.TrimSpace(admin))
}

func requestedBy(r *Refund, p *Payout) string {
	if r != nil {
		return r.RequestedBy
	}
	return p.RequestedBy
}

// pairEvents copies ev for each row of the pair.
func pairEvents(r *Refund, p *Payout, ev TransferEvent) []TransferEvent {
	var evs []TransferEvent
	if r != nil {
		e := ev
		e.SubjectID = r.ID
		evs = append(evs, e)
	}
	if p != nil {
		e := ev
		e.SubjectID = p.ID
		evs = append(evs, e)
	}
	return evs
}

// Outcome of a refund or payout that ends.
type TransferOutcome struct {
	Succeeded bool
	// Message says what happened, for people.
	Message string
	// Receipt, Fees, Verified, ProviderID: a payout's result.
	Receipt    string
	Fees       int64
	Verified   bool
	ProviderID string
	// Kind, Source, Actor, Payload: the timeline line.
	Kind    string
	Source  string
	Actor   string
	Payload string
}

// Decline ends a refund or payout waiting for approval as failed
// ("Declined by ..."), giving a refund's reservation back.
func (s *Store) Decline(ctx context.Context, kind, id, admin, reason string) error {
	msg := "Declined by " + admin
	if reason = strings.TrimSpace(reason); reason != "" {
		msg += ": " + reason
	}
	return s.finish(ctx, kind, id, []string{StageApproval}, TransferOutcome{Message: msg, Kind: TransferEventApproval,
		Source: "admin", Actor: admin})
}

// Resolve ends a refund or payout in stage attention as a person found
// it (succeeded or failed), with their note.
//
// One that ended failed and was flagged afterwards (FlagPaidAfterFailed:
// the provider then said it paid) is settled by settleFlagged: succeeded,
// it is counted as refunded (or, a plain payout, paid) with its events;
// failed, it stays failed and a refund's reservation made by the flag is
// given back.
func (s *Store) Resolve(ctx context.Context, kind, id, admin string, succeeded bool, note string) error {
	msg := "marked failed by " + admin
	if succeeded {
		msg = "marked succeeded by " + admin
	}
	if note = strings.TrimSpace(note); note != "" {
		msg += ": " + note
	}
	var settled bool
	err := retryConflicts(ctx, func() error {
		return s.tx(ctx, func(tx *gorm.DB) error {
			r, p, err := pair(tx, kind, id)
			if err != nil {
				return err
			}
			if settled = flaggedPair(r, p); settled {
				return s.settleFlagged(tx, r, p, admin, succeeded, msg)
			}
			return s.finishPair(tx, r, p, []string{StageAttention}, TransferOutcome{Succeeded: succeeded, Message: msg,
				Kind: TransferEventTransition, Source: "admin", Actor: admin})
		})
	})
	return err
}

// Flags of a refund or payout that the provider says was paid after it
// was marked failed (FlagPaidAfterFailed).
const (
	// PaidAfterFailedNote: a plain payout, or a refund whose amount was
	// reserved again on its checkout.
	PaidAfterFailedNote = "paid after it was marked failed: check and settle by hand"
	// PaidAfterFailedTwiceNote: a refund whose amount could not be
	// reserved again (another refund took what was left, or the payment
	// was reversed since).
	PaidAfterFailedTwiceNote = "paid after it was marked failed, and another refund was made since: the customer may " +
		"have been paid twice; check and settle by hand"
	// paidAfterReversedNote: the same, when the payment was reversed.
	paidAfterReversedNote = "paid after it was marked failed, and the payment was reversed since: the customer may " +
		"have been paid twice; check and settle by hand"
)

// ErrRefundCovered: a refund flagged paid after it failed cannot be
// counted as succeeded, because what is left of its payment to refund
// no longer covers it (another refund, or a reversal, took it).
var ErrRefundCovered = errors.New("another refund already covers this payment: settle outside the app")

// flaggedPair: the pair ended failed and was flagged (FlagPaidAfterFailed).
func flaggedPair(r *Refund, p *Payout) bool {
	if p != nil && (p.Status != TransferFailed || p.Stage != StageAttention) {
		return false
	}
	if r != nil && (r.Status != TransferFailed || r.Stage != StageAttention) {
		return false
	}
	return r != nil || p != nil
}

// flagReserved: the flagged refund's amount was reserved again by the flag.
func flagReserved(r *Refund) bool {
	return strings.HasPrefix(r.Message, PaidAfterFailedNote)
}

// reserveAgain reserves a refund's amount on its checkout again, with the
// conditional update of CreateRefund. false: what is left does not allow
// it (or the checkout is no longer paid); nothing written.
func (s *Store) reserveAgain(tx *gorm.DB, r *Refund) (bool, error) {
	res := tx.Exec(`UPDATE checkouts SET refund_reserved = refund_reserved + ?, updated_at = ?
		WHERE id = ? AND status = ? AND amount - refund_reserved >= ?`, r.Amount, s.now(), r.CheckoutID, StatusPaid, r.Amount)
	if res.Error != nil {
		return false, fmt.Errorf("store: reserve refund %s on %s again: %w", r.ID, r.CheckoutID, res.Error)
	}
	return res.RowsAffected == 1, nil
}

// FlagPaidAfterFailed puts a payout that ended failed (and the refund it
// carries) back in front of a person, stage attention, when its provider
// then says it paid: its status stays failed until the person settles it
// (Resolve). A refund's amount is reserved again on its checkout in the
// same transaction when what is left allows it (PaidAfterFailedNote);
// when it does not, nothing is reserved and the flag says the customer
// may have been paid twice (PaidAfterFailedTwiceNote). The timeline says
// why (msg, after the note). false: it is not a failed payout at rest
// (flagged already, or not failed).
func (s *Store) FlagPaidAfterFailed(ctx context.Context, id, msg, source, payload string) (bool, error) {
	var flagged bool
	err := s.tx(ctx, func(tx *gorm.DB) error {
		r, p, err := pair(tx, KindPayout, id)
		if err != nil {
			return err
		}
		if p.Status != TransferFailed || p.Stage != StageDone ||
			(r != nil && (r.Status != TransferFailed || r.Stage != StageDone)) {
			return nil
		}
		note := PaidAfterFailedNote
		if r != nil {
			reserved, err := s.reserveAgain(tx, r)
			if err != nil {
				return err
			}
			if !reserved {
				note = PaidAfterFailedTwiceNote
				if co, err := lockCheckout(tx, r.CheckoutID); err != nil {
					return err
				} else if co.Status != StatusPaid {
					note = paidAfterReversedNote
				}
			}
		}
		if msg != "" {
			note += " (" + msg + ")"
		}
		if flagged, err = moveFailed(tx, r, p, StageDone, StageAttention, s.now(), note); err != nil {
			return err
		}
		if !flagged {
			return fmt.Errorf("store: flag payout %s: %w", id, ErrConflict)
		}
		return s.addTransferEvents(tx, pairEvents(r, p, TransferEvent{Kind: TransferEventAttention, Source: source,
			FromStatus: TransferFailed, ToStatus: TransferFailed, Message: note, Payload: payload}))
	})
	return flagged, err
}

// moveFailed moves the failed rows of a pair from one stage to another
// with message msg ("" keeps it). false: the payout (or, alone, the
// refund) is not failed in stage from; nothing written.
func moveFailed(tx *gorm.DB, r *Refund, p *Payout, from, to string, now time.Time, msg string) (bool, error) {
	fields := map[string]any{"stage": to, "updated_at": now}
	if msg != "" {
		fields["message"] = msg
	}
	return updateFailed(tx, r, p, from, fields)
}

// updateFailed writes fields to the failed rows of a pair in stage from.
// false: the payout (or, alone, the refund) is not there; nothing written.
func updateFailed(tx *gorm.DB, r *Refund, p *Payout, from string, fields map[string]any) (bool, error) {
	move := func(model any, id string, fields map[string]any) (bool, error) {
		res := tx.Model(model).Where("id = ? AND status = ? AND stage = ?", id, TransferFailed, from).Updates(fields)
		if res.Error != nil {
			return false, fmt.Errorf("store: stage of %s: %w", id, res.Error)
		}
		return res.RowsAffected == 1, nil
	}
	if p != nil {
		if ok, err := move(&Payout{}, p.ID, fields); err != nil || !ok {
			return false, err
		}
	}
	if r != nil {
		rf := map[string]any{}
		for _, k := range []string{"stage", "updated_at", "message", "status", "completed_at"} {
			if v, ok := fields[k]; ok {
				rf[k] = v
			}
		}
		ok, err := move(&Refund{}, r.ID, rf)
		if err != nil || (!ok && p == nil) {
			return false, err
		}
	}
	return true, nil
}

// settleFlagged ends a flagged pair (FlagPaidAfterFailed) as the person
// found it, in the transaction of Resolve.
//
// Paid: the pair ends succeeded at done. A refund is counted as refunded
// (amount_refunded grows; the flag's reservation stays, as for any
// succeeded refund), with refund.succeeded and, refunded in full,
// checkout.refunded; a plain payout sends payout.succeeded. A refund the
// flag could not reserve is reserved now if what is left allows it;
// otherwise it is refused (ErrRefundCovered, nothing written): counting
// it would make amount_refunded exceed the amount paid.
//
// Not paid: it stays failed, at done; the flag's reservation is given
// back. No webhook: the merchant was told it failed already.
func (s *Store) settleFlagged(tx *gorm.DB, r *Refund, p *Payout, admin string, paid bool, msg string) error {
	now := s.now()
	reserved := r != nil && flagReserved(r)
	if !paid {
		msg += " (it stays failed"
		if reserved {
			msg += "; its amount can be refunded again"
		}
		msg += ")"
		ok, err := moveFailed(tx, r, p, StageAttention, StageDone, now, "")
		if err != nil {
			return err
		}
		if !ok {
			return ErrStage
		}
		if err := s.addTransferEvents(tx, pairEvents(r, p, TransferEvent{Kind: TransferEventTransition, Source: "admin",
			Actor: admin, FromStatus: TransferFailed, ToStatus: TransferFailed, Message: msg})); err != nil {
			return err
		}
		if !reserved {
			return nil
		}
		if err := tx.Exec(`UPDATE checkouts SET refund_reserved = refund_reserved - ?, updated_at = ? WHERE id = ?`,
			r.Amount, now, r.CheckoutID).Error; err != nil {
			return fmt.Errorf("store: release refund %s on %s: %w", r.ID, r.CheckoutID, err)
		}
		return s.addEvent(tx, &Event{CheckoutID: r.CheckoutID, Kind: EventTransition, Source: "refunds",
			Message: fmt.Sprintf("refund %s of %s %s stays failed: %s", r.ID, r.Currency, money.Amount(r.Amount), msg)})
	}
	if r != nil && !reserved {
		ok, err := s.reserveAgain(tx, r)
		if err != nil {
			return err
		}
		if !ok {
			return fmt.Errorf("store: refund %s of %s: %w", r.ID, money.Amount(r.Amount), ErrRefundCovered)
		}
	}
	msg += " (paid after it was marked failed)"
	fields := map[string]any{"status": TransferSucceeded, "stage": StageDone, "message": msg, "completed_at": now,
		"updated_at": now}
	ok, err := updateFailed(tx, r, p, StageAttention, fields)
	if err != nil {
		return err
	}
	if !ok {
		return ErrStage
	}
	if err := s.addTransferEvents(tx, pairEvents(r, p, TransferEvent{Kind: TransferEventTransition, Source: "admin",
		Actor: admin, FromStatus: TransferFailed, ToStatus: TransferSucceeded, Message: msg})); err != nil {
		return err
	}
	if p != nil {
		p.Status, p.Stage, p.Message, p.CompletedAt, p.UpdatedAt = TransferSucceeded, StageDone, msg, &now, now
	}
	if r == nil {
		return s.endedPayout(tx, p, true)
	}
	r.Status, r.Stage, r.Message, r.CompletedAt, r.UpdatedAt = TransferSucceeded, StageDone, msg, &now, now
	// Counted within what is reserved: never above the amount paid.
	res := tx.Exec(`UPDATE checkouts SET amount_refunded = amount_refunded + ?, updated_at = ?
		WHERE id = ? AND amount_refunded + ? <= refund_reserved`, r.Amount, now, r.CheckoutID, r.Amount)
	if res.Error != nil {
		return fmt.Errorf("store: refund %s on %s: %w", r.ID, r.CheckoutID, res.Error)
	}
	if res.RowsAffected != 1 {
		return fmt.Errorf("store: refund %s on %s: %w", r.ID, r.CheckoutID, ErrRefundCovered)
	}
	return s.endedRefund(tx, r, true, msg)
}

// FinishTransfer ends a refund or payout that is in one of the stages
// from, as o says. Not there (ended already, or elsewhere): ErrStage,
// nothing written.
func (s *Store) FinishTransfer(ctx context.Context, kind, id string, from []string, o TransferOutcome) error {
	return s.finish(ctx, kind, id, from, o)
}

func (s *Store) finish(ctx context.Context, kind, id string, from []string, o TransferOutcome) error {
	return retryConflicts(ctx, func() error {
		return s.tx(ctx, func(tx *gorm.DB) error {
			r, p, err := pair(tx, kind, id)
			if err != nil {
				return err
			}
			return s.finishPair(tx, r, p, from, o)
		})
	})
}

func (s *Store) finishPair(tx *gorm.DB, r *Refund, p *Payout, from []string, o TransferOutcome) error {
	now := s.now()
	to := TransferFailed
	if o.Succeeded {
		to = TransferSucceeded
	}
	fields := map[string]any{"status": to, "message": o.Message, "completed_at": now}
	if p != nil {
		fields["claimed_until"], fields["next_check_at"] = nil, nil
		if o.Succeeded {
			fields["receipt"], fields["fees"], fields["verified"] = o.Receipt, o.Fees, o.Verified
		}
		if o.ProviderID != "" {
			fields["provider_id"] = o.ProviderID
		}
	}
	ok, err := setStage(tx, r, p, from, StageDone, now, fields)
	if err != nil {
		return err
	}
	if !ok {
		return ErrStage
	}
	kind := o.Kind
	if kind == "" {
		kind = TransferEventTransition
	}
	if err := s.addTransferEvents(tx, pairEvents(r, p, TransferEvent{Kind: kind, Source: o.Source, Actor: o.Actor,
		FromStatus: TransferPending, ToStatus: to, Message: o.Message, Payload: o.Payload})); err != nil {
		return err
	}
	if p != nil {
		p.Status, p.Message, p.CompletedAt = to, o.Message, &now
		if o.Succeeded {
			p.Receipt, p.Fees, p.Verified = o.Receipt, o.Fees, o.Verified
		}
		if o.ProviderID != "" {
			p.ProviderID = o.ProviderID
		}
	}
	if r == nil {
		return s.endedPayout(tx, p, o.Succeeded)
	}
	r.Status, r.Message, r.CompletedAt = to, o.Message, &now
	q := `UPDATE checkouts SET refund_reserved = refund_reserved - ?, updated_at = ? WHERE id = ?`
	if o.Succeeded {
		q = `UPDATE checkouts SET amount_refunded = amount_refunded + ?, updated_at = ? WHERE id = ?`
	}
	if err := tx.Exec(q, r.Amount, now, r.CheckoutID).Error; err != nil {
		return fmt.Errorf("store: refund %s on %s: %w", r.ID, r.CheckoutID, err)
	}
	return s.endedRefund(tx, r, o.Succeeded, o.Message)
}

// endedPayout queues the webhook of a plain payout that just ended.
func (s *Store) endedPayout(tx *gorm.DB, p *Payout, succeeded bool) error {
	ev := WebhookPayoutFailed
	if succeeded {
		ev = WebhookPayoutSucceeded
	}
	return s.enqueueTransfer(tx, p.MerchantID, "", ev, func(at time.Time) ([]byte, error) {
		if s.transferPayloads.Payout == nil {
			return nil, ErrNoWebhookPayload
		}
		c := *p
		return s.transferPayloads.Payout(&c, ev, at)
	})
}

// endedRefund writes what a refund that just ended brings, once its
// checkout's amounts are updated: its webhook, the order's timeline line
// and, refunded in full, checkout.refunded.
func (s *Store) endedRefund(tx *gorm.DB, r *Refund, succeeded bool, msg string) error {
	to := TransferFailed
	if succeeded {
		to = TransferSucceeded
	}
	ev := WebhookRefundFailed
	if succeeded {
		ev = WebhookRefundSucceeded
	}
	if err := s.enqueueTransfer(tx, r.MerchantID, r.CheckoutID, ev, func(at time.Time) ([]byte, error) {
		if s.transferPayloads.Refund == nil {
			return nil, ErrNoWebhookPayload
		}
		c := *r
		return s.transferPayloads.Refund(&c, ev, at)
	}); err != nil {
		return err
	}
	if err := s.addEvent(tx, &Event{CheckoutID: r.CheckoutID, Kind: EventTransition, Source: "refunds",
		Message: fmt.Sprintf("refund %s of %s %s %s: %s", r.ID, r.Currency, money.Amount(r.Amount), to, msg)}); err != nil {
		return err
	}
	if !succeeded {
		return nil
	}
	co, err := lockCheckout(tx, r.CheckoutID)
	if err != nil {
		return err
	}
	if co.AmountRefunded < co.Amount {
		return nil
	}
	// Refunded in full: once, as amounts only grow and the reservation
	// keeps them within the amount.
	return s.enqueueTransfer(tx, co.MerchantID, co.ID, WebhookCheckoutRefunded, func(at time.Time) ([]byte, error) {
		if s.webhookPayload == nil {
			return nil, ErrNoWebhookPayload
		}
		return s.webhookPayload(co, WebhookCheckoutRefunded, at)
	})
}

// enqueueTransfer writes a refund's or payout's delivery in the
// transaction of the change (as enqueueWebhook does for checkouts).
func (s *Store) enqueueTransfer(tx *gorm.DB, merchantID, checkoutID, eventType string, build func(at time.Time) ([]byte, error)) error {
	var urls []string
	if err := tx.Raw(`SELECT webhook_url FROM merchants WHERE id = ?`, merchantID).Scan(&urls).Error; err != nil {
		return fmt.Errorf("store: webhook %s: load merchant %s: %w", eventType, merchantID, err)
	}
	if len(urls) == 0 {
		return fmt.Errorf("store: webhook %s: merchant %s: %w", eventType, merchantID, ErrNotFound)
	}
	if urls[0] == "" {
		return nil
	}
	now := s.now()
	body, err := build(now)
	if err != nil {
		return fmt.Errorf("store: webhook %s: %w", eventType, err)
	}
	d := WebhookDelivery{ID: NewID("msg", now), MerchantID: merchantID, CheckoutID: checkoutID, EventType: eventType,
		Payload: string(body), Status: DeliveryPending, NextAttemptAt: &now, CreatedAt: now}
	if err := tx.Create(&d).Error; err != nil {
		return fmt.Errorf("store: webhook %s: %w", eventType, err)
	}
	return nil
}

// ToAttention moves a refund or payout from one of the stages from to
// attention: a person must act. Not there: ErrStage.
func (s *Store) ToAttention(ctx context.Context, kind, id string, from []string, msg, source, payload string) error {
	return s.tx(ctx, func(tx *gorm.DB) error {
		r, p, err := pair(tx, kind, id)
		if err != nil {
			return err
		}
		fields := map[string]any{"message": msg}
		if p != nil {
			fields["claimed_until"], fields["next_check_at"] = nil, nil
		}
		ok, err := setStage(tx, r, p, from, StageAttention, s.now(), fields)
		if err != nil {
			return err
		}
		if !ok {
			return ErrStage
		}
		return s.addTransferEvents(tx, pairEvents(r, p, TransferEvent{Kind: TransferEventAttention, Source: source,
			FromStatus: TransferPending, ToStatus: TransferPending, Message: msg, Payload: payload}))
	})
}

// notStageErr: a row no longer in the stage asked is not an error for a
// claim (another process moved it: nothing to do).
func notStageErr(err error) error {
	if errors.Is(err, ErrStage) {
		return nil
	}
	return err
}

// ClaimRefund takes a queued refund (route pesapal) for this process's
// send: queued -> sending, committed before the call. false: another
// process has it, or it is not queued. A refund whose checkout is no
// longer paid (reversed) is ended failed instead, in the same
// transaction: false.
func (s *Store) ClaimRefund(ctx context.Context, id string) (bool, error) {
	var won bool
	err := s.tx(ctx, func(tx *gorm.DB) error {
		r, p, err := pair(tx, KindRefund, id)
		if err != nil {
			return err
		}
		if p != nil || r.Status != TransferPending || r.Stage != StageQueued {
			return nil
		}
		if ended, err := s.unpaidRefund(tx, r, nil, []string{StageQueued}); err != nil || ended {
			return notStageErr(err)
		}
		now := s.now()
		res := tx.Model(&Refund{}).Where("id = ? AND status = ? AND stage = ? AND payout_id = ''", id, TransferPending, StageQueued).
			Updates(map[string]any{"stage": StageSending, "updated_at": now})
		if res.Error != nil {
			return fmt.Errorf("store: claim refund %s: %w", id, res.Error)
		}
		if won = res.RowsAffected == 1; !won {
			return nil
		}
		return s.addTransferEvent(tx, &TransferEvent{SubjectID: id, Kind: TransferEventClaim, Source: "worker",
			FromStatus: TransferPending, ToStatus: TransferPending, Message: "sending the refund request"})
	})
	return won, err
}

// ClaimPayout takes a queued payout for this process's send until
// `until`: queued -> sending, committed before the call (a refund it
// carries moves along). false: another process has it, or the refund it
// carries was ended failed because its checkout is no longer paid.
func (s *Store) ClaimPayout(ctx context.Context, id string, until time.Time) (bool, error) {
	var won bool
	err := s.tx(ctx, func(tx *gorm.DB) error {
		r, p, err := pair(tx, KindPayout, id)
		if err != nil {
			return err
		}
		if ended, err := s.unpaidRefund(tx, r, p, []string{StageQueued}); err != nil || ended {
			return notStageErr(err)
		}
		u := until.UTC()
		if won, err = setStage(tx, r, p, []string{StageQueued}, StageSending, s.now(),
			map[string]any{"claimed_until": u}); err != nil || !won {
			return err
		}
		return s.addTransferEvents(tx, pairEvents(r, p, TransferEvent{Kind: TransferEventClaim, Source: "worker",
			FromStatus: TransferPending, ToStatus: TransferPending, Message: "sending the payout to " + p.Provider}))
	})
	return won, err
}

// ClaimPayoutCheck takes a payout in sending or sent for one look (a
// status call, or the rule for a provider without one) until `until`,
// if no process holds it. It never makes it sendable again.
func (s *Store) ClaimPayoutCheck(ctx context.Context, id string, now, until time.Time) (bool, error) {
	now, until = now.UTC(), until.UTC()
	res := s.w.WithContext(ctx).Model(&Payout{}).
		Where("id = ? AND status = ? AND stage IN ? AND (claimed_until IS NULL OR claimed_until <= ?)",
			id, TransferPending, []string{StageSending, StageSent}, now).
		Update("claimed_until", until)
	if res.Error != nil {
		return false, fmt.Errorf("store: claim payout %s: %w", id, res.Error)
	}
	return res.RowsAffected == 1, nil
}

// PayoutSent records what a send left: the provider took it (or may
// have: an answer that says nothing), from sending to sent, with the next
// look at next.
func (s *Store) PayoutSent(ctx context.Context, id, providerID string, next time.Time, msg, payload string) error {
	return s.tx(ctx, func(tx *gorm.DB) error {
		r, p, err := pair(tx, KindPayout, id)
		if err != nil {
			return err
		}
		now := s.now()
		fields := map[string]any{"sent_at": now, "claimed_until": nil, "next_check_at": next.UTC(), "message": msg}
		if providerID != "" {
			fields["provider_id"] = providerID
		}
		ok, err := setStage(tx, r, p, []string{StageSending}, StageSent, now, fields)
		if err != nil {
			return err
		}
		if !ok {
			return ErrStage
		}
		return s.addTransferEvents(tx, pairEvents(r, p, TransferEvent{Kind: TransferEventSent, Source: p.Provider,
			FromStatus: TransferPending, ToStatus: TransferPending, Message: msg, Payload: payload}))
	})
}

// PayoutChecked records a look that settled nothing: the timeline line,
// one more check, and the next look at next (nil: none planned). The row
// must still be pending. The look's claim ends, but not a sender's: a row
// in stage sending (a callback confirmed during the send) keeps its
// claim, or it would be taken for interrupted while the call is made.
func (s *Store) PayoutChecked(ctx context.Context, id string, next *time.Time, ev TransferEvent) error {
	return s.tx(ctx, func(tx *gorm.DB) error {
		fields := map[string]any{"checks": gorm.Expr("checks + 1"),
			"claimed_until": gorm.Expr("CASE WHEN stage = ? THEN claimed_until ELSE NULL END", StageSending),
			"updated_at":    s.now()}
		if next != nil {
			fields["next_check_at"] = next.UTC()
		}
		res := tx.Model(&Payout{}).Where("id = ? AND status = ?", id, TransferPending).Updates(fields)
		if res.Error != nil {
			return fmt.Errorf("store: check of payout %s: %w", id, res.Error)
		}
		if res.RowsAffected != 1 {
			return ErrStage
		}
		ev.SubjectID = id
		return s.addTransferEvent(tx, &ev)
	})
}

// DueTransfers is the worker's work: refunds (route pesapal) queued or
// left in sending since before stale, and payouts queued, in sending
// whose claim ran out, or sent and due for a look.
func (s *Store) DueTransfers(ctx context.Context, now, stale time.Time, limit int) ([]Refund, []Payout, error) {
	now, stale = now.UTC(), stale.UTC()
	var rs []Refund
	if err := s.r.WithContext(ctx).Where("payout_id = '' AND route = ? AND status = ? AND (stage = ? OR (stage = ? AND updated_at <= ?))",
		RoutePesapal, TransferPending, StageQueued, StageSending, stale).Order("id").Limit(limit).Find(&rs).Error; err != nil {
		return nil, nil, fmt.Errorf("store: due refunds: %w", err)
	}
	var ps []Payout
	if err := s.r.WithContext(ctx).Where(`status = ? AND (stage = ?
		OR (stage = ? AND (claimed_until IS NULL OR claimed_until <= ?))
		OR (stage = ? AND next_check_at <= ? AND (claimed_until IS NULL OR claimed_until <= ?)))`,
		TransferPending, StageQueued, StageSending, now, StageSent, now, now).Order("id").Limit(limit).Find(&ps).Error; err != nil {
		return nil, nil, fmt.Errorf("store: due payouts: %w", err)
	}
	return rs, ps, nil
}

// StaleRefundToAttention moves a refund left in sending since before
// stale (the process died during the call) to attention: it is never
// sent again.
func (s *Store) StaleRefundToAttention(ctx context.Context, id string, stale time.Time, msg string) (bool, error) {
	var moved bool
	err := s.tx(ctx, func(tx *gorm.DB) error {
		res := tx.Model(&Refund{}).Where("id = ? AND status = ? AND stage = ? AND updated_at <= ?", id, TransferPending, StageSending, stale.UTC()).
			Updates(map[string]any{"stage": StageAttention, "message": msg, "updated_at": s.now()})
		if res.Error != nil {
			return fmt.Errorf("store: refund %s: %w", id, res.Error)
		}
		if moved = res.RowsAffected == 1; !moved {
			return nil
		}
		return s.addTransferEvent(tx, &TransferEvent{SubjectID: id, Kind: TransferEventAttention, Source: "worker",
			FromStatus: TransferPending, ToStatus: TransferPending, Message: msg})
	})
	return moved, err
}

// PaidAttempt is the attempt whose success paid the checkout (the last
// succeeded one when no transition names it). None: ErrNotFound.
func (s *Store) PaidAttempt(ctx context.Context, checkoutID string) (*Attempt, error) {
	db := s.r.WithContext(ctx)
	payer, err := s.payingAttempt(db, checkoutID)
	if err != nil {
		return nil, err
	}
	var as []Attempt
	q := db.Where("checkout_id = ? AND status = ?", checkoutID, AttemptSucceeded)
	if payer != "" {
		q = db.Where("id = ?", payer)
	}
	if err := q.Order("id DESC").Limit(1).Find(&as).Error; err != nil {
		return nil, fmt.Errorf("store: paid attempt of %s: %w", checkoutID, err)
	}
	if len(as) == 0 {
		return nil, fmt.Errorf("store: paid attempt of %s: %w", checkoutID, ErrNotFound)
	}
	return &as[0], nil
}
