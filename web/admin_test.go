package web_test

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/PuerkitoBio/goquery"

	"checkout/store"
)

const (
	adminEmail    = "ops@example.com"
	adminPassword = "correct horse battery staple"
	// adminCookie and customerCookie are the session cookie names over
	// plain http (the test servers).
	adminCookie    = "checkout_admin"
	customerCookie = "checkout"
	wrongLoginText = "Wrong email or password."
)

// reply is a response with its headers and the cookies it set, for tests
// that look past the page.
type reply struct {
	page
	header  http.Header
	cookies []*http.Cookie
}

// cookie returns the cookie the response set under name, or nil. When a
// response sets one name twice, a browser keeps the last, and so does this.
func (r reply) cookie(name string) *http.Cookie {
	var last *http.Cookie
	for _, c := range r.cookies {
		if c.Name == name {
			last = c
		}
	}
	return last
}

// send does a request like do, and keeps the headers.
func (b *browser) send(req *http.Request) reply {
	b.t.Helper()
	resp, err := b.c.Do(req)
	if err != nil {
		b.t.Fatal(err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		b.t.Fatal(err)
	}
	doc, err := goquery.NewDocumentFromReader(strings.NewReader(string(body)))
	if err != nil {
		b.t.Fatal(err)
	}
	return reply{page: page{status: resp.StatusCode, url: resp.Request.URL.String(), doc: doc, body: string(body)},
		header: resp.Header, cookies: resp.Cookies()}
}

// fetch is a GET that keeps the headers.
func (b *browser) fetch(u string) reply {
	b.t.Helper()
	req, err := http.NewRequest(http.MethodGet, u, nil)
	if err != nil {
		b.t.Fatal(err)
	}
	return b.send(req)
}

// post sends a form as is (no hidden fields added), with extra headers.
func (b *browser) post(u string, vals url.Values, hdr map[string]string) reply {
	b.t.Helper()
	req, err := http.NewRequest(http.MethodPost, u, strings.NewReader(vals.Encode()))
	if err != nil {
		b.t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	for k, v := range hdr {
		req.Header.Set(k, v)
	}
	return b.send(req)
}

// submitRaw posts a form the page shows, like submit, and keeps the headers.
func (b *browser) submitRaw(p page, formSel string, vals url.Values) reply {
	b.t.Helper()
	form := p.doc.Find(formSel).First()
	if form.Length() == 0 {
		b.t.Fatalf("no form %q on %s:\n%s", formSel, p.url, p.body)
	}
	all := url.Values{}
	form.Find("input[type=hidden]").Each(func(_ int, s *goquery.Selection) {
		all.Set(s.AttrOr("name", ""), s.AttrOr("value", ""))
	})
	for k, v := range vals {
		all[k] = v
	}
	base, err := url.Parse(p.url)
	if err != nil {
		b.t.Fatal(err)
	}
	action, err := base.Parse(form.AttrOr("action", p.url))
	if err != nil {
		b.t.Fatal(err)
	}
	return b.post(action.String(), all, nil)
}

// noFollow is the same browser (the same cookie jar) stopping at redirects.
func (b *browser) noFollow() *browser {
	c := *b.c
	c.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
	return &browser{t: b.t, c: &c}
}

// hasCookie reports whether the browser's jar holds a cookie for u.
func (b *browser) hasCookie(u, name string) bool {
	b.t.Helper()
	parsed, err := url.Parse(u)
	if err != nil {
		b.t.Fatal(err)
	}
	for _, c := range b.c.Jar.Cookies(parsed) {
		if c.Name == name {
			return true
		}
	}
	return false
}

// csrfToken is the CSRF token of the page's first form.
func csrfToken(p page) string {
	return p.doc.Find("input[name=csrf_token]").First().AttrOr("value", "")
}

// createAdmin adds the test admin and returns its id.
func (e *env) createAdmin() string {
	e.t.Helper()
	hash, err := store.HashPassword(adminPassword)
	if err != nil {
		e.t.Fatal(err)
	}
	id := store.NewID("adm", e.clock.Now())
	if err := e.store.CreateAdmin(context.Background(), id, adminEmail, hash); err != nil {
		e.t.Fatal(err)
	}
	return id
}

func (e *env) admin() *store.AdminUser {
	e.t.Helper()
	u, err := e.store.AdminByEmail(context.Background(), adminEmail)
	if err != nil {
		e.t.Fatal(err)
	}
	return u
}

// login opens the login page in b and submits it, without following the
// redirect; it returns the login page and the answer.
func (e *env) login(b *browser, email, password string) (page, reply) {
	e.t.Helper()
	form := b.get(e.app.URL + "/admin/login")
	if form.status != http.StatusOK {
		e.t.Fatalf("login page: %d", form.status)
	}
	return form, b.noFollow().submitRaw(form, "form[action='/admin/login']", url.Values{"email": {email}, "password": {password}})
}

// adminBrowser creates the admin and returns a browser logged in as it.
func (e *env) adminBrowser() *browser {
	e.t.Helper()
	e.createAdmin()
	b := e.browser()
	if _, r := e.login(b, adminEmail, adminPassword); r.status != http.StatusSeeOther {
		e.t.Fatalf("login: %d\n%s", r.status, r.body)
	}
	return b
}

// orderIDs are the checkout ids of the orders table, top to bottom.
func orderIDs(p page) []string {
	var ids []string
	p.doc.Find("table.table tbody tr td:nth-child(2)").Each(func(_ int, s *goquery.Selection) {
		ids = append(ids, strings.TrimSpace(s.Text()))
	})
	return ids
}

// alert is the text of the page's alert box of the given kind.
func alert(p page, kind string) string {
	return strings.TrimSpace(p.doc.Find(".alert-" + kind).Text())
}

// payByIPN takes a new checkout through Pesapal to paid and returns the
// tracking id.
func (e *env) payByIPN(id string) string {
	e.t.Helper()
	_, _, order := e.startPesapal(id)
	if err := e.sim.PesapalComplete(order.TrackingID, false); err != nil {
		e.t.Fatal(err)
	}
	if status, _ := e.ipn(order); status != http.StatusOK {
		e.t.Fatalf("IPN answered %d", status)
	}
	if co := e.checkout(id); co.Status != store.StatusPaid {
		e.t.Fatalf("status after IPN = %s", co.Status)
	}
	return order.TrackingID
}

func TestAdminPagesWithoutSessionRedirectToLogin(t *testing.T) {
	e := newEnv(t, envOptions{})
	e.createAdmin()
	id := e.createCheckout("order-anon")
	for _, tc := range []struct {
		name, method, path string
		// withToken: the browser holds a CSRF token (it opened the login
		// page) but no admin session, like one whose session timed out.
		withToken bool
	}{
		{"dashboard", http.MethodGet, "/admin", false},
		{"dashboard, 30 days", http.MethodGet, "/admin?period=30d", false},
		{"orders", http.MethodGet, "/admin/orders", false},
		{"orders csv", http.MethodGet, "/admin/orders.csv", false},
		{"orders csv with filters", http.MethodGet, "/admin/orders.csv?status=paid&from=2025-03-01", false},
		{"order", http.MethodGet, "/admin/orders/" + id, false},
		{"recheck", http.MethodPost, "/admin/orders/" + id + "/recheck", false},
		{"logout", http.MethodPost, "/admin/logout", false},
		{"recheck with a token", http.MethodPost, "/admin/orders/" + id + "/recheck", true},
		{"logout with a token", http.MethodPost, "/admin/logout", true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			b := e.browser()
			vals := url.Values{}
			if tc.withToken {
				vals.Set("csrf_token", csrfToken(b.get(e.app.URL+"/admin/login")))
			}
			var r reply
			if tc.method == http.MethodGet {
				r = b.noFollow().fetch(e.app.URL + tc.path)
			} else {
				r = b.noFollow().post(e.app.URL+tc.path, vals, nil)
			}
			if r.status != http.StatusSeeOther {
				t.Fatalf("%s %s: %d, want 303\n%s", tc.method, tc.path, r.status, r.body)
			}
			if loc := r.header.Get("Location"); loc != "/admin/login" {
				t.Fatalf("Location = %q, want /admin/login", loc)
			}
			if r.cookie(adminCookie) != nil {
				t.Fatal("a request without a session was given an admin cookie")
			}
		})
	}
	if n := e.transitions(id, store.StatusPending); n != 0 {
		t.Fatalf("a request without a session changed the order (%d transitions)", n)
	}
}

func TestAdminLoginWithRightPasswordRenewsSessionAndSetsStrictCookie(t *testing.T) {
	e := newEnv(t, envOptions{})
	e.createAdmin()
	b := e.browser()
	form, r := e.login(b, "  OPS@Example.com ", adminPassword) // emails are matched trimmed and case-insensitively

	if r.status != http.StatusSeeOther || r.header.Get("Location") != "/admin" {
		t.Fatalf("login: %d to %q, want 303 to /admin (the dashboard)", r.status, r.header.Get("Location"))
	}
	c := r.cookie(adminCookie)
	if c == nil {
		t.Fatalf("no %s cookie set; cookies: %v", adminCookie, r.cookies)
	}
	if !c.HttpOnly || c.SameSite != http.SameSiteStrictMode || c.Secure || c.Path != "/" || c.Value == "" {
		t.Fatalf("admin cookie: HttpOnly %v SameSite %v Secure %v Path %q value %q; want HttpOnly, Strict, not Secure over http, /",
			c.HttpOnly, c.SameSite, c.Secure, c.Path, c.Value)
	}

	orders := b.get(e.app.URL + "/admin/orders")
	if orders.status != http.StatusOK || !strings.HasSuffix(orders.url, "/admin/orders") {
		t.Fatalf("orders after login: %d at %s", orders.status, orders.url)
	}
	before, after := csrfToken(form), csrfToken(orders)
	if before == "" || after == "" || before == after {
		t.Fatalf("CSRF token before login %q, after %q: want a new token", before, after)
	}
	if got := strings.TrimSpace(orders.doc.Find(".admin-email").Text()); got != adminEmail {
		t.Fatalf("admin bar shows %q, want %q", got, adminEmail)
	}
}

func TestAdminLoginRefusalsAreGeneric(t *testing.T) {
	e := newEnv(t, envOptions{})
	e.createAdmin()
	var texts []string
	for _, tc := range []struct {
		name, email, password string
		failures              int // the admin's failure count afterwards
	}{
		{"unknown email", "nobody@example.com", adminPassword, 0},
		{"wrong password", adminEmail, "not the password", 1},
	} {
		t.Run(tc.name, func(t *testing.T) {
			b := e.browser()
			_, r := e.login(b, tc.email, tc.password)
			if r.status != http.StatusUnauthorized {
				t.Fatalf("status %d, want 401", r.status)
			}
			text := alert(r.page, "error")
			if text != wrongLoginText {
				t.Fatalf("alert %q, want %q", text, wrongLoginText)
			}
			texts = append(texts, text)
			if c := r.cookie(adminCookie); c != nil {
				t.Fatalf("a refused login set the admin cookie %v", c)
			}
			if got := r.doc.Find("input#email").AttrOr("value", ""); got != tc.email {
				t.Fatalf("email field = %q, want %q kept", got, tc.email)
			}
			if got := r.doc.Find("input#password").AttrOr("value", ""); got != "" {
				t.Fatalf("password field echoed %q", got)
			}
			if got := e.admin().FailedLogins; got != tc.failures {
				t.Fatalf("failed logins = %d, want %d", got, tc.failures)
			}
			if again := b.noFollow().fetch(e.app.URL + "/admin/orders"); again.status != http.StatusSeeOther {
				t.Fatalf("orders after a refused login: %d, want 303", again.status)
			}
		})
	}
	if len(texts) != 2 || texts[0] != texts[1] {
		t.Fatalf("refusal texts differ: %q", texts)
	}
}

func TestAdminLoginWithEmptyFieldsMarksThem(t *testing.T) {
	e := newEnv(t, envOptions{})
	e.createAdmin()
	for _, tc := range []struct {
		name, email, password string
		invalid               []string // the fields marked aria-invalid
	}{
		{"both empty", "", "", []string{"email", "password"}},
		{"no email", "", adminPassword, []string{"email"}},
		{"no password", adminEmail, "", []string{"password"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, r := e.login(e.browser(), tc.email, tc.password)
			if r.status != http.StatusUnprocessableEntity {
				t.Fatalf("status %d, want 422", r.status)
			}
			for _, f := range []string{"email", "password"} {
				in := r.doc.Find("input#" + f)
				marked := in.AttrOr("aria-invalid", "") == "true"
				want := slices.Contains(tc.invalid, f)
				if marked != want {
					t.Fatalf("%s aria-invalid = %v, want %v", f, marked, want)
				}
				msg := r.doc.Find("#" + in.AttrOr("aria-describedby", "none")).Text()
				if want && strings.TrimSpace(msg) == "" {
					t.Fatalf("%s is marked but has no message", f)
				}
			}
			if r.cookie(adminCookie) != nil || alert(r.page, "error") != "" {
				t.Fatal("an empty form was treated as a login attempt")
			}
		})
	}
}

// TestAdminLoginIsNotLockedByTheAccountsFailures: however many failures
// the account has on record (others guessing at it), the right password
// from a client that has not been failing logs in.
func TestAdminLoginIsNotLockedByTheAccountsFailures(t *testing.T) {
	e := newEnv(t, envOptions{})
	id := e.createAdmin()
	ctx := context.Background()
	for range 50 {
		if err := e.store.RecordLoginFailure(ctx, id); err != nil {
			t.Fatal(err)
		}
	}
	if _, r := e.login(e.browser(), adminEmail, adminPassword); r.status != http.StatusSeeOther || r.cookie(adminCookie) == nil {
		t.Fatalf("right password with 50 failures on record: %d, want 303 with the admin cookie\n%s", r.status, r.body)
	}
	if got := e.admin().FailedLogins; got != 0 {
		t.Fatalf("a good login left failed logins at %d", got)
	}
}

// TestAdminLoginAfterFiveFailuresFromOneClientAnswers429WithRetryAfter: the
// client that made five wrong guesses must wait, even with the right
// password, and is told so with 429 and Retry-After; the wait ends on the
// service's clock.
func TestAdminLoginAfterFiveFailuresFromOneClientAnswers429WithRetryAfter(t *testing.T) {
	e := newEnv(t, envOptions{})
	e.createAdmin()
	b := e.browser()
	for i := range 5 {
		if _, r := e.login(b, adminEmail, "not the password"); r.status != http.StatusUnauthorized || alert(r.page, "error") != wrongLoginText {
			t.Fatalf("wrong password %d: %d %q, want 401 %q", i+1, r.status, alert(r.page, "error"), wrongLoginText)
		}
	}
	_, r := e.login(b, adminEmail, adminPassword)
	if r.status != http.StatusTooManyRequests || r.header.Get("Retry-After") != "1" {
		t.Fatalf("during the wait: %d Retry-After %q, want 429 with 1", r.status, r.header.Get("Retry-After"))
	}
	if got, want := alert(r.page, "error"), "Too many failed logins from your network. Try again in a second."; got != want {
		t.Fatalf("during the wait: alert %q, want %q", got, want)
	}
	if got := r.doc.Find("input#email").AttrOr("value", ""); got != adminEmail {
		t.Fatalf("email field = %q, want %q kept", got, adminEmail)
	}
	if r.cookie(adminCookie) != nil {
		t.Fatal("a login during the wait set the admin cookie")
	}
	if got := e.admin().FailedLogins; got != 5 {
		t.Fatalf("failed logins = %d, want 5 (a try during the wait is not counted)", got)
	}
	e.clock.Advance(time.Second)
	if _, r := e.login(b, adminEmail, adminPassword); r.status != http.StatusSeeOther || r.cookie(adminCookie) == nil {
		t.Fatalf("after the wait: %d, want 303 with the admin cookie", r.status)
	}
}

func TestAdminLogoutEndsTheSession(t *testing.T) {
	e := newEnv(t, envOptions{})
	b := e.adminBrowser()
	orders := b.get(e.app.URL + "/admin/orders")
	if orders.status != http.StatusOK {
		t.Fatalf("orders: %d", orders.status)
	}

	// Without the token the logout is refused and the session stays.
	forged := b.noFollow().post(e.app.URL+"/admin/logout", url.Values{}, nil)
	if forged.status != http.StatusForbidden {
		t.Fatalf("logout without CSRF token: %d, want 403", forged.status)
	}
	if still := b.noFollow().fetch(e.app.URL + "/admin/orders"); still.status != http.StatusOK {
		t.Fatalf("orders after a refused logout: %d, want 200", still.status)
	}

	// A copy of the session cookie, as a thief would keep it.
	u, err := url.Parse(e.app.URL)
	if err != nil {
		t.Fatal(err)
	}
	var stolen *http.Cookie
	for _, c := range b.c.Jar.Cookies(u) {
		if c.Name == adminCookie {
			stolen = c
		}
	}
	if stolen == nil {
		t.Fatal("no admin cookie to copy")
	}

	r := b.noFollow().submitRaw(orders, "form.logout", nil)
	if r.status != http.StatusSeeOther || r.header.Get("Location") != "/admin/login" {
		t.Fatalf("logout: %d to %q, want 303 to /admin/login", r.status, r.header.Get("Location"))
	}
	if c := r.cookie(adminCookie); c == nil || c.MaxAge >= 0 {
		t.Fatalf("logout did not delete the admin cookie: %v", c)
	}
	e.wantAudit("admin.login", "admin", e.admin().ID, adminEmail)
	e.wantAudit("admin.logout", "admin", e.admin().ID, adminEmail)
	if b.hasCookie(e.app.URL, adminCookie) {
		t.Fatal("the browser still holds the admin cookie")
	}
	again := b.noFollow().fetch(e.app.URL + "/admin/orders")
	if again.status != http.StatusSeeOther || again.header.Get("Location") != "/admin/login" {
		t.Fatalf("orders after logout: %d to %q, want 303 to /admin/login", again.status, again.header.Get("Location"))
	}

	// The copied cookie no longer opens the admin either.
	req, err := http.NewRequest(http.MethodGet, e.app.URL+"/admin/orders", nil)
	if err != nil {
		t.Fatal(err)
	}
	req.AddCookie(&http.Cookie{Name: stolen.Name, Value: stolen.Value})
	replay := (&http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }})
	resp, err := replay.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusSeeOther || resp.Header.Get("Location") != "/admin/login" {
		t.Fatalf("replayed cookie after logout: %d to %q, want 303 to /admin/login", resp.StatusCode, resp.Header.Get("Location"))
	}
}

func TestAdminOrdersListsNewestFirstAndFiltersAndSearches(t *testing.T) {
	e := newEnv(t, envOptions{})
	b := e.adminBrowser()
	var ids []string // oldest first
	for _, ref := range []string{"order-a", "order-b", "order-c", "order-d"} {
		ids = append(ids, e.createCheckout(ref))
		e.clock.Advance(time.Second)
	}
	e.payByIPN(ids[1])
	e.payByIPN(ids[3])
	newestFirst := []string{ids[3], ids[2], ids[1], ids[0]}

	for _, tc := range []struct {
		name, query string
		want        []string
	}{
		{"all, newest first", "", newestFirst},
		{"paid", "?status=paid", []string{ids[3], ids[1]}},
		{"open", "?status=open", []string{ids[2], ids[0]}},
		{"by reference", "?q=order-c", []string{ids[2]}},
		{"by checkout id", "?q=" + ids[0], []string{ids[0]}},
		{"by reference and status", "?q=order-c&status=paid", nil},
		{"no match", "?q=order-zzz", nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			p := b.get(e.app.URL + "/admin/orders" + tc.query)
			if p.status != http.StatusOK {
				t.Fatalf("status %d", p.status)
			}
			if got := orderIDs(p); !slices.Equal(got, tc.want) {
				t.Fatalf("rows %v, want %v", got, tc.want)
			}
			if empty := p.doc.Find("p.empty").Length() == 1; empty != (len(tc.want) == 0) {
				t.Fatalf("empty state shown = %v with %d rows", empty, len(tc.want))
			}
			if p.doc.Find("a[rel=next]").Length() != 0 {
				t.Fatal("a Next link on a one-page list")
			}
		})
	}

	t.Run("row shows the order", func(t *testing.T) {
		p := b.get(e.app.URL + "/admin/orders?q=order-b")
		cells := p.doc.Find("table.table tbody tr").First().Find("td")
		got := []string{}
		cells.Each(func(_ int, s *goquery.Selection) { got = append(got, strings.TrimSpace(s.Text())) })
		co := e.checkout(ids[1])
		want := []string{co.CreatedAt.In(time.FixedZone("EAT", 3*3600)).Format("2 Jan 2006 15:04"), ids[1], "order-b",
			"Two bags of coffee", "KES 1,500.00", "Paid", "Pesapal", co.Receipt, "", ""}
		if !slices.Equal(got, want) {
			t.Fatalf("row %q, want %q", got, want)
		}
		if href := cells.Eq(1).Find("a").AttrOr("href", ""); href != "/admin/orders/"+ids[1] {
			t.Fatalf("row link %q", href)
		}
	})
}

func TestAdminOrdersInvalidFilterIsMarked(t *testing.T) {
	e := newEnv(t, envOptions{})
	b := e.adminBrowser()
	e.createCheckout("order-1")
	for _, tc := range []struct {
		name, query, field string
	}{
		{"status", "?status=bogus", "#f-status"},
		{"method", "?method=cash", "#f-method"},
		{"search too long", "?q=" + strings.Repeat("x", 101), "#f-q"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			p := b.get(e.app.URL + "/admin/orders" + tc.query)
			if p.status != http.StatusUnprocessableEntity {
				t.Fatalf("status %d, want 422", p.status)
			}
			f := p.doc.Find(tc.field)
			if f.AttrOr("aria-invalid", "") != "true" {
				t.Fatalf("%s not marked aria-invalid", tc.field)
			}
			msgID := f.AttrOr("aria-describedby", "")
			if msgID == "" || strings.TrimSpace(p.doc.Find("#"+msgID).Text()) == "" {
				t.Fatalf("%s has no error message (aria-describedby %q)", tc.field, msgID)
			}
			if n := len(orderIDs(p)); n != 0 {
				t.Fatalf("an invalid filter listed %d rows", n)
			}
		})
	}
}

func TestAdminOrdersPagesFiftyAtATimeWithoutRepeats(t *testing.T) {
	e := newEnv(t, envOptions{})
	b := e.adminBrowser()
	var created []string // oldest first
	for i := range 55 {
		created = append(created, e.createCheckout(fmt.Sprintf("order-%02d", i)))
		e.clock.Advance(time.Millisecond)
	}
	slices.Reverse(created)

	first := b.get(e.app.URL + "/admin/orders")
	rows1 := orderIDs(first)
	if first.status != http.StatusOK || len(rows1) != 50 || !slices.Equal(rows1, created[:50]) {
		t.Fatalf("first page: %d with %d rows, want the newest 50", first.status, len(rows1))
	}
	if first.doc.Find(".pager a:not([rel=next])").Length() != 0 {
		t.Fatal("the first page links to the first page")
	}
	next := first.doc.Find("a[rel=next]")
	if next.Length() != 1 || !strings.Contains(next.Text(), "Next") {
		t.Fatalf("first page: %d Next links (%q)", next.Length(), next.Text())
	}
	u, err := url.Parse(first.url)
	if err != nil {
		t.Fatal(err)
	}
	nextURL, err := u.Parse(next.AttrOr("href", ""))
	if err != nil {
		t.Fatal(err)
	}

	second := b.get(nextURL.String())
	rows2 := orderIDs(second)
	if second.status != http.StatusOK || !slices.Equal(rows2, created[50:]) {
		t.Fatalf("second page: %d rows %v, want %v", second.status, rows2, created[50:])
	}
	if second.doc.Find("a[rel=next]").Length() != 0 {
		t.Fatal("the last page has a Next link")
	}
	if href := second.doc.Find(".pager a").First().AttrOr("href", ""); href != "/admin/orders?" {
		t.Fatalf("second page's first-page link = %q", href)
	}
	seen := map[string]bool{}
	for _, id := range append(rows1, rows2...) {
		if seen[id] {
			t.Fatalf("%s is on both pages", id)
		}
		seen[id] = true
	}
	if len(seen) != 55 {
		t.Fatalf("%d distinct orders over two pages, want 55", len(seen))
	}
}

// timelineEvent is one entry of the order page's timeline as shown.
type timelineEvent struct {
	kind, source, from, to string
}

func timeline(p page) []timelineEvent {
	var evs []timelineEvent
	p.doc.Find("ol.timeline li.event").Each(func(_ int, s *goquery.Selection) {
		ev := timelineEvent{kind: strings.TrimSpace(s.Find(".event-kind").Text()),
			source: strings.TrimPrefix(strings.TrimSpace(s.Find(".event-source").Text()), "from ")}
		badges := s.Find(".event-transition .badge")
		switch badges.Length() {
		case 1:
			ev.to = badges.Eq(0).Text()
		case 2:
			ev.from, ev.to = badges.Eq(0).Text(), badges.Eq(1).Text()
		}
		evs = append(evs, ev)
	})
	return evs
}

func TestAdminOrderPageShowsTimelineOfPaidPesapalPayment(t *testing.T) {
	e := newEnv(t, envOptions{})
	b := e.adminBrowser()
	id := e.createCheckout("order-tl")
	_, _, order := e.startPesapal(id)
	if err := e.sim.PesapalComplete(order.TrackingID, true); err != nil {
		t.Fatal(err)
	}
	e.sim.WaitIPNs()
	co := e.checkout(id)
	if co.Status != store.StatusPaid {
		t.Fatalf("status after the IPN = %s", co.Status)
	}

	p := b.get(e.app.URL + "/admin/orders/" + id)
	if p.status != http.StatusOK {
		t.Fatalf("order page: %d", p.status)
	}
	want := []timelineEvent{ // newest first
		{kind: "transition", source: "ipn:pesapal", from: "Pending", to: "Paid"},
		{kind: "status_query", source: "ipn:pesapal"},
		{kind: "notification", source: "ipn:pesapal"},
		{kind: "attempt", source: "pesapal"},
		{kind: "transition", source: "customer", from: "Open", to: "Pending"},
		{kind: "created", source: "api", to: "Open"},
	}
	if got := timeline(p); !slices.Equal(got, want) {
		t.Fatalf("timeline\n got %+v\nwant %+v", got, want)
	}
	if payload := p.doc.Find("ol.timeline li.event").Eq(2).Find("pre.payload").Text(); !strings.Contains(payload, order.TrackingID) {
		t.Fatalf("the notification's payload %q lacks the tracking id", payload)
	}

	rows := p.doc.Find("section[aria-labelledby=attempts-heading] tbody tr")
	if rows.Length() != 1 {
		t.Fatalf("%d attempt rows, want 1", rows.Length())
	}
	cell := func(i int) string { return strings.TrimSpace(rows.Find("td").Eq(i).Text()) }
	as, err := e.store.Attempts(context.Background(), id)
	if err != nil {
		t.Fatal(err)
	}
	got := []string{cell(1), cell(2), cell(3), cell(4), cell(5), cell(6)}
	wantRow := []string{as[0].ID, "pesapal", "Pesapal", "Succeeded", order.TrackingID, co.Receipt}
	if co.Receipt == "" || !slices.Equal(got, wantRow) {
		t.Fatalf("attempt row %q, want %q", got, wantRow)
	}
	h1 := p.doc.Find("h1")
	if ref, badge := h1.Find(".mono").Text(), h1.Find(".badge").Text(); ref != "order-tl" || badge != "Paid" {
		t.Fatalf("heading shows reference %q and status %q", ref, badge)
	}
}

func TestAdminRecheckPaysOrderWhoseIPNNeverCame(t *testing.T) {
	e := newEnv(t, envOptions{})
	b := e.adminBrowser()
	id := e.createCheckout("order-quiet")
	_, _, order := e.startPesapal(id)
	if err := e.sim.PesapalComplete(order.TrackingID, false); err != nil {
		t.Fatal(err)
	}
	p := b.get(e.app.URL + "/admin/orders/" + id)
	if p.status != http.StatusOK || e.checkout(id).Status != store.StatusPending {
		t.Fatalf("order page %d, status %s; want a pending order", p.status, e.checkout(id).Status)
	}
	if alert(p, "info") != "" {
		t.Fatalf("a flash before any re-check: %q", alert(p, "info"))
	}

	after := b.submit(p, "form[action$='/recheck']", nil)
	if after.status != http.StatusOK || !strings.HasSuffix(after.url, "/admin/orders/"+id+"?flash=rechecked") {
		t.Fatalf("after re-check: %d at %s", after.status, after.url)
	}
	if got := alert(after, "info"); got != "Checked with the provider; the timeline shows the answer." {
		t.Fatalf("flash %q", got)
	}
	co := e.checkout(id)
	if co.Status != store.StatusPaid || co.Receipt == "" || co.PaidAt == nil {
		t.Fatalf("after re-check: %s receipt %q paid_at %v, want paid", co.Status, co.Receipt, co.PaidAt)
	}
	if top := timeline(after)[0]; top != (timelineEvent{kind: "transition", source: "admin:" + adminEmail, from: "Pending", to: "Paid"}) {
		t.Fatalf("newest event %+v, want the admin's transition to paid", top)
	}
	if n := e.transitions(id, store.StatusPaid); n != 1 {
		t.Fatalf("transitions to paid = %d", n)
	}
	if got := e.wantAudit("order.recheck", "checkout", id, adminEmail); got.Detail != "rechecked" {
		t.Errorf("recheck detail = %q", got.Detail)
	}
}

func TestAdminRecheckWithoutAttemptSaysNothingToCheck(t *testing.T) {
	e := newEnv(t, envOptions{})
	b := e.adminBrowser()
	id := e.createCheckout("order-new")
	p := b.get(e.app.URL + "/admin/orders/" + id)
	after := b.submit(p, "form[action$='/recheck']", nil)
	if after.status != http.StatusOK || !strings.HasSuffix(after.url, "?flash=nothing") {
		t.Fatalf("after re-check: %d at %s", after.status, after.url)
	}
	if got := alert(after, "info"); got != "There is no payment attempt with a provider to check yet." {
		t.Fatalf("flash %q", got)
	}
	if co := e.checkout(id); co.Status != store.StatusOpen {
		t.Fatalf("status %s, want open", co.Status)
	}
}

func TestAdminUnknownOrderIs404(t *testing.T) {
	e := newEnv(t, envOptions{})
	b := e.adminBrowser()
	p := b.get(e.app.URL + "/admin/orders/chk_doesnotexist")
	if p.status != http.StatusNotFound || strings.TrimSpace(p.doc.Find("h1").Text()) != "Order not found" {
		t.Fatalf("unknown order: %d %q", p.status, p.doc.Find("h1").Text())
	}
}
