package store

import (
	"context"
	"fmt"
	"time"
)

// A lease is a named right that one holder has until a time: work that
// must not run twice at once across the processes sharing a database (one
// webhook try in flight per merchant endpoint) takes it first. A holder
// that dies keeps it only until it runs out.

// AcquireLease takes the lease name for holder until `until`, if nobody
// holds it, its holder is holder already, or its holder's time ran out by
// now. One statement (an upsert guarded by its WHERE), so of several
// processes asking at once exactly one gets it.
func (s *Store) AcquireLease(ctx context.Context, name, holder string, now, until time.Time) (bool, error) {
	now, until = now.UTC(), until.UTC()
	res := s.w.WithContext(ctx).Exec(`INSERT INTO leases (name, holder, expires_at) VALUES (?, ?, ?)
		ON CONFLICT (name) DO UPDATE SET holder = excluded.holder, expires_at = excluded.expires_at
		WHERE leases.expires_at <= ? OR leases.holder = ?`, name, holder, until, now, holder)
	if res.Error != nil {
		return false, fmt.Errorf("store: acquire lease %s: %w", name, res.Error)
	}
	return res.RowsAffected == 1, nil
}

// ReleaseLease gives the lease back, if holder still holds it (one whose
// time ran out may have been taken over: that holder's lease stays).
func (s *Store) ReleaseLease(ctx context.Context, name, holder string) error {
	if err := s.w.WithContext(ctx).Exec(`DELETE FROM leases WHERE name = ? AND holder = ?`, name, holder).Error; err != nil {
		return fmt.Errorf("store: release lease %s: %w", name, err)
	}
	return nil
}
