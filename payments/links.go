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

// PaymentLink is a merchant's link that makes a checkout for each customer
// who opens it (/l/{id}).
type PaymentLink = store.PaymentLink

// LinkPaid is what a payment link has brought in: its paid checkouts and
// their total, in cents.
type LinkPaid = store.LinkPaid

// Why a payment link makes no checkout (any more).
var (
	// ErrLinkInactive: the merchant deactivated the link.
	ErrLinkInactive = store.ErrLinkInactive
	// ErrLinkExpired: the link's expires_at has passed.
	ErrLinkExpired = store.ErrLinkExpired
	// ErrLinkUsed: a single-use link was paid already (or a payment of it
	// is under way).
	ErrLinkUsed = store.ErrLinkUsed
	// ErrLinkBusy: a single-use link makes no checkout while a payment of
	// it is under way (CheckoutFromLink); try again when it has ended.
	ErrLinkBusy = store.ErrLinkBusy
)

// LinkRequest is the body of POST /api/v1/payment_links (design.md,
// "Merchant API"), and what the admin's form fills.
type LinkRequest struct {
	// Amount is fixed; left out, the customer enters one, within MinAmount
	// and MaxAmount when they are given. All three are JSON numbers or
	// strings of digits, in major units, as a checkout's amount.
	Amount          json.RawMessage            `json:"amount"`
	MinAmount       json.RawMessage            `json:"min_amount"`
	MaxAmount       json.RawMessage            `json:"max_amount"`
	Currency        string                     `json:"currency"`
	Description     string                     `json:"description"`
	ReferencePrefix string                     `json:"reference_prefix"`
	SingleUse       bool                       `json:"single_use"`
	ExpiresAt       string                     `json:"expires_at"`
	Methods         []string                   `json:"methods"`
	SuccessURL      string                     `json:"success_url"`
	Metadata        map[string]json.RawMessage `json:"metadata"`
}

// linkSuffixLen is the length of the unique end of a reference made from a
// link (store.LinkReferenceSuffix); the prefix leaves room for it.
const (
	linkSuffixLen      = 12
	maxReferencePrefix = maxReference - linkSuffixLen
)

// CreateLink validates a merchant's request and stores a new active link.
// Bad input gives a *FieldError and creates nothing. createdBy is "api" or
// "admin:<email>".
func (s *Service) CreateLink(ctx context.Context, m *store.Merchant, req LinkRequest, createdBy string) (*PaymentLink, error) {
	l, err := s.newLink(m, req, createdBy)
	if err != nil {
		return nil, err
	}
	if err := s.st.CreatePaymentLink(ctx, l); err != nil {
		return nil, fmt.Errorf("payments: create payment link: %w", err)
	}
	s.log.InfoContext(ctx, "payment link created", "payment_link_id", l.ID, "merchant_id", l.MerchantID)
	return l, nil
}

// CreateLinkOnce is CreateLink for a request that holds its
// Idempotency-Key, as CreateCheckoutOnce is for checkouts: the link and
// the key's answer are stored in one transaction. When another request
// with the same key and body finished first, its answer is returned,
// Replayed, and the link is nil.
func (s *Service) CreateLinkOnce(ctx context.Context, m *store.Merchant, req LinkRequest, claim *store.IdempotencyClaim,
	answer store.LinkAnswer) (*PaymentLink, store.StoredAnswer, error) {
	l, err := s.newLink(m, req, "api")
	if err != nil {
		return nil, store.StoredAnswer{}, err
	}
	stored, err := s.st.CreatePaymentLinkOnce(ctx, l, claim, answer)
	if err != nil {
		return nil, store.StoredAnswer{}, fmt.Errorf("payments: create payment link: %w", err)
	}
	if stored.Replayed {
		return nil, stored, nil
	}
	s.log.InfoContext(ctx, "payment link created", "payment_link_id", l.ID, "merchant_id", l.MerchantID)
	return l, stored, nil
}

func (s *Service) newLink(m *store.Merchant, req LinkRequest, createdBy string) (*PaymentLink, error) {
	l, err := s.validateLink(m, req)
	if err != nil {
		return nil, err
	}
	l.ID = store.NewID("plink", s.now())
	l.MerchantID = m.ID
	l.CreatedBy = createdBy
	return l, nil
}

// validateLink checks req and builds the link it asks for, within what
// merchant m allows (its methods) and with m's success URL where req names
// none.
func (s *Service) validateLink(m *store.Merchant, req LinkRequest) (*PaymentLink, error) {
	l := &PaymentLink{}
	if present(req.Amount) {
		a, err := parseAmountField("amount", req.Amount)
		if err != nil {
			return nil, err
		}
		l.Amount = int64(a)
		for _, f := range []struct {
			name string
			raw  json.RawMessage
		}{{"min_amount", req.MinAmount}, {"max_amount", req.MaxAmount}} {
			if present(f.raw) {
				return nil, invalid(f.name, f.name+" applies only when amount is left out (the customer enters the amount)")
			}
		}
	} else {
		if present(req.MinAmount) {
			a, err := parseAmountField("min_amount", req.MinAmount)
			if err != nil {
				return nil, err
			}
			l.MinAmount = int64(a)
		}
		if present(req.MaxAmount) {
			a, err := parseAmountField("max_amount", req.MaxAmount)
			if err != nil {
				return nil, err
			}
			l.MaxAmount = int64(a)
		}
		if l.MinAmount > 0 && l.MaxAmount > 0 && l.MinAmount > l.MaxAmount {
			return nil, invalid("max_amount", "max_amount must be at least min_amount")
		}
	}

	var err error
	if l.Currency, err = checkCurrency(req.Currency); err != nil {
		return nil, err
	}
	l.Description = strings.TrimSpace(req.Description)
	if err := text("description", l.Description, maxDescription, true); err != nil {
		return nil, err
	}
	l.ReferencePrefix = strings.TrimSpace(req.ReferencePrefix)
	if err := text("reference_prefix", l.ReferencePrefix, maxReferencePrefix, false); err != nil {
		return nil, err
	}
	l.SingleUse = req.SingleUse

	if v := strings.TrimSpace(req.ExpiresAt); v != "" {
		t, err := time.Parse(time.RFC3339, v)
		if err != nil {
			return nil, invalid("expires_at", "expires_at must be an RFC 3339 time such as 2026-12-31T21:00:00Z")
		}
		if !t.After(s.now()) {
			return nil, invalid("expires_at", "expires_at must be in the future")
		}
		t = t.UTC()
		l.ExpiresAt = &t
	}

	if l.Methods, err = s.checkMethods(req.Methods); err != nil {
		return nil, err
	}
	if l.Methods, err = merchantMethods(m, l.Methods); err != nil {
		return nil, err
	}
	if err := s.checkUsable(l.Methods, l.Currency, l.Amount); err != nil {
		return nil, err
	}
	if v := strings.TrimSpace(req.SuccessURL); v != "" {
		if err := CheckMerchantURL(v); err != nil {
			return nil, invalid("success_url", err.Error())
		}
		l.SuccessURL = v
	} else {
		l.SuccessURL = m.SuccessURL
	}
	if req.Metadata != nil {
		md, err := flatMetadata(req.Metadata)
		if err != nil {
			return nil, err
		}
		l.Metadata = md
	}
	return l, nil
}

// present reports whether a JSON value was given (not left out, not null).
func present(raw json.RawMessage) bool {
	s := strings.TrimSpace(string(raw))
	return s != "" && s != "null"
}

// LinkForMerchant loads a link of this merchant; another merchant's is
// ErrNotFound.
func (s *Service) LinkForMerchant(ctx context.Context, merchantID, id string) (*PaymentLink, error) {
	return s.st.PaymentLinkForMerchant(ctx, merchantID, id)
}

// Link loads any merchant's link (the admin).
func (s *Service) Link(ctx context.Context, id string) (*PaymentLink, error) {
	return s.st.PaymentLink(ctx, id)
}

// Links lists one page of a merchant's links (every merchant's for ""),
// newest first, after the link with id after, and whether more follow.
func (s *Service) Links(ctx context.Context, merchantID, after string, limit int) ([]PaymentLink, bool, error) {
	return s.st.ListPaymentLinks(ctx, merchantID, after, limit)
}

// MerchantLinks is Links for the merchant API: after, when given, must be
// one of the merchant's links (ErrNotFound otherwise; see cursor).
func (s *Service) MerchantLinks(ctx context.Context, merchantID, after string, limit int) ([]PaymentLink, bool, error) {
	if err := s.cursor(ctx, &store.PaymentLink{}, "payment link", merchantID, after); err != nil {
		return nil, false, err
	}
	return s.st.ListPaymentLinks(ctx, merchantID, after, limit)
}

// DeactivateLink turns a link off (merchantID "": the admin, any link's).
func (s *Service) DeactivateLink(ctx context.Context, merchantID, id string) (*PaymentLink, error) {
	l, err := s.st.DeactivatePaymentLink(ctx, merchantID, id)
	if err == nil {
		s.log.InfoContext(ctx, "payment link deactivated", "payment_link_id", id)
	}
	return l, err
}

// LinksPaid counts each link's paid checkouts and their total.
func (s *Service) LinksPaid(ctx context.Context, ids []string) (map[string]LinkPaid, error) {
	return s.st.LinksPaid(ctx, ids)
}

// LinkURL is the address a link's customers open.
func (s *Service) LinkURL(id string) string { return s.cfg.PublicURL + "/l/" + id }

// LinkObject is the payment link as the merchant API shows it. Every field
// is always present; one with no value is null.
type LinkObject struct {
	ID     string `json:"id"`
	URL    string `json:"url"`
	Active bool   `json:"active"`
	// Amount is null when the customer enters the amount.
	Amount          *string           `json:"amount"`
	MinAmount       *string           `json:"min_amount"`
	MaxAmount       *string           `json:"max_amount"`
	Currency        string            `json:"currency"`
	Description     string            `json:"description"`
	ReferencePrefix *string           `json:"reference_prefix"`
	SingleUse       bool              `json:"single_use"`
	ExpiresAt       *string           `json:"expires_at"`
	Methods         []string          `json:"methods"`
	SuccessURL      *string           `json:"success_url"`
	Metadata        map[string]string `json:"metadata"`
	// CheckoutsPaid and AmountPaid count the link's paid checkouts.
	CheckoutsPaid int64   `json:"checkouts_paid"`
	AmountPaid    string  `json:"amount_paid"`
	CreatedAt     string  `json:"created_at"`
	DeactivatedAt *string `json:"deactivated_at"`
	Livemode      bool    `json:"livemode"`
}

// LinkObject builds the API view of a link with what it has brought in.
func (s *Service) LinkObject(l *PaymentLink, paid LinkPaid) (LinkObject, error) {
	o := LinkObject{ID: l.ID, URL: s.LinkURL(l.ID), Active: l.Active, Currency: l.Currency, Description: l.Description,
		ReferencePrefix: orNull(l.ReferencePrefix), SingleUse: l.SingleUse, SuccessURL: orNull(l.SuccessURL),
		CheckoutsPaid: paid.Count, AmountPaid: gateway.Amount(paid.Amount).String(), CreatedAt: rfc3339(l.CreatedAt),
		Livemode: s.Livemode()}
	amount := func(v int64) *string {
		if v == 0 {
			return nil
		}
		str := gateway.Amount(v).String()
		return &str
	}
	o.Amount, o.MinAmount, o.MaxAmount = amount(l.Amount), amount(l.MinAmount), amount(l.MaxAmount)
	if l.ExpiresAt != nil {
		t := rfc3339(*l.ExpiresAt)
		o.ExpiresAt = &t
	}
	if l.DeactivatedAt != nil {
		t := rfc3339(*l.DeactivatedAt)
		o.DeactivatedAt = &t
	}
	if l.Methods != "" {
		o.Methods = strings.Split(l.Methods, ",")
	}
	if l.Metadata != "" {
		if err := json.Unmarshal([]byte(l.Metadata), &o.Metadata); err != nil {
			return o, fmt.Errorf("payments: metadata of %s: %w", l.ID, err)
		}
	}
	return o, nil
}

// OpenLink loads the link a customer opened, if it still makes checkouts:
// ErrNotFound, ErrLinkInactive, ErrLinkExpired, or ErrLinkUsed (single use
// and paid) otherwise. CheckoutFromLink checks again as it writes.
func (s *Service) OpenLink(ctx context.Context, id string) (*PaymentLink, error) {
	l, err := s.st.PaymentLink(ctx, id)
	if err != nil {
		return nil, err
	}
	switch {
	case !l.Active:
		return l, ErrLinkInactive
	case l.ExpiresAt != nil && !s.now().Before(*l.ExpiresAt):
		return l, ErrLinkExpired
	case l.SingleUse:
		used, err := s.st.LinkUsed(ctx, l)
		if err != nil {
			return nil, err
		}
		if used {
			return l, ErrLinkUsed
		}
	}
	return l, nil
}

// LinkPage is the checkout the link l would make for amount (in cents),
// not stored: what the link's payment page shows before the customer
// chooses a method. It has no ID and no Reference.
func (s *Service) LinkPage(ctx context.Context, l *PaymentLink, amount int64) (*CheckoutPage, error) {
	p := &CheckoutPage{Checkout: Checkout{MerchantID: l.MerchantID, PaymentLinkID: l.ID, Amount: amount, Currency: l.Currency,
		Description: l.Description, SuccessURL: l.SuccessURL, Methods: l.Methods, Metadata: l.Metadata,
		Status: StatusOpen, ExpiresAt: s.linkCheckoutLife(l)}}
	m, err := s.st.Merchant(ctx, l.MerchantID)
	switch {
	case err == nil:
		p.MerchantName = m.Name
	case !errors.Is(err, store.ErrNotFound):
		return nil, err
	}
	return p, nil
}

// CheckLinkPayment says, before a link's checkout is made for it, what
// starting method on that checkout (p, from LinkPage) would refuse in what
// the customer sent: ErrMethodUnavailable, a *FieldError (the M-Pesa
// number, the receipt contact), or a *ContactNeeded; nil when the checkout
// may be made and the payment started. It writes nothing.
func (s *Service) CheckLinkPayment(p *CheckoutPage, method, phone string, in CustomerContact) error {
	co := &p.Checkout
	if !s.methodUsable(co, method) {
		return ErrMethodUnavailable
	}
	switch method {
	case MethodSTK:
		if _, err := NormalizePhone(phone); err != nil {
			return &FieldError{Code: "invalid", Field: "phone", Message: ErrPhone.Error()}
		}
	case MethodPesapal:
		if _, err := pesapalBilling(co, in.Contact); err != nil {
			return err
		}
	case MethodPokeaPay:
		if _, _, err := pokeapayContact(co, in); err != nil {
			return err
		}
	}
	return nil
}

// linkCheckoutLife is how long a checkout made from a link can be paid:
// a checkout's default, cut to the link's own expiry, but never below the
// shortest a checkout is given (the customer who opened the link just
// before it expired still has time to pay).
func (s *Service) linkCheckoutLife(l *PaymentLink) time.Time {
	now := s.now()
	exp := now.Add(MaxExpiresIn * time.Second)
	if l.ExpiresAt != nil && l.ExpiresAt.Before(exp) {
		exp = *l.ExpiresAt
	}
	if floor := now.Add(MinExpiresIn * time.Second); exp.Before(floor) {
		exp = floor
	}
	return exp
}

// CheckoutFromLink makes the checkout of a customer who opened the link l:
// of the link's amount, or, when it has none, of amount as the customer
// typed it (in major units), which must lie within the link's bounds (a
// *FieldError for field "amount" otherwise, and nothing is made). The
// link's errors are OpenLink's, and ErrLinkBusy.
func (s *Service) CheckoutFromLink(ctx context.Context, l *PaymentLink, amount string) (*Checkout, error) {
	cents := l.Amount
	if cents == 0 {
		a, err := s.CustomerAmount(l, amount)
		if err != nil {
			return nil, err
		}
		cents = a
	}
	for i := 0; ; i++ {
		co := &Checkout{ID: store.NewID("chk", s.now()), Amount: cents, Currency: l.Currency, Description: l.Description,
			SuccessURL: l.SuccessURL, Methods: l.Methods, Metadata: l.Metadata, ExpiresAt: s.linkCheckoutLife(l)}
		err := s.st.CreateCheckoutFromLink(ctx, l.ID, co, store.LinkReferenceSuffix(co.ID), "customer")
		if errors.Is(err, store.ErrDuplicate) && i < 3 {
			continue // 60 random bits met a merchant's own reference; draw again
		}
		if err != nil {
			return nil, err
		}
		s.logCreated(ctx, co)
		return co, nil
	}
}

// CustomerAmount parses the amount a customer typed for a link without one
// and checks it against the link's bounds, in cents. Commas are taken as
// thousands separators only where they group the digits by three. Its errors are
// *FieldError for field "amount", in words for the customer.
func (s *Service) CustomerAmount(l *PaymentLink, typed string) (int64, error) {
	typed = strings.TrimSpace(typed)
	if typed == "" {
		return 0, &FieldError{Code: "required", Field: "amount", Message: customerMsg("msg_amount_required")}
	}
	// "1,500" is fifteen hundred; "1,5" is not read as 15.
	typed, ok := money.Ungroup(typed)
	if !ok {
		return 0, invalid("amount", customerMsg("msg_amount_grouping"))
	}
	a, err := gateway.ParseAmount(typed)
	if err != nil || a <= 0 {
		return 0, invalid("amount", customerMsg("msg_amount_invalid"))
	}
	switch {
	case l.MinAmount > 0 && int64(a) < l.MinAmount:
		return 0, invalid("amount", customerMsg("msg_amount_min", "Min", money.Display(l.Currency, money.Amount(l.MinAmount))))
	case l.MaxAmount > 0 && int64(a) > l.MaxAmount:
		return 0, invalid("amount", customerMsg("msg_amount_max", "Max", money.Display(l.Currency, money.Amount(l.MaxAmount))))
	}
	if err := s.checkUsable(l.Methods, l.Currency, int64(a)); err != nil {
		return 0, invalid("amount", customerMsg("msg_amount_whole"))
	}
	return int64(a), nil
}

// LinkCheckout is the checkout id a browser remembers for the link linkID,
// if it can still be paid there: made from that link, open or pending, and
// before its deadline. ok is false otherwise (the browser gets a new one).
func (s *Service) LinkCheckout(ctx context.Context, linkID, checkoutID string) (co *Checkout, ok bool, err error) {
	co, err = s.st.Checkout(ctx, checkoutID)
	if errors.Is(err, store.ErrNotFound) {
		return nil, false, nil
	}
	if err != nil {
		return nil, false, err
	}
	if co.PaymentLinkID != linkID || co.Final() || !s.now().Before(co.ExpiresAt) {
		return nil, false, nil
	}
	return co, true, nil
}
