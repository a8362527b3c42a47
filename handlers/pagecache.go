package handlers

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"maps"
	"reflect"
	"slices"
	"strings"

	"github.com/gin-gonic/gin"
	lru "github.com/hashicorp/golang-lru/v2"

	"checkout/locale"
	"checkout/templates"
)

// The checkout page is rendered on every view, and between two views of a
// checkout nothing it shows usually changes but three values made afresh for
// each answer: the CSP nonce, the masked CSRF token and the request id. So
// the page of each checkout last viewed is remembered as its view (every
// field but those three) and its HTML cut where those three go. A view whose
// view model equals the remembered one, field for field, is answered by
// writing the pieces with this answer's three values between them: the same
// bytes templ would write. Any other view (a status, a message, a method, a
// phone, a title that changed) is rendered by templ and remembered in its
// place. The checkout's live fields are still read on every view: the
// remembered page is only the rendering of what was read.

// pageCacheSize bounds the remembered pages: a few KB each. The oldest
// remembered is dropped first: a view looks its page up with Peek, under
// a read lock (Get would take the cache's exclusive lock on every view).
const pageCacheSize = 1024

// pageCache remembers rendered checkout pages by checkout id.
type pageCache struct {
	pages *lru.Cache[string, *cutPage]
	// marks stand for the nonce, the CSRF token and the request id while a
	// page is cut: random per process, so no page carries them by chance
	// (and a page that does is not remembered: see cut).
	marks [answerFields]string
}

// answerFields is how many values differ with every answer: the nonce, the
// masked CSRF token, the request id (Page's fields).
const answerFields = 3

// cutPage is a rendered page: the view it was rendered from without its
// answer's values, and its HTML cut where they go. HTML is
// parts[0] + value(slots[0]) + parts[1] + ... + parts[len(parts)-1].
type cutPage struct {
	view  templates.CheckoutPage
	parts []string
	slots []int
}

func newPageCache() *pageCache {
	c, err := lru.New[string, *cutPage](pageCacheSize)
	if err != nil {
		panic(err) // a positive constant size: never
	}
	pc := &pageCache{pages: c}
	for i := range pc.marks {
		var b [16]byte
		rand.Read(b[:]) // never fails: the runtime stops the program if it cannot read
		pc.marks[i] = "x" + hex.EncodeToString(b[:]) + "x"
	}
	return pc
}

// answerValues are v's three per-answer values, in marks' order.
func answerValues(v *templates.CheckoutPage) [answerFields]string {
	return [answerFields]string{v.Nonce, v.CSRF, v.RequestID}
}

func setAnswerValues(v *templates.CheckoutPage, a [answerFields]string) {
	v.Nonce, v.CSRF, v.RequestID = a[0], a[1], a[2]
}

// plainValue reports whether s is written as it is wherever templ puts it
// (text or attribute, escaped or not): none of the characters HTML escaping
// changes. Nonces, masked tokens and request ids are base64 or hex.
func plainValue(s string) bool {
	return !strings.ContainsAny(s, `<>&'"`)
}

// render answers the checkout page of checkout id with view v.
func (pc *pageCache) render(h *Handlers, c *gin.Context, status int, id string, v templates.CheckoutPage) {
	vals := answerValues(&v)
	for _, s := range vals {
		if !plainValue(s) {
			h.render(c, status, templates.CheckoutView(v))
			return
		}
	}
	key := v
	setAnswerValues(&key, [answerFields]string{})
	if p, ok := pc.pages.Peek(id); ok && sameView(&p.view, &key) {
		buf := pages.Get().(*bytes.Buffer)
		defer putPage(buf)
		p.write(buf, vals)
		writeHTML(c, status, buf.Bytes())
		return
	}
	// Rendered by templ for this answer, and cut for the next ones.
	buf := pages.Get().(*bytes.Buffer)
	defer putPage(buf)
	// The page's words are in its language (v.Lang, part of the key).
	ctx := locale.With(c.Request.Context(), locale.Lang(v.Lang))
	if err := templates.CheckoutView(v).Render(ctx, buf); err != nil {
		h.fail(c, err)
		return
	}
	if p := pc.cut(ctx, key, vals, buf.Bytes()); p != nil {
		pc.pages.Add(id, p)
	}
	writeHTML(c, status, buf.Bytes())
}

// cut renders key with the marks for the answer's values and cuts it there.
// It gives nil (nothing to remember) unless the pieces with vals between
// them are exactly want, what templ wrote for this answer: a page that holds
// a mark's text by itself, or writes a value other than as it is, is not
// remembered.
func (pc *pageCache) cut(ctx context.Context, key templates.CheckoutPage, vals [answerFields]string, want []byte) *cutPage {
	marked := key
	setAnswerValues(&marked, pc.marks)
	var sb strings.Builder
	if err := templates.CheckoutView(marked).Render(ctx, &sb); err != nil {
		return nil
	}
	html := sb.String()
	// The view is kept as a copy of its own: the caller's slices, maps and
	// pointers are not the remembered page's.
	p := &cutPage{view: deepCopy(reflect.ValueOf(key)).Interface().(templates.CheckoutPage)}
	for {
		at, slot := -1, -1
		for i, m := range pc.marks {
			if j := strings.Index(html, m); j >= 0 && (at < 0 || j < at) {
				at, slot = j, i
			}
		}
		if at < 0 {
			p.parts = append(p.parts, html)
			break
		}
		p.parts = append(p.parts, html[:at])
		p.slots = append(p.slots, slot)
		html = html[at+len(pc.marks[slot]):]
	}
	var check bytes.Buffer
	p.write(&check, vals)
	if !bytes.Equal(check.Bytes(), want) {
		return nil
	}
	return p
}

// sameView reports whether a and b are the same view, field for field, as
// reflect.DeepEqual would (at a fraction of its cost on every view). The
// structs it compares with == are made of strings, bools and numbers (a
// slice or map added to one of them stops the build);
// TestRememberedCheckoutPageFollowsEveryField changes every field of
// CheckoutPage in turn and fails if one is left out here.
func sameView(a, b *templates.CheckoutPage) bool {
	return a.Page == b.Page && a.Summary == b.Summary && a.Message == b.Message && a.Pending == b.Pending &&
		a.Status == b.Status && a.CancelAction == b.CancelAction && a.PayAction == b.PayAction &&
		a.NeedsContact == b.NeedsContact && a.Contact == b.Contact && a.Amount == b.Amount && a.AmountURL == b.AmountURL &&
		(a.Methods == nil) == (b.Methods == nil) && slices.Equal(a.Methods, b.Methods) &&
		(a.FieldErrors == nil) == (b.FieldErrors == nil) && maps.Equal(a.FieldErrors, b.FieldErrors) &&
		samePointee(a.ContactStep, b.ContactStep) && samePointee(a.STK, b.STK)
}

func samePointee[T comparable](a, b *T) bool {
	return a == b || a != nil && b != nil && *a == *b
}

func (p *cutPage) write(buf *bytes.Buffer, vals [answerFields]string) {
	for i, part := range p.parts {
		buf.WriteString(part)
		if i < len(p.slots) {
			buf.WriteString(vals[p.slots[i]])
		}
	}
}

// deepCopy copies v with everything it reaches through pointers, slices
// and maps (a view model: no cycles, no channels or funcs).
func deepCopy(v reflect.Value) reflect.Value {
	switch v.Kind() {
	case reflect.Pointer:
		if v.IsNil() {
			return v
		}
		c := reflect.New(v.Type().Elem())
		c.Elem().Set(deepCopy(v.Elem()))
		return c
	case reflect.Slice:
		if v.IsNil() {
			return v
		}
		c := reflect.MakeSlice(v.Type(), v.Len(), v.Len())
		for i := range v.Len() {
			c.Index(i).Set(deepCopy(v.Index(i)))
		}
		return c
	case reflect.Map:
		if v.IsNil() {
			return v
		}
		c := reflect.MakeMapWithSize(v.Type(), v.Len())
		for it := v.MapRange(); it.Next(); {
			c.SetMapIndex(deepCopy(it.Key()), deepCopy(it.Value()))
		}
		return c
	case reflect.Struct:
		c := reflect.New(v.Type()).Elem()
		c.Set(v)
		for i := range v.NumField() {
			if c.Field(i).CanSet() {
				c.Field(i).Set(deepCopy(v.Field(i)))
			}
		}
		return c
	case reflect.Interface:
		if v.IsNil() {
			return v
		}
		c := reflect.New(v.Type()).Elem()
		c.Set(deepCopy(v.Elem()))
		return c
	default:
		return v
	}
}
