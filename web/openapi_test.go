package web_test

import (
	"io"
	"net/http"
	"regexp"
	"slices"
	"strings"
	"testing"

	"checkout/web/apicheck"
)

// ginParam turns Gin's :id into OpenAPI's {id}.
var ginParam = regexp.MustCompile(`:([A-Za-z_]+)`)

// TestEveryAPIRouteIsDocumentedAndEveryDocumentedPathIsARoute: the
// engine's routes under /api/ and the document's operations are the same
// set (method and path).
func TestEveryAPIRouteIsDocumentedAndEveryDocumentedPathIsARoute(t *testing.T) {
	e := newEnv(t, envOptions{})
	var routes []string
	for _, r := range e.engine.Routes() {
		if strings.HasPrefix(r.Path, "/api/") {
			routes = append(routes, r.Method+" "+ginParam.ReplaceAllString(r.Path, "{$1}"))
		}
	}
	var documented []string
	for path, item := range apicheck.For(t).Doc().Paths.Map() {
		for method := range item.Operations() {
			documented = append(documented, method+" "+path)
		}
	}
	slices.Sort(routes)
	slices.Sort(documented)
	if len(routes) < 13 {
		t.Fatalf("only %d API routes found: %v", len(routes), routes)
	}
	for _, r := range routes {
		if !slices.Contains(documented, r) {
			t.Errorf("route %s is not in the OpenAPI document", r)
		}
	}
	for _, d := range documented {
		if !slices.Contains(routes, d) {
			t.Errorf("the OpenAPI document has %s, which is no route", d)
		}
	}
}

// TestOpenAPIDocumentIsServedPublicWithAnETag: GET /api/openapi.json needs
// no key, answers the document with an ETag, and 304 to a client that has
// it.
func TestOpenAPIDocumentIsServedPublicWithAnETag(t *testing.T) {
	e := newEnv(t, envOptions{})
	res, err := http.Get(e.app.URL + "/api/openapi.json")
	if err != nil {
		t.Fatal(err)
	}
	body, err := io.ReadAll(res.Body)
	res.Body.Close()
	if err != nil {
		t.Fatal(err)
	}
	tag := res.Header.Get("ETag")
	if res.StatusCode != http.StatusOK || tag == "" || !strings.HasPrefix(res.Header.Get("Content-Type"), "application/json") {
		t.Fatalf("GET /api/openapi.json: %d, ETag %q, Content-Type %q", res.StatusCode, tag, res.Header.Get("Content-Type"))
	}
	if !strings.Contains(string(body), `"openapi": "3.1.0"`) {
		t.Fatalf("the answer is not the 3.1 document: %.200s", body)
	}
	if cc := res.Header.Get("Cache-Control"); cc != "public, max-age=300" {
		t.Errorf("Cache-Control %q", cc)
	}
	req, err := http.NewRequest(http.MethodGet, e.app.URL+"/api/openapi.json", nil)
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("If-None-Match", tag)
	res, err = http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	if res.StatusCode != http.StatusNotModified || res.Header.Get("ETag") != tag {
		t.Fatalf("with If-None-Match: %d, ETag %q", res.StatusCode, res.Header.Get("ETag"))
	}
}
