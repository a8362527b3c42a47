package reqctx

import "github.com/gin-gonic/gin"

const keyAdminSession = "admin_session"

// SetAdminSession records the row id of the live admin session that made
// the request (the SHA-256 of its cookie's token; see the admin_sessions
// table).
func SetAdminSession(c *gin.Context, id string) { c.Set(keyAdminSession, id) }

// AdminSession is the row id of the request's admin session, "" outside
// the admin.
func AdminSession(c *gin.Context) string { return c.GetString(keyAdminSession) }
