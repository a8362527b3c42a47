package handlers

import (
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/gin-gonic/gin"

	"checkout/templates"
)

// wrongLogin is the one answer to a wrong email or password, and to an
// account that must wait after repeated failures.
const wrongLogin = "Wrong email or password."

// loginLimiter slows down guessing from one address, across accounts
// (including emails that do not exist): a small token bucket per IP.
type loginLimiter struct {
	mu      sync.Mutex
	buckets map[string]*bucket
}

type bucket struct {
	tokens float64
	last   time.Time
}

const (
	loginBurst = 10
	loginRate  = 1.0 / 6 // one try every six seconds after the burst
)

func newLoginLimiter() *loginLimiter { return &loginLimiter{buckets: map[string]*bucket{}} }

func (l *loginLimiter) allow(ip string, now time.Time) bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	if len(l.buckets) > 10000 { // forget idle addresses rather than grow without bound
		for k, b := range l.buckets {
			if now.Sub(b.last) > time.Hour {
				delete(l.buckets, k)
			}
		}
	}
	b, ok := l.buckets[ip]
	if !ok {
		b = &bucket{tokens: loginBurst, last: now}
		l.buckets[ip] = b
	}
	b.tokens = min(loginBurst, b.tokens+now.Sub(b.last).Seconds()*loginRate)
	b.last = now
	if b.tokens < 1 {
		return false
	}
	b.tokens--
	return true
}

// LoginPage is GET /admin/login.
func (h *Handlers) LoginPage(c *gin.Context) {
	v := templates.LoginPage{Page: page(c, "Admin login")}
	render(c, http.StatusOK, templates.LoginView(v))
}

// Login is POST /admin/login.
func (h *Handlers) Login(c *gin.Context) {
	email := strings.ToLower(strings.TrimSpace(c.PostForm("email")))
	password := c.PostForm("password")
	v := templates.LoginPage{Page: page(c, "Admin login"), Email: email, FieldErrors: map[string]string{}}
	if email == "" {
		v.FieldErrors["email"] = "Enter your email address."
	}
	if password == "" {
		v.FieldErrors["password"] = "Enter your password."
	}
	if len(v.FieldErrors) > 0 {
		render(c, http.StatusUnprocessableEntity, templates.LoginView(v))
		return
	}
	if !h.login.allow(c.ClientIP(), h.svc.Now()) {
		v.Error = "Too many login attempts from your network. Wait a minute and try again."
		render(c, http.StatusTooManyRequests, templates.LoginView(v))
		return
	}
	u, ok, err := h.svc.Login(c.Request.Context(), email, password)
	if err != nil {
		fail(c, err)
		return
	}
	if !ok {
		v.Error = wrongLogin
		render(c, http.StatusUnauthorized, templates.LoginView(v))
		return
	}
	if err := h.sessions.login(c, u.Email, u.SessionEpoch, h.svc.Now()); err != nil {
		fail(c, err)
		return
	}
	h.log.InfoContext(c.Request.Context(), "admin logged in", "admin", email, "request_id", c.GetString(keyRequestID))
	c.Redirect(http.StatusSeeOther, "/admin/orders")
}

// Logout is POST /admin/logout. It ends every session of the admin, copies
// of the cookie included.
func (h *Handlers) Logout(c *gin.Context) {
	if err := h.svc.Logout(c.Request.Context(), c.GetString(keyAdmin)); err != nil {
		fail(c, err)
		return
	}
	if err := h.sessions.logout(c); err != nil {
		fail(c, err)
		return
	}
	c.Redirect(http.StatusSeeOther, "/admin/login")
}
