package sandbox

import (
	"encoding/json"
	"net/url"
	"testing"
	"time"
)

func TestPochipayTokenAnswersResultWithExpiresInAndReallyExpires(t *testing.T) {
	for _, c := range []struct {
		name string
		ttl  time.Duration
		want int64
	}{
		{"default 3600 s", 0, 3600},
		{"configured", 2 * time.Minute, 120},
	} {
		t.Run(c.name, func(t *testing.T) {
			e := newSTKEnv(t, func(cfg *Config) { cfg.PochipayTokenTTL = c.ttl })
			resp, raw := e.do("POST", e.pochiURL("/account/token"), "", map[string]string{"email": pochiEmail, "password": pochiPassword})
			if resp.StatusCode != 200 {
				t.Fatalf("HTTP %d %s", resp.StatusCode, raw)
			}
			body := decodeObject(t, raw)
			checkJSON(t, "token", body, map[string]any{
				"result": map[string]any{
					"accessToken": matches(jwtPattern),
					"tokenType":   "Bearer",
					"expiresIn":   json.Number(jsonInt(c.want)),
				},
				"errors": []any{},
			})
			token := body["result"].(map[string]any)["accessToken"].(string)
			if p := jwtPayload(t, token); p["exp"] != json.Number(jsonInt(e.clock.Now().Unix()+c.want)) {
				t.Errorf("JWT payload = %v", p)
			}
			if n := e.sb.STKLogins(STKPochipay); n != 1 {
				t.Errorf("STKLogins(pochipay) = %d, want 1", n)
			}

			e.clock.Add(time.Duration(c.want-1) * time.Second)
			if resp, got := e.pochiQuery(token, url.Values{"OrderId": {"none"}}); resp.StatusCode != 404 {
				t.Errorf("before expiry: HTTP %d %v, want 404 (authorized, unknown)", resp.StatusCode, got)
			}
			e.clock.Add(time.Second)
			resp, raw = e.do("GET", e.pochiURL("/collections/mpesa/collection-query?OrderId=none"), token, nil)
			exactly(t, "after expiry", resp, raw, 401, `{"result":null,"message":"Unauthorized","errors":["Unauthorized"]}`)
			if got := resp.Header.Get("WWW-Authenticate"); got != `Bearer error="invalid_token"` {
				t.Errorf("WWW-Authenticate = %q", got)
			}
		})
	}
}

func TestPochipayTokenRefusesWrongCredentials(t *testing.T) {
	const want = `{"result":null,"message":"Invalid credentials","errors":["Invalid credentials"]}`
	e := newSTKEnv(t, nil)
	for name, body := range map[string]map[string]string{
		"wrong password":  {"email": pochiEmail, "password": "nope"},
		"wrong email":     {"email": "x@sandbox.test", "password": pochiPassword},
		"PokeaPay's pair": {"email": stkEmail, "password": stkPassword},
		"empty":           {},
	} {
		resp, raw := e.do("POST", e.pochiURL("/account/token"), "", body)
		exactly(t, name, resp, raw, 401, want)
	}
	// Field names match in any case, as ASP.NET reads them.
	resp, raw := e.doRaw("POST", e.pochiURL("/account/token"), "", "application/json",
		`{"Email":"`+pochiEmail+`","PASSWORD":"`+pochiPassword+`"}`)
	if resp.StatusCode != 200 {
		t.Errorf("capitalised names: HTTP %d %s", resp.StatusCode, raw)
	}
	resp, raw = e.doRaw("POST", e.pochiURL("/account/token"), "", "text/plain", `{}`)
	exactly(t, "text/plain", resp, raw, 415,
		`{"result":null,"message":"Content-Type must be application/json","errors":["Content-Type must be application/json"]}`)
	if n := e.sb.STKLogins(STKPochipay); n != 1 {
		t.Errorf("STKLogins = %d, want 1", n)
	}
}

func TestPochipayCallsNeedAValidBearerToken(t *testing.T) {
	const want = `{"result":null,"message":"Unauthorized","errors":["Unauthorized"]}`
	e := newSTKEnv(t, nil)
	token := e.pochiToken()
	stk := e.stkLogin()
	collect, _ := json.Marshal(pochiBody("COL-1", stkPhone, "https://shop.example/cb"))
	for name, auth := range map[string]string{
		"no header":      "",
		"bare token":     token,
		"PokeaPay token": "Bearer " + stk,
		"unknown":        "Bearer nope",
	} {
		resp, raw := e.doRaw("POST", e.pochiURL("/collections/mpesa"), auth, "application/json", string(collect))
		exactly(t, "collect, "+name, resp, raw, 401, want)
		resp, raw = e.doRaw("POST", e.pochiURL("/collections/mpesa/transaction-status"), auth, "application/json", `{"collectionId":"x"}`)
		exactly(t, "status, "+name, resp, raw, 401, want)
		resp, raw = e.doRaw("GET", e.pochiURL("/collections/mpesa/collection-query?OrderId=COL-1"), auth, "", "")
		exactly(t, "query, "+name, resp, raw, 401, want)
	}
	if len(e.sb.STKPrompts()) != 0 {
		t.Error("an unauthorized collection was recorded")
	}
	e.sb.ExpireSTKTokens()
	resp, raw := e.doRaw("POST", e.pochiURL("/collections/mpesa"), "Bearer "+token, "application/json", string(collect))
	exactly(t, "after ExpireSTKTokens", resp, raw, 401, want)
	e.pochiCollectOK(e.pochiToken(), pochiBody("COL-1", stkPhone, "https://shop.example/cb"))
}

func TestPochipayCollectAcceptsAndAnswersACollectionID(t *testing.T) {
	e := newSTKEnv(t, nil)
	token := e.pochiToken()
	resp, got := e.pochiCollect(token, pochiBody("ATT-1", stkPhone, "https://shop.example/callback/pochipay"))
	if resp.StatusCode != 200 {
		t.Fatalf("HTTP %d %v", resp.StatusCode, got)
	}
	checkJSON(t, "collect", got, map[string]any{
		"result":  map[string]any{"collectionId": matches(guidPattern), "isProcessing": true},
		"message": "Request accepted",
		"errors":  []any{},
	})
	id := got["result"].(map[string]any)["collectionId"].(string)
	p, ok := e.sb.STKPrompt(STKPochipay, "ATT-1")
	want := STKPrompt{
		ID:            p.ID,
		Provider:      STKPochipay,
		Reference:     "ATT-1",
		CollectionID:  id,
		Phone:         stkPhone,
		Amount:        150000,
		CallbackURL:   "https://shop.example/callback/pochipay",
		Status:        STKPending,
		BillRefNumber: "ORD-7",
		Narration:     "Duka la Mama",
		CreatedAt:     e.clock.Now(),
	}
	if !ok || p != want {
		t.Errorf("prompt = %+v\nwant %+v", p, want)
	}
}

func TestPochipayCollectRejectsInvalidRequestsListingEveryProblem(t *testing.T) {
	e := newSTKEnv(t, nil)
	token := e.pochiToken()
	one := func(msg string) string { return `{"result":null,"message":"` + msg + `","errors":["` + msg + `"]}` }
	cases := []struct {
		name   string
		change map[string]any // nil value: field removed
		want   string
	}{
		{"07 phone", map[string]any{"phoneNumber": "0712345678"},
			one("PhoneNumber must be 2547XXXXXXXX or 2541XXXXXXXX (254, then 7 or 1, then 8 digits)")},
		{"no phone", map[string]any{"phoneNumber": nil}, one("PhoneNumber is required")},
		{"amount with cents", map[string]any{"amount": json.Number("10.50")}, one("Amount must be a whole number of shillings greater than 0")},
		{"amount 0", map[string]any{"amount": json.Number("0")}, one("Amount must be a whole number of shillings greater than 0")},
		{"amount as string", map[string]any{"amount": "1500"}, one("Amount must be a number")},
		{"no orderId", map[string]any{"orderId": nil}, one("OrderId is required")},
		{"empty billRefNumber", map[string]any{"billRefNumber": ""}, one("BillRefNumber is required")},
		{"relative callbackUrl", map[string]any{"callbackUrl": "/callback/pochipay"}, one("CallbackUrl must be an absolute http or https URL")},
		{"several", map[string]any{"orderId": nil, "phoneNumber": "254", "amount": json.Number("-1")},
			`{"result":null,"message":"One or more validation errors occurred.","errors":["OrderId is required",` +
				`"PhoneNumber must be 2547XXXXXXXX or 2541XXXXXXXX (254, then 7 or 1, then 8 digits)",` +
				`"Amount must be a whole number of shillings greater than 0"]}`},
	}
	for _, c := range cases {
		body := pochiBody("COL-1", stkPhone, "https://shop.example/cb")
		for k, v := range c.change {
			if v == nil {
				delete(body, k)
			} else {
				body[k] = v
			}
		}
		resp, raw := e.do("POST", e.pochiURL("/collections/mpesa"), token, body)
		exactly(t, c.name, resp, raw, 400, c.want)
	}
	// Narration is optional.
	body := pochiBody("COL-2", stkPhone, "https://shop.example/cb")
	delete(body, "narration")
	e.pochiCollectOK(token, body)
	if n := len(e.sb.STKPrompts()); n != 1 {
		t.Errorf("%d prompts, want only the valid one", n)
	}
}

func TestPochipayCollectRefusesABusyPhoneAndAUsedOrderID(t *testing.T) {
	e := newSTKEnv(t, nil)
	token := e.pochiToken()
	e.pochiCollectOK(token, pochiBody("COL-1", stkPhone, "https://shop.example/cb"))
	resp, raw := e.do("POST", e.pochiURL("/collections/mpesa"), token, pochiBody("COL-2", stkPhone, "https://shop.example/cb"))
	exactly(t, "busy phone", resp, raw, 400,
		`{"result":null,"message":"A transaction is already in process for this subscriber","errors":["A transaction is already in process for this subscriber"]}`)
	resp, raw = e.do("POST", e.pochiURL("/collections/mpesa"), token, pochiBody("COL-1", stkPhone2, "https://shop.example/cb"))
	exactly(t, "used orderId", resp, raw, 400,
		`{"result":null,"message":"OrderId already exists: use a new orderId for every collection","errors":["OrderId already exists: use a new orderId for every collection"]}`)

	// A PokeaPay prompt locks the phone for Pochipay too.
	e.stkPushOK(e.stkLogin(), stkPushBody("ORD-1", stkPhone2, "https://shop.example/cb"))
	resp, _ = e.do("POST", e.pochiURL("/collections/mpesa"), token, pochiBody("COL-3", stkPhone2, "https://shop.example/cb"))
	if resp.StatusCode != 400 {
		t.Errorf("phone with a PokeaPay prompt: HTTP %d, want 400", resp.StatusCode)
	}
	if err := e.sb.STKAnswer(STKPochipay, "COL-1", STKCodeUnreachable, false); err != nil {
		t.Fatal(err)
	}
	e.pochiCollectOK(token, pochiBody("COL-4", stkPhone, "https://shop.example/cb"))
}

func TestPochipayStatusAndQueryFindAPendingCollection(t *testing.T) {
	e := newSTKEnv(t, nil)
	token := e.pochiToken()
	id := e.pochiCollectOK(token, pochiBody("COL-1", stkPhone, "https://shop.example/cb"))
	const want = `{"result":{"status":"Pending","isSuccessful":false,"mpesaReference":null,"failReason":null,"resultDescription":null},` +
		`"message":"Success","errors":[]}`
	resp, raw := e.do("POST", e.pochiURL("/collections/mpesa/transaction-status"), token, map[string]string{"collectionId": id})
	exactly(t, "transaction-status", resp, raw, 200, want)
	for _, q := range []string{"OrderId=COL-1", "orderid=COL-1", "BillReferenceNumber=ORD-7", "OrderId=COL-1&BillReferenceNumber=ORD-7"} {
		resp, raw = e.do("GET", e.pochiURL("/collections/mpesa/collection-query?"+q), token, nil)
		exactly(t, "collection-query?"+q, resp, raw, 200, want)
	}
}

func TestPochipayUnknownCollectionAnswers404(t *testing.T) {
	const notFound = `{"result":null,"message":"Collection not found","errors":["Collection not found"]}`
	e := newSTKEnv(t, nil)
	token := e.pochiToken()
	e.pochiCollectOK(token, pochiBody("COL-1", stkPhone, "https://shop.example/cb"))
	resp, raw := e.do("POST", e.pochiURL("/collections/mpesa/transaction-status"), token,
		map[string]string{"collectionId": "00000000-0000-4000-8000-000000000000"})
	exactly(t, "unknown collectionId", resp, raw, 404, notFound)
	for _, q := range []string{"OrderId=COL-404", "MpesaReference=SBXAAAAAAA", "BillReferenceNumber=ORD-404", "OrderId=COL-1&BillReferenceNumber=ORD-404"} {
		resp, raw = e.do("GET", e.pochiURL("/collections/mpesa/collection-query?"+q), token, nil)
		exactly(t, q, resp, raw, 404, notFound)
	}
	resp, raw = e.do("GET", e.pochiURL("/collections/mpesa/collection-query"), token, nil)
	exactly(t, "no parameter", resp, raw, 400,
		`{"result":null,"message":"Provide OrderId, MpesaReference or BillReferenceNumber","errors":["Provide OrderId, MpesaReference or BillReferenceNumber"]}`)
	resp, raw = e.do("POST", e.pochiURL("/collections/mpesa/transaction-status"), token, map[string]string{})
	exactly(t, "no collectionId", resp, raw, 400, `{"result":null,"message":"CollectionId is required","errors":["CollectionId is required"]}`)
}
