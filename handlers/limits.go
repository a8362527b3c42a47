package handlers

import (
	"net/http"

	"github.com/gin-gonic/gin"

	"checkout/locale"
)

// Shape is how a route group answers a request the limits middleware in web
// turns away (too large, too long a query, a multipart body).
type Shape int

// Shapes of refusal.
const (
	// ShapePage is the one-message page, for forms and customer pages.
	ShapePage Shape = iota
	// ShapeAPI is the merchant API's error object.
	ShapeAPI
	// ShapePesapal is Pesapal's acknowledgement shape: {"status": <HTTP
	// status>, "error": "..."}.
	ShapePesapal
	// ShapeProvider is the other notification endpoints' shape:
	// {"status": "error", "message": "..."}.
	ShapeProvider
)

// Refuse answers a request turned away by a limit (413, 414 or 415), in the
// shape of its route, and stops the chain. Nothing was read or changed.
func (h *Handlers) Refuse(c *gin.Context, shape Shape, status int, text string) {
	switch shape {
	case ShapeAPI:
		code := "request_too_large"
		switch status {
		case http.StatusRequestURITooLong:
			code = "query_too_long"
		case http.StatusUnsupportedMediaType:
			code = "unsupported_media_type"
		}
		apiError(c, status, code, text, "")
	case ShapePesapal:
		c.AbortWithStatusJSON(status, gin.H{"status": status, "error": text})
	case ShapeProvider:
		c.AbortWithStatusJSON(status, gin.H{"status": "error", "message": text})
	default:
		// web's texts for a page are the catalog's msg_too_large,
		// msg_query_too_long and msg_multipart: shown in the page's
		// language (admin pages: English).
		l := noticeLang(c)
		noticeWithLink(c, status, locale.Text(l, "refused"), customerText(c, text), "", "")
	}
}
