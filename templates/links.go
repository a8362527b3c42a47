package templates

// LinkAmountPage is GET and POST /l/{id} for a payment link that lets the
// customer enter the amount: the form, shown again with the field marked
// when the amount is refused.
type LinkAmountPage struct {
	Page
	MerchantName, Description, Currency string
	// Bounds says the allowed range in words ("Between KES 100.00 and
	// KES 5,000.00"), "" when there is none.
	Bounds string
	// Amount is what the customer typed, shown again with an error.
	Amount      string
	FieldErrors map[string]string
	// Action is the form's POST target, /l/{id}.
	Action string
	// ContinueURL is the checkout this browser already has for the link
	// (open), with ContinueAmount, its amount for people; "" when none.
	ContinueURL, ContinueAmount string
}

// LinkRow is one payment link in the admin's list and on its page.
type LinkRow struct {
	ID, URL, Description string
	// Amount is the fixed amount for people, or "Customer enters" (with
	// the bounds when there are any).
	Amount    string
	Paid      int64
	PaidTotal string
	Active    bool
	CreatedAt string
	Merchant  string
	SingleUse bool
	ExpiresAt string
	// Methods are the allowed methods' keys, none for every method.
	Methods         []string
	SuccessURL      string
	ReferencePrefix string
}

// LinksPage is GET /admin/links.
type LinksPage struct {
	AdminPage
	Rows              []LinkRow
	FirstURL, NextURL string
}

// MerchantOption is a merchant the admin can make a link for.
type MerchantOption struct{ ID, Name string }

// LinkForm is what the admin typed in the new-link form.
type LinkForm struct {
	Merchant, Description, AmountMode, Amount, MinAmount, MaxAmount string
	ReferencePrefix, ExpiresAt, SuccessURL                          string
	SingleUse                                                       bool
	Methods                                                         []string
}

// LinkNewPage is the new-link form at GET /admin/links/new, shown again
// with its errors after a refused POST /admin/links.
type LinkNewPage struct {
	AdminPage
	Form        LinkForm
	FieldErrors map[string]string
	Merchants   []MerchantOption
	MethodKeys  []string
}

// LinkDetailPage is a payment link's admin page: its address to copy, its
// QR code, the pay-button snippet, its orders and the deactivate form.
type LinkDetailPage struct {
	AdminPage
	Link LinkRow
	// PublicURL is the address customers open, /l/{id} on the public URL.
	PublicURL string
	// QRSVG is the QR code of PublicURL as an SVG document (server-made).
	QRSVG string
	// QRURL downloads it.
	QRURL string
	// Snippet is the pay button's HTML, for the merchant to paste.
	Snippet string
	// OrdersURL lists the link's orders.
	OrdersURL        string
	DeactivateAction string
	Flash            string
}
