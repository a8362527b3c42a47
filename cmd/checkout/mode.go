package main

import (
	"context"
	"errors"
	"net/netip"
	"net/url"
	"strings"

	"checkout/store"
)

// credentialVars are the variables that hold a real provider credential.
// Any of them set means live mode: test mode takes none of them
// (design.md, "Configuration", CHECKOUT_SANDBOX).
var credentialVars = []string{
	"PESAPAL_CONSUMER_KEY", "PESAPAL_CONSUMER_SECRET",
	"POKEAPAY_OUTLET_CODE", "POKEAPAY_HASH_KEY",
	"POKEAPAY_EMAIL", "POKEAPAY_PASSWORD",
	"POCHIPAY_EMAIL", "POCHIPAY_PASSWORD",
	"POKEAPAY_B2C_CUSTOMER_CODE", "POKEAPAY_B2C_ACCOUNT_NO", "POKEAPAY_B2C_PRIVATE_KEY_FILE",
}

// providerVars names, for people, what live mode needs.
const providerVars = "PESAPAL_CONSUMER_KEY and PESAPAL_CONSUMER_SECRET, POKEAPAY_OUTLET_CODE and POKEAPAY_HASH_KEY " +
	"(with POKEAPAY_EMAIL and POKEAPAY_PASSWORD for STK push), or POCHIPAY_EMAIL and POCHIPAY_PASSWORD"

// testMode decides the mode from CHECKOUT_SANDBOX, the credentials, the
// public URL and the webhook URL, and reports whether CHECKOUT_SANDBOX
// chose it (explicit) or it was inferred. Test mode is inferred only where
// nothing can be real: no provider has credentials, the public URL is this
// machine, and webhooks go nowhere or to this machine. A production start
// whose secrets failed to mount would otherwise let any customer "pay" on
// the simulator and the merchant's real server receive a correctly signed
// checkout.paid.
func testMode(getenv func(string) string, publicURL string) (sandbox, explicit bool, err error) {
	var set []string
	for _, name := range credentialVars {
		if strings.TrimSpace(getenv(name)) != "" {
			set = append(set, name)
		}
	}
	switch v := strings.TrimSpace(getenv("CHECKOUT_SANDBOX")); v {
	case "1", "true":
		if len(set) > 0 {
			// Names only: the values are secrets.
			return false, true, bad("CHECKOUT_SANDBOX", "is 1 (test mode) but %s %s set; test mode takes no real credential: unset %s, or set CHECKOUT_SANDBOX=0 for live mode",
				strings.Join(set, ", "), isAre(len(set)), itThem(len(set)))
		}
		return true, true, nil
	case "0", "false":
		if len(set) == 0 {
			return false, true, bad("CHECKOUT_SANDBOX", "is 0 (live mode) but no provider has credentials; set %s", providerVars)
		}
		return false, true, nil
	case "":
		if len(set) > 0 {
			return false, false, nil
		}
		if !isLoopbackURL(publicURL) {
			return false, false, bad("CHECKOUT_SANDBOX", "is not set, no provider has credentials and CHECKOUT_PUBLIC_URL %s is not a loopback URL, so test mode is not assumed; "+
				"for live mode set %s; for test mode set CHECKOUT_SANDBOX=1", publicURL, providerVars)
		}
		if hook := strings.TrimSpace(getenv("CHECKOUT_WEBHOOK_URL")); hook != "" && !isLoopbackURL(hook) {
			// The host only: a webhook URL may carry a token in its path
			// or query.
			return false, false, bad("CHECKOUT_SANDBOX", "is not set and no provider has credentials, but CHECKOUT_WEBHOOK_URL goes to %s, not this machine, "+
				"so test mode is not assumed: test events would reach a real server; "+
				"for live mode set %s; for test mode set CHECKOUT_SANDBOX=1", hostOf(hook), providerVars)
		}
		return true, false, nil
	default:
		return false, false, bad("CHECKOUT_SANDBOX", "%q must be 1 or 0", v)
	}
}

// hostOf is the host a URL names, for messages ("an unreadable URL" when
// it names none).
func hostOf(raw string) string {
	if u, err := url.Parse(raw); err == nil && u.Hostname() != "" {
		return u.Hostname()
	}
	return "an address that is not a URL"
}

func isAre(n int) string {
	if n == 1 {
		return "is"
	}
	return "are"
}

func itThem(n int) string {
	if n == 1 {
		return "it"
	}
	return "them"
}

// isLoopbackURL reports whether a URL's host is this machine: localhost,
// 127.0.0.0/8 or [::1] (the `make run` case).
func isLoopbackURL(raw string) bool {
	u, err := url.Parse(raw)
	if err != nil {
		return false
	}
	host := strings.ToLower(strings.TrimSuffix(u.Hostname(), "."))
	if host == "localhost" {
		return true
	}
	ip, err := netip.ParseAddr(host)
	return err == nil && ip.Unmap().IsLoopback()
}

// The values the database remembers under the "mode" setting.
const (
	modeTest = "test"
	modeLive = "live"
)

func modeName(sandbox bool) string {
	if sandbox {
		return modeTest
	}
	return modeLive
}

// claimMode ties the database to the mode it is first started in, and
// refuses a start in the other mode: test checkouts, keys and webhooks must
// never meet live ones.
//
// A database written before the mode was recorded has no "mode" row but
// may hold merchants and checkouts of either mode. Its mode is not guessed
// from whichever start comes first after the upgrade: only a start that
// says its mode with CHECKOUT_SANDBOX records it; an inferred one is
// refused. An empty database takes the mode of this start.
func claimMode(ctx context.Context, st *store.Store, cfg *config) error {
	want := modeName(cfg.Sandbox)
	got, err := st.Setting(ctx, settingMode)
	switch {
	case errors.Is(err, store.ErrNotFound):
		has, err := st.HasData(ctx)
		if err != nil {
			return err
		}
		if has && !cfg.SandboxExplicit {
			return bad("CHECKOUT_SANDBOX", "is not set and %s predates the record of a database's mode (it holds merchants or checkouts, test or live), "+
				"so its mode is not guessed: start once with CHECKOUT_SANDBOX=1 if it holds test data or CHECKOUT_SANDBOX=0 if it holds live data; "+
				"it is remembered from then on", dbName(cfg.DB))
		}
		// Processes starting together agree on one mode.
		if got, err = st.ClaimSetting(ctx, settingMode, want); err != nil {
			return err
		}
	case err != nil:
		return err
	}
	if got != want {
		return bad("CHECKOUT_DB", "%s was created in %s mode and this start is in %s mode; the two never mix: "+
			"to start over in %s mode, set CHECKOUT_DB to a new database file (the old one stays as it is)", dbName(cfg.DB), got, want, want)
	}
	return nil
}

// settingMode is the setting that remembers a database's mode.
const settingMode = "mode"
