// Package web builds the Gin engine: the middleware (request ids, logging,
// recovery, security headers, size limits, sessions, CSRF) and the one route table of the
// whole app.
package web

import (
	"io/fs"
	"log/slog"
	"net/http"
	"net/url"

	"github.com/gin-gonic/gin"

	"checkout/handlers"
	"checkout/static"
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
}

// New builds the engine with every route of the app.
func New(h *handlers.Handlers, cfg Config) *gin.Engine {
	gin.SetMode(gin.ReleaseMode)
	r := gin.New()
	r.HandleMethodNotAllowed = true
	// Behind a proxy, set trusted proxies explicitly; by default the peer
	// address is the client.
	if err := r.SetTrustedProxies(nil); err != nil {
		panic(err)
	}
	ready := cfg.Ready
	if ready == nil {
		ready = handlers.NewReadiness()
		ready.Ready()
	}
	r.Use(RequestID(), Logger(cfg.Logger), Recover(cfg.Logger, h), ready.Gate(), h.TestModeMark())

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

	// Static files: vendored htmx and our CSS, embedded in the binary.
	sub, err := fs.Sub(static.FS, ".")
	if err != nil {
		panic(err)
	}
	r.Group("/static", pageLimit).StaticFS("/", http.FS(sub))

	// Customer pages.
	c := r.Group("/", customer)
	c.Use(pageLimit)
	c.Use(forms...)
	c.GET("/c/:id", h.CheckoutPage)
	c.POST("/c/:id/pay", h.Pay)
	c.GET("/c/:id/pay", h.PayFormReload)
	c.GET("/c/:id/pesapal", h.PesapalFrame)
	c.GET("/c/:id/stk", h.STKWait)
	c.GET("/c/:id/status", h.Status)
	c.POST("/c/:id/cancel", h.Cancel)
	c.GET("/return/pesapal", h.PesapalReturn)
	c.GET("/return/pokeapay", h.PokeaPayReturn)

	// Provider notifications: server to server, exempt from CSRF,
	// authenticated by asking the provider.
	r.GET("/ipn/pesapal", bare, pesapalLimit, h.PesapalIPN)
	r.POST("/ipn/pesapal", bare, pesapalLimit, h.PesapalIPN)
	r.POST("/ipn/pokeapay", bare, providerLimit, h.PokeaPayIPN)
	r.POST("/callback/pokeapay-stk", bare, providerLimit, h.STKCallback("pokeapay"))
	r.POST("/callback/pochipay", bare, providerLimit, h.STKCallback("pochipay"))

	// Merchant API.
	api := r.Group("/api/v1", bare, apiLimit, h.APIAuth())
	api.POST("/checkouts", h.CreateCheckout)
	api.GET("/checkouts/:id", h.GetCheckout)

	// Admin.
	r.GET("/admin", pageLimit, func(c *gin.Context) { c.Redirect(http.StatusSeeOther, "/admin/orders") })
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
	ad.POST("/logout", h.Logout)
	ad.GET("/orders", h.Orders)
	ad.GET("/orders/:id", h.Order)
	ad.POST("/orders/:id/recheck", h.Recheck)
	ad.GET("/deliveries", h.Deliveries)
	ad.POST("/deliveries/:id/resend", h.ResendDelivery)
	ad.GET("/webhooks", h.Webhooks)
	ad.POST("/webhooks/:merchant/url", h.SaveWebhookURL)
	ad.POST("/webhooks/:merchant/rotate", h.RotateWebhookSecret)
	ad.POST("/webhooks/:merchant/test", h.SendTestWebhook)

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
