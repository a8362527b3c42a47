package sandbox

import (
	"net/http"
	"net/http/httptest"
	"net/url"
	"regexp"
	"strings"
	"testing"
)

// pageOrder submits an order with the given redirect_mode and
// cancellation_url and returns its tracking id.
func (e *testEnv) pageOrder(ref, redirectMode, cancelURL string) string {
	e.t.Helper()
	token := e.token()
	ipnID := e.registerIPN(token, "https://shop.example/ipn/pesapal", "GET")
	body := orderBody(ref, ipnID, "https://shop.example/return/pesapal")
	body["description"] = `Maize flour <2 kg> & "sugar"`
	body["redirect_mode"] = redirectMode
	if cancelURL != "" {
		body["cancellation_url"] = cancelURL
	}
	return e.submit(token, body)
}

func (e *testEnv) getPage(query string) (*http.Response, string) {
	e.t.Helper()
	req, _ := http.NewRequest("GET", e.srv.URL+PesapalPayPath+query, nil)
	resp, body := e.send(req)
	return resp, string(body)
}

var nonceRE = regexp.MustCompile(`<style nonce="([A-Za-z0-9_-]{22})">`)

// checkPageHeaders checks the page's own security headers and that its
// style nonce is the CSP's.
func checkPageHeaders(t *testing.T, resp *http.Response, page string) {
	t.Helper()
	m := nonceRE.FindStringSubmatch(page)
	if m == nil {
		t.Fatalf("no <style nonce=...> block in the page:\n%s", page)
	}
	wantCSP := "default-src 'self'; style-src 'self' 'nonce-" + m[1] +
		"'; form-action *; frame-ancestors 'self'; base-uri 'none'; object-src 'none'"
	if got := resp.Header.Values("Content-Security-Policy"); len(got) != 1 || got[0] != wantCSP {
		t.Errorf("Content-Security-Policy = %q, want [%q]", got, wantCSP)
	}
	for name, want := range map[string]string{
		"Content-Type":           "text/html; charset=utf-8",
		"Cache-Control":          "no-store",
		"X-Content-Type-Options": "nosniff",
		"X-Frame-Options":        "SAMEORIGIN",
	} {
		if got := resp.Header.Get(name); got != want {
			t.Errorf("%s = %q, want %q", name, got, want)
		}
	}
	for _, banned := range []string{"<script", " style=", "javascript:"} {
		if strings.Contains(page, banned) {
			t.Errorf("page contains %q", banned)
		}
	}
}

func TestPayPageShowsTheOrderAndTargetsTheWindowOfRedirectMode(t *testing.T) {
	cases := []struct{ mode, target string }{
		{"", "_top"},
		{"TOP_WINDOW", "_top"},
		{"PARENT_WINDOW", "_parent"},
	}
	for _, c := range cases {
		t.Run("mode "+c.mode, func(t *testing.T) {
			e := newEnv(t, nil)
			id := e.pageOrder("att_page", c.mode, "")
			resp, page := e.getPage("?OrderTrackingId=" + id)
			if resp.StatusCode != 200 {
				t.Fatalf("HTTP %d: %s", resp.StatusCode, page)
			}
			checkPageHeaders(t, resp, page)
			for _, want := range []string{
				`<meta name="viewport" content="width=device-width, initial-scale=1">`,
				"Pesapal sandbox",
				"att_page",
				"Maize flour &lt;2 kg&gt; &amp; &#34;sugar&#34;",
				"KES 1,500.00",
				`<form method="post" action="/sandbox/pesapal/pay" target="` + c.target + `">`,
				`<input type="hidden" name="OrderTrackingId" value="` + id + `">`,
				`<input type="radio" name="method" value="mpesa" checked> M-Pesa`,
				`<input type="radio" name="method" value="visa"> Visa`,
				`<button class="pay" type="submit" name="action" value="pay">Pay</button>`,
				`<button class="decline" type="submit" name="action" value="decline">Decline</button>`,
			} {
				if !strings.Contains(page, want) {
					t.Errorf("page lacks %q", want)
				}
			}
			if strings.Contains(page, ">Cancel</a>") {
				t.Error("page shows a Cancel link for an order without cancellation_url")
			}
		})
	}
}

func TestPayPageShowsCancelLinkWhenTheOrderHasACancellationURL(t *testing.T) {
	e := newEnv(t, nil)
	id := e.pageOrder("att_cancel", "PARENT_WINDOW", "https://shop.example/c/1?step=cancel&x=1")
	resp, page := e.getPage("?OrderTrackingId=" + id)
	if resp.StatusCode != 200 {
		t.Fatalf("HTTP %d", resp.StatusCode)
	}
	want := `<a class="link" href="https://shop.example/c/1?step=cancel&amp;x=1" target="_parent">Cancel</a>`
	if !strings.Contains(page, want) {
		t.Errorf("page lacks %q:\n%s", want, page)
	}
	if o, _ := e.sb.PesapalOrder(id); o.StatusCode != PesapalStatusInvalid {
		t.Errorf("showing the page changed the order: %+v", o)
	}
}

func TestPayPageReplacesTheCSPOfOuterMiddleware(t *testing.T) {
	e := newEnv(t, nil)
	id := e.pageOrder("att_csp", "", "")
	outer := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Security-Policy", "default-src 'none'; frame-ancestors 'none'")
		w.Header().Set("X-Frame-Options", "DENY")
		e.sb.Handler().ServeHTTP(w, r)
	})
	rec := httptest.NewRecorder()
	outer.ServeHTTP(rec, httptest.NewRequest("GET", PesapalPayPath+"?OrderTrackingId="+id, nil))
	resp := rec.Result()
	if resp.StatusCode != 200 {
		t.Fatalf("HTTP %d", resp.StatusCode)
	}
	checkPageHeaders(t, resp, rec.Body.String())
}

func TestPayPageSaysSoForUnknownMissingAndFinishedOrders(t *testing.T) {
	e := newEnv(t, nil)

	resp, page := e.getPage("?OrderTrackingId=b945e4af-80a5-4ec1-8706-e03f8332fb04")
	if resp.StatusCode != 404 || !strings.Contains(page, "Unknown order") || strings.Contains(page, "<form") {
		t.Errorf("unknown order: HTTP %d, page:\n%s", resp.StatusCode, page)
	}
	checkPageHeaders(t, resp, page)

	resp, page = e.getPage("")
	if resp.StatusCode != 400 || !strings.Contains(page, "no OrderTrackingId") || strings.Contains(page, "<form") {
		t.Errorf("missing id: HTTP %d, page:\n%s", resp.StatusCode, page)
	}

	id := e.pageOrder("att_done", "PARENT_WINDOW", "https://shop.example/cancel")
	if err := e.sb.PesapalComplete(id, false); err != nil {
		t.Fatal(err)
	}
	resp, page = e.getPage("?OrderTrackingId=" + id)
	if resp.StatusCode != 200 {
		t.Fatalf("finished order: HTTP %d", resp.StatusCode)
	}
	checkPageHeaders(t, resp, page)
	for _, want := range []string{
		"Payment finished",
		"This order is already paid.",
		"KES 1,500.00",
		`<a class="link" href="https://shop.example/return/pesapal?OrderTrackingId=` + id +
			`&amp;OrderMerchantReference=att_done&amp;OrderNotificationType=CALLBACKURL" target="_parent">Return to the merchant</a>`,
	} {
		if !strings.Contains(page, want) {
			t.Errorf("finished order page lacks %q:\n%s", want, page)
		}
	}
	for _, banned := range []string{"<form", ">Pay<", ">Cancel<"} {
		if strings.Contains(page, banned) {
			t.Errorf("finished order page contains %q", banned)
		}
	}

	declined := e.pageOrder("att_declined", "", "")
	if err := e.sb.PesapalDecline(declined, false); err != nil {
		t.Fatal(err)
	}
	if _, page := e.getPage("?OrderTrackingId=" + declined); !strings.Contains(page, "This payment was declined.") {
		t.Errorf("declined order page:\n%s", page)
	}
}

func TestPayFormRejectsBadInput(t *testing.T) {
	e := newEnv(t, nil)
	id := e.pageOrder("att_bad", "", "")
	cases := []struct {
		name, form string
		status     int
		text       string
	}{
		{"unknown order", "OrderTrackingId=nope&action=pay", 404, "Unknown order"},
		{"no action", "OrderTrackingId=" + id, 400, "Choose Pay or Decline."},
		{"bad action", "OrderTrackingId=" + id + "&action=refund", 400, "Choose Pay or Decline."},
		{"bad method", "OrderTrackingId=" + id + "&action=pay&method=cash", 400, "Choose M-Pesa or Visa."},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			resp, body := e.postPay(c.form)
			if resp.StatusCode != c.status || !strings.Contains(string(body), c.text) {
				t.Errorf("HTTP %d, want %d with %q:\n%s", resp.StatusCode, c.status, c.text, body)
			}
		})
	}
	if o, _ := e.sb.PesapalOrder(id); o.StatusCode != PesapalStatusInvalid {
		t.Errorf("bad input changed the order: %+v", o)
	}
}

// callbackParams checks a 303 to the callback URL and returns its query.
func callbackParams(t *testing.T, resp *http.Response, wantPrefix string) url.Values {
	t.Helper()
	if resp.StatusCode != http.StatusSeeOther {
		t.Fatalf("HTTP %d, want 303", resp.StatusCode)
	}
	loc := resp.Header.Get("Location")
	if !strings.HasPrefix(loc, wantPrefix) {
		t.Fatalf("Location = %q, want it to start with %q", loc, wantPrefix)
	}
	u, err := url.Parse(loc)
	if err != nil {
		t.Fatal(err)
	}
	return u.Query()
}
