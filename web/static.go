package web

import (
	"io"
	"mime"
	"net/http"
	"path"
	"strconv"
	"strings"

	"github.com/gin-gonic/gin"

	"checkout/handlers"
	"checkout/static"
)

// Cache lifetimes of static files: a fingerprinted URL never changes
// content, so a browser keeps it a year and never asks again; a plain or
// outdated name (old links, a page from another build during a deploy) is
// kept briefly.
const (
	immutableCache = "public, max-age=31536000, immutable"
	shortCache     = "public, max-age=300"
	// A fingerprint of another build (an older or newer instance's page
	// during a rolling deploy) is answered with this build's file: a cache
	// must not keep it under that name, where the other build's content
	// belongs.
	otherBuildCache = "no-cache"
)

// serveStatic serves the embedded files under /static/. Assets come from
// the Brotli or gzip copy made at build time when the client accepts one,
// so nothing is compressed while serving.
func serveStatic(h *handlers.Handlers) gin.HandlerFunc {
	return func(c *gin.Context) {
		requested := strings.TrimPrefix(c.Param("name"), "/")
		name, immutable, ok := static.Resolve(requested)
		if !ok {
			h.NotFound(c)
			return
		}
		file, encoding := name, ""
		hdr := c.Writer.Header()
		if static.Compressed(name) {
			hdr.Set("Vary", "Accept-Encoding")
			switch {
			case acceptsEncoding(c.Request, "br"):
				file, encoding = name+".br", "br"
			case acceptsEncoding(c.Request, "gzip"):
				file, encoding = name+".gz", "gzip"
			}
		}
		ctype := mime.TypeByExtension(path.Ext(name))
		if ctype == "" {
			ctype = "application/octet-stream"
		}
		hdr.Set("Content-Type", ctype)
		switch {
		case immutable:
			hdr.Set("Cache-Control", immutableCache)
		case requested != name:
			hdr.Set("Cache-Control", otherBuildCache)
		default:
			hdr.Set("Cache-Control", shortCache)
		}
		if tag := static.Fingerprint(name); tag != "" {
			if encoding != "" {
				tag += "-" + encoding
			}
			tag = strconv.Quote(tag)
			hdr.Set("ETag", tag)
			if etagMatches(c.GetHeader("If-None-Match"), tag) {
				c.Status(http.StatusNotModified)
				return
			}
		}
		f, err := static.FS.Open(file)
		if err != nil {
			h.Fail(c, err)
			return
		}
		defer f.Close()
		info, err := f.Stat()
		if err != nil {
			h.Fail(c, err)
			return
		}
		if encoding != "" {
			hdr.Set("Content-Encoding", encoding)
		}
		// Set here, not left to net/http: it omits the length of an
		// encoded body.
		hdr.Set("Content-Length", strconv.FormatInt(info.Size(), 10))
		c.Status(http.StatusOK)
		if c.Request.Method == http.MethodHead {
			return
		}
		io.Copy(c.Writer, f) // a write error is the client gone: nothing to do
	}
}

// acceptsEncoding reports whether the request's Accept-Encoding lists
// coding with a q-value above zero ("br", "gzip;q=0.5"), or, when it does
// not name it, a "*" above zero.
func acceptsEncoding(r *http.Request, coding string) bool {
	star := false
	for _, v := range r.Header.Values("Accept-Encoding") {
		for part := range strings.SplitSeq(v, ",") {
			name, params, _ := strings.Cut(part, ";")
			name = strings.TrimSpace(name)
			if !strings.EqualFold(name, coding) && name != "*" {
				continue
			}
			q := 1.0
			for p := range strings.SplitSeq(params, ";") {
				k, val, _ := strings.Cut(strings.TrimSpace(p), "=")
				if strings.EqualFold(k, "q") {
					if f, err := strconv.ParseFloat(val, 64); err == nil {
						q = f
					}
				}
			}
			if name != "*" {
				return q > 0
			}
			star = q > 0
		}
	}
	return star
}

// etagMatches reports whether an If-None-Match header ("*", or a
// comma-separated list of tags, weak or strong) names tag.
func etagMatches(header, tag string) bool {
	for t := range strings.SplitSeq(header, ",") {
		t = strings.TrimSpace(t)
		if t == "*" || strings.TrimPrefix(t, "W/") == tag {
			return true
		}
	}
	return false
}
