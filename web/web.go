// Package web builds the Gin engine: the middleware (request ids, logging,
// recovery, security headers, size limits, sessions, CSRF) and the one route table of the
// whole app.
package web

import (
	"fmt"
	"log/slog"
	"net/http"
	"net/url"

	"github.com/gin-gonic/gin"

	"checkout/handlers"
	"checkout/metrics"
)

// Config is what the engine needs besides the handlers.
type Config struct {
	// ProviderOrigins are the origins of configured provider pages that our
	// pages frame or post to (Pesapal's iframe).
	ProviderOrigins []string
	// Sandbox, when set, is mounted under /sandbox/.
	Sandbox http.Handler
	// Logger writes the request lines and panics; wrap its handler in
	// LogHandler so that they carry the request id.
	Logger *slog.Logger
	// Sessions are the cookie sessions, the same the handlers were built
	// with.
	Sessions *Sessions
	// Ready is the app's start-up state: until it is ready, every route but
	// /healthz and /readyz answers 503. nil serves at once (tests that
	// build the engine after start-up).
	Ready *handlers.Readiness
	// TrustedProxies are the CIDRs of reverse proxies whose X-Forwarded-For
	// is believed (CHECKOUT_TRUSTED_PROXIES, see ParseTrustedProxies): the
	// client is the rightmost address in it that is not one of them. None:
	// the socket's peer is the client.
	TrustedProxies []string
	// Limits are the rate limits; zero fields take DefaultLimits.
	Limits Limits
	// MetricsToken, when set, is the bearer token GET /metrics requires
	// (CHECKOUT_METRICS_TOKEN); empty leaves /metrics open.
	MetricsToken string
	// Metrics is the app's metrics, the same the payments service and the
	// provider clients count in: every request is counted in it, and GET
	// /metrics serves it. nil makes one for this engine alone (requests and
	// the runtime only).
	Metrics *metrics.Metrics
}

// New builds the engine with every route of the app.
func New(h *handlers.Handlers, cfg Config) *gin.Engine {
	gin.SetMode(gin.ReleaseMode)
	r := gin.New()
	r.HandleMethodNotAllowed = true
	// The client address (rate limits, logs) is the socket's peer unless
	// the peer is a trusted proxy; then X-Forwarded-For is read from the
	// right, skipping trusted proxies. X-Real-IP is not believed: one
	// header, one rule.
	r.RemoteIPHeaders = []string{"X-Forwarded-For"}
	if err := r.SetTrustedProxies(cfg.TrustedProxies); err != nil {
		panic(fmt.Sprintf("web: trusted proxies: %v", err)) // checked by ParseTrustedProxies at start
	}
	lim := cfg.Limits.withDefaults()
	ready := cfg.Ready
	if ready == nil {
		ready = handlers.NewReadiness()
		ready.Ready()
	}
	m := cfg.Metrics
	if m == nil {
		m = metrics.New()
	}
	r.Use(Instrument(m), RequestID(), Logger(cfg.Logger), Gzip(), Recover(cfg.Logger, h), ready.Gate(), h.TestModeMark())

	cop := http.NewCrossOriginProtection()
	sess := cfg.Sessions
	if sess == nil {
		// Every form and admin route needs them: refuse to build an
		// engine that would answer 500 to all of them.
		panic("web: Config.Sessions is required")
	}
	frames := append([]string{"'self'"}, cfg.ProviderOrigins...)
	customer := SecurityHeaders("'self'", frames, cfg.ProviderOrigins)
	admin := SecurityHeaders("'none'", nil, nil)
	bare := SecurityHeaders("'none'", nil, nil)
	forms := []gin.HandlerFunc{CrossOrigin(cop, h), sess.CSRF(h)}
	// Size limits (see Limit), in each group's shape, ahead of anything
	// that reads the request.
	pageLimit := Limit(h, FormBodyLimit, handlers.ShapePage)
	pesapalLimit := Limit(h, FormBodyLimit, handlers.ShapePesapal)
	providerLimit := Limit(h, FormBodyLimit, handlers.ShapeProvider)
	apiLimit := Limit(h, APIBodyLimit, handlers.ShapeAPI)

	// Operations.
	r.GET("/healthz", bare, pageLimit, h.Healthz)
	r.GET("/readyz", bare, pageLimit, h.Readyz(ready))
	r.GET("/metrics", bare, pageLimit, h.Metrics(cfg.MetricsToken, m.Handler(cfg.Logger)))

	// Static files: vendored htmx, our CSS and icon, embedded in the
	// binary, precompressed and fingerprinted at build time (see static).
	r.GET("/static/*name", pageLimit, serveStatic(h))
	r.HEAD("/static/*name", pageLimit, serveStatic(h))

	// Customer pages.
	c := r.Group("/", customer)
	c.Use(pageLimit)
	c.Use(forms...)
	c.GET("/c/:id", h.CheckoutPage)
	c.POST("/c/:id/pay", perIP(h, lim.Pay), h.Pay)
	c.GET("/c/:id/pay", h.PayFormReload)
	c.GET("/c/:id/pesapal", h.PesapalFrame)
	c.GET("/c/:id/stk", h.STKWait)
	c.GET("/c/:id/status", h.Status)
	c.POST("/c/:id/cancel", h.Cancel)
	// Provider returns: the customer's browser, limited per client IP and
	// per reference.
	ret := c.Group("/return", perIP(h, lim.Return))
	ret.GET("/pesapal", perQueryReference(h, lim.Reference, "OrderTrackingId"), h.PesapalReturn)
	ret.GET("/pokeapay", perQueryReference(h, lim.Reference, "oref"), h.PokeaPayReturn)
	// Payment links: the page is an ordinary page (it makes nothing); its
	// POST makes a checkout and starts a payment, limited per client IP.
	c.GET("/l/:id", h.OpenLink)
	c.POST("/l/:id", perIP(h, lim.Link), h.LinkPay)

	// Provider notifications: server to server, exempt from CSRF,
	// authenticated by asking the provider.
	// Limited per client IP here, per reference where payments parses
	// them (payments.Config.NotificationLimit), and in size.
	notify := perIP(h, lim.Notify)
	ipn := r.Group("/ipn", bare, notify)
	ipn.GET("/pesapal", pesapalLimit, h.PesapalIPN)
	ipn.POST("/pesapal", pesapalLimit, h.PesapalIPN)
	ipn.POST("/pokeapay", providerLimit, h.PokeaPayIPN)
	cb := r.Group("/callback", bare, notify)
	cb.POST("/pokeapay-stk", providerLimit, h.STKCallback("pokeapay"))
	cb.POST("/pochipay", providerLimit, h.STKCallback("pochipay"))
	cb.POST("/pokeapay-b2c", providerLimit, h.PayoutCallback("pokeapay"))
	cb.POST("/pochipay-payout", providerLimit, h.PayoutCallback("pochipay"))

	// Merchant API.
	api := r.Group("/api/v1", bare, apiLimit, h.APIAuth(), perAPIKey(h, lim.API))
	api.POST("/checkouts", h.CreateCheckout)
	api.GET("/checkouts/:id", h.GetCheckout)
	api.POST("/payment_links", h.CreatePaymentLink)
	api.GET("/payment_links", h.ListPaymentLinks)
	api.GET("/payment_links/:id", h.GetPaymentLink)
	api.POST("/payment_links/:id/deactivate", h.DeactivatePaymentLink)
	api.POST("/checkouts/:id/refunds", h.CreateRefund)
	api.GET("/refunds", h.ListRefunds)
	api.GET("/refunds/:id", h.GetRefund)
	api.POST("/payouts", h.CreatePayout)
	api.GET("/payouts", h.ListPayouts)
	api.GET("/payouts/:id", h.GetPayout)

	// Admin.
	login := r.Group("/admin", admin, pageLimit)
	login.Use(forms...)
	login.GET("/login", h.LoginPage)
	login.POST("/login", LoginLimit(h), h.Login)
	// The session is checked before the form checks, so a POST without a
	// session (timed out, or no cookies at all) goes to the login page too
	// instead of a "form expired" refusal; with a session, CSRF still applies.
	ad := r.Group("/admin", admin, pageLimit)
	ad.Use(sess.RequireAdmin(h))
	ad.Use(forms...)
	ad.Use(h.AdminNav())
	ad.GET("", h.Dashboard)
	ad.POST("/logout", h.Logout)
	ad.GET("/orders", h.Orders)
	ad.GET("/orders.csv", h.OrdersCSV)
	ad.GET("/orders/:id", h.Order)
	ad.POST("/orders/:id/recheck", h.Recheck)
	ad.POST("/orders/:id/emails/:email/resend", h.ResendEmail)
	ad.POST("/orders/:id/refunds", h.RefundOrder)
	ad.GET("/refunds", h.Refunds)
	ad.GET("/refunds/:id", h.Refund)
	ad.POST("/refunds/:id/approve", h.ApproveRefund)
	ad.POST("/refunds/:id/decline", h.DeclineRefund)
	ad.POST("/refunds/:id/resolve", h.ResolveRefund)
	ad.GET("/payouts", h.Payouts)
	ad.GET("/payouts/new", h.NewPayout)
	ad.POST("/payouts", h.SendMoney)
	ad.GET("/payouts/:id", h.Payout)
	ad.POST("/payouts/:id/approve", h.ApprovePayout)
	ad.POST("/payouts/:id/decline", h.DeclinePayout)
	ad.POST("/payouts/:id/resolve", h.ResolvePayout)
	ad.GET("/links", h.Links)
	ad.GET("/links/new", h.NewLink)
	ad.POST("/links", h.CreateLink)
	ad.GET("/links/:id", h.LinkDetail)
	ad.GET("/links/:id/qr.svg", h.LinkQR)
	ad.POST("/links/:id/deactivate", h.DeactivateLink)
	ad.GET("/deliveries", h.Deliveries)
	ad.POST("/deliveries/:id/resend", h.ResendDelivery)
	ad.GET("/webhooks", h.Webhooks)
	ad.POST("/webhooks/:merchant/url", h.SaveWebhookURL)
	ad.POST("/webhooks/:merchant/rotate", h.RotateWebhookSecret)
	ad.POST("/webhooks/:merchant/test", h.SendTestWebhook)

	// Merchants and their API keys: OWNER ONLY. The integrator puts this
	// block under h.RequireRole("owner"). A group of its own because the
	// merchant form posts a logo: multipart, within UploadBodyLimit
	// instead of the admin's 16 KB (the logo itself is at most 200 KB,
	// checked by payments). The session is checked before the body is
	// read: without one, a post of the larger body costs nothing.
	uploadLimit := UploadLimit(h, UploadBodyLimit, handlers.ShapePage)
	merchantRoute := func(limit, handler gin.HandlerFunc) []gin.HandlerFunc {
		chain := []gin.HandlerFunc{sess.RequireAdmin(h), limit}
		chain = append(chain, forms...)
		return append(chain, h.AdminNav(), handler)
	}
	mer := r.Group("/admin/merchants", admin)
	mer.GET("", merchantRoute(pageLimit, h.Merchants)...)
	mer.GET("/new", merchantRoute(pageLimit, h.NewMerchant)...)
	mer.POST("", merchantRoute(uploadLimit, h.CreateMerchant)...)
	mer.GET("/:id", merchantRoute(pageLimit, h.Merchant)...)
	mer.POST("/:id", merchantRoute(uploadLimit, h.UpdateMerchant)...)
	mer.POST("/:id/keys", merchantRoute(pageLimit, h.CreateAPIKey)...)
	mer.POST("/:id/keys/:key/rotate", merchantRoute(pageLimit, h.RotateAPIKey)...)
	mer.POST("/:id/keys/:key/revoke", merchantRoute(pageLimit, h.RevokeAPIKey)...)

	// Merchants' logos, for their customer pages: public, cached for good
	// (a new logo has a new URL), answered from memory (see
	// handlers.MerchantLogo).
	r.GET("/m/:id/logo/:etag", bare, pageLimit, h.MerchantLogo)

	// Simulators, in sandbox mode only. They set their own headers.
	if cfg.Sandbox != nil {
		r.Any("/sandbox/*path", gin.WrapH(cfg.Sandbox))
	}

	r.NoRoute(bare, pageLimit, h.NotFound)
	r.NoMethod(bare, pageLimit, h.NotFound)
	return r
}

// Origin returns the scheme://host of a URL, for the CSP.
func Origin(raw string) string {
	u, err := url.Parse(raw)
	if err != nil || u.Scheme == "" || u.Host == "" {
		return ""
	}
	return u.Scheme + "://" + u.Host
}
