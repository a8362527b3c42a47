package sandbox

import (
	"encoding/json"
	"strings"
	"testing"
	"time"

	"checkout/gateway"
)

func TestSTKURLsArePublicURLPlusPaths(t *testing.T) {
	sb := New(Config{PublicURL: "http://localhost:8080/"})
	defer sb.Close()
	if got, want := sb.PokeaPaySTKURL(), "http://localhost:8080/sandbox/pokeapay/stk/api/v1"; got != want {
		t.Errorf("PokeaPaySTKURL() = %q, want %q", got, want)
	}
	if got, want := sb.PochipayURL(), "http://localhost:8080/sandbox/pochipay/api/v1"; got != want {
		t.Errorf("PochipayURL() = %q, want %q", got, want)
	}
}

func TestPokeaPaySTKLoginIssuesAJWTThatExpiresAfterSTKTokenTTL(t *testing.T) {
	for _, c := range []struct {
		name string
		ttl  time.Duration
		want int64 // seconds
	}{
		{"default one hour", 0, 3600},
		{"configured", 90 * time.Second, 90},
	} {
		t.Run(c.name, func(t *testing.T) {
			e := newSTKEnv(t, func(cfg *Config) { cfg.STKTokenTTL = c.ttl })
			resp, raw := e.do("POST", e.stkURL("/login"), "", map[string]string{"email": stkEmail, "password": stkPassword})
			if resp.StatusCode != 200 || !strings.HasPrefix(resp.Header.Get("Content-Type"), "application/json") {
				t.Fatalf("HTTP %d %s %s", resp.StatusCode, resp.Header.Get("Content-Type"), raw)
			}
			body := decodeObject(t, raw)
			checkJSON(t, "login", body, map[string]any{
				"success": true,
				"message": "Login successful",
				"data":    map[string]any{"token": matches(jwtPattern)},
			})
			token := body["data"].(map[string]any)["token"].(string)
			payload := jwtPayload(t, token)
			iat := e.clock.Now().Unix()
			if payload["iat"] != json.Number(jsonInt(iat)) || payload["exp"] != json.Number(jsonInt(iat+c.want)) {
				t.Errorf("JWT payload = %v, want iat %d and exp %d", payload, iat, iat+c.want)
			}
			if n := e.sb.STKLogins(STKPokeaPay); n != 1 {
				t.Errorf("STKLogins(pokeapay) = %d, want 1", n)
			}
			if n := e.sb.STKLogins(STKPochipay); n != 0 {
				t.Errorf("STKLogins(pochipay) = %d, want 0", n)
			}

			// Valid until exp (the clock is past iat's second by a fraction).
			e.clock.Add(time.Duration(c.want-1) * time.Second)
			if resp, _ := e.stkQuery(token, "ORD-none", stkPhone); resp.StatusCode != 404 {
				t.Errorf("query before exp: HTTP %d, want 404 (authorized, unknown orderRef)", resp.StatusCode)
			}
			e.clock.Add(time.Second)
			resp, raw = e.do("POST", e.stkURL("/stkPush/transaction"), token, stkPushBody("ORD-1", stkPhone, "https://shop.example/cb"))
			exactly(t, "push after exp", resp, raw, 401, `{"success":false,"error":"Unauthorized"}`)
			if len(e.sb.STKPrompts()) != 0 {
				t.Error("a push with an expired token was recorded")
			}
		})
	}
}

// jsonInt writes n as JSON does.
func jsonInt(n int64) string { b, _ := json.Marshal(n); return string(b) }

func TestPokeaPaySTKLoginRefusesWrongCredentials(t *testing.T) {
	const want = `{"success":false,"error":"The credentials you provided are incorrect"}`
	e := newSTKEnv(t, nil)
	for name, body := range map[string]string{
		"wrong password":     `{"email":"` + stkEmail + `","password":"nope"}`,
		"wrong email":        `{"email":"other@sandbox.test","password":"` + stkPassword + `"}`,
		"Pochipay's pair":    `{"email":"` + pochiEmail + `","password":"` + pochiPassword + `"}`,
		"empty":              `{}`,
		"password as number": `{"email":"` + stkEmail + `","password":123}`,
		"not JSON":           `email=x&password=y`,
	} {
		resp, raw := e.doRaw("POST", e.stkURL("/login"), "", "application/json", body)
		exactly(t, name, resp, raw, 400, want)
	}
	if n := e.sb.STKLogins(STKPokeaPay); n != 0 {
		t.Errorf("STKLogins = %d, want 0", n)
	}

	// Empty configured credentials accept nothing, empty ones included.
	empty := newEnv(t, nil)
	resp, raw := empty.do("POST", empty.stkURL("/login"), "", map[string]string{"email": "", "password": ""})
	exactly(t, "unconfigured", resp, raw, 400, want)
}

func TestPokeaPaySTKCallsNeedAValidToken(t *testing.T) {
	const want = `{"success":false,"error":"Unauthorized"}`
	e := newSTKEnv(t, nil)
	token := e.stkLogin()
	pochi := e.pochiToken()
	e.stkPushOK(token, stkPushBody("ORD-1", stkPhone, "https://shop.example/cb"))
	push, _ := json.Marshal(stkPushBody("ORD-2", stkPhone2, "https://shop.example/cb"))
	query := `{"amount":1500,"phone":"` + stkPhone + `","outletCode":"` + ppOutlet + `","orderRef":"ORD-1"}`
	for name, auth := range map[string]string{
		"no header":      "",
		"unknown token":  token + "x",
		"Pochipay token": pochi,
		// Only the document's bare form is taken.
		"Bearer scheme": "Bearer " + token,
		"Basic scheme":  "Basic " + token,
	} {
		resp, raw := e.doRaw("POST", e.stkURL("/stkPush/transaction"), auth, "application/json", string(push))
		exactly(t, "push, "+name, resp, raw, 401, want)
		resp, raw = e.doRaw("POST", e.stkURL("/transaction/query"), auth, "application/json", query)
		exactly(t, "query, "+name, resp, raw, 401, want)
	}

	// The bare token, as the document's query example sends it, is the
	// form that works.
	if resp, raw := e.doRaw("POST", e.stkURL("/transaction/query"), token, "application/json", query); resp.StatusCode != 200 {
		t.Errorf("query with the bare token: HTTP %d %s", resp.StatusCode, raw)
	}

	e.sb.ExpireSTKTokens()
	resp, raw := e.doRaw("POST", e.stkURL("/transaction/query"), token, "application/json", query)
	exactly(t, "query after ExpireSTKTokens", resp, raw, 401, want)
	fresh := e.stkLogin()
	if fresh == token {
		t.Error("a new login gave the expired token again")
	}
	if resp, raw := e.doRaw("POST", e.stkURL("/transaction/query"), fresh, "application/json", query); resp.StatusCode != 200 {
		t.Errorf("query with a new token: HTTP %d %s", resp.StatusCode, raw)
	}
	if n := e.sb.STKLogins(STKPokeaPay); n != 2 {
		t.Errorf("STKLogins = %d, want 2", n)
	}
	if got := len(e.sb.STKPrompts()); got != 1 {
		t.Errorf("%d prompts, want only the authorized one", got)
	}
}

func TestPokeaPaySTKPushAnswersAsTheDocumentAndRecordsThePrompt(t *testing.T) {
	e := newSTKEnv(t, nil)
	token := e.stkLogin()
	resp, raw := e.do("POST", e.stkURL("/stkPush/transaction"), token,
		stkPushBody("ORD-20260314-001", stkPhone, "https://shop.example/callback/pokeapay-stk?a=1"))
	exactly(t, "push", resp, raw, 200,
		`{"success":true,"message":"Transaction initiated successfully","data":{"orderRef":"ORD-20260314-001","amount":1500,"phone":"254712345678"}}`)

	p, ok := e.sb.STKPrompt(STKPokeaPay, "ORD-20260314-001")
	want := STKPrompt{
		ID:            p.ID,
		Provider:      STKPokeaPay,
		Reference:     "ORD-20260314-001",
		Phone:         stkPhone,
		Amount:        150000,
		CallbackURL:   "https://shop.example/callback/pokeapay-stk?a=1",
		Status:        STKPending,
		OutletCode:    ppOutlet,
		Variable1:     "ORD-7",
		CustomerName:  "Wanjiku Njeri Kamau",
		CustomerEmail: "wanjiku@example.com",
		CreatedAt:     e.clock.Now(),
	}
	if !ok || p != want || !matches(`^[a-z2-7]{16}$`).ok(p.ID) {
		t.Errorf("prompt = %+v (%v)\nwant %+v", p, ok, want)
	}
	if all := e.sb.STKPrompts(); len(all) != 1 || all[0] != p {
		t.Errorf("STKPrompts() = %+v", all)
	}
	if _, ok := e.sb.STKPrompt(STKPochipay, "ORD-20260314-001"); ok {
		t.Error("a PokeaPay prompt is found as a Pochipay one")
	}
}

func TestPokeaPaySTKPushRejectsInvalidInputsWithJoiMessages(t *testing.T) {
	e := newSTKEnv(t, nil)
	token := e.stkLogin()
	const valid = `"callBackUrl":"https://shop.example/cb","outletCode":"OCT00001","orderRef":"ORD-1"`
	cases := []struct {
		name, body, err string
	}{
		{"the document's sample: a 07 phone",
			`{"amount":1,"phone":"0712345678",` + valid + `}`,
			`\"phone\" with value \"0712345678\" fails to match the required pattern: /^(254(7|1)\\d{8})$/`},
		{"a +254 phone",
			`{"amount":1,"phone":"+254712345678",` + valid + `}`,
			`\"phone\" with value \"+254712345678\" fails to match the required pattern: /^(254(7|1)\\d{8})$/`},
		{"a 2542 phone",
			`{"amount":1,"phone":"254212345678",` + valid + `}`,
			`\"phone\" with value \"254212345678\" fails to match the required pattern: /^(254(7|1)\\d{8})$/`},
		{"no phone", `{"amount":1,` + valid + `}`, `\"phone\" is required`},
		{"phone as number", `{"amount":1,"phone":254712345678,` + valid + `}`, `\"phone\" must be a string`},
		{"no amount", `{"phone":"254712345678",` + valid + `}`, `\"amount\" is required`},
		{"amount as string", `{"amount":"1500","phone":"254712345678",` + valid + `}`, `\"amount\" must be a number`},
		{"amount 0", `{"amount":0,"phone":"254712345678",` + valid + `}`, `\"amount\" must be a positive number`},
		{"negative amount", `{"amount":-5,"phone":"254712345678",` + valid + `}`, `\"amount\" must be a positive number`},
		{"amount with cents", `{"amount":10.5,"phone":"254712345678",` + valid + `}`, `\"amount\" must be an integer`},
		{"callBackUrl not a URL",
			`{"amount":1,"phone":"254712345678","callBackUrl":"call back url","outletCode":"OCT00001","orderRef":"ORD-1"}`,
			`\"callBackUrl\" must be a valid uri`},
		{"no outletCode",
			`{"amount":1,"phone":"254712345678","callBackUrl":"https://shop.example/cb","orderRef":"ORD-1"}`,
			`\"outletCode\" is required`},
		{"empty orderRef",
			`{"amount":1,"phone":"254712345678","callBackUrl":"https://shop.example/cb","outletCode":"OCT00001","orderRef":""}`,
			`\"orderRef\" is not allowed to be empty`},
		{"customerName as number", `{"amount":1,"phone":"254712345678",` + valid + `,"customerName":5}`,
			`\"customerName\" must be a string`},
	}
	for _, c := range cases {
		resp, raw := e.doRaw("POST", e.stkURL("/stkPush/transaction"), token, "application/json", c.body)
		exactly(t, c.name, resp, raw, 422, `{"success":false,"error":"`+c.err+`","data":`+c.body+`}`)
	}

	// The request is echoed as sent (here indented, as in the document).
	indented := "{\n    \"amount\": 1,\n    \"phone\": \"2547xxxxxxxx\",\n    \"orderRef\": \"order\"\n}"
	resp, raw := e.doRaw("POST", e.stkURL("/stkPush/transaction"), token, "application/json", indented)
	exactly(t, "the document's 2547xxxxxxxx", resp, raw, 422,
		`{"success":false,"error":"\"phone\" with value \"2547xxxxxxxx\" fails to match the required pattern: /^(254(7|1)\\d{8})$/",`+
			`"data":{"amount":1,"phone":"2547xxxxxxxx","orderRef":"order"}}`)

	for name, c := range map[string]struct{ contentType, body string }{
		"form body":   {"application/x-www-form-urlencoded", "amount=1"},
		"broken JSON": {"application/json", `{"amount":1`},
		"JSON array":  {"application/json", `[1]`},
	} {
		resp, raw := e.doRaw("POST", e.stkURL("/stkPush/transaction"), token, c.contentType, c.body)
		if resp.StatusCode != 400 || decodeObject(t, raw)["success"] != false {
			t.Errorf("%s: HTTP %d %s, want 400 with success false", name, resp.StatusCode, raw)
		}
	}

	// An outlet code other than the configured one.
	body := stkPushBody("ORD-1", stkPhone, "https://shop.example/cb")
	body["outletCode"] = "OCT99999"
	resp, raw = e.do("POST", e.stkURL("/stkPush/transaction"), token, body)
	exactly(t, "other outlet", resp, raw, 400, `{"success":false,"error":"Invalid outletCode: it is not an outlet of this account"}`)

	if n := len(e.sb.STKPrompts()); n != 0 {
		t.Errorf("%d prompts recorded from invalid pushes", n)
	}
}

func TestPokeaPaySTKPushToABusyPhoneAnswersUnableToLockSubscriber(t *testing.T) {
	const busy = `{"success":false,"error":"Unableto lock subscriber, a transaction is already in process for the current subscriber"}`
	e := newSTKEnv(t, nil)
	token := e.stkLogin()
	e.stkPushOK(token, stkPushBody("ORD-1", stkPhone, "https://shop.example/cb"))

	resp, raw := e.do("POST", e.stkURL("/stkPush/transaction"), token, stkPushBody("ORD-2", stkPhone, "https://shop.example/cb"))
	exactly(t, "second prompt to the phone", resp, raw, 400, busy)
	if _, ok := e.sb.STKPrompt(STKPokeaPay, "ORD-2"); ok {
		t.Error("the refused push was recorded")
	}

	// A Pochipay prompt locks the subscriber too: M-Pesa's lock is per phone.
	pochi := e.pochiToken()
	e.pochiCollectOK(pochi, pochiBody("COL-1", stkPhone2, "https://shop.example/cb"))
	resp, raw = e.do("POST", e.stkURL("/stkPush/transaction"), token, stkPushBody("ORD-3", stkPhone2, "https://shop.example/cb"))
	exactly(t, "phone with a Pochipay prompt", resp, raw, 400, busy)

	// The same orderRef again is refused even on a free phone.
	resp, raw = e.do("POST", e.stkURL("/stkPush/transaction"), token, stkPushBody("ORD-1", "254722000333", "https://shop.example/cb"))
	exactly(t, "orderRef again", resp, raw, 400, `{"success":false,"error":"Duplicate orderRef: every STK push needs a new orderRef"}`)

	// Once the prompt is answered the phone takes a new one.
	if err := e.sb.STKAnswer(STKPokeaPay, "ORD-1", STKCodeCancelled, false); err != nil {
		t.Fatal(err)
	}
	e.stkPushOK(token, stkPushBody("ORD-4", stkPhone, "https://shop.example/cb"))
}

func TestPokeaPaySTKQueryOfAPendingPushAnswersPending(t *testing.T) {
	e := newSTKEnv(t, nil)
	token := e.stkLogin()
	e.stkPushOK(token, stkPushBody("ORD-1", stkPhone, "https://shop.example/cb"))
	resp, raw := e.do("POST", e.stkURL("/transaction/query"), token, map[string]any{
		"amount": json.Number("1500"), "phone": stkPhone, "outletCode": ppOutlet, "orderRef": "ORD-1",
	})
	// The document's "stkPush Transaction POST Success" answer, saved under
	// Transaction Query: asked, not yet paid.
	exactly(t, "pending query", resp, raw, 200,
		`{"success":true,"message":"Transaction initiated successfully","data":{"orderRef":"ORD-1","amount":1500,"phone":"254712345678"}}`)
	if n := e.sb.STKQueries(STKPokeaPay); n != 1 {
		t.Errorf("STKQueries = %d, want 1", n)
	}
}

func TestPokeaPaySTKQueryOfAnUnknownOrMismatchedPushAnswers404(t *testing.T) {
	const notFound = `{"success":false,"error":"Transaction not found"}`
	e := newSTKEnv(t, nil)
	token := e.stkLogin()
	e.stkPushOK(token, stkPushBody("ORD-1", stkPhone, "https://shop.example/cb"))
	for name, body := range map[string]map[string]any{
		"unknown orderRef": {"amount": 1500, "phone": stkPhone, "outletCode": ppOutlet, "orderRef": "ORD-404"},
		"another phone":    {"amount": 1500, "phone": stkPhone2, "outletCode": ppOutlet, "orderRef": "ORD-1"},
		"another amount":   {"amount": 1499, "phone": stkPhone, "outletCode": ppOutlet, "orderRef": "ORD-1"},
	} {
		resp, raw := e.do("POST", e.stkURL("/transaction/query"), token, body)
		exactly(t, name, resp, raw, 404, notFound)
	}
	resp, raw := e.doRaw("POST", e.stkURL("/transaction/query"), token, "application/json",
		`{"amount":1500,"phone":"254712345678","outletCode":"OCT00001"}`)
	exactly(t, "no orderRef", resp, raw, 422,
		`{"success":false,"error":"\"orderRef\" is required","data":{"amount":1500,"phone":"254712345678","outletCode":"OCT00001"}}`)
	resp, raw = e.do("POST", e.stkURL("/transaction/query"), token,
		map[string]any{"amount": 1500, "phone": stkPhone, "outletCode": "OCT99999", "orderRef": "ORD-1"})
	exactly(t, "other outlet", resp, raw, 400, `{"success":false,"error":"Invalid outletCode: it is not an outlet of this account"}`)
}

func TestFailSTKQueriesAnswers503ThenRecovers(t *testing.T) {
	e := newSTKEnv(t, nil)
	token, pochi := e.stkLogin(), e.pochiToken()
	e.stkPushOK(token, stkPushBody("ORD-1", stkPhone, "https://shop.example/cb"))
	id := e.pochiCollectOK(pochi, pochiBody("COL-1", stkPhone2, "https://shop.example/cb"))

	e.sb.FailSTKQueries(STKPokeaPay, 2)
	for range 2 {
		resp, raw := e.do("POST", e.stkURL("/transaction/query"), "", map[string]any{})
		exactly(t, "failing PokeaPay query", resp, raw, 503, `{"success":false,"error":"Service temporarily unavailable, try again"}`)
	}
	// Pochipay is not affected.
	if resp, got := e.pochiStatus(pochi, id); resp.StatusCode != 200 {
		t.Errorf("Pochipay status while PokeaPay fails: HTTP %d %v", resp.StatusCode, got)
	}
	if resp, got := e.stkQuery(token, "ORD-1", stkPhone); resp.StatusCode != 200 {
		t.Errorf("third PokeaPay query: HTTP %d %v", resp.StatusCode, got)
	}

	e.sb.FailSTKQueries(STKPochipay, 1)
	resp, raw := e.do("POST", e.pochiURL("/collections/mpesa/transaction-status"), "", map[string]string{"collectionId": id})
	exactly(t, "failing Pochipay status", resp, raw, 503,
		`{"result":null,"message":"Service temporarily unavailable, try again","errors":["Service temporarily unavailable, try again"]}`)
	if resp, got := e.pochiQuery(pochi, map[string][]string{"OrderId": {"COL-1"}}); resp.StatusCode != 200 {
		t.Errorf("Pochipay query after the failure: HTTP %d %v", resp.StatusCode, got)
	}
	if a, b := e.sb.STKQueries(STKPokeaPay), e.sb.STKQueries(STKPochipay); a != 3 || b != 3 {
		t.Errorf("STKQueries = %d (pokeapay), %d (pochipay); want 3 and 3", a, b)
	}
}

func TestSTKAnswerAmountMakesQueryAndCallbackReportTheOtherAmount(t *testing.T) {
	rc := callbackReceiver(t, nil)
	e := newSTKEnv(t, nil)
	token, pochi := e.stkLogin(), e.pochiToken()
	e.stkPushOK(token, stkPushBody("ORD-1", stkPhone, rc.srv.URL+"/callback/pokeapay-stk"))
	id := e.pochiCollectOK(pochi, pochiBody("COL-1", stkPhone2, rc.srv.URL+"/callback/pochipay"))

	if err := e.sb.STKAnswerAmount(STKPokeaPay, "ORD-1", gateway.Amount(100000), true); err != nil {
		t.Fatal(err)
	}
	got := checkCallback(t, rc.next(t), "/callback/pokeapay-stk")
	if d := got["data"].(map[string]any); got["success"] != true || d["amount"] != json.Number("1000") {
		t.Errorf("PokeaPay callback = %v, want success with amount 1000", got)
	}
	// The query still names the push by the amount asked, and reports the
	// amount paid.
	_, q := e.stkQuery(token, "ORD-1", stkPhone)
	if d := q["data"].(map[string]any); q["success"] != true || d["receipt"] == "" || d["amount"] != json.Number("1000") {
		t.Errorf("PokeaPay query = %v, want a success with a receipt and amount 1000", q)
	}

	if err := e.sb.STKAnswerAmount(STKPochipay, "COL-1", gateway.Amount(150050), true); err != nil {
		t.Fatal(err)
	}
	got = checkCallback(t, rc.next(t), "/callback/pochipay")
	if got["isSuccessful"] != true || got["amount"] != json.Number("1500.5") {
		t.Errorf("Pochipay callback = %v, want success with amount 1500.5", got)
	}
	_, s := e.pochiStatus(pochi, id)
	if r := s["result"].(map[string]any); r["status"] != "Complete" || r["amount"] != json.Number("1500.5") {
		t.Errorf("Pochipay status = %v, want Complete with amount 1500.5", s)
	}
	if p, _ := e.sb.STKPrompt(STKPochipay, "COL-1"); p.Amount != 150000 || p.PaidAmount != 150050 {
		t.Errorf("prompt amounts = %v asked, %v paid", p.Amount, p.PaidAmount)
	}
}
