// Package reqctx carries what the web middleware learns about a request to
// the handlers and to the logs: the request id (in the request's context, so
// every log line written with it can name the request), and the CSP nonce,
// the CSRF token and the signed-in admin (on the Gin context, for pages).
// The middleware in web sets them; handlers read them. It imports nothing of
// ours, so both layers may use it without handlers importing web.
package reqctx

import (
	"context"

	"github.com/gin-gonic/gin"
)

type requestIDKey struct{}

// WithRequestID returns ctx carrying the request id.
func WithRequestID(ctx context.Context, id string) context.Context {
	return context.WithValue(ctx, requestIDKey{}, id)
}

// RequestID is the id of the request ctx belongs to, or "" outside a
// request (background work).
func RequestID(ctx context.Context) string {
	id, _ := ctx.Value(requestIDKey{}).(string)
	return id
}

// Keys of the values the middleware sets on the Gin context.
const (
	keyNonce = "csp_nonce"
	keyCSRF  = "csrf_token"
	// keyCSRFSource holds a func() string that gets the token on demand.
	keyCSRFSource = "csrf_source"
	keyAdmin      = "admin_email"
	keyAdminID    = "admin_id"
	keyAdminRole  = "admin_role"
)

// SetNonce records the request's CSP nonce, for the page's scripts.
func SetNonce(c *gin.Context, nonce string) { c.Set(keyNonce, nonce) }

// Nonce is the request's CSP nonce.
func Nonce(c *gin.Context) string { return c.GetString(keyNonce) }

// SetCSRF records the session's CSRF token, for the page's forms.
func SetCSRF(c *gin.Context, token string) { c.Set(keyCSRF, token) }

// SetCSRFSource records how to get the session's CSRF token should a page
// ask for it (CSRF): reading the session, and starting one with its cookie
// when there is none, is left to the pages that have a form.
func SetCSRFSource(c *gin.Context, source func() string) { c.Set(keyCSRFSource, source) }

// CSRF is the session's CSRF token, for a page's forms. The first call in a
// request may start the session and set its cookie: call it before the
// answer is written.
func CSRF(c *gin.Context) string {
	if tok := c.GetString(keyCSRF); tok != "" {
		return tok
	}
	v, _ := c.Get(keyCSRFSource)
	source, ok := v.(func() string)
	if !ok {
		return ""
	}
	tok := source()
	c.Set(keyCSRF, tok)
	return tok
}

// Admin is the email of the signed-in admin, "" on pages outside the admin.
func Admin(c *gin.Context) string { return c.GetString(keyAdmin) }

// SetAdminUser records the admin whose live session made the request: id,
// email and role (web's RequireAdmin sets them).
func SetAdminUser(c *gin.Context, id, email, role string) {
	c.Set(keyAdmin, email)
	c.Set(keyAdminID, id)
	c.Set(keyAdminRole, role)
}

// AdminID is the id of the signed-in admin, "" outside the admin.
func AdminID(c *gin.Context) string { return c.GetString(keyAdminID) }

// AdminRole is the role of the signed-in admin (owner, manager, viewer),
// "" outside the admin: a role that can do nothing.
func AdminRole(c *gin.Context) string { return c.GetString(keyAdminRole) }
