package web

import (
	"crypto/sha256"
	"encoding/hex"
	"math"
	"net"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/gin-gonic/gin"
	"github.com/hashicorp/golang-lru/v2/simplelru"
	"golang.org/x/time/rate"

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

// CodeLimit is LoginLimit for the login's second step, POST
// /admin/login/totp: a bucket per IP (apart from the password's) in front
// of each code, which costs a read and a write. A form without a code is
// refused by the handler without looking anything up.
func CodeLimit(h *handlers.Handlers) gin.HandlerFunc {
	l := newLoginLimiter()
	return func(c *gin.Context) {
		if strings.TrimSpace(c.PostForm("code")) == "" {
			c.Next()
			return
		}
		if !l.allow(c.ClientIP(), h.Now()) {
			h.TOTPThrottled(c)
			c.Abort()
			return
		}
		c.Next()
	}
}

const (
	loginBurst = 10
	loginEvery = 6 * time.Second // one try every six seconds after the burst
)

// loginLimiter is the login's bucket per IP, on the same bounded machinery
// as every other limit.
type loginLimiter struct{ *Limiter }

func newLoginLimiter() *loginLimiter {
	return &loginLimiter{newKeyedLimiter(Rate{Every: loginEvery, Burst: loginBurst}, maxBuckets)}
}

func (l *loginLimiter) allow(ip string, now time.Time) bool {
	ok, _ := l.Take(ip, now)
	return ok
}

// Rate is one limit: a burst of Burst requests, then one every Every.
type Rate struct {
	Every time.Duration
	Burst int
}

// maxBuckets bounds each limiter's memory: past it, the bucket unused the
// longest is forgotten (an address that comes back starts with a full
// bucket, which only ever lets in more, never refuses a client).
const maxBuckets = 10000

// NewLimiter is a Limiter of rate r with the usual bound on its buckets
// (for payments.Config.NotificationLimit).
func NewLimiter(r Rate) *Limiter { return newKeyedLimiter(r, maxBuckets) }

// Limiter is a token bucket (golang.org/x/time/rate) per key, kept in
// an LRU of at most size buckets, so that a flood of distinct keys (every
// address of an IPv6 block, random references) costs bounded memory. The
// LRU is golang-lru's simplelru under our own lock: get-or-create must be
// one step, which the locked cache's separate Get and Add are not.
type Limiter struct {
	rate    Rate
	mu      sync.Mutex
	buckets *simplelru.LRU[string, *rate.Limiter]
}

func newKeyedLimiter(r Rate, size int) *Limiter {
	lru, err := simplelru.NewLRU[string, *rate.Limiter](size, nil)
	if err != nil {
		panic(err) // only for a size below 1, a programming error
	}
	return &Limiter{rate: r, buckets: lru}
}

// Take spends one token of key's bucket at now. When none is left it spends
// nothing and says how long until one is.
func (l *Limiter) Take(key string, now time.Time) (bool, time.Duration) {
	l.mu.Lock()
	b, ok := l.buckets.Get(key)
	if !ok {
		b = rate.NewLimiter(rate.Every(l.rate.Every), l.rate.Burst)
		l.buckets.Add(key, b)
	}
	l.mu.Unlock()
	r := b.ReserveN(now, 1)
	if !r.OK() {
		return false, l.rate.Every
	}
	if d := r.DelayFrom(now); d > 0 {
		r.CancelAt(now)
		return false, d
	}
	return true, 0
}

// len is how many buckets are kept.
func (l *Limiter) len() int {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.buckets.Len()
}

// Limits are the rates of the public routes (see the README's table). The
// zero value of a field takes DefaultLimits' value.
type Limits struct {
	// Notify is per client IP on /ipn/* and /callback/*: providers send
	// every merchant's notifications from a few addresses, so it is
	// generous.
	Notify Rate
	// Reference is per (route, reference) on the returns, which carry the
	// reference in the URL. Notifications are limited per reference where
	// payments parses them (payments.Config.NotificationLimit, built with
	// NewLimiter(DefaultLimits.Reference)).
	Reference Rate
	// Return is per client IP on /return/*.
	Return Rate
	// Pay is per client IP on POST /c/{id}/pay.
	Pay Rate
	// Link is per client IP on /l/{id}.
	Link Rate
	// API is per API key on the merchant API.
	API Rate
	// Docs is per client IP on the API's reference (/api/openapi.json,
	// /docs/api): public, and the same bytes for everyone.
	Docs Rate
	// Logo is per client IP on a merchant's logo (/m/{id}/logo/{etag}):
	// public, and a made-up merchant id costs a database read. Generous:
	// browsers keep a logo for good, and many customers may share an
	// address.
	Logo Rate
}

// DefaultLimits are the rates in force.
var DefaultLimits = Limits{
	Notify:    Rate{Every: 500 * time.Millisecond, Burst: 120},
	Reference: Rate{Every: 10 * time.Second, Burst: 10},
	Return:    Rate{Every: 3 * time.Second, Burst: 20},
	Pay:       Rate{Every: 6 * time.Second, Burst: 10},
	Link:      Rate{Every: 3 * time.Second, Burst: 20},
	API:       Rate{Every: 40 * time.Millisecond, Burst: 100},
	Docs:      Rate{Every: time.Second, Burst: 30},
	Logo:      Rate{Every: 100 * time.Millisecond, Burst: 200},
}

func (l Limits) withDefaults() Limits {
	fill := func(r *Rate, d Rate) {
		if r.Every <= 0 || r.Burst <= 0 {
			*r = d
		}
	}
	fill(&l.Notify, DefaultLimits.Notify)
	fill(&l.Reference, DefaultLimits.Reference)
	fill(&l.Return, DefaultLimits.Return)
	fill(&l.Pay, DefaultLimits.Pay)
	fill(&l.Link, DefaultLimits.Link)
	fill(&l.API, DefaultLimits.API)
	fill(&l.Docs, DefaultLimits.Docs)
	fill(&l.Logo, DefaultLimits.Logo)
	return l
}

// limit refuses a request past its key's rate with 429 and Retry-After
// (h.TooManyRequests: the JSON error object on the API, a plain page
// elsewhere). A request whose key is "" is not limited by this rule.
func limit(h *handlers.Handlers, l *Limiter, key func(*gin.Context) string) gin.HandlerFunc {
	return func(c *gin.Context) {
		k := key(c)
		if k == "" {
			c.Next()
			return
		}
		if ok, wait := l.Take(k, h.Now()); !ok {
			c.Header("Retry-After", strconv.Itoa(retryAfter(wait)))
			h.TooManyRequests(c)
			c.Abort()
			return
		}
		c.Next()
	}
}

// retryAfter is a wait in whole seconds, rounded up, at least 1.
func retryAfter(d time.Duration) int {
	return max(1, int(math.Ceil(d.Seconds())))
}

// perIP limits by the client's address (see ipKey).
func perIP(h *handlers.Handlers, r Rate) gin.HandlerFunc {
	l := newKeyedLimiter(r, maxBuckets)
	return limit(h, l, func(c *gin.Context) string { return ipKey(c.ClientIP()) })
}

// perQueryReference limits by (route, the first non-empty of the query
// parameters names): the reference a provider's return carries in its URL.
func perQueryReference(h *handlers.Handlers, r Rate, names ...string) gin.HandlerFunc {
	l := newKeyedLimiter(r, maxBuckets)
	return limit(h, l, func(c *gin.Context) string {
		q := c.Request.URL.Query()
		for _, n := range names {
			if v := q.Get(n); v != "" {
				if len(v) > 100 {
					v = v[:100] // no reference is longer; bounds the key's memory
				}
				return c.FullPath() + " " + v
			}
		}
		return ""
	})
}

// perAPIKey limits by the Bearer key, once APIAuth has accepted it. The key
// is kept hashed: the limiter's memory holds no secret.
func perAPIKey(h *handlers.Handlers, r Rate) gin.HandlerFunc {
	l := newKeyedLimiter(r, maxBuckets)
	return limit(h, l, func(c *gin.Context) string {
		_, key, _ := strings.Cut(c.GetHeader("Authorization"), " ")
		sum := sha256.Sum256([]byte(strings.TrimSpace(key)))
		return hex.EncodeToString(sum[:])
	})
}

// ipKey is the bucket of a client address: the address itself for IPv4,
// its /64 for IPv6 (one subscriber is usually given a whole /64, so per
// address would be no limit at all).
func ipKey(addr string) string {
	ip := net.ParseIP(addr)
	if ip == nil {
		return addr
	}
	if v4 := ip.To4(); v4 != nil {
		return v4.String()
	}
	return ip.Mask(net.CIDRMask(64, 128)).String() + "/64"
}

// ParseTrustedProxies reads CHECKOUT_TRUSTED_PROXIES: comma-separated CIDRs
// (a bare address is taken as its own /32 or /128). Blank is none.
func ParseTrustedProxies(v string) ([]string, error) {
	var out []string
	for _, p := range strings.Split(v, ",") {
		p = strings.TrimSpace(p)
		if p == "" {
			continue
		}
		if !strings.Contains(p, "/") {
			ip := net.ParseIP(p)
			if ip == nil {
				return nil, &proxyError{p}
			}
			if ip.To4() != nil {
				p += "/32"
			} else {
				p += "/128"
			}
		}
		if _, _, err := net.ParseCIDR(p); err != nil {
			return nil, &proxyError{p}
		}
		out = append(out, p)
	}
	return out, nil
}

type proxyError struct{ v string }

func (e *proxyError) Error() string {
	return strconv.Quote(e.v) + " is not a CIDR such as 10.0.0.0/8 or 2001:db8::/32"
}
