package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	lru "github.com/hashicorp/golang-lru/v2"
	"gorm.io/gorm"

	"checkout/money"
)

// CreateCheckout inserts a new open checkout and its "created" event.
// A reference the merchant already used gives ErrDuplicate.
func (s *Store) CreateCheckout(ctx context.Context, co *Checkout, source string) error {
	s.newCheckout(co)
	return s.tx(ctx, func(tx *gorm.DB) error { return s.createCheckout(tx, co, source) })
}

// newCheckout sets what every new checkout starts with.
func (s *Store) newCheckout(co *Checkout) {
	now := s.now()
	co.Status = StatusOpen
	co.CreatedAt, co.UpdatedAt = now, now
	co.ExpiresAt = co.ExpiresAt.UTC()
}

// createCheckout inserts the checkout and its "created" event in tx; the
// caller has set the status and times.
func (s *Store) createCheckout(tx *gorm.DB, co *Checkout, source string) error {
	if err := tx.Create(co).Error; err != nil {
		if duplicate(err) {
			return fmt.Errorf("store: create checkout %q: %w", co.Reference, ErrDuplicate)
		}
		return fmt.Errorf("store: create checkout %q: %w", co.Reference, err)
	}
	return s.addEvent(tx, &Event{CheckoutID: co.ID, Kind: EventCreated, Source: source, ToStatus: string(StatusOpen),
		Message: fmt.Sprintf("checkout created for %s %s", co.Currency, money.Amount(co.Amount))})
}

// Checkout loads one checkout.
func (s *Store) Checkout(ctx context.Context, id string) (*Checkout, error) {
	var co Checkout
	found, err := scanFirst(s.r.WithContext(s.pointRead(ctx)), checkoutColumns, &co, "checkouts", "WHERE id = ?", id)
	if err != nil {
		return nil, fmt.Errorf("store: load checkout %s: %w", id, err)
	}
	if !found {
		return nil, fmt.Errorf("store: checkout %s: %w", id, ErrNotFound)
	}
	return &co, nil
}

// CheckoutPage is a checkout as its customer pages show it, with what they
// show besides. Only the fields the customer pages read are loaded (those
// pageFields names, TestCheckoutPageReadsThePagesFields holds the query to
// them); the others (ProviderReference, CustomerName,
// Metadata, Review, CreatedAt, UpdatedAt) are left zero. Code that needs
// them loads the checkout with Checkout.
type CheckoutPage struct {
	Checkout
	// MerchantName is the name of the merchant, "" if it is gone.
	MerchantName string
	// LastPhone is the phone of the newest attempt made with one (an
	// M-Pesa prompt), "" if none was.
	LastPhone string
}

// pageFields are the fields of Checkout that CheckoutPage reads, the
// customer pages' (summary, method choice, status, receipt, return links,
// contact step): fixedFields, which never change once the checkout is
// created, and liveFields.
var (
	fixedFields = []string{"ID", "MerchantID", "Reference", "Description", "Amount", "Currency", "SuccessURL", "CancelURL", "Methods", "ExpiresAt", "Locale"}
	liveFields  = []string{"Status", "Method", "Provider", "Receipt", "Message", "CustomerEmail", "CustomerPhone", "PaidAt"}
	pageFields  = append(append([]string(nil), fixedFields...), liveFields...)
)

// checkoutLiveColumns are liveFields' columns, then the merchant's name
// (a merchant can be renamed) and the last phone tried, in the order
// scanLive reads them.
const checkoutLiveColumns = `checkouts.status, checkouts.method, checkouts.provider, checkouts.receipt,
	checkouts.message, checkouts.customer_email, checkouts.customer_phone, checkouts.paid_at,
	COALESCE(merchants.name, ''),
	COALESCE((SELECT attempts.phone FROM attempts WHERE attempts.checkout_id = checkouts.id AND attempts.phone <> ''
		ORDER BY attempts.id DESC LIMIT 1), '')
FROM checkouts LEFT JOIN merchants ON merchants.id = checkouts.merchant_id
WHERE checkouts.id = `

// checkoutPageQuery loads a checkout's page at its first view: fixedFields'
// columns, then checkoutLiveColumns. checkoutLiveQuery loads only the
// latter, for the views after it. Each column costs the SQLite driver
// several cgo calls and allocations per row (a datetime is parsed from
// text besides), so a page view reads no column it does not show, and no
// column whose value it already has.
const (
	checkoutPageQuery = `SELECT checkouts.id, checkouts.merchant_id, checkouts.reference, checkouts.description, checkouts.amount,
	checkouts.currency, checkouts.success_url, checkouts.cancel_url, checkouts.methods, checkouts.expires_at,
	checkouts.locale, ` + checkoutLiveColumns
	checkoutLiveQuery = `SELECT ` + checkoutLiveColumns
)

// pageQueries are CheckoutPage's two statements and the fixed fields of the
// checkouts it has loaded.
type pageQueries struct {
	full, live lazyStmt
	// direct runs the live query on SQLite (pageread.go); nil on
	// PostgreSQL, where live runs it.
	direct *pageReader
	// fixed remembers the fixed fields of the checkouts whose pages were
	// shown, by id (bounded, the oldest entry dropped first). A view looks
	// an entry up with Peek, under a read lock: Get would take the cache's
	// one exclusive lock on every view to reorder it.
	fixed *lru.Cache[string, checkoutFixed]
}

// newPageQueries makes CheckoutPage's statements and cache.
func newPageQueries() *pageQueries {
	c, err := lru.New[string, checkoutFixed](fixedCacheSize)
	if err != nil {
		panic(err) // a positive constant size: never
	}
	return &pageQueries{fixed: c}
}

// CheckoutPage loads one checkout's page fields with its merchant's name
// and the last phone tried, in one query. It is the customer pages' query,
// on every view: it runs as a statement prepared once on the read pool,
// without GORM, and the row is scanned by hand, without reflection. The
// fields that never change once a checkout is created (fixedFields: no
// code updates their columns) are read at the first view of a checkout in
// this process and remembered (a bounded cache); later views read only the
// live ones. Being fixed, what is remembered is true for every instance
// sharing the database.
//
// On SQLite the query runs without the caller's cancellation: a one-row
// read by primary key on a local file is over in well under a millisecond,
// and a cancellable context costs two goroutines per query (database/sql's
// and the driver's watchers). On PostgreSQL a read can wait for a pooled
// connection or a slow server, so the caller's cancellation stands (a
// client that went away frees its goroutine).
func (s *Store) CheckoutPage(ctx context.Context, id string) (*CheckoutPage, error) {
	p := &CheckoutPage{}
	err := s.checkoutPage(ctx, id, p)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, fmt.Errorf("store: checkout %s: %w", id, ErrNotFound)
	}
	if err != nil {
		return nil, fmt.Errorf("store: load checkout page %s: %w", id, err)
	}
	return p, nil
}

func (s *Store) checkoutPage(ctx context.Context, id string, p *CheckoutPage) error {
	ctx = s.pointRead(ctx)
	co := &p.Checkout
	live := []any{&co.Status, &co.Method, &co.Provider, &co.Receipt, &co.Message, &co.CustomerEmail,
		&co.CustomerPhone, &co.PaidAt, &p.MerchantName, &p.LastPhone}
	if f, ok := s.page.fixed.Peek(id); ok {
		if s.page.direct != nil {
			if err := s.page.direct.read(ctx, id, func(texts []string, kinds []sqlKind) error {
				return scanLive(texts, kinds, co, p)
			}); err != nil {
				return err
			}
			co.ID = id
			f.fill(co)
			return nil
		}
		stmt, err := s.page.live.get(ctx, s.r, func() string { return s.placeholder(checkoutLiveQuery) })
		if err != nil {
			return err
		}
		if err := stmt.QueryRowContext(ctx, id).Scan(live...); err != nil {
			return err
		}
		co.ID = id
		f.fill(co)
		return nil
	}
	stmt, err := s.page.full.get(ctx, s.r, func() string { return s.placeholder(checkoutPageQuery) })
	if err != nil {
		return err
	}
	var f checkoutFixed
	if err := stmt.QueryRowContext(ctx, id).Scan(append([]any{&co.ID, &f.MerchantID, &f.Reference, &f.Description, &f.Amount,
		&f.Currency, &f.SuccessURL, &f.CancelURL, &f.Methods, &f.ExpiresAt, &f.Locale}, live...)...); err != nil {
		return err
	}
	f.fill(co)
	s.page.fixed.Add(co.ID, f)
	return nil
}

// liveColumns is how many columns checkoutLiveQuery reads.
const liveColumns = 10

// scanLive reads checkoutLiveQuery's row, as text, into p as Scan does
// through the driver: text columns are NOT NULL (a NULL is an error, as Scan
// gives), paid_at is NULL or a time as mattn/go-sqlite3 reads it.
func scanLive(texts []string, kinds []sqlKind, co *Checkout, p *CheckoutPage) error {
	for i, k := range kinds {
		if k == sqlNull && i != 7 {
			return fmt.Errorf("sql: Scan error on column index %d: converting NULL to string is unsupported", i)
		}
	}
	co.Status, co.Method, co.Provider, co.Receipt = Status(texts[0]), texts[1], texts[2], texts[3]
	co.Message, co.CustomerEmail, co.CustomerPhone = texts[4], texts[5], texts[6]
	co.PaidAt = nil
	if kinds[7] != sqlNull {
		t := sqliteTime(texts[7], kinds[7])
		co.PaidAt = &t
	}
	p.MerchantName, p.LastPhone = texts[8], texts[9]
	return nil
}

// placeholder ends a query that ends with "= " with its one parameter.
func (s *Store) placeholder(query string) string {
	if s.postgres() {
		return query + "$1"
	}
	return query + "?"
}

// checkoutFixed is what a checkout's page shows that never changes once
// the checkout is created: fixedFields but the id.
type checkoutFixed struct {
	// MerchantID says whose brand the pages show (payments.Brand).
	MerchantID                               string
	Reference, Description                   string
	Amount                                   int64
	Currency, SuccessURL, CancelURL, Methods string
	ExpiresAt                                time.Time
	Locale                                   string
}

func (f *checkoutFixed) fill(co *Checkout) {
	co.MerchantID = f.MerchantID
	co.Reference, co.Description, co.Amount, co.Currency = f.Reference, f.Description, f.Amount, f.Currency
	co.SuccessURL, co.CancelURL, co.Methods, co.ExpiresAt = f.SuccessURL, f.CancelURL, f.Methods, f.ExpiresAt
	co.Locale = f.Locale
}

// fixedCacheSize bounds the fixed-fields cache: a few hundred bytes a
// checkout, so about 2 MB at most.
const fixedCacheSize = 8192

// CheckoutForMerchant loads a checkout only if the merchant owns it.
func (s *Store) CheckoutForMerchant(ctx context.Context, merchantID, id string) (*Checkout, error) {
	co, err := s.Checkout(ctx, id)
	if err != nil {
		return nil, err
	}
	if co.MerchantID != merchantID {
		return nil, fmt.Errorf("store: checkout %s: %w", id, ErrNotFound)
	}
	return co, nil
}

// StartAttempt records a new payment attempt and moves an open checkout to
// pending. A checkout that is final or past its deadline refuses it with
// ErrTransition; one made from a single-use payment link of which another
// checkout is paid or has a payment under way, with ErrLinkUsed.
func (s *Store) StartAttempt(ctx context.Context, a *Attempt, firstCheck time.Duration, source string) error {
	return retryConflicts(ctx, func() error {
		return s.tx(ctx, func(tx *gorm.DB) error { return s.startAttempt(tx, a, firstCheck, source) })
	})
}

// StartAttemptWithContact is StartAttempt that also keeps what the
// customer typed for the receipt (as SetCustomerContact does) in the same
// transaction, once the attempt may start: a refused attempt (ErrLinkUsed,
// ErrTransition) keeps nothing.
func (s *Store) StartAttemptWithContact(ctx context.Context, a *Attempt, firstCheck time.Duration, source, email, phone string) error {
	return retryConflicts(ctx, func() error {
		return s.tx(ctx, func(tx *gorm.DB) error {
			if err := s.startAttempt(tx, a, firstCheck, source); err != nil {
				return err
			}
			return s.setCustomerContact(tx, a.CheckoutID, email, phone)
		})
	})
}

func (s *Store) startAttempt(tx *gorm.DB, a *Attempt, firstCheck time.Duration, source string) error {
	co, err := lockCheckout(tx, a.CheckoutID)
	if err != nil {
		return err
	}
	now := s.now()
	if co.Final() || !now.Before(co.ExpiresAt) {
		return fmt.Errorf("store: start attempt on %s checkout %s: %w", co.Status, co.ID, ErrTransition)
	}
	if err := checkSingleUse(tx, co); err != nil {
		return err
	}
	next := now.Add(firstCheck)
	a.Status = AttemptPending
	a.Amount, a.Currency = co.Amount, co.Currency
	a.NextCheckAt = &next
	a.CreatedAt, a.UpdatedAt = now, now
	if err := tx.Create(a).Error; err != nil {
		return fmt.Errorf("store: create attempt for %s: %w", co.ID, err)
	}
	fields := map[string]any{"method": a.Method, "provider": a.Provider, "message": ""}
	ev := Event{AttemptID: a.ID, Source: source, Message: fmt.Sprintf("%s payment started", a.Provider)}
	if co.Status == StatusOpen {
		return s.transition(tx, co, StatusPending, ev, fields)
	}
	fields["updated_at"] = now
	if err := tx.Model(&Checkout{}).Where("id = ?", co.ID).Updates(fields).Error; err != nil {
		return fmt.Errorf("store: update checkout %s: %w", co.ID, err)
	}
	ev.CheckoutID, ev.Kind = co.ID, EventAttempt
	return s.addEvent(tx, &ev)
}

// AttemptStarted records what the provider answered when the attempt
// started: its own reference and where to send the customer.
func (s *Store) AttemptStarted(ctx context.Context, attemptID, providerRef, redirectURL, payload string) error {
	return s.tx(ctx, func(tx *gorm.DB) error {
		// The checkout is locked before the attempt is written, in the
		// order every other transaction takes them.
		_, a, err := lockAttempt(tx, attemptID)
		if err != nil {
			return err
		}
		if err := tx.Model(&Attempt{}).Where("id = ?", attemptID).Updates(map[string]any{
			"provider_reference": providerRef, "redirect_url": redirectURL, "updated_at": s.now(),
		}).Error; err != nil {
			return fmt.Errorf("store: update attempt %s: %w", attemptID, err)
		}
		// The attempt always keeps its reference (it is how the provider is
		// asked about it); the checkout shows it only while no other attempt
		// has settled it.
		if err := tx.Model(&Checkout{}).Where("id = ? AND status IN ?", a.CheckoutID, []Status{StatusOpen, StatusPending}).
			Update("provider_reference", providerRef).Error; err != nil {
			return fmt.Errorf("store: update checkout %s: %w", a.CheckoutID, err)
		}
		return s.addEvent(tx, &Event{CheckoutID: a.CheckoutID, AttemptID: a.ID, Kind: EventAttempt, Source: a.Provider,
			Message: "provider accepted the order, reference " + providerRef, Payload: payload})
	})
}

// AttemptNotStarted fails an attempt the provider refused to start (nothing
// was charged), returning the checkout to open with msg. It reports whether
// this call failed it (false: it was no longer pending), so that a failure
// is counted once.
func (s *Store) AttemptNotStarted(ctx context.Context, attemptID, msg, payload string) (bool, error) {
	return s.failAttempt(ctx, attemptID, msg, "provider did not start the payment", payload)
}

// Cancel ends an open or pending checkout at the customer's request.
func (s *Store) Cancel(ctx context.Context, id, source string) (*Checkout, error) {
	return s.end(ctx, id, StatusCancelled, source, "the customer cancelled and returned to the merchant")
}

// Expire ends an open or pending checkout whose deadline passed. The caller
// queries pending attempts one last time first.
func (s *Store) Expire(ctx context.Context, id, source string) (*Checkout, error) {
	return s.end(ctx, id, StatusExpired, source, "the checkout expired")
}

func (s *Store) end(ctx context.Context, id string, to Status, source, msg string) (*Checkout, error) {
	var co *Checkout
	err := retryConflicts(ctx, func() error {
		return s.tx(ctx, func(tx *gorm.DB) (err error) {
			if co, err = lockCheckout(tx, id); err != nil {
				return err
			}
			if to == StatusExpired && s.now().Before(co.ExpiresAt) {
				return fmt.Errorf("store: expire checkout %s before its deadline: %w", id, ErrTransition)
			}
			// Attempts still pending keep being polled on their schedule (see
			// DueAttempts): money a provider takes after this is found and
			// flagged for review, never lost.
			return s.transition(tx, co, to, Event{Source: source, Message: msg}, nil)
		})
	})
	if err != nil {
		return nil, err
	}
	return co, nil
}

// AddEvent stores one event, such as a notification (parsed), before it
// is processed.
func (s *Store) AddEvent(ctx context.Context, ev *Event) error {
	return s.tx(ctx, func(tx *gorm.DB) error { return s.addEvent(tx, ev) })
}

// AddEvents adds events to timelines in one transaction, in order (a
// notification and what came of asking the provider about it).
func (s *Store) AddEvents(ctx context.Context, evs ...*Event) error {
	return s.tx(ctx, func(tx *gorm.DB) error {
		for _, ev := range evs {
			if err := s.addEvent(tx, ev); err != nil {
				return err
			}
		}
		return nil
	})
}

// Events lists a checkout's timeline, newest first.
func (s *Store) Events(ctx context.Context, checkoutID string) ([]Event, error) {
	var evs []Event
	if err := s.r.WithContext(ctx).Where("checkout_id = ?", checkoutID).Order("id DESC").Find(&evs).Error; err != nil {
		return nil, fmt.Errorf("store: events of %s: %w", checkoutID, err)
	}
	return evs, nil
}

// SetCustomerContact records the email and the phone a customer typed on
// the checkout page, each only where the checkout has none (a value the
// merchant sent is never replaced), with an event. An empty value is left
// alone.
func (s *Store) SetCustomerContact(ctx context.Context, id, email, phone string) error {
	return s.tx(ctx, func(tx *gorm.DB) error { return s.setCustomerContact(tx, id, email, phone) })
}

func (s *Store) setCustomerContact(tx *gorm.DB, id, email, phone string) error {
	var gave []string
	for _, f := range []struct{ column, value string }{{"customer_email", email}, {"customer_phone", phone}} {
		if f.value == "" {
			continue
		}
		// Guarded per field: a concurrent choice that filled it first wins.
		res := tx.Model(&Checkout{}).Where("id = ? AND "+f.column+" = ''", id).
			Updates(map[string]any{f.column: f.value, "updated_at": s.now()})
		if res.Error != nil {
			return fmt.Errorf("store: customer contact of %s: %w", id, res.Error)
		}
		if res.RowsAffected == 1 {
			gave = append(gave, f.value)
		}
	}
	if len(gave) == 0 {
		return nil
	}
	return s.addEvent(tx, &Event{CheckoutID: id, Kind: EventAttempt, Source: "customer",
		Message: "the customer gave " + strings.Join(gave, " and ") + " for the receipt"})
}

// lazyStmt is a statement prepared on a pool at its first use, and kept.
// A failed preparation is tried again at the next use.
type lazyStmt struct {
	stmt atomic.Pointer[sql.Stmt]
	mu   sync.Mutex // held while preparing
}

func (l *lazyStmt) get(ctx context.Context, db *gorm.DB, query func() string) (*sql.Stmt, error) {
	if st := l.stmt.Load(); st != nil {
		return st, nil
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	if st := l.stmt.Load(); st != nil {
		return st, nil
	}
	pool, err := db.DB()
	if err != nil {
		return nil, err
	}
	st, err := pool.PrepareContext(context.WithoutCancel(ctx), query())
	if err != nil {
		return nil, fmt.Errorf("prepare: %w", err)
	}
	l.stmt.Store(st)
	return st, nil
}
