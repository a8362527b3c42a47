package handlers

import (
	"context"
	"net/http"
	"sync/atomic"
	"time"

	"github.com/gin-gonic/gin"
)

// Readiness is where the app is in its life: starting (migrations and
// start-up not done), ready, or draining (shutting down). /readyz answers
// from it, and while starting every route but /healthz and /readyz answers
// 503: a merchant's request with the right API key that arrives before
// start-up created that key must hear "come back", never "401 the key is not
// valid". The zero value is starting.
type Readiness struct{ state atomic.Int32 }

const (
	stateStarting int32 = iota
	stateReady
	stateDraining
)

// NewReadiness returns a Readiness in the starting state.
func NewReadiness() *Readiness { return &Readiness{} }

// Ready marks start-up done: every route serves.
func (r *Readiness) Ready() { r.state.CompareAndSwap(stateStarting, stateReady) }

// Drain marks the shutdown begun: /readyz answers 503 so a load balancer
// stops sending traffic, while requests still arriving are served.
func (r *Readiness) Drain() { r.state.Store(stateDraining) }

// startingRetryAfter is the Retry-After, in seconds, of a request refused
// while starting; start-up takes about a second.
const startingRetryAfter = "1"

// Gate answers 503 with Retry-After to every request but /healthz and
// /readyz until start-up is done.
func (r *Readiness) Gate() gin.HandlerFunc {
	return func(c *gin.Context) {
		if r.state.Load() != stateStarting {
			c.Next()
			return
		}
		switch c.Request.URL.Path {
		case "/healthz", "/readyz":
			c.Next()
			return
		}
		c.Header("Retry-After", startingRetryAfter)
		c.Header("X-Content-Type-Options", "nosniff")
		if isAPI(c) {
			apiError(c, http.StatusServiceUnavailable, "starting", "the service is starting; retry in a moment", "")
			return
		}
		c.String(http.StatusServiceUnavailable, "The service is starting. Please try again in a moment.\n")
		c.Abort()
	}
}

// Healthz is GET /healthz: the process is alive.
func (h *Handlers) Healthz(c *gin.Context) {
	c.JSON(http.StatusOK, gin.H{"status": "ok"})
}

// Readyz is GET /readyz: start-up is done, the app is not shutting down,
// and the database answers.
func (h *Handlers) Readyz(r *Readiness) gin.HandlerFunc {
	return func(c *gin.Context) {
		switch r.state.Load() {
		case stateStarting:
			c.Header("Retry-After", startingRetryAfter)
			c.JSON(http.StatusServiceUnavailable, gin.H{"status": "starting"})
			return
		case stateDraining:
			c.JSON(http.StatusServiceUnavailable, gin.H{"status": "draining"})
			return
		}
		ctx, cancel := context.WithTimeout(c.Request.Context(), 2*time.Second)
		defer cancel()
		if err := h.svc.Ping(ctx); err != nil {
			h.log.ErrorContext(ctx, "readiness: database", "err", err)
			c.JSON(http.StatusServiceUnavailable, gin.H{"status": "unavailable", "database": "unreachable"})
			return
		}
		c.JSON(http.StatusOK, gin.H{"status": "ok", "database": "ok"})
	}
}

// TestModeMark tells every page whether to show the "Test mode" mark.
func (h *Handlers) TestModeMark() gin.HandlerFunc {
	test := !h.svc.Livemode()
	return func(c *gin.Context) {
		c.Set(keyTestMode, test)
		c.Next()
	}
}
