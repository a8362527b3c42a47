package sandbox

import (
	"encoding/json"
	"net/url"
	"testing"

	"checkout/gateway"
	"checkout/gateway/internal/fixture"
)

// pochiExample reads one of the Pochipay client's example bodies (the
// documented token answer and the assumed rest, listed in ASSUMED.md
// there).
func pochiExample(t *testing.T, name string) []byte {
	t.Helper()
	return fixture.Read(t, "../pochipay/testdata", name)
}

// pochiExampleCollection is the example collection request with its
// orderId, phone and callback URL replaced, sent as the bytes the client
// would send.
func pochiExampleCollection(t *testing.T, orderID, phone, callback string) string {
	t.Helper()
	var body map[string]any
	if err := json.Unmarshal(pochiExample(t, "assumed-collections-push-request.json"), &body); err != nil {
		t.Fatal(err)
	}
	body["orderId"], body["phoneNumber"], body["callbackUrl"] = orderID, phone, callback
	b, err := json.Marshal(body)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

func TestPochipayTokenAnswersHaveTheExamplesShapes(t *testing.T) {
	e := newSTKEnv(t, nil)
	resp, raw := e.doRaw("POST", e.pochiURL("/account/token"), "", "application/json",
		`{"email":"`+pochiEmail+`","password":"`+pochiPassword+`"}`)
	if resp.StatusCode != 200 {
		t.Fatalf("token: HTTP %d %s", resp.StatusCode, raw)
	}
	fixture.SameShape(t, "token answer", pochiExample(t, "doc-token-response.json"), raw)

	// The example request itself (its credentials are not the sandbox's)
	// is read, and refused in the envelope of every error.
	resp, raw = e.doRaw("POST", e.pochiURL("/account/token"), "", "application/json",
		string(pochiExample(t, "assumed-token-request.json")))
	if resp.StatusCode != 401 {
		t.Errorf("token with the example's credentials: HTTP %d %s, want 401", resp.StatusCode, raw)
	}
	fixture.SameShape(t, "refused token", pochiExample(t, "assumed-collections-push-error.json"), raw)
}

func TestPochipayCollectionAnswersHaveTheExamplesShapes(t *testing.T) {
	rc := callbackReceiver(t, nil)
	e := newSTKEnv(t, nil)
	token := e.pochiToken()
	bearer := "Bearer " + token
	collect := func(orderID, phone string) []byte {
		t.Helper()
		resp, raw := e.doRaw("POST", e.pochiURL("/collections/mpesa"), bearer, "application/json",
			pochiExampleCollection(t, orderID, phone, rc.srv.URL+"/callback/pochipay"))
		if resp.StatusCode != 200 {
			t.Fatalf("collect %s: HTTP %d %s", orderID, resp.StatusCode, raw)
		}
		fixture.SameShape(t, "collect "+orderID, pochiExample(t, "assumed-collections-push-response.json"), raw)
		return raw
	}
	collectionID := func(raw []byte) string {
		var a struct {
			Result struct {
				CollectionID string `json:"collectionId"`
			} `json:"result"`
		}
		if err := json.Unmarshal(raw, &a); err != nil || a.Result.CollectionID == "" {
			t.Fatalf("no collectionId in %s (%v)", raw, err)
		}
		return a.Result.CollectionID
	}
	// both asks transaction-status and collection-query about a collection
	// and compares each answer with its example.
	both := func(label, id, orderID, example string, status int) {
		t.Helper()
		resp, raw := e.doRaw("POST", e.pochiURL("/collections/mpesa/transaction-status"), bearer, "application/json",
			`{"collectionId":"`+id+`"}`)
		if resp.StatusCode != status {
			t.Errorf("%s: transaction-status HTTP %d %s, want %d", label, resp.StatusCode, raw, status)
		}
		fixture.SameShape(t, label+": transaction-status", pochiExample(t, "assumed-collections-status-"+example+".json"), raw)
		resp, raw = e.doRaw("GET", e.pochiURL("/collections/mpesa/collection-query?"+url.Values{"OrderId": {orderID}}.Encode()),
			bearer, "", "")
		if resp.StatusCode != status {
			t.Errorf("%s: collection-query HTTP %d %s, want %d", label, resp.StatusCode, raw, status)
		}
		fixture.SameShape(t, label+": collection-query", pochiExample(t, "assumed-collections-query-"+example+".json"), raw)
	}
	callback := func(label, example string) {
		t.Helper()
		got := rc.next(t)
		fixture.SameShape(t, label+": callback", pochiExample(t, "assumed-collections-callback-"+example+".json"), []byte(got.Body))
	}

	paid := collectionID(collect("COL-1", stkPhone))
	both("pending", paid, "COL-1", "pending", 200)
	if err := e.sb.STKAnswer(STKPochipay, "COL-1", STKCodeSuccess, true); err != nil {
		t.Fatal(err)
	}
	callback("paid", "success")
	both("paid", paid, "COL-1", "complete", 200)

	declined := collectionID(collect("COL-2", stkPhone))
	if err := e.sb.STKAnswer(STKPochipay, "COL-2", STKCodeCancelled, true); err != nil {
		t.Fatal(err)
	}
	callback("declined", "failed")
	both("declined", declined, "COL-2", "failed", 200)

	short := collectionID(collect("COL-3", stkPhone))
	if err := e.sb.STKAnswerAmount(STKPochipay, "COL-3", gateway.Amount(100000), true); err != nil {
		t.Fatal(err)
	}
	callback("another amount", "success")
	both("another amount", short, "COL-3", "complete-amount", 200)

	both("unknown", "00000000-0000-4000-8000-000000000000", "COL-404", "notfound", 404)
}

func TestPochipayRefusalsHaveTheErrorExampleShape(t *testing.T) {
	e := newSTKEnv(t, nil)
	token := e.pochiToken()
	bearer := "Bearer " + token
	want := pochiExample(t, "assumed-collections-push-error.json")
	e.pochiCollectOK(token, pochiBody("COL-1", stkPhone, "https://shop.example/cb"))
	for _, c := range []struct {
		label, authorization, body string
		status                     int
	}{
		{"invalid phone", bearer, pochiExampleCollection(t, "COL-2", "0712345678", "https://shop.example/cb"), 400},
		{"phone with a prompt", bearer, pochiExampleCollection(t, "COL-2", stkPhone, "https://shop.example/cb"), 400},
		{"used orderId", bearer, pochiExampleCollection(t, "COL-1", stkPhone2, "https://shop.example/cb"), 400},
		{"bare token", token, pochiExampleCollection(t, "COL-3", stkPhone2, "https://shop.example/cb"), 401},
	} {
		resp, raw := e.doRaw("POST", e.pochiURL("/collections/mpesa"), c.authorization, "application/json", c.body)
		if resp.StatusCode != c.status {
			t.Errorf("%s: HTTP %d %s, want %d", c.label, resp.StatusCode, raw, c.status)
		}
		fixture.SameShape(t, c.label, want, raw)
	}
}
