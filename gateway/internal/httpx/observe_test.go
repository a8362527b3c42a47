package httpx

import (
	"net"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"checkout/gateway"
	"checkout/gateway/internal/httpxtest"
)

// calls is a gateway.CallObserver that keeps what it is told.
type calls struct {
	mu   sync.Mutex
	seen []gateway.Call
}

func (c *calls) ObserveCall(call gateway.Call) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.seen = append(c.seen, call)
}

// TestObserverIsToldOfEveryExchangeWithItsOutcome: each exchange that was
// sent reaches the Observer once with the provider, the operation, the
// status or the failure; a request that could not be built is no call.
func TestObserverIsToldOfEveryExchangeWithItsOutcome(t *testing.T) {
	f := newTestFake(t, map[string]http.HandlerFunc{
		"/ok":    httpxtest.Raw(http.StatusOK, "application/json", `{}`),
		"/down":  httpxtest.Raw(http.StatusServiceUnavailable, "text/plain", `down`),
		"/large": httpxtest.Raw(http.StatusOK, "application/json", strings.Repeat("x", 17)),
		"/hang":  httpxtest.Hang,
	})
	obs := &calls{}
	b := testBackend(f, &httpxtest.Sleeper{})
	b.Observer = obs
	b.Timeout = 200 * time.Millisecond

	// A port nothing listens on: the connection is refused.
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	closed := "http://" + l.Addr().String()
	l.Close()

	for _, r := range []Request{
		{Op: "ok op", Method: http.MethodGet, URL: f.URL() + "/ok"},
		{Op: "down op", Method: http.MethodGet, URL: f.URL() + "/down"},
		{Op: "large op", Method: http.MethodGet, URL: f.URL() + "/large"},
		{Op: "hang op", Method: http.MethodGet, URL: f.URL() + "/hang"},
		{Op: "refused op", Method: http.MethodGet, URL: closed + "/x"},
		{Op: "unbuildable op", Method: "BAD METHOD", URL: f.URL() + "/ok"},
	} {
		_, err := b.Do(t.Context(), r)
		if answered := r.Op == "ok op" || r.Op == "down op"; answered != (err == nil) {
			t.Errorf("%s: error %v", r.Op, err)
		}
	}
	want := []gateway.Call{
		{Provider: "test", Operation: "ok op", HTTPStatus: http.StatusOK},
		{Provider: "test", Operation: "down op", HTTPStatus: http.StatusServiceUnavailable},
		{Provider: "test", Operation: "large op", HTTPStatus: http.StatusOK, Failure: gateway.CallTooLarge},
		{Provider: "test", Operation: "hang op", Failure: gateway.CallTimeout},
		{Provider: "test", Operation: "refused op", Failure: gateway.CallNetwork},
	}
	if len(obs.seen) != len(want) {
		t.Fatalf("observed %d calls, want %d: %+v", len(obs.seen), len(want), obs.seen)
	}
	for i, w := range want {
		got := obs.seen[i]
		if got.Duration <= 0 {
			t.Errorf("call %d (%s): duration %v", i, got.Operation, got.Duration)
		}
		got.Duration = 0
		if got != w {
			t.Errorf("call %d = %+v, want %+v", i, got, w)
		}
	}
}
