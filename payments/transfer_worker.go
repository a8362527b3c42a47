package payments

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"checkout/gateway"
	"checkout/money"
	"checkout/store"
)

// The transfer worker sends queued refunds and payouts and resolves the
// sent ones. Every send follows a committed claim (queued -> sending), won
// by one process; a row found in sending after its claim ran out was
// interrupted during the call and is never sent again.

// RunTransfers runs ProcessTransfers every `every` until ctx ends.
func (s *Service) RunTransfers(ctx context.Context, every time.Duration) {
	if s.cfg.Payouts == nil && s.cfg.Refunder == nil {
		return
	}
	work, end := s.workContext(ctx, 0)
	defer end()
	t := time.NewTicker(every)
	defer t.Stop()
	for {
		if err := s.processTransfers(ctx, work); err != nil && ctx.Err() == nil {
			s.log.ErrorContext(ctx, "transfer pass failed", "err", err)
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}

// ProcessTransfers makes one pass: at most transfersPerPass refunds and as
// many payouts, one after the other.
func (s *Service) ProcessTransfers(ctx context.Context) error {
	return s.processTransfers(ctx, ctx)
}

// processTransfers starts work only while stop lasts; work is the
// context the calls run under (it outlives stop by the drain).
func (s *Service) processTransfers(stop, work context.Context) error {
	now := s.now()
	rs, ps, err := s.st.DueTransfers(work, now, now.Add(-sendLease), transfersPerPass)
	if err != nil {
		return err
	}
	var errs []error
	for i := range rs {
		if stop.Err() != nil {
			return errors.Join(errs...)
		}
		if err := s.processRefund(work, &rs[i]); err != nil {
			errs = append(errs, err)
		}
	}
	for i := range ps {
		if stop.Err() != nil {
			return errors.Join(errs...)
		}
		if err := s.processPayout(work, &ps[i]); err != nil {
			errs = append(errs, err)
		}
	}
	return errors.Join(errs...)
}

// notStage: the row moved on under us (another process, a callback).
func notStage(err error) error {
	if errors.Is(err, store.ErrStage) {
		return nil
	}
	return err
}

func (s *Service) processRefund(ctx context.Context, r *Refund) error {
	switch r.Stage {
	case store.StageSending:
		_, err := s.st.StaleRefundToAttention(ctx, r.ID, s.now().Add(-sendLease),
			"The refund request was interrupted (no answer was recorded). It is never sent again: check the "+
				"Pesapal dashboard, then mark it refunded or failed.")
		return err
	case store.StageQueued:
		return s.sendRefund(ctx, r)
	}
	return nil
}

// sendRefund sends a queued Pesapal refund request, once.
func (s *Service) sendRefund(ctx context.Context, r *Refund) error {
	queued := []string{store.StageQueued}
	// What the worker cannot send goes to a person at once: left queued,
	// it would come back first in every pass and starve the others.
	if s.cfg.Refunder == nil {
		return notStage(s.st.ToAttention(ctx, store.KindRefund, r.ID, queued,
			"Pesapal refunds are not configured here (no refund client): nothing was sent. Refund it in the Pesapal "+
				"dashboard and mark it refunded, or mark it failed.", "worker", ""))
	}
	a, err := s.st.Attempt(ctx, r.AttemptID)
	if errors.Is(err, store.ErrNotFound) {
		return notStage(s.st.ToAttention(ctx, store.KindRefund, r.ID, queued,
			"The paid attempt "+r.AttemptID+" cannot be found, so Pesapal cannot be asked: nothing was sent. Refund it "+
				"in the Pesapal dashboard and mark it refunded, or mark it failed.", "worker", ""))
	}
	if err != nil {
		return fmt.Errorf("payments: refund %s: %w", r.ID, err)
	}
	if strings.TrimSpace(a.Receipt) == "" {
		// RefundOptions refuses these; one queued before that, or whose
		// attempt lost it, is never sent with an empty code.
		return notStage(s.st.ToAttention(ctx, store.KindRefund, r.ID, queued, noConfirmationCode+
			" and mark it refunded, or mark it failed. Nothing was sent.", "worker", ""))
	}
	won, err := s.st.ClaimRefund(ctx, r.ID)
	if err != nil || !won {
		return err
	}
	cctx, cancel := context.WithTimeout(ctx, sendTimeout)
	ans, err := s.cfg.Refunder.Refund(cctx, gateway.RefundRequest{Receipt: a.Receipt, Amount: gateway.Amount(r.Amount),
		Currency: r.Currency, Username: actor(r.RequestedBy), Remarks: firstNonEmpty(r.Reason, "Refund "+r.CheckoutID)})
	cancel()
	// What the call gave is recorded even if the worker is stopping.
	ctx = context.WithoutCancel(ctx)
	from := []string{store.StageSending}
	switch {
	case err == nil:
		return notStage(s.st.FinishTransfer(ctx, store.KindRefund, r.ID, from, store.TransferOutcome{Succeeded: true,
			Message: firstNonEmpty(ans.Message, "Pesapal accepted the refund request"), Source: ProviderPesapal,
			Kind: store.TransferEventStatusQuery, Payload: string(ans.Raw)}))
	case errors.Is(err, gateway.ErrNotStarted):
		return notStage(s.st.FinishTransfer(ctx, store.KindRefund, r.ID, from, store.TransferOutcome{
			Message: "Pesapal refused the refund: " + err.Error(), Source: ProviderPesapal, Kind: store.TransferEventStatusQuery}))
	default:
		s.log.WarnContext(ctx, "refund request without a clear answer", "refund_id", r.ID, "err", err)
		return notStage(s.st.ToAttention(ctx, store.KindRefund, r.ID, from,
			"Pesapal gave no clear answer to the refund request ("+err.Error()+"). It is never sent again: check the "+
				"Pesapal dashboard, then mark it refunded or failed.", ProviderPesapal, ""))
	}
}

// actor is who asked, as a provider's username field takes it.
func actor(requestedBy string) string {
	if len(requestedBy) > 6 && requestedBy[:6] == "admin:" {
		return requestedBy[6:]
	}
	return firstNonEmpty(requestedBy, "system")
}

func (s *Service) processPayout(ctx context.Context, p *Payout) error {
	if s.cfg.Payouts == nil || p.Provider != s.cfg.Payouts.Name() {
		// Another configuration's payout: a person resolves it (left as
		// it is, it would come back first in every pass and starve the
		// others).
		return s.unconfiguredPayout(ctx, p)
	}
	switch p.Stage {
	case store.StageQueued:
		return s.sendPayout(ctx, p)
	case store.StageSending:
		return s.resumeInterrupted(ctx, p)
	case store.StageSent:
		return s.checkPayout(ctx, p)
	}
	return nil
}

// unconfiguredPayout moves a payout of a provider that is no longer the
// configured one to attention: queued, nothing was sent; sending or
// sent, its result can no longer be asked.
func (s *Service) unconfiguredPayout(ctx context.Context, p *Payout) error {
	name := providerTitle(p.Provider)
	msg := name + " is no longer the payout provider configured here: its result cannot be asked. Check the " + name +
		" statement, then mark it succeeded or failed."
	if p.Stage == store.StageQueued {
		msg = name + " is no longer the payout provider configured here: nothing was sent. Mark it failed (and " +
			"ask for a new payout if it is still owed)."
	}
	return notStage(s.st.ToAttention(ctx, store.KindPayout, p.ID, []string{p.Stage}, msg, "worker", ""))
}

// callbackURL is where the payout provider posts its results.
func (s *Service) callbackURL(provider string) string {
	switch provider {
	case "pokeapay":
		return s.cfg.PublicURL + "/callback/pokeapay-b2c"
	case "pochipay":
		return s.cfg.PublicURL + "/callback/pochipay-payout"
	}
	return s.cfg.PublicURL + "/callback/" + provider + "-payout"
}

// sendPayout sends a queued payout, once: after the claim commits. A
// provider that tells its balance is asked first: a payout above it fails
// without being sent.
func (s *Service) sendPayout(ctx context.Context, p *Payout) error {
	if b, ok := s.cfg.Payouts.(gateway.Balancer); ok {
		bctx, cancel := context.WithTimeout(ctx, sendTimeout)
		bal, cur, err := b.Balance(bctx)
		cancel()
		// A balance that cannot be read does not hold the send: the
		// provider refuses what it cannot pay.
		if err == nil && int64(bal) < p.Amount {
			return notStage(s.st.FinishTransfer(ctx, store.KindPayout, p.ID, []string{store.StageQueued}, store.TransferOutcome{
				Message: fmt.Sprintf("the %s account has %s %s, less than the payout: nothing was sent", p.Provider, cur,
					money.Amount(bal)), Source: p.Provider, Kind: store.TransferEventNote}))
		}
	}
	won, err := s.st.ClaimPayout(ctx, p.ID, s.now().Add(sendLease))
	if err != nil || !won {
		return err
	}
	desc := firstNonEmpty(p.Description, "Payout "+firstNonEmpty(p.Reference, p.ID))
	cctx, cancel := context.WithTimeout(ctx, sendTimeout)
	started, err := s.cfg.Payouts.Send(cctx, gateway.PayoutRequest{Reference: p.ProviderReference, Phone: p.Phone,
		Name: p.Name, Amount: gateway.Amount(p.Amount), Currency: p.Currency, Description: desc,
		CallbackURL: s.callbackURL(p.Provider)})
	cancel()
	// What the call gave is recorded even if the worker is stopping.
	ctx = context.WithoutCancel(ctx)
	now := s.now()
	switch {
	case err == nil:
		return notStage(s.st.PayoutSent(ctx, p.ID, started.ProviderReference, now.Add(firstPayoutCheck),
			p.Provider+" took the payout; waiting for its result", string(started.Raw)))
	case errors.Is(err, gateway.ErrNotStarted):
		return notStage(s.st.FinishTransfer(ctx, store.KindPayout, p.ID, []string{store.StageSending}, store.TransferOutcome{
			Message: p.Provider + " refused the payout: " + err.Error(), Source: p.Provider, Kind: store.TransferEventSent}))
	default:
		// It may have reached the provider: never sent again. Its status
		// call (or its callback, or a person) decides.
		s.log.WarnContext(ctx, "payout send without a clear answer", "payout_id", p.ID, "err", err)
		return notStage(s.st.PayoutSent(ctx, p.ID, "", now.Add(firstPayoutCheck),
			"no clear answer from "+p.Provider+" ("+err.Error()+"); it is never sent again: its result decides", ""))
	}
}

// resumeInterrupted handles a payout left in sending (the process stopped
// during the call): never sent again. A provider with a status call is
// asked; one without goes to a person.
func (s *Service) resumeInterrupted(ctx context.Context, p *Payout) error {
	now := s.now()
	won, err := s.st.ClaimPayoutCheck(ctx, p.ID, now, now.Add(sendLease))
	if err != nil || !won {
		return err
	}
	cctx, cancel := context.WithTimeout(ctx, sendTimeout)
	res, statusErr := s.cfg.Payouts.Status(cctx, p.ProviderReference)
	cancel()
	if errors.Is(statusErr, gateway.ErrNoStatusCall) {
		return notStage(s.st.ToAttention(ctx, store.KindPayout, p.ID, []string{store.StageSending},
			"The send was interrupted and "+p.Provider+" has no status call. It is never sent again: check the "+
				p.Provider+" statement, then mark it succeeded or failed.", "worker", ""))
	}
	if err := s.st.PayoutSent(ctx, p.ID, "", now.Add(firstPayoutCheck),
		"the send was interrupted; asking "+p.Provider+" what became of it (never sent again)", ""); err != nil {
		return notStage(err)
	}
	if statusErr != nil {
		return nil // asked again at the next check
	}
	p.Stage, p.SentAt = store.StageSent, &now
	return s.applyPayoutResult(ctx, p, res, "status")
}

// checkPayout asks about a sent payout that is due for a look.
func (s *Service) checkPayout(ctx context.Context, p *Payout) error {
	now := s.now()
	won, err := s.st.ClaimPayoutCheck(ctx, p.ID, now, now.Add(sendLease))
	if err != nil || !won {
		return err
	}
	cctx, cancel := context.WithTimeout(ctx, sendTimeout)
	res, err := s.cfg.Payouts.Status(cctx, p.ProviderReference)
	cancel()
	sent := sentAt(p)
	switch {
	case errors.Is(err, gateway.ErrNoStatusCall):
		if now.Sub(sent) >= silenceLimit {
			return notStage(s.st.ToAttention(ctx, store.KindPayout, p.ID, []string{store.StageSent},
				"No result from "+p.Provider+" in 24 hours, and it has no status call. It is never sent again: check the "+
					p.Provider+" statement, then mark it succeeded or failed.", "worker", ""))
		}
		next := sent.Add(silenceLimit)
		return notStage(s.st.PayoutChecked(ctx, p.ID, &next, store.TransferEvent{Kind: store.TransferEventNote,
			Source: "worker", Message: p.Provider + " has no status call: waiting for its callback until " + rfc3339(next)}))
	case err != nil:
		next := now.Add(checkBackoff(p.Checks))
		return notStage(s.st.PayoutChecked(ctx, p.ID, &next, store.TransferEvent{Kind: store.TransferEventStatusQuery,
			Source: p.Provider, Message: "status call failed: " + err.Error()}))
	}
	return s.applyPayoutResult(ctx, p, res, "status")
}

func sentAt(p *Payout) time.Time {
	if p.SentAt != nil {
		return *p.SentAt
	}
	return p.UpdatedAt
}

// checkBackoff spaces the status calls of a pending payout: 1, 2, 4 ...
// minutes, at most an hour.
func checkBackoff(checks int) time.Duration {
	d := time.Minute
	for i := 0; i < checks && d < time.Hour; i++ {
		d *= 2
	}
	return min(d, time.Hour)
}

// applyPayoutResult acts on a verified result (a status call's).
func (s *Service) applyPayoutResult(ctx context.Context, p *Payout, res gateway.PayoutResult, source string) error {
	from := []string{store.StageSending, store.StageSent, store.StageAttention}
	now := s.now()
	if why := payoutMismatch(p, res); why != "" {
		return notStage(s.st.ToAttention(ctx, store.KindPayout, p.ID, from, why, p.Provider, string(res.Raw)))
	}
	switch res.Status {
	case gateway.StatusSucceeded:
		return notStage(s.st.FinishTransfer(ctx, store.KindPayout, p.ID, from, store.TransferOutcome{Succeeded: true,
			Message: firstNonEmpty(res.Message, "paid"), Receipt: res.Receipt, Fees: int64(res.Fees), Verified: res.Verified,
			Kind: store.TransferEventStatusQuery, Source: p.Provider + ":" + source, Payload: string(res.Raw)}))
	case gateway.StatusFailed:
		return notStage(s.st.FinishTransfer(ctx, store.KindPayout, p.ID, from, store.TransferOutcome{
			Message: firstNonEmpty(res.Message, "the payout failed"), Kind: store.TransferEventStatusQuery,
			Source: p.Provider + ":" + source, Payload: string(res.Raw)}))
	case gateway.StatusNotFound:
		if now.Sub(sentAt(p)) >= notFoundGrace {
			return notStage(s.st.FinishTransfer(ctx, store.KindPayout, p.ID, from, store.TransferOutcome{
				Message: p.Provider + " has no record of the payout " + notFoundGrace.String() + " after it was sent: it never got it",
				Kind:    store.TransferEventStatusQuery, Source: p.Provider + ":" + source, Payload: string(res.Raw)}))
		}
	}
	if res.Status == gateway.StatusPending && now.Sub(sentAt(p)) >= silenceLimit {
		if err := s.cancelPending(ctx, p); err != nil {
			return err
		}
	}
	next := now.Add(checkBackoff(p.Checks))
	if res.Status == gateway.StatusNotFound {
		next = sentAt(p).Add(notFoundGrace)
	}
	return notStage(s.st.PayoutChecked(ctx, p.ID, &next, store.TransferEvent{Kind: store.TransferEventStatusQuery,
		Source: p.Provider + ":" + source, Message: "provider says: " + string(res.Status) + " " + res.Message,
		Payload: string(res.Raw)}))
}

// payoutMismatch names what in a result disagrees with the payout ("" when
// nothing does).
func payoutMismatch(p *Payout, res gateway.PayoutResult) string {
	if res.Reference != "" && res.Reference != p.ProviderReference {
		return fmt.Sprintf("%s reports reference %q, the payout is %s: check it by hand", p.Provider, res.Reference, p.ProviderReference)
	}
	if res.Currency != "" && !strings.EqualFold(res.Currency, p.Currency) {
		return fmt.Sprintf("%s reports the currency %q, the payout is in %s: check it by hand", p.Provider,
			truncated(res.Currency, 10), p.Currency)
	}
	if res.Status == gateway.StatusSucceeded && res.HasAmount && int64(res.Amount) != p.Amount {
		return fmt.Sprintf("%s reports %s paid, the payout is for %s: check it by hand", p.Provider,
			money.Amount(res.Amount), money.Amount(p.Amount))
	}
	return ""
}

// ErrCallback: a payout callback that cannot be read.
var ErrCallback = errors.New("payout callback cannot be read")

// PayoutCallback takes a payout provider's result callback. It is stored
// (timeline, secrets removed) before anything else, and only says "look
// now": Pochipay's is confirmed by its status call. PokeaPay's cannot be
// verified (no status call): a success whose reference and amount match
// marks the payout succeeded, not verified; a failure moves it to
// attention, still pending with a refund's amount still reserved, for a
// person to check the statement. Nothing is ever sent again.
func (s *Service) PayoutCallback(ctx context.Context, provider, contentType string, body []byte) error {
	pp := s.cfg.Payouts
	if pp == nil || pp.Name() != provider {
		return ErrNoPayoutProvider
	}
	res, perr := pp.ParseCallback(contentType, body)
	if perr != nil {
		// Anyone can post to the callback URL: a counter and a sampled
		// log line, nothing stored.
		source := "payout:" + provider + ":unreadable"
		if err := s.st.CountUnknownNotification(ctx, source); err != nil {
			return err
		}
		if skipped, ok := s.unknownLog.allow(source, s.now()); ok {
			s.log.WarnContext(ctx, "payout callback unreadable", "provider", provider,
				"err", truncated(perr.Error(), 200), "not_logged_since_last", skipped)
		}
		return fmt.Errorf("%w: %v", ErrCallback, perr)
	}
	if err := s.notificationAllowed("payout:"+provider, res.Reference); err != nil {
		return err
	}
	p, err := s.st.PayoutByReference(ctx, provider, res.Reference)
	if errors.Is(err, store.ErrNotFound) {
		// A reference we never sent: a counter and a sampled log line,
		// nothing else kept (as every other notification).
		return s.unknownReference(ctx, "payout:"+provider, res.Reference)
	}
	if err != nil {
		return err
	}
	if err := s.st.AddTransferEvent(ctx, &store.TransferEvent{SubjectID: p.ID, Kind: store.TransferEventCallback,
		Source: provider, Message: "callback says: " + string(res.Status) + " " + res.Message, Payload: string(res.Raw)}); err != nil {
		return err
	}
	if p.Status == store.TransferFailed {
		return s.paidAfterFailed(ctx, p, res)
	}
	if p.Status != store.TransferPending {
		return nil
	}
	if res.Verified {
		return s.applyPayoutResult(ctx, p, res, "callback")
	}
	cctx, cancel := context.WithTimeout(ctx, sendTimeout)
	st, err := pp.Status(cctx, p.ProviderReference)
	cancel()
	switch {
	case err == nil:
		return s.applyPayoutResult(ctx, p, st, "status")
	case !errors.Is(err, gateway.ErrNoStatusCall):
		return fmt.Errorf("payments: confirm %s payout %s: %w", provider, p.ID, err)
	}
	// No status call (PokeaPay): the callback is all there is.
	from := []string{store.StageSending, store.StageSent, store.StageAttention}
	switch res.Status {
	case gateway.StatusSucceeded:
		if !res.HasAmount {
			return notStage(s.st.ToAttention(ctx, store.KindPayout, p.ID, from, "the callback reports a success without an "+
				"amount; not verified: check the "+provider+" statement", provider, string(res.Raw)))
		}
		if why := payoutMismatch(p, res); why != "" {
			return notStage(s.st.ToAttention(ctx, store.KindPayout, p.ID, from, why, provider, string(res.Raw)))
		}
		if p.Stage == store.StageAttention && p.Message == unverifiedFailureNote(provider) {
			// It said failed, now it says paid: neither can be checked.
			// The person who checks the statement decides.
			name := providerTitle(provider)
			return notStage(s.st.ToAttention(ctx, store.KindPayout, p.ID, from, name+" now says it was paid, after "+
				"saying it failed (neither is verified): check the "+name+" statement, then mark it failed or succeeded",
				provider+":callback", ""))
		}
		return notStage(s.st.FinishTransfer(ctx, store.KindPayout, p.ID, from, store.TransferOutcome{Succeeded: true,
			Message: "paid according to " + provider + "'s callback (not verified: it cannot be checked with a status call)",
			Receipt: res.Receipt, Fees: int64(res.Fees), Kind: store.TransferEventCallback, Source: provider + ":callback"}))
	case gateway.StatusFailed:
		// Not acted on: a failure nobody can verify must not release a
		// refund's reservation nor end the payout failed (a forged or
		// early "failed" would let the same money be asked for and sent
		// again). The payout stays pending, and a person decides.
		return notStage(s.st.ToAttention(ctx, store.KindPayout, p.ID, from, unverifiedFailureNote(provider),
			provider+":callback", ""))
	}
	return nil
}

// unverifiedFailureNote is what a payout waits on after a failure callback
// that cannot be verified.
func unverifiedFailureNote(provider string) string {
	name := providerTitle(provider)
	return name + " says it failed (not verified): check the " + name + " statement, then mark it failed or succeeded"
}

// providerTitle is a payout provider's name as people write it.
func providerTitle(provider string) string {
	switch provider {
	case ProviderPokeaPay:
		return "PokeaPay"
	case "pochipay":
		return "Pochipay"
	case ProviderPesapal:
		return "Pesapal"
	}
	return provider
}

// paidAfterFailed handles a callback for a payout that ended failed: a
// success (confirmed by the status call when the provider has one; as
// the callback says otherwise, not verified) is never dropped: the payout
// and its refund go back in front of a person, still failed, the refund's
// amount reserved again when what is left allows it
// (store.FlagPaidAfterFailed); the person's Resolve settles it.
func (s *Service) paidAfterFailed(ctx context.Context, p *Payout, res gateway.PayoutResult) error {
	verdict, how := res, p.Provider+"'s callback says it was paid"
	if !res.Verified {
		cctx, cancel := context.WithTimeout(ctx, sendTimeout)
		st, err := s.cfg.Payouts.Status(cctx, p.ProviderReference)
		cancel()
		switch {
		case err == nil:
			verdict, how = st, p.Provider+"'s status call says it was paid"
		case errors.Is(err, gateway.ErrNoStatusCall):
			how += " (not verified)"
		default:
			return fmt.Errorf("payments: confirm %s payout %s: %w", p.Provider, p.ID, err)
		}
	}
	if verdict.Status != gateway.StatusSucceeded {
		return nil
	}
	if verdict.Receipt != "" {
		how += ", receipt " + verdict.Receipt
	}
	flagged, err := s.st.FlagPaidAfterFailed(ctx, p.ID, how, p.Provider, string(verdict.Raw))
	if err == nil && flagged {
		s.log.WarnContext(ctx, "payout paid after it was marked failed", "payout_id", p.ID, "refund_id", p.RefundID)
	}
	return err
}

// cancelPending asks a provider that can cancel (Pochipay) to cancel a
// payout still pending 24 hours after its send, once. The status call
// still decides how it ends.
func (s *Service) cancelPending(ctx context.Context, p *Payout) error {
	c, ok := s.cfg.Payouts.(gateway.PayoutCanceller)
	if !ok {
		return nil
	}
	evs, err := s.st.TransferEvents(ctx, p.ID)
	if err != nil {
		return err
	}
	for _, ev := range evs {
		if ev.Kind == store.TransferEventCancel {
			return nil
		}
	}
	cctx, cancel := context.WithTimeout(ctx, sendTimeout)
	err = c.CancelPayout(cctx, p.ProviderReference)
	cancel()
	msg := "still pending after 24 hours: asked " + p.Provider + " to cancel it; its status decides"
	if err != nil {
		msg = "still pending after 24 hours: the cancel request failed (" + err.Error() + "); its status decides"
	}
	return s.st.AddTransferEvent(context.WithoutCancel(ctx), &store.TransferEvent{SubjectID: p.ID,
		Kind: store.TransferEventCancel, Source: "worker", Message: msg})
}
