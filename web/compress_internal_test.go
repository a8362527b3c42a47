package web

import (
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/gin-gonic/gin"
)

// TestGzipHeldBytesCountAsWritten: a small start of a page is held until
// the middleware knows whether to compress, yet the handler sees it as
// written (so an error after it does not add a second page), and it is
// sent at the end.
func TestGzipHeldBytesCountAsWritten(t *testing.T) {
	gin.SetMode(gin.ReleaseMode)
	r := gin.New()
	r.Use(Gzip())
	var written bool
	r.GET("/", func(c *gin.Context) {
		c.Header("Content-Type", "text/html; charset=utf-8")
		c.Writer.WriteString("<p>partial")
		written = c.Writer.Written()
	})
	req := httptest.NewRequest(http.MethodGet, "/", nil)
	req.Header.Set("Accept-Encoding", "gzip")
	w := httptest.NewRecorder()
	r.ServeHTTP(w, req)
	if !written {
		t.Error("Written() = false after the handler wrote a held start")
	}
	if got := w.Body.String(); got != "<p>partial" || w.Header().Get("Content-Encoding") != "" {
		t.Errorf("body %q, encoding %q; want the small body as it is", got, w.Header().Get("Content-Encoding"))
	}
}

// TestGzipStreamsALargeBodyWrittenInPieces: small writes add up past the
// threshold and the whole body comes out compressed, once.
func TestGzipStreamsALargeBodyWrittenInPieces(t *testing.T) {
	gin.SetMode(gin.ReleaseMode)
	r := gin.New()
	r.Use(Gzip())
	piece := "<li>" + strings.Repeat("x", 96) + "</li>\n"
	r.GET("/", func(c *gin.Context) {
		c.Header("Content-Type", "text/html; charset=utf-8")
		c.Header("Content-Length", "999") // a length set for the plain body must go
		for range 40 {
			c.Writer.WriteString(piece)
		}
	})
	srv := httptest.NewServer(r)
	defer srv.Close()
	resp, err := http.Get(srv.URL) // the client asks for gzip and decodes it
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	if !resp.Uncompressed || string(b) != strings.Repeat(piece, 40) {
		t.Errorf("uncompressed by the client %v, body %d bytes, want %d", resp.Uncompressed, len(b), 40*len(piece))
	}
}

// TestGzipAfterAFlushTheBodyGoesAsTheHeadersSay: a flush sends the headers
// (no Content-Encoding then), so what the handler writes after it goes
// plain, however large: never a gzip body under plain headers.
func TestGzipAfterAFlushTheBodyGoesAsTheHeadersSay(t *testing.T) {
	gin.SetMode(gin.ReleaseMode)
	r := gin.New()
	r.Use(Gzip())
	page := "<p>" + strings.Repeat("y", 4*minGzipSize) + "</p>"
	r.GET("/", func(c *gin.Context) {
		c.Header("Content-Type", "text/html; charset=utf-8")
		c.Writer.Flush()
		c.Writer.WriteString(page)
	})
	req := httptest.NewRequest(http.MethodGet, "/", nil)
	req.Header.Set("Accept-Encoding", "gzip")
	w := httptest.NewRecorder()
	r.ServeHTTP(w, req)
	if enc := w.Header().Get("Content-Encoding"); enc != "" || w.Body.String() != page {
		t.Errorf("encoding %q and a body of %d bytes starting %q; want the page as it is, unencoded",
			enc, w.Body.Len(), w.Body.String()[:min(4, w.Body.Len())])
	}
}
