package main

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"strings"

	"checkout/payments"
	"checkout/store"
)

// Settings that remember what CHECKOUT_WEBHOOK_URL and
// CHECKOUT_WEBHOOK_SECRET said at the last start ("" when unset). Only a
// hash of the secret is kept: the settings say whether the value changed,
// never what it is.
const (
	settingWebhookEnvURL    = "webhook_env.url"
	settingWebhookEnvSecret = "webhook_env.secret_sha256"
)

// applyWebhookEnv applies CHECKOUT_WEBHOOK_URL and CHECKOUT_WEBHOOK_SECRET
// to the default merchant, each only when it changed since the last start,
// and returns the banner line ("" without CHECKOUT_WEBHOOK_URL).
//
// Between starts the admin owns the webhook: a URL changed in the admin or
// disabled after a 410 Gone, a secret rotated there, all stay when the app
// starts again with the same environment. A changed URL is set (turning
// webhooks on again: the operator asked). A changed secret is installed
// through rotation, so the one it replaces keeps signing for the overlap
// and receivers still checking with it accept the deliveries meanwhile.
// Without CHECKOUT_WEBHOOK_SECRET the merchant keeps its secret, or gets a
// new one shown once in the banner (never the log).
//
// The merchant is changed first and the settings remembered after, so a
// start that stops in between applies the same values again next time,
// which changes nothing more.
//
// A database written before these settings existed (by the previous
// release, which applied the variables at every start) has none of them,
// yet its default merchant has a webhook secret: the variables were
// applied before, and what the admin did since (an endpoint a 410
// disabled, a rotated secret) stands. The variables are then recorded as
// applied without applying them. A merchant without a secret has never
// had a webhook: the variables are applied, as at any first start. Every
// start records the variables, set or unset, so a database of this release
// always has the settings after its first start and is never taken for an
// older one.
func applyWebhookEnv(ctx context.Context, cfg *config, st *store.Store, svc *payments.Service) (string, error) {
	lastURL, urlKnown, err := setting(ctx, st, settingWebhookEnvURL)
	if err != nil {
		return "", err
	}
	lastSecret, secretKnown, err := setting(ctx, st, settingWebhookEnvSecret)
	if err != nil {
		return "", err
	}
	secretHash := ""
	if cfg.WebhookSecret != "" {
		secretHash = webhookSecretHash(cfg.WebhookSecret)
	}
	if cfg.WebhookURL == "" {
		// Nothing to apply. Remember that the variables are unset, so
		// that setting them again, even to the old values, is a change.
		return "", remember(ctx, st, !urlKnown || lastURL != "", !secretKnown || lastSecret != "", "", "")
	}
	urlChanged := !urlKnown || lastURL != cfg.WebhookURL
	secretChanged := !secretKnown || lastSecret != secretHash

	m, err := st.MerchantWebhookOf(ctx, "default")
	if errors.Is(err, store.ErrNotFound) {
		return "", &configError{name: "CHECKOUT_WEBHOOK_URL", msg: "is set but there is no default merchant; set CHECKOUT_API_KEY too"}
	}
	if err != nil {
		return "", err
	}
	_, parseErr := payments.ParseWebhookSecret(m.WebhookSecret)
	hasSecret := parseErr == nil

	var notes []string
	// notApplied says why a variable that differs from the merchant's
	// setting is not applied.
	notApplied := "is unchanged, so not applied again"
	upgraded := !urlKnown && !secretKnown && hasSecret
	if upgraded {
		urlChanged, secretChanged = false, false
		notes = append(notes, "first start since these variables are remembered: recorded as applied without applying them, "+
			"as the previous release applied them at every start; they are applied when they change")
		notApplied = "is recorded, not applied"
	}
	set := "" // a secret set outright: the merchant has none to overlap with
	switch {
	case cfg.WebhookSecret != "" && (secretChanged || !hasSecret):
		notes = append(notes, "secret from CHECKOUT_WEBHOOK_SECRET")
		switch {
		case m.WebhookSecret == cfg.WebhookSecret:
		case hasSecret:
			if err := svc.RotateWebhookSecretTo(ctx, "default", cfg.WebhookSecret); err != nil {
				return "", err
			}
			notes = append(notes, "the previous secret keeps signing for 24 hours")
		default:
			set = cfg.WebhookSecret
		}
	case cfg.WebhookSecret != "" && m.WebhookSecret != cfg.WebhookSecret:
		notes = append(notes, "secret rotated in the admin; CHECKOUT_WEBHOOK_SECRET "+notApplied)
	case cfg.WebhookSecret != "":
		notes = append(notes, "secret from CHECKOUT_WEBHOOK_SECRET")
	case hasSecret:
		notes = append(notes, "secret as shown when it was created")
	default:
		set = payments.NewWebhookSecret()
		notes = append(notes, "shown once")
	}

	url := m.WebhookURL
	if urlChanged {
		url = cfg.WebhookURL
	}
	if urlChanged || set != "" {
		if err := st.SetMerchantWebhookURL(ctx, "default", url, set); err != nil {
			return "", err
		}
	}
	shown := url
	switch {
	case url == "":
		shown = "off"
		notes = append(notes, "turned off since CHECKOUT_WEBHOOK_URL was applied (in the admin, or after the endpoint answered 410 Gone); "+
			"it is applied again when it changes")
	case url != cfg.WebhookURL:
		notes = append(notes, "URL set in the admin; CHECKOUT_WEBHOOK_URL "+notApplied)
	}
	if err := remember(ctx, st, urlChanged || upgraded, secretChanged || upgraded, cfg.WebhookURL, secretHash); err != nil {
		return "", err
	}
	line := "  Webhooks:     " + shown
	if cfg.WebhookSecret == "" && set != "" {
		// The new secret, in the banner only (never the log).
		line += "  secret " + set
	}
	return line + "  (" + strings.Join(notes, "; ") + ")", nil
}

// webhookSecretHash is what the settings keep of CHECKOUT_WEBHOOK_SECRET.
func webhookSecretHash(secret string) string {
	sum := sha256.Sum256([]byte(secret))
	return "sha256:" + hex.EncodeToString(sum[:])
}

// setting reads one remembered value; known is false when none was stored.
func setting(ctx context.Context, st *store.Store, key string) (value string, known bool, err error) {
	v, err := st.Setting(ctx, key)
	if errors.Is(err, store.ErrNotFound) {
		return "", false, nil
	}
	if err != nil {
		return "", false, err
	}
	return v, true, nil
}

// remember stores what the environment said, for the settings that changed.
func remember(ctx context.Context, st *store.Store, url, secret bool, urlValue, secretHash string) error {
	if url {
		if err := st.SetSetting(ctx, settingWebhookEnvURL, urlValue); err != nil {
			return err
		}
	}
	if secret {
		if err := st.SetSetting(ctx, settingWebhookEnvSecret, secretHash); err != nil {
			return err
		}
	}
	return nil
}
