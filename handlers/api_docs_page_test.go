package handlers_test

import (
	"strings"
	"testing"

	"checkout/handlers"
)

// TestAPIDocsViewKeepsTheDocumentsOrderAndLinksSchemas: the page lists
// the paths and an object's properties in the document's order (not
// sorted), writes type arrays as "x or null", and links a $ref to its
// schema's section.
func TestAPIDocsViewKeepsTheDocumentsOrderAndLinksSchemas(t *testing.T) {
	doc := `{"openapi": "3.1.0", "info": {"title": "T", "version": "1", "description": "One.\n\nTwo."},
	"tags": [{"name": "B"}, {"name": "A"}],
	"paths": {
		"/z": {"get": {"operationId": "getZ", "tags": ["B"], "summary": "Z", "responses": {"200": {"description": "ok",
			"content": {"application/json": {"schema": {"$ref": "#/components/schemas/Thing"}}}}}}},
		"/a": {"post": {"operationId": "postA", "tags": ["A"], "security": [], "summary": "A", "responses": {"204": {"description": "none"}}}}
	},
	"components": {"schemas": {"Thing": {"type": "object", "required": ["zeta"], "properties": {
		"zeta": {"type": ["string", "null"], "maxLength": 1},
		"alpha": {"type": "string", "enum": ["x", "y"]}
	}}}}}`
	v, err := handlers.APIDocsView([]byte(doc))
	if err != nil {
		t.Fatal(err)
	}
	if len(v.Intro) != 2 || v.Intro[1] != "Two." {
		t.Errorf("intro %q", v.Intro)
	}
	if len(v.Groups) != 2 || v.Groups[0].Name != "B" || v.Groups[0].Operations[0].Path != "/z" || v.Groups[1].Operations[0].Path != "/a" {
		t.Fatalf("groups %+v", v.Groups)
	}
	if op := v.Groups[1].Operations[0]; !op.Public || op.Method != "POST" || op.Anchor != "op-postA" || op.Responses[0].Body != nil {
		t.Errorf("POST /a: %+v", op)
	}
	body := v.Groups[0].Operations[0].Responses[0].Body
	if body == nil || body.Text != "Thing" || body.Ref != "schema-Thing" {
		t.Errorf("GET /z answer body %+v", body)
	}
	s := v.Schemas[0]
	if len(s.Fields) != 2 || s.Fields[0].Name != "zeta" || s.Fields[1].Name != "alpha" {
		t.Fatalf("fields %+v", s.Fields)
	}
	z := s.Fields[0]
	if !z.Required || len(z.Type.Parts) != 2 || z.Type.Parts[0].Text != "string" || z.Type.Parts[1].Text != "null" ||
		strings.Join(z.Rules, ";") != "at most 1 character" {
		t.Errorf("zeta %+v", z)
	}
	if a := s.Fields[1]; a.Required || a.Type.Text != `one of "x", "y"` {
		t.Errorf("alpha %+v", a)
	}
}

// TestAPIDocsViewRefusesADanglingRef: a $ref that names nothing is an
// error, not a silently empty section.
func TestAPIDocsViewRefusesADanglingRef(t *testing.T) {
	doc := `{"openapi": "3.1.0", "info": {"title": "T", "version": "1"}, "paths": {"/a": {"get": {"operationId": "a",
		"parameters": [{"$ref": "#/components/parameters/Nope"}], "responses": {"200": {"description": "ok"}}}}}}`
	if _, err := handlers.APIDocsView([]byte(doc)); err == nil || !strings.Contains(err.Error(), "Nope") {
		t.Fatalf("err %v, want the dangling $ref named", err)
	}
}
