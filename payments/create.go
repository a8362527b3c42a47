package payments

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/mail"
	"net/url"
	"regexp"
	"slices"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"checkout/gateway"
	"checkout/locale"
	"checkout/store"
)

// CreateRequest is the body of POST /api/v1/checkouts (design.md, "Merchant
// API").
type CreateRequest struct {
	// Amount is a JSON number or a string of digits, in major units.
	Amount      json.RawMessage            `json:"amount"`
	Currency    string                     `json:"currency"`
	Reference   string                     `json:"reference"`
	Description string                     `json:"description"`
	Customer    *Customer                  `json:"customer"`
	SuccessURL  string                     `json:"success_url"`
	CancelURL   string                     `json:"cancel_url"`
	Methods     []string                   `json:"methods"`
	Metadata    map[string]json.RawMessage `json:"metadata"`
	ExpiresIn   *int64                     `json:"expires_in"`
	// Locale is the language of the customer's pages and receipt: "en"
	// or "sw"; left out (or null), the customer's browser chooses.
	Locale *string `json:"locale"`
}

// Customer is who pays, as far as the merchant knows.
type Customer struct {
	Name  string `json:"name"`
	Email string `json:"email"`
	Phone string `json:"phone"`
}

// Limits of the merchant API.
const (
	MinExpiresIn     = 900
	MaxExpiresIn     = 86400
	maxReference     = 50
	maxDescription   = 100
	maxURL           = 2000
	maxMetadataKeys  = 50
	maxMetadataKey   = 40
	maxMetadataValue = 500
)

var phonePattern = regexp.MustCompile(`^\+?[0-9][0-9 \-]{6,18}[0-9]$`)

// CreateCheckout validates a merchant's request and stores a new open
// checkout. Bad input gives a *FieldError and creates nothing; a reference
// the merchant already used gives a *FieldError with code "duplicate".
func (s *Service) CreateCheckout(ctx context.Context, m *store.Merchant, req CreateRequest, source string) (*store.Checkout, error) {
	co, err := s.newCheckout(m, req)
	if err != nil {
		return nil, err
	}
	if err := s.st.CreateCheckout(ctx, co, source); err != nil {
		return nil, createError(err)
	}
	s.logCreated(ctx, co)
	return co, nil
}

// CreateCheckoutOnce is CreateCheckout for a request that holds its
// Idempotency-Key (claim): the checkout and the key's answer, which answer
// builds from the checkout as inserted, are stored in one transaction, so
// that a crash never leaves a checkout whose retry would find its
// reference taken. It returns the checkout and the stored answer; when
// another request with the same key and body finished the key first (it
// took the key over after this request's lock lapsed), the answer is
// that request's, Replayed, and the checkout is nil: nothing was created.
// Errors are CreateCheckout's; besides, store.ErrConflict or
// store.ErrNotFound (wrapped) when the key is no longer the claim's, and
// nothing was created.
func (s *Service) CreateCheckoutOnce(ctx context.Context, m *store.Merchant, req CreateRequest, source string,
	claim *store.IdempotencyClaim, answer store.IdempotentAnswer) (*store.Checkout, store.StoredAnswer, error) {
	co, err := s.newCheckout(m, req)
	if err != nil {
		return nil, store.StoredAnswer{}, err
	}
	stored, err := s.st.CreateCheckoutOnce(ctx, co, source, claim, answer)
	if err != nil {
		return nil, store.StoredAnswer{}, createError(err)
	}
	if stored.Replayed {
		return nil, stored, nil
	}
	s.logCreated(ctx, co)
	return co, stored, nil
}

// newCheckout validates the request and builds the merchant's checkout.
func (s *Service) newCheckout(m *store.Merchant, req CreateRequest) (*store.Checkout, error) {
	co, err := s.validate(m, req)
	if err != nil {
		return nil, err
	}
	co.ID = store.NewID("chk", s.now())
	co.MerchantID = m.ID
	return co, nil
}

// createError turns a taken reference into the merchant's "duplicate".
func createError(err error) error {
	if errors.Is(err, store.ErrDuplicate) {
		return &FieldError{Code: "duplicate", Field: "reference",
			Message: "a checkout with this reference already exists"}
	}
	return fmt.Errorf("payments: create checkout: %w", err)
}

func (s *Service) logCreated(ctx context.Context, co *store.Checkout) {
	s.log.InfoContext(ctx, "checkout created", "checkout_id", co.ID, "merchant_id", co.MerchantID, "amount", gateway.Amount(co.Amount).String())
}

// validate checks req and builds the checkout it asks for, within what
// merchant m allows (its methods) and with m's success and cancel URLs
// where req names none.
func (s *Service) validate(m *store.Merchant, req CreateRequest) (*store.Checkout, error) {
	amount, err := parseAmountJSON(req.Amount)
	if err != nil {
		return nil, err
	}
	co := &store.Checkout{Amount: int64(amount)}

	if co.Currency, err = checkCurrency(req.Currency); err != nil {
		return nil, err
	}

	co.Reference = strings.TrimSpace(req.Reference)
	if err := text("reference", co.Reference, maxReference, true); err != nil {
		return nil, err
	}
	co.Description = strings.TrimSpace(req.Description)
	if err := text("description", co.Description, maxDescription, true); err != nil {
		return nil, err
	}

	if c := req.Customer; c != nil {
		co.CustomerName = strings.TrimSpace(c.Name)
		if err := text("customer.name", co.CustomerName, 100, false); err != nil {
			return nil, err
		}
		co.CustomerEmail = strings.TrimSpace(c.Email)
		if co.CustomerEmail != "" {
			if err := checkEmail("customer.email", co.CustomerEmail); err != nil {
				return nil, err
			}
		}
		co.CustomerPhone = strings.TrimSpace(c.Phone)
		if co.CustomerPhone != "" && !phonePattern.MatchString(co.CustomerPhone) {
			return nil, invalid("customer.phone", "phone must be a telephone number such as 0712345678 or +254712345678")
		}
		// Kenyan mobile numbers are kept in one form (254 and nine digits),
		// so that the admin finds them however they were typed.
		if p, err := NormalizePhone(co.CustomerPhone); err == nil {
			co.CustomerPhone = p
		}
	}

	for _, f := range []struct {
		name string
		val  string
		dst  *string
	}{{"success_url", req.SuccessURL, &co.SuccessURL}, {"cancel_url", req.CancelURL, &co.CancelURL}} {
		v := strings.TrimSpace(f.val)
		if v == "" {
			continue
		}
		if err := CheckMerchantURL(v); err != nil {
			return nil, invalid(f.name, err.Error())
		}
		*f.dst = v
	}
	if co.SuccessURL == "" {
		co.SuccessURL = m.SuccessURL
	}
	if co.CancelURL == "" {
		co.CancelURL = m.CancelURL
	}

	if co.Methods, err = s.checkMethods(req.Methods); err != nil {
		return nil, err
	}
	if co.Methods, err = merchantMethods(m, co.Methods); err != nil {
		return nil, err
	}
	if req.Locale != nil {
		l, ok := locale.Parse(*req.Locale)
		if !ok {
			return nil, invalid("locale", fmt.Sprintf("locale %q is not supported; use en or sw, or leave it out", *req.Locale))
		}
		co.Locale = string(l)
	}
	if err := s.checkUsable(co.Methods, co.Currency, co.Amount); err != nil {
		return nil, err
	}

	if req.Metadata != nil {
		md, err := flatMetadata(req.Metadata)
		if err != nil {
			return nil, err
		}
		co.Metadata = md
	}

	expiresIn := int64(MaxExpiresIn)
	if req.ExpiresIn != nil {
		expiresIn = *req.ExpiresIn
		if expiresIn < MinExpiresIn || expiresIn > MaxExpiresIn {
			return nil, invalid("expires_in", fmt.Sprintf("expires_in must be between %d and %d seconds", MinExpiresIn, MaxExpiresIn))
		}
	}
	co.ExpiresAt = s.now().Add(time.Duration(expiresIn) * time.Second)
	return co, nil
}

// checkCurrency validates a merchant's currency.
func checkCurrency(raw string) (string, error) {
	c := strings.TrimSpace(raw)
	if c == "" {
		return "", &FieldError{Code: "required", Field: "currency", Message: "currency is required (KES)"}
	}
	if c != strings.ToUpper(c) || !knownCurrency(c) {
		return "", invalid("currency", fmt.Sprintf("currency %q is not supported; use KES", c))
	}
	return c, nil
}

// checkMethods validates a merchant's list of methods: known, configured,
// each once. It returns them comma-separated, "" (every configured
// method) for a list left out.
func (s *Service) checkMethods(methods []string) (string, error) {
	if methods == nil {
		return "", nil
	}
	if len(methods) == 0 {
		return "", invalid("methods", "methods must name at least one method, or be left out")
	}
	seen := map[string]bool{}
	var keep []string
	for _, m := range methods {
		if !known(m) {
			return "", invalid("methods", fmt.Sprintf("unknown method %q; use pesapal, pokeapay or stk", m))
		}
		if !s.Configured(m) {
			return "", invalid("methods", fmt.Sprintf("method %q is not configured on this server", m))
		}
		if !seen[m] {
			seen[m] = true
			keep = append(keep, m)
		}
	}
	return strings.Join(keep, ","), nil
}

// merchantMethods bounds methods (checked by checkMethods; "" for every
// configured one) by what merchant m allows: m's own list when the request
// names none, and a refusal (field "methods") for a method m does not
// allow.
func merchantMethods(m *store.Merchant, methods string) (string, error) {
	if m.Methods == "" {
		return methods, nil
	}
	if methods == "" {
		return m.Methods, nil
	}
	for _, x := range strings.Split(methods, ",") {
		if !strings.Contains(","+m.Methods+",", ","+x+",") {
			return "", invalid("methods", fmt.Sprintf("method %q is not allowed for this merchant; it allows %s",
				x, strings.ReplaceAll(m.Methods, ",", ", ")))
		}
	}
	return methods, nil
}

// checkUsable refuses an order that no allowed method can take: none takes
// the currency, or (STK alone) the amount has cents. amount 0 stands for
// an amount not known yet (a payment link whose customer enters it), which
// STK can take.
func (s *Service) checkUsable(methods, currency string, amount int64) error {
	for _, m := range AllMethods {
		if s.Configured(m) && (methods == "" || strings.Contains(","+methods+",", ","+m+",")) && supports(m, currency) &&
			(m != MethodSTK || gateway.Amount(amount).Whole()) {
			return nil
		}
	}
	if methods == MethodSTK && !gateway.Amount(amount).Whole() {
		return invalid("amount", "M-Pesa STK push takes whole shillings; this amount has cents")
	}
	return invalid("currency", fmt.Sprintf("no available payment method takes %s", currency))
}

func parseAmountJSON(raw json.RawMessage) (gateway.Amount, error) {
	return parseAmountField("amount", raw)
}

// parseAmountField parses an amount of the merchant API named field: a
// JSON number or a string of digits, in major units, > 0.
func parseAmountField(field string, raw json.RawMessage) (gateway.Amount, error) {
	s := strings.TrimSpace(string(raw))
	if s == "" || s == "null" {
		return 0, &FieldError{Code: "required", Field: field, Message: field + " is required"}
	}
	if strings.HasPrefix(s, `"`) {
		var str string
		if err := json.Unmarshal(raw, &str); err != nil {
			return 0, invalid(field, field+" must be a number or a string of digits")
		}
		s = str
	}
	a, err := gateway.ParseAmount(s)
	if err != nil {
		return 0, invalid(field, field+" must be digits with an optional point and at most 2 decimals, such as 1500 or 1500.50")
	}
	if a <= 0 {
		return 0, invalid(field, field+" must be greater than 0")
	}
	return a, nil
}

func knownCurrency(c string) bool {
	for _, cs := range currencies {
		if slices.Contains(cs, c) {
			return true
		}
	}
	return false
}

func known(method string) bool {
	return slices.Contains(AllMethods, method)
}

// text checks a free-text field: length in characters and no control
// characters.
func text(field, v string, max int, required bool) error {
	if v == "" {
		if required {
			return &FieldError{Code: "required", Field: field, Message: field + " is required"}
		}
		return nil
	}
	if !utf8.ValidString(v) {
		return invalid(field, field+" must be valid UTF-8 text")
	}
	if n := utf8.RuneCountInString(v); n > max {
		return invalid(field, fmt.Sprintf("%s must be at most %d characters (got %d)", field, max, n))
	}
	for _, r := range v {
		if unicode.IsControl(r) {
			return invalid(field, field+" must not contain control characters")
		}
	}
	return nil
}

func checkEmail(field, v string) error {
	addr, err := mail.ParseAddress(v)
	if err != nil || addr.Address != v || len(v) > 254 || !strings.Contains(v[strings.LastIndexByte(v, '@'):], ".") {
		return invalid(field, "email must be an address such as jane@example.com")
	}
	return nil
}

// CheckMerchantURL accepts an absolute http or https URL with a host and no
// credentials (design.md, "URLs from merchants").
func CheckMerchantURL(v string) error {
	if len(v) > maxURL {
		return fmt.Errorf("URL must be at most %d characters", maxURL)
	}
	u, err := url.Parse(v)
	if err != nil {
		return errors.New("URL is not valid")
	}
	if u.Scheme != "http" && u.Scheme != "https" {
		return errors.New("URL must start with http:// or https://")
	}
	if u.Host == "" || u.Hostname() == "" {
		return errors.New("URL must include a host")
	}
	if u.User != nil {
		return errors.New("URL must not contain a user name or password")
	}
	return nil
}

func flatMetadata(in map[string]json.RawMessage) (string, error) {
	if len(in) > maxMetadataKeys {
		return "", invalid("metadata", fmt.Sprintf("metadata takes at most %d keys", maxMetadataKeys))
	}
	out := make(map[string]string, len(in))
	for k, raw := range in {
		if k == "" || utf8.RuneCountInString(k) > maxMetadataKey {
			return "", invalid("metadata", fmt.Sprintf("metadata keys must be 1 to %d characters", maxMetadataKey))
		}
		var v string
		if err := json.Unmarshal(raw, &v); err != nil {
			return "", invalid("metadata."+k, "metadata values must be strings")
		}
		if utf8.RuneCountInString(v) > maxMetadataValue {
			return "", invalid("metadata."+k, fmt.Sprintf("metadata values must be at most %d characters", maxMetadataValue))
		}
		out[k] = v
	}
	b, err := json.Marshal(out)
	if err != nil {
		return "", fmt.Errorf("payments: encode metadata: %w", err)
	}
	return string(b), nil
}
