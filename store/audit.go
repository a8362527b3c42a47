package store

import (
	"context"
	"fmt"
	"time"
)

// AuditEntry is one line of the audit log: who (actor), did what (action),
// to which object, when, from which address. The table refuses UPDATE and
// DELETE (migration 17). Detail never holds a secret.
type AuditEntry struct {
	ID         int64 `gorm:"primaryKey"`
	CreatedAt  time.Time
	ActorID    string
	ActorEmail string
	Action     string
	ObjectType string
	ObjectID   string
	IP         string
	Detail     string
}

// TableName is the audit log's table.
func (AuditEntry) TableName() string { return "audit_log" }

// AuditFilter narrows the audit log: each set field must match exactly.
// Before pages: only entries older than that id (0: from the newest).
type AuditFilter struct {
	Action, ActorEmail, ObjectID string
	Before                       int64
	Limit                        int
}

// maxAuditPage bounds one page of the audit log.
const maxAuditPage = 200

// AddAudit appends an entry; its time is the store's clock.
func (s *Store) AddAudit(ctx context.Context, e *AuditEntry) error {
	e.ID = 0
	e.CreatedAt = s.now()
	if err := s.w.WithContext(ctx).Create(e).Error; err != nil {
		return fmt.Errorf("store: audit %s: %w", e.Action, err)
	}
	return nil
}

// AuditEntries lists entries newest first, by keyset (f.Before), at most
// f.Limit (1 to 200; 0 is 50).
func (s *Store) AuditEntries(ctx context.Context, f AuditFilter) ([]AuditEntry, error) {
	limit := f.Limit
	if limit <= 0 {
		limit = 50
	}
	limit = min(limit, maxAuditPage)
	q := s.r.WithContext(ctx).Model(&AuditEntry{})
	if f.Action != "" {
		q = q.Where("action = ?", f.Action)
	}
	if f.ActorEmail != "" {
		q = q.Where("actor_email = ?", f.ActorEmail)
	}
	if f.ObjectID != "" {
		q = q.Where("object_id = ?", f.ObjectID)
	}
	if f.Before > 0 {
		q = q.Where("id < ?", f.Before)
	}
	var out []AuditEntry
	if err := q.Order("id DESC").Limit(limit).Find(&out).Error; err != nil {
		return nil, fmt.Errorf("store: audit entries: %w", err)
	}
	return out, nil
}
