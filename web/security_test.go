package web_test

import (
	"context"
	"encoding/json"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"regexp"
	"strings"
	"testing"

	"checkout/handlers"
	"checkout/store"
	"checkout/web"
)

// cspNonce matches the nonce of the CSP's script-src.
var cspNonce = regexp.MustCompile(`script-src 'nonce-([A-Za-z0-9+/=]+)'`)

// cspDirectives splits a CSP into its directives: name -> value.
func cspDirectives(t *testing.T, csp string) map[string]string {
	t.Helper()
	out := map[string]string{}
	for _, d := range strings.Split(csp, ";") {
		name, value, _ := strings.Cut(strings.TrimSpace(d), " ")
		if name == "" {
			continue
		}
		if _, dup := out[name]; dup {
			t.Fatalf("directive %s twice in %q", name, csp)
		}
		out[name] = strings.TrimSpace(value)
	}
	return out
}

func TestCustomerPageCSPHasAFreshNonceThatItsScriptsCarry(t *testing.T) {
	e := newEnv(t, envOptions{})
	id := e.createCheckout("order-csp")
	b := e.browser()
	var nonces []string
	for range 2 {
		r := b.fetch(e.app.URL + "/c/" + id)
		if r.status != http.StatusOK {
			t.Fatalf("checkout page: %d", r.status)
		}
		csp := r.header.Get("Content-Security-Policy")
		m := cspNonce.FindStringSubmatch(csp)
		if m == nil {
			t.Fatalf("no script-src nonce in %q", csp)
		}
		nonce := m[1]
		nonces = append(nonces, nonce)
		d := cspDirectives(t, csp)
		want := map[string]string{
			"default-src":     "'self'",
			"script-src":      "'nonce-" + nonce + "'",
			"style-src":       "'self' 'nonce-" + nonce + "'",
			"img-src":         "'self' data:",
			"frame-src":       "'self' " + e.simSrv.URL,
			"object-src":      "'none'",
			"base-uri":        "'none'",
			"form-action":     "'self' " + e.simSrv.URL,
			"frame-ancestors": "'self'",
		}
		for name, v := range want {
			if d[name] != v {
				t.Errorf("%s = %q, want %q", name, d[name], v)
			}
		}
		if len(d) != len(want) {
			t.Errorf("CSP has %d directives, want %d: %q", len(d), len(want), csp)
		}
		scripts := r.doc.Find("script")
		if scripts.Length() == 0 {
			t.Fatal("the page has no script tag to check")
		}
		for i := range scripts.Length() {
			if got := scripts.Eq(i).AttrOr("nonce", ""); got != nonce {
				t.Fatalf("script %d nonce %q, want the CSP's %q", i, got, nonce)
			}
		}
		if got := r.header.Get("X-Content-Type-Options"); got != "nosniff" {
			t.Errorf("X-Content-Type-Options = %q", got)
		}
		if got := r.header.Get("Referrer-Policy"); got != "same-origin" {
			t.Errorf("Referrer-Policy = %q", got)
		}
		if got := r.header.Get("X-Frame-Options"); got != "" {
			t.Errorf("a customer page (framed by our own Pesapal page) sends X-Frame-Options %q", got)
		}
	}
	if len(nonces[0]) < 16 || nonces[0] == nonces[1] {
		t.Fatalf("nonces %q: want a fresh, long one per request", nonces)
	}
}

func TestAdminPagesForbidFraming(t *testing.T) {
	e := newEnv(t, envOptions{})
	b := e.adminBrowser()
	id := e.createCheckout("order-frame")
	for _, path := range []string{"/admin/login", "/admin/orders", "/admin/orders/" + id} {
		t.Run(path, func(t *testing.T) {
			r := b.fetch(e.app.URL + path)
			if r.status != http.StatusOK {
				t.Fatalf("status %d", r.status)
			}
			csp := r.header.Get("Content-Security-Policy")
			d := cspDirectives(t, csp)
			m := cspNonce.FindStringSubmatch(csp)
			if m == nil {
				t.Fatalf("no script-src nonce in %q", csp)
			}
			checks := map[string]string{"frame-ancestors": "'none'", "frame-src": "'none'", "object-src": "'none'",
				"base-uri": "'none'", "default-src": "'self'", "form-action": "'self'"}
			for name, v := range checks {
				if d[name] != v {
					t.Errorf("%s = %q, want %q", name, d[name], v)
				}
			}
			if got := r.doc.Find("script").AttrOr("nonce", ""); got != m[1] {
				t.Errorf("script nonce %q, want %q", got, m[1])
			}
			for h, v := range map[string]string{"X-Frame-Options": "DENY", "X-Content-Type-Options": "nosniff", "Referrer-Policy": "same-origin"} {
				if got := r.header.Get(h); got != v {
					t.Errorf("%s = %q, want %q", h, got, v)
				}
			}
		})
	}
}

func TestPayFormRefusesMissingWrongOrCrossSiteToken(t *testing.T) {
	e := newEnv(t, envOptions{})
	id := e.createCheckout("order-csrf")
	b := e.browser()
	p := b.get(e.app.URL + "/c/" + id)
	token := csrfToken(p)
	if token == "" {
		t.Fatal("the checkout page has no CSRF token")
	}
	const (
		expired   = "This form has expired. Go back, reload the page and try again."
		crossSite = "This request came from another site and was refused."
	)
	// The wrong token differs from the right one in its first character,
	// whatever that character is.
	wrong := "x" + token[1:]
	if token[0] == 'x' {
		wrong = "y" + token[1:]
	}
	for _, tc := range []struct {
		name string
		vals url.Values
		hdr  map[string]string
		text string
	}{
		{"no token", url.Values{"method": {"pesapal"}}, nil, expired},
		{"wrong token", url.Values{"method": {"pesapal"}, "csrf_token": {wrong}}, nil, expired},
		{"wrong header token", url.Values{"method": {"pesapal"}}, map[string]string{"X-CSRF-Token": "nope"}, expired},
		{"cross-site with the right token", url.Values{"method": {"pesapal"}, "csrf_token": {token}},
			map[string]string{"Sec-Fetch-Site": "cross-site"}, crossSite},
		{"foreign origin with the right token", url.Values{"method": {"pesapal"}, "csrf_token": {token}},
			map[string]string{"Origin": "https://evil.example"}, crossSite},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := b.noFollow().post(e.app.URL+"/c/"+id+"/pay", tc.vals, tc.hdr)
			if r.status != http.StatusForbidden {
				t.Fatalf("status %d, want 403", r.status)
			}
			if got := strings.TrimSpace(r.doc.Find("h1").Text()); got != "Request refused" {
				t.Fatalf("heading %q", got)
			}
			if got := strings.TrimSpace(r.doc.Find("section.notice p").First().Text()); got != tc.text {
				t.Fatalf("text %q, want %q", got, tc.text)
			}
			as, err := e.store.Attempts(context.Background(), id)
			if err != nil {
				t.Fatal(err)
			}
			if len(as) != 0 || e.checkout(id).Status != store.StatusOpen {
				t.Fatalf("a refused POST started %d attempts, status %s", len(as), e.checkout(id).Status)
			}
		})
	}

	// The same form with its token goes through, and so does an IPN, which
	// carries no token at all.
	frame := b.submit(p, "form.method-choice", url.Values{"method": {"pesapal"}})
	if frame.status != http.StatusOK || !strings.HasSuffix(frame.url, "/c/"+id+"/pesapal") {
		t.Fatalf("the real form: %d at %s", frame.status, frame.url)
	}
	as, err := e.store.Attempts(context.Background(), id)
	if err != nil || len(as) != 1 {
		t.Fatalf("attempts %d %v, want 1", len(as), err)
	}
	order, ok := e.sim.PesapalOrderByReference(as[0].ID)
	if !ok {
		t.Fatal("no simulator order")
	}
	if err := e.sim.PesapalComplete(order.TrackingID, false); err != nil {
		t.Fatal(err)
	}
	status, ack := e.ipn(order)
	if status != http.StatusOK || ack["status"] != float64(200) {
		t.Fatalf("IPN without a token: %d %v, want 200", status, ack)
	}
	if co := e.checkout(id); co.Status != store.StatusPaid {
		t.Fatalf("status after the IPN %s, want paid", co.Status)
	}
}

func TestCustomerCookieIsHttpOnlyLaxAndNotSecureOverHTTP(t *testing.T) {
	e := newEnv(t, envOptions{})
	id := e.createCheckout("order-cookie")
	r := e.browser().fetch(e.app.URL + "/c/" + id)
	c := r.cookie(customerCookie)
	if c == nil {
		t.Fatalf("no %s cookie; cookies %v", customerCookie, r.cookies)
	}
	if !c.HttpOnly || c.SameSite != http.SameSiteLaxMode || c.Secure || c.Path != "/" || c.Domain != "" || c.Value == "" {
		t.Fatalf("customer cookie: HttpOnly %v SameSite %v Secure %v Path %q Domain %q; want HttpOnly, Lax, not Secure, /, host-only",
			c.HttpOnly, c.SameSite, c.Secure, c.Path, c.Domain)
	}
	if strings.Contains(r.header.Get("Set-Cookie"), "Max-Age") {
		t.Fatalf("the customer cookie should last the browser session: %q", r.header.Get("Set-Cookie"))
	}
}

func TestCookiesOverHTTPSAreSecureWithHostPrefix(t *testing.T) {
	e := newEnv(t, envOptions{})
	e.createAdmin()
	log := slog.New(slog.DiscardHandler)
	sess := web.NewSessions([]byte("0123456789abcdef0123456789abcdef"), []byte("abcdef0123456789abcdef0123456789"), true)
	engine := web.New(handlers.New(e.svc, sess, log), web.Config{Logger: log, Sessions: sess, ProviderOrigins: []string{e.simSrv.URL}})

	get := httptest.NewRecorder()
	engine.ServeHTTP(get, httptest.NewRequest(http.MethodGet, "https://pay.example.com/admin/login", nil))
	cust := (&http.Response{Header: get.Header()}).Cookies()
	if get.Code != http.StatusOK || len(cust) != 1 {
		t.Fatalf("login page: %d, cookies %v", get.Code, cust)
	}
	form := url.Values{"email": {adminEmail}, "password": {adminPassword}}
	m := regexp.MustCompile(`name="csrf_token" value="([^"]+)"`).FindStringSubmatch(get.Body.String())
	if m == nil {
		t.Fatal("no CSRF token on the login page")
	}
	form.Set("csrf_token", m[1])
	req := httptest.NewRequest(http.MethodPost, "https://pay.example.com/admin/login", strings.NewReader(form.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.AddCookie(&http.Cookie{Name: cust[0].Name, Value: cust[0].Value})
	post := httptest.NewRecorder()
	engine.ServeHTTP(post, req)
	if post.Code != http.StatusSeeOther {
		t.Fatalf("login over https: %d\n%s", post.Code, post.Body)
	}
	got := map[string]*http.Cookie{}
	for _, c := range append(cust, (&http.Response{Header: post.Header()}).Cookies()...) {
		got[c.Name] = c
	}
	for name, same := range map[string]http.SameSite{"__Host-checkout": http.SameSiteLaxMode, "__Host-checkout_admin": http.SameSiteStrictMode} {
		c := got[name]
		if c == nil {
			t.Fatalf("no %s cookie; got %v", name, got)
		}
		// __Host- cookies must be Secure, Path=/ and have no Domain, or
		// browsers drop them.
		if !c.Secure || !c.HttpOnly || c.SameSite != same || c.Path != "/" || c.Domain != "" {
			t.Fatalf("%s: Secure %v HttpOnly %v SameSite %v Path %q Domain %q", name, c.Secure, c.HttpOnly, c.SameSite, c.Path, c.Domain)
		}
	}
	if len(got) != 2 {
		t.Fatalf("cookies %v, want only the two prefixed ones", got)
	}
}

func TestUnknownCheckoutAndRouteGetClear404Pages(t *testing.T) {
	e := newEnv(t, envOptions{})
	b := e.browser()
	for _, tc := range []struct {
		path, heading, text string
	}{
		{"/c/chk_doesnotexist", "Checkout not found", "We could not find this checkout. Check the link, or ask the shop for a new one."},
		{"/c/chk_doesnotexist/pesapal", "Checkout not found", "We could not find this checkout. Check the link, or ask the shop for a new one."},
		{"/no/such/page", "Page not found", "There is nothing at this address. Check the link you were given."},
	} {
		t.Run(tc.path, func(t *testing.T) {
			r := b.fetch(e.app.URL + tc.path)
			if r.status != http.StatusNotFound {
				t.Fatalf("status %d, want 404", r.status)
			}
			if ct := r.header.Get("Content-Type"); ct != "text/html; charset=utf-8" {
				t.Fatalf("Content-Type %q, want a page", ct)
			}
			if h := strings.TrimSpace(r.doc.Find("h1").Text()); h != tc.heading {
				t.Fatalf("heading %q, want %q", h, tc.heading)
			}
			if p := strings.TrimSpace(r.doc.Find("section.notice p").First().Text()); p != tc.text {
				t.Fatalf("text %q, want %q", p, tc.text)
			}
			// A request id is for errors on our side; here it would only be
			// mistaken for the order's reference.
			if r.doc.Find(".request-id").Length() != 0 {
				t.Fatal("a 404 page shows a request id")
			}
			for _, leak := range []string{"record not found", "store:", "sql", "gorm"} {
				if strings.Contains(strings.ToLower(r.body), leak) {
					t.Fatalf("the page leaks %q:\n%s", leak, r.body)
				}
			}
		})
	}
}

// apiAs calls the merchant API with the given Authorization header ("" for
// none) and returns the status, the headers and the decoded JSON.
func (e *env) apiAs(auth, method, path, body string) (int, http.Header, map[string]any) {
	e.t.Helper()
	req, err := http.NewRequest(method, e.app.URL+path, strings.NewReader(body))
	if err != nil {
		e.t.Fatal(err)
	}
	if auth != "" {
		req.Header.Set("Authorization", auth)
	}
	req.Header.Set("Content-Type", "application/json")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		e.t.Fatal(err)
	}
	defer resp.Body.Close()
	var out map[string]any
	if err := json.NewDecoder(resp.Body).Decode(&out); err != nil {
		e.t.Fatalf("%s %s: answer is not JSON: %v", method, path, err)
	}
	return resp.StatusCode, resp.Header, out
}

func TestMerchantAPIErrorsAreJSON(t *testing.T) {
	e := newEnv(t, envOptions{})
	const otherKey = "sk_test_other_merchant_0123456789abcdef"
	if _, err := e.store.EnsureMerchant(context.Background(), "other", "Other Shop", otherKey); err != nil {
		t.Fatal(err)
	}
	status, _, obj := e.apiAs("Bearer "+otherKey, http.MethodPost, "/api/v1/checkouts",
		`{"amount": "10", "currency": "KES", "reference": "theirs-1", "description": "Not yours"}`)
	if status != http.StatusCreated {
		t.Fatalf("other merchant's checkout: %d %v", status, obj)
	}
	theirs := obj["id"].(string)
	mine := e.createCheckout("mine-1")
	body := `{"amount": "10", "currency": "KES", "reference": "x-1", "description": "x"}`

	for _, tc := range []struct {
		name, auth, method, path, body string
		status                         int
		code                           string
		field                          any
		challenge                      string // WWW-Authenticate
	}{
		{"no key", "", http.MethodPost, "/api/v1/checkouts", body, http.StatusUnauthorized, "unauthorized", nil, `Bearer realm="checkout"`},
		{"no key on GET", "", http.MethodGet, "/api/v1/checkouts/" + mine, "", http.StatusUnauthorized, "unauthorized", nil, `Bearer realm="checkout"`},
		{"not bearer", "Basic " + testAPIKey, http.MethodGet, "/api/v1/checkouts/" + mine, "", http.StatusUnauthorized, "unauthorized", nil, `Bearer realm="checkout"`},
		{"wrong key", "Bearer sk_test_wrong_wrong_wrong_wrong", http.MethodGet, "/api/v1/checkouts/" + mine, "", http.StatusUnauthorized, "unauthorized", nil,
			`Bearer realm="checkout", error="invalid_token"`},
		{"another merchant's checkout", "Bearer " + testAPIKey, http.MethodGet, "/api/v1/checkouts/" + theirs, "", http.StatusNotFound, "not_found", "id", ""},
		{"unknown checkout", "Bearer " + testAPIKey, http.MethodGet, "/api/v1/checkouts/chk_doesnotexist", "", http.StatusNotFound, "not_found", "id", ""},
		{"unknown endpoint", "Bearer " + testAPIKey, http.MethodGet, "/api/v1/nope", "", http.StatusNotFound, "not_found", nil, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			status, hdr, obj := e.apiAs(tc.auth, tc.method, tc.path, tc.body)
			if status != tc.status {
				t.Fatalf("status %d, want %d: %v", status, tc.status, obj)
			}
			if len(obj) != 1 {
				t.Fatalf("answer %v, want only an error object", obj)
			}
			er, ok := obj["error"].(map[string]any)
			if !ok {
				t.Fatalf("answer %v has no error object", obj)
			}
			msg, _ := er["message"].(string)
			if er["code"] != tc.code || msg == "" || er["field"] != tc.field || len(er) != 3 {
				t.Fatalf("error %v, want code %q, a message, field %v", er, tc.code, tc.field)
			}
			if ct := hdr.Get("Content-Type"); !strings.HasPrefix(ct, "application/json") {
				t.Fatalf("Content-Type %q", ct)
			}
			if got := hdr.Get("WWW-Authenticate"); got != tc.challenge {
				t.Fatalf("WWW-Authenticate %q, want %q", got, tc.challenge)
			}
		})
	}
	if co := e.checkout(theirs); co.Status != store.StatusOpen {
		t.Fatalf("other merchant's checkout changed: %s", co.Status)
	}
}

func TestHealthzAndReadyzAnswerOKWithTheDatabase(t *testing.T) {
	e := newEnv(t, envOptions{})
	for _, tc := range []struct {
		path string
		want map[string]any
	}{
		{"/healthz", map[string]any{"status": "ok"}},
		{"/readyz", map[string]any{"status": "ok", "database": "ok"}},
	} {
		t.Run(tc.path, func(t *testing.T) {
			status, hdr, obj := e.apiAs("", http.MethodGet, tc.path, "")
			if status != http.StatusOK {
				t.Fatalf("status %d", status)
			}
			if len(obj) != len(tc.want) {
				t.Fatalf("answer %v, want %v", obj, tc.want)
			}
			for k, v := range tc.want {
				if obj[k] != v {
					t.Fatalf("answer %v, want %v", obj, tc.want)
				}
			}
			if hdr.Get("X-Content-Type-Options") != "nosniff" {
				t.Fatal("no nosniff on", tc.path)
			}
		})
	}
}
