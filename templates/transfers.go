package templates

// The admin pages of money going out: refunds of paid orders and payouts
// to M-Pesa phones, their lists, their pages with the timeline and the
// actions a person takes (approve, decline, mark done by hand), the
// order page's refund form, the "Send money" form and the confirm step
// both forms pass through.

// TransferRow is one refund or payout in the admin lists and on the order
// page.
type TransferRow struct {
	ID, URL, CreatedAt, Amount string
	// Status is pending, succeeded or failed; Stage is the internal step
	// (approval, queued, sending, sent, attention, done).
	Status, Stage               string
	Provider, ProviderReference string
	// RequestedBy and ApprovedBy are written for people ("API", an admin's
	// email); "" when none.
	RequestedBy, ApprovedBy string
	// Order and OrderURL (refunds) name the order and link its page.
	Order, OrderURL string
	// To (payouts) is the phone and name paid.
	To string
}

// TransferFilter is a list's filter as typed: a status and a stage
// (approval or attention), "" for any.
type TransferFilter struct {
	Status, Stage string
	// Merchant is a merchant id: its refunds or payouts only.
	Merchant string
}

// TransfersPage is GET /admin/refunds and GET /admin/payouts.
type TransfersPage struct {
	AdminPage
	// Kind is "refund" or "payout": it picks the words and the columns.
	Kind string
	// Action is the filter form's GET target (the list's own path).
	Action string
	Filter TransferFilter
	// Statuses and Stages fill the filter's select boxes.
	Statuses, Stages []string
	Rows             []TransferRow
	// FirstURL and NextURL are the paging links; "" hides each.
	FirstURL, NextURL string
	FieldErrors       map[string]string
	// NewURL is the "Send money" link (payouts); "" hides it.
	NewURL string
}

// DetailRow is one line of a definition list: Value links URL when set.
type DetailRow struct {
	Label, Value, URL string
	Mono              bool
}

// TransferPage is GET /admin/refunds/{id} and GET /admin/payouts/{id}:
// its fields, what a person can do now, and its timeline.
type TransferPage struct {
	AdminPage
	// Kind is "refund" or "payout".
	Kind          string
	ID            string
	Status, Stage string
	Amount        string
	// Message is the row's last word (why it waits for a person, why it
	// failed), shown above the actions.
	Message string
	Details []DetailRow
	// Events is the timeline, newest first.
	Events []EventRow
	// Flash is the result of an action; Error an action refused.
	Flash, Error string
	// ApproveAction, DeclineAction (stage approval) and ResolveAction
	// (stage attention) are the POST targets; "" hides each.
	ApproveAction, DeclineAction, ResolveAction string
	// OwnRequest says this admin asked for it: Approve is not offered,
	// another admin approves.
	OwnRequest bool
	// BackURL and BackLabel lead to the list (or the order).
	BackURL, BackLabel string
}

// RefundForm is the order page's refund form.
type RefundForm struct {
	// Action is the POST target, /admin/orders/{id}/refunds.
	Action string
	// Amount and Reason are what the admin typed; Amount starts as what
	// is left to refund.
	Amount, Reason string
	// Left is what is left to refund, for people ("KES 1,000.00").
	Left string
	// FullOnly fixes the amount to Left (Pesapal refunds mobile money in
	// full only).
	FullOnly bool
	// Hints are the rules that apply to this payment, one sentence each.
	Hints []string
	// Blocked says why no refund can be made now; the form is not shown.
	Blocked     string
	FieldErrors map[string]string
}

// RefundsSection is the order page's refunds: what was refunded, each
// refund, and the form.
type RefundsSection struct {
	// Refunded says how much went back ("" when nothing yet).
	Refunded string
	Rows     []TransferRow
	// Form is nil for an order that was never paid.
	Form *RefundForm
	// Flash is the result of the last refund asked from this page.
	Flash string
}

// HiddenField is a value a confirm form posts again as it was typed.
type HiddenField struct{ Name, Value string }

// ConfirmPage is the step between a money form and its effect: what will
// happen, in words, with "Confirm" and "Change" (the same POST with
// confirm=1 or edit=1).
type ConfirmPage struct {
	AdminPage
	Heading string
	Details []DetailRow
	// Notes are sentences about what follows (approval, by hand, ...).
	Notes  []string
	Action string
	Hidden []HiddenField
	// Button is the confirm button's words ("Refund KES 500.00").
	Button  string
	BackURL string
}

// PayoutForm is what the admin typed in "Send money".
type PayoutForm struct{ Merchant, Phone, Name, Amount, Reference, Description string }

// PayoutNewPage is GET /admin/payouts/new, shown again with the fields
// marked after a refused POST /admin/payouts.
type PayoutNewPage struct {
	AdminPage
	Form        PayoutForm
	FieldErrors map[string]string
	// Provider names the payout provider; "" when none is configured (the
	// form is not shown).
	Provider string
	// Balance is the provider's balance for people; "" when it has none.
	Balance string
	// ApprovalNote says above which amount a second admin approves.
	ApprovalNote string
	// Error is a refusal that belongs to no one field.
	Error string
	// Merchants are those the money can be sent for: a choice when more
	// than one.
	Merchants []MerchantOption
}
