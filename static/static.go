// Package static holds the files served under /static/: the stylesheet and
// the vendored htmx release (its version is in the file name, its licence
// beside it). They are embedded so the binary is the whole app.
package static

import "embed"

// FS holds every stylesheet, script and text file of this folder, at the
// root of the file system (app.css, htmx-2.0.11.min.js, htmx-LICENSE.txt).
//
//go:embed *.css *.js *.txt *.svg
var FS embed.FS
