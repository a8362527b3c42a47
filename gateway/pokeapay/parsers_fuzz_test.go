package pokeapay

import (
	"encoding/json"
	"errors"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"unicode/utf8"

	"checkout/gateway"
)

// fuzzFixtures returns the bytes of every testdata file matching pattern,
// for seeding a fuzz target with the document's examples.
func fuzzFixtures(f *testing.F, pattern string) [][]byte {
	f.Helper()
	names, err := filepath.Glob(filepath.Join("testdata", pattern))
	if err != nil || len(names) == 0 {
		f.Fatalf("no fixture matches %s (%v)", pattern, err)
	}
	var out [][]byte
	for _, n := range names {
		b, err := os.ReadFile(n)
		if err != nil {
			f.Fatal(err)
		}
		out = append(out, b)
	}
	return out
}

// padJSON returns the JSON object b with a "pad" member that takes it past
// size bytes.
func padJSON(b []byte, size int) []byte {
	s := strings.TrimSpace(string(b))
	return []byte(s[:len(s)-1] + `,"pad":"` + strings.Repeat("x", size) + `"}`)
}

// seedIPNFixtures seeds FuzzParseIPN with the document's IPN, as JSON and
// without a content type, and with the IPN padded past the size limit.
func seedIPNFixtures(f *testing.F) {
	for _, b := range fuzzFixtures(f, "doc-ipn.json") {
		f.Add("application/json", b)
		f.Add("", b)
		f.Add("application/json", padJSON(b, maxIPNBody))
	}
}

// seedSTKCallbackFixtures seeds FuzzParseSTKCallback with every callback
// body in the document (and our answers to them), and with the success
// callback padded past the size limit.
func seedSTKCallbackFixtures(f *testing.F) {
	for _, b := range fuzzFixtures(f, "doc-stk-callback-*.json") {
		f.Add(b)
	}
	for _, b := range fuzzFixtures(f, "doc-stk-callback-success.json") {
		f.Add(padJSON(b, maxCallbackBody))
	}
}

// FuzzParseReturn reads any query as the return URL: ParseReturn gives an
// error wrapping ErrInvalidReturn or a return with an oref and short,
// trimmed, printable values that reads back the same from its own query;
// VerifyReturn passes exactly when hsh is the HMAC of oref and the outlet
// code.
func FuzzParseReturn(f *testing.F) {
	for _, q := range fuzzFixtures(f, "doc-return-*.query") {
		f.Add(strings.TrimSpace(string(q)))
	}
	good := ReturnHash(testKey, "pay_1", testOC)
	for _, q := range []string{
		"oref=pay_1&hsh=" + good + "&type=m&amount=100&status=1",
		"oref=pay_1&hsh=" + strings.ToUpper(good),
		"oref=pay_1&status=1&sstatus=0", "OREF=a&oref=a", "oref=%00", "oref=" + strings.Repeat("a", 101),
		"hsh=x", "oref=+a+&hsh=", "oref=a;b",
	} {
		f.Add(q)
	}
	c, err := New(Config{CheckoutURL: "https://pay.pokeapay.com/", OutletCode: testOC, HashKey: testKey})
	if err != nil {
		f.Fatal(err)
	}
	f.Fuzz(func(t *testing.T, rawQuery string) {
		q, _ := url.ParseQuery(rawQuery) // a partly broken query still yields values, as in net/http
		r, err := c.ParseReturn(q)
		if err != nil {
			if !errors.Is(err, ErrInvalidReturn) || r != (Return{}) {
				t.Fatalf("ParseReturn = %+v, %v", r, err)
			}
			return
		}
		if r.OrderRef == "" {
			t.Fatalf("return %+v without an oref", r)
		}
		for _, s := range []string{r.OrderRef, r.Hash, r.Type, r.Amount, r.Status} {
			if !printable(s) || s != strings.TrimSpace(s) || utf8.RuneCountInString(s) > maxReturnValue {
				t.Fatalf("value %q is not short, trimmed and printable", s)
			}
		}
		again, err := c.ParseReturn(url.Values{"oref": {r.OrderRef}, "hsh": {r.Hash}, "type": {r.Type}, "amount": {r.Amount}, "status": {r.Status}})
		if err != nil || again != r {
			t.Fatalf("return %+v reads back as %+v, %v", r, again, err)
		}
		want := ReturnHash(testKey, r.OrderRef, testOC)
		err = c.VerifyReturn(r)
		if (err == nil) != (r.Hash == want) {
			t.Fatalf("VerifyReturn(%+v) = %v; the right hash is %s", r, err, want)
		}
		if err != nil && !errors.Is(err, ErrBadHash) {
			t.Fatalf("VerifyReturn error %v does not wrap ErrBadHash", err)
		}
		r.Hash = want
		if err := c.VerifyReturn(r); err != nil {
			t.Fatalf("VerifyReturn refuses the right hash: %v", err)
		}
	})
}

// FuzzVerificationAnswer feeds the payment verification's answer reader any
// HTTP status and body: the result is an *Error or one of the three
// documented values, about the order asked about, and a success only from a
// 2xx answer whose status is the documented success value.
func FuzzVerificationAnswer(f *testing.F) {
	for _, b := range fuzzFixtures(f, "assumed-verify-*.json") {
		f.Add(200, b)
		f.Add(500, b)
	}
	for _, s := range []string{
		StatusValueSuccess, `"` + StatusValueSuccess + `"`, strings.ToUpper(StatusValueSuccess),
		`{"status":"` + StatusValueSuccess + `","oref":"950"}`,
		`{"status":"` + StatusValueSuccess + `","amount":"1,500"}`,
		`{"status":"` + StatusValueSuccess + `","amount":10.001,"referenceno":"` + testKey + `"}`,
		`{"status":"unknown ` + testKey + `"}`, `<html>` + testKey, ``, `{}`, `null`,
	} {
		f.Add(200, []byte(s))
	}
	c, err := New(Config{CheckoutURL: "https://pay.pokeapay.com/", OutletCode: testOC, HashKey: testKey})
	if err != nil {
		f.Fatal(err)
	}
	const billRef = "949"
	f.Fuzz(func(t *testing.T, status int, body []byte) {
		v, err := c.readVerification("verify payment", billRef, answer{Status: status, ContentType: "application/json", Body: body})
		if err != nil {
			var e *Error
			if !errors.As(err, &e) {
				t.Fatalf("error %v is not an *Error", err)
			}
			if strings.Contains(err.Error(), testKey) {
				t.Fatalf("error %q carries the hash key", err)
			}
			return
		}
		if _, ok := statusValues[v.Status]; !ok {
			t.Fatalf("status %q is none of the documented values", v.Status)
		}
		if v.OrderRef != billRef {
			t.Fatalf("verification about %q, asked about %q", v.OrderRef, billRef)
		}
		if strings.Contains(string(v.Raw), testKey) || strings.Contains(v.Receipt, testKey) {
			t.Fatalf("verification %+v carries the hash key", v)
		}
		if v.HasAmount {
			if back, err := gateway.ParseAmount(v.Amount.String()); err != nil || back != v.Amount || v.Amount < 0 {
				t.Fatalf("amount %d does not re-parse: %d, %v", v.Amount, back, err)
			}
		}
		if v.GatewayStatus() != gateway.StatusSucceeded {
			return
		}
		// The document's success, read independently: the success value,
		// alone, as a JSON string, or as the object's "status".
		said := strings.TrimSpace(string(body))
		var s string
		var obj struct {
			Status json.RawMessage `json:"status"`
		}
		if json.Unmarshal(body, &s) == nil {
			said = s
		} else if json.Unmarshal(body, &obj) == nil && json.Unmarshal(obj.Status, &s) == nil {
			said = s
		}
		if status < 200 || status > 299 || !strings.EqualFold(strings.TrimSpace(said), StatusValueSuccess) {
			t.Fatalf("success from HTTP %d %q", status, body)
		}
	})
}

// FuzzSTKQueryAnswer feeds the STK transaction query's answer reader any
// HTTP status, body and reference asked about: the result is an *Error or
// a result about that reference, and a success only from a 2xx answer with
// "success" true, a receipt, no other orderRef and no failing resultCode.
func FuzzSTKQueryAnswer(f *testing.F) {
	for _, b := range fuzzFixtures(f, "*stk-query-*.json") {
		for _, status := range []int{200, 400, 404, 422, 500} {
			f.Add(status, b, "some_order")
		}
	}
	for _, b := range fuzzFixtures(f, "doc-stk-callback-*.json") {
		f.Add(200, b, "some_order")
	}
	for _, s := range []string{
		`{"success":"1","data":{"receipt":"R1","orderRef":"some_order","amount":"1.001"}}`,
		`{"success":true,"data":{"receipt":"R1","resultCode":"1032"}}`,
		`{"success":false,"error":"Route not found"}`, `{"success":false,"message":"x","data":{"orderRef":"some_order","resultCode":0}}`,
		`{"success":true}`, `[]`, ``,
	} {
		f.Add(200, []byte(s), "some_order")
	}
	c, err := NewSTK(STKConfig{APIURL: "http://127.0.0.1:1/api/v1", Email: stkTestEmail, Password: stkTestPassword, OutletCode: stkTestOutlet})
	if err != nil {
		f.Fatal(err)
	}
	const bearer = "stk-bearer-token-xyz"
	f.Fuzz(func(t *testing.T, status int, body []byte, ref string) {
		r, err := c.queryResult("transaction query", stkAnswer{Status: status, ContentType: "application/json", Body: body, Bearer: bearer}, ref)
		if err != nil {
			var e *Error
			if !errors.As(err, &e) {
				t.Fatalf("error %v is not an *Error", err)
			}
			for _, secret := range []string{bearer, stkTestPassword} {
				if strings.Contains(err.Error(), secret) {
					t.Fatalf("error %q carries a credential", err)
				}
			}
			return
		}
		if r.Reference != ref || r.ProviderReference != ref || r.Currency != CurrencyKES {
			t.Fatalf("result %+v is not about %q in KES", r, ref)
		}
		if strings.Contains(string(r.Raw), bearer) {
			t.Fatalf("raw answer carries the token: %q", r.Raw)
		}
		switch r.Status {
		case gateway.StatusPending, gateway.StatusFailed, gateway.StatusNotFound:
			if r.Status == gateway.StatusFailed && r.Code == "0" {
				t.Fatalf("a failure with result code 0: %q", body)
			}
			return
		case gateway.StatusSucceeded:
		default:
			t.Fatalf("status %q from %q", r.Status, body)
		}
		env, err := readEnvelope(body)
		var d stkCallbackData
		decodeData(env.Data, &d)
		switch {
		case status < 200 || status > 299:
			t.Fatalf("success from HTTP %d", status)
		case err != nil || !env.Success.isTrue():
			t.Fatalf("success from a body without success true: %q", body)
		case r.Receipt == "" || d.Receipt.Trimmed() == "":
			t.Fatalf("success without a receipt: %q", body)
		case d.OrderRef.Trimmed() != "" && d.OrderRef.Trimmed() != ref:
			t.Fatalf("success about orderRef %q, asked %q", d.OrderRef.Trimmed(), ref)
		case d.ResultCode.Trimmed() != "" && d.ResultCode.Trimmed() != "0":
			t.Fatalf("success with resultCode %q", d.ResultCode.Trimmed())
		}
		if r.HasAmount {
			if back, err := gateway.ParseAmount(r.Amount.String()); err != nil || back != r.Amount {
				t.Fatalf("amount %d does not re-parse: %d, %v", r.Amount, back, err)
			}
		}
	})
}

// A credential split by a byte that is not UTF-8 (or a control character)
// escaped redaction and came out whole once the byte was dropped (found by
// FuzzStatusAnswer in the Pochipay client, which cleans text the same way).
func TestCleanRedactsACredentialSplitByADroppedCharacter(t *testing.T) {
	split := func(s string) string { return s[:5] + "\xf9" + s[5:10] + "\x00" + s[10:] }
	c, err := New(Config{CheckoutURL: "https://pay.pokeapay.com/", OutletCode: testOC, HashKey: testKey})
	if err != nil {
		t.Fatal(err)
	}
	if got := c.clean(split(testKey)); got != "[redacted]" {
		t.Errorf("Client.clean = %q, want [redacted]", got)
	}
	s, err := NewSTK(STKConfig{APIURL: "http://127.0.0.1:1/api/v1", Email: stkTestEmail, Password: stkTestPassword, OutletCode: stkTestOutlet})
	if err != nil {
		t.Fatal(err)
	}
	const bearer = "stk-bearer-token-xyz"
	for _, secret := range []string{stkTestPassword, stkTestEmail, bearer} {
		if got := s.clean(split(secret), bearer); got != "[redacted]" {
			t.Errorf("STKClient.clean(%q) = %q, want [redacted]", split(secret), got)
		}
	}
}
