package payments

import (
	"context"
	"time"

	"checkout/store"
)

// The read models handlers render. They are the store's records, named here
// so that handlers speak to this package alone.
type (
	// Checkout is one order a customer pays.
	Checkout = store.Checkout
	// CheckoutPage is a checkout with what its customer pages show besides
	// (the merchant's name, the last phone tried).
	CheckoutPage = store.CheckoutPage
	// Attempt is one try to pay a checkout with a provider.
	Attempt = store.Attempt
	// Event is one line of a checkout's timeline.
	Event = store.Event
	// Merchant is a shop that creates checkouts through the API.
	Merchant = store.Merchant
	// Status is a checkout's status.
	Status = store.Status
	// WebhookDelivery is one webhook event queued for a merchant.
	WebhookDelivery = store.WebhookDelivery
	// WebhookAttempt is one try to deliver a webhook.
	WebhookAttempt = store.WebhookAttempt
	// EmailDelivery is one email to a customer, in the outbox.
	EmailDelivery = store.EmailDelivery
	// MerchantWebhook is a merchant's webhook settings.
	MerchantWebhook = store.MerchantWebhook
)

// Checkout statuses, as the merchant API and the pages name them.
const (
	StatusOpen      = store.StatusOpen
	StatusPending   = store.StatusPending
	StatusPaid      = store.StatusPaid
	StatusExpired   = store.StatusExpired
	StatusCancelled = store.StatusCancelled
	StatusReversed  = store.StatusReversed
)

// AttemptPending is the status of an attempt the provider has not settled.
const AttemptPending = store.AttemptPending

// DeliveryPending is the status of a webhook delivery still queued.
const DeliveryPending = store.DeliveryPending

// Email delivery statuses.
const (
	EmailPending = store.EmailPending
	EmailSent    = store.EmailSent
	EmailFailed  = store.EmailFailed
)

// Statuses lists every checkout status, in the order the admin's filter
// offers them.
var Statuses = store.Statuses

// Errors of the store that handlers tell apart.
var (
	// ErrDeliveryPending: the webhook delivery is already queued.
	ErrDeliveryPending = store.ErrDeliveryPending
	// ErrNoWebhookURL: the merchant has no webhook URL.
	ErrNoWebhookURL = store.ErrNoWebhookURL
	// ErrEmailNotFailed: the email is pending or sent, so not sent again.
	ErrEmailNotFailed = store.ErrEmailNotFailed
	// ErrEmailNotPaid: the checkout is no longer paid, so no receipt.
	ErrEmailNotPaid = store.ErrEmailNotPaid
)

// Merchant loads a merchant.
func (s *Service) Merchant(ctx context.Context, id string) (*Merchant, error) {
	return s.st.Merchant(ctx, id)
}

// CheckoutForMerchant loads a checkout of this merchant; another merchant's
// is ErrNotFound.
func (s *Service) CheckoutForMerchant(ctx context.Context, merchantID, id string) (*Checkout, error) {
	return s.st.CheckoutForMerchant(ctx, merchantID, id)
}

// Attempt loads one payment attempt.
func (s *Service) Attempt(ctx context.Context, id string) (*Attempt, error) {
	return s.st.Attempt(ctx, id)
}

// Attempts lists a checkout's payment attempts, oldest first.
func (s *Service) Attempts(ctx context.Context, checkoutID string) ([]Attempt, error) {
	return s.st.Attempts(ctx, checkoutID)
}

// Events is a checkout's timeline, oldest first.
func (s *Service) Events(ctx context.Context, checkoutID string) ([]Event, error) {
	return s.st.Events(ctx, checkoutID)
}

// WebhookDeliveries lists a checkout's webhook deliveries.
func (s *Service) WebhookDeliveries(ctx context.Context, checkoutID string) ([]WebhookDelivery, error) {
	return s.st.WebhookDeliveries(ctx, checkoutID)
}

// EmailDeliveries lists a checkout's emails to its customer, oldest first.
func (s *Service) EmailDeliveries(ctx context.Context, checkoutID string) ([]EmailDelivery, error) {
	return s.st.EmailDeliveries(ctx, checkoutID)
}

// ResendEmail puts a failed email of a paid checkout back in the outbox,
// the same row (same Message-ID), so the worker sends it on its next
// pass; source (who asked) goes in the timeline. ErrNotFound when the
// email is not this checkout's, ErrEmailNotFailed when it is pending or
// sent, ErrEmailNotPaid when the checkout is no longer paid.
func (s *Service) ResendEmail(ctx context.Context, checkoutID, emailID, source string) (*EmailDelivery, error) {
	return s.st.ResendEmailDelivery(ctx, checkoutID, emailID, source)
}

// RecentWebhookDeliveries lists up to limit deliveries of all merchants,
// failures first, then pending, then delivered, newest first within each.
func (s *Service) RecentWebhookDeliveries(ctx context.Context, limit int) ([]WebhookDelivery, error) {
	return s.st.RecentWebhookDeliveries(ctx, limit)
}

// WebhookAttempts lists the tries of one delivery.
func (s *Service) WebhookAttempts(ctx context.Context, deliveryID string) ([]WebhookAttempt, error) {
	return s.st.WebhookAttempts(ctx, deliveryID)
}

// MerchantWebhooks lists every merchant's webhook settings, by id.
func (s *Service) MerchantWebhooks(ctx context.Context) ([]MerchantWebhook, error) {
	return s.st.MerchantWebhooks(ctx)
}

// Ping reports whether the database answers (the readiness check).
func (s *Service) Ping(ctx context.Context) error { return s.st.Ping(ctx) }

// OrderFilter narrows the admin's order list and its CSV export; the
// fields set are combined with AND (see store.OrderFilter). Times bound
// created_at and paid_at as From <= t < To; the handler turns the admin's
// calendar days (Africa/Nairobi) into them. After is the id of the last
// row of the previous page.
type OrderFilter struct {
	Status, Method, Provider string
	// Q is a search: a prefix of an id, reference, receipt or email (any
	// case), a phone however it is written, or a part of the name.
	Q                      string
	CreatedFrom, CreatedTo time.Time
	PaidFrom, PaidTo       time.Time
	Link                   string
	// Merchant keeps one merchant's checkouts.
	Merchant      string
	Review, Stale bool
	Failure       string
	// FailedFrom and FailedTo bound when the Failure attempt was made.
	FailedFrom, FailedTo time.Time
	After                string
	Limit                int
}

// AllProviders lists every provider an order can be paid through, in the
// order the admin's filter offers them.
var AllProviders = []string{ProviderPesapal, ProviderPokeaPay, "pochipay"}

// OrderPage is one page of the admin's list: its rows, whether more
// follow and where the next page starts (Next), whether a name search
// covered only part of the orders (NameWindow), and the search's fields
// left out because their prefix matched more than SearchCap orders (Broad:
// "id", "reference", "receipt", "email").
type OrderPage = store.OrderPage

// SearchCap is the most orders one prefix of a search may match and still
// be searched (see OrderPage.Broad).
const SearchCap = store.SearchCap

// NameScan is how many orders one page of a name search covers.
const NameScan = store.NameScan

// StaleAfter is how long an attempt stays pending before the orders list's
// "stale" filter and the dashboard count it.
const StaleAfter = store.StaleAfter

// storeFilter is f in the store's terms: a search that is a phone number
// matches however it was written.
func (f OrderFilter) storeFilter() store.OrderFilter {
	phone, err := NormalizePhone(f.Q)
	if err != nil {
		phone = ""
	}
	return store.OrderFilter{Status: store.Status(f.Status), Method: f.Method, Provider: f.Provider, Q: f.Q,
		Phone: phone, CreatedFrom: f.CreatedFrom, CreatedTo: f.CreatedTo, PaidFrom: f.PaidFrom, PaidTo: f.PaidTo,
		Link: f.Link, MerchantID: f.Merchant, Review: f.Review, Stale: f.Stale, Failure: f.Failure,
		FailedFrom: f.FailedFrom, FailedTo: f.FailedTo, After: f.After, Limit: f.Limit}
}

// ListOrders returns one page of checkouts, newest first, and whether more
// follow. A search that is a phone number matches however it is written.
func (s *Service) ListOrders(ctx context.Context, f OrderFilter) ([]Checkout, bool, error) {
	return s.st.ListCheckouts(ctx, f.storeFilter())
}

// OrdersPage is ListOrders with the search's fields left out for being
// too broad, for the admin's list to say so.
func (s *Service) OrdersPage(ctx context.Context, f OrderFilter) (OrderPage, error) {
	return s.st.ListOrders(ctx, f.storeFilter())
}

// exportBatch is how many checkouts EachOrder reads at a time.
const exportBatch = 200

// EachOrder hands fn every checkout the filter selects (f.After and
// f.Limit aside), newest first, a batch at a time: each batch is one
// keyset page read after fn returned, so memory stays the size of a batch
// however many orders match, and rows reach fn while later ones are still
// unread. It stops at fn's first error, or when ctx ends (the query in
// flight with it).
func (s *Service) EachOrder(ctx context.Context, f OrderFilter, fn func([]Checkout) error) error {
	sf := f.storeFilter()
	sf.After, sf.Limit = "", exportBatch
	for {
		if err := ctx.Err(); err != nil {
			return err
		}
		p, err := s.st.ListOrders(ctx, sf)
		if err != nil {
			return err
		}
		if len(p.Rows) > 0 {
			if err := fn(p.Rows); err != nil {
				return err
			}
		}
		// A name search's batch may be empty while older orders remain
		// (store.OrderPage.NameWindow): Next goes on below it.
		if !p.More || p.Next == "" {
			return nil
		}
		sf.After = p.Next
	}
}
