package sandbox

import (
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"time"

	"checkout/gateway"
)

// Pochipay's disbursements, on the Pochipay simulator's base. The page
// lost its sample bodies: every body has the shape of an example in
// gateway/pochipay/testdata (assumed-disbursement-*, assumed-account-*),
// in the envelope {"result", "message", "errors"}.

// Fixed texts of the disbursement answers.
const (
	pochipayPayoutAccepted    = "Disbursement request accepted for processing"
	pochipayPayoutNotFound    = "Transaction not found"
	pochipayInsufficient      = "Insufficient balance"
	pochipayDuplicateRequest  = "RequestId already exists: use a new requestId for every disbursement"
	pochipayDuplicateTracking = "TrackingReference already exists: use a new trackingReference for every recipient"
	pochipayPayoutFailReason  = "The recipient is not a registered M-Pesa customer"
	pochipayCancelled         = "Transaction cancelled"
	pochipayCancelledReason   = "Cancelled by the sender"
	pochipayCancelNotPending  = "Only a pending transaction can be cancelled"
	pochipayCancelTooSoon     = "A transaction can only be cancelled after it has been pending for at least 24 hours"
)

// PochipayCancelAfter is how long a disbursement must have been pending
// before disbursement/cancel takes it (the page: "at least 24 hours"), by
// Config.Now's clock.
const PochipayCancelAfter = 24 * time.Hour

func (s *Sandbox) routePochipayPayouts(mux *http.ServeMux) {
	mux.HandleFunc("POST "+PochipayPath+"/disbursement/send-to-mobile", s.pochipaySendToMobile)
	mux.HandleFunc("POST "+PochipayPath+"/disbursement/transaction-status", s.pochipayPayoutStatus)
	mux.HandleFunc("POST "+PochipayPath+"/disbursement/cancel", s.pochipayCancel)
	mux.HandleFunc("GET "+PochipayPath+"/account/balance", s.pochipayBalance)
}

// pochipayRecipientCheck checks one recipient (at index i) and lists every
// problem.
func pochipayRecipientCheck(o *jsonObject, i int) (Payout, []string) {
	var p Payout
	var errs []string
	name := func(f string) string { return fmt.Sprintf("Recipients[%d].%s", i, f) }
	var prob fieldProblem
	if p.Amount, prob = o.wholeAmount("amount"); prob != fieldOK {
		errs = append(errs, pochipayFieldMessage("Amount", prob))
	}
	if p.Description, prob = o.optionalStr("remarks"); prob != fieldOK {
		errs = append(errs, pochipayFieldMessage(name("Remarks"), prob))
	}
	if p.Reference, prob = o.str("trackingReference"); prob != fieldOK {
		errs = append(errs, pochipayFieldMessage(name("TrackingReference"), prob))
	}
	if p.Phone, prob = o.str("phoneNumber"); prob != fieldOK {
		errs = append(errs, pochipayFieldMessage(name("PhoneNumber"), prob))
	} else if !stkPhonePattern.MatchString(p.Phone) {
		errs = append(errs, name("PhoneNumber")+" must be 2547XXXXXXXX or 2541XXXXXXXX (254, then 7 or 1, then 8 digits)")
	}
	for j, e := range errs {
		if strings.HasPrefix(e, "Amount ") {
			errs[j] = name(e)
		}
	}
	return p, errs
}

// pochipaySendCheck checks a send-to-mobile request and lists every
// problem; it returns one Payout per recipient.
func pochipaySendCheck(o *jsonObject) (requestID, title, callback string, recipients []*Payout, errs []string) {
	var prob fieldProblem
	if callback, prob = o.str("callbackUrl"); prob != fieldOK {
		errs = append(errs, pochipayFieldMessage("CallbackUrl", prob))
	} else if !validURL(callback) {
		errs = append(errs, "CallbackUrl must be an absolute http or https URL")
	}
	if requestID, prob = o.str("requestId"); prob != fieldOK {
		errs = append(errs, pochipayFieldMessage("RequestId", prob))
	}
	if title, prob = o.optionalStr("disbursementTitle"); prob != fieldOK {
		errs = append(errs, pochipayFieldMessage("DisbursementTitle", prob))
	}
	raw, ok := o.get("recipients")
	var list []json.RawMessage
	switch {
	case !ok:
		errs = append(errs, "Recipients is required")
	case json.Unmarshal(raw, &list) != nil:
		errs = append(errs, "Recipients must be an array")
	case len(list) == 0:
		errs = append(errs, "Recipients must have at least one recipient")
	}
	seen := map[string]bool{}
	for i, item := range list {
		var fields map[string]json.RawMessage
		if err := json.Unmarshal(item, &fields); err != nil || fields == nil {
			errs = append(errs, fmt.Sprintf("Recipients[%d] must be an object", i))
			continue
		}
		p, pe := pochipayRecipientCheck(&jsonObject{raw: item, fields: fields, fold: true}, i)
		errs = append(errs, pe...)
		if p.Reference != "" && seen[p.Reference] {
			errs = append(errs, fmt.Sprintf("Recipients[%d].TrackingReference is used twice in this request", i))
		}
		seen[p.Reference] = true
		recipients = append(recipients, &p)
	}
	return requestID, title, callback, recipients, errs
}

// pochipaySendResult is the result of an accepted send-to-mobile
// (assumed-disbursement-send-to-mobile-response.json).
type pochipaySendResult struct {
	RequestID    string `json:"requestId"`
	IsProcessing bool   `json:"isProcessing"`
}

func (s *Sandbox) pochipaySendToMobile(w http.ResponseWriter, r *http.Request) {
	s.countSend(PayoutPochipay)
	if !s.pochipayAuthorized(w, r) {
		return
	}
	o, ok := pochipayRead(w, r)
	if !ok {
		return
	}
	requestID, title, callback, recipients, errs := pochipaySendCheck(o)
	if len(errs) > 0 {
		writePochipayError(w, http.StatusBadRequest, errs...)
		return
	}
	s.mu.Lock()
	if s.payout.pochiRequests[requestID] {
		s.mu.Unlock()
		writePochipayError(w, http.StatusBadRequest, pochipayDuplicateRequest)
		return
	}
	var total int64
	for _, p := range recipients {
		if _, dup := s.payout.byRef[stkKey{PayoutPochipay, p.Reference}]; dup {
			s.mu.Unlock()
			writePochipayError(w, http.StatusBadRequest, pochipayDuplicateTracking)
			return
		}
		total += int64(p.Amount)
	}
	if total > int64(s.payout.pochiBalance) {
		s.mu.Unlock()
		writePochipayError(w, http.StatusBadRequest, pochipayInsufficient)
		return
	}
	s.payout.pochiRequests[requestID] = true
	now := s.now()
	plans := make([]sendPlan, 0, len(recipients))
	for _, p := range recipients {
		p.Provider = PayoutPochipay
		p.RequestID = requestID
		p.Currency = "KES"
		p.CallbackURL = callback
		if p.Description == "" {
			p.Description = title
		}
		f := s.payout.takeFault(p.Phone)
		s.payout.add(p, f, now, "", pochipayPayoutFailReason)
		if p.Status != PayoutFailed {
			s.payout.pochiBalance -= p.Amount
		}
		plans = append(plans, sendPlan{p.Reference, f})
	}
	s.mu.Unlock()
	s.afterSend(w, r, PayoutPochipay, plans, pochipayAnswer{
		Result:  pochipaySendResult{RequestID: requestID, IsProcessing: true},
		Message: pochipayPayoutAccepted,
		Errors:  []string{},
	})
}

// pochipayPayoutStatusResult is transaction-status's result
// (assumed-disbursement-status-*.json): narrationId only while pending,
// thirdPartyReference (the M-Pesa receipt) only once completed, failReason
// only once failed; null otherwise.
type pochipayPayoutStatusResult struct {
	TrackingReference   string  `json:"trackingReference"`
	Status              string  `json:"status"` // Pending, Completed or Failed
	ThirdPartyReference *string `json:"thirdPartyReference"`
	NarrationID         *string `json:"narrationId"`
	FailReason          *string `json:"failReason"`
}

// pochipayPayoutWords are the status words per payout status; "Completed"
// as the page writes it, "Failed" ASSUMED (a cancelled one too).
var pochipayPayoutWords = map[string]string{
	PayoutPending:   "Pending",
	PayoutCompleted: "Completed",
	PayoutFailed:    "Failed",
}

// pochipayPayoutTarget reads {trackingReference} and finds its payout; on
// failure it has answered (400 or 404).
func (s *Sandbox) pochipayPayoutTarget(w http.ResponseWriter, r *http.Request) (*Payout, bool) {
	o, ok := pochipayRead(w, r)
	if !ok {
		return nil, false
	}
	ref, prob := o.str("trackingReference")
	if prob != fieldOK {
		writePochipayError(w, http.StatusBadRequest, pochipayFieldMessage("TrackingReference", prob))
		return nil, false
	}
	s.mu.Lock()
	p, found := s.payout.byRef[stkKey{PayoutPochipay, strings.TrimSpace(ref)}]
	s.mu.Unlock()
	if !found {
		writePochipayError(w, http.StatusNotFound, pochipayPayoutNotFound)
		return nil, false
	}
	return p, true
}

func (s *Sandbox) pochipayPayoutStatus(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	c := s.payout.counter(PayoutPochipay)
	c.queries++
	failing := c.failQueries > 0
	if failing {
		c.failQueries--
	}
	s.mu.Unlock()
	if failing {
		writePochipayError(w, http.StatusServiceUnavailable, pochipayUnavailable)
		return
	}
	if !s.pochipayAuthorized(w, r) {
		return
	}
	p, ok := s.pochipayPayoutTarget(w, r)
	if !ok {
		return
	}
	s.mu.Lock()
	res := pochipayPayoutStatusResult{
		TrackingReference: p.Reference,
		Status:            pochipayPayoutWords[p.Status],
	}
	switch p.Status {
	case PayoutPending:
		res.NarrationID = nullable(p.NarrationID)
	case PayoutCompleted:
		res.ThirdPartyReference = nullable(p.Receipt)
	case PayoutFailed:
		res.FailReason = nullable(p.ResultDesc)
	}
	s.mu.Unlock()
	writeJSON(w, http.StatusOK, pochipayAnswer{Result: res, Message: "Success", Errors: []string{}})
}

func (s *Sandbox) pochipayCancel(w http.ResponseWriter, r *http.Request) {
	if !s.pochipayAuthorized(w, r) {
		return
	}
	p, ok := s.pochipayPayoutTarget(w, r)
	if !ok {
		return
	}
	s.mu.Lock()
	now := s.now()
	switch {
	case p.Status != PayoutPending:
		s.mu.Unlock()
		writePochipayError(w, http.StatusBadRequest, pochipayCancelNotPending)
		return
	case now.Sub(p.CreatedAt) < PochipayCancelAfter:
		s.mu.Unlock()
		writePochipayError(w, http.StatusBadRequest, pochipayCancelTooSoon)
		return
	}
	p.Status = PayoutFailed
	p.ResultDesc = pochipayCancelledReason
	p.NarrationID = ""
	p.CompletedAt = now
	s.payout.pochiBalance += p.Amount
	s.mu.Unlock()
	// No callback: the sender asked for it (ASSUMED).
	writeJSON(w, http.StatusOK, pochipayAnswer{Result: nil, Message: pochipayCancelled, Errors: []string{}})
}

// pochipayBalanceResult is account/balance's result
// (assumed-account-balance-response.json): the balance as a JSON number of
// shillings.
type pochipayBalanceResult struct {
	Currency string      `json:"currency"`
	Balance  json.Number `json:"balance"`
}

func (s *Sandbox) pochipayBalance(w http.ResponseWriter, r *http.Request) {
	if !s.pochipayAuthorized(w, r) {
		return
	}
	s.mu.Lock()
	balance := s.payout.pochiBalance
	s.mu.Unlock()
	writeJSON(w, http.StatusOK, pochipayAnswer{
		Result:  pochipayBalanceResult{Currency: "KES", Balance: jsonAmount(balance)},
		Message: "Success",
		Errors:  []string{},
	})
}

// pochipayPayoutCallback is the disbursement callback
// (assumed-disbursement-callback-*.json): thirdPartyReference is the M-Pesa
// receipt (null on failure), failReason null on success.
type pochipayPayoutCallback struct {
	Successful          bool    `json:"successful"`
	RequestID           string  `json:"requestId"`
	TrackingReference   string  `json:"trackingReference"`
	ThirdPartyReference *string `json:"thirdPartyReference"`
	FailReason          *string `json:"failReason"`
}

func pochipayPayoutCallbackBody(p *Payout) pochipayPayoutCallback {
	cb := pochipayPayoutCallback{RequestID: p.RequestID, TrackingReference: p.Reference}
	if p.Status == PayoutCompleted {
		cb.Successful = true
		cb.ThirdPartyReference = nullable(p.Receipt)
	} else {
		cb.FailReason = nullable(p.ResultDesc)
	}
	return cb
}

// PochipayBalance is the Pochipay account's balance now, in cents.
func (s *Sandbox) PochipayBalance() gateway.Amount {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.payout.pochiBalance
}

// SetPochipayBalance sets the Pochipay account's balance.
func (s *Sandbox) SetPochipayBalance(a gateway.Amount) {
	s.mu.Lock()
	s.payout.pochiBalance = max(0, a)
	s.mu.Unlock()
}
