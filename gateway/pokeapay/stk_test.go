package pokeapay

import (
	"net/http"
	"strings"
	"testing"
	"time"
)

func TestNewSTKNamesTheMissingOrBadField(t *testing.T) {
	ok := STKConfig{Email: stkTestEmail, Password: stkTestPassword, OutletCode: stkTestOutlet}
	tests := []struct {
		name string
		mod  func(c *STKConfig)
		want string
	}{
		{"no email", func(c *STKConfig) { c.Email = " " }, "pokeapay: STKConfig.Email is required"},
		{"no password", func(c *STKConfig) { c.Password = "" }, "pokeapay: STKConfig.Password is required"},
		{"no outlet code", func(c *STKConfig) { c.OutletCode = "" }, "pokeapay: STKConfig.OutletCode is required"},
		{"outlet code with spaces", func(c *STKConfig) { c.OutletCode = " OTC1" }, "pokeapay: STKConfig.OutletCode must be printable, without spaces around it"},
		{"negative timeout", func(c *STKConfig) { c.Timeout = -time.Second }, "pokeapay: STKConfig.Timeout must not be negative"},
		{"relative API URL", func(c *STKConfig) { c.APIURL = "saf.pokeapay.com/api/v1" }, "pokeapay: STKConfig.APIURL must be an absolute http(s) URL without query, like https://saf.pokeapay.com/api/v1"},
		{"API URL with a query", func(c *STKConfig) { c.APIURL = "https://saf.pokeapay.com/api/v1?x=1" }, "pokeapay: STKConfig.APIURL must be an absolute http(s) URL without query, like https://saf.pokeapay.com/api/v1"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			cfg := ok
			tc.mod(&cfg)
			c, err := NewSTK(cfg)
			if err == nil || err.Error() != tc.want || c != nil {
				t.Fatalf("NewSTK = %v, %v; want error %q", c, err, tc.want)
			}
			for _, secret := range []string{stkTestEmail, stkTestPassword} {
				if strings.Contains(err.Error(), secret) {
					t.Fatalf("error %q holds a credential", err)
				}
			}
		})
	}
}

func TestNewSTKAppliesDefaults(t *testing.T) {
	c, err := NewSTK(STKConfig{Email: stkTestEmail, Password: stkTestPassword, OutletCode: stkTestOutlet})
	if err != nil {
		t.Fatalf("NewSTK: %v", err)
	}
	if c.api != DefaultAPIURL || c.be.Timeout != 10*time.Second || c.be.HTTP == nil || c.now == nil ||
		c.be.Sleep == nil || c.log == nil || c.outletCode != stkTestOutlet || len(c.secrets) != 2 {
		t.Fatalf("defaults not applied: %+v", c)
	}
	if c.Name() != "pokeapay" {
		t.Fatalf("Name = %q", c.Name())
	}

	hc := &http.Client{}
	c, err = NewSTK(STKConfig{APIURL: "http://127.0.0.1:9/api/v1/", Email: stkTestEmail, Password: stkTestPassword,
		OutletCode: stkTestOutlet, HTTPClient: hc, Timeout: time.Second})
	if err != nil {
		t.Fatalf("NewSTK: %v", err)
	}
	if c.api != "http://127.0.0.1:9/api/v1" || c.be.HTTP != hc || c.be.Timeout != time.Second {
		t.Fatalf("settings not kept: api %q timeout %v", c.api, c.be.Timeout)
	}
}
