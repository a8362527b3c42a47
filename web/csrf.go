package web

import (
	"crypto/subtle"
	"net/http"

	"github.com/gin-gonic/gin"

	"checkout/handlers"
	"checkout/reqctx"
)

// CSRF is the synchronizer-token middleware: every request gets the
// session's token for its forms, and every unsafe request must send it back
// in the form field csrf_token (or the X-CSRF-Token header for htmx).
func (s *Sessions) CSRF(h *handlers.Handlers) gin.HandlerFunc {
	return func(c *gin.Context) {
		sess := s.customer(c)
		tok, _ := sess.Values["csrf"].(string)
		if tok == "" {
			tok = randomToken()
			sess.Values["csrf"] = tok
			if err := sess.Save(c.Request, c.Writer); err != nil {
				h.Fail(c, err)
				return
			}
		}
		reqctx.SetCSRF(c, tok)
		switch c.Request.Method {
		case http.MethodGet, http.MethodHead, http.MethodOptions:
			c.Next()
			return
		}
		sent := c.GetHeader("X-CSRF-Token")
		if sent == "" {
			sent = c.PostForm("csrf_token")
		}
		// Pages carry the token masked (reqctx.MaskCSRF); a bare token
		// (a page rendered by an older build) is still accepted.
		if sent == "" || (subtle.ConstantTimeCompare([]byte(reqctx.UnmaskCSRF(sent)), []byte(tok)) != 1 &&
			subtle.ConstantTimeCompare([]byte(sent), []byte(tok)) != 1) {
			h.Forbidden(c, "This form has expired. Go back, reload the page and try again.")
			return
		}
		c.Next()
	}
}

// CrossOrigin runs Go's cross-origin protection in front of the CSRF token,
// as a second check.
func CrossOrigin(cop *http.CrossOriginProtection, h *handlers.Handlers) gin.HandlerFunc {
	return func(c *gin.Context) {
		if err := cop.Check(c.Request); err != nil {
			h.Forbidden(c, "This request came from another site and was refused.")
			return
		}
		c.Next()
	}
}
