package web

import (
	"strings"
	"sync"
	"time"

	"github.com/gin-gonic/gin"

	"checkout/handlers"
)

// LoginLimit slows down password guessing from one address, across accounts
// (including emails that do not exist): a small token bucket per IP, on the
// service's clock, in front of POST /admin/login. A form without an email or
// a password is no guess (the login handler refuses it without looking
// anything up), so it spends no try.
func LoginLimit(h *handlers.Handlers) gin.HandlerFunc {
	l := newLoginLimiter()
	return func(c *gin.Context) {
		if strings.TrimSpace(c.PostForm("email")) == "" || c.PostForm("password") == "" {
			c.Next()
			return
		}
		if !l.allow(c.ClientIP(), h.Now()) {
			h.LoginThrottled(c)
			c.Abort()
			return
		}
		c.Next()
	}
}

type loginLimiter struct {
	mu      sync.Mutex
	buckets map[string]*bucket
}

type bucket struct {
	tokens float64
	last   time.Time
}

const (
	loginBurst = 10
	loginRate  = 1.0 / 6 // one try every six seconds after the burst
)

func newLoginLimiter() *loginLimiter { return &loginLimiter{buckets: map[string]*bucket{}} }

func (l *loginLimiter) allow(ip string, now time.Time) bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	if len(l.buckets) > 10000 { // forget idle addresses rather than grow without bound
		for k, b := range l.buckets {
			if now.Sub(b.last) > time.Hour {
				delete(l.buckets, k)
			}
		}
	}
	b, ok := l.buckets[ip]
	if !ok {
		b = &bucket{tokens: loginBurst, last: now}
		l.buckets[ip] = b
	}
	b.tokens = min(loginBurst, b.tokens+now.Sub(b.last).Seconds()*loginRate)
	b.last = now
	if b.tokens < 1 {
		return false
	}
	b.tokens--
	return true
}
