package payments

import (
	"context"
	"crypto/rand"
	"crypto/subtle"
	"encoding/hex"
	"errors"
	"slices"
	"strings"
	"sync"
	"time"

	"checkout/store"
)

// ErrBadAPIKey: no merchant has this API key, or it was revoked or has
// expired (one answer for all three: a caller learns nothing from it).
var ErrBadAPIKey = errors.New("the API key is not valid")

// ErrKeyInactive: the key was revoked or has expired already.
var ErrKeyInactive = store.ErrKeyInactive

// APIKey is one of a merchant's API keys as the admin sees it (never the
// key itself: only its hash is kept).
type APIKey = store.APIKey

// KeyUseInterval is how often at most a key's last use is written: the API
// path reads the key on every call, and writes its use once a minute.
const KeyUseInterval = time.Minute

// Rotation overlaps the admin offers: how long the replaced key keeps
// working.
var RotationOverlaps = []time.Duration{time.Hour, 24 * time.Hour, 7 * 24 * time.Hour}

// keyUses remembers when this process last wrote each key's use, so that a
// burst of calls on a key whose stored use is old writes it once, not once
// per call in flight.
type keyUses struct {
	mu   sync.Mutex
	last map[string]time.Time
}

// claim reports whether this call should write key id's use at now, and
// remembers that it does.
func (u *keyUses) claim(id string, now time.Time) bool {
	u.mu.Lock()
	defer u.mu.Unlock()
	if u.last == nil {
		u.last = map[string]time.Time{}
	}
	if t, ok := u.last[id]; ok && now.Sub(t) < KeyUseInterval {
		return false
	}
	if len(u.last) > 10_000 {
		// Keys are few; a map this large only holds uses long past.
		clear(u.last)
	}
	u.last[id] = now
	return true
}

// Authenticate finds the merchant whose API key this is. ErrBadAPIKey when
// none is, or the key was revoked or its rotation's overlap has ended. The
// key's last use is written when the stored one is a minute old or more.
func (s *Service) Authenticate(ctx context.Context, key string) (*Merchant, error) {
	key = strings.TrimSpace(key)
	o, err := s.st.MerchantByAPIKey(ctx, key)
	if errors.Is(err, store.ErrNotFound) {
		return nil, ErrBadAPIKey
	}
	if err != nil {
		return nil, err
	}
	// The lookup is by hash; compare again in constant time for good measure.
	if subtle.ConstantTimeCompare([]byte(o.Key.KeyHash), []byte(store.HashAPIKey(key))) != 1 {
		return nil, ErrBadAPIKey
	}
	now := s.now()
	if !o.Key.Works(now) {
		return nil, ErrBadAPIKey
	}
	since := now.Add(-KeyUseInterval)
	if (o.Key.LastUsedAt == nil || !o.Key.LastUsedAt.After(since)) && s.keyUses.claim(o.Key.ID, now) {
		if err := s.st.TouchAPIKey(ctx, o.Key.ID, now, since); err != nil {
			// The call stands: a last-used time is a hint for people.
			s.log.WarnContext(ctx, "writing an API key's last use failed", "key_id", o.Key.ID, "err", err)
		}
	}
	return &o.Merchant, nil
}

// newAPIKey makes a key of this mode: sk_live_ in live mode, sk_sandbox_ in
// test mode, then 32 random hex digits (128 bits).
func (s *Service) newAPIKey() string {
	var b [16]byte
	rand.Read(b[:]) // never fails: the runtime stops the program if it cannot read
	prefix := "sk_live_"
	if s.cfg.TestMode {
		prefix = "sk_sandbox_"
	}
	return prefix + hex.EncodeToString(b[:])
}

// APIKeys lists a merchant's keys, newest first.
func (s *Service) APIKeys(ctx context.Context, merchantID string) ([]APIKey, error) {
	return s.st.APIKeys(ctx, merchantID)
}

// CreateAPIKey adds a named key to a merchant and returns it with the key
// itself, which is shown once and never again. name is required (at most
// 60 characters); createdBy is the admin's email.
func (s *Service) CreateAPIKey(ctx context.Context, merchantID, name, createdBy string) (*APIKey, string, error) {
	name = strings.TrimSpace(name)
	switch {
	case name == "":
		return nil, "", &FieldError{Code: "required", Field: "name", Message: "Give the key a name, for example the shop's server."}
	case len([]rune(name)) > 60:
		return nil, "", &FieldError{Code: "invalid", Field: "name", Message: "A key's name is at most 60 characters."}
	}
	key := s.newAPIKey()
	k := &APIKey{ID: store.NewID("key", s.now()), MerchantID: merchantID, Name: name, CreatedBy: createdBy}
	if err := s.st.CreateAPIKey(ctx, k, key); err != nil {
		return nil, "", err
	}
	s.log.InfoContext(ctx, "API key created", "merchant_id", merchantID, "key_id", k.ID, "hint", k.Hint)
	return k, key, nil
}

// RotateAPIKey replaces a merchant's key by a new one, shown once: the old
// key keeps working for overlap (one of RotationOverlaps), then is refused.
// It returns the old key (with its new expiry), the new one and the new
// key itself.
func (s *Service) RotateAPIKey(ctx context.Context, merchantID, keyID string, overlap time.Duration, createdBy string) (old, next *APIKey, key string, err error) {
	if !slices.Contains(RotationOverlaps, overlap) {
		return nil, nil, "", &FieldError{Code: "invalid", Field: "overlap", Message: "Choose how long the old key keeps working."}
	}
	key = s.newAPIKey()
	next = &APIKey{ID: store.NewID("key", s.now()), CreatedBy: createdBy}
	old, err = s.st.RotateAPIKey(ctx, merchantID, keyID, next, key, overlap)
	if err != nil {
		return nil, nil, "", err
	}
	s.log.InfoContext(ctx, "API key rotated", "merchant_id", merchantID, "key_id", keyID, "new_key_id", next.ID)
	return old, next, key, nil
}

// RevokeAPIKey ends a merchant's key at once.
func (s *Service) RevokeAPIKey(ctx context.Context, merchantID, keyID string) (*APIKey, error) {
	k, err := s.st.RevokeAPIKey(ctx, merchantID, keyID)
	if err != nil {
		return nil, err
	}
	s.log.InfoContext(ctx, "API key revoked", "merchant_id", merchantID, "key_id", keyID)
	return k, nil
}
