package static

import (
	"bytes"
	"compress/gzip"
	"crypto/sha256"
	"encoding/hex"
	"io"
	"io/fs"
	"testing"

	"github.com/andybalholm/brotli"
)

func TestFSHoldsServedFiles(t *testing.T) {
	for _, name := range []string{"app.css", "htmx-2.0.11.min.js", "htmx-LICENSE.txt", "favicon.svg"} {
		b, err := fs.ReadFile(FS, name)
		if err != nil {
			t.Errorf("%s: %v", name, err)
			continue
		}
		if len(b) == 0 {
			t.Errorf("%s is empty", name)
		}
	}
}

// TestGeneratedFilesMatchSources fails when an asset changed without `make
// generate`: its fingerprint must be its content's hash, and its .br and
// .gz copies must decompress to its current content.
func TestGeneratedFilesMatchSources(t *testing.T) {
	for name, f := range fingerprinted {
		src, err := fs.ReadFile(FS, name)
		if err != nil {
			t.Fatal(err)
		}
		sum := sha256.Sum256(src)
		if got := Fingerprint(name); got != hex.EncodeToString(sum[:5]) {
			t.Errorf("%s: fingerprint %s (%s) is not its content's: run 'make generate' and commit", name, got, f)
		}
		br, err := fs.ReadFile(FS, name+".br")
		if err != nil {
			t.Fatalf("%s.br: %v: run 'make generate' and commit", name, err)
		}
		if plain, err := io.ReadAll(brotli.NewReader(bytes.NewReader(br))); err != nil || !bytes.Equal(plain, src) {
			t.Errorf("%s.br is stale (err %v): run 'make generate' and commit", name, err)
		}
		gz, err := fs.ReadFile(FS, name+".gz")
		if err != nil {
			t.Fatalf("%s.gz: %v: run 'make generate' and commit", name, err)
		}
		zr, err := gzip.NewReader(bytes.NewReader(gz))
		if err != nil {
			t.Fatalf("%s.gz: %v", name, err)
		}
		if plain, err := io.ReadAll(zr); err != nil || !bytes.Equal(plain, src) {
			t.Errorf("%s.gz is stale (err %v): run 'make generate' and commit", name, err)
		}
		if len(br) >= len(src) || len(gz) >= len(src) {
			t.Errorf("%s: compressed copies (br %d, gz %d bytes) are not smaller than the file (%d)", name, len(br), len(gz), len(src))
		}
	}
}

func TestURLIsFingerprinted(t *testing.T) {
	for _, tc := range []struct{ name, want string }{
		{"app.css", "/static/app." + Fingerprint("app.css") + ".css"},
		{"htmx-2.0.11.min.js", "/static/htmx-2.0.11.min." + Fingerprint("htmx-2.0.11.min.js") + ".js"},
		{"favicon.svg", "/static/favicon." + Fingerprint("favicon.svg") + ".svg"},
		{"htmx-LICENSE.txt", "/static/htmx-LICENSE.txt"},
	} {
		if got := URL(tc.name); got != tc.want {
			t.Errorf("URL(%q) = %q, want %q", tc.name, got, tc.want)
		}
		if tc.name != "htmx-LICENSE.txt" && len(Fingerprint(tc.name)) != 10 {
			t.Errorf("Fingerprint(%q) = %q, want 10 hex digits", tc.name, Fingerprint(tc.name))
		}
	}
}

func TestResolve(t *testing.T) {
	css := "app." + Fingerprint("app.css") + ".css"
	for _, tc := range []struct {
		requested, name string
		immutable, ok   bool
	}{
		{css, "app.css", true, true},
		{"app.css", "app.css", false, true},
		{"app.0123456789.css", "app.css", false, true}, // another build's fingerprint
		{"htmx-2.0.11.min." + Fingerprint("htmx-2.0.11.min.js") + ".js", "htmx-2.0.11.min.js", true, true},
		{"htmx-LICENSE.txt", "htmx-LICENSE.txt", false, true},
		{"app.css.br", "", false, false},
		{"app.0123456789.js", "", false, false},
		{"app.012345678Z.css", "", false, false},
		{"other.0123456789.css", "", false, false},
		{"static.go", "", false, false},
		{"", "", false, false},
	} {
		name, immutable, ok := Resolve(tc.requested)
		if name != tc.name || immutable != tc.immutable || ok != tc.ok {
			t.Errorf("Resolve(%q) = %q, %v, %v; want %q, %v, %v", tc.requested, name, immutable, ok, tc.name, tc.immutable, tc.ok)
		}
	}
}

// TestStylesheetBracesBalance fails when a rule of app.css is left open
// (as a merge can leave it): the browser would then read every rule after
// it as nested in it, and the pages those rules style would show unstyled.
func TestStylesheetBracesBalance(t *testing.T) {
	css, err := fs.ReadFile(FS, "app.css")
	if err != nil {
		t.Fatal(err)
	}
	depth, line, comment := 0, 1, false
	for i := 0; i < len(css); i++ {
		switch c := css[i]; {
		case comment:
			if c == '*' && i+1 < len(css) && css[i+1] == '/' {
				comment = false
				i++
			} else if c == '\n' {
				line++
			}
		case c == '/' && i+1 < len(css) && css[i+1] == '*':
			comment = true
			i++
		case c == '\n':
			line++
		case c == '{':
			depth++
		case c == '}':
			depth--
			if depth < 0 {
				t.Fatalf("app.css line %d: a } closes no rule", line)
			}
		}
	}
	if comment {
		t.Error("app.css ends inside a comment")
	}
	if depth != 0 {
		t.Errorf("app.css ends with %d rule(s) left open", depth)
	}
}
