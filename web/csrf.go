package web

import (
	"crypto/subtle"
	"fmt"
	"net/http"

	"github.com/gin-gonic/gin"

	"checkout/handlers"
	"checkout/reqctx"
)

// CSRF is the synchronizer-token middleware: a page with a form gets the
// session's token (reqctx.CSRF), and every unsafe request must send it back
// in the form field csrf_token (or the X-CSRF-Token header for htmx).
//
// A safe request reads the session only if its page has a form, and starts
// one (a token, the cookie) only then: a page view without a form, a
// status poll, costs no cookie decoding and writes none.
func (s *Sessions) CSRF(h *handlers.Handlers) gin.HandlerFunc {
	return func(c *gin.Context) {
		switch c.Request.Method {
		case http.MethodGet, http.MethodHead, http.MethodOptions:
			reqctx.SetCSRFSource(c, func() string { return s.startCSRF(c) })
			c.Next()
			return
		}
		// A session without a token never gave out a form: nothing sent
		// can match.
		tok, _ := s.customerToken(c)
		sent := c.GetHeader("X-CSRF-Token")
		if sent == "" {
			sent = c.PostForm("csrf_token")
		}
		// Pages carry the token masked (reqctx.MaskCSRF); a bare token
		// (a page rendered by an older build) is still accepted.
		if tok == "" || sent == "" || (subtle.ConstantTimeCompare([]byte(reqctx.UnmaskCSRF(sent)), []byte(tok)) != 1 &&
			subtle.ConstantTimeCompare([]byte(sent), []byte(tok)) != 1) {
			h.Forbidden(c, "This form has expired. Go back, reload the page and try again.")
			return
		}
		reqctx.SetCSRF(c, tok)
		c.Next()
	}
}

// startCSRF is the session's token, starting the session (and setting its
// cookie) when it has none.
func (s *Sessions) startCSRF(c *gin.Context) string {
	tok, sess := s.customerToken(c)
	if tok != "" {
		return tok
	}
	tok = randomToken() // no token: sess is the decoded (or new) session
	sess.Values["csrf"] = tok
	if err := sess.Save(c.Request, c.Writer); err != nil {
		// The page asked before writing anything (reqctx.CSRF): Recover
		// answers with the error page, as for any failure mid-handler.
		// Saving a cookie session fails only if it cannot be encoded.
		panic(fmt.Errorf("web: start the customer session: %w", err))
	}
	return tok
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
