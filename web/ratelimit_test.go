package web_test

import (
	"encoding/json"
	"io"
	"net/http"
	"net/url"
	"os"
	"strings"
	"testing"
	"time"

	"checkout/web"
)

// tight is a limit the tests reach quickly: two requests, then one every
// ten seconds.
var tight = web.Rate{Every: 10 * time.Second, Burst: 2}

// raw sends one request as a client at ip (through the loopback proxy when
// ip is not ""), and returns the status, Retry-After and body.
func (e *env) raw(method, path, ip string, header http.Header, body string) (int, string, string) {
	e.t.Helper()
	req, err := http.NewRequest(method, e.app.URL+path, strings.NewReader(body))
	if err != nil {
		e.t.Fatal(err)
	}
	for k, v := range header {
		req.Header[k] = v
	}
	if ip != "" {
		req.Header.Set("X-Forwarded-For", ip)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		e.t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		e.t.Fatal(err)
	}
	return resp.StatusCode, resp.Header.Get("Retry-After"), string(b)
}

// TestEachLimitAnswers429WithRetryAfterAndRecovers: past its rate, each
// limited route answers 429 with Retry-After (the JSON error object on the
// API, a page elsewhere) and does nothing; once the wait has passed on the
// service's clock, it answers again.
func TestEachLimitAnswers429WithRetryAfterAndRecovers(t *testing.T) {
	e := newEnv(t, envOptions{stk: "pochipay", limits: web.Limits{Notify: tight, Reference: tight, Return: tight, API: tight, Docs: tight, Logo: tight},
		trustedProxies: []string{"127.0.0.1/32", "::1/128"}})
	apiKey := http.Header{"Authorization": {"Bearer " + testAPIKey}}
	asJSON := http.Header{"Content-Type": {"application/json"}}
	const (
		page       = "Too many requests came from your network."
		notifyJSON = `"message":"too many notifications for this reference; retry later"`
		pokeaIPN   = `{"billreference":"pay_one","amount":"1500.00","accountname":"JOHN DOE","accountno":"254722000000","fees":"15","referenceno":"QLD82TMWJE","method":"MPESA"}`
		pesapalIPN = `{"OrderNotificationType":"IPNCHANGE","OrderTrackingId":"one-tracking-id","OrderMerchantReference":"pay_one"}`
	)
	// A notification route past its per-IP limit answers in its provider's
	// JSON shape, not with a page.
	const notifyIP = "too many requests; retry after the number of seconds in Retry-After"
	pochiCallback := string(readFile(t, "../gateway/pochipay/testdata/assumed-collections-callback-failed.json"))
	cases := []struct {
		name   string
		method string
		// path is given the request's number, so that a per-reference
		// limit is shown apart from a per-IP one.
		path func(i int) string
		// ip is the client's address for request i.
		ip     func(i int) string
		header http.Header
		body   string
		// says is what the 429's body holds: the API's error object is
		// checked field by field.
		says string
		api  bool
	}{
		{name: "Pesapal IPN per IP", method: http.MethodGet, ip: same("203.0.113.1"), says: `"error":"` + notifyIP + `","status":429`,
			path: func(i int) string { return "/ipn/pesapal?OrderTrackingId=t-" + string(rune('a'+i)) }},
		{name: "STK callback per IP", method: http.MethodPost, ip: same("203.0.113.2"), says: `"message":"` + notifyIP + `","status":"error"`,
			path: func(int) string { return "/callback/pochipay" }},
		{name: "PokeaPay IPN per IP", method: http.MethodPost, ip: same("203.0.113.3"), says: `"message":"` + notifyIP + `","status":"error"`,
			path: func(int) string { return "/ipn/pokeapay" }},
		{name: "Pesapal GET IPN per reference from many addresses", method: http.MethodGet, ip: many("198.51.100."), says: notifyJSON,
			path: func(int) string { return "/ipn/pesapal?OrderTrackingId=one-reference" }},
		{name: "Pesapal POST IPN per reference from many addresses", method: http.MethodPost, ip: many("198.51.101."), says: notifyJSON,
			path: func(int) string { return "/ipn/pesapal" }, header: asJSON, body: pesapalIPN},
		{name: "PokeaPay IPN per reference from many addresses", method: http.MethodPost, ip: many("198.51.102."), says: notifyJSON,
			path: func(int) string { return "/ipn/pokeapay" }, header: asJSON, body: pokeaIPN},
		{name: "STK callback per reference from many addresses", method: http.MethodPost, ip: many("198.51.103."),
			says: `"message":"too many callbacks for this payment; retry later"`,
			path: func(int) string { return "/callback/pochipay" }, header: asJSON, body: pochiCallback},
		{name: "Pesapal return per IP", method: http.MethodGet, ip: same("203.0.113.4"), says: page,
			path: func(i int) string { return "/return/pesapal?OrderTrackingId=r-" + string(rune('a'+i)) }},
		{name: "PokeaPay return per reference from many addresses", method: http.MethodGet, ip: many("192.0.2."), says: page,
			path: func(int) string { return "/return/pokeapay?oref=pay_one" }},
		{name: "merchant API per key", method: http.MethodGet, ip: many("100.64.0."), header: apiKey, api: true,
			path: func(int) string { return "/api/v1/checkouts/chk_unknown" }},
		{name: "OpenAPI document per IP", method: http.MethodGet, ip: same("203.0.113.5"), api: true,
			path: func(int) string { return "/api/openapi.json" }},
		{name: "API reference page per IP", method: http.MethodGet, ip: same("203.0.113.6"), says: page,
			path: func(int) string { return "/docs/api" }},
		{name: "merchant logo per IP, made-up merchants", method: http.MethodGet, ip: same("203.0.113.7"), says: page,
			path: func(i int) string {
				return "/m/m_madeup" + string(rune('a'+i)) + "/logo/0123456789abcdef0123456789abcdef"
			}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			for i := range 2 {
				if st, _, body := e.raw(tc.method, tc.path(i), tc.ip(i), tc.header, tc.body); st == http.StatusTooManyRequests {
					t.Fatalf("request %d within the burst: 429\n%s", i+1, body)
				}
			}
			st, retry, body := e.raw(tc.method, tc.path(2), tc.ip(2), tc.header, tc.body)
			if st != http.StatusTooManyRequests || retry != "10" {
				t.Fatalf("third request: %d Retry-After %q, want 429 and 10\n%s", st, retry, body)
			}
			if tc.api {
				var got struct {
					Error struct {
						Code    string  `json:"code"`
						Message string  `json:"message"`
						Field   *string `json:"field"`
					} `json:"error"`
				}
				if err := json.Unmarshal([]byte(body), &got); err != nil || got.Error.Code != "rate_limited" ||
					got.Error.Message == "" || got.Error.Field != nil {
					t.Errorf("API answer %s (%v), want the error object with code rate_limited", body, err)
				}
			} else if !strings.Contains(body, tc.says) {
				t.Errorf("answer does not say why:\n%s", body)
			}
			e.clock.Advance(10 * time.Second)
			if st, _, body := e.raw(tc.method, tc.path(3), tc.ip(3), tc.header, tc.body); st == http.StatusTooManyRequests {
				t.Fatalf("after ten seconds: still 429\n%s", body)
			}
			if st, _, _ := e.raw(tc.method, tc.path(4), tc.ip(4), tc.header, tc.body); st != http.StatusTooManyRequests {
				t.Fatalf("right after: %d, want 429", st)
			}
		})
	}
}

func readFile(t *testing.T, name string) []byte {
	t.Helper()
	b, err := os.ReadFile(name)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// same is one client address for every request.
func same(ip string) func(int) string { return func(int) string { return ip } }

// many is another client address for each request.
func many(prefix string) func(int) string {
	return func(i int) string { return prefix + string(rune('1'+i)) }
}

// TestPayIsLimitedPerClientIP: POST /c/{id}/pay past its rate answers 429
// with Retry-After and starts nothing; it recovers after the wait.
func TestPayIsLimitedPerClientIP(t *testing.T) {
	e := newEnv(t, envOptions{limits: web.Limits{Pay: tight}})
	id := e.createCheckout("pay-limit")
	b := e.browser()
	p := b.get(e.app.URL + "/c/" + id)
	choose := func() page {
		t.Helper()
		return b.submit(p, "form.method-choice", url.Values{"method": {"bitcoin"}})
	}
	for i := range 2 {
		if r := choose(); r.status != http.StatusUnprocessableEntity {
			t.Fatalf("choice %d: %d, want 422 (no such method)", i+1, r.status)
		}
	}
	r := choose()
	if r.status != http.StatusTooManyRequests || !strings.Contains(r.body, "Too many requests came from your network.") {
		t.Fatalf("third choice: %d, want 429 with the reason\n%s", r.status, r.body)
	}
	e.clock.Advance(10 * time.Second)
	if r := choose(); r.status != http.StatusUnprocessableEntity {
		t.Fatalf("after ten seconds: %d, want 422", r.status)
	}
}

// TestXForwardedForIsBelievedOnlyFromATrustedProxy: without trusted
// proxies, a client cannot escape its bucket by sending X-Forwarded-For;
// behind a trusted proxy the client is the rightmost address that is not a
// trusted proxy, so addresses the client prepends change nothing either.
func TestXForwardedForIsBelievedOnlyFromATrustedProxy(t *testing.T) {
	limits := web.Limits{Notify: tight}
	t.Run("no trusted proxy", func(t *testing.T) {
		e := newEnv(t, envOptions{limits: limits})
		for i, xff := range []string{"203.0.113.1", "203.0.113.2"} {
			if st, _, _ := e.raw(http.MethodPost, "/ipn/pokeapay", xff, nil, ""); st == http.StatusTooManyRequests {
				t.Fatalf("request %d: 429 within the burst", i+1)
			}
		}
		if st, _, _ := e.raw(http.MethodPost, "/ipn/pokeapay", "203.0.113.3", nil, ""); st != http.StatusTooManyRequests {
			t.Fatalf("third request with another X-Forwarded-For: %d, want 429 (the header is not believed)", st)
		}
	})
	t.Run("loopback is a trusted proxy", func(t *testing.T) {
		e := newEnv(t, envOptions{limits: limits, trustedProxies: []string{"127.0.0.0/8", "::1/128"}})
		for i := range 5 {
			ip := "203.0.113." + string(rune('1'+i))
			if st, _, _ := e.raw(http.MethodPost, "/ipn/pokeapay", ip, nil, ""); st == http.StatusTooManyRequests {
				t.Fatalf("client %s: 429, want each client its own bucket", ip)
			}
		}
		// A client behind the proxy prepends addresses of its own: the
		// rightmost untrusted one is still its own.
		for i, xff := range []string{"1.1.1.1, 198.51.100.7", "2.2.2.2, 198.51.100.7, 127.0.0.1"} {
			if st, _, _ := e.raw(http.MethodPost, "/ipn/pokeapay", xff, nil, ""); st == http.StatusTooManyRequests {
				t.Fatalf("request %d: 429 within the burst", i+1)
			}
		}
		if st, _, _ := e.raw(http.MethodPost, "/ipn/pokeapay", "3.3.3.3, 198.51.100.7", nil, ""); st != http.StatusTooManyRequests {
			t.Fatalf("third request of 198.51.100.7 with a forged left part: %d, want 429", st)
		}
	})
}

// TestIPv6ClientsShareABucketPerSlash64: two addresses in one /64 are one
// client for the limits; an address of another /64 is another.
func TestIPv6ClientsShareABucketPerSlash64(t *testing.T) {
	e := newEnv(t, envOptions{limits: web.Limits{Notify: tight}, trustedProxies: []string{"127.0.0.1/32"}})
	for i, ip := range []string{"2001:db8:1:2::1", "2001:db8:1:2:ffff:ffff:ffff:fffe"} {
		if st, _, _ := e.raw(http.MethodPost, "/ipn/pokeapay", ip, nil, ""); st == http.StatusTooManyRequests {
			t.Fatalf("request %d: 429 within the burst", i+1)
		}
	}
	if st, _, _ := e.raw(http.MethodPost, "/ipn/pokeapay", "2001:db8:1:2:abcd::9", nil, ""); st != http.StatusTooManyRequests {
		t.Fatalf("third address of the same /64: %d, want 429", st)
	}
	if st, _, _ := e.raw(http.MethodPost, "/ipn/pokeapay", "2001:db8:1:3::1", nil, ""); st == http.StatusTooManyRequests {
		t.Fatalf("an address of the next /64: 429, want its own bucket")
	}
}

// TestFourthSTKPromptToOnePhoneShowsWhyOnTheCheckoutPage: three prompts to
// one number within ten minutes (three checkouts) go out; the fourth
// checkout's page answers 429 with Retry-After, marks the phone field and
// says why in words, and no fourth prompt reaches the phone.
func TestFourthSTKPromptToOnePhoneShowsWhyOnTheCheckoutPage(t *testing.T) {
	e := newEnv(t, envOptions{stk: "pokeapay"})
	var ids []string
	for i, amount := range []string{"100", "200", "300", "400"} {
		st, obj := e.api(http.MethodPost, "/api/v1/checkouts",
			`{"amount": "`+amount+`", "currency": "KES", "reference": "stk-limit-`+amount+`", "description": "Coffee"}`)
		if st != http.StatusCreated {
			t.Fatalf("checkout %d: %d %v", i+1, st, obj)
		}
		ids = append(ids, obj["id"].(string))
	}
	for _, id := range ids[:3] {
		if p := e.pushSTK(e.browser(), id, "0712345678"); p.status != http.StatusOK || !strings.HasSuffix(p.url, "/c/"+id+"/stk") {
			t.Fatalf("prompt for %s: %d at %s", id, p.status, p.url)
		}
		// The customer cancels it on the phone, which frees the phone.
		if err := e.sim.STKAnswer("pokeapay", e.stkAttempt(id).ID, "1032", false); err != nil {
			t.Fatal(err)
		}
		e.clock.Advance(3 * time.Minute)
	}
	b := e.browser()
	p := b.get(e.app.URL + "/c/" + ids[3])
	got := b.submit(p, "form.stk-form", url.Values{"phone": {"0712 345 678"}})
	const msg = "You have asked for 3 M-Pesa prompts on 0712 345 678 in the last 10 minutes. Wait a few minutes, or use another number."
	if got.status != http.StatusTooManyRequests || !strings.Contains(got.body, msg) {
		t.Fatalf("fourth prompt: %d, want 429 saying %q\n%s", got.status, msg, got.body)
	}
	if got.doc.Find("form.stk-form input#phone").AttrOr("aria-invalid", "") != "true" {
		t.Error("the phone field is not marked")
	}
	if n := len(e.sim.STKPrompts()); n != 3 {
		t.Errorf("prompts on the phone = %d, want 3", n)
	}
}
