package apicheck

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"testing"
)

// Handler wraps a server's handler: every /api/ exchange that passes
// through it is checked, and a broken rule fails tb.
func (c *Checker) Handler(tb testing.TB, next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if !Applies(r) {
			next.ServeHTTP(w, r)
			return
		}
		orig := r.Clone(r.Context())
		body, truncated, err := readRequestBody(r)
		if err != nil {
			// The client went away mid-body: nothing to check.
			next.ServeHTTP(w, r)
			return
		}
		rec := &recorder{ResponseWriter: w}
		next.ServeHTTP(rec, r)
		c.report(tb, orig, body, truncated, rec.status(), w.Header().Clone(), rec.body.Bytes())
	})
}

func (c *Checker) report(tb testing.TB, req *http.Request, body []byte, truncated bool, status int, hdr http.Header, raw []byte) {
	plain, err := decode(hdr.Get("Content-Encoding"), raw)
	if err != nil {
		tb.Errorf("apicheck: %s %s: the answer's body: %v", req.Method, req.URL.RequestURI(), err)
		return
	}
	hdr.Del("Content-Encoding")
	if err := c.Check(Exchange{Request: req, RequestBody: body, RequestTruncated: truncated, Status: status,
		Header: hdr, Body: plain}); err != nil {
		tb.Errorf("apicheck: %v", err)
	}
}

// recorder passes an answer through and keeps a copy of it.
type recorder struct {
	http.ResponseWriter
	code int
	body bytes.Buffer
}

func (r *recorder) WriteHeader(code int) {
	if r.code == 0 {
		r.code = code
	}
	r.ResponseWriter.WriteHeader(code)
}

func (r *recorder) Write(b []byte) (int, error) {
	if r.code == 0 {
		r.code = http.StatusOK
	}
	r.body.Write(b)
	return r.ResponseWriter.Write(b)
}

func (r *recorder) status() int {
	if r.code == 0 {
		return http.StatusOK
	}
	return r.code
}

// Flush and Hijack pass through, so that the wrapped handler behaves as
// it does unwrapped.
func (r *recorder) Flush() {
	if f, ok := r.ResponseWriter.(http.Flusher); ok {
		f.Flush()
	}
}

func (r *recorder) Hijack() (net.Conn, *bufio.ReadWriter, error) {
	if h, ok := r.ResponseWriter.(http.Hijacker); ok {
		return h.Hijack()
	}
	return nil, nil, errors.New("apicheck: not a Hijacker")
}

func (r *recorder) Unwrap() http.ResponseWriter { return r.ResponseWriter }

// Transport wraps a client's transport (nil: http.DefaultTransport):
// every /api/ exchange made through it is checked, and a broken rule
// fails tb. For servers the test does not build itself (the binary's).
func (c *Checker) Transport(tb testing.TB, next http.RoundTripper) http.RoundTripper {
	if next == nil {
		next = http.DefaultTransport
	}
	return roundTripper(func(req *http.Request) (*http.Response, error) {
		if !Applies(req) {
			return next.RoundTrip(req)
		}
		body, truncated, err := readRequestBody(req)
		if err != nil {
			return nil, fmt.Errorf("apicheck: read the request body: %w", err)
		}
		orig := req.Clone(req.Context())
		res, err := next.RoundTrip(req)
		if err != nil {
			return res, err
		}
		raw, err := io.ReadAll(res.Body)
		res.Body.Close()
		if err != nil {
			return nil, fmt.Errorf("apicheck: read the answer: %w", err)
		}
		res.Body = io.NopCloser(bytes.NewReader(raw))
		hdr := res.Header.Clone()
		if res.Uncompressed {
			// The transport took the gzip off already.
			hdr.Del("Content-Encoding")
		}
		c.report(tb, orig, body, truncated, res.StatusCode, hdr, raw)
		return res, nil
	})
}

type roundTripper func(*http.Request) (*http.Response, error)

func (f roundTripper) RoundTrip(r *http.Request) (*http.Response, error) { return f(r) }

// Client is an HTTP client whose /api/ exchanges are checked, with the
// given timeout.
func (c *Checker) Client(tb testing.TB, base *http.Client) *http.Client {
	cl := &http.Client{}
	if base != nil {
		*cl = *base
	}
	cl.Transport = c.Transport(tb, cl.Transport)
	return cl
}
