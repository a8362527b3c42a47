package store

import (
	"context"
	"fmt"
	"strings"

	"gorm.io/gorm"
)

// AdminByEmail loads an admin by email (compared case-insensitively).
func (s *Store) AdminByEmail(ctx context.Context, email string) (*AdminUser, error) {
	var u AdminUser
	if err := s.r.WithContext(ctx).Where("email = ?", strings.ToLower(strings.TrimSpace(email))).First(&u).Error; err != nil {
		if notFound(err) {
			return nil, fmt.Errorf("store: admin %q: %w", email, ErrNotFound)
		}
		return nil, fmt.Errorf("store: load admin %q: %w", email, err)
	}
	return &u, nil
}

// CreateAdmin inserts an owner (the start-up admin); a taken email gives
// ErrDuplicate.
func (s *Store) CreateAdmin(ctx context.Context, id, email, passwordHash string) error {
	return s.CreateAdminWithRole(ctx, id, email, passwordHash, RoleOwner)
}

// CreateAdminWithRole inserts an admin with a role; a taken email gives
// ErrDuplicate.
func (s *Store) CreateAdminWithRole(ctx context.Context, id, email, passwordHash, role string) error {
	now := s.now()
	u := AdminUser{ID: id, Email: strings.ToLower(strings.TrimSpace(email)), PasswordHash: passwordHash, Role: role,
		CreatedAt: now, UpdatedAt: now}
	if err := s.w.WithContext(ctx).Create(&u).Error; err != nil {
		if duplicate(err) {
			return fmt.Errorf("store: create admin %q: %w", email, ErrDuplicate)
		}
		return fmt.Errorf("store: create admin %q: %w", email, err)
	}
	return nil
}

// RecordLoginFailure counts a failed login for the admin.
func (s *Store) RecordLoginFailure(ctx context.Context, id string) error {
	now := s.now()
	err := s.w.WithContext(ctx).Model(&AdminUser{}).Where("id = ?", id).
		Updates(map[string]any{"failed_logins": gorm.Expr("failed_logins + 1"), "last_failed_at": now, "updated_at": now}).Error
	if err != nil {
		return fmt.Errorf("store: record login failure for %s: %w", id, err)
	}
	return nil
}

// ResetLoginFailures clears the failure count after a good login.
func (s *Store) ResetLoginFailures(ctx context.Context, id string) error {
	err := s.w.WithContext(ctx).Model(&AdminUser{}).Where("id = ?", id).
		Updates(map[string]any{"failed_logins": 0, "last_failed_at": nil, "updated_at": s.now()}).Error
	if err != nil {
		return fmt.Errorf("store: reset login failures for %s: %w", id, err)
	}
	return nil
}

// EndSessions raises the admin's session epoch, so that every session cookie
// issued before (including copies of it) stops working.
func (s *Store) EndSessions(ctx context.Context, id string) error {
	err := s.w.WithContext(ctx).Model(&AdminUser{}).Where("id = ?", id).
		Updates(map[string]any{"session_epoch": gorm.Expr("session_epoch + 1"), "updated_at": s.now()}).Error
	if err != nil {
		return fmt.Errorf("store: end sessions of %s: %w", id, err)
	}
	return nil
}
