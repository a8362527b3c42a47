package main

import (
	"fmt"
	"net"
	"net/mail"
	"net/url"
	"os"
	"strings"

	"checkout/payments"
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

	// WebhookURL and WebhookSecret are the default merchant's webhook
	// endpoint and whsec_ secret ("" when not set; a secret is generated
	// when only the URL is given).
	WebhookURL    string
	WebhookSecret string
	// WebhookAllowPrivate lets webhook URLs reach loopback and private
	// addresses.
	WebhookAllowPrivate bool
}

// configError names the variable at fault; main prints it as one line.
type configError struct{ name, msg string }

func (e *configError) Error() string { return e.name + ": " + e.msg }

func bad(name, format string, args ...any) error {
	return &configError{name: name, msg: fmt.Sprintf(format, args...)}
}

// loadConfig reads the environment through getenv.
func loadConfig(getenv func(string) string) (*config, error) {
	get := func(name, def string) string {
		if v := strings.TrimSpace(getenv(name)); v != "" {
			return v
		}
		return def
	}
	c := &config{
		Addr:                  get("CHECKOUT_ADDR", ":8080"),
		PublicURL:             strings.TrimRight(get("CHECKOUT_PUBLIC_URL", "http://localhost:8080"), "/"),
		DB:                    get("CHECKOUT_DB", "checkout.db"),
		Secret:                getenv("CHECKOUT_SECRET"),
		AdminEmail:            strings.ToLower(get("CHECKOUT_ADMIN_EMAIL", "")),
		AdminPassword:         getenv("CHECKOUT_ADMIN_PASSWORD"),
		APIKey:                get("CHECKOUT_API_KEY", ""),
		MerchantName:          get("CHECKOUT_MERCHANT_NAME", ""),
		PesapalURL:            strings.TrimRight(get("PESAPAL_URL", "https://pay.pesapal.com/v3"), "/"),
		PesapalConsumerKey:    get("PESAPAL_CONSUMER_KEY", ""),
		PesapalConsumerSecret: get("PESAPAL_CONSUMER_SECRET", ""),
		PokeaPayCheckoutURL:   get("POKEAPAY_CHECKOUT_URL", "https://pay.pokeapay.com/"),
		PokeaPayCoreURL:       strings.TrimRight(get("POKEAPAY_CORE_URL", "https://core.pokeapay.com"), "/"),
		PokeaPayOutletCode:    get("POKEAPAY_OUTLET_CODE", ""),
		PokeaPayHashKey:       getenv("POKEAPAY_HASH_KEY"),
		PokeaPayAPIURL:        strings.TrimRight(get("POKEAPAY_API_URL", "https://saf.pokeapay.com/api/v1"), "/"),
		PokeaPayEmail:         get("POKEAPAY_EMAIL", ""),
		PokeaPayPassword:      getenv("POKEAPAY_PASSWORD"),
		PochipayURL:           strings.TrimRight(get("POCHIPAY_URL", "https://app.pochipay.com/api/v1"), "/"),
		PochipayEmail:         get("POCHIPAY_EMAIL", ""),
		PochipayPassword:      getenv("POCHIPAY_PASSWORD"),
	}

	if _, port, err := net.SplitHostPort(c.Addr); err != nil || port == "" {
		return nil, bad("CHECKOUT_ADDR", "%q is not a listen address such as :8080 or 127.0.0.1:8080", c.Addr)
	}
	if err := checkBaseURL(c.PublicURL); err != nil {
		return nil, bad("CHECKOUT_PUBLIC_URL", "%v", err)
	}
	if u, _ := url.Parse(c.PublicURL); u.Path != "" {
		return nil, bad("CHECKOUT_PUBLIC_URL", "%q must not have a path: the app is served at the root of its host", c.PublicURL)
	}
	// The mode comes first: a credential in test mode, or a public
	// deployment (public URL or webhook URL) with none, is refused before
	// any detail of a provider.
	var err error
	c.Sandbox, c.SandboxExplicit, err = testMode(getenv, c.PublicURL)
	if err != nil {
		return nil, err
	}
	if strings.ContainsAny(c.DB, "?#%") {
		return nil, bad("CHECKOUT_DB", "%q: a SQLite path must not contain ?, # or %%", c.DB)
	}
	if strings.HasPrefix(c.DB, "postgres://") || strings.HasPrefix(c.DB, "postgresql://") {
		return nil, bad("CHECKOUT_DB", "PostgreSQL is not supported yet; give a SQLite file path")
	}
	if c.Secret != "" && len(c.Secret) < 32 {
		return nil, bad("CHECKOUT_SECRET", "must be at least 32 bytes (got %d); generate one with: openssl rand -hex 32", len(c.Secret))
	}
	if (c.AdminEmail == "") != (c.AdminPassword == "") {
		return nil, bad("CHECKOUT_ADMIN_PASSWORD", "set CHECKOUT_ADMIN_EMAIL and CHECKOUT_ADMIN_PASSWORD together")
	}
	if c.AdminEmail != "" {
		if a, err := mail.ParseAddress(c.AdminEmail); err != nil || a.Address != c.AdminEmail {
			return nil, bad("CHECKOUT_ADMIN_EMAIL", "%q is not an email address", c.AdminEmail)
		}
		if len(c.AdminPassword) < 12 {
			return nil, bad("CHECKOUT_ADMIN_PASSWORD", "must be at least 12 characters")
		}
	}
	if c.APIKey != "" && (len(c.APIKey) < 24 || strings.ContainsAny(c.APIKey, " \t\r\n")) {
		return nil, bad("CHECKOUT_API_KEY", "must be at least 24 characters without spaces")
	}
	if (c.PesapalConsumerKey == "") != (c.PesapalConsumerSecret == "") {
		return nil, bad("PESAPAL_CONSUMER_SECRET", "set PESAPAL_CONSUMER_KEY and PESAPAL_CONSUMER_SECRET together")
	}
	if err := checkBaseURL(c.PesapalURL); err != nil {
		return nil, bad("PESAPAL_URL", "%v", err)
	}

	if (c.PokeaPayOutletCode == "") != (c.PokeaPayHashKey == "") {
		return nil, bad("POKEAPAY_HASH_KEY", "set POKEAPAY_OUTLET_CODE and POKEAPAY_HASH_KEY together")
	}
	if c.PokeaPayOutletCode != "" && c.PokeaPayOutletCode != strings.ToUpper(c.PokeaPayOutletCode) {
		return nil, bad("POKEAPAY_OUTLET_CODE", "%q must be upper case, as PokeaPay issues it", c.PokeaPayOutletCode)
	}
	if err := checkBaseURL(c.PokeaPayCheckoutURL); err != nil {
		return nil, bad("POKEAPAY_CHECKOUT_URL", "%v", err)
	}
	if err := checkBaseURL(c.PokeaPayCoreURL); err != nil {
		return nil, bad("POKEAPAY_CORE_URL", "%v", err)
	}
	switch v := strings.TrimSpace(getenv("POKEAPAY_LIVE")); v {
	case "", "1":
		c.PokeaPayLive = true
	case "0":
		c.PokeaPayLive = false
	default:
		return nil, bad("POKEAPAY_LIVE", "%q must be 1 (live) or 0 (demo)", v)
	}

	if (c.PokeaPayEmail == "") != (c.PokeaPayPassword == "") {
		return nil, bad("POKEAPAY_PASSWORD", "set POKEAPAY_EMAIL and POKEAPAY_PASSWORD together")
	}
	if c.PokeaPayEmail != "" && c.PokeaPayOutletCode == "" {
		return nil, bad("POKEAPAY_OUTLET_CODE", "is required for PokeaPay's STK push (with POKEAPAY_EMAIL)")
	}
	if err := checkBaseURL(c.PokeaPayAPIURL); err != nil {
		return nil, bad("POKEAPAY_API_URL", "%v", err)
	}
	if (c.PochipayEmail == "") != (c.PochipayPassword == "") {
		return nil, bad("POCHIPAY_PASSWORD", "set POCHIPAY_EMAIL and POCHIPAY_PASSWORD together")
	}
	if err := checkBaseURL(c.PochipayURL); err != nil {
		return nil, bad("POCHIPAY_URL", "%v", err)
	}

	// The STK backend: as chosen, else the one with credentials, else (in
	// sandbox mode) PokeaPay's simulator.
	pokeaSTK, pochi := c.PokeaPayEmail != "", c.PochipayEmail != ""
	switch v := strings.TrimSpace(getenv("CHECKOUT_STK_PROVIDER")); v {
	case "pokeapay":
		if !pokeaSTK && !c.Sandbox {
			return nil, bad("CHECKOUT_STK_PROVIDER", "is pokeapay but POKEAPAY_EMAIL and POKEAPAY_PASSWORD are not set")
		}
		c.STKProvider = v
	case "pochipay":
		if !pochi && !c.Sandbox {
			return nil, bad("CHECKOUT_STK_PROVIDER", "is pochipay but POCHIPAY_EMAIL and POCHIPAY_PASSWORD are not set")
		}
		c.STKProvider = v
	case "":
		switch {
		case pokeaSTK && pochi:
			return nil, bad("CHECKOUT_STK_PROVIDER", "both PokeaPay and Pochipay have credentials: choose pokeapay or pochipay")
		case pokeaSTK:
			c.STKProvider = "pokeapay"
		case pochi:
			c.STKProvider = "pochipay"
		case c.Sandbox:
			c.STKProvider = "pokeapay"
		}
	default:
		return nil, bad("CHECKOUT_STK_PROVIDER", "%q must be pokeapay or pochipay", v)
	}

	switch v := strings.TrimSpace(getenv("CHECKOUT_WEBHOOK_ALLOW_PRIVATE")); v {
	case "":
		c.WebhookAllowPrivate = c.Sandbox
	case "1", "true":
		c.WebhookAllowPrivate = true
	case "0", "false":
		c.WebhookAllowPrivate = false
	default:
		return nil, bad("CHECKOUT_WEBHOOK_ALLOW_PRIVATE", "%q must be 1 or 0", v)
	}
	c.WebhookURL = get("CHECKOUT_WEBHOOK_URL", "")
	c.WebhookSecret = strings.TrimSpace(getenv("CHECKOUT_WEBHOOK_SECRET"))
	if c.WebhookURL != "" {
		if err := payments.CheckWebhookURL(c.WebhookURL, c.WebhookAllowPrivate); err != nil {
			return nil, bad("CHECKOUT_WEBHOOK_URL", "%q: %v", c.WebhookURL, err)
		}
	}
	if c.WebhookSecret != "" {
		if c.WebhookURL == "" {
			return nil, bad("CHECKOUT_WEBHOOK_SECRET", "is set without CHECKOUT_WEBHOOK_URL")
		}
		// The value itself is never repeated in the message: it is a secret.
		if _, err := payments.ParseWebhookSecret(c.WebhookSecret); err != nil {
			return nil, bad("CHECKOUT_WEBHOOK_SECRET", "%v", err)
		}
	}

	if n := len([]rune(c.MerchantName)); n > 80 {
		return nil, bad("CHECKOUT_MERCHANT_NAME", "must be at most 80 characters (got %d)", n)
	}
	if c.MerchantName == "" {
		c.MerchantName = "Demo Shop"
		if !c.Sandbox {
			u, _ := url.Parse(c.PublicURL) // checked above
			c.MerchantName = u.Hostname()
		}
	}

	if !c.Sandbox && c.PesapalConsumerKey == "" && c.PokeaPayOutletCode == "" && c.PochipayEmail == "" {
		// Payout credentials alone take no payment.
		return nil, bad("CHECKOUT_SANDBOX", "live mode needs a payment provider; set %s", providerVars)
	}
	if !c.Sandbox && c.AdminEmail == "" {
		return nil, bad("CHECKOUT_ADMIN_EMAIL", "is required outside sandbox mode (with CHECKOUT_ADMIN_PASSWORD)")
	}
	return c, nil
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
