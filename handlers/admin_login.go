package handlers

import (
	"errors"
	"fmt"
	"math"
	"net/http"
	"strconv"
	"strings"

	"github.com/gin-gonic/gin"

	"checkout/payments"
	"checkout/reqctx"
	"checkout/templates"
)

// wrongLogin is the one answer to a wrong email or password.
const wrongLogin = "Wrong email or password."

// LoginPage is GET /admin/login.
func (h *Handlers) LoginPage(c *gin.Context) {
	v := templates.LoginPage{Page: formPage(c, "Admin login")}
	h.render(c, http.StatusOK, templates.LoginView(v))
}

// Login is POST /admin/login.
func (h *Handlers) Login(c *gin.Context) {
	email := strings.ToLower(strings.TrimSpace(c.PostForm("email")))
	password := c.PostForm("password")
	v := templates.LoginPage{Page: formPage(c, "Admin login"), Email: email, FieldErrors: map[string]string{}}
	if email == "" {
		v.FieldErrors["email"] = "Enter your email address."
	}
	if password == "" {
		v.FieldErrors["password"] = "Enter your password."
	}
	if len(v.FieldErrors) > 0 {
		h.render(c, http.StatusUnprocessableEntity, templates.LoginView(v))
		return
	}
	u, ok, err := h.svc.Login(c.Request.Context(), email, password, c.ClientIP())
	if wait, isWait := errors.AsType[*payments.LoginWaitError](err); isWait {
		h.loginWait(c, v, wait)
		return
	}
	if err != nil {
		h.fail(c, err)
		return
	}
	if !ok {
		v.Error = wrongLogin
		h.render(c, http.StatusUnauthorized, templates.LoginView(v))
		return
	}
	if u.TOTPEnabledAt != nil {
		// Half a login: the code is asked next (admin_login_totp.go).
		if err := h.sessions.StartTOTPLogin(c, u.Email, u.SessionEpoch, h.svc.Now()); err != nil {
			h.fail(c, err)
			return
		}
		c.Redirect(http.StatusSeeOther, "/admin/login/totp")
		return
	}
	if err := h.startAdminSession(c, u); err != nil {
		h.fail(c, err)
		return
	}
	h.log.InfoContext(c.Request.Context(), "admin logged in", "admin", email)
	reqctx.SetAdminUser(c, u.ID, u.Email, u.Role)
	h.audit(c, "admin.login", "admin", u.ID, "")
	c.Redirect(http.StatusSeeOther, "/admin")
}

// startAdminSession gives this browser a fresh admin session of u: a new
// server-side row (payments.StartAdminSession) and a new cookie carrying
// its token, with a new CSRF token.
func (h *Handlers) startAdminSession(c *gin.Context, u *payments.AdminUser) error {
	token, err := h.svc.StartAdminSession(c.Request.Context(), u, c.ClientIP(), c.Request.UserAgent())
	if err != nil {
		return err
	}
	return h.sessions.Login(c, u.Email, u.SessionEpoch, token, h.svc.Now())
}

// loginWait answers a login the service refused before checking the
// password: 429 with Retry-After, the email kept. The text says what to
// wait for; it tells nothing about the account (an unknown email is
// throttled the same way).
func (h *Handlers) loginWait(c *gin.Context, v templates.LoginPage, w *payments.LoginWaitError) {
	h.setLoginWait(c, &v, w)
	h.render(c, http.StatusTooManyRequests, templates.LoginView(v))
}

// setLoginWait sets Retry-After and the page's text for a refused try
// (a password or a two-factor code).
func (h *Handlers) setLoginWait(c *gin.Context, v *templates.LoginPage, w *payments.LoginWaitError) {
	secs := int(math.Ceil(w.RetryAfter.Seconds()))
	c.Header("Retry-After", strconv.Itoa(secs))
	switch {
	case w.Busy:
		v.Error = "Too many logins are being checked right now. Try again in a few seconds."
	case w.Account && secs <= 90:
		v.Error = fmt.Sprintf("Too many wrong codes for this account. Try again in %d seconds.", secs)
	case w.Account:
		v.Error = fmt.Sprintf("Too many wrong codes for this account. Try again in %d minutes.", (secs+59)/60)
	case secs == 1:
		v.Error = "Too many failed logins from your network. Try again in a second."
	case secs <= 90:
		v.Error = fmt.Sprintf("Too many failed logins from your network. Try again in %d seconds.", secs)
	default:
		v.Error = fmt.Sprintf("Too many failed logins from your network. Try again in %d minutes.", (secs+59)/60)
	}
}

// LoginThrottled answers a login form from an address that has tried too
// often (web.LoginLimit decides): the form again, with the email kept.
func (h *Handlers) LoginThrottled(c *gin.Context) {
	email := strings.ToLower(strings.TrimSpace(c.PostForm("email")))
	v := templates.LoginPage{Page: formPage(c, "Admin login"), Email: email, FieldErrors: map[string]string{},
		Error: "Too many login attempts from your network. Wait a minute and try again."}
	h.render(c, http.StatusTooManyRequests, templates.LoginView(v))
}

// Logout is POST /admin/logout. It ends this session, copies of its
// cookie included (its server-side row is revoked); the admin's sessions
// in other browsers stay (the account page lists and revokes them).
func (h *Handlers) Logout(c *gin.Context) {
	if err := h.svc.Logout(c.Request.Context(), reqctx.Admin(c), reqctx.AdminSession(c)); err != nil {
		h.fail(c, err)
		return
	}
	if err := h.sessions.Logout(c); err != nil {
		h.fail(c, err)
		return
	}
	h.audit(c, "admin.logout", "admin", reqctx.AdminID(c), "")
	c.Redirect(http.StatusSeeOther, "/admin/login")
}
