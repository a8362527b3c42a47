package payments

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"errors"
	"fmt"
	htmltemplate "html/template"
	"net/mail"
	"strings"
	"time"

	"checkout/gateway"
	"checkout/store"
)

// Admin roles (see store): a viewer reads; a manager also acts on orders,
// refunds, payouts, links and deliveries; an owner also runs webhooks,
// merchants and keys, the team and the audit log.
const (
	RoleOwner   = store.RoleOwner
	RoleManager = store.RoleManager
	RoleViewer  = store.RoleViewer
)

// Roles are the roles, most powerful first (the team page's choices).
var Roles = []string{RoleOwner, RoleManager, RoleViewer}

// RoleAtLeast reports whether role may do what min may. An unknown role
// may do nothing.
func RoleAtLeast(role, min string) bool {
	r := store.RoleRank(role)
	return r > 0 && r >= store.RoleRank(min)
}

// Team errors.
var (
	// ErrLastOwner refuses to demote or remove the last owner.
	ErrLastOwner = store.ErrLastOwner
	// ErrInviteGone: the invite link was used, revoked or has expired.
	ErrInviteGone = store.ErrInviteGone
	// ErrOwnMembership refuses an owner's change of their own role or
	// their own removal: another owner does it.
	ErrOwnMembership = errors.New("you cannot change your own role or remove yourself")
)

// TeamMember is an admin on the team page.
type TeamMember = store.TeamMember

// AdminInvite is an invitation to the team.
type AdminInvite = store.AdminInvite

// InviteTTL is how long an invite link works.
const InviteTTL = 72 * time.Hour

// Password policy, the same as CHECKOUT_ADMIN_PASSWORD's: at least
// MinPasswordLen characters. MaxPasswordLen bounds what is hashed.
const (
	MinPasswordLen = 12
	MaxPasswordLen = 256
)

// CheckNewPassword checks a new password against the policy; the error is
// a *FieldError on "password".
func CheckNewPassword(password string) error {
	switch n := len([]rune(password)); {
	case n < MinPasswordLen:
		return invalid("password", fmt.Sprintf("Use at least %d characters.", MinPasswordLen))
	case len(password) > MaxPasswordLen:
		return invalid("password", fmt.Sprintf("Use at most %d characters.", MaxPasswordLen))
	}
	return nil
}

// LiveAdmin is the admin whose session is live (see AdminSession); live
// is false when it is not: unknown, removed, idle too long, or ended by its
// epoch.
func (s *Service) LiveAdmin(ctx context.Context, email string, seen, epoch int64) (u *AdminUser, live bool, err error) {
	if email == "" || s.now().Sub(time.Unix(seen, 0)) > AdminIdle {
		return nil, false, nil
	}
	u, err = s.st.AdminByEmail(ctx, email)
	switch {
	case errors.Is(err, store.ErrNotFound):
		return nil, false, nil
	case err != nil:
		return nil, false, err
	case u.RemovedAt != nil || u.SessionEpoch != epoch:
		return nil, false, nil
	}
	return u, true, nil
}

// Team lists the admins not removed, oldest first, with their last login.
func (s *Service) Team(ctx context.Context) ([]TeamMember, error) { return s.st.Team(ctx) }

// RoleChange is a done role change: the admin, the role they had, and
// the invites they had made that it revoked (an owner demoted below
// owner can no longer invite).
type RoleChange struct {
	Admin   *AdminUser
	Old     string
	Revoked []AdminInvite
}

// ChangeRole sets the role of admin id, changed by admin actorID. It
// refuses the actor's own role (ErrOwnMembership) and the last owner's
// demotion (ErrLastOwner).
func (s *Service) ChangeRole(ctx context.Context, actorID, id, role string) (*RoleChange, error) {
	if store.RoleRank(role) == 0 {
		return nil, invalid("role", "Choose owner, manager or viewer.")
	}
	if id == actorID {
		return nil, ErrOwnMembership
	}
	old, revoked, err := s.st.SetAdminRole(ctx, id, role)
	if err != nil {
		return nil, err
	}
	u, err := s.st.AdminByID(ctx, id)
	if err != nil {
		return nil, err
	}
	return &RoleChange{Admin: u, Old: old, Revoked: revoked}, nil
}

// RemoveAdmin removes admin id from the team, by admin actorID: their
// sessions end at once, they cannot log in, and the invites they made
// that were still open are revoked (returned). It refuses the actor
// (ErrOwnMembership) and the last owner (ErrLastOwner).
func (s *Service) RemoveAdmin(ctx context.Context, actorID, id string) (*AdminUser, []AdminInvite, error) {
	if id == actorID {
		return nil, nil, ErrOwnMembership
	}
	return s.st.RemoveAdmin(ctx, id)
}

// PendingInvites lists the invites still open, newest first.
func (s *Service) PendingInvites(ctx context.Context) ([]AdminInvite, error) {
	return s.st.PendingInvites(ctx, s.now())
}

// InviteResult is a new invite: Link holds its token and is shown once
// when it was not emailed (no mail configured, or the send failed); it is
// never stored.
type InviteResult struct {
	Invite  *AdminInvite
	Link    string
	Emailed bool
}

// Invite invites email to the team with role, on behalf of invitedBy (an
// admin's email). The link works once, for InviteTTL. With a mailer the
// link is emailed at once (not through the outbox: the outbox would have
// to keep the token until sent, and only its hash is ever stored); a send
// that fails leaves the link to be shown once instead.
func (s *Service) Invite(ctx context.Context, invitedBy, email, role string) (*InviteResult, error) {
	email = strings.ToLower(strings.TrimSpace(email))
	addr, err := mail.ParseAddress(email)
	if err != nil || addr.Address != email || len(email) > 254 {
		return nil, invalid("email", "Enter an email address like name@example.com.")
	}
	if store.RoleRank(role) == 0 {
		return nil, invalid("role", "Choose owner, manager or viewer.")
	}
	u, err := s.st.AdminByEmail(ctx, email)
	switch {
	case err == nil && u.RemovedAt == nil:
		return nil, invalid("email", "This person is already on the team.")
	case err != nil && !errors.Is(err, store.ErrNotFound):
		return nil, err
	}
	pending, err := s.st.PendingInvites(ctx, s.now())
	if err != nil {
		return nil, err
	}
	for _, p := range pending {
		if p.Email == email {
			return nil, invalid("email", "This email has an open invite: revoke it first to send a new one.")
		}
	}
	token := newToken()
	now := s.now()
	inv := &AdminInvite{ID: store.NewID("inv", now), Email: email, Role: role, TokenHash: inviteTokenHash(token),
		InvitedBy: invitedBy, CreatedAt: now, ExpiresAt: now.Add(InviteTTL)}
	if err := s.st.CreateInvite(ctx, inv); err != nil {
		return nil, err
	}
	res := &InviteResult{Invite: inv, Link: s.cfg.PublicURL + "/admin/invite/" + token}
	if s.cfg.Mailer != nil {
		sctx, cancel := context.WithTimeout(ctx, mailTimeout)
		err := s.cfg.Mailer.SendMail(sctx, s.inviteMail(inv, res.Link))
		cancel()
		if err != nil {
			s.log.WarnContext(ctx, "invite email not sent; the link is shown once instead", "invite_id", inv.ID, "err", err)
		} else {
			res.Emailed, res.Link = true, ""
		}
	}
	return res, nil
}

// inviteMail is the invite's email.
func (s *Service) inviteMail(inv *AdminInvite, link string) gateway.Mail {
	expires := inv.ExpiresAt.In(eat).Format("2 Jan 2006 15:04")
	text := fmt.Sprintf("%s invited you to the checkout admin as %s.\n\nSet your password here (the link works once, until %s EAT):\n%s\n\nIf you did not expect this, ignore this email.\n",
		inv.InvitedBy, inv.Role, expires, link)
	html := fmt.Sprintf(`<p>%s invited you to the checkout admin as %s.</p><p><a href="%s">Set your password</a> (the link works once, until %s EAT).</p><p>If you did not expect this, ignore this email.</p>`,
		htmltemplate.HTMLEscapeString(inv.InvitedBy), htmltemplate.HTMLEscapeString(inv.Role),
		htmltemplate.HTMLEscapeString(link), htmltemplate.HTMLEscapeString(expires))
	return gateway.Mail{MessageID: messageID(inv.ID, s.mailFrom()), From: s.mailFrom(), To: inv.Email,
		Subject: "You are invited to the checkout admin", Text: text, HTML: html}
}

// RevokeInvite revokes an open invite.
func (s *Service) RevokeInvite(ctx context.Context, id string) (*AdminInvite, error) {
	return s.st.RevokeInvite(ctx, id)
}

// OpenInvite is the open invite of a link's token (ErrInviteGone when it
// was used, revoked or has expired, or never was).
func (s *Service) OpenInvite(ctx context.Context, token string) (*AdminInvite, error) {
	if !plausibleInviteToken(token) {
		return nil, ErrInviteGone
	}
	return s.st.InviteByTokenHash(ctx, inviteTokenHash(token), s.now())
}

// AcceptInvite uses an invite link: the password is checked against the
// policy (a *FieldError) and hashed like every admin password (in a login
// hash slot: it costs the same), then the admin is created with the
// invite's role and the invite marked used, once.
func (s *Service) AcceptInvite(ctx context.Context, token, password string) (*AdminUser, *AdminInvite, error) {
	if _, err := s.OpenInvite(ctx, token); err != nil {
		return nil, nil, err
	}
	if err := CheckNewPassword(password); err != nil {
		return nil, nil, err
	}
	var hash string
	var herr error
	if err := s.login.hash(ctx, func() { hash, herr = store.HashPassword(password) }); err != nil {
		return nil, nil, err
	}
	if herr != nil {
		return nil, nil, herr
	}
	u, inv, err := s.st.AcceptInvite(ctx, inviteTokenHash(token), store.NewID("adm", s.now()), hash)
	if errors.Is(err, store.ErrDuplicate) {
		return nil, nil, invalid("password", "This email is already on the team: log in instead.")
	}
	return u, inv, err
}

// newToken is a random token (an invite's, an admin session's): 32 bytes,
// base64url.
func newToken() string {
	b := make([]byte, 32)
	rand.Read(b) // never fails: the runtime stops the program if it cannot read
	return base64.RawURLEncoding.EncodeToString(b)
}

// inviteTokenHash is what the database keeps of a token.
func inviteTokenHash(token string) string { return store.HashAPIKey(token) }

// plausibleInviteToken: 43 base64url characters, as newToken makes.
func plausibleInviteToken(token string) bool {
	if len(token) != 43 {
		return false
	}
	_, err := base64.RawURLEncoding.DecodeString(token)
	return err == nil
}

// AuditEntry is one line of the audit log.
type AuditEntry = store.AuditEntry

// AuditFilter narrows the audit log (action, actor email, object id) and
// pages it (Before: an entry id; Limit).
type AuditFilter = store.AuditFilter

// Audit appends an entry to the audit log (its time is the service's
// clock). The entry's Detail must hold no secret.
func (s *Service) Audit(ctx context.Context, e AuditEntry) error {
	if err := s.st.AddAudit(ctx, &e); err != nil {
		s.cfg.Metrics.AuditFailed()
		return err
	}
	return nil
}

// AuditEntries lists the audit log newest first, filtered and paged by
// keyset.
func (s *Service) AuditEntries(ctx context.Context, f AuditFilter) ([]AuditEntry, error) {
	return s.st.AuditEntries(ctx, f)
}
