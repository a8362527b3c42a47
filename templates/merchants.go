package templates

import (
	"context"
	"html"
	"io"
	"strings"

	"github.com/a-h/templ"
)

// Brand is a merchant's look on its customer pages: its name and logo in a
// bar of its colour, and how customers reach it. The zero Brand is the
// app's own look.
type Brand struct {
	Name string
	// LogoURL is the logo's path, "" for none.
	LogoURL string
	// Color is the brand colour (#rrggbb, "" for the app's own), TextColor
	// the text colour readable on it (#000000 or #ffffff).
	Color, TextColor string
	// SupportPhone and SupportEmail are shown in the footer.
	SupportPhone, SupportEmail string
}

// MerchantRow is one merchant in the admin's list.
type MerchantRow struct {
	ID, URL, Name, LogoURL, Color string
	// Methods are the allowed methods' keys, none for every method.
	Methods []string
	// Keys is how many API keys work now.
	Keys int
}

// MerchantsPage is GET /admin/merchants.
type MerchantsPage struct {
	AdminPage
	Rows []MerchantRow
}

// MerchantForm is what the admin typed in the merchant form.
type MerchantForm struct {
	Name, BrandColor, SupportPhone, SupportEmail, SuccessURL, CancelURL string
	Methods                                                             []string
	// LogoURL is the current logo, shown beside the file input.
	LogoURL string
}

// MerchantFormPage is the new-merchant form (GET /admin/merchants/new),
// shown again with its errors after a refused POST /admin/merchants.
type MerchantFormPage struct {
	AdminPage
	Form        MerchantForm
	FieldErrors map[string]string
	MethodKeys  []string
	// Action is where the form posts.
	Action string
}

// APIKeyRow is one API key on its merchant's page.
type APIKeyRow struct {
	ID, Name, Hint, CreatedAt, CreatedBy, LastUsed string
	// State is "Active", "Works until ..." (a rotation's overlap),
	// "Expired ..." or "Revoked ...".
	State string
	// Active keys can be rotated and revoked.
	Active                     bool
	RotateAction, RevokeAction string
}

// ShownKey is an API key just made: shown on this answer only.
type ShownKey struct {
	Name, Key string
	// Note says what happened to the key it replaced, for a rotation.
	Note string
}

// Overlap is one choice of how long a rotated key keeps working.
type Overlap struct{ Value, Label string }

// MerchantDetailPage is GET /admin/merchants/{id}: the merchant's form, its
// API keys and the links to its orders, payment links, refunds, payouts
// and webhook settings.
type MerchantDetailPage struct {
	AdminPage
	ID, Name string
	Flash    string
	Edit     MerchantFormPage
	Keys     []APIKeyRow
	// NewKey is the key just made or rotated, nil on other answers.
	NewKey      *ShownKey
	KeyAction   string
	KeyName     string
	KeyErrors   map[string]string
	Overlaps    []Overlap
	OrdersURL   string
	LinksURL    string
	RefundsURL  string
	PayoutsURL  string
	WebhooksURL string
}

// brandStyle is the page's brand colours: a <style> carrying the request's
// nonce (the CSP allows no other inline style). Only colours of exactly
// #rrggbb are written, so nothing else reaches the style sheet.
func brandStyle(p Page) templ.Component {
	return templ.ComponentFunc(func(_ context.Context, w io.Writer) error {
		c, t := p.Brand.Color, p.Brand.TextColor
		if !hexColor(c) || !hexColor(t) {
			return nil
		}
		_, err := io.WriteString(w, `<style nonce="`+html.EscapeString(p.Nonce)+`">`+
			`.brand-bar{background:`+c+`;color:`+t+`;border-color:`+c+`}`+
			`.customer .btn-primary,.customer .btn-primary:hover{background:`+c+`;border-color:`+t+`;color:`+t+`}`+
			`</style>`)
		return err
	})
}

// hexColor reports whether s is # and six hex digits.
func hexColor(s string) bool {
	if len(s) != 7 || s[0] != '#' {
		return false
	}
	for _, r := range s[1:] {
		if !('0' <= r && r <= '9' || 'a' <= r && r <= 'f' || 'A' <= r && r <= 'F') {
			return false
		}
	}
	return true
}

// telDigits is a phone number as a tel: URL takes it: digits and a
// leading +.
func telDigits(phone string) string {
	var b strings.Builder
	for i, r := range phone {
		if '0' <= r && r <= '9' || r == '+' && i == 0 {
			b.WriteRune(r)
		}
	}
	return b.String()
}

// supportLead opens the support line.
func supportLead(ctx context.Context, name string) string {
	if name == "" {
		return t(ctx, "support_lead_shop") + " "
	}
	return tf(ctx, "support_lead", "Merchant", name) + " "
}
