package payments

import (
	"context"
	"crypto/subtle"
	"errors"
	"strings"

	"checkout/store"
)

// ErrBadAPIKey: no merchant has this API key.
var ErrBadAPIKey = errors.New("the API key is not valid")

// Authenticate finds the merchant whose API key this is. ErrBadAPIKey when
// none is.
func (s *Service) Authenticate(ctx context.Context, key string) (*Merchant, error) {
	key = strings.TrimSpace(key)
	m, err := s.st.MerchantByAPIKey(ctx, key)
	if errors.Is(err, store.ErrNotFound) {
		return nil, ErrBadAPIKey
	}
	if err != nil {
		return nil, err
	}
	// The lookup is by hash; compare again in constant time for good measure.
	if subtle.ConstantTimeCompare([]byte(m.APIKeyHash), []byte(store.HashAPIKey(key))) != 1 {
		return nil, ErrBadAPIKey
	}
	return m, nil
}
