// Package locale holds the words customers read, in English and Swahili:
// the message catalogs (catalog/*.toml, embedded in the binary, read
// through github.com/nicksnyder/go-i18n/v2), the choice of a language from
// a request (the checkout's locale, the page's switch, Accept-Language),
// and amounts and dates written for Kenya. It imports nothing of ours, so
// templates, handlers and payments may all use it.
//
// Every message is localized once, when the package loads, into a plain
// map per language: a page looks a message up with a map read, never
// through go-i18n on a view. Messages with values ({{.Merchant}}) are
// filled by plain replacement of their placeholders (Format), which a test
// holds equal to go-i18n's own template execution for every message;
// counted messages (Plural) go through go-i18n's plural rules.
package locale

import (
	"context"
	"embed"
	"io/fs"
	"regexp"
	"slices"
	"sort"
	"strconv"
	"strings"

	goi18n "github.com/nicksnyder/go-i18n/v2/i18n"
	"github.com/pelletier/go-toml/v2"
	"golang.org/x/text/language"
)

// Lang is a language customers can read the pages in.
type Lang string

const (
	// EN is English, the default.
	EN Lang = "en"
	// SW is Swahili (Kiswahili).
	SW Lang = "sw"
)

// Langs are the languages with a catalog, the default first.
var Langs = []Lang{EN, SW}

// Parse is the language a checkout's locale, a cookie or the switch
// names: exactly "en" or "sw".
func Parse(s string) (Lang, bool) {
	switch Lang(s) {
	case EN, SW:
		return Lang(s), true
	}
	return "", false
}

// Or is l, or EN when l is empty or unknown.
func (l Lang) Or() Lang {
	if l == SW {
		return SW
	}
	return EN
}

//go:embed catalog/*.toml
var catalogFiles embed.FS

// catalog is the loaded message files.
type catalog struct {
	bundle *goi18n.Bundle
	// text is every message's "other" form per language, localized once.
	text map[Lang]map[string]string
	// placeholders are the names each message's forms use, in any
	// language.
	placeholders map[string][]string
	// en are the English catalog's messages, every form; all holds every
	// language's.
	en  []*goi18n.Message
	all map[Lang][]*goi18n.Message
	// ids are the message ids of the English catalog, sorted.
	ids []string
}

var cat = mustLoad(catalogFiles)

func mustLoad(files fs.FS) *catalog {
	c, err := load(files)
	if err != nil {
		panic("locale: " + err.Error()) // embedded files: a broken catalog never builds a working binary
	}
	return c
}

// load reads catalog/<lang>.toml for each language.
func load(files fs.FS) (*catalog, error) {
	b := goi18n.NewBundle(language.English)
	b.RegisterUnmarshalFunc("toml", toml.Unmarshal)
	c := &catalog{bundle: b, text: map[Lang]map[string]string{}, placeholders: map[string][]string{},
		all: map[Lang][]*goi18n.Message{}}
	for _, l := range Langs {
		mf, err := b.LoadMessageFileFS(files, "catalog/"+string(l)+".toml")
		if err != nil {
			return nil, err
		}
		m := make(map[string]string, len(mf.Messages))
		for _, msg := range mf.Messages {
			m[msg.ID] = msg.Other
			for _, form := range []string{msg.Zero, msg.One, msg.Two, msg.Few, msg.Many, msg.Other} {
				for _, p := range placeholderRE.FindAllStringSubmatch(form, -1) {
					if !slices.Contains(c.placeholders[msg.ID], p[1]) {
						c.placeholders[msg.ID] = append(c.placeholders[msg.ID], p[1])
					}
				}
			}
			if l == EN {
				c.ids = append(c.ids, msg.ID)
				c.en = append(c.en, msg)
			}
		}
		c.text[l] = m
		c.all[l] = mf.Messages
	}
	sort.Strings(c.ids)
	return c, nil
}

// Text is message id in l: its translation, else its English text, else
// the id itself (a test fails on a missing message before it ships).
func Text(l Lang, id string) string {
	if s, ok := cat.text[l.Or()][id]; ok {
		return s
	}
	if s, ok := cat.text[EN][id]; ok {
		return s
	}
	return id
}

// Format is message id in l with its placeholders filled: args are pairs
// of a name and its value, {{.Name}} in the message.
func Format(l Lang, id string, args ...string) string {
	return fill(Text(l, id), args...)
}

// fill puts the values of args (pairs of a name and its value) where
// {{.Name}} stands in s.
func fill(s string, args ...string) string {
	if len(args) < 2 || !strings.Contains(s, "{{") {
		return s
	}
	// One pass, one allocation (a page title costs what its concatenation
	// did); a value is never read again for placeholders.
	var b strings.Builder
	n := len(s)
	for i := 1; i < len(args); i += 2 {
		n += len(args[i])
	}
	b.Grow(n)
	for {
		at := strings.Index(s, "{{.")
		if at < 0 {
			break
		}
		end := strings.Index(s[at:], "}}")
		if end < 0 {
			break
		}
		name, value, found := s[at+3:at+end], "", false
		for i := 0; i+1 < len(args); i += 2 {
			if args[i] == name {
				value, found = args[i+1], true
				break
			}
		}
		b.WriteString(s[:at])
		if found {
			b.WriteString(value)
		} else {
			b.WriteString(s[at : at+end+2])
		}
		s = s[at+end+2:]
	}
	b.WriteString(s)
	return b.String()
}

// Plural is counted message id in l for n: the plural form go-i18n's
// rules of the language pick for n, with {{.Count}} set to n and the other
// placeholders filled from args (pairs, as in Format).
func Plural(l Lang, id string, n int, args ...string) string {
	return fill(PluralForm(l, id, n), append([]string{"Count", strconv.Itoa(n)}, args...)...)
}

// PluralForm is the form of counted message id that l's plural rules pick
// for n, its placeholders left in (a page puts markup around the count).
func PluralForm(l Lang, id string, n int) string {
	data := map[string]any{}
	for _, name := range cat.placeholders[id] {
		data[name] = "{{." + name + "}}"
	}
	s, err := localize(l, id, data, n)
	if err != nil {
		return Text(l, id)
	}
	return s
}

// localize asks go-i18n itself (counted messages, tests).
func localize(l Lang, id string, data map[string]any, count any) (string, error) {
	lc := goi18n.NewLocalizer(cat.bundle, string(l.Or()))
	return lc.Localize(&goi18n.LocalizeConfig{MessageID: id, TemplateData: data, PluralCount: count})
}

// Has reports whether the English catalog holds message id.
func Has(id string) bool {
	_, ok := cat.text[EN][id]
	return ok
}

// IDs are the English catalog's message ids, sorted.
func IDs() []string { return append([]string(nil), cat.ids...) }

// Catalog is l's messages by id, shared: read it, never write it. Text
// templates (the receipt email) index it.
func Catalog(l Lang) map[string]string { return cat.text[l.Or()] }

type ctxKey struct{}

// With is ctx carrying l, for the templates rendered with it.
func With(ctx context.Context, l Lang) context.Context {
	return context.WithValue(ctx, ctxKey{}, l)
}

// From is the language ctx carries, EN when none.
func From(ctx context.Context) Lang {
	if l, ok := ctx.Value(ctxKey{}).(Lang); ok {
		return l.Or()
	}
	return EN
}

// T is message id in the language ctx carries.
func T(ctx context.Context, id string) string { return Text(From(ctx), id) }

// placeholderRE finds the {{.Name}} placeholders of a message.
var placeholderRE = regexp.MustCompile(`\{\{\.(\w+)\}\}`)
