package handlers

import (
	"crypto/sha256"
	"crypto/subtle"
	"net/http"
	"strings"

	"github.com/gin-gonic/gin"
)

// Metrics is GET /metrics: serve (the app's metrics.Metrics handler, in
// the Prometheus formats) behind the token. When token is set, the request
// must carry it as "Authorization: Bearer <token>" (else 401); when it is
// empty the route is open, which suits a private network only
// (CHECKOUT_METRICS_TOKEN). Nothing of it may be cached.
func (h *Handlers) Metrics(token string, serve http.Handler) gin.HandlerFunc {
	want := sha256.Sum256([]byte(token))
	return func(c *gin.Context) {
		c.Header("Cache-Control", "no-store")
		if token != "" {
			// Both sides hashed, so the compare takes the same time
			// whatever the length of the guess.
			got := sha256.Sum256([]byte(bearer(c.GetHeader("Authorization"))))
			if subtle.ConstantTimeCompare(got[:], want[:]) != 1 {
				c.Header("WWW-Authenticate", `Bearer realm="metrics"`)
				c.String(http.StatusUnauthorized, "A valid metrics token is required.\n")
				return
			}
		}
		serve.ServeHTTP(c.Writer, c.Request)
	}
}

// bearer is the token of an "Authorization: Bearer <token>" header, or "".
func bearer(header string) string {
	scheme, tok, ok := strings.Cut(header, " ")
	if !ok || !strings.EqualFold(scheme, "Bearer") {
		return ""
	}
	return strings.TrimSpace(tok)
}
