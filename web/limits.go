package web

import (
	"bytes"
	"errors"
	"io"
	"mime"
	"net/http"
	"strconv"
	"strings"

	"github.com/gin-gonic/gin"

	"checkout/handlers"
)

// Size limits of design.md ("Limits"): every body and query string has one.
const (
	// FormBodyLimit bounds a form post and a provider notification.
	FormBodyLimit = 16 << 10
	// APIBodyLimit bounds a merchant API request.
	APIBodyLimit = 64 << 10
	// QueryLimit bounds a query string (provider returns carry a few short
	// values; nothing of ours needs more).
	QueryLimit = 4 << 10
	// UploadBodyLimit bounds the one form that posts a file, the
	// merchant's with its logo (at most 200 KB, payments.MaxLogoBytes)
	// and its few fields.
	UploadBodyLimit = 256 << 10
)

// Limit refuses, before any handler reads anything, a query string longer
// than QueryLimit (414), a multipart body (415: only UploadLimit's routes
// take files) and a body longer than maxBody (413), each in the route
// group's shape. A body within the limit is read here, whole, so the
// handler's reads cannot fail halfway and a refused request has changed
// nothing.
func Limit(h *handlers.Handlers, maxBody int64, shape handlers.Shape) gin.HandlerFunc {
	return sizeLimit(h, maxBody, shape, false)
}

// UploadLimit is Limit for a route whose form posts a file: it takes a
// multipart body too.
func UploadLimit(h *handlers.Handlers, maxBody int64, shape handlers.Shape) gin.HandlerFunc {
	return sizeLimit(h, maxBody, shape, true)
}

func sizeLimit(h *handlers.Handlers, maxBody int64, shape handlers.Shape, multipart bool) gin.HandlerFunc {
	tooLarge := "The request is larger than " + strconv.FormatInt(maxBody>>10, 10) + " KB."
	return func(c *gin.Context) {
		r := c.Request
		if len(r.URL.RawQuery) > QueryLimit {
			h.Refuse(c, shape, http.StatusRequestURITooLong,
				"The address is too long: its query string is over "+strconv.Itoa(QueryLimit>>10)+" KB.")
			return
		}
		if mt, _, err := mime.ParseMediaType(r.Header.Get("Content-Type")); err == nil && strings.HasPrefix(mt, "multipart/") &&
			(!multipart || mt != "multipart/form-data") {
			h.Refuse(c, shape, http.StatusUnsupportedMediaType, "Multipart bodies are not accepted here.")
			return
		}
		if r.Body == nil || r.Body == http.NoBody {
			c.Next()
			return
		}
		if r.ContentLength > maxBody {
			// Refused unread (net/http drains a little of what is left
			// to keep the connection, and closes it beyond that).
			h.Refuse(c, shape, http.StatusRequestEntityTooLarge, tooLarge)
			return
		}
		body, err := io.ReadAll(http.MaxBytesReader(c.Writer, r.Body, maxBody))
		var mbe *http.MaxBytesError
		switch {
		case errors.As(err, &mbe):
			h.Refuse(c, shape, http.StatusRequestEntityTooLarge, tooLarge)
			return
		case err != nil:
			// The client went away or sent a broken body: nothing to
			// answer that it would read.
			c.AbortWithStatus(http.StatusBadRequest)
			return
		}
		r.Body = io.NopCloser(bytes.NewReader(body))
		c.Next()
	}
}
