// Command checkout runs the hosted checkout: the customer pages, the
// merchant API, the provider returns and notifications, the admin, and the
// reconciler. In sandbox (test) mode, chosen with CHECKOUT_SANDBOX=1 or
// assumed with no provider credentials on a loopback public URL and no
// webhook URL beyond this machine, the providers are simulated under
// /sandbox/.
//
// `checkout seed -orders N` fills a test-mode database with made-up orders
// instead (see seed.go).
package main

import (
	"context"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/signal"
	"runtime/debug"
	"strings"
	"syscall"
	"time"

	"checkout/gateway/sandbox"
	"checkout/gateway/smtpmail"
	"checkout/handlers"
	"checkout/metrics"
	"checkout/payments"
	"checkout/store"
	"checkout/web"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if len(os.Args) > 1 && os.Args[1] == "seed" {
		if err := runSeed(ctx, os.Args[2:], os.Getenv, os.Stdout, os.Stderr); err != nil {
			if !errors.Is(err, flag.ErrHelp) {
				fmt.Fprintln(os.Stderr, "checkout: "+err.Error())
			}
			os.Exit(2)
		}
		return
	}
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

// logFlushEvery bounds how long a log line waits in the buffer.
const logFlushEvery = 200 * time.Millisecond

// run starts the app and blocks until ctx ends. out receives the start-up
// banner (the sandbox credentials and demo link).
func run(ctx context.Context, getenv func(string) string, out io.Writer, opt runOptions) error {
	cfg, err := loadConfig(getenv)
	if err != nil {
		return err
	}
	// Log lines are buffered (one request line per request would be one
	// write each) and flushed within logFlushEvery, at once from Warn up,
	// and when run returns. They are slog's text lines, the request line
	// formatted faster (web.NewTextHandler).
	lw := web.NewLogWriter(os.Stderr, 64<<10, logFlushEvery)
	defer lw.Close()
	log := slog.New(web.LogHandler(lw.Handler(web.NewTextHandler(lw, &slog.HandlerOptions{Level: slog.LevelInfo}))))
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

	var sim simSecrets
	if cfg.Sandbox {
		sim = simSecrets{Secret: randomHex(16), HashKey: randomHex(16)}
	}
	prov := resolveProviders(cfg, loopbackURL(ln.Addr()), sim)
	var sb *sandbox.Sandbox
	var sandboxHandler http.Handler
	if prov.Sandbox != nil {
		sc := *prov.Sandbox
		sc.Logger = log
		sb = sandbox.New(sc)
		defer sb.Close()
		sandboxHandler = sb.Handler()
		if prov.Payout.Provider == "pokeapay" {
			prov.Payout.Key = sb.B2CKey() // B2C requests are signed with the simulator's key
		}
	}
	// One set of metrics for this process, on its own registry: the
	// provider clients, the service and the engine count in it.
	m := metrics.New()
	gw, err := newGateways(prov, log, payments.CallObserver(m))
	if err != nil {
		return err
	}
	ipn := gw.PesapalIPN
	mailer, err := newMailer(cfg, sb, log)
	if err != nil {
		return err
	}
	svc, err := payments.New(payments.Config{PublicURL: cfg.PublicURL, Pesapal: gw.Pesapal, PesapalIPN: ipn, PokeaPay: gw.PokeaPay, STK: gw.STK, Store: st, Logger: log, Now: opt.Now,
		WebhookAllowPrivate: cfg.WebhookAllowPrivate, TestMode: cfg.Sandbox,
		NotificationLimit: web.NewLimiter(web.DefaultLimits.Reference), Metrics: m,
		Mailer: mailer, MailFrom: cfg.MailFrom,
		Payouts: gw.Payouts, Refunder: gw.Refunder, ApprovalLimit: cfg.ApprovalLimit,
		// Admins' two-factor secrets are sealed with a key of their own,
		// derived like the session keys. A new CHECKOUT_SECRET cannot open
		// them: such an admin's code step fails (logged, naming the
		// cause) until two-factor is cleared in the database (README).
		TOTPKey: deriveKey(secret, "totp-secret")})
	if err != nil {
		return err
	}

	hashKey, blockKey := deriveKey(secret, "session-hash"), deriveKey(secret, "session-block")
	sessions := web.NewSessions(hashKey, blockKey, strings.HasPrefix(cfg.PublicURL, "https://"))
	ready := handlers.NewReadiness()
	engine := web.New(handlers.New(svc, sessions, log), web.Config{ProviderOrigins: prov.Origins, Sandbox: sandboxHandler, Logger: log, Sessions: sessions, Ready: ready,
		TrustedProxies: cfg.TrustedProxies, MetricsToken: cfg.MetricsToken, Metrics: m})
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
	// Start-up leaves garbage behind (creating an admin hashes a password
	// with Argon2, 19 MiB): hand it back to the system now, not whenever
	// the runtime's scavenger gets to it, so an idle app stays small.
	debug.FreeOSMemory()
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
	// So does the receipt email worker (it returns at once when no mail
	// is configured).
	mailed := make(chan struct{})
	go func() { defer close(mailed); svc.RunEmails(rctx, mailEvery) }()
	// And the transfer worker, which sends queued refunds and payouts and
	// asks about sent ones (it returns at once when neither a payout
	// provider nor a refunder is configured).
	transferred := make(chan struct{})
	go func() { defer close(transferred); svc.RunTransfers(rctx, transferEvery) }()

	log.Info("listening", "addr", ln.Addr().String(), "public_url", cfg.PublicURL, "sandbox", cfg.Sandbox)
	if opt.Ready != nil {
		opt.Ready(&app{URL: loopbackURL(ln.Addr()), Sandbox: sb, Store: st, Service: svc})
	}

	select {
	case err := <-serveErr:
		cancelReconciler()
		<-reconciled
		<-delivered
		<-mailed
		<-transferred
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
	// The workers stop after the requests, so that a webhook queued by the
	// last of them still goes out; each gives the work under way a few
	// seconds (payments' drain) and returns with nothing left running.
	cancelReconciler()
	<-reconciled
	<-delivered
	<-mailed
	<-transferred
	return err
}

// transferEvery is how often the transfer worker looks for refunds and
// payouts to send or to ask about.
const transferEvery = time.Second

// mailEvery is how often the receipt email worker looks for due emails.
const mailEvery = 2 * time.Second

// newMailer is what sends receipt emails: the SMTP server of
// CHECKOUT_SMTP_URL; without one, in sandbox mode, the sandbox's inbox
// (/sandbox/mail); otherwise nothing (nil: no receipt is queued).
func newMailer(cfg *config, sb *sandbox.Sandbox, log *slog.Logger) (payments.Mailer, error) {
	switch {
	case cfg.SMTP != nil:
		c, err := smtpmail.New(*cfg.SMTP)
		if err != nil {
			return nil, &configError{name: "CHECKOUT_SMTP_URL", msg: "the SMTP client refused these settings"}
		}
		log.Info("receipt emails go out over SMTP", "server", cfg.SMTP.String(), "from", cfg.MailFrom)
		return c, nil
	case sb != nil:
		log.Info("receipt emails go to the sandbox inbox", "path", sandbox.MailPath)
		return sb, nil
	}
	log.Info("receipt emails are off: set CHECKOUT_SMTP_URL to send them")
	return nil, nil
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
	rand.Read(b) // never fails: the runtime stops the program if it cannot read
	return hex.EncodeToString(b)
}

// deriveKey derives a purpose-bound 32-byte key from the app secret.
func deriveKey(secret, purpose string) []byte {
	m := hmac.New(sha256.New, []byte(secret))
	m.Write([]byte(purpose))
	return m.Sum(nil)
}
