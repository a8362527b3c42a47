package main

import (
	"net/http"
	"net/http/httptest"
	"net/url"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/PuerkitoBio/goquery"
	"github.com/pquerna/otp/totp"
)

// TestTwoFactorSetUpOnOneInstanceLogsInOnAnother: the key that seals
// two-factor secrets is derived from CHECKOUT_SECRET, so a secret set up
// through instance A opens on instance B (same database, same secret),
// where the admin logs in with the password and a code.
func TestTwoFactorSetUpOnOneInstanceLogsInOnAnother(t *testing.T) {
	db := filepath.Join(t.TempDir(), "shared.db")
	hooks := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) { w.WriteHeader(http.StatusNoContent) }))
	t.Cleanup(hooks.Close)
	envFor := func() map[string]string {
		env := liveEnv(t, db)
		addr := freeAddr(t)
		env["CHECKOUT_ADDR"], env["CHECKOUT_PUBLIC_URL"], env["CHECKOUT_SECRET"] = addr, "http://"+addr, strings.Repeat("k", 48)
		env["CHECKOUT_WEBHOOK_URL"], env["CHECKOUT_WEBHOOK_ALLOW_PRIVATE"] = hooks.URL+"/hooks", "1"
		return env
	}
	a, _ := startApp(t, envFor(), nil)
	b, _ := startApp(t, envFor(), nil)

	login := func(base string, br *browser) *http.Response {
		t.Helper()
		tok := br.csrf(base+"/admin/login", "/admin/login")
		resp := br.do(http.MethodPost, base+"/admin/login", url.Values{"email": {"ops@example.co.ke"},
			"password": {"a long admin password"}, "csrf_token": {tok}})
		resp.Body.Close()
		return resp
	}
	onA := &browser{t: t, cookies: map[string]*http.Cookie{}}
	if r := login(a.URL, onA); r.StatusCode != http.StatusSeeOther || r.Header.Get("Location") != "/admin" {
		t.Fatalf("login on A: %d to %q", r.StatusCode, r.Header.Get("Location"))
	}
	resp := onA.do(http.MethodGet, a.URL+"/admin/account/totp", nil)
	doc, err := goquery.NewDocumentFromReader(resp.Body)
	resp.Body.Close()
	if err != nil || resp.StatusCode != http.StatusOK {
		t.Fatalf("set-up page on A: %d %v (is the sealing key passed to the service?)", resp.StatusCode, err)
	}
	secret := strings.ReplaceAll(doc.Find(".totp-secret").Text(), " ", "")
	tok, _ := doc.Find("form.totp-confirm input[name=csrf_token]").Attr("value")
	code, err := totp.GenerateCode(secret, a.Service.Now())
	if err != nil {
		t.Fatal(err)
	}
	resp = onA.do(http.MethodPost, a.URL+"/admin/account/totp", url.Values{"code": {code}, "csrf_token": {tok}})
	resp.Body.Close()
	if resp.StatusCode != http.StatusSeeOther || resp.Header.Get("Location") != "/admin/account?flash=totp_on" {
		t.Fatalf("confirm on A: %d to %q", resp.StatusCode, resp.Header.Get("Location"))
	}

	onB := &browser{t: t, cookies: map[string]*http.Cookie{}}
	if r := login(b.URL, onB); r.StatusCode != http.StatusSeeOther || r.Header.Get("Location") != "/admin/login/totp" {
		t.Fatalf("password on B: %d to %q, want the code step", r.StatusCode, r.Header.Get("Location"))
	}
	tok = onB.csrf(b.URL+"/admin/login/totp", "/admin/login/totp")
	// The next step's code: the one that switched two-factor on is used.
	code, err = totp.GenerateCode(secret, b.Service.Now().Add(30*time.Second))
	if err != nil {
		t.Fatal(err)
	}
	resp = onB.do(http.MethodPost, b.URL+"/admin/login/totp", url.Values{"code": {code}, "csrf_token": {tok}})
	resp.Body.Close()
	if resp.StatusCode != http.StatusSeeOther || resp.Header.Get("Location") != "/admin" {
		t.Fatalf("code on B: %d to %q, want 303 to /admin", resp.StatusCode, resp.Header.Get("Location"))
	}
}
