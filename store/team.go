package store

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"gorm.io/gorm"
)

// Admin roles, from least to most. A viewer reads; a manager also acts on
// orders, refunds, payouts, links and deliveries; an owner also runs the
// webhooks settings, merchants and keys, the team and the audit log.
const (
	RoleViewer  = "viewer"
	RoleManager = "manager"
	RoleOwner   = "owner"
)

// RoleRank orders the roles (viewer 1, manager 2, owner 3); 0 for anything
// else, so an unknown role can do nothing.
func RoleRank(role string) int {
	switch role {
	case RoleViewer:
		return 1
	case RoleManager:
		return 2
	case RoleOwner:
		return 3
	}
	return 0
}

// Team errors.
var (
	// ErrLastOwner refuses a change that would leave no owner.
	ErrLastOwner = errors.New("the last owner cannot be demoted or removed")
	// ErrInviteGone refuses an invite that was used, revoked or has
	// expired (or never existed).
	ErrInviteGone = errors.New("the invite is used, revoked or expired")
)

// AdminInvite is an owner's invitation of an email to the team with a
// role. Only the SHA-256 of its token is stored.
type AdminInvite struct {
	ID         string `gorm:"primaryKey"`
	Email      string
	Role       string
	TokenHash  string
	InvitedBy  string
	CreatedAt  time.Time
	ExpiresAt  time.Time
	AcceptedAt *time.Time
	RevokedAt  *time.Time
}

// TableName is the invites table.
func (AdminInvite) TableName() string { return "admin_invites" }

// TeamMember is an admin on the team page: LastLoginAt is the newest
// admin.login in the audit log (nil: none recorded).
type TeamMember struct {
	AdminUser
	LastLoginAt *time.Time
}

// Team lists the admins not removed, oldest first, with their last login.
func (s *Store) Team(ctx context.Context) ([]TeamMember, error) {
	var us []AdminUser
	if err := s.r.WithContext(ctx).Where("removed_at IS NULL").Order("created_at, id").Find(&us).Error; err != nil {
		return nil, fmt.Errorf("store: team: %w", err)
	}
	out := make([]TeamMember, len(us))
	ids := make([]string, len(us))
	for i, u := range us {
		out[i].AdminUser = u
		ids[i] = u.ID
	}
	if len(us) == 0 {
		return out, nil
	}
	// Each member's newest login: two indexed reads, whatever the size of
	// the team.
	var newest []int64
	if err := s.r.WithContext(ctx).Model(&AuditEntry{}).Select("MAX(id)").Where("action = ? AND actor_id IN ?", AuditAdminLogin, ids).
		Group("actor_id").Pluck("MAX(id)", &newest).Error; err != nil {
		return nil, fmt.Errorf("store: last logins: %w", err)
	}
	if len(newest) == 0 {
		return out, nil
	}
	var logins []AuditEntry
	if err := s.r.WithContext(ctx).Where("id IN ?", newest).Find(&logins).Error; err != nil {
		return nil, fmt.Errorf("store: last logins: %w", err)
	}
	at := make(map[string]time.Time, len(logins))
	for _, e := range logins {
		at[e.ActorID] = e.CreatedAt
	}
	for i := range out {
		if t, ok := at[out[i].ID]; ok {
			out[i].LastLoginAt = &t
		}
	}
	return out, nil
}

// AuditAdminLogin is the audit action of a login (the team page reads the
// newest as the admin's last login).
const AuditAdminLogin = "admin.login"

// AdminByID loads an admin, removed or not.
func (s *Store) AdminByID(ctx context.Context, id string) (*AdminUser, error) {
	var u AdminUser
	if err := s.r.WithContext(ctx).Where("id = ?", id).First(&u).Error; err != nil {
		if notFound(err) {
			return nil, fmt.Errorf("store: admin %s: %w", id, ErrNotFound)
		}
		return nil, fmt.Errorf("store: load admin %s: %w", id, err)
	}
	return &u, nil
}

// lockTeam makes the changes that count owners take turns on PostgreSQL
// (two owners demoting each other at once would otherwise both see the
// other still an owner). SQLite's writer already runs one at a time.
func lockTeam(tx *gorm.DB) error {
	if !isPostgres(tx) {
		return nil
	}
	if err := tx.Exec("SELECT pg_advisory_xact_lock(hashtextextended('checkout team ' || current_schema(), 0))").Error; err != nil {
		return fmt.Errorf("lock team: %w", err)
	}
	return nil
}

// otherOwners counts the owners not removed other than id.
func otherOwners(tx *gorm.DB, id string) (int64, error) {
	var n int64
	err := tx.Model(&AdminUser{}).Where("role = ? AND removed_at IS NULL AND id <> ?", RoleOwner, id).Count(&n).Error
	return n, err
}

// activeAdmin loads an admin who is not removed, in tx.
func activeAdmin(tx *gorm.DB, id string) (*AdminUser, error) {
	var u AdminUser
	if err := tx.Where("id = ? AND removed_at IS NULL", id).First(&u).Error; err != nil {
		if notFound(err) {
			return nil, ErrNotFound
		}
		return nil, err
	}
	return &u, nil
}

// SetAdminRole changes an admin's role and returns the role it had. It
// refuses (ErrLastOwner) to demote the last owner, and gives ErrNotFound
// for an unknown or removed admin. An owner demoted below owner can no
// longer invite: their open invites are revoked in the same transaction
// and returned (revoked).
func (s *Store) SetAdminRole(ctx context.Context, id, role string) (old string, revoked []AdminInvite, err error) {
	if RoleRank(role) == 0 {
		return "", nil, fmt.Errorf("store: set role of %s: unknown role %q", id, role)
	}
	err = s.tx(ctx, func(tx *gorm.DB) error {
		if err := lockTeam(tx); err != nil {
			return err
		}
		u, err := activeAdmin(tx, id)
		if err != nil {
			return err
		}
		old = u.Role
		if u.Role == RoleOwner && role != RoleOwner {
			n, err := otherOwners(tx, id)
			if err != nil {
				return err
			}
			if n == 0 {
				return ErrLastOwner
			}
			if revoked, err = revokeInvitesBy(tx, u.Email, s.now()); err != nil {
				return err
			}
		}
		return tx.Model(&AdminUser{}).Where("id = ?", id).Updates(map[string]any{"role": role, "updated_at": s.now()}).Error
	})
	if err != nil {
		return "", nil, fmt.Errorf("store: set role of %s: %w", id, err)
	}
	return old, revoked, nil
}

// revokeInvitesBy revokes the invites still open at now that the admin
// with this email made, and returns them (revoked).
func revokeInvitesBy(tx *gorm.DB, email string, now time.Time) ([]AdminInvite, error) {
	var open []AdminInvite
	if err := tx.Where("invited_by = ? AND accepted_at IS NULL AND revoked_at IS NULL AND expires_at > ?",
		strings.ToLower(email), now).Order("created_at, id").Find(&open).Error; err != nil {
		return nil, err
	}
	for i := range open {
		res := tx.Model(&AdminInvite{}).Where("id = ? AND accepted_at IS NULL AND revoked_at IS NULL", open[i].ID).
			Update("revoked_at", now)
		if res.Error != nil {
			return nil, res.Error
		}
		open[i].RevokedAt = &now
	}
	return open, nil
}

// RemoveAdmin removes an admin from the team: removed_at is set and the
// session epoch raised, so every session of theirs ends now (their rows
// are revoked too, so none is listed as live), and the
// invites they made that are still open are revoked (returned as
// revoked). It refuses (ErrLastOwner) to remove the last owner.
func (s *Store) RemoveAdmin(ctx context.Context, id string) (u *AdminUser, revoked []AdminInvite, err error) {
	err = s.tx(ctx, func(tx *gorm.DB) error {
		if err := lockTeam(tx); err != nil {
			return err
		}
		var err error
		if u, err = activeAdmin(tx, id); err != nil {
			return err
		}
		if u.Role == RoleOwner {
			n, err := otherOwners(tx, id)
			if err != nil {
				return err
			}
			if n == 0 {
				return ErrLastOwner
			}
		}
		now := s.now()
		if revoked, err = revokeInvitesBy(tx, u.Email, now); err != nil {
			return err
		}
		if err := tx.Model(&AdminSession{}).Where("admin_id = ? AND revoked_at IS NULL", id).Update("revoked_at", now).Error; err != nil {
			return err
		}
		return tx.Model(&AdminUser{}).Where("id = ?", id).Updates(map[string]any{"removed_at": now,
			"session_epoch": gorm.Expr("session_epoch + 1"), "updated_at": now}).Error
	})
	if err != nil {
		return nil, nil, fmt.Errorf("store: remove admin %s: %w", id, err)
	}
	return u, revoked, nil
}

// CreateInvite stores an invite (its token already hashed).
func (s *Store) CreateInvite(ctx context.Context, inv *AdminInvite) error {
	inv.Email = strings.ToLower(strings.TrimSpace(inv.Email))
	if err := s.w.WithContext(ctx).Create(inv).Error; err != nil {
		return fmt.Errorf("store: create invite for %q: %w", inv.Email, err)
	}
	return nil
}

// PendingInvites lists the invites neither used, revoked nor expired at
// now, newest first.
func (s *Store) PendingInvites(ctx context.Context, now time.Time) ([]AdminInvite, error) {
	var out []AdminInvite
	err := s.r.WithContext(ctx).Where("accepted_at IS NULL AND revoked_at IS NULL AND expires_at > ?", now.UTC()).
		Order("created_at DESC, id DESC").Find(&out).Error
	if err != nil {
		return nil, fmt.Errorf("store: pending invites: %w", err)
	}
	return out, nil
}

// InviteByTokenHash loads the invite that is still open at now (neither
// used, revoked nor expired) with this token hash; any other gives
// ErrInviteGone.
func (s *Store) InviteByTokenHash(ctx context.Context, hash string, now time.Time) (*AdminInvite, error) {
	var inv AdminInvite
	err := s.r.WithContext(ctx).Where("token_hash = ? AND accepted_at IS NULL AND revoked_at IS NULL AND expires_at > ?",
		hash, now.UTC()).First(&inv).Error
	if notFound(err) {
		return nil, fmt.Errorf("store: invite: %w", ErrInviteGone)
	}
	if err != nil {
		return nil, fmt.Errorf("store: load invite: %w", err)
	}
	return &inv, nil
}

// RevokeInvite revokes an open invite; one used, revoked or expired gives
// ErrInviteGone.
func (s *Store) RevokeInvite(ctx context.Context, id string) (*AdminInvite, error) {
	var inv AdminInvite
	err := s.tx(ctx, func(tx *gorm.DB) error {
		now := s.now()
		res := tx.Model(&AdminInvite{}).Where("id = ? AND accepted_at IS NULL AND revoked_at IS NULL AND expires_at > ?", id, now).
			Update("revoked_at", now)
		if res.Error != nil {
			return res.Error
		}
		if res.RowsAffected == 0 {
			return ErrInviteGone
		}
		return tx.Where("id = ?", id).First(&inv).Error
	})
	if err != nil {
		return nil, fmt.Errorf("store: revoke invite %s: %w", id, err)
	}
	return &inv, nil
}

// AcceptInvite uses the open invite with this token hash: in one
// transaction the invite is marked used (once: a second use gives
// ErrInviteGone) and the admin is created with its role and passwordHash.
// An admin removed earlier under the same email comes back with the new
// role and password (and a new session epoch). An email that is already an
// active admin gives ErrDuplicate, and the invite stays open.
func (s *Store) AcceptInvite(ctx context.Context, tokenHash, newID, passwordHash string) (*AdminUser, *AdminInvite, error) {
	var u AdminUser
	var inv AdminInvite
	err := s.tx(ctx, func(tx *gorm.DB) error {
		now := s.now()
		if err := tx.Where("token_hash = ? AND accepted_at IS NULL AND revoked_at IS NULL AND expires_at > ?",
			tokenHash, now).First(&inv).Error; err != nil {
			if notFound(err) {
				return ErrInviteGone
			}
			return err
		}
		res := tx.Model(&AdminInvite{}).Where("id = ? AND accepted_at IS NULL", inv.ID).Update("accepted_at", now)
		if res.Error != nil {
			return res.Error
		}
		if res.RowsAffected == 0 {
			return ErrInviteGone
		}
		inv.AcceptedAt = &now
		err := tx.Where("email = ?", inv.Email).First(&u).Error
		switch {
		case notFound(err):
			u = AdminUser{ID: newID, Email: inv.Email, PasswordHash: passwordHash, Role: inv.Role, CreatedAt: now, UpdatedAt: now}
			if err := tx.Create(&u).Error; err != nil {
				if duplicate(err) {
					return ErrDuplicate
				}
				return err
			}
			return nil
		case err != nil:
			return err
		case u.RemovedAt == nil:
			return ErrDuplicate
		}
		// The person coming back starts afresh: no two-factor secret of
		// before (whoever held it keeps nothing of the account), no
		// session of before left on the list.
		u.PasswordHash, u.Role, u.RemovedAt, u.FailedLogins, u.LastFailedAt = passwordHash, inv.Role, nil, 0, nil
		u.TOTPSecret, u.TOTPEnabledAt = "", nil
		u.SessionEpoch++
		u.UpdatedAt = now
		if err := tx.Model(&AdminUser{}).Where("id = ?", u.ID).Updates(map[string]any{"password_hash": passwordHash,
			"role": inv.Role, "removed_at": nil, "failed_logins": 0, "last_failed_at": nil,
			"totp_secret": "", "totp_enabled_at": nil,
			"session_epoch": u.SessionEpoch, "updated_at": now}).Error; err != nil {
			return err
		}
		return tx.Model(&AdminSession{}).Where("admin_id = ? AND revoked_at IS NULL", u.ID).Update("revoked_at", now).Error
	})
	if err != nil {
		return nil, nil, fmt.Errorf("store: accept invite: %w", err)
	}
	return &u, &inv, nil
}
