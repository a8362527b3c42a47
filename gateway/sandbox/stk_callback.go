package sandbox

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"time"
)

// stkCallbackNote is everything needed to send one STK callback.
type stkCallbackNote struct {
	Provider, Reference string
	URL                 string
	Body                []byte // the JSON body, built when the note is made
	// Payout says the note is a payout's result (counted apart from the
	// STK callbacks).
	Payout bool
}

// stkCallbackNote builds the callback of an answered prompt.
func (s *Sandbox) stkCallbackNote(provider, reference string) (stkCallbackNote, error) {
	if !stkProviderKnown(provider) {
		return stkCallbackNote{}, ErrSTKUnknownProvider
	}
	s.mu.Lock()
	pr, ok := s.stk.byRef[stkKey{provider, reference}]
	var p STKPrompt
	if ok {
		p = *pr
	}
	s.mu.Unlock()
	if !ok {
		return stkCallbackNote{}, ErrSTKUnknownPrompt
	}
	if p.Status == STKPending {
		return stkCallbackNote{}, fmt.Errorf("sandbox: %s STK prompt %q is pending: only an answered prompt has a callback", provider, reference)
	}
	var body any
	if provider == STKPokeaPay {
		body = pokeaPaySTKCallbackBody(&p)
	} else {
		body = pochipayCallbackBody(&p)
	}
	b, err := json.Marshal(body)
	if err != nil {
		return stkCallbackNote{}, fmt.Errorf("sandbox: encode %s callback: %w", provider, err)
	}
	return stkCallbackNote{Provider: provider, Reference: reference, URL: p.CallbackURL, Body: b}, nil
}

// scheduleSTKCallback sends the prompt's callback after IPNDelay in the
// background, a second time with DuplicateIPNRate (after up to another
// IPNDelay, so the two may overlap), each with its retries.
func (s *Sandbox) scheduleSTKCallback(provider, reference string) {
	note, err := s.stkCallbackNote(provider, reference)
	if err != nil {
		s.log.Warn("STK callback not scheduled", "provider", provider, "reference", reference, "err", err)
		return
	}
	copies := 1
	if rand.Float64() < s.cfg.DuplicateIPNRate {
		copies = 2
	}
	for i := range copies {
		delay := s.cfg.IPNDelay
		if i > 0 {
			delay += rand.N(s.cfg.IPNDelay + 1)
		}
		if !s.goAsync(func(ctx context.Context) { s.deliverSTKCallback(ctx, note, delay) }) {
			s.log.Warn("STK callback not sent: sandbox closed", "provider", provider, "reference", reference)
		}
	}
}

// deliverSTKCallback waits delay, then sends the callback until it is
// answered with a 2xx status or IPNRetries extra tries have failed, with a
// backoff that starts at IPNDelay and doubles.
func (s *Sandbox) deliverSTKCallback(ctx context.Context, note stkCallbackNote, delay time.Duration) {
	if !sleepCtx(ctx, delay) {
		return
	}
	backoff := s.cfg.IPNDelay
	for try := 0; ; try++ {
		err := s.sendSTKCallback(ctx, note)
		if err == nil || ctx.Err() != nil {
			return
		}
		if try >= s.cfg.IPNRetries {
			s.log.Warn("STK callback given up", "provider", note.Provider, "reference", note.Reference,
				"tries", try+1, "err", err)
			return
		}
		s.log.Info("STK callback not acknowledged, will retry", "provider", note.Provider,
			"reference", note.Reference, "try", try+1, "backoff", backoff, "err", err)
		if !sleepCtx(ctx, backoff) {
			return
		}
		backoff *= 2
	}
}

// sendSTKCallback makes one callback request: a POST of the JSON body. Any
// 2xx answer acknowledges it (neither document shows an acknowledgement).
func (s *Sandbox) sendSTKCallback(ctx context.Context, note stkCallbackNote) error {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, note.URL, bytes.NewReader(note.Body))
	if err != nil {
		return fmt.Errorf("sandbox: build %s callback request: %w", note.Provider, err)
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Accept", "application/json")
	kind := "-stk"
	if note.Payout {
		kind = "-payout"
	}
	req.Header.Set("User-Agent", "checkout-sandbox-"+note.Provider+kind)

	resp, err := s.client.Do(req)
	if err == nil {
		_, err = io.Copy(io.Discard, io.LimitReader(resp.Body, 64<<10))
		_ = resp.Body.Close()
	}
	s.mu.Lock()
	if note.Payout {
		s.payout.counter(note.Provider).callbacksSent++
	} else {
		s.stkCounter(note.Provider).callbacksSent++
	}
	s.mu.Unlock()
	s.log.Debug("STK callback sent", "provider", note.Provider, "reference", note.Reference, "err", err)
	if err != nil {
		return fmt.Errorf("sandbox: %s callback POST %s: %w", note.Provider, note.URL, err)
	}
	if resp.StatusCode < 200 || resp.StatusCode > 299 {
		return fmt.Errorf("sandbox: %s callback answered HTTP %d, not 2xx", note.Provider, resp.StatusCode)
	}
	return nil
}
