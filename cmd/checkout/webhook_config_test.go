package main

import (
	"errors"
	"strings"
	"testing"
)

func TestWebhookConfigRefusesPrivateURLsOutsideSandboxAndBadSecrets(t *testing.T) {
	live := map[string]string{"CHECKOUT_SANDBOX": "0", "PESAPAL_CONSUMER_KEY": "k", "PESAPAL_CONSUMER_SECRET": "s",
		"CHECKOUT_ADMIN_EMAIL": "ops@shop.example", "CHECKOUT_ADMIN_PASSWORD": "a-long-password-1"}
	cases := []struct {
		name    string
		env     map[string]string
		badVar  string // "" when the configuration is accepted
		private bool
	}{
		{"public URL", map[string]string{"CHECKOUT_WEBHOOK_URL": "https://shop.example/hooks"}, "", false},
		{"loopback refused", map[string]string{"CHECKOUT_WEBHOOK_URL": "http://127.0.0.1:9000/hooks"}, "CHECKOUT_WEBHOOK_URL", false},
		{"private refused", map[string]string{"CHECKOUT_WEBHOOK_URL": "http://10.0.0.1/hooks"}, "CHECKOUT_WEBHOOK_URL", false},
		{"private allowed", map[string]string{"CHECKOUT_WEBHOOK_URL": "http://10.0.0.1/hooks", "CHECKOUT_WEBHOOK_ALLOW_PRIVATE": "1"}, "", true},
		{"credentials refused", map[string]string{"CHECKOUT_WEBHOOK_URL": "https://u:p@shop.example/hooks"}, "CHECKOUT_WEBHOOK_URL", false},
		{"secret without URL", map[string]string{"CHECKOUT_WEBHOOK_SECRET": "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"}, "CHECKOUT_WEBHOOK_SECRET", false},
		{"secret not whsec", map[string]string{"CHECKOUT_WEBHOOK_URL": "https://shop.example/hooks", "CHECKOUT_WEBHOOK_SECRET": "hunter2hunter2hunter2hunter2"}, "CHECKOUT_WEBHOOK_SECRET", false},
		{"good secret", map[string]string{"CHECKOUT_WEBHOOK_URL": "https://shop.example/hooks", "CHECKOUT_WEBHOOK_SECRET": "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"}, "", false},
		{"bad allow flag", map[string]string{"CHECKOUT_WEBHOOK_ALLOW_PRIVATE": "yes"}, "CHECKOUT_WEBHOOK_ALLOW_PRIVATE", false},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			env := map[string]string{}
			for k, v := range live {
				env[k] = v
			}
			for k, v := range tc.env {
				env[k] = v
			}
			c, err := loadConfig(func(k string) string { return env[k] })
			if tc.badVar == "" {
				if err != nil {
					t.Fatalf("refused: %v", err)
				}
				if c.WebhookURL != tc.env["CHECKOUT_WEBHOOK_URL"] || c.WebhookSecret != tc.env["CHECKOUT_WEBHOOK_SECRET"] ||
					c.WebhookAllowPrivate != tc.private {
					t.Fatalf("config = %q %q %v", c.WebhookURL, c.WebhookSecret, c.WebhookAllowPrivate)
				}
				return
			}
			var ce *configError
			if !errors.As(err, &ce) || ce.name != tc.badVar {
				t.Fatalf("err = %v, want one naming %s", err, tc.badVar)
			}
			if s := tc.env["CHECKOUT_WEBHOOK_SECRET"]; s != "" && strings.Contains(err.Error(), s) {
				t.Fatalf("the error repeats the secret: %v", err)
			}
		})
	}

	// Sandbox allows private addresses by default (a merchant server on
	// this machine).
	c, err := loadConfig(func(k string) string {
		return map[string]string{"CHECKOUT_WEBHOOK_URL": "http://127.0.0.1:9000/hooks"}[k]
	})
	if err != nil || !c.Sandbox || !c.WebhookAllowPrivate {
		t.Fatalf("sandbox: %v %+v", err, c)
	}
}
