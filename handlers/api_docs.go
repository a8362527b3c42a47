package handlers

import (
	"bytes"
	"crypto/sha256"
	_ "embed"
	"encoding/hex"
	"net/http"
	"strings"

	"github.com/gin-gonic/gin"
)

// openAPIDoc is the merchant API's OpenAPI 3.1 document, written by hand
// from what the API handlers and payments' object builders do. The tests
// hold every API request and answer they make to it (web/apicheck), so a
// change to the API that it does not describe fails them.
//
//go:embed openapi.json
var openAPIDoc []byte

// openAPITag is the document's ETag: it changes only with the binary.
var openAPITag = func() string {
	sum := sha256.Sum256(openAPIDoc)
	return `"` + hex.EncodeToString(sum[:12]) + `"`
}()

// OpenAPIDocument is a copy of the OpenAPI document GET /api/openapi.json
// serves (for the tests that validate against it).
func OpenAPIDocument() []byte { return bytes.Clone(openAPIDoc) }

// docsCache is how long a client may keep the document or the page
// without asking; then If-None-Match makes asking cheap.
const docsCache = "public, max-age=300"

// OpenAPI is GET /api/openapi.json: the document, public (no key), with
// an ETag. It is the same bytes for every request: nothing is built per
// request.
func (h *Handlers) OpenAPI(c *gin.Context) {
	hdr := c.Writer.Header()
	hdr["Cache-Control"] = []string{docsCache}
	hdr["Etag"] = []string{openAPITag}
	if etagMatch(c.GetHeader("If-None-Match"), openAPITag) {
		c.Status(http.StatusNotModified)
		c.Abort()
		return
	}
	c.Data(http.StatusOK, "application/json; charset=utf-8", openAPIDoc)
}

// etagMatch reports whether an If-None-Match header names tag (or is
// "*"), weak tags compared as strong ones (RFC 9110, 13.1.2).
func etagMatch(header, tag string) bool {
	for _, t := range strings.Split(header, ",") {
		t = strings.TrimPrefix(strings.TrimSpace(t), "W/")
		if t == "*" || t == tag {
			return true
		}
	}
	return false
}
