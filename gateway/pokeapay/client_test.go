package pokeapay

import (
	"context"
	"errors"
	"net/http"
	"strings"
	"testing"
	"time"
)

func TestNewNamesTheMissingOrBadField(t *testing.T) {
	good := Config{OutletCode: testOC, HashKey: testKey}
	tests := []struct {
		name    string
		change  func(*Config)
		wantErr string
	}{
		{"no OutletCode", func(c *Config) { c.OutletCode = "" }, "pokeapay: Config.OutletCode is required"},
		{"blank OutletCode", func(c *Config) { c.OutletCode = "  " }, "pokeapay: Config.OutletCode is required"},
		{"lower-case OutletCode", func(c *Config) { c.OutletCode = "oct00001" }, "pokeapay: Config.OutletCode must be UPPERCASE"},
		{"mixed-case OutletCode", func(c *Config) { c.OutletCode = "OCt00001" }, "pokeapay: Config.OutletCode must be UPPERCASE"},
		{"OutletCode with a space around it", func(c *Config) { c.OutletCode = "OCT00001 " }, "pokeapay: Config.OutletCode must be printable"},
		{"OutletCode with a tab", func(c *Config) { c.OutletCode = "OCT\t01" }, "pokeapay: Config.OutletCode must be printable"},
		{"no HashKey", func(c *Config) { c.HashKey = "" }, "pokeapay: Config.HashKey is required"},
		{"blank HashKey", func(c *Config) { c.HashKey = " " }, "pokeapay: Config.HashKey is required"},
		{"negative Timeout", func(c *Config) { c.Timeout = -time.Second }, "pokeapay: Config.Timeout must not be negative"},
		{"CheckoutURL without scheme", func(c *Config) { c.CheckoutURL = "pay.pokeapay.com" }, "pokeapay: Config.CheckoutURL must be an absolute http(s) URL"},
		{"CheckoutURL with a query", func(c *Config) { c.CheckoutURL = "https://pay.pokeapay.com/?a=1" }, "pokeapay: Config.CheckoutURL must be an absolute http(s) URL"},
		{"CoreURL with ftp", func(c *Config) { c.CoreURL = "ftp://core.pokeapay.com" }, "pokeapay: Config.CoreURL must be an absolute http(s) URL"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg := good
			tt.change(&cfg)
			c, err := New(cfg)
			if err == nil {
				t.Fatalf("New succeeded, want error %q", tt.wantErr)
			}
			if c != nil {
				t.Errorf("New returned a client with its error")
			}
			if !strings.HasPrefix(err.Error(), tt.wantErr) {
				t.Errorf("error = %q, want prefix %q", err, tt.wantErr)
			}
			if strings.Contains(err.Error(), testKey) {
				t.Errorf("error %q contains the hash key", err)
			}
		})
	}
}

func TestNewAppliesDefaults(t *testing.T) {
	c, err := New(Config{OutletCode: testOC, HashKey: testKey, Live: true})
	if err != nil {
		t.Fatal(err)
	}
	if got := c.checkoutURL.String(); got != DefaultCheckoutURL || DefaultCheckoutURL != "https://pay.pokeapay.com/" {
		t.Errorf("checkout URL = %q, want https://pay.pokeapay.com/", got)
	}
	if c.coreURL != DefaultCoreURL || DefaultCoreURL != "https://core.pokeapay.com" {
		t.Errorf("core URL = %q, want https://core.pokeapay.com", c.coreURL)
	}
	if c.be.Timeout != DefaultTimeout || DefaultTimeout != 10*time.Second {
		t.Errorf("timeout = %v, want 10s", c.be.Timeout)
	}
	if c.be.HTTP == nil || c.be.Sleep == nil || c.log == nil {
		t.Errorf("defaults missing: http %v, sleep %v, log %v", c.be.HTTP != nil, c.be.Sleep != nil, c.log != nil)
	}
	if c.outletCode != testOC || c.hashKey != testKey || !c.live {
		t.Errorf("outlet code, hash key or live not kept")
	}

	c, err = New(Config{CoreURL: "http://127.0.0.1:9/sandbox/pokeapay/core/", OutletCode: testOC, HashKey: testKey})
	if err != nil {
		t.Fatal(err)
	}
	if c.coreURL != "http://127.0.0.1:9/sandbox/pokeapay/core" || c.live {
		t.Errorf("core URL = %q (want it without its trailing slash), live = %v (want false)", c.coreURL, c.live)
	}
}

func TestErrorTextAndUnwrap(t *testing.T) {
	cause := context.DeadlineExceeded
	tests := []struct {
		name string
		err  *Error
		want string
	}{
		{"every part", &Error{HTTPStatus: 502, Code: "x1", Message: "bad gateway", Op: "verify payment", Err: cause},
			"pokeapay: verify payment: HTTP 502: x1: bad gateway: context deadline exceeded"},
		{"op and message", &Error{Op: "verify payment", Message: "timed out"}, "pokeapay: verify payment: timed out"},
		{"nothing", &Error{}, "pokeapay"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := tt.err.Error(); got != tt.want {
				t.Errorf("Error() = %q, want %q", got, tt.want)
			}
			if errors.Unwrap(tt.err) != tt.err.Err {
				t.Errorf("Unwrap() = %v, want %v", errors.Unwrap(tt.err), tt.err.Err)
			}
		})
	}
}

func TestHashKeyNeverAppearsInErrorsOrLogs(t *testing.T) {
	tests := []struct {
		name      string
		answer    http.HandlerFunc
		timeout   time.Duration
		wantInErr string
	}{
		{"error message echoing the key", text(http.StatusBadRequest, "application/json", `{"message":"bad key `+testKey+`"}`), 0, "[redacted]"},
		{"unknown status echoing the key", jsonAnswer(`{"status":"` + testKey + `","message":"key ` + testKey + `"}`), 0, "[redacted]"},
		{"unknown status echoing the key lower-cased", jsonAnswer(`{"status":"` + strings.ToLower(testKey) + `"}`), 0, "not a documented status value"},
		{"plain-text answer echoing the key upper-cased", text(http.StatusOK, "text/plain", strings.ToUpper(testKey)), 0, "not a documented status value"},
		{"answer about another oref echoing the key", jsonAnswer(`{"status":"` + StatusValueSuccess + `","oref":"` + testKey + `"}`), 0, "[redacted]"},
		{"timeout", hang, 30 * time.Millisecond, "timed out"},
		{"dropped connection", dropConnection, 0, "network error"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newCore(t, tt.answer)
			var logs lockedBuffer
			c := f.client(&sleepRecorder{}, func(cfg *Config) {
				cfg.Logger = debugLogger(&logs)
				if tt.timeout > 0 {
					cfg.Timeout = tt.timeout
				}
			})

			_, err := c.VerifyPayment(t.Context(), "ORD-1", 100, TypeMPesa)

			if err == nil {
				t.Fatal("call succeeded, want an error")
			}
			if !strings.Contains(err.Error(), tt.wantInErr) {
				t.Errorf("error %q does not contain %q", err, tt.wantInErr)
			}
			if logs.String() == "" {
				t.Errorf("nothing was logged at Debug; the log check below would prove nothing")
			}
			hash := VerificationHash(testKey, "ORD-1", testOC)
			// In any case: an answer may echo the key lower-cased.
			for _, secret := range []string{testKey, hash} {
				secret = strings.ToLower(secret)
				if strings.Contains(strings.ToLower(err.Error()), secret) {
					t.Errorf("error %q contains %q", err, secret)
				}
				if strings.Contains(strings.ToLower(logs.String()), secret) {
					t.Errorf("logs contain %q:\n%s", secret, logs.String())
				}
			}
		})
	}
}

func TestVerificationRawHasTheKeyRemoved(t *testing.T) {
	f := newCore(t, jsonAnswer(`{"status":"`+StatusValuePending+`","note":"`+testKey+`","again":"`+strings.ToUpper(testKey)+`"}`))
	c := f.client(&sleepRecorder{})

	v, err := c.VerifyPayment(t.Context(), "ORD-1", 100, TypeMPesa)
	if err != nil {
		t.Fatal(err)
	}
	if want := `{"status":"` + StatusValuePending + `","note":"[redacted]","again":"[redacted]"}`; string(v.Raw) != want {
		t.Errorf("Raw = %s, want %s", v.Raw, want)
	}
}
