package store

import (
	"context"
	"fmt"
	"time"

	"gorm.io/gorm"
	"gorm.io/gorm/clause"
)

// unknownNotification counts the notifications of one source, in one hour,
// that named a reference we never issued (migration 8). Nothing else of
// them is kept: anyone can send them, and a flood must not fill the disk.
type unknownNotification struct {
	Source string    `gorm:"primaryKey"`
	Hour   time.Time `gorm:"primaryKey"`
	Count  int64
}

func (unknownNotification) TableName() string { return "unknown_notifications" }

// CountUnknownNotification adds one to the counter of source for the
// current hour.
func (s *Store) CountUnknownNotification(ctx context.Context, source string) error {
	row := unknownNotification{Source: source, Hour: s.now().UTC().Truncate(time.Hour), Count: 1}
	err := s.tx(ctx, func(tx *gorm.DB) error {
		return tx.Clauses(clause.OnConflict{Columns: []clause.Column{{Name: "source"}, {Name: "hour"}},
			DoUpdates: clause.Assignments(map[string]any{"count": gorm.Expr("unknown_notifications.count + 1")})}).
			Create(&row).Error
	})
	if err != nil {
		return fmt.Errorf("store: count unknown notification of %s: %w", source, err)
	}
	return nil
}

// UnknownNotifications is how many notifications named a reference we never
// issued since the start of the hour that holds since (counted per hour, so
// the window may reach up to an hour further back).
func (s *Store) UnknownNotifications(ctx context.Context, since time.Time) (int64, error) {
	var n int64
	err := s.r.WithContext(ctx).Model(&unknownNotification{}).
		Where("hour >= ?", since.UTC().Truncate(time.Hour)).
		Select("COALESCE(SUM(count), 0)").Scan(&n).Error
	if err != nil {
		return 0, fmt.Errorf("store: count unknown notifications: %w", err)
	}
	return n, nil
}

// SourceCount is a count of notifications of one source.
type SourceCount struct {
	Source string
	Count  int64
}

// UnknownNotificationTotals is, per source, how many notifications named a
// reference we never issued over every stored hour, in source order.
func (s *Store) UnknownNotificationTotals(ctx context.Context) ([]SourceCount, error) {
	var rows []SourceCount
	err := s.r.WithContext(ctx).Model(&unknownNotification{}).
		Select("source, SUM(count) AS count").Group("source").Order("source").Scan(&rows).Error
	if err != nil {
		return nil, fmt.Errorf("store: total unknown notifications: %w", err)
	}
	return rows, nil
}
