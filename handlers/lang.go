package handlers

import (
	"context"
	"net/http"
	"strings"

	"github.com/gin-gonic/gin"

	"checkout/locale"
)

// The language of a customer page (README "Languages"), first that
// applies:
//
//  1. the page's switch: its links add ?lang=en or ?lang=sw to the page's
//     own address (a plain GET: no form, no script, nothing for the CSP to
//     allow). The page is answered in that language, and a preference
//     cookie (checkout_lang, a year) remembers the choice for this
//     browser: the one thing such a GET changes;
//  2. that preference cookie;
//  3. the checkout's locale, which the merchant set at creation;
//  4. the browser's Accept-Language (sw, sw-KE, ... are Swahili);
//  5. English.
//
// The live status that htmx polls carries the page's language in its URL
// (?lang=), so the swapped fragment always matches the page around it,
// even in a browser that keeps no cookies. Admin pages are English.

// keyLang is where customerLang leaves the language for page() and the
// renders of this answer.
const keyLang = "lang"

// langCookieAge is how long the switch's choice is remembered.
const langCookieAge = 365 * 24 * 60 * 60

// customerLang works out the language of this answer's customer page
// (checkoutLocale is the checkout's locale, "" when none or no checkout),
// remembers a switch's choice in the preference cookie, and leaves the
// language where page() and render find it. It reads the headers in
// place: no query parse, no cookie parse, no allocation but the cookie it
// may set.
func (h *Handlers) customerLang(c *gin.Context, checkoutLocale string) locale.Lang {
	l := chooseLang(c, checkoutLocale, true, strings.HasPrefix(h.svc.PublicURL(), "https://"))
	c.Set(keyLang, boxed(l))
	return l
}

// fragmentLang is customerLang for a fragment of a page (the polled
// status): its ?lang= is the page's language, not a switch, so nothing is
// remembered.
func (h *Handlers) fragmentLang(c *gin.Context, checkoutLocale string) locale.Lang {
	l := chooseLang(c, checkoutLocale, false, false)
	c.Set(keyLang, boxed(l))
	return l
}

// boxedEN and boxedSW are the languages as the any that Gin's keys hold,
// made once: a string put in an interface would be copied to the heap on
// every view.
var boxedEN, boxedSW any = locale.EN, locale.SW

func boxed(l locale.Lang) any {
	if l == locale.SW {
		return boxedSW
	}
	return boxedEN
}

// chooseLang is the language of this answer; remember sets the
// preference cookie for a switch's choice, Secure when secure.
func chooseLang(c *gin.Context, checkoutLocale string, remember, secure bool) locale.Lang {
	if strings.HasPrefix(c.Request.URL.Path, "/admin") {
		return locale.EN
	}
	cookie, hasCookie := locale.FromCookieHeader(c.Request.Header.Get("Cookie"))
	if asked, ok := queryLang(c.Request.URL.RawQuery); ok {
		if remember && c.Request.Method == http.MethodGet && (!hasCookie || cookie != asked) {
			http.SetCookie(c.Writer, &http.Cookie{Name: locale.CookieName, Value: string(asked), Path: "/",
				MaxAge: langCookieAge, HttpOnly: true, Secure: secure,
				SameSite: http.SameSiteLaxMode})
		}
		return asked
	}
	if hasCookie {
		return cookie
	}
	if l, ok := locale.Parse(checkoutLocale); ok {
		return l
	}
	return locale.Negotiate(c.Request.Header.Get("Accept-Language"))
}

// queryLang is the lang parameter of a raw query, read in place.
func queryLang(raw string) (locale.Lang, bool) {
	for raw != "" {
		var kv string
		kv, raw, _ = strings.Cut(raw, "&")
		if v, ok := strings.CutPrefix(kv, "lang="); ok {
			return locale.Parse(v)
		}
	}
	return "", false
}

// langOf is the language customerLang chose for this answer, English when
// it was not asked (admin pages, answers before any choice).
func langOf(c *gin.Context) locale.Lang {
	if v, ok := c.Get(keyLang); ok {
		if l, ok := v.(locale.Lang); ok {
			return l
		}
	}
	return locale.EN
}

// renderContext is the context templates render with: the request's, with
// the answer's language.
func renderContext(c *gin.Context) context.Context {
	if _, ok := c.Get(keyLang); !ok {
		return c.Request.Context()
	}
	return locale.With(c.Request.Context(), langOf(c))
}

// tr is message id in this answer's language.
func tr(c *gin.Context, id string) string { return locale.Text(langOf(c), id) }

// trf is message id in this answer's language with its placeholders
// filled (pairs of a name and its value).
func trf(c *gin.Context, id string, args ...string) string {
	return locale.Format(langOf(c), id, args...)
}

// noticeLang is the language of a notice page: the one this answer's
// customer page chose, else the browser's (nothing remembered); admin
// pages stay English and get no switch.
func noticeLang(c *gin.Context) locale.Lang {
	if _, ok := c.Get(keyLang); ok || strings.HasPrefix(c.Request.URL.Path, "/admin") {
		return langOf(c)
	}
	l := chooseLang(c, "", false, false)
	c.Set(keyLang, boxed(l))
	return l
}

// customerNotice is the notice page of a customer page, its heading and
// text the catalog's messages headingID and textID in the page's
// language.
func customerNotice(c *gin.Context, status int, headingID, textID string) {
	customerNoticeWithLink(c, status, headingID, textID, "", "")
}

// customerNoticeWithLink is customerNotice with a "Return to <merchant>"
// link (its label already in the page's language).
func customerNoticeWithLink(c *gin.Context, status int, headingID, textID, returnURL, returnLabel string) {
	l := noticeLang(c)
	noticeWithLink(c, status, locale.Text(l, headingID), locale.Text(l, textID), returnURL, returnLabel)
}

// customerText is s, a sentence of the payments layer (written in English
// from the catalog: a field error, a method's reason, a note), in this
// answer's language; s as it is when it is no catalog message.
func customerText(c *gin.Context, s string) string {
	l := langOf(c)
	if s == "" || l == locale.EN {
		return s
	}
	t, _ := locale.Translate(l, s)
	return t
}

// customerTexts is customerText of every field error.
func customerTexts(c *gin.Context, errs map[string]string) map[string]string {
	if len(errs) == 0 || langOf(c) == locale.EN {
		return errs
	}
	out := make(map[string]string, len(errs))
	for k, v := range errs {
		out[k] = customerText(c, v)
	}
	return out
}

// customerMessage is why a checkout's last attempt failed, as its customer
// reads it. The stored message stays English (the API and the admin show
// it); a page in another language shows its translation, or, for a
// provider's own words that the catalog cannot know, the catalog's general
// sentence that the payment did not go through.
func customerMessage(c *gin.Context, msg string) string {
	l := langOf(c)
	if msg == "" || l == locale.EN {
		return msg
	}
	if t, ok := locale.Translate(l, msg); ok {
		return t
	}
	return locale.Text(l, "msg_payment_failed")
}

// inPageLang is path, the page a polled fragment sends the browser to,
// in the language of the page that polled: a browser without the
// preference cookie (it keeps none, or never used the switch) whose page
// was in another language than the checkout's locale or its
// Accept-Language would give is sent with ?lang=, so the page does not
// change language under it. Otherwise path is enough.
func inPageLang(c *gin.Context, path, checkoutLocale string) string {
	if _, ok := locale.FromCookieHeader(c.Request.Header.Get("Cookie")); ok {
		return path
	}
	l, ok := queryLang(c.Request.URL.RawQuery)
	if !ok {
		return path
	}
	fallback, ok := locale.Parse(checkoutLocale)
	if !ok {
		fallback = locale.Negotiate(c.Request.Header.Get("Accept-Language"))
	}
	if l == fallback {
		return path
	}
	return path + "?lang=" + string(l)
}
