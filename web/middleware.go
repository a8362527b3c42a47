package web

import (
	"crypto/rand"
	"encoding/base64"
	"encoding/hex"
	"fmt"
	"log/slog"
	"net/http"
	"runtime/debug"
	"strings"
	"time"

	"github.com/gin-gonic/gin"

	"checkout/handlers"
	"checkout/reqctx"
)

// RequestID gives every request an id (kept from X-Request-ID when it looks
// sane), returned in the X-Request-ID header, shown on error pages and
// carried by the request's context into every log line (see LogHandler).
func RequestID() gin.HandlerFunc {
	return func(c *gin.Context) {
		id := c.Request.Header.Get("X-Request-ID")
		if len(id) < 8 || len(id) > 64 || strings.Trim(id, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-_") != "" {
			var b [8]byte
			rand.Read(b[:]) // never fails: the runtime stops the program if it cannot read
			var enc [16]byte
			hex.Encode(enc[:], b[:])
			id = string(enc[:]) // one allocation: the id itself
		}
		c.Request = c.Request.WithContext(reqctx.WithRequestID(c.Request.Context(), id))
		// The canonical key set directly (c.Header would canonicalise
		// "X-Request-ID" into a new string on every request).
		c.Writer.Header()["X-Request-Id"] = []string{id}
		c.Next()
	}
}

// Logger writes one structured line per request. It logs the path without
// the query string: provider returns carry references there, and nothing in
// a URL is needed to follow a request. A path that carries a secret (an
// invite link's token) is logged as its route instead (see loggedPath). With the app's log chain (see
// requestLines) an Info line is written straight to its LogWriter, the
// same text slog would write, at a fraction of the cost.
func Logger(log *slog.Logger) gin.HandlerFunc {
	lines := requestLines(log)
	return func(c *gin.Context) {
		start := time.Now()
		c.Next()
		level := slog.LevelInfo
		if c.Writer.Status() >= 500 {
			level = slog.LevelError
		}
		if ctx := c.Request.Context(); lines != nil && level == slog.LevelInfo {
			if lines.Enabled(ctx, level) {
				_ = lines.requestLine(time.Now(), c.Request.Method, loggedPath(c), c.FullPath(), c.Writer.Status(),
					time.Since(start), c.ClientIP(), reqctx.RequestID(ctx)) // nowhere to report a failing log destination
			}
			return
		}
		log.LogAttrs(c.Request.Context(), level, "request",
			slog.String("method", c.Request.Method),
			slog.String("path", loggedPath(c)), slog.String("route", c.FullPath()),
			slog.Int("status", c.Writer.Status()), slog.Duration("took", time.Since(start)),
			slog.String("ip", c.ClientIP()))
	}
}

// secretPaths are the path prefixes whose rest is a credential: an invite
// link's token makes an admin with the invite's role.
var secretPaths = []string{"/admin/invite/"}

// loggedPath is the request's path as the request line logs it: the path
// itself, except under a secretPaths prefix, where everything after the
// prefix is replaced (matched route or not: a mistyped or trailing-slash
// link still carries the token).
func loggedPath(c *gin.Context) string {
	p := c.Request.URL.Path
	for _, prefix := range secretPaths {
		if strings.HasPrefix(p, prefix) {
			return prefix + "[redacted]"
		}
	}
	return p
}

// NoReferrer sets Referrer-Policy: no-referrer, for pages whose own URL is
// a secret (an invite link): the page's stylesheet and script requests,
// and any link followed from it, would carry it in Referer otherwise (and
// so into proxies' logs).
func NoReferrer(c *gin.Context) {
	c.Writer.Header()["Referrer-Policy"] = []string{"no-referrer"}
	c.Next()
}

// Recover turns a panic into the generic error page, with the stack in
// the log.
func Recover(log *slog.Logger, h *handlers.Handlers) gin.HandlerFunc {
	return func(c *gin.Context) {
		defer func() {
			rec := recover()
			if rec == nil {
				return
			}
			if rec == http.ErrAbortHandler {
				panic(rec)
			}
			log.ErrorContext(c.Request.Context(), "panic", "panic", fmt.Sprint(rec), "stack", string(debug.Stack()))
			h.Fail(c, fmt.Errorf("panic: %v", rec))
		}()
		c.Next()
	}
}

// SecurityHeaders sets a per-request CSP nonce and the headers of
// design.md. frameAncestors is 'none' for admin pages and 'self' for
// customer pages (the Pesapal callback loads inside our own iframe);
// frameSrc and formAction list the configured provider origins.
func SecurityHeaders(frameAncestors string, frameSrc, formAction []string) gin.HandlerFunc {
	// Everything but the nonce is known at start: the policy is built once,
	// in two halves around it.
	fs := "'none'"
	if len(frameSrc) > 0 {
		fs = strings.Join(frameSrc, " ")
	}
	const mark = "\x00nonce\x00"
	// The nonce is in style-src too: a merchant's brand colours come in a
	// <style> carrying it (templates.brandStyle), never 'unsafe-inline'.
	csp := "default-src 'self'; script-src 'nonce-" + mark + "'; style-src 'self' 'nonce-" + mark + "'; img-src 'self' data:; " +
		"frame-src " + fs + "; object-src 'none'; base-uri 'none'; " +
		"form-action 'self' " + strings.Join(formAction, " ") + "; frame-ancestors " + frameAncestors
	before, rest, _ := strings.Cut(strings.ReplaceAll(csp, " ;", ";"), mark)
	middle, after, _ := strings.Cut(rest, mark)
	deny := frameAncestors == "'none'"
	// The constant headers' values, shared by every answer (Header.Set
	// would make each anew). Shared read-only: net/http and Gin replace
	// a header's slice, never write into it, and an append to a slice as
	// long as its capacity copies it.
	var (
		noSniff    = []string{"nosniff"}
		sameOrigin = []string{"same-origin"}
		denyFrames = []string{"DENY"}
	)
	const nonceLen = 24 // 18 random bytes in base64
	return func(c *gin.Context) {
		var b [18]byte
		rand.Read(b[:]) // never fails: the runtime stops the program if it cannot read
		// The policy with the nonce in one allocation; the nonce is a
		// slice of it.
		var sb strings.Builder
		sb.Grow(len(before) + 2*nonceLen + len(middle) + len(after))
		sb.WriteString(before)
		var enc [nonceLen]byte
		base64.StdEncoding.Encode(enc[:], b[:])
		sb.Write(enc[:])
		sb.WriteString(middle)
		sb.Write(enc[:])
		sb.WriteString(after)
		policy := sb.String()
		reqctx.SetNonce(c, policy[len(before):len(before)+nonceLen])
		// Canonical keys, set directly: what Header.Set does, without
		// its allocation per value.
		h := c.Writer.Header()
		h["Content-Security-Policy"] = []string{policy}
		h["X-Content-Type-Options"] = noSniff
		h["Referrer-Policy"] = sameOrigin
		if deny {
			h["X-Frame-Options"] = denyFrames
		}
		c.Next()
	}
}
