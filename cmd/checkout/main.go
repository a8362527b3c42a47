// Command checkout runs the hosted checkout: the customer pages, the
// merchant API, the provider returns and notifications, the admin, and the
// reconciler. In sandbox (test) mode, chosen with CHECKOUT_SANDBOX=1 or
// assumed with no provider credentials on a loopback public URL and no
// webhook URL beyond this machine, the providers are simulated under
// /sandbox/.
package main

import (
	"context"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/signal"
	"strings"
	"syscall"
	"time"

	"checkout/gateway"
	"checkout/gateway/pesapal"
	"checkout/gateway/pochipay"
	"checkout/gateway/pokeapay"
	"checkout/gateway/sandbox"
	"checkout/handlers"
	"checkout/payments"
	"checkout/store"
	"checkout/web"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := run(ctx, os.Getenv, os.Stdout, runOptions{}); err != nil {
		var ce *configError
		if errors.As(err, &ce) {
			fmt.Fprintln(os.Stderr, "configuration error: "+ce.Error())
		} else {
			fmt.Fprintln(os.Stderr, "checkout: "+err.Error())
		}
		os.Exit(1)
	}
}

// app is a running instance, for tests that start and stop the whole app.
type app struct {
	URL     string
	Sandbox *sandbox.Sandbox
	Store   *store.Store
	Service *payments.Service
}

// runOptions are hooks for tests that run the whole app.
type runOptions struct {
	// Starting, when set, is called once the port accepts connections and
	// before start-up (admin, merchant, API key) runs; start-up waits for
	// it to return.
	Starting func(url string)
	// Ready, when set, is called once start-up is done and every route
	// serves.
	Ready func(*app)
	// Draining, when set, is called at shutdown after /readyz turned 503
	// and before the server stops; the shutdown waits for it to return.
	Draining func(url string)
	// Now replaces the clock of the store and the payments service.
	Now func() time.Time
	// ReconcileEvery replaces the reconciler's interval (5 s).
	ReconcileEvery time.Duration
}

// run starts the app and blocks until ctx ends. out receives the start-up
// banner (the sandbox credentials and demo link).
func run(ctx context.Context, getenv func(string) string, out io.Writer, opt runOptions) error {
	cfg, err := loadConfig(getenv)
	if err != nil {
		return err
	}
	log := slog.New(web.LogHandler(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelInfo})))
	slog.SetDefault(log)

	st, err := store.Open(ctx, cfg.DB, store.Options{Now: opt.Now})
	if err != nil {
		return err
	}
	defer st.Close()
	if err := claimMode(ctx, st, cfg); err != nil {
		return err
	}

	secret, created, err := loadSecret(cfg, func() string { return randomHex(32) })
	if err != nil {
		return err
	}
	if created {
		log.Info("generated a session secret and stored it beside the database", "path", cfg.DB+".secret")
	}

	// Listen before building the gateways: in sandbox mode the provider
	// clients talk to the simulators on this very server, at its address.
	// Nothing but /healthz and /readyz is served until start-up is done.
	ln, err := net.Listen("tcp", cfg.Addr)
	if err != nil {
		return &configError{name: "CHECKOUT_ADDR", msg: err.Error()}
	}
	defer ln.Close()

	pesapalURL, key, sec := cfg.PesapalURL, cfg.PesapalConsumerKey, cfg.PesapalConsumerSecret
	var origins []string // provider pages we frame or send customers to
	var sb *sandbox.Sandbox
	var sandboxHandler http.Handler
	if cfg.Sandbox {
		// Test mode has no real credential (loadConfig refuses one): every
		// provider is the simulator on this very server.
		sbSecret := randomHex(16)
		sbHashKey := randomHex(16)
		sb = sandbox.New(sandbox.Config{PublicURL: cfg.PublicURL, ConsumerKey: "sandbox-key", ConsumerSecret: sbSecret,
			PokeaPayOutletCode: "SANDBOX01", PokeaPayHashKey: sbHashKey, PokeaPayIPNURL: cfg.PublicURL + "/ipn/pokeapay",
			PokeaPaySTKEmail: "stk@sandbox.local", PokeaPaySTKPassword: sbSecret,
			PochipayEmail: "pochipay@sandbox.local", PochipayPassword: sbSecret,
			DuplicateIPNRate: sandbox.DefaultDuplicateIPNRate, Logger: log})
		defer sb.Close()
		sandboxHandler = sb.Handler()
		self := loopbackURL(ln.Addr())
		key, sec, pesapalURL = "sandbox-key", sbSecret, self+sandbox.PesapalAPIPath
		cfg.PokeaPayAPIURL = self + sandbox.PokeaPaySTKPath
		cfg.PokeaPayEmail, cfg.PokeaPayPassword = "stk@sandbox.local", sbSecret
		cfg.PochipayURL = self + sandbox.PochipayPath
		cfg.PochipayEmail, cfg.PochipayPassword = "pochipay@sandbox.local", sbSecret
		// The customer's browser goes to the simulated hosted page; our
		// verification calls reach the simulator on this very server.
		cfg.PokeaPayCheckoutURL = sb.PokeaPayCheckoutURL()
		cfg.PokeaPayCoreURL = self + sandbox.PokeaPayCorePath
		cfg.PokeaPayOutletCode, cfg.PokeaPayHashKey, cfg.PokeaPayLive = "SANDBOX01", sbHashKey, false
	} else if cfg.PokeaPayOutletCode != "" {
		origins = append(origins, web.Origin(cfg.PokeaPayCheckoutURL))
	}
	var stk gateway.STKProvider
	switch cfg.STKProvider {
	case "pokeapay":
		c, err := pokeapay.NewSTK(pokeapay.STKConfig{APIURL: cfg.PokeaPayAPIURL, Email: cfg.PokeaPayEmail,
			Password: cfg.PokeaPayPassword, OutletCode: cfg.PokeaPayOutletCode, Logger: log})
		if err != nil {
			return err
		}
		stk = c
	case "pochipay":
		c, err := pochipay.New(pochipay.Config{BaseURL: cfg.PochipayURL, Email: cfg.PochipayEmail,
			Password: cfg.PochipayPassword, Logger: log})
		if err != nil {
			return err
		}
		stk = c
	}
	var pokea payments.PokeaPay
	if cfg.PokeaPayOutletCode != "" {
		pc, err := pokeapay.New(pokeapay.Config{CheckoutURL: cfg.PokeaPayCheckoutURL, CoreURL: cfg.PokeaPayCoreURL,
			OutletCode: cfg.PokeaPayOutletCode, HashKey: cfg.PokeaPayHashKey, Live: cfg.PokeaPayLive, Logger: log})
		if err != nil {
			return err
		}
		pokea = pc
	}
	var pp *pesapal.Client
	var ipn func(context.Context) (string, error)
	if key != "" {
		pp, err = pesapal.New(pesapal.Config{BaseURL: pesapalURL, ConsumerKey: key, ConsumerSecret: sec, Logger: log})
		if err != nil {
			return err
		}
		ipnURL := cfg.PublicURL + "/ipn/pesapal"
		ipn = payments.IPNOnce(func(ctx context.Context) (string, error) { return pp.EnsureIPN(ctx, ipnURL, "POST") })
		if !cfg.Sandbox {
			origins = append(origins, web.Origin(pesapalURL))
		}
	}

	var pesapalGW payments.Pesapal
	if pp != nil {
		pesapalGW = pp
	}
	svc, err := payments.New(payments.Config{PublicURL: cfg.PublicURL, Pesapal: pesapalGW, PesapalIPN: ipn, PokeaPay: pokea, STK: stk, Store: st, Logger: log, Now: opt.Now,
		WebhookAllowPrivate: cfg.WebhookAllowPrivate, TestMode: cfg.Sandbox})
	if err != nil {
		return err
	}

	hashKey, blockKey := deriveKey(secret, "session-hash"), deriveKey(secret, "session-block")
	sessions := web.NewSessions(hashKey, blockKey, strings.HasPrefix(cfg.PublicURL, "https://"))
	ready := handlers.NewReadiness()
	engine := web.New(handlers.New(svc, sessions, log), web.Config{ProviderOrigins: origins, Sandbox: sandboxHandler, Logger: log, Sessions: sessions, Ready: ready})
	srv := &http.Server{Handler: engine, ReadHeaderTimeout: 10 * time.Second, ReadTimeout: 30 * time.Second,
		WriteTimeout: 60 * time.Second, IdleTimeout: 120 * time.Second}

	// Serving starts now so that /readyz can say "starting" (503); every
	// other route answers 503 with Retry-After until start-up is done. A
	// merchant request that arrives before its API key exists must never
	// hear 401. Start-up itself needs no request served.
	serveErr := make(chan error, 1)
	go func() { serveErr <- srv.Serve(ln) }()
	if opt.Starting != nil {
		opt.Starting(loopbackURL(ln.Addr()))
	}
	if err := bootstrap(ctx, cfg, st, svc, sb, out); err != nil {
		_ = srv.Close()
		return err
	}
	ready.Ready()
	if ipn != nil {
		// Register the IPN URL now; a provider that is down only delays it
		// to the first payment.
		go func() {
			rctx, cancel := context.WithTimeout(ctx, 30*time.Second)
			defer cancel()
			if _, err := ipn(rctx); err != nil {
				log.Warn("pesapal IPN registration failed; retried at the first payment", "err", err)
			}
		}()
	}

	rctx, cancelReconciler := context.WithCancel(ctx)
	reconciled := make(chan struct{})
	every := opt.ReconcileEvery
	if every == 0 {
		every = 5 * time.Second
	}
	go func() { defer close(reconciled); svc.RunReconciler(rctx, every) }()
	// The webhook worker shares the reconciler's lifetime.
	delivered := make(chan struct{})
	go func() { defer close(delivered); svc.RunWebhooks(rctx, time.Second) }()

	log.Info("listening", "addr", ln.Addr().String(), "public_url", cfg.PublicURL, "sandbox", cfg.Sandbox)
	if opt.Ready != nil {
		opt.Ready(&app{URL: loopbackURL(ln.Addr()), Sandbox: sb, Store: st, Service: svc})
	}

	select {
	case err := <-serveErr:
		cancelReconciler()
		<-reconciled
		<-delivered
		return fmt.Errorf("server: %w", err)
	case <-ctx.Done():
	}
	// Draining first: /readyz answers 503 while the requests under way
	// finish, so a load balancer stops sending new ones.
	ready.Drain()
	log.Info("shutting down")
	if opt.Draining != nil {
		opt.Draining(loopbackURL(ln.Addr()))
	}
	shutCtx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	err = srv.Shutdown(shutCtx)
	cancelReconciler()
	<-reconciled
	<-delivered
	return err
}

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
			if err := st.CreateAdmin(ctx, store.NewID("adm", st.Now()), email, hash); err != nil {
				return err
			}
			if cfg.AdminPassword == "" {
				lines = append(lines, fmt.Sprintf("  Admin:        %s/admin/login  %s / %s  (shown once)", cfg.PublicURL, email, password))
			} else {
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
		if err != nil {
			return err
		}
		if cfg.APIKey == "" && created {
			lines = append(lines, "  API key:      "+key+"  (shown once)")
		}
	}

	if has, err := st.HasMerchant(ctx, "default"); err != nil {
		return err
	} else if has {
		if err := st.RenameMerchant(ctx, "default", cfg.MerchantName); err != nil {
			return err
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

// loopbackURL is how this process reaches its own listener.
func loopbackURL(addr net.Addr) string {
	tcp, ok := addr.(*net.TCPAddr)
	if !ok {
		return "http://" + addr.String()
	}
	host := "127.0.0.1"
	if tcp.IP != nil && !tcp.IP.IsUnspecified() {
		host = tcp.IP.String()
	}
	return "http://" + net.JoinHostPort(host, fmt.Sprint(tcp.Port))
}

func randomHex(n int) string {
	b := make([]byte, n)
	if _, err := rand.Read(b); err != nil {
		panic("no randomness: " + err.Error())
	}
	return hex.EncodeToString(b)
}

// deriveKey derives a purpose-bound 32-byte key from the app secret.
func deriveKey(secret, purpose string) []byte {
	m := hmac.New(sha256.New, []byte(secret))
	m.Write([]byte(purpose))
	return m.Sum(nil)
}
