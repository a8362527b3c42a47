package main

import (
	"reflect"
	"strings"
	"testing"
)

// TestConfigDefaultsAreTheDocumentedOnes: with nothing set (the `make run`
// start), and with every variable blank, the configuration is design.md's
// defaults in test mode.
func TestConfigDefaultsAreTheDocumentedOnes(t *testing.T) {
	want := config{
		Addr: ":8080", PublicURL: "http://localhost:8080", DB: "checkout.db",
		Sandbox: true, SandboxExplicit: false, MerchantName: "Demo Shop",
		PesapalURL:          "https://pay.pesapal.com/v3",
		PokeaPayCheckoutURL: "https://pay.pokeapay.com/", PokeaPayCoreURL: "https://core.pokeapay.com", PokeaPayLive: true,
		PokeaPayAPIURL: "https://saf.pokeapay.com/api/v1", PochipayURL: "https://app.pochipay.com/api/v1",
		STKProvider: "pokeapay", WebhookAllowPrivate: true, MailFrom: "receipts@localhost",
	}
	blank := map[string]string{}
	for _, e := range envVars {
		if e.read != verbatim {
			blank[e.name] = "  "
		}
	}
	for name, env := range map[string]map[string]string{"unset": {}, "blank": blank} {
		t.Run(name, func(t *testing.T) {
			c, err := loadConfig(func(k string) string { return env[k] })
			if err != nil {
				t.Fatalf("refused: %v", err)
			}
			if !reflect.DeepEqual(*c, want) {
				t.Fatalf("config:\n got %+v\nwant %+v", *c, want)
			}
		})
	}
}

// TestConfigReadsTrustedProxies: CHECKOUT_TRUSTED_PROXIES is a list of
// CIDRs; a bare address is its own /32 or /128.
func TestConfigReadsTrustedProxies(t *testing.T) {
	env := map[string]string{"CHECKOUT_TRUSTED_PROXIES": " 10.0.0.0/8,192.0.2.7 , 2001:db8::/32,2001:db8::1"}
	c, err := loadConfig(func(k string) string { return env[k] })
	if err != nil {
		t.Fatalf("refused: %v", err)
	}
	want := []string{"10.0.0.0/8", "192.0.2.7/32", "2001:db8::/32", "2001:db8::1/128"}
	if !reflect.DeepEqual(c.TrustedProxies, want) {
		t.Fatalf("trusted proxies %q, want %q", c.TrustedProxies, want)
	}
}

// TestConfigReadsEachVariableOnce: the table names every variable once, so
// no value is read, checked or kept twice.
func TestConfigReadsEachVariableOnce(t *testing.T) {
	seen := map[string]bool{}
	for _, e := range envVars {
		if seen[e.name] {
			t.Errorf("%s is in the table twice", e.name)
		}
		seen[e.name] = true
	}
	// Every credential that makes a start live is read, but the payout
	// ones, which no part of the app uses yet.
	for _, name := range credentialVars {
		if !seen[name] && name != "POKEAPAY_B2C_CUSTOMER_CODE" && name != "POKEAPAY_B2C_ACCOUNT_NO" && name != "POKEAPAY_B2C_PRIVATE_KEY_FILE" {
			t.Errorf("credential %s is not in the table", name)
		}
	}
}

// TestConfigReadsMetricsToken: CHECKOUT_METRICS_TOKEN is kept as given
// (around spaces trimmed); a short one is refused on one line naming it.
func TestConfigReadsMetricsToken(t *testing.T) {
	const token = "metrics-token-0123456789abcdef"
	c, err := loadConfig(func(k string) string { return map[string]string{"CHECKOUT_METRICS_TOKEN": " " + token + " "}[k] })
	if err != nil || c.MetricsToken != token {
		t.Fatalf("token %q, err %v; want %q", c.MetricsToken, err, token)
	}
	_, err = loadConfig(func(k string) string { return map[string]string{"CHECKOUT_METRICS_TOKEN": "short"}[k] })
	if err == nil || !strings.HasPrefix(err.Error(), "CHECKOUT_METRICS_TOKEN: ") || strings.Contains(err.Error(), "\n") {
		t.Fatalf("short token: err %v, want one line naming CHECKOUT_METRICS_TOKEN", err)
	}
}

// TestDatabaseNameInMessagesHidesThePassword: CHECKOUT_DB may be a
// PostgreSQL URL with a password; messages that name the database show it
// without.
func TestDatabaseNameInMessagesHidesThePassword(t *testing.T) {
	for dsn, want := range map[string]string{
		"checkout.db": "checkout.db",
		"postgres://shop:s3cret-pw@db.internal:5432/checkout?sslmode=require": "postgres://shop:xxxxx@db.internal:5432/checkout?sslmode=require",
	} {
		if got := dbName(dsn); got != want {
			t.Errorf("dbName(%q) = %q, want %q", dsn, got, want)
		}
	}
}
