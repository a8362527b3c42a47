package web

import (
	"time"

	"github.com/gin-gonic/gin"

	"checkout/metrics"
)

// Instrument counts every request in m: its method, the route template
// that matched (Gin's FullPath, so /c/{id} is one label whatever the id;
// a request no route matched is metrics.Unmatched), its status and how
// long it took, the other middleware included. It is the first
// middleware, so a request refused early is counted too. The labels'
// children are cached in m: a request allocates nothing here.
func Instrument(m *metrics.Metrics) gin.HandlerFunc {
	return func(c *gin.Context) {
		start := time.Now()
		c.Next()
		m.Request(c.Request.Method, c.FullPath(), c.Writer.Status(), time.Since(start))
	}
}
