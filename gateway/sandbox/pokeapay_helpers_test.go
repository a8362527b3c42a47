package sandbox

import (
	"crypto/hmac"
	"crypto/sha1"
	"encoding/hex"
	"net/http"
	"net/url"
	"strings"
	"testing"
)

const (
	ppOutlet = "OCT00001"
	ppKey    = "sandbox-hash-key"
	ppRef    = "ORD-20260314-001"
	ppReturn = "https://shop.example/return/pokeapay?lang=sw"

	// The checkout hash of ppParams(), computed with OpenSSL, not with Go:
	//
	//	$ printf '%s' '1ORD-20260314-0011500.00254712345678wanjiku@example.comOCT00001' | openssl dgst -sha1 -hmac 'sandbox-hash-key'
	//	SHA1(stdin)= 013bff6345e13ed5d0d8e29f178ac6ac62eaed1f
	ppCheckoutHash = "013bff6345e13ed5d0d8e29f178ac6ac62eaed1f"
	// The return (and verification) hash of ppRef:
	//
	//	$ printf '%s' 'ORD-20260314-001OCT00001' | openssl dgst -sha1 -hmac 'sandbox-hash-key'
	//	SHA1(stdin)= e81e55ee0243871ce7bdd3e2ee4ee39ef293a8b2
	ppReturnHash = "e81e55ee0243871ce7bdd3e2ee4ee39ef293a8b2"
)

// ppHMAC is the test's own HMAC-SHA1 (lowercase hex) of the concatenated
// parts with ppKey; TestPokeaPayHashVectorFromOpenSSL checks it against
// OpenSSL.
func ppHMAC(parts ...string) string {
	m := hmac.New(sha1.New, []byte(ppKey))
	m.Write([]byte(strings.Join(parts, "")))
	return hex.EncodeToString(m.Sum(nil))
}

// newPokeaPayEnv starts a Sandbox with the PokeaPay outlet and key set and
// IPNs going to ipnURL (none when empty).
func newPokeaPayEnv(t *testing.T, ipnURL string, edit func(*Config)) *testEnv {
	t.Helper()
	return newEnv(t, func(c *Config) {
		c.PokeaPayOutletCode = ppOutlet
		c.PokeaPayHashKey = ppKey
		c.PokeaPayIPNURL = ipnURL
		if edit != nil {
			edit(c)
		}
	})
}

// ppParams are the checkout parameters of a KES 1,500.00 order, with the
// hash of ppCheckoutHash.
func ppParams() url.Values {
	return url.Values{
		"oc":   {ppOutlet},
		"live": {"1"},
		"cn":   {"Wanjiku Kamau"},
		"eml":  {"wanjiku@example.com"},
		"tel":  {"254712345678"},
		"curr": {"KES"},
		"oref": {ppRef},
		"cb":   {ppReturn},
		"amt":  {"1500.00"},
		"hsh":  {ppCheckoutHash},
		"v1":   {"cart-7"},
		"v2":   {""},
	}
}

// ppSign sets hsh to the hash of q's current values.
func ppSign(q url.Values) url.Values {
	q.Set("hsh", ppHMAC(q.Get("live"), q.Get("oref"), q.Get("amt"), q.Get("tel"), q.Get("eml"), q.Get("oc")))
	return q
}

// ppOrder returns signed parameters for oref with the given changes
// (name -> value) applied before signing.
func ppOrder(oref string, changes ...string) url.Values {
	q := ppParams()
	q.Set("oref", oref)
	for i := 0; i+1 < len(changes); i += 2 {
		q.Set(changes[i], changes[i+1])
	}
	return ppSign(q)
}

// getCheckout requests the checkout page with the query q.
func (e *testEnv) getCheckout(q url.Values) (*http.Response, string) {
	e.t.Helper()
	req, _ := http.NewRequest("GET", e.sb.PokeaPayCheckoutURL()+"?"+q.Encode(), nil)
	resp, body := e.send(req)
	return resp, string(body)
}

// openCheckout opens the checkout page for q and fails unless it shows the
// payment form.
func (e *testEnv) openCheckout(q url.Values) {
	e.t.Helper()
	resp, page := e.getCheckout(q)
	if resp.StatusCode != 200 || !strings.Contains(page, "<form") {
		e.t.Fatalf("checkout page: HTTP %d:\n%s", resp.StatusCode, page)
	}
}

// postCheckout submits the checkout page's form.
func (e *testEnv) postCheckout(form url.Values) (*http.Response, string) {
	e.t.Helper()
	req, _ := http.NewRequest("POST", e.srv.URL+PokeaPayPayPath, strings.NewReader(form.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	resp, body := e.send(req)
	return resp, string(body)
}

// verify calls the payment verification with the given amount and type and
// a correct hash for billRef.
func (e *testEnv) verify(billRef, amount, typ string) (*http.Response, map[string]any) {
	e.t.Helper()
	return e.verifyQuery(url.Values{
		"amount":   {amount},
		"hash":     {ppHMAC(billRef, ppOutlet)},
		"type":     {typ},
		"bill_ref": {billRef},
		"oc":       {ppOutlet},
	})
}

func (e *testEnv) verifyQuery(q url.Values) (*http.Response, map[string]any) {
	e.t.Helper()
	resp, body := e.do("GET", e.sb.PokeaPayCoreURL()+"/api/payment/status?"+q.Encode(), "", nil)
	return resp, decodeObject(e.t, body)
}

// verifyStatus calls the verification and returns its status value,
// failing unless it answers HTTP 200 with the oref.
func (e *testEnv) verifyStatus(billRef, amount, typ string) string {
	e.t.Helper()
	resp, body := e.verify(billRef, amount, typ)
	if resp.StatusCode != 200 {
		e.t.Fatalf("verification: HTTP %d %v", resp.StatusCode, body)
	}
	if len(body) != 2 || body["oref"] != billRef {
		e.t.Errorf("verification answer = %v, want only status and oref %q", body, billRef)
	}
	s, _ := body["status"].(string)
	return s
}

// ppReceiver is an IPN receiver that answers 200 with an empty body.
func ppReceiver(t *testing.T, answer func(n int, w http.ResponseWriter, r *http.Request)) *ipnReceiver {
	t.Helper()
	if answer == nil {
		answer = func(int, http.ResponseWriter, *http.Request) {}
	}
	return newIPNReceiver(t, answer)
}
