package web_test

import (
	"bytes"
	"context"
	"mime/multipart"
	"net/http"
	"net/url"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/PuerkitoBio/goquery"

	"checkout/payments"
)

// testPNG is the start of a PNG file: what the logo check reads.
var testPNG = append([]byte("\x89PNG\r\n\x1a\n\x00\x00\x00\x0dIHDR"), bytes.Repeat([]byte{7}, 64)...)

// submitFile posts a multipart form the page shows, with its hidden fields,
// vals, and the file (field "logo") when data is not nil.
func (b *browser) submitFile(p page, formSel string, vals url.Values, data []byte) reply {
	b.t.Helper()
	form := p.doc.Find(formSel).First()
	if form.Length() == 0 {
		b.t.Fatalf("no form %q on %s:\n%s", formSel, p.url, p.body)
	}
	if form.AttrOr("enctype", "") != "multipart/form-data" {
		b.t.Fatalf("form %q is not multipart", formSel)
	}
	var body bytes.Buffer
	w := multipart.NewWriter(&body)
	form.Find("input[type=hidden]").Each(func(_ int, s *goquery.Selection) {
		w.WriteField(s.AttrOr("name", ""), s.AttrOr("value", ""))
	})
	for k, vs := range vals {
		for _, v := range vs {
			w.WriteField(k, v)
		}
	}
	if data != nil {
		fw, err := w.CreateFormFile("logo", "logo.png")
		if err != nil {
			b.t.Fatal(err)
		}
		fw.Write(data)
	} else {
		// What a browser sends for a file input left empty.
		fw, _ := w.CreateFormFile("logo", "")
		fw.Write(nil)
	}
	w.Close()
	base, _ := url.Parse(p.url)
	action, err := base.Parse(form.AttrOr("action", p.url))
	if err != nil {
		b.t.Fatal(err)
	}
	req, err := http.NewRequest(http.MethodPost, action.String(), &body)
	if err != nil {
		b.t.Fatal(err)
	}
	req.Header.Set("Content-Type", w.FormDataContentType())
	return b.send(req)
}

// merchantValues is a good merchant form.
func merchantValues(name string) url.Values {
	return url.Values{"name": {name}, "brand_color": {"#0A7D32"}, "support_phone": {"0712 345 678"},
		"support_email": {"help@duka.test"}, "success_url": {"https://duka.test/thanks"},
		"cancel_url": {"https://duka.test/cart"}, "methods": {"pesapal", "pokeapay"}}
}

func (e *env) merchantCount() int {
	e.t.Helper()
	ms, err := e.svc.Merchants(context.Background())
	if err != nil {
		e.t.Fatal(err)
	}
	return len(ms)
}

// newMerchant makes a merchant through the admin's form and returns its
// page.
func (e *env) newMerchant(b *browser, vals url.Values, logo []byte) reply {
	e.t.Helper()
	form := b.get(e.app.URL + "/admin/merchants/new")
	if form.status != http.StatusOK {
		e.t.Fatalf("new merchant form: %d", form.status)
	}
	r := b.submitFile(form, "form.merchant-form", vals, logo)
	if r.status != http.StatusOK || !strings.Contains(r.url, "/admin/merchants/mer_") {
		e.t.Fatalf("create merchant: %d at %s\n%s", r.status, r.url, r.body)
	}
	return r
}

var newKeyPattern = regexp.MustCompile(`sk_(live|sandbox)_[0-9a-f]{32}`)

// makeKey makes an API key on the merchant page p and returns the page
// showing it and the key.
func makeKey(t *testing.T, b *browser, p page, name string) (page, string) {
	t.Helper()
	r := b.submit(p, "form[action$='/keys']", url.Values{"name": {name}})
	key := strings.TrimSpace(r.doc.Find("#new-key").Text())
	if r.status != http.StatusOK || !newKeyPattern.MatchString(key) {
		t.Fatalf("make key: %d, key %q\n%s", r.status, key, r.body)
	}
	return r, key
}

func TestAdminCreatesAMerchantWhoseKeyAndBrandWork(t *testing.T) {
	e := newEnv(t, envOptions{})
	b := e.adminBrowser()
	p := e.newMerchant(b, merchantValues("Duka Letu"), testPNG)
	id := strings.TrimPrefix(strings.SplitN(p.url, "?", 2)[0], e.app.URL+"/admin/merchants/")
	if !strings.Contains(alert(p.page, "info"), "Merchant made") || p.doc.Find("h1").Text() != "Duka Letu" {
		t.Errorf("merchant page: %q, %q", alert(p.page, "info"), p.doc.Find("h1").Text())
	}
	m, err := e.svc.Merchant(context.Background(), id)
	if err != nil {
		t.Fatal(err)
	}
	if m.Name != "Duka Letu" || m.BrandColor != "#0a7d32" || m.SupportPhone != "0712 345 678" || m.SupportEmail != "help@duka.test" ||
		m.Methods != "pesapal,pokeapay" || m.SuccessURL != "https://duka.test/thanks" || m.CancelURL != "https://duka.test/cart" ||
		m.LogoType != "image/png" || len(m.LogoEtag) != 32 {
		t.Fatalf("stored merchant %+v", m)
	}
	// Its page links to everything of it.
	for _, href := range []string{"/admin/orders?merchant=" + id, "/admin/links?merchant=" + id, "/admin/refunds?merchant=" + id,
		"/admin/payouts?merchant=" + id, "/admin/webhooks"} {
		if p.doc.Find(`nav.merchant-links a[href="`+href+`"]`).Length() != 1 {
			t.Errorf("no link to %s", href)
		}
	}
	if b.get(e.app.URL+"/admin/merchants").doc.Find(`a[href="/admin/merchants/`+id+`"]`).Length() != 1 {
		t.Error("the list does not link the merchant")
	}

	// A key, shown once: on the answer that made it, never on the page after.
	shown, key := makeKey(t, b, p.page, "Shop server")
	if !strings.HasPrefix(key, "sk_live_") {
		t.Errorf("a live-mode key %q", key)
	}
	if cc := shown.doc.Find(".new-key").Length(); cc != 1 {
		t.Errorf("the key's box: %d", cc)
	}
	again := b.get(e.app.URL + "/admin/merchants/" + id)
	if strings.Contains(again.body, key) || !strings.Contains(again.body, key[len(key)-4:]) {
		t.Errorf("the page after: the key is shown again, or its hint is not")
	}

	// The key creates the merchant's checkouts, with its methods and URLs.
	st, _, body := e.call(key, http.MethodPost, "/api/v1/checkouts",
		`{"amount":"100","currency":"KES","reference":"d-1","description":"Sukuma","customer":{"email":"a@b.co"}}`, nil)
	if st != http.StatusCreated {
		t.Fatalf("checkout with the new key: %d %s", st, body)
	}
	coID := idOf(t, body)
	co := e.checkout(coID)
	if co.MerchantID != id || co.Methods != "pesapal,pokeapay" || co.SuccessURL != "https://duka.test/thanks" || co.CancelURL != "https://duka.test/cart" {
		t.Errorf("the checkout %+v: want the merchant's methods and URLs", co)
	}
	st, _, body = e.call(key, http.MethodPost, "/api/v1/payment_links", `{"amount":"100","currency":"KES","description":"x","methods":["stk"]}`, nil)
	if code, field := errorOf(t, body); st != http.StatusUnprocessableEntity || field != "methods" {
		t.Errorf("a link with a method the merchant disallows: %d %s %s", st, code, field)
	}

	// Its customer page: logo, name, colours through the nonce, support.
	cb := e.browser()
	r := cb.fetch(e.app.URL + "/c/" + coID)
	logo := payments.LogoPath(id, m.LogoEtag)
	if r.doc.Find(`.brand-bar img.brand-logo[src="`+logo+`"]`).Length() != 1 || strings.TrimSpace(r.doc.Find(".brand-name").Text()) != "Duka Letu" {
		t.Errorf("no brand bar with the logo and name:\n%s", r.body)
	}
	nonce := cspNonce.FindStringSubmatch(r.header.Get("Content-Security-Policy"))[1]
	style := r.doc.Find(`head style[nonce="` + nonce + `"]`)
	if !strings.Contains(style.Text(), ".brand-bar{background:#0a7d32;color:#ffffff") {
		t.Errorf("the brand style (nonce %s): %q", nonce, style.Text())
	}
	if r.doc.Find(`.site-footer a[href="tel:0712345678"]`).Length() != 1 || r.doc.Find(`.site-footer a[href="mailto:help@duka.test"]`).Length() != 1 {
		t.Errorf("no support contacts in the footer")
	}

	// Its other customer pages: the Pesapal frame, the receipt, a link's.
	_, frame, order := e.startPesapal(coID)
	if frame.doc.Find(".brand-bar .brand-name").Text() != "Duka Letu" || frame.doc.Find(`.site-footer a[href="mailto:help@duka.test"]`).Length() != 1 {
		t.Errorf("the Pesapal page is not branded:\n%s", frame.body)
	}
	if err := e.sim.PesapalComplete(order.TrackingID, false); err != nil {
		t.Fatal(err)
	}
	if st, _ := e.ipn(order); st != http.StatusOK {
		t.Fatalf("IPN: %d", st)
	}
	if rc := cb.get(e.app.URL + "/c/" + coID); rc.doc.Find(".brand-bar .brand-name").Text() != "Duka Letu" {
		t.Errorf("the receipt is not branded:\n%s", rc.body)
	}
	linkID := created201(t, e, key, "/api/v1/payment_links", `{"currency":"KES","description":"Any amount"}`)
	if lp := cb.get(e.app.URL + "/l/" + linkID); lp.doc.Find(".brand-bar .brand-name").Text() != "Duka Letu" {
		t.Errorf("the link page is not branded:\n%s", lp.body)
	}
	// Another merchant's pages are not.
	if other := cb.get(e.app.URL + "/c/" + e.createCheckout("plain")); other.doc.Find(".brand-bar").Length() != 0 ||
		other.doc.Find("head style").Length() != 0 {
		t.Errorf("the default merchant's page carries a brand")
	}

	// The logo itself.
	lr := cb.fetch(e.app.URL + logo)
	if lr.status != http.StatusOK || lr.body != string(testPNG) || lr.header.Get("Content-Type") != "image/png" ||
		lr.header.Get("Cache-Control") != "public, max-age=31536000, immutable" || lr.header.Get("X-Content-Type-Options") != "nosniff" ||
		lr.header.Get("Content-Security-Policy") != "default-src 'none'; sandbox" {
		t.Errorf("logo: %d %v", lr.status, lr.header)
	}
	for _, bad := range []string{"/m/" + id + "/logo/0123456789abcdef0123456789abcdef", "/m/" + id + "/logo/x", "/m/nobody/logo/" + m.LogoEtag} {
		if st := cb.fetch(e.app.URL + bad).status; st != http.StatusNotFound {
			t.Errorf("%s: %d, want 404", bad, st)
		}
	}

	// An edit shows on the next view at once in this process, and the page
	// cache follows it.
	edit := b.get(e.app.URL + "/admin/merchants/" + id)
	vals := merchantValues("Duka Letu")
	vals.Set("brand_color", "#ffeb3b")
	saved := b.submitFile(edit, "form.merchant-form", vals, nil)
	if saved.status != http.StatusOK || !strings.Contains(alert(saved.page, "info"), "Saved") {
		t.Fatalf("save: %d %s", saved.status, alert(saved.page, "info"))
	}
	r = cb.fetch(e.app.URL + "/c/" + coID)
	if !strings.Contains(r.doc.Find("head style").Text(), ".brand-bar{background:#ffeb3b;color:#000000") {
		t.Errorf("after the edit: %q", r.doc.Find("head style").Text())
	}
	if m2, _ := e.svc.Merchant(context.Background(), id); m2.LogoEtag != m.LogoEtag {
		t.Errorf("an edit without a file changed the logo")
	}
}

func TestMerchantFormRefusalsMarkTheFieldAndSaveNothing(t *testing.T) {
	e := newEnv(t, envOptions{})
	b := e.adminBrowser()
	before := e.merchantCount()
	form := b.get(e.app.URL + "/admin/merchants/new")
	big := append(append([]byte(nil), testPNG...), make([]byte, payments.MaxLogoBytes)...)
	for _, tc := range []struct {
		name, field string
		vals        func(url.Values)
		logo        []byte
	}{
		{"no name", "name", func(v url.Values) { v.Set("name", "") }, nil},
		{"colour without #", "brand_color", func(v url.Values) { v.Set("brand_color", "0a7d32") }, nil},
		{"ftp success URL", "success_url", func(v url.Values) { v.Set("success_url", "ftp://duka.test") }, nil},
		{"cancel URL with a password", "cancel_url", func(v url.Values) { v.Set("cancel_url", "https://u:p@duka.test/") }, nil},
		{"bad email", "support_email", func(v url.Values) { v.Set("support_email", "help at duka") }, nil},
		{"no method", "methods", func(v url.Values) { v.Del("methods") }, nil},
		{"SVG logo", "logo", func(url.Values) {}, []byte(`<svg xmlns="http://www.w3.org/2000/svg"><script>alert(1)</script></svg>`)},
		{"GIF logo", "logo", func(url.Values) {}, []byte("GIF89a\x01\x00\x01\x00")},
		{"logo over 200 KB", "logo", func(url.Values) {}, big},
	} {
		t.Run(tc.name, func(t *testing.T) {
			vals := merchantValues("Refused shop")
			tc.vals(vals)
			r := b.submitFile(form, "form.merchant-form", vals, tc.logo)
			if r.status != http.StatusUnprocessableEntity {
				t.Fatalf("status %d, want 422", r.status)
			}
			sel := `[name="` + tc.field + `"][aria-invalid="true"]`
			if tc.field == "methods" {
				sel = `fieldset[aria-invalid="true"]`
			}
			if r.doc.Find(sel).Length() == 0 || r.doc.Find("#"+tc.field+"-error").Text() == "" {
				t.Errorf("%s is not marked:\n%s", tc.field, r.body)
			}
			if tc.field != "name" && r.doc.Find(`input[name="name"]`).AttrOr("value", "") != "Refused shop" {
				t.Errorf("the form does not keep what was typed")
			}
			if n := e.merchantCount(); n != before {
				t.Errorf("%d merchants, want %d: a refused form saved one", n, before)
			}
		})
	}
	// A body beyond the upload limit is refused before it is read.
	huge := make([]byte, 300<<10)
	copy(huge, testPNG)
	if r := b.submitFile(form, "form.merchant-form", merchantValues("Huge"), huge); r.status != http.StatusRequestEntityTooLarge {
		t.Errorf("a 300 KB upload: %d, want 413", r.status)
	}
	// An edit refused keeps the merchant as it was.
	p := e.newMerchant(b, merchantValues("Kept"), nil)
	vals := merchantValues("Renamed")
	vals.Set("brand_color", "red")
	r := b.submitFile(p.page, "form.merchant-form", vals, nil)
	if r.status != http.StatusUnprocessableEntity || r.doc.Find(`[name="brand_color"][aria-invalid="true"]`).Length() != 1 {
		t.Fatalf("refused edit: %d", r.status)
	}
	if again := b.get(p.url); again.doc.Find("h1").Text() != "Kept" {
		t.Errorf("a refused edit renamed the merchant to %q", again.doc.Find("h1").Text())
	}
	// Multipart bodies are taken only where a logo is posted.
	links := b.get(e.app.URL + "/admin/links/new")
	var body bytes.Buffer
	w := multipart.NewWriter(&body)
	w.WriteField("csrf_token", csrfToken(links))
	w.WriteField("description", "x")
	w.Close()
	req, _ := http.NewRequest(http.MethodPost, e.app.URL+"/admin/links", &body)
	req.Header.Set("Content-Type", w.FormDataContentType())
	if st := b.send(req).status; st != http.StatusUnsupportedMediaType {
		t.Errorf("multipart to /admin/links: %d, want 415", st)
	}
}

// TestRotatedKeyWorksUntilItsOverlapEndsAndRevokedKeysAtOnceStop: the
// rotation's new key is shown once; the old key works until the chosen
// overlap ends, then answers as an unknown key does; a revoked key stops
// at once.
func TestRotatedKeyWorksUntilItsOverlapEndsAndRevokedKeysAtOnceStop(t *testing.T) {
	e := newEnv(t, envOptions{})
	b := e.adminBrowser()
	p := e.newMerchant(b, merchantValues("Rotating shop"), nil)
	shown, oldKey := makeKey(t, b, p.page, "Till")
	get := func(key string) (int, string) {
		st, _, body := e.call(key, http.MethodGet, "/api/v1/payment_links", "", nil)
		return st, string(body)
	}
	unknownStatus, unknownBody := get("sk_live_00000000000000000000000000000000")
	if unknownStatus != http.StatusUnauthorized {
		t.Fatalf("unknown key: %d", unknownStatus)
	}

	rotated := b.submit(shown, "form[action$='/rotate']", url.Values{"overlap": {"1h0m0s"}})
	newKey := strings.TrimSpace(rotated.doc.Find("#new-key").Text())
	if rotated.status != http.StatusOK || !newKeyPattern.MatchString(newKey) || newKey == oldKey ||
		!strings.Contains(rotated.doc.Find(".new-key").Text(), "keeps working until") {
		t.Fatalf("rotate: %d %q\n%s", rotated.status, newKey, rotated.body)
	}
	e.clock.Advance(59 * time.Minute)
	for _, k := range []string{oldKey, newKey} {
		if st, body := get(k); st != http.StatusOK {
			t.Errorf("within the overlap: %d %s", st, body)
		}
	}
	e.clock.Advance(time.Minute)
	if st, body := get(oldKey); st != unknownStatus || body != unknownBody {
		t.Errorf("the old key after the overlap: %d %s, want the unknown key's %d %s", st, body, unknownStatus, unknownBody)
	}
	if st, _ := get(newKey); st != http.StatusOK {
		t.Errorf("the new key after the overlap: %d", st)
	}

	// The page lists the old key as expired and the new one as active.
	// (The admin's session idled out meanwhile: log in again.)
	if _, r := e.login(b, adminEmail, adminPassword); r.status != http.StatusSeeOther {
		t.Fatalf("login: %d", r.status)
	}
	page := b.get(p.url)
	rows := page.doc.Find("section[aria-labelledby=keys-heading] tbody tr")
	states := rows.Find("td:nth-child(3)").Map(func(_ int, s *goquery.Selection) string { return s.Text() })
	slices.Sort(states)
	if len(states) != 2 || states[0] != "Active" || !strings.HasPrefix(states[1], "Expired ") {
		t.Errorf("keys table:\n%s", rows.Text())
	}
	revoked := b.submit(page, "form[action$='/revoke']", nil)
	if revoked.status != http.StatusOK || !strings.Contains(alert(revoked, "info"), "revoked") {
		t.Fatalf("revoke: %d %s", revoked.status, alert(revoked, "info"))
	}
	if st, body := get(newKey); st != unknownStatus || body != unknownBody {
		t.Errorf("a revoked key: %d %s, want the unknown key's", st, body)
	}
	if n := b.get(p.url).doc.Find("form[action$='/revoke']").Length(); n != 0 {
		t.Errorf("%d revoke buttons left, want none", n)
	}
}

// TestMerchantFilterOnTheAdminLists: ?merchant= keeps one merchant's
// orders, links, refunds and payouts.
func TestMerchantFilterOnTheAdminLists(t *testing.T) {
	e := transferEnv(t)
	b := e.adminBrowser()
	mine := e.createCheckout("filter-mine")
	st, _, body := e.call(otherAPIKey, http.MethodPost, "/api/v1/checkouts", `{"amount":"10","currency":"KES","reference":"filter-other","description":"x"}`, nil)
	if st != http.StatusCreated {
		t.Fatal(st, string(body))
	}
	theirs := idOf(t, body)
	ids := orderIDs(b.get(e.app.URL + "/admin/orders?merchant=other"))
	if len(ids) != 1 || ids[0] != theirs {
		t.Errorf("orders of other: %v, want %s", ids, theirs)
	}
	if ids := orderIDs(b.get(e.app.URL + "/admin/orders?merchant=default")); len(ids) != 1 || ids[0] != mine {
		t.Errorf("orders of default: %v, want %s", ids, mine)
	}
	if r := b.get(e.app.URL + "/admin/orders?merchant=" + url.QueryEscape("a b")); r.status != http.StatusUnprocessableEntity {
		t.Errorf("a bad merchant id: %d", r.status)
	}
	linkOther := created201(t, e, otherAPIKey, "/api/v1/payment_links", `{"amount":"10","currency":"KES","description":"theirs"}`)
	created201(t, e, testAPIKey, "/api/v1/payment_links", `{"amount":"10","currency":"KES","description":"mine"}`)
	lp := b.get(e.app.URL + "/admin/links?merchant=other")
	if !strings.Contains(lp.body, linkOther) || strings.Contains(lp.body, "mine") {
		t.Errorf("links of other:\n%s", lp.body)
	}
	poOther := created201(t, e, otherAPIKey, "/api/v1/payouts", `{"amount":10,"phone":"0712345678"}`)
	poMine := created201(t, e, testAPIKey, "/api/v1/payouts", `{"amount":10,"phone":"0712345678"}`)
	pp := b.get(e.app.URL + "/admin/payouts?merchant=other")
	if !strings.Contains(pp.body, poOther) || strings.Contains(pp.body, poMine) {
		t.Errorf("payouts of other: want %s and not %s", poOther, poMine)
	}
	if rp := b.get(e.app.URL + "/admin/refunds?merchant=other"); rp.status != http.StatusOK {
		t.Errorf("refunds of other: %d", rp.status)
	}
	if rp := b.get(e.app.URL + "/admin/refunds?merchant=" + url.QueryEscape("a b")); rp.status != http.StatusUnprocessableEntity ||
		rp.doc.Find(`input[name="merchant"][aria-invalid="true"]`).Length() != 1 {
		t.Errorf("a bad merchant id on refunds: %d, not marked", rp.status)
	}
}

func created201(t *testing.T, e *env, key, path, body string) string {
	t.Helper()
	st, _, out := e.call(key, http.MethodPost, path, body, nil)
	if st != http.StatusCreated {
		t.Fatalf("POST %s: %d %s", path, st, out)
	}
	return idOf(t, out)
}

// TestMerchantAdminAnswers404ForWhatIsNotThatMerchants: an unknown
// merchant's page, and another merchant's key under a merchant's URL,
// are 404 and change nothing; a logo can be removed.
func TestMerchantAdminAnswers404ForWhatIsNotThatMerchants(t *testing.T) {
	e := newEnv(t, envOptions{})
	b := e.adminBrowser()
	if st := b.get(e.app.URL + "/admin/merchants/nobody").status; st != http.StatusNotFound {
		t.Errorf("unknown merchant: %d", st)
	}
	p := e.newMerchant(b, merchantValues("With logo"), testPNG)
	_, key := makeKey(t, b, p.page, "Till")
	ks, err := e.svc.APIKeys(context.Background(), "default")
	if err != nil || len(ks) != 1 {
		t.Fatalf("default's keys: %v %v", ks, err)
	}
	// The default merchant's key, rotated and revoked under the new
	// merchant's URL.
	for _, action := range []string{"rotate", "revoke"} {
		r := b.post(p.url[:strings.Index(p.url, "?")]+"/keys/"+ks[0].ID+"/"+action,
			url.Values{"csrf_token": {csrfToken(p.page)}, "overlap": {"1h0m0s"}}, nil)
		if r.status != http.StatusNotFound {
			t.Errorf("%s another merchant's key: %d", action, r.status)
		}
	}
	if st, _, _ := e.call(testAPIKey, http.MethodGet, "/api/v1/payment_links", "", nil); st != http.StatusOK {
		t.Errorf("the default merchant's key after the refused tries: %d", st)
	}
	if st, _, _ := e.call(key, http.MethodGet, "/api/v1/payment_links", "", nil); st != http.StatusOK {
		t.Errorf("the new merchant's key: %d", st)
	}
	// Remove the logo.
	vals := merchantValues("With logo")
	vals.Set("remove_logo", "1")
	edit := b.get(p.url)
	if r := b.submitFile(edit, "form.merchant-form", vals, nil); r.status != http.StatusOK {
		t.Fatalf("save: %d", r.status)
	}
	id := strings.TrimPrefix(strings.SplitN(p.url, "?", 2)[0], e.app.URL+"/admin/merchants/")
	if m, _ := e.svc.Merchant(context.Background(), id); m.LogoType != "" || m.LogoEtag != "" {
		t.Errorf("after removal: %+v", m)
	}
}

func TestSTKWaitingPageCarriesTheMerchantsBrand(t *testing.T) {
	e := newEnv(t, envOptions{stk: "pokeapay"})
	b := e.adminBrowser()
	vals := merchantValues("Duka STK")
	vals["methods"] = []string{"stk"}
	p := e.newMerchant(b, vals, nil)
	_, key := makeKey(t, b, p.page, "Till")
	coID := created201(t, e, key, "/api/v1/checkouts", `{"amount":"100","currency":"KES","reference":"stk-1","description":"x"}`)
	cb := e.browser()
	page := cb.get(e.app.URL + "/c/" + coID)
	wait := cb.submit(page, "form.stk-form", url.Values{"phone": {"0712345678"}})
	if wait.status != http.StatusOK || !strings.HasSuffix(wait.url, "/c/"+coID+"/stk") {
		t.Fatalf("STK: %d at %s", wait.status, wait.url)
	}
	if wait.doc.Find(".brand-bar .brand-name").Text() != "Duka STK" || wait.doc.Find(`.site-footer a[href="tel:0712345678"]`).Length() != 1 {
		t.Errorf("the waiting page is not branded:\n%s", wait.body)
	}
}
