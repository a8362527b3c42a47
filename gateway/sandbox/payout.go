package sandbox

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math/rand/v2"
	"net/http"
	"slices"
	"time"

	"checkout/gateway"
)

// This file holds what the simulators of money going out share: the money
// each simulated phone received (PokeaPay B2C remittances, Pochipay
// disbursements, and Pesapal refunds of M-Pesa payments), the faults a test
// can ask of the next send to a phone, and the result callbacks.

// Providers of a payout (Payout.Provider). PokeaPay and Pochipay use the
// STK simulators' names; a Pesapal refund of an M-Pesa payment is recorded
// as a payout from "pesapal".
const (
	PayoutPokeaPay = STKPokeaPay
	PayoutPochipay = STKPochipay
	PayoutPesapal  = "pesapal"
)

// Statuses of a payout (Payout.Status).
const (
	PayoutPending   = "pending"   // taken, no result yet (PayoutFault.Hold)
	PayoutCompleted = "completed" // the phone received the money
	PayoutFailed    = "failed"    // not paid (PayoutFault.Fail, or cancelled)
)

// Errors returned by the payout test hooks.
var (
	// ErrUnknownPayout: the provider has no payout with this reference.
	ErrUnknownPayout = errors.New("sandbox: unknown payout")
	// ErrPayoutFinal: the payout already has its result.
	ErrPayoutFinal = errors.New("sandbox: payout already has its result")
)

// Payout is a copy of one send of money to an M-Pesa phone, as the test
// hooks and the phone page show it.
type Payout struct {
	// Provider is PayoutPokeaPay, PayoutPochipay or PayoutPesapal.
	Provider string
	// Reference names the send: PokeaPay's transfer.reference, Pochipay's
	// trackingReference, Pesapal's confirmation_code.
	Reference string
	// RequestID is Pochipay's requestId (empty for the others).
	RequestID string
	// Phone is 254 and 9 digits; Name the recipient's name as sent.
	Phone, Name string
	// Amount is what was sent, in cents; Currency as sent.
	Amount      gateway.Amount
	Currency    string
	Description string
	// CallbackURL is where the result is posted (empty for Pesapal).
	CallbackURL string
	// Status is PayoutPending, PayoutCompleted or PayoutFailed.
	Status string
	// Receipt is the M-Pesa transaction id once completed ("SBX" and 7
	// letters or digits).
	Receipt string
	// Fees is the provider's fee (PokeaPay only).
	Fees gateway.Amount
	// ResultCode and ResultDesc say why a payout failed (PokeaPay's
	// result_code and result_description, Pochipay's failReason).
	ResultCode, ResultDesc string
	// NarrationID is Pochipay's narrationId while pending.
	NarrationID string
	// Late says the answer to the send was held until the client gave up
	// (PayoutFault.Late).
	Late bool
	// CreatedAt is when the provider took the send; CompletedAt when it got
	// its result (zero while pending).
	CreatedAt, CompletedAt time.Time

	wireAmount string // PokeaPay's transfer.amount, as sent
	hash       string // PokeaPay's result hash: 64 random hex digits
}

// PayoutFault is what the next send to a phone does instead of paying at
// once and calling back once (see PayoutNext).
type PayoutFault struct {
	// Fail: the send is taken (answered as a success) and then fails; its
	// callback says so. Code and Desc override the provider's failure
	// (PokeaPay: 1032 "Bad Request - Invalid Account number", the
	// document's example; Pochipay: "The recipient is not a registered
	// M-Pesa customer").
	Fail       bool
	Code, Desc string
	// Late: the send is taken and paid, but the answer is held until the
	// client gives up (its timeout closes the connection), the Sandbox
	// closes, or LateAnswerCap passes. The callback is sent once the answer
	// has been let go.
	Late bool
	// NoCallback: no result is ever posted to the callback URL.
	NoCallback bool
	// TwiceCallback: the result is posted twice (real providers sometimes
	// do).
	TwiceCallback bool
	// Hold: the send stays pending, with no callback, until PayoutFinish.
	Hold bool
}

// LateAnswerCap is the longest a PayoutFault.Late answer is held.
const LateAnswerCap = 2 * time.Minute

// payoutState is the data of the payout simulators, guarded by Sandbox.mu.
type payoutState struct {
	payouts []*Payout // oldest first
	byRef   map[stkKey]*Payout
	faults  map[string]PayoutFault // phone -> the next send's fault
	// Pochipay's requestIds taken, and its account balance in cents.
	pochiRequests map[string]bool
	pochiBalance  gateway.Amount
	counters      map[string]*payoutCounters
}

// payoutCounters are one provider's counters.
type payoutCounters struct {
	sends         int // send requests received, whatever their answer
	queries       int // status requests received
	failQueries   int // status requests still to answer 503
	callbacksSent int // callback tries made
}

func (p *payoutState) init(balance gateway.Amount) {
	p.byRef = map[stkKey]*Payout{}
	p.faults = map[string]PayoutFault{}
	p.pochiRequests = map[string]bool{}
	p.pochiBalance = balance
	p.counters = map[string]*payoutCounters{PayoutPokeaPay: {}, PayoutPochipay: {}, PayoutPesapal: {}}
}

// counter returns provider's counters. The caller holds Sandbox.mu.
func (p *payoutState) counter(provider string) *payoutCounters {
	if c, ok := p.counters[provider]; ok {
		return c
	}
	return &payoutCounters{}
}

// takeFault returns and forgets the fault set for phone. The caller holds
// Sandbox.mu.
func (p *payoutState) takeFault(phone string) PayoutFault {
	f := p.faults[phone]
	delete(p.faults, phone)
	return f
}

// add records a payout taken now and decides its result at once from the
// fault: completed with a receipt, failed, or pending (Hold). The caller
// holds Sandbox.mu and has checked that the reference is new.
func (p *payoutState) add(po *Payout, f PayoutFault, now time.Time, failCode, failDesc string) {
	po.CreatedAt = now
	po.Late = f.Late
	switch {
	case f.Hold:
		po.Status = PayoutPending
		po.NarrationID = newGUID()
	case f.Fail:
		po.Status = PayoutFailed
		po.ResultCode, po.ResultDesc = failCode, failDesc
		if f.Code != "" {
			po.ResultCode = f.Code
		}
		if f.Desc != "" {
			po.ResultDesc = f.Desc
		}
		po.CompletedAt = now
	default:
		po.Status = PayoutCompleted
		po.Receipt = newReceipt()
		po.CompletedAt = now
	}
	p.payouts = append(p.payouts, po)
	p.byRef[stkKey{po.Provider, po.Reference}] = po
}

// PayoutNext makes the next send to phone (254 and 9 digits), by PokeaPay
// B2C or Pochipay send-to-mobile, behave as f says. A later call for the
// same phone replaces it; the zero PayoutFault clears it.
func (s *Sandbox) PayoutNext(phone string, f PayoutFault) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if f == (PayoutFault{}) {
		delete(s.payout.faults, phone)
		return
	}
	s.payout.faults[phone] = f
}

// Payouts returns a copy of every payout of every provider, oldest first.
func (s *Sandbox) Payouts() []Payout {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make([]Payout, len(s.payout.payouts))
	for i, p := range s.payout.payouts {
		out[i] = *p
	}
	return out
}

// PayoutByReference returns a copy of provider's payout with this
// reference (PokeaPay's transfer.reference, Pochipay's trackingReference,
// Pesapal's confirmation_code).
func (s *Sandbox) PayoutByReference(provider, reference string) (Payout, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	p, ok := s.payout.byRef[stkKey{provider, reference}]
	if !ok {
		return Payout{}, false
	}
	return *p, true
}

// PhoneReceived returns what phone received: its completed payouts from
// every provider, oldest first.
func (s *Sandbox) PhoneReceived(phone string) []Payout {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []Payout
	for _, p := range s.payout.payouts {
		if p.Phone == phone && p.Status == PayoutCompleted {
			out = append(out, *p)
		}
	}
	return out
}

// PayoutFinish gives a pending payout (PayoutFault.Hold) its result: paid
// when ok, else failed with the provider's failure; the callback is sent in
// the background when sendCallback is true. A failed Pochipay payout gives
// its amount back to the balance. It returns ErrUnknownPayout or
// ErrPayoutFinal.
func (s *Sandbox) PayoutFinish(provider, reference string, ok, sendCallback bool) error {
	s.mu.Lock()
	p, found := s.payout.byRef[stkKey{provider, reference}]
	if !found || provider == PayoutPesapal {
		s.mu.Unlock()
		return ErrUnknownPayout
	}
	if p.Status != PayoutPending {
		s.mu.Unlock()
		return ErrPayoutFinal
	}
	p.CompletedAt = s.now()
	p.NarrationID = ""
	if ok {
		p.Status = PayoutCompleted
		p.Receipt = newReceipt()
	} else {
		p.Status = PayoutFailed
		if provider == PayoutPokeaPay {
			p.ResultCode, p.ResultDesc = b2cFailCode, b2cFailDesc
		} else {
			p.ResultDesc = pochipayPayoutFailReason
			s.payout.pochiBalance += p.Amount
		}
	}
	s.mu.Unlock()
	if sendCallback {
		s.schedulePayoutCallback(provider, reference, false)
	}
	return nil
}

// SendPayoutCallback posts the result of a payout once, now, and returns
// an error unless the app answered with a 2xx status. It does not retry.
// It fails for a pending payout and once the Sandbox is closed.
func (s *Sandbox) SendPayoutCallback(provider, reference string) error {
	note, err := s.payoutCallbackNote(provider, reference)
	if err != nil {
		return err
	}
	return s.sendSTKCallback(s.ctx, note)
}

// PayoutCallbacksSent is the number of provider's payout callback requests
// made so far, every try counted, acknowledged or not, once the app's
// answer has been read.
func (s *Sandbox) PayoutCallbacksSent(provider string) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.payout.counter(provider).callbacksSent
}

// PayoutSends is the number of send requests provider received so far
// (PokeaPay B2C remittances, Pochipay send-to-mobile, Pesapal
// RefundRequests), whatever their answer.
func (s *Sandbox) PayoutSends(provider string) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.payout.counter(provider).sends
}

// PayoutStatusQueries is the number of Pochipay disbursement
// transaction-status requests received so far, whatever their answer.
func (s *Sandbox) PayoutStatusQueries() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.payout.counter(PayoutPochipay).queries
}

// FailPayoutStatusQueries makes the next n Pochipay disbursement
// transaction-status requests answer HTTP 503 (before any token check).
func (s *Sandbox) FailPayoutStatusQueries(n int) {
	s.mu.Lock()
	s.payout.counter(PayoutPochipay).failQueries = max(n, 0)
	s.mu.Unlock()
}

// countSend counts a send request of provider.
func (s *Sandbox) countSend(provider string) {
	s.mu.Lock()
	s.payout.counter(provider).sends++
	s.mu.Unlock()
}

// payoutCallbackNote builds the result callback of a payout.
func (s *Sandbox) payoutCallbackNote(provider, reference string) (stkCallbackNote, error) {
	s.mu.Lock()
	pr, ok := s.payout.byRef[stkKey{provider, reference}]
	var p Payout
	if ok {
		p = *pr
	}
	s.mu.Unlock()
	if !ok || provider == PayoutPesapal {
		return stkCallbackNote{}, ErrUnknownPayout
	}
	if p.Status == PayoutPending {
		return stkCallbackNote{}, fmt.Errorf("sandbox: %s payout %q is pending: only a finished payout has a callback", provider, reference)
	}
	var body any
	if provider == PayoutPokeaPay {
		body = b2cResultBody(&p)
	} else {
		body = pochipayPayoutCallbackBody(&p)
	}
	b, err := json.Marshal(body)
	if err != nil {
		return stkCallbackNote{}, fmt.Errorf("sandbox: encode %s payout callback: %w", provider, err)
	}
	return stkCallbackNote{Provider: provider, Reference: reference, URL: p.CallbackURL, Body: b, Payout: true}, nil
}

// schedulePayoutCallback posts the payout's result after IPNDelay in the
// background, with the STK callbacks' retries; a second time when twice is
// true or with DuplicateIPNRate.
func (s *Sandbox) schedulePayoutCallback(provider, reference string, twice bool) {
	note, err := s.payoutCallbackNote(provider, reference)
	if err != nil {
		s.log.Warn("payout callback not scheduled", "provider", provider, "reference", reference, "err", err)
		return
	}
	copies := 1
	if twice || rand.Float64() < s.cfg.DuplicateIPNRate {
		copies = 2
	}
	for i := range copies {
		delay := s.cfg.IPNDelay
		if i > 0 {
			delay += rand.N(s.cfg.IPNDelay + 1)
		}
		if !s.goAsync(func(ctx context.Context) { s.deliverSTKCallback(ctx, note, delay) }) {
			s.log.Warn("payout callback not sent: sandbox closed", "provider", provider, "reference", reference)
		}
	}
}

// sendPlan is one payout taken by a send request, with its fault.
type sendPlan struct {
	reference string
	fault     PayoutFault
}

// afterSend ends an accepted send: it holds the answer when a payout is
// Late (until the client gives up, the Sandbox closes or LateAnswerCap
// passes), writes answer unless the client is gone, and then schedules each
// payout's callback unless its fault says not to (a pending payout has none
// yet).
func (s *Sandbox) afterSend(w http.ResponseWriter, r *http.Request, provider string, plans []sendPlan, answer any) {
	late := false
	for _, p := range plans {
		late = late || p.fault.Late
	}
	if late {
		t := time.NewTimer(LateAnswerCap)
		select {
		case <-r.Context().Done():
		case <-s.ctx.Done():
		case <-t.C:
		}
		t.Stop()
	}
	if r.Context().Err() == nil {
		writeJSON(w, http.StatusOK, answer)
	}
	for _, p := range plans {
		if !p.fault.NoCallback && !p.fault.Hold {
			s.schedulePayoutCallback(provider, p.reference, p.fault.TwiceCallback)
		}
	}
}

// newestFirst returns the payouts, newest first. The caller holds
// Sandbox.mu.
func (p *payoutState) newestFirst() []*Payout {
	out := slices.Clone(p.payouts)
	slices.Reverse(out)
	return out
}
