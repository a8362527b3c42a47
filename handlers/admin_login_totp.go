package handlers

import (
	"errors"
	"net/http"
	"strings"
	"time"

	"github.com/gin-gonic/gin"

	"checkout/payments"
	"checkout/reqctx"
	"checkout/templates"
)

// wrongCode is the answer to a wrong or already used two-factor code.
const wrongCode = "That code is not right, or was used already. Enter the code your app shows now."

// pendingTOTPLogin is the login in this browser that passed its password
// less than payments.TOTPLoginWindow ago and waits for its code. Without
// one (none, or too old: it is forgotten), the browser is sent back to the
// login form and ok is false.
func (h *Handlers) pendingTOTPLogin(c *gin.Context) (email string, epoch int64, ok bool) {
	email, epoch, started := h.sessions.TOTPLogin(c)
	if email != "" && h.within(started, payments.TOTPLoginWindow) {
		return email, epoch, true
	}
	if email != "" {
		if err := h.sessions.Logout(c); err != nil {
			h.fail(c, err)
			return "", 0, false
		}
	}
	c.Redirect(http.StatusSeeOther, "/admin/login")
	return "", 0, false
}

// LoginTOTPPage is GET /admin/login/totp: the code form of a login that
// passed its password.
func (h *Handlers) LoginTOTPPage(c *gin.Context) {
	if _, _, ok := h.pendingTOTPLogin(c); !ok {
		return
	}
	h.render(c, http.StatusOK, templates.TOTPLoginView(templates.TOTPLoginPage{Page: formPage(c, "Two-factor login")}))
}

// TOTPThrottled answers a code from an address that has sent too many
// (web.CodeLimit decides): the code form again.
func (h *Handlers) TOTPThrottled(c *gin.Context) {
	v := templates.TOTPLoginPage{Page: formPage(c, "Two-factor login"), FieldErrors: map[string]string{},
		Error: "Too many codes from your network. Wait a minute and try again."}
	h.render(c, http.StatusTooManyRequests, templates.TOTPLoginView(v))
}

// LoginTOTP is POST /admin/login/totp: the code. A wrong or replayed code
// counts as a failed login (the same throttle as passwords); the right one
// starts the admin session.
func (h *Handlers) LoginTOTP(c *gin.Context) {
	email, epoch, ok := h.pendingTOTPLogin(c)
	if !ok {
		return
	}
	v := templates.TOTPLoginPage{Page: formPage(c, "Two-factor login"), FieldErrors: map[string]string{}}
	code := strings.TrimSpace(c.PostForm("code"))
	if code == "" {
		v.FieldErrors["code"] = "Enter the code from your app."
		h.render(c, http.StatusUnprocessableEntity, templates.TOTPLoginView(v))
		return
	}
	u, ok, err := h.svc.LoginTOTP(c.Request.Context(), email, epoch, code, c.ClientIP())
	if wait, isWait := errors.AsType[*payments.LoginWaitError](err); isWait {
		lv := templates.LoginPage{}
		h.setLoginWait(c, &lv, wait)
		v.Error = lv.Error
		h.render(c, http.StatusTooManyRequests, templates.TOTPLoginView(v))
		return
	}
	if errors.Is(err, payments.ErrTOTPOff) {
		// Two-factor was switched off, or every session ended, since the
		// password: start again.
		if err := h.sessions.Logout(c); err != nil {
			h.fail(c, err)
			return
		}
		c.Redirect(http.StatusSeeOther, "/admin/login")
		return
	}
	if err != nil {
		h.fail(c, err)
		return
	}
	if !ok {
		v.Error = wrongCode
		v.FieldErrors["code"] = wrongCode
		h.render(c, http.StatusUnauthorized, templates.TOTPLoginView(v))
		return
	}
	if err := h.startAdminSession(c, u); err != nil {
		h.fail(c, err)
		return
	}
	h.log.InfoContext(c.Request.Context(), "admin logged in", "admin", u.Email, "two_factor", true)
	reqctx.SetAdminUser(c, u.ID, u.Email, u.Role)
	h.audit(c, "admin.login", "admin", u.ID, "two-factor")
	c.Redirect(http.StatusSeeOther, "/admin")
}

// within reports whether t, a time this app stamped, is at most d ago by
// the service's clock (and not ahead of it).
func (h *Handlers) within(t time.Time, d time.Duration) bool {
	now := h.svc.Now()
	return now.Sub(t) <= d && !t.After(now)
}
