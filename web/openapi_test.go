package web_test

import (
	"encoding/json"
	"io"
	"net/http"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/PuerkitoBio/goquery"

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

// TestAPIDocsPageShowsEveryOperationParameterAnswerAndSchema: GET
// /docs/api renders the document: a section per operation with its
// method, path, parameters and every answer's status, a section per
// schema with every property; no script and no third-party origin.
func TestAPIDocsPageShowsEveryOperationParameterAnswerAndSchema(t *testing.T) {
	e := newEnv(t, envOptions{})
	p := e.browser().get(e.app.URL + "/docs/api")
	if p.status != http.StatusOK {
		t.Fatalf("GET /docs/api: %d", p.status)
	}
	if n := p.doc.Find("script").Length(); n != 0 {
		t.Errorf("the page has %d script elements, want none", n)
	}
	if n := p.doc.Find("[style]").Length(); n != 0 {
		t.Errorf("the page has %d inline styles", n)
	}
	p.doc.Find("link[href], a[href]").Each(func(_ int, s *goquery.Selection) {
		href := s.AttrOr("href", "")
		if strings.Contains(href, "//") {
			t.Errorf("the page links another origin: %s", href)
		}
	})
	doc := apicheck.For(t).Doc()
	ops := 0
	for path, item := range doc.Paths.Map() {
		for method, op := range item.Operations() {
			ops++
			sec := p.doc.Find("section#op-" + op.OperationID)
			if sec.Length() != 1 {
				t.Errorf("%s %s: no section op-%s", method, path, op.OperationID)
				continue
			}
			if h := sec.Find("h3").Text(); !strings.Contains(h, method) || !strings.Contains(h, path) {
				t.Errorf("%s %s: heading %q", method, path, h)
			}
			names := sec.Find("code.docs-name").Map(func(_ int, s *goquery.Selection) string { return s.Text() })
			for _, prm := range append(item.Parameters, op.Parameters...) {
				if !slices.Contains(names, prm.Value.Name) {
					t.Errorf("%s %s: parameter %s not shown (%v)", method, path, prm.Value.Name, names)
				}
			}
			statuses := sec.Find(".docs-status").Map(func(_ int, s *goquery.Selection) string { return s.Text() })
			for status := range op.Responses.Map() {
				if !slices.Contains(statuses, status) {
					t.Errorf("%s %s: answer %s not shown (%v)", method, path, status, statuses)
				}
			}
			if op.RequestBody != nil && sec.Find("h4:contains('Request body')").Length() != 1 {
				t.Errorf("%s %s: the request body is not shown", method, path)
			}
		}
	}
	if ops != 14 {
		t.Errorf("%d operations in the document, want 14", ops)
	}
	for name, s := range doc.Components.Schemas {
		sec := p.doc.Find("section#schema-" + name)
		if sec.Length() != 1 {
			t.Errorf("schema %s: no section", name)
			continue
		}
		names := sec.Find("code.docs-name").Map(func(_ int, s *goquery.Selection) string { return s.Text() })
		for prop := range s.Value.Properties {
			if !slices.Contains(names, prop) {
				t.Errorf("schema %s: property %s not shown (%v)", name, prop, names)
			}
		}
	}
	// Links to schemas land on a section.
	p.doc.Find("a[href^='#']").Each(func(_ int, s *goquery.Selection) {
		if id := strings.TrimPrefix(s.AttrOr("href", ""), "#"); p.doc.Find("#"+id).Length() != 1 {
			t.Errorf("link to #%s lands nowhere", id)
		}
	})
}

// TestAPIDocsPageHasTheStrictCSPAndAnETag: the page is served under the
// app's CSP (nothing from another origin), with an ETag that answers 304.
func TestAPIDocsPageHasTheStrictCSPAndAnETag(t *testing.T) {
	e := newEnv(t, envOptions{})
	res, err := http.Get(e.app.URL + "/docs/api")
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	csp := res.Header.Get("Content-Security-Policy")
	for _, want := range []string{"default-src 'self'", "script-src 'nonce-", "style-src 'self'", "object-src 'none'", "frame-ancestors 'none'"} {
		if !strings.Contains(csp, want) {
			t.Errorf("CSP %q lacks %q", csp, want)
		}
	}
	if strings.Contains(csp, "http") || strings.Contains(csp, "unsafe-inline") {
		t.Errorf("CSP %q allows another origin or inline code", csp)
	}
	tag := res.Header.Get("ETag")
	if res.StatusCode != http.StatusOK || tag == "" || !strings.HasPrefix(res.Header.Get("Content-Type"), "text/html") {
		t.Fatalf("GET /docs/api: %d, ETag %q, Content-Type %q", res.StatusCode, tag, res.Header.Get("Content-Type"))
	}
	req, err := http.NewRequest(http.MethodGet, e.app.URL+"/docs/api", nil)
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("If-None-Match", tag)
	res, err = http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	if res.StatusCode != http.StatusNotModified {
		t.Fatalf("with If-None-Match: %d", res.StatusCode)
	}
}

// TestEveryDocumentedOperationAnswersAsTheDocumentSays walks every
// operation of the document once with a request it allows (a 2xx) and
// with requests it refuses (each a 4xx); the harness's apicheck holds
// every one of these exchanges to the document, so an operation the rest
// of the suite reached only by chance is checked here for certain.
func TestEveryDocumentedOperationAnswersAsTheDocumentSays(t *testing.T) {
	e := transferEnv(t)
	idOf := func(b []byte) string {
		t.Helper()
		var obj struct{ ID string }
		if err := json.Unmarshal(b, &obj); err != nil || obj.ID == "" {
			t.Fatalf("no id in %s", b)
		}
		return obj.ID
	}
	want := func(what string, status int, got int, b []byte) {
		t.Helper()
		if got != status {
			t.Errorf("%s: %d, want %d: %s", what, got, status, b)
		}
	}

	st, _, b := e.call(testAPIKey, http.MethodPost, "/api/v1/checkouts",
		`{"amount": 1500, "currency": "KES", "reference": "tour-1", "description": "Tour", "customer": {"name": "Jane", "email": "jane@example.com", "phone": "0712345678"},
		  "success_url": "https://shop.example/ok", "cancel_url": "https://shop.example/no", "methods": ["pesapal"], "metadata": {"cart": "7"}, "expires_in": 900}`, map[string]string{"Idempotency-Key": "tour-1"})
	want("create checkout", http.StatusCreated, st, b)
	co := idOf(b)
	st, _, b = e.call(testAPIKey, http.MethodGet, "/api/v1/checkouts/"+co, "", nil)
	want("get checkout", http.StatusOK, st, b)
	e.payByIPN(co)
	st, _, b = e.call(testAPIKey, http.MethodGet, "/api/v1/checkouts/"+co, "", nil)
	want("get paid checkout", http.StatusOK, st, b)
	st, _, b = e.call(testAPIKey, http.MethodGet, "/api/v1/checkouts?limit=1", "", nil)
	want("list checkouts", http.StatusOK, st, b)
	st, _, b = e.call(testAPIKey, http.MethodGet, "/api/v1/checkouts?status=paid&reference=tour-1&starting_after="+co, "", nil)
	want("list checkouts filtered, after one", http.StatusOK, st, b)

	st, _, b = e.call(testAPIKey, http.MethodPost, "/api/v1/payment_links",
		`{"currency": "KES", "description": "Donations", "min_amount": "10", "max_amount": 5000, "reference_prefix": "don",
		  "single_use": true, "expires_at": "2099-01-01T00:00:00Z", "methods": ["pesapal"], "success_url": "https://shop.example/thanks", "metadata": {"a": "b"}}`, map[string]string{"Idempotency-Key": "tour-link"})
	want("create payment link", http.StatusCreated, st, b)
	link := idOf(b)
	st, _, b = e.call(testAPIKey, http.MethodGet, "/api/v1/payment_links?limit=1", "", nil)
	want("list payment links", http.StatusOK, st, b)
	st, _, b = e.call(testAPIKey, http.MethodGet, "/api/v1/payment_links/"+link, "", nil)
	want("get payment link", http.StatusOK, st, b)
	st, _, b = e.call(testAPIKey, http.MethodPost, "/api/v1/payment_links/"+link+"/deactivate", "", nil)
	want("deactivate payment link", http.StatusOK, st, b)

	st, _, b = e.call(testAPIKey, http.MethodPost, "/api/v1/checkouts/"+co+"/refunds", `{"reason": "tour"}`, map[string]string{"Idempotency-Key": "tour-refund"})
	want("refund", http.StatusCreated, st, b)
	refund := idOf(b)
	st, _, b = e.call(testAPIKey, http.MethodGet, "/api/v1/refunds?starting_after="+refund, "", nil)
	want("list refunds", http.StatusOK, st, b)
	st, _, b = e.call(testAPIKey, http.MethodGet, "/api/v1/refunds/"+refund, "", nil)
	want("get refund", http.StatusOK, st, b)

	st, _, b = e.call(testAPIKey, http.MethodPost, "/api/v1/payouts",
		`{"amount": "250", "phone": "0712345678", "name": "Jane", "reference": "tour-po", "description": "Tour"}`, nil)
	want("create payout", http.StatusCreated, st, b)
	payout := idOf(b)
	st, _, b = e.call(testAPIKey, http.MethodGet, "/api/v1/payouts?limit=100", "", nil)
	want("list payouts", http.StatusOK, st, b)
	st, _, b = e.call(testAPIKey, http.MethodGet, "/api/v1/payouts/"+payout, "", nil)
	want("get payout", http.StatusOK, st, b)

	// Requests the document refuses: each answered with a 4xx (the
	// harness fails the test for a 2xx).
	for _, tc := range []struct {
		method, path, body string
		status             int
	}{
		{http.MethodPost, "/api/v1/checkouts", `{"amount": "1", "currency": "KES", "reference": "r", "description": "d", "expires_in": 60}`, 422},
		{http.MethodPost, "/api/v1/checkouts", `{"amount": "1", "currency": "KES", "reference": "r", "description": "d", "methods": []}`, 422},
		{http.MethodPost, "/api/v1/checkouts", `{"amount": "1", "currency": "KES", "reference": "r", "description": "d", "metadata": {"a": 1}}`, 422},
		{http.MethodPost, "/api/v1/checkouts", `{"amount": "1.234", "currency": "KES", "reference": "r", "description": "d"}`, 422},
		{http.MethodPost, "/api/v1/checkouts", `{"amount": "1", "currency": "kes", "reference": "r", "description": "d"}`, 422},
		{http.MethodPost, "/api/v1/checkouts", `{"amount": "1", "currency": "KES", "reference": "r", "description": "d", "colour": "red"}`, 400},
		{http.MethodPost, "/api/v1/checkouts", `{"amount": "1", "currency": "KES", "reference": "r", "description": "d", "locale": "fr"}`, 0},
		{http.MethodPost, "/api/v1/payment_links", `{"amount": "1", "min_amount": "1", "currency": "KES", "description": "d"}`, 422},
		{http.MethodPost, "/api/v1/checkouts/" + co + "/refunds", `{"amount": "abc"}`, 0},
		{http.MethodPost, "/api/v1/payouts", `{"amount": "250.50", "phone": "0712345678"}`, 422},
		{http.MethodPost, "/api/v1/payouts", `{"amount": "250"}`, 422},
		{http.MethodGet, "/api/v1/refunds?limit=0", "", 422},
		{http.MethodGet, "/api/v1/payouts?limit=many", "", 422},
		{http.MethodGet, "/api/v1/checkouts/chk_none", "", 404},
		{http.MethodGet, "/api/v1/checkouts?limit=101", "", 422},
		{http.MethodGet, "/api/v1/checkouts?status=refunded", "", 422},
		{http.MethodGet, "/api/v1/checkouts?reference=", "", 422},
		{http.MethodGet, "/api/v1/checkouts?starting_after=chk_none", "", 404},
		{http.MethodDelete, "/api/v1/checkouts/" + co, "", 404},
	} {
		st, _, b := e.call(testAPIKey, tc.method, tc.path, tc.body, nil)
		if st < 400 || st > 499 || (tc.status != 0 && st != tc.status) {
			t.Errorf("%s %s %s: %d, want %d: %s", tc.method, tc.path, tc.body, st, tc.status, b)
		}
	}
	if st, _, b := e.call("", http.MethodGet, "/api/v1/payouts", "", nil); st != http.StatusUnauthorized {
		t.Errorf("no key: %d %s", st, b)
	}
}
