package web_test

import (
	"bytes"
	"context"
	"log/slog"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/PuerkitoBio/goquery"
	"github.com/pquerna/otp/totp"

	"checkout/payments"
	"checkout/store"
)

// testTOTPKey is the service's key for sealing two-factor secrets in these
// tests (payments.Config.TOTPKey).
var testTOTPKey = []byte("totp-key-0123456789abcdef-012345")

// createAdminAs adds another admin with its own email and password.
func (e *env) createAdminAs(email, password string) string {
	e.t.Helper()
	hash, err := store.HashPassword(password)
	if err != nil {
		e.t.Fatal(err)
	}
	id := store.NewID("adm", e.clock.Now())
	if err := e.store.CreateAdmin(context.Background(), id, email, hash); err != nil {
		e.t.Fatal(err)
	}
	return id
}

// loggedIn returns a new browser logged in with email and password (no
// two-factor).
func (e *env) loggedIn(email, password string) *browser {
	e.t.Helper()
	b := e.browser()
	if _, r := e.login(b, email, password); r.status != http.StatusSeeOther || r.header.Get("Location") != "/admin" {
		e.t.Fatalf("login of %s: %d to %q\n%s", email, r.status, r.header.Get("Location"), r.body)
	}
	return b
}

// goesToLogin asserts that b's next admin request is sent to the login page.
func goesToLogin(t *testing.T, e *env, b *browser, what string) {
	t.Helper()
	r := b.noFollow().fetch(e.app.URL + "/admin/orders")
	if r.status != http.StatusSeeOther || r.header.Get("Location") != "/admin/login" {
		t.Fatalf("%s: /admin/orders answered %d to %q, want 303 to /admin/login", what, r.status, r.header.Get("Location"))
	}
}

// opensAdmin asserts that b's admin session is live.
func opensAdmin(t *testing.T, e *env, b *browser, what string) {
	t.Helper()
	if r := b.noFollow().fetch(e.app.URL + "/admin/orders"); r.status != http.StatusOK {
		t.Fatalf("%s: /admin/orders answered %d, want 200", what, r.status)
	}
}

// sessionRows are the account page's sessions: id -> "this browser".
func sessionRows(t *testing.T, p page) map[string]bool {
	t.Helper()
	rows := map[string]bool{}
	p.doc.Find("table.sessions-table tbody tr").Each(func(_ int, s *goquery.Selection) {
		rows[s.AttrOr("data-session", "")] = s.Find(".this-browser").Length() == 1
	})
	return rows
}

// thisSession is the id of the session the page marks "This browser".
func thisSession(t *testing.T, p page) string {
	t.Helper()
	for id, current := range sessionRows(t, p) {
		if current {
			return id
		}
	}
	t.Fatalf("no session marked this browser on %s:\n%s", p.url, p.body)
	return ""
}

// enrolTOTP switches two-factor login on for the admin logged in in b and
// returns the secret, as read back through the store and the key.
func (e *env) enrolTOTP(b *browser, adminID string) string {
	e.t.Helper()
	r := b.fetch(e.app.URL + "/admin/account/totp")
	setup := r.page
	if setup.status != http.StatusOK || setup.doc.Find(".qr svg[role=img]").Length() != 1 || r.header.Get("Cache-Control") != "no-store" {
		e.t.Fatalf("set-up page: %d Cache-Control %q, want 200 with a QR code, no-store\n%s", setup.status, r.header.Get("Cache-Control"), setup.body)
	}
	if reload := b.get(e.app.URL + "/admin/account/totp"); reload.doc.Find(".totp-secret").Text() != setup.doc.Find(".totp-secret").Text() {
		e.t.Fatal("a reload of the set-up page showed another secret")
	}
	shown := strings.ReplaceAll(setup.doc.Find(".totp-secret").Text(), " ", "")
	code, err := totp.GenerateCode(shown, e.clock.Now())
	if err != nil {
		e.t.Fatal(err)
	}
	done := b.submit(setup, "form.totp-confirm", url.Values{"code": {code}})
	if done.status != http.StatusOK || !strings.HasSuffix(done.url, "/admin/account?flash=totp_on") {
		e.t.Fatalf("confirm: %d at %s\n%s", done.status, done.url, done.body)
	}
	u := e.adminByID(adminID)
	if u.TOTPEnabledAt == nil || u.TOTPSecret == "" || strings.Contains(u.TOTPSecret, shown) {
		e.t.Fatalf("stored: on %v, secret %q: want on and sealed", u.TOTPEnabledAt, u.TOTPSecret)
	}
	secret, err := payments.OpenTOTPSecret(testTOTPKey, u.ID, u.TOTPSecret)
	if err != nil || secret != shown {
		e.t.Fatalf("stored secret opens to %q (%v), want the one shown %q", secret, err, shown)
	}
	if again := b.noFollow().fetch(e.app.URL + "/admin/account/totp"); again.status != http.StatusSeeOther ||
		strings.Contains(again.body, shown) {
		e.t.Fatalf("set-up page once on: %d, want 303 and no secret", again.status)
	}
	return secret
}

func (e *env) adminByID(id string) *store.AdminUser {
	e.t.Helper()
	for _, email := range []string{adminEmail, otherAdminEmail} {
		u, err := e.store.AdminByEmail(context.Background(), email)
		if err == nil && u.ID == id {
			return u
		}
	}
	e.t.Fatalf("no admin %s", id)
	return nil
}

const (
	otherAdminEmail    = "second@example.com"
	otherAdminPassword = "another long password"
)

func code(t *testing.T, secret string, at time.Time) string {
	t.Helper()
	c, err := totp.GenerateCode(secret, at)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// otherCode is a six-digit code that is none of the secret's codes around
// at (a wrong guess).
func otherCode(t *testing.T, secret string, at time.Time) string {
	t.Helper()
	for _, c := range []string{"000000", "111111", "222222"} {
		if c != code(t, secret, at) && c != code(t, secret, at.Add(-30*time.Second)) && c != code(t, secret, at.Add(30*time.Second)) {
			return c
		}
	}
	t.Fatal("no wrong code found")
	return ""
}

// passwordStep logs in with the password in a new browser, which an admin
// with two-factor on finishes at the code form; it returns the browser at
// that form.
func (e *env) passwordStep() (*browser, page) {
	e.t.Helper()
	b := e.browser()
	_, r := e.login(b, adminEmail, adminPassword)
	if r.status != http.StatusSeeOther || r.header.Get("Location") != "/admin/login/totp" {
		e.t.Fatalf("password step: %d to %q, want 303 to /admin/login/totp\n%s", r.status, r.header.Get("Location"), r.body)
	}
	form := b.get(e.app.URL + "/admin/login/totp")
	if form.status != http.StatusOK || form.doc.Find("form input#code").Length() != 1 {
		e.t.Fatalf("code form: %d\n%s", form.status, form.body)
	}
	return b, form
}

// TestTOTPLoginEndToEnd: two-factor set up over HTTP; a login then asks for
// the code, the half-done login opens nothing, a wrong code is refused and
// counted, the right code logs in once (replayed, it is refused), a code
// of the next step works, an unfinished login lapses after 5 minutes, and
// switching it off takes the password and a fresh code.
func TestTOTPLoginEndToEnd(t *testing.T) {
	var logs lockedBuffer
	e := newEnv(t, envOptions{logs: slog.NewTextHandler(&logs, &slog.HandlerOptions{Level: slog.LevelDebug})})
	id := e.createAdmin()
	b := e.loggedIn(adminEmail, adminPassword)
	secret := e.enrolTOTP(b, id)

	account := b.get(e.app.URL + "/admin/account")
	if got := strings.TrimSpace(account.doc.Find(".totp-status").Text()); !strings.HasPrefix(got, "On since") {
		t.Fatalf("account page says %q, want two-factor on", got)
	}
	if strings.Contains(account.body, secret) {
		t.Fatal("the account page shows the secret")
	}

	// The password alone opens nothing.
	half, form := e.passwordStep()
	goesToLogin(t, e, half, "after the password only")
	if r := half.noFollow().fetch(e.app.URL + "/admin/account"); r.status != http.StatusSeeOther {
		t.Fatalf("account page after the password only: %d, want 303", r.status)
	}

	// A wrong code: refused, marked, counted.
	wrong := half.noFollow().submitRaw(form, "form[action='/admin/login/totp']", url.Values{"code": {otherCode(t, secret, e.clock.Now())}})
	if wrong.status != http.StatusUnauthorized || wrong.doc.Find("input#code").AttrOr("aria-invalid", "") != "true" {
		t.Fatalf("wrong code: %d, want 401 with the field marked\n%s", wrong.status, wrong.body)
	}
	goesToLogin(t, e, half, "after a wrong code")
	if got := e.admin().FailedLogins; got != 1 {
		t.Fatalf("failed logins %d after a wrong code, want 1", got)
	}

	// The right code logs in.
	good := code(t, secret, e.clock.Now().Add(30*time.Second)) // one step of skew is allowed
	e.clock.Advance(30 * time.Second)                          // past the step the set-up used
	r := half.noFollow().submitRaw(form, "form[action='/admin/login/totp']", url.Values{"code": {good}})
	if r.status != http.StatusSeeOther || r.header.Get("Location") != "/admin" {
		t.Fatalf("right code: %d to %q, want 303 to /admin\n%s", r.status, r.header.Get("Location"), r.body)
	}
	opensAdmin(t, e, half, "after the right code")
	if got := e.admin().FailedLogins; got != 0 {
		t.Fatalf("failed logins %d after the login, want 0", got)
	}

	// The same code again, in another browser with the right password: refused.
	other, form2 := e.passwordStep()
	replay := other.noFollow().submitRaw(form2, "form[action='/admin/login/totp']", url.Values{"code": {good}})
	if replay.status != http.StatusUnauthorized {
		t.Fatalf("replayed code: %d, want 401", replay.status)
	}
	goesToLogin(t, e, other, "after a replayed code")
	if got := e.admin().FailedLogins; got != 1 {
		t.Fatalf("failed logins %d after a replay, want 1", got)
	}
	// The next step's code logs it in.
	e.clock.Advance(30 * time.Second)
	next := other.noFollow().submitRaw(form2, "form[action='/admin/login/totp']", url.Values{"code": {code(t, secret, e.clock.Now())}})
	if next.status != http.StatusSeeOther || next.header.Get("Location") != "/admin" {
		t.Fatalf("next code: %d to %q", next.status, next.header.Get("Location"))
	}

	// An unfinished login lapses after 5 minutes.
	late, _ := e.passwordStep()
	e.clock.Advance(payments.TOTPLoginWindow + time.Second)
	if r := late.noFollow().fetch(e.app.URL + "/admin/login/totp"); r.status != http.StatusSeeOther || r.header.Get("Location") != "/admin/login" {
		t.Fatalf("code form after 5 minutes: %d to %q, want 303 to /admin/login", r.status, r.header.Get("Location"))
	}

	// Switching off: a wrong code is marked; the password and a fresh code do it.
	e.clock.Advance(30 * time.Second)
	account = b.get(e.app.URL + "/admin/account")
	if account.status != http.StatusOK {
		t.Fatalf("account page: %d at %s", account.status, account.url)
	}
	bad := b.submit(account, "form.totp-disable", url.Values{"disable_password": {adminPassword},
		"disable_code": {otherCode(t, secret, e.clock.Now())}})
	if bad.status != http.StatusUnprocessableEntity || bad.doc.Find("input#disable_code").AttrOr("aria-invalid", "") != "true" {
		t.Fatalf("switch off with a wrong code: %d, want 422 with disable_code marked\n%s", bad.status, bad.body)
	}
	if e.admin().TOTPEnabledAt == nil {
		t.Fatal("a wrong code switched two-factor off")
	}
	off := b.submit(account, "form.totp-disable", url.Values{"disable_password": {adminPassword},
		"disable_code": {code(t, secret, e.clock.Now())}})
	if off.status != http.StatusOK || !strings.HasSuffix(off.url, "flash=totp_off") {
		t.Fatalf("switch off: %d at %s", off.status, off.url)
	}
	if u := e.admin(); u.TOTPEnabledAt != nil || u.TOTPSecret != "" {
		t.Fatalf("after switching off: on %v secret %q", u.TOTPEnabledAt, u.TOTPSecret)
	}
	e.loggedIn(adminEmail, adminPassword) // the password alone logs in again

	if text := logs.String(); !strings.Contains(text, "two-factor login switched on") || strings.Contains(text, secret) {
		t.Fatalf("the logs should say two-factor was switched on and never hold the secret:\n%s", text)
	}
}

// lockedBuffer is a log destination the app's goroutines share.
type lockedBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *lockedBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *lockedBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

// TestTOTPWrongCodesAreThrottledLikePasswords: five wrong codes from one
// client make it wait (429, Retry-After), the right code included; typing
// the password again does not reset the count.
func TestTOTPWrongCodesAreThrottledLikePasswords(t *testing.T) {
	e := newEnv(t, envOptions{})
	id := e.createAdmin()
	secret := e.enrolTOTP(e.loggedIn(adminEmail, adminPassword), id)
	e.clock.Advance(30 * time.Second)

	b, form := e.passwordStep()
	for i := range 5 {
		r := b.noFollow().submitRaw(form, "form[action='/admin/login/totp']", url.Values{"code": {otherCode(t, secret, e.clock.Now())}})
		if r.status != http.StatusUnauthorized {
			t.Fatalf("wrong code %d: %d, want 401", i+1, r.status)
		}
	}
	r := b.noFollow().submitRaw(form, "form[action='/admin/login/totp']", url.Values{"code": {code(t, secret, e.clock.Now())}})
	if r.status != http.StatusTooManyRequests || r.header.Get("Retry-After") != "1" {
		t.Fatalf("right code during the wait: %d Retry-After %q, want 429 with 1", r.status, r.header.Get("Retry-After"))
	}
	goesToLogin(t, e, b, "during the wait")
	if got := e.admin().FailedLogins; got != 5 {
		t.Fatalf("failed logins %d, want 5", got)
	}

	// After the wait the password is right again, but a sixth wrong code
	// still makes the next try wait (now 2 s): the password did not reset.
	e.clock.Advance(time.Second)
	b, form = e.passwordStep()
	if r := b.noFollow().submitRaw(form, "form[action='/admin/login/totp']", url.Values{"code": {otherCode(t, secret, e.clock.Now())}}); r.status != http.StatusUnauthorized {
		t.Fatalf("sixth wrong code: %d, want 401", r.status)
	}
	e.clock.Advance(time.Second)
	r = b.noFollow().submitRaw(form, "form[action='/admin/login/totp']", url.Values{"code": {code(t, secret, e.clock.Now())}})
	if r.status != http.StatusTooManyRequests {
		t.Fatalf("a second after the sixth wrong code: %d, want 429 (wait 2 s)", r.status)
	}
	e.clock.Advance(time.Second)
	r = b.noFollow().submitRaw(form, "form[action='/admin/login/totp']", url.Values{"code": {code(t, secret, e.clock.Now())}})
	if r.status != http.StatusSeeOther || r.header.Get("Location") != "/admin" {
		t.Fatalf("right code after the wait: %d to %q, want 303 to /admin", r.status, r.header.Get("Location"))
	}
}

// TestAdminPasswordChangeEndsOtherSessions: bad input shows the form with
// the field marked and changes nothing; the right current password and a
// good new one change it, end the admin's other sessions, and keep this
// browser logged in on a fresh session (a copy of its old cookie is dead).
func TestAdminPasswordChangeEndsOtherSessions(t *testing.T) {
	e := newEnv(t, envOptions{})
	e.createAdmin()
	e.createAdminAs(otherAdminEmail, otherAdminPassword)
	b := e.loggedIn(adminEmail, adminPassword)
	elsewhere := e.loggedIn(adminEmail, adminPassword)
	colleague := e.loggedIn(otherAdminEmail, otherAdminPassword)
	account := b.get(e.app.URL + "/admin/account")
	before := thisSession(t, account)
	oldCookie := jarCookie(t, e, b, adminCookie)

	const next = "a brand new long password"
	for _, tc := range []struct {
		name, current, next, confirm, field string
	}{
		{"wrong current password", "not the password", next, next, "current_password"},
		{"no current password", "", next, next, "current_password"},
		{"too short", adminPassword, "short", "short", "new_password"},
		{"not the same twice", adminPassword, next, next + "x", "confirm_password"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := b.submit(account, "form.password-form", url.Values{"current_password": {tc.current},
				"new_password": {tc.next}, "confirm_password": {tc.confirm}})
			if r.status != http.StatusUnprocessableEntity {
				t.Fatalf("status %d, want 422\n%s", r.status, r.body)
			}
			for _, f := range []string{"current_password", "new_password", "confirm_password"} {
				marked := r.doc.Find("input#"+f).AttrOr("aria-invalid", "") == "true"
				if marked != (f == tc.field) {
					t.Fatalf("%s marked %v, want only %s", f, marked, tc.field)
				}
			}
			if msg := r.doc.Find("#" + tc.field + "-error").Text(); strings.TrimSpace(msg) == "" {
				t.Fatalf("%s has no message", tc.field)
			}
			if got := r.doc.Find("input#"+tc.field).AttrOr("value", ""); got != "" {
				t.Fatalf("a password field echoed %q", got)
			}
		})
	}
	opensAdmin(t, e, elsewhere, "after refused changes")

	done := b.submit(account, "form.password-form", url.Values{"current_password": {adminPassword},
		"new_password": {next}, "confirm_password": {next}})
	if done.status != http.StatusOK || !strings.HasSuffix(done.url, "/admin/account?flash=password") {
		t.Fatalf("change: %d at %s\n%s", done.status, done.url, done.body)
	}
	opensAdmin(t, e, b, "this browser after the change")
	if after := thisSession(t, done); after == before {
		t.Fatal("this browser kept its session id across the password change, want a fresh one")
	}
	if rows := sessionRows(t, done); len(rows) != 1 {
		t.Fatalf("sessions after the change: %v, want this one only", rows)
	}
	goesToLogin(t, e, elsewhere, "the other browser after the change")
	opensAdmin(t, e, colleague, "another admin after the change")
	replayCookie(t, e, oldCookie, "this browser's cookie from before the change")

	if _, r := e.login(e.browser(), adminEmail, adminPassword); r.status != http.StatusUnauthorized {
		t.Fatalf("the old password: %d, want 401", r.status)
	}
	e.loggedIn(adminEmail, next)
}

// TestAdminRevokesOwnSessionNotAnothers: the account page lists the
// admin's live sessions with this browser marked; revoking another one
// sends it to the login page at its next request; another admin's session
// id is not found (404) and that session stays; logout revokes the row.
func TestAdminRevokesOwnSessionNotAnothers(t *testing.T) {
	e := newEnv(t, envOptions{})
	e.createAdmin()
	e.createAdminAs(otherAdminEmail, otherAdminPassword)
	b := e.loggedIn(adminEmail, adminPassword)
	phone := e.loggedIn(adminEmail, adminPassword)
	colleague := e.loggedIn(otherAdminEmail, otherAdminPassword)
	theirs := thisSession(t, colleague.get(e.app.URL+"/admin/account"))
	phoneID := thisSession(t, phone.get(e.app.URL+"/admin/account"))

	rowOf := func(id string) *store.AdminSession {
		t.Helper()
		s, err := e.store.AdminSessionByID(context.Background(), id)
		if err != nil {
			t.Fatal(err)
		}
		return s
	}
	account := b.get(e.app.URL + "/admin/account")
	rows := sessionRows(t, account)
	mine := thisSession(t, account)
	if len(rows) != 2 || rows[phoneID] || !rows[mine] || mine == phoneID {
		t.Fatalf("sessions %v: want this browser %s marked and the phone %s not", rows, mine, phoneID)
	}
	if _, ok := rows[theirs]; ok {
		t.Fatal("another admin's session is listed")
	}
	row := account.doc.Find("tr[data-session='" + phoneID + "']")
	if row.Find("td").Eq(2).Text() == "" || row.Find("td").Eq(3).Text() == "" {
		t.Fatalf("the phone's row has no times: %q", row.Text())
	}
	if ip, browser := row.Find("td").Eq(1).Text(), strings.TrimSpace(row.Find("td").Eq(0).Text()); ip != "127.0.0.1" || browser != "Unknown browser" {
		t.Fatalf("the phone's row: IP %q browser %q, want 127.0.0.1 and Go's client named Unknown browser", ip, browser)
	}

	// Another admin's session: 404, nothing ended.
	r := b.noFollow().post(e.app.URL+"/admin/account/sessions/"+theirs+"/revoke", url.Values{"csrf_token": {csrfToken(account)}}, nil)
	if r.status != http.StatusNotFound {
		t.Fatalf("revoke of another admin's session: %d, want 404\n%s", r.status, r.body)
	}
	opensAdmin(t, e, colleague, "the other admin after a refused revoke")
	if rowOf(theirs).RevokedAt != nil {
		t.Fatal("another admin's session row was revoked")
	}

	// Revoking the phone's session from this browser.
	if r := b.noFollow().submitRaw(account, "tr[data-session='"+phoneID+"'] form.revoke", nil); r.status != http.StatusSeeOther ||
		r.header.Get("Location") != "/admin/account?flash=revoked" {
		t.Fatalf("revoke of the phone: %d to %q, want 303 to the account page", r.status, r.header.Get("Location"))
	}
	// The phone's session ends at its next request.
	goesToLogin(t, e, phone, "the revoked phone")
	opensAdmin(t, e, b, "this browser after revoking the phone")
	if rows := sessionRows(t, b.get(e.app.URL+"/admin/account")); len(rows) != 1 || !rows[mine] {
		t.Fatalf("sessions after the revoke: %v, want this one", rows)
	}
	if rowOf(phoneID).RevokedAt == nil {
		t.Fatal("the phone's row is not revoked")
	}

	// Logout revokes this browser's row.
	out := b.get(e.app.URL + "/admin/orders")
	if lo := b.noFollow().submitRaw(out, "form.logout", nil); lo.status != http.StatusSeeOther {
		t.Fatalf("logout: %d", lo.status)
	}
	if rowOf(mine).RevokedAt == nil {
		t.Fatal("logout left its session row live")
	}
	opensAdmin(t, e, colleague, "the other admin after this one logged out")
}

// jarCookie is the value of b's cookie name.
func jarCookie(t *testing.T, e *env, b *browser, name string) *http.Cookie {
	t.Helper()
	u, err := url.Parse(e.app.URL)
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range b.c.Jar.Cookies(u) {
		if c.Name == name {
			return c
		}
	}
	t.Fatalf("no %s cookie", name)
	return nil
}

// replayCookie asserts that a copied admin cookie is sent to the login page.
func replayCookie(t *testing.T, e *env, ck *http.Cookie, what string) {
	t.Helper()
	req, err := http.NewRequest(http.MethodGet, e.app.URL+"/admin/orders", nil)
	if err != nil {
		t.Fatal(err)
	}
	req.AddCookie(&http.Cookie{Name: ck.Name, Value: ck.Value})
	c := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	resp, err := c.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusSeeOther || resp.Header.Get("Location") != "/admin/login" {
		t.Fatalf("%s: %d to %q, want 303 to /admin/login", what, resp.StatusCode, resp.Header.Get("Location"))
	}
}

// TestPasswordChangeVoidsALoginWaitingForItsCode: a login that passed the
// old password and waits for its code must start over once the password
// has changed, even with a right code.
func TestPasswordChangeVoidsALoginWaitingForItsCode(t *testing.T) {
	e := newEnv(t, envOptions{})
	id := e.createAdmin()
	b := e.loggedIn(adminEmail, adminPassword)
	secret := e.enrolTOTP(b, id)
	e.clock.Advance(30 * time.Second)
	waiting, form := e.passwordStep()

	const next = "the new long password"
	done := b.submit(b.get(e.app.URL+"/admin/account"), "form.password-form", url.Values{"current_password": {adminPassword},
		"current_code": {code(t, secret, e.clock.Now())}, "new_password": {next}, "confirm_password": {next}})
	if !strings.HasSuffix(done.url, "flash=password") {
		t.Fatalf("change: %d at %s", done.status, done.url)
	}
	r := waiting.noFollow().submitRaw(form, "form[action='/admin/login/totp']", url.Values{"code": {code(t, secret, e.clock.Now())}})
	if r.status != http.StatusSeeOther || r.header.Get("Location") != "/admin/login" {
		t.Fatalf("code after the password changed: %d to %q, want 303 to /admin/login", r.status, r.header.Get("Location"))
	}
	goesToLogin(t, e, waiting, "the login that waited for its code")
	opensAdmin(t, e, b, "the browser that changed the password")
}

// TestPasswordChangeWithTwoFactorOnAsksForACode: with two-factor on, the
// password form asks for a code from the app too; sent without one (a
// session and the password alone) it is refused with the code field
// marked, and with a current code the password changes.
func TestPasswordChangeWithTwoFactorOnAsksForACode(t *testing.T) {
	e := newEnv(t, envOptions{})
	id := e.createAdmin()
	b := e.loggedIn(adminEmail, adminPassword)
	if account := b.get(e.app.URL + "/admin/account"); account.doc.Find("form.password-form input#current_code").Length() != 0 {
		t.Fatal("the password form asks for a code with two-factor off")
	}
	secret := e.enrolTOTP(b, id)
	e.clock.Advance(30 * time.Second)
	account := b.get(e.app.URL + "/admin/account")
	if account.doc.Find("form.password-form input#current_code").Length() != 1 {
		t.Fatalf("the password form has no code field with two-factor on\n%s", account.body)
	}
	const next = "a brand new long password"
	r := b.submit(account, "form.password-form", url.Values{"current_password": {adminPassword},
		"new_password": {next}, "confirm_password": {next}})
	if r.status != http.StatusUnprocessableEntity || r.doc.Find("input#current_code").AttrOr("aria-invalid", "") != "true" {
		t.Fatalf("no code: %d, want 422 with current_code marked\n%s", r.status, r.body)
	}
	done := b.submit(account, "form.password-form", url.Values{"current_password": {adminPassword},
		"current_code": {code(t, secret, e.clock.Now())}, "new_password": {next}, "confirm_password": {next}})
	if !strings.HasSuffix(done.url, "/admin/account?flash=password") {
		t.Fatalf("change with a code: %d at %s", done.status, done.url)
	}
}
