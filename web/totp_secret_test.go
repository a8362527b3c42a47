package web_test

import (
	"io"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/pquerna/otp/totp"
)

// TestTOTPSecretIsNotShownOnceTwoFactorIsOn: once two-factor login
// is on, no page shows its secret. The set-up page shows the secret kept
// in the session cookie while it is "fresh" (15 minutes) without asking
// whether two-factor is on already, so the admin cookie as it was before
// the confirm (a copy of it, or a request in flight at the time whose
// answer saves the session again) opens the page with the secret now in
// use.
func TestTOTPSecretIsNotShownOnceTwoFactorIsOn(t *testing.T) {
	e := newEnv(t, envOptions{})
	e.createAdmin()
	b := e.loggedIn(adminEmail, adminPassword)
	setup := b.get(e.app.URL + "/admin/account/totp")
	shown := strings.ReplaceAll(setup.doc.Find(".totp-secret").Text(), " ", "")
	if setup.status != http.StatusOK || shown == "" {
		t.Fatalf("set-up page: %d", setup.status)
	}
	before := jarCookie(t, e, b, adminCookie) // the cookie while setting up
	c, err := totp.GenerateCode(shown, e.clock.Now())
	if err != nil {
		t.Fatal(err)
	}
	done := b.submit(setup, "form.totp-confirm", url.Values{"code": {c}})
	if !strings.HasSuffix(done.url, "/admin/account?flash=totp_on") {
		t.Fatalf("confirm: %d at %s", done.status, done.url)
	}
	if u := e.admin(); u.TOTPEnabledAt == nil {
		t.Fatal("two-factor is not on")
	}

	req, err := http.NewRequest(http.MethodGet, e.app.URL+"/admin/account/totp", nil)
	if err != nil {
		t.Fatal(err)
	}
	req.AddCookie(&http.Cookie{Name: before.Name, Value: before.Value})
	cl := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	resp, err := cl.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if strings.Contains(strings.ReplaceAll(string(body), " ", ""), shown) {
		t.Fatalf("with two-factor on, the set-up page (%d) shows the secret in use", resp.StatusCode)
	}
}

// TestTOTPConfirmWithAStalePendingSecretCannotSwitchItOn: a copy of the
// admin's cookies from while a secret was being set up (the secret it
// holds, its form token) cannot confirm that secret later, after
// two-factor was switched on and off again: switching it on ended every
// session of the admin, copies included. The browser that switched it on
// stays signed in, and its set-up page now sends it to the account page.
func TestTOTPConfirmWithAStalePendingSecretCannotSwitchItOn(t *testing.T) {
	e := newEnv(t, envOptions{})
	e.createAdmin()
	b := e.loggedIn(adminEmail, adminPassword)
	other := e.loggedIn(adminEmail, adminPassword) // another browser of the admin
	setup := b.get(e.app.URL + "/admin/account/totp")
	shown := strings.ReplaceAll(setup.doc.Find(".totp-secret").Text(), " ", "")
	if setup.status != http.StatusOK || shown == "" {
		t.Fatalf("set-up page: %d", setup.status)
	}
	stale := []*http.Cookie{jarCookie(t, e, b, adminCookie), jarCookie(t, e, b, customerCookie)}
	if done := b.submit(setup, "form.totp-confirm", url.Values{"code": {code(t, shown, e.clock.Now())}}); !strings.HasSuffix(done.url, "/admin/account?flash=totp_on") {
		t.Fatalf("confirm: %d at %s", done.status, done.url)
	}
	if again := b.noFollow().fetch(e.app.URL + "/admin/account/totp"); again.status != http.StatusSeeOther ||
		again.header.Get("Location") != "/admin/account" || strings.Contains(again.body, shown) {
		t.Fatalf("set-up page once on: %d to %q", again.status, again.header.Get("Location"))
	}
	if r := other.noFollow().fetch(e.app.URL + "/admin"); r.status != http.StatusSeeOther || !strings.HasPrefix(r.header.Get("Location"), "/admin/login") {
		t.Errorf("another browser's session after two-factor was switched on: %d to %q, want the login", r.status, r.header.Get("Location"))
	}

	e.clock.Advance(time.Minute) // past the step the confirm used
	account := b.get(e.app.URL + "/admin/account")
	off := b.submit(account, "form.totp-disable", url.Values{"disable_password": {adminPassword},
		"disable_code": {code(t, shown, e.clock.Now())}})
	if !strings.HasSuffix(off.url, "flash=totp_off") || e.admin().TOTPEnabledAt != nil {
		t.Fatalf("switch off: %d at %s", off.status, off.url)
	}

	// The stale copy confirms the old secret with a current code of it.
	s := e.browser()
	u, err := url.Parse(e.app.URL)
	if err != nil {
		t.Fatal(err)
	}
	s.c.Jar.SetCookies(u, stale)
	r := s.noFollow().submitRaw(setup, "form.totp-confirm", url.Values{"code": {code(t, shown, e.clock.Now())}})
	if on := e.admin().TOTPEnabledAt; on != nil {
		t.Fatalf("a stale copy of the cookie switched two-factor on again with the old secret (%d)", r.status)
	}
}
