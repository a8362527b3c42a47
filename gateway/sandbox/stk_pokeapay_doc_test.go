package sandbox

import (
	"encoding/json"
	"net/http"
	"net/url"
	"reflect"
	"strings"
	"testing"

	"checkout/gateway/internal/fixture"
)

// The PokeaPay simulators answer with the shapes of the document's examples
// (gateway/pokeapay/testdata/doc-*), or, where the document shows none,
// the shapes written down in gateway/pokeapay/testdata/ASSUMED.md
// (assumed-*). Shapes: keys, nesting and value kinds.

// ppFixture reads a fixture of the PokeaPay client.
func ppFixture(t *testing.T, name string) []byte {
	t.Helper()
	return fixture.Read(t, "../pokeapay/testdata", name)
}

func TestPokeaPaySTKAnswersHaveTheDocumentShapes(t *testing.T) {
	rc := callbackReceiver(t, nil)
	e := newSTKEnv(t, nil)

	// Login, both answers.
	resp, raw := e.do("POST", e.stkURL("/login"), "", map[string]string{"email": stkEmail, "password": stkPassword})
	fixture.SameShape(t, "login", ppFixture(t, "doc-login-success.json"), raw)
	resp2, raw2 := e.do("POST", e.stkURL("/login"), "", map[string]string{"email": stkEmail, "password": "wrong"})
	fixture.SameShape(t, "refused login", ppFixture(t, "doc-login-error.json"), raw2)
	if resp.StatusCode != 200 || resp2.StatusCode != 400 {
		t.Errorf("login HTTP %d, refused login HTTP %d; want 200 and 400 as the document saved them", resp.StatusCode, resp2.StatusCode)
	}
	token := decodeObject(t, raw)["data"].(map[string]any)["token"].(string)

	// A refused token (assumed).
	_, raw = e.doRaw("POST", e.stkURL("/transaction/query"), "Bearer "+token, "application/json", `{}`)
	fixture.SameShape(t, "refused token", ppFixture(t, "assumed-stk-unauthorized.json"), raw)

	// The document's request as sent: its phone "2547xxxxxxxx" fails the
	// pattern, and the answer is the document's "Invalid/Missing Inputs".
	_, raw = e.doRaw("POST", e.stkURL("/stkPush/transaction"), token, "application/json", string(ppFixture(t, "doc-stk-push-request.json")))
	fixture.SameShape(t, "invalid push", ppFixture(t, "doc-stk-push-invalid-inputs.json"), raw)

	// An accepted push: the document's "Error" (HTTP 200) example.
	body := stkPushBody("ORD-1", stkPhone, rc.srv.URL+"/callback/pokeapay-stk")
	resp, raw = e.do("POST", e.stkURL("/stkPush/transaction"), token, body)
	fixture.SameShape(t, "accepted push", ppFixture(t, "doc-stk-push-error.json"), raw)
	if resp.StatusCode != 200 {
		t.Errorf("accepted push: HTTP %d", resp.StatusCode)
	}
	// A second push to the same phone: "Unableto lock subscriber".
	_, raw = e.do("POST", e.stkURL("/stkPush/transaction"), token, stkPushBody("ORD-2", stkPhone, rc.srv.URL+"/cb"))
	fixture.SameShape(t, "busy push", ppFixture(t, "doc-stk-push-success.json"), raw)

	// The query while the prompt waits: "stkPush Transaction POST Success".
	_, q := e.stkQueryRaw(token, "ORD-1", stkPhone)
	fixture.SameShape(t, "pending query", ppFixture(t, "doc-stk-query-initiated.json"), q)
	// An unknown prompt (assumed).
	resp, q = e.stkQueryRaw(token, "ORD-404", stkPhone)
	fixture.SameShape(t, "unknown prompt", ppFixture(t, "assumed-stk-query-not-found.json"), q)
	if resp.StatusCode != http.StatusNotFound {
		t.Errorf("unknown prompt: HTTP %d, want 404", resp.StatusCode)
	}

	// Approved: the success callback, and the query's "Transaction Query
	// Success", with no data.status.
	if err := e.sb.STKAnswer(STKPokeaPay, "ORD-1", "0", true); err != nil {
		t.Fatal(err)
	}
	cb := rc.next(t)
	fixture.SameShape(t, "success callback", ppFixture(t, "doc-stk-callback-success.json"), []byte(cb.Body))
	_, q = e.stkQueryRaw(token, "ORD-1", stkPhone)
	fixture.SameShape(t, "completed query", ppFixture(t, "doc-stk-query-success.json"), q)

	// Declined: the failed callback, and the query answers the same body.
	e.stkPushOK(token, stkPushBody("ORD-3", stkPhone2, rc.srv.URL+"/callback/pokeapay-stk"))
	if err := e.sb.STKAnswer(STKPokeaPay, "ORD-3", STKCodeCancelled, true); err != nil {
		t.Fatal(err)
	}
	cb = rc.next(t)
	fixture.SameShape(t, "failed callback", ppFixture(t, "doc-stk-callback-failed.json"), []byte(cb.Body))
	_, q = e.stkQueryRaw(token, "ORD-3", stkPhone2)
	fixture.SameShape(t, "failed query", ppFixture(t, "doc-stk-callback-failed.json"), q)
}

// stkQueryRaw queries a push of KES 1,500 and returns the raw answer.
func (e *testEnv) stkQueryRaw(token, orderRef, phone string) (*http.Response, []byte) {
	e.t.Helper()
	return e.do("POST", e.stkURL("/transaction/query"), token, map[string]any{
		"amount": json.Number("1500"), "phone": phone, "outletCode": ppOutlet, "orderRef": orderRef,
	})
}

func TestPokeaPaySTKTakesOnlyTheBareToken(t *testing.T) {
	e := newSTKEnv(t, nil)
	token := e.stkLogin()
	query := `{"amount":1500,"phone":"` + stkPhone + `","outletCode":"` + ppOutlet + `","orderRef":"ORD-1"}`
	for _, c := range []struct {
		auth   string
		status int
	}{
		{token, http.StatusNotFound}, // authorized; no such prompt
		{"Bearer " + token, http.StatusUnauthorized},
		{"bearer " + token, http.StatusUnauthorized},
	} {
		if resp, raw := e.doRaw("POST", e.stkURL("/transaction/query"), c.auth, "application/json", query); resp.StatusCode != c.status {
			t.Errorf("Authorization %q: HTTP %d %s, want %d", c.auth[:7], resp.StatusCode, raw, c.status)
		}
	}
}

func TestPokeaPayVerificationAndReturnHaveTheAssumedAndDocumentShapes(t *testing.T) {
	rcv := ppReceiver(t, nil)
	e := newPokeaPayEnv(t, rcv.srv.URL+"/ipn/pokeapay", nil)
	_, raw := e.do("GET", e.sb.PokeaPayCoreURL()+"/api/payment/status?"+url.Values{
		"amount": {"1500.00"}, "hash": {ppHMAC("ORD-404", ppOutlet)}, "type": {"m"}, "bill_ref": {"ORD-404"}, "oc": {ppOutlet},
	}.Encode(), "", nil)
	fixture.SameShape(t, "pending verification", ppFixture(t, "assumed-verify-pending.json"), raw)

	q := ppOrder(ppRef)
	if err := e.sb.PokeaPayOpen(e.sb.PokeaPayCheckoutURL() + "?" + q.Encode()); err != nil {
		t.Fatal(err)
	}
	if err := e.sb.PokeaPayComplete(ppRef, "m", true); err != nil {
		t.Fatal(err)
	}
	_, raw = e.do("GET", e.sb.PokeaPayCoreURL()+"/api/payment/status?"+url.Values{
		"amount": {"1500.00"}, "hash": {ppHMAC(ppRef, ppOutlet)}, "type": {"m"}, "bill_ref": {ppRef}, "oc": {ppOutlet},
	}.Encode(), "", nil)
	fixture.SameShape(t, "success verification", ppFixture(t, "assumed-verify-success.json"), raw)

	// The IPN carries the document's keys.
	e.sb.WaitIPNs()
	ipn := rcv.next(t)
	fixture.SameShape(t, "IPN", ppFixture(t, "doc-ipn.json"), []byte(ipn.Body))

	// The return URL carries the document's parameters, in its order.
	o, ok := e.sb.PokeaPayOrder(ppRef)
	if !ok {
		t.Fatal("no order")
	}
	ret, err := url.Parse(e.sb.pokeaPayReturn(&o))
	if err != nil {
		t.Fatal(err)
	}
	var keys []string
	for _, pair := range strings.Split(ret.RawQuery, "&") {
		k, _, _ := strings.Cut(pair, "=")
		keys = append(keys, k)
	}
	var want []string
	for _, pair := range strings.Split(string(ppFixture(t, "doc-return-status.query")), "&") {
		k, _, _ := strings.Cut(pair, "=")
		want = append(want, k)
	}
	if !reflect.DeepEqual(keys[len(keys)-len(want):], want) {
		t.Errorf("return parameters = %v, want the document's %v at the end", keys, want)
	}
}
