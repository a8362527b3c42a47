// Package payments is the service the handlers call: create a checkout,
// start a payment with a provider, apply what the provider confirms, and
// reconcile orders whose notifications never came. It holds the business
// rules; the store holds the state machine, the gateway packages talk to
// providers.
package payments

import (
	"context"
	"errors"
	"log/slog"
	"net/http"
	"slices"
	"strings"
	"sync"
	"time"

	"checkout/gateway"
	"checkout/gateway/pesapal"
	"checkout/metrics"
	"checkout/store"
)

// Payment method keys, as the merchant API and the checkout page name them.
const (
	MethodPesapal  = "pesapal"
	MethodPokeaPay = "pokeapay"
	MethodSTK      = "stk"
)

// AllMethods lists every method the product knows, in the order the
// checkout page offers them.
var AllMethods = []string{MethodPesapal, MethodPokeaPay, MethodSTK}

// Pesapal is what the service needs from the Pesapal client.
type Pesapal interface {
	SubmitOrderRequest(ctx context.Context, req pesapal.OrderRequest) (pesapal.OrderResponse, error)
	gateway.Confirmer
}

// Config builds a Service.
type Config struct {
	// PublicURL is where customers and providers reach the app, without a
	// trailing slash.
	PublicURL string
	// Pesapal is nil when Pesapal is not configured.
	Pesapal Pesapal
	// PesapalIPN returns the notification_id registered for /ipn/pesapal
	// (see IPNOnce).
	PesapalIPN func(ctx context.Context) (string, error)
	// PokeaPay is nil when PokeaPay's web checkout is not configured.
	PokeaPay PokeaPay
	// STK is the M-Pesa STK push backend (PokeaPay's STK API or Pochipay);
	// nil when none is configured.
	STK gateway.STKProvider
	// TestMode is true when every provider is simulated
	// (CHECKOUT_SANDBOX): API objects and webhook payloads then say
	// "livemode": false, and every page shows a "Test mode" mark. The zero
	// value is live mode, so a forgotten field never hides real money.
	TestMode bool
	// WebhookAllowPrivate lets merchants' webhook URLs reach loopback and
	// private addresses (CHECKOUT_WEBHOOK_ALLOW_PRIVATE).
	WebhookAllowPrivate bool
	// WebhookClient sends webhooks; nil builds NewWebhookClient
	// (WebhookAllowPrivate).
	WebhookClient *http.Client
	// WebhookJitter spreads each retry delay; nil is ±10% at random
	// (tests pin it).
	WebhookJitter func(time.Duration) time.Duration
	// LoginHashes caps the password checks (19 MiB each) that run at
	// once; 0 is twice the processors Go may use, at most 4.
	LoginHashes int
	// LoginQueueWait is how long a login waits for a free check before it
	// is turned away as busy; 0 is 2 s.
	LoginQueueWait time.Duration
	// NotificationLimit limits provider notifications (IPNs, STK
	// callbacks) per reference; nil limits nothing.
	NotificationLimit Limiter
	// Metrics counts payments and webhook deliveries, and is given the
	// database figures to read at each scrape (see metricsSnapshot); nil
	// counts nothing.
	Metrics *metrics.Metrics
	// Mailer sends the receipt emails (SMTP, or the sandbox inbox); nil
	// sends none and queues none.
	Mailer Mailer
	// MailFrom is the receipts' sender address; "" is
	// DefaultMailFrom(PublicURL).
	MailFrom string
	// Payouts sends money to M-Pesa phones (payouts, and refunds of M-Pesa
	// payments); nil when no payout provider is configured.
	Payouts gateway.PayoutProvider
	// Refunder is Pesapal's refund request; nil when Pesapal is not
	// configured.
	Refunder gateway.Refunder
	// ApprovalLimit is the amount (cents) above which a refund or payout
	// waits for a second admin's approval (CHECKOUT_APPROVAL_LIMIT); 0 is
	// DefaultApprovalLimit.
	ApprovalLimit int64
	// TOTPKey (32 bytes, derived from CHECKOUT_SECRET) seals the admins'
	// two-factor secrets in the database; nil leaves two-factor login
	// unavailable.
	TOTPKey []byte
	Store   *store.Store
	Logger  *slog.Logger
	Now     func() time.Time
}

// Service is the payments service. It is safe for concurrent use.
type Service struct {
	cfg Config
	st  *store.Store
	log *slog.Logger
	now func() time.Time

	login *loginGuard
	// verify checks a password against a hash (store.VerifyPassword;
	// tests wrap it to watch how many run at once).
	verify func(hash, password string) (bool, error)
	// unknownLog samples the log lines about notifications for references
	// we never issued.
	unknownLog *logSampler
	// bg bounds the background workers (reconciler, webhooks); tests
	// shorten it.
	bg background
	// hooks is the webhook worker's state: what is in flight, per endpoint.
	hooks webhookWorker
	// keyUses bounds the writes of API keys' last use (Authenticate).
	keyUses keyUses
	// brands caches merchants' brands for the customer pages (Brand).
	brands brandCache
}

// New checks the configuration and builds the service.
func New(cfg Config) (*Service, error) {
	if cfg.Store == nil {
		return nil, errors.New("payments: no store")
	}
	if cfg.PublicURL == "" {
		return nil, errors.New("payments: no public URL")
	}
	if cfg.Pesapal != nil && cfg.PesapalIPN == nil {
		return nil, errors.New("payments: Pesapal configured without IPN registration")
	}
	cfg.PublicURL = strings.TrimRight(cfg.PublicURL, "/")
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.WebhookClient == nil {
		cfg.WebhookClient = NewWebhookClient(cfg.WebhookAllowPrivate)
	}
	if cfg.WebhookJitter == nil {
		cfg.WebhookJitter = jitter
	}
	s := &Service{cfg: cfg, log: cfg.Logger, now: func() time.Time { return cfg.Now().UTC() },
		login: newLoginGuard(cfg.LoginHashes, cfg.LoginQueueWait), verify: store.VerifyPassword,
		unknownLog: newLogSampler(time.Minute), bg: defaultBackground()}
	// Webhook bodies are written by the store with each status change, in
	// its transaction; they carry the checkout object only this package
	// can build, so the service works through a store that builds them.
	s.st = cfg.Store.WithWebhookPayload(s.webhookPayload)
	// A paid checkout queues its receipt email in the same transaction,
	// when there is a mailer to send it.
	s.st = s.st.WithReceiptEmails(cfg.Mailer != nil)
	// Refunds and payouts announce themselves through the same outbox.
	s.st = s.st.WithTransferPayloads(store.TransferPayloads{Refund: s.refundPayload, Payout: s.payoutPayload})
	s.initMetrics()
	// The dummy password hash (store.DummyPasswordHash) is not made here:
	// the first login makes it (Login), so a process that sees no login
	// never spends its 19 MiB.
	return s, nil
}

// Livemode reports whether real providers move real money (false in test
// mode).
func (s *Service) Livemode() bool { return !s.cfg.TestMode }

// PublicURL is the app's public base URL.
func (s *Service) PublicURL() string { return s.cfg.PublicURL }

// CheckoutURL is the customer page of a checkout.
func (s *Service) CheckoutURL(id string) string { return s.cfg.PublicURL + "/c/" + id }

// Errors the handlers turn into pages and API answers.
var (
	// ErrNotFound: no such checkout (or not the merchant's).
	ErrNotFound = store.ErrNotFound
	// ErrNotPayable: the checkout is final or past its deadline.
	ErrNotPayable = errors.New("this checkout can no longer be paid")
	// ErrMethodUnavailable: the method is not configured or not allowed.
	ErrMethodUnavailable = errors.New("this payment method is not available for this checkout")
	// ErrProvider: the provider could not start the payment; nothing was
	// charged and the customer can try again.
	ErrProvider = errors.New("the payment provider could not start the payment")
	// ErrNotConfirmed: the provider's status could not be obtained; the
	// notification should be retried.
	ErrNotConfirmed = errors.New("the payment status could not be confirmed with the provider")
)

// FieldError is bad input: which field, and a sentence for people.
type FieldError struct {
	Code    string // "invalid", "required", "duplicate", "malformed"
	Field   string
	Message string
}

func (e *FieldError) Error() string { return e.Field + ": " + e.Message }

func invalid(field, msg string) *FieldError {
	return &FieldError{Code: "invalid", Field: field, Message: msg}
}

// Configured reports whether a method can be offered at all.
func (s *Service) Configured(method string) bool {
	switch method {
	case MethodPesapal:
		return s.cfg.Pesapal != nil
	case MethodPokeaPay:
		return s.cfg.PokeaPay != nil
	case MethodSTK:
		return s.cfg.STK != nil
	}
	return false
}

// currencies lists what each method can charge.
var currencies = map[string][]string{
	MethodPesapal:  {"KES", "USD"},
	MethodPokeaPay: {"KES"},
	MethodSTK:      {"KES"},
}

func supports(method, currency string) bool {
	return slices.Contains(currencies[method], currency)
}

// MethodChoice is one method as the checkout page offers it.
type MethodChoice struct {
	Key       string
	Available bool
	// Why says why an allowed method cannot be used for this checkout.
	Why string
}

// Methods lists the methods a checkout can be paid with: configured, allowed
// by the merchant, and able to charge its currency.
func (s *Service) Methods(co *store.Checkout) []MethodChoice {
	allowed := map[string]bool{}
	for _, m := range strings.Split(co.Methods, ",") {
		if m != "" {
			allowed[m] = true
		}
	}
	var out []MethodChoice
	for _, m := range AllMethods {
		if !s.Configured(m) || (len(allowed) > 0 && !allowed[m]) {
			continue
		}
		c := MethodChoice{Key: m, Available: true}
		switch {
		case !supports(m, co.Currency):
			c.Available, c.Why = false, customerMsg("msg_why_currency", "Currency", co.Currency)
		case m == MethodSTK && !gateway.Amount(co.Amount).Whole():
			c.Available, c.Why = false, customerMsg("msg_why_cents")
		}
		out = append(out, c)
	}
	return out
}

func (s *Service) methodUsable(co *store.Checkout, method string) bool {
	for _, m := range s.Methods(co) {
		if m.Key == method {
			return m.Available
		}
	}
	return false
}

// IPNOnce wraps a registration call so that it succeeds once and is then
// remembered; a failure is not remembered, so the next payment tries again.
// The app registers at start-up, but a provider that is down then must not
// stop the app, nor every later payment.
func IPNOnce(register func(ctx context.Context) (string, error)) func(ctx context.Context) (string, error) {
	var mu sync.Mutex
	var id string
	return func(ctx context.Context) (string, error) {
		mu.Lock()
		defer mu.Unlock()
		if id != "" {
			return id, nil
		}
		got, err := register(ctx)
		if err != nil {
			return "", err
		}
		id = got
		return id, nil
	}
}
