package web_test

import (
	"context"
	"encoding/json"
	"encoding/xml"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"checkout/store"
	"checkout/web"
)

// linkAPI calls the merchant API with key and extra headers, and returns the
// status, the headers and the decoded object.
func (e *env) linkAPI(key, method, path, body string, hdr map[string]string) (int, http.Header, map[string]any) {
	e.t.Helper()
	req, err := http.NewRequest(method, e.app.URL+path, strings.NewReader(body))
	if err != nil {
		e.t.Fatal(err)
	}
	req.Header.Set("Authorization", "Bearer "+key)
	req.Header.Set("Content-Type", "application/json")
	for k, v := range hdr {
		req.Header.Set(k, v)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		e.t.Fatal(err)
	}
	defer resp.Body.Close()
	var out map[string]any
	if err := json.NewDecoder(resp.Body).Decode(&out); err != nil {
		e.t.Fatalf("%s %s: answer is not JSON: %v", method, path, err)
	}
	return resp.StatusCode, resp.Header, out
}

// createLink creates a payment link over the API and returns its object.
func (e *env) createLink(body string) map[string]any {
	e.t.Helper()
	status, obj := e.api(http.MethodPost, "/api/v1/payment_links", body)
	if status != http.StatusCreated {
		e.t.Fatalf("create payment link: %d %v", status, obj)
	}
	return obj
}

// openLink has b open the link and returns the page it lands on and the
// checkout id in its address ("" when it is not a checkout page: the
// link's own payment page, or a page saying why the link is closed).
func (e *env) openLink(b *browser, linkID string) (page, string) {
	e.t.Helper()
	p := b.get(e.app.URL + "/l/" + linkID)
	return p, checkoutInURL(e.t, p.url)
}

// checkoutInURL is the checkout id of a /c/{id}... address, "" for another.
func checkoutInURL(t *testing.T, raw string) string {
	t.Helper()
	u, err := url.Parse(raw)
	if err != nil {
		t.Fatal(err)
	}
	if rest, ok := strings.CutPrefix(u.Path, "/c/"); ok {
		id, _, _ := strings.Cut(rest, "/")
		return id
	}
	return ""
}

// payLink has b send a form of a link's payment page p and returns the page
// it lands on and the checkout this made ("" when none was made).
func (e *env) payLink(b *browser, p page, linkID, formSel string, vals url.Values) (page, string) {
	e.t.Helper()
	before := e.linkCheckoutIDs(linkID)
	r := b.submit(p, formSel, vals)
	for _, id := range e.linkCheckoutIDs(linkID) {
		if !slices.Contains(before, id) {
			return r, id
		}
	}
	return r, ""
}

// linkCheckouts counts the checkouts made from a link.
func (e *env) linkCheckouts(linkID string) int {
	e.t.Helper()
	return len(e.linkCheckoutIDs(linkID))
}

// linkCheckoutIDs lists the checkouts made from a link.
func (e *env) linkCheckoutIDs(linkID string) []string {
	e.t.Helper()
	rows, _, err := e.store.ListCheckouts(context.Background(), store.OrderFilter{Limit: 200})
	if err != nil {
		e.t.Fatal(err)
	}
	var ids []string
	for _, co := range rows {
		if co.PaymentLinkID == linkID {
			ids = append(ids, co.ID)
		}
	}
	return ids
}

const linkBody = `{"amount": "1500", "currency": "KES", "description": "Two bags of coffee", "reference_prefix": "COFFEE-"}`

func TestLinkFromTheAPIOpensAsItsCheckoutAndIsPaidWithEachMethod(t *testing.T) {
	for _, tc := range []struct{ method, stk string }{
		{"pesapal", ""}, {"pokeapay", ""}, {"stk", "pokeapay"}, {"stk", "pochipay"},
	} {
		t.Run(tc.method+tc.stk, func(t *testing.T) {
			e := newEnv(t, envOptions{stk: tc.stk})
			link := e.createLink(linkBody)
			linkID := link["id"].(string)
			if !strings.HasPrefix(linkID, "plink_") || link["url"] != e.app.URL+"/l/"+linkID || link["active"] != true ||
				link["amount"] != "1500.00" || link["checkouts_paid"] != float64(0) || link["amount_paid"] != "0.00" {
				t.Fatalf("link object: %v", link)
			}
			b := e.browser()
			p, id := e.openLink(b, linkID)
			if p.status != http.StatusOK || id != "" || !strings.Contains(p.body, "KES 1,500.00") || !strings.Contains(p.body, "Two bags of coffee") ||
				p.doc.Find("form.method-choice[action='/l/"+linkID+"']").Length() == 0 {
				t.Fatalf("opening the link: %d at %s\n%s", p.status, p.url, p.body)
			}
			if n := e.linkCheckouts(linkID); n != 0 {
				t.Fatalf("opening the link made %d checkouts; choosing a method makes it", n)
			}

			switch tc.method {
			case "pesapal":
				var frame page
				frame, id = e.payLink(b, p, linkID, "form.method-choice", url.Values{"method": {"pesapal"}, "contact": {"jane@example.com"}})
				payPage := b.get(frame.doc.Find("iframe").AttrOr("src", ""))
				if r := b.submit(payPage, "form", url.Values{"action": {"pay"}}); r.status != http.StatusOK {
					t.Fatalf("Pesapal pay: %d", r.status)
				}
			case "pokeapay":
				hosted, made := e.payLink(b, p, linkID, "form.method-choice", url.Values{"method": {"pokeapay"}})
				if hosted.doc.Find("form.contact-step").Length() == 1 {
					if made != "" {
						t.Fatalf("the contact step made checkout %s before the details were given", made)
					}
					hosted, made = e.payLink(b, hosted, linkID, "form.contact-step", url.Values{"customer_phone": {"0712 345 678"},
						"customer_email": {"jane@example.com"}})
				}
				id = made
				if !strings.HasPrefix(hosted.url, e.sim.PokeaPayCheckoutURL()) {
					t.Fatalf("after choosing PokeaPay: %d at %s\n%s", hosted.status, hosted.url, hosted.body)
				}
				if r := b.submit(hosted, "form", url.Values{"action": {"pay"}, "type": {"m"}}); r.status != http.StatusOK {
					t.Fatalf("PokeaPay pay: %d", r.status)
				}
			case "stk":
				_, id = e.payLink(b, p, linkID, "form.stk-form", url.Values{"phone": {"0712 345 678"}})
				if err := e.sim.STKAnswer(tc.stk, e.stkAttempt(id).ID, "0", true); err != nil {
					t.Fatal(err)
				}
			}
			if id == "" {
				t.Fatalf("paying with %s made no checkout", tc.method)
			}
			co := e.checkout(id)
			if co.Amount != 150000 || co.PaymentLinkID != linkID || !strings.HasPrefix(co.Reference, "COFFEE-") {
				t.Fatalf("checkout made: %+v", co)
			}
			if n := e.linkCheckouts(linkID); n != 1 {
				t.Fatalf("the link has %d checkouts, want 1", n)
			}
			e.sim.WaitIPNs()
			if co := e.checkout(id); co.Status != store.StatusPaid {
				t.Fatalf("after paying with %s: %s", tc.method, co.Status)
			}
			status, got := e.api(http.MethodGet, "/api/v1/payment_links/"+linkID, "")
			if status != http.StatusOK || got["checkouts_paid"] != float64(1) || got["amount_paid"] != "1500.00" {
				t.Fatalf("link after payment: %d %v", status, got)
			}
			status, obj := e.api(http.MethodGet, "/api/v1/checkouts/"+id, "")
			if status != http.StatusOK || obj["payment_link"] != linkID || obj["status"] != "paid" {
				t.Fatalf("checkout object: %d %v", status, obj)
			}
		})
	}
}

func TestCustomerAmountOutsideTheLinksBoundsIsRefusedOnThePage(t *testing.T) {
	e := newEnv(t, envOptions{})
	linkID := e.createLink(`{"min_amount": "100", "max_amount": "5000", "currency": "KES", "description": "School fees"}`)["id"].(string)
	b := e.browser()
	form, id := e.openLink(b, linkID)
	if form.status != http.StatusOK || id != "" || form.doc.Find("form.link-amount input[name=amount]").Length() != 1 ||
		!strings.Contains(form.body, "Between KES 100.00 and KES 5,000.00") {
		t.Fatalf("amount form: %d at %s\n%s", form.status, form.url, form.body)
	}
	for _, typed := range []string{"99", "5000.01", "", "ten", "1,5", "25,00"} {
		p := b.submit(form, "form.link-amount", url.Values{"amount": {typed}})
		in := p.doc.Find("input[name=amount]")
		if p.status != http.StatusUnprocessableEntity || in.AttrOr("aria-invalid", "") != "true" ||
			p.doc.Find("#amount-error").Text() == "" || in.AttrOr("value", "x") != typed {
			t.Fatalf("amount %q: %d, field %v\n%s", typed, p.status, in.Nodes, p.body)
		}
	}
	if n := e.linkCheckouts(linkID); n != 0 {
		t.Fatalf("refused amounts made %d checkouts", n)
	}

	// The amount step shows the method choice for it and makes nothing;
	// choosing a method makes the checkout.
	p := b.submit(form, "form.link-amount", url.Values{"amount": {"2,500"}})
	if p.status != http.StatusOK || !strings.Contains(p.body, "KES 2,500.00") || p.doc.Find("form.method-choice input[name=amount]").AttrOr("value", "") != "2,500" {
		t.Fatalf("amount 2,500: %d at %s\n%s", p.status, p.url, p.body)
	}
	if n := e.linkCheckouts(linkID); n != 0 {
		t.Fatalf("the amount step made %d checkouts", n)
	}
	_, first := e.payLink(b, p, linkID, "form.method-choice", url.Values{"method": {"pesapal"}, "contact": {"jane@example.com"}})
	if first == "" || e.checkout(first).Amount != 250000 {
		t.Fatalf("paying 2,500 made checkout %q", first)
	}
	// Back on the link, the form offers the open checkout; the same amount
	// goes back to it, another makes a new one and leaves it unchanged.
	again, _ := e.openLink(b, linkID)
	if !strings.Contains(again.body, "Continue with KES 2,500.00") || again.doc.Find("a[href='/c/"+first+"']").Length() != 1 {
		t.Fatalf("form on return does not offer the open checkout:\n%s", again.body)
	}
	if p := b.submit(again, "form.link-amount", url.Values{"amount": {"2500.00"}}); !strings.HasSuffix(p.url, "/c/"+first) {
		t.Fatalf("the same amount went to %s, want /c/%s", p.url, first)
	}
	p = b.submit(again, "form.link-amount", url.Values{"amount": {"300"}})
	_, second := e.payLink(b, p, linkID, "form.method-choice", url.Values{"method": {"pesapal"}, "contact": {"jane@example.com"}})
	if second == "" || second == first || e.checkout(second).Amount != 30000 || e.checkout(first).Amount != 250000 {
		t.Fatalf("another amount: checkout %q (first %s)", second, first)
	}
	if n := e.linkCheckouts(linkID); n != 2 {
		t.Fatalf("checkouts = %d, want 2", n)
	}
}

// payLinkPesapal opens the link in b and chooses Pesapal: the checkout it
// makes (or pays, when b has one).
func (e *env) payLinkPesapal(b *browser, linkID string) string {
	e.t.Helper()
	p, reused := e.openLink(b, linkID)
	if reused != "" {
		return reused
	}
	_, id := e.payLink(b, p, linkID, "form.method-choice", url.Values{"method": {"pesapal"}, "contact": {"jane@example.com"}})
	return id
}

func TestLinkReloadInTheSameBrowserReusesItsOpenCheckout(t *testing.T) {
	e := newEnv(t, envOptions{})
	linkID := e.createLink(linkBody)["id"].(string)
	a, other := e.browser(), e.browser()
	first := e.payLinkPesapal(a, linkID)
	_, again := e.openLink(a, linkID)
	theirs := e.payLinkPesapal(other, linkID)
	if first == "" || again != first {
		t.Fatalf("reload gave %q, first %q", again, first)
	}
	if theirs == "" || theirs == first {
		t.Fatalf("another browser got %q, the first browser %q", theirs, first)
	}
	// Once the checkout is no longer open (expired), the browser gets the
	// link's page again and a new checkout.
	e.clock.Advance(24*time.Hour + time.Second)
	later := e.payLinkPesapal(a, linkID)
	if later == "" || later == first {
		t.Fatalf("after the checkout expired: %q (first %q)", later, first)
	}
	if n := e.linkCheckouts(linkID); n != 3 {
		t.Fatalf("checkouts = %d, want 3", n)
	}
}

// A client that keeps no cookie (a WhatsApp or Telegram link preview, a
// crawler, a script) sees the link's page and makes nothing: no checkout,
// so no checkout.expired webhook a day later for each preview.
func TestCookielessGETsOfALinkMakeNoCheckout(t *testing.T) {
	e := newEnv(t, envOptions{})
	linkID := e.createLink(linkBody)["id"].(string)
	cl := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	for i := 0; i < 30; i++ {
		resp, err := cl.Get(e.app.URL + "/l/" + linkID)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusOK {
			t.Fatalf("GET %d of /l/%s: %d, want the link's page", i+1, linkID, resp.StatusCode)
		}
	}
	if n := e.linkCheckouts(linkID); n != 0 {
		t.Fatalf("30 cookie-less GETs of /l/%s made %d checkouts; a preview or crawler should make none", linkID, n)
	}
}

// A field that would refuse the payment (the M-Pesa number, the receipt
// contact) brings the link's page back with the field marked, and
// nothing is made.
func TestLinkPageFieldErrorsMakeNothing(t *testing.T) {
	e := newEnv(t, envOptions{stk: "pokeapay"})
	linkID := e.createLink(linkBody)["id"].(string)
	b := e.browser()
	p, _ := e.openLink(b, linkID)
	for _, tc := range []struct {
		form, field string
		vals        url.Values
	}{
		{"form.stk-form", "phone", url.Values{"phone": {"12"}}},
		{"form.method-choice", "contact", url.Values{"method": {"pesapal"}, "contact": {"not a contact"}}},
		{"form.method-choice", "method", url.Values{"method": {"cash"}}},
	} {
		r, made := e.payLink(b, p, linkID, tc.form, tc.vals)
		if r.status != http.StatusUnprocessableEntity || made != "" || r.doc.Find("#"+tc.field+"-error").Text() == "" ||
			!strings.HasSuffix(r.url, "/l/"+linkID) {
			t.Errorf("%s %v: %d at %s, checkout %q\n%s", tc.form, tc.vals, r.status, r.url, made, r.body)
		}
	}
	if n := e.linkCheckouts(linkID); n != 0 {
		t.Fatalf("refused fields made %d checkouts", n)
	}
}

func TestDeactivatedExpiredAndUnknownLinksShowAClearPage(t *testing.T) {
	e := newEnv(t, envOptions{})
	b := e.browser()
	off := e.createLink(linkBody)["id"].(string)
	id := e.payLinkPesapal(b, off) // this browser has an open checkout of it
	status, obj := e.api(http.MethodPost, "/api/v1/payment_links/"+off+"/deactivate", "")
	if status != http.StatusOK || obj["active"] != false || obj["deactivated_at"] == nil {
		t.Fatalf("deactivate: %d %v", status, obj)
	}
	// Another browser (b, with its open checkout, is sent there: see
	// TestClosedLinkSendsTheBrowserToItsOpenCheckout). A page with a form
	// gives it its CSRF token, so that the POSTs below reach the handler.
	b = e.browser()
	open := e.createLink(`{"currency": "KES", "description": "Tip"}`)["id"].(string)
	tipForm, _ := e.openLink(b, open)
	token := csrfToken(tipForm)
	if token == "" {
		t.Fatal("the amount form has no CSRF token")
	}
	exp := e.clock.Now().Add(time.Hour).Format(time.RFC3339)
	soon := e.createLink(`{"amount": "100", "currency": "KES", "description": "Ticket", "expires_at": "` + exp + `"}`)["id"].(string)
	e.clock.Advance(time.Hour)

	for _, tc := range []struct {
		id, heading string
		status      int
	}{
		{off, "no longer works", http.StatusGone},
		{soon, "has expired", http.StatusGone},
		{"plink_unknown", "not found", http.StatusNotFound},
	} {
		p, got := e.openLink(b, tc.id)
		if p.status != tc.status || got != "" || !strings.Contains(p.doc.Find("h1").Text(), tc.heading) {
			t.Errorf("%s: %d at %s, heading %q", tc.id, p.status, p.url, p.doc.Find("h1").Text())
		}
		post := b.post(e.app.URL+"/l/"+tc.id, url.Values{"amount": {"100"}, "csrf_token": {token}}, nil)
		if post.status != tc.status {
			t.Errorf("%s: POST answered %d", tc.id, post.status)
		}
	}
	if n := e.linkCheckouts(off); n != 1 {
		t.Fatalf("deactivated link has %d checkouts, want the 1 made before", n)
	}
	if n := e.linkCheckouts(soon); n != 0 {
		t.Fatalf("expired link made %d checkouts", n)
	}
	// The checkout made before the link was turned off can still be paid.
	if co := e.checkout(id); co.Status != store.StatusPending {
		t.Fatalf("earlier checkout is %s", co.Status)
	}
}

// A deactivated or expired link makes no checkout, but the browser that
// has an open checkout of it, still payable, is sent there (to a GET as to
// a POST); another browser is told the link is closed.
func TestClosedLinkSendsTheBrowserToItsOpenCheckout(t *testing.T) {
	e := newEnv(t, envOptions{})
	b := e.browser()
	off := e.createLink(linkBody)["id"].(string)
	offCo := e.payLinkPesapal(b, off)
	if status, _ := e.api(http.MethodPost, "/api/v1/payment_links/"+off+"/deactivate", ""); status != http.StatusOK {
		t.Fatalf("deactivate: %d", status)
	}
	// Its checkouts get MinExpiresIn (15 minutes) however soon the link
	// expires: the link expires first.
	exp := e.clock.Now().Add(time.Minute).Format(time.RFC3339)
	soon := e.createLink(`{"amount": "100", "currency": "KES", "description": "Ticket", "expires_at": "` + exp + `"}`)["id"].(string)
	soonCo := e.payLinkPesapal(b, soon)
	if offCo == "" || soonCo == "" {
		t.Fatalf("checkouts %q %q", offCo, soonCo)
	}
	e.clock.Advance(2 * time.Minute)

	other := e.browser()
	open := e.createLink(`{"currency": "KES", "description": "Tip"}`)["id"].(string)
	token := csrfToken(b.get(e.app.URL + "/l/" + open))
	otherToken := csrfToken(other.get(e.app.URL + "/l/" + open))
	for _, tc := range []struct{ link, co, heading string }{{off, offCo, "no longer works"}, {soon, soonCo, "has expired"}} {
		if p, got := e.openLink(b, tc.link); p.status != http.StatusOK || got != tc.co {
			t.Errorf("%s: the browser with checkout %s landed on %s (%d)", tc.link, tc.co, p.url, p.status)
		}
		if p := b.post(e.app.URL+"/l/"+tc.link, url.Values{"method": {"pesapal"}, "csrf_token": {token}}, nil); checkoutInURL(t, p.url) != tc.co {
			t.Errorf("%s: POST from the browser with checkout %s landed on %s (%d)", tc.link, tc.co, p.url, p.status)
		}
		if p, got := e.openLink(other, tc.link); p.status != http.StatusGone || got != "" || !strings.Contains(p.doc.Find("h1").Text(), tc.heading) {
			t.Errorf("%s: another browser: %d at %s", tc.link, p.status, p.url)
		}
		if p := other.post(e.app.URL+"/l/"+tc.link, url.Values{"method": {"pesapal"}, "csrf_token": {otherToken}}, nil); p.status != http.StatusGone {
			t.Errorf("%s: another browser's POST: %d", tc.link, p.status)
		}
	}
	// Once the checkout is over, the browser too is told the link is closed.
	if _, err := e.store.Cancel(context.Background(), offCo, "test"); err != nil {
		t.Fatal(err)
	}
	if p, got := e.openLink(b, off); p.status != http.StatusGone || got != "" {
		t.Errorf("after its checkout was cancelled: %d at %s", p.status, p.url)
	}
	if n, m := e.linkCheckouts(off), e.linkCheckouts(soon); n != 1 || m != 1 {
		t.Fatalf("the closed links have %d and %d checkouts, want the 1 each made before", n, m)
	}
}

func TestSingleUseLinkRefusesASecondPayment(t *testing.T) {
	e := newEnv(t, envOptions{})
	linkID := e.createLink(`{"amount": "1500", "currency": "KES", "description": "Invoice 42", "single_use": true}`)["id"].(string)
	a, b := e.browser(), e.browser()
	pa, _ := e.openLink(a, linkID)
	pb, _ := e.openLink(b, linkID)
	frame, first := e.payLink(a, pa, linkID, "form.method-choice", url.Values{"method": {"pesapal"}, "contact": {"jane@example.com"}})
	if frame.status != http.StatusOK || first == "" {
		t.Fatalf("first payment: %d, checkout %q", frame.status, first)
	}
	// While the first is under way, the second is refused and nothing is
	// made: no checkout it could not pay, nothing remembered for b.
	refused, second := e.payLink(b, pb, linkID, "form.method-choice", url.Values{"method": {"pesapal"}, "contact": {"jane@example.com"}})
	if refused.status != http.StatusConflict || !strings.Contains(refused.doc.Find("h1").Text(), "under way") {
		t.Fatalf("second payment: %d\n%s", refused.status, refused.body)
	}
	if second != "" {
		t.Fatalf("the refused payment made checkout %s (status %s), which it could not pay", second, e.checkout(second).Status)
	}
	if p, id := e.openLink(b, linkID); id != "" {
		t.Fatalf("b's browser was sent to checkout %s (%d) after the refusal", id, p.status)
	}
	payPage := a.get(frame.doc.Find("iframe").AttrOr("src", ""))
	a.submit(payPage, "form", url.Values{"action": {"pay"}})
	e.sim.WaitIPNs()
	if co := e.checkout(first); co.Status != store.StatusPaid {
		t.Fatalf("first checkout: %s", co.Status)
	}
	// After it is paid: the link's page says so, to the POST as to a GET,
	// and the link makes no checkout.
	before := e.linkCheckouts(linkID)
	if r := b.submit(pb, "form.method-choice", url.Values{"method": {"pesapal"}, "contact": {"jane@example.com"}}); r.status != http.StatusGone ||
		!strings.Contains(r.doc.Find("h1").Text(), "already used") {
		t.Fatalf("payment after the link was paid: %d", r.status)
	}
	third := e.browser()
	if p, id := e.openLink(third, linkID); p.status != http.StatusGone || id != "" || !strings.Contains(p.doc.Find("h1").Text(), "already used") {
		t.Fatalf("opening the paid link: %d at %s", p.status, p.url)
	}
	if n := e.linkCheckouts(linkID); n != before {
		t.Fatalf("the paid link made %d more checkouts", n-before)
	}
	_, got := e.api(http.MethodGet, "/api/v1/payment_links/"+linkID, "")
	if got["checkouts_paid"] != float64(1) {
		t.Fatalf("link: %v", got)
	}
}

func TestSingleUseLinkConcurrentPaymentsStartOne(t *testing.T) {
	e := newEnv(t, envOptions{})
	linkID := e.createLink(`{"amount": "1500", "currency": "KES", "description": "Invoice 43", "single_use": true}`)["id"].(string)
	const n = 6
	browsers, pages := make([]*browser, n), make([]page, n)
	for i := range browsers {
		browsers[i] = e.browser()
		pages[i], _ = e.openLink(browsers[i], linkID)
	}
	statuses := make([]int, n)
	var wg sync.WaitGroup
	start := make(chan struct{})
	for i := range browsers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			<-start
			statuses[i] = browsers[i].submit(pages[i], "form.method-choice", url.Values{"method": {"pesapal"}, "contact": {"jane@example.com"}}).status
		}()
	}
	close(start)
	wg.Wait()
	started, attempts := 0, 0
	for i := range browsers {
		if statuses[i] == http.StatusOK {
			started++
		} else if statuses[i] != http.StatusConflict {
			t.Errorf("browser %d: %d", i, statuses[i])
		}
	}
	for _, id := range e.linkCheckoutIDs(linkID) {
		as, err := e.store.Attempts(context.Background(), id)
		if err != nil {
			t.Fatal(err)
		}
		attempts += len(as)
	}
	if started != 1 || attempts != 1 {
		t.Fatalf("%d payments started, %d attempts, want 1 and 1 (statuses %v)", started, attempts, statuses)
	}
}

func TestPaymentLinkAPIRefusalsIdempotencyListAndOwnership(t *testing.T) {
	e := newEnv(t, envOptions{})
	for _, tc := range []struct {
		body, field string
		status      int
	}{
		{`{"amount": "15.005", "currency": "KES", "description": "x"}`, "amount", 422},
		{`{"min_amount": "500", "max_amount": "100", "currency": "KES", "description": "x"}`, "max_amount", 422},
		{`{"amount": "100", "max_amount": "200", "currency": "KES", "description": "x"}`, "max_amount", 422},
		{`{"amount": "100", "currency": "KES", "description": "x", "expires_at": "2020-01-01T00:00:00Z"}`, "expires_at", 422},
		{`{"amount": "100", "currency": "KES", "description": "x", "methods": ["cash"]}`, "methods", 422},
		{`{"amount": "100", "currency": "KES", "description": "x", "success_url": "javascript:alert(1)"}`, "success_url", 422},
		{`{"amount": "100", "currency": "KES"}`, "description", 422},
		{`{"amount": "100", "currency": "KES", "description": "x", "colour": "red"}`, "colour", 400},
		{`{"amount": "100", "currency": "KES", "description": "x", "single_use": "yes"}`, "single_use", 400},
	} {
		status, obj := e.api(http.MethodPost, "/api/v1/payment_links", tc.body)
		errObj, _ := obj["error"].(map[string]any)
		if status != tc.status || errObj["field"] != tc.field || errObj["message"] == "" {
			t.Errorf("%s: %d %v, want %d on %s", tc.body, status, obj, tc.status, tc.field)
		}
	}
	if status, _, _ := e.linkAPI("wrong-key", http.MethodGet, "/api/v1/payment_links", "", nil); status != http.StatusUnauthorized {
		t.Errorf("wrong key: %d", status)
	}

	// Idempotency-Key: the same body answers the first link again; another
	// body, or the key on the other creation endpoint, is a conflict.
	key := map[string]string{"Idempotency-Key": "link-1"}
	s1, _, first := e.linkAPI(testAPIKey, http.MethodPost, "/api/v1/payment_links", linkBody, key)
	s2, h2, again := e.linkAPI(testAPIKey, http.MethodPost, "/api/v1/payment_links", linkBody, key)
	if s1 != http.StatusCreated || s2 != http.StatusCreated || again["id"] != first["id"] || h2.Get("Idempotent-Replayed") != "true" {
		t.Fatalf("replay: %d %d %v %v", s1, s2, first["id"], again["id"])
	}
	if s, _, obj := e.linkAPI(testAPIKey, http.MethodPost, "/api/v1/payment_links", `{"amount": "1", "currency": "KES", "description": "y"}`, key); s != http.StatusConflict {
		t.Fatalf("another body with the key: %d %v", s, obj)
	}
	if s, _, obj := e.linkAPI(testAPIKey, http.MethodPost, "/api/v1/checkouts", linkBody, key); s != http.StatusConflict {
		t.Fatalf("the key on /checkouts: %d %v", s, obj)
	}

	// Lists: newest first, paged. (Ids sort by their millisecond: the
	// clock moves between creations.)
	e.clock.Advance(time.Millisecond)
	second := e.createLink(linkBody)["id"].(string)
	e.clock.Advance(time.Millisecond)
	third := e.createLink(linkBody)["id"].(string)
	status, _, page1 := e.linkAPI(testAPIKey, http.MethodGet, "/api/v1/payment_links?limit=2", "", nil)
	data, _ := page1["data"].([]any)
	if status != http.StatusOK || len(data) != 2 || page1["has_more"] != true ||
		data[0].(map[string]any)["id"] != third || data[1].(map[string]any)["id"] != second {
		t.Fatalf("first page: %d %v", status, page1)
	}
	_, _, page2 := e.linkAPI(testAPIKey, http.MethodGet, "/api/v1/payment_links?limit=2&starting_after="+second, "", nil)
	data, _ = page2["data"].([]any)
	if len(data) != 1 || page2["has_more"] != false || data[0].(map[string]any)["id"] != first["id"] {
		t.Fatalf("second page: %v", page2)
	}
	if status, _, _ := e.linkAPI(testAPIKey, http.MethodGet, "/api/v1/payment_links?limit=0", "", nil); status != http.StatusUnprocessableEntity {
		t.Fatalf("limit=0: %d", status)
	}

	// Another merchant sees none of them.
	const otherKey = "sk_test_other_merchant_0123456789"
	if _, err := e.store.EnsureMerchant(context.Background(), "other", "Other shop", otherKey); err != nil {
		t.Fatal(err)
	}
	for _, path := range []string{"/api/v1/payment_links/" + third} {
		if s, _, obj := e.linkAPI(otherKey, http.MethodGet, path, "", nil); s != http.StatusNotFound {
			t.Fatalf("other merchant GET: %d %v", s, obj)
		}
		if s, _, _ := e.linkAPI(otherKey, http.MethodPost, path+"/deactivate", "", nil); s != http.StatusNotFound {
			t.Fatalf("other merchant deactivate: %d", s)
		}
	}
	_, _, theirs := e.linkAPI(otherKey, http.MethodGet, "/api/v1/payment_links", "", nil)
	if data, _ := theirs["data"].([]any); len(data) != 0 || theirs["has_more"] != false {
		t.Fatalf("other merchant's list: %v", theirs)
	}
	if _, got := e.api(http.MethodGet, "/api/v1/payment_links/"+third, ""); got["active"] != true {
		t.Fatalf("the link after the other merchant's try: %v", got)
	}
}

func TestAdminCreatesALinkWithQRCodeAndButtonAndDeactivatesIt(t *testing.T) {
	e := newEnv(t, envOptions{})
	b := e.adminBrowser()
	list := b.get(e.app.URL + "/admin/links")
	if list.status != http.StatusOK || list.doc.Find("nav.admin-nav a[href='/admin/links']").Length() != 1 {
		t.Fatalf("links list: %d", list.status)
	}
	form := b.get(e.app.URL + "/admin/links/new")
	refused := b.submit(form, "form.link-form", url.Values{"description": {"Sack of maize"}, "amount_mode": {"fixed"}, "amount": {""}})
	if refused.status != http.StatusUnprocessableEntity || refused.doc.Find("#f-amount").AttrOr("aria-invalid", "") != "true" ||
		refused.doc.Find("#f-description").AttrOr("value", "") != "Sack of maize" {
		t.Fatalf("form without an amount: %d\n%s", refused.status, refused.body)
	}
	refused = b.submit(form, "form.link-form", url.Values{"description": {"Gift"}, "amount_mode": {"customer"},
		"min_amount": {"500"}, "max_amount": {"100"}})
	if refused.status != http.StatusUnprocessableEntity || refused.doc.Find("#f-max_amount").AttrOr("aria-invalid", "") != "true" {
		t.Fatalf("min above max: %d", refused.status)
	}
	// A comma is a thousands separator only between groups of three.
	for _, tc := range []struct{ mode, field, typed string }{
		{"fixed", "amount", "1,5"}, {"customer", "min_amount", "10,0"}, {"customer", "max_amount", "1,50000"},
	} {
		refused = b.submit(form, "form.link-form", url.Values{"description": {"Gift"}, "amount_mode": {tc.mode}, tc.field: {tc.typed}})
		if refused.status != http.StatusUnprocessableEntity || refused.doc.Find("#f-"+tc.field).AttrOr("aria-invalid", "") != "true" {
			t.Fatalf("%s %q: %d", tc.field, tc.typed, refused.status)
		}
	}
	if ls, _, err := e.store.ListPaymentLinks(context.Background(), "default", "", 10); err != nil || len(ls) != 0 {
		t.Fatalf("refused forms made %d links (%v)", len(ls), err)
	}

	detail := b.submit(form, "form.link-form", url.Values{"description": {"Sack of maize"}, "amount_mode": {"fixed"},
		"amount": {"2,400"}, "single_use": {"1"}, "methods": {"pesapal"}})
	path := strings.TrimPrefix(detail.url, e.app.URL)
	linkID, ok := strings.CutPrefix(strings.Split(path, "?")[0], "/admin/links/")
	if detail.status != http.StatusOK || !ok {
		t.Fatalf("after create: %d at %s\n%s", detail.status, detail.url, detail.body)
	}
	l, err := e.store.PaymentLink(context.Background(), linkID)
	if err != nil || l.Amount != 240000 || !l.SingleUse || l.Methods != "pesapal" || l.CreatedBy != "admin:"+adminEmail || l.MerchantID != "default" {
		t.Fatalf("link stored: %+v %v", l, err)
	}
	if got := e.wantAudit("link.create", "link", linkID, adminEmail); got.Detail != "Sack of maize (Demo Shop)" {
		t.Errorf("link.create detail = %q", got.Detail)
	}
	public := e.app.URL + "/l/" + linkID
	if got := detail.doc.Find("input#link-url[readonly]").AttrOr("value", ""); got != public {
		t.Fatalf("link field = %q, want %q", got, public)
	}
	snippet := detail.doc.Find("textarea#link-snippet").Text()
	if !strings.HasPrefix(snippet, `<a href="`+public+`" style="`) || !strings.Contains(snippet, "Pay KES 2,400.00</a>") ||
		strings.Contains(snippet, "<script") {
		t.Fatalf("button snippet = %q", snippet)
	}
	if detail.doc.Find(".qr svg path").Length() != 1 {
		t.Fatalf("no inline QR code SVG")
	}
	if detail.doc.Find("a[href='/admin/orders?link="+linkID+"']").Length() != 1 {
		t.Fatal("no link to the link's orders")
	}
	qr := b.fetch(e.app.URL + "/admin/links/" + linkID + "/qr.svg")
	if qr.status != http.StatusOK || qr.header.Get("Content-Type") != "image/svg+xml" ||
		!strings.HasPrefix(qr.header.Get("Content-Disposition"), "attachment;") {
		t.Fatalf("QR download: %d %v", qr.status, qr.header)
	}
	var svg struct {
		ViewBox string `xml:"viewBox,attr"`
	}
	if err := xml.NewDecoder(strings.NewReader(qr.body)).Decode(&svg); err != nil || svg.ViewBox == "" {
		t.Fatalf("QR download is not SVG: %v", err)
	}

	// Deactivate: refused without the CSRF token, done with the form.
	action := e.app.URL + "/admin/links/" + linkID + "/deactivate"
	if r := b.post(action, url.Values{}, nil); r.status != http.StatusForbidden {
		t.Fatalf("deactivate without CSRF: %d", r.status)
	}
	if l, _ := e.store.PaymentLink(context.Background(), linkID); !l.Active {
		t.Fatal("deactivated without CSRF")
	}
	after := b.submit(detail, "form.deactivate", nil)
	if after.status != http.StatusOK || !strings.Contains(alert(after, "info"), "deactivated") {
		t.Fatalf("after deactivate: %d\n%s", after.status, after.body)
	}
	if l, _ := e.store.PaymentLink(context.Background(), linkID); l.Active || l.DeactivatedAt == nil {
		t.Fatalf("link still active: %+v", l)
	}
	e.wantAudit("link.deactivate", "link", linkID, adminEmail)
	if p, _ := e.openLink(e.browser(), linkID); p.status != http.StatusGone {
		t.Fatalf("customer opens the deactivated link: %d", p.status)
	}
	list = b.get(e.app.URL + "/admin/links")
	row := list.doc.Find("table.table tbody tr").First().Text()
	for _, want := range []string{"Sack of maize", "KES 2,400.00", "Deactivated"} {
		if !strings.Contains(row, want) {
			t.Errorf("list row lacks %q: %q", want, row)
		}
	}
}

// TestLinkPOSTIsLimitedPerClientIPAndItsPageIsNot: POST /l/{id} makes
// checkouts, so it has the per-IP link limit; GET /l/{id} makes nothing
// and is an ordinary page.
func TestLinkPOSTIsLimitedPerClientIPAndItsPageIsNot(t *testing.T) {
	e := newEnv(t, envOptions{limits: web.Limits{Link: tight}})
	linkID := e.createLink(linkBody)["id"].(string)
	b := e.browser()
	var p page
	for i := range 5 {
		if p, _ = e.openLink(b, linkID); p.status != http.StatusOK {
			t.Fatalf("GET %d of the link's page: %d", i+1, p.status)
		}
	}
	choose := func() page {
		t.Helper()
		return b.submit(p, "form.method-choice", url.Values{"method": {"bitcoin"}})
	}
	for i := range 2 {
		if r := choose(); r.status != http.StatusUnprocessableEntity {
			t.Fatalf("choice %d: %d, want 422 (no such method)", i+1, r.status)
		}
	}
	if r := choose(); r.status != http.StatusTooManyRequests {
		t.Fatalf("third choice: %d, want 429", r.status)
	}
	if p, _ := e.openLink(b, linkID); p.status != http.StatusOK {
		t.Fatalf("the page after the POSTs were limited: %d", p.status)
	}
}

// A payment refused on a single-use link because another customer's
// payment of it is under way (409) makes nothing: POST /l/{id} does not
// make an open checkout it then refuses to pay.
func TestRefusedSingleUseLinkPaymentMakesNoCheckout(t *testing.T) {
	e := newEnv(t, envOptions{})
	linkID := e.createLink(`{"amount": "1500", "currency": "KES", "description": "Invoice 44", "single_use": true}`)["id"].(string)
	a, b := e.browser(), e.browser()
	pa, _ := e.openLink(a, linkID)
	pb, _ := e.openLink(b, linkID)
	vals := url.Values{"method": {"pesapal"}, "contact": {"jane@example.com"}}
	if frame, first := e.payLink(a, pa, linkID, "form.method-choice", vals); frame.status != http.StatusOK || first == "" {
		t.Fatalf("first payment: %d, checkout %q", frame.status, first)
	}
	refused, second := e.payLink(b, pb, linkID, "form.method-choice", vals)
	if refused.status != http.StatusConflict {
		t.Fatalf("second payment: %d", refused.status)
	}
	if second != "" {
		t.Fatalf("the refused payment made checkout %s (status %s): POST /l/{id} made a checkout it could not pay",
			second, e.checkout(second).Status)
	}
}
