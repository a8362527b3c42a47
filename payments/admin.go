package payments

import (
	"context"
	"errors"
	"strings"
	"time"

	"checkout/store"
)

// AdminUser is an admin who logs in to the order pages.
type AdminUser = store.AdminUser

// AdminIdle is how long an admin session lives without a request.
const AdminIdle = 30 * time.Minute

// Login checks an admin's email and password, tried from client address ip
// (as the web layer decides it). ok is false for a wrong email or password,
// with no hint which. A *LoginWaitError refuses the try before any password
// is checked: this client (the email from this address, or this address
// across emails) has failed too often and must wait, or too many checks are
// running. The right password is never refused to a client that has not been
// failing, however many wrong guesses others make at the same account.
//
// An unknown email costs a real hash check, and is throttled like a known
// one, so neither timing nor throttling tells which emails exist. The
// account's own failure count is kept as a record (and for the log); it no
// longer delays anyone.
//
// For an admin with two-factor login on (u.TOTPEnabledAt set), ok means
// only that the password was right: the login is done by LoginTOTP.
func (s *Service) Login(ctx context.Context, email, password, ip string) (u *AdminUser, ok bool, err error) {
	email = strings.ToLower(strings.TrimSpace(email))
	try, err := s.login.admit(email, ip, s.now())
	if err != nil {
		return nil, false, err
	}
	checked := false
	defer func() {
		// A right password of an admin with two-factor login on is only
		// half a login: it neither counts as a failure nor clears this
		// client's failures, which its wrong codes go on adding to
		// (checkCode), so that typing the password again does not buy
		// more free guesses at the code.
		if !checked || (ok && u.TOTPEnabledAt != nil) {
			try.cancel(s.now())
			return
		}
		try.end(ok, s.now())
	}()
	u, err = s.st.AdminByEmail(ctx, email)
	if err != nil && !errors.Is(err, store.ErrNotFound) {
		return nil, false, err
	}
	// An admin removed from the team is an unknown email: the same
	// check, the same answer.
	known := err == nil && u.RemovedAt == nil
	var verr error
	if err := s.login.hash(ctx, func() {
		// Every login asks for the dummy hash, known email or not: the
		// first one of the process makes it (in a hash slot, like the
		// check), so that first login costs the same whichever email
		// it names.
		hash := store.DummyPasswordHash()
		if known {
			hash = u.PasswordHash
		}
		ok, verr = s.verify(hash, password)
	}); err != nil {
		return nil, false, err
	}
	if verr != nil {
		return nil, false, verr
	}
	checked = true
	if !known {
		return nil, false, nil
	}
	if !ok {
		s.log.WarnContext(ctx, "admin login failed", "admin", email, "ip", ip, "failures", u.FailedLogins+1)
		return nil, false, s.st.RecordLoginFailure(ctx, u.ID)
	}
	if u.TOTPEnabledAt != nil {
		return u, true, nil // the account's count is cleared by the code (LoginTOTP)
	}
	return u, true, s.st.ResetLoginFailures(ctx, u.ID)
}
