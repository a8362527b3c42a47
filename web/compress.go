package web

import (
	"compress/gzip"
	"net/http"
	"runtime"
	"strings"

	"github.com/gin-gonic/gin"
)

// minGzipSize is the smallest HTML body worth compressing: below it the
// gzip header and trailer eat most of the gain.
const minGzipSize = 1024

// Gzip compresses HTML answers (pages and htmx partials) for clients that
// accept gzip. Static files come precompressed (serveStatic sets their
// Content-Encoding, so they pass through untouched), and JSON, CSV and
// bodies under minGzipSize are sent as they are.
//
// A compressor holds about 1 MB, so only a few exist, reused: when all are
// busy the answer goes out uncompressed instead of waiting or growing the
// memory with the load.
//
// BREACH: a compressed page that holds a secret next to text an attacker
// chose leaks the secret through its length. The CSRF token is the secret
// in our pages; it is sent masked with fresh random bytes in every answer
// (see reqctx.MaskCSRF), so no two pages carry the same token bytes.
func Gzip() gin.HandlerFunc {
	n := max(2, runtime.GOMAXPROCS(0))
	p := &gzipPool{slots: make(chan struct{}, n), idle: make(chan *gzip.Writer, n)}
	return func(c *gin.Context) {
		if c.Request.Method == http.MethodHead {
			c.Next()
			return
		}
		w := &gzipWriter{ResponseWriter: c.Writer, pool: p, accepts: acceptsEncoding(c.Request, "gzip")}
		c.Writer = w
		defer w.finish()
		c.Next()
	}
}

// gzipPool bounds the compressors: one slot per answer being compressed,
// and the idle compressors kept for the next ones. A compressor is made
// only when a slot is taken and none is idle, so at most cap(slots) exist.
type gzipPool struct {
	slots chan struct{}
	idle  chan *gzip.Writer
}

// get takes a slot and a compressor, or nil when every slot is taken.
func (p *gzipPool) get() *gzip.Writer {
	select {
	case p.slots <- struct{}{}:
	default:
		return nil
	}
	select {
	case gz := <-p.idle:
		return gz
	default:
		gz, _ := gzip.NewWriterLevel(nil, gzip.BestSpeed) // a valid level: never fails
		return gz
	}
}

// put keeps the compressor for the next answer and frees its slot.
func (p *gzipPool) put(gz *gzip.Writer) {
	gz.Reset(nil) // drops the answer's writer
	select {
	case p.idle <- gz:
	default:
	}
	<-p.slots
}

// gzipWriter holds the first bytes of an answer until it knows whether to
// compress it: an HTML body of at least minGzipSize for a client that takes
// gzip, with no encoding of its own.
type gzipWriter struct {
	gin.ResponseWriter
	pool    *gzipPool
	accepts bool

	decided bool
	gz      *gzip.Writer // nil: plain
	held    []byte
}

func (w *gzipWriter) Write(p []byte) (int, error) {
	if w.decided {
		if w.gz != nil {
			return w.gz.Write(p)
		}
		return w.ResponseWriter.Write(p)
	}
	if !w.eligible() {
		w.decided = true
		return w.ResponseWriter.Write(p)
	}
	if len(w.held) == 0 && len(p) >= minGzipSize {
		// The usual case: a page rendered into a buffer and written once.
		w.start()
		return w.Write(p)
	}
	w.held = append(w.held, p...)
	if len(w.held) >= minGzipSize {
		w.start()
		if _, err := w.flushHeld(); err != nil {
			return 0, err
		}
	}
	return len(p), nil
}

func (w *gzipWriter) WriteString(s string) (int, error) { return w.Write([]byte(s)) }

// Written counts held bytes as written: a handler that wrote part of a
// page must not then write an error page after it.
func (w *gzipWriter) Written() bool { return len(w.held) > 0 || w.ResponseWriter.Written() }

// WriteHeaderNow sends the headers at once, so the body can no longer be
// compressed: it goes as it is.
func (w *gzipWriter) WriteHeaderNow() {
	w.settle()
	w.decided = true
	w.ResponseWriter.WriteHeaderNow()
}

// Flush sends what is held (compressed or not) before flushing. The
// headers go out with it, so an answer not yet compressing stays plain.
func (w *gzipWriter) Flush() {
	w.settle()
	w.decided = true
	if w.gz != nil {
		w.gz.Flush()
	}
	w.ResponseWriter.Flush()
}

// eligible reports whether this answer is HTML that may be compressed; it
// marks every HTML answer Vary: Accept-Encoding, compressed or not.
func (w *gzipWriter) eligible() bool {
	h := w.Header()
	if !strings.HasPrefix(h.Get("Content-Type"), "text/html") || h.Get("Content-Encoding") != "" {
		return false
	}
	h.Add("Vary", "Accept-Encoding")
	s := w.Status()
	return w.accepts && s >= 200 && s != http.StatusNoContent && s != http.StatusNotModified
}

// start switches to compressing, if a compressor is free.
func (w *gzipWriter) start() {
	w.decided = true
	if w.gz = w.pool.get(); w.gz == nil {
		return
	}
	w.gz.Reset(w.ResponseWriter)
	h := w.Header()
	h.Set("Content-Encoding", "gzip")
	h.Del("Content-Length")
}

// settle decides for a held body that ended (or is flushed) below
// minGzipSize: it goes out plain.
func (w *gzipWriter) settle() {
	if !w.decided && len(w.held) > 0 {
		w.decided = true
		w.flushHeld()
	}
}

func (w *gzipWriter) flushHeld() (int, error) {
	held := w.held
	w.held = nil
	if w.gz != nil {
		return w.gz.Write(held)
	}
	return w.ResponseWriter.Write(held)
}

// finish sends what is held and ends the gzip stream, returning the
// compressor to the pool.
func (w *gzipWriter) finish() {
	w.settle()
	if w.gz == nil {
		return
	}
	w.gz.Close()
	w.pool.put(w.gz)
	w.gz = nil
}
