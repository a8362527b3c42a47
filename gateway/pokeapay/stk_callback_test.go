package pokeapay

import (
	"errors"
	"reflect"
	"strings"
	"testing"
	"unicode/utf8"

	"checkout/gateway"
)

// The document's callback bodies, verbatim.
const (
	callbackSuccess = "{\n    \"success\": true,\n    \"message\": \"Transaction completed successfully\",\n    \"data\": {\n        \"receipt\": \"receipt\",\n        \"firstname\": \"firstname\",\n        \"middlename\": \"middlename\",\n        \"lastname\": \"lastname\",\n        \"orderRef\": \"some_order\",\n        \"amount\": 1,\n        \"phone\": \"2547xxxxxxxx\",\n        \"outletCode\": \"outlet code\",\n        \"variable1\": \"v1\",\n        \"variable2\": \"v2\"\n    }\n}"
	callbackFailure = "{\n    \"success\": false,\n    \"message\": \"Failed Reason\",\n    \"data\": {\n        \"orderRef\": \"some_order\",\n        \"amount\": 1,\n        \"phone\": \"2547xxxxxxxx\",\n        \"outletCode\": \"outlet code\",\n        \"variable1\": \"v1\",\n        \"variable2\": \"v2\"\n    }\n}"
)

func TestParseCallbackReadsTheDocumentBodies(t *testing.T) {
	tests := []struct {
		name        string
		contentType string
		body        string
		want        gateway.STKCallback
	}{
		{"success sample", "application/json", callbackSuccess, gateway.STKCallback{
			Reference: "some_order", ProviderReference: "some_order", Successful: true,
			Message: "Transaction completed successfully", Code: ""}},
		{"failure sample", "application/json", callbackFailure, gateway.STKCallback{
			Reference: "some_order", ProviderReference: "some_order", Successful: false,
			Message: "Failed Reason", Code: ""}},
		{"content type not relied on", "text/plain", callbackFailure, gateway.STKCallback{
			Reference: "some_order", ProviderReference: "some_order", Message: "Failed Reason"}},
		{"result code as a string", "", `{"success":false,"message":"Request cancelled by user","data":{"orderRef":"pay_1","resultCode":"1032"}}`,
			gateway.STKCallback{Reference: "pay_1", ProviderReference: "pay_1", Message: "Request cancelled by user", Code: "1032"}},
		{"result code as a number", "", `{"success":true,"message":"ok","data":{"orderRef":"pay_1","resultCode":0}}`,
			gateway.STKCallback{Reference: "pay_1", ProviderReference: "pay_1", Successful: true, Message: "ok", Code: "0"}},
		{"orderRef as a number, success as a string", "", `{"success":"true","data":{"orderRef":12345}}`,
			gateway.STKCallback{Reference: "12345", ProviderReference: "12345", Successful: true}},
		{"unknown and odd fields ignored", "", `{"success":1,"error":"e","extra":{"a":[1]},"data":{"orderRef":" pay_1 ","amount":{"v":1},"receipt":null,"new":true}}`,
			gateway.STKCallback{Reference: "pay_1", ProviderReference: "pay_1", Successful: true, Message: "e"}},
		{"keys in another case", "", `{"Success":true,"Message":"ok","Data":{"OrderRef":"pay_1","ResultCode":"0"}}`,
			gateway.STKCallback{Reference: "pay_1", ProviderReference: "pay_1", Successful: true, Message: "ok", Code: "0"}},
		{"control characters dropped from the message", "", "{\"success\":false,\"message\":\"Fail\\u0000ed\\nReason\",\"data\":{\"orderRef\":\"pay_1\"}}",
			gateway.STKCallback{Reference: "pay_1", ProviderReference: "pay_1", Message: "FailedReason"}},
	}
	c := &STKClient{}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, err := c.ParseCallback(tc.contentType, []byte(tc.body))
			if err != nil {
				t.Fatalf("ParseCallback: %v", err)
			}
			if !reflect.DeepEqual(got, tc.want) {
				t.Fatalf("ParseCallback = %+v\nwant %+v", got, tc.want)
			}
		})
	}
}

func TestParseCallbackRefuses(t *testing.T) {
	tests := []struct {
		name string
		body string
		want string
	}{
		{"empty", "", "body is not a JSON object"},
		{"not JSON", "orderRef=pay_1", "body is not a JSON object"},
		{"array", `[{"data":{"orderRef":"pay_1"}}]`, "body is not a JSON object"},
		{"broken JSON", `{"data":{"orderRef":"pay_1"}`, "body is not a JSON object"},
		{"no data", `{"success":true}`, "data.orderRef is missing"},
		{"data not an object", `{"success":true,"data":"pay_1"}`, "data.orderRef is missing"},
		{"orderRef at the top only", `{"success":true,"orderRef":"pay_1","data":{}}`, "data.orderRef is missing"},
		{"empty orderRef", `{"data":{"orderRef":"  "}}`, "data.orderRef is missing"},
		{"orderRef null", `{"data":{"orderRef":null}}`, "data.orderRef is missing"},
		{"orderRef an object", `{"data":{"orderRef":{"id":"pay_1"}}}`, "data.orderRef is missing"},
		{"orderRef with a control character", `{"data":{"orderRef":"pay\u0007_1"}}`, "data.orderRef is not one of our references"},
		{"orderRef too long", `{"data":{"orderRef":"` + strings.Repeat("p", 101) + `"}}`, "data.orderRef is not one of our references"},
		{"larger than 16 KiB", `{"data":{"orderRef":"pay_1"},"pad":"` + strings.Repeat("x", 16<<10) + `"}`, "body is larger than 16 KiB"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, err := (&STKClient{}).ParseCallback("application/json", []byte(tc.body))
			if !errors.Is(err, ErrInvalidCallback) {
				t.Fatalf("error = %v, want ErrInvalidCallback", err)
			}
			if want := "pokeapay: invalid STK callback: " + tc.want; err.Error() != want {
				t.Fatalf("error = %q, want %q", err, want)
			}
			if !reflect.DeepEqual(got, gateway.STKCallback{}) {
				t.Fatalf("ParseCallback = %+v with an error", got)
			}
		})
	}
}

func FuzzParseSTKCallback(f *testing.F) {
	seedSTKCallbackFixtures(f)
	for _, s := range []string{
		callbackSuccess, callbackFailure,
		`{"success":"true","data":{"orderRef":12345,"resultCode":1032}}`,
		`{"data":{"orderRef":"pay_1"},"message":"\u0000"}`,
		`[]`, `{"data":null}`, `{"data":{"orderRef":{}}}`, "",
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		got, err := parseSTKCallback(body)
		if err != nil {
			if !errors.Is(err, ErrInvalidCallback) {
				t.Fatalf("error %v does not wrap ErrInvalidCallback", err)
			}
			if !reflect.DeepEqual(got, gateway.STKCallback{}) {
				t.Fatalf("result %+v with an error", got)
			}
			return
		}
		if len(body) > maxCallbackBody {
			t.Fatalf("accepted a body of %d bytes", len(body))
		}
		if got.Reference == "" || got.Reference != got.ProviderReference ||
			got.Reference != strings.TrimSpace(got.Reference) || !printable(got.Reference) ||
			utf8.RuneCountInString(got.Reference) > maxCallbackRef {
			t.Fatalf("reference %q / %q", got.Reference, got.ProviderReference)
		}
		for _, s := range []string{got.Message, got.Code} {
			if !printable(s) || s != strings.TrimSpace(s) || utf8.RuneCountInString(s) > 201 {
				t.Fatalf("text %q is not clean", s)
			}
		}
		again, err := parseSTKCallback(body)
		if err != nil || again != got {
			t.Fatalf("second parse = %+v, %v; first %+v", again, err, got)
		}
	})
}

func TestParseCallbackTakesTheCodeFromAnMPesaReason(t *testing.T) {
	got, err := parseSTKCallback([]byte(`{"success":false,"message":"Request cancelled by user","data":{"orderRef":"pay_1"}}`))
	want := gateway.STKCallback{Reference: "pay_1", ProviderReference: "pay_1", Code: "1032", Message: "Request cancelled by user"}
	if err != nil || got != want {
		t.Fatalf("parseSTKCallback = %+v, %v; want %+v", got, err, want)
	}
}
