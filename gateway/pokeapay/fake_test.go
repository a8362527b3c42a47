package pokeapay

import (
	"bytes"
	"context"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"sync"
	"testing"
	"time"
)

// The fake merchant. The hash key is long and distinctive so that a leak
// into an error or a log line cannot go unnoticed.
const (
	testKey = "pk-test-HASHKEY-5d1e0a7c"
	testOC  = "OCT00001"
)

// sleepRecorder replaces Config.Sleep: it records each wait and returns at
// once, with err when set.
type sleepRecorder struct {
	mu    sync.Mutex
	waits []time.Duration
	err   error
}

func (s *sleepRecorder) Sleep(ctx context.Context, d time.Duration) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.waits = append(s.waits, d)
	if s.err != nil {
		return s.err
	}
	return ctx.Err()
}

func (s *sleepRecorder) Waits() []time.Duration {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]time.Duration(nil), s.waits...)
}

// seenRequest is what the fake recorded about one request.
type seenRequest struct {
	Method   string
	Path     string
	RawQuery string
	Query    url.Values
	Body     string
}

// fakeCore is an httptest.Server standing in for core.pokeapay.com.
type fakeCore struct {
	t   *testing.T
	srv *httptest.Server

	mu      sync.Mutex
	seen    []seenRequest
	handler http.HandlerFunc
}

// newCore starts a fake core answering every request with h.
func newCore(t *testing.T, h http.HandlerFunc) *fakeCore {
	t.Helper()
	f := &fakeCore{t: t, handler: h}
	f.srv = httptest.NewServer(http.HandlerFunc(f.serve))
	t.Cleanup(f.srv.Close)
	return f
}

func (f *fakeCore) serve(w http.ResponseWriter, r *http.Request) {
	body, err := io.ReadAll(r.Body)
	if err != nil {
		http.Error(w, "read", http.StatusBadRequest)
		return
	}
	f.mu.Lock()
	f.seen = append(f.seen, seenRequest{Method: r.Method, Path: r.URL.Path, RawQuery: r.URL.RawQuery,
		Query: r.URL.Query(), Body: string(body)})
	h := f.handler
	f.mu.Unlock()
	h(w, r)
}

// requests returns the requests the fake received.
func (f *fakeCore) requests() []seenRequest {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]seenRequest(nil), f.seen...)
}

// client returns a Client for this fake with cfg changed by mods. Each
// request gets a fresh connection: with keep-alive, net/http itself
// silently resends a GET whose reused connection was dropped, which would
// hide our own retry count.
func (f *fakeCore) client(sleeper *sleepRecorder, mods ...func(*Config)) *Client {
	f.t.Helper()
	cfg := Config{
		CheckoutURL: "https://pay.example.test/",
		CoreURL:     f.srv.URL,
		OutletCode:  testOC,
		HashKey:     testKey,
		HTTPClient:  &http.Client{Transport: &http.Transport{DisableKeepAlives: true}},
		Timeout:     5 * time.Second,
		Sleep:       sleeper.Sleep,
	}
	for _, m := range mods {
		m(&cfg)
	}
	c, err := New(cfg)
	if err != nil {
		f.t.Fatalf("New: %v", err)
	}
	return c
}

// newClient returns a Client that talks to no server, for calls that send
// nothing.
func newClient(t *testing.T, live bool) *Client {
	t.Helper()
	c, err := New(Config{CheckoutURL: "https://pay.pokeapay.com/", OutletCode: testOC, HashKey: testKey, Live: live})
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	return c
}

// text answers every request with the given status, content type and body.
func text(status int, contentType, body string) http.HandlerFunc {
	return func(w http.ResponseWriter, _ *http.Request) {
		if contentType != "" {
			w.Header().Set("Content-Type", contentType)
		}
		w.WriteHeader(status)
		_, _ = io.WriteString(w, body)
	}
}

// jsonAnswer answers 200 with a JSON body.
func jsonAnswer(body string) http.HandlerFunc { return text(http.StatusOK, "application/json", body) }

// sequence answers the n-th request with the n-th handler, and the last
// handler for every request after that.
func sequence(hs ...http.HandlerFunc) http.HandlerFunc {
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

// byType answers by the verification's type parameter.
func byType(m, c http.HandlerFunc) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Query().Get("type") == TypeCard {
			c(w, r)
			return
		}
		m(w, r)
	}
}

// hang waits until the client gives up on the request.
func hang(_ http.ResponseWriter, r *http.Request) { <-r.Context().Done() }

// dropConnection closes the connection without answering.
func dropConnection(w http.ResponseWriter, _ *http.Request) {
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

// lockedBuffer is a bytes.Buffer safe for concurrent writes by slog.
type lockedBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

// debugLogger logs everything at Debug and above into buf.
func debugLogger(buf *lockedBuffer) *slog.Logger {
	return slog.New(slog.NewTextHandler(buf, &slog.HandlerOptions{Level: slog.LevelDebug}))
}

// asError returns err as an *Error or fails the test.
func asError(t *testing.T, err error) *Error {
	t.Helper()
	var e *Error
	if !errors.As(err, &e) {
		t.Fatalf("error %v (%T) is not an *Error", err, err)
	}
	return e
}
