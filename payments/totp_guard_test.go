package payments

import (
	"context"
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/pquerna/otp/totp"
)

// enableTOTPFor switches two-factor login on for the test admin and
// returns the secret; the clock is then past the enrolment code's step.
func enableTOTPFor(t *testing.T, e *adminEnv) string {
	t.Helper()
	ctx := context.Background()
	en, err := e.svc.NewTOTPEnrolment(ctx, testAdminEmail)
	if err != nil {
		t.Fatal(err)
	}
	c, err := totp.GenerateCode(en.Secret, e.svc.Now())
	if err != nil {
		t.Fatal(err)
	}
	if err := e.svc.EnableTOTP(ctx, testAdminEmail, en.Secret, c); err != nil {
		t.Fatal(err)
	}
	e.clock.add(2 * totpPeriod * time.Second)
	return en.Secret
}

// wrongTOTPCode is a six-digit code that no accepted step (now, one either
// side) has.
func wrongTOTPCode(t *testing.T, secret string, now time.Time) string {
	t.Helper()
	for i := range 10 {
		w := fmt.Sprintf("%06d", i*111111)
		if _, ok := totpStep(secret, w, now); !ok {
			return w
		}
	}
	t.Fatal("no wrong code found")
	return ""
}

// TestWrongCodesForOneAccountWaitWhateverTheClient: wrong two-factor codes
// are counted per account across every client. Past codeFreeFailures,
// every code for the account waits (also the right one, from a clean
// address), a right password does not clear the count, the waits double
// and never exceed maxLoginWait, and after a wait the right code logs in
// and clears the count.
func TestWrongCodesForOneAccountWaitWhateverTheClient(t *testing.T) {
	e := newAdminEnvWith(t, Config{TOTPKey: testTOTPKey})
	ctx := context.Background()
	secret := enableTOTPFor(t, e)
	u, err := e.st.AdminByEmail(ctx, testAdminEmail)
	if err != nil {
		t.Fatal(err)
	}
	ip := 0
	nextIP := func() string { ip++; return fmt.Sprintf("203.0.113.%d", ip) }
	for i := range codeFreeFailures {
		if _, ok, err := e.svc.LoginTOTP(ctx, testAdminEmail, u.SessionEpoch, wrongTOTPCode(t, secret, e.svc.Now()), nextIP()); ok || err != nil {
			t.Fatalf("wrong code %d from a fresh address: ok %v err %v, want refused without a wait", i+1, ok, err)
		}
	}
	right := func() string {
		c, err := totp.GenerateCode(secret, e.svc.Now())
		if err != nil {
			t.Fatal(err)
		}
		return c
	}
	_, ok, err := e.svc.LoginTOTP(ctx, testAdminEmail, u.SessionEpoch, right(), nextIP())
	if lw := waitErr(t, "a code past the account's free failures", err); ok || !lw.Account || lw.RetryAfter != time.Second {
		t.Fatalf("a code past the free failures: ok %v %+v, want the account's 1 s wait", ok, lw)
	}
	// The password step is not held up, and a right password does not
	// buy more codes.
	if _, ok, err := e.svc.Login(ctx, testAdminEmail, testAdminPassword, nextIP()); !ok || err != nil {
		t.Fatalf("the right password meanwhile: ok %v err %v", ok, err)
	}
	if _, _, err := e.svc.LoginTOTP(ctx, testAdminEmail, u.SessionEpoch, right(), nextIP()); !waitErr(t, "a code after a right password", err).Account {
		t.Fatalf("a code after a right password: %v, want the account's wait", err)
	}
	// Someone keeps guessing as soon as each wait ends: the waits double,
	// bounded by maxLoginWait.
	last := time.Duration(0)
	for i := range 20 {
		_, _, err := e.svc.LoginTOTP(ctx, testAdminEmail, u.SessionEpoch, right(), nextIP())
		lw := waitErr(t, "guess during a wait", err)
		if lw.RetryAfter > maxLoginWait || lw.RetryAfter < last {
			t.Fatalf("wait %d: %s after %s, want doubling up to %s", i, lw.RetryAfter, last, maxLoginWait)
		}
		last = lw.RetryAfter
		e.clock.add(lw.RetryAfter)
		if _, ok, err := e.svc.LoginTOTP(ctx, testAdminEmail, u.SessionEpoch, wrongTOTPCode(t, secret, e.svc.Now()), nextIP()); ok || err != nil {
			t.Fatalf("wrong code %d once the wait ended: ok %v err %v, want refused and counted", i, ok, err)
		}
	}
	if last != maxLoginWait {
		t.Fatalf("the wait reached %s, want the cap %s", last, maxLoginWait)
	}
	// Once the wait ends, the admin's right code logs in and clears the
	// account's count: the next wrong code waits for nothing.
	e.clock.add(maxLoginWait + totpPeriod*time.Second)
	if got, ok, err := e.svc.LoginTOTP(ctx, testAdminEmail, u.SessionEpoch, right(), nextIP()); !ok || err != nil || got.ID != u.ID {
		t.Fatalf("the right code after the wait: ok %v err %v", ok, err)
	}
	if _, ok, err := e.svc.LoginTOTP(ctx, testAdminEmail, u.SessionEpoch, wrongTOTPCode(t, secret, e.svc.Now()), nextIP()); ok || err != nil {
		t.Fatalf("a wrong code after a login: ok %v err %v, want refused without a wait", ok, err)
	}
}

// TestPasswordChangeWithTwoFactorOnTakesACurrentCode: with two-factor on,
// the password and a session are not enough to change the password: a
// current, unused code is needed too (none, or a wrong one, is a field
// error on current_code and changes nothing).
func TestPasswordChangeWithTwoFactorOnTakesACurrentCode(t *testing.T) {
	e := newAdminEnvWith(t, Config{TOTPKey: testTOTPKey})
	ctx := context.Background()
	secret := enableTOTPFor(t, e)
	const next = "a brand new long password"
	before, err := e.st.AdminByEmail(ctx, testAdminEmail)
	if err != nil {
		t.Fatal(err)
	}
	for name, code := range map[string]string{"no code": "", "a wrong code": wrongTOTPCode(t, secret, e.svc.Now())} {
		var fe *FieldError
		if err := e.svc.ChangePassword(ctx, testAdminEmail, testAdminPassword, code, next, next, "192.0.2.3"); !errors.As(err, &fe) || fe.Field != "current_code" {
			t.Fatalf("%s: %v, want a field error on current_code", name, err)
		}
		if u, _ := e.st.AdminByEmail(ctx, testAdminEmail); u.PasswordHash != before.PasswordHash {
			t.Fatalf("%s changed the password", name)
		}
	}
	right, err := totp.GenerateCode(secret, e.svc.Now())
	if err != nil {
		t.Fatal(err)
	}
	if err := e.svc.ChangePassword(ctx, testAdminEmail, testAdminPassword, right, next, next, "192.0.2.3"); err != nil {
		t.Fatalf("with a current code: %v", err)
	}
	if u, _ := e.st.AdminByEmail(ctx, testAdminEmail); u.PasswordHash == before.PasswordHash {
		t.Fatal("the password did not change")
	}
}
