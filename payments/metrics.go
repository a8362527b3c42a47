package payments

import (
	"context"

	"checkout/gateway"
	"checkout/metrics"
	"checkout/store"
)

// initMetrics makes the payment counters of each configured method show 0
// from the start, and gives the metrics the database figures to read at
// each scrape.
func (s *Service) initMetrics() {
	m := s.cfg.Metrics
	if m == nil {
		return
	}
	if s.cfg.Pesapal != nil {
		m.Payments(ProviderPesapal, MethodPesapal)
	}
	if s.cfg.PokeaPay != nil {
		m.Payments(ProviderPokeaPay, MethodPokeaPay)
	}
	if s.cfg.STK != nil {
		m.Payments(s.cfg.STK.Name(), MethodSTK)
	}
	m.ReadFrom(s.metricsSnapshot)
}

// metricsSnapshot reads the database figures of /metrics: the reconciler's
// backlog, the webhook queue and the notifications for references we never
// issued. Each is one bounded query over an index.
func (s *Service) metricsSnapshot(ctx context.Context) (metrics.Snapshot, error) {
	now := s.st.Now() // the clock the stored times were written with
	b, err := s.st.Backlog(ctx, now)
	if err != nil {
		return metrics.Snapshot{}, err
	}
	unknown, err := s.st.UnknownNotificationTotals(ctx)
	if err != nil {
		return metrics.Snapshot{}, err
	}
	snap := metrics.Snapshot{DueAttempts: b.DueAttempts, OldestPending: b.OldestPending, Now: now,
		PendingDeliveries: b.PendingDeliveries, Unknown: make([]metrics.SourceCount, len(unknown))}
	for i, u := range unknown {
		snap.Unknown[i] = metrics.SourceCount{Source: u.Source, Count: u.Count}
	}
	return snap, nil
}

// countOutcome counts what applying a provider's verdict did: a checkout
// that became paid, an attempt that failed. An outcome is returned once
// per transition (a repeated notification is OutcomeUnchanged), so each is
// counted once.
func (s *Service) countOutcome(a *store.Attempt, out store.Outcome) {
	switch out {
	case store.OutcomePaid:
		s.cfg.Metrics.PaymentPaid(a.Provider, a.Method)
	case store.OutcomeFailed:
		s.cfg.Metrics.PaymentFailed(a.Provider, a.Method)
	}
}

// notStarted fails an attempt the provider did not start, and counts the
// failure when this call made it.
func (s *Service) notStarted(ctx context.Context, a *store.Attempt, msg, payload string) error {
	failed, err := s.st.AttemptNotStarted(ctx, a.ID, msg, payload)
	if err != nil {
		return err
	}
	if failed {
		s.cfg.Metrics.PaymentFailed(a.Provider, a.Method)
	}
	return nil
}

// recordTry records one try of a webhook delivery and counts its outcome
// (the store refuses an outcome it does not know).
func (s *Service) recordTry(ctx context.Context, d *store.WebhookDelivery, try store.WebhookTry) error {
	if err := s.st.RecordWebhookTry(ctx, d, try); err != nil {
		return err
	}
	switch try.Outcome {
	case store.DeliveryDelivered:
		s.cfg.Metrics.WebhookTry(metrics.WebhookDelivered)
	case store.DeliveryPending:
		s.cfg.Metrics.WebhookTry(metrics.WebhookFailedTry)
	case store.DeliveryFailed:
		s.cfg.Metrics.WebhookTry(metrics.WebhookGivenUp)
	}
	return nil
}

// CallObserver counts the provider clients' exchanges in m: give it to
// each client's Config.Observer. nil for a nil m.
func CallObserver(m *metrics.Metrics) gateway.CallObserver {
	if m == nil {
		return nil
	}
	return callObserver{m}
}

type callObserver struct{ m *metrics.Metrics }

func (o callObserver) ObserveCall(c gateway.Call) {
	o.m.ProviderCall(c.Provider, c.Operation, c.Duration, metrics.CallReason(c.HTTPStatus, c.Failure))
}
