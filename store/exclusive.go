package store

import (
	"context"
	"fmt"
	"time"

	"gorm.io/gorm"
)

// StartExclusiveAttempt is StartAttempt for a method that may have only one
// attempt under way per checkout (an M-Pesa prompt): if the checkout already
// has a pending attempt of a.Method started less than within ago, nothing is
// written and that attempt is returned. The check and the insert are one
// transaction, so two submits at once start one attempt.
func (s *Store) StartExclusiveAttempt(ctx context.Context, a *Attempt, firstCheck, within time.Duration, source string) (*Attempt, error) {
	return s.StartPromptAttempt(ctx, a, firstCheck, within, source, time.Time{}, nil)
}

// StartPromptAttempt is StartExclusiveAttempt with a limit per phone: when
// the checkout has no active attempt, guard is given every attempt of
// a.Method to a.Phone created after since (of any checkout, newest first),
// in the same transaction as the insert; an error from it starts nothing and
// is returned as it is. Being one write transaction, the count holds across
// processes and restarts. A nil guard checks nothing.
func (s *Store) StartPromptAttempt(ctx context.Context, a *Attempt, firstCheck, within time.Duration, source string,
	since time.Time, guard func(recent []Attempt) error) (*Attempt, error) {
	var existing *Attempt
	err := retryConflicts(ctx, func() error {
		existing = nil
		return s.tx(ctx, func(tx *gorm.DB) error {
			// The checkout's row lock makes the check below and the insert
			// one step on PostgreSQL too: a second submit waits here and
			// then finds the first one's attempt.
			if _, err := lockCheckout(tx, a.CheckoutID); err != nil {
				return err
			}
			var found []Attempt
			if err := tx.Where("checkout_id = ? AND method = ? AND status = ? AND created_at > ?",
				a.CheckoutID, a.Method, AttemptPending, s.now().Add(-within)).Order("id DESC").Limit(1).Find(&found).Error; err != nil {
				return fmt.Errorf("store: active attempts of %s: %w", a.CheckoutID, err)
			}
			if len(found) == 1 {
				existing = &found[0]
				return nil
			}
			if guard != nil {
				// Prompts to one phone from different checkouts take turns
				// (PostgreSQL), so the guard counts every earlier one.
				if err := lockKey(tx, "prompts "+a.Method+" "+a.Phone); err != nil {
					return err
				}
				var recent []Attempt
				if err := tx.Where("phone = ? AND method = ? AND created_at > ?", a.Phone, a.Method, since).
					Order("created_at DESC").Find(&recent).Error; err != nil {
					return fmt.Errorf("store: recent attempts to a phone: %w", err)
				}
				if err := guard(recent); err != nil {
					return err
				}
			}
			return s.startAttempt(tx, a, firstCheck, source)
		})
	})
	if err != nil {
		return nil, err
	}
	return existing, nil
}

// FailAttempt fails a pending attempt that will not complete (the provider
// refused to start it, or an M-Pesa prompt went unanswered), returning the
// checkout to open with msg for the customer. why goes to the timeline.
func (s *Store) FailAttempt(ctx context.Context, attemptID, msg, why, payload string) error {
	return retryConflicts(ctx, func() error {
		return s.tx(ctx, func(tx *gorm.DB) error {
			co, a, err := lockAttempt(tx, attemptID)
			if err != nil {
				return err
			}
			if a.Status != AttemptPending {
				return nil
			}
			if err := s.addEvent(tx, &Event{CheckoutID: co.ID, AttemptID: a.ID, Kind: EventError, Source: a.Provider,
				Message: why, Payload: payload}); err != nil {
				return err
			}
			if err := s.setAttempt(tx, a, AttemptFailed, map[string]any{"message": msg}); err != nil {
				return err
			}
			return s.reopenIfIdle(tx, co, a, a.Provider, msg)
		})
	})
}
