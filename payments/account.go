package payments

import (
	"context"
	"errors"
	"strings"
	"time"

	"checkout/store"
)

// Server-side admin sessions. The admin cookie carries a random token; the
// row whose id is its SHA-256 says whether the session is still live, so a
// session can be listed, revoked from another browser, and ended by a
// password change. The cookie keeps its own rules too (idle timeout, the
// admin's epoch).
const (
	// AdminSessionTouchEvery is how often a session in use has its
	// last_seen_at written: at most once a minute, not on every request.
	AdminSessionTouchEvery = time.Minute
	// adminSessionKeep is how long a row outlives its last use or its
	// revocation before it is pruned. A live session was seen within
	// AdminIdle (and written within AdminSessionTouchEvery of that), so no
	// live session is ever pruned.
	adminSessionKeep = time.Hour
	// maxSessionsListed bounds the account page's list.
	maxSessionsListed = 50
)

// AdminSessionRow is one of an admin's live sessions, for the account page.
type AdminSessionRow = store.AdminSession

// StartAdminSession records a new session of the admin u, from ip with
// userAgent, and returns the token its cookie carries (only its SHA-256 is
// stored). Rows of sessions long ended are pruned on the way: a failure to
// prune is logged, the login stands.
func (s *Service) StartAdminSession(ctx context.Context, u *AdminUser, ip, userAgent string) (string, error) {
	token := newToken()
	if _, err := s.st.CreateAdminSession(ctx, store.AdminSessionID(token), u.ID, ip, userAgent); err != nil {
		return "", err
	}
	if n, err := s.st.PruneAdminSessions(ctx, s.now().Add(-adminSessionKeep)); err != nil {
		s.log.WarnContext(ctx, "prune admin sessions", "err", err)
	} else if n > 0 {
		s.log.DebugContext(ctx, "pruned admin sessions", "rows", n)
	}
	return token, nil
}

// AdminSession returns the admin of a live session, and its session's row
// id; u is nil when the session is not live. A session is live when its
// admin exists, it was used in the last AdminIdle (seen is its last use,
// in Unix seconds, from the cookie), its epoch is still the admin's
// (raised to end every session at once), and the row of its token exists,
// is that admin's and is not revoked. A live session's row has its
// last_seen_at written at most once per AdminSessionTouchEvery; a failure
// to write it is logged and the request goes on.
func (s *Service) AdminSession(ctx context.Context, email string, seen, epoch int64, token string) (u *AdminUser, sessionID string, err error) {
	if token == "" {
		return nil, "", nil
	}
	// The admin exists, is not removed, the session is not idle and its
	// epoch is the admin's (see LiveAdmin).
	u, live, err := s.LiveAdmin(ctx, email, seen, epoch)
	if err != nil || !live {
		return nil, "", err
	}
	id := store.AdminSessionID(token)
	row, err := s.st.AdminSessionByID(ctx, id)
	switch {
	case errors.Is(err, store.ErrNotFound):
		return nil, "", nil
	case err != nil:
		return nil, "", err
	}
	if row.AdminID != u.ID || row.RevokedAt != nil {
		return nil, "", nil
	}
	if s.now().Sub(row.LastSeenAt) >= AdminSessionTouchEvery {
		if _, err := s.st.TouchAdminSession(ctx, id, AdminSessionTouchEvery); err != nil {
			s.log.WarnContext(ctx, "admin session last seen not written", "err", err)
		}
	}
	return u, id, nil
}

// Logout ends the session sessionID of the admin: its row is revoked, so
// copies of its cookie stop working too. The admin's other sessions (other
// browsers) stay; the account page ends them.
func (s *Service) Logout(ctx context.Context, email, sessionID string) error {
	u, err := s.st.AdminByEmail(ctx, email)
	if err != nil {
		return err
	}
	err = s.st.RevokeAdminSession(ctx, u.ID, sessionID)
	if errors.Is(err, store.ErrNotFound) {
		return nil // already ended (revoked from another browser meanwhile)
	}
	return err
}

// AccountSessions lists the live sessions of the admin, most recently used
// first.
func (s *Service) AccountSessions(ctx context.Context, email string) ([]AdminSessionRow, error) {
	u, err := s.st.AdminByEmail(ctx, email)
	if err != nil {
		return nil, err
	}
	return s.st.LiveAdminSessions(ctx, u.ID, s.now().Add(-AdminIdle-AdminSessionTouchEvery), maxSessionsListed)
}

// RevokeAccountSession ends one of the admin's own sessions. Another
// admin's session, one already ended, or an unknown id is ErrNotFound.
func (s *Service) RevokeAccountSession(ctx context.Context, email, sessionID string) error {
	u, err := s.st.AdminByEmail(ctx, email)
	if err != nil {
		return err
	}
	return s.st.RevokeAdminSession(ctx, u.ID, sessionID)
}

// ChangePassword sets the admin's password to next, once current is the
// right one (checked under the login throttle, tried from ip: a wrong one
// counts as a failed login) and next keeps the policy and equals confirm.
// With two-factor login on, code must be a current, unused code too (as
// for switching it off): a session alone, or the password alone, does not
// change the password. Every session of the admin is ended with it: the
// caller starts a fresh one for the browser that asked
// (StartAdminSession). Bad input is a *FieldError (current_password,
// current_code, new_password, confirm_password); a *LoginWaitError refuses
// before the password or the code is checked.
func (s *Service) ChangePassword(ctx context.Context, email, current, code, next, confirm, ip string) error {
	var fe *FieldError
	switch err := CheckNewPassword(next); {
	case current == "":
		return &FieldError{Code: "required", Field: "current_password", Message: "Enter your current password."}
	case errors.As(err, &fe):
		return invalid("new_password", fe.Message)
	case next != confirm:
		return invalid("confirm_password", "This does not match the new password.")
	}
	u, err := s.st.AdminByEmail(ctx, email)
	if err != nil {
		return err
	}
	if u.TOTPEnabledAt != nil && strings.TrimSpace(code) == "" {
		return &FieldError{Code: "required", Field: "current_code", Message: "Enter the code from your app."}
	}
	ok, err := s.checkPassword(ctx, u, current, ip)
	if err != nil {
		return err
	}
	if !ok {
		return invalid("current_password", "That is not your current password.")
	}
	if u.TOTPEnabledAt != nil {
		if ok, err = s.checkCode(ctx, u, code, ip); err != nil {
			return err
		}
		if !ok {
			return invalid("current_code", "That code is not right, or was used already. Enter the code the app shows now.")
		}
	}
	var hash string
	if err := s.login.hash(ctx, func() { hash, err = store.HashPassword(next) }); err != nil {
		return err
	}
	if err != nil {
		return err
	}
	ended, err := s.st.SetAdminPassword(ctx, u.ID, hash)
	if err != nil {
		return err
	}
	s.log.InfoContext(ctx, "admin password changed", "admin", u.Email, "sessions_ended", ended)
	return nil
}

// checkPassword checks the signed-in admin u's password, as a login from ip
// would be checked: throttled per (email, address) and per address, in one
// of the few hash slots, a wrong one counted as a failed login.
func (s *Service) checkPassword(ctx context.Context, u *AdminUser, password, ip string) (ok bool, err error) {
	try, err := s.login.admit(u.Email, ip, s.now())
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
	var verr error
	if err := s.login.hash(ctx, func() { ok, verr = s.verify(u.PasswordHash, password) }); err != nil {
		return false, err
	}
	if verr != nil {
		return false, verr
	}
	checked = true
	if !ok {
		s.log.WarnContext(ctx, "admin password check failed", "admin", u.Email, "ip", ip, "failures", u.FailedLogins+1)
		return false, s.st.RecordLoginFailure(ctx, u.ID)
	}
	return true, nil
}

// Account is the signed-in admin's own record (the account page).
func (s *Service) Account(ctx context.Context, email string) (*AdminUser, error) {
	return s.st.AdminByEmail(ctx, email)
}
