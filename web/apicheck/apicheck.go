// Package apicheck holds the merchant API's requests and answers to its
// OpenAPI document (handlers.OpenAPIDocument), with kin-openapi's request
// and response validation. It is for tests only: web's test harness wraps
// the engine in Handler, and the tests of the binary give their HTTP
// clients Transport, so that every /api/ exchange the suite makes is
// checked and the document cannot drift from the code.
//
// The rules (Check):
//   - every answer matches the document: a status it lists for the
//     operation, the headers it requires, a body of the schema given;
//   - a request the server accepted (2xx) matches the document;
//   - a request the document calls invalid gets a 4xx;
//   - a path or method the document does not have gets a 4xx in the
//     error shape.
package apicheck

import (
	"bytes"
	"compress/gzip"
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"
	"sync"
	"testing"

	"github.com/andybalholm/brotli"
	"github.com/getkin/kin-openapi/openapi3"
	"github.com/getkin/kin-openapi/openapi3filter"
	"github.com/getkin/kin-openapi/routers"
	"github.com/getkin/kin-openapi/routers/legacy"

	"checkout/handlers"
)

// maxBody is how much of a request body is read for checking: more than
// the API takes (64 KiB), so a body past it is refused (413) anyway.
const maxBody = 256 << 10

// Load loads the document and validates it as OpenAPI 3.1.
func Load() (*openapi3.T, error) {
	loader := openapi3.NewLoader()
	doc, err := loader.LoadFromData(handlers.OpenAPIDocument())
	if err != nil {
		return nil, fmt.Errorf("apicheck: load the document: %w", err)
	}
	if doc.OpenAPIMajorMinor() != "3.1" {
		return nil, fmt.Errorf("apicheck: the document is OpenAPI %s, not 3.1", doc.OpenAPI)
	}
	if err := doc.Validate(loader.Context); err != nil {
		return nil, fmt.Errorf("apicheck: the document is not valid: %w", err)
	}
	return doc, nil
}

var (
	loadOnce sync.Once
	shared   *Checker
	loadErr  error
)

// Checker checks exchanges against the document.
type Checker struct {
	doc    *openapi3.T
	router routers.Router
	errSch *openapi3.Schema
}

// New is the Checker of the document, loaded once per test binary.
func New() (*Checker, error) {
	loadOnce.Do(func() {
		doc, err := Load()
		if err != nil {
			loadErr = err
			return
		}
		r, err := legacy.NewRouter(doc)
		if err != nil {
			loadErr = fmt.Errorf("apicheck: router: %w", err)
			return
		}
		shared = &Checker{doc: doc, router: r, errSch: doc.Components.Schemas["Error"].Value}
	})
	return shared, loadErr
}

// For is New for a test: it fails the test when the document cannot be
// loaded.
func For(tb testing.TB) *Checker {
	tb.Helper()
	c, err := New()
	if err != nil {
		tb.Fatal(err)
	}
	return c
}

// Doc is the loaded document.
func (c *Checker) Doc() *openapi3.T { return c.doc }

// Exchange is one request and its answer, bodies read whole (the answer's
// decoded from its Content-Encoding).
type Exchange struct {
	Request     *http.Request
	RequestBody []byte
	// RequestTruncated is true when the request body was longer than what
	// was read: it is not checked (the answer must be a 4xx).
	RequestTruncated bool
	Status           int
	Header           http.Header
	Body             []byte
}

// Applies reports whether a request is one the document speaks of: a
// path under /api/.
func Applies(r *http.Request) bool { return strings.HasPrefix(r.URL.Path, "/api/") }

// Check checks one exchange; nil when it keeps the rules.
func (c *Checker) Check(x Exchange) error {
	ctx := context.Background()
	req := x.Request.Clone(ctx)
	req.Body = io.NopCloser(bytes.NewReader(x.RequestBody))
	req.ContentLength = int64(len(x.RequestBody))
	// The document's server is this one ("/"): the path is what is
	// matched, whichever host a client dialled.
	req.URL.Scheme, req.URL.Host, req.Host = "", "", ""
	what := x.Request.Method + " " + x.Request.URL.RequestURI()

	route, params, err := c.router.FindRoute(req)
	if err != nil {
		// Not a documented operation: a 4xx in the error shape.
		if x.Status < 400 || x.Status > 499 {
			return fmt.Errorf("%s: not in the document (%v), yet answered %d", what, err, x.Status)
		}
		if err := c.errorShape(x); err != nil {
			return fmt.Errorf("%s: not in the document, answered %d: %w", what, x.Status, err)
		}
		return nil
	}
	opts := &openapi3filter.Options{
		IncludeResponseStatus: true,
		MultiError:            true,
		AuthenticationFunc:    bearer,
	}
	in := &openapi3filter.RequestValidationInput{Request: req, PathParams: params, Route: route, Options: opts}
	var reqErr error
	if x.RequestTruncated {
		reqErr = errors.New("request body too long to check")
	} else {
		reqErr = openapi3filter.ValidateRequest(ctx, in)
	}
	var errs []error
	switch {
	case reqErr != nil && x.Status >= 200 && x.Status <= 299:
		errs = append(errs, fmt.Errorf("the server accepted (%d) a request the document calls invalid: %w", x.Status, reqErr))
	case reqErr != nil && (x.Status < 400 || x.Status > 499):
		errs = append(errs, fmt.Errorf("the document calls the request invalid, but the answer is %d, not a 4xx: %w", x.Status, reqErr))
	}
	out := &openapi3filter.ResponseValidationInput{RequestValidationInput: in, Status: x.Status, Header: x.Header, Options: opts}
	out.SetBodyBytes(x.Body)
	if err := openapi3filter.ValidateResponse(ctx, out); err != nil {
		errs = append(errs, fmt.Errorf("the answer %d does not match the document: %w\nbody: %s", x.Status, err, clip(x.Body)))
	}
	if len(errs) > 0 {
		return fmt.Errorf("%s: %w", what, errors.Join(errs...))
	}
	return nil
}

// errorShape checks that an answer is the API's error object.
func (c *Checker) errorShape(x Exchange) error {
	if ct := x.Header.Get("Content-Type"); !strings.HasPrefix(ct, "application/json") {
		return fmt.Errorf("Content-Type %q, not JSON", ct)
	}
	v, err := decodeJSON(x.Body)
	if err != nil {
		return err
	}
	return c.errSch.VisitJSON(v, openapi3.EnableJSONSchema2020())
}

// bearer is the document's security scheme (http bearer) as the validator
// checks it: an Authorization header with a Bearer credential. Whether
// the key is right is the server's to say (401, which the document lists).
func bearer(_ context.Context, in *openapi3filter.AuthenticationInput) error {
	scheme, key, ok := strings.Cut(in.RequestValidationInput.Request.Header.Get("Authorization"), " ")
	if !ok || !strings.EqualFold(scheme, "Bearer") || strings.TrimSpace(key) == "" {
		return errors.New("no Bearer credential in Authorization")
	}
	return nil
}

func clip(b []byte) string {
	if len(b) > 2000 {
		return string(b[:2000]) + "..."
	}
	return string(b)
}

// decode undoes an answer's Content-Encoding.
func decode(enc string, body []byte) ([]byte, error) {
	switch strings.ToLower(strings.TrimSpace(enc)) {
	case "", "identity":
		return body, nil
	case "gzip":
		zr, err := gzip.NewReader(bytes.NewReader(body))
		if err != nil {
			return nil, err
		}
		return io.ReadAll(zr)
	case "br":
		return io.ReadAll(brotli.NewReader(bytes.NewReader(body)))
	}
	return nil, fmt.Errorf("unknown Content-Encoding %q", enc)
}

// readRequestBody reads up to maxBody of r's body and puts back a body
// that gives the whole of it again.
func readRequestBody(r *http.Request) ([]byte, bool, error) {
	if r.Body == nil || r.Body == http.NoBody {
		return nil, false, nil
	}
	head, err := io.ReadAll(io.LimitReader(r.Body, maxBody+1))
	if err != nil {
		return nil, false, err
	}
	truncated := len(head) > maxBody
	r.Body = struct {
		io.Reader
		io.Closer
	}{io.MultiReader(bytes.NewReader(head), r.Body), r.Body}
	if truncated {
		head = head[:maxBody]
	}
	return head, truncated, nil
}
