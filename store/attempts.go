package store

import (
	"context"
	"fmt"
	"time"

	"gorm.io/gorm"
)

// Attempt loads one payment attempt.
func (s *Store) Attempt(ctx context.Context, id string) (*Attempt, error) {
	var a Attempt
	if err := s.r.WithContext(s.pointRead(ctx)).First(&a, "id = ?", id).Error; err != nil {
		if notFound(err) {
			return nil, fmt.Errorf("store: attempt %s: %w", id, ErrNotFound)
		}
		return nil, fmt.Errorf("store: load attempt %s: %w", id, err)
	}
	return &a, nil
}

// AttemptByProviderReference finds the attempt a provider knows by ref.
func (s *Store) AttemptByProviderReference(ctx context.Context, provider, ref string) (*Attempt, error) {
	var a Attempt
	found, err := scanFirst(s.r.WithContext(s.pointRead(ctx)), attemptColumns, &a, "attempts",
		"WHERE provider = ? AND provider_reference = ? ORDER BY id LIMIT 1", provider, ref)
	if err != nil {
		return nil, fmt.Errorf("store: find %s attempt %q: %w", provider, ref, err)
	}
	if !found {
		return nil, fmt.Errorf("store: %s attempt %q: %w", provider, ref, ErrNotFound)
	}
	return &a, nil
}

// Attempts lists a checkout's attempts, newest first.
func (s *Store) Attempts(ctx context.Context, checkoutID string) ([]Attempt, error) {
	var as []Attempt
	if err := s.r.WithContext(ctx).Where("checkout_id = ?", checkoutID).Order("id DESC").Find(&as).Error; err != nil {
		return nil, fmt.Errorf("store: attempts of %s: %w", checkoutID, err)
	}
	return as, nil
}

// PendingAttempts lists a checkout's attempts still waiting for a verdict.
func (s *Store) PendingAttempts(ctx context.Context, checkoutID string) ([]Attempt, error) {
	var as []Attempt
	if err := s.r.WithContext(ctx).Where("checkout_id = ? AND status = ?", checkoutID, AttemptPending).
		Order("id").Find(&as).Error; err != nil {
		return nil, fmt.Errorf("store: pending attempts of %s: %w", checkoutID, err)
	}
	return as, nil
}

// PollFor is how long after it started a pending attempt is still polled.
// It outlives the longest checkout (24 h) so that a payment the provider
// completes late, after the checkout expired or was cancelled, is still
// found and flagged for review.
const PollFor = 72 * time.Hour

// DueAttempts lists pending attempts whose next provider check is due.
func (s *Store) DueAttempts(ctx context.Context, now time.Time, limit int) ([]Attempt, error) {
	var as []Attempt
	err := s.dueAttempts(ctx, now).Order("next_check_at").Limit(limit).Find(&as).Error
	if err != nil {
		return nil, fmt.Errorf("store: due attempts: %w", err)
	}
	return as, nil
}

func (s *Store) dueAttempts(ctx context.Context, now time.Time) *gorm.DB {
	return s.r.WithContext(ctx).Model(&Attempt{}).
		Where("status = ? AND next_check_at IS NOT NULL AND next_check_at <= ? AND created_at > ?",
			AttemptPending, now.UTC(), now.UTC().Add(-PollFor))
}

// DueAttemptsPerProvider lists pending attempts whose check is due, at
// most limit of each provider, so that one provider's backlog (a provider
// that hangs) never hides another's due checks.
func (s *Store) DueAttemptsPerProvider(ctx context.Context, now time.Time, limit int) (map[string][]Attempt, error) {
	var providers []string
	if err := s.dueAttempts(ctx, now).Distinct("provider").Order("provider").Pluck("provider", &providers).Error; err != nil {
		return nil, fmt.Errorf("store: providers with due attempts: %w", err)
	}
	due := make(map[string][]Attempt, len(providers))
	for _, p := range providers {
		var as []Attempt
		if err := s.dueAttempts(ctx, now).Where("provider = ?", p).Order("next_check_at").Limit(limit).Find(&as).Error; err != nil {
			return nil, fmt.Errorf("store: due attempts of %s: %w", p, err)
		}
		due[p] = as
	}
	return due, nil
}

// StopPolling ends the automatic checks of pending attempts started more
// than PollFor before now: their next check is cleared and an event says so.
// They stay pending (no provider said they failed), and the admin can still
// ask the provider from the order page. It returns the attempts it stopped.
func (s *Store) StopPolling(ctx context.Context, now time.Time, limit int) ([]Attempt, error) {
	var as []Attempt
	err := s.r.WithContext(ctx).Where("status = ? AND next_check_at IS NOT NULL AND created_at <= ?",
		AttemptPending, now.UTC().Add(-PollFor)).Order("created_at").Limit(limit).Find(&as).Error
	if err != nil {
		return nil, fmt.Errorf("store: attempts past the polling time: %w", err)
	}
	var stopped []Attempt
	for i := range as {
		a := as[i]
		done := false
		err := s.tx(ctx, func(tx *gorm.DB) error {
			// Guarded: a verdict applied or a check claimed meanwhile wins.
			res := tx.Model(&Attempt{}).Where("id = ? AND status = ? AND checks = ?", a.ID, AttemptPending, a.Checks).
				Updates(map[string]any{"next_check_at": nil, "updated_at": s.now()})
			if res.Error != nil {
				return res.Error
			}
			if done = res.RowsAffected == 1; !done {
				return nil
			}
			return s.addEvent(tx, &Event{CheckoutID: a.CheckoutID, AttemptID: a.ID, Kind: EventError, Source: "reconciler",
				Message: fmt.Sprintf("no final answer from %s %d h after the payment started: no longer asked automatically. "+
					"The payment stays pending; \"Re-check with provider\" asks again", a.Provider, int(PollFor.Hours()))})
		})
		if err != nil {
			return stopped, fmt.Errorf("store: stop polling attempt %s: %w", a.ID, err)
		}
		if done {
			a.NextCheckAt = nil
			stopped = append(stopped, a)
		}
	}
	return stopped, nil
}

// ClaimAttempt takes the attempt's next check for this process: it moves
// next_check_at to next only if nobody else claimed it since a was read
// (checks works as a version). Several reconcilers can share a database;
// each due check is claimed by exactly one.
func (s *Store) ClaimAttempt(ctx context.Context, a *Attempt, next time.Time) (bool, error) {
	var claimed bool
	err := s.tx(ctx, func(tx *gorm.DB) error {
		res := tx.Model(&Attempt{}).
			Where("id = ? AND status = ? AND checks = ?", a.ID, AttemptPending, a.Checks).
			Updates(map[string]any{"next_check_at": next.UTC(), "checks": a.Checks + 1})
		if res.Error != nil {
			return res.Error
		}
		claimed = res.RowsAffected == 1
		return nil
	})
	if err != nil {
		return false, fmt.Errorf("store: claim attempt %s: %w", a.ID, err)
	}
	if claimed {
		a.Checks++
		n := next.UTC()
		a.NextCheckAt = &n
	}
	return claimed, nil
}

// DueExpiries lists open or pending checkouts past their deadline.
func (s *Store) DueExpiries(ctx context.Context, now time.Time, limit int) ([]Checkout, error) {
	var cos []Checkout
	err := s.r.WithContext(ctx).Where("status IN ? AND expires_at <= ?", []Status{StatusOpen, StatusPending}, now.UTC()).
		Order("expires_at").Limit(limit).Find(&cos).Error
	if err != nil {
		return nil, fmt.Errorf("store: due expiries: %w", err)
	}
	return cos, nil
}
