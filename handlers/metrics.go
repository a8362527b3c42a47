package handlers

import (
	"context"
	"crypto/sha256"
	"crypto/subtle"
	"fmt"
	"net/http"
	"strings"
	"time"

	"github.com/gin-gonic/gin"
)

// metricsContentType is the Prometheus text exposition format, version
// 0.0.4.
const metricsContentType = "text/plain; version=0.0.4; charset=utf-8"

// Metrics is GET /metrics: the app's counters in the Prometheus text
// format. When token is set, the request must carry it as
// "Authorization: Bearer <token>" (else 401); when it is empty the route is
// open, which suits a private network only (CHECKOUT_METRICS_TOKEN).
func (h *Handlers) Metrics(token string) gin.HandlerFunc {
	want := sha256.Sum256([]byte(token))
	return func(c *gin.Context) {
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
		ctx, cancel := context.WithTimeout(c.Request.Context(), 5*time.Second)
		defer cancel()
		unknown, err := h.svc.UnknownNotificationTotals(ctx)
		if err != nil {
			h.log.ErrorContext(ctx, "metrics: unknown notifications", "err", err)
			c.String(http.StatusServiceUnavailable, "Metrics are unavailable.\n")
			return
		}
		var b strings.Builder
		b.WriteString("# HELP checkout_unknown_notifications_total Notifications that named a reference we never issued, per source.\n")
		b.WriteString("# TYPE checkout_unknown_notifications_total counter\n")
		for _, u := range unknown {
			fmt.Fprintf(&b, "checkout_unknown_notifications_total{source=\"%s\"} %d\n", labelValue(u.Source), u.Count)
		}
		c.Header("Cache-Control", "no-store")
		c.Data(http.StatusOK, metricsContentType, []byte(b.String()))
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

// labelValue escapes a label value for the text format: backslash, double
// quote and line feed.
func labelValue(v string) string {
	return strings.NewReplacer(`\`, `\\`, `"`, `\"`, "\n", `\n`).Replace(v)
}
