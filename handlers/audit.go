package handlers

import (
	"context"
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"strings"

	"github.com/gin-gonic/gin"

	"checkout/payments"
	"checkout/reqctx"
	"checkout/templates"
)

// maxAuditDetail bounds an entry's detail (names, amounts, old -> new).
const maxAuditDetail = 500

// audit writes an audit log entry for an admin action that succeeded: the
// actor (reqctx: set by RequireAdmin, or by the handler that just logged
// someone in) and the client IP come from the request. detail never holds a
// secret (no key, password, TOTP secret or invite token). A failure to
// write is logged and counted (payments.Service.Audit); the action stands.
func (h *Handlers) audit(c *gin.Context, action, objectType, objectID, detail string) {
	if len(detail) > maxAuditDetail {
		detail = strings.ToValidUTF8(detail[:maxAuditDetail], "")
	}
	ctx := c.Request.Context()
	e := payments.AuditEntry{ActorID: reqctx.AdminID(c), ActorEmail: reqctx.Admin(c), Action: action,
		ObjectType: objectType, ObjectID: objectID, IP: c.ClientIP(), Detail: detail}
	// Written even when the client has gone: the action was done.
	if err := h.svc.Audit(context.WithoutCancel(ctx), e); err != nil {
		h.log.ErrorContext(ctx, "audit entry not written", "action", action, "object_id", objectID, "err", err)
	}
}

// AuditActions are the actions the audit log's filter offers.
var AuditActions = []string{
	"admin.login", "admin.logout",
	"team.invite", "team.invite_revoke", "team.invite_accept", "team.role_change", "team.remove",
	"order.recheck", "email.resend",
	"refund.create", "refund.approve", "refund.decline", "refund.resolve",
	"payout.create", "payout.approve", "payout.decline", "payout.resolve",
	"link.create", "link.deactivate", "delivery.resend",
	"webhook.url_change", "webhook.secret_rotate", "webhook.test",
	"merchant.create", "merchant.update", "api_key.create", "api_key.rotate", "api_key.revoke",
	"account.password_change", "account.totp_enable", "account.totp_disable", "account.session_revoke",
}

const auditPerPage = 50

// AuditLog is GET /admin/audit (owners): entries newest first, filtered by
// action, actor email and object id, paged by keyset (?before=<id>), times
// in Nairobi.
func (h *Handlers) AuditLog(c *gin.Context) {
	f := payments.AuditFilter{Action: strings.TrimSpace(c.Query("action")), ActorEmail: strings.ToLower(strings.TrimSpace(c.Query("actor"))),
		ObjectID: strings.TrimSpace(c.Query("object")), Limit: auditPerPage + 1}
	for _, s := range []*string{&f.Action, &f.ActorEmail, &f.ObjectID} {
		if len(*s) > 200 {
			*s = (*s)[:200]
		}
	}
	if b := c.Query("before"); b != "" {
		n, err := strconv.ParseInt(b, 10, 64)
		if err != nil || n <= 0 {
			notice(c, http.StatusBadRequest, "Bad page", "This page of the audit log does not exist. Start from the first page.")
			return
		}
		f.Before = n
	}
	es, err := h.svc.AuditEntries(c.Request.Context(), f)
	if err != nil {
		h.fail(c, err)
		return
	}
	v := templates.AuditPage{AdminPage: adminPage(c, "Audit log"), Action: f.Action, Actor: f.ActorEmail, Object: f.ObjectID,
		Actions: AuditActions}
	more := len(es) > auditPerPage
	if more {
		es = es[:auditPerPage]
	}
	for _, e := range es {
		v.Rows = append(v.Rows, templates.AuditRow{At: e.CreatedAt.In(nairobi).Format("2 Jan 2006 15:04:05"), ActorEmail: e.ActorEmail,
			Action: e.Action, ObjectType: e.ObjectType, ObjectID: e.ObjectID, IP: e.IP, Detail: e.Detail})
	}
	q := url.Values{}
	for k, val := range map[string]string{"action": f.Action, "actor": f.ActorEmail, "object": f.ObjectID} {
		if val != "" {
			q.Set(k, val)
		}
	}
	if f.Before > 0 {
		v.FirstURL = "/admin/audit?" + q.Encode()
	}
	if more {
		q.Set("before", strconv.FormatInt(es[len(es)-1].ID, 10))
		v.NextURL = "/admin/audit?" + q.Encode()
	}
	h.render(c, http.StatusOK, templates.AuditView(v))
}

// RequireRole refuses, with a 403 page, a request by an admin whose role is
// below min ("manager" or "owner"). It runs after RequireAdmin.
func (h *Handlers) RequireRole(min string) gin.HandlerFunc {
	return func(c *gin.Context) {
		role := reqctx.AdminRole(c)
		if !payments.RoleAtLeast(role, min) {
			notice(c, http.StatusForbidden, "Not allowed for your role",
				fmt.Sprintf("Your role (%s) cannot do this: it needs %s. Ask an owner.", orNone(role), roleNeeded(min)))
			return
		}
		c.Next()
	}
}

// canManage reports whether the signed-in admin may act (manager or
// owner): pages hide the actions of those who may not.
func canManage(c *gin.Context) bool {
	return payments.RoleAtLeast(reqctx.AdminRole(c), payments.RoleManager)
}

func roleNeeded(min string) string {
	if min == payments.RoleOwner {
		return "an owner"
	}
	return "a manager or an owner"
}

func orNone(s string) string {
	if s == "" {
		return "none"
	}
	return s
}
