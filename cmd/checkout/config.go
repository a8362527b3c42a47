package main

import (
	"crypto/rsa"
	"errors"
	"fmt"
	"net"
	"net/mail"
	"net/url"
	"os"
	"strconv"
	"strings"

	"checkout/gateway/pokeapay"
	"checkout/gateway/smtpmail"
	"checkout/payments"
	"checkout/store"
	"checkout/web"
)

// config is the app's configuration, read from the environment
// (design.md, "Configuration") and checked before anything starts.
type config struct {
	Addr          string
	PublicURL     string
	DB            string
	Secret        string // "" until loadSecret
	Sandbox       bool
	AdminEmail    string
	AdminPassword string
	APIKey        string
	// SandboxExplicit is true when CHECKOUT_SANDBOX chose the mode, false
	// when it was inferred.
	SandboxExplicit bool
	// MerchantName is the default merchant's name, shown to customers.
	MerchantName string
	// MerchantNameSet is true when CHECKOUT_MERCHANT_NAME gave it: only
	// then does a start rename a merchant the admin may have renamed.
	MerchantNameSet bool

	PesapalURL            string
	PesapalConsumerKey    string
	PesapalConsumerSecret string

	PokeaPayCheckoutURL string
	PokeaPayCoreURL     string
	PokeaPayOutletCode  string
	PokeaPayHashKey     string
	PokeaPayLive        bool

	PokeaPayAPIURL   string
	PokeaPayEmail    string
	PokeaPayPassword string
	PochipayURL      string
	PochipayEmail    string
	PochipayPassword string
	// STKProvider is "pokeapay", "pochipay", or "" when no STK backend is
	// configured.
	STKProvider string

	// PokeaPay B2C remittance (payouts): the base URL, source.customer_code,
	// source.account_no, and the signing key read from the PEM file
	// PokeaPayB2CKeyFile names (nil when B2C is not configured). The
	// bearer token is the PokeaPay API login's (PokeaPayEmail).
	PokeaPayB2CURL          string
	PokeaPayB2CCustomerCode string
	PokeaPayB2CAccountNo    string
	PokeaPayB2CKeyFile      string
	PokeaPayB2CKey          *rsa.PrivateKey
	// PayoutProvider sends refunds of M-Pesa payments and payouts to
	// phones: "pokeapay", "pochipay", or "" when none is configured.
	PayoutProvider string
	// ApprovalLimit is in cents (CHECKOUT_APPROVAL_LIMIT is in KES): a
	// refund or payout above it waits for a second admin.
	ApprovalLimit int64

	// WebhookURL and WebhookSecret are the default merchant's webhook
	// endpoint and whsec_ secret ("" when not set; a secret is generated
	// when only the URL is given).
	WebhookURL    string
	WebhookSecret string
	// WebhookAllowPrivate lets webhook URLs reach loopback and private
	// addresses.
	WebhookAllowPrivate bool
	// TrustedProxies are the CIDRs whose X-Forwarded-For is believed
	// (CHECKOUT_TRUSTED_PROXIES); none when unset.
	TrustedProxies []string
	// MetricsToken is the bearer token GET /metrics requires
	// (CHECKOUT_METRICS_TOKEN); "" leaves /metrics open.
	MetricsToken string
	// SMTP is the server receipts are sent through (CHECKOUT_SMTP_URL);
	// nil when unset (then sandbox mode puts them in its inbox, and live
	// mode sends none).
	SMTP *smtpmail.Config
	// MailFrom is the receipts' sender (CHECKOUT_MAIL_FROM), by default
	// receipts@<host of the public URL>.
	MailFrom string
}

// configError names the variable at fault; main prints it as one line.
type configError struct{ name, msg string }

func (e *configError) Error() string { return e.name + ": " + e.msg }

func bad(name, format string, args ...any) error {
	return &configError{name: name, msg: fmt.Sprintf(format, args...)}
}

// envVar is one variable of the environment: its name, its default, how
// its value is read, where it is kept and how it is checked.
type envVar struct {
	name string
	def  string // used when the variable is unset or blank (read as trimmed)
	read reading
	// field is where the value is kept (nil when check keeps it, parsed).
	field func(*config) *string
	// check parses and checks the value once it is kept. Variables are
	// checked in table order, so the first bad one stops the start, and a
	// rule over several variables (set together, required with) is checked
	// at the last of them, where the earlier ones are in c. A plain error is
	// reported under name; a *configError, naming another variable, as it
	// is. getenv is the environment, for the mode, which looks at every
	// credential.
	check func(c *config, v string, getenv func(string) string) error
}

// reading is how a variable's value is taken from the environment.
type reading int

const (
	trimmed   reading = iota // surrounding spaces removed
	verbatim                 // as given, for passwords and keys; no default
	baseURL                  // trimmed, without trailing slashes
	lowerCase                // trimmed, in lower case
)

func (r reading) value(getenv func(string) string, name, def string) string {
	if r == verbatim {
		return getenv(name)
	}
	v := strings.TrimSpace(getenv(name))
	if v == "" {
		v = def
	}
	switch r {
	case baseURL:
		return strings.TrimRight(v, "/")
	case lowerCase:
		return strings.ToLower(v)
	}
	return v
}

// envVars are the variables in the order they are checked (design.md,
// "Configuration"). The mode comes right after the addresses: a credential
// in test mode, or a public deployment (public URL or webhook URL) with
// none, is refused before any detail of a provider.
var envVars = []envVar{
	{name: "CHECKOUT_ADDR", def: ":8080", field: func(c *config) *string { return &c.Addr },
		check: func(c *config, v string, _ func(string) string) error {
			if _, port, err := net.SplitHostPort(v); err != nil || port == "" {
				return fmt.Errorf("%q is not a listen address such as :8080 or 127.0.0.1:8080", v)
			}
			return nil
		}},
	{name: "CHECKOUT_PUBLIC_URL", def: "http://localhost:8080", read: baseURL, field: func(c *config) *string { return &c.PublicURL },
		check: func(c *config, v string, _ func(string) string) error {
			if err := checkBaseURL(v); err != nil {
				return err
			}
			if u, _ := url.Parse(v); u.Path != "" {
				return fmt.Errorf("%q must not have a path: the app is served at the root of its host", v)
			}
			return nil
		}},
	{name: "CHECKOUT_SANDBOX",
		check: func(c *config, _ string, getenv func(string) string) (err error) {
			c.Sandbox, c.SandboxExplicit, err = testMode(getenv, c.PublicURL)
			return err
		}},
	{name: "CHECKOUT_DB", def: "checkout.db", field: func(c *config) *string { return &c.DB },
		check: func(c *config, v string, _ func(string) string) error {
			if store.IsPostgres(v) {
				if u, err := url.Parse(v); err != nil || u.Host == "" {
					return errors.New("a PostgreSQL URL must look like postgres://user:password@host:5432/database")
				}
				return nil
			}
			if strings.ContainsAny(v, "?#%") {
				return fmt.Errorf("%q: a SQLite path must not contain ?, # or %%", v)
			}
			return nil
		}},
	{name: "CHECKOUT_SECRET", read: verbatim, field: func(c *config) *string { return &c.Secret },
		check: func(c *config, v string, _ func(string) string) error {
			if v != "" && len(v) < 32 {
				return fmt.Errorf("must be at least 32 bytes (got %d); generate one with: openssl rand -hex 32", len(v))
			}
			// Several instances share a PostgreSQL database, and every one
			// must sign and read the others' session cookies: a secret
			// generated by one and kept beside a file would not be shared.
			if v == "" && store.IsPostgres(c.DB) {
				return errors.New("is required with a PostgreSQL CHECKOUT_DB (every instance must use the same one); generate one with: openssl rand -hex 32")
			}
			return nil
		}},
	{name: "CHECKOUT_ADMIN_PASSWORD", read: verbatim, field: func(c *config) *string { return &c.AdminPassword }},
	{name: "CHECKOUT_ADMIN_EMAIL", read: lowerCase, field: func(c *config) *string { return &c.AdminEmail },
		check: func(c *config, v string, _ func(string) string) error {
			if err := together("CHECKOUT_ADMIN_EMAIL", v, "CHECKOUT_ADMIN_PASSWORD", c.AdminPassword); err != nil {
				return err
			}
			if v == "" {
				return nil
			}
			if a, err := mail.ParseAddress(v); err != nil || a.Address != v {
				return fmt.Errorf("%q is not an email address", v)
			}
			if len(c.AdminPassword) < 12 {
				return bad("CHECKOUT_ADMIN_PASSWORD", "must be at least 12 characters")
			}
			return nil
		}},
	{name: "CHECKOUT_TRUSTED_PROXIES",
		check: func(c *config, v string, _ func(string) string) (err error) {
			c.TrustedProxies, err = web.ParseTrustedProxies(v)
			return err
		}},
	{name: "CHECKOUT_METRICS_TOKEN", field: func(c *config) *string { return &c.MetricsToken },
		check: func(c *config, v string, _ func(string) string) error {
			if v != "" && (len(v) < 24 || strings.ContainsAny(v, " \t\r\n")) {
				return errors.New("must be at least 24 characters without spaces; generate one with: openssl rand -hex 24")
			}
			return nil
		}},
	{name: "CHECKOUT_API_KEY", field: func(c *config) *string { return &c.APIKey },
		check: func(c *config, v string, _ func(string) string) error {
			if v != "" && (len(v) < 24 || strings.ContainsAny(v, " \t\r\n")) {
				return errors.New("must be at least 24 characters without spaces")
			}
			return nil
		}},

	{name: "PESAPAL_CONSUMER_KEY", field: func(c *config) *string { return &c.PesapalConsumerKey }},
	{name: "PESAPAL_CONSUMER_SECRET", field: func(c *config) *string { return &c.PesapalConsumerSecret },
		check: func(c *config, v string, _ func(string) string) error {
			return together("PESAPAL_CONSUMER_KEY", c.PesapalConsumerKey, "PESAPAL_CONSUMER_SECRET", v)
		}},
	{name: "PESAPAL_URL", def: "https://pay.pesapal.com/v3", read: baseURL, field: func(c *config) *string { return &c.PesapalURL },
		check: checkURL},

	{name: "POKEAPAY_OUTLET_CODE", field: func(c *config) *string { return &c.PokeaPayOutletCode }},
	{name: "POKEAPAY_HASH_KEY", read: verbatim, field: func(c *config) *string { return &c.PokeaPayHashKey },
		check: func(c *config, v string, _ func(string) string) error {
			if err := together("POKEAPAY_OUTLET_CODE", c.PokeaPayOutletCode, "POKEAPAY_HASH_KEY", v); err != nil {
				return err
			}
			if o := c.PokeaPayOutletCode; o != "" && o != strings.ToUpper(o) {
				return bad("POKEAPAY_OUTLET_CODE", "%q must be upper case, as PokeaPay issues it", o)
			}
			return nil
		}},
	// The checkout URL keeps its trailing slash: it is a page, not a base.
	{name: "POKEAPAY_CHECKOUT_URL", def: "https://pay.pokeapay.com/", field: func(c *config) *string { return &c.PokeaPayCheckoutURL },
		check: checkURL},
	{name: "POKEAPAY_CORE_URL", def: "https://core.pokeapay.com", read: baseURL, field: func(c *config) *string { return &c.PokeaPayCoreURL },
		check: checkURL},
	{name: "POKEAPAY_LIVE", def: "1",
		check: func(c *config, v string, _ func(string) string) error {
			switch v {
			case "1":
				c.PokeaPayLive = true
			case "0":
				c.PokeaPayLive = false
			default:
				return fmt.Errorf("%q must be 1 (live) or 0 (demo)", v)
			}
			return nil
		}},
	{name: "POKEAPAY_EMAIL", field: func(c *config) *string { return &c.PokeaPayEmail }},
	{name: "POKEAPAY_PASSWORD", read: verbatim, field: func(c *config) *string { return &c.PokeaPayPassword },
		check: func(c *config, v string, _ func(string) string) error {
			if err := together("POKEAPAY_EMAIL", c.PokeaPayEmail, "POKEAPAY_PASSWORD", v); err != nil {
				return err
			}
			if c.PokeaPayEmail != "" && c.PokeaPayOutletCode == "" {
				return bad("POKEAPAY_OUTLET_CODE", "is required for PokeaPay's STK push (with POKEAPAY_EMAIL)")
			}
			return nil
		}},
	{name: "POKEAPAY_API_URL", def: "https://saf.pokeapay.com/api/v1", read: baseURL, field: func(c *config) *string { return &c.PokeaPayAPIURL },
		check: checkURL},

	{name: "POCHIPAY_EMAIL", field: func(c *config) *string { return &c.PochipayEmail }},
	{name: "POCHIPAY_PASSWORD", read: verbatim, field: func(c *config) *string { return &c.PochipayPassword },
		check: func(c *config, v string, _ func(string) string) error {
			return together("POCHIPAY_EMAIL", c.PochipayEmail, "POCHIPAY_PASSWORD", v)
		}},
	{name: "POCHIPAY_URL", def: "https://app.pochipay.com/api/v1", read: baseURL, field: func(c *config) *string { return &c.PochipayURL },
		check: checkURL},

	{name: "CHECKOUT_STK_PROVIDER", check: stkProvider},

	// Payouts: read here, checked by checkPayouts once the mode and the
	// payment providers are known (payout credentials alone take no
	// payment, and that is the first thing to say).
	{name: "POKEAPAY_B2C_URL", read: baseURL, field: func(c *config) *string { return &c.PokeaPayB2CURL }},
	{name: "POKEAPAY_B2C_CUSTOMER_CODE", field: func(c *config) *string { return &c.PokeaPayB2CCustomerCode }},
	{name: "POKEAPAY_B2C_ACCOUNT_NO", field: func(c *config) *string { return &c.PokeaPayB2CAccountNo }},
	{name: "POKEAPAY_B2C_PRIVATE_KEY_FILE", field: func(c *config) *string { return &c.PokeaPayB2CKeyFile }},
	{name: "CHECKOUT_PAYOUT_PROVIDER", read: lowerCase, field: func(c *config) *string { return &c.PayoutProvider }},
	{name: "CHECKOUT_APPROVAL_LIMIT", def: "10000",
		check: func(c *config, v string, _ func(string) string) error {
			n, err := strconv.ParseInt(v, 10, 64)
			if err != nil || n <= 0 || n > maxApprovalLimit || strings.HasPrefix(v, "+") {
				return fmt.Errorf("%q must be a whole number of KES above 0 (at most %d), such as 10000", v, maxApprovalLimit)
			}
			c.ApprovalLimit = n * 100
			return nil
		}},

	{name: "CHECKOUT_WEBHOOK_ALLOW_PRIVATE",
		check: func(c *config, v string, _ func(string) string) error {
			switch v {
			case "":
				c.WebhookAllowPrivate = c.Sandbox
			case "1", "true":
				c.WebhookAllowPrivate = true
			case "0", "false":
				c.WebhookAllowPrivate = false
			default:
				return fmt.Errorf("%q must be 1 or 0", v)
			}
			return nil
		}},
	{name: "CHECKOUT_WEBHOOK_URL", field: func(c *config) *string { return &c.WebhookURL },
		check: func(c *config, v string, _ func(string) string) error {
			if v == "" {
				return nil
			}
			if err := payments.CheckWebhookURL(v, c.WebhookAllowPrivate); err != nil {
				return fmt.Errorf("%q: %v", v, err)
			}
			return nil
		}},
	{name: "CHECKOUT_WEBHOOK_SECRET", field: func(c *config) *string { return &c.WebhookSecret },
		check: func(c *config, v string, _ func(string) string) error {
			if v == "" {
				return nil
			}
			if c.WebhookURL == "" {
				return errors.New("is set without CHECKOUT_WEBHOOK_URL")
			}
			// The value itself is never repeated in the message: it is a secret.
			if _, err := payments.ParseWebhookSecret(v); err != nil {
				return err
			}
			return nil
		}},

	// The value is never repeated in a message: it holds the password.
	{name: "CHECKOUT_SMTP_URL",
		check: func(c *config, v string, _ func(string) string) error {
			if v == "" {
				return nil
			}
			sc, err := smtpmail.ParseURL(v)
			if err != nil {
				return err
			}
			c.SMTP = &sc
			return nil
		}},
	{name: "CHECKOUT_MAIL_FROM",
		check: func(c *config, v string, _ func(string) string) error {
			if v == "" {
				c.MailFrom = payments.DefaultMailFrom(c.PublicURL)
				return nil
			}
			a, err := mail.ParseAddress(v)
			if err != nil || !strings.Contains(a.Address, "@") || strings.ContainsAny(v, "\r\n") {
				return fmt.Errorf("%q is not an email address (receipts@shop.example, or Shop <receipts@shop.example>)", v)
			}
			c.MailFrom = v
			return nil
		}},

	{name: "CHECKOUT_MERCHANT_NAME", field: func(c *config) *string { return &c.MerchantName },
		check: func(c *config, v string, _ func(string) string) error {
			if n := len([]rune(v)); n > 80 {
				return fmt.Errorf("must be at most 80 characters (got %d)", n)
			}
			c.MerchantNameSet = v != ""
			if v == "" {
				// The default depends on the mode.
				c.MerchantName = "Demo Shop"
				if !c.Sandbox {
					u, _ := url.Parse(c.PublicURL) // checked above
					c.MerchantName = u.Hostname()
				}
			}
			return nil
		}},
}

// loadConfig reads the environment through getenv: every variable of
// envVars in turn, then the rules of live mode.
func loadConfig(getenv func(string) string) (*config, error) {
	c := &config{}
	for _, e := range envVars {
		v := e.read.value(getenv, e.name, e.def)
		if e.field != nil {
			*e.field(c) = v
		}
		if e.check == nil {
			continue
		}
		if err := e.check(c, v, getenv); err != nil {
			var ce *configError
			if errors.As(err, &ce) {
				return nil, ce
			}
			return nil, &configError{name: e.name, msg: err.Error()}
		}
	}
	if !c.Sandbox && c.PesapalConsumerKey == "" && c.PokeaPayOutletCode == "" && c.PochipayEmail == "" {
		// Payout credentials alone take no payment.
		return nil, bad("CHECKOUT_SANDBOX", "live mode needs a payment provider; set %s", providerVars)
	}
	if !c.Sandbox && c.AdminEmail == "" {
		return nil, bad("CHECKOUT_ADMIN_EMAIL", "is required outside sandbox mode (with CHECKOUT_ADMIN_PASSWORD)")
	}
	if err := checkPayouts(c); err != nil {
		return nil, err
	}
	return c, nil
}

// maxApprovalLimit is the largest CHECKOUT_APPROVAL_LIMIT (KES): far above
// any payout, and far from overflowing cents.
const maxApprovalLimit = 1_000_000_000

// checkPayouts checks the payout variables and chooses the payout
// provider: as chosen, else the one configured for payouts (PokeaPay B2C,
// or Pochipay, whose login covers disbursements), else PokeaPay's
// simulator in sandbox mode, else none. PokeaPay B2C needs its three
// values together, its URL (the document's is a placeholder) and the
// PokeaPay API login (its bearer token); its key is read and checked now,
// so that a bad file stops the start rather than the first payout.
func checkPayouts(c *config) error {
	b2c := c.PokeaPayB2CCustomerCode != "" || c.PokeaPayB2CAccountNo != "" || c.PokeaPayB2CKeyFile != ""
	if b2c {
		for _, v := range []struct{ name, value string }{
			{"POKEAPAY_B2C_CUSTOMER_CODE", c.PokeaPayB2CCustomerCode},
			{"POKEAPAY_B2C_ACCOUNT_NO", c.PokeaPayB2CAccountNo},
			{"POKEAPAY_B2C_PRIVATE_KEY_FILE", c.PokeaPayB2CKeyFile},
		} {
			if v.value == "" {
				return bad(v.name, "is required with the other PokeaPay B2C variables: set POKEAPAY_B2C_CUSTOMER_CODE, POKEAPAY_B2C_ACCOUNT_NO and POKEAPAY_B2C_PRIVATE_KEY_FILE together")
			}
		}
		if c.PokeaPayB2CURL == "" {
			return bad("POKEAPAY_B2C_URL", "is required for PokeaPay B2C: the base URL PokeaPay gave you (requests go to {url}/remittance/momo/mpesa)")
		}
		if c.PokeaPayEmail == "" {
			return bad("POKEAPAY_EMAIL", "is required for PokeaPay B2C (with POKEAPAY_PASSWORD): its bearer token is the PokeaPay API login's")
		}
		key, err := pokeapay.LoadPrivateKey(c.PokeaPayB2CKeyFile)
		if err != nil {
			return bad("POKEAPAY_B2C_PRIVATE_KEY_FILE", "%v", err)
		}
		c.PokeaPayB2CKey = key
	}
	if c.PokeaPayB2CURL != "" {
		if err := checkBaseURL(c.PokeaPayB2CURL); err != nil {
			return bad("POKEAPAY_B2C_URL", "%v", err)
		}
		if !b2c && !c.Sandbox {
			return bad("POKEAPAY_B2C_URL", "is set without POKEAPAY_B2C_CUSTOMER_CODE, POKEAPAY_B2C_ACCOUNT_NO and POKEAPAY_B2C_PRIVATE_KEY_FILE")
		}
	}
	pochi := c.PochipayEmail != ""
	switch c.PayoutProvider {
	case "pokeapay":
		if !b2c && !c.Sandbox {
			return bad("CHECKOUT_PAYOUT_PROVIDER", "is pokeapay but POKEAPAY_B2C_CUSTOMER_CODE, POKEAPAY_B2C_ACCOUNT_NO and POKEAPAY_B2C_PRIVATE_KEY_FILE are not set")
		}
	case "pochipay":
		if !pochi && !c.Sandbox {
			return bad("CHECKOUT_PAYOUT_PROVIDER", "is pochipay but POCHIPAY_EMAIL and POCHIPAY_PASSWORD are not set")
		}
	case "":
		switch {
		case b2c && pochi:
			return bad("CHECKOUT_PAYOUT_PROVIDER", "both PokeaPay B2C and Pochipay can send payouts: choose pokeapay or pochipay")
		case b2c:
			c.PayoutProvider = "pokeapay"
		case pochi:
			c.PayoutProvider = "pochipay"
		case c.Sandbox:
			c.PayoutProvider = "pokeapay"
		}
	default:
		return bad("CHECKOUT_PAYOUT_PROVIDER", "%q must be pokeapay or pochipay", c.PayoutProvider)
	}
	return nil
}

// together refuses one of a pair of variables set without the other,
// naming the second.
func together(first, a, second, b string) error {
	if (a == "") != (b == "") {
		return bad(second, "set %s and %s together", first, second)
	}
	return nil
}

// checkURL is the check of a provider's base URL.
func checkURL(_ *config, v string, _ func(string) string) error { return checkBaseURL(v) }

// stkProvider sets the STK backend: as chosen, else the one with
// credentials, else (in sandbox mode) PokeaPay's simulator.
func stkProvider(c *config, v string, _ func(string) string) error {
	pokeaSTK, pochi := c.PokeaPayEmail != "", c.PochipayEmail != ""
	switch v {
	case "pokeapay":
		if !pokeaSTK && !c.Sandbox {
			return errors.New("is pokeapay but POKEAPAY_EMAIL and POKEAPAY_PASSWORD are not set")
		}
		c.STKProvider = v
	case "pochipay":
		if !pochi && !c.Sandbox {
			return errors.New("is pochipay but POCHIPAY_EMAIL and POCHIPAY_PASSWORD are not set")
		}
		c.STKProvider = v
	case "":
		switch {
		case pokeaSTK && pochi:
			return errors.New("both PokeaPay and Pochipay have credentials: choose pokeapay or pochipay")
		case pokeaSTK:
			c.STKProvider = "pokeapay"
		case pochi:
			c.STKProvider = "pochipay"
		case c.Sandbox:
			c.STKProvider = "pokeapay"
		}
	default:
		return fmt.Errorf("%q must be pokeapay or pochipay", v)
	}
	return nil
}

func checkBaseURL(v string) error {
	u, err := url.Parse(v)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return fmt.Errorf("%q must be an absolute http or https URL", v)
	}
	if u.User != nil || u.RawQuery != "" || u.Fragment != "" {
		return fmt.Errorf("%q must not contain credentials, a query or a fragment", v)
	}
	return nil
}

// dbName is CHECKOUT_DB as messages may show it: a PostgreSQL URL without
// its password.
func dbName(dsn string) string {
	if !store.IsPostgres(dsn) {
		return dsn
	}
	u, err := url.Parse(dsn)
	if err != nil {
		return "the PostgreSQL database"
	}
	return u.Redacted()
}

// loadSecret returns CHECKOUT_SECRET, or the secret stored beside the
// database, generating and storing it the first time.
func loadSecret(c *config, generate func() string) (secret string, created bool, err error) {
	if c.Secret != "" {
		return c.Secret, false, nil
	}
	path := c.DB + ".secret"
	if b, err := os.ReadFile(path); err == nil {
		s := strings.TrimSpace(string(b))
		if len(s) < 32 {
			return "", false, bad("CHECKOUT_SECRET", "the stored secret in %s is too short; delete the file or set CHECKOUT_SECRET", path)
		}
		return s, false, nil
	} else if !os.IsNotExist(err) {
		return "", false, fmt.Errorf("read %s: %w", path, err)
	}
	s := generate()
	if err := os.WriteFile(path, []byte(s+"\n"), 0o600); err != nil {
		return "", false, fmt.Errorf("store the generated secret in %s: %w", path, err)
	}
	return s, true, nil
}
