package web_test

import (
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"
)

// xffTransport sends every request as if from client ip, through a proxy
// the engine trusts.
type xffTransport struct{ ip string }

func (x xffTransport) RoundTrip(r *http.Request) (*http.Response, error) {
	r = r.Clone(r.Context())
	r.Header.Set("X-Forwarded-For", x.ip)
	return http.DefaultTransport.RoundTrip(r)
}

// TestTOTPCodeGuessesForOneAccountAreBounded: someone who holds an
// admin's password (the case two-factor exists for) guesses the six-digit
// code from many addresses. Each address gets its 5 free failures, and
// nothing counts the account's failures, so 100 wrong codes in a row for
// one account go through without a single wait. A code has 1 in 333,333
// odds per guess (three steps accepted), so the guesses per account must be
// bounded whatever the number of addresses.
func TestTOTPCodeGuessesForOneAccountAreBounded(t *testing.T) {
	e := newEnv(t, envOptions{trustedProxies: []string{"127.0.0.1/32", "::1/128"}})
	id := e.createAdmin()
	secret := e.enrolTOTP(e.loggedIn(adminEmail, adminPassword), id)
	e.clock.Advance(30 * time.Second)

	wrong, refused := 0, 0
	for i := range 20 {
		b := e.browser()
		b.c.Transport = xffTransport{ip: fmt.Sprintf("203.0.113.%d", i+1)}
		_, r := e.login(b, adminEmail, adminPassword)
		if r.status != http.StatusSeeOther || r.header.Get("Location") != "/admin/login/totp" {
			t.Fatalf("password step from client %d: %d to %q", i, r.status, r.header.Get("Location"))
		}
		form := b.get(e.app.URL + "/admin/login/totp")
		for range 5 {
			r := b.noFollow().submitRaw(form, "form[action='/admin/login/totp']", url.Values{"code": {otherCode(t, secret, e.clock.Now())}})
			switch r.status {
			case http.StatusUnauthorized:
				wrong++
			case http.StatusTooManyRequests:
				refused++
			default:
				t.Fatalf("wrong code from client %d: %d", i, r.status)
			}
		}
	}
	if refused == 0 {
		t.Fatalf("%d wrong codes for one account from 20 addresses in a row, none refused (the account has %d failed logins)",
			wrong, e.admin().FailedLogins)
	}
}

// TestTOTPCodesAreLimitedPerAddress: POST /admin/login/totp has a bucket
// per client address like the password's: past its burst, a code is
// refused before it is looked at (each code costs a read and a write).
func TestTOTPCodesAreLimitedPerAddress(t *testing.T) {
	e := newEnv(t, envOptions{})
	id := e.createAdmin()
	secret := e.enrolTOTP(e.loggedIn(adminEmail, adminPassword), id)
	e.clock.Advance(30 * time.Second)
	b := e.browser()
	if _, r := e.login(b, adminEmail, adminPassword); r.status != http.StatusSeeOther {
		t.Fatalf("password step: %d", r.status)
	}
	form := b.get(e.app.URL + "/admin/login/totp")
	var last reply
	for range 11 {
		last = b.noFollow().submitRaw(form, "form[action='/admin/login/totp']", url.Values{"code": {otherCode(t, secret, e.clock.Now())}})
	}
	if last.status != http.StatusTooManyRequests || !strings.Contains(last.body, "Too many codes from your network") {
		t.Fatalf("the 11th code from one address: %d %q, want 429 from the address's limit", last.status, last.doc.Find(".error, [role=alert]").Text())
	}
}
