package handlers

import (
	"net/http"
	"strings"

	"github.com/gin-gonic/gin"

	"checkout/reqctx"
	"checkout/templates"
)

// wrongLogin is the one answer to a wrong email or password, and to an
// account that must wait after repeated failures.
const wrongLogin = "Wrong email or password."

// LoginPage is GET /admin/login.
func (h *Handlers) LoginPage(c *gin.Context) {
	v := templates.LoginPage{Page: page(c, "Admin login")}
	h.render(c, http.StatusOK, templates.LoginView(v))
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
		h.render(c, http.StatusUnprocessableEntity, templates.LoginView(v))
		return
	}
	u, ok, err := h.svc.Login(c.Request.Context(), email, password)
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
	c.Redirect(http.StatusSeeOther, "/admin/orders")
}

// LoginThrottled answers a login form from an address that has tried too
// often (web.LoginLimit decides): the form again, with the email kept.
func (h *Handlers) LoginThrottled(c *gin.Context) {
	email := strings.ToLower(strings.TrimSpace(c.PostForm("email")))
	v := templates.LoginPage{Page: page(c, "Admin login"), Email: email, FieldErrors: map[string]string{},
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
	c.Redirect(http.StatusSeeOther, "/admin/login")
}
