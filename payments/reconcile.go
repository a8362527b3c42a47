package payments

import (
	"context"
	"errors"
	"math/rand/v2"
	"sync"
	"sync/atomic"
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
	return s.recheck(ctx, a, source, nil)
}

// recheck is Recheck for a notification: note, its event, is stored with
// what the answer changes.
func (s *Service) recheck(ctx context.Context, a *store.Attempt, source string, note *store.Event) (*store.Checkout, store.Outcome, error) {
	q := gateway.Query{AttemptID: a.ID, ProviderReference: a.ProviderReference, Amount: gateway.Amount(a.Amount),
		Currency: a.Currency, Phone: a.Phone}
	out, err := s.confirmAndApply(ctx, a, s.confirmer(a), q, source, note)
	if err != nil {
		return nil, "", err
	}
	co, err := s.st.Checkout(ctx, a.CheckoutID)
	if err != nil {
		return nil, "", err
	}
	return co, out, nil
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

// background bounds the background workers, so that a provider or a
// merchant endpoint that hangs delays only its own work (design.md,
// "Background work never stalls").
type background struct {
	// checksPerProvider is how many checks of one provider run at once.
	checksPerProvider int
	// passBudget is how long one reconciler pass may run; what it has not
	// started by then is left for the next pass, and the checks still
	// asking the provider are cut (asked again at their next check).
	passBudget time.Duration
	// lastQuery bounds the query made just before a checkout expires: a
	// provider that does not answer by then does not hold the expiry.
	lastQuery time.Duration
	// expiriesAtOnce is how many checkouts are expired at once.
	expiriesAtOnce int
	// webhooksAtOnce is how many webhook deliveries are in flight at once
	// (at most one per endpoint).
	webhooksAtOnce int
	// drain is how long work under way may go on after the worker is told
	// to stop; then it is cut.
	drain time.Duration
	// running counts the workers' goroutines, so that tests can see none is
	// left behind.
	running *atomic.Int64
}

// defaultBackground is the product's bounds (README, "Limits and rate
// limits").
func defaultBackground() background {
	return background{checksPerProvider: 4, passBudget: 20 * time.Second, lastQuery: 15 * time.Second,
		expiriesAtOnce: 4, webhooksAtOnce: 8, drain: 5 * time.Second, running: new(atomic.Int64)}
}

// group runs goroutines counted in bg.running, and waits for them.
type group struct {
	wg      sync.WaitGroup
	running *atomic.Int64
}

func (g *group) Go(f func()) {
	g.wg.Add(1)
	g.running.Add(1)
	go func() {
		defer g.wg.Done()
		defer g.running.Add(-1)
		f()
	}()
}

func (g *group) Wait() { g.wg.Wait() }

// workContext is the context background work runs under, given stop, the
// worker's context: new work starts only while stop lasts, and work under
// way may go on for bg.drain after stop ends, and never past budget
// (0: no budget). The returned function ends it and waits for its watcher.
func (s *Service) workContext(stop context.Context, budget time.Duration) (context.Context, func()) {
	work, cancel := context.WithCancel(context.WithoutCancel(stop))
	if budget > 0 {
		var cancelBudget context.CancelFunc
		work, cancelBudget = context.WithTimeout(work, budget)
		prev := cancel
		cancel = func() { cancelBudget(); prev() }
	}
	g := group{running: s.bg.running}
	g.Go(func() {
		select {
		case <-work.Done():
			return
		case <-stop.Done():
		}
		t := time.NewTimer(s.bg.drain)
		defer t.Stop()
		select {
		case <-work.Done():
		case <-t.C:
			cancel()
		}
	})
	return work, func() { cancel(); g.Wait() }
}

// within is a provider that stops asking when bound ends, even when the
// context it is called with goes on (the writes after an answer use that
// one, so that an answer received is not lost to a cut).
type within struct {
	c     gateway.Confirmer
	bound context.Context
}

func (w within) Confirm(ctx context.Context, q gateway.Query) (gateway.Result, error) {
	ctx, cancel := context.WithCancelCause(ctx)
	defer cancel(nil)
	defer context.AfterFunc(w.bound, func() { cancel(context.Cause(w.bound)) })()
	// The deadline too, so that a client's retries can see the time left.
	if dl, ok := w.bound.Deadline(); ok {
		var cancelDeadline context.CancelFunc
		ctx, cancelDeadline = context.WithDeadline(ctx, dl)
		defer cancelDeadline()
	}
	return w.c.Confirm(ctx, q)
}

// recheckWithin is Recheck for the background: the provider is asked
// while bound lasts, and its answer applied even if bound ended meanwhile.
func (s *Service) recheckWithin(bound context.Context, a *store.Attempt) error {
	c := s.confirmer(a)
	if c != nil {
		c = within{c: c, bound: bound}
	}
	q := gateway.Query{AttemptID: a.ID, ProviderReference: a.ProviderReference, Amount: gateway.Amount(a.Amount),
		Currency: a.Currency, Phone: a.Phone}
	_, err := s.confirmAndApply(context.WithoutCancel(bound), a, c, q, "reconciler", nil)
	return err
}

// Reconcile runs one pass: query every pending attempt whose check is due,
// and expire checkouts past their deadline (querying their pending attempts
// one last time). Several processes may run it on one database: each due
// check is claimed atomically, and every change is a guarded transition.
//
// A provider that hangs holds only its own checks: each provider's checks
// run checksPerProvider at a time, apart from the others', the pass ends
// after passBudget (what it has not claimed waits for the next pass), and
// expiries run beside the checks, their last query bounded by lastQuery.
// When ctx ends no new work starts, and the work under way gets bg.drain
// to finish.
//
// An attempt fails only on the provider's word (failed, cancelled, or, for
// a prompt, "no record" once it could no longer be answered). Silence (a
// query that errors or keeps answering pending) keeps it pending, asked
// with backoff (nextCheck) for store.PollFor after it started; then the
// automatic checks stop with an event, and it stays pending for the admin.
func (s *Service) Reconcile(ctx context.Context) error {
	now := s.now()
	work, end := s.workContext(ctx, s.bg.passBudget)
	defer end()
	// stopped: no new work, when the caller stops or the budget is spent
	// (by the clock too: a query cut at the deadline may return before
	// work's own timer has fired).
	stopped := func() bool {
		if ctx.Err() != nil || work.Err() != nil {
			return true
		}
		dl, ok := work.Deadline()
		return ok && !time.Now().Before(dl)
	}

	g := group{running: s.bg.running}
	var checksErr, expiriesErr error
	g.Go(func() { checksErr = s.reconcileChecks(ctx, work, stopped, now) })
	g.Go(func() { expiriesErr = s.reconcileExpiries(ctx, work, stopped, now) })

	halted, err := s.st.StopPolling(ctx, now, 100)
	for i := range halted {
		s.log.WarnContext(ctx, "reconcile: no verdict after the polling time; attempt left pending for the admin",
			"attempt_id", halted[i].ID, "checkout_id", halted[i].CheckoutID, "provider", halted[i].Provider)
	}
	g.Wait()
	if ctx.Err() != nil {
		return nil
	}
	return errors.Join(err, checksErr, expiriesErr)
}

// reconcileChecks runs the due checks, each provider's apart.
func (s *Service) reconcileChecks(ctx, work context.Context, stopped func() bool, now time.Time) error {
	due, err := s.st.DueAttemptsPerProvider(ctx, now, 100)
	if err != nil {
		return err
	}
	g := group{running: s.bg.running}
	for _, list := range due {
		var next atomic.Int64
		for range min(len(list), s.bg.checksPerProvider) {
			g.Go(func() {
				for i := int(next.Add(1)) - 1; i < len(list) && !stopped(); i = int(next.Add(1)) - 1 {
					s.checkAttempt(ctx, work, &list[i], now)
				}
			})
		}
	}
	g.Wait()
	return nil
}

// checkAttempt claims one due check and makes it.
func (s *Service) checkAttempt(ctx, work context.Context, a *store.Attempt, now time.Time) {
	claimed, err := s.st.ClaimAttempt(ctx, a, now.Add(nextCheck(firstCheck(a), a.Checks+1)))
	if err != nil {
		if ctx.Err() == nil {
			s.log.ErrorContext(ctx, "reconcile: claim", "attempt_id", a.ID, "err", err)
		}
		return
	}
	if !claimed {
		return
	}
	// An STK prompt is asked about by our own reference, so it needs no
	// provider reference; the others were never shown to the customer.
	if a.ProviderReference == "" && a.RedirectURL == "" && a.Method != MethodSTK {
		if now.Sub(a.CreatedAt) > unstartedAfter {
			if err := s.notStarted(context.WithoutCancel(ctx), a, "The payment did not start. Nothing was charged; please try again.",
				"no answer from the provider to the start of the payment"); err != nil {
				s.log.ErrorContext(ctx, "reconcile: fail unstarted attempt", "attempt_id", a.ID, "err", err)
			}
		}
		return
	}
	if err := s.recheckWithin(work, a); err != nil && work.Err() == nil {
		s.log.WarnContext(ctx, "reconcile: attempt not confirmed", "attempt_id", a.ID, "checkout_id", a.CheckoutID, "err", err)
	}
}

// reconcileExpiries expires the checkouts past their deadline, a few at
// once, after one last query of their pending attempts. A provider that
// let a last query run out is not asked again in this pass.
func (s *Service) reconcileExpiries(ctx, work context.Context, stopped func() bool, now time.Time) error {
	expiring, err := s.st.DueExpiries(ctx, now, 100)
	if err != nil {
		return err
	}
	var mu sync.Mutex
	silent := map[string]bool{}
	lastQuery := func(a *store.Attempt) {
		mu.Lock()
		skip := silent[a.Provider]
		mu.Unlock()
		if skip {
			return
		}
		bound, cancel := context.WithTimeout(work, s.bg.lastQuery)
		defer cancel()
		err := s.recheckWithin(bound, a)
		if err == nil {
			return
		}
		if bound.Err() != nil && work.Err() == nil {
			mu.Lock()
			silent[a.Provider] = true
			mu.Unlock()
		}
		if work.Err() == nil {
			s.log.WarnContext(ctx, "reconcile: last query before expiry failed", "attempt_id", a.ID, "err", err)
		}
	}
	var next atomic.Int64
	g := group{running: s.bg.running}
	for range min(len(expiring), s.bg.expiriesAtOnce) {
		g.Go(func() {
			for i := int(next.Add(1)) - 1; i < len(expiring) && !stopped(); i = int(next.Add(1)) - 1 {
				s.expire(ctx, &expiring[i], lastQuery)
			}
		})
	}
	g.Wait()
	return nil
}

// expire makes the last queries of a checkout past its deadline and
// expires it.
func (s *Service) expire(ctx context.Context, co *store.Checkout, lastQuery func(*store.Attempt)) {
	pending, err := s.st.PendingAttempts(ctx, co.ID)
	if err != nil {
		if ctx.Err() == nil {
			s.log.ErrorContext(ctx, "reconcile: attempts of expiring checkout", "checkout_id", co.ID, "err", err)
		}
		return
	}
	for j := range pending {
		if pending[j].ProviderReference == "" && pending[j].Method != MethodSTK {
			continue
		}
		lastQuery(&pending[j])
	}
	// Expired even when the last query failed: the deadline is the
	// merchant's promise to the customer. The attempts stay polled, and a
	// payment that completes late is flagged for review, not lost.
	if _, err := s.st.Expire(context.WithoutCancel(ctx), co.ID, "reconciler"); err != nil &&
		!errors.Is(err, store.ErrTransition) && !errors.Is(err, store.ErrConflict) {
		s.log.ErrorContext(ctx, "reconcile: expire", "checkout_id", co.ID, "err", err)
	}
}

// RunReconciler runs Reconcile every interval until ctx ends; it returns
// once the pass under way has ended (within bg.drain of ctx ending).
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
