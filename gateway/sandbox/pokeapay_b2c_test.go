package sandbox

import (
	"bytes"
	"context"
	"crypto"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"errors"
	"net/http"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"checkout/gateway/internal/fixture"
)

// b2cExample reads one of the PokeaPay B2C fixtures (verbatim from the
// document).
func b2cExample(t *testing.T, name string) []byte {
	t.Helper()
	return fixture.Read(t, "../pokeapay/testdata", name)
}

// repairB2CRequest fixes exactly the one flaw of the document's example
// request as printed: the comma after mobile_number's value.
func repairB2CRequest(t *testing.T, raw []byte) []byte {
	t.Helper()
	bad := []byte(`"mobile_number":"2547XXXXXXXXXXX",` + "\n" + `}`)
	if bytes.Count(raw, bad) != 1 {
		t.Fatalf("the example no longer has its trailing comma after mobile_number:\n%s", raw)
	}
	return bytes.Replace(raw, bad, []byte(`"mobile_number":"2547XXXXXXXXXXX"`+"\n"+`}`), 1)
}

// repairB2CFailed fixes exactly the one flaw of the document's failed
// result as printed: the missing comma after reference's value.
func repairB2CFailed(t *testing.T, raw []byte) []byte {
	t.Helper()
	bad := []byte(`"reference" : "12232"` + "\n")
	if bytes.Count(raw, bad) != 1 {
		t.Fatalf("the failed example no longer lacks its comma after reference:\n%s", raw)
	}
	return bytes.Replace(raw, bad, []byte(`"reference" : "12232",`+"\n"), 1)
}

// b2cBody is the document's example (repaired) with the placeholders
// replaced: a real phone, a reference of at least 6 digits, the callback.
func b2cBody(t *testing.T, reference, phone, resultURL string) map[string]any {
	t.Helper()
	var body map[string]any
	if err := json.Unmarshal(repairB2CRequest(t, b2cExample(t, "doc-b2c-request.txt")), &body); err != nil {
		t.Fatal(err)
	}
	body["destination"].(map[string]any)["mobile_number"] = phone
	body["transfer"].(map[string]any)["reference"] = reference
	body["result_url"] = resultURL
	return body
}

// b2cSign signs the body's fields in the document's order with key.
func b2cSign(t *testing.T, key *rsa.PrivateKey, body map[string]any) string {
	t.Helper()
	tr := body["transfer"].(map[string]any)
	src := body["source"].(map[string]any)
	text := tr["amount"].(string) + tr["currency"].(string) + tr["reference"].(string) + src["account_no"].(string)
	return signText(t, key, text)
}

func signText(t *testing.T, key *rsa.PrivateKey, text string) string {
	t.Helper()
	sum := sha256.Sum256([]byte(text))
	sig, err := rsa.SignPKCS1v15(rand.Reader, key, crypto.SHA256, sum[:])
	if err != nil {
		t.Fatal(err)
	}
	return base64.StdEncoding.EncodeToString(sig)
}

// b2cURL is the send's URL.
func (e *testEnv) b2cURL() string { return e.sb.PokeaPayB2CURL() + "/remittance/momo/mpesa" }

// b2cSend sends raw with "Authorization: Bearer <token>" and the signature.
func (e *testEnv) b2cSend(token, signature string, raw []byte) (*http.Response, []byte) {
	e.t.Helper()
	req, err := http.NewRequest("POST", e.b2cURL(), bytes.NewReader(raw))
	if err != nil {
		e.t.Fatal(err)
	}
	req.Header.Set("Accept", "application/json")
	req.Header.Set("Content-Type", "application/json")
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	if signature != "" {
		req.Header.Set("signature", signature)
	}
	return e.send(req)
}

// b2cSendBody signs and sends body.
func (e *testEnv) b2cSendBody(token string, body map[string]any) (*http.Response, []byte) {
	e.t.Helper()
	raw, err := json.Marshal(body)
	if err != nil {
		e.t.Fatal(err)
	}
	return e.b2cSend(token, b2cSign(e.t, e.sb.B2CKey(), body), raw)
}

// b2cRefused checks a refusal: HTTP status, {"code": status, "success":
// false, "message": ...} with message containing want, and nothing paid.
func (e *testEnv) b2cRefused(label string, resp *http.Response, raw []byte, status int, want string) {
	e.t.Helper()
	if resp.StatusCode != status {
		e.t.Errorf("%s: HTTP %d %s, want %d", label, resp.StatusCode, raw, status)
		return
	}
	got := decodeObject(e.t, raw)
	checkJSON(e.t, label, got, map[string]any{
		"code": json.Number(strconv.Itoa(status)), "success": false, "message": matches(regexp.QuoteMeta(want)),
	})
	fixture.SameShape(e.t, label, b2cExample(e.t, "doc-b2c-response.json"), raw)
}

const hashPattern = `^[0-9a-f]{64}$`

func TestB2CKeyIsMadeOnceAnd2048Bits(t *testing.T) {
	e := newSTKEnv(t, nil)
	k := e.sb.B2CKey()
	if k == nil || k.N.BitLen() != 2048 {
		t.Fatalf("B2CKey = %v, want a 2048-bit RSA key", k)
	}
	if e.sb.B2CKey() != k {
		t.Error("B2CKey made a second key")
	}
}

func TestB2CDocumentExampleAsPrintedIsRefusedAsNotJSON(t *testing.T) {
	e := newSTKEnv(t, nil)
	token := e.stkLogin()
	raw := b2cExample(t, "doc-b2c-request.txt")
	// Signed correctly for the example's own values: only the trailing
	// comma is wrong, and a strict JSON reader (as PokeaPay's) refuses it.
	sig := signText(t, e.sb.B2CKey(), "100"+"KES"+"12232"+"XXXXX")
	resp, body := e.b2cSend(token, sig, raw)
	e.b2cRefused("example as printed", resp, body, 400, "JSON object")
	if n := len(e.sb.Payouts()); n != 0 {
		t.Errorf("%d payouts recorded, want none", n)
	}
}

func TestB2CDocumentExampleWithItsFiveDigitReferenceIsRefused(t *testing.T) {
	e := newSTKEnv(t, nil)
	token := e.stkLogin()
	// The example's own reference, "12232", breaks its own rule (a unique
	// minimum 6 digit string).
	body := b2cBody(t, "12232", stkPhone, "https://shop.example/callback/pokeapay-b2c")
	resp, raw := e.b2cSendBody(token, body)
	e.b2cRefused("5-digit reference", resp, raw, 422, `"transfer.reference" must be a string of at least 6 digits`)
}

func TestB2CDocumentExampleIsTakenPaidAndCalledBackInTheDocumentsShapes(t *testing.T) {
	rc := callbackReceiver(t, nil)
	e := newSTKEnv(t, nil)
	token := e.stkLogin()
	body := b2cBody(t, "122320", stkPhone, rc.srv.URL+"/callback/pokeapay-b2c")
	resp, raw := e.b2cSendBody(token, body)
	if resp.StatusCode != 200 {
		t.Fatalf("send: HTTP %d %s", resp.StatusCode, raw)
	}
	// The answer is the document's example response, value for value.
	checkJSON(t, "answer", decodeObject(t, raw), decodeObject(t, b2cExample(t, "doc-b2c-response.json")))

	got := checkCallback(t, rc.next(t), "/callback/pokeapay-b2c")
	gotRaw, _ := json.Marshal(got)
	fixture.SameShape(t, "success result", b2cExample(t, "doc-b2c-result-success.json"), gotRaw)
	checkJSON(t, "success result", got, map[string]any{
		"channel":            "234432",
		"reference":          "122320",
		"transaction_id":     matches(receiptPattern),
		"currency":           "KES",
		"amount":             "100",
		"fees":               "2",
		"result_code":        json.Number("0"),
		"result_description": "The service request is processed successfully.",
		"hash":               matches(hashPattern),
	})
	received := e.sb.PhoneReceived(stkPhone)
	if len(received) != 1 || received[0].Amount != 100_00 || received[0].Provider != PayoutPokeaPay ||
		received[0].Receipt != got["transaction_id"] || received[0].Name != "John Doe" {
		t.Errorf("PhoneReceived = %+v, want KES 100 from pokeapay with the callback's receipt", received)
	}
	e.sb.WaitIPNs()
	if n := e.sb.PayoutCallbacksSent(PayoutPokeaPay); n != 1 || rc.count() != 1 {
		t.Errorf("callbacks sent %d, received %d, want exactly 1", n, rc.count())
	}
}

func TestB2CSignatureVerifiesOnlyWithTheKeyAndTheDocumentsFieldOrder(t *testing.T) {
	e := newSTKEnv(t, nil)
	token := e.stkLogin()
	other, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	const ref = "987654321012"
	body := b2cBody(t, ref, stkPhone, "https://shop.example/cb")
	raw, _ := json.Marshal(body)
	key := e.sb.B2CKey()
	for _, tc := range []struct {
		name, sig, want string
	}{
		{"no signature", "", "Missing signature header"},
		{"not Base64", "+/sk8X9sxiqJujTyUF09ISpD+O4VzrbP7DU8WM3cXJqsX+zqKhA==", "Invalid signature"},
		{"another key", b2cSign(t, other, body), "Invalid signature"},
		{"another field order", signText(t, key, ref+"100"+"KES"+"XXXXX"), "Invalid signature"},
		{"another amount", signText(t, key, "1000"+"KES"+ref+"XXXXX"), "Invalid signature"},
		{"URL-safe Base64", base64.URLEncoding.EncodeToString([]byte("x")), "Invalid signature"},
	} {
		resp, got := e.b2cSend(token, tc.sig, raw)
		e.b2cRefused(tc.name, resp, got, 403, tc.want)
	}
	if n := len(e.sb.Payouts()); n != 0 {
		t.Fatalf("%d payouts recorded by refused requests, want none", n)
	}
	// The same body with the right signature is taken: the reference was
	// not used up by the refusals.
	resp, got := e.b2cSend(token, b2cSign(t, key, body), raw)
	if resp.StatusCode != 200 {
		t.Fatalf("good signature: HTTP %d %s", resp.StatusCode, got)
	}
	if _, ok := e.sb.PayoutByReference(PayoutPokeaPay, ref); !ok {
		t.Error("the signed send was not recorded")
	}
}

func TestB2CDuplicateReferenceIsRefusedAndNeverPaidTwice(t *testing.T) {
	e := newSTKEnv(t, nil)
	token := e.stkLogin()
	body := b2cBody(t, "555555", stkPhone, "https://shop.example/cb")
	if resp, raw := e.b2cSendBody(token, body); resp.StatusCode != 200 {
		t.Fatalf("first send: HTTP %d %s", resp.StatusCode, raw)
	}
	resp, raw := e.b2cSendBody(token, body)
	e.b2cRefused("same reference again", resp, raw, 409, "Duplicate reference")
	// Another phone, same reference: refused too.
	body2 := b2cBody(t, "555555", stkPhone2, "https://shop.example/cb")
	resp, raw = e.b2cSendBody(token, body2)
	e.b2cRefused("same reference, another phone", resp, raw, 409, "Duplicate reference")

	// A failed send's reference cannot be used again either.
	e.sb.PayoutNext(stkPhone2, PayoutFault{Fail: true})
	if resp, raw := e.b2cSendBody(token, b2cBody(t, "666666", stkPhone2, "https://shop.example/cb")); resp.StatusCode != 200 {
		t.Fatalf("failing send: HTTP %d %s", resp.StatusCode, raw)
	}
	resp, raw = e.b2cSendBody(token, b2cBody(t, "666666", stkPhone2, "https://shop.example/cb"))
	e.b2cRefused("a failed send's reference", resp, raw, 409, "Duplicate reference")

	if got := e.sb.PhoneReceived(stkPhone); len(got) != 1 {
		t.Errorf("phone received %d payouts, want 1", len(got))
	}
	if got := e.sb.PhoneReceived(stkPhone2); len(got) != 0 {
		t.Errorf("second phone received %+v, want nothing", got)
	}
}

func TestB2CRefusesWhatTheDocumentsTableForbids(t *testing.T) {
	e := newSTKEnv(t, func(c *Config) { c.PokeaPayB2CAccountNo = "XXXXX" })
	token := e.stkLogin()
	for _, tc := range []struct {
		name   string
		edit   func(b map[string]any)
		status int
		want   string
	}{
		{"no source", func(b map[string]any) { delete(b, "source") }, 422, `"source" is required`},
		{"empty customer code", func(b map[string]any) { b["source"].(map[string]any)["customer_code"] = "" }, 422, `"source.customer_code" is not allowed to be empty`},
		{"country", func(b map[string]any) { b["destination"].(map[string]any)["country_code"] = "UG" }, 422, `"destination.country_code"`},
		{"no name", func(b map[string]any) { delete(b["destination"].(map[string]any), "name") }, 422, `"destination.name" is required`},
		{"phone", func(b map[string]any) { b["destination"].(map[string]any)["mobile_number"] = "0712345678" }, 422, `"destination.mobile_number"`},
		{"reference not digits", func(b map[string]any) { b["transfer"].(map[string]any)["reference"] = "REF12345" }, 422, `"transfer.reference"`},
		{"currency", func(b map[string]any) { b["transfer"].(map[string]any)["currency"] = "EUR" }, 422, `"transfer.currency"`},
		{"amount as a number", func(b map[string]any) { b["transfer"].(map[string]any)["amount"] = 100 }, 422, `"transfer.amount" must be a string`},
		{"amount with cents", func(b map[string]any) { b["transfer"].(map[string]any)["amount"] = "100.50" }, 422, `whole shillings`},
		{"amount zero", func(b map[string]any) { b["transfer"].(map[string]any)["amount"] = "0" }, 422, `greater than 0`},
		{"amount above the max", func(b map[string]any) { b["transfer"].(map[string]any)["amount"] = "1300001" }, 422, `at most KES 1,300,000.00`},
		{"USD above the max", func(b map[string]any) {
			b["transfer"].(map[string]any)["currency"] = "USD"
			b["transfer"].(map[string]any)["amount"] = "10001"
		}, 422, `at most USD 10,000.00`},
		{"date", func(b map[string]any) { b["transfer"].(map[string]any)["date"] = "23/10/2020" }, 422, `"transfer.date"`},
		{"no description", func(b map[string]any) { delete(b["transfer"].(map[string]any), "description") }, 422, `"transfer.description" is required`},
		{"channel", func(b map[string]any) { b["transfer"].(map[string]any)["channel"] = "234433" }, 422, `"transfer.channel" must be [234432]`},
		{"result_url", func(b map[string]any) { b["result_url"] = "webhook.site/x" }, 422, `"result_url" must be a valid uri`},
		{"another account", func(b map[string]any) { b["source"].(map[string]any)["account_no"] = "YYYYY" }, 400, `Invalid source`},
	} {
		body := b2cBody(t, "700000", stkPhone, "https://shop.example/cb")
		tc.edit(body)
		raw, _ := json.Marshal(body)
		// Signed over whatever fields there are, so only the named problem
		// is wrong.
		sig := ""
		if tr, ok := body["transfer"].(map[string]any); ok {
			if src, ok := body["source"].(map[string]any); ok {
				amount, _ := tr["amount"].(string)
				sig = signText(t, e.sb.B2CKey(), amount+tr["currency"].(string)+tr["reference"].(string)+src["account_no"].(string))
			}
		}
		resp, got := e.b2cSend(token, sig, raw)
		e.b2cRefused(tc.name, resp, got, tc.status, tc.want)
	}
	if n := len(e.sb.Payouts()); n != 0 {
		t.Errorf("%d payouts recorded, want none", n)
	}
	// The channel as a JSON number (the table says numeric) is taken.
	body := b2cBody(t, "700001", stkPhone, "https://shop.example/cb")
	body["transfer"].(map[string]any)["channel"] = 234432
	if resp, raw := e.b2cSendBody(token, body); resp.StatusCode != 200 {
		t.Errorf("numeric channel: HTTP %d %s", resp.StatusCode, raw)
	}
}

func TestB2CNeedsABearerTokenFromPokeaPaysLogin(t *testing.T) {
	e := newSTKEnv(t, nil)
	body := b2cBody(t, "800000", stkPhone, "https://shop.example/cb")
	raw, _ := json.Marshal(body)
	sig := b2cSign(t, e.sb.B2CKey(), body)
	resp, got := e.b2cSend("", sig, raw)
	e.b2cRefused("no token", resp, got, 401, "Unauthorized")
	resp, got = e.b2cSend(e.pochiToken(), sig, raw)
	e.b2cRefused("a Pochipay token", resp, got, 401, "Unauthorized")
	// The bare token (the STK API's form) is not the B2C example's.
	req, _ := http.NewRequest("POST", e.b2cURL(), bytes.NewReader(raw))
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Authorization", e.stkLogin())
	req.Header.Set("signature", sig)
	resp, got = e.send(req)
	e.b2cRefused("bare token", resp, got, 401, "Unauthorized")
	if n := len(e.sb.Payouts()); n != 0 {
		t.Errorf("%d payouts recorded, want none", n)
	}
}

func TestB2CFailureIsCalledBackAsValidJSONInTheDocumentsShape(t *testing.T) {
	rc := callbackReceiver(t, nil)
	e := newSTKEnv(t, nil)
	e.sb.PayoutNext(stkPhone, PayoutFault{Fail: true})
	resp, raw := e.b2cSendBody(e.stkLogin(), b2cBody(t, "900000", stkPhone, rc.srv.URL+"/cb"))
	if resp.StatusCode != 200 {
		t.Fatalf("send: HTTP %d %s (a failure is known only from the result)", resp.StatusCode, raw)
	}
	req := rc.next(t)
	got := checkCallback(t, req, "/cb")
	fixture.SameShape(t, "failed result", repairB2CFailed(t, b2cExample(t, "doc-b2c-result-failed.txt")), []byte(req.Body))
	checkJSON(t, "failed result", got, map[string]any{
		"channel":            "234432",
		"result_code":        json.Number("1032"),
		"reference":          "900000",
		"result_description": "Bad Request - Invalid Account number",
		"hash":               matches(hashPattern),
	})
	if r := e.sb.PhoneReceived(stkPhone); len(r) != 0 {
		t.Errorf("a failed send reached the phone: %+v", r)
	}
	// The fault was for one send only.
	if resp, raw := e.b2cSendBody(e.stkLogin(), b2cBody(t, "900001", stkPhone, rc.srv.URL+"/cb")); resp.StatusCode != 200 {
		t.Fatalf("second send: HTTP %d %s", resp.StatusCode, raw)
	}
	if r := e.sb.PhoneReceived(stkPhone); len(r) != 1 {
		t.Errorf("the next send did not pay: %+v", r)
	}
}

func TestB2CCallbackIsSentTwiceWhenAskedAndNotAtAllWhenAsked(t *testing.T) {
	rc := callbackReceiver(t, nil)
	e := newSTKEnv(t, nil)
	token := e.stkLogin()
	e.sb.PayoutNext(stkPhone, PayoutFault{TwiceCallback: true})
	if resp, raw := e.b2cSendBody(token, b2cBody(t, "110000", stkPhone, rc.srv.URL+"/cb")); resp.StatusCode != 200 {
		t.Fatalf("send: HTTP %d %s", resp.StatusCode, raw)
	}
	first, second := rc.next(t), rc.next(t)
	if first.Body != second.Body {
		t.Errorf("the two callbacks differ:\n%s\n%s", first.Body, second.Body)
	}
	e.sb.PayoutNext(stkPhone2, PayoutFault{NoCallback: true})
	if resp, raw := e.b2cSendBody(token, b2cBody(t, "110001", stkPhone2, rc.srv.URL+"/cb")); resp.StatusCode != 200 {
		t.Fatalf("send: HTTP %d %s", resp.StatusCode, raw)
	}
	e.sb.WaitIPNs()
	if rc.count() != 2 {
		t.Errorf("callbacks received %d, want 2 (twice for the first, none for the second)", rc.count())
	}
	if r := e.sb.PhoneReceived(stkPhone2); len(r) != 1 {
		t.Errorf("the send without callback was not paid: %+v", r)
	}
	// SendPayoutCallback sends it by hand.
	if err := e.sb.SendPayoutCallback(PayoutPokeaPay, "110001"); err != nil {
		t.Fatal(err)
	}
	if got := checkCallback(t, rc.next(t), "/cb"); got["reference"] != "110001" {
		t.Errorf("callback by hand = %v", got)
	}
}

func TestB2CLateAnswerTimesTheClientOutButTheMoneyIsSent(t *testing.T) {
	rc := callbackReceiver(t, nil)
	e := newSTKEnv(t, nil)
	token := e.stkLogin()
	e.sb.PayoutNext(stkPhone, PayoutFault{Late: true})
	body := b2cBody(t, "120000", stkPhone, rc.srv.URL+"/cb")
	raw, _ := json.Marshal(body)
	req, _ := http.NewRequest("POST", e.b2cURL(), bytes.NewReader(raw))
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Authorization", "Bearer "+token)
	req.Header.Set("signature", b2cSign(t, e.sb.B2CKey(), body))
	client := &http.Client{Timeout: 300 * time.Millisecond}
	resp, err := client.Do(req)
	if err == nil {
		resp.Body.Close()
		t.Fatalf("the late answer came in time: HTTP %d", resp.StatusCode)
	}
	if !errors.Is(err, context.DeadlineExceeded) && !strings.Contains(err.Error(), "Timeout") {
		t.Fatalf("err = %v, want the client's timeout", err)
	}
	// Taken and paid, and its result still posted (after the answer).
	got := checkCallback(t, rc.next(t), "/cb")
	if got["result_code"] != json.Number("0") || got["reference"] != "120000" {
		t.Errorf("callback = %v, want a success for 120000", got)
	}
	p, ok := e.sb.PayoutByReference(PayoutPokeaPay, "120000")
	if !ok || p.Status != PayoutCompleted || !p.Late {
		t.Errorf("payout = %+v, want completed and late", p)
	}
	// Sending it again is refused: it was taken.
	resp2, raw2 := e.b2cSendBody(token, body)
	e.b2cRefused("resend after a timeout", resp2, raw2, 409, "Duplicate reference")
}

func TestB2CConcurrentSendsOfOneReferencePayOnce(t *testing.T) {
	e := newSTKEnv(t, nil)
	token := e.stkLogin()
	body := b2cBody(t, "140000", stkPhone, "https://shop.example/cb")
	raw, _ := json.Marshal(body)
	sig := b2cSign(t, e.sb.B2CKey(), body)
	const n = 8
	statuses := make(chan int, n)
	var wg sync.WaitGroup
	for range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			req, _ := http.NewRequest("POST", e.b2cURL(), bytes.NewReader(raw))
			req.Header.Set("Content-Type", "application/json")
			req.Header.Set("Authorization", "Bearer "+token)
			req.Header.Set("signature", sig)
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				statuses <- 0
				return
			}
			resp.Body.Close()
			statuses <- resp.StatusCode
		}()
	}
	wg.Wait()
	close(statuses)
	count := map[int]int{}
	for s := range statuses {
		count[s]++
	}
	if count[200] != 1 || count[409] != n-1 {
		t.Errorf("answers %v, want one 200 and %d 409", count, n-1)
	}
	if r := e.sb.PhoneReceived(stkPhone); len(r) != 1 {
		t.Errorf("phone received %d payouts, want 1", len(r))
	}
}
