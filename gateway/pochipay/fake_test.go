package pochipay

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
	testEmail    = "merchant.test-LEAK@example.co.ke"
	testPassword = "pw-TEST-SECRET-9876543210"
)

// apiRoot is where the fake serves the API, like /api/v1 on Pochipay.
const apiRoot = "/api/v1"

// fakeClock is a settable clock, safe for concurrent use.
type fakeClock struct {
	mu  sync.Mutex
	now time.Time
}

func newFakeClock() *fakeClock {
	return &fakeClock{now: time.Date(2025, 10, 14, 7, 50, 0, 0, time.UTC)}
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

// seenRequest is what the fake recorded about one request.
type seenRequest struct {
	Method        string
	Path          string // without apiRoot
	RawQuery      string
	Authorization string
	Accept        string
	ContentType   string
	Body          string
}

// fakePochipay is an httptest.Server standing in for Pochipay under
// apiRoot.
type fakePochipay struct {
	t     *testing.T
	srv   *httptest.Server
	clock *fakeClock

	mu       sync.Mutex
	issued   int                      // tokens issued so far
	tokenReq []seenRequest            // every token request
	seen     map[string][]seenRequest // API requests by path
	routes   map[string]http.HandlerFunc

	// expiresIn is the raw JSON of the token answer's expiresIn, or "" to
	// leave the key out. Default: 3600, as the page says.
	expiresIn string
	// tokenHandler, when set, answers token requests instead of the
	// default.
	tokenHandler http.HandlerFunc
	// tokenGate, when set, holds every token request until it is closed.
	tokenGate chan struct{}
}

// newFake starts a fake Pochipay serving routes (keyed by path without
// apiRoot), with opts applied before the server starts.
func newFake(t *testing.T, routes map[string]http.HandlerFunc, opts ...func(*fakePochipay)) *fakePochipay {
	t.Helper()
	f := &fakePochipay{
		t:         t,
		clock:     newFakeClock(),
		seen:      map[string][]seenRequest{},
		routes:    routes,
		expiresIn: "3600",
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

func (f *fakePochipay) serve(w http.ResponseWriter, r *http.Request) {
	path, ok := strings.CutPrefix(r.URL.Path, apiRoot)
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
		RawQuery:      r.URL.RawQuery,
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

func (f *fakePochipay) serveToken(w http.ResponseWriter, r *http.Request, req seenRequest) {
	f.mu.Lock()
	f.tokenReq = append(f.tokenReq, req)
	gate, custom := f.tokenGate, f.tokenHandler
	f.mu.Unlock()
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
	result := `"accessToken":"` + tokenName(f.issued) + `","tokenType":"Bearer"`
	if f.expiresIn != "" {
		result += `,"expiresIn":` + f.expiresIn
	}
	f.mu.Unlock()
	writeRaw(w, http.StatusOK, "application/json; charset=utf-8", `{"result":{`+result+`},"errors":[]}`)
}

// tokens is how many token requests the fake received.
func (f *fakePochipay) tokens() int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return len(f.tokenReq)
}

// tokenRequests returns the token requests the fake received.
func (f *fakePochipay) tokenRequests() []seenRequest {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]seenRequest(nil), f.tokenReq...)
}

// requests returns the API requests the fake received on path.
func (f *fakePochipay) requests(path string) []seenRequest {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]seenRequest(nil), f.seen[path]...)
}

// client returns a Client for this fake with its clock and the given
// sleeper, with cfg changed by mods.
func (f *fakePochipay) client(sleeper *sleepRecorder, mods ...func(*Config)) *Client {
	f.t.Helper()
	cfg := Config{
		BaseURL:    f.srv.URL + apiRoot,
		Email:      testEmail,
		Password:   testPassword,
		HTTPClient: f.srv.Client(),
		Timeout:    5 * time.Second,
		Now:        f.clock.Now,
		Sleep:      sleeper.Sleep,
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

// writeRaw answers with the body exactly as given.
func writeRaw(w http.ResponseWriter, status int, contentType, body string) {
	w.Header().Set("Content-Type", contentType)
	w.WriteHeader(status)
	_, _ = io.WriteString(w, body)
}

// raw answers every request with the given status and JSON body.
func raw(status int, body string) http.HandlerFunc {
	return func(w http.ResponseWriter, _ *http.Request) {
		writeRaw(w, status, "application/json; charset=utf-8", body)
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

// assertJSONObject checks that body is a JSON object with exactly the keys
// and values of want (numbers compared as written).
func assertJSONObject(t *testing.T, body string, want map[string]any) {
	t.Helper()
	d := json.NewDecoder(strings.NewReader(body))
	d.UseNumber()
	var got map[string]any
	if err := d.Decode(&got); err != nil {
		t.Fatalf("body %q is not a JSON object: %v", body, err)
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("body = %#v, want %#v", got, want)
	}
}

// secretsIn lists the credentials and tokens that s contains, in any case.
func secretsIn(s string, tokens ...string) []string {
	var found []string
	for _, secret := range append([]string{testEmail, testPassword}, tokens...) {
		if strings.Contains(strings.ToLower(s), strings.ToLower(secret)) {
			found = append(found, secret)
		}
	}
	return found
}
