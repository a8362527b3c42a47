package web

import (
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/gin-gonic/gin"
)

// TestTokenCacheIsBounded: the cache never holds more than two generations
// of max values, and a value just put or just read is still there.
func TestTokenCacheIsBounded(t *testing.T) {
	c := newTokenCache(4)
	c.put("first", "tok-first")
	for i := range 20 {
		c.put(fmt.Sprintf("cookie-%d", i), fmt.Sprintf("tok-%d", i))
		if _, ok := c.get("first"); !ok && i < 3 {
			t.Fatalf("after %d puts the first value is gone", i+1)
		}
		if n := c.len(); n > 8 {
			t.Fatalf("after %d puts the cache holds %d values, want at most 8", i+2, n)
		}
	}
	if tok, ok := c.get("cookie-19"); !ok || tok != "tok-19" {
		t.Fatalf("newest value: %q %v", tok, ok)
	}
	if _, ok := c.get("cookie-0"); ok {
		t.Fatal("the oldest value survived 20 puts into generations of 4")
	}
}

// TestCustomerTokenCachesOnlyDecodedCookies: a cookie the store signed is
// cached with its token after its first decoding; a forged or altered one
// yields no token and is not cached.
func TestCustomerTokenCachesOnlyDecodedCookies(t *testing.T) {
	gin.SetMode(gin.ReleaseMode)
	s := NewSessions([]byte("0123456789abcdef0123456789abcdef"), []byte("abcdef0123456789abcdef0123456789"), false)
	ask := func(cookie string) (string, *gin.Context) {
		c, _ := gin.CreateTestContext(httptest.NewRecorder())
		c.Request = httptest.NewRequest(http.MethodGet, "/c/x", nil)
		if cookie != "" {
			c.Request.AddCookie(&http.Cookie{Name: s.customerName, Value: cookie})
		}
		tok, _ := s.customerToken(c)
		return tok, c
	}

	// A first view starts the session.
	w := httptest.NewRecorder()
	c, _ := gin.CreateTestContext(w)
	c.Request = httptest.NewRequest(http.MethodGet, "/c/x", nil)
	want := s.startCSRF(c)
	var value string
	for _, ck := range w.Result().Cookies() {
		if ck.Name == s.customerName {
			value = ck.Value
		}
	}
	if value == "" || want == "" {
		t.Fatalf("first view set cookie %q, token %q", value, want)
	}
	if s.tokens.len() != 0 {
		t.Fatal("a new session was cached before a browser sent its cookie back")
	}
	for range 2 {
		if tok, _ := ask(value); tok != want {
			t.Fatalf("token %q, want %q", tok, want)
		}
		if s.tokens.len() != 1 {
			t.Fatalf("cache holds %d values, want the one cookie", s.tokens.len())
		}
	}
	altered := value[:len(value)-2] + strings.ToUpper(value[len(value)-2:])
	if altered == value {
		altered = value[:len(value)-1] + "A"
	}
	for _, bad := range []string{altered, "forged", want} {
		if tok, _ := ask(bad); tok != "" {
			t.Fatalf("cookie %q gave token %q", bad, tok)
		}
	}
	if s.tokens.len() != 1 {
		t.Fatalf("cache holds %d values after forged cookies, want 1", s.tokens.len())
	}
}
