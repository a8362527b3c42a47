package apicheck_test

import (
	"bytes"
	"compress/gzip"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"

	"checkout/web/apicheck"
)

// recordingTB is a testing.TB that keeps the failures it is told of.
type recordingTB struct {
	testing.TB
	mu   sync.Mutex
	errs []string
}

func (r *recordingTB) Helper() {}

func (r *recordingTB) Errorf(format string, args ...any) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.errs = append(r.errs, fmt.Sprintf(format, args...))
}

func (r *recordingTB) failures() []string {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]string(nil), r.errs...)
}

// fakeAPI answers GET /api/v1/checkouts/{id} with a checkout whose method
// is body's, gzip-compressed when the client accepts it, as the app's
// Gzip middleware does.
func fakeAPI(method string) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body := []byte(fmt.Sprintf(checkoutJSON, method))
		w.Header().Set("Content-Type", "application/json; charset=utf-8")
		if strings.Contains(r.Header.Get("Accept-Encoding"), "gzip") {
			var buf bytes.Buffer
			zw := gzip.NewWriter(&buf)
			zw.Write(body)
			zw.Close()
			body = buf.Bytes()
			w.Header().Set("Content-Encoding", "gzip")
		}
		w.Write(body)
	})
}

func get(t *testing.T, c *http.Client, url string, gz bool) {
	t.Helper()
	req, err := http.NewRequest(http.MethodGet, url, nil)
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Authorization", "Bearer sk_test_key")
	if gz {
		req.Header.Set("Accept-Encoding", "gzip")
	}
	res, err := c.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	io.Copy(io.Discard, res.Body)
	res.Body.Close()
}

// TestHandlerAndTransportReportAnAnswerThatDriftsFromTheDocument: wrapped
// around a server or a client, the checker fails the test for an answer
// the document does not allow (compressed or not), and passes one it
// does.
func TestHandlerAndTransportReportAnAnswerThatDriftsFromTheDocument(t *testing.T) {
	c := apicheck.For(t)
	for _, tc := range []struct {
		method string
		fails  bool
	}{{`"stk"`, false}, {`42`, true}} {
		for _, gz := range []bool{false, true} {
			t.Run(fmt.Sprintf("method %s gzip %v", tc.method, gz), func(t *testing.T) {
				server := &recordingTB{TB: t}
				srv := httptest.NewServer(c.Handler(server, fakeAPI(tc.method)))
				defer srv.Close()
				get(t, srv.Client(), srv.URL+"/api/v1/checkouts/chk_1", gz)
				if got := len(server.failures()); (got > 0) != tc.fails {
					t.Errorf("Handler reported %v, want failure %v", server.failures(), tc.fails)
				}

				client := &recordingTB{TB: t}
				plain := httptest.NewServer(fakeAPI(tc.method))
				defer plain.Close()
				get(t, c.Client(client, nil), plain.URL+"/api/v1/checkouts/chk_1", gz)
				if got := len(client.failures()); (got > 0) != tc.fails {
					t.Errorf("Transport reported %v, want failure %v", client.failures(), tc.fails)
				}
			})
		}
	}
}
