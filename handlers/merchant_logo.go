package handlers

import (
	"errors"
	"net/http"
	"strconv"

	"github.com/gin-gonic/gin"

	"checkout/payments"
)

// logoPolicy is the logo's own CSP: an image needs nothing, and a browser
// that opens it as a document runs nothing in it.
const logoPolicy = "default-src 'none'; sandbox"

// MerchantLogo is GET /m/{id}/logo/{etag}: a merchant's logo, PNG, JPEG
// or WebP as sniffed when it was uploaded. Its URL changes with its bytes,
// so it is cached for a year; an old URL is a 404. Answered from the
// service's caches, so a flood of it reads the database at most once per
// merchant and BrandMaxAge (and never for an etag that is not 32 hex
// digits).
func (h *Handlers) MerchantLogo(c *gin.Context) {
	etag := c.Param("etag")
	if !hexDigits(etag, 32) || !plainID(c.Param("id")) {
		c.AbortWithStatus(http.StatusNotFound)
		return
	}
	l, err := h.svc.MerchantLogo(c.Request.Context(), c.Param("id"), etag)
	if errors.Is(err, payments.ErrNotFound) {
		c.AbortWithStatus(http.StatusNotFound)
		return
	}
	if err != nil {
		h.fail(c, err)
		return
	}
	hd := c.Writer.Header()
	hd.Set("Content-Security-Policy", logoPolicy)
	hd.Set("X-Content-Type-Options", "nosniff")
	hd.Set("Cache-Control", "public, max-age=31536000, immutable")
	hd.Set("ETag", `"`+l.Etag+`"`)
	if c.GetHeader("If-None-Match") == `"`+l.Etag+`"` {
		c.AbortWithStatus(http.StatusNotModified)
		return
	}
	hd.Set("Content-Length", strconv.Itoa(len(l.Data)))
	c.Data(http.StatusOK, l.Type, l.Data)
}

// hexDigits reports whether s is n lower-case hex digits.
func hexDigits(s string, n int) bool {
	if len(s) != n {
		return false
	}
	for _, r := range s {
		if !('0' <= r && r <= '9' || 'a' <= r && r <= 'f') {
			return false
		}
	}
	return true
}
