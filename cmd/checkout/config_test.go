package main

import (
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"encoding/pem"
	"os"
	"path/filepath"
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
		PayoutProvider: "pokeapay", ApprovalLimit: 1_000_000,
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
	// Every credential that makes a start live is read.
	for _, name := range credentialVars {
		if !seen[name] {
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

// payoutEnv builds a live environment for the payout tests: a public URL,
// an admin, Pesapal (a payment provider), the PokeaPay STK login, and the
// given changes ("" deletes a variable).
func payoutEnv(changes map[string]string) map[string]string {
	env := map[string]string{
		"CHECKOUT_PUBLIC_URL":  "https://pay.example.co.ke",
		"CHECKOUT_ADMIN_EMAIL": "ops@example.co.ke", "CHECKOUT_ADMIN_PASSWORD": "a long admin password",
		"PESAPAL_CONSUMER_KEY": "pesapal-key", "PESAPAL_CONSUMER_SECRET": "pesapal-secret",
		"POKEAPAY_OUTLET_CODE": "OCT00001", "POKEAPAY_HASH_KEY": "pokeapay-hash-key",
		"POKEAPAY_EMAIL": "stk@shop.example", "POKEAPAY_PASSWORD": "pokeapay-password",
	}
	return withEnv(env, changes)
}

// writeB2CKey writes a PKCS #8 PEM RSA key to a new file and returns the
// key and the path.
func writeB2CKey(t *testing.T) (*rsa.PrivateKey, string) {
	t.Helper()
	key, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	der, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(t.TempDir(), "b2c.pem")
	if err := os.WriteFile(path, pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: der}), 0o600); err != nil {
		t.Fatal(err)
	}
	return key, path
}

// TestConfigReadsPokeaPayB2C: the three B2C values, the URL and a key file
// that holds an RSA key make PokeaPay the payout provider, with the key
// loaded at start.
func TestConfigReadsPokeaPayB2C(t *testing.T) {
	key, path := writeB2CKey(t)
	env := payoutEnv(map[string]string{
		"POKEAPAY_B2C_URL": "https://b2c.pokeapay.example/", "POKEAPAY_B2C_CUSTOMER_CODE": "CUST0001",
		"POKEAPAY_B2C_ACCOUNT_NO": "ACC42", "POKEAPAY_B2C_PRIVATE_KEY_FILE": path,
		"CHECKOUT_APPROVAL_LIMIT": " 25000 ",
	})
	c, err := loadConfig(func(k string) string { return env[k] })
	if err != nil {
		t.Fatalf("refused: %v", err)
	}
	if c.PayoutProvider != "pokeapay" || c.PokeaPayB2CURL != "https://b2c.pokeapay.example" ||
		c.PokeaPayB2CCustomerCode != "CUST0001" || c.PokeaPayB2CAccountNo != "ACC42" || c.PokeaPayB2CKeyFile != path {
		t.Errorf("config: provider %q, URL %q, customer %q, account %q, key file %q", c.PayoutProvider,
			c.PokeaPayB2CURL, c.PokeaPayB2CCustomerCode, c.PokeaPayB2CAccountNo, c.PokeaPayB2CKeyFile)
	}
	if c.PokeaPayB2CKey == nil || !c.PokeaPayB2CKey.Equal(key) {
		t.Error("the key was not loaded")
	}
	if c.ApprovalLimit != 2_500_000 {
		t.Errorf("approval limit = %d cents, want 2,500,000", c.ApprovalLimit)
	}
}

// TestConfigChoosesThePayoutProvider: CHECKOUT_PAYOUT_PROVIDER, else the
// one configured for payouts, else PokeaPay's simulator in sandbox mode,
// else none.
func TestConfigChoosesThePayoutProvider(t *testing.T) {
	_, path := writeB2CKey(t)
	b2c := map[string]string{"POKEAPAY_B2C_URL": "https://b2c.pokeapay.example", "POKEAPAY_B2C_CUSTOMER_CODE": "CUST0001",
		"POKEAPAY_B2C_ACCOUNT_NO": "ACC42", "POKEAPAY_B2C_PRIVATE_KEY_FILE": path}
	pochi := map[string]string{"POCHIPAY_EMAIL": "p@shop.example", "POCHIPAY_PASSWORD": "pochipay-password",
		"CHECKOUT_STK_PROVIDER": "pokeapay"}
	both := withEnv(b2c, pochi)
	for _, tc := range []struct {
		name string
		env  map[string]string
		want string
	}{
		{"sandbox", map[string]string{}, "pokeapay"},
		{"sandbox, Pochipay chosen", map[string]string{"CHECKOUT_PAYOUT_PROVIDER": "Pochipay"}, "pochipay"},
		{"live, Pesapal only", payoutEnv(nil), ""},
		{"live, B2C", payoutEnv(b2c), "pokeapay"},
		{"live, Pochipay login", payoutEnv(pochi), "pochipay"},
		{"live, both, Pochipay chosen", payoutEnv(withEnv(both, map[string]string{"CHECKOUT_PAYOUT_PROVIDER": "pochipay"})), "pochipay"},
		{"live, both, PokeaPay chosen", payoutEnv(withEnv(both, map[string]string{"CHECKOUT_PAYOUT_PROVIDER": "pokeapay"})), "pokeapay"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c, err := loadConfig(func(k string) string { return tc.env[k] })
			if err != nil {
				t.Fatalf("refused: %v", err)
			}
			if c.PayoutProvider != tc.want {
				t.Errorf("payout provider %q, want %q", c.PayoutProvider, tc.want)
			}
		})
	}
}

// TestConfigRefusesBadPayoutValues: each bad value stops the start with
// one line naming the variable, and no line repeats a password or the
// key file's bytes.
func TestConfigRefusesBadPayoutValues(t *testing.T) {
	_, keyPath := writeB2CKey(t)
	dir := t.TempDir()
	garbage := filepath.Join(dir, "garbage.pem")
	if err := os.WriteFile(garbage, []byte("MIIEvQIBADANBgkqhkiG9w0BAQEFAASCBKcwggSjAgEAAoIBAQ-not-a-key"), 0o600); err != nil {
		t.Fatal(err)
	}
	b2c := map[string]string{"POKEAPAY_B2C_URL": "https://b2c.pokeapay.example", "POKEAPAY_B2C_CUSTOMER_CODE": "CUST0001",
		"POKEAPAY_B2C_ACCOUNT_NO": "ACC42", "POKEAPAY_B2C_PRIVATE_KEY_FILE": keyPath}
	pochi := map[string]string{"POCHIPAY_EMAIL": "p@shop.example", "POCHIPAY_PASSWORD": "pochipay-password",
		"CHECKOUT_STK_PROVIDER": "pokeapay"}
	for _, tc := range []struct {
		name, badVar string
		env          map[string]string
		mention      string
	}{
		{"customer code alone", "POKEAPAY_B2C_ACCOUNT_NO", map[string]string{"POKEAPAY_B2C_CUSTOMER_CODE": "C1"}, "together"},
		{"no key file", "POKEAPAY_B2C_PRIVATE_KEY_FILE", mergeEnv(b2c, map[string]string{"POKEAPAY_B2C_PRIVATE_KEY_FILE": ""}), "together"},
		{"no URL", "POKEAPAY_B2C_URL", mergeEnv(b2c, map[string]string{"POKEAPAY_B2C_URL": ""}), "is required"},
		{"URL not http", "POKEAPAY_B2C_URL", withEnv(b2c, map[string]string{"POKEAPAY_B2C_URL": "b2c.pokeapay.example"}), "absolute"},
		{"URL alone", "POKEAPAY_B2C_URL", map[string]string{"POKEAPAY_B2C_URL": "https://b2c.pokeapay.example"}, "without"},
		{"no PokeaPay login", "POKEAPAY_EMAIL", mergeEnv(b2c, map[string]string{"POKEAPAY_EMAIL": "", "POKEAPAY_PASSWORD": ""}), "bearer token"},
		{"key file missing", "POKEAPAY_B2C_PRIVATE_KEY_FILE", withEnv(b2c, map[string]string{"POKEAPAY_B2C_PRIVATE_KEY_FILE": filepath.Join(dir, "missing.pem")}), filepath.Join(dir, "missing.pem")},
		{"key file not a key", "POKEAPAY_B2C_PRIVATE_KEY_FILE", withEnv(b2c, map[string]string{"POKEAPAY_B2C_PRIVATE_KEY_FILE": garbage}), garbage},
		{"unknown provider", "CHECKOUT_PAYOUT_PROVIDER", map[string]string{"CHECKOUT_PAYOUT_PROVIDER": "mpesa"}, "pokeapay or pochipay"},
		{"PokeaPay without B2C", "CHECKOUT_PAYOUT_PROVIDER", map[string]string{"CHECKOUT_PAYOUT_PROVIDER": "pokeapay"}, "not set"},
		{"Pochipay without login", "CHECKOUT_PAYOUT_PROVIDER", map[string]string{"CHECKOUT_PAYOUT_PROVIDER": "pochipay"}, "not set"},
		{"both without a choice", "CHECKOUT_PAYOUT_PROVIDER", withEnv(b2c, pochi), "choose"},
		{"limit zero", "CHECKOUT_APPROVAL_LIMIT", map[string]string{"CHECKOUT_APPROVAL_LIMIT": "0"}, "whole number"},
		{"limit negative", "CHECKOUT_APPROVAL_LIMIT", map[string]string{"CHECKOUT_APPROVAL_LIMIT": "-5"}, "whole number"},
		{"limit with cents", "CHECKOUT_APPROVAL_LIMIT", map[string]string{"CHECKOUT_APPROVAL_LIMIT": "10000.50"}, "whole number"},
		{"limit with a comma", "CHECKOUT_APPROVAL_LIMIT", map[string]string{"CHECKOUT_APPROVAL_LIMIT": "10,000"}, "whole number"},
		{"limit with a sign", "CHECKOUT_APPROVAL_LIMIT", map[string]string{"CHECKOUT_APPROVAL_LIMIT": "+10000"}, "whole number"},
		{"limit too large", "CHECKOUT_APPROVAL_LIMIT", map[string]string{"CHECKOUT_APPROVAL_LIMIT": "99999999999999"}, "whole number"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			env := payoutEnv(tc.env)
			_, err := loadConfig(func(k string) string { return env[k] })
			if err == nil {
				t.Fatal("accepted")
			}
			msg := err.Error()
			if !strings.HasPrefix(msg, tc.badVar+": ") || strings.Contains(msg, "\n") || !strings.Contains(msg, tc.mention) {
				t.Fatalf("refusal %q: want one line naming %s and saying %q", msg, tc.badVar, tc.mention)
			}
			for _, secret := range []string{"pokeapay-password", "pochipay-password", "pesapal-secret", "MIIEvQIBADANBgkqhkiG9w0BAQEFAASC"} {
				if strings.Contains(msg, secret) {
					t.Errorf("refusal repeats a secret: %q", msg)
				}
			}
		})
	}
}

// mergeEnv is the changes of both maps, the second's winning, "" kept (so
// that payoutEnv deletes the variable).
func mergeEnv(a, b map[string]string) map[string]string {
	out := map[string]string{}
	for _, m := range []map[string]string{a, b} {
		for k, v := range m {
			out[k] = v
		}
	}
	return out
}
