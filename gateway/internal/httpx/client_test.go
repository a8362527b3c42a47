package httpx

import (
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"sync"
	"sync/atomic"
	"testing"
)

// TestNewClientReusesConnectionsOfConcurrentCalls: eight status queries at
// once, then eight more, dial eight connections in all; net/http's default
// client keeps two idle and dials six again.
func TestNewClientReusesConnectionsOfConcurrentCalls(t *testing.T) {
	const calls = 8
	var dialed atomic.Int32
	var arrived sync.WaitGroup
	release := make(chan struct{})
	srv := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		arrived.Done()
		<-release // hold every call until all are in: they need a connection each
		io.WriteString(w, "{}")
	}))
	srv.Config.ConnState = func(_ net.Conn, s http.ConnState) {
		if s == http.StateNew {
			dialed.Add(1)
		}
	}
	srv.Start()
	defer srv.Close()

	hc := NewClient()
	round := func() {
		arrived.Add(calls)
		release = make(chan struct{})
		var done sync.WaitGroup
		for range calls {
			done.Add(1)
			go func() {
				defer done.Done()
				resp, err := hc.Get(srv.URL)
				if err != nil {
					t.Error(err)
					return
				}
				io.Copy(io.Discard, resp.Body)
				resp.Body.Close()
			}()
		}
		arrived.Wait()
		close(release)
		done.Wait()
	}
	round()
	if n := dialed.Load(); n != calls {
		t.Fatalf("first round dialed %d connections, want %d", n, calls)
	}
	round()
	if n := dialed.Load(); n != calls {
		t.Fatalf("after the second round %d connections were dialed in all, want %d (every one reused)", n, calls)
	}
}
