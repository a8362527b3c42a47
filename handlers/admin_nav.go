package handlers

import (
	"strconv"

	"github.com/gin-gonic/gin"
)

// Keys where AdminNav leaves the nav's counts for adminPage.
const (
	keyRefundsWaiting = "nav_refunds_waiting"
	keyPayoutsWaiting = "nav_payouts_waiting"
)

// AdminNav counts the refunds and payouts that wait for a person (an
// approval, or attention), for the nav of the admin pages (GET only: a
// POST answers with a redirect, or a form shown again without them). A
// count that cannot be read is left out and logged; the page still shows.
func (h *Handlers) AdminNav() gin.HandlerFunc {
	return func(c *gin.Context) {
		if c.Request.Method != "GET" {
			c.Next()
			return
		}
		ctx := c.Request.Context()
		refunds, payouts, err := h.svc.TransfersWaiting(ctx)
		if err != nil {
			h.log.WarnContext(ctx, "nav: refunds and payouts waiting", "err", err)
		} else {
			c.Set(keyRefundsWaiting, navCount(refunds))
			c.Set(keyPayoutsWaiting, navCount(payouts))
		}
		c.Next()
	}
}

// navCount is a count for the nav, "" for none.
func navCount(n int64) string {
	if n <= 0 {
		return ""
	}
	return strconv.FormatInt(n, 10)
}
