package handlers

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"net/http"
	"sort"
	"strconv"
	"strings"
	"sync"

	"github.com/gin-gonic/gin"

	"checkout/templates"
)

// APIDocs is GET /docs/api: the API's reference page, rendered from the
// OpenAPI document once per process (it is the same for everyone and
// carries no script, so no nonce), served with an ETag.
func (h *Handlers) APIDocs(c *gin.Context) {
	page, err := apiDocsPage()
	if err != nil {
		h.fail(c, err)
		return
	}
	hdr := c.Writer.Header()
	hdr["Cache-Control"] = []string{docsCache}
	hdr["Etag"] = []string{page.tag}
	if etagMatch(c.GetHeader("If-None-Match"), page.tag) {
		c.Status(http.StatusNotModified)
		c.Abort()
		return
	}
	writeHTML(c, http.StatusOK, page.body)
}

type renderedPage struct {
	body []byte
	tag  string
}

// apiDocsPage is the page, rendered on first use.
var apiDocsPage = sync.OnceValues(func() (renderedPage, error) {
	v, err := APIDocsView(openAPIDoc)
	if err != nil {
		return renderedPage{}, err
	}
	var buf bytes.Buffer
	if err := templates.APIDocsView(v).Render(context.Background(), &buf); err != nil {
		return renderedPage{}, fmt.Errorf("handlers: render the API reference: %w", err)
	}
	sum := sha256.Sum256(buf.Bytes())
	return renderedPage{body: buf.Bytes(), tag: `"` + hex.EncodeToString(sum[:12]) + `"`}, nil
})

// node is a JSON object of the document.
type node = map[string]any

// APIDocsView reads an OpenAPI 3.1 document (as JSON) into the reference
// page's view: the operations grouped by their first tag (tags in the
// document's order), each path's operations in the order GET, POST, then
// the schemas by name.
func APIDocsView(doc []byte) (templates.APIDocsPage, error) {
	var d node
	if err := json.Unmarshal(doc, &d); err != nil {
		return templates.APIDocsPage{}, fmt.Errorf("handlers: read the OpenAPI document: %w", err)
	}
	order, err := keyOrder(doc)
	if err != nil {
		return templates.APIDocsPage{}, fmt.Errorf("handlers: read the OpenAPI document: %w", err)
	}
	r := docReader{root: d, order: order}
	info := r.obj(d, "info")
	v := templates.APIDocsPage{Title: str(info, "title"), Version: str(info, "version"), DocumentURL: "/api/openapi.json"}
	for _, p := range strings.Split(str(info, "description"), "\n\n") {
		if p = strings.TrimSpace(p); p != "" {
			v.Intro = append(v.Intro, p)
		}
	}
	groups := map[string]*templates.APIGroup{}
	var tagOrder []string
	for _, t := range list(d["tags"]) {
		name := str(asNode(t), "name")
		groups[name] = &templates.APIGroup{Name: name}
		tagOrder = append(tagOrder, name)
	}
	paths := r.obj(d, "paths")
	for _, path := range r.keys("/paths", paths) {
		item := asNode(paths[path])
		shared := list(item["parameters"])
		for _, method := range []string{"get", "post", "put", "patch", "delete"} {
			op, ok := item[method].(node)
			if !ok {
				continue
			}
			o := r.operation(method, path, op, shared)
			tag := "Other"
			if ts := list(op["tags"]); len(ts) > 0 {
				tag, _ = ts[0].(string)
			}
			g, ok := groups[tag]
			if !ok {
				g = &templates.APIGroup{Name: tag}
				groups[tag] = g
				tagOrder = append(tagOrder, tag)
			}
			g.Operations = append(g.Operations, o)
		}
	}
	for _, name := range tagOrder {
		if g := groups[name]; len(g.Operations) > 0 {
			v.Groups = append(v.Groups, *g)
		}
	}
	schemas := r.obj(r.obj(d, "components"), "schemas")
	for _, name := range sortedKeys(schemas) {
		v.Schemas = append(v.Schemas, r.schema(name, asNode(schemas[name]), r.order["/components/schemas/"+name+"/properties"]))
	}
	return v, r.err
}

// docReader reads the document, resolving local $refs; err is the first
// $ref it could not resolve.
type docReader struct {
	root node
	// order is each object's keys in the document's order, by JSON
	// pointer (a Go map keeps none).
	order map[string][]string
	err   error
}

// keys are n's keys in the document's order when known (n is at JSON
// pointer ptr), else sorted.
func (r *docReader) keys(ptr string, n node) []string {
	if k, ok := r.order[ptr]; ok && len(k) == len(n) {
		return k
	}
	return sortedKeys(n)
}

// keyOrder records the order of every object's keys in a JSON document,
// by the object's JSON pointer (RFC 6901).
func keyOrder(doc []byte) (map[string][]string, error) {
	dec := json.NewDecoder(bytes.NewReader(doc))
	out := map[string][]string{}
	esc := strings.NewReplacer("~", "~0", "/", "~1")
	var walk func(ptr string) error
	walk = func(ptr string) error {
		tok, err := dec.Token()
		if err != nil {
			return err
		}
		switch tok {
		case json.Delim('{'):
			for dec.More() {
				kt, err := dec.Token()
				if err != nil {
					return err
				}
				k, _ := kt.(string)
				out[ptr] = append(out[ptr], k)
				if err := walk(ptr + "/" + esc.Replace(k)); err != nil {
					return err
				}
			}
		case json.Delim('['):
			for i := 0; dec.More(); i++ {
				if err := walk(ptr + "/" + strconv.Itoa(i)); err != nil {
					return err
				}
			}
		default:
			return nil
		}
		_, err = dec.Token() // the closing delimiter
		return err
	}
	return out, walk("")
}

func (r *docReader) obj(n node, key string) node { return asNode(n[key]) }

// deref follows a local $ref (#/components/...) to the node it names.
func (r *docReader) deref(n node) node {
	ref, ok := n["$ref"].(string)
	if !ok {
		return n
	}
	cur := r.root
	for _, part := range strings.Split(strings.TrimPrefix(ref, "#/"), "/") {
		next, ok := cur[part].(node)
		if !ok {
			if r.err == nil {
				r.err = fmt.Errorf("handlers: the OpenAPI document's $ref %q names nothing", ref)
			}
			return node{}
		}
		cur = next
	}
	return cur
}

func (r *docReader) operation(method, path string, op node, shared []any) templates.APIOperation {
	o := templates.APIOperation{Anchor: "op-" + str(op, "operationId"), Method: strings.ToUpper(method), Path: path,
		Summary: str(op, "summary"), Description: str(op, "description")}
	if sec, ok := op["security"].([]any); ok && len(sec) == 0 {
		o.Public = true
	}
	for _, p := range append(append([]any{}, shared...), list(op["parameters"])...) {
		pn := r.deref(asNode(p))
		f := r.field(str(pn, "name"), asNode(pn["schema"]), pn["required"] == true, str(pn, "description"))
		f.In = str(pn, "in")
		o.Parameters = append(o.Parameters, f)
	}
	if rb, ok := op["requestBody"].(node); ok {
		rb = r.deref(rb)
		for _, mt := range sortedKeys(asNode(rb["content"])) {
			schema := asNode(asNode(asNode(rb["content"])[mt])["schema"])
			o.Body = &templates.APIBody{Description: str(rb, "description"), Required: rb["required"] == true, MediaType: mt,
				Type: r.typeOf(schema)}
			break
		}
	}
	responses := r.obj(op, "responses")
	for _, status := range sortedKeys(responses) {
		resp := r.deref(asNode(responses[status]))
		a := templates.APIResponse{Status: status, Description: str(resp, "description")}
		for _, mt := range sortedKeys(asNode(resp["content"])) {
			t := r.typeOf(asNode(asNode(asNode(resp["content"])[mt])["schema"]))
			a.Body = &t
			break
		}
		headers := asNode(resp["headers"])
		for _, name := range sortedKeys(headers) {
			h := r.deref(asNode(headers[name]))
			a.Headers = append(a.Headers, r.field(name, asNode(h["schema"]), h["required"] == true, str(h, "description")))
		}
		o.Responses = append(o.Responses, a)
	}
	return o
}

func (r *docReader) schema(name string, s node, order []string) templates.APISchema {
	out := templates.APISchema{Anchor: "schema-" + name, Name: name, Description: str(s, "description")}
	props := asNode(s["properties"])
	if len(props) == 0 {
		out.Type = r.typeOf(s)
		out.Rules = rules(s)
		return out
	}
	required := map[string]bool{}
	for _, n := range list(s["required"]) {
		if n, ok := n.(string); ok {
			required[n] = true
		}
	}
	names := sortedKeys(props)
	if len(order) == len(props) {
		names = order
	}
	for _, p := range names {
		ps := asNode(props[p])
		out.Fields = append(out.Fields, r.field(p, ps, required[p], str(r.deref(ps), "description")))
	}
	if s["additionalProperties"] == false {
		out.Rules = append(out.Rules, "no other fields")
	}
	return out
}

func (r *docReader) field(name string, schema node, required bool, desc string) templates.APIField {
	if desc == "" {
		desc = str(schema, "description")
	}
	return templates.APIField{Name: name, Type: r.typeOf(schema), Required: required, Description: desc, Rules: rules(schema)}
}

// typeOf writes a schema's type for people: a named schema links to it.
func (r *docReader) typeOf(s node) templates.APIType {
	if ref, ok := s["$ref"].(string); ok {
		name := ref[strings.LastIndexByte(ref, '/')+1:]
		return templates.APIType{Text: name, Ref: "schema-" + name}
	}
	for _, key := range []string{"anyOf", "oneOf"} {
		if alts := list(s[key]); len(alts) > 0 {
			var t templates.APIType
			for _, a := range alts {
				t.Parts = append(t.Parts, r.typeOf(asNode(a)))
			}
			return t
		}
	}
	var types []string
	switch v := s["type"].(type) {
	case string:
		types = []string{v}
	case []any:
		for _, t := range v {
			if t, ok := t.(string); ok {
				types = append(types, t)
			}
		}
	}
	var t templates.APIType
	for _, typ := range types {
		var part templates.APIType
		switch typ {
		case "array":
			part = r.typeOf(asNode(s["items"]))
			if len(part.Parts) == 0 {
				part.Text = "array of " + part.Text
			} else {
				part = templates.APIType{Text: "array"}
			}
		case "object":
			part.Text = "object"
			if ap, ok := s["additionalProperties"].(node); ok {
				part.Text = "object of " + r.typeOf(ap).Text + " values"
			}
		default:
			part.Text = typ
		}
		t.Parts = append(t.Parts, part)
	}
	if enum := list(s["enum"]); len(enum) > 0 {
		vals := make([]string, len(enum))
		for i, e := range enum {
			vals[i] = jsonText(e)
		}
		return templates.APIType{Text: "one of " + strings.Join(vals, ", ")}
	}
	if c, ok := s["const"]; ok {
		return templates.APIType{Text: jsonText(c)}
	}
	if len(t.Parts) == 1 {
		return t.Parts[0]
	}
	if len(t.Parts) == 0 {
		return templates.APIType{Text: "any"}
	}
	return t
}

// rules are a schema's constraints, for people.
func rules(s node) []string {
	var out []string
	num := func(key, format string) {
		if v, ok := s[key].(float64); ok {
			text := fmt.Sprintf(format, strconv.FormatFloat(v, 'f', -1, 64))
			if v == 1 {
				text = strings.TrimSuffix(strings.Replace(text, "characters", "character", 1), "s")
			}
			out = append(out, text)
		}
	}
	num("minLength", "at least %s characters")
	num("maxLength", "at most %s characters")
	num("minimum", "at least %s")
	num("exclusiveMinimum", "greater than %s")
	num("maximum", "at most %s")
	num("minItems", "at least %s items")
	num("maxItems", "at most %s items")
	num("maxProperties", "at most %s keys")
	if p, ok := s["pattern"].(string); ok {
		out = append(out, "matches "+p)
	}
	if d, ok := s["default"]; ok {
		out = append(out, "default "+jsonText(d))
	}
	return out
}

func jsonText(v any) string {
	b, err := json.Marshal(v)
	if err != nil {
		return fmt.Sprint(v)
	}
	return string(b)
}

func asNode(v any) node {
	n, _ := v.(node)
	return n
}

func list(v any) []any {
	l, _ := v.([]any)
	return l
}

func str(n node, key string) string {
	s, _ := n[key].(string)
	return s
}

func sortedKeys(n node) []string {
	keys := make([]string, 0, len(n))
	for k := range n {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}
