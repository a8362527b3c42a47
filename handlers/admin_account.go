package handlers

import (
	"errors"
	"net/http"
	"strings"

	"github.com/gin-gonic/gin"

	"checkout/payments"
	"checkout/reqctx"
	"checkout/templates"
)

var accountFlashes = map[string]string{
	"password": "Password changed. Your other sessions have ended.",
	"totp_on":  "Two-factor login is on. Each login now asks for a code from your app.",
	"totp_off": "Two-factor login is off.",
	"revoked":  "Session revoked. It ends at its next request.",
}

// Account is GET /admin/account: password change, two-factor login, and
// the admin's own live sessions.
func (h *Handlers) Account(c *gin.Context) {
	h.renderAccount(c, http.StatusOK, accountFlashes[c.Query("flash")], nil)
}

// renderAccount renders the account page, with errs marking the fields of
// the form sent back.
func (h *Handlers) renderAccount(c *gin.Context, status int, flash string, errs map[string]string) {
	ctx := c.Request.Context()
	u, err := h.svc.Account(ctx, reqctx.Admin(c))
	if err != nil {
		h.fail(c, err)
		return
	}
	rows, err := h.svc.AccountSessions(ctx, u.Email)
	if err != nil {
		h.fail(c, err)
		return
	}
	v := templates.AccountPage{AdminPage: adminPage(c, "Account"), Flash: flash, FieldErrors: errs,
		TOTPOn: u.TOTPEnabledAt != nil, TOTPSince: adminTimeOf(u.TOTPEnabledAt), TOTPAvailable: h.svc.TOTPAvailable()}
	current := reqctx.AdminSession(c)
	for _, r := range rows {
		v.Sessions = append(v.Sessions, templates.SessionRow{ID: r.ID, Browser: browserName(r.UserAgent), IP: r.IP,
			CreatedAt: adminTimeOf(&r.CreatedAt), LastSeen: adminTimeOf(&r.LastSeenAt), Current: r.ID == current,
			RevokeAction: "/admin/account/sessions/" + r.ID + "/revoke"})
	}
	c.Header("Cache-Control", "no-store")
	h.render(c, status, templates.AccountView(v))
}

// ChangePassword is POST /admin/account/password. The current password is
// checked like a login (a wrong one counts as a failed login); on success
// every session of the admin ends and this browser gets a fresh one.
func (h *Handlers) ChangePassword(c *gin.Context) {
	ctx := c.Request.Context()
	email := reqctx.Admin(c)
	err := h.svc.ChangePassword(ctx, email, c.PostForm("current_password"), c.PostForm("current_code"), c.PostForm("new_password"),
		c.PostForm("confirm_password"), c.ClientIP())
	if h.accountRefused(c, err, "") {
		return
	}
	u, ok := h.renewOwnSession(c)
	if !ok {
		return
	}
	h.audit(c, "account.password_change", "admin", u.ID, "")
	c.Redirect(http.StatusSeeOther, "/admin/account?flash=password")
}

// renewOwnSession gives this browser a fresh session of the signed-in
// admin, read again after a change that ended all of their sessions. It
// answers the failure itself, and reports whether it succeeded.
func (h *Handlers) renewOwnSession(c *gin.Context) (*payments.AdminUser, bool) {
	u, err := h.svc.Account(c.Request.Context(), reqctx.Admin(c))
	if err == nil {
		err = h.startAdminSession(c, u)
	}
	if err != nil {
		h.fail(c, err)
		return nil, false
	}
	return u, true
}

// accountRefused answers a refused account form: the page again with the
// field marked (422; a field error's name gets prefix, the form's own
// field names), 429 with Retry-After while the login throttle holds, the
// error page otherwise. It reports whether it answered (err not nil).
func (h *Handlers) accountRefused(c *gin.Context, err error, prefix string) bool {
	if err == nil {
		return false
	}
	if fe, ok := errors.AsType[*payments.FieldError](err); ok {
		h.renderAccount(c, http.StatusUnprocessableEntity, "", map[string]string{prefix + fe.Field: fe.Message})
		return true
	}
	if wait, ok := errors.AsType[*payments.LoginWaitError](err); ok {
		var lv templates.LoginPage
		h.setLoginWait(c, &lv, wait)
		field := "current_password"
		if prefix != "" {
			field = prefix + "password"
		}
		h.renderAccount(c, http.StatusTooManyRequests, "", map[string]string{field: lv.Error})
		return true
	}
	h.fail(c, err)
	return true
}

// RevokeSession is POST /admin/account/sessions/{id}/revoke: ends one of
// the admin's own sessions (at its next request). Another admin's session
// is not found. Revoking this browser's own session logs it out.
func (h *Handlers) RevokeSession(c *gin.Context) {
	id := c.Param("id")
	err := h.svc.RevokeAccountSession(c.Request.Context(), reqctx.Admin(c), id)
	if errors.Is(err, payments.ErrNotFound) {
		notice(c, http.StatusNotFound, "Session not found",
			"There is no live session of yours with this id. It may have ended already.")
		return
	}
	if err != nil {
		h.fail(c, err)
		return
	}
	h.audit(c, "account.session_revoke", "session", id, "")
	if id == reqctx.AdminSession(c) {
		if err := h.sessions.Logout(c); err != nil {
			h.fail(c, err)
			return
		}
		c.Redirect(http.StatusSeeOther, "/admin/login")
		return
	}
	c.Redirect(http.StatusSeeOther, "/admin/account?flash=revoked")
}

// TOTPSetup is GET /admin/account/totp: a new secret as a QR code and as
// text. The secret is kept in the admin's session (not stored) until a
// code confirms it, for payments.TOTPEnrolmentWindow; a reload within it
// shows the same one.
func (h *Handlers) TOTPSetup(c *gin.Context) {
	h.renderTOTPSetup(c, http.StatusOK, nil)
}

func (h *Handlers) renderTOTPSetup(c *gin.Context, status int, errs map[string]string) {
	ctx := c.Request.Context()
	email := reqctx.Admin(c)
	// Two-factor on already: the page shows no secret, whatever the
	// cookie holds (an old copy of it may still carry the one now in
	// use), and forgets the one it holds.
	u, err := h.svc.Account(ctx, email)
	if err != nil {
		h.fail(c, err)
		return
	}
	if u.TOTPEnabledAt != nil {
		if err := h.sessions.SetTOTPEnrolment(c, "", h.svc.Now()); err != nil {
			h.fail(c, err)
			return
		}
		c.Redirect(http.StatusSeeOther, "/admin/account")
		return
	}
	var en payments.TOTPEnrolment
	secret, made := h.sessions.TOTPEnrolment(c)
	fresh := secret != "" && h.within(made, payments.TOTPEnrolmentWindow)
	if fresh {
		en, err = h.svc.TOTPEnrolmentOf(email, secret)
	} else {
		en, err = h.svc.NewTOTPEnrolment(ctx, email)
		if err == nil {
			err = h.sessions.SetTOTPEnrolment(c, en.Secret, h.svc.Now())
		}
	}
	switch {
	case errors.Is(err, payments.ErrTOTPOn):
		c.Redirect(http.StatusSeeOther, "/admin/account")
		return
	case errors.Is(err, payments.ErrTOTPUnavailable):
		notice(c, http.StatusNotFound, "Two-factor login is not available",
			"This server has no key to keep two-factor secrets with.")
		return
	case err != nil:
		h.fail(c, err)
		return
	}
	svg, err := payments.QRSVGLabelled(en.URL, "QR code of the two-factor key for your authenticator app")
	if err != nil {
		h.fail(c, err)
		return
	}
	v := templates.TOTPSetupPage{AdminPage: adminPage(c, "Set up two-factor login"), QRSVG: svg,
		Secret: groupsOfFour(en.Secret), FieldErrors: errs}
	// The page holds the secret: no cache keeps it.
	c.Header("Cache-Control", "no-store")
	h.render(c, status, templates.TOTPSetupView(v))
}

// EnableTOTP is POST /admin/account/totp: a code of the secret being set
// up switches two-factor login on; a wrong one shows the page again, the
// field marked.
func (h *Handlers) EnableTOTP(c *gin.Context) {
	ctx := c.Request.Context()
	email := reqctx.Admin(c)
	secret, made := h.sessions.TOTPEnrolment(c)
	if secret == "" || !h.within(made, payments.TOTPEnrolmentWindow) {
		if err := h.sessions.SetTOTPEnrolment(c, "", h.svc.Now()); err != nil {
			h.fail(c, err)
			return
		}
		h.renderTOTPSetup(c, http.StatusUnprocessableEntity,
			map[string]string{"code": "Setting up took too long, so a new key was made. Scan this one and enter its code."})
		return
	}
	err := h.svc.EnableTOTP(ctx, email, secret, c.PostForm("code"))
	if fe, ok := errors.AsType[*payments.FieldError](err); ok {
		h.renderTOTPSetup(c, http.StatusUnprocessableEntity, map[string]string{"code": fe.Message})
		return
	}
	if err != nil && !errors.Is(err, payments.ErrTOTPOn) {
		h.fail(c, err)
		return
	}
	if err := h.sessions.SetTOTPEnrolment(c, "", h.svc.Now()); err != nil {
		h.fail(c, err)
		return
	}
	if errors.Is(err, payments.ErrTOTPOn) {
		c.Redirect(http.StatusSeeOther, "/admin/account")
		return
	}
	// Switching it on ended every session of the admin (copies of this
	// cookie, which held the secret, included): this browser gets a new
	// one, without the secret.
	u, ok := h.renewOwnSession(c)
	if !ok {
		return
	}
	h.audit(c, "account.totp_enable", "admin", u.ID, "")
	c.Redirect(http.StatusSeeOther, "/admin/account?flash=totp_on")
}

// DisableTOTP is POST /admin/account/totp/disable: the password and a
// current code switch two-factor login off.
func (h *Handlers) DisableTOTP(c *gin.Context) {
	ctx := c.Request.Context()
	email := reqctx.Admin(c)
	err := h.svc.DisableTOTP(ctx, email, c.PostForm("disable_password"), c.PostForm("disable_code"), c.ClientIP())
	if errors.Is(err, payments.ErrTOTPOff) {
		c.Redirect(http.StatusSeeOther, "/admin/account")
		return
	}
	if h.accountRefused(c, err, "disable_") {
		return
	}
	h.audit(c, "account.totp_disable", "admin", reqctx.AdminID(c), "")
	c.Redirect(http.StatusSeeOther, "/admin/account?flash=totp_off")
}

// groupsOfFour writes a key as apps ask it typed: "ABCD EFGH ...".
func groupsOfFour(s string) string {
	var b strings.Builder
	for i, r := range s {
		if i > 0 && i%4 == 0 {
			b.WriteByte(' ')
		}
		b.WriteRune(r)
	}
	return b.String()
}
