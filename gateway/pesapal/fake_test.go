package pesapal

import (
	"encoding/json"
	"errors"
	"net/http"
	"reflect"
	"testing"
	"time"

	"checkout/gateway"
	"checkout/gateway/internal/httpxtest"
)

// Credentials of the fake merchant. They are long and distinctive so that a
// leak into an error or a log line cannot go unnoticed.
const (
	testKey    = "ck-test-KEY-0123456789"
	testSecret = "cs-test-SECRET-9876543210"
)

// The test doubles shared with the other clients' tests.
type (
	fakeClock     = httpxtest.Clock
	sleepRecorder = httpxtest.Sleeper
	seenRequest   = httpxtest.Request
	lockedBuffer  = httpxtest.LockedBuffer
)

var (
	tokenName      = httpxtest.TokenName
	writeRaw       = httpxtest.WriteRaw
	sequence       = httpxtest.Sequence
	hang           = httpxtest.Hang
	dropConnection = httpxtest.DropConnection
	debugLogger    = httpxtest.DebugLogger
)

func newFakeClock() *fakeClock {
	return httpxtest.NewClock(time.Date(2024, 6, 14, 7, 50, 0, 0, time.UTC))
}

// fakePesapal is an httptest.Server standing in for Pesapal under /v3.
type fakePesapal struct {
	*httpxtest.Fake

	// expiry writes the expiryDate of a token issued at now; ok false
	// leaves the key out. Default: now + 5 minutes, as Pesapal does.
	expiry func(now time.Time) (value string, ok bool)
}

// newFake starts a fake Pesapal serving routes (keyed by path without /v3),
// with opts applied before the server starts.
func newFake(t *testing.T, routes map[string]http.HandlerFunc, opts ...func(*fakePesapal)) *fakePesapal {
	t.Helper()
	f := &fakePesapal{
		Fake: httpxtest.NewFake(t, "/v3", pathToken, newFakeClock(), routes),
		expiry: func(now time.Time) (string, bool) {
			return now.Add(5 * time.Minute).UTC().Format("2006-01-02T15:04:05.0000000Z"), true
		},
	}
	f.IssueToken = f.issueToken
	for _, o := range opts {
		o(f)
	}
	f.Start()
	return f
}

// issueToken answers the n-th token request the way Pesapal does.
func (f *fakePesapal) issueToken(w http.ResponseWriter, n int, now time.Time) {
	answer := map[string]any{
		"token":   tokenName(n),
		"error":   nil,
		"status":  "200",
		"message": "Request processed successfully",
	}
	if exp, ok := f.expiry(now); ok {
		answer["expiryDate"] = exp
	}
	writeJSON(w, http.StatusOK, answer)
}

// config is a Config for this fake with the fake clock and sleeper.
func (f *fakePesapal) config(sleeper *sleepRecorder) Config {
	return Config{
		BaseURL:        f.URL(),
		ConsumerKey:    testKey,
		ConsumerSecret: testSecret,
		HTTPClient:     f.Srv.Client(),
		Timeout:        5 * time.Second,
		Now:            f.Clock.Now,
		Sleep:          sleeper.Sleep,
	}
}

// client returns a Client for this fake, with cfg changed by mods.
func (f *fakePesapal) client(sleeper *sleepRecorder, mods ...func(*Config)) *Client {
	f.T.Helper()
	cfg := f.config(sleeper)
	for _, m := range mods {
		m(&cfg)
	}
	c, err := New(cfg)
	if err != nil {
		f.T.Fatalf("New: %v", err)
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

// raw answers every request with the given status and body.
func raw(status int, body string) http.HandlerFunc {
	return httpxtest.Raw(status, "application/json", body)
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
