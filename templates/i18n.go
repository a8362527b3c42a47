package templates

import (
	"context"
	"strconv"
	"strings"

	"github.com/a-h/templ"

	"checkout/locale"
)

// The customer pages' words come from the catalogs (package locale) in
// the language the render's context carries (locale.With; handlers set it
// from Page.Lang). Admin pages render without one: English.

// t is message id in the render's language.
func t(ctx context.Context, id string) string { return locale.T(ctx, id) }

// tf is message id in the render's language with its placeholders filled
// (pairs of a name and its value).
func tf(ctx context.Context, id string, args ...string) string {
	return locale.Format(locale.From(ctx), id, args...)
}

// rich is message id, escaped, with its placeholders filled with markup:
// args are pairs of a name and HTML (build it with templ.EscapeString
// around any value). It lets a translation place a bold number or phone
// wherever its language puts it.
func rich(ctx context.Context, id string, args ...string) templ.Component {
	return richText(locale.Text(locale.From(ctx), id), args...)
}

// richPlural is rich for counted message id, the form for n.
func richPlural(ctx context.Context, id string, n int, args ...string) templ.Component {
	return richText(locale.PluralForm(locale.From(ctx), id, n), args...)
}

func richText(s string, args ...string) templ.Component {
	s = templ.EscapeString(s)
	pairs := make([]string, 0, len(args))
	for i := 0; i+1 < len(args); i += 2 {
		pairs = append(pairs, "{{."+args[i]+"}}", args[i+1])
	}
	return templ.Raw(strings.NewReplacer(pairs...).Replace(s))
}

// htmlLang is the page's <html lang>.
func htmlLang(p Page) string {
	if p.Lang == "" {
		return "en"
	}
	return p.Lang
}

// switchURL is the language switch's link to the page in lang.
func switchURL(p Page, lang string) templ.SafeURL {
	return templ.SafeURL(p.SwitchPath + "?lang=" + lang)
}

// phoneHTML is a phone number as "check your phone" shows it, bold.
func phoneHTML(phone string) string {
	return `<strong class="mono">` + templ.EscapeString(phone) + `</strong>`
}

// countdownHTML is the countdown's seconds, which its script counts down.
func countdownHTML(seconds int) string {
	s := strconv.Itoa(seconds)
	return `<strong id="countdown" data-seconds="` + s + `">` + s + `</strong>`
}
