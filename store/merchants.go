package store

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"time"

	"gorm.io/gorm"
)

// HashAPIKey is how API keys are stored and looked up: SHA-256 is enough for
// a random 256-bit key, and it lets the lookup use an index.
func HashAPIKey(key string) string {
	sum := sha256.Sum256([]byte(key))
	return hex.EncodeToString(sum[:])
}

// KeyHint keeps the last four characters so an admin can tell keys apart.
func KeyHint(key string) string {
	if len(key) <= 4 {
		return ""
	}
	return key[len(key)-4:]
}

// StartupKeyName names the API key CHECKOUT_API_KEY (or the sandbox's
// start) gives a merchant, and the keys migration 16 copied in.
const StartupKeyName = "Start-up key"

// merchantColumns are the merchants columns Merchant holds: every one but
// the logo's bytes and the key of before migration 16 (api_keys holds the
// keys).
var merchantColumns = []string{"merchants.id", "merchants.name", "merchants.webhook_url", "merchants.webhook_secret",
	"merchants.logo_type", "merchants.logo_etag", "merchants.brand_color", "merchants.support_phone", "merchants.support_email", "merchants.methods",
	"merchants.success_url", "merchants.cancel_url", "merchants.created_at", "merchants.updated_at"}

// KeyOwner is what an API key authenticates: the key's row and its
// merchant.
type KeyOwner struct {
	Key      APIKey
	Merchant Merchant
}

// keyOwnerRow is KeyOwner as one joined row.
type keyOwnerRow struct {
	Merchant
	KeyID         string
	KeyName       string
	KeyHash       string
	KeyHint       string
	KeyCreatedAt  time.Time
	KeyCreatedBy  string
	KeyLastUsedAt *time.Time
	KeyExpiresAt  *time.Time
	KeyRevokedAt  *time.Time
}

// keyOwnerColumns are what MerchantByAPIKey reads: the merchant and the
// key.
var keyOwnerColumns = append(append([]string(nil), merchantColumns...), "api_keys.id AS key_id", "api_keys.name AS key_name",
	"api_keys.key_hash AS key_hash", "api_keys.hint AS key_hint", "api_keys.created_at AS key_created_at",
	"api_keys.created_by AS key_created_by", "api_keys.last_used_at AS key_last_used_at",
	"api_keys.expires_at AS key_expires_at", "api_keys.revoked_at AS key_revoked_at")

// MerchantByAPIKey finds the key with this hash's row and its merchant, in
// one read. Revoked and expired keys are found too: the caller decides
// (payments.Authenticate refuses them).
func (s *Store) MerchantByAPIKey(ctx context.Context, key string) (*KeyOwner, error) {
	var rows []keyOwnerRow
	err := s.r.WithContext(ctx).Table("api_keys").Select(keyOwnerColumns).
		Joins("JOIN merchants ON merchants.id = api_keys.merchant_id").
		Where("api_keys.key_hash = ?", HashAPIKey(key)).Limit(1).Scan(&rows).Error
	if err != nil {
		return nil, fmt.Errorf("store: merchant by key: %w", err)
	}
	if len(rows) == 0 {
		return nil, fmt.Errorf("store: merchant by key: %w", ErrNotFound)
	}
	r := rows[0]
	return &KeyOwner{Merchant: r.Merchant, Key: APIKey{ID: r.KeyID, MerchantID: r.ID, Name: r.KeyName,
		KeyHash: r.KeyHash, Hint: r.KeyHint, CreatedAt: r.KeyCreatedAt, CreatedBy: r.KeyCreatedBy,
		LastUsedAt: r.KeyLastUsedAt, ExpiresAt: r.KeyExpiresAt, RevokedAt: r.KeyRevokedAt}}, nil
}

// TouchAPIKey records that key id was used at now, unless a use later than
// since is recorded already (another request or instance wrote it
// within the interval the caller allows): at most one write per key per
// interval, whatever the number of requests.
func (s *Store) TouchAPIKey(ctx context.Context, id string, now, since time.Time) error {
	err := s.w.WithContext(ctx).Model(&APIKey{}).
		Where("id = ? AND (last_used_at IS NULL OR last_used_at <= ?)", id, since).
		Update("last_used_at", now).Error
	if err != nil {
		return fmt.Errorf("store: touch API key %s: %w", id, err)
	}
	return nil
}

// Merchant loads one merchant.
func (s *Store) Merchant(ctx context.Context, id string) (*Merchant, error) {
	var m Merchant
	if err := s.r.WithContext(ctx).Select(merchantColumns).First(&m, "id = ?", id).Error; err != nil {
		if notFound(err) {
			return nil, fmt.Errorf("store: merchant %s: %w", id, ErrNotFound)
		}
		return nil, fmt.Errorf("store: load merchant %s: %w", id, err)
	}
	return &m, nil
}

// Merchants lists every merchant by name.
func (s *Store) Merchants(ctx context.Context) ([]Merchant, error) {
	var ms []Merchant
	if err := s.r.WithContext(ctx).Select(merchantColumns).Order("name, id").Find(&ms).Error; err != nil {
		return nil, fmt.Errorf("store: list merchants: %w", err)
	}
	return ms, nil
}

// Logo is a merchant's logo image as stored.
type Logo struct {
	Data []byte
	// Type is its media type (image/png, image/jpeg, image/webp).
	Type string
	// Etag is the hex SHA-256 of Data, cut to 16 bytes.
	Etag string
}

// NewLogo makes the stored form of an image whose type the caller checked.
func NewLogo(data []byte, typ string) *Logo {
	sum := sha256.Sum256(data)
	return &Logo{Data: data, Type: typ, Etag: hex.EncodeToString(sum[:16])}
}

// CreateMerchant inserts m (with its logo, when one is given). A taken id
// is ErrDuplicate.
func (s *Store) CreateMerchant(ctx context.Context, m *Merchant, logo *Logo) error {
	now := s.now()
	m.CreatedAt, m.UpdatedAt = now, &now
	if logo != nil {
		m.LogoType, m.LogoEtag = logo.Type, logo.Etag
	}
	err := s.tx(ctx, func(tx *gorm.DB) error {
		if err := tx.Create(m).Error; err != nil {
			return err
		}
		if logo != nil {
			return tx.Model(&Merchant{}).Where("id = ?", m.ID).Update("logo", logo.Data).Error
		}
		return nil
	})
	if duplicate(err) {
		return fmt.Errorf("store: create merchant %s: %w", m.ID, ErrDuplicate)
	}
	if err != nil {
		return fmt.Errorf("store: create merchant %s: %w", m.ID, err)
	}
	return nil
}

// MerchantProfile is what the admin edits of a merchant.
type MerchantProfile struct {
	Name, BrandColor, SupportPhone, SupportEmail, Methods, SuccessURL, CancelURL string
}

// UpdateMerchant sets a merchant's profile, and its logo when logo is not
// nil; removeLogo (with logo nil) clears the logo.
func (s *Store) UpdateMerchant(ctx context.Context, id string, p MerchantProfile, logo *Logo, removeLogo bool) error {
	set := map[string]any{"name": p.Name, "brand_color": p.BrandColor, "support_phone": p.SupportPhone,
		"support_email": p.SupportEmail, "methods": p.Methods, "success_url": p.SuccessURL, "cancel_url": p.CancelURL,
		"updated_at": s.now()}
	switch {
	case logo != nil:
		set["logo"], set["logo_type"], set["logo_etag"] = logo.Data, logo.Type, logo.Etag
	case removeLogo:
		set["logo"], set["logo_type"], set["logo_etag"] = nil, "", ""
	}
	res := s.w.WithContext(ctx).Model(&Merchant{}).Where("id = ?", id).Updates(set)
	if res.Error != nil {
		return fmt.Errorf("store: update merchant %s: %w", id, res.Error)
	}
	if res.RowsAffected != 1 {
		return fmt.Errorf("store: update merchant %s: %w", id, ErrNotFound)
	}
	return nil
}

// MerchantLogo loads a merchant's logo; ErrNotFound when the merchant has
// none.
func (s *Store) MerchantLogo(ctx context.Context, id string) (*Logo, error) {
	var rows []struct {
		Logo     []byte
		LogoType string
		LogoEtag string
	}
	if err := s.r.WithContext(ctx).Table("merchants").Select("logo", "logo_type", "logo_etag").
		Where("id = ?", id).Limit(1).Scan(&rows).Error; err != nil {
		return nil, fmt.Errorf("store: logo of merchant %s: %w", id, err)
	}
	if len(rows) == 0 || len(rows[0].Logo) == 0 || rows[0].LogoType == "" {
		return nil, fmt.Errorf("store: logo of merchant %s: %w", id, ErrNotFound)
	}
	return &Logo{Data: rows[0].Logo, Type: rows[0].LogoType, Etag: rows[0].LogoEtag}, nil
}

// APIKeys lists a merchant's keys, newest first.
func (s *Store) APIKeys(ctx context.Context, merchantID string) ([]APIKey, error) {
	var ks []APIKey
	if err := s.r.WithContext(ctx).Where("merchant_id = ?", merchantID).Order("created_at DESC, id DESC").
		Find(&ks).Error; err != nil {
		return nil, fmt.Errorf("store: API keys of merchant %s: %w", merchantID, err)
	}
	return ks, nil
}

// CreateAPIKey adds a key to a merchant: k with its KeyHash and Hint set
// from key, which is not kept. ErrNotFound when the merchant does not
// exist.
func (s *Store) CreateAPIKey(ctx context.Context, k *APIKey, key string) error {
	k.KeyHash, k.Hint, k.CreatedAt = HashAPIKey(key), KeyHint(key), s.now()
	err := s.tx(ctx, func(tx *gorm.DB) error {
		var n int64
		if err := tx.Model(&Merchant{}).Where("id = ?", k.MerchantID).Count(&n).Error; err != nil {
			return err
		}
		if n == 0 {
			return ErrNotFound
		}
		return tx.Create(k).Error
	})
	if duplicate(err) {
		return fmt.Errorf("store: create API key: %w", ErrDuplicate)
	}
	if err != nil {
		return fmt.Errorf("store: create API key for %s: %w", k.MerchantID, err)
	}
	return nil
}

// ErrKeyInactive: the key is revoked or past its expiry, so it cannot be
// rotated or revoked again.
var ErrKeyInactive = errors.New("the key no longer works")

// activeKey loads merchantID's key id in tx; ErrNotFound for another
// merchant's, ErrKeyInactive for one revoked or expired at now.
func activeKey(tx *gorm.DB, merchantID, id string, now time.Time) (*APIKey, error) {
	var k APIKey
	if err := tx.Where("id = ? AND merchant_id = ?", id, merchantID).First(&k).Error; err != nil {
		if notFound(err) {
			return nil, ErrNotFound
		}
		return nil, err
	}
	if !k.Works(now) {
		return nil, ErrKeyInactive
	}
	return &k, nil
}

// RotateAPIKey replaces merchantID's key id by next (named as it, made
// from newKey): the old key keeps working until now+overlap (or its own
// earlier expiry), then is refused. ErrNotFound for another merchant's key,
// ErrKeyInactive for one that no longer works.
func (s *Store) RotateAPIKey(ctx context.Context, merchantID, id string, next *APIKey, newKey string, overlap time.Duration) (old *APIKey, err error) {
	now := s.now()
	err = s.tx(ctx, func(tx *gorm.DB) error {
		k, err := activeKey(tx, merchantID, id, now)
		if err != nil {
			return err
		}
		until := now.Add(overlap)
		if k.ExpiresAt != nil && k.ExpiresAt.Before(until) {
			until = *k.ExpiresAt
		}
		if err := tx.Model(&APIKey{}).Where("id = ?", id).Update("expires_at", until).Error; err != nil {
			return err
		}
		k.ExpiresAt = &until
		old = k
		next.MerchantID, next.Name = merchantID, k.Name
		next.KeyHash, next.Hint, next.CreatedAt = HashAPIKey(newKey), KeyHint(newKey), now
		return tx.Create(next).Error
	})
	if err != nil {
		return nil, fmt.Errorf("store: rotate API key %s: %w", id, err)
	}
	return old, nil
}

// RevokeAPIKey ends merchantID's key id at once. ErrNotFound for another
// merchant's key, ErrKeyInactive for one that no longer works.
func (s *Store) RevokeAPIKey(ctx context.Context, merchantID, id string) (*APIKey, error) {
	now := s.now()
	var k *APIKey
	err := s.tx(ctx, func(tx *gorm.DB) error {
		var err error
		if k, err = activeKey(tx, merchantID, id, now); err != nil {
			return err
		}
		k.RevokedAt = &now
		return tx.Model(&APIKey{}).Where("id = ?", id).Update("revoked_at", now).Error
	})
	if err != nil {
		return nil, fmt.Errorf("store: revoke API key %s: %w", id, err)
	}
	return k, nil
}

// EnsureMerchant creates the merchant with this id and API key unless the
// key is one of its keys already. It reports whether it created the
// merchant. A merchant that exists with other keys gets this one as its
// start-up key: the start-up keys of before are revoked (a changed
// CHECKOUT_API_KEY replaces the old), the keys made in the admin stay.
//
// A start never undoes what an owner did in the admin, and never deletes
// a key: when the key is known but no longer works because it was revoked
// or rotated in the admin, nothing changes and the error is
// ErrStartupKeyInactive (the process starts without it). Only a key a
// start itself revoked (the variable changed, then changed back) works
// again.
func (s *Store) EnsureMerchant(ctx context.Context, id, name, apiKey string) (bool, error) {
	created := false
	err := s.tx(ctx, func(tx *gorm.DB) error {
		created = false
		// Processes starting together check and insert one at a time.
		if err := lockKey(tx, "ensure merchant"); err != nil {
			return err
		}
		now := s.now()
		var known []APIKey
		if err := tx.Where("key_hash = ?", HashAPIKey(apiKey)).Limit(1).Find(&known).Error; err != nil {
			return err
		}
		if len(known) > 0 {
			k := known[0]
			expired := k.ExpiresAt != nil && !now.Before(*k.ExpiresAt)
			switch {
			case k.Works(now):
				return nil
			case expired || k.RevokedBy != RevokedByStartup || k.MerchantID != id:
				return ErrStartupKeyInactive
			}
			// Revoked by a start with another key, and configured again:
			// it is the start-up key once more.
			if err := revokeStartupKeys(tx, id, now); err != nil {
				return err
			}
			return tx.Model(&APIKey{}).Where("id = ?", k.ID).
				Updates(map[string]any{"revoked_at": nil, "revoked_by": ""}).Error
		}
		var byID int64
		if err := tx.Model(&Merchant{}).Where("id = ?", id).Count(&byID).Error; err != nil {
			return err
		}
		if byID == 0 {
			created = true
			if err := tx.Create(&Merchant{ID: id, Name: name, CreatedAt: now, UpdatedAt: &now}).Error; err != nil {
				return err
			}
		} else if err := revokeStartupKeys(tx, id, now); err != nil {
			return err
		}
		return tx.Create(&APIKey{ID: NewID("key", now), MerchantID: id, Name: StartupKeyName,
			KeyHash: HashAPIKey(apiKey), Hint: KeyHint(apiKey), CreatedAt: now}).Error
	})
	if duplicate(err) {
		// Another process starting at the same moment created it first.
		return false, fmt.Errorf("store: ensure merchant %s: %w", id, ErrDuplicate)
	}
	if err != nil {
		return false, fmt.Errorf("store: ensure merchant %s: %w", id, err)
	}
	return created, nil
}

// ErrStartupKeyInactive: the configured start-up key was revoked or
// rotated in the admin (or belongs to another merchant), so a start does
// not make it work again.
var ErrStartupKeyInactive = errors.New("the configured API key was revoked or replaced in the admin")

// revokeStartupKeys revokes merchant id's working start-up keys, marked as
// revoked by a start.
func revokeStartupKeys(tx *gorm.DB, id string, now time.Time) error {
	return tx.Model(&APIKey{}).Where("merchant_id = ? AND name = ? AND created_by = '' AND revoked_at IS NULL",
		id, StartupKeyName).Updates(map[string]any{"revoked_at": now, "revoked_by": RevokedByStartup}).Error
}

// HasMerchant reports whether a merchant with this id exists.
func (s *Store) HasMerchant(ctx context.Context, id string) (bool, error) {
	var n int64
	if err := s.r.WithContext(ctx).Model(&Merchant{}).Where("id = ?", id).Count(&n).Error; err != nil {
		return false, fmt.Errorf("store: find merchant %s: %w", id, err)
	}
	return n > 0, nil
}

// RenameMerchant sets the name customers see for the merchant.
func (s *Store) RenameMerchant(ctx context.Context, id, name string) error {
	if err := s.w.WithContext(ctx).Model(&Merchant{}).Where("id = ?", id).Update("name", name).Error; err != nil {
		return fmt.Errorf("store: rename merchant %s: %w", id, err)
	}
	return nil
}
