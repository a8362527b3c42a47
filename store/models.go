package store

import "time"

// Status is a checkout's status (see design.md, "Checkout status").
type Status string

// Checkout statuses.
const (
	StatusOpen      Status = "open"
	StatusPending   Status = "pending"
	StatusPaid      Status = "paid"
	StatusExpired   Status = "expired"
	StatusCancelled Status = "cancelled"
	StatusReversed  Status = "reversed"
)

// Statuses lists every checkout status, in the order people read them.
var Statuses = []Status{StatusOpen, StatusPending, StatusPaid, StatusExpired, StatusCancelled, StatusReversed}

// AttemptStatus is the status of one try of a payment method.
type AttemptStatus string

// Attempt statuses.
const (
	AttemptPending   AttemptStatus = "pending"
	AttemptSucceeded AttemptStatus = "succeeded"
	AttemptFailed    AttemptStatus = "failed"
)

// Merchant owns checkouts and authenticates to the API with its keys
// (APIKey). APIKeyHash and APIKeyHint are the key of before migration 16,
// copied into api_keys then and no longer read; new merchants leave them
// empty. The logo's bytes are not a field: they are read only to serve
// the logo (MerchantLogo).
type Merchant struct {
	ID            string `gorm:"primaryKey"`
	Name          string
	APIKeyHash    string
	APIKeyHint    string
	WebhookURL    string
	WebhookSecret string
	// LogoType is the logo's media type ("" for no logo), LogoEtag the
	// hash of its bytes, part of its URL.
	LogoType string
	LogoEtag string
	// BrandColor is "#rrggbb", or "" for the app's own colours.
	BrandColor   string
	SupportPhone string
	SupportEmail string
	// Methods is the comma-separated list of methods the merchant's
	// checkouts may use; "" is every configured method.
	Methods string
	// SuccessURL and CancelURL fill a checkout's or link's when its
	// creation names none.
	SuccessURL string
	CancelURL  string
	CreatedAt  time.Time
	UpdatedAt  *time.Time
}

// APIKey is one of a merchant's API keys. Only the SHA-256 of the key is
// stored (KeyHash), and its last four characters (Hint) so an admin can
// tell keys apart. A key works until it is revoked or, once a rotation
// replaced it, until ExpiresAt.
type APIKey struct {
	ID         string `gorm:"primaryKey"`
	MerchantID string
	Name       string
	KeyHash    string
	Hint       string
	CreatedAt  time.Time
	// CreatedBy is the admin's email, "" for a key made at start-up.
	CreatedBy  string
	LastUsedAt *time.Time
	ExpiresAt  *time.Time
	RevokedAt  *time.Time
	// RevokedBy is RevokedByStartup when a start with another
	// CHECKOUT_API_KEY revoked the key, "" otherwise.
	RevokedBy string
}

// Works reports whether the key is accepted at now: not revoked, and not
// past the end of a rotation's overlap.
func (k *APIKey) Works(now time.Time) bool {
	return k.RevokedAt == nil && (k.ExpiresAt == nil || now.Before(*k.ExpiresAt))
}

// RevokedByStartup marks a key revoked by a start with another
// CHECKOUT_API_KEY: the only revocation EnsureMerchant may undo.
const RevokedByStartup = "start-up"

// AdminUser can log in to the admin pages.
type AdminUser struct {
	ID           string `gorm:"primaryKey"`
	Email        string
	PasswordHash string
	FailedLogins int
	LastFailedAt *time.Time
	// SessionEpoch is carried in the admin's session cookie; raising it
	// ends every session issued before.
	SessionEpoch int64
	// Role is RoleOwner, RoleManager or RoleViewer.
	Role string
	// RemovedAt is when an owner removed the admin from the team: a
	// removed admin cannot log in.
	RemovedAt *time.Time
	// TOTPSecret is the two-factor secret, sealed by payments (never
	// plain); "" when two-factor login is off.
	TOTPSecret string `gorm:"column:totp_secret"`
	// TOTPEnabledAt is when two-factor login was switched on; nil: off.
	TOTPEnabledAt *time.Time `gorm:"column:totp_enabled_at"`
	// TOTPLastStep is the time step (Unix seconds / 30) of the last code
	// accepted: a code of that step or an earlier one is refused.
	TOTPLastStep int64 `gorm:"column:totp_last_step"`
	CreatedAt    time.Time
	UpdatedAt    time.Time
}

// AdminSession is one admin login, live until it is revoked or idle: the
// admin cookie carries a random token, and ID is its SHA-256 (hex), so the
// table holds nothing that opens a session.
type AdminSession struct {
	ID         string `gorm:"primaryKey"`
	AdminID    string
	CreatedAt  time.Time
	LastSeenAt time.Time
	IP         string `gorm:"column:ip"`
	UserAgent  string
	RevokedAt  *time.Time
}

// Checkout is one order a customer pays. Amount is in cents.
type Checkout struct {
	ID                string `gorm:"primaryKey"`
	MerchantID        string
	Reference         string
	Description       string
	Amount            int64
	Currency          string
	Status            Status
	Method            string
	Provider          string
	ProviderReference string
	Receipt           string
	Message           string
	CustomerName      string
	CustomerEmail     string
	CustomerPhone     string
	SuccessURL        string
	CancelURL         string
	// Methods is the comma-separated list of methods the merchant allowed;
	// empty means every configured method.
	Methods string
	// Metadata is the merchant's flat string map, as JSON.
	Metadata string
	// Locale is the language the merchant chose for the customer's pages
	// and receipt: "en", "sw", or "" (the browser's choice). Fixed once
	// the checkout is created.
	Locale string
	// PaymentLinkID is the payment link the checkout was made from ("" for
	// one made over the API).
	PaymentLinkID string
	Review        bool
	CreatedAt     time.Time
	UpdatedAt     time.Time
	ExpiresAt     time.Time
	PaidAt        *time.Time
	// AmountRefunded is what succeeded refunds gave back; RefundReserved
	// is what pending and succeeded refunds hold (cents).
	AmountRefunded int64
	RefundReserved int64
}

// Final reports whether no payment can change the checkout any more
// (a paid checkout can still be reversed by the provider).
func (c *Checkout) Final() bool {
	switch c.Status {
	case StatusOpen, StatusPending:
		return false
	}
	return true
}

// Attempt is one try of a payment method for a checkout. Amount and Currency
// are copied from the checkout when the attempt starts: they are what the
// provider must confirm.
type Attempt struct {
	ID                string `gorm:"primaryKey"`
	CheckoutID        string
	Provider          string
	Method            string
	Status            AttemptStatus
	Amount            int64
	Currency          string
	ProviderReference string
	RedirectURL       string
	Receipt           string
	Message           string
	Phone             string
	Review            bool
	ReviewReason      string
	// PaymentMethod is what the provider reported the customer paid with
	// ("Visa", "MpesaKE", "M-Pesa"), written when the attempt succeeds.
	PaymentMethod string
	// NextCheckAt is when the reconciler next asks the provider; nil once the
	// attempt is final, or once it was polled for PollFor without a verdict
	// (it then stays pending; see StopPolling).
	NextCheckAt *time.Time
	Checks      int
	CreatedAt   time.Time
	UpdatedAt   time.Time
}

// Event kinds.
const (
	EventCreated      = "created"
	EventNotification = "notification"
	EventStatusQuery  = "status_query"
	EventTransition   = "transition"
	EventAttempt      = "attempt"
	EventReview       = "review"
	EventError        = "error"
)

// Event is one line of a checkout's timeline: a notification (parsed), a
// provider's answer, a status change. Payloads are stored with secrets
// removed.
type Event struct {
	ID         int64 `gorm:"primaryKey"`
	CheckoutID string
	AttemptID  string
	Kind       string
	Source     string
	FromStatus string
	ToStatus   string
	Message    string
	Payload    string
	CreatedAt  time.Time
}

// PaymentLink is a merchant's link that makes a checkout for each customer
// who opens it (/l/{id}). Amounts are in cents; Amount 0 lets the customer
// enter one within MinAmount and MaxAmount (0: no bound).
type PaymentLink struct {
	ID              string `gorm:"primaryKey"`
	MerchantID      string
	Amount          int64
	MinAmount       int64
	MaxAmount       int64
	Currency        string
	Description     string
	ReferencePrefix string
	SingleUse       bool
	// Methods is the comma-separated list of methods allowed; empty means
	// every configured method.
	Methods    string
	SuccessURL string
	// Metadata is the merchant's flat string map, as JSON, copied to every
	// checkout made from the link.
	Metadata string
	Active   bool
	// CreatedBy is "api" or "admin:<email>".
	CreatedBy     string
	CreatedAt     time.Time
	UpdatedAt     time.Time
	ExpiresAt     *time.Time
	DeactivatedAt *time.Time
}

// Statuses of a refund or a payout (what the API shows).
const (
	TransferPending   = "pending"
	TransferSucceeded = "succeeded"
	TransferFailed    = "failed"
)

// Stages of a refund or a payout (internal; the API shows only the
// status): approval (waits for a second admin) -> queued -> sending (claimed;
// the call is being made; committed before the call) -> sent (the provider
// took it; its result is awaited) -> done. attention: a person must act.
const (
	StageApproval  = "approval"
	StageQueued    = "queued"
	StageSending   = "sending"
	StageSent      = "sent"
	StageAttention = "attention"
	StageDone      = "done"
)

// Refund routes: how the money goes back.
const (
	RoutePesapal = "pesapal" // Pesapal's RefundRequest
	RoutePayout  = "payout"  // a payout to the payer's M-Pesa phone
	RouteManual  = "manual"  // by hand, then marked refunded
)

// Refund gives (part of) a paid checkout's money back. Amount is in cents.
type Refund struct {
	ID                string `gorm:"primaryKey"`
	MerchantID        string
	CheckoutID        string
	AttemptID         string
	Amount            int64
	Currency          string
	Reason            string
	Route             string
	Provider          string
	ProviderReference string
	PayoutID          string
	Phone             string
	Status            string
	Stage             string
	Message           string
	RequestedBy       string
	ApprovedBy        string
	ApprovedAt        *time.Time
	CreatedAt         time.Time
	UpdatedAt         time.Time
	CompletedAt       *time.Time
}

// Payout sends money to an M-Pesa phone: a merchant's own payout, or the
// carrier of a refund (RefundID). Amount is in cents, whole shillings.
type Payout struct {
	ID         string `gorm:"primaryKey"`
	MerchantID string
	RefundID   string
	Provider   string
	// ProviderReference is our 12 random digits, committed before the
	// send; ProviderID is the provider's own id, when it gives one.
	ProviderReference string
	ProviderID        string
	Amount            int64
	Currency          string
	Phone             string
	Name              string
	Reference         string
	Description       string
	Status            string
	Stage             string
	Receipt           string
	Fees              int64
	// Verified: the success came from a status call or a verified proof.
	Verified     bool
	Message      string
	RequestedBy  string
	ApprovedBy   string
	ApprovedAt   *time.Time
	CreatedAt    time.Time
	UpdatedAt    time.Time
	SentAt       *time.Time
	CompletedAt  *time.Time
	NextCheckAt  *time.Time
	Checks       int
	ClaimedUntil *time.Time
}

// TransferEvent is one line of a refund's or a payout's timeline. Payloads
// are stored with secrets removed.
type TransferEvent struct {
	ID         int64 `gorm:"primaryKey"`
	SubjectID  string
	Kind       string
	Source     string
	FromStatus string
	ToStatus   string
	Message    string
	Payload    string
	// Actor is an admin's email, "api" or "system".
	Actor     string
	CreatedAt time.Time
}
