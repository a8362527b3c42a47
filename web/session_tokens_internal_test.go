package web

import (
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/gin-gonic/gin"
)

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
	if s.tokens.Len() != 0 {
		t.Fatal("a new session was cached before a browser sent its cookie back")
	}
	for range 2 {
		if tok, _ := ask(value); tok != want {
			t.Fatalf("token %q, want %q", tok, want)
		}
		if s.tokens.Len() != 1 {
			t.Fatalf("cache holds %d values, want the one cookie", s.tokens.Len())
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
	if s.tokens.Len() != 1 {
		t.Fatalf("cache holds %d values after forged cookies, want 1", s.tokens.Len())
	}
}
