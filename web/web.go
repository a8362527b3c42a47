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
	api.GET("/checkouts", h.ListCheckouts)
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

	// The API's reference: its OpenAPI document and the page that renders
	// it. Public (no key), built once, limited per client IP and in size.
	docs := perIP(h, lim.Docs)
	r.GET("/api/openapi.json", bare, Limit(h, FormBodyLimit, handlers.ShapeAPI), docs, h.OpenAPI)
	r.GET("/docs/api", bare, pageLimit, docs, h.APIDocs)

	// Admin.
	login := r.Group("/admin", admin, pageLimit)
	login.Use(forms...)
	login.GET("/login", h.LoginPage)
	login.POST("/login", LoginLimit(h), h.Login)
	// The second step of a login with two-factor on: only a browser whose
	// password was right in the last 5 minutes gets the form. Codes are
	// limited per IP like passwords (CodeLimit), and wrong ones throttled
	// per client and per account (payments' login guard).
	login.GET("/login/totp", h.LoginTOTPPage)
	login.POST("/login/totp", CodeLimit(h), h.LoginTOTP)
	// Invite links: no session; limited per client IP like the login
	// (both the page and the form: a token is guessed by trying them).
	// The token is a credential: the request line logs no path under
	// /admin/invite/ (loggedPath) and the pages send no Referer.
	invite := r.Group("/admin/invite", admin, NoReferrer, pageLimit, perIP(h, inviteRate))
	invite.Use(forms...)
	invite.GET("/:token", h.InvitePage)
	invite.POST("/:token", h.AcceptInvite)
	// The session is checked before the form checks, so a POST without a
	// session (timed out, or no cookies at all) goes to the login page too
	// instead of a "form expired" refusal; with a session, CSRF still applies.
	ad := r.Group("/admin", admin, pageLimit)
	ad.Use(sess.RequireAdmin(h))
	ad.Use(forms...)
	ad.Use(h.AdminNav())
	// Every role (viewer and up): the reading pages, and logout. A new
	// POST belongs in manager or owner below (TestAdminRoutesRefuseRolesBelowTheirGroup
	// fails otherwise).
	ad.GET("", h.Dashboard)
	ad.POST("/logout", h.Logout)
	ad.GET("/orders", h.Orders)
	ad.GET("/orders/:id", h.Order)
	ad.GET("/refunds", h.Refunds)
	ad.GET("/refunds/:id", h.Refund)
	ad.GET("/payouts", h.Payouts)
	ad.GET("/payouts/new", h.NewPayout)
	ad.GET("/payouts/:id", h.Payout)
	ad.GET("/links", h.Links)
	ad.GET("/links/new", h.NewLink)
	ad.GET("/links/:id", h.LinkDetail)
	ad.GET("/links/:id/qr.svg", h.LinkQR)
	ad.GET("/deliveries", h.Deliveries)
	// Managers and owners: acting on orders, refunds, payouts, links and
	// deliveries (refunds and payouts above the limit still wait for a
	// second admin), and the orders CSV (customers' contacts).
	mgr := ad.Group("", h.RequireRole("manager"))
	mgr.GET("/orders.csv", h.OrdersCSV)
	mgr.POST("/orders/:id/recheck", h.Recheck)
	mgr.POST("/orders/:id/emails/:email/resend", h.ResendEmail)
	mgr.POST("/orders/:id/refunds", h.RefundOrder)
	mgr.POST("/refunds/:id/approve", h.ApproveRefund)
	mgr.POST("/refunds/:id/decline", h.DeclineRefund)
	mgr.POST("/refunds/:id/resolve", h.ResolveRefund)
	mgr.POST("/payouts", h.SendMoney)
	mgr.POST("/payouts/:id/approve", h.ApprovePayout)
	mgr.POST("/payouts/:id/decline", h.DeclinePayout)
	mgr.POST("/payouts/:id/resolve", h.ResolvePayout)
	mgr.POST("/links", h.CreateLink)
	mgr.POST("/links/:id/deactivate", h.DeactivateLink)
	mgr.POST("/deliveries/:id/resend", h.ResendDelivery)
	// Owners: webhook settings, the team and invites, the audit log.
	own := ad.Group("", h.RequireRole("owner"))
	own.GET("/webhooks", h.Webhooks)
	own.POST("/webhooks/:merchant/url", h.SaveWebhookURL)
	own.POST("/webhooks/:merchant/rotate", h.RotateWebhookSecret)
	own.POST("/webhooks/:merchant/test", h.SendTestWebhook)
	own.GET("/team", h.Team)
	own.POST("/team/invites", h.CreateInvite)
	own.POST("/team/invites/:id/revoke", h.RevokeInvite)
	own.POST("/team/:id/role", h.ChangeRole)
	own.POST("/team/:id/remove", h.RemoveMember)
	own.GET("/audit", h.AuditLog)

	// Every role: the admin's own account (password, two-factor login,
	// its own sessions). Each POST acts on the signed-in admin only; the
	// password checks run under the login throttle and the hash cap.
	ad.GET("/account", h.Account)
	ad.POST("/account/password", h.ChangePassword)
	ad.GET("/account/totp", h.TOTPSetup)
	ad.POST("/account/totp", h.EnableTOTP)
	ad.POST("/account/totp/disable", h.DisableTOTP)
	ad.POST("/account/sessions/:id/revoke", h.RevokeSession)

	// Merchants and their API keys: owners only. A group of its own because the
	// merchant form posts a logo: multipart, within UploadBodyLimit
	// instead of the admin's 16 KB (the logo itself is at most 200 KB,
	// checked by payments). The session is checked before the body is
	// read: without one, a post of the larger body costs nothing.
	uploadLimit := UploadLimit(h, UploadBodyLimit, handlers.ShapePage)
	merchantRoute := func(limit, handler gin.HandlerFunc) []gin.HandlerFunc {
		chain := []gin.HandlerFunc{sess.RequireAdmin(h), h.RequireRole("owner"), limit}
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
	// handlers.MerchantLogo), limited per client IP: a made-up merchant
	// id is a database read.
	r.GET("/m/:id/logo/:etag", bare, pageLimit, perIP(h, lim.Logo), h.MerchantLogo)

	// Simulators, in sandbox mode only. They set their own headers.
	if cfg.Sandbox != nil {
		r.Any("/sandbox/*path", gin.WrapH(cfg.Sandbox))
	}

	r.NoRoute(bare, pageLimit, h.NotFound)
	r.NoMethod(bare, pageLimit, h.NotFound)
	return r
}

// inviteRate limits the invite links per client IP: the login's rate.
var inviteRate = Rate{Every: loginEvery, Burst: loginBurst}

// Origin returns the scheme://host of a URL, for the CSP.
func Origin(raw string) string {
	u, err := url.Parse(raw)
	if err != nil || u.Scheme == "" || u.Host == "" {
		return ""
	}
	return u.Scheme + "://" + u.Host
}
