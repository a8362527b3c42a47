package templates

// APIDocsPage is GET /docs/api: the merchant API's reference, rendered
// from its OpenAPI document.
type APIDocsPage struct {
	Title, Version string
	// Intro is the document's description, in paragraphs.
	Intro []string
	// DocumentURL is where the OpenAPI document itself is served.
	DocumentURL string
	Groups      []APIGroup
	Schemas     []APISchema
}

// APIGroup is the operations of one tag, in the document's order.
type APIGroup struct {
	Name       string
	Operations []APIOperation
}

// APIOperation is one method on one path.
type APIOperation struct {
	// Anchor is the id of its section (op-createCheckout).
	Anchor, Method, Path, Summary, Description string
	// Public is true when it needs no API key.
	Public     bool
	Parameters []APIField
	Body       *APIBody
	Responses  []APIResponse
}

// APIBody is an operation's request body.
type APIBody struct {
	Description string
	Required    bool
	MediaType   string
	Type        APIType
}

// APIResponse is one status an operation answers.
type APIResponse struct {
	Status, Description string
	// Body is nil for an answer without a body.
	Body    *APIType
	Headers []APIField
}

// APIField is a parameter, a header or an object's property.
type APIField struct {
	Name string
	// In is where a parameter goes: path, query or header ("" for a
	// property).
	In          string
	Type        APIType
	Required    bool
	Description string
	// Rules are the constraints, for people: "at most 50 characters".
	Rules []string
}

// APIType is a schema written for people: its text, and the anchor of the
// named schema it is (Ref, "" when it is none).
type APIType struct {
	Text string
	Ref  string
	// Parts, when set, replace Text: a type made of several, each shown
	// (and linked) on its own, joined by " or ".
	Parts []APIType
}

// APISchema is one named schema of the document.
type APISchema struct {
	Anchor, Name, Description string
	// Type is what it is when it is no object with properties.
	Type   APIType
	Fields []APIField
	Rules  []string
}

// joinRules writes a field's constraints as one sentence.
func joinRules(rules []string) string {
	out := ""
	for i, r := range rules {
		if i > 0 {
			out += "; "
		}
		out += r
	}
	if out != "" {
		out = "(" + out + ")"
	}
	return out
}
