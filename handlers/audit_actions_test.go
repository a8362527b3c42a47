package handlers_test

import (
	"go/ast"
	"go/parser"
	"go/token"
	"os"
	"slices"
	"strconv"
	"strings"
	"testing"

	"checkout/handlers"
)

// auditCall is one h.audit call of the package's code.
type auditCall struct {
	pos token.Position
	fn  *ast.FuncDecl // the function it is in
	arg ast.Expr      // its action
}

// writtenAuditActions reads the package's code and returns every action
// its h.audit calls can write: a literal, or a parameter plus a literal
// suffix (kind+".approve") with the parameter fed by literals at every call
// of its function. An action it cannot resolve is reported.
func writtenAuditActions(t *testing.T) map[string][]string {
	t.Helper()
	fset := token.NewFileSet()
	entries, err := os.ReadDir(".")
	if err != nil {
		t.Fatal(err)
	}
	var files []*ast.File
	for _, en := range entries {
		n := en.Name()
		if !strings.HasSuffix(n, ".go") || strings.HasSuffix(n, "_test.go") {
			continue
		}
		f, err := parser.ParseFile(fset, n, nil, 0)
		if err != nil {
			t.Fatal(err)
		}
		files = append(files, f)
	}
	var calls []auditCall
	// calls of each function by name: the literal strings passed at each
	// argument position (nil where one is not a literal).
	litArgs := map[string][][]*string{}
	for _, f := range files {
		for _, d := range f.Decls {
			fd, ok := d.(*ast.FuncDecl)
			if !ok || fd.Body == nil {
				continue
			}
			ast.Inspect(fd.Body, func(n ast.Node) bool {
				call, ok := n.(*ast.CallExpr)
				if !ok {
					return true
				}
				sel, ok := call.Fun.(*ast.SelectorExpr)
				if !ok {
					return true
				}
				var lits []*string
				for _, a := range call.Args {
					if s, ok := stringLit(a); ok {
						lits = append(lits, &s)
					} else {
						lits = append(lits, nil)
					}
				}
				litArgs[sel.Sel.Name] = append(litArgs[sel.Sel.Name], lits)
				if sel.Sel.Name == "audit" && len(call.Args) == 5 {
					calls = append(calls, auditCall{pos: fset.Position(call.Pos()), fn: fd, arg: call.Args[1]})
				}
				return true
			})
		}
	}
	if len(calls) < 30 {
		t.Fatalf("found %d h.audit calls; the scan is broken", len(calls))
	}
	written := map[string][]string{} // action -> where
	for _, c := range calls {
		if s, ok := stringLit(c.arg); ok {
			written[s] = append(written[s], c.pos.String())
			continue
		}
		// param + ".suffix"
		be, ok := c.arg.(*ast.BinaryExpr)
		id, okX := identOf(be)
		suffix, okY := "", false
		if ok && okX {
			suffix, okY = stringLit(be.Y)
		}
		idx := paramIndex(c.fn, id)
		if !ok || be.Op != token.ADD || !okX || !okY || idx < 0 {
			t.Errorf("%s: the audit action is neither a literal nor a parameter + a literal; write it so this test can read it", c.pos)
			continue
		}
		n := 0
		for _, args := range litArgs[c.fn.Name.Name] {
			if idx >= len(args) || args[idx] == nil {
				t.Errorf("%s: a call of %s passes %s as no literal", c.pos, c.fn.Name.Name, id)
				continue
			}
			written[*args[idx]+suffix] = append(written[*args[idx]+suffix], c.pos.String())
			n++
		}
		if n == 0 {
			t.Errorf("%s: %s is never called with a literal %s", c.pos, c.fn.Name.Name, id)
		}
	}
	return written
}

func stringLit(e ast.Expr) (string, bool) {
	bl, ok := e.(*ast.BasicLit)
	if !ok || bl.Kind != token.STRING {
		return "", false
	}
	s, err := strconv.Unquote(bl.Value)
	return s, err == nil
}

func identOf(be *ast.BinaryExpr) (string, bool) {
	if be == nil {
		return "", false
	}
	id, ok := be.X.(*ast.Ident)
	if !ok {
		return "", false
	}
	return id.Name, true
}

// paramIndex is the position of the parameter name among fd's arguments
// (-1 if it is none of them).
func paramIndex(fd *ast.FuncDecl, name string) int {
	i := 0
	for _, f := range fd.Type.Params.List {
		for _, n := range f.Names {
			if n.Name == name {
				return i
			}
			i++
		}
	}
	return -1
}

// TestEveryAuditActionWrittenIsKnown: every action the handlers write to
// the audit log is one the audit page's filter offers (handlers.AuditActions,
// DESIGN14's list), and every action offered is written somewhere.
func TestEveryAuditActionWrittenIsKnown(t *testing.T) {
	written := writtenAuditActions(t)
	for a, where := range written {
		if !slices.Contains(handlers.AuditActions, a) {
			t.Errorf("action %q (written at %v) is not in handlers.AuditActions", a, where)
		}
	}
	for _, a := range handlers.AuditActions {
		if _, ok := written[a]; !ok {
			t.Errorf("handlers.AuditActions offers %q, which no handler writes", a)
		}
	}
	if len(written) != len(handlers.AuditActions) {
		t.Errorf("%d actions written, %d offered", len(written), len(handlers.AuditActions))
	}
}
