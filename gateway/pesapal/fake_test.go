package pesapal

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"reflect"
	"strings"
	"sync"
	"testing"
	"time"

	"checkout/gateway"
)

// Credentials of the fake merchant. They are long and distinctive so that a
// leak into an error or a log line cannot go unnoticed.
const (
	testKey    = "ck-test-KEY-0123456789"
	testSecret = "cs-test-SECRET-9876543210"
)

// fakeClock is a settable clock, safe for concurrent use.
type fakeClock struct {
	mu  sync.Mutex
	now time.Time
}

func newFakeClock() *fakeClock {
	return &fakeClock{now: time.Date(2024, 6, 14, 7, 50, 0, 0, time.UTC)}
}

func (c *fakeClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *fakeClock) Set(t time.Time) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now = t
}

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

// seenRequest is what the fake recorded about one API request.
type seenRequest struct {
	Method        string
	Path          string
	Query         string
	Authorization string
	Accept        string
	ContentType   string
	Body          string
}

// fakePesapal is an httptest.Server standing in for Pesapal under /v3.
type fakePesapal struct {
	t     *testing.T
	srv   *httptest.Server
	clock *fakeClock

	mu       sync.Mutex
	issued   int                      // tokens issued so far
	tokenReq []seenRequest            // every RequestToken request
	seen     map[string][]seenRequest // API requests by path (without /v3)
	routes   map[string]http.HandlerFunc

	// expiry writes the expiryDate of a token issued at now; ok false
	// leaves the key out. Default: now + 5 minutes, as Pesapal does.
	expiry func(now time.Time) (value string, ok bool)
	// tokenHandler, when set, answers RequestToken instead of the default.
	tokenHandler http.HandlerFunc
	// tokenStarted receives once when the first token request arrives, and
	// the token request then waits for tokenGate; both are optional.
	tokenStarted chan struct{}
	tokenGate    chan struct{}
}

// newFake starts a fake Pesapal serving routes (keyed by path without /v3),
// with opts applied before the server starts.
func newFake(t *testing.T, routes map[string]http.HandlerFunc, opts ...func(*fakePesapal)) *fakePesapal {
	t.Helper()
	f := &fakePesapal{
		t:      t,
		clock:  newFakeClock(),
		seen:   map[string][]seenRequest{},
		routes: routes,
		expiry: func(now time.Time) (string, bool) {
			return now.Add(5 * time.Minute).UTC().Format("2006-01-02T15:04:05.0000000Z"), true
		},
	}
	for _, o := range opts {
		o(f)
	}
	f.srv = httptest.NewServer(http.HandlerFunc(f.serve))
	t.Cleanup(f.srv.Close)
	return f
}

// tokenName is the n-th token the fake issues (1-based).
func tokenName(n int) string { return fmt.Sprintf("fake-bearer-token-%03d", n) }

func (f *fakePesapal) serve(w http.ResponseWriter, r *http.Request) {
	path, ok := strings.CutPrefix(r.URL.Path, "/v3")
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
	req := seenRequest{
		Method:        r.Method,
		Path:          path,
		Query:         r.URL.RawQuery,
		Authorization: r.Header.Get("Authorization"),
		Accept:        r.Header.Get("Accept"),
		ContentType:   r.Header.Get("Content-Type"),
		Body:          string(body),
	}
	if path == pathToken {
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

func (f *fakePesapal) serveToken(w http.ResponseWriter, r *http.Request, req seenRequest) {
	f.mu.Lock()
	f.tokenReq = append(f.tokenReq, req)
	first := len(f.tokenReq) == 1
	started, gate, custom := f.tokenStarted, f.tokenGate, f.tokenHandler
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
	f.issued++
	answer := map[string]any{
		"token":   tokenName(f.issued),
		"error":   nil,
		"status":  "200",
		"message": "Request processed successfully",
	}
	if exp, ok := f.expiry(f.clock.Now()); ok {
		answer["expiryDate"] = exp
	}
	f.mu.Unlock()
	writeJSON(w, http.StatusOK, answer)
}

// tokens is how many token requests the fake received.
func (f *fakePesapal) tokens() int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return len(f.tokenReq)
}

// tokenRequests returns the token requests the fake received.
func (f *fakePesapal) tokenRequests() []seenRequest {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]seenRequest(nil), f.tokenReq...)
}

// requests returns the API requests the fake received on path.
func (f *fakePesapal) requests(path string) []seenRequest {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]seenRequest(nil), f.seen[path]...)
}

// config is a Config for this fake with the fake clock and sleeper.
func (f *fakePesapal) config(sleeper *sleepRecorder) Config {
	return Config{
		BaseURL:        f.srv.URL + "/v3",
		ConsumerKey:    testKey,
		ConsumerSecret: testSecret,
		HTTPClient:     f.srv.Client(),
		Timeout:        5 * time.Second,
		Now:            f.clock.Now,
		Sleep:          sleeper.Sleep,
	}
}

// client returns a Client for this fake, with cfg changed by mods.
func (f *fakePesapal) client(sleeper *sleepRecorder, mods ...func(*Config)) *Client {
	f.t.Helper()
	cfg := f.config(sleeper)
	for _, m := range mods {
		m(&cfg)
	}
	c, err := New(cfg)
	if err != nil {
		f.t.Fatalf("New: %v", err)
	}
	return c
}

// writeJSON answers with a JSON body.
func writeJSON(w http.ResponseWriter, status int, v any) {
	b, err := json.Marshal(v)
	if err != nil {
		http.Error(w, err.Error(), http.StatusInternalServerError)
		return
	}
	writeRaw(w, status, "application/json; charset=utf-8", string(b))
}

// writeRaw answers with the body exactly as given.
func writeRaw(w http.ResponseWriter, status int, contentType, body string) {
	w.Header().Set("Content-Type", contentType)
	w.WriteHeader(status)
	_, _ = io.WriteString(w, body)
}

// raw answers every request with the given status and body.
func raw(status int, body string) http.HandlerFunc {
	return func(w http.ResponseWriter, _ *http.Request) {
		writeRaw(w, status, "application/json", body)
	}
}

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

// assertResult compares every field of two results.
func assertResult(t *testing.T, got, want gateway.Result) {
	t.Helper()
	if !reflect.DeepEqual(got, want) {
		t.Errorf("result:\n got %+v (raw %s)\nwant %+v (raw %s)", got, got.Raw, want, want.Raw)
	}
}

// amount returns a pointer to a, for TransactionStatus.Amount.
func amount(a gateway.Amount) *gateway.Amount { return &a }
