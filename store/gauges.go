package store

import (
	"context"
	"fmt"
	"time"
)

// Backlog is the background work waiting in the database, for the metrics
// (read at each scrape, so every query is a COUNT or a single row over an
// index: attempts by (status, next_check_at), deliveries by
// (status, next_attempt_at)).
type Backlog struct {
	// DueAttempts are the pending attempts whose provider check is due
	// (what DueAttempts lists, counted).
	DueAttempts int64
	// OldestPending is when the oldest attempt still pending and still
	// checked was started; zero when there is none.
	OldestPending time.Time
	// PendingDeliveries are the webhook deliveries not yet delivered nor
	// given up, due or waiting for a retry.
	PendingDeliveries int64
}

// Backlog counts the background work waiting at now.
func (s *Store) Backlog(ctx context.Context, now time.Time) (Backlog, error) {
	var b Backlog
	if err := s.dueAttempts(ctx, now).Count(&b.DueAttempts).Error; err != nil {
		return Backlog{}, fmt.Errorf("store: count due attempts: %w", err)
	}
	// The row itself rather than MIN(created_at): SQLite gives an
	// aggregate no column type, so it would come back as text.
	var oldest []Attempt
	if err := s.r.WithContext(ctx).Select("created_at").
		Where("status = ? AND next_check_at IS NOT NULL", AttemptPending).
		Order("created_at").Limit(1).Find(&oldest).Error; err != nil {
		return Backlog{}, fmt.Errorf("store: oldest pending attempt: %w", err)
	}
	if len(oldest) == 1 {
		b.OldestPending = oldest[0].CreatedAt
	}
	if err := s.r.WithContext(ctx).Model(&WebhookDelivery{}).Where("status = ?", DeliveryPending).
		Count(&b.PendingDeliveries).Error; err != nil {
		return Backlog{}, fmt.Errorf("store: count pending webhook deliveries: %w", err)
	}
	return b, nil
}
