package handlers

import "github.com/gin-gonic/gin"

// audit records a state-changing admin action (DESIGN14, "Audit"). This
// is the no-op stand-in until the audit log is merged; the integrator
// deletes this file then.
func (h *Handlers) audit(c *gin.Context, action, objectType, objectID, detail string) {}
