package payments

import (
	"context"
	"errors"
	"time"

	"checkout/store"
)

// AdminUser is an admin who logs in to the order pages.
type AdminUser = store.AdminUser

const (
	// freeFailures is how many wrong passwords an account takes before
	// each further try must wait.
	freeFailures = 5
	maxLoginWait = 15 * time.Minute
)

// AdminIdle is how long an admin session lives without a request.
const AdminIdle = 30 * time.Minute

// loginWait is how long an account with n failures must wait after its
// last failure: nothing for the first five, then 1 s doubling each time.
func loginWait(n int) time.Duration {
	if n < freeFailures {
		return 0
	}
	d := time.Second
	for i := freeFailures; i < n && d < maxLoginWait; i++ {
		d *= 2
	}
	return min(d, maxLoginWait)
}

// spendACheck does the work of a real password check against the store's
// dummy hash (made on first use, not at start), so that timing does not
// reveal which emails exist or which accounts must wait.
func spendACheck(password string) error {
	_, err := store.VerifyPassword(store.DummyPasswordHash(), password)
	return err
}

// Login checks an admin's email and password. ok is false for a wrong
// email or password, and during an account's wait after repeated failures
// (then the password is not even checked, and the answer is the same, so
// the wait tells a guesser nothing). A wrong password counts as a failure;
// a right one clears them. The service's clock decides the wait.
func (s *Service) Login(ctx context.Context, email, password string) (u *AdminUser, ok bool, err error) {
	u, err = s.st.AdminByEmail(ctx, email)
	if errors.Is(err, store.ErrNotFound) {
		return nil, false, spendACheck(password)
	}
	if err != nil {
		return nil, false, err
	}
	if u.LastFailedAt != nil && s.now().Sub(*u.LastFailedAt) < loginWait(u.FailedLogins) {
		return nil, false, spendACheck(password)
	}
	ok, err = store.VerifyPassword(u.PasswordHash, password)
	if err != nil {
		return nil, false, err
	}
	if !ok {
		s.log.WarnContext(ctx, "admin login failed", "admin", email, "failures", u.FailedLogins+1)
		return nil, false, s.st.RecordLoginFailure(ctx, u.ID)
	}
	return u, true, s.st.ResetLoginFailures(ctx, u.ID)
}

// Logout ends every session of the admin, copies of the cookie included.
func (s *Service) Logout(ctx context.Context, email string) error {
	u, err := s.st.AdminByEmail(ctx, email)
	if err != nil {
		return err
	}
	return s.st.EndSessions(ctx, u.ID)
}

// AdminSession reports whether an admin session is live: its admin exists,
// it was used in the last AdminIdle (seen is its last use, in Unix
// seconds), and its epoch is still the admin's (Logout raises it).
func (s *Service) AdminSession(ctx context.Context, email string, seen, epoch int64) (bool, error) {
	if email == "" || s.now().Sub(time.Unix(seen, 0)) > AdminIdle {
		return false, nil
	}
	u, err := s.st.AdminByEmail(ctx, email)
	switch {
	case errors.Is(err, store.ErrNotFound):
		return false, nil
	case err != nil:
		return false, err
	}
	return u.SessionEpoch == epoch, nil
}
