package store

import (
	"context"
	"fmt"
	"time"

	"gorm.io/gorm"
	"gorm.io/gorm/clause"
)

// setting is one remembered value (migration 7).
type setting struct {
	Key       string `gorm:"primaryKey"`
	Value     string
	UpdatedAt time.Time
}

func (setting) TableName() string { return "settings" }

// Setting returns a remembered value, or ErrNotFound.
func (s *Store) Setting(ctx context.Context, key string) (string, error) {
	var row setting
	err := s.r.WithContext(ctx).Where("key = ?", key).Take(&row).Error
	if notFound(err) {
		return "", fmt.Errorf("store: setting %s: %w", key, ErrNotFound)
	}
	if err != nil {
		return "", fmt.Errorf("store: setting %s: %w", key, err)
	}
	return row.Value, nil
}

// SetSetting remembers value under key, replacing what was there.
func (s *Store) SetSetting(ctx context.Context, key, value string) error {
	err := s.tx(ctx, func(tx *gorm.DB) error {
		return tx.Clauses(clause.OnConflict{Columns: []clause.Column{{Name: "key"}},
			DoUpdates: clause.AssignmentColumns([]string{"value", "updated_at"})}).
			Create(&setting{Key: key, Value: value, UpdatedAt: s.now()}).Error
	})
	if err != nil {
		return fmt.Errorf("store: set setting %s: %w", key, err)
	}
	return nil
}

// ClaimSetting remembers value under key unless a value is there already,
// and returns the value that is remembered now: value the first time, the
// earlier one after. Processes starting together agree on one value.
func (s *Store) ClaimSetting(ctx context.Context, key, value string) (string, error) {
	var stored string
	err := s.tx(ctx, func(tx *gorm.DB) error {
		if err := tx.Clauses(clause.OnConflict{DoNothing: true}).
			Create(&setting{Key: key, Value: value, UpdatedAt: s.now()}).Error; err != nil {
			return err
		}
		var row setting
		if err := tx.Where("key = ?", key).Take(&row).Error; err != nil {
			return err
		}
		stored = row.Value
		return nil
	})
	if err != nil {
		return "", fmt.Errorf("store: claim setting %s: %w", key, err)
	}
	return stored, nil
}

// HasData reports whether the database holds a merchant or a checkout: the
// data a database's mode (test or live) is about.
func (s *Store) HasData(ctx context.Context) (bool, error) {
	var has bool
	err := s.r.WithContext(ctx).
		Raw(`SELECT EXISTS (SELECT 1 FROM merchants) OR EXISTS (SELECT 1 FROM checkouts)`).Scan(&has).Error
	if err != nil {
		return false, fmt.Errorf("store: has data: %w", err)
	}
	return has, nil
}

// HasTable reports whether the database has the named table, for a tool
// that looks at a database before migrating it (Options.SkipMigrations).
// An error is an error: a busy database is not taken for an empty one.
func (s *Store) HasTable(ctx context.Context, name string) (bool, error) {
	q := `SELECT COUNT(*) FROM sqlite_master WHERE type = 'table' AND name = ?`
	if s.postgres() {
		q = `SELECT COUNT(*) FROM information_schema.tables WHERE table_schema = current_schema() AND table_name = ?`
	}
	var n int64
	if err := s.r.WithContext(ctx).Raw(q, name).Scan(&n).Error; err != nil {
		return false, fmt.Errorf("store: has table %s: %w", name, err)
	}
	return n > 0, nil
}
