package main

import (
	"net/http"
	"net/http/httptest"
	"net/url"
	"path/filepath"
	"strings"
	"testing"

	"github.com/PuerkitoBio/goquery"

	"checkout/reqctx"
)

// browser keeps cookies the way one browser does for one site (behind a
// load balancer every instance is the same site), whichever instance set
// them, and never follows redirects.
type browser struct {
	t       *testing.T
	cookies map[string]*http.Cookie
}

func (b *browser) do(method, target string, form url.Values) *http.Response {
	b.t.Helper()
	var body *strings.Reader
	if form != nil {
		body = strings.NewReader(form.Encode())
	} else {
		body = strings.NewReader("")
	}
	req, err := http.NewRequest(method, target, body)
	if err != nil {
		b.t.Fatal(err)
	}
	if form != nil {
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	}
	for _, c := range b.cookies {
		req.AddCookie(c)
	}
	client := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	resp, err := client.Do(req)
	if err != nil {
		b.t.Fatal(err)
	}
	for _, c := range resp.Cookies() {
		if c.MaxAge < 0 {
			delete(b.cookies, c.Name)
			continue
		}
		b.cookies[c.Name] = c
	}
	return resp
}

// csrf fetches a page and returns the CSRF token of its form.
func (b *browser) csrf(page, form string) string {
	b.t.Helper()
	resp := b.do(http.MethodGet, page, nil)
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		b.t.Fatalf("GET %s: %d", page, resp.StatusCode)
	}
	doc, err := goquery.NewDocumentFromReader(resp.Body)
	if err != nil {
		b.t.Fatal(err)
	}
	tok, ok := doc.Find("form[action='" + form + "'] input[name='csrf_token']").Attr("value")
	if !ok || tok == "" {
		b.t.Fatalf("GET %s: no form %s with a CSRF token", page, form)
	}
	return tok
}

// TestAdminSessionAndCSRFTokenFromOneInstanceWorkOnAnother: two instances
// on one database with the same CHECKOUT_SECRET, as behind a load
// balancer. The admin logs in on A; B accepts the session, and a form
// whose CSRF token A issued is accepted when it is posted to B. An
// instance with another secret accepts neither.
func TestAdminSessionAndCSRFTokenFromOneInstanceWorkOnAnother(t *testing.T) {
	db := filepath.Join(t.TempDir(), "shared.db")
	hooks := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) { w.WriteHeader(http.StatusNoContent) }))
	t.Cleanup(hooks.Close)
	inbox := hooks.URL + "/hooks"
	envFor := func(secret string) map[string]string {
		env := liveEnv(t, db)
		addr := freeAddr(t)
		env["CHECKOUT_ADDR"], env["CHECKOUT_PUBLIC_URL"], env["CHECKOUT_SECRET"] = addr, "http://"+addr, secret
		env["CHECKOUT_WEBHOOK_URL"], env["CHECKOUT_WEBHOOK_ALLOW_PRIVATE"] = inbox, "1"
		return env
	}
	shared := strings.Repeat("k", 48)
	a, _ := startApp(t, envFor(shared), nil)
	b, _ := startApp(t, envFor(shared), nil)
	other, _ := startApp(t, envFor(strings.Repeat("o", 48)), nil)

	br := &browser{t: t, cookies: map[string]*http.Cookie{}}
	tok := br.csrf(a.URL+"/admin/login", "/admin/login")
	resp := br.do(http.MethodPost, a.URL+"/admin/login", url.Values{"email": {"ops@example.co.ke"},
		"password": {"a long admin password"}, "csrf_token": {tok}})
	resp.Body.Close()
	if resp.StatusCode != http.StatusSeeOther || resp.Header.Get("Location") == "/admin/login" {
		t.Fatalf("login on A: %d to %q", resp.StatusCode, resp.Header.Get("Location"))
	}

	// The token comes from A's page; the post goes to B.
	const form = "/admin/webhooks/default/test"
	tok = br.csrf(a.URL+"/admin/webhooks", form)
	resp = br.do(http.MethodPost, b.URL+form, url.Values{"csrf_token": {tok}})
	resp.Body.Close()
	if resp.StatusCode != http.StatusSeeOther || resp.Header.Get("Location") != "/admin/webhooks?flash=test" {
		t.Fatalf("post on B with A's session and token: %d to %q, want 303 to /admin/webhooks?flash=test",
			resp.StatusCode, resp.Header.Get("Location"))
	}
	// And B's pages serve the same session.
	// Tokens are masked afresh in every answer: the session's token is
	// the one under the mask.
	if got := br.csrf(b.URL+"/admin/webhooks", form); reqctx.UnmaskCSRF(got) != reqctx.UnmaskCSRF(tok) {
		t.Fatalf("B's form carries CSRF token %q, A's %q: not one session", got, tok)
	}

	// An instance with another secret cannot read the cookies: it sends
	// the admin to log in, the form's post included.
	for _, method := range []string{http.MethodGet, http.MethodPost} {
		path, form := "/admin/webhooks", url.Values(nil)
		if method == http.MethodPost {
			path, form = "/admin/webhooks/default/test", url.Values{"csrf_token": {tok}}
		}
		resp = br.do(method, other.URL+path, form)
		resp.Body.Close()
		if resp.StatusCode != http.StatusSeeOther || resp.Header.Get("Location") != "/admin/login" {
			t.Fatalf("%s %s on an instance with another secret: %d to %q, want a redirect to /admin/login",
				method, path, resp.StatusCode, resp.Header.Get("Location"))
		}
	}
}
