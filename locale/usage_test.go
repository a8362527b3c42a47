package locale

import (
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

// usedIDs finds the message ids the app's code asks for: the first string
// argument of the calls that take one (templates' t, tf, rich, richPlural;
// handlers' tr, trf, customerNotice; payments' customerMsg; locale's own
// functions), and the method label pairs. Ids made at run time
// (status_*, month_*, weekday_*) are checked by the tests of their pages.
var (
	idCall = regexp.MustCompile(`(?:\b(?:t|tf|tr|trf|rich|richPlural|customerMsg)|locale\.(?:Text|Format|Plural|PluralForm|T))\((?:[^"()]|\([^()]*\))*?"([a-z0-9_]+)"\s*[,)]`)
	idPair = regexp.MustCompile(`customerNotice(?:WithLink)?\([^"]*"([a-z0-9_]+)", "([a-z0-9_]+)"`)
	idMap  = regexp.MustCompile(`\{"((?:method|stk)_[a-z0-9_]+)", "([a-z0-9_]+)"\}`)
)

func TestEveryMessageTheCodeUsesIsInTheCatalog(t *testing.T) {
	found := 0
	err := filepath.WalkDir("..", func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() && (strings.HasPrefix(d.Name(), ".") && path != ".." || d.Name() == "testdata") {
			return filepath.SkipDir
		}
		if d.IsDir() || strings.HasSuffix(path, "_test.go") || strings.HasSuffix(path, "_templ.go") ||
			!(strings.HasSuffix(path, ".go") || strings.HasSuffix(path, ".templ")) {
			return nil
		}
		src, err := os.ReadFile(path)
		if err != nil {
			return err
		}
		check := func(id string) {
			found++
			if !Has(id) {
				t.Errorf("%s asks for message %q, which the catalog lacks", path, id)
			}
		}
		for _, m := range idCall.FindAllStringSubmatch(string(src), -1) {
			check(m[1])
		}
		for _, re := range []*regexp.Regexp{idPair, idMap} {
			for _, m := range re.FindAllStringSubmatch(string(src), -1) {
				check(m[1])
				check(m[2])
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if found < 100 {
		t.Errorf("found only %d uses of messages: the patterns no longer match the code", found)
	}
}
