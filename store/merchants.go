package store

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"

	"gorm.io/gorm"
)

// HashAPIKey is how API keys are stored and looked up: SHA-256 is enough for
// a random 256-bit key, and it lets the lookup use an index.
func HashAPIKey(key string) string {
	sum := sha256.Sum256([]byte(key))
	return hex.EncodeToString(sum[:])
}

// keyHint keeps the last four characters so an admin can tell keys apart.
func keyHint(key string) string {
	if len(key) <= 4 {
		return ""
	}
	return key[len(key)-4:]
}

// MerchantByAPIKey finds the merchant whose key this is.
func (s *Store) MerchantByAPIKey(ctx context.Context, key string) (*Merchant, error) {
	var m Merchant
	if err := s.r.WithContext(ctx).Where("api_key_hash = ?", HashAPIKey(key)).First(&m).Error; err != nil {
		if notFound(err) {
			return nil, fmt.Errorf("store: merchant by key: %w", ErrNotFound)
		}
		return nil, fmt.Errorf("store: merchant by key: %w", err)
	}
	return &m, nil
}

// Merchant loads one merchant.
func (s *Store) Merchant(ctx context.Context, id string) (*Merchant, error) {
	var m Merchant
	if err := s.r.WithContext(ctx).First(&m, "id = ?", id).Error; err != nil {
		if notFound(err) {
			return nil, fmt.Errorf("store: merchant %s: %w", id, ErrNotFound)
		}
		return nil, fmt.Errorf("store: load merchant %s: %w", id, err)
	}
	return &m, nil
}

// EnsureMerchant creates the merchant with this id and API key unless a
// merchant already has the key. It reports whether it created one.
func (s *Store) EnsureMerchant(ctx context.Context, id, name, apiKey string) (bool, error) {
	created := false
	err := s.tx(ctx, func(tx *gorm.DB) error {
		created = false
		// Processes starting together check and insert one at a time.
		if err := lockKey(tx, "ensure merchant"); err != nil {
			return err
		}
		var n int64
		if err := tx.Model(&Merchant{}).Where("api_key_hash = ?", HashAPIKey(apiKey)).Count(&n).Error; err != nil {
			return err
		}
		if n > 0 {
			return nil
		}
		var byID int64
		if err := tx.Model(&Merchant{}).Where("id = ?", id).Count(&byID).Error; err != nil {
			return err
		}
		if byID > 0 {
			// The merchant exists with another key: the configured key replaces it.
			return tx.Model(&Merchant{}).Where("id = ?", id).
				Updates(map[string]any{"api_key_hash": HashAPIKey(apiKey), "api_key_hint": keyHint(apiKey)}).Error
		}
		created = true
		return tx.Create(&Merchant{ID: id, Name: name, APIKeyHash: HashAPIKey(apiKey), APIKeyHint: keyHint(apiKey),
			CreatedAt: s.now()}).Error
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
