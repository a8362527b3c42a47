package payments

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"

	"checkout/gateway"
	"checkout/money"
	"checkout/store"
)

// Refunds and payouts: money going out (issue 13). A refund goes back the
// way the payment came: Pesapal's refund request for a Pesapal payment, a
// payout to the payer's M-Pesa phone for an STK payment or a PokeaPay
// checkout paid by M-Pesa, and by hand for a PokeaPay card payment. The
// rule is never to send twice: a send happens only after a committed claim
// (queued -> sending), and a send whose outcome is unknown is resolved by
// the provider's status call or by a person, never by sending again.

// Refund and Payout are the store's rows.
type (
	Refund        = store.Refund
	Payout        = store.Payout
	TransferEvent = store.TransferEvent
)

// DefaultApprovalLimit is the approval limit when none is configured:
// KES 10,000, in cents.
const DefaultApprovalLimit int64 = 10_000_00

// Errors of refunds and payouts (besides *FieldError and ErrNotFound).
var (
	// ErrNotPaid: only a paid checkout can be refunded (409).
	ErrNotPaid = errors.New("this checkout is not paid, so there is nothing to refund")
	// ErrRefundOfUnpaid: Approve found the refund's payment no longer paid
	// (reversed by the provider): the refund was ended failed and nothing
	// is sent. It is also ErrNotPaid.
	ErrRefundOfUnpaid = fmt.Errorf("%w: the payment was reversed, so the refund ended failed and nothing was sent", ErrNotPaid)
	// ErrRefundExists: Pesapal takes one refund per payment, and this
	// payment has one (pending or succeeded) (409).
	ErrRefundExists = errors.New("Pesapal takes one refund per payment, and this payment has one already")
	// ErrNoPayoutProvider: no payout provider is configured (422).
	ErrNoPayoutProvider = errors.New("no payout provider is configured on this server")
	// ErrRefundUnavailable: the payment's provider cannot refund on this
	// server (Pesapal refunds without a Pesapal client) (422).
	ErrRefundUnavailable = errors.New("refunds of this payment are not available on this server")
	// ErrSelfApproval: the admin who asked cannot approve it.
	ErrSelfApproval = store.ErrSelfApproval
	// ErrNotAwaitingApproval: it is not waiting for approval (any more).
	ErrNotAwaitingApproval = errors.New("this is not waiting for approval")
	// ErrNotAttention: it does not wait for a person (any more).
	ErrNotAttention = errors.New("this does not wait for a person")
	// ErrRefundCovered: a refund paid after it was marked failed cannot
	// be marked succeeded, because another refund (or a reversal) already
	// covers its payment: counting it would refund more than was paid.
	// The person settles it outside the app and marks it failed.
	ErrRefundCovered = store.ErrRefundCovered
)

// Timing of the transfer worker.
const (
	// sendLease is how long a claim to send holds; a row still in sending
	// after it was interrupted and is never sent again.
	sendLease = 2 * time.Minute
	// sendTimeout bounds one provider call.
	sendTimeout = 45 * time.Second
	// firstPayoutCheck is when a sent payout is first asked about.
	firstPayoutCheck = time.Minute
	// notFoundGrace: a provider that still has no record of a send this
	// long after it never got it.
	notFoundGrace = 10 * time.Minute
	// silenceLimit: a payout with no status call and no callback this
	// long after its send waits for a person.
	silenceLimit = 24 * time.Hour
	// transfersPerPass bounds one worker pass.
	transfersPerPass = 50
)

// Limits of the text fields of refunds and payouts.
const (
	maxReason          = 200
	maxPayoutName      = 100
	maxPayoutReference = 64
	maxPayoutText      = 100
)

// RefundRequest is a refund asked for a checkout. Amount "" is what is
// left to refund.
type RefundRequest struct {
	Amount string
	Reason string
}

// PayoutRequest is a payout asked by a merchant (API) or an admin.
type PayoutRequest struct {
	Amount, Phone, Name, Reference, Description string
}

// TransferFilter narrows the admin's lists ("" = any).
type TransferFilter struct {
	Status, Stage string
	// Merchant keeps one merchant's.
	Merchant string
}

// RefundOptions says what the admin form may offer for a checkout.
type RefundOptions struct {
	Refundable     int64  // cents left to refund (0: nothing)
	Route          string // "pesapal", "payout", "manual"
	Provider       string
	FullOnly       bool   // Pesapal mobile money (or unknown method)
	WholeShillings bool   // payout route
	PaymentMethod  string // as the provider reported it
	Blocked        string // why no refund can be made now ("" = can)
	NeedsApproval  func(amount int64) bool
	// Phone is where a payout refund goes.
	Phone string
	// blockedErr is the error CreateRefund gives when Blocked.
	blockedErr error
	attemptID  string
	// paid and currency are the checkout's amount and currency.
	paid     int64
	currency string
}

// CheckAmount refuses a refund amount (cents, above 0) that the payment's
// rules do not allow: more than is left, part of a full-only payment, or
// cents on an M-Pesa refund. CreateRefund checks it again.
func (o RefundOptions) CheckAmount(amount int64) *FieldError {
	switch {
	case amount > o.Refundable:
		return invalid("amount", fmt.Sprintf("amount is more than is left to refund (%s %s)", o.currency, money.Amount(o.Refundable)))
	case o.FullOnly && amount != o.paid:
		return invalid("amount", fmt.Sprintf("this payment was made by mobile money (or a method Pesapal "+
			"did not name: %s), which Pesapal refunds in full only: %s %s", firstNonEmpty(o.PaymentMethod, "none"),
			o.currency, money.Amount(o.paid)))
	case o.WholeShillings && !money.Amount(amount).Whole():
		return invalid("amount", "an M-Pesa refund is sent in whole shillings; this amount has cents")
	}
	return nil
}

// ApprovalLimit is the amount (cents) above which a refund or payout waits
// for a second admin.
func (s *Service) ApprovalLimit() int64 {
	if s.cfg.ApprovalLimit > 0 {
		return s.cfg.ApprovalLimit
	}
	return DefaultApprovalLimit
}

func (s *Service) needsApproval(amount int64) bool { return amount > s.ApprovalLimit() }

// PayoutProviderName is the configured payout provider ("" when none).
func (s *Service) PayoutProviderName() string {
	if s.cfg.Payouts == nil {
		return ""
	}
	return s.cfg.Payouts.Name()
}

// PayoutBalance is what the payout provider can send, when it says (ok
// false: it has no balance call, or no provider is configured).
func (s *Service) PayoutBalance(ctx context.Context) (int64, string, bool, error) {
	b, ok := s.cfg.Payouts.(gateway.Balancer)
	if !ok || s.cfg.Payouts == nil {
		return 0, "", false, nil
	}
	ctx, cancel := context.WithTimeout(ctx, sendTimeout)
	defer cancel()
	amount, currency, err := b.Balance(ctx)
	if err != nil {
		return 0, "", true, fmt.Errorf("payments: payout balance: %w", err)
	}
	return int64(amount), currency, true, nil
}

// cardMethod reports whether a provider's payment method names a card.
func cardMethod(m string) bool {
	m = strings.ToLower(m)
	for _, c := range []string{"card", "visa", "mastercard", "master card", "amex", "american express",
		"diners", "discover", "unionpay", "jcb"} {
		if strings.Contains(m, c) {
			return true
		}
	}
	return false
}

// RefundOptions works out how a paid checkout can be refunded.
func (s *Service) RefundOptions(ctx context.Context, co *store.Checkout) (RefundOptions, error) {
	o := RefundOptions{NeedsApproval: s.needsApproval, paid: co.Amount, currency: co.Currency}
	if co.Status != store.StatusPaid {
		o.Blocked, o.blockedErr = "Only a paid order can be refunded.", ErrNotPaid
		return o, nil
	}
	a, err := s.st.PaidAttempt(ctx, co.ID)
	if errors.Is(err, store.ErrNotFound) {
		o.Blocked, o.blockedErr = "No payment of this order is recorded.", ErrNotPaid
		return o, nil
	}
	if err != nil {
		return o, err
	}
	o.attemptID, o.PaymentMethod = a.ID, a.PaymentMethod
	o.Refundable = co.Amount - co.RefundReserved
	switch {
	case a.Provider == ProviderPesapal:
		o.Route, o.Provider = store.RoutePesapal, ProviderPesapal
		o.FullOnly = !cardMethod(a.PaymentMethod)
		switch {
		case s.cfg.Refunder == nil:
			o.Blocked, o.blockedErr = "Pesapal refunds are not configured on this server.", ErrRefundUnavailable
		case co.RefundReserved > 0:
			o.Blocked, o.blockedErr = "Pesapal takes one refund per payment, and this payment has one.", ErrRefundExists
		case strings.TrimSpace(a.Receipt) == "":
			// Pesapal's refund request names the payment by it.
			o.Blocked, o.blockedErr = noConfirmationCode+".", ErrRefundUnavailable
		}
	case a.Method == MethodSTK || (a.Provider == ProviderPokeaPay && strings.EqualFold(strings.ReplaceAll(a.PaymentMethod, "-", ""), "mpesa")):
		o.Route, o.WholeShillings = store.RoutePayout, true
		o.Phone = firstNonEmpty(a.Phone, co.CustomerPhone)
		switch {
		case s.cfg.Payouts == nil:
			o.Blocked, o.blockedErr = "No payout provider is configured to send the money back.", ErrNoPayoutProvider
		case o.Phone == "":
			o.Blocked, o.blockedErr = "The phone that paid is not known.", ErrRefundUnavailable
		default:
			o.Provider = s.cfg.Payouts.Name()
		}
	default:
		// A PokeaPay card payment (or one whose method is not known): a
		// person refunds it by hand.
		o.Route = store.RouteManual
	}
	if o.Blocked == "" && o.Refundable <= 0 {
		o.Blocked = "This order is refunded in full."
		o.blockedErr = invalid("amount", "nothing is left to refund on this checkout")
	}
	return o, nil
}

func firstNonEmpty(vals ...string) string {
	for _, v := range vals {
		if v != "" {
			return v
		}
	}
	return ""
}

// noConfirmationCode says why a Pesapal payment without a confirmation
// code cannot be refunded through Pesapal's refund request.
const noConfirmationCode = "Pesapal gave no confirmation code for this payment: refund it in the Pesapal dashboard"

// manualMessage is the note of a refund to make by hand.
func manualMessage(method string) string {
	if cardMethod(method) {
		return "PokeaPay has no refund API for cards: refund by hand, then mark it refunded"
	}
	return "The payment method is not known (" + firstNonEmpty(method, "none reported") +
		"): refund by hand, then mark it refunded"
}

// CreateRefund asks for a refund of a merchant's paid checkout.
// requestedBy is "api" or "admin:<email>".
func (s *Service) CreateRefund(ctx context.Context, m *store.Merchant, checkoutID string, req RefundRequest, requestedBy string) (*Refund, error) {
	r, p, onlyOne, err := s.newRefund(ctx, m, checkoutID, req, requestedBy)
	if err != nil {
		return nil, err
	}
	if err := s.st.CreateRefund(ctx, r, p, onlyOne); err != nil {
		return nil, s.refundRefused(ctx, r, err)
	}
	s.log.InfoContext(ctx, "refund requested", "refund_id", r.ID, "checkout_id", r.CheckoutID, "route", r.Route)
	return r, nil
}

// CreateRefundOnce is CreateRefund over the API with an Idempotency-Key:
// the refund and the key's answer are stored in one transaction. When
// another request with the same key and body finished first, its answer is
// returned, Replayed, and the refund is nil.
func (s *Service) CreateRefundOnce(ctx context.Context, m *store.Merchant, checkoutID string, req RefundRequest,
	claim *store.IdempotencyClaim, answer store.RefundAnswer) (*Refund, store.StoredAnswer, error) {
	return s.CreateRefundOnceBy(ctx, m, checkoutID, req, "api", claim, answer)
}

// CreateRefundOnceBy is CreateRefundOnce for a request made by requestedBy
// ("admin:<email>": the admin's confirm step, whose one-time token is the
// key).
func (s *Service) CreateRefundOnceBy(ctx context.Context, m *store.Merchant, checkoutID string, req RefundRequest,
	requestedBy string, claim *store.IdempotencyClaim, answer store.RefundAnswer) (*Refund, store.StoredAnswer, error) {
	r, p, onlyOne, err := s.newRefund(ctx, m, checkoutID, req, requestedBy)
	if err != nil {
		return nil, store.StoredAnswer{}, err
	}
	stored, err := s.st.CreateRefundOnce(ctx, r, p, onlyOne, claim, answer)
	if err != nil {
		return nil, store.StoredAnswer{}, s.refundRefused(ctx, r, err)
	}
	if stored.Replayed {
		return nil, stored, nil
	}
	s.log.InfoContext(ctx, "refund requested", "refund_id", r.ID, "checkout_id", r.CheckoutID, "route", r.Route)
	return r, stored, nil
}

// refundRefused explains a refund the checkout's reservation refused.
func (s *Service) refundRefused(ctx context.Context, r *Refund, err error) error {
	if !errors.Is(err, store.ErrRefundRefused) {
		return fmt.Errorf("payments: create refund: %w", err)
	}
	co, lerr := s.st.Checkout(ctx, r.CheckoutID)
	switch {
	case lerr != nil:
		return fmt.Errorf("payments: create refund: %w", lerr)
	case co.Status != store.StatusPaid:
		return ErrNotPaid
	case r.Route == store.RoutePesapal && co.RefundReserved > 0:
		return ErrRefundExists
	}
	return invalid("amount", fmt.Sprintf("amount is more than is left to refund (%s %s)", co.Currency,
		money.Amount(co.Amount-co.RefundReserved)))
}

func (s *Service) newRefund(ctx context.Context, m *store.Merchant, checkoutID string, req RefundRequest,
	requestedBy string) (*Refund, *Payout, bool, error) {
	co, err := s.st.CheckoutForMerchant(ctx, m.ID, checkoutID)
	if err != nil {
		return nil, nil, false, err
	}
	o, err := s.RefundOptions(ctx, co)
	if err != nil {
		return nil, nil, false, err
	}
	if o.blockedErr != nil {
		return nil, nil, false, o.blockedErr
	}
	amount := o.Refundable
	if v := strings.TrimSpace(req.Amount); v != "" {
		a, err := gateway.ParseAmount(v)
		if err != nil {
			return nil, nil, false, invalid("amount", "amount must be digits with an optional point and at most 2 decimals, such as 1500 or 1500.50")
		}
		if a <= 0 {
			return nil, nil, false, invalid("amount", "amount must be greater than 0")
		}
		amount = int64(a)
	}
	if err := o.CheckAmount(amount); err != nil {
		return nil, nil, false, err
	}
	reason := strings.TrimSpace(req.Reason)
	if err := text("reason", reason, maxReason, false); err != nil {
		return nil, nil, false, err
	}
	now := s.now()
	stage := store.StageQueued
	if s.needsApproval(amount) {
		stage = store.StageApproval
	}
	r := &Refund{ID: store.NewID("ref", now), MerchantID: m.ID, CheckoutID: co.ID, AttemptID: o.attemptID,
		Amount: amount, Currency: co.Currency, Reason: reason, Route: o.Route, Provider: o.Provider,
		Phone: o.Phone, Status: store.TransferPending, Stage: stage, RequestedBy: requestedBy}
	var p *Payout
	switch o.Route {
	case store.RouteManual:
		// By hand: a person does it, after a second admin's approval
		// when it is above the limit (Approve then moves it to attention).
		r.Message = manualMessage(o.PaymentMethod)
		if stage != store.StageApproval {
			r.Stage = store.StageAttention
		}
		r.Provider = ""
	case store.RoutePayout:
		p = &Payout{ID: store.NewID("po", now), MerchantID: m.ID, Provider: o.Provider, Amount: amount,
			Currency: co.Currency, Phone: o.Phone, Name: co.CustomerName, Description: truncate("Refund "+co.Reference, maxPayoutText),
			Status: store.TransferPending, Stage: stage, RequestedBy: requestedBy}
	}
	return r, p, o.Route == store.RoutePesapal, nil
}

func truncate(s string, n int) string {
	r := []rune(s)
	if len(r) > n {
		return string(r[:n])
	}
	return s
}

// CreatePayout asks for a payout to an M-Pesa phone.
func (s *Service) CreatePayout(ctx context.Context, m *store.Merchant, req PayoutRequest, requestedBy string) (*Payout, error) {
	p, err := s.newPayout(m, req, requestedBy)
	if err != nil {
		return nil, err
	}
	if err := s.st.CreatePayout(ctx, p); err != nil {
		return nil, payoutError(err)
	}
	s.log.InfoContext(ctx, "payout requested", "payout_id", p.ID, "merchant_id", p.MerchantID)
	return p, nil
}

// CreatePayoutOnce is CreatePayout over the API with an Idempotency-Key.
func (s *Service) CreatePayoutOnce(ctx context.Context, m *store.Merchant, req PayoutRequest, claim *store.IdempotencyClaim,
	answer store.PayoutAnswer) (*Payout, store.StoredAnswer, error) {
	return s.CreatePayoutOnceBy(ctx, m, req, "api", claim, answer)
}

// CreatePayoutOnceBy is CreatePayoutOnce for a request made by requestedBy
// ("admin:<email>": Send money's confirm step, whose one-time token is the
// key).
func (s *Service) CreatePayoutOnceBy(ctx context.Context, m *store.Merchant, req PayoutRequest, requestedBy string,
	claim *store.IdempotencyClaim, answer store.PayoutAnswer) (*Payout, store.StoredAnswer, error) {
	p, err := s.newPayout(m, req, requestedBy)
	if err != nil {
		return nil, store.StoredAnswer{}, err
	}
	stored, err := s.st.CreatePayoutOnce(ctx, p, claim, answer)
	if err != nil {
		return nil, store.StoredAnswer{}, payoutError(err)
	}
	if stored.Replayed {
		return nil, stored, nil
	}
	s.log.InfoContext(ctx, "payout requested", "payout_id", p.ID, "merchant_id", p.MerchantID)
	return p, stored, nil
}

func payoutError(err error) error {
	if errors.Is(err, store.ErrDuplicate) {
		return &FieldError{Code: "duplicate", Field: "reference", Message: "a payout with this reference exists already"}
	}
	return fmt.Errorf("payments: create payout: %w", err)
}

func (s *Service) newPayout(m *store.Merchant, req PayoutRequest, requestedBy string) (*Payout, error) {
	if s.cfg.Payouts == nil {
		return nil, ErrNoPayoutProvider
	}
	v := strings.TrimSpace(req.Amount)
	if v == "" {
		return nil, &FieldError{Code: "required", Field: "amount", Message: "amount is required"}
	}
	a, err := gateway.ParseAmount(v)
	if err != nil {
		return nil, invalid("amount", "amount must be digits with an optional point and at most 2 decimals, such as 1500")
	}
	if a <= 0 {
		return nil, invalid("amount", "amount must be greater than 0")
	}
	if !a.Whole() {
		return nil, invalid("amount", "M-Pesa sends whole shillings; this amount has cents")
	}
	if strings.TrimSpace(req.Phone) == "" {
		return nil, &FieldError{Code: "required", Field: "phone", Message: "phone is required"}
	}
	phone, err := NormalizePhone(req.Phone)
	if err != nil {
		return nil, invalid("phone", "phone must be a Kenyan M-Pesa number such as 0712345678 or 254712345678")
	}
	name, ref, desc := strings.TrimSpace(req.Name), strings.TrimSpace(req.Reference), strings.TrimSpace(req.Description)
	if err := text("name", name, maxPayoutName, false); err != nil {
		return nil, err
	}
	if err := text("reference", ref, maxPayoutReference, false); err != nil {
		return nil, err
	}
	if err := text("description", desc, maxPayoutText, false); err != nil {
		return nil, err
	}
	now := s.now()
	stage := store.StageQueued
	if s.needsApproval(int64(a)) {
		stage = store.StageApproval
	}
	return &Payout{ID: store.NewID("po", now), MerchantID: m.ID, Provider: s.cfg.Payouts.Name(), Amount: int64(a),
		Currency: "KES", Phone: phone, Name: name, Reference: ref, Description: desc,
		Status: store.TransferPending, Stage: stage, RequestedBy: requestedBy}, nil
}

// RefundFor loads a merchant's refund; another merchant's is ErrNotFound.
func (s *Service) RefundFor(ctx context.Context, merchantID, id string) (*Refund, error) {
	r, err := s.st.Refund(ctx, id)
	if err != nil {
		return nil, err
	}
	if r.MerchantID != merchantID {
		return nil, fmt.Errorf("payments: refund %s: %w", id, ErrNotFound)
	}
	return r, nil
}

// PayoutFor loads a merchant's payout; another merchant's is ErrNotFound.
func (s *Service) PayoutFor(ctx context.Context, merchantID, id string) (*Payout, error) {
	p, err := s.st.Payout(ctx, id)
	if err != nil {
		return nil, err
	}
	if p.MerchantID != merchantID {
		return nil, fmt.Errorf("payments: payout %s: %w", id, ErrNotFound)
	}
	return p, nil
}

// Refunds lists one page of a merchant's refunds, newest first, for the
// merchant API: after, when given, must be one of them (see cursor).
func (s *Service) Refunds(ctx context.Context, merchantID, after string, limit int) ([]Refund, bool, error) {
	if err := s.cursor(ctx, &store.Refund{}, "refund", merchantID, after); err != nil {
		return nil, false, err
	}
	return s.st.ListRefunds(ctx, store.TransferFilter{MerchantID: merchantID}, after, limit)
}

// Payouts lists one page of a merchant's payouts, newest first, as Refunds.
func (s *Service) Payouts(ctx context.Context, merchantID, after string, limit int) ([]Payout, bool, error) {
	if err := s.cursor(ctx, &store.Payout{}, "payout", merchantID, after); err != nil {
		return nil, false, err
	}
	return s.st.ListPayouts(ctx, store.TransferFilter{MerchantID: merchantID}, after, limit)
}

// cursor holds a merchant API list's starting_after (when given) to one of
// the merchant's own objects of the list's kind: another id is ErrNotFound,
// as Stripe answers a cursor naming no object of yours. Another merchant's
// id shows nothing of theirs, not even where it would fall in the list.
func (s *Service) cursor(ctx context.Context, model any, kind, merchantID, after string) error {
	if after == "" {
		return nil
	}
	ok, err := s.st.MerchantHas(ctx, model, merchantID, after)
	if err != nil {
		return fmt.Errorf("payments: %s list cursor: %w", kind, err)
	}
	if !ok {
		return fmt.Errorf("payments: %s %s: %w", kind, after, ErrNotFound)
	}
	return nil
}

// CheckoutRefunds lists a checkout's refunds, oldest first.
func (s *Service) CheckoutRefunds(ctx context.Context, checkoutID string) ([]Refund, error) {
	return s.st.CheckoutRefunds(ctx, checkoutID)
}

// AdminRefunds lists every merchant's refunds (the admin).
func (s *Service) AdminRefunds(ctx context.Context, f TransferFilter, after string, limit int) ([]Refund, bool, error) {
	return s.st.ListRefunds(ctx, store.TransferFilter{MerchantID: f.Merchant, Status: f.Status, Stage: f.Stage}, after, limit)
}

// AdminPayouts lists every merchant's payouts (the admin).
func (s *Service) AdminPayouts(ctx context.Context, f TransferFilter, after string, limit int) ([]Payout, bool, error) {
	return s.st.ListPayouts(ctx, store.TransferFilter{MerchantID: f.Merchant, Status: f.Status, Stage: f.Stage}, after, limit)
}

// AdminRefund loads any refund.
func (s *Service) AdminRefund(ctx context.Context, id string) (*Refund, error) {
	return s.st.Refund(ctx, id)
}

// AdminPayout loads any payout.
func (s *Service) AdminPayout(ctx context.Context, id string) (*Payout, error) {
	return s.st.Payout(ctx, id)
}

// TransferEvents is a refund's or payout's timeline, oldest first.
func (s *Service) TransferEvents(ctx context.Context, subjectID string) ([]TransferEvent, error) {
	return s.st.TransferEvents(ctx, subjectID)
}

// TransfersWaiting counts the refunds and payouts waiting for a person
// (approval or attention), for the admin's navigation.
func (s *Service) TransfersWaiting(ctx context.Context) (refunds, payouts int64, err error) {
	return s.st.TransfersWaiting(ctx)
}

// adminEmail is the admin's email, given as such or as "admin:<email>",
// trimmed and lower-cased (admin emails are kept lower-case: one account
// whatever the case it is typed in).
func adminEmail(admin string) string {
	return strings.ToLower(strings.TrimSpace(strings.TrimPrefix(strings.TrimSpace(admin), "admin:")))
}

// Approve lets a refund or payout waiting for approval go (kind "refund"
// or "payout"); admin is the approving admin's email. A refund whose
// payment is no longer paid ends failed instead (ErrRefundOfUnpaid).
func (s *Service) Approve(ctx context.Context, kind, id, admin string) error {
	err := s.st.Approve(ctx, kind, id, adminEmail(admin))
	switch {
	case errors.Is(err, store.ErrStage):
		return ErrNotAwaitingApproval
	case errors.Is(err, store.ErrPaymentNotPaid):
		// Ended failed, its amount given back: nothing is sent.
		return ErrRefundOfUnpaid
	}
	return err
}

// Decline ends a refund or payout waiting for approval as failed.
func (s *Service) Decline(ctx context.Context, kind, id, admin, reason string) error {
	if err := text("reason", strings.TrimSpace(reason), maxReason, false); err != nil {
		return err
	}
	err := s.st.Decline(ctx, kind, id, adminEmail(admin), reason)
	if errors.Is(err, store.ErrStage) {
		return ErrNotAwaitingApproval
	}
	return err
}

// Resolve ends a refund or payout that waits for a person (stage
// attention) as they found it. A refund flagged paid after it was marked
// failed whose payment another refund covers cannot be marked succeeded
// (ErrRefundCovered).
func (s *Service) Resolve(ctx context.Context, kind, id, admin string, succeeded bool, note string) error {
	if err := text("note", strings.TrimSpace(note), maxReason, false); err != nil {
		return err
	}
	err := s.st.Resolve(ctx, kind, id, adminEmail(admin), succeeded, note)
	if errors.Is(err, store.ErrStage) {
		return ErrNotAttention
	}
	return err
}

// RefundObject is a refund as the merchant API shows it.
type RefundObject struct {
	ID                string  `json:"id"`
	CheckoutID        string  `json:"checkout_id"`
	Amount            string  `json:"amount"`
	Currency          string  `json:"currency"`
	Status            string  `json:"status"`
	Provider          *string `json:"provider"`
	ProviderReference *string `json:"provider_reference"`
	Message           *string `json:"message"`
	Reason            *string `json:"reason"`
	CreatedAt         string  `json:"created_at"`
	CompletedAt       *string `json:"completed_at"`
	Livemode          bool    `json:"livemode"`
}

// PayoutObject is a payout as the merchant API shows it.
type PayoutObject struct {
	ID                string  `json:"id"`
	Amount            string  `json:"amount"`
	Currency          string  `json:"currency"`
	Phone             string  `json:"phone"`
	Name              *string `json:"name"`
	Reference         *string `json:"reference"`
	Description       *string `json:"description"`
	Status            string  `json:"status"`
	Provider          *string `json:"provider"`
	ProviderReference *string `json:"provider_reference"`
	Receipt           *string `json:"receipt"`
	Message           *string `json:"message"`
	CreatedAt         string  `json:"created_at"`
	CompletedAt       *string `json:"completed_at"`
	Livemode          bool    `json:"livemode"`
}

func timeOrNull(t *time.Time) *string {
	if t == nil {
		return nil
	}
	v := rfc3339(*t)
	return &v
}

// RefundObject builds the API view of a refund.
func (s *Service) RefundObject(r *Refund) RefundObject {
	return RefundObject{ID: r.ID, CheckoutID: r.CheckoutID, Amount: gateway.Amount(r.Amount).String(), Currency: r.Currency,
		Status: r.Status, Provider: orNull(r.Provider), ProviderReference: orNull(r.ProviderReference),
		Message: orNull(r.Message), Reason: orNull(r.Reason), CreatedAt: rfc3339(r.CreatedAt),
		CompletedAt: timeOrNull(r.CompletedAt), Livemode: s.Livemode()}
}

// PayoutObject builds the API view of a payout.
func (s *Service) PayoutObject(p *Payout) PayoutObject {
	return PayoutObject{ID: p.ID, Amount: gateway.Amount(p.Amount).String(), Currency: p.Currency, Phone: p.Phone,
		Name: orNull(p.Name), Reference: orNull(p.Reference), Description: orNull(p.Description), Status: p.Status,
		Provider: orNull(p.Provider), ProviderReference: orNull(p.ProviderReference), Receipt: orNull(p.Receipt),
		Message: orNull(p.Message), CreatedAt: rfc3339(p.CreatedAt), CompletedAt: timeOrNull(p.CompletedAt),
		Livemode: s.Livemode()}
}

// transferEnvelope is the body of a refund's or payout's webhook.
type transferEnvelope struct {
	Type      string `json:"type"`
	Timestamp string `json:"timestamp"`
	Livemode  bool   `json:"livemode"`
	Data      any    `json:"data"`
}

func (s *Service) refundPayload(r *Refund, eventType string, at time.Time) ([]byte, error) {
	return json.Marshal(transferEnvelope{Type: eventType, Timestamp: rfc3339(at), Livemode: s.Livemode(), Data: s.RefundObject(r)})
}

func (s *Service) payoutPayload(p *Payout, eventType string, at time.Time) ([]byte, error) {
	return json.Marshal(transferEnvelope{Type: eventType, Timestamp: rfc3339(at), Livemode: s.Livemode(), Data: s.PayoutObject(p)})
}
