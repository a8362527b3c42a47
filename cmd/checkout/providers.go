package main

import (
	"context"
	"crypto/rsa"
	"log/slog"

	"checkout/gateway"
	"checkout/gateway/pesapal"
	"checkout/gateway/pochipay"
	"checkout/gateway/pokeapay"
	"checkout/gateway/sandbox"
	"checkout/payments"
	"checkout/web"
)

// providers is what the provider clients are built from: the configured
// (live) providers, or in test mode the simulators on this very server.
// resolveProviders makes it; nothing else decides a provider's URL or
// credentials.
type providers struct {
	// Sandbox is the simulators' configuration in test mode, nil in live
	// mode. Its Logger is left for run to set.
	Sandbox *sandbox.Config
	// Pesapal is nil when Pesapal is not configured.
	Pesapal *pesapalSetup
	// PokeaPay is PokeaPay's web checkout, nil when not configured.
	PokeaPay *pokeaPaySetup
	// STK is the M-Pesa STK push backend; its Provider is "" when there is
	// none.
	STK stkSetup
	// Payout sends refunds of M-Pesa payments and payouts to phones; its
	// Provider is "" when there is none.
	Payout payoutSetup
	// Origins are the provider pages customers are framed on or sent to
	// (live mode only: in test mode they are this server's own pages).
	Origins []string
}

type pesapalSetup struct {
	URL, ConsumerKey, ConsumerSecret string
	// IPNURL is where Pesapal notifies us, registered at start.
	IPNURL string
}

type pokeaPaySetup struct {
	// CheckoutURL is where the customer's browser goes; CoreURL is where
	// our verification calls go.
	CheckoutURL, CoreURL string
	OutletCode, HashKey  string
	Live                 bool
}

type stkSetup struct {
	// Provider is "pokeapay", "pochipay", or "".
	Provider        string
	URL             string
	Email, Password string
	// OutletCode names the PokeaPay outlet in pushes (PokeaPay only).
	OutletCode string
}

type payoutSetup struct {
	// Provider is "pokeapay", "pochipay", or "".
	Provider string
	// URL is the payout API's base: PokeaPay's B2C URL, or Pochipay's.
	URL string
	// APIURL is the PokeaPay REST API root whose login gives B2C's bearer
	// token (PokeaPay only).
	APIURL          string
	Email, Password string
	// CustomerCode and AccountNo are B2C's source (PokeaPay only).
	CustomerCode, AccountNo string
	// Key signs B2C requests (PokeaPay only). In test mode it is the
	// simulator's, set once the simulator exists (see run).
	Key *rsa.PrivateKey
}

// simSecrets are the credentials made up at each test-mode start, shared
// by the simulators and the clients that call them.
type simSecrets struct{ Secret, HashKey string }

// The simulators' fixed credentials (test mode only).
const (
	simConsumerKey  = "sandbox-key"
	simOutletCode   = "SANDBOX01"
	simSTKEmail     = "stk@sandbox.local"
	simPochipayUser = "pochipay@sandbox.local"
	simB2CCustomer  = "SANDBOXB2C"
	simB2CAccount   = "100200300"
)

// resolveProviders decides every provider's URL and credentials from the
// configuration. In test mode (loadConfig refuses a real credential there)
// every provider is a simulator: the clients reach it at self, this
// process's loopback URL, and the customer's browser at the public URL.
func resolveProviders(cfg *config, self string, sim simSecrets) providers {
	ipnURL := cfg.PublicURL + "/ipn/pesapal"
	if cfg.Sandbox {
		p := providers{
			Sandbox: &sandbox.Config{PublicURL: cfg.PublicURL, ConsumerKey: simConsumerKey, ConsumerSecret: sim.Secret,
				PokeaPayOutletCode: simOutletCode, PokeaPayHashKey: sim.HashKey, PokeaPayIPNURL: cfg.PublicURL + "/ipn/pokeapay",
				PokeaPaySTKEmail: simSTKEmail, PokeaPaySTKPassword: sim.Secret,
				PochipayEmail: simPochipayUser, PochipayPassword: sim.Secret,
				PokeaPayB2CCustomerCode: simB2CCustomer, PokeaPayB2CAccountNo: simB2CAccount,
				DuplicateIPNRate: sandbox.DefaultDuplicateIPNRate},
			Pesapal: &pesapalSetup{URL: self + sandbox.PesapalAPIPath, ConsumerKey: simConsumerKey, ConsumerSecret: sim.Secret, IPNURL: ipnURL},
			PokeaPay: &pokeaPaySetup{CheckoutURL: cfg.PublicURL + sandbox.PokeaPayCheckoutPath, CoreURL: self + sandbox.PokeaPayCorePath,
				OutletCode: simOutletCode, HashKey: sim.HashKey, Live: false},
		}
		switch cfg.STKProvider {
		case "pokeapay":
			p.STK = stkSetup{Provider: "pokeapay", URL: self + sandbox.PokeaPaySTKPath, Email: simSTKEmail, Password: sim.Secret, OutletCode: simOutletCode}
		case "pochipay":
			p.STK = stkSetup{Provider: "pochipay", URL: self + sandbox.PochipayPath, Email: simPochipayUser, Password: sim.Secret}
		}
		switch cfg.PayoutProvider {
		case "pokeapay":
			p.Payout = payoutSetup{Provider: "pokeapay", URL: self + sandbox.PokeaPayB2CPath, APIURL: self + sandbox.PokeaPaySTKPath,
				Email: simSTKEmail, Password: sim.Secret, CustomerCode: simB2CCustomer, AccountNo: simB2CAccount}
		case "pochipay":
			p.Payout = payoutSetup{Provider: "pochipay", URL: self + sandbox.PochipayPath, Email: simPochipayUser, Password: sim.Secret}
		}
		return p
	}

	var p providers
	if cfg.PokeaPayOutletCode != "" {
		p.PokeaPay = &pokeaPaySetup{CheckoutURL: cfg.PokeaPayCheckoutURL, CoreURL: cfg.PokeaPayCoreURL,
			OutletCode: cfg.PokeaPayOutletCode, HashKey: cfg.PokeaPayHashKey, Live: cfg.PokeaPayLive}
		p.Origins = append(p.Origins, web.Origin(cfg.PokeaPayCheckoutURL))
	}
	if cfg.PesapalConsumerKey != "" {
		p.Pesapal = &pesapalSetup{URL: cfg.PesapalURL, ConsumerKey: cfg.PesapalConsumerKey, ConsumerSecret: cfg.PesapalConsumerSecret, IPNURL: ipnURL}
		p.Origins = append(p.Origins, web.Origin(cfg.PesapalURL))
	}
	switch cfg.STKProvider {
	case "pokeapay":
		p.STK = stkSetup{Provider: "pokeapay", URL: cfg.PokeaPayAPIURL, Email: cfg.PokeaPayEmail, Password: cfg.PokeaPayPassword,
			OutletCode: cfg.PokeaPayOutletCode}
	case "pochipay":
		p.STK = stkSetup{Provider: "pochipay", URL: cfg.PochipayURL, Email: cfg.PochipayEmail, Password: cfg.PochipayPassword}
	}
	switch cfg.PayoutProvider {
	case "pokeapay":
		p.Payout = payoutSetup{Provider: "pokeapay", URL: cfg.PokeaPayB2CURL, APIURL: cfg.PokeaPayAPIURL,
			Email: cfg.PokeaPayEmail, Password: cfg.PokeaPayPassword,
			CustomerCode: cfg.PokeaPayB2CCustomerCode, AccountNo: cfg.PokeaPayB2CAccountNo, Key: cfg.PokeaPayB2CKey}
	case "pochipay":
		p.Payout = payoutSetup{Provider: "pochipay", URL: cfg.PochipayURL, Email: cfg.PochipayEmail, Password: cfg.PochipayPassword}
	}
	return p
}

// gateways are the provider clients built from providers, as the payments
// service takes them (nil where a provider is not configured).
type gateways struct {
	Pesapal  payments.Pesapal
	PokeaPay payments.PokeaPay
	STK      gateway.STKProvider
	// Payouts sends money to phones; Refunder is Pesapal's refund request
	// (nil when not configured).
	Payouts  gateway.PayoutProvider
	Refunder gateway.Refunder
	// PesapalIPN registers the IPN URL with Pesapal once (nil without
	// Pesapal).
	PesapalIPN func(context.Context) (string, error)
}

// newGateways builds the clients p describes; obs is told of their
// exchanges (nil: none).
func newGateways(p providers, log *slog.Logger, obs gateway.CallObserver) (gateways, error) {
	var g gateways
	switch p.STK.Provider {
	case "pokeapay":
		c, err := pokeapay.NewSTK(pokeapay.STKConfig{APIURL: p.STK.URL, Email: p.STK.Email,
			Password: p.STK.Password, OutletCode: p.STK.OutletCode, Logger: log, Observer: obs})
		if err != nil {
			return g, err
		}
		g.STK = c
	case "pochipay":
		c, err := pochipay.New(pochipay.Config{BaseURL: p.STK.URL, Email: p.STK.Email,
			Password: p.STK.Password, Logger: log, Observer: obs})
		if err != nil {
			return g, err
		}
		g.STK = c
	}
	switch p.Payout.Provider {
	case "pokeapay":
		c, err := pokeapay.NewB2C(pokeapay.B2CConfig{URL: p.Payout.URL, APIURL: p.Payout.APIURL,
			CustomerCode: p.Payout.CustomerCode, AccountNo: p.Payout.AccountNo, Key: p.Payout.Key,
			Email: p.Payout.Email, Password: p.Payout.Password, Logger: log, Observer: obs})
		if err != nil {
			return g, err
		}
		g.Payouts = c
	case "pochipay":
		c, err := pochipay.NewPayouts(pochipay.Config{BaseURL: p.Payout.URL, Email: p.Payout.Email,
			Password: p.Payout.Password, Logger: log, Observer: obs})
		if err != nil {
			return g, err
		}
		g.Payouts = c
	}
	if p.PokeaPay != nil {
		c, err := pokeapay.New(pokeapay.Config{CheckoutURL: p.PokeaPay.CheckoutURL, CoreURL: p.PokeaPay.CoreURL,
			OutletCode: p.PokeaPay.OutletCode, HashKey: p.PokeaPay.HashKey, Live: p.PokeaPay.Live, Logger: log, Observer: obs})
		if err != nil {
			return g, err
		}
		g.PokeaPay = c
	}
	if p.Pesapal != nil {
		c, err := pesapal.New(pesapal.Config{BaseURL: p.Pesapal.URL, ConsumerKey: p.Pesapal.ConsumerKey,
			ConsumerSecret: p.Pesapal.ConsumerSecret, Logger: log, Observer: obs})
		if err != nil {
			return g, err
		}
		ipnURL := p.Pesapal.IPNURL
		g.Pesapal = c
		g.Refunder = c
		g.PesapalIPN = payments.IPNOnce(func(ctx context.Context) (string, error) { return c.EnsureIPN(ctx, ipnURL, "POST") })
	}
	return g, nil
}
