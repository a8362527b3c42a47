package web_test

import (
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/PuerkitoBio/goquery"

	"checkout/locale"
	"checkout/store"
)

// swBrowser is a browser whose language switch already says Kiswahili
// (the preference cookie the switch sets).
func (e *env) swBrowser() *browser {
	e.t.Helper()
	jar, err := cookiejar.New(nil)
	if err != nil {
		e.t.Fatal(err)
	}
	u, err := url.Parse(e.app.URL)
	if err != nil {
		e.t.Fatal(err)
	}
	jar.SetCookies(u, []*http.Cookie{{Name: locale.CookieName, Value: "sw", Path: "/"}})
	return &browser{t: e.t, c: &http.Client{Jar: jar, Timeout: 10 * time.Second}}
}

// getWith is b.get with an Accept-Language header.
func (b *browser) getWith(u, acceptLanguage string) page {
	b.t.Helper()
	req, err := http.NewRequest(http.MethodGet, u, nil)
	if err != nil {
		b.t.Fatal(err)
	}
	req.Header.Set("Accept-Language", acceptLanguage)
	return b.do(req)
}

// englishLeft are the English catalog's words that a Swahili page must not
// show: each message's fixed text between its placeholders, where it
// differs from the Swahili, matched as whole words.
var englishLeft = func() []*regexp.Regexp {
	var res []*regexp.Regexp
	ph := regexp.MustCompile(`\{\{\.\w+\}\}`)
	for _, id := range locale.IDs() {
		en := locale.Text(locale.EN, id)
		if en == locale.Text(locale.SW, id) {
			continue
		}
		for _, frag := range ph.Split(en, -1) {
			frag = strings.TrimSpace(strings.Trim(frag, ".:,;()"))
			if len(frag) < 3 {
				continue
			}
			res = append(res, regexp.MustCompile(`\b`+regexp.QuoteMeta(frag)+`\b`))
		}
	}
	return res
}()

// assertSwahili checks that p is a Swahili page: <html lang="sw">, and no
// English catalog text in its text or its attributes people read
// (aria-label, title, placeholder aside: those are examples).
func assertSwahili(t *testing.T, what string, p page) {
	t.Helper()
	if lang := p.doc.Find("html").AttrOr("lang", ""); lang != "sw" {
		t.Errorf("%s: <html lang=%q>, want sw", what, lang)
	}
	texts := []string{p.doc.Find("title").Text(), p.doc.Find("body").Text()}
	p.doc.Find("[aria-label], [title]").Each(func(_ int, s *goquery.Selection) {
		texts = append(texts, s.AttrOr("aria-label", ""), s.AttrOr("title", ""))
	})
	// The switch names English in English, on purpose; scripts are code.
	p.doc.Find(".lang-switch a[lang=en], script").Remove()
	texts[1] = p.doc.Find("body").Text()
	all := strings.Join(texts, "\n")
	for _, re := range englishLeft {
		if m := re.FindString(all); m != "" {
			t.Errorf("%s: English left: %q\n%s", what, m, squeeze(all))
		}
	}
}

func squeeze(s string) string { return strings.Join(strings.Fields(s), " ") }

// TestSameCheckoutPageInEnglishThenSwahiliThenEnglish: the remembered
// page (handlers/pagecache.go) and method choices are per language: each
// view, twice in a row so the second comes from the remembered page, is in
// the language asked for.
func TestSameCheckoutPageInEnglishThenSwahiliThenEnglish(t *testing.T) {
	e := newEnv(t, envOptions{})
	id := e.createCheckout("lang-1")
	b := e.browser()
	cases := []struct {
		accept, lang, heading string
	}{
		{"en-KE,en;q=0.9", "en", "Choose how to pay"},
		{"sw-KE,sw;q=0.9", "sw", "Chagua njia ya kulipa"},
		{"en", "en", "Choose how to pay"},
		{"sw", "sw", "Chagua njia ya kulipa"},
	}
	for _, tc := range cases {
		for view := range 2 {
			p := b.getWith(e.app.URL+"/c/"+id, tc.accept)
			if p.status != http.StatusOK {
				t.Fatalf("%s view %d: %d", tc.accept, view, p.status)
			}
			if got := p.doc.Find("html").AttrOr("lang", ""); got != tc.lang {
				t.Errorf("%s view %d: lang %q, want %q", tc.accept, view, got, tc.lang)
			}
			if got := strings.TrimSpace(p.doc.Find("fieldset.methods legend").First().Text()); got != tc.heading {
				t.Errorf("%s view %d: legend %q, want %q", tc.accept, view, got, tc.heading)
			}
			if !strings.Contains(p.body, "KES 1,500.00") {
				t.Errorf("%s view %d: the amount is not written KES 1,500.00", tc.accept, view)
			}
			if tc.lang == "sw" {
				assertSwahili(t, "checkout page", p)
			}
		}
	}
}

// TestLanguageSwitchOverridesForThisBrowser: the checkout's locale beats
// Accept-Language; the switch (?lang=) beats both, is remembered by a
// cookie for this browser only, and the polled status follows the page.
func TestLanguageSwitchOverridesForThisBrowser(t *testing.T) {
	e := newEnv(t, envOptions{})
	status, obj := e.api(http.MethodPost, "/api/v1/checkouts", `{"amount": "1500", "currency": "KES", "reference": "lang-2",
		"description": "Two bags of coffee", "customer": {"email": "jane@example.com"}, "locale": "sw"}`)
	if status != http.StatusCreated {
		t.Fatalf("create: %d %v", status, obj)
	}
	id := obj["id"].(string)
	b := e.browser()
	lang := func(p page) string { return p.doc.Find("html").AttrOr("lang", "") }

	if p := b.getWith(e.app.URL+"/c/"+id, "en"); lang(p) != "sw" {
		t.Errorf("checkout locale sw, browser en: page in %q", lang(p))
	}
	p := b.getWith(e.app.URL+"/c/"+id+"?lang=en", "en")
	if lang(p) != "en" {
		t.Fatalf("after the switch to English: page in %q", lang(p))
	}
	sw := p.doc.Find(`.lang-switch a[lang=sw]`).AttrOr("href", "")
	if sw != "/c/"+id+"?lang=sw" {
		t.Errorf("switch links to %q", sw)
	}
	if p := b.getWith(e.app.URL+"/c/"+id, "sw"); lang(p) != "en" {
		t.Errorf("the switch's choice was not remembered: page in %q", lang(p))
	}
	if p := e.browser().getWith(e.app.URL+"/c/"+id, "en"); lang(p) != "sw" {
		t.Errorf("another browser: page in %q, want the checkout's sw", lang(p))
	}
	p = b.get(e.app.URL + sw)
	if lang(p) != "sw" {
		t.Fatalf("switch back to Kiswahili: %q", lang(p))
	}
	assertSwahili(t, "checkout page after the switch", p)
}

// TestEveryCustomerPageInSwahiliHasNoEnglishLeft walks the customer pages
// in Swahili: the checkout page, its form with an error marked, "check
// your phone" and its polled status, a failed M-Pesa prompt's message,
// the Pesapal frame, the result page, the receipt, the notices, and the
// payment link pages.
func TestEveryCustomerPageInSwahiliHasNoEnglishLeft(t *testing.T) {
	e := newEnv(t, envOptions{stk: "pochipay"})
	b := e.swBrowser()

	// Checkout page, and its form again with the method marked.
	id := e.createCheckout("sw-1")
	p := b.get(e.app.URL + "/c/" + id)
	assertSwahili(t, "checkout page", p)
	bad := b.submit(p, "form.method-choice", url.Values{"method": {"cash"}})
	if bad.status != http.StatusUnprocessableEntity || bad.doc.Find(`fieldset[aria-invalid=true]`).Length() != 1 {
		t.Fatalf("form with a bad method: %d\n%s", bad.status, bad.body)
	}
	if got := strings.TrimSpace(bad.doc.Find("#method-error").Text()); got != locale.Text(locale.SW, "err_choose_method") {
		t.Errorf("field error %q", got)
	}
	assertSwahili(t, "form with an error", bad)
	badPhone := b.submit(p, "form.stk-form", url.Values{"phone": {"12"}})
	if badPhone.doc.Find(`#phone[aria-invalid=true]`).Length() != 1 {
		t.Fatalf("bad phone not marked: %d\n%s", badPhone.status, badPhone.body)
	}
	assertSwahili(t, "form with a bad phone", badPhone)

	// PokeaPay's contact step, and its fields marked.
	idc := e.createCheckout("sw-contact")
	pc := b.get(e.app.URL + "/c/" + idc)
	step := b.submit(pc, "form.method-choice", url.Values{"method": {"pokeapay"}})
	if step.doc.Find("form.contact-step").Length() != 1 {
		t.Fatalf("no contact step: %d\n%s", step.status, step.body)
	}
	assertSwahili(t, "contact step", step)
	stepBad := b.submit(step, "form.contact-step", url.Values{"customer_phone": {"0812 345"}})
	if stepBad.doc.Find(`#customer_phone[aria-invalid=true]`).Length() != 1 {
		t.Fatalf("contact step error not marked: %d\n%s", stepBad.status, stepBad.body)
	}
	assertSwahili(t, "contact step with an error", stepBad)

	// "Check your phone", its polled status, then a declined prompt.
	wait := e.pushSTK(b, id, "0712 345 678")
	if !strings.HasSuffix(wait.url, "/c/"+id+"/stk") {
		t.Fatalf("after the push: %s", wait.url)
	}
	assertSwahili(t, "check your phone", wait)
	poll := wait.doc.Find("#status").AttrOr("hx-get", "")
	if !strings.Contains(poll, "lang=sw") {
		t.Errorf("status polls %q, not in the page's language", poll)
	}
	frag := e.browser().get(e.app.URL + poll) // no cookie: the URL carries the language
	if !strings.Contains(frag.body, "Tunasubiri malipo yako") {
		t.Errorf("polled status not in Swahili:\n%s", frag.body)
	}
	if err := e.sim.STKAnswer("pochipay", e.stkAttempt(id).ID, "1032", true); err != nil {
		t.Fatal(err)
	}
	e.sim.WaitIPNs()
	// The poll that sees the prompt end sends a browser without the
	// cookie to the checkout page in the page's language.
	req, err := http.NewRequest(http.MethodGet, e.app.URL+poll, nil)
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("HX-Request", "true")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if got := resp.Header.Get("HX-Redirect"); got != "/c/"+id+"?lang=sw" {
		t.Errorf("the ended poll redirects a browser without the cookie to %q", got)
	}
	failed := b.get(e.app.URL + "/c/" + id)
	if !strings.Contains(failed.body, locale.Text(locale.SW, "msg_stk_1032")) {
		t.Errorf("the declined prompt's message is not in Swahili:\n%s", failed.body)
	}
	assertSwahili(t, "checkout page after a declined prompt", failed)
	if co := e.checkout(id); co.Message != locale.Text(locale.EN, "msg_stk_1032") {
		t.Errorf("stored message %q: it stays English for the API and the admin", co.Message)
	}

	// Pesapal frame, result page, receipt.
	id2 := e.createCheckout("sw-2")
	p = b.get(e.app.URL + "/c/" + id2)
	frame := b.submit(p, "form.method-choice", url.Values{"method": {"pesapal"}})
	if !strings.HasSuffix(frame.url, "/c/"+id2+"/pesapal") {
		t.Fatalf("after choosing Pesapal: %d at %s", frame.status, frame.url)
	}
	assertSwahili(t, "Pesapal frame page", frame)
	// The frame page polls the status through a failure (Pesapal lets the
	// customer try again inside its page), in the page's language.
	if poll := frame.doc.Find("#status").AttrOr("hx-get", ""); poll != "/c/"+id2+"/status?lang=sw" {
		t.Errorf("the frame page polls %q", poll)
	}
	payPage := b.get(frame.doc.Find("iframe").AttrOr("src", ""))
	result := b.submit(payPage, "form", url.Values{"action": {"pay"}})
	if !strings.Contains(result.url, "/return/pesapal?") {
		t.Fatalf("after Pay: %d at %s", result.status, result.url)
	}
	assertSwahili(t, "result page", result)
	receipt := b.get(e.app.URL + "/c/" + id2)
	if e.checkout(id2).Status != store.StatusPaid || !strings.Contains(receipt.body, "Malipo yamepokelewa") {
		t.Fatalf("receipt:\n%s", receipt.body)
	}
	if paid := strings.TrimSpace(receipt.doc.Find("dd").Eq(5).Text()); !regexp.MustCompile(`^(Jumatatu|Jumanne|Jumatano|Alhamisi|Ijumaa|Jumamosi|Jumapili), \d{1,2} (Januari|Februari|Machi|Aprili|Mei|Juni|Julai|Agosti|Septemba|Oktoba|Novemba|Desemba) \d{4}, \d\d:\d\d EAT$`).MatchString(paid) {
		t.Errorf("paid at %q is not a Swahili date", paid)
	}
	assertSwahili(t, "receipt", receipt)

	// Notices: cancelled, not found, no such page.
	status, obj := e.api(http.MethodPost, "/api/v1/checkouts", `{"amount": "100", "currency": "KES", "reference": "sw-3",
		"description": "Sugar", "customer": {"email": "a@example.com"}, "cancel_url": "https://shop.example/cart"}`)
	if status != http.StatusCreated {
		t.Fatal(obj)
	}
	p = b.get(e.app.URL + "/c/" + obj["id"].(string))
	b.c.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
	b.submit(p, "form.cancel-form", nil)
	b.c.CheckRedirect = nil
	assertSwahili(t, "cancelled notice", b.get(e.app.URL+"/c/"+obj["id"].(string)))
	assertSwahili(t, "unknown checkout", b.get(e.app.URL+"/c/chk_nope"))
	late := e.createCheckout("sw-4")
	e.clock.Advance(25 * time.Hour)
	expired := b.get(e.app.URL + "/c/" + late)
	if expired.status != http.StatusGone || !strings.Contains(expired.body, locale.Text(locale.SW, "expired_heading")) {
		t.Fatalf("expired checkout: %d\n%s", expired.status, expired.body)
	}
	assertSwahili(t, "expired notice", expired)
	assertSwahili(t, "no such page", b.get(e.app.URL+"/nowhere"))
	bigReq, err := http.NewRequest(http.MethodPost, e.app.URL+"/c/"+id+"/pay",
		strings.NewReader("method=stk&phone="+strings.Repeat("7", 20<<10)))
	if err != nil {
		t.Fatal(err)
	}
	bigReq.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	big := b.do(bigReq)
	if big.status != http.StatusRequestEntityTooLarge || !strings.Contains(big.body, "Ombi ni kubwa kuliko KB 16.") {
		t.Fatalf("a form too large: %d\n%s", big.status, big.body)
	}
	assertSwahili(t, "a form too large", big)

	// Payment links: the amount page, its error, a closed link.
	link := e.createLink(`{"currency": "KES", "description": "Donation", "min_amount": "50"}`)
	lp, _ := e.openLink(b, link["id"].(string))
	assertSwahili(t, "link amount page", lp)
	lbad := b.submit(lp, "form.link-amount", url.Values{"amount": {"10"}})
	if lbad.doc.Find(`#amount[aria-invalid=true]`).Length() != 1 {
		t.Fatalf("link amount error not marked: %d\n%s", lbad.status, lbad.body)
	}
	assertSwahili(t, "link amount page with an error", lbad)
	lok := b.submit(lp, "form.link-amount", url.Values{"amount": {"500"}})
	assertSwahili(t, "link payment page", lok)
	if s, o := e.api(http.MethodPost, "/api/v1/payment_links/"+link["id"].(string)+"/deactivate", ""); s != http.StatusOK {
		t.Fatal(o)
	}
	assertSwahili(t, "closed link", b.get(e.app.URL+"/l/"+link["id"].(string)))
}
