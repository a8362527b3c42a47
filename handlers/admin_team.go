package handlers

import (
	"errors"
	"net/http"
	"strings"

	"github.com/gin-gonic/gin"

	"checkout/payments"
	"checkout/reqctx"
	"checkout/templates"
)

// teamDone are the lines the team page shows after a change (?done=).
var teamDone = map[string]string{
	"role":    "Role changed.",
	"removed": "Removed from the team: their sessions have ended.",
	"revoked": "Invite revoked: its link no longer works.",
}

// Team is GET /admin/team (owners).
func (h *Handlers) Team(c *gin.Context) {
	v := templates.TeamPage{Notice: teamDone[c.Query("done")]}
	h.renderTeam(c, http.StatusOK, v)
}

// renderTeam fills the team page's lists into v and renders it.
func (h *Handlers) renderTeam(c *gin.Context, status int, v templates.TeamPage) {
	ctx := c.Request.Context()
	members, err := h.svc.Team(ctx)
	if err != nil {
		h.fail(c, err)
		return
	}
	invites, err := h.svc.PendingInvites(ctx)
	if err != nil {
		h.fail(c, err)
		return
	}
	v.AdminPage = adminPage(c, "Team")
	v.Roles = payments.Roles
	if v.InviteRole == "" {
		v.InviteRole = payments.RoleViewer
	}
	me := reqctx.AdminID(c)
	for _, m := range members {
		row := templates.TeamMemberRow{ID: m.ID, Email: m.Email, Role: m.Role, AddedAt: m.CreatedAt.In(nairobi).Format("2 Jan 2006"),
			Self: m.ID == me, RoleAction: "/admin/team/" + m.ID + "/role", RemoveAction: "/admin/team/" + m.ID + "/remove"}
		if m.LastLoginAt != nil {
			row.LastLogin = m.LastLoginAt.In(nairobi).Format("2 Jan 2006 15:04")
		}
		v.Members = append(v.Members, row)
	}
	for _, i := range invites {
		v.Invites = append(v.Invites, templates.InviteRow{ID: i.ID, Email: i.Email, Role: i.Role, InvitedBy: i.InvitedBy,
			CreatedAt: i.CreatedAt.In(nairobi).Format("2 Jan 2006 15:04"), ExpiresAt: i.ExpiresAt.In(nairobi).Format("2 Jan 2006 15:04"),
			RevokeAction: "/admin/team/invites/" + i.ID + "/revoke"})
	}
	h.render(c, status, templates.TeamView(v))
}

// ChangeRole is POST /admin/team/:id/role (owners). An owner cannot change
// their own role, and the last owner cannot be demoted.
func (h *Handlers) ChangeRole(c *gin.Context) {
	role := c.PostForm("role")
	ch, err := h.svc.ChangeRole(c.Request.Context(), reqctx.AdminID(c), c.Param("id"), role)
	if h.teamRefused(c, err) {
		return
	}
	u := ch.Admin
	h.audit(c, "team.role_change", "admin", u.ID, u.Email+": "+ch.Old+" -> "+u.Role)
	h.auditInvitesRevoked(c, ch.Revoked, "its maker is no longer an owner")
	c.Redirect(http.StatusSeeOther, "/admin/team?done=role")
}

// RemoveMember is POST /admin/team/:id/remove (owners): the admin's
// sessions end now, they cannot log in, and their open invites are
// revoked. Not oneself, not the last owner.
func (h *Handlers) RemoveMember(c *gin.Context) {
	u, revoked, err := h.svc.RemoveAdmin(c.Request.Context(), reqctx.AdminID(c), c.Param("id"))
	if h.teamRefused(c, err) {
		return
	}
	h.audit(c, "team.remove", "admin", u.ID, u.Email+" ("+u.Role+")")
	h.auditInvitesRevoked(c, revoked, "its maker was removed")
	c.Redirect(http.StatusSeeOther, "/admin/team?done=removed")
}

// auditInvitesRevoked writes a team.invite_revoke entry for each invite a
// team change revoked, saying why.
func (h *Handlers) auditInvitesRevoked(c *gin.Context, revoked []payments.AdminInvite, why string) {
	for _, inv := range revoked {
		h.audit(c, "team.invite_revoke", "invite", inv.ID, inv.Email+" as "+inv.Role+" ("+why+")")
	}
}

// teamRefused answers a refused team change (the team page with why) or
// an error, and reports whether it did.
func (h *Handlers) teamRefused(c *gin.Context, err error) bool {
	var fe *payments.FieldError
	switch {
	case err == nil:
		return false
	case errors.Is(err, payments.ErrNotFound):
		notice(c, http.StatusNotFound, "No such team member", "This admin is not on the team (any more).")
	case errors.Is(err, payments.ErrLastOwner):
		h.renderTeam(c, http.StatusConflict, templates.TeamPage{Error: "The team needs an owner: make someone else an owner first."})
	case errors.Is(err, payments.ErrOwnMembership):
		h.renderTeam(c, http.StatusConflict, templates.TeamPage{Error: "You cannot change your own role or remove yourself: another owner can."})
	case errors.Is(err, payments.ErrInviteGone):
		h.renderTeam(c, http.StatusConflict, templates.TeamPage{Error: "That invite is no longer open (used, revoked or expired)."})
	case errors.As(err, &fe):
		h.renderTeam(c, http.StatusUnprocessableEntity, templates.TeamPage{Error: fe.Message})
	default:
		h.fail(c, err)
	}
	return true
}

// CreateInvite is POST /admin/team/invites (owners): the link is emailed
// when mail is configured, else shown on this answer only (never again:
// only its hash is stored).
func (h *Handlers) CreateInvite(c *gin.Context) {
	email := strings.TrimSpace(c.PostForm("email"))
	role := c.PostForm("role")
	res, err := h.svc.Invite(c.Request.Context(), reqctx.Admin(c), email, role)
	var fe *payments.FieldError
	if errors.As(err, &fe) {
		h.renderTeam(c, http.StatusUnprocessableEntity, templates.TeamPage{InviteEmail: email, InviteRole: role,
			FieldErrors: map[string]string{fe.Field: fe.Message}})
		return
	}
	if err != nil {
		h.fail(c, err)
		return
	}
	inv := res.Invite
	how := "link shown once"
	if res.Emailed {
		how = "emailed"
	}
	h.audit(c, "team.invite", "invite", inv.ID, inv.Email+" as "+inv.Role+" ("+how+")")
	// no-store: the page holds a one-time link.
	c.Header("Cache-Control", "no-store")
	h.renderTeam(c, http.StatusOK, templates.TeamPage{NewInviteEmail: inv.Email, NewInviteLink: res.Link, NewInviteEmailed: res.Emailed})
}

// RevokeInvite is POST /admin/team/invites/:id/revoke (owners).
func (h *Handlers) RevokeInvite(c *gin.Context) {
	inv, err := h.svc.RevokeInvite(c.Request.Context(), c.Param("id"))
	if h.teamRefused(c, err) {
		return
	}
	h.audit(c, "team.invite_revoke", "invite", inv.ID, inv.Email+" as "+inv.Role)
	c.Redirect(http.StatusSeeOther, "/admin/team?done=revoked")
}

// InvitePage is GET /admin/invite/:token (no session): the form to set a
// password, or one page saying the link no longer works.
func (h *Handlers) InvitePage(c *gin.Context) {
	c.Header("Cache-Control", "no-store")
	inv, err := h.svc.OpenInvite(c.Request.Context(), c.Param("token"))
	if h.inviteGone(c, err) {
		return
	}
	h.render(c, http.StatusOK, templates.InviteView(invitePage(c, inv, nil)))
}

func invitePage(c *gin.Context, inv *payments.AdminInvite, errs map[string]string) templates.InvitePage {
	return templates.InvitePage{Page: formPage(c, "Join the checkout admin"), Email: inv.Email, Role: inv.Role,
		Action: "/admin/invite/" + c.Param("token"), FieldErrors: errs}
}

// AcceptInvite is POST /admin/invite/:token (no session): sets the
// password, creates the admin with the invite's role, marks the invite
// used and logs them in.
func (h *Handlers) AcceptInvite(c *gin.Context) {
	c.Header("Cache-Control", "no-store")
	ctx := c.Request.Context()
	inv, err := h.svc.OpenInvite(ctx, c.Param("token"))
	if h.inviteGone(c, err) {
		return
	}
	password := c.PostForm("password")
	if password != c.PostForm("confirm") {
		h.render(c, http.StatusUnprocessableEntity, templates.InviteView(invitePage(c, inv,
			map[string]string{"confirm": "The two passwords differ."})))
		return
	}
	u, _, err := h.svc.AcceptInvite(ctx, c.Param("token"), password)
	var fe *payments.FieldError
	if errors.As(err, &fe) {
		h.render(c, http.StatusUnprocessableEntity, templates.InviteView(invitePage(c, inv, map[string]string{fe.Field: fe.Message})))
		return
	}
	if _, isWait := errors.AsType[*payments.LoginWaitError](err); isWait {
		h.render(c, http.StatusTooManyRequests, templates.InviteView(invitePage(c, inv,
			map[string]string{"password": "Too many logins are being checked right now. Try again in a few seconds."})))
		return
	}
	if h.inviteGone(c, err) {
		return
	}
	if err := h.startAdminSession(c, u); err != nil {
		h.fail(c, err)
		return
	}
	reqctx.SetAdminUser(c, u.ID, u.Email, u.Role)
	h.audit(c, "team.invite_accept", "admin", u.ID, u.Email+" as "+u.Role+" (invite "+inv.ID+")")
	c.Redirect(http.StatusSeeOther, "/admin")
}

// inviteGone answers an invite link that no longer works with one clear
// page (or an error), and reports whether it did.
func (h *Handlers) inviteGone(c *gin.Context, err error) bool {
	switch {
	case err == nil:
		return false
	case errors.Is(err, payments.ErrInviteGone):
		notice(c, http.StatusGone, "This invite link no longer works",
			"It was already used, revoked, or has expired (links work for 72 hours). Ask an owner of the team for a new invite.")
	default:
		h.fail(c, err)
	}
	return true
}
