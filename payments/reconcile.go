package payments

import (
	"context"
	"errors"
	"math/rand/v2"
	"time"

	"checkout/gateway"
	"checkout/store"
)

// maxCheckInterval caps the reconciler's backoff (design.md: "backing off
// to every 5 min").
const maxCheckInterval = 5 * time.Minute

// nextCheck is the delay before the check after the n-th (n >= 1): the first
// delay doubled each time, capped, with 10% jitter so that many orders
// started together do not query together.
func nextCheck(first time.Duration, n int) time.Duration {
	d := first
	for i := 0; i < n && d < maxCheckInterval; i++ {
		d *= 2
	}
	if d > maxCheckInterval {
		d = maxCheckInterval
	}
	return d + time.Duration(rand.Int64N(int64(d/10)+1))
}

func (s *Service) confirmer(a *store.Attempt) gateway.Confirmer {
	if a.Method == MethodSTK {
		if s.cfg.STK != nil && s.cfg.STK.Name() == a.Provider {
			return s.cfg.STK
		}
		return nil
	}
	switch a.Provider {
	case ProviderPesapal:
		if s.cfg.Pesapal != nil {
			return s.cfg.Pesapal
		}
	case ProviderPokeaPay:
		if s.cfg.PokeaPay != nil {
			return s.cfg.PokeaPay
		}
	}
	return nil
}

func firstCheck(a *store.Attempt) time.Duration {
	switch {
	case a.Method == MethodSTK:
		return stkFirstCheck
	case a.Provider == ProviderPokeaPay:
		return pokeapayFirstCheck
	}
	return pesapalFirstCheck
}

// Recheck asks the provider about one attempt now and applies the answer
// (the reconciler, the return page and the admin's "Re-check" use it).
func (s *Service) Recheck(ctx context.Context, a *store.Attempt, source string) (*store.Checkout, store.Outcome, error) {
	q := gateway.Query{AttemptID: a.ID, ProviderReference: a.ProviderReference, Amount: gateway.Amount(a.Amount),
		Currency: a.Currency, Phone: a.Phone}
	return s.confirmAndApply(ctx, a, s.confirmer(a), q, source)
}

// RecheckCheckout asks the provider about every attempt of a checkout that
// reached the provider (the admin's button). A succeeded attempt is asked
// too: the provider may have reversed it.
func (s *Service) RecheckCheckout(ctx context.Context, checkoutID, source string) error {
	as, err := s.st.Attempts(ctx, checkoutID)
	if err != nil {
		return err
	}
	var errs []error
	for i := range as {
		if as[i].ProviderReference == "" && as[i].Method != MethodSTK {
			continue
		}
		if _, _, err := s.Recheck(ctx, &as[i], source); err != nil {
			errs = append(errs, err)
		}
	}
	return errors.Join(errs...)
}

// unstartedAfter is how long an attempt may wait for the provider's answer
// to the start call; past it, the process that started it must have stopped
// before the provider answered, the customer never saw a payment page, and
// the attempt is failed so the checkout can be paid again. It is the one
// failure without the provider's word, and only for an attempt with no
// provider reference and no page: nothing the customer could have paid. An
// STK push is never such an attempt (a push with no answer may have reached
// the phone; it is asked about by our own reference).
const unstartedAfter = 10 * time.Minute

// Reconcile runs one pass: query every pending attempt whose check is due,
// then expire checkouts past their deadline (querying their pending attempts
// one last time). Several processes may run it on one database: each due
// check is claimed atomically, and every change is a guarded transition.
//
// An attempt fails only on the provider's word (failed, cancelled, or, for
// a prompt, "no record" once it could no longer be answered). Silence (a
// query that errors or keeps answering pending) keeps it pending, asked
// with backoff (nextCheck) for store.PollFor after it started; then the
// automatic checks stop with an event, and it stays pending for the admin.
func (s *Service) Reconcile(ctx context.Context) error {
	now := s.now()
	due, err := s.st.DueAttempts(ctx, now, 100)
	if err != nil {
		return err
	}
	for i := range due {
		a := &due[i]
		claimed, err := s.st.ClaimAttempt(ctx, a, now.Add(nextCheck(firstCheck(a), a.Checks+1)))
		if err != nil {
			s.log.ErrorContext(ctx, "reconcile: claim", "attempt_id", a.ID, "err", err)
			continue
		}
		if !claimed {
			continue
		}
		// An STK prompt is asked about by our own reference, so it needs no
		// provider reference; the others were never shown to the customer.
		if a.ProviderReference == "" && a.RedirectURL == "" && a.Method != MethodSTK {
			if now.Sub(a.CreatedAt) > unstartedAfter {
				if err := s.st.AttemptNotStarted(ctx, a.ID, "The payment did not start. Nothing was charged; please try again.",
					"no answer from the provider to the start of the payment"); err != nil {
					s.log.ErrorContext(ctx, "reconcile: fail unstarted attempt", "attempt_id", a.ID, "err", err)
				}
			}
			continue
		}
		if _, _, err := s.Recheck(ctx, a, "reconciler"); err != nil && ctx.Err() == nil {
			s.log.WarnContext(ctx, "reconcile: attempt not confirmed", "attempt_id", a.ID, "checkout_id", a.CheckoutID, "err", err)
		}
	}

	stopped, err := s.st.StopPolling(ctx, now, 100)
	for i := range stopped {
		s.log.WarnContext(ctx, "reconcile: no verdict after the polling time; attempt left pending for the admin",
			"attempt_id", stopped[i].ID, "checkout_id", stopped[i].CheckoutID, "provider", stopped[i].Provider)
	}
	if err != nil {
		return err
	}

	expiring, err := s.st.DueExpiries(ctx, now, 100)
	if err != nil {
		return err
	}
	for i := range expiring {
		co := &expiring[i]
		pending, err := s.st.PendingAttempts(ctx, co.ID)
		if err != nil {
			s.log.ErrorContext(ctx, "reconcile: attempts of expiring checkout", "checkout_id", co.ID, "err", err)
			continue
		}
		for j := range pending {
			if pending[j].ProviderReference == "" && pending[j].Method != MethodSTK {
				continue
			}
			if _, _, err := s.Recheck(ctx, &pending[j], "reconciler"); err != nil && ctx.Err() == nil {
				s.log.WarnContext(ctx, "reconcile: last query before expiry failed", "attempt_id", pending[j].ID, "err", err)
			}
		}
		// Expired even when the last query failed: the deadline is the
		// merchant's promise to the customer. The attempts stay polled, and a
		// payment that completes late is flagged for review, not lost.
		if _, err := s.st.Expire(ctx, co.ID, "reconciler"); err != nil &&
			!errors.Is(err, store.ErrTransition) && !errors.Is(err, store.ErrConflict) {
			s.log.ErrorContext(ctx, "reconcile: expire", "checkout_id", co.ID, "err", err)
		}
	}
	return nil
}

// RunReconciler runs Reconcile every interval until ctx ends.
func (s *Service) RunReconciler(ctx context.Context, every time.Duration) {
	t := time.NewTicker(every)
	defer t.Stop()
	for {
		if err := s.Reconcile(ctx); err != nil && ctx.Err() == nil {
			s.log.ErrorContext(ctx, "reconcile pass failed", "err", err)
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}
