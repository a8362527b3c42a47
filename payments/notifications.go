package payments

import (
	"context"
	"encoding/json"
	"fmt"
	"sync"
	"time"
	"unicode/utf8"

	"checkout/store"
)

// What one notification may leave in the timeline: anyone can send them, so
// what is stored is what the notification was parsed into, cut to a few KB,
// never the body as received.
const (
	maxStoredPayload = 2 << 10
	maxStoredMessage = 512
)

// truncated cuts s to at most n bytes on a rune boundary, marking the cut.
func truncated(s string, n int) string {
	if len(s) <= n {
		return s
	}
	const mark = "…(truncated)"
	s = s[:n-len(mark)]
	for len(s) > 0 && !utf8.ValidString(s) {
		s = s[:len(s)-1]
	}
	return s + mark
}

// parsedPayload is what a notification was parsed into, as JSON, for the
// event's payload.
func parsedPayload(v any) string {
	b, err := json.Marshal(v)
	if err != nil {
		// Structs of strings and bools always encode; say so in the
		// timeline rather than lose the event should that change.
		return fmt.Sprintf("(unencodable notification: %v)", err)
	}
	return truncated(string(b), maxStoredPayload)
}

// notification readies a notification's event for storing, its message
// and payload cut to their limits. It is written with what comes of asking
// the provider (store.Result.Notification, or with the failure in
// storeWithNote): one write per notification.
func notification(ev *store.Event) *store.Event {
	ev.Message = truncated(ev.Message, maxStoredMessage)
	ev.Payload = truncated(ev.Payload, maxStoredPayload)
	return ev
}

// storeWithNote writes evs, after the notification note if there is one,
// in one transaction.
func (s *Service) storeWithNote(ctx context.Context, note *store.Event, evs ...*store.Event) error {
	if note != nil {
		evs = append([]*store.Event{note}, evs...)
	}
	if len(evs) == 0 {
		return nil
	}
	return s.st.AddEvents(ctx, evs...)
}

// unknownReference records a notification naming a reference we never
// issued: a counter, shown in the admin, and a log line at most once a
// minute per source (with how many were not logged). Nothing else is kept.
func (s *Service) unknownReference(ctx context.Context, source, ref string) error {
	if err := s.st.CountUnknownNotification(ctx, source); err != nil {
		return err
	}
	if skipped, ok := s.unknownLog.allow(source, s.now()); ok {
		s.log.WarnContext(ctx, "notification for a reference we never issued", "source", source,
			"reference", truncated(ref, 100), "not_logged_since_last", skipped)
	}
	return nil
}

// UnknownNotifications is how many notifications named a reference we never
// issued in the last 24 hours (counted per hour).
func (s *Service) UnknownNotifications(ctx context.Context) (int64, error) {
	return s.st.UnknownNotifications(ctx, s.now().Add(-24*time.Hour))
}

// logSampler lets one line per key through each period and counts the
// rest. Its keys are the notification sources, a fixed handful.
type logSampler struct {
	period time.Duration
	mu     sync.Mutex
	last   map[string]time.Time
	quiet  map[string]int
}

func newLogSampler(period time.Duration) *logSampler {
	return &logSampler{period: period, last: map[string]time.Time{}, quiet: map[string]int{}}
}

// allow reports whether a line for key may be written now, and how many
// were held back since the last one.
func (l *logSampler) allow(key string, now time.Time) (int, bool) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if last, ok := l.last[key]; ok && now.Sub(last) < l.period {
		l.quiet[key]++
		return 0, false
	}
	n := l.quiet[key]
	l.last[key], l.quiet[key] = now, 0
	return n, true
}
