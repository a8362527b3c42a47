package payments

import (
	"fmt"
	"time"
)

// Limiter is a token bucket per key (web.Limiter is one): Take spends one
// token of key's bucket at now, or says how long until one is.
type Limiter interface {
	Take(key string, now time.Time) (bool, time.Duration)
}

// RateLimitedError: too many notifications for one reference. Nothing was
// read from the provider or stored; the sender may retry after RetryAfter.
type RateLimitedError struct {
	RetryAfter time.Duration
}

func (e *RateLimitedError) Error() string {
	return fmt.Sprintf("too many notifications for this reference; retry after %s", e.RetryAfter)
}

// notificationAllowed applies Config.NotificationLimit to one notification
// of source for ref, where the reference has just been parsed: a provider
// retries one payment's notification a few times, never hundreds, and each
// costs a query to the provider.
func (s *Service) notificationAllowed(source, ref string) error {
	if s.cfg.NotificationLimit == nil {
		return nil
	}
	if len(ref) > 100 {
		ref = ref[:100] // no reference is longer; bounds the limiter's memory
	}
	if ok, wait := s.cfg.NotificationLimit.Take(source+" "+ref, s.now()); !ok {
		return &RateLimitedError{RetryAfter: wait}
	}
	return nil
}
