package pochipay

import (
	"encoding/json"
	"errors"
	"net/http"
	"reflect"
	"strings"
	"testing"
	"time"

	"checkout/gateway"
	"checkout/gateway/internal/httpxtest"
)

// Credentials of the fake merchant. They are long and distinctive so that a
// leak into an error or a log line cannot go unnoticed.
const (
	testEmail    = "merchant.test-LEAK@example.co.ke"
	testPassword = "pw-TEST-SECRET-9876543210"
)

// apiRoot is where the fake serves the API, like /api/v1 on Pochipay.
const apiRoot = "/api/v1"

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
	return httpxtest.NewClock(time.Date(2025, 10, 14, 7, 50, 0, 0, time.UTC))
}

// fakePochipay is an httptest.Server standing in for Pochipay under
// apiRoot.
type fakePochipay struct {
	*httpxtest.Fake

	// expiresIn is the raw JSON of the token answer's expiresIn, or "" to
	// leave the key out. Default: 3600, as the page says.
	expiresIn string
}

// newFake starts a fake Pochipay serving routes (keyed by path without
// apiRoot), with opts applied before the server starts.
func newFake(t *testing.T, routes map[string]http.HandlerFunc, opts ...func(*fakePochipay)) *fakePochipay {
	t.Helper()
	f := &fakePochipay{
		Fake:      httpxtest.NewFake(t, apiRoot, pathToken, newFakeClock(), routes),
		expiresIn: "3600",
	}
	f.IssueToken = f.issueToken
	for _, o := range opts {
		o(f)
	}
	f.Start()
	return f
}

// issueToken answers the n-th token request the way Pochipay does.
func (f *fakePochipay) issueToken(w http.ResponseWriter, n int, _ time.Time) {
	result := `"accessToken":"` + tokenName(n) + `","tokenType":"Bearer"`
	if f.expiresIn != "" {
		result += `,"expiresIn":` + f.expiresIn
	}
	writeRaw(w, http.StatusOK, "application/json; charset=utf-8", `{"result":{`+result+`},"errors":[]}`)
}

// client returns a Client for this fake with its clock and the given
// sleeper, with cfg changed by mods.
func (f *fakePochipay) client(sleeper *sleepRecorder, mods ...func(*Config)) *Client {
	f.T.Helper()
	cfg := Config{
		BaseURL:    f.URL(),
		Email:      testEmail,
		Password:   testPassword,
		HTTPClient: f.Srv.Client(),
		Timeout:    5 * time.Second,
		Now:        f.Clock.Now,
		Sleep:      sleeper.Sleep,
	}
	for _, m := range mods {
		m(&cfg)
	}
	c, err := New(cfg)
	if err != nil {
		f.T.Fatalf("New: %v", err)
	}
	return c
}

// raw answers every request with the given status and JSON body.
func raw(status int, body string) http.HandlerFunc {
	return httpxtest.Raw(status, "application/json; charset=utf-8", body)
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
