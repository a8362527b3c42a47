package pochipay

import (
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"checkout/gateway"
)

// fuzzFixtures returns the bytes of every testdata file matching pattern,
// for seeding a fuzz target with the documented and assumed examples.
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

// seedCallbackFixtures seeds FuzzParseCallback with every callback example
// and with the success callback padded past the size limit.
func seedCallbackFixtures(f *testing.F) {
	for _, b := range fuzzFixtures(f, "*-callback-*.json") {
		f.Add("application/json", b)
	}
	for _, b := range fuzzFixtures(f, "assumed-collections-callback-success.json") {
		s := strings.TrimSpace(string(b))
		f.Add("application/json", []byte(s[:len(s)-1]+`,"pad":"`+strings.Repeat("x", maxCallback)+`"}`))
	}
}

// FuzzStatusAnswer feeds the transaction-status and collection-query answer
// reader any HTTP status and body: the result is an *Error or a result in
// KES about the order asked about, and a success only from a 2xx answer
// without errors whose result says Complete, isSuccessful true and no
// failing resultCode.
func FuzzStatusAnswer(f *testing.F) {
	for _, pattern := range []string{"assumed-collections-status-*.json", "assumed-collections-query-*.json"} {
		for _, b := range fuzzFixtures(f, pattern) {
			for _, status := range []int{200, 404, 500} {
				f.Add(status, b)
			}
		}
	}
	for _, s := range []string{
		`{"result":{"status":"COMPLETE","isSuccessful":"true","resultCode":1032}}`,
		`{"result":{"status":"complete","isSuccessful":1,"amount":"1,500"}}`,
		`{"result":{"status":"Failed","isSuccessful":false,"resultCode":0}}`,
		`{"result":{"status":"Complete","isSuccessful":true},"errors":["x"]}`,
		`{"result":null,"message":"Collection not found"}`, `{"message":"Route not found"}`,
		`{"result":{"status":"weird ` + testPassword + `"}}`, `[]`, ``,
	} {
		f.Add(200, []byte(s))
		f.Add(404, []byte(s))
	}
	c, err := New(Config{BaseURL: "http://127.0.0.1:1", Email: testEmail, Password: testPassword})
	if err != nil {
		f.Fatal(err)
	}
	const (
		bearer = "pochi-bearer-token-xyz"
		order  = "pay_01"
	)
	q := gateway.Query{AttemptID: order, ProviderReference: "col_1", Amount: 150000, Currency: "KES"}
	f.Fuzz(func(t *testing.T, status int, body []byte) {
		r, err := c.statusResult("transaction status", answer{Status: status, ContentType: "application/json", Body: body, Bearer: bearer}, q, order)
		if err != nil {
			var e *Error
			if !errors.As(err, &e) {
				t.Fatalf("error %v is not an *Error", err)
			}
			for _, secret := range []string{bearer, testPassword} {
				if strings.Contains(err.Error(), secret) {
					t.Fatalf("error %q carries a credential", err)
				}
			}
			return
		}
		if r.Currency != "KES" || r.Reference == "" || r.ProviderReference != q.ProviderReference {
			t.Fatalf("result %+v is not about the collection asked about", r)
		}
		if strings.Contains(string(r.Raw), bearer) {
			t.Fatalf("raw answer carries the token: %q", r.Raw)
		}
		if r.HasAmount {
			if back, err := gateway.ParseAmount(r.Amount.String()); err != nil || back != r.Amount {
				t.Fatalf("amount %d does not re-parse: %d, %v", r.Amount, back, err)
			}
		}
		switch r.Status {
		case gateway.StatusNotFound:
			if status != 404 && (status < 200 || status > 299) {
				t.Fatalf("not found from HTTP %d", status)
			}
			return
		case gateway.StatusPending, gateway.StatusFailed:
			return
		case gateway.StatusSucceeded:
		default:
			t.Fatalf("status %q from %q", r.Status, body)
		}
		var probe struct {
			Result struct {
				Status       string     `json:"status"`
				IsSuccessful flexBool   `json:"isSuccessful"`
				ResultCode   flexString `json:"resultCode"`
			} `json:"result"`
			Errors messages `json:"errors"`
		}
		switch {
		case status < 200 || status > 299:
			t.Fatalf("success from HTTP %d", status)
		case json.Unmarshal(body, &probe) != nil:
			t.Fatalf("success from a body that is not the status answer: %q", body)
		case !strings.EqualFold(strings.TrimSpace(probe.Result.Status), statusComplete):
			t.Fatalf("success with result.status %q", probe.Result.Status)
		case !probe.Result.IsSuccessful.Set || !probe.Result.IsSuccessful.Value:
			t.Fatalf("success without isSuccessful true: %q", body)
		case probe.Result.ResultCode.Trimmed() != "" && probe.Result.ResultCode.Trimmed() != "0":
			t.Fatalf("success with resultCode %q", probe.Result.ResultCode.Trimmed())
		}
		if len(probe.Errors) > 0 {
			t.Fatalf("success with errors %q", probe.Errors)
		}
	})
}

// Found by FuzzStatusAnswer: a credential split by a byte that is not
// UTF-8 (or a control character) escaped redaction, and came out whole
// once the byte was dropped.
func TestCleanRedactsACredentialSplitByADroppedCharacter(t *testing.T) {
	c, err := New(Config{BaseURL: "http://127.0.0.1:1", Email: testEmail, Password: testPassword})
	if err != nil {
		t.Fatal(err)
	}
	const bearer = "pochi-bearer-token-xyz"
	split := func(s string) string { return s[:5] + "\xf9" + s[5:10] + "\x00" + s[10:] }
	for _, s := range []string{testPassword, testEmail, bearer} {
		body := []byte(`{"result":{"status":"` + s[:5] + "\xf9" + s[5:10] + `\u0001` + s[10:] + `"}}`)
		_, err := c.statusResult("transaction status", answer{Status: 200, Body: body, Bearer: bearer}, gateway.Query{AttemptID: "pay_01"}, "pay_01")
		if err == nil || strings.Contains(err.Error(), s) || !strings.Contains(err.Error(), "[redacted]") {
			t.Errorf("error %v: want %q redacted", err, s)
		}
		if got := c.clean(split(s), bearer); got != "[redacted]" {
			t.Errorf("clean = %q, want [redacted]", got)
		}
	}
}
