package pokeapay

import (
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"sync"
	"testing"
	"time"

	"checkout/gateway/internal/httpxtest"
)

// The fake merchant. The hash key is long and distinctive so that a leak
// into an error or a log line cannot go unnoticed.
const (
	testKey = "pk-test-HASHKEY-5d1e0a7c"
	testOC  = "OCT00001"
)

// The test doubles shared with the other clients' tests.
type (
	sleepRecorder = httpxtest.Sleeper
	lockedBuffer  = httpxtest.LockedBuffer
)

var (
	sequence       = httpxtest.Sequence
	hang           = httpxtest.Hang
	dropConnection = httpxtest.DropConnection
	debugLogger    = httpxtest.DebugLogger
)

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

// asError returns err as an *Error or fails the test.
func asError(t *testing.T, err error) *Error {
	t.Helper()
	var e *Error
	if !errors.As(err, &e) {
		t.Fatalf("error %v (%T) is not an *Error", err, err)
	}
	return e
}
