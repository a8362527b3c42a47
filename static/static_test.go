package static

import (
	"io/fs"
	"testing"
)

func TestFSHoldsServedFiles(t *testing.T) {
	for _, name := range []string{"app.css", "htmx-2.0.11.min.js", "htmx-LICENSE.txt"} {
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
