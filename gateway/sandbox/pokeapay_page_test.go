package sandbox

import (
	"errors"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"

	"checkout/gateway"
)

func TestPokeaPayURLsArePublicURLPlusPaths(t *testing.T) {
	sb := New(Config{PublicURL: "http://localhost:8080/"})
	defer sb.Close()
	if got, want := sb.PokeaPayCheckoutURL(), "http://localhost:8080/sandbox/pokeapay/"; got != want {
		t.Errorf("PokeaPayCheckoutURL() = %q, want %q", got, want)
	}
	if got, want := sb.PokeaPayCoreURL(), "http://localhost:8080/sandbox/pokeapay/core"; got != want {
		t.Errorf("PokeaPayCoreURL() = %q, want %q", got, want)
	}
}

func TestPokeaPayHashVectorFromOpenSSL(t *testing.T) {
	// The test's own HMAC agrees with OpenSSL (see ppCheckoutHash and
	// ppReturnHash for the commands)...
	if got := ppHMAC("1", ppRef, "1500.00", "254712345678", "wanjiku@example.com", ppOutlet); got != ppCheckoutHash {
		t.Fatalf("test HMAC = %s, OpenSSL says %s", got, ppCheckoutHash)
	}
	if got := ppHMAC(ppRef, ppOutlet); got != ppReturnHash {
		t.Fatalf("test HMAC = %s, OpenSSL says %s", got, ppReturnHash)
	}
	// ...and the page accepts a URL carrying the OpenSSL hash.
	e := newPokeaPayEnv(t, "", nil)
	q := ppParams()
	if q.Get("hsh") != ppCheckoutHash {
		t.Fatal("ppParams does not carry the OpenSSL hash")
	}
	resp, page := e.getCheckout(q)
	if resp.StatusCode != 200 || !strings.Contains(page, "<form") {
		t.Fatalf("HTTP %d:\n%s", resp.StatusCode, page)
	}
	o, ok := e.sb.PokeaPayOrder(ppRef)
	want := PokeaPayOrder{
		OrderRef:     ppRef,
		OutletCode:   ppOutlet,
		Live:         true,
		CustomerName: "Wanjiku Kamau",
		Email:        "wanjiku@example.com",
		Phone:        "254712345678",
		Currency:     "KES",
		Amount:       gateway.Amount(150000),
		AmountText:   "1500.00",
		CallbackURL:  ppReturn,
		V1:           "cart-7",
		Status:       PokeaPayPending,
		CreatedAt:    e.clock.Now(),
		UpdatedAt:    e.clock.Now(),
	}
	if !ok || o != want {
		t.Errorf("order = %+v (%v)\nwant %+v", o, ok, want)
	}
}

func TestPokeaPayPageShowsTheOrderWithMethodsAndButtons(t *testing.T) {
	e := newPokeaPayEnv(t, "", nil)
	q := ppOrder("ORD-<&>", "cn", `Wanjiku "Shiro" <Kamau>`)
	resp, page := e.getCheckout(q)
	if resp.StatusCode != 200 {
		t.Fatalf("HTTP %d:\n%s", resp.StatusCode, page)
	}
	checkPageHeaders(t, resp, page)
	for _, want := range []string{
		`<meta name="viewport" content="width=device-width, initial-scale=1">`,
		"max-width:28rem",
		"PokeaPay sandbox",
		"Wanjiku &#34;Shiro&#34; &lt;Kamau&gt;",
		"ORD-&lt;&amp;&gt;",
		"KES 1,500.00",
		`<form method="post" action="/sandbox/pokeapay/pay">`,
		`<input type="hidden" name="oref" value="ORD-&lt;&amp;&gt;">`,
		`<input type="radio" name="type" value="m" checked> M-Pesa`,
		`<input type="radio" name="type" value="c"> Card`,
		`<button class="pay" type="submit" name="action" value="pay">Pay</button>`,
		`<button class="decline" type="submit" name="action" value="decline">Decline</button>`,
		`<button class="cancel" type="submit" name="action" value="cancel">Cancel</button>`,
	} {
		if !strings.Contains(page, want) {
			t.Errorf("page lacks %q", want)
		}
	}
	if strings.Contains(page, "Demo mode") {
		t.Error("a live=1 order is shown as demo")
	}
	if strings.Contains(page, ppKey) {
		t.Error("the page shows the hash key")
	}
}

func TestPokeaPayPageSaysDemoForLiveZero(t *testing.T) {
	e := newPokeaPayEnv(t, "", nil)
	_, page := e.getCheckout(ppOrder("ORD-demo", "live", "0"))
	if !strings.Contains(page, "Demo mode (live=0).") {
		t.Errorf("page:\n%s", page)
	}
	if o, _ := e.sb.PokeaPayOrder("ORD-demo"); o.Live {
		t.Error("live=0 recorded as live")
	}
}

func TestPokeaPayPageReplacesTheCSPOfOuterMiddleware(t *testing.T) {
	e := newPokeaPayEnv(t, "", nil)
	outer := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Security-Policy", "default-src 'none'; form-action 'self'")
		w.Header().Set("X-Frame-Options", "DENY")
		e.sb.Handler().ServeHTTP(w, r)
	})
	for _, q := range []url.Values{ppParams(), ppOrder("ORD-bad", "hsh", "0000")} {
		rec := httptest.NewRecorder()
		outer.ServeHTTP(rec, httptest.NewRequest("GET", PokeaPayCheckoutPath+"?"+q.Encode(), nil))
		checkPageHeaders(t, rec.Result(), rec.Body.String())
	}
}

func TestPokeaPayWrongHashSaysSoAndRecordsNothing(t *testing.T) {
	e := newPokeaPayEnv(t, "", nil)
	q := ppParams()
	q.Set("amt", "15.00") // tampered after signing
	resp, page := e.getCheckout(q)
	if resp.StatusCode != 400 {
		t.Errorf("HTTP %d, want 400", resp.StatusCode)
	}
	checkPageHeaders(t, resp, page)
	for _, want := range []string{
		"Hash mismatch",
		"The hash (hsh) does not match these order details.",
		"live . oref . amt . tel . eml . oc",
		"<dt>amt</dt><dd><code>15.00</code></dd>",
		"<dt>oc</dt><dd><code>OCT00001</code></dd>",
		"String hashed: <code>1ORD-20260314-00115.00254712345678wanjiku@example.comOCT00001</code>",
	} {
		if !strings.Contains(page, want) {
			t.Errorf("page lacks %q:\n%s", want, page)
		}
	}
	for _, banned := range []string{ppKey, "<form", ppHMAC("1", ppRef, "15.00", "254712345678", "wanjiku@example.com", ppOutlet)} {
		if strings.Contains(page, banned) {
			t.Errorf("page shows %q", banned)
		}
	}
	if o, ok := e.sb.PokeaPayOrder(ppRef); ok {
		t.Errorf("a refused checkout recorded %+v", o)
	}

	q = ppParams()
	q.Set("hsh", strings.ToUpper(ppCheckoutHash))
	resp, page = e.getCheckout(q)
	if resp.StatusCode != 400 || !strings.Contains(page, "it must be written in lowercase hex") {
		t.Errorf("uppercase hash: HTTP %d:\n%s", resp.StatusCode, page)
	}

	q = ppParams()
	q.Set("tel", "") // an empty field is shown as such
	resp, page = e.getCheckout(q)
	if resp.StatusCode != 400 || !strings.Contains(page, "<dt>tel</dt><dd>(empty)</dd>") {
		t.Errorf("empty tel: HTTP %d:\n%s", resp.StatusCode, page)
	}
	if _, ok := e.sb.PokeaPayOrder(ppRef); ok {
		t.Error("a refused checkout recorded an order")
	}
}

func TestPokeaPayPageRejectsBadParameters(t *testing.T) {
	e := newPokeaPayEnv(t, "", nil)
	cases := []struct {
		name, param, value, text string
	}{
		{"lowercase outlet", "oc", "oct00001", "oc must be written in uppercase"},
		{"other outlet", "oc", "OCT99999", "oc is not an outlet code of this merchant account"},
		{"no outlet", "oc", "", "oc (the outlet code PokeaPay assigned) is required"},
		{"live missing", "live", "", "live must be 1 (live) or 0 (demo)"},
		{"live yes", "live", "yes", "live must be 1 (live) or 0 (demo)"},
		{"thousands separator", "amt", "1,500.00", "no thousands separators"},
		{"three decimals", "amt", "1500.000", "at most 2 decimals"},
		{"zero", "amt", "0.00", "amt must be greater than 0"},
		{"negative", "amt", "-5", "amt must be greater than 0"},
		{"no amount", "amt", "", "amt must be greater than 0"},
		{"dollars", "curr", "USD", "curr must be KES"},
		{"no order reference", "oref", "", "oref (the order reference) is required"},
		{"relative return URL", "cb", "/return", "cb (the return URL) is required and must be an absolute http or https URL"},
		{"ftp return URL", "cb", "ftp://shop.example/r", "must be an absolute http or https URL"},
		{"no hash", "hsh", "", "hsh (the hash of the order details) is required"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			q := ppOrder("ORD-bad-" + c.param)
			q.Set(c.param, c.value)
			if c.param != "hsh" {
				ppSign(q) // the hash is right: only the parameter is wrong
			}
			resp, page := e.getCheckout(q)
			if resp.StatusCode != 400 || !strings.Contains(page, c.text) || strings.Contains(page, "<form") {
				t.Errorf("HTTP %d, want 400 with %q:\n%s", resp.StatusCode, c.text, page)
			}
			if _, ok := e.sb.PokeaPayOrder(q.Get("oref")); ok {
				t.Error("a refused checkout recorded an order")
			}
		})
	}
}

func TestPokeaPayPageAcceptsDocumentVariants(t *testing.T) {
	e := newPokeaPayEnv(t, "", nil)
	cases := []struct{ name, param, value string }{
		{"whole amount", "amt", "1"},
		{"one decimal", "amt", "12.5"},
		{"no currency (KES by default)", "curr", ""},
		{"no email or phone", "eml", ""},
		{"return URL with a query", "cb", "http://localhost:8080/r?x=1&y=2"},
	}
	for i, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			oref := "ORD-ok-" + string(rune('a'+i))
			q := ppOrder(oref, c.param, c.value)
			resp, page := e.getCheckout(q)
			if resp.StatusCode != 200 || !strings.Contains(page, "<form") {
				t.Fatalf("HTTP %d:\n%s", resp.StatusCode, page)
			}
			if o, ok := e.sb.PokeaPayOrder(oref); !ok || o.Currency != "KES" {
				t.Errorf("order = %+v (%v)", o, ok)
			}
		})
	}
}

func TestPokeaPayUnconfiguredSimulatorRefusesEverything(t *testing.T) {
	for name, edit := range map[string]func(*Config){
		"no outlet": func(c *Config) { c.PokeaPayOutletCode = "" },
		"no key":    func(c *Config) { c.PokeaPayHashKey = "" },
	} {
		t.Run(name, func(t *testing.T) {
			e := newPokeaPayEnv(t, "", edit)
			resp, page := e.getCheckout(ppParams())
			if resp.StatusCode != 503 || !strings.Contains(page, "PokeaPay sandbox not set up") {
				t.Errorf("page: HTTP %d:\n%s", resp.StatusCode, page)
			}
			if err := e.sb.PokeaPayOpen(e.sb.PokeaPayCheckoutURL() + "?" + ppParams().Encode()); !errors.Is(err, ErrPokeaPayRefused) {
				t.Errorf("PokeaPayOpen = %v, want ErrPokeaPayRefused", err)
			}
			if resp, body := e.verify(ppRef, "1500.00", "m"); resp.StatusCode != 401 || body["error"] == nil {
				t.Errorf("verification: HTTP %d %v, want 401 with an error", resp.StatusCode, body)
			}
			if _, ok := e.sb.PokeaPayOrder(ppRef); ok {
				t.Error("an order was recorded")
			}
		})
	}
}

func TestPokeaPayConfiguredOutletIsUppercased(t *testing.T) {
	e := newPokeaPayEnv(t, "", func(c *Config) { c.PokeaPayOutletCode = "oct00001" })
	e.openCheckout(ppParams())
}

func TestPokeaPaySameOrefOpensTheSameOrderAndAnotherAmountConflicts(t *testing.T) {
	e := newPokeaPayEnv(t, "", nil)
	e.openCheckout(ppParams())
	first, _ := e.sb.PokeaPayOrder(ppRef)

	e.clock.Add(1)
	e.openCheckout(ppParams())
	if again, _ := e.sb.PokeaPayOrder(ppRef); again != first {
		t.Errorf("the same URL changed the order:\n%+v\nwas\n%+v", again, first)
	}

	resp, page := e.getCheckout(ppOrder(ppRef, "amt", "1600.00"))
	if resp.StatusCode != 409 || !strings.Contains(page, "already opened for KES 1,500.00, not KES 1,600.00") || strings.Contains(page, "<form") {
		t.Errorf("another amount: HTTP %d:\n%s", resp.StatusCode, page)
	}
	checkPageHeaders(t, resp, page)
	if o, _ := e.sb.PokeaPayOrder(ppRef); o != first {
		t.Errorf("a conflicting URL changed the order: %+v", o)
	}

	// The same amount written otherwise, with a new phone: the pending order
	// takes the new details.
	e.openCheckout(ppOrder(ppRef, "amt", "1500", "tel", "0711000111"))
	o, _ := e.sb.PokeaPayOrder(ppRef)
	if o.Phone != "0711000111" || o.AmountText != "1500" || o.Amount != 150000 || !o.CreatedAt.Equal(first.CreatedAt) ||
		!o.UpdatedAt.Equal(e.clock.Now()) {
		t.Errorf("order after new details = %+v", o)
	}
}

func TestPokeaPayPageOfAFinalOrderOffersTheWayBack(t *testing.T) {
	e := newPokeaPayEnv(t, "", nil)
	e.openCheckout(ppParams())
	if err := e.sb.PokeaPayComplete(ppRef, "c", false); err != nil {
		t.Fatal(err)
	}
	resp, page := e.getCheckout(ppParams())
	if resp.StatusCode != 200 {
		t.Fatalf("HTTP %d", resp.StatusCode)
	}
	checkPageHeaders(t, resp, page)
	for _, want := range []string{
		"Payment finished",
		"This order is already paid.",
		"KES 1,500.00",
		`<a class="link" href="https://shop.example/return/pokeapay?lang=sw&amp;oref=ORD-20260314-001&amp;hsh=` +
			ppReturnHash + `&amp;type=c&amp;amount=1500.00&amp;status=1">Return to the merchant</a>`,
	} {
		if !strings.Contains(page, want) {
			t.Errorf("page lacks %q:\n%s", want, page)
		}
	}
	if strings.Contains(page, "<form") {
		t.Error("a paid order shows the payment form")
	}

	e.openCheckout(ppOrder("ORD-cancel"))
	if resp, _ := e.postCheckout(url.Values{"oref": {"ORD-cancel"}, "action": {"cancel"}}); resp.StatusCode != 303 {
		t.Fatalf("cancel: HTTP %d", resp.StatusCode)
	}
	if _, page := e.getCheckout(ppOrder("ORD-cancel")); !strings.Contains(page, "This payment was cancelled.") ||
		!strings.Contains(page, "status=0") {
		t.Errorf("cancelled order page:\n%s", page)
	}
	e.openCheckout(ppOrder("ORD-decline"))
	if err := e.sb.PokeaPayDecline("ORD-decline"); err != nil {
		t.Fatal(err)
	}
	if _, page := e.getCheckout(ppOrder("ORD-decline")); !strings.Contains(page, "This payment was declined.") {
		t.Errorf("declined order page:\n%s", page)
	}
}

func TestPokeaPayOpenChecksTheURLAsThePageDoes(t *testing.T) {
	e := newPokeaPayEnv(t, "", nil)
	base := e.sb.PokeaPayCheckoutURL()

	if err := e.sb.PokeaPayOpen(base + "?" + ppParams().Encode()); err != nil {
		t.Fatalf("PokeaPayOpen = %v", err)
	}
	if o, ok := e.sb.PokeaPayOrder(ppRef); !ok || o.Status != PokeaPayPending || o.Amount != 150000 {
		t.Errorf("order = %+v (%v)", o, ok)
	}
	// The real host in front of the sandbox path is fine; the path is not.
	if err := e.sb.PokeaPayOpen("https://pay.example/sandbox/pokeapay?" + ppOrder("ORD-host").Encode()); err != nil {
		t.Errorf("another host: %v", err)
	}
	if err := e.sb.PokeaPayOpen("https://pay.example/?" + ppOrder("ORD-path").Encode()); !errors.Is(err, ErrPokeaPayRefused) {
		t.Errorf("wrong path: %v, want ErrPokeaPayRefused", err)
	}

	bad := ppOrder("ORD-hash")
	bad.Set("eml", "other@example.com")
	err := e.sb.PokeaPayOpen(base + "?" + bad.Encode())
	if !errors.Is(err, ErrPokeaPayHash) || !errors.Is(err, ErrPokeaPayRefused) ||
		!strings.Contains(err.Error(), "The hash (hsh) does not match these order details") || strings.Contains(err.Error(), ppKey) {
		t.Errorf("wrong hash: %v", err)
	}
	if _, ok := e.sb.PokeaPayOrder("ORD-hash"); ok {
		t.Error("a wrong hash recorded an order")
	}

	err = e.sb.PokeaPayOpen(base + "?" + ppOrder(ppRef, "amt", "99").Encode())
	if !errors.Is(err, ErrPokeaPayConflict) || !strings.Contains(err.Error(), "HTTP 409") {
		t.Errorf("another amount: %v", err)
	}
	err = e.sb.PokeaPayOpen(base + "?" + ppOrder("ORD-curr", "curr", "UGX").Encode())
	if !errors.Is(err, ErrPokeaPayRefused) || errors.Is(err, ErrPokeaPayHash) || !strings.Contains(err.Error(), "curr must be KES") {
		t.Errorf("bad currency: %v", err)
	}
}

func TestPokeaPayCheckoutIsServedOnlyAtItsPath(t *testing.T) {
	e := newPokeaPayEnv(t, "", nil)
	get := func(path string) int {
		req, _ := http.NewRequest("GET", e.srv.URL+path, nil)
		resp, _ := e.send(req)
		return resp.StatusCode
	}
	if got := get("/sandbox/pokeapay?" + ppOrder("ORD-noslash").Encode()); got != 200 {
		t.Errorf("without the trailing slash: HTTP %d, want 200", got)
	}
	if _, ok := e.sb.PokeaPayOrder("ORD-noslash"); !ok {
		t.Error("the page without the trailing slash recorded nothing")
	}
	for path, want := range map[string]int{
		"/sandbox/pokeapay/other?" + ppOrder("ORD-other").Encode(): 404,
		"/sandbox/pokeapay/pay":                    405,
		"/sandbox/pokeapay/core/api/payment/other": 404,
	} {
		if got := get(path); got != want {
			t.Errorf("GET %s: HTTP %d, want %d", path, got, want)
		}
	}
	if _, ok := e.sb.PokeaPayOrder("ORD-other"); ok {
		t.Error("a path under the checkout page recorded an order")
	}
}
