package pokeapay

import (
	"context"
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"encoding/pem"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"checkout/gateway"
)

// b2cTestKey is one 2048-bit key for every B2C test (generating one per
// test would cost seconds under -race).
var b2cTestKey = sync.OnceValue(func() *rsa.PrivateKey {
	k, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		panic(err)
	}
	return k
})

// b2cSeen is one B2C request the fake received.
type b2cSeen struct {
	Authorization, Signature, ContentType, Accept string
	Body                                          string
	SignatureOK                                   bool
}

// b2cFake stands in for PokeaPay: the REST API's /api/v1/login (the
// document's login answer) and the B2C API's /b2c/remittance/momo/mpesa,
// which takes only "Bearer <token>" of a token it issued and checks the
// signature with the public key.
type b2cFake struct {
	t      *testing.T
	srv    *httptest.Server
	mu     sync.Mutex
	logins []string
	issued map[string]bool
	seen   []b2cSeen
	// login answers the login when set.
	login http.HandlerFunc
	// answer answers an authorised B2C request.
	answer http.HandlerFunc
	// rejectFirst answers 401 to the first B2C request.
	rejectFirst bool
}

func newB2CFake(t *testing.T) *b2cFake {
	f := &b2cFake{t: t, issued: map[string]bool{},
		answer: stkJSON(http.StatusOK, string(doc(t, "doc-b2c-response.json")))}
	f.srv = httptest.NewServer(http.HandlerFunc(f.serve))
	t.Cleanup(f.srv.Close)
	return f
}

func (f *b2cFake) serve(w http.ResponseWriter, r *http.Request) {
	body, _ := io.ReadAll(r.Body)
	f.mu.Lock()
	switch r.URL.Path {
	case "/api/v1/login":
		f.logins = append(f.logins, string(body))
		h := f.login
		tok := ""
		if h == nil {
			tok = makeJWT(map[string]any{"n": len(f.logins), "exp": time.Now().Add(time.Hour).Unix()})
			f.issued[tok] = true
			h = stkJSON(http.StatusOK, `{"success":true,"message":"Login successful","data":{"token":"`+tok+`"}}`)
		}
		f.mu.Unlock()
		h(w, r)
		return
	case "/b2c" + B2CPath:
		s := b2cSeen{Authorization: r.Header.Get("Authorization"), Signature: r.Header.Get("signature"),
			ContentType: r.Header.Get("Content-Type"), Accept: r.Header.Get("Accept"), Body: string(body)}
		var req B2CRequest
		if sig, err := base64.StdEncoding.DecodeString(s.Signature); err == nil && json.Unmarshal(body, &req) == nil {
			sum := sha256.Sum256([]byte(B2CSigningString(req)))
			s.SignatureOK = rsa.VerifyPKCS1v15(&b2cTestKey().PublicKey, crypto.SHA256, sum[:], sig) == nil
		}
		f.seen = append(f.seen, s)
		tok, _ := strings.CutPrefix(s.Authorization, "Bearer ")
		reject := !f.issued[tok] || (f.rejectFirst && len(f.seen) == 1)
		h := f.answer
		f.mu.Unlock()
		if reject {
			stkJSON(http.StatusUnauthorized, `{"success":false,"error":"Unauthorized"}`)(w, r)
			return
		}
		h(w, r)
		return
	}
	f.mu.Unlock()
	http.NotFound(w, r)
}

func (f *b2cFake) requests() []b2cSeen {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]b2cSeen(nil), f.seen...)
}

func (f *b2cFake) loginBodies() []string {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]string(nil), f.logins...)
}

// client is a B2C for this fake; now is the clock (the document's example
// date, late in the evening UTC, when nil).
func (f *b2cFake) client(mods ...func(*B2CConfig)) *B2C {
	f.t.Helper()
	cfg := B2CConfig{
		URL:          f.srv.URL + "/b2c",
		APIURL:       f.srv.URL + "/api/v1",
		CustomerCode: "XXXXXXXX",
		AccountNo:    "XXXXX",
		Key:          b2cTestKey(),
		Email:        stkTestEmail,
		Password:     stkTestPassword,
		HTTPClient:   &http.Client{Transport: &http.Transport{DisableKeepAlives: true}},
		Timeout:      5 * time.Second,
		// 22:30 UTC on 22 October is 01:30 on 23 October in Nairobi.
		Now: func() time.Time { return time.Date(2020, 10, 22, 22, 30, 0, 0, time.UTC) },
	}
	for _, m := range mods {
		m(&cfg)
	}
	c, err := NewB2C(cfg)
	if err != nil {
		f.t.Fatalf("NewB2C: %v", err)
	}
	return c
}

// docPayout is the document's example request as a payout (the reference
// made 6 digits: the example's "12232" is shorter than its own rule).
func docPayout() gateway.PayoutRequest {
	return gateway.PayoutRequest{Reference: "122320", Phone: "254712345678", Name: "John Doe", Amount: 10000,
		Currency: "KES", Description: "Dividend remitting",
		CallbackURL: "https://webhook.site/dd12b3f6-5e5b-452e-96ee-63fac3c0e73e"}
}

func TestB2CSendWritesTheDocumentedRequestSigned(t *testing.T) {
	f := newB2CFake(t)
	c := f.client()
	started, err := c.Send(context.Background(), docPayout())
	if err != nil {
		t.Fatalf("Send: %v", err)
	}
	if string(started.Raw) != string(doc(t, "doc-b2c-response.json")) || started.ProviderReference != "" {
		t.Errorf("started = %q, raw %s", started.ProviderReference, started.Raw)
	}
	reqs := f.requests()
	if len(reqs) != 1 {
		t.Fatalf("%d B2C requests, want 1", len(reqs))
	}
	r := reqs[0]
	if !strings.HasPrefix(r.Authorization, "Bearer ey") || r.ContentType != "application/json" || r.Accept != "application/json" {
		t.Errorf("headers: Authorization %q, Content-Type %q, Accept %q", r.Authorization, r.ContentType, r.Accept)
	}
	// Every header of the document's example is sent.
	sent := map[string]string{"Accept": r.Accept, "Content-Type": r.ContentType, "signature": r.Signature,
		"Authorization": r.Authorization}
	for _, line := range strings.Split(strings.TrimSpace(string(doc(t, "doc-b2c-request-headers.txt"))), "\n") {
		h := strings.TrimSuffix(strings.TrimPrefix(line, "--header '"), "'")
		name, value, ok := strings.Cut(h, ": ")
		if !ok {
			t.Fatalf("header line %q is not --header 'Name: value'", line)
		}
		got, known := sent[name]
		switch {
		case !known || got == "":
			t.Errorf("header %s of the example is not sent", name)
		case name == "Accept" || name == "Content-Type":
			if got != value {
				t.Errorf("%s = %q, the example sends %q", name, got, value)
			}
		case name == "Authorization":
			if !strings.HasPrefix(value, "Bearer ") || !strings.HasPrefix(got, "Bearer ") {
				t.Errorf("Authorization = %q; the example's form is %q", got, value)
			}
		}
	}
	// The signature verifies with the public key over SHA-256 of
	// transfer.amount . transfer.currency . transfer.reference .
	// source.account_no.
	sig, err := base64.StdEncoding.DecodeString(r.Signature)
	if err != nil {
		t.Fatalf("signature is not Base64: %v", err)
	}
	sum := sha256.Sum256([]byte("100KES122320XXXXX"))
	if err := rsa.VerifyPKCS1v15(&b2cTestKey().PublicKey, crypto.SHA256, sum[:], sig); err != nil {
		t.Errorf("signature does not verify over the documented field order: %v", err)
	}
	// The body has the example's shape and, but for the reference and the
	// phone, its values; the date is Nairobi's.
	example := repairB2C(t, "doc-b2c-request.txt")
	if d := sameShapeBytes(t, example, []byte(r.Body)); len(d) != 0 {
		t.Errorf("body differs from the example: %v", d)
	}
	var got, want B2CRequest
	decodeStrict(t, []byte(r.Body), &got)
	decodeStrict(t, example, &want)
	want.Transfer.Reference, want.Destination.MobileNumber = "122320", "254712345678"
	if got != want {
		t.Errorf("body = %+v\nwant   %+v", got, want)
	}
	// The login is the REST API's, with the STK client's body.
	if l := f.loginBodies(); len(l) != 1 || !strings.Contains(l[0], `"email":"`+stkTestEmail+`"`) {
		t.Errorf("logins = %q", l)
	}
}

func TestB2CSendWithoutNameSendsThePlaceholderAndDefaultDescription(t *testing.T) {
	f := newB2CFake(t)
	r := docPayout()
	r.Name, r.Description = "", ""
	if _, err := f.client().Send(context.Background(), r); err != nil {
		t.Fatal(err)
	}
	var got B2CRequest
	decodeStrict(t, []byte(f.requests()[0].Body), &got)
	if got.Destination.Name != b2cNamePlaceholder || got.Transfer.Description != "Payout 122320" {
		t.Errorf("name %q, description %q", got.Destination.Name, got.Transfer.Description)
	}
}

func TestB2CSendLogsInAgainOnceAfterA401(t *testing.T) {
	f := newB2CFake(t)
	f.rejectFirst = true
	if _, err := f.client().Send(context.Background(), docPayout()); err != nil {
		t.Fatalf("Send: %v", err)
	}
	if n, l := len(f.requests()), len(f.loginBodies()); n != 2 || l != 2 {
		t.Errorf("%d sends and %d logins, want 2 and 2", n, l)
	}
}

func TestB2CSendClearRefusalsAreNotStarted(t *testing.T) {
	for _, tt := range []struct {
		name string
		h    http.HandlerFunc
		want string
	}{
		{"400 with message", stkJSON(http.StatusBadRequest, `{"code":400,"success":false,"message":"Invalid account"}`), "Invalid account"},
		{"200 success false", stkJSON(http.StatusOK, `{"code":1,"success":false,"message":"Insufficient balance"}`), "Insufficient balance"},
		{"422 html", text(http.StatusUnprocessableEntity, "text/html", "<p>no</p>"), "Unprocessable"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			f := newB2CFake(t)
			f.answer = tt.h
			_, err := f.client().Send(context.Background(), docPayout())
			if !errors.Is(err, gateway.ErrNotStarted) || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("error %v: want ErrNotStarted saying %q", err, tt.want)
			}
		})
	}
}

func TestB2CSendWhoseLoginFailsSendsNothing(t *testing.T) {
	f := newB2CFake(t)
	f.login = stkJSON(http.StatusBadRequest, string(doc(t, "doc-login-error.json")))
	_, err := f.client().Send(context.Background(), docPayout())
	if !errors.Is(err, gateway.ErrNotStarted) {
		t.Fatalf("error %v does not wrap ErrNotStarted", err)
	}
	if len(f.requests()) != 0 {
		t.Error("a B2C request was sent without a token")
	}
	if strings.Contains(err.Error(), stkTestPassword) || strings.Contains(err.Error(), stkTestEmail) {
		t.Errorf("error shows a credential: %v", err)
	}
}

func TestB2CSendThatMayHaveBeenSentIsAPlainErrorAndNotRetried(t *testing.T) {
	for _, tt := range []struct {
		name string
		h    http.HandlerFunc
	}{
		{"500", stkJSON(http.StatusInternalServerError, `{"success":false,"message":"oops"}`)},
		{"502 html", text(http.StatusBadGateway, "text/html", "<p>bad gateway</p>")},
		// A 408, 409, 425 or 429 may come after the request was forwarded.
		{"408", stkJSON(http.StatusRequestTimeout, `{"success":false,"message":"Request timeout"}`)},
		{"409", stkJSON(http.StatusConflict, `{"success":false,"message":"Duplicate reference"}`)},
		{"425", text(http.StatusTooEarly, "text/plain", "too early")},
		{"429", stkJSON(http.StatusTooManyRequests, `{"success":false,"message":"Too many requests"}`)},
		{"200 not JSON", text(http.StatusOK, "text/html", "<p>ok</p>")},
		{"200 success without code", stkJSON(http.StatusOK, `{"success":true}`)},
		{"200 code 0 without success", stkJSON(http.StatusOK, `{"code":0,"message":"submitted"}`)},
		{"200 success false without reason", stkJSON(http.StatusOK, `{"code":1,"success":false}`)},
		{"dropped", func(w http.ResponseWriter, r *http.Request) { panic(http.ErrAbortHandler) }},
		{"timeout", func(w http.ResponseWriter, r *http.Request) { <-r.Context().Done() }},
	} {
		t.Run(tt.name, func(t *testing.T) {
			f := newB2CFake(t)
			f.answer = tt.h
			c := f.client(func(cfg *B2CConfig) { cfg.Timeout = 300 * time.Millisecond })
			_, err := c.Send(context.Background(), docPayout())
			if err == nil || errors.Is(err, gateway.ErrNotStarted) {
				t.Fatalf("error %v: want one that leaves the payout possibly sent", err)
			}
			if n := len(f.requests()); n != 1 {
				t.Errorf("%d sends, want exactly 1", n)
			}
		})
	}
}

func TestB2CSendRefusedBeforeSending(t *testing.T) {
	for _, tt := range []struct {
		name string
		mod  func(*gateway.PayoutRequest)
	}{
		{"five-digit reference", func(r *gateway.PayoutRequest) { r.Reference = "12232" }},
		{"reference with letters", func(r *gateway.PayoutRequest) { r.Reference = "po_1234567" }},
		{"cents", func(r *gateway.PayoutRequest) { r.Amount = 10050 }},
		{"zero", func(r *gateway.PayoutRequest) { r.Amount = 0 }},
		{"bad phone", func(r *gateway.PayoutRequest) { r.Phone = "0712345678" }},
		{"USD", func(r *gateway.PayoutRequest) { r.Currency = "USD" }},
		{"no callback", func(r *gateway.PayoutRequest) { r.CallbackURL = "" }},
		{"name with a control character", func(r *gateway.PayoutRequest) { r.Name = "A\x00" }},
	} {
		t.Run(tt.name, func(t *testing.T) {
			f := newB2CFake(t)
			r := docPayout()
			tt.mod(&r)
			_, err := f.client().Send(context.Background(), r)
			if !errors.Is(err, gateway.ErrNotStarted) || !errors.Is(err, ErrInvalidRequest) {
				t.Fatalf("error %v: want ErrNotStarted and ErrInvalidRequest", err)
			}
			if len(f.loginBodies()) != 0 || len(f.requests()) != 0 {
				t.Error("something was sent")
			}
		})
	}
}

func TestB2CHasNoStatusCall(t *testing.T) {
	f := newB2CFake(t)
	c := f.client()
	if _, err := c.Status(context.Background(), "122320"); !errors.Is(err, gateway.ErrNoStatusCall) {
		t.Fatalf("Status error %v does not wrap ErrNoStatusCall", err)
	}
	if c.Name() != "pokeapay" {
		t.Errorf("Name = %q", c.Name())
	}
	if len(f.requests())+len(f.loginBodies()) != 0 {
		t.Error("Status made a call")
	}
}

func TestNewB2CNamesTheMissingField(t *testing.T) {
	small, err := rsa.GenerateKey(rand.Reader, 1024)
	if err != nil {
		t.Fatal(err)
	}
	for want, mod := range map[string]func(*B2CConfig){
		"B2CConfig.URL is required":          func(c *B2CConfig) { c.URL = "" },
		"B2CConfig.URL must be":              func(c *B2CConfig) { c.URL = "ftp://x" },
		"B2CConfig.APIURL must be":           func(c *B2CConfig) { c.APIURL = "nope" },
		"B2CConfig.CustomerCode is required": func(c *B2CConfig) { c.CustomerCode = "" },
		"B2CConfig.AccountNo is required":    func(c *B2CConfig) { c.AccountNo = " " },
		"B2CConfig.Key is required":          func(c *B2CConfig) { c.Key = nil },
		"at least 2048 bits":                 func(c *B2CConfig) { c.Key = small },
		"B2CConfig.Email is required":        func(c *B2CConfig) { c.Email = "" },
		"B2CConfig.Password is required":     func(c *B2CConfig) { c.Password = "" },
	} {
		cfg := B2CConfig{URL: "https://b2c.example", CustomerCode: "C1", AccountNo: "A1", Key: b2cTestKey(),
			Email: "a@b.c", Password: "pw12345"}
		mod(&cfg)
		if _, err := NewB2C(cfg); err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("error %v, want one saying %q", err, want)
		}
	}
}

func TestB2CCallbackReadsTheDocumentedSuccess(t *testing.T) {
	body := doc(t, "doc-b2c-result-success.json")
	r, err := (&B2C{}).ParseCallback("application/json", body)
	if err != nil {
		t.Fatal(err)
	}
	want := gateway.PayoutResult{Status: gateway.StatusSucceeded, Reference: "12232", Receipt: "QLD82TMWJE",
		Amount: 10000, HasAmount: true, Currency: "KES", Fees: 200, Code: "0", Message: "The service request is processed successfully."}
	if string(r.Raw) != string(body) {
		t.Errorf("raw = %s", r.Raw)
	}
	r.Raw = nil
	if !equalPayoutResults(r, want) {
		t.Errorf("result = %+v\nwant     %+v", r, want)
	}
}

// The document's failed result lacks a comma after "reference". The
// parser reads it as if the comma were there (the only repair it makes),
// marks it failed, unverified, and says in its message that the body was
// not valid JSON; Raw is the body as received.
func TestB2CCallbackReadsTheDocumentedFailureDespiteItsMissingComma(t *testing.T) {
	body := doc(t, "doc-b2c-result-failed.txt")
	if json.Valid(body) {
		t.Fatal("the fixture is valid JSON: it is no longer the document's text")
	}
	r, err := (&B2C{}).ParseCallback("application/json", body)
	if err != nil {
		t.Fatal(err)
	}
	if string(r.Raw) != string(body) {
		t.Errorf("raw = %s", r.Raw)
	}
	if r.Status != gateway.StatusFailed || r.Reference != "12232" || r.Code != "1032" || r.Verified || r.HasAmount {
		t.Errorf("result = %+v", r)
	}
	if !strings.HasPrefix(r.Message, "Bad Request - Invalid Account number") || !strings.Contains(r.Message, "missing comma") {
		t.Errorf("message = %q", r.Message)
	}
}

func TestInsertMissingCommasRepairsOnlyAMissingCommaBetweenMembers(t *testing.T) {
	for _, tt := range []struct {
		name, in, want string
		added          int
	}{
		{"valid JSON", "{\"a\":\"1\",\n\"b\":2}", "{\"a\":\"1\",\n\"b\":2}", 0},
		{"after a string", "{\"a\":\"1\"\n\"b\":2}", "{\"a\":\"1\",\n\"b\":2}", 1},
		{"after a number", "{\"a\":1032\n\"b\":2}", "{\"a\":1032,\n\"b\":2}", 1},
		{"after an object", "{\"a\":{\"x\":1}\n\"b\":2}", "{\"a\":{\"x\":1},\n\"b\":2}", 1},
		{"string holding quotes and a newline escape", "{\"a\":\"x\\\"\\n\\\"y\"\n\"b\":2}", "{\"a\":\"x\\\"\\n\\\"y\",\n\"b\":2}", 1},
		{"same line is not repaired", `{"a":"1" "b":2}`, `{"a":"1" "b":2}`, 0},
		{"array values are not repaired", "[1\n2]", "[1\n2]", 0},
	} {
		t.Run(tt.name, func(t *testing.T) {
			got, n := insertMissingCommas([]byte(tt.in))
			if string(got) != tt.want || n != tt.added {
				t.Errorf("got %q (%d added), want %q (%d)", got, n, tt.want, tt.added)
			}
		})
	}
}

func TestB2CCallbackRefusesWhatItCannotRead(t *testing.T) {
	for name, body := range map[string]string{
		"not JSON":                  `reference=122320&result_code=0`,
		"missing colon":             "{\"reference\" \"122320\",\n\"result_code\": 0}",
		"trailing comma":            "{\"reference\": \"122320\",\n\"result_code\": 0,\n}",
		"truncated":                 `{"reference": "122320", "result_code": 0`,
		"no reference":              `{"result_code": 0, "amount": "100"}`,
		"reference too long":        `{"reference": "111111111111111111111111111111111111111111111111111", "result_code": 0}`,
		"no result_code":            `{"reference": "122320", "amount": "100"}`,
		"success unreadable amount": `{"reference": "122320", "result_code": 0, "amount": "ten"}`,
		"unreadable fees":           `{"reference": "122320", "result_code": 0, "amount": "100", "fees": "x"}`,
		"too large":                 `{"reference": "122320", "result_code": 0, "x": "` + strings.Repeat("a", 17<<10) + `"}`,
	} {
		t.Run(name, func(t *testing.T) {
			if r, err := (&B2C{}).ParseCallback("application/json", []byte(body)); !errors.Is(err, ErrInvalidB2CResult) {
				t.Fatalf("ParseCallback = %+v, %v; want ErrInvalidB2CResult", r, err)
			}
		})
	}
}

func TestB2CCallbackPassesItsCurrencyOn(t *testing.T) {
	for body, want := range map[string]string{
		`{"reference": "122320", "result_code": 0, "currency": "usd", "amount": "100"}`: "USD",
		`{"reference": "122320", "result_code": 0, "currency": "KES", "amount": "100"}`: "KES",
		`{"reference": "122320", "result_code": 0, "amount": "100"}`:                    "",
	} {
		r, err := (&B2C{}).ParseCallback("application/json", []byte(body))
		if err != nil || r.Currency != want {
			t.Errorf("%s: currency %q, %v; want %q", body, r.Currency, err, want)
		}
	}
}

func TestB2CCallbackIsNeverVerified(t *testing.T) {
	for _, body := range []string{
		string(doc(t, "doc-b2c-result-success.json")),
		`{"reference":"122320","result_code":"0","amount":100,"currency":"KES","hash":"00"}`,
	} {
		r, err := (&B2C{}).ParseCallback("", []byte(body))
		if err != nil || r.Verified {
			t.Errorf("%s: verified %v, %v", body, r.Verified, err)
		}
	}
}

// equalPayoutResults compares every field but Raw.
func equalPayoutResults(a, b gateway.PayoutResult) bool {
	a.Raw, b.Raw = nil, nil
	ja, _ := json.Marshal(a)
	jb, _ := json.Marshal(b)
	return string(ja) == string(jb)
}

func TestLoadPrivateKeyReadsPKCS1AndPKCS8(t *testing.T) {
	key := b2cTestKey()
	dir := t.TempDir()
	pkcs8, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		t.Fatal(err)
	}
	for name, block := range map[string]*pem.Block{
		"pkcs1.pem": {Type: "RSA PRIVATE KEY", Bytes: x509.MarshalPKCS1PrivateKey(key)},
		"pkcs8.pem": {Type: "PRIVATE KEY", Bytes: pkcs8},
	} {
		path := filepath.Join(dir, name)
		if err := os.WriteFile(path, pem.EncodeToMemory(block), 0o600); err != nil {
			t.Fatal(err)
		}
		got, err := LoadPrivateKey(path)
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		if !got.Equal(key) {
			t.Errorf("%s: another key", name)
		}
	}
}

func TestLoadPrivateKeyErrorsNameTheFileAndNeverShowTheKey(t *testing.T) {
	dir := t.TempDir()
	small, err := rsa.GenerateKey(rand.Reader, 1024)
	if err != nil {
		t.Fatal(err)
	}
	ec, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	ecDER, err := x509.MarshalPKCS8PrivateKey(ec)
	if err != nil {
		t.Fatal(err)
	}
	broken := x509.MarshalPKCS1PrivateKey(b2cTestKey())
	broken = broken[:len(broken)/2]
	files := map[string][]byte{
		"not-pem.pem":   []byte("MIIEvQIBADANBgkqhkiG9w0BAQEFAASCBKcwggSjAgEAAoIBAQ"),
		"public.pem":    pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: []byte("MIIBIjANBgkqhkiG9w0BAQEFAAOCAQ8AMIIBCgKCAQEA")}),
		"encrypted.pem": pem.EncodeToMemory(&pem.Block{Type: "ENCRYPTED PRIVATE KEY", Bytes: []byte("secret-bytes")}),
		"ec.pem":        pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: ecDER}),
		"small.pem":     pem.EncodeToMemory(&pem.Block{Type: "RSA PRIVATE KEY", Bytes: x509.MarshalPKCS1PrivateKey(small)}),
		"broken.pem":    pem.EncodeToMemory(&pem.Block{Type: "RSA PRIVATE KEY", Bytes: broken}),
	}
	for name, content := range files {
		path := filepath.Join(dir, name)
		if err := os.WriteFile(path, content, 0o600); err != nil {
			t.Fatal(err)
		}
		_, err := LoadPrivateKey(path)
		if err == nil || !strings.Contains(err.Error(), path) {
			t.Errorf("%s: error %v does not name the file", name, err)
			continue
		}
		for _, line := range strings.Split(string(content), "\n") {
			if len(line) > 8 && !strings.HasPrefix(line, "-----") && strings.Contains(err.Error(), line) {
				t.Errorf("%s: error shows the file's bytes: %v", name, err)
			}
		}
	}
	missing := filepath.Join(dir, "missing.pem")
	if _, err := LoadPrivateKey(missing); err == nil || !strings.Contains(err.Error(), missing) {
		t.Errorf("missing file: error %v does not name it", err)
	}
}

// FuzzB2CResult: reading a result never panics; the repair adds only
// commas, never to valid JSON, and anything read has a reference and a
// code and is never Verified.
func FuzzB2CResult(f *testing.F) {
	f.Add(doc(f, "doc-b2c-result-success.json"))
	f.Add(doc(f, "doc-b2c-result-failed.txt"))
	f.Add([]byte("{\"a\":[1,{\"b\":\"\\\"\"}\n]\n\"c\":null}"))
	f.Fuzz(func(t *testing.T, body []byte) {
		out, n := insertMissingCommas(body)
		if len(out) != len(body)+n {
			t.Fatalf("repair of %q gave %q: %d bytes added for %d commas", body, out, len(out)-len(body), n)
		}
		if n > 0 && json.Valid(body) {
			t.Fatalf("valid JSON %q was repaired into %q", body, out)
		}
		if n > 0 && string(bytesWithout(out, ',')) != string(bytesWithout(body, ',')) {
			t.Fatalf("repair of %q changed more than commas: %q", body, out)
		}
		r, err := parseB2CResult(body)
		if err == nil && (r.Reference == "" || r.Code == "" || r.Verified) {
			t.Fatalf("%q read as %+v", body, r)
		}
	})
}

// bytesWithout is b without any c.
func bytesWithout(b []byte, c byte) []byte {
	var out []byte
	for _, x := range b {
		if x != c {
			out = append(out, x)
		}
	}
	return out
}
