// Package static holds the files served under /static/: the stylesheet,
// the icon and the vendored htmx release (its version is in the file name,
// its licence beside it). They are embedded so the binary is the whole app.
//
// Each asset also comes precompressed (NAME.br, NAME.gz) and fingerprinted
// (assets_gen.go), both made at build time by `go generate ./static` (make
// generate) and committed; the tests fail when they are stale. Pages link
// an asset through URL, so a new build gets new URLs and a browser may keep
// every asset for a year without asking again.
package static

//go:generate go run ./internal/gen

import (
	"embed"
	"path"
	"strings"
)

// FS holds every stylesheet, script, icon and text file of this folder and
// their precompressed copies, at the root of the file system (app.css,
// app.css.br, app.css.gz, htmx-2.0.11.min.js, htmx-LICENSE.txt, ...).
//
//go:embed *.css *.js *.txt *.svg *.br *.gz
var FS embed.FS

// URL is the path pages link an asset at, fingerprinted by its content:
// URL("app.css") is /static/app.0123456789.css. A file that is not
// fingerprinted (the licence) keeps its plain path.
func URL(name string) string {
	if u, ok := urls[name]; ok {
		return u
	}
	return "/static/" + name
}

// urls are URL's answers for the fingerprinted assets, made once: every
// page links three of them on every view.
var urls = func() map[string]string {
	m := make(map[string]string, len(fingerprinted))
	for name, f := range fingerprinted {
		m[name] = "/static/" + f
	}
	return m
}()

// Resolve maps a file name requested under /static/ to the file to serve.
// immutable is true when the name is the asset's current fingerprinted
// name, whose content never changes. A plain name (app.css, kept for old
// links) or a fingerprint of another build (a page from an older or newer
// instance during a deploy) gets the current file, but not immutable.
func Resolve(requested string) (name string, immutable, ok bool) {
	if _, ok := fingerprinted[requested]; ok {
		return requested, false, true
	}
	if requested == "htmx-LICENSE.txt" {
		return requested, false, true
	}
	// app.0123456789.css: the logical name is app.css.
	ext := path.Ext(requested)
	base := strings.TrimSuffix(requested, ext)
	dot := strings.LastIndexByte(base, '.')
	if dot < 0 || len(base)-dot-1 != 10 || strings.Trim(base[dot+1:], "0123456789abcdef") != "" {
		return "", false, false
	}
	logical := base[:dot] + ext
	f, ok := fingerprinted[logical]
	if !ok {
		return "", false, false
	}
	return logical, f == requested, true
}

// Compressed reports whether name has precompressed copies (NAME.br and
// NAME.gz in FS).
func Compressed(name string) bool {
	_, ok := fingerprinted[name]
	return ok
}

// Fingerprint is the hash part of an asset's fingerprinted name (its ETag),
// "" for a file that has none.
func Fingerprint(name string) string {
	f, ok := fingerprinted[name]
	if !ok {
		return ""
	}
	base := strings.TrimSuffix(f, path.Ext(f))
	return base[strings.LastIndexByte(base, '.')+1:]
}
