package payments

import (
	"context"
	"crypto/aes"
	"crypto/cipher"
	"crypto/rand"
	"crypto/subtle"
	"encoding/base32"
	"encoding/base64"
	"errors"
	"fmt"
	"net/url"
	"strings"
	"time"

	"github.com/pquerna/otp"
	"github.com/pquerna/otp/totp"

	"checkout/store"
)

// Two-factor login with time-based one-time codes (RFC 6238: six digits,
// SHA-1, 30 s steps, what every authenticator app reads). The secret is
// made here, shown once as a QR code of its otpauth URL and as text, and
// stored sealed (AES-256-GCM under Config.TOTPKey, derived from
// CHECKOUT_SECRET): the database alone opens nothing.
const (
	totpPeriod = 30
	// totpSkew is how many steps either side of now a code may be from:
	// one, for a phone's clock that is a little off.
	totpSkew = 1
	// TOTPLoginWindow is how long a login that passed its password may
	// wait for its code.
	TOTPLoginWindow = 5 * time.Minute
	// TOTPEnrolmentWindow is how long a secret being set up (not yet
	// confirmed by a code) is kept for its admin.
	TOTPEnrolmentWindow = 15 * time.Minute
	totpSealPrefix      = "v1."
)

var totpOpts = totp.ValidateOpts{Period: totpPeriod, Digits: otp.DigitsSix, Algorithm: otp.AlgorithmSHA1}

// Errors of two-factor login.
var (
	// ErrTOTPUnavailable: the service has no key to seal secrets with.
	ErrTOTPUnavailable = errors.New("two-factor login is not available on this server")
	// ErrTOTPOn: two-factor login is on already.
	ErrTOTPOn = errors.New("two-factor login is already on")
	// ErrTOTPOff: two-factor login is not on.
	ErrTOTPOff = errors.New("two-factor login is not on")
)

// TOTPEnrolment is a secret being set up: the secret (base32, as apps take
// it typed) and its otpauth URL (what the QR code holds).
type TOTPEnrolment struct {
	Secret string
	URL    string
}

// TOTPAvailable reports whether two-factor login can be switched on.
func (s *Service) TOTPAvailable() bool { return len(s.cfg.TOTPKey) == 32 }

// NewTOTPEnrolment makes a fresh secret for the admin to set up. Nothing
// is stored: the caller keeps it in the admin's session until a code
// confirms it (EnableTOTP).
func (s *Service) NewTOTPEnrolment(ctx context.Context, email string) (TOTPEnrolment, error) {
	if !s.TOTPAvailable() {
		return TOTPEnrolment{}, ErrTOTPUnavailable
	}
	u, err := s.st.AdminByEmail(ctx, email)
	if err != nil {
		return TOTPEnrolment{}, err
	}
	if u.TOTPEnabledAt != nil {
		return TOTPEnrolment{}, ErrTOTPOn
	}
	key, err := totp.Generate(totp.GenerateOpts{Issuer: s.totpIssuer(), AccountName: u.Email, Period: totpPeriod,
		SecretSize: 20, Digits: otp.DigitsSix, Algorithm: otp.AlgorithmSHA1, Rand: rand.Reader})
	if err != nil {
		return TOTPEnrolment{}, fmt.Errorf("payments: make a two-factor secret: %w", err)
	}
	return TOTPEnrolment{Secret: key.Secret(), URL: key.URL()}, nil
}

// TOTPEnrolmentOf rebuilds the enrolment of a secret made by
// NewTOTPEnrolment (kept in the session between the page and its form).
func (s *Service) TOTPEnrolmentOf(email, secret string) (TOTPEnrolment, error) {
	raw, err := base32.StdEncoding.WithPadding(base32.NoPadding).DecodeString(secret)
	if err != nil || len(raw) != 20 {
		return TOTPEnrolment{}, errors.New("payments: not a two-factor secret")
	}
	key, err := totp.Generate(totp.GenerateOpts{Issuer: s.totpIssuer(), AccountName: email, Period: totpPeriod,
		Secret: raw, Digits: otp.DigitsSix, Algorithm: otp.AlgorithmSHA1})
	if err != nil {
		return TOTPEnrolment{}, fmt.Errorf("payments: two-factor URL: %w", err)
	}
	return TOTPEnrolment{Secret: key.Secret(), URL: key.URL()}, nil
}

// totpIssuer names this app in the authenticator: "Checkout" and the
// public host, so two instances (test and live) are told apart.
func (s *Service) totpIssuer() string {
	if u, err := url.Parse(s.cfg.PublicURL); err == nil && u.Host != "" {
		return "Checkout " + u.Host
	}
	return "Checkout"
}

// EnableTOTP switches two-factor login on with secret, once code is a
// current code of it (a *FieldError on "code" otherwise). The code's time
// step is recorded as used, so it cannot also log in.
func (s *Service) EnableTOTP(ctx context.Context, email, secret, code string) error {
	if !s.TOTPAvailable() {
		return ErrTOTPUnavailable
	}
	u, err := s.st.AdminByEmail(ctx, email)
	if err != nil {
		return err
	}
	if u.TOTPEnabledAt != nil {
		return ErrTOTPOn
	}
	step, ok := totpStep(secret, code, s.now())
	if !ok {
		return invalid("code", "That code is not right. Enter the 6 digits the app shows now.")
	}
	sealed, err := SealTOTPSecret(s.cfg.TOTPKey, u.ID, secret)
	if err != nil {
		return err
	}
	if err := s.st.EnableTOTP(ctx, u.ID, sealed, step); err != nil {
		if errors.Is(err, store.ErrConflict) {
			return ErrTOTPOn
		}
		return err
	}
	s.log.InfoContext(ctx, "two-factor login switched on", "admin", u.Email)
	return nil
}

// DisableTOTP switches two-factor login off, once password is the admin's
// and code a current code (each a *FieldError when wrong, each counted as
// a failed login from ip).
func (s *Service) DisableTOTP(ctx context.Context, email, password, code, ip string) error {
	u, err := s.st.AdminByEmail(ctx, email)
	if err != nil {
		return err
	}
	if u.TOTPEnabledAt == nil {
		return ErrTOTPOff
	}
	switch {
	case password == "":
		return &FieldError{Code: "required", Field: "password", Message: "Enter your password."}
	case strings.TrimSpace(code) == "":
		return &FieldError{Code: "required", Field: "code", Message: "Enter the code from your app."}
	}
	ok, err := s.checkPassword(ctx, u, password, ip)
	if err != nil {
		return err
	}
	if !ok {
		return invalid("password", "That is not your password.")
	}
	if ok, err = s.checkCode(ctx, u, code, ip); err != nil {
		return err
	}
	if !ok {
		return invalid("code", "That code is not right, or was used already. Enter the code the app shows now.")
	}
	if err := s.st.DisableTOTP(ctx, u.ID); err != nil {
		return err
	}
	s.log.InfoContext(ctx, "two-factor login switched off", "admin", u.Email)
	return nil
}

// LoginTOTP is the second step of a login with two-factor login on: the
// admin (email, whose password was right while its session epoch was
// epoch) sends code from ip. ok is false for a wrong or already used
// code, counted as a failed login; a *LoginWaitError refuses it before the
// code is looked at, as for passwords. A login whose admin has since
// switched two-factor off, or ended its sessions, must start over:
// ErrTOTPOff.
func (s *Service) LoginTOTP(ctx context.Context, email string, epoch int64, code, ip string) (u *AdminUser, ok bool, err error) {
	u, err = s.st.AdminByEmail(ctx, email)
	if err != nil {
		return nil, false, err
	}
	if u.TOTPEnabledAt == nil || u.SessionEpoch != epoch {
		return nil, false, ErrTOTPOff
	}
	if ok, err = s.checkCode(ctx, u, code, ip); err != nil || !ok {
		return nil, false, err
	}
	return u, true, s.st.ResetLoginFailures(ctx, u.ID)
}

// checkCode checks a code against the admin's secret under the login
// throttle, and the account's own count of wrong codes from every client
// (admitCode): a code of a step at or before the last one accepted is refused
// (each code logs in once), and the step is taken by one guarded write, so
// of two requests sending one code only one passes.
func (s *Service) checkCode(ctx context.Context, u *AdminUser, code, ip string) (ok bool, err error) {
	try, err := s.login.admitCode(u.ID, u.Email, ip, s.now())
	if err != nil {
		return false, err
	}
	checked := false
	defer func() {
		if !checked {
			try.cancel(s.now())
			return
		}
		try.end(ok, s.now())
	}()
	secret, err := OpenTOTPSecret(s.cfg.TOTPKey, u.ID, u.TOTPSecret)
	if err != nil {
		return false, err
	}
	step, match := totpStep(secret, code, s.now())
	if match && step > u.TOTPLastStep {
		if ok, err = s.st.UseTOTPStep(ctx, u.ID, step); err != nil {
			return false, err
		}
	}
	checked = true
	if !ok {
		s.log.WarnContext(ctx, "admin two-factor code refused", "admin", u.Email, "ip", ip, "replayed", match,
			"failures", u.FailedLogins+1)
		return false, s.st.RecordLoginFailure(ctx, u.ID)
	}
	return true, nil
}

// totpStep finds the time step, now or one either side, whose code is
// code; spaces in what was typed are ignored. Each candidate is made by
// the library and compared in constant time.
func totpStep(secret, code string, now time.Time) (int64, bool) {
	code = strings.ReplaceAll(strings.TrimSpace(code), " ", "")
	if len(code) != 6 || strings.Trim(code, "0123456789") != "" {
		return 0, false
	}
	cur := now.Unix() / totpPeriod
	for d := int64(-totpSkew); d <= totpSkew; d++ {
		step := cur + d
		want, err := totp.GenerateCodeCustom(secret, time.Unix(step*totpPeriod, 0), totpOpts)
		if err == nil && subtle.ConstantTimeCompare([]byte(want), []byte(code)) == 1 {
			return step, true
		}
	}
	return 0, false
}

// SealTOTPSecret encrypts an admin's secret for storage: AES-256-GCM under
// key, bound to the admin's id (a sealed secret copied to another admin's
// row does not open).
func SealTOTPSecret(key []byte, adminID, secret string) (string, error) {
	aead, err := totpAEAD(key)
	if err != nil {
		return "", err
	}
	nonce := make([]byte, aead.NonceSize())
	rand.Read(nonce) // never fails: the runtime stops the program if it cannot read
	out := aead.Seal(nonce, nonce, []byte(secret), []byte("totp:"+adminID))
	return totpSealPrefix + base64.RawURLEncoding.EncodeToString(out), nil
}

// OpenTOTPSecret decrypts what SealTOTPSecret made for the admin.
func OpenTOTPSecret(key []byte, adminID, sealed string) (string, error) {
	aead, err := totpAEAD(key)
	if err != nil {
		return "", err
	}
	raw, err := base64.RawURLEncoding.DecodeString(strings.TrimPrefix(sealed, totpSealPrefix))
	if err != nil || !strings.HasPrefix(sealed, totpSealPrefix) || len(raw) < aead.NonceSize() {
		return "", errors.New("payments: the stored two-factor secret is malformed")
	}
	plain, err := aead.Open(nil, raw[:aead.NonceSize()], raw[aead.NonceSize():], []byte("totp:"+adminID))
	if err != nil {
		// A changed CHECKOUT_SECRET derives another key.
		return "", errors.New("payments: the stored two-factor secret does not open with this server's key (was CHECKOUT_SECRET changed?)")
	}
	return string(plain), nil
}

func totpAEAD(key []byte) (cipher.AEAD, error) {
	if len(key) != 32 {
		return nil, ErrTOTPUnavailable
	}
	block, err := aes.NewCipher(key)
	if err != nil {
		return nil, fmt.Errorf("payments: two-factor key: %w", err)
	}
	return cipher.NewGCM(block)
}
