package templates

// AccountPage is the admin's own account: password change, two-factor
// login and the admin's live sessions.
type AccountPage struct {
	AdminPage
	Flash string
	// FieldErrors marks the fields of the form that was sent back: the
	// password form (current_password, current_code with two-factor on,
	// new_password, confirm_password) or
	// the two-factor switch-off form (disable_password, disable_code).
	FieldErrors map[string]string
	// TOTPOn says two-factor login is on, since TOTPSince (Nairobi time).
	TOTPOn    bool
	TOTPSince string
	// TOTPAvailable is false when the server has no key to keep secrets
	// with: set-up is not offered.
	TOTPAvailable bool
	Sessions      []SessionRow
}

// SessionRow is one live session of the admin.
type SessionRow struct {
	ID        string
	Browser   string
	IP        string
	CreatedAt string
	LastSeen  string
	// Current marks the session of the browser viewing the page.
	Current      bool
	RevokeAction string
}

// TOTPSetupPage shows a new two-factor secret (as a QR code and as text)
// and asks for a code that proves the app has it.
type TOTPSetupPage struct {
	AdminPage
	// QRSVG is the QR code of the otpauth URL, an SVG document we made
	// (payments.QRSVGLabelled), shown as is.
	QRSVG string
	// Secret is the secret in groups of four, for typing into the app.
	Secret      string
	FieldErrors map[string]string
}

// TOTPLoginPage is the second step of a login with two-factor on.
type TOTPLoginPage struct {
	Page
	Error       string
	FieldErrors map[string]string
}
