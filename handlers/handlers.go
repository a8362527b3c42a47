// Package handlers holds the HTTP handlers, one file per area: customer
// checkout pages, provider returns and notifications, the merchant API, the
// admin. Handlers are thin: they parse the request, call the payments
// service, and render a templ page or JSON. Errors go through one place
// (fail), which logs them and shows a generic page or JSON error with the
// request id; a customer never sees an error's text.
package handlers

import (
	"bytes"
	"fmt"
	"log/slog"
	"net/http"
	"runtime/debug"

	"github.com/a-h/templ"
	"github.com/gin-gonic/gin"

	"checkout/payments"
	"checkout/templates"
)

// Handlers holds what every handler needs.
type Handlers struct {
	svc      *payments.Service
	sessions *Sessions
	log      *slog.Logger
	login    *loginLimiter
}

// New builds the handlers.
func New(svc *payments.Service, sessions *Sessions, log *slog.Logger) *Handlers {
	return &Handlers{svc: svc, sessions: sessions, log: log, login: newLoginLimiter()}
}

// Sessions returns the cookie sessions (the route table uses their
// middleware).
func (h *Handlers) Sessions() *Sessions { return h.sessions }

// page fills the parts every page needs from the request.
func page(c *gin.Context, title string) templates.Page {
	return templates.Page{Title: title, Nonce: c.GetString(keyNonce), CSRF: c.GetString(keyCSRF), RequestID: c.GetString(keyRequestID),
		TestMode: c.GetBool(keyTestMode)}
}

// render writes a templ component into a buffer first, so a render error
// still gives a clean error page instead of half a page.
func render(c *gin.Context, status int, comp templ.Component) {
	var buf bytes.Buffer
	if err := comp.Render(c.Request.Context(), &buf); err != nil {
		fail(c, err)
		return
	}
	c.Data(status, "text/html; charset=utf-8", buf.Bytes())
}

// wantsJSON reports whether the caller asked for JSON.
func wantsJSON(c *gin.Context) bool {
	return c.NegotiateFormat(gin.MIMEHTML, gin.MIMEJSON) == gin.MIMEJSON && c.GetHeader("Accept") != ""
}

// fail logs an unexpected error with the request id and route, and answers
// with a generic page (or JSON for API callers) that carries the request id.
func fail(c *gin.Context, err error) {
	slog.Default().ErrorContext(c.Request.Context(), "request failed",
		"request_id", c.GetString(keyRequestID), "route", c.FullPath(), "method", c.Request.Method,
		"checkout_id", c.Param("id"), "err", err)
	if c.Writer.Written() {
		c.Abort()
		return
	}
	if isAPI(c) {
		apiError(c, http.StatusInternalServerError, "internal_error",
			"something went wrong on our side; quote request id "+c.GetString(keyRequestID), "")
		return
	}
	notice(c, http.StatusInternalServerError, "Something went wrong",
		"We could not complete this request. Please try again in a moment.")
}

// notice renders the one-message page (expired, unknown, errors).
func notice(c *gin.Context, status int, heading, text string) {
	noticeWithLink(c, status, heading, text, "", "")
}

// noticeWithLink is notice with a "Return to <merchant>" link.
func noticeWithLink(c *gin.Context, status int, heading, text, returnURL, returnLabel string) {
	v := templates.NoticePage{Page: page(c, heading), Heading: heading, Text: text, Code: status,
		ReturnURL: returnURL, ReturnLabel: returnLabel}
	var buf bytes.Buffer
	if err := templates.NoticeView(v).Render(c.Request.Context(), &buf); err != nil {
		c.String(status, heading)
		c.Abort()
		return
	}
	c.Data(status, "text/html; charset=utf-8", buf.Bytes())
	c.Abort()
}

func forbidden(c *gin.Context, text string) {
	if isAPI(c) {
		apiError(c, http.StatusForbidden, "forbidden", text, "")
		return
	}
	notice(c, http.StatusForbidden, "Request refused", text)
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
	notice(c, http.StatusNotFound, "Page not found", "There is nothing at this address. Check the link you were given.")
}

// Recover turns a panic into the generic error page, with the stack in
// the log.
func Recover() gin.HandlerFunc {
	return func(c *gin.Context) {
		defer func() {
			rec := recover()
			if rec == nil {
				return
			}
			if rec == http.ErrAbortHandler {
				panic(rec)
			}
			slog.Default().ErrorContext(c.Request.Context(), "panic", "request_id", c.GetString(keyRequestID),
				"panic", fmt.Sprint(rec), "stack", string(debug.Stack()))
			fail(c, fmt.Errorf("panic: %v", rec))
		}()
		c.Next()
	}
}
