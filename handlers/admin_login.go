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
	if err := h.sessions.Login(c, u.Email, u.SessionEpoch, h.svc.Now()); err != nil {
		h.fail(c, err)
		return
	}
	h.log.InfoContext(c.Request.Context(), "admin logged in", "admin", email)
	reqctx.SetAdminUser(c, u.ID, u.Email, u.Role)
	h.audit(c, "admin.login", "admin", u.ID, "")
	c.Redirect(http.StatusSeeOther, "/admin")
}

// loginWait answers a login the service refused before checking the
// password: 429 with Retry-After, the email kept. The text says what to
// wait for; it tells nothing about the account (an unknown email is
// throttled the same way).
func (h *Handlers) loginWait(c *gin.Context, v templates.LoginPage, w *payments.LoginWaitError) {
	secs := int(math.Ceil(w.RetryAfter.Seconds()))
	c.Header("Retry-After", strconv.Itoa(secs))
	switch {
	case w.Busy:
		v.Error = "Too many logins are being checked right now. Try again in a few seconds."
	case secs == 1:
		v.Error = "Too many failed logins from your network. Try again in a second."
	case secs <= 90:
		v.Error = fmt.Sprintf("Too many failed logins from your network. Try again in %d seconds.", secs)
	default:
		v.Error = fmt.Sprintf("Too many failed logins from your network. Try again in %d minutes.", (secs+59)/60)
	}
	h.render(c, http.StatusTooManyRequests, templates.LoginView(v))
}

// LoginThrottled answers a login form from an address that has tried too
// often (web.LoginLimit decides): the form again, with the email kept.
func (h *Handlers) LoginThrottled(c *gin.Context) {
	email := strings.ToLower(strings.TrimSpace(c.PostForm("email")))
	v := templates.LoginPage{Page: formPage(c, "Admin login"), Email: email, FieldErrors: map[string]string{},
		Error: "Too many login attempts from your network. Wait a minute and try again."}
	h.render(c, http.StatusTooManyRequests, templates.LoginView(v))
}

// Logout is POST /admin/logout. It ends every session of the admin, copies
// of the cookie included.
func (h *Handlers) Logout(c *gin.Context) {
	if err := h.svc.Logout(c.Request.Context(), reqctx.Admin(c)); err != nil {
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
