package httpx

import (
	"context"
	"errors"
	"log/slog"
	"net/http"
	"strings"
	"testing"
	"time"

	"checkout/gateway/internal/httpxtest"
)

// testBackend is a Backend for srv whose Wrap keeps the Failure as is.
func testBackend(srv *httpxtest.Fake, sleeper *httpxtest.Sleeper) *Backend {
	return &Backend{Provider: "test", HTTP: srv.Srv.Client(), Timeout: 5 * time.Second, MaxAnswer: 16,
		Log: slog.New(slog.DiscardHandler), Sleep: sleeper.Sleep, Wrap: func(f *Failure) error { return f }}
}

func newTestFake(t *testing.T, routes map[string]http.HandlerFunc) *httpxtest.Fake {
	f := httpxtest.NewFake(t, "", "/token", httpxtest.NewClock(time.Now()), routes)
	f.Start()
	return f
}

func TestDoReadsAnyStatusAndRefusesALargeAnswer(t *testing.T) {
	f := newTestFake(t, map[string]http.HandlerFunc{
		"/small": httpxtest.Raw(http.StatusTeapot, "application/json", `{"a":1}`),
		"/large": httpxtest.Raw(http.StatusOK, "application/json", strings.Repeat("x", 17)),
	})
	b := testBackend(f, &httpxtest.Sleeper{})

	a, err := b.Do(t.Context(), Request{Op: "small", Method: http.MethodGet, URL: f.URL() + "/small", Path: "/small", Bearer: "tok"})
	if err != nil || a.Status != http.StatusTeapot || string(a.Body) != `{"a":1}` || a.ContentType != "application/json" || a.Bearer != "tok" {
		t.Errorf("answer = %+v, %v", a, err)
	}
	_, err = b.Do(t.Context(), Request{Op: "large", Method: http.MethodGet, URL: f.URL() + "/large", Path: "/large"})
	var fl *Failure
	if !errors.As(err, &fl) || fl.Kind != TooLarge || fl.HTTPStatus != http.StatusOK || fl.What != "answer is larger than 16 bytes" || fl.Op != "large" {
		t.Errorf("error = %#v", err)
	}
}

func TestDoDescribesNoAnswerAsATimeout(t *testing.T) {
	f := newTestFake(t, map[string]http.HandlerFunc{"/hang": httpxtest.Hang})
	b := testBackend(f, &httpxtest.Sleeper{})
	b.Timeout = 50 * time.Millisecond

	_, err := b.Do(t.Context(), Request{Op: "hang", Method: http.MethodGet, URL: f.URL() + "/hang", Path: "/hang"})
	var fl *Failure
	if !errors.As(err, &fl) || fl.Kind != NoAnswer || fl.What != "timed out" || !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("error = %#v", err)
	}
}

func TestWithBearerRenewsARefusedTokenOnce(t *testing.T) {
	f := newTestFake(t, map[string]http.HandlerFunc{
		"/call": httpxtest.Raw(http.StatusUnauthorized, "application/json", `{}`),
	})
	b := testBackend(f, &httpxtest.Sleeper{})
	n := 0
	token := func(context.Context) (string, error) { n++; return httpxtest.TokenName(n), nil }
	var dropped []string

	a, err := b.WithBearer(t.Context(), Request{Op: "call", Method: http.MethodPost, URL: f.URL() + "/call", Path: "/call", Body: []byte(`{}`)},
		token, func(tok string) { dropped = append(dropped, tok) })

	if err != nil || a.Status != http.StatusUnauthorized || a.Bearer != httpxtest.TokenName(2) {
		t.Fatalf("answer = %+v, %v; want the second 401, sent with the second token", a, err)
	}
	reqs := f.Requests("/call")
	if len(reqs) != 2 || reqs[0].Authorization != "Bearer "+httpxtest.TokenName(1) || reqs[1].Authorization != "Bearer "+httpxtest.TokenName(2) ||
		reqs[0].Body != `{}` || reqs[1].Body != `{}` {
		t.Errorf("requests = %+v", reqs)
	}
	if len(dropped) != 1 || dropped[0] != httpxtest.TokenName(1) {
		t.Errorf("dropped = %v, want the first token only", dropped)
	}
}

func TestRetryStopsAfterThreeTriesAndWhenTheWaitIsCut(t *testing.T) {
	f := newTestFake(t, map[string]http.HandlerFunc{"/busy": httpxtest.Raw(http.StatusServiceUnavailable, "text/plain", "")})
	should := func(ctx context.Context, err error) (bool, string) { return true, "HTTP 503" }
	once := func(b *Backend) func() (int, error) {
		return func() (int, error) {
			a, err := b.Do(t.Context(), Request{Op: "busy", Method: http.MethodGet, URL: f.URL() + "/busy", Path: "/busy"})
			if err == nil {
				err = errors.New("busy")
			}
			return a.Status, err
		}
	}

	sleeper := &httpxtest.Sleeper{}
	b := testBackend(f, sleeper)
	if _, err := Retry(t.Context(), b, "busy", should, once(b)); err == nil || err.Error() != "busy" {
		t.Errorf("error = %v, want the last try's", err)
	}
	if got := len(f.Requests("/busy")); got != Tries {
		t.Errorf("tries = %d, want %d", got, Tries)
	}
	if got := len(sleeper.Waits()); got != Tries-1 {
		t.Errorf("waits = %d, want %d", got, Tries-1)
	}

	cut := &httpxtest.Sleeper{Err: context.Canceled}
	b = testBackend(f, cut)
	_, err := Retry(t.Context(), b, "busy", should, once(b))
	var fl *Failure
	if !errors.As(err, &fl) || fl.Kind != Stopped || fl.Error() != "stopped before retrying (HTTP 503): context canceled" || !errors.Is(err, context.Canceled) {
		t.Errorf("error = %#v", err)
	}
}
