package sandbox

import (
	"encoding/json"
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"
)

func TestPesapalBaseURLIsPublicURLPlusAPIPath(t *testing.T) {
	sb := New(Config{PublicURL: "http://localhost:8080/"})
	defer sb.Close()
	if got, want := sb.PesapalBaseURL(), "http://localhost:8080/sandbox/pesapal/v3"; got != want {
		t.Errorf("PesapalBaseURL() = %q, want %q", got, want)
	}
}

func TestRequestTokenIssuesTokenThatExpiresAfterTTL(t *testing.T) {
	e := newEnv(t, func(c *Config) { c.TokenTTL = 5 * time.Minute })
	issuedAt := e.clock.Now()

	resp, raw := e.do("POST", e.apiURL("/api/Auth/RequestToken"), "",
		map[string]string{"consumer_key": testKey, "consumer_secret": testSecret})
	if resp.StatusCode != 200 {
		t.Fatalf("HTTP %d, want 200: %s", resp.StatusCode, raw)
	}
	if ct := resp.Header.Get("Content-Type"); !strings.HasPrefix(ct, "application/json") {
		t.Errorf("Content-Type = %q, want application/json", ct)
	}
	body := decodeObject(t, raw)
	checkJSON(t, "token answer", body, map[string]any{
		"token":      matches(`^[A-Za-z0-9_-]{40,}$`),
		"expiryDate": "2026-03-14T09:31:53.5897932Z", // issuedAt + 5m, UTC, 7 decimals
		"error":      nil,
		"status":     "200",
		"message":    "Request processed successfully",
	})
	expiry, err := time.Parse(time.RFC3339Nano, body["expiryDate"].(string))
	if err != nil || !expiry.Equal(issuedAt.Add(5*time.Minute)) {
		t.Errorf("expiryDate parses to %v (%v), want %v", expiry, err, issuedAt.Add(5*time.Minute))
	}
	token := body["token"].(string)
	if got := e.sb.TokensIssued(); got != 1 {
		t.Errorf("TokensIssued() = %d, want 1", got)
	}

	e.clock.Add(5*time.Minute - time.Nanosecond)
	if resp, raw := e.do("GET", e.apiURL("/api/URLSetup/GetIpnList"), token, nil); resp.StatusCode != 200 {
		t.Fatalf("just before expiry: HTTP %d, want 200: %s", resp.StatusCode, raw)
	}

	e.clock.Add(time.Nanosecond)
	resp, raw = e.do("GET", e.apiURL("/api/URLSetup/GetIpnList"), token, nil)
	if resp.StatusCode != http.StatusUnauthorized {
		t.Fatalf("at expiry: HTTP %d, want 401: %s", resp.StatusCode, raw)
	}
	checkJSON(t, "expired token answer", decodeObject(t, raw), errorWant("token_expired"))
	if got := resp.Header.Get("WWW-Authenticate"); got != `Bearer error="invalid_token"` {
		t.Errorf("WWW-Authenticate = %q", got)
	}

	fresh := e.token()
	if fresh == token {
		t.Error("a new token repeats the expired one")
	}
	if resp, raw := e.do("GET", e.apiURL("/api/URLSetup/GetIpnList"), fresh, nil); resp.StatusCode != 200 {
		t.Fatalf("fresh token: HTTP %d, want 200: %s", resp.StatusCode, raw)
	}
	if got := e.sb.TokensIssued(); got != 2 {
		t.Errorf("TokensIssued() = %d, want 2", got)
	}
}

func TestExpireTokensExpiresEveryIssuedToken(t *testing.T) {
	e := newEnv(t, nil)
	a, b := e.token(), e.token()
	e.sb.ExpireTokens()
	for _, token := range []string{a, b} {
		resp, raw := e.do("GET", e.apiURL("/api/URLSetup/GetIpnList"), token, nil)
		if resp.StatusCode != http.StatusUnauthorized {
			t.Fatalf("HTTP %d, want 401: %s", resp.StatusCode, raw)
		}
		checkJSON(t, "answer", decodeObject(t, raw), errorWant("token_expired"))
	}
	if resp, raw := e.do("GET", e.apiURL("/api/URLSetup/GetIpnList"), e.token(), nil); resp.StatusCode != 200 {
		t.Fatalf("token issued after ExpireTokens: HTTP %d, want 200: %s", resp.StatusCode, raw)
	}
}

func TestEveryAPIEndpointButRequestTokenNeedsABearerToken(t *testing.T) {
	e := newEnv(t, nil)
	endpoints := []struct{ method, path string }{
		{"POST", "/api/URLSetup/RegisterIPN"},
		{"GET", "/api/URLSetup/GetIpnList"},
		{"POST", "/api/Transactions/SubmitOrderRequest"},
		{"GET", "/api/Transactions/GetTransactionStatus?orderTrackingId=x"},
	}
	auths := []struct{ name, header, code string }{
		{"no header", "", "missing_token"},
		{"basic scheme", "Basic " + testKey, "missing_token"},
		{"bearer without token", "Bearer ", "missing_token"},
		{"unknown token", "Bearer not-a-token-we-issued", "invalid_token"},
	}
	for _, ep := range endpoints {
		for _, a := range auths {
			t.Run(ep.path+"/"+a.name, func(t *testing.T) {
				var body *strings.Reader
				if ep.method == "POST" {
					body = strings.NewReader(`{}`)
				} else {
					body = strings.NewReader(``)
				}
				req, _ := http.NewRequest(ep.method, e.apiURL(ep.path), body)
				req.Header.Set("Content-Type", "application/json")
				if a.header != "" {
					req.Header.Set("Authorization", a.header)
				}
				resp, raw := e.send(req)
				if resp.StatusCode != http.StatusUnauthorized {
					t.Fatalf("HTTP %d, want 401: %s", resp.StatusCode, raw)
				}
				checkJSON(t, "answer", decodeObject(t, raw), errorWant(a.code))
			})
		}
	}
}

func TestRequestTokenRefusesWrongCredentials(t *testing.T) {
	e := newEnv(t, nil)
	cases := []struct {
		name string
		body map[string]string
	}{
		{"wrong key", map[string]string{"consumer_key": "nope", "consumer_secret": testSecret}},
		{"wrong secret", map[string]string{"consumer_key": testKey, "consumer_secret": "nope"}},
		{"key and secret swapped", map[string]string{"consumer_key": testSecret, "consumer_secret": testKey}},
		{"empty", map[string]string{"consumer_key": "", "consumer_secret": ""}},
		{"missing", map[string]string{}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			resp, raw := e.do("POST", e.apiURL("/api/Auth/RequestToken"), "", c.body)
			if resp.StatusCode != http.StatusUnauthorized {
				t.Fatalf("HTTP %d, want 401: %s", resp.StatusCode, raw)
			}
			checkJSON(t, "answer", decodeObject(t, raw), errorWant("invalid_consumer_key_or_secret_provided"))
		})
	}
	if got := e.sb.TokensIssued(); got != 0 {
		t.Errorf("TokensIssued() = %d, want 0", got)
	}
}

func TestEmptyConfiguredCredentialsAcceptNothing(t *testing.T) {
	e := newEnv(t, func(c *Config) { c.ConsumerKey, c.ConsumerSecret = "", "" })
	resp, raw := e.do("POST", e.apiURL("/api/Auth/RequestToken"), "",
		map[string]string{"consumer_key": "", "consumer_secret": ""})
	if resp.StatusCode != http.StatusUnauthorized {
		t.Fatalf("HTTP %d, want 401: %s", resp.StatusCode, raw)
	}
}

func TestRequestBodiesMustBeJSON(t *testing.T) {
	e := newEnv(t, nil)
	cases := []struct {
		name, contentType, body string
		status                  int
		code                    string
	}{
		{"form body", "application/x-www-form-urlencoded", "consumer_key=a", 415, "unsupported_media_type"},
		{"no content type", "", `{"consumer_key":"a"}`, 415, "unsupported_media_type"},
		{"broken JSON", "application/json", `{"consumer_key":`, 400, "invalid_json"},
		{"two objects", "application/json; charset=utf-8", `{} {}`, 400, "invalid_json"},
		{"wrong type", "application/json", `{"consumer_key":5}`, 400, "invalid_json"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			req, _ := http.NewRequest("POST", e.apiURL("/api/Auth/RequestToken"), strings.NewReader(c.body))
			if c.contentType != "" {
				req.Header.Set("Content-Type", c.contentType)
			}
			resp, raw := e.send(req)
			if resp.StatusCode != c.status {
				t.Fatalf("HTTP %d, want %d: %s", resp.StatusCode, c.status, raw)
			}
			checkJSON(t, "answer", decodeObject(t, raw), errorWant(c.code))
		})
	}
}

func TestRegisterIPNAnswersAsTheSampleAndGetIpnListListsRegistrations(t *testing.T) {
	e := newEnv(t, nil)
	token := e.token()
	created := "2026-03-14T09:26:53.5897932Z"

	resp, raw := e.do("POST", e.apiURL("/api/URLSetup/RegisterIPN"), token,
		map[string]string{"url": "https://shop.example/ipn/pesapal", "ipn_notification_type": "GET"})
	if resp.StatusCode != 200 {
		t.Fatalf("HTTP %d: %s", resp.StatusCode, raw)
	}
	get := decodeObject(t, raw)
	checkJSON(t, "GET registration", get, map[string]any{
		"url":                               "https://shop.example/ipn/pesapal",
		"created_date":                      created,
		"ipn_id":                            matches(guidPattern),
		"notification_type":                 json.Number("0"),
		"ipn_notification_type_description": "GET",
		"ipn_status":                        json.Number("1"),
		"ipn_status_description":            "Active",
		"error":                             nil,
		"status":                            "200",
	})

	e.clock.Add(time.Second)
	resp, raw = e.do("POST", e.apiURL("/api/URLSetup/RegisterIPN"), token,
		map[string]string{"url": "https://shop.example/ipn/pesapal?v=2", "ipn_notification_type": "POST"})
	if resp.StatusCode != 200 {
		t.Fatalf("HTTP %d: %s", resp.StatusCode, raw)
	}
	post := decodeObject(t, raw)
	checkJSON(t, "POST registration", post, map[string]any{
		"url":                               "https://shop.example/ipn/pesapal?v=2",
		"created_date":                      "2026-03-14T09:26:54.5897932Z",
		"ipn_id":                            matches(guidPattern),
		"notification_type":                 json.Number("1"),
		"ipn_notification_type_description": "POST",
		"ipn_status":                        json.Number("1"),
		"ipn_status_description":            "Active",
		"error":                             nil,
		"status":                            "200",
	})
	if post["ipn_id"] == get["ipn_id"] {
		t.Error("two registrations share an ipn_id")
	}

	// The same URL and method again: the first registration comes back.
	resp, raw = e.do("POST", e.apiURL("/api/URLSetup/RegisterIPN"), token,
		map[string]string{"url": "https://shop.example/ipn/pesapal", "ipn_notification_type": "GET"})
	if again := decodeObject(t, raw); resp.StatusCode != 200 || again["ipn_id"] != get["ipn_id"] || again["created_date"] != created {
		t.Errorf("re-registration: HTTP %d %v, want the first registration %v", resp.StatusCode, again, get)
	}

	resp, raw = e.do("GET", e.apiURL("/api/URLSetup/GetIpnList"), token, nil)
	if resp.StatusCode != 200 {
		t.Fatalf("GetIpnList: HTTP %d: %s", resp.StatusCode, raw)
	}
	var list []map[string]any
	if err := json.Unmarshal(raw, &list); err != nil {
		t.Fatalf("GetIpnList is not a JSON array: %v: %s", err, raw)
	}
	if len(list) != 2 {
		t.Fatalf("GetIpnList has %d items, want 2: %s", len(list), raw)
	}
	checkJSON(t, "list[0]", list[0], map[string]any{
		"url": "https://shop.example/ipn/pesapal", "created_date": created,
		"ipn_id": get["ipn_id"], "error": nil, "status": "200",
	})
	checkJSON(t, "list[1]", list[1], map[string]any{
		"url": "https://shop.example/ipn/pesapal?v=2", "created_date": "2026-03-14T09:26:54.5897932Z",
		"ipn_id": post["ipn_id"], "error": nil, "status": "200",
	})
}

func TestRegisterIPNRejectsBadURLAndMethod(t *testing.T) {
	e := newEnv(t, nil)
	token := e.token()
	cases := []struct {
		name, url, method, code string
	}{
		{"missing url", "", "GET", "invalid_ipn_url"},
		{"relative url", "/ipn/pesapal", "GET", "invalid_ipn_url"},
		{"ftp url", "ftp://shop.example/ipn", "GET", "invalid_ipn_url"},
		{"missing method", "https://shop.example/ipn", "", "invalid_ipn_notification_type"},
		{"PUT", "https://shop.example/ipn", "PUT", "invalid_ipn_notification_type"},
		{"lower case get", "https://shop.example/ipn", "get", "invalid_ipn_notification_type"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			resp, raw := e.do("POST", e.apiURL("/api/URLSetup/RegisterIPN"), token,
				map[string]string{"url": c.url, "ipn_notification_type": c.method})
			if resp.StatusCode != 400 {
				t.Fatalf("HTTP %d, want 400: %s", resp.StatusCode, raw)
			}
			checkJSON(t, "answer", decodeObject(t, raw), errorWant(c.code))
		})
	}
	_, raw := e.do("GET", e.apiURL("/api/URLSetup/GetIpnList"), token, nil)
	if strings.TrimSpace(string(raw)) != "[]" {
		t.Errorf("GetIpnList after refused registrations = %s, want []", raw)
	}
}

func TestSubmitOrderRequestAnswersTrackingIDAndRedirectURL(t *testing.T) {
	e := newEnv(t, nil)
	token := e.token()
	ipnID := e.registerIPN(token, "https://shop.example/ipn/pesapal", "GET")

	resp, raw := e.do("POST", e.apiURL("/api/Transactions/SubmitOrderRequest"), token,
		orderBody("att_01HZX", ipnID, "https://shop.example/return/pesapal"))
	if resp.StatusCode != 200 {
		t.Fatalf("HTTP %d: %s", resp.StatusCode, raw)
	}
	body := decodeObject(t, raw)
	checkJSON(t, "answer", body, map[string]any{
		"order_tracking_id":  matches(guidPattern),
		"merchant_reference": "att_01HZX",
		"redirect_url":       matches(`^` + e.srv.URL + `/sandbox/pesapal/pay\?OrderTrackingId=[0-9a-f-]{36}$`),
		"error":              nil,
		"status":             "200",
	})
	id := body["order_tracking_id"].(string)
	if want := e.srv.URL + "/sandbox/pesapal/pay?OrderTrackingId=" + id; body["redirect_url"] != want {
		t.Errorf("redirect_url = %v, want %s", body["redirect_url"], want)
	}

	o, ok := e.sb.PesapalOrder(id)
	if !ok {
		t.Fatal("PesapalOrder: order not found")
	}
	want := Order{
		TrackingID:        id,
		MerchantReference: "att_01HZX",
		Amount:            150000,
		Currency:          "KES",
		Description:       "Two bags of maize flour",
		CallbackURL:       "https://shop.example/return/pesapal",
		NotificationID:    ipnID,
		Email:             "wanjiku@example.com",
		Phone:             "0712 345 678",
		StatusCode:        PesapalStatusInvalid,
		CreatedAt:         e.clock.Now(),
		UpdatedAt:         e.clock.Now(),
		PendingTopLevel:   true, // the first order submitted
	}
	if o != want {
		t.Errorf("PesapalOrder =\n%+v\nwant\n%+v", o, want)
	}
	if byRef, ok := e.sb.PesapalOrderByReference("att_01HZX"); !ok || byRef != o {
		t.Errorf("PesapalOrderByReference = %+v, %v; want %+v", byRef, ok, o)
	}
	if _, ok := e.sb.PesapalOrderByReference("nope"); ok {
		t.Error("PesapalOrderByReference found an order for an unknown reference")
	}
}

func TestSubmitOrderRequestRejectsInvalidOrders(t *testing.T) {
	e := newEnv(t, nil)
	token := e.token()
	ipnID := e.registerIPN(token, "https://shop.example/ipn/pesapal", "GET")
	cases := []struct {
		name string
		edit func(b map[string]any)
		code string
	}{
		{"missing id", func(b map[string]any) { delete(b, "id") }, "invalid_merchant_reference"},
		{"blank id", func(b map[string]any) { b["id"] = "  " }, "invalid_merchant_reference"},
		{"id of 51 characters", func(b map[string]any) { b["id"] = strings.Repeat("a", 51) }, "invalid_merchant_reference"},
		{"missing currency", func(b map[string]any) { delete(b, "currency") }, "invalid_currency"},
		{"lower case currency", func(b map[string]any) { b["currency"] = "kes" }, "invalid_currency"},
		{"currency not a code", func(b map[string]any) { b["currency"] = "KSH1" }, "invalid_currency"},
		{"missing amount", func(b map[string]any) { delete(b, "amount") }, "invalid_amount"},
		{"null amount", func(b map[string]any) { b["amount"] = nil }, "invalid_amount"},
		{"zero amount", func(b map[string]any) { b["amount"] = json.Number("0") }, "invalid_amount"},
		{"negative amount", func(b map[string]any) { b["amount"] = json.Number("-5") }, "invalid_amount"},
		{"three decimals", func(b map[string]any) { b["amount"] = json.Number("10.005") }, "invalid_amount"},
		{"exponent", func(b map[string]any) { b["amount"] = json.Number("1e3") }, "invalid_amount"},
		{"missing description", func(b map[string]any) { delete(b, "description") }, "invalid_description"},
		{"description of 101 characters", func(b map[string]any) { b["description"] = strings.Repeat("d", 101) }, "invalid_description"},
		{"bad redirect_mode", func(b map[string]any) { b["redirect_mode"] = "NEW_WINDOW" }, "invalid_redirect_mode"},
		{"missing callback_url", func(b map[string]any) { delete(b, "callback_url") }, "invalid_callback_url"},
		{"relative callback_url", func(b map[string]any) { b["callback_url"] = "/return" }, "invalid_callback_url"},
		{"javascript callback_url", func(b map[string]any) { b["callback_url"] = "javascript:alert(1)" }, "invalid_callback_url"},
		{"bad cancellation_url", func(b map[string]any) { b["cancellation_url"] = "cancel" }, "invalid_cancellation_url"},
		{"missing notification_id", func(b map[string]any) { delete(b, "notification_id") }, "invalid_notification_id"},
		{"unregistered notification_id", func(b map[string]any) { b["notification_id"] = "fe078e53-78da-4a83-aa89-e7ded5c456e6" }, "invalid_notification_id"},
		{"missing billing_address", func(b map[string]any) { delete(b, "billing_address") }, "invalid_billing_address"},
		{"no email and no phone", func(b map[string]any) {
			a := b["billing_address"].(map[string]any)
			a["email_address"], a["phone_number"] = "", ""
		}, "invalid_billing_address"},
		{"country code of 3 characters", func(b map[string]any) {
			b["billing_address"].(map[string]any)["country_code"] = "KEN"
		}, "invalid_billing_address"},
		{"state of 4 characters", func(b map[string]any) {
			b["billing_address"].(map[string]any)["state"] = "Nair"
		}, "invalid_billing_address"},
	}
	for i, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			body := orderBody("ref-"+strconv.Itoa(i), ipnID, "https://shop.example/return")
			c.edit(body)
			resp, raw := e.do("POST", e.apiURL("/api/Transactions/SubmitOrderRequest"), token, body)
			if resp.StatusCode != 400 {
				t.Fatalf("HTTP %d, want 400: %s", resp.StatusCode, raw)
			}
			checkJSON(t, "answer", decodeObject(t, raw), errorWant(c.code))
		})
	}
	// Edge values that are valid.
	ok := orderBody(strings.Repeat("x", 50), ipnID, "http://shop.example/return?lang=sw")
	ok["description"] = strings.Repeat("é", 100)
	ok["amount"] = "0.01"
	ok["redirect_mode"] = "PARENT_WINDOW"
	ok["cancellation_url"] = "https://shop.example/cancel"
	ok["billing_address"] = map[string]any{"phone_number": "254712345678"}
	id := e.submit(token, ok)
	if o, _ := e.sb.PesapalOrder(id); o.Amount != 1 || o.RedirectMode != "PARENT_WINDOW" || o.CancellationURL != "https://shop.example/cancel" {
		t.Errorf("order from edge values = %+v", o)
	}
}

func TestSubmitOrderRequestRefusesADuplicateID(t *testing.T) {
	e := newEnv(t, nil)
	token := e.token()
	ipnID := e.registerIPN(token, "https://shop.example/ipn/pesapal", "GET")
	first := e.submit(token, orderBody("att_1", ipnID, "https://shop.example/return"))

	body := orderBody("att_1", ipnID, "https://shop.example/return")
	body["amount"] = json.Number("99")
	resp, raw := e.do("POST", e.apiURL("/api/Transactions/SubmitOrderRequest"), token, body)
	if resp.StatusCode != http.StatusConflict {
		t.Fatalf("HTTP %d, want 409: %s", resp.StatusCode, raw)
	}
	checkJSON(t, "answer", decodeObject(t, raw), errorWant("duplicate_merchant_reference"))
	if o, _ := e.sb.PesapalOrderByReference("att_1"); o.TrackingID != first || o.Amount != 150000 {
		t.Errorf("the first order changed: %+v", o)
	}
}

func TestGetTransactionStatusBeforePaymentAnswersThePendingErrorObjectInBothForms(t *testing.T) {
	e := newEnv(t, nil)
	token := e.token()
	ipnID := e.registerIPN(token, "https://shop.example/ipn/pesapal", "GET")
	first := e.submit(token, orderBody("att_6", ipnID, "https://shop.example/return?lang=sw"))
	second := e.submit(token, orderBody("att_7", ipnID, "https://shop.example/return?lang=sw"))

	// The first order (and every other one after it): the bare error object
	// with HTTP 500, every time it is asked while pending.
	for range 2 {
		resp, body := e.status(token, first)
		if resp.StatusCode != http.StatusInternalServerError {
			t.Fatalf("first order: HTTP %d, want 500: %v", resp.StatusCode, body)
		}
		checkJSON(t, "top-level pending answer", body, map[string]any{
			"error_type": "api_error",
			"code":       "payment_details_not_found",
			"message":    "Pending Payment",
		})
	}

	// The second: the whole status answer with the object under "error".
	resp, body := e.status(token, second)
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("second order: HTTP %d, want 200: %v", resp.StatusCode, body)
	}
	callback := "https://shop.example/return?lang=sw&OrderTrackingId=" + second + "&OrderMerchantReference=att_7"
	checkJSON(t, "nested pending answer", body, map[string]any{
		"payment_method":             "",
		"amount":                     json.Number("0"),
		"created_date":               "0001-01-01T00:00:00",
		"confirmation_code":          "",
		"payment_status_description": "INVALID",
		"description":                "",
		"message":                    "Request processed successfully",
		"payment_account":            "",
		"call_back_url":              callback,
		"status_code":                json.Number("0"),
		"merchant_reference":         "att_7",
		"payment_status_code":        "",
		"currency":                   "KES",
		"error": map[string]any{
			"error_type":    "api_error",
			"code":          "payment_details_not_found",
			"message":       "Pending Payment",
			"call_back_url": callback,
		},
		"status": "500",
	})
	if got := e.sb.StatusQueries(); got != 3 {
		t.Errorf("StatusQueries() = %d, want 3", got)
	}
	for _, c := range []struct {
		id   string
		want bool
	}{{first, true}, {second, false}} {
		if o, _ := e.sb.PesapalOrder(c.id); o.PendingTopLevel != c.want {
			t.Errorf("order %s: PendingTopLevel = %v, want %v", o.MerchantReference, o.PendingTopLevel, c.want)
		}
	}
}

func TestGetTransactionStatusForUnknownOrMissingTrackingID(t *testing.T) {
	e := newEnv(t, nil)
	token := e.token()
	cases := []struct {
		name, query string
		status      int
		code        string
	}{
		{"unknown", "?orderTrackingId=b945e4af-80a5-4ec1-8706-e03f8332fb04", 404, "order_not_found"},
		{"missing", "", 400, "missing_order_tracking_id"},
		{"empty", "?orderTrackingId=", 400, "missing_order_tracking_id"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			resp, raw := e.do("GET", e.apiURL("/api/Transactions/GetTransactionStatus"+c.query), token, nil)
			if resp.StatusCode != c.status {
				t.Fatalf("HTTP %d, want %d: %s", resp.StatusCode, c.status, raw)
			}
			checkJSON(t, "answer", decodeObject(t, raw), errorWant(c.code))
		})
	}
}

func TestFailStatusQueriesAnswers503ThenRecovers(t *testing.T) {
	e := newEnv(t, nil)
	token := e.token()
	ipnID := e.registerIPN(token, "https://shop.example/ipn/pesapal", "GET")
	id := e.submit(token, orderBody("att_9", ipnID, "https://shop.example/return"))

	e.sb.FailStatusQueries(2)
	for i := range 2 {
		resp, raw := e.do("GET", e.apiURL("/api/Transactions/GetTransactionStatus?orderTrackingId="+id), token, nil)
		if resp.StatusCode != http.StatusServiceUnavailable {
			t.Fatalf("query %d: HTTP %d, want 503: %s", i+1, resp.StatusCode, raw)
		}
		checkJSON(t, "answer", decodeObject(t, raw), errorWant("service_unavailable"))
	}
	if resp, body := e.status(token, id); resp.StatusCode != 500 || body["code"] != "payment_details_not_found" {
		t.Fatalf("third query: HTTP %d %v, want the pending answer", resp.StatusCode, body)
	}
	if got := e.sb.StatusQueries(); got != 3 {
		t.Errorf("StatusQueries() = %d, want 3", got)
	}
}

func TestGetTransactionStatusAcceptsTheParameterInAnyCase(t *testing.T) {
	e := newEnv(t, nil)
	token := e.token()
	ipnID := e.registerIPN(token, "https://shop.example/ipn/pesapal", "GET")
	e.submit(token, orderBody("att_first", ipnID, "https://shop.example/return"))
	id := e.submit(token, orderBody("att_case", ipnID, "https://shop.example/return")) // answered in full while pending
	resp, raw := e.do("GET", e.apiURL("/api/Transactions/GetTransactionStatus?OrderTrackingId="+id), token, nil)
	if body := decodeObject(t, raw); resp.StatusCode != 200 || body["merchant_reference"] != "att_case" {
		t.Errorf("HTTP %d %v, want the order's answer", resp.StatusCode, body)
	}
}
