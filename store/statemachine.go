package store

import (
	"context"
	"errors"
	"fmt"
	"reflect"
	"slices"
	"sync"
	"time"

	"gorm.io/gorm"
	"gorm.io/gorm/clause"
	"gorm.io/gorm/schema"

	"checkout/money"
)

// transitions lists every allowed change of a checkout's status. Anything
// not listed is refused, so expired, cancelled and reversed are final, and
// paid only moves on to reversed.
//
// open -> paid is allowed because a provider can confirm a payment for an
// attempt it first reported failed (a Pesapal customer retries inside the
// same payment page), after the checkout went back to open.
var transitions = map[Status][]Status{
	StatusOpen:    {StatusPending, StatusPaid, StatusExpired, StatusCancelled},
	StatusPending: {StatusOpen, StatusPaid, StatusExpired, StatusCancelled},
	StatusPaid:    {StatusReversed},
}

// CanTransition reports whether the state machine allows from -> to.
func CanTransition(from, to Status) bool {
	return slices.Contains(transitions[from], to)
}

// transition changes a checkout's status inside tx: allowed by the table,
// guarded by the status the caller read (so a concurrent change makes it fail
// with ErrConflict instead of overwriting), and written with its event.
func (s *Store) transition(tx *gorm.DB, co *Checkout, to Status, ev Event, fields map[string]any) error {
	if !CanTransition(co.Status, to) {
		return fmt.Errorf("store: checkout %s %s -> %s: %w", co.ID, co.Status, to, ErrTransition)
	}
	now := s.now()
	if fields == nil {
		fields = map[string]any{}
	}
	fields["status"] = to
	fields["updated_at"] = now
	n, err := updateGuarded(tx, &Checkout{}, "checkouts", fields, co.ID, co.Status)
	if err != nil {
		return fmt.Errorf("store: checkout %s %s -> %s: %w", co.ID, co.Status, to, err)
	}
	if n != 1 {
		return fmt.Errorf("store: checkout %s %s -> %s: %w", co.ID, co.Status, to, ErrConflict)
	}
	ev.CheckoutID = co.ID
	ev.Kind = EventTransition
	ev.FromStatus = string(co.Status)
	ev.ToStatus = string(to)
	if err := s.addEvent(tx, &ev); err != nil {
		return err
	}
	// co becomes the row as the update left it: the outbox builds the
	// webhook from it without reading the checkout again.
	if err := setColumns(tx, co, fields); err != nil {
		return fmt.Errorf("store: checkout %s %s -> %s: %w", co.ID, ev.FromStatus, to, err)
	}
	// The merchant's webhook, and the customer's receipt email, are
	// written with the change (outbox).
	if to == StatusPaid {
		if err := s.enqueueReceipt(tx, co); err != nil {
			return err
		}
	}
	if typ := webhookEventFor(to); typ != "" {
		return s.enqueueWebhook(tx, co, typ)
	}
	return nil
}

// schemas caches the GORM schemas setColumns parses (once per model type).
var schemas sync.Map

// setColumns sets on co the columns an update wrote (fields: column name to
// value, as given to Updates), so that co is the row as the update left it.
// A value the database computes (an expression) is refused: only the
// database knows it.
func setColumns(tx *gorm.DB, co *Checkout, fields map[string]any) error {
	sch, err := schema.Parse(co, &schemas, tx.NamingStrategy)
	if err != nil {
		return err
	}
	rv := reflect.ValueOf(co).Elem()
	for col, v := range fields {
		f := sch.LookUpField(col)
		if f == nil {
			return fmt.Errorf("no column %q", col)
		}
		if _, ok := v.(clause.Expression); ok {
			return fmt.Errorf("column %s is set by an expression, its value unknown until read back", col)
		}
		if err := f.Set(tx.Statement.Context, rv, v); err != nil {
			return fmt.Errorf("column %s: %w", col, err)
		}
	}
	return nil
}

// setAttempt changes an attempt's status, guarded by the status read.
func (s *Store) setAttempt(tx *gorm.DB, a *Attempt, to AttemptStatus, fields map[string]any) error {
	if fields == nil {
		fields = map[string]any{}
	}
	fields["status"] = to
	fields["updated_at"] = s.now()
	if to != AttemptPending {
		fields["next_check_at"] = nil
	}
	n, err := updateGuarded(tx, &Attempt{}, "attempts", fields, a.ID, a.Status)
	if err != nil {
		return fmt.Errorf("store: attempt %s %s -> %s: %w", a.ID, a.Status, to, err)
	}
	if n != 1 {
		return fmt.Errorf("store: attempt %s %s -> %s: %w", a.ID, a.Status, to, ErrConflict)
	}
	a.Status = to
	return nil
}

func (s *Store) addEvent(tx *gorm.DB, ev *Event) error {
	if ev.CreatedAt.IsZero() {
		ev.CreatedAt = s.now()
	}
	evs := []Event{*ev}
	if err := insertEvents(tx, evs); err != nil {
		return fmt.Errorf("store: add %s event to %s: %w", ev.Kind, ev.CheckoutID, err)
	}
	ev.ID = evs[0].ID
	return nil
}

// addEvents inserts events in one statement, in their order.
func (s *Store) addEvents(tx *gorm.DB, evs []Event) error {
	for i := range evs {
		if evs[i].CreatedAt.IsZero() {
			evs[i].CreatedAt = s.now()
		}
	}
	if err := insertEvents(tx, evs); err != nil {
		return fmt.Errorf("store: add %s event to %s: %w", evs[0].Kind, evs[0].CheckoutID, err)
	}
	return nil
}

// retryConflicts runs fn again when a guarded write lost a race (only
// possible where the database lets two writers in, as PostgreSQL does).
func retryConflicts(ctx context.Context, fn func() error) error {
	var err error
	for i := 0; i < 5; i++ {
		if err = fn(); !errors.Is(err, ErrConflict) {
			return err
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(time.Duration(i+1) * 10 * time.Millisecond):
		}
	}
	return err
}

// Outcome says what applying a provider result did.
type Outcome string

// Outcomes of ApplyResult.
const (
	// OutcomeUnchanged: the result was already applied or says nothing new.
	OutcomeUnchanged Outcome = "unchanged"
	// OutcomePaid: the checkout became paid.
	OutcomePaid Outcome = "paid"
	// OutcomeFailed: the attempt failed (the checkout may be open again).
	OutcomeFailed Outcome = "failed"
	// OutcomeReversed: the paid checkout was reversed.
	OutcomeReversed Outcome = "reversed"
	// OutcomeReview: the result disagrees with the order, or money arrived
	// for a checkout that can no longer take it; flagged for the admin.
	OutcomeReview Outcome = "review"
)

// Result is a provider's confirmed verdict on an attempt, as the payments
// service hands it to the store. Only a result from the provider's own status
// call (or a verified hash) may be applied.
type Result struct {
	Status    AttemptStatus // or "" for pending
	Reversed  bool
	Amount    int64
	HasAmount bool
	// AmountFixed says the customer could not pay another amount than the
	// attempt's: an M-Pesa prompt carries the amount we pushed, and the
	// customer can only approve or refuse it. A success confirmed without an
	// amount is then for the attempt's amount; an amount that is reported is
	// still compared. A hosted page, where the amount could be changed, never
	// sets it.
	AmountFixed       bool
	Currency          string
	Reference         string
	ProviderReference string
	Receipt           string
	Method            string
	Message           string
	Source            string // who asked: "ipn:pesapal", "return:pesapal", "reconciler", "admin:<email>"
	Payload           string // the provider's answer, secrets removed
	// Notification, when set, is the notification that made us ask (its
	// event, as received): it is stored in the same transaction as what
	// the answer changes, so a verified notification is one write.
	Notification *Event
}

// ApplyResult applies a provider's confirmed result to an attempt and its
// checkout in one transaction, with the notification that asked
// (r.Notification) if any. Applying the same result twice changes
// nothing the second time. A success whose amount, currency or reference
// differs from the attempt is not paid: it is recorded and flagged.
func (s *Store) ApplyResult(ctx context.Context, attemptID string, r Result) (Outcome, error) {
	var out Outcome
	err := retryConflicts(ctx, func() error {
		return s.tx(ctx, func(tx *gorm.DB) error {
			var err error
			out, err = s.applyResult(tx, attemptID, r)
			return err
		})
	})
	if err != nil {
		return "", err
	}
	return out, nil
}

func (s *Store) applyResult(tx *gorm.DB, attemptID string, r Result) (Outcome, error) {
	// Locked: every check below (already paid? another attempt still
	// pending?) holds until this transaction commits.
	pco, pa, err := lockAttempt(tx, attemptID)
	if err != nil {
		return "", err
	}
	co, a := *pco, *pa
	// The notification that asked, if any, and the answer: one insert.
	evs := make([]Event, 0, 2)
	if r.Notification != nil {
		evs = append(evs, *r.Notification) // a copy: a retried transaction inserts it afresh
	}
	evs = append(evs, Event{CheckoutID: co.ID, AttemptID: a.ID, Kind: EventStatusQuery, Source: r.Source,
		Message: describeResult(r), Payload: r.Payload})
	if err := s.addEvents(tx, evs); err != nil {
		return "", err
	}

	switch {
	case r.Reversed:
		if co.Status != StatusPaid || a.Status != AttemptSucceeded {
			return OutcomeUnchanged, nil
		}
		if r.Reference != "" && r.Reference != a.ID {
			return OutcomeReview, s.flag(tx, &co, &a, r.Source,
				fmt.Sprintf("the provider reports a reversal for reference %q, the attempt is %s", r.Reference, a.ID))
		}
		// A reversal of a second payment (money returned for a double
		// payment) leaves the checkout paid by the attempt that paid it.
		payer, err := s.payingAttempt(tx, co.ID)
		if err != nil {
			return "", err
		}
		if payer != "" && payer != a.ID {
			return OutcomeReview, s.flag(tx, &co, &a, r.Source, fmt.Sprintf(
				"the provider reversed this payment; the checkout was paid by attempt %s and stays paid", payer))
		}
		if err := s.transition(tx, &co, StatusReversed, Event{AttemptID: a.ID, Source: r.Source,
			Message: "the provider reversed the payment"}, nil); err != nil {
			return "", err
		}
		return OutcomeReversed, nil

	case r.Status == AttemptSucceeded:
		if a.Status == AttemptSucceeded {
			// A status call that carried no receipt (PokeaPay's
			// verification may not) can carry one on a later call.
			if a.Receipt == "" && r.Receipt != "" {
				return OutcomeUnchanged, s.fillReceipt(tx, &co, &a, r)
			}
			return OutcomeUnchanged, nil
		}
		if reason := mismatch(&a, r); reason != "" {
			return OutcomeReview, s.flag(tx, &co, &a, r.Source, reason)
		}
		if err := s.setAttempt(tx, &a, AttemptSucceeded, map[string]any{
			"receipt": r.Receipt, "message": "", "provider_reference": firstNonEmpty(r.ProviderReference, a.ProviderReference),
			"payment_method": r.Method,
		}); err != nil {
			return "", err
		}
		if co.Status != StatusOpen && co.Status != StatusPending {
			why := fmt.Sprintf("the provider confirmed a payment for a checkout that is %s", co.Status)
			if co.Status == StatusPaid {
				why = "the provider confirmed a second payment for a checkout already paid"
			}
			return OutcomeReview, s.flag(tx, &co, &a, r.Source, why)
		}
		if why, err := secondLinkPayment(tx, &co); err != nil || why != "" {
			if err != nil {
				return "", err
			}
			return OutcomeReview, s.refuseSecondLinkPayment(tx, &co, &a, r.Source, why)
		}
		now := s.now()
		if err := s.transition(tx, &co, StatusPaid, Event{AttemptID: a.ID, Source: r.Source,
			Message: "payment confirmed by the provider"}, map[string]any{
			"paid_at": now, "receipt": r.Receipt, "message": "", "provider": a.Provider, "method": a.Method,
			"provider_reference": firstNonEmpty(r.ProviderReference, a.ProviderReference),
		}); err != nil {
			return "", err
		}
		return OutcomePaid, nil

	case r.Status == AttemptFailed:
		// An attempt flagged for review waits for a person: the provider
		// reported money that disagrees with the order, and a later "failed"
		// (PokeaPay answers so when the amount differs) must not reopen the
		// checkout for a second payment.
		if a.Status != AttemptPending || a.Review {
			return OutcomeUnchanged, nil
		}
		if r.Reference != "" && r.Reference != a.ID {
			return OutcomeReview, s.flag(tx, &co, &a, r.Source,
				fmt.Sprintf("the provider reports a failure for reference %q, the attempt is %s", r.Reference, a.ID))
		}
		msg := firstNonEmpty(r.Message, "The payment did not go through.")
		if err := s.setAttempt(tx, &a, AttemptFailed, map[string]any{"message": msg}); err != nil {
			return "", err
		}
		return OutcomeFailed, s.reopenIfIdle(tx, &co, &a, r.Source, msg)
	}
	return OutcomeUnchanged, nil
}

// payingAttempt returns the id of the attempt whose success moved the
// checkout to paid, read from that transition's event ("" if none is
// recorded).
func (s *Store) payingAttempt(tx *gorm.DB, checkoutID string) (string, error) {
	var evs []Event
	if err := tx.Where("checkout_id = ? AND kind = ? AND to_status = ?", checkoutID, EventTransition, StatusPaid).
		Order("id DESC").Limit(1).Find(&evs).Error; err != nil {
		return "", fmt.Errorf("store: find the payment of %s: %w", checkoutID, err)
	}
	if len(evs) == 0 {
		return "", nil
	}
	return evs[0].AttemptID, nil
}

// fillReceipt records a receipt that arrived after the attempt succeeded,
// on the attempt and, when this attempt paid it, on the checkout.
func (s *Store) fillReceipt(tx *gorm.DB, co *Checkout, a *Attempt, r Result) error {
	now := s.now()
	if err := tx.Model(&Attempt{}).Where("id = ? AND receipt = ''", a.ID).
		Updates(map[string]any{"receipt": r.Receipt, "updated_at": now}).Error; err != nil {
		return fmt.Errorf("store: receipt of attempt %s: %w", a.ID, err)
	}
	payer, err := s.payingAttempt(tx, co.ID)
	if err != nil {
		return err
	}
	if payer == a.ID && co.Receipt == "" {
		if err := tx.Model(&Checkout{}).Where("id = ? AND receipt = ''", co.ID).
			Updates(map[string]any{"receipt": r.Receipt, "updated_at": now}).Error; err != nil {
			return fmt.Errorf("store: receipt of checkout %s: %w", co.ID, err)
		}
	}
	return s.addEvent(tx, &Event{CheckoutID: co.ID, AttemptID: a.ID, Kind: EventAttempt, Source: r.Source,
		Message: "receipt " + r.Receipt + " recorded"})
}

// reopenIfIdle returns a pending checkout to open after its attempt failed,
// unless another attempt is still under way.
func (s *Store) reopenIfIdle(tx *gorm.DB, co *Checkout, a *Attempt, source, msg string) error {
	if co.Status == StatusOpen {
		return tx.Model(&Checkout{}).Where("id = ?", co.ID).Update("message", msg).Error
	}
	if co.Status != StatusPending {
		return nil // a final checkout keeps its own story; the attempt holds the message
	}
	var others int64
	if err := tx.Model(&Attempt{}).Where("checkout_id = ? AND status = ? AND id <> ?", co.ID, AttemptPending, a.ID).
		Count(&others).Error; err != nil {
		return fmt.Errorf("store: count attempts of %s: %w", co.ID, err)
	}
	if others > 0 {
		return tx.Model(&Checkout{}).Where("id = ?", co.ID).Update("message", msg).Error
	}
	return s.transition(tx, co, StatusOpen, Event{AttemptID: a.ID, Source: source, Message: msg},
		map[string]any{"message": msg})
}

// flag marks an attempt and its checkout for the admin's review.
func (s *Store) flag(tx *gorm.DB, co *Checkout, a *Attempt, source, reason string) error {
	if a.Review && a.ReviewReason == reason {
		return nil // already flagged for this; the status query event is enough
	}
	if err := tx.Model(&Attempt{}).Where("id = ?", a.ID).
		Updates(map[string]any{"review": true, "review_reason": reason, "updated_at": s.now()}).Error; err != nil {
		return fmt.Errorf("store: flag attempt %s: %w", a.ID, err)
	}
	if err := tx.Model(&Checkout{}).Where("id = ?", co.ID).Update("review", true).Error; err != nil {
		return fmt.Errorf("store: flag checkout %s: %w", co.ID, err)
	}
	// co and a stay the rows: a transition after this (reopenIfIdle in
	// refuseSecondLinkPayment) builds the outbox from co.
	a.Review, a.ReviewReason, co.Review = true, reason, true
	return s.addEvent(tx, &Event{CheckoutID: co.ID, AttemptID: a.ID, Kind: EventReview, Source: source, Message: reason})
}

// mismatch names what in a successful result disagrees with the attempt.
func mismatch(a *Attempt, r Result) string {
	switch {
	case !r.HasAmount && !r.AmountFixed:
		return "the provider confirmed a payment without an amount"
	case r.HasAmount && r.Amount != a.Amount:
		return fmt.Sprintf("the provider reports %s paid, the order is for %s", money.Amount(r.Amount), money.Amount(a.Amount))
	case r.Currency != a.Currency:
		return fmt.Sprintf("the provider reports currency %q, the order is in %s", r.Currency, a.Currency)
	case r.Reference != a.ID:
		return fmt.Sprintf("the provider reports reference %q, the attempt is %s", r.Reference, a.ID)
	}
	return ""
}

func describeResult(r Result) string {
	switch {
	case r.Reversed:
		return "provider says: reversed"
	case r.Status == AttemptSucceeded && !r.HasAmount && r.AmountFixed:
		return "provider says: paid, receipt " + r.Receipt + " (no amount reported; the prompt's amount, which the customer could not change)"
	case r.Status == AttemptSucceeded:
		return "provider says: paid, receipt " + r.Receipt
	case r.Status == AttemptFailed:
		return "provider says: failed: " + r.Message
	}
	return "provider says: pending"
}

func firstNonEmpty(vals ...string) string {
	for _, v := range vals {
		if v != "" {
			return v
		}
	}
	return ""
}
