package handlers

import (
	"crypto/rand"
	"crypto/subtle"
	"encoding/base64"
	"net/http"
	"time"

	"github.com/gin-gonic/gin"
	"github.com/gorilla/sessions"
)

// Context keys the middleware sets for handlers and templates.
const (
	keyNonce     = "csp_nonce"
	keyCSRF      = "csrf_token"
	keyRequestID = "request_id"
	keyAdmin     = "admin_email"
	keyTestMode  = "test_mode"
)

// Sessions holds the two cookie sessions: the customer's (SameSite=Lax, so
// the provider's top-level GET back to us still carries it; it holds the CSRF
// token) and the admin's (SameSite=Strict). Both are signed and encrypted
// with keys derived from CHECKOUT_SECRET.
type Sessions struct {
	store                   *sessions.CookieStore
	customerName, adminName string
	secure                  bool
}

// NewSessions builds the cookie sessions. secure (an https public URL) turns
// on the Secure flag and the __Host- prefix.
func NewSessions(hashKey, blockKey []byte, secure bool) *Sessions {
	st := sessions.NewCookieStore(hashKey, blockKey)
	st.Options = &sessions.Options{Path: "/", HttpOnly: true, Secure: secure, SameSite: http.SameSiteLaxMode}
	st.MaxAge(0)
	s := &Sessions{store: st, customerName: "checkout", adminName: "checkout_admin", secure: secure}
	if secure {
		s.customerName, s.adminName = "__Host-checkout", "__Host-checkout_admin"
	}
	return s
}

func (s *Sessions) get(c *gin.Context, name string, same http.SameSite) *sessions.Session {
	// A cookie that does not decode (an old key, tampering) starts a new session.
	sess, _ := s.store.Get(c.Request, name) // on error Get still returns a new, empty session
	sess.Options = &sessions.Options{Path: "/", HttpOnly: true, Secure: s.secure, SameSite: same}
	return sess
}

func (s *Sessions) customer(c *gin.Context) *sessions.Session {
	return s.get(c, s.customerName, http.SameSiteLaxMode)
}

func (s *Sessions) admin(c *gin.Context) *sessions.Session {
	return s.get(c, s.adminName, http.SameSiteStrictMode)
}

func randomToken() string {
	b := make([]byte, 32)
	if _, err := rand.Read(b); err != nil {
		panic("handlers: no randomness: " + err.Error())
	}
	return base64.RawURLEncoding.EncodeToString(b)
}

// CSRF is the synchronizer-token middleware: every request gets the
// session's token for its forms, and every unsafe request must send it back
// in the form field csrf_token (or the X-CSRF-Token header for htmx).
func (s *Sessions) CSRF() gin.HandlerFunc {
	return func(c *gin.Context) {
		sess := s.customer(c)
		tok, _ := sess.Values["csrf"].(string)
		if tok == "" {
			tok = randomToken()
			sess.Values["csrf"] = tok
			if err := sess.Save(c.Request, c.Writer); err != nil {
				fail(c, err)
				return
			}
		}
		c.Set(keyCSRF, tok)
		switch c.Request.Method {
		case http.MethodGet, http.MethodHead, http.MethodOptions:
			c.Next()
			return
		}
		sent := c.GetHeader("X-CSRF-Token")
		if sent == "" {
			sent = c.PostForm("csrf_token")
		}
		if sent == "" || subtle.ConstantTimeCompare([]byte(sent), []byte(tok)) != 1 {
			forbidden(c, "This form has expired. Go back, reload the page and try again.")
			return
		}
		c.Next()
	}
}

// CrossOrigin runs Go's cross-origin protection in front of the CSRF token,
// as a second check.
func CrossOrigin(cop *http.CrossOriginProtection) gin.HandlerFunc {
	return func(c *gin.Context) {
		if err := cop.Check(c.Request); err != nil {
			forbidden(c, "This request came from another site and was refused.")
			return
		}
		c.Next()
	}
}

// RequireAdmin sends a request without a live admin session to the login
// page, and keeps a live session alive. The payments service says whether a
// session is live (see payments.Service.AdminSession), by its clock.
func (h *Handlers) RequireAdmin() gin.HandlerFunc {
	s := h.sessions
	return func(c *gin.Context) {
		sess := s.admin(c)
		email, _ := sess.Values["email"].(string)
		seen, _ := sess.Values["seen"].(int64)
		epoch, _ := sess.Values["epoch"].(int64)
		live, err := h.svc.AdminSession(c.Request.Context(), email, seen, epoch)
		if err != nil {
			fail(c, err)
			return
		}
		if !live {
			if email != "" {
				sess.Options.MaxAge = -1
				if err := sess.Save(c.Request, c.Writer); err != nil {
					fail(c, err)
					return
				}
			}
			c.Redirect(http.StatusSeeOther, "/admin/login")
			c.Abort()
			return
		}
		sess.Values["seen"] = h.svc.Now().Unix()
		if err := sess.Save(c.Request, c.Writer); err != nil {
			fail(c, err)
			return
		}
		c.Set(keyAdmin, email)
		c.Next()
	}
}

// login starts a fresh admin session, used at now, and a fresh CSRF token,
// so nothing from before the login carries over (session fixation).
func (s *Sessions) login(c *gin.Context, email string, epoch int64, now time.Time) error {
	cust := s.customer(c)
	tok := randomToken()
	cust.Values["csrf"] = tok
	if err := cust.Save(c.Request, c.Writer); err != nil {
		return err
	}
	c.Set(keyCSRF, tok)
	adm := s.admin(c)
	adm.Values = map[any]any{"email": email, "seen": now.Unix(), "epoch": epoch}
	return adm.Save(c.Request, c.Writer)
}

func (s *Sessions) logout(c *gin.Context) error {
	adm := s.admin(c)
	adm.Values = map[any]any{}
	adm.Options.MaxAge = -1
	return adm.Save(c.Request, c.Writer)
}
