package payments

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/pquerna/otp/totp"

	"checkout/store"
)

var testTOTPKey = []byte("0123456789abcdef0123456789abcdef")

func TestTOTPSecretIsSealedForOneAdminUnderOneKey(t *testing.T) {
	sealed, err := SealTOTPSecret(testTOTPKey, "adm_1", "JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP")
	if err != nil {
		t.Fatal(err)
	}
	if strings.Contains(sealed, "JBSWY3DP") || !strings.HasPrefix(sealed, "v1.") {
		t.Fatalf("sealed = %q: want v1. and no plain secret", sealed)
	}
	again, _ := SealTOTPSecret(testTOTPKey, "adm_1", "JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP")
	if again == sealed {
		t.Fatal("two seals of one secret are equal: the nonce is not fresh")
	}
	if got, err := OpenTOTPSecret(testTOTPKey, "adm_1", sealed); err != nil || got != "JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP" {
		t.Fatalf("open = %q, %v", got, err)
	}
	other := []byte("fedcba9876543210fedcba9876543210")
	for name, open := range map[string]func() (string, error){
		"another admin's row": func() (string, error) { return OpenTOTPSecret(testTOTPKey, "adm_2", sealed) },
		"another key":         func() (string, error) { return OpenTOTPSecret(other, "adm_1", sealed) },
		"altered":             func() (string, error) { return OpenTOTPSecret(testTOTPKey, "adm_1", sealed[:len(sealed)-2]+"AA") },
		"no key":              func() (string, error) { return OpenTOTPSecret(nil, "adm_1", sealed) },
	} {
		if got, err := open(); err == nil || got != "" {
			t.Errorf("%s: opened %q, want an error", name, got)
		}
	}
}

// TestTOTPEnableLoginAndDisable: a secret is switched on only by a current
// code, whose step cannot then log in; a code logs in once; a code one step
// away is taken, two steps away is not; wrong codes count as failed logins;
// disabling takes the password and a fresh code.
func TestTOTPEnableLoginAndDisable(t *testing.T) {
	e := newAdminEnvWith(t, Config{TOTPKey: testTOTPKey})
	ctx := context.Background()
	en, err := e.svc.NewTOTPEnrolment(ctx, testAdminEmail)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(en.URL, "otpauth://totp/") || !strings.Contains(en.URL, "secret="+en.Secret) ||
		!strings.Contains(en.URL, "issuer=Checkout") {
		t.Fatalf("enrolment URL %q", en.URL)
	}
	if again, err := e.svc.TOTPEnrolmentOf(testAdminEmail, en.Secret); err != nil || again != en {
		t.Fatalf("TOTPEnrolmentOf = %+v, %v; want %+v", again, err, en)
	}
	code := func(at time.Time) string {
		t.Helper()
		c, err := totp.GenerateCode(en.Secret, at)
		if err != nil {
			t.Fatal(err)
		}
		return c
	}
	now := e.svc.Now()
	var fe *FieldError
	wrong := "000000"
	if code(now) == wrong || code(now.Add(-totpPeriod*time.Second)) == wrong || code(now.Add(totpPeriod*time.Second)) == wrong {
		wrong = "111111"
	}
	if err := e.svc.EnableTOTP(ctx, testAdminEmail, en.Secret, wrong); !errors.As(err, &fe) || fe.Field != "code" {
		t.Fatalf("enable with a wrong code: %v, want a FieldError on code", err)
	}
	if u, _ := e.st.AdminByEmail(ctx, testAdminEmail); u.TOTPEnabledAt != nil {
		t.Fatal("a wrong code switched two-factor login on")
	}
	enrolCode := code(now)
	if err := e.svc.EnableTOTP(ctx, testAdminEmail, en.Secret, enrolCode); err != nil {
		t.Fatal(err)
	}
	u, err := e.st.AdminByEmail(ctx, testAdminEmail)
	if err != nil {
		t.Fatal(err)
	}
	if u.TOTPEnabledAt == nil || u.TOTPSecret == "" || strings.Contains(u.TOTPSecret, en.Secret) {
		t.Fatalf("stored: enabled %v secret %q: want on, sealed", u.TOTPEnabledAt, u.TOTPSecret)
	}
	if _, err := e.svc.NewTOTPEnrolment(ctx, testAdminEmail); !errors.Is(err, ErrTOTPOn) {
		t.Fatalf("a second enrolment: %v, want ErrTOTPOn", err)
	}

	// The code that switched it on does not log in.
	if _, ok, err := e.svc.LoginTOTP(ctx, testAdminEmail, u.SessionEpoch, enrolCode, "192.0.2.9"); ok || err != nil {
		t.Fatalf("login with the enrolment code: ok %v err %v, want refused", ok, err)
	}
	// The next step's code logs in once, given a step early (skew).
	e.clock.add(totpPeriod * time.Second)
	next := code(e.svc.Now().Add(totpPeriod * time.Second))
	if got, ok, err := e.svc.LoginTOTP(ctx, testAdminEmail, u.SessionEpoch, next[:3]+" "+next[3:], "192.0.2.9"); !ok || err != nil || got.ID != u.ID {
		t.Fatalf("login with the next code: ok %v err %v", ok, err)
	}
	if _, ok, err := e.svc.LoginTOTP(ctx, testAdminEmail, u.SessionEpoch, next, "192.0.2.9"); ok || err != nil {
		t.Fatalf("the same code again: ok %v err %v, want refused", ok, err)
	}
	// Two steps ahead is too far.
	if _, ok, _ := e.svc.LoginTOTP(ctx, testAdminEmail, u.SessionEpoch, code(e.svc.Now().Add(3*totpPeriod*time.Second)), "192.0.2.9"); ok {
		t.Fatal("a code two steps ahead logged in")
	}
	if u, _ := e.st.AdminByEmail(ctx, testAdminEmail); u.FailedLogins != 2 {
		t.Fatalf("failed logins %d, want 2 (the replay and the far code; the good login cleared the enrolment code's)", u.FailedLogins)
	}
	// An old epoch (sessions ended meanwhile) starts over.
	if _, _, err := e.svc.LoginTOTP(ctx, testAdminEmail, u.SessionEpoch+1, code(e.svc.Now()), "192.0.2.9"); !errors.Is(err, ErrTOTPOff) {
		t.Fatalf("login of an old epoch: %v, want ErrTOTPOff", err)
	}

	// Disable: the password and a current, unused code.
	e.clock.add(2 * totpPeriod * time.Second) // past the step the login used
	cur := code(e.svc.Now())
	if err := e.svc.DisableTOTP(ctx, testAdminEmail, "wrong password", cur, "192.0.2.10"); !errors.As(err, &fe) || fe.Field != "password" {
		t.Fatalf("disable with a wrong password: %v", err)
	}
	if err := e.svc.DisableTOTP(ctx, testAdminEmail, testAdminPassword, next, "192.0.2.10"); !errors.As(err, &fe) || fe.Field != "code" {
		t.Fatalf("disable with a used code: %v", err)
	}
	if err := e.svc.DisableTOTP(ctx, testAdminEmail, testAdminPassword, cur, "192.0.2.10"); err != nil {
		t.Fatal(err)
	}
	if u, _ := e.st.AdminByEmail(ctx, testAdminEmail); u.TOTPEnabledAt != nil || u.TOTPSecret != "" {
		t.Fatalf("after disable: enabled %v secret %q", u.TOTPEnabledAt, u.TOTPSecret)
	}
	if err := e.svc.DisableTOTP(ctx, testAdminEmail, testAdminPassword, cur, "192.0.2.10"); !errors.Is(err, ErrTOTPOff) {
		t.Fatalf("disable twice: %v, want ErrTOTPOff", err)
	}
}

func TestTOTPUnavailableWithoutAKey(t *testing.T) {
	e := newAdminEnv(t)
	if _, err := e.svc.NewTOTPEnrolment(context.Background(), testAdminEmail); !errors.Is(err, ErrTOTPUnavailable) {
		t.Fatalf("enrolment without a key: %v, want ErrTOTPUnavailable", err)
	}
}

func TestChangePasswordChecksTheCurrentOneAndTheNewOneAndEndsEverySession(t *testing.T) {
	e := newAdminEnv(t)
	ctx := context.Background()
	u, err := e.st.AdminByEmail(ctx, testAdminEmail)
	if err != nil {
		t.Fatal(err)
	}
	tokA, err := e.svc.StartAdminSession(ctx, u, "", "")
	if err != nil {
		t.Fatal(err)
	}
	const next = "a much longer new password"
	for _, tc := range []struct {
		name, current, next, confirm, field string
	}{
		{"no current password", "", next, next, "current_password"},
		{"too short", testAdminPassword, "short", "short", "new_password"},
		{"not confirmed", testAdminPassword, next, next + "!", "confirm_password"},
		{"wrong current password", "not it", next, next, "current_password"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var fe *FieldError
			if err := e.svc.ChangePassword(ctx, testAdminEmail, tc.current, "", tc.next, tc.confirm, "192.0.2.3"); !errors.As(err, &fe) || fe.Field != tc.field {
				t.Fatalf("err %v, want a FieldError on %s", err, tc.field)
			}
			if got, _ := e.st.AdminByEmail(ctx, testAdminEmail); got.PasswordHash != u.PasswordHash {
				t.Fatal("the password changed")
			}
		})
	}
	if got, _ := e.st.AdminByEmail(ctx, testAdminEmail); got.FailedLogins != 1 {
		t.Fatalf("failed logins %d, want 1 (only the wrong current password is a guess)", got.FailedLogins)
	}
	if err := e.svc.ChangePassword(ctx, testAdminEmail, testAdminPassword, "", next, next, "192.0.2.3"); err != nil {
		t.Fatal(err)
	}
	if _, ok, err := e.svc.Login(ctx, testAdminEmail, next, "192.0.2.4"); !ok || err != nil {
		t.Fatalf("login with the new password: %v %v", ok, err)
	}
	if _, ok, _ := e.svc.Login(ctx, testAdminEmail, testAdminPassword, "192.0.2.4"); ok {
		t.Fatal("the old password still logs in")
	}
	if got, _, err := e.svc.AdminSession(ctx, testAdminEmail, e.svc.Now().Unix(), u.SessionEpoch, tokA); got != nil || err != nil {
		t.Fatalf("a session from before the change is live %v (err %v)", got != nil, err)
	}
	row, err := e.st.AdminSessionByID(ctx, store.AdminSessionID(tokA))
	if err != nil || row.RevokedAt == nil {
		t.Fatalf("the old session's row: %+v %v, want revoked", row, err)
	}
}
