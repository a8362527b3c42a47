package web_test

import (
	"bytes"
	"compress/gzip"
	"io"
	"io/fs"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"testing"

	"github.com/PuerkitoBio/goquery"
	"github.com/andybalholm/brotli"

	"checkout/reqctx"
	"checkout/static"
)

// wire is a client that sees the bytes as sent: no transparent gzip, no
// cookies kept, no redirects followed.
var wire = &http.Client{
	Transport:     &http.Transport{DisableCompression: true},
	CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
}

type answer struct {
	resp  *http.Response
	wire  []byte // the body as sent
	plain []byte // the body decoded
}

// fetch GETs u with the Accept-Encoding given ("" sends none) and decodes
// the body by its Content-Encoding.
func fetch(t *testing.T, method, u, acceptEncoding string) answer {
	t.Helper()
	req, err := http.NewRequest(method, u, nil)
	if err != nil {
		t.Fatal(err)
	}
	if acceptEncoding != "" {
		req.Header.Set("Accept-Encoding", acceptEncoding)
	}
	resp, err := wire.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	a := answer{resp: resp, wire: body, plain: body}
	switch enc := resp.Header.Get("Content-Encoding"); enc {
	case "":
	case "br":
		if a.plain, err = io.ReadAll(brotli.NewReader(bytes.NewReader(body))); err != nil {
			t.Fatalf("%s: bad br body: %v", u, err)
		}
	case "gzip":
		zr, err := gzip.NewReader(bytes.NewReader(body))
		if err != nil {
			t.Fatalf("%s: bad gzip body: %v", u, err)
		}
		if a.plain, err = io.ReadAll(zr); err != nil {
			t.Fatalf("%s: bad gzip body: %v", u, err)
		}
	default:
		t.Fatalf("%s: Content-Encoding %q", u, enc)
	}
	if cl := resp.Header.Get("Content-Length"); method != http.MethodHead && cl != "" && cl != strconv.Itoa(len(body)) {
		t.Errorf("%s: Content-Length %s, body %d bytes", u, cl, len(body))
	}
	return a
}

// TestCheckoutPageFirstLoadIsLightAndCachedForGood loads a checkout page
// the way a phone's browser does on its first visit (Accept-Encoding: br,
// gzip), follows every stylesheet, script and icon it links, and holds the
// whole to the budget: at most 30 KB on the wire in at most 4 requests, and
// every asset cached for a year without revalidation, so a repeat visit
// asks for nothing but the page.
func TestCheckoutPageFirstLoadIsLightAndCachedForGood(t *testing.T) {
	e := newEnv(t, envOptions{stk: "pokeapay", testMode: true})
	id := e.createCheckout("weight-1")
	page := fetch(t, http.MethodGet, e.app.URL+"/c/"+id, "br, gzip")
	if page.resp.StatusCode != http.StatusOK {
		t.Fatalf("checkout page: %d\n%s", page.resp.StatusCode, page.plain)
	}
	if enc := page.resp.Header.Get("Content-Encoding"); enc != "gzip" {
		t.Errorf("checkout page Content-Encoding %q, want gzip", enc)
	}
	doc, err := goquery.NewDocumentFromReader(bytes.NewReader(page.plain))
	if err != nil {
		t.Fatal(err)
	}
	if doc.Find(`form[action="/c/`+id+`/pay"]`).Length() == 0 {
		t.Fatalf("not the method choice:\n%s", page.plain)
	}
	var assets []string
	doc.Find(`link[rel="stylesheet"], link[rel="icon"], script[src], img[src]`).Each(func(_ int, s *goquery.Selection) {
		u := s.AttrOr("href", s.AttrOr("src", ""))
		if !strings.HasPrefix(u, "data:") {
			assets = append(assets, u)
		}
	})
	if len(assets) < 2 {
		t.Fatalf("page links %v, want at least the stylesheet and htmx", assets)
	}
	requests, total := 1, len(page.wire)
	t.Logf("page %s: %d bytes (%d decoded)", "/c/"+id, len(page.wire), len(page.plain))
	base, _ := url.Parse(e.app.URL)
	for _, a := range assets {
		u, err := base.Parse(a)
		if err != nil {
			t.Fatal(err)
		}
		got := fetch(t, http.MethodGet, u.String(), "br, gzip")
		requests++
		total += len(got.wire)
		t.Logf("%s: %d bytes %s (%d decoded)", a, len(got.wire), got.resp.Header.Get("Content-Encoding"), len(got.plain))
		if got.resp.StatusCode != http.StatusOK {
			t.Errorf("%s: %d", a, got.resp.StatusCode)
		}
		if cc := got.resp.Header.Get("Cache-Control"); cc != "public, max-age=31536000, immutable" {
			t.Errorf("%s: Cache-Control %q, want a year, immutable", a, cc)
		}
		if enc := got.resp.Header.Get("Content-Encoding"); enc != "br" {
			t.Errorf("%s: Content-Encoding %q, want br", a, enc)
		}
	}
	t.Logf("first load: %d requests, %d bytes on the wire", requests, total)
	if requests > 4 {
		t.Errorf("first load takes %d requests, want at most 4", requests)
	}
	if total > 30*1024 {
		t.Errorf("first load weighs %d bytes on the wire, want at most %d", total, 30*1024)
	}
}

// TestStaticAssetsServedByAcceptEncoding checks the precompressed copies:
// Brotli when accepted, else gzip, else the file itself, each with its own
// length, Vary: Accept-Encoding, and the cache the URL deserves.
func TestStaticAssetsServedByAcceptEncoding(t *testing.T) {
	e := newEnv(t, envOptions{})
	css, err := fs.ReadFile(static.FS, "app.css")
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name, path, accept, encoding, cache, ctype string
	}{
		{"br preferred", static.URL("app.css"), "gzip, deflate, br", "br", "public, max-age=31536000, immutable", "text/css; charset=utf-8"},
		{"gzip", static.URL("app.css"), "gzip", "gzip", "public, max-age=31536000, immutable", "text/css; charset=utf-8"},
		{"br refused", static.URL("app.css"), "br;q=0, gzip", "gzip", "public, max-age=31536000, immutable", "text/css; charset=utf-8"},
		{"none", static.URL("app.css"), "", "", "public, max-age=31536000, immutable", "text/css; charset=utf-8"},
		{"identity only", static.URL("app.css"), "identity", "", "public, max-age=31536000, immutable", "text/css; charset=utf-8"},
		{"plain name, short cache", "/static/app.css", "br", "br", "public, max-age=300", "text/css; charset=utf-8"},
		{"another build's fingerprint, not cached under it", "/static/app.0123456789.css", "br", "br", "no-cache", "text/css; charset=utf-8"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got := fetch(t, http.MethodGet, e.app.URL+tc.path, tc.accept)
			h := got.resp.Header
			if got.resp.StatusCode != http.StatusOK {
				t.Fatalf("%d", got.resp.StatusCode)
			}
			if enc := h.Get("Content-Encoding"); enc != tc.encoding {
				t.Errorf("Content-Encoding %q, want %q", enc, tc.encoding)
			}
			if !bytes.Equal(got.plain, css) {
				t.Errorf("body decodes to %d bytes, not app.css", len(got.plain))
			}
			if h.Get("Content-Length") != strconv.Itoa(len(got.wire)) {
				t.Errorf("Content-Length %q, body %d bytes", h.Get("Content-Length"), len(got.wire))
			}
			if tc.encoding != "" && len(got.wire) >= len(css) {
				t.Errorf("%s body %d bytes, not smaller than %d", tc.encoding, len(got.wire), len(css))
			}
			if v := h.Get("Vary"); v != "Accept-Encoding" {
				t.Errorf("Vary %q", v)
			}
			if cc := h.Get("Cache-Control"); cc != tc.cache {
				t.Errorf("Cache-Control %q, want %q", cc, tc.cache)
			}
			if ct := h.Get("Content-Type"); ct != tc.ctype {
				t.Errorf("Content-Type %q, want %q", ct, tc.ctype)
			}
			wantTag := `"` + static.Fingerprint("app.css")
			if tc.encoding != "" {
				wantTag += "-" + tc.encoding
			}
			if tag := h.Get("ETag"); tag != wantTag+`"` {
				t.Errorf("ETag %q, want %q", tag, wantTag+`"`)
			}
		})
	}
	t.Run("HEAD", func(t *testing.T) {
		got := fetch(t, http.MethodHead, e.app.URL+static.URL("htmx-2.0.11.min.js"), "br")
		if got.resp.StatusCode != http.StatusOK || len(got.wire) != 0 || got.resp.Header.Get("Content-Encoding") != "br" {
			t.Errorf("HEAD: %d, %d body bytes, encoding %q", got.resp.StatusCode, len(got.wire), got.resp.Header.Get("Content-Encoding"))
		}
		br, err := fs.ReadFile(static.FS, "htmx-2.0.11.min.js.br")
		if err != nil {
			t.Fatal(err)
		}
		if cl := got.resp.Header.Get("Content-Length"); cl != strconv.Itoa(len(br)) {
			t.Errorf("HEAD Content-Length %q, want %d", cl, len(br))
		}
		if ct := got.resp.Header.Get("Content-Type"); ct != "text/javascript; charset=utf-8" {
			t.Errorf("HEAD Content-Type %q", ct)
		}
	})
	t.Run("If-None-Match", func(t *testing.T) {
		req, err := http.NewRequest(http.MethodGet, e.app.URL+"/static/app.css", nil)
		if err != nil {
			t.Fatal(err)
		}
		req.Header.Set("Accept-Encoding", "br")
		// A list, as a browser with several cached copies sends it.
		req.Header.Set("If-None-Match", `"0123456789-gzip", W/"`+static.Fingerprint("app.css")+`-br"`)
		resp, err := wire.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusNotModified {
			t.Errorf("revalidation of the plain name: %d, want 304", resp.StatusCode)
		}
	})
	t.Run("licence as is", func(t *testing.T) {
		got := fetch(t, http.MethodGet, e.app.URL+"/static/htmx-LICENSE.txt", "br, gzip")
		if got.resp.StatusCode != http.StatusOK || got.resp.Header.Get("Content-Encoding") != "" || len(got.plain) == 0 {
			t.Errorf("licence: %d, encoding %q, %d bytes", got.resp.StatusCode, got.resp.Header.Get("Content-Encoding"), len(got.plain))
		}
	})
	for _, p := range []string{"/static/app.css.br", "/static/static.go", "/static/", "/static/nothing.0123456789.css", "/static/internal/gen/main.go"} {
		if got := fetch(t, http.MethodGet, e.app.URL+p, "br"); got.resp.StatusCode != http.StatusNotFound {
			t.Errorf("%s: %d, want 404", p, got.resp.StatusCode)
		}
	}
}

// TestHTMLAnswersAreGzippedOthersAreNot checks the gzip middleware: pages
// for clients that take gzip, never JSON, never small bodies, never for a
// client that did not ask.
func TestHTMLAnswersAreGzippedOthersAreNot(t *testing.T) {
	e := newEnv(t, envOptions{})
	id := e.createCheckout("gzip-1")
	page := e.app.URL + "/c/" + id

	got := fetch(t, http.MethodGet, page, "gzip")
	if got.resp.Header.Get("Content-Encoding") != "gzip" || !strings.Contains(string(got.plain), "Two bags of coffee") {
		t.Errorf("page: encoding %q, %d bytes", got.resp.Header.Get("Content-Encoding"), len(got.plain))
	}
	if len(got.wire) >= len(got.plain) {
		t.Errorf("gzipped page %d bytes, not smaller than %d", len(got.wire), len(got.plain))
	}
	if v := got.resp.Header.Get("Vary"); !strings.Contains(v, "Accept-Encoding") {
		t.Errorf("page Vary %q", v)
	}

	plain := fetch(t, http.MethodGet, page, "")
	if plain.resp.Header.Get("Content-Encoding") != "" || !strings.Contains(string(plain.plain), "Two bags of coffee") {
		t.Errorf("page without Accept-Encoding: encoding %q", plain.resp.Header.Get("Content-Encoding"))
	}
	if v := plain.resp.Header.Get("Vary"); !strings.Contains(v, "Accept-Encoding") {
		t.Errorf("plain page Vary %q", v)
	}

	refused := fetch(t, http.MethodGet, page, "gzip;q=0")
	if refused.resp.Header.Get("Content-Encoding") != "" {
		t.Errorf("gzip;q=0: encoding %q", refused.resp.Header.Get("Content-Encoding"))
	}

	// The JSON status answer is not HTML.
	req, err := http.NewRequest(http.MethodGet, page+"/status", nil)
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Accept", "application/json")
	req.Header.Set("Accept-Encoding", "gzip")
	resp, err := wire.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK || resp.Header.Get("Content-Encoding") != "" {
		t.Errorf("JSON status: %d, encoding %q", resp.StatusCode, resp.Header.Get("Content-Encoding"))
	}

	// The htmx status partial is under minGzipSize: sent as it is.
	part := fetch(t, http.MethodGet, page+"/status", "gzip")
	if part.resp.StatusCode != http.StatusOK || len(part.plain) >= 1024 || part.resp.Header.Get("Content-Encoding") != "" {
		t.Errorf("status partial: %d, %d bytes, encoding %q", part.resp.StatusCode, len(part.plain), part.resp.Header.Get("Content-Encoding"))
	}
}

// TestCompressedPagesCarryAFreshlyMaskedCSRFToken: two loads of the same
// page carry different token bytes (so compression cannot leak the token,
// BREACH), and a form posted with either still goes through.
func TestCompressedPagesCarryAFreshlyMaskedCSRFToken(t *testing.T) {
	e := newEnv(t, envOptions{})
	status, obj := e.api(http.MethodPost, "/api/v1/checkouts", `{"amount": "500", "currency": "KES", "reference": "mask-1",
		"description": "Sugar", "customer": {"email": "a@example.com"}, "cancel_url": "https://shop.example/cart"}`)
	if status != http.StatusCreated {
		t.Fatalf("create: %d %v", status, obj)
	}
	id := obj["id"].(string)
	b := e.browser()
	first := b.get(e.app.URL + "/c/" + id)
	second := b.get(e.app.URL + "/c/" + id)
	sel := `form.cancel-form input[name="csrf_token"]`
	t1, t2 := first.doc.Find(sel).AttrOr("value", ""), second.doc.Find(sel).AttrOr("value", "")
	if t1 == "" || t1 == t2 {
		t.Fatalf("tokens %q and %q: want two different masked tokens", t1, t2)
	}
	after := b.submit(first, "form.cancel-form", nil)
	if after.status != http.StatusGone {
		t.Fatalf("cancel with the first page's token: %d\n%s", after.status, after.body)
	}
}

// TestMaskedCSRFTokenOfAnotherSessionOrOfNothingIsRefused: the mask hides
// the token, it does not replace it: a masked token from another browser's
// session, a masked empty token, or garbage are refused, and the checkout
// stays open; the browser's own masked token is taken.
func TestMaskedCSRFTokenOfAnotherSessionOrOfNothingIsRefused(t *testing.T) {
	e := newEnv(t, envOptions{})
	status, obj := e.api(http.MethodPost, "/api/v1/checkouts", `{"amount": "500", "currency": "KES", "reference": "mask-2",
		"description": "Sugar", "customer": {"email": "a@example.com"}, "cancel_url": "https://shop.example/cart"}`)
	if status != http.StatusCreated {
		t.Fatalf("create: %d %v", status, obj)
	}
	id := obj["id"].(string)
	sel := `form.cancel-form input[name="csrf_token"]`
	other := e.browser().get(e.app.URL+"/c/"+id).doc.Find(sel).AttrOr("value", "")
	b := e.browser()
	own := b.get(e.app.URL + "/c/" + id)
	for name, tok := range map[string]string{
		"another session's masked token": other,
		"a masked empty token":           reqctx.MaskCSRF(""),
		"not a token":                    "AAAA",
	} {
		got := b.submit(own, "form.cancel-form", url.Values{"csrf_token": {tok}})
		if got.status != http.StatusForbidden {
			t.Errorf("%s: %d, want 403", name, got.status)
		}
	}
	if got := b.submit(own, "form.cancel-form", nil); got.status != http.StatusGone {
		t.Fatalf("cancel with the page's own token: %d, want 410 (cancelled)\n%s", got.status, got.body)
	}
}
