package pokeapay

import (
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"checkout/gateway/internal/httpxtest"
)

// The fake STK merchant. The credentials are long and distinctive so that
// a leak into an error or a log line cannot go unnoticed.
const (
	stkTestEmail    = "merchant.STKEMAIL.7c1f@example.test"
	stkTestPassword = "pw-STKPASSWORD-9f3b#&x"
	stkTestOutlet   = "OTC100001"
)

// stkClock is a fake clock for token expiry.
type stkClock = httpxtest.Clock

func newSTKClock() *stkClock {
	return httpxtest.NewClock(time.Date(2026, 3, 2, 9, 0, 0, 0, time.UTC))
}

// makeJWT builds an unsigned-looking JWT with the given payload claims, the
// way PokeaPay's sample token is laid out.
func makeJWT(claims map[string]any) string {
	enc := base64.RawURLEncoding
	payload, err := json.Marshal(claims)
	if err != nil {
		panic(err)
	}
	return enc.EncodeToString([]byte(`{"alg":"HS256","typ":"JWT"}`)) + "." +
		enc.EncodeToString(payload) + "." + enc.EncodeToString([]byte("signature"))
}

// encodeB64URL is base64url with padding, which jwtExpiry also accepts.
func encodeB64URL(s string) string { return base64.URLEncoding.EncodeToString([]byte(s)) }

// stkSeen is what the fake recorded about one request.
type stkSeen struct {
	Method        string
	Path          string
	Authorization string
	ContentType   string
	Accept        string
	Body          string
}

// stkFake is an httptest.Server standing in for saf.pokeapay.com/api/v1.
// It logs merchants in with JWTs, refuses (401) any token it did not issue
// or has revoked, and answers pushes and queries with the handlers set.
type stkFake struct {
	t     *testing.T
	srv   *httptest.Server
	clock *stkClock

	mu     sync.Mutex
	seen   []stkSeen
	logins int
	issued int
	valid  map[string]bool
	// tokenLife is the exp written into new tokens, from the fake clock;
	// zero writes a token without exp.
	tokenLife time.Duration
	// opaque issues tokens that are not JWTs.
	opaque bool
	// rejectAll answers 401 to every push and query, new tokens included.
	rejectAll bool
	// bearerOnly takes the token only as "Bearer <token>"; otherwise only
	// the document's bare form ("Authorization: <token>") is taken.
	bearerOnly bool
	// loginGate, when set, holds every login until it is closed.
	loginGate chan struct{}
	login     http.HandlerFunc // replaces the fake's own login when set
	push      http.HandlerFunc
	query     http.HandlerFunc
}

// newSTKFake starts a fake whose push and query answer the documented
// push success and a completed query.
func newSTKFake(t *testing.T) *stkFake {
	t.Helper()
	f := &stkFake{t: t, clock: newSTKClock(), valid: map[string]bool{}, tokenLife: time.Hour}
	f.push = stkJSON(http.StatusOK, `{"success":true,"message":"Transaction initiated successfully","data":{"orderRef":"pay_1","amount":1500,"phone":"254712345678"}}`)
	f.query = stkJSON(http.StatusOK, queryCompleted)
	f.srv = httptest.NewServer(http.HandlerFunc(f.serve))
	t.Cleanup(f.srv.Close)
	return f
}

func (f *stkFake) serve(w http.ResponseWriter, r *http.Request) {
	body, err := io.ReadAll(r.Body)
	if err != nil {
		http.Error(w, "read", http.StatusBadRequest)
		return
	}
	f.mu.Lock()
	f.seen = append(f.seen, stkSeen{Method: r.Method, Path: r.URL.Path, Authorization: r.Header.Get("Authorization"),
		ContentType: r.Header.Get("Content-Type"), Accept: r.Header.Get("Accept"), Body: string(body)})
	var h http.HandlerFunc
	switch r.URL.Path {
	case "/api/v1/login":
		h = f.login
		if h == nil {
			h = f.issueToken
		}
		f.logins++
	case "/api/v1/stkPush/transaction", "/api/v1/transaction/query":
		tok, ok := r.Header.Get("Authorization"), true
		if f.bearerOnly {
			tok, ok = strings.CutPrefix(tok, "Bearer ")
		}
		if !ok || !f.valid[tok] || f.rejectAll {
			h = stkJSON(http.StatusUnauthorized, `{"success":false,"error":"Unauthorized"}`)
		} else if r.URL.Path == "/api/v1/stkPush/transaction" {
			h = f.push
		} else {
			h = f.query
		}
	default:
		h = stkJSON(http.StatusNotFound, `{"success":false,"error":"Not found"}`)
	}
	gate := f.loginGate
	f.mu.Unlock()
	if r.URL.Path == "/api/v1/login" && gate != nil {
		select {
		case <-gate:
		case <-r.Context().Done():
			return
		}
	}
	h(w, r)
}

// issueToken is the fake's login: the documented answer with a new token.
func (f *stkFake) issueToken(w http.ResponseWriter, _ *http.Request) {
	f.mu.Lock()
	f.issued++
	claims := map[string]any{"userInfo": map[string]any{"userId": 2}, "n": f.issued,
		"iat": f.clock.Now().Unix()}
	if f.tokenLife != 0 {
		claims["exp"] = f.clock.Now().Add(f.tokenLife).Unix()
	}
	tok := makeJWT(claims)
	if f.opaque {
		tok = fmt.Sprintf("opaque-token-%d", f.issued)
	}
	f.valid[tok] = true
	f.mu.Unlock()
	stkJSON(http.StatusOK, `{"success":true,"message":"Login successful","data":{"token":"`+tok+`"}}`)(w, nil)
}

// revokeAll makes every token issued so far answer 401.
func (f *stkFake) revokeAll() {
	f.mu.Lock()
	defer f.mu.Unlock()
	clear(f.valid)
}

func (f *stkFake) set(fn func(f *stkFake)) {
	f.mu.Lock()
	defer f.mu.Unlock()
	fn(f)
}

func (f *stkFake) requests() []stkSeen {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]stkSeen(nil), f.seen...)
}

// paths lists the requests' paths without the /api/v1 root.
func (f *stkFake) paths() []string {
	var out []string
	for _, r := range f.requests() {
		out = append(out, strings.TrimPrefix(r.Path, "/api/v1"))
	}
	return out
}

func (f *stkFake) loginCount() int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.logins
}

// client returns an STKClient for this fake with cfg changed by mods. Each
// request gets a fresh connection, so that net/http never resends one on
// its own.
func (f *stkFake) client(sleeper *sleepRecorder, mods ...func(*STKConfig)) *STKClient {
	f.t.Helper()
	cfg := STKConfig{
		APIURL:     f.srv.URL + "/api/v1",
		Email:      stkTestEmail,
		Password:   stkTestPassword,
		OutletCode: stkTestOutlet,
		HTTPClient: &http.Client{Transport: &http.Transport{DisableKeepAlives: true}},
		Timeout:    5 * time.Second,
		Now:        f.clock.Now,
		Sleep:      sleeper.Sleep,
	}
	for _, m := range mods {
		m(&cfg)
	}
	c, err := NewSTK(cfg)
	if err != nil {
		f.t.Fatalf("NewSTK: %v", err)
	}
	return c
}

// stkJSON answers with the given status and JSON body.
func stkJSON(status int, body string) http.HandlerFunc {
	return text(status, "application/json; charset=utf-8", body)
}

// decodeBody decodes a recorded JSON body keeping numbers as json.Number,
// so that a test can tell 1500 from "1500".
func decodeBody(t *testing.T, body string) map[string]any {
	t.Helper()
	d := json.NewDecoder(strings.NewReader(body))
	d.UseNumber()
	var m map[string]any
	if err := d.Decode(&m); err != nil {
		t.Fatalf("body %q is not a JSON object: %v", body, err)
	}
	return m
}

// queryCompleted is a completed transaction query answer in the shape of
// the document's "Transaction Query Success" example.
const queryCompleted = `{"success":true,"message":"Transaction completed successfully","data":{"receipt":"SBK12XYZ9Q","firstname":"Wanjiku","middlename":"","lastname":"Kamau","orderRef":"pay_1","amount":1500,"phone":"254712345678","outletCode":"OTC100001","variable1":"INV-1001","variable2":""}}`
