// Package httpxtest holds the test doubles the provider clients' tests
// share: a settable clock, a sleeper that records its waits, an
// httptest.Server standing in for a provider's token-and-API surface, a
// server of fixed document bodies, and small answer handlers. It is
// imported by tests only.
package httpxtest

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"
)

// Clock is a settable clock, safe for concurrent use.
type Clock struct {
	mu  sync.Mutex
	now time.Time
}

// NewClock returns a Clock reading t.
func NewClock(t time.Time) *Clock { return &Clock{now: t} }

// Now returns the clock's time.
func (c *Clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

// Set moves the clock to t.
func (c *Clock) Set(t time.Time) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now = t
}

// Advance moves the clock on by d.
func (c *Clock) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now = c.now.Add(d)
}

// Sleeper replaces a client's Config.Sleep: it records each wait and
// returns at once, with Err when set.
type Sleeper struct {
	mu    sync.Mutex
	waits []time.Duration
	// Err, when set before the first wait, is what every wait returns.
	Err error
}

// Sleep records d and returns Err, or ctx's error.
func (s *Sleeper) Sleep(ctx context.Context, d time.Duration) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.waits = append(s.waits, d)
	if s.Err != nil {
		return s.Err
	}
	return ctx.Err()
}

// Waits returns the waits recorded so far.
func (s *Sleeper) Waits() []time.Duration {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]time.Duration(nil), s.waits...)
}

// NoSleep is a Config.Sleep that does not wait.
func NoSleep(context.Context, time.Duration) error { return nil }

// Request is what a fake recorded about one request.
type Request struct {
	Method        string
	Path          string // without the fake's root
	RawQuery      string
	Authorization string
	Accept        string
	ContentType   string
	Body          string
}

// TokenName is the n-th token a Fake issues (1-based).
func TokenName(n int) string { return fmt.Sprintf("fake-bearer-token-%03d", n) }

// Fake is an httptest.Server standing in for a provider that sells bearer
// tokens at TokenPath and serves its API under Root. Create it with
// NewFake, set its options, then Start it.
type Fake struct {
	T     *testing.T
	Srv   *httptest.Server
	Clock *Clock
	// Root is the path prefix of the API ("/v3"); other paths are 404.
	Root string
	// TokenPath is the token endpoint under Root.
	TokenPath string
	// IssueToken writes the default answer to the n-th token request,
	// issued at now (under the fake's lock: it must not call the Fake).
	IssueToken func(w http.ResponseWriter, n int, now time.Time)
	// TokenHandler, when set, answers token requests instead of
	// IssueToken.
	TokenHandler http.HandlerFunc
	// TokenStarted receives once when the first token request arrives, and
	// every token request then waits for TokenGate; both are optional.
	TokenStarted chan struct{}
	TokenGate    chan struct{}

	mu       sync.Mutex
	issued   int                  // tokens issued so far
	tokenReq []Request            // every token request
	seen     map[string][]Request // API requests by path
	routes   map[string]http.HandlerFunc
}

// NewFake returns a fake serving routes (keyed by path without root), not
// started yet.
func NewFake(t *testing.T, root, tokenPath string, clock *Clock, routes map[string]http.HandlerFunc) *Fake {
	return &Fake{T: t, Clock: clock, Root: root, TokenPath: tokenPath, seen: map[string][]Request{}, routes: routes}
}

// Start starts the server and closes it when the test ends.
func (f *Fake) Start() {
	f.Srv = httptest.NewServer(http.HandlerFunc(f.serve))
	f.T.Cleanup(f.Srv.Close)
}

// URL is the API root of the started fake.
func (f *Fake) URL() string { return f.Srv.URL + f.Root }

func (f *Fake) serve(w http.ResponseWriter, r *http.Request) {
	path, ok := strings.CutPrefix(r.URL.Path, f.Root)
	if !ok {
		http.NotFound(w, r)
		return
	}
	body, err := io.ReadAll(r.Body)
	if err != nil {
		http.Error(w, "read", http.StatusBadRequest)
		return
	}
	r.Body = io.NopCloser(bytes.NewReader(body))
	req := Request{
		Method:        r.Method,
		Path:          path,
		RawQuery:      r.URL.RawQuery,
		Authorization: r.Header.Get("Authorization"),
		Accept:        r.Header.Get("Accept"),
		ContentType:   r.Header.Get("Content-Type"),
		Body:          string(body),
	}
	if path == f.TokenPath {
		f.serveToken(w, r, req)
		return
	}
	f.mu.Lock()
	f.seen[path] = append(f.seen[path], req)
	h := f.routes[path]
	f.mu.Unlock()
	if h == nil {
		http.NotFound(w, r)
		return
	}
	h(w, r)
}

func (f *Fake) serveToken(w http.ResponseWriter, r *http.Request, req Request) {
	f.mu.Lock()
	f.tokenReq = append(f.tokenReq, req)
	first := len(f.tokenReq) == 1
	started, gate, custom := f.TokenStarted, f.TokenGate, f.TokenHandler
	f.mu.Unlock()
	if first && started != nil {
		started <- struct{}{}
	}
	if gate != nil {
		select {
		case <-gate:
		case <-r.Context().Done():
			return
		}
	}
	if custom != nil {
		custom(w, r)
		return
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	f.issued++
	f.IssueToken(w, f.issued, f.Clock.Now())
}

// Tokens is how many token requests the fake received.
func (f *Fake) Tokens() int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return len(f.tokenReq)
}

// TokenRequests returns the token requests the fake received.
func (f *Fake) TokenRequests() []Request {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]Request(nil), f.tokenReq...)
}

// Requests returns the API requests the fake received on path.
func (f *Fake) Requests(path string) []Request {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]Request(nil), f.seen[path]...)
}

// WriteRaw answers with the body exactly as given.
func WriteRaw(w http.ResponseWriter, status int, contentType, body string) {
	w.Header().Set("Content-Type", contentType)
	w.WriteHeader(status)
	_, _ = io.WriteString(w, body)
}

// Raw answers every request with the given status, content type and body.
func Raw(status int, contentType, body string) http.HandlerFunc {
	return func(w http.ResponseWriter, _ *http.Request) {
		WriteRaw(w, status, contentType, body)
	}
}

// Sequence answers the n-th request with the n-th handler, and the last
// handler for every request after that.
func Sequence(hs ...http.HandlerFunc) http.HandlerFunc {
	var mu sync.Mutex
	n := 0
	return func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		h := hs[min(n, len(hs)-1)]
		n++
		mu.Unlock()
		h(w, r)
	}
}

// Hang waits until the client gives up on the request.
func Hang(_ http.ResponseWriter, r *http.Request) { <-r.Context().Done() }

// DropConnection closes the connection without answering.
func DropConnection(w http.ResponseWriter, _ *http.Request) {
	hj, ok := w.(http.Hijacker)
	if !ok {
		panic("response writer cannot hijack")
	}
	conn, _, err := hj.Hijack()
	if err != nil {
		panic(err)
	}
	_ = conn.Close()
}

// LockedBuffer is a bytes.Buffer safe for concurrent writes by slog.
type LockedBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

// Write appends p.
func (l *LockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

// String returns what was written.
func (l *LockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

// DebugLogger logs everything at Debug and above into buf.
func DebugLogger(buf *LockedBuffer) *slog.Logger {
	return slog.New(slog.NewTextHandler(buf, &slog.HandlerOptions{Level: slog.LevelDebug}))
}

// Route is a fixed answer of a DocServer.
type Route struct {
	Status int
	Body   string
}

// DocRequest is what a DocServer recorded about one request.
type DocRequest struct {
	Method string
	Path   string
	Query  url.Values
	Header http.Header
	Body   []byte
}

// DocServer serves fixed JSON bodies (a provider document's examples) by
// path and records every request.
type DocServer struct {
	Srv    *httptest.Server
	mu     sync.Mutex
	routes map[string]Route
	seen   []DocRequest
}

// NewDocServer starts a DocServer answering routes, with token answering
// tokenPath unless routes has it; it is closed when the test ends.
func NewDocServer(t *testing.T, routes map[string]Route, tokenPath string, token Route) *DocServer {
	t.Helper()
	d := &DocServer{routes: routes}
	if _, ok := d.routes[tokenPath]; !ok {
		d.routes[tokenPath] = token
	}
	d.Srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		d.mu.Lock()
		d.seen = append(d.seen, DocRequest{r.Method, r.URL.Path, r.URL.Query(), r.Header.Clone(), body})
		rt, ok := d.routes[r.URL.Path]
		d.mu.Unlock()
		if !ok {
			http.NotFound(w, r)
			return
		}
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(rt.Status)
		io.WriteString(w, rt.Body)
	}))
	t.Cleanup(d.Srv.Close)
	return d
}

// Requests returns the requests the server received on path.
func (d *DocServer) Requests(path string) []DocRequest {
	d.mu.Lock()
	defer d.mu.Unlock()
	var out []DocRequest
	for _, s := range d.seen {
		if s.Path == path {
			out = append(out, s)
		}
	}
	return out
}
