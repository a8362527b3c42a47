package handlers

import "github.com/gin-gonic/gin"

// audit records a state-changing admin action in the audit log. This is a
// stand-in with the shared signature until the audit log (handlers/audit.go)
// is merged; it is deleted then.
func (h *Handlers) audit(c *gin.Context, action, objectType, objectID, detail string) {}
