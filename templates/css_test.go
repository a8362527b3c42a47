package templates

import (
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"checkout/static"
)

var (
	cssComment   = regexp.MustCompile(`(?s)/\*.*?\*/`)
	cssBlock     = regexp.MustCompile(`\{[^{}]*\}`)
	cssClass     = regexp.MustCompile(`\.([a-zA-Z_][\w-]*)`)
	classAttr    = regexp.MustCompile(`class="([^"]*)"`)
	classExpr    = regexp.MustCompile(`class=\{([^}]*)\}`)
	goStringLit  = regexp.MustCompile(`"([^"\\]*)"`)
	selectorAttr = regexp.MustCompile(`hx-[a-z-]+="([^"]*)"`)
)

// TestEveryStylesheetClassIsUsed keeps dead rules out of app.css, which
// every customer downloads: each class a selector names must be one that
// a template writes (literally, in a class expression, or through the
// status helpers).
func TestEveryStylesheetClassIsUsed(t *testing.T) {
	css, err := fs.ReadFile(static.FS, "app.css")
	if err != nil {
		t.Fatal(err)
	}
	used := map[string]bool{}
	add := func(s string) {
		for _, c := range strings.Fields(s) {
			used[c] = true
		}
	}
	templs, err := filepath.Glob("*.templ")
	if err != nil || len(templs) == 0 {
		t.Fatalf("templ sources: %v %v", templs, err)
	}
	for _, name := range append(templs, "helpers.go") {
		src, err := os.ReadFile(name)
		if err != nil {
			t.Fatal(err)
		}
		s := string(src)
		if strings.HasSuffix(name, ".go") {
			for _, m := range goStringLit.FindAllStringSubmatch(s, -1) {
				add(m[1])
			}
			continue
		}
		for _, m := range classAttr.FindAllStringSubmatch(s, -1) {
			add(m[1])
		}
		for _, m := range classExpr.FindAllStringSubmatch(s, -1) {
			for _, lit := range goStringLit.FindAllStringSubmatch(m[1], -1) {
				add(lit[1])
			}
		}
		for _, m := range selectorAttr.FindAllStringSubmatch(s, -1) {
			for _, c := range cssClass.FindAllStringSubmatch(m[1], -1) {
				used[c[1]] = true
			}
		}
	}
	// badgeClass and statusClass add the status to a prefix.
	for status := range statusLabels {
		used["badge-"+status], used["status-"+status] = true, true
	}
	selectors := cssBlock.ReplaceAllString(cssComment.ReplaceAllString(string(css), ""), "{}")
	seen := map[string]bool{}
	for _, m := range cssClass.FindAllStringSubmatch(selectors, -1) {
		c := m[1]
		if !used[c] && !seen[c] {
			t.Errorf("app.css styles .%s, which no template writes: remove the rule", c)
		}
		seen[c] = true
	}
	if len(seen) < 20 {
		t.Fatalf("found only %d classes in app.css: the test reads it wrong", len(seen))
	}
}
