package handlers

import (
	"errors"
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/gin-gonic/gin"

	"checkout/store"
	"checkout/templates"
)

const (
	// freeFailures is how many wrong passwords an account takes before
	// each further try must wait.
	freeFailures = 5
	maxLoginWait = 15 * time.Minute
	wrongLogin   = "Wrong email or password."
)

// loginWait is how long an account with n failures must wait after its
// last failure: nothing for the first five, then 1 s doubling each time.
func loginWait(n int) time.Duration {
	if n < freeFailures {
		return 0
	}
	d := time.Second
	for i := freeFailures; i < n && d < maxLoginWait; i++ {
		d *= 2
	}
	return min(d, maxLoginWait)
}

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
	if !h.login.allow(c.ClientIP(), time.Now()) {
		v.Error = "Too many login attempts from your network. Wait a minute and try again."
		render(c, http.StatusTooManyRequests, templates.LoginView(v))
		return
	}
	u, ok, err := h.checkLogin(c, email, password)
	if err != nil {
		fail(c, err)
		return
	}
	if !ok {
		v.Error = wrongLogin
		render(c, http.StatusUnauthorized, templates.LoginView(v))
		return
	}
	if err := h.sessions.login(c, u.Email, u.SessionEpoch); err != nil {
		fail(c, err)
		return
	}
	h.log.InfoContext(c.Request.Context(), "admin logged in", "admin", email, "request_id", c.GetString(keyRequestID))
	c.Redirect(http.StatusSeeOther, "/admin/orders")
}

// checkLogin verifies the password. During an account's wait after repeated
// failures the password is not even checked, and the answer is the same
// generic one, so the wait does not tell a guesser anything.
func (h *Handlers) checkLogin(c *gin.Context, email, password string) (*store.AdminUser, bool, error) {
	ctx := c.Request.Context()
	st := h.svc.Store()
	u, err := st.AdminByEmail(ctx, email)
	if errors.Is(err, store.ErrNotFound) {
		// Spend the same time as a real check so timing does not reveal
		// which emails exist.
		if _, err := store.VerifyPassword(dummyHash, password); err != nil {
			return nil, false, err
		}
		return nil, false, nil
	}
	if err != nil {
		return nil, false, err
	}
	if u.LastFailedAt != nil && time.Since(*u.LastFailedAt) < loginWait(u.FailedLogins) {
		// Same work as a real check, so the wait does not show that the
		// account exists.
		if _, err := store.VerifyPassword(dummyHash, password); err != nil {
			return nil, false, err
		}
		return nil, false, nil
	}
	ok, err := store.VerifyPassword(u.PasswordHash, password)
	if err != nil {
		return nil, false, err
	}
	if !ok {
		h.log.WarnContext(ctx, "admin login failed", "admin", email, "failures", u.FailedLogins+1)
		return nil, false, st.RecordLoginFailure(ctx, u.ID)
	}
	return u, true, st.ResetLoginFailures(ctx, u.ID)
}

// dummyHash is a real Argon2id hash of a random password, checked against
// when the email is unknown.
var dummyHash = func() string {
	h, err := store.HashPassword(randomToken())
	if err != nil {
		panic(err)
	}
	return h
}()

// Logout is POST /admin/logout. It ends every session of the admin, copies
// of the cookie included.
func (h *Handlers) Logout(c *gin.Context) {
	u, err := h.svc.Store().AdminByEmail(c.Request.Context(), c.GetString(keyAdmin))
	if err != nil {
		fail(c, err)
		return
	}
	if err := h.svc.Store().EndSessions(c.Request.Context(), u.ID); err != nil {
		fail(c, err)
		return
	}
	if err := h.sessions.logout(c); err != nil {
		fail(c, err)
		return
	}
	c.Redirect(http.StatusSeeOther, "/admin/login")
}
