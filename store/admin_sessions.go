package store

import (
	"context"
	"fmt"
	"time"

	"gorm.io/gorm"
)

// MaxUserAgent is how much of a browser's User-Agent a session row keeps.
const MaxUserAgent = 200

// AdminSessionID is the row id of the session whose cookie carries token:
// its SHA-256, in hex. The table never holds the token itself.
func AdminSessionID(token string) string { return HashAPIKey(token) }

// CreateAdminSession records a new session of the admin, seen now, from
// ip with userAgent (cut to MaxUserAgent bytes, on a character boundary).
func (s *Store) CreateAdminSession(ctx context.Context, id, adminID, ip, userAgent string) (*AdminSession, error) {
	now := s.now()
	row := AdminSession{ID: id, AdminID: adminID, CreatedAt: now, LastSeenAt: now, IP: ip, UserAgent: cutUTF8(userAgent, MaxUserAgent)}
	if err := s.w.WithContext(ctx).Create(&row).Error; err != nil {
		if duplicate(err) {
			return nil, fmt.Errorf("store: create admin session: %w", ErrDuplicate)
		}
		return nil, fmt.Errorf("store: create admin session: %w", err)
	}
	return &row, nil
}

// AdminSessionByID loads a session row, revoked or not; ErrNotFound when
// there is none (never made, or pruned).
func (s *Store) AdminSessionByID(ctx context.Context, id string) (*AdminSession, error) {
	var row AdminSession
	if err := s.r.WithContext(ctx).Where("id = ?", id).First(&row).Error; err != nil {
		if notFound(err) {
			return nil, fmt.Errorf("store: admin session: %w", ErrNotFound)
		}
		return nil, fmt.Errorf("store: load admin session: %w", err)
	}
	return &row, nil
}

// TouchAdminSession sets the session's last_seen_at to now if it is older
// than every: a session in use is written about once per every, not on
// each request. It reports whether it wrote.
func (s *Store) TouchAdminSession(ctx context.Context, id string, every time.Duration) (bool, error) {
	now := s.now()
	res := s.w.WithContext(ctx).Model(&AdminSession{}).
		Where("id = ? AND revoked_at IS NULL AND last_seen_at <= ?", id, now.Add(-every)).
		Update("last_seen_at", now)
	if res.Error != nil {
		return false, fmt.Errorf("store: touch admin session: %w", res.Error)
	}
	return res.RowsAffected == 1, nil
}

// RevokeAdminSession ends the live session id of the admin adminID. A
// session that is not that admin's, already revoked, or unknown is
// ErrNotFound: nobody learns of another admin's sessions.
func (s *Store) RevokeAdminSession(ctx context.Context, adminID, id string) error {
	res := s.w.WithContext(ctx).Model(&AdminSession{}).
		Where("id = ? AND admin_id = ? AND revoked_at IS NULL", id, adminID).
		Update("revoked_at", s.now())
	if res.Error != nil {
		return fmt.Errorf("store: revoke admin session: %w", res.Error)
	}
	if res.RowsAffected != 1 {
		return fmt.Errorf("store: revoke admin session: %w", ErrNotFound)
	}
	return nil
}

// LiveAdminSessions lists the admin's sessions not revoked and seen since
// seenSince, most recently seen first, at most limit of them.
func (s *Store) LiveAdminSessions(ctx context.Context, adminID string, seenSince time.Time, limit int) ([]AdminSession, error) {
	var rows []AdminSession
	err := s.r.WithContext(ctx).Where("admin_id = ? AND revoked_at IS NULL AND last_seen_at >= ?", adminID, seenSince).
		Order("last_seen_at DESC, id").Limit(limit).Find(&rows).Error
	if err != nil {
		return nil, fmt.Errorf("store: list sessions of %s: %w", adminID, err)
	}
	return rows, nil
}

// PruneAdminSessions deletes the rows of sessions last seen, or revoked,
// before cutoff, and returns how many.
func (s *Store) PruneAdminSessions(ctx context.Context, cutoff time.Time) (int64, error) {
	res := s.w.WithContext(ctx).Where("last_seen_at < ? OR revoked_at < ?", cutoff, cutoff).Delete(&AdminSession{})
	if res.Error != nil {
		return 0, fmt.Errorf("store: prune admin sessions: %w", res.Error)
	}
	return res.RowsAffected, nil
}

// SetAdminPassword stores a new password hash for the admin and, in the
// same transaction, revokes every live session of the admin and raises its
// session epoch (a login that passed the old password and still waits for
// its two-factor code is void too): whoever knew the old password is out.
// It returns how many sessions it ended.
func (s *Store) SetAdminPassword(ctx context.Context, id, passwordHash string) (ended int64, err error) {
	err = s.tx(ctx, func(tx *gorm.DB) error {
		now := s.now()
		res := tx.Model(&AdminUser{}).Where("id = ?", id).Updates(map[string]any{"password_hash": passwordHash,
			"session_epoch": gorm.Expr("session_epoch + 1"), "updated_at": now})
		if res.Error != nil {
			return res.Error
		}
		if res.RowsAffected != 1 {
			return ErrNotFound
		}
		res = tx.Model(&AdminSession{}).Where("admin_id = ? AND revoked_at IS NULL", id).Update("revoked_at", now)
		ended = res.RowsAffected
		return res.Error
	})
	if err != nil {
		return 0, fmt.Errorf("store: set password of %s: %w", id, err)
	}
	return ended, nil
}

// EnableTOTP switches two-factor login on with the sealed secret, and
// records step as used (the code that confirmed it cannot log in). In the
// same transaction it ends every session of the admin, as a password
// change does: a session opened with the password alone, or a copy of a
// cookie that still holds the secret being set up, is out (the caller
// starts a new session for the browser that switched it on). It refuses
// (ErrConflict) when it is on already.
func (s *Store) EnableTOTP(ctx context.Context, id, sealedSecret string, step int64) error {
	err := s.tx(ctx, func(tx *gorm.DB) error {
		now := s.now()
		res := tx.Model(&AdminUser{}).Where("id = ? AND totp_enabled_at IS NULL", id).
			Updates(map[string]any{"totp_secret": sealedSecret, "totp_enabled_at": now, "totp_last_step": step,
				"session_epoch": gorm.Expr("session_epoch + 1"), "updated_at": now})
		if res.Error != nil {
			return res.Error
		}
		if res.RowsAffected != 1 {
			return ErrConflict
		}
		return tx.Model(&AdminSession{}).Where("admin_id = ? AND revoked_at IS NULL", id).Update("revoked_at", now).Error
	})
	if err != nil {
		return fmt.Errorf("store: enable two-factor login of %s: %w", id, err)
	}
	return nil
}

// DisableTOTP switches two-factor login off and forgets the secret.
func (s *Store) DisableTOTP(ctx context.Context, id string) error {
	err := s.w.WithContext(ctx).Model(&AdminUser{}).Where("id = ?", id).
		Updates(map[string]any{"totp_secret": "", "totp_enabled_at": gorm.Expr("NULL"), "updated_at": s.now()}).Error
	if err != nil {
		return fmt.Errorf("store: disable two-factor login of %s: %w", id, err)
	}
	return nil
}

// UseTOTPStep records that a code of time step was accepted for the admin,
// if no code of that step or a later one was: one guarded write, so of two
// requests with the same code (two processes included) only one is told
// true.
func (s *Store) UseTOTPStep(ctx context.Context, id string, step int64) (bool, error) {
	res := s.w.WithContext(ctx).Model(&AdminUser{}).
		Where("id = ? AND totp_enabled_at IS NOT NULL AND totp_last_step < ?", id, step).
		Updates(map[string]any{"totp_last_step": step, "updated_at": s.now()})
	if res.Error != nil {
		return false, fmt.Errorf("store: use two-factor code of %s: %w", id, res.Error)
	}
	return res.RowsAffected == 1, nil
}

// cutUTF8 is s cut to at most n bytes without splitting a character.
func cutUTF8(s string, n int) string {
	if len(s) <= n {
		return s
	}
	for n > 0 && s[n]&0xC0 == 0x80 {
		n--
	}
	return s[:n]
}
