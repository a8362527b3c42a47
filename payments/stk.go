package payments

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"checkout/gateway"
	"checkout/locale"
	"checkout/store"
)

// STK push timing.
const (
	// stkFirstCheck: a prompt with no callback is first queried 20 s after
	// the push (design.md, "Reconciliation").
	stkFirstCheck = 20 * time.Second
	// STKPromptWindow is how long a prompt is taken to be on the phone. While
	// one is, a second submit shows it instead of pushing again; after it,
	// the customer may try again (M-Pesa gives up on a prompt after about a
	// minute).
	STKPromptWindow = 75 * time.Second
)

// Prompts per phone number. Each prompt is an interruption on somebody's
// phone, and the number is typed by whoever holds the checkout page: at most
// stkPhoneMax prompts to one number in stkPhoneWindow, across checkouts. And
// M-Pesa refuses (result code 17) a second prompt for the same amount to
// the same phone within about two minutes, so we do not send one.
const (
	stkPhoneMax         = 3
	stkPhoneWindow      = 10 * time.Minute
	stkSameAmountWithin = 2 * time.Minute
)

// PromptLimitError refuses a prompt past the limits per phone: a
// FieldError on the phone field (errors.As finds it), and how long until
// a prompt may be asked for again.
type PromptLimitError struct {
	FieldError
	RetryAfter time.Duration
}

// Unwrap gives the FieldError, so that errors.As(err, **FieldError) holds.
func (e *PromptLimitError) Unwrap() error { return &e.FieldError }

// promptGuard is the rule of the limits per phone, for
// store.StartPromptAttempt: recent are the phone's STK attempts of the
// last stkPhoneWindow, newest first. Every one counts (each was asked
// for); for the same amount, one the provider refused before it reached
// the phone (failed without a provider reference) does not.
func (s *Service) promptGuard(phone string, amount int64, now time.Time) func([]store.Attempt) error {
	refuse := func(wait time.Duration, msg string) error {
		return &PromptLimitError{FieldError: FieldError{Code: "rate_limited", Field: "phone", Message: msg}, RetryAfter: wait}
	}
	return func(recent []store.Attempt) error {
		for _, r := range recent {
			reached := r.Status != store.AttemptFailed || r.ProviderReference != ""
			if r.Amount == amount && reached && now.Sub(r.CreatedAt) < stkSameAmountWithin {
				return refuse(r.CreatedAt.Add(stkSameAmountWithin).Sub(now),
					customerMsg("msg_stk_same_amount", "Phone", LocalPhone(phone)))
			}
		}
		if len(recent) >= stkPhoneMax {
			return refuse(recent[stkPhoneMax-1].CreatedAt.Add(stkPhoneWindow).Sub(now),
				locale.Plural(locale.EN, "msg_stk_too_many", len(recent), "Phone", LocalPhone(phone)))
		}
		return nil
	}
}

// ErrPhoneBusy: the phone already has an M-Pesa prompt in progress. Nothing
// started, nothing failed; the checkout stays open with a message.
var ErrPhoneBusy = errors.New("an M-Pesa prompt is already in progress on this phone")

// stkMessages are the sentences customers see for M-Pesa's result codes.
var stkMessages = map[string]string{
	"1":    customerMsg("msg_stk_1"),
	"1001": customerMsg("msg_stk_1001"),
	"1019": customerMsg("msg_stk_1019"),
	"1032": customerMsg("msg_stk_1032"),
	"1037": customerMsg("msg_stk_1037"),
	"2001": customerMsg("msg_stk_2001"),
}

// STKMessage is the customer's sentence for an M-Pesa result code.
func STKMessage(code string) string {
	if m, ok := stkMessages[code]; ok {
		return m
	}
	return customerMsg("msg_stk_failed")
}

// STKCallbackPath is where a backend's callbacks come in.
func STKCallbackPath(provider string) string {
	if provider == ProviderPokeaPay {
		return "/callback/pokeapay-stk"
	}
	return "/callback/" + provider
}

// StartSTK sends an M-Pesa prompt to the phone the customer typed. While a
// prompt for this checkout is still on a phone, it returns that attempt and
// pushes nothing: one active prompt per checkout.
func (s *Service) StartSTK(ctx context.Context, checkoutID, phoneInput string) (*store.Attempt, error) {
	co, err := s.st.Checkout(ctx, checkoutID)
	if err != nil {
		return nil, err
	}
	if co.Final() || !s.now().Before(co.ExpiresAt) {
		return nil, ErrNotPayable
	}
	if !s.methodUsable(co, MethodSTK) {
		return nil, ErrMethodUnavailable
	}
	phone, err := NormalizePhone(phoneInput)
	if err != nil {
		return nil, &FieldError{Code: "invalid", Field: "phone", Message: ErrPhone.Error()}
	}

	p := s.cfg.STK
	a := &store.Attempt{ID: store.NewID("pay", s.now()), CheckoutID: co.ID, Provider: p.Name(), Method: MethodSTK, Phone: phone}
	now := s.now()
	active, err := s.st.StartPromptAttempt(ctx, a, stkFirstCheck, STKPromptWindow, "customer",
		now.Add(-stkPhoneWindow), s.promptGuard(phone, int64(co.Amount), now))
	var limited *PromptLimitError
	switch {
	case errors.As(err, &limited):
		s.log.InfoContext(ctx, "stk prompt refused: limit per phone", "checkout_id", co.ID)
		return nil, limited
	case errors.Is(err, store.ErrTransition):
		return nil, ErrNotPayable
	case err != nil:
		return nil, fmt.Errorf("payments: start stk attempt: %w", err)
	case active != nil && active.Phone != phone:
		return nil, &FieldError{Code: "busy", Field: "phone",
			Message: customerMsg("msg_stk_on_other_phone", "Phone", LocalPhone(active.Phone))}
	case active != nil:
		return active, nil // one prompt per checkout: show the one on the phone
	}
	s.cfg.Metrics.PaymentStarted(a.Provider, a.Method)
	// The push outlives the customer's request: a cancelled push could have
	// reached the phone with nobody listening for its answer.
	pctx := context.WithoutCancel(ctx)
	started, err := p.Push(pctx, gateway.STKRequest{
		Reference: a.ID, Phone: phone, Amount: gateway.Amount(co.Amount),
		CallbackURL:      s.cfg.PublicURL + STKCallbackPath(p.Name()),
		AccountReference: co.Reference, Description: co.Description,
		CustomerName: co.CustomerName, CustomerEmail: co.CustomerEmail,
	})
	if err != nil && uncertain(err) {
		// No clear answer (none at all, a server error, one that cannot be
		// read): the prompt may be on the phone all the same. The attempt
		// stays pending and is queried like any other (both backends can be
		// asked by our own reference), so a payment is not missed and the
		// customer is not prompted twice.
		s.log.WarnContext(ctx, "stk push not clearly answered; querying later", "checkout_id", co.ID, "attempt_id", a.ID, "provider", p.Name(), "err", err)
		if evErr := s.st.AddEvent(context.WithoutCancel(ctx), &store.Event{CheckoutID: co.ID, AttemptID: a.ID, Kind: store.EventError,
			Source: p.Name(), Message: "no clear answer to the push; the prompt may have been sent: " + err.Error()}); evErr != nil {
			return nil, evErr
		}
		return a, nil
	}
	if err != nil {
		msg := customerMsg("msg_stk_not_sent")
		out := ErrProvider
		if errors.Is(err, gateway.ErrSubscriberBusy) {
			msg = customerMsg("msg_stk_phone_busy")
			out = ErrPhoneBusy
		}
		s.log.WarnContext(ctx, "stk push refused", "checkout_id", co.ID, "attempt_id", a.ID, "provider", p.Name(), "err", err)
		if nsErr := s.notStarted(context.WithoutCancel(ctx), a, msg, err.Error()); nsErr != nil {
			return nil, fmt.Errorf("payments: record refused push: %w", nsErr)
		}
		return nil, out
	}
	// The prompt is on its way: record it even if the customer's request is
	// gone, so that its callback and the reconciler find it.
	if err := s.st.AttemptStarted(context.WithoutCancel(ctx), a.ID, started.ProviderReference, "", string(started.Raw)); err != nil {
		return nil, fmt.Errorf("payments: record stk push: %w", err)
	}
	a.ProviderReference = started.ProviderReference
	return a, nil
}

// uncertain reports whether a failed push may have put a prompt on the
// phone all the same. The STK clients say when it did not
// (gateway.ErrNotStarted: refused before sending, the login or token call
// failed, no connection made, or the provider's clear refusal), and a busy
// phone started nothing either. Any other error (no answer once the push
// was sent, a server error, an answer that cannot be read) may have: the
// attempt stays pending and is queried.
func uncertain(err error) bool {
	return !errors.Is(err, gateway.ErrNotStarted) && !errors.Is(err, gateway.ErrSubscriberBusy)
}

// LocalPhone writes 254712345678 the way Kenyans read it: 0712 345 678.
func LocalPhone(p string) string {
	if len(p) == 12 && strings.HasPrefix(p, "254") {
		return "0" + p[3:6] + " " + p[6:9] + " " + p[9:]
	}
	return p
}

// STKNoAnswer is what the customer reads once a prompt has left the phone
// and the provider has given no verdict yet (no callback, and its query
// answers "pending", or nothing, or "no record" before that could mean
// anything). The attempt stays pending and is asked about with backoff: a
// payment the customer approved is found when the provider answers.
var STKNoAnswer = customerMsg("msg_stk_no_answer")

// stkNotFoundMessage is the customer's sentence when the provider has no
// record of a prompt once it could no longer be answered.
var stkNotFoundMessage = customerMsg("msg_stk_no_record")

// stkResult applies the rules of an M-Pesa prompt to a provider's answer:
//
//   - "not found" is the provider's word that the prompt never existed only
//     once STKPromptWindow has passed since the push: a provider may not
//     know a prompt for a moment after accepting it, and until the prompt
//     leaves the phone the customer may still approve it. Earlier it is
//     "pending". After it, the attempt fails and the customer may try again.
//   - a failure carries M-Pesa's result code; the customer reads a sentence
//     for it.
//   - a success may come without an amount (Pochipay's documented status
//     fields have none): the customer cannot change the amount of a prompt,
//     so it is for the amount pushed (store.Result.AmountFixed). An amount
//     that is reported is still compared.
func (s *Service) stkResult(a *store.Attempt, res gateway.Result, source string) store.Result {
	switch res.Status {
	case gateway.StatusNotFound:
		if s.now().Sub(a.CreatedAt) < STKPromptWindow {
			res.Status = gateway.StatusPending
			break
		}
		res.Status, res.Message = gateway.StatusFailed, stkNotFoundMessage
	case gateway.StatusFailed:
		res.Message = STKMessage(res.Code)
	}
	sr := storeResult(res, source)
	sr.AmountFixed = true
	return sr
}

// WaitingNote is what the customer should read about a checkout that waits
// on a payment, beyond "waiting": STKNoAnswer when its payment is an M-Pesa
// prompt whose window has passed with no verdict, "" otherwise. The status
// page, its htmx partial and its JSON say the same.
func (s *Service) WaitingNote(ctx context.Context, co *store.Checkout) (string, error) {
	if co.Status != store.StatusPending || co.Method != MethodSTK {
		return "", nil
	}
	a, err := s.CurrentSTKAttempt(ctx, co.ID)
	if errors.Is(err, store.ErrNotFound) {
		return "", nil
	}
	if err != nil {
		return "", err
	}
	if s.now().Sub(a.CreatedAt) < STKPromptWindow {
		return "", nil
	}
	return STKNoAnswer, nil
}

// ActiveSTKAttempt is the checkout's prompt still on a phone: pending and
// pushed less than STKPromptWindow ago.
func (s *Service) ActiveSTKAttempt(ctx context.Context, checkoutID string) (*store.Attempt, error) {
	a, err := s.CurrentSTKAttempt(ctx, checkoutID)
	if err != nil {
		return nil, err
	}
	if s.now().Sub(a.CreatedAt) >= STKPromptWindow {
		return nil, fmt.Errorf("payments: stk prompt of %s has timed out: %w", checkoutID, store.ErrNotFound)
	}
	return a, nil
}

// CurrentSTKAttempt is the checkout's newest pending STK attempt.
func (s *Service) CurrentSTKAttempt(ctx context.Context, checkoutID string) (*store.Attempt, error) {
	as, err := s.st.PendingAttempts(ctx, checkoutID)
	if err != nil {
		return nil, err
	}
	for i := len(as) - 1; i >= 0; i-- {
		if as[i].Method == MethodSTK {
			return &as[i], nil
		}
	}
	return nil, fmt.Errorf("payments: no stk attempt for %s: %w", checkoutID, store.ErrNotFound)
}

// ErrInvalidCallback: the body is not a callback of this provider.
var ErrInvalidCallback = errors.New("not a callback of this provider")

// STKCallback handles a backend's STK callback: what it names is stored (parsed, cut to a few KB), then
// confirmed with the provider's own query (PokeaPay's transaction query,
// Pochipay's transaction status). The callback's own verdict is not trusted.
func (s *Service) STKCallback(ctx context.Context, provider, contentType string, body []byte) (*store.Checkout, store.Outcome, error) {
	p := s.cfg.STK
	if p == nil || p.Name() != provider {
		return nil, "", ErrNotFound
	}
	cb, err := p.ParseCallback(contentType, body)
	if err != nil {
		return nil, "", fmt.Errorf("%w: %v", ErrInvalidCallback, err)
	}
	if err := s.notificationAllowed("callback:"+provider, cb.Reference); err != nil {
		return nil, "", err
	}
	a, err := s.st.Attempt(ctx, cb.Reference)
	if err == nil && (a.Provider != provider || a.Method != MethodSTK) {
		err = store.ErrNotFound
	}
	if err != nil {
		if errors.Is(err, store.ErrNotFound) {
			if cerr := s.unknownReference(ctx, "callback:"+provider, cb.Reference); cerr != nil {
				return nil, "", cerr
			}
			return nil, "", ErrNotFound
		}
		return nil, "", err
	}
	note := notification(&store.Event{Kind: store.EventNotification, Source: "callback:" + provider, Payload: parsedPayload(cb),
		CheckoutID: a.CheckoutID, AttemptID: a.ID,
		Message: fmt.Sprintf("M-Pesa callback (%s) for %s: successful=%v code %q %s", provider, cb.Reference, cb.Successful, cb.Code, cb.Message)})
	return s.recheck(ctx, a, "callback:"+provider, note)
}
