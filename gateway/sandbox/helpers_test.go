package sandbox

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"reflect"
	"regexp"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"
)

const (
	testKey    = "sandbox-key"
	testSecret = "sandbox-secret"
)

// fakeClock is a settable clock, safe for concurrent use.
type fakeClock struct {
	mu sync.Mutex
	t  time.Time
}

func newFakeClock() *fakeClock {
	return &fakeClock{t: time.Date(2026, 3, 14, 9, 26, 53, 589793200, time.UTC)}
}

func (c *fakeClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *fakeClock) Add(d time.Duration) {
	c.mu.Lock()
	c.t = c.t.Add(d)
	c.mu.Unlock()
}

// testEnv is a Sandbox served by an httptest.Server at its PublicURL.
type testEnv struct {
	t     *testing.T
	sb    *Sandbox
	srv   *httptest.Server
	clock *fakeClock
}

// newEnv starts a Sandbox with test defaults (tiny IPN delay, no duplicate
// IPNs, a fake clock); edit adjusts the config before New.
func newEnv(t *testing.T, edit func(*Config)) *testEnv {
	t.Helper()
	clock := newFakeClock()
	srv := httptest.NewUnstartedServer(nil)
	cfg := Config{
		PublicURL:      "http://" + srv.Listener.Addr().String(),
		ConsumerKey:    testKey,
		ConsumerSecret: testSecret,
		IPNDelay:       time.Millisecond,
		Now:            clock.Now,
		HTTPClient:     &http.Client{Timeout: 5 * time.Second, Transport: &http.Transport{}},
	}
	if edit != nil {
		edit(&cfg)
	}
	sb := New(cfg)
	srv.Config.Handler = sb.Handler()
	srv.Start()
	t.Cleanup(func() {
		sb.Close()
		srv.Close()
		cfg.HTTPClient.CloseIdleConnections()
	})
	return &testEnv{t: t, sb: sb, srv: srv, clock: clock}
}

// apiURL is the full URL of a Pesapal API path such as /api/Auth/RequestToken.
func (e *testEnv) apiURL(path string) string { return e.sb.PesapalBaseURL() + path }

// do sends a request and returns the answer with its body read.
func (e *testEnv) do(method, url, token string, body any) (*http.Response, []byte) {
	e.t.Helper()
	var rd io.Reader
	if body != nil {
		b, err := json.Marshal(body)
		if err != nil {
			e.t.Fatal(err)
		}
		rd = bytes.NewReader(b)
	}
	req, err := http.NewRequest(method, url, rd)
	if err != nil {
		e.t.Fatal(err)
	}
	req.Header.Set("Accept", "application/json")
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	if token != "" {
		auth := "Bearer " + token
		if strings.Contains(url, PokeaPaySTKPath) {
			// PokeaPay's STK API takes the bare token, as its document shows.
			auth = token
		}
		req.Header.Set("Authorization", auth)
	}
	return e.send(req)
}

func (e *testEnv) send(req *http.Request) (*http.Response, []byte) {
	e.t.Helper()
	client := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	resp, err := client.Do(req)
	if err != nil {
		e.t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		e.t.Fatal(err)
	}
	return resp, b
}

// token requests a token with the right credentials.
func (e *testEnv) token() string {
	e.t.Helper()
	resp, body := e.do("POST", e.apiURL("/api/Auth/RequestToken"), "",
		map[string]string{"consumer_key": testKey, "consumer_secret": testSecret})
	if resp.StatusCode != 200 {
		e.t.Fatalf("RequestToken: HTTP %d %s", resp.StatusCode, body)
	}
	return decodeObject(e.t, body)["token"].(string)
}

// registerIPN registers an IPN URL and returns its ipn_id.
func (e *testEnv) registerIPN(token, url, method string) string {
	e.t.Helper()
	resp, body := e.do("POST", e.apiURL("/api/URLSetup/RegisterIPN"), token,
		map[string]string{"url": url, "ipn_notification_type": method})
	if resp.StatusCode != 200 {
		e.t.Fatalf("RegisterIPN: HTTP %d %s", resp.StatusCode, body)
	}
	return decodeObject(e.t, body)["ipn_id"].(string)
}

// orderBody is a valid SubmitOrderRequest body.
func orderBody(id, ipnID, callback string) map[string]any {
	return map[string]any{
		"id":              id,
		"currency":        "KES",
		"amount":          json.Number("1500.00"),
		"description":     "Two bags of maize flour",
		"callback_url":    callback,
		"redirect_mode":   "",
		"notification_id": ipnID,
		"branch":          "Store Name - HQ",
		"billing_address": map[string]any{
			"email_address": "wanjiku@example.com",
			"phone_number":  "0712 345 678",
			"country_code":  "KE",
			"first_name":    "Wanjiku",
			"middle_name":   "",
			"last_name":     "Kamau",
			"line_1":        "Moi Avenue",
			"line_2":        "",
			"city":          "",
			"state":         "",
			"postal_code":   "",
			"zip_code":      "",
		},
	}
}

// submit sends an order and returns its tracking id.
func (e *testEnv) submit(token string, body map[string]any) string {
	e.t.Helper()
	resp, raw := e.do("POST", e.apiURL("/api/Transactions/SubmitOrderRequest"), token, body)
	if resp.StatusCode != 200 {
		e.t.Fatalf("SubmitOrderRequest: HTTP %d %s", resp.StatusCode, raw)
	}
	return decodeObject(e.t, raw)["order_tracking_id"].(string)
}

// status calls GetTransactionStatus.
func (e *testEnv) status(token, trackingID string) (*http.Response, map[string]any) {
	e.t.Helper()
	resp, raw := e.do("GET", e.apiURL("/api/Transactions/GetTransactionStatus?orderTrackingId="+trackingID), token, nil)
	return resp, decodeObject(e.t, raw)
}

// postPay submits the payment page's form.
func (e *testEnv) postPay(form string) (*http.Response, []byte) {
	e.t.Helper()
	req, err := http.NewRequest("POST", e.srv.URL+PesapalPayPath, strings.NewReader(form))
	if err != nil {
		e.t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	return e.send(req)
}

// decodeObject decodes a JSON object keeping numbers as written.
func decodeObject(t *testing.T, b []byte) map[string]any {
	t.Helper()
	var m map[string]any
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.UseNumber()
	if err := dec.Decode(&m); err != nil {
		t.Fatalf("not a JSON object: %v: %s", err, b)
	}
	return m
}

// matcher checks a value that cannot be known in advance.
type matcher struct {
	desc string
	ok   func(v any) bool
}

func matches(pattern string) matcher {
	re := regexp.MustCompile(pattern)
	return matcher{"matches " + pattern, func(v any) bool {
		s, ok := v.(string)
		return ok && re.MatchString(s)
	}}
}

const (
	guidPattern = `^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$`
	codePattern = `^[A-Z0-9]{10}$`
)

// checkJSON compares an answer with want: the same keys, equal values, and
// matcher values satisfied. Nested objects are map[string]any; numbers are
// json.Number as written.
func checkJSON(t *testing.T, label string, got, want map[string]any) {
	t.Helper()
	var keysGot, keysWant []string
	for k := range got {
		keysGot = append(keysGot, k)
	}
	for k := range want {
		keysWant = append(keysWant, k)
	}
	sort.Strings(keysGot)
	sort.Strings(keysWant)
	if !reflect.DeepEqual(keysGot, keysWant) {
		t.Errorf("%s: fields %v, want %v", label, keysGot, keysWant)
	}
	for k, w := range want {
		g, present := got[k]
		if !present {
			continue
		}
		switch w := w.(type) {
		case matcher:
			if !w.ok(g) {
				t.Errorf("%s: %s = %#v, want a value that %s", label, k, g, w.desc)
			}
		case map[string]any:
			gm, ok := g.(map[string]any)
			if !ok {
				t.Errorf("%s: %s = %#v, want an object", label, k, g)
				continue
			}
			checkJSON(t, label+"."+k, gm, w)
		default:
			if !reflect.DeepEqual(g, w) {
				t.Errorf("%s: %s = %#v, want %#v", label, k, g, w)
			}
		}
	}
}

// errorWant is the document's Error Object with a code:
// {"error": {"type": "api_error", "code": code, "message": "..."}}.
func errorWant(code string) map[string]any {
	return map[string]any{"error": map[string]any{
		"type":    "api_error",
		"code":    code,
		"message": matches(`.`),
	}}
}

// ipnRequest is one request the IPN receiver got.
type ipnRequest struct {
	Method      string
	Path        string
	Query       url.Values
	ContentType string
	Body        string
}

// ipnReceiver is an httptest server standing in for the app's IPN endpoint.
// answer decides each reply (n counts from 1); nil acknowledges with 200.
type ipnReceiver struct {
	srv *httptest.Server
	got chan ipnRequest
	mu  sync.Mutex
	n   int
}

func newIPNReceiver(t *testing.T, answer func(n int, w http.ResponseWriter, r *http.Request)) *ipnReceiver {
	t.Helper()
	rc := &ipnReceiver{got: make(chan ipnRequest, 100)}
	rc.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		rc.mu.Lock()
		rc.n++
		n := rc.n
		rc.mu.Unlock()
		rc.got <- ipnRequest{
			Method:      r.Method,
			Path:        r.URL.Path,
			Query:       r.URL.Query(),
			ContentType: r.Header.Get("Content-Type"),
			Body:        string(body),
		}
		if answer != nil {
			answer(n, w, r)
			return
		}
		ack(w, 200, "IPNCHANGE", "", "")
	}))
	t.Cleanup(rc.srv.Close)
	return rc
}

// ack answers an IPN with the document's JSON acknowledgement.
func ack(w http.ResponseWriter, status int, notificationType, trackingID, reference string) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	fmt.Fprintf(w, `{"orderNotificationType":%q,"orderTrackingId":%q,"orderMerchantReference":%q,"status":%d}`,
		notificationType, trackingID, reference, status)
}

// next returns the next IPN the receiver got, failing after a timeout.
func (rc *ipnReceiver) next(t *testing.T) ipnRequest {
	t.Helper()
	select {
	case r := <-rc.got:
		return r
	case <-time.After(5 * time.Second):
		t.Fatal("no IPN arrived within 5s")
		return ipnRequest{}
	}
}

// count is the number of IPNs received so far.
func (rc *ipnReceiver) count() int {
	rc.mu.Lock()
	defer rc.mu.Unlock()
	return rc.n
}
