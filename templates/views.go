// Package templates holds the app's HTML: templ components for the customer
// checkout pages, the admin pages, and the partials that htmx swaps.
//
// Handlers fill the plain view structs below and render the matching
// component; the components never reach into the store or the service. Every
// value is auto-escaped by templ, and the markup is written for a strict CSP:
// no inline styles, no inline event handlers, and every <script> carries the
// request's nonce.
package templates

// Page is what every full page needs.
type Page struct {
	// Title is the page title; the layout adds the app name.
	Title string
	// Nonce is the request's CSP nonce, set on every <script>.
	Nonce string
	// CSRF is the synchronizer token, masked for this answer
	// (reqctx.MaskCSRF, once for all its forms), put as it is in every
	// POST form as csrf_token. Never the bare token.
	CSRF string
	// RequestID is shown on error pages so a customer can quote it.
	RequestID string
	// TestMode shows the "Test mode" mark: the providers are simulated and
	// no real money moves.
	TestMode bool
	// Brand is the merchant's look on a customer page; admin pages leave
	// it zero.
	Brand Brand
	// Lang is the page's language, "en" or "sw" (locale.Lang); "" is
	// English (admin pages). The page's words come from the language the
	// render's context carries (locale.With), which is the same.
	Lang string
	// SwitchPath is the address the language switch links to with
	// ?lang=en or ?lang=sw (the page's own, a GET); "" hides the switch.
	SwitchPath string
}

// MethodOption is one payment method offered on the checkout page.
type MethodOption struct {
	// Key is the value posted as "method": pesapal, pokeapay or stk.
	Key string
	// Label is the full button text, for example "Pay with Pesapal".
	Label string
	// Hint is the small line under the label, for example
	// "Card, M-Pesa, Airtel Money".
	Hint string
	// Disabled shows the method greyed out and not choosable.
	Disabled bool
	// DisabledReason says why, for example "Not available for USD".
	DisabledReason string
}

// Summary is the order summary shown on every customer page.
type Summary struct {
	ID, MerchantName, Description, Reference string
	// Amount is formatted for people, like "KES 1,500.00".
	Amount string
}

// CheckoutPage is the checkout page at GET /c/{id}.
type CheckoutPage struct {
	Page
	Summary
	Methods []MethodOption
	// Message says why the last attempt failed.
	Message string
	// FieldErrors maps a form field name ("method") to its error text.
	FieldErrors map[string]string
	// Pending is true while an attempt is under way.
	Pending bool
	Status  StatusView
	// CancelAction is the POST target for "Cancel and return"; "" hides it.
	CancelAction string
	// PayAction is the POST target for choosing a method: /c/{id}/pay.
	PayAction string
	// NeedsContact asks for an email or phone (field "contact"): Pesapal
	// is offered, needs one, and the merchant sent neither.
	NeedsContact bool
	// Contact is what the customer typed, shown again with an error.
	Contact string
	// ContactStep, when set, replaces the method choice with the form
	// that asks for the details a chosen method still needs.
	ContactStep *ContactStep
	// STK is the M-Pesa prompt form, shown below the method buttons (STK
	// is not among Methods: it needs a phone number); nil hides it.
	STK *STKForm
	// Amount, when set, is posted as "amount" with every form: a payment
	// link's amount that the customer entered, on the link's payment page
	// (/l/{id}, before its checkout exists). AmountURL is where the
	// customer changes it.
	Amount, AmountURL string
}

// ContactStep asks for what a method needs before the customer leaves
// for the provider's page (PokeaPay signs every payment with the customer's
// phone and email). Only the fields the checkout lacks are shown; the form
// posts to PayAction with the method again and step=contact.
type ContactStep struct {
	// Method is posted as "method"; Provider names it for people.
	Method, Provider string
	// Why is the sentence above the fields.
	Why string
	// AskPhone and AskEmail show the fields customer_phone and
	// customer_email; Phone and Email fill them with what was typed.
	AskPhone, AskEmail bool
	Phone, Email       string
	// BackURL leads back to the method choice.
	BackURL string
}

// STKForm is the M-Pesa STK push option: its own form with the phone
// number (field "phone"), posted to PayAction with method=stk.
type STKForm struct {
	// Phone fills the field: what the customer typed, the checkout's phone
	// or the last number tried.
	Phone string
	// Disabled hides the field and says why (e.g. the amount has cents).
	Disabled       bool
	DisabledReason string
}

// STKWaitPage is the "Check your phone" page while an M-Pesa prompt is on
// the customer's phone.
type STKWaitPage struct {
	Page
	Summary
	// Phone is the number the prompt went to, written for people.
	Phone string
	// Seconds is how long the prompt stays on the phone from now.
	Seconds int
	Status  StatusView
	// RetryAction is the form that pushes again (another number allowed),
	// shown when the countdown ends; RetryPhone fills it.
	RetryAction, RetryPhone string
	// BackURL leads back to the method choice.
	BackURL string
}

// PesapalFramePage shows the Pesapal payment page in an iframe.
type PesapalFramePage struct {
	Page
	Summary
	// FrameURL is Pesapal's redirect_url for this order.
	FrameURL string
	// BackURL is the "Choose another method" link back to /c/{id}.
	BackURL string
	Status  StatusView
}

// StatusView is the live status of a checkout, rendered by StatusPartial.
type StatusView struct {
	ID, Status, Method, Receipt, Message string
	// PollURL is what htmx polls while the status is not final:
	// /c/{id}/status.
	PollURL string
	// ReceiptURL is the receipt page, linked once the checkout is paid.
	ReceiptURL string
	// PageURL is the plain "Refresh" link for browsers without JavaScript;
	// when empty, /c/{ID} is used.
	PageURL string
	// Final is true when the status can no longer change by itself
	// (paid, expired, cancelled, reversed): polling stops.
	Final bool
	// Note is what the customer should read about a pending payment beyond
	// "waiting": an M-Pesa prompt whose window passed with no verdict yet
	// (payments.WaitingNote). The JSON status says the same as message.
	Note string
}

// ResultPage is shown where a provider sends the customer back.
type ResultPage struct {
	Page
	Summary
	Status StatusView
	// RetryURL is the "Try again" link, shown while the status is open.
	RetryURL string
	// ReturnURL is the merchant's page; ReturnLabel is the full link text,
	// for example "Return to Duka La Mama". An empty label falls back to
	// "Return to " + MerchantName.
	ReturnURL, ReturnLabel string
	// BreakOut renders the frame-busting script: this page may load inside
	// our own Pesapal iframe.
	BreakOut bool
}

// ReceiptPage is the receipt of a paid checkout.
type ReceiptPage struct {
	Page
	Summary
	Receipt, Method, Provider, PaidAt string
	// ReturnURL and ReturnLabel work as in ResultPage.
	ReturnURL, ReturnLabel string
	// AutoReturn sends the customer back to ReturnURL after a few seconds
	// (the merchant's success_url).
	AutoReturn bool
}

// NoticePage is a short page with a heading and a sentence: an expired,
// cancelled or unknown checkout, or an error.
type NoticePage struct {
	Page
	Heading, Text string
	// ReturnURL, when set, is a "Return to <merchant>" link (ReturnLabel).
	ReturnURL, ReturnLabel string
	// Code is the HTTP status the handler answers with; it picks a heading
	// when Heading is empty.
	Code int
}

// LoginPage is the admin login form.
type LoginPage struct {
	Page
	Email string
	// Error is the one generic message, like "Wrong email or password".
	Error       string
	FieldErrors map[string]string
}

// AdminPage is what every admin page needs: the admin chrome shows the nav
// (Orders) and a logout form (POST /admin/logout).
type AdminPage struct {
	Page
	AdminEmail string
	// Role is the admin's role (owner, manager, viewer): pages hide the
	// actions it cannot do (the routes refuse them all the same).
	Role string
	// RefundsWaiting and PayoutsWaiting are how many refunds and payouts
	// wait for a person (an approval, or attention), shown beside their nav
	// entries; "" hides the count.
	RefundsWaiting, PayoutsWaiting string
}

// OrderFilter is the orders list filter as the admin typed it (the query
// string's values): dates are YYYY-MM-DD.
type OrderFilter struct {
	Status, Method, Provider, Q, From, To, PaidFrom, PaidTo, Link, Failure string
	// Merchant is a merchant id: its orders only.
	Merchant string
	// FailedFrom and FailedTo bound when the Failure attempt was made.
	FailedFrom, FailedTo string
	Review, Stale        bool
}

// OrderRow is one line of the orders list.
type OrderRow struct {
	ID, URL, CreatedAt, Reference, Description, Amount, Status, Method, Receipt, Phone string
	// Review flags an order with an attempt that needs a person to look.
	Review bool
}

// OrdersPage is the admin orders list.
type OrdersPage struct {
	AdminPage
	Filter OrderFilter
	// Statuses, MethodKeys and ProviderKeys fill the filter's select
	// boxes.
	Statuses, MethodKeys, ProviderKeys []string
	// CSVURL downloads every order the filters select ("" hides the link).
	CSVURL string
	// SearchNote says which fields a broad search left out ("" hides it).
	SearchNote string

	Rows []OrderRow
	// NextURL and FirstURL are the paging links; "" hides each.
	NextURL, FirstURL string
	FieldErrors       map[string]string
	// UnknownNotifications is how many notifications named a reference we
	// never issued in the last 24 hours; 0 hides the line.
	UnknownNotifications int64
}

// AttemptRow is one payment attempt on the order page.
type AttemptRow struct {
	ID, Provider, Method, Status, ProviderReference, Receipt, Message, Phone, CreatedAt, UpdatedAt string

	// Review flags an attempt whose provider answer disagreed with the
	// order; ReviewReason says how.
	Review       bool
	ReviewReason string
}

// EventRow is one entry of an order's timeline.
type EventRow struct {
	At, Kind, Source, Summary, FromStatus, ToStatus string
	// Payload is the stored raw notification or answer (secrets redacted).
	Payload string
}

// OrderPage is the admin page of one order.
type OrderPage struct {
	AdminPage
	Summary
	Status, Method, Provider, ProviderReference, Receipt, Message, Currency, CreatedAt, ExpiresAt, PaidAt, Customer, SuccessURL, CancelURL, Metadata string

	// Review shows the "Needs review" alert.
	Review   bool
	Attempts []AttemptRow
	// Events is the timeline, newest first.
	Events []EventRow
	// RecheckAction is the POST target of "Re-check with provider"; "" hides it.
	RecheckAction string
	// Flash is a one-time message, like the result of a re-check.
	Flash string
	// Deliveries are the merchant webhooks this order sent, oldest first.
	Deliveries []DeliveryRow
	// Emails are the emails to the customer (the receipt), oldest first.
	Emails []EmailRow
	// Refunds is the order's refunds and its refund form.
	Refunds RefundsSection
}

// EmailRow is one email to the customer on the order page.
type EmailRow struct {
	// ID is the email's id, the same on every try (its Message-ID).
	ID, Kind, Recipient, Status string
	Attempts                    int
	LastError                   string
	// CreatedAt, NextAttemptAt (pending) and SentAt (sent) are in
	// Africa/Nairobi; "" when none.
	CreatedAt, NextAttemptAt, SentAt string
	// ResendAction is the POST target of "Send again"; "" hides it (only
	// a failed email of a paid order has it).
	ResendAction string
}

// WebhookTry is one try of a webhook delivery.
type WebhookTry struct {
	At string
	// StatusCode is the HTTP status the endpoint answered; 0 when no
	// answer came (Error says why).
	StatusCode int
	Error      string
}

// DeliveryRow is one merchant webhook delivery, on the order page and on
// the deliveries page.
type DeliveryRow struct {
	// ID is the webhook-id, the same on every try.
	ID, EventType, Status, Merchant, CreatedAt string
	// CheckoutID and CheckoutURL (the admin order page) are empty for a
	// test event.
	CheckoutID, CheckoutURL string
	Attempts                int
	// NextAttemptAt is when a pending delivery is tried next.
	NextAttemptAt  string
	LastStatusCode int
	LastError      string
	Tries          []WebhookTry
	// ResendAction is the POST target of "Resend"; "" hides it (a pending
	// delivery is already queued).
	ResendAction string
}

// DeliveriesPage is the admin list of webhook deliveries of all merchants.
type DeliveriesPage struct {
	AdminPage
	Rows  []DeliveryRow
	Flash string
	// Capped is true when more deliveries exist than are listed.
	Capped bool
	Limit  int
}

// WebhookSettings is one merchant's webhook settings form.
type WebhookSettings struct {
	MerchantID, MerchantName, URL string
	// SecretHint is the last 4 characters of the secret; NewSecret is the
	// whole secret, set only on the answer that created it (shown once).
	SecretHint, NewSecret string
	// PreviousUntil says until when the replaced secret keeps signing.
	PreviousUntil string
	// URLAction, RotateAction and TestAction are the POST targets.
	URLAction, RotateAction, TestAction string
	FieldErrors                         map[string]string
}

// WebhooksPage is the admin webhook settings page.
type WebhooksPage struct {
	AdminPage
	Merchants []WebhookSettings
	Flash     string
	// AllowPrivate says loopback and private addresses are accepted.
	AllowPrivate bool
}

// DashboardPage is the admin dashboard (/admin): one period's figures,
// each a link to the orders behind it, and a chart of the amounts paid.
type DashboardPage struct {
	AdminPage
	// Periods are the period switch's links; Range names the period's
	// days.
	Periods []PeriodLink
	Range   string

	// Paid is the amount paid, one figure per currency.
	Paid                                []Figure
	PaidCount, Conversion, AvgTimeToPay Figure
	ByMethod, ByProvider                []SplitRow
	Failures                            []FailureRow
	Stale, Review, FailingWebhooks      Figure
	// FailingNames names the merchants whose endpoints fail.
	FailingNames string
	Chart        Chart
}

// PeriodLink is one choice of the dashboard's period switch.
type PeriodLink struct {
	Label, URL string
	Current    bool
}

// Figure is one number of the dashboard, with the link to its orders and
// an optional line under it.
type Figure struct {
	Label, Value, Note, URL string
}

// SplitRow is what was paid with one method or through one provider (Key).
type SplitRow struct {
	Key    string
	Count  string
	Amount string
	URL    string
}

// FailureRow is one failure reason and how many attempts failed with it.
type FailureRow struct {
	Message string
	Count   string
	URL     string
}

// Chart is the dashboard's bar chart, drawn as inline SVG in a
// Width x Height box of its own units; bars stand on BaseY. Title and Desc
// are its text alternative, Rows the same figures as a table.
type Chart struct {
	Title, Desc   string
	Width, Height int
	BaseY         int
	MaxLabel      string
	Bars          []ChartBar
	Rows          []ChartRow
}

// ChartBar is one bar (a link to its orders), with its label under the
// axis when Tick is set. Coordinates are written out, in the chart's units.
type ChartBar struct {
	X, Y, Width, Height string
	Label, URL          string
	Tick, TickX         string
}

// ChartRow is one bar's figures, for the table under the chart.
type ChartRow struct {
	Name   string
	Count  string
	Amount string
	URL    string
}

// CanManage reports whether the admin may act on orders, refunds, payouts,
// links and deliveries (a manager or an owner).
func (p AdminPage) CanManage() bool { return p.Role == "manager" || p.Role == "owner" }

// IsOwner reports whether the admin is an owner (webhooks, team, audit).
func (p AdminPage) IsOwner() bool { return p.Role == "owner" }

// TeamPage is the owners' team page: the members, the open invites, and a
// new invite's link shown once.
type TeamPage struct {
	AdminPage
	Members []TeamMemberRow
	Invites []InviteRow
	Roles   []string
	// Notice is a line about what was just done (role changed, removed).
	Notice string
	// Error is why the last change was refused (the last owner).
	Error string
	// NewInviteLink is a just-made invite's link when it was not emailed:
	// shown this once. NewInviteEmail is whom it is for; NewInviteEmailed
	// says it went by email.
	NewInviteLink, NewInviteEmail string
	NewInviteEmailed              bool
	// InviteEmail and InviteRole are the invite form's values.
	InviteEmail, InviteRole string
	FieldErrors             map[string]string
}

// TeamMemberRow is one admin on the team page.
type TeamMemberRow struct {
	ID, Email, Role, AddedAt, LastLogin string
	// Self is the signed-in owner: no role change or removal of oneself.
	Self bool
	// RoleAction and RemoveAction are the forms' addresses.
	RoleAction, RemoveAction string
}

// InviteRow is one open invite.
type InviteRow struct {
	ID, Email, Role, InvitedBy, CreatedAt, ExpiresAt, RevokeAction string
}

// AuditPage is the owners' audit log: filters, entries newest first, pages.
type AuditPage struct {
	AdminPage
	Action, Actor, Object string
	Actions               []string
	Rows                  []AuditRow
	FirstURL, NextURL     string
}

// AuditRow is one audit entry for people (time in Nairobi).
type AuditRow struct {
	At, ActorEmail, Action, ObjectType, ObjectID, IP, Detail string
}

// InvitePage is the public page of an invite link: set a password.
type InvitePage struct {
	Page
	Email, Role, Action string
	FieldErrors         map[string]string
}
