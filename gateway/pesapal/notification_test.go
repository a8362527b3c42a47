package pesapal

import (
	"encoding/json"
	"errors"
	"net/url"
	"strings"
	"testing"
	"unicode"
	"unicode/utf8"
)

// docNotification is what the document's IPN samples carry.
var docNotification = Notification{
	OrderTrackingID:        "b945e4af-80a5-4ec1-8706-e03f8332fb04",
	OrderMerchantReference: "TEST1515111119",
	OrderNotificationType:  "IPNCHANGE",
}

// mustQuery parses a raw query or fails the test.
func mustQuery(t *testing.T, raw string) url.Values {
	t.Helper()
	v, err := url.ParseQuery(raw)
	if err != nil {
		t.Fatal(err)
	}
	return v
}

func TestParseNotificationAccepts(t *testing.T) {
	const docQuery = "OrderTrackingId=b945e4af-80a5-4ec1-8706-e03f8332fb04&OrderMerchantReference=TEST1515111119&OrderNotificationType=IPNCHANGE"
	const docJSON = `{
    "OrderNotificationType":"IPNCHANGE",
    "OrderTrackingId":"b945e4af-80a5-4ec1-8706-e03f8332fb04",
    "OrderMerchantReference":"TEST1515111119"
}`
	longest := strings.Repeat("é", 100)
	tests := []struct {
		name        string
		method      string
		query       string
		contentType string
		body        string
		want        Notification
	}{
		{"GET with the document's query", "GET", docQuery, "", "", docNotification},
		{"GET callback", "GET", "OrderTrackingId=t1&OrderMerchantReference=r1&OrderNotificationType=CALLBACKURL", "", "",
			Notification{OrderTrackingID: "t1", OrderMerchantReference: "r1", OrderNotificationType: NotificationCallback}},
		{"GET with lower-case keys", "GET", "ordertrackingid=t1&ordermerchantreference=r1&ordernotificationtype=IPNCHANGE", "", "",
			Notification{OrderTrackingID: "t1", OrderMerchantReference: "r1", OrderNotificationType: NotificationIPN}},
		{"GET with only the tracking id", "GET", "OrderTrackingId=t1", "", "", Notification{OrderTrackingID: "t1"}},
		{"GET with a repeated identical value", "GET", "OrderTrackingId=t1&OrderTrackingId=t1", "", "", Notification{OrderTrackingID: "t1"}},
		{"GET with spaces trimmed", "GET", "OrderTrackingId=+t1+&OrderMerchantReference=%20r1", "", "",
			Notification{OrderTrackingID: "t1", OrderMerchantReference: "r1"}},
		{"GET with 100-character values", "GET", "OrderTrackingId=" + url.QueryEscape(longest), "", "", Notification{OrderTrackingID: longest}},
		{"POST with the document's JSON", "POST", "", "application/json", docJSON, docNotification},
		{"POST JSON with a charset", "POST", "", "application/json; charset=utf-8", docJSON, docNotification},
		{"POST JSON without a content type", "POST", "", "", docJSON, docNotification},
		{"POST JSON with camel-case keys", "POST", "", "application/json",
			`{"orderTrackingId":"t1","orderMerchantReference":"r1","orderNotificationType":"IPNCHANGE"}`,
			Notification{OrderTrackingID: "t1", OrderMerchantReference: "r1", OrderNotificationType: NotificationIPN}},
		{"POST form", "POST", "", "application/x-www-form-urlencoded", docQuery, docNotification},
		{"POST form without a content type", "POST", "", "", docQuery, docNotification},
		{"POST with values in the query and no body", "POST", docQuery, "", "", docNotification},
		{"POST with values in the query and an empty JSON object", "POST", docQuery, "application/json", "{}", docNotification},
		{"POST body wins over the query", "POST", "OrderTrackingId=from-query", "application/json", `{"OrderTrackingId":"from-body"}`,
			Notification{OrderTrackingID: "from-body"}},
		{"lower-case method", "post", "", "application/json", docJSON, docNotification},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := ParseNotification(tt.method, mustQuery(t, tt.query), tt.contentType, []byte(tt.body))
			if err != nil {
				t.Fatalf("ParseNotification: %v", err)
			}
			if got != tt.want {
				t.Errorf("notification:\n got %+v\nwant %+v", got, tt.want)
			}
		})
	}
}

func TestParseNotificationRejects(t *testing.T) {
	tooLong := strings.Repeat("a", 101)
	tests := []struct {
		name        string
		method      string
		query       url.Values
		contentType string
		body        string
		wantErr     string
	}{
		{"GET without OrderTrackingId", "GET", url.Values{"OrderMerchantReference": {"r1"}}, "", "", "OrderTrackingId is missing"},
		{"GET with a blank OrderTrackingId", "GET", url.Values{"OrderTrackingId": {"  "}}, "", "", "OrderTrackingId is missing"},
		{"GET with nothing", "GET", nil, "", "", "OrderTrackingId is missing"},
		{"tracking id of 101 characters", "GET", url.Values{"OrderTrackingId": {tooLong}}, "", "", "OrderTrackingId is longer than 100 characters"},
		{"reference of 101 characters", "GET", url.Values{"OrderTrackingId": {"t1"}, "OrderMerchantReference": {tooLong}}, "", "", "OrderMerchantReference is longer than 100 characters"},
		{"type of 101 characters", "GET", url.Values{"OrderTrackingId": {"t1"}, "OrderNotificationType": {tooLong}}, "", "", "OrderNotificationType is longer than 100 characters"},
		{"NUL in the tracking id", "GET", url.Values{"OrderTrackingId": {"t\x001"}}, "", "", "OrderTrackingId contains a character that is not printable"},
		{"newline in the reference", "GET", url.Values{"OrderTrackingId": {"t1"}, "OrderMerchantReference": {"r\n1"}}, "", "", "OrderMerchantReference contains a character that is not printable"},
		{"invalid UTF-8", "GET", url.Values{"OrderTrackingId": {"t\xff1"}}, "", "", "OrderTrackingId is not valid UTF-8"},
		{"one key, two values", "GET", url.Values{"OrderTrackingId": {"t1", "t2"}}, "", "", "OrderTrackingId is sent more than once with different values"},
		{"two spellings, two values", "GET", url.Values{"OrderTrackingId": {"t1"}, "orderTrackingId": {"t2"}}, "", "", "OrderTrackingId is sent more than once with different values"},
		{"POST with broken JSON", "POST", nil, "application/json", `{"OrderTrackingId":`, "body is not the JSON object Pesapal sends"},
		{"POST JSON with a number", "POST", nil, "application/json", `{"OrderTrackingId":12345}`, "body is not the JSON object Pesapal sends"},
		{"POST JSON array", "POST", nil, "application/json", `["t1"]`, "body is not the JSON object Pesapal sends"},
		{"POST JSON with a control character", "POST", nil, "application/json", `{"OrderTrackingId":"t\u00071"}`, "OrderTrackingId contains a character that is not printable"},
		{"POST with a broken form", "POST", nil, "application/x-www-form-urlencoded", "OrderTrackingId=%zz", "body is neither JSON nor a form"},
		{"POST with nothing anywhere", "POST", nil, "", "", "OrderTrackingId is missing"},
		{"POST body too large", "POST", nil, "application/json", `{"OrderTrackingId":"` + strings.Repeat("a", 16<<10) + `"}`, "body is larger than 16384 bytes"},
		{"PUT", "PUT", url.Values{"OrderTrackingId": {"t1"}}, "", "", `method "PUT" is not GET or POST`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := ParseNotification(tt.method, tt.query, tt.contentType, []byte(tt.body))
			if !errors.Is(err, ErrInvalidNotification) {
				t.Fatalf("error %v does not wrap ErrInvalidNotification (got %+v)", err, got)
			}
			if want := "pesapal: invalid notification: " + tt.wantErr; err.Error() != want {
				t.Errorf("error = %q\nwant    %q", err, want)
			}
			if got != (Notification{}) {
				t.Errorf("notification = %+v, want zero with the error", got)
			}
		})
	}
}

func TestAckMatchesTheDocumentSample(t *testing.T) {
	n := Notification{
		OrderTrackingID:        "d0fa69d6-f3cd-433b-858e-df86555b86c8",
		OrderMerchantReference: "1515111111",
		OrderNotificationType:  "IPNCHANGE",
	}
	tests := []struct {
		name   string
		n      Notification
		status int
		want   string
	}{
		{"processed", n, 200, `{"orderNotificationType":"IPNCHANGE","orderTrackingId":"d0fa69d6-f3cd-433b-858e-df86555b86c8","orderMerchantReference":"1515111111","status":200}`},
		{"failed, so Pesapal retries", n, 500, `{"orderNotificationType":"IPNCHANGE","orderTrackingId":"d0fa69d6-f3cd-433b-858e-df86555b86c8","orderMerchantReference":"1515111111","status":500}`},
		{"quotes are escaped", Notification{OrderTrackingID: `t"1`, OrderNotificationType: "IPNCHANGE"}, 200,
			`{"orderNotificationType":"IPNCHANGE","orderTrackingId":"t\"1","orderMerchantReference":"","status":200}`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := string(Ack(tt.n, tt.status)); got != tt.want {
				t.Errorf("Ack:\n got %s\nwant %s", got, tt.want)
			}
		})
	}
}

func FuzzParseNotification(f *testing.F) {
	seedNotificationFixtures(f)
	f.Add("GET", "OrderTrackingId=b945e4af-80a5-4ec1-8706-e03f8332fb04&OrderMerchantReference=TEST1515111119&OrderNotificationType=IPNCHANGE", "", []byte(nil))
	f.Add("POST", "", "application/json", []byte(`{"OrderNotificationType":"IPNCHANGE","OrderTrackingId":"b945e4af","OrderMerchantReference":"TEST1"}`))
	f.Add("POST", "", "application/x-www-form-urlencoded", []byte("OrderTrackingId=t1&OrderMerchantReference=r1"))
	f.Add("POST", "OrderTrackingId=t1", "text/plain; charset=\"", []byte(" "))
	f.Add("POST", "", "", []byte(`{"OrderTrackingId":"\u0000"}`))
	f.Add("GET", "OrderTrackingId=%ff&OrderTrackingId=a", "", []byte(nil))
	f.Fuzz(func(t *testing.T, method, rawQuery, contentType string, body []byte) {
		query, _ := url.ParseQuery(rawQuery) // a partly broken query still yields values, as in net/http
		n, err := ParseNotification(method, query, contentType, body)
		if err != nil {
			if !errors.Is(err, ErrInvalidNotification) {
				t.Fatalf("error %v does not wrap ErrInvalidNotification", err)
			}
			return
		}
		if strings.EqualFold(method, "POST") && len(body) > maxNotificationBody {
			t.Fatalf("accepted a %d-byte body", len(body))
		}
		if n.OrderTrackingID == "" {
			t.Fatalf("parsed %+v without a tracking id", n)
		}
		for _, s := range []string{n.OrderTrackingID, n.OrderMerchantReference, n.OrderNotificationType} {
			if !utf8.ValidString(s) || utf8.RuneCountInString(s) > 100 || strings.IndexFunc(s, func(r rune) bool { return !unicode.IsPrint(r) }) >= 0 {
				t.Fatalf("parsed value %q breaks the rules", s)
			}
		}
		ack := Ack(n, 200)
		if !json.Valid(ack) {
			t.Fatalf("Ack is not valid JSON: %s", ack)
		}
		var back struct {
			OrderNotificationType  string `json:"orderNotificationType"`
			OrderTrackingID        string `json:"orderTrackingId"`
			OrderMerchantReference string `json:"orderMerchantReference"`
			Status                 int    `json:"status"`
		}
		if err := json.Unmarshal(ack, &back); err != nil {
			t.Fatal(err)
		}
		if back.OrderTrackingID != n.OrderTrackingID || back.OrderMerchantReference != n.OrderMerchantReference ||
			back.OrderNotificationType != n.OrderNotificationType || back.Status != 200 {
			t.Fatalf("Ack %s does not round-trip %+v", ack, n)
		}
	})
}
