package sandbox

import (
	"encoding/base64"
	"encoding/json"
	"net/http"
	"net/url"
	"strings"
	"testing"
)

const (
	stkEmail      = "stk@sandbox.test"
	stkPassword   = "stk-secret"
	pochiEmail    = "pochipay@sandbox.test"
	pochiPassword = "pochipay-secret"
	stkPhone      = "254712345678"
	stkPhone2     = "254110000111"

	jwtPattern     = `^[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+$`
	receiptPattern = `^SBX[A-Z0-9]{7}$`
)

// newSTKEnv starts a Sandbox with both STK simulators set up (PokeaPay's
// outlet is ppOutlet).
func newSTKEnv(t *testing.T, edit func(*Config)) *testEnv {
	t.Helper()
	return newEnv(t, func(c *Config) {
		c.PokeaPayOutletCode = ppOutlet
		c.PokeaPayHashKey = ppKey
		c.PokeaPaySTKEmail, c.PokeaPaySTKPassword = stkEmail, stkPassword
		c.PochipayEmail, c.PochipayPassword = pochiEmail, pochiPassword
		if edit != nil {
			edit(c)
		}
	})
}

// stkURL is the full URL of a PokeaPay STK API path such as /login.
func (e *testEnv) stkURL(path string) string { return e.sb.PokeaPaySTKURL() + path }

// pochiURL is the full URL of a Pochipay path such as /account/token.
func (e *testEnv) pochiURL(path string) string { return e.sb.PochipayURL() + path }

// doRaw sends body as is, with the given Content-Type and Authorization
// header values (none when empty).
func (e *testEnv) doRaw(method, url, authorization, contentType, body string) (*http.Response, []byte) {
	e.t.Helper()
	req, err := http.NewRequest(method, url, strings.NewReader(body))
	if err != nil {
		e.t.Fatal(err)
	}
	if contentType != "" {
		req.Header.Set("Content-Type", contentType)
	}
	if authorization != "" {
		req.Header.Set("Authorization", authorization)
	}
	return e.send(req)
}

// stkLogin logs in to PokeaPay's STK API and returns the token.
func (e *testEnv) stkLogin() string {
	e.t.Helper()
	resp, body := e.do("POST", e.stkURL("/login"), "", map[string]string{"email": stkEmail, "password": stkPassword})
	if resp.StatusCode != 200 {
		e.t.Fatalf("login: HTTP %d %s", resp.StatusCode, body)
	}
	return decodeObject(e.t, body)["data"].(map[string]any)["token"].(string)
}

// pochiToken gets a Pochipay token.
func (e *testEnv) pochiToken() string {
	e.t.Helper()
	resp, body := e.do("POST", e.pochiURL("/account/token"), "", map[string]string{"email": pochiEmail, "password": pochiPassword})
	if resp.StatusCode != 200 {
		e.t.Fatalf("token: HTTP %d %s", resp.StatusCode, body)
	}
	return decodeObject(e.t, body)["result"].(map[string]any)["accessToken"].(string)
}

// stkPushBody is a valid PokeaPay STK push of KES 1,500.
func stkPushBody(orderRef, phone, callback string) map[string]any {
	return map[string]any{
		"amount":        json.Number("1500"),
		"phone":         phone,
		"callBackUrl":   callback,
		"outletCode":    ppOutlet,
		"orderRef":      orderRef,
		"variable1":     "ORD-7",
		"variable2":     "",
		"customerName":  "Wanjiku Njeri Kamau",
		"customerEmail": "wanjiku@example.com",
	}
}

// stkPush sends a push and returns the answer.
func (e *testEnv) stkPush(token string, body map[string]any) (*http.Response, map[string]any) {
	e.t.Helper()
	resp, raw := e.do("POST", e.stkURL("/stkPush/transaction"), token, body)
	return resp, decodeObject(e.t, raw)
}

// stkPushOK sends a push and fails unless it is accepted.
func (e *testEnv) stkPushOK(token string, body map[string]any) {
	e.t.Helper()
	if resp, got := e.stkPush(token, body); resp.StatusCode != 200 {
		e.t.Fatalf("push: HTTP %d %v", resp.StatusCode, got)
	}
}

// stkQuery queries a push of KES 1,500 to phone.
func (e *testEnv) stkQuery(token, orderRef, phone string) (*http.Response, map[string]any) {
	e.t.Helper()
	resp, raw := e.do("POST", e.stkURL("/transaction/query"), token, map[string]any{
		"amount": json.Number("1500"), "phone": phone, "outletCode": ppOutlet, "orderRef": orderRef,
	})
	return resp, decodeObject(e.t, raw)
}

// pochiBody is a valid Pochipay collection of KES 1,500.
func pochiBody(orderID, phone, callback string) map[string]any {
	return map[string]any{
		"orderId":       orderID,
		"billRefNumber": "ORD-7",
		"phoneNumber":   phone,
		"amount":        json.Number("1500"),
		"narration":     "Duka la Mama",
		"callbackUrl":   callback,
	}
}

// pochiCollect sends a collection and returns the answer.
func (e *testEnv) pochiCollect(token string, body map[string]any) (*http.Response, map[string]any) {
	e.t.Helper()
	resp, raw := e.do("POST", e.pochiURL("/collections/mpesa"), token, body)
	return resp, decodeObject(e.t, raw)
}

// pochiCollectOK sends a collection, fails unless it is accepted, and
// returns its collectionId.
func (e *testEnv) pochiCollectOK(token string, body map[string]any) string {
	e.t.Helper()
	resp, got := e.pochiCollect(token, body)
	if resp.StatusCode != 200 {
		e.t.Fatalf("collect: HTTP %d %v", resp.StatusCode, got)
	}
	return got["result"].(map[string]any)["collectionId"].(string)
}

// pochiStatus calls transaction-status.
func (e *testEnv) pochiStatus(token, collectionID string) (*http.Response, map[string]any) {
	e.t.Helper()
	resp, raw := e.do("POST", e.pochiURL("/collections/mpesa/transaction-status"), token,
		map[string]string{"collectionId": collectionID})
	return resp, decodeObject(e.t, raw)
}

// pochiQuery calls collection-query with q.
func (e *testEnv) pochiQuery(token string, q url.Values) (*http.Response, map[string]any) {
	e.t.Helper()
	resp, raw := e.do("GET", e.pochiURL("/collections/mpesa/collection-query?"+q.Encode()), token, nil)
	return resp, decodeObject(e.t, raw)
}

// getPhone requests the phone page.
func (e *testEnv) getPhone() (*http.Response, string) {
	e.t.Helper()
	req, _ := http.NewRequest("GET", e.srv.URL+PhonePath, nil)
	resp, body := e.send(req)
	return resp, string(body)
}

// postPhone submits the phone page's form.
func (e *testEnv) postPhone(form url.Values) (*http.Response, string) {
	e.t.Helper()
	req, _ := http.NewRequest("POST", e.srv.URL+PhonePath, strings.NewReader(form.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	resp, body := e.send(req)
	return resp, string(body)
}

// pressPhone presses a phone button for the prompt and fails unless the
// answer is 303 back to the phone.
func (e *testEnv) pressPhone(provider, reference, action string) {
	e.t.Helper()
	p, ok := e.sb.STKPrompt(provider, reference)
	if !ok {
		e.t.Fatalf("no %s prompt %q", provider, reference)
	}
	resp, page := e.postPhone(url.Values{"id": {p.ID}, "action": {action}})
	if resp.StatusCode != http.StatusSeeOther || resp.Header.Get("Location") != PhonePath {
		e.t.Fatalf("%s: HTTP %d Location %q, want 303 to %s\n%s", action, resp.StatusCode, resp.Header.Get("Location"), PhonePath, page)
	}
}

// jwtPayload decodes a JWT's payload.
func jwtPayload(t *testing.T, token string) map[string]any {
	t.Helper()
	parts := strings.Split(token, ".")
	if len(parts) != 3 {
		t.Fatalf("token %q is not a JWT", token)
	}
	b, err := base64.RawURLEncoding.DecodeString(parts[1])
	if err != nil {
		t.Fatalf("JWT payload: %v", err)
	}
	return decodeObject(t, b)
}

// callbackReceiver is a receiver standing in for the app's STK callback
// endpoint; nil answer acknowledges with 200 and an empty body.
func callbackReceiver(t *testing.T, answer func(n int, w http.ResponseWriter, r *http.Request)) *ipnReceiver {
	t.Helper()
	return ppReceiver(t, answer)
}

// checkCallback checks one callback request (a JSON POST to path) and
// returns its body.
func checkCallback(t *testing.T, got ipnRequest, path string) map[string]any {
	t.Helper()
	if got.Method != "POST" || got.Path != path || got.ContentType != "application/json" {
		t.Errorf("callback request = %+v, want a JSON POST to %s", got, path)
	}
	return decodeObject(t, []byte(got.Body))
}

// exactly compares a whole answer body with want, byte for byte (writeJSON
// ends it with a newline).
func exactly(t *testing.T, label string, resp *http.Response, body []byte, status int, want string) {
	t.Helper()
	if resp.StatusCode != status || string(body) != want+"\n" {
		t.Errorf("%s: HTTP %d %s\nwant HTTP %d %s", label, resp.StatusCode, body, status, want)
	}
}
