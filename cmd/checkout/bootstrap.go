package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"strings"
	"time"

	"checkout/gateway/sandbox"
	"checkout/payments"
	"checkout/store"
)

// bootstrap creates the configured admin and merchant, and in sandbox mode
// the demo ones and a demo checkout, printing what a new user needs. sb is
// the sandbox in sandbox mode (else nil).
func bootstrap(ctx context.Context, cfg *config, st *store.Store, svc *payments.Service, sb *sandbox.Sandbox, out io.Writer) error {
	var lines []string
	email, password := cfg.AdminEmail, cfg.AdminPassword
	if email == "" && cfg.Sandbox {
		email, password = "admin@localhost", randomHex(8)
	}
	if email != "" {
		_, err := st.AdminByEmail(ctx, email)
		switch {
		case errors.Is(err, store.ErrNotFound):
			hash, err := store.HashPassword(password)
			if err != nil {
				return err
			}
			err = st.CreateAdmin(ctx, store.NewID("adm", st.Now()), email, hash)
			switch {
			case errors.Is(err, store.ErrDuplicate):
				// Another instance starting at the same moment created it.
				lines = append(lines, fmt.Sprintf("  Admin:        %s/admin/login  %s (created by another instance)", cfg.PublicURL, email))
			case err != nil:
				return err
			case cfg.AdminPassword == "":
				lines = append(lines, fmt.Sprintf("  Admin:        %s/admin/login  %s / %s  (shown once)", cfg.PublicURL, email, password))
			default:
				lines = append(lines, fmt.Sprintf("  Admin:        %s/admin/login  %s (password from CHECKOUT_ADMIN_PASSWORD)", cfg.PublicURL, email))
			}
		case err != nil:
			return err
		default:
			lines = append(lines, fmt.Sprintf("  Admin:        %s/admin/login  %s (password as set when it was created)", cfg.PublicURL, email))
		}
	}

	key := cfg.APIKey
	if key == "" && cfg.Sandbox {
		has, err := st.HasMerchant(ctx, "default")
		if err != nil {
			return err
		}
		if !has {
			key = "sk_sandbox_" + randomHex(16)
		} else {
			lines = append(lines, "  API key:      the default merchant's key was shown when it was created")
		}
	}
	if key != "" {
		created, err := st.EnsureMerchant(ctx, "default", cfg.MerchantName, key)
		if errors.Is(err, store.ErrDuplicate) {
			// Another instance starting at the same moment created it:
			// asked again, the store finds it.
			created, err = st.EnsureMerchant(ctx, "default", cfg.MerchantName, key)
		}
		switch {
		case errors.Is(err, store.ErrStartupKeyInactive):
			// An owner revoked or rotated it in the admin: a start does
			// not bring it back. The rest of the app starts.
			lines = append(lines, fmt.Sprintf("  API key:      CHECKOUT_API_KEY (ending %q) was revoked or replaced in the admin and is NOT active; set a new CHECKOUT_API_KEY or use a key from the Merchants page",
				store.KeyHint(key)))
		case err != nil:
			return err
		}
		if cfg.APIKey == "" && created {
			lines = append(lines, "  API key:      "+key+"  (shown once)")
		}
	}

	// The name is applied at each start only when CHECKOUT_MERCHANT_NAME
	// sets it; otherwise the default merchant keeps the name it was made
	// with or the admin gave it (Merchants page).
	if cfg.MerchantNameSet {
		if has, err := st.HasMerchant(ctx, "default"); err != nil {
			return err
		} else if has {
			if err := st.RenameMerchant(ctx, "default", cfg.MerchantName); err != nil {
				return err
			}
		}
	}

	if line, err := applyWebhookEnv(ctx, cfg, st, svc); err != nil {
		return err
	} else if line != "" {
		lines = append(lines, line)
	}

	if cfg.Sandbox {
		var inboxLine string
		if cfg.WebhookURL == "" {
			var err error
			if inboxLine, err = setInboxWebhook(ctx, cfg, st); err != nil {
				return err
			}
		}
		m, err := st.Merchant(ctx, "default")
		if err != nil {
			return err
		}
		// The inbox verifies with the default merchant's secret, also when
		// CHECKOUT_WEBHOOK_URL points elsewhere (or at the inbox itself).
		if sb != nil {
			sb.SetWebhookSecret(m.WebhookSecret)
		}
		co, err := svc.CreateCheckout(ctx, m, payments.CreateRequest{
			Amount: []byte(`"1500.00"`), Currency: "KES", Reference: "demo-" + time.Now().UTC().Format("20060102-150405.000"),
			Description: "Demo order: 2 bags of Kenyan AA coffee",
			Customer:    &payments.Customer{Name: "Wanjiru Kamau", Email: "wanjiru@example.com", Phone: "0712 345 678"},
		}, "sandbox demo")
		if err != nil {
			return fmt.Errorf("create the demo checkout: %w", err)
		}
		head := []string{"  Demo checkout: " + svc.CheckoutURL(co.ID),
			"  Sandbox phone: " + cfg.PublicURL + sandbox.PhonePath + "  (approve M-Pesa prompts here)"}
		if inboxLine != "" {
			head = append(head, inboxLine)
		}
		if cfg.SMTP == nil {
			head = append(head, "  Mail inbox:    "+cfg.PublicURL+sandbox.MailPath+"  (receipt emails arrive here)")
		}
		lines = append(head, lines...)
	}
	if len(lines) == 0 {
		return nil
	}
	mode := "live"
	if cfg.Sandbox {
		mode = "SANDBOX, test mode (simulated providers under " + cfg.PublicURL + "/sandbox/; no real money moves)"
	}
	fmt.Fprintf(out, "\nHosted checkout is running at %s, mode %s\n%s\n\n", cfg.PublicURL, mode, strings.Join(lines, "\n"))
	return nil
}

// setInboxWebhook points the default merchant's webhook at the sandbox's
// webhook inbox (sandbox mode without CHECKOUT_WEBHOOK_URL), with the
// secret it already has, else a new one, and returns the banner line.
func setInboxWebhook(ctx context.Context, cfg *config, st *store.Store) (string, error) {
	inbox := cfg.PublicURL + sandbox.WebhooksPath
	if err := payments.CheckWebhookURL(inbox, cfg.WebhookAllowPrivate); err != nil {
		// CHECKOUT_WEBHOOK_ALLOW_PRIVATE=0 with a local public URL: the
		// worker could not reach the inbox anyway.
		return "  Webhook inbox: " + inbox + "  (not used: " + err.Error() + ")", nil
	}
	m, err := st.Merchant(ctx, "default")
	if err != nil {
		return "", err
	}
	if m.WebhookURL != "" && m.WebhookURL != inbox {
		// Set in the admin: the admin's choice stays across restarts.
		return "  Webhook inbox: " + inbox + "  (the default merchant's webhook goes to " + m.WebhookURL + ")", nil
	}
	secret := m.WebhookSecret
	if _, err := payments.ParseWebhookSecret(secret); err != nil {
		secret = payments.NewWebhookSecret()
	}
	if err := st.SetMerchantWebhook(ctx, "default", inbox, secret); err != nil {
		return "", err
	}
	return "  Webhook inbox: " + inbox + "  (signed events arrive here)", nil
}
