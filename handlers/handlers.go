// Package handlers holds the HTTP handlers, one file per area: customer
// checkout pages, provider returns and notifications, the merchant API, the
// admin. Handlers are thin: they parse the request, call the payments
// service, and render a templ page or JSON. Errors go through one place
// (fail), which logs them and shows a generic page or JSON error with the
// request id; a customer never sees an error's text.
package handlers

import (
	"bytes"
	"log/slog"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/a-h/templ"
	"github.com/gin-gonic/gin"

	"checkout/locale"
	"checkout/payments"
	"checkout/reqctx"
	"checkout/templates"
)

// Handlers holds what every handler needs.
type Handlers struct {
	svc      *payments.Service
	sessions Sessions
	log      *slog.Logger
	// exports holds a slot for each CSV export running (maxExports).
	exports chan struct{}
	// checkoutPages are the checkout pages last rendered (pagecache.go).
	checkoutPages *pageCache
	// fixedParts are the checkout pages' method choices and amounts
	// (fixedparts.go).
	fixedParts *fixedPartsCache
}

// Sessions is what the admin login and logout need from the cookie
// sessions (web.Sessions).
type Sessions interface {
	// Login starts a fresh admin session used at now, with a fresh CSRF
	// token; its cookie carries token, whose server-side row
	// payments.StartAdminSession made.
	Login(c *gin.Context, email string, epoch int64, token string, now time.Time) error
	// Logout ends the admin session in this browser (a login waiting for
	// its code included).
	Logout(c *gin.Context) error
	// StartTOTPLogin replaces this browser's admin session with a login
	// that passed its password at now and waits for its two-factor code;
	// it opens no admin page.
	StartTOTPLogin(c *gin.Context, email string, epoch int64, now time.Time) error
	// TOTPLogin is the login waiting for its code in this browser: email
	// "" when there is none.
	TOTPLogin(c *gin.Context) (email string, epoch int64, started time.Time)
	// TOTPEnrolment is the two-factor secret this browser's admin is
	// setting up, and when it was made; "" when none.
	TOTPEnrolment(c *gin.Context) (secret string, made time.Time)
	// SetTOTPEnrolment keeps the secret being set up in the admin session
	// ("" forgets it).
	SetTOTPEnrolment(c *gin.Context, secret string, now time.Time) error
	// LinkCheckout is the checkout this browser was given for a payment
	// link, "" if none is remembered.
	LinkCheckout(c *gin.Context, linkID string) string
	// RememberLinkCheckout remembers the checkout this browser was given
	// for a payment link.
	RememberLinkCheckout(c *gin.Context, linkID, checkoutID string) error
}

// New builds the handlers. log should carry each request's id (see
// web.LogHandler).
func New(svc *payments.Service, sessions Sessions, log *slog.Logger) *Handlers {
	return &Handlers{svc: svc, sessions: sessions, log: log, exports: make(chan struct{}, maxExports),
		checkoutPages: newPageCache(), fixedParts: newFixedPartsCache(svc.Methods)}
}

// keyTestMode is where TestModeMark leaves the "Test mode" mark for pages.
const keyTestMode = "test_mode"

// page fills the parts every page needs from the request. A page with a
// form is made with formPage.
func page(c *gin.Context, title string) templates.Page {
	p := templates.Page{Title: title, Nonce: reqctx.Nonce(c), RequestID: reqctx.RequestID(c.Request.Context()),
		TestMode: c.GetBool(keyTestMode)}
	if v, ok := c.Get(keyLang); ok {
		// A customer page (customerLang chose its language): its <html
		// lang> and its switch, which links to the page's own address (a
		// form shown again after a POST links to its GET, PayFormReload).
		if l, ok := v.(locale.Lang); ok {
			p.Lang, p.SwitchPath = string(l), c.Request.URL.Path
		}
	}
	return p
}

// formPage is page for a page with a form: it carries the CSRF token, which
// starts the customer session (its cookie) if the browser has none. Pages
// without a form leave the session alone. The token is masked here, afresh
// for this answer (reqctx.MaskCSRF: a compressed page must not leak it), once
// for all the page's forms.
func formPage(c *gin.Context, title string) templates.Page {
	p := page(c, title)
	p.CSRF = reqctx.MaskCSRF(reqctx.CSRF(c))
	return p
}

// AdminSession says whether an admin session (its email, last use, epoch
// and server-side token) is live, by the service's clock, and if so its
// row id; a live session's admin (id, email, role) is recorded on the
// request (reqctx): the question of web's RequireAdmin, passed to payments.
func (h *Handlers) AdminSession(c *gin.Context, email string, seen, epoch int64, token string) (sessionID string, live bool, err error) {
	u, id, err := h.svc.AdminSession(c.Request.Context(), email, seen, epoch, token)
	if err != nil || u == nil {
		return "", false, err
	}
	reqctx.SetAdminUser(c, u.ID, u.Email, u.Role)
	return id, true, nil
}

// Now is the service's clock, for the middleware's rules (session use,
// login rate).
func (h *Handlers) Now() time.Time { return h.svc.Now() }

// render writes a templ component into a buffer first, so a render error
// still gives a clean error page instead of half a page.
func (h *Handlers) render(c *gin.Context, status int, comp templ.Component) {
	buf := pages.Get().(*bytes.Buffer)
	defer putPage(buf)
	if err := comp.Render(renderContext(c), buf); err != nil {
		h.fail(c, err)
		return
	}
	writeHTML(c, status, buf.Bytes())
}

// pages are the buffers pages are rendered into, reused: a page is a few KB
// and is rendered on every view.
var pages = sync.Pool{New: func() any { return bytes.NewBuffer(make([]byte, 0, 8<<10)) }}

func putPage(buf *bytes.Buffer) {
	if buf.Cap() > 64<<10 {
		return // an unusually large page (a long admin list): let it go
	}
	buf.Reset()
	pages.Put(buf)
}

// htmlType is writeHTML's Content-Type value, shared read-only by every
// answer (net/http and Gin replace a header's slice, never write into it).
var htmlType = []string{"text/html; charset=utf-8"}

// writeHTML writes a whole page in one write, with its length.
func writeHTML(c *gin.Context, status int, body []byte) {
	h := c.Writer.Header()
	h["Content-Type"] = htmlType
	h["Content-Length"] = []string{strconv.Itoa(len(body))} // canonical key: Set without its check
	c.Status(status)
	_, _ = c.Writer.Write(body) // a client that went away is not our error
}

// wantsJSON reports whether the caller asked for JSON.
func wantsJSON(c *gin.Context) bool {
	return c.NegotiateFormat(gin.MIMEHTML, gin.MIMEJSON) == gin.MIMEJSON && c.GetHeader("Accept") != ""
}

// Fail is fail for the middleware in web (a session that cannot be saved,
// a panic).
func (h *Handlers) Fail(c *gin.Context, err error) { h.fail(c, err) }

// Forbidden refuses a request the middleware in web turned away (CSRF,
// cross-origin) with text, as a page or as JSON for API callers.
func (h *Handlers) Forbidden(c *gin.Context, text string) { forbidden(c, text) }

// fail logs an unexpected error with the route (the log handler adds the
// request id), and answers with a generic page (or JSON for API callers)
// that carries the request id.
func (h *Handlers) fail(c *gin.Context, err error) {
	h.log.ErrorContext(c.Request.Context(), "request failed",
		"route", c.FullPath(), "method", c.Request.Method,
		"checkout_id", c.Param("id"), "err", err)
	if c.Writer.Written() {
		c.Abort()
		return
	}
	if isAPI(c) {
		apiError(c, http.StatusInternalServerError, "internal_error",
			"something went wrong on our side; quote request id "+reqctx.RequestID(c.Request.Context()), "")
		return
	}
	customerNotice(c, http.StatusInternalServerError, "went_wrong", "went_wrong_text")
}

// notice renders the one-message page (expired, unknown, errors).
func notice(c *gin.Context, status int, heading, text string) {
	noticeWithLink(c, status, heading, text, "", "")
}

// noticeWithLink is notice with a "Return to <merchant>" link.
func noticeWithLink(c *gin.Context, status int, heading, text, returnURL, returnLabel string) {
	v := templates.NoticePage{Page: page(c, heading), Heading: heading, Text: text, Code: status,
		ReturnURL: returnURL, ReturnLabel: returnLabel}
	buf := pages.Get().(*bytes.Buffer)
	defer putPage(buf)
	if err := templates.NoticeView(v).Render(renderContext(c), buf); err != nil {
		c.String(status, heading)
		c.Abort()
		return
	}
	writeHTML(c, status, buf.Bytes())
	c.Abort()
}

// TooManyRequests refuses a request past a rate limit (web sets
// Retry-After): the JSON error object on the API, the provider's JSON shape
// on notification routes, a plain page elsewhere.
func (h *Handlers) TooManyRequests(c *gin.Context) {
	const text = "too many requests; retry after the number of seconds in Retry-After"
	p := c.Request.URL.Path
	switch {
	case isAPI(c):
		apiError(c, http.StatusTooManyRequests, "rate_limited", text, "")
		return
	case p == "/ipn/pesapal":
		h.Refuse(c, ShapePesapal, http.StatusTooManyRequests, text)
		return
	case strings.HasPrefix(p, "/ipn/") || strings.HasPrefix(p, "/callback/"):
		h.Refuse(c, ShapeProvider, http.StatusTooManyRequests, text)
		return
	}
	customerNotice(c, http.StatusTooManyRequests, "too_many", "too_many_text")
}

func forbidden(c *gin.Context, text string) {
	if isAPI(c) {
		apiError(c, http.StatusForbidden, "forbidden", text, "")
		return
	}
	// The middleware's two refusals of a customer's form are in the
	// catalog; any other text is shown as it is.
	if id, ok := refusalIDs[text]; ok {
		customerNotice(c, http.StatusForbidden, "refused", id)
		return
	}
	notice(c, http.StatusForbidden, "Request refused", text)
}

// refusalIDs are the catalog messages of the texts web's CSRF checks
// refuse a form with.
var refusalIDs = map[string]string{
	locale.Text(locale.EN, "form_expired"): "form_expired",
	locale.Text(locale.EN, "cross_site"):   "cross_site",
}

func isAPI(c *gin.Context) bool {
	p := c.Request.URL.Path
	return len(p) >= 5 && p[:5] == "/api/"
}

// NotFound answers unknown routes.
func (h *Handlers) NotFound(c *gin.Context) {
	if isAPI(c) {
		apiError(c, http.StatusNotFound, "not_found", "no such endpoint", "")
		return
	}
	customerNotice(c, http.StatusNotFound, "page_not_found", "page_not_found_text")
}
