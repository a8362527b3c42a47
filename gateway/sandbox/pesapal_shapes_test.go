package sandbox

import (
	"bytes"
	"net/http"
	"net/url"
	"reflect"
	"sort"
	"strings"
	"testing"

	"checkout/gateway/internal/fixture"
)

// pesapalFixture reads a fixture of the Pesapal client's testdata: the
// document's examples (doc-*) and the shapes assumed where it has none
// (assumed-*, listed in its ASSUMED.md).
func pesapalFixture(t *testing.T, name string) []byte {
	t.Helper()
	return fixture.Read(t, "..", "pesapal", "testdata", name)
}

// raw sends a request with the body exactly as given.
func (e *testEnv) raw(method, url, token string, body []byte) (*http.Response, []byte) {
	e.t.Helper()
	req, err := http.NewRequest(method, url, bytes.NewReader(body))
	if err != nil {
		e.t.Fatal(err)
	}
	req.Header.Set("Accept", "application/json")
	req.Header.Set("Content-Type", "application/json")
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	return e.send(req)
}

func TestPesapalAnswersHaveTheShapesOfTheDocumentExamples(t *testing.T) {
	e := newEnv(t, nil)
	token := e.token()
	ipnID := e.registerIPN(token, "https://shop.example/ipn/pesapal", "GET")
	submit := func(ref string) string { return e.submit(token, orderBody(ref, ipnID, "https://shop.example/return")) }
	topLevel := submit("att_pending_1") // the first order: PendingTopLevel
	nested := submit("att_pending_2")
	completed, declined, reversed := submit("att_done"), submit("att_declined"), submit("att_reversed")
	for _, err := range []error{
		e.sb.PesapalComplete(completed, false),
		e.sb.PesapalDecline(declined, false),
		e.sb.PesapalComplete(reversed, false),
		e.sb.PesapalReverse(reversed),
	} {
		if err != nil {
			t.Fatal(err)
		}
	}
	status := func(id string) func() (*http.Response, []byte) {
		return func() (*http.Response, []byte) {
			return e.do("GET", e.apiURL("/api/Transactions/GetTransactionStatus?orderTrackingId="+url.QueryEscape(id)), token, nil)
		}
	}
	const docError = "doc-error-object.json"

	tests := []struct {
		name       string
		fixture    string
		wantStatus int
		call       func() (*http.Response, []byte)
	}{
		{"RequestToken", "doc-auth-requesttoken-response.json", 200, func() (*http.Response, []byte) {
			return e.do("POST", e.apiURL("/api/Auth/RequestToken"), "", map[string]string{"consumer_key": testKey, "consumer_secret": testSecret})
		}},
		{"RegisterIPN", "doc-registeripn-response.json", 200, func() (*http.Response, []byte) {
			return e.do("POST", e.apiURL("/api/URLSetup/RegisterIPN"), token,
				map[string]string{"url": "https://shop.example/ipn/pesapal", "ipn_notification_type": "GET"})
		}},
		{"GetIpnList", "doc-getipnlist-response.json", 200, func() (*http.Response, []byte) {
			return e.do("GET", e.apiURL("/api/URLSetup/GetIpnList"), token, nil)
		}},
		{"SubmitOrderRequest", "doc-submitorderrequest-response.json", 200, func() (*http.Response, []byte) {
			return e.do("POST", e.apiURL("/api/Transactions/SubmitOrderRequest"), token, orderBody("att_new", ipnID, "https://shop.example/return"))
		}},
		{"GetTransactionStatus, completed", "doc-gettransactionstatus-response.json", 200, status(completed)},
		{"GetTransactionStatus, failed", "doc-gettransactionstatus-response.json", 200, status(declined)},
		{"GetTransactionStatus, reversed", "doc-gettransactionstatus-response.json", 200, status(reversed)},
		{"GetTransactionStatus, pending, error object alone", "assumed-gettransactionstatus-pending-toplevel.json", 500, status(topLevel)},
		{"GetTransactionStatus, pending, error object under error", "assumed-gettransactionstatus-pending-nested.json", 200, status(nested)},
		{"error: wrong credentials", docError, 401, func() (*http.Response, []byte) {
			return e.do("POST", e.apiURL("/api/Auth/RequestToken"), "", map[string]string{"consumer_key": "x", "consumer_secret": "y"})
		}},
		{"error: no token", docError, 401, func() (*http.Response, []byte) {
			return e.do("GET", e.apiURL("/api/URLSetup/GetIpnList"), "", nil)
		}},
		{"error: body not JSON", docError, 400, func() (*http.Response, []byte) {
			return e.raw("POST", e.apiURL("/api/URLSetup/RegisterIPN"), token, []byte(`{"url":`))
		}},
		{"error: RegisterIPN refused", docError, 400, func() (*http.Response, []byte) {
			return e.do("POST", e.apiURL("/api/URLSetup/RegisterIPN"), token, map[string]string{"url": "ipn", "ipn_notification_type": "GET"})
		}},
		{"error: SubmitOrderRequest refused", docError, 400, func() (*http.Response, []byte) {
			return e.do("POST", e.apiURL("/api/Transactions/SubmitOrderRequest"), token, orderBody("", ipnID, "https://shop.example/return"))
		}},
		{"error: SubmitOrderRequest id used before", docError, 409, func() (*http.Response, []byte) {
			return e.do("POST", e.apiURL("/api/Transactions/SubmitOrderRequest"), token, orderBody("att_done", ipnID, "https://shop.example/return"))
		}},
		{"error: GetTransactionStatus unknown order", docError, 404, status("b945e4af-80a5-4ec1-8706-e03f8332fb04")},
		{"error: GetTransactionStatus without orderTrackingId", docError, 400, status("")},
		{"error: GetTransactionStatus unavailable", docError, 503, func() (*http.Response, []byte) {
			e.sb.FailStatusQueries(1)
			return status(completed)()
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			resp, got := tt.call()
			if resp.StatusCode != tt.wantStatus {
				t.Errorf("HTTP %d, want %d", resp.StatusCode, tt.wantStatus)
			}
			fixture.SameShape(t, tt.fixture, pesapalFixture(t, tt.fixture), got)
		})
	}
}

func TestPesapalAcceptsTheDocumentExampleRequests(t *testing.T) {
	// The document's example credentials, so that its token request is
	// accepted as it stands.
	e := newEnv(t, func(c *Config) { c.ConsumerKey, c.ConsumerSecret = "xxxxx", "xxxxxx" })

	resp, raw := e.raw("POST", e.apiURL("/api/Auth/RequestToken"), "", pesapalFixture(t, "doc-auth-requesttoken-request.json"))
	if resp.StatusCode != 200 {
		t.Fatalf("RequestToken example: HTTP %d %s", resp.StatusCode, raw)
	}
	token := decodeObject(t, raw)["token"].(string)

	resp, raw = e.raw("POST", e.apiURL("/api/URLSetup/RegisterIPN"), token, pesapalFixture(t, "doc-registeripn-request.json"))
	if resp.StatusCode != 200 {
		t.Fatalf("RegisterIPN example: HTTP %d %s", resp.StatusCode, raw)
	}
	reg := decodeObject(t, raw)
	if reg["url"] != "https://www.myapplication.com/ipn" || reg["ipn_notification_type_description"] != "GET" {
		t.Errorf("registration = %v", reg)
	}

	// The example's notification_id is one of Pesapal's: use ours.
	order := bytes.Replace(pesapalFixture(t, "doc-submitorderrequest-request.json"),
		[]byte("fe078e53-78da-4a83-aa89-e7ded5c456e6"), []byte(reg["ipn_id"].(string)), 1)
	resp, raw = e.raw("POST", e.apiURL("/api/Transactions/SubmitOrderRequest"), token, order)
	if resp.StatusCode != 200 {
		t.Fatalf("SubmitOrderRequest example: HTTP %d %s", resp.StatusCode, raw)
	}
	id := decodeObject(t, raw)["order_tracking_id"].(string)
	o, _ := e.sb.PesapalOrder(id)
	if o.MerchantReference != "AA1122-3344ZZ" || o.Amount != 10000 || o.Currency != "KES" ||
		o.Email != "john.doe@example.com" || o.Phone != "0723xxxxxx" {
		t.Errorf("order from the example = %+v", o)
	}

	// The status request's example query, with the example's placeholder
	// id: found missing as an order, not refused as a request.
	resp, raw = e.do("GET", e.apiURL("/api/Transactions/GetTransactionStatus?"+
		string(pesapalFixture(t, "doc-gettransactionstatus-request.query"))), token, nil)
	if resp.StatusCode != http.StatusNotFound {
		t.Errorf("GetTransactionStatus example: HTTP %d %s, want 404 (no such order)", resp.StatusCode, raw)
	}
	checkJSON(t, "answer", decodeObject(t, raw), errorWant("order_not_found"))
}

// queryKeys lists the keys of a raw query in their order.
func queryKeys(t *testing.T, raw string) []string {
	t.Helper()
	var keys []string
	for _, kv := range strings.Split(raw, "&") {
		k, _, _ := strings.Cut(kv, "=")
		key, err := url.QueryUnescape(k)
		if err != nil {
			t.Fatal(err)
		}
		keys = append(keys, key)
	}
	return keys
}

func TestPesapalNotificationsHaveTheShapesOfTheDocumentExamples(t *testing.T) {
	t.Run("callback URL query", func(t *testing.T) {
		e := newEnv(t, nil)
		token := e.token()
		ipnID := e.registerIPN(token, "https://shop.example/ipn/pesapal", "GET")
		id := e.submit(token, orderBody("att_cb", ipnID, "https://shop.example/return/pesapal"))

		resp, _ := e.postPay("OrderTrackingId=" + id + "&method=mpesa&action=pay")
		loc, err := url.Parse(resp.Header.Get("Location"))
		if err != nil {
			t.Fatal(err)
		}
		want := queryKeys(t, string(pesapalFixture(t, "doc-callback-query.query")))
		if got := queryKeys(t, loc.RawQuery); !reflect.DeepEqual(got, want) {
			t.Errorf("callback query keys = %v, want the example's %v", got, want)
		}
		if loc.Query().Get("OrderNotificationType") != "CALLBACKURL" {
			t.Errorf("callback query = %s, want OrderNotificationType=CALLBACKURL", loc.RawQuery)
		}
	})
	for _, method := range []string{"GET", "POST"} {
		t.Run("IPN by "+method, func(t *testing.T) {
			rc := newIPNReceiver(t, nil)
			e := newEnv(t, nil)
			token := e.token()
			ipnID := e.registerIPN(token, rc.srv.URL+"/ipn/pesapal", method)
			id := e.submit(token, orderBody("att_ipn", ipnID, "https://shop.example/return"))
			if err := e.sb.SendIPN(id); err != nil {
				t.Fatal(err)
			}
			got := rc.next(t)
			if method == "GET" {
				want := queryKeys(t, string(pesapalFixture(t, "doc-ipn-get.query")))
				var keys []string
				for k := range got.Query {
					keys = append(keys, k)
				}
				sort.Strings(keys)
				sort.Strings(want)
				if !reflect.DeepEqual(keys, want) || got.Body != "" {
					t.Errorf("IPN query keys = %v, body %q; want the example's %v and no body", keys, got.Body, want)
				}
				if got.Query.Get("OrderNotificationType") != "IPNCHANGE" {
					t.Errorf("IPN query = %v, want OrderNotificationType=IPNCHANGE", got.Query)
				}
				return
			}
			fixture.SameShape(t, "IPN POST body", pesapalFixture(t, "doc-ipn-post.json"), []byte(got.Body))
			if len(got.Query) != 0 || got.ContentType != "application/json" {
				t.Errorf("IPN query %v, Content-Type %q; want none and application/json", got.Query, got.ContentType)
			}
		})
	}
}
