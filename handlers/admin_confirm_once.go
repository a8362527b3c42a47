package handlers

import (
	"crypto/rand"
	"encoding/hex"
	"net/http"

	"github.com/gin-gonic/gin"

	"checkout/payments"
)

// The admin's confirm steps that move money (a refund from the order
// page, Send money) carry a one-time token, made when the confirm step is
// shown: the confirm is made once per token, as an API request once per
// Idempotency-Key (stored with the refund or payout, in its transaction).
// A second press of the same confirm (a double click, a resubmitted page)
// creates nothing and shows what the first made.

// confirmField is the confirm form's hidden field that carries the token.
const confirmField = "once"

// newConfirmToken is a fresh one-time token: 128 random bits, hex.
func newConfirmToken() string {
	b := make([]byte, 16)
	_, _ = rand.Read(b) // never fails (crypto/rand)
	return hex.EncodeToString(b)
}

// confirmToken reads the posted token; false when it is missing or not
// one of ours.
func confirmToken(c *gin.Context) (string, bool) {
	t := c.PostForm(confirmField)
	if len(t) != 32 {
		return "", false
	}
	if _, err := hex.DecodeString(t); err != nil {
		return "", false
	}
	return t, true
}

// confirmOnce runs create once for the token, scoped to the merchant and,
// through scope (what is confirmed, with the admin), to the admin: the
// idempotency key is the token. created answers the id of what was made.
// It returns the id to show, or false when it answered itself (the same
// token still running, or used for something else).
func (h *Handlers) confirmOnce(c *gin.Context, merchantID, token, scope string,
	create func(claim *payments.IdempotencyClaim) (payments.StoredAnswer, error)) (string, bool, error) {
	res, err := h.svc.CreateIdempotent(c.Request.Context(), merchantID, "admin-confirm:"+token, []byte(scope),
		func(claim *payments.IdempotencyClaim) (payments.StoredAnswer, bool, error) {
			ans, err := create(claim)
			return ans, err == nil, err
		})
	if err != nil {
		return "", false, err
	}
	switch res.Outcome {
	case payments.IdempotentInProgress:
		notice(c, http.StatusConflict, "Already being done",
			"This confirm was pressed twice: the first press is still being handled, and the second makes nothing. "+
				"The list shows it in a moment.")
		return "", false, nil
	case payments.IdempotentMismatch:
		notice(c, http.StatusConflict, "This confirm was used already",
			"This confirm page was used for another request: nothing was made. Start again from the form.")
		return "", false, nil
	}
	return string(res.Body), true, nil
}

// confirmedAnswer is what the stored answer of a confirm holds: the id of
// what it made (the admin is sent to its page).
func confirmedAnswer(id string) (int, []byte, error) {
	return http.StatusSeeOther, []byte(id), nil
}
