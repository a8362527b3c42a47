package pochipay

import (
	"errors"
	"strings"
	"testing"
	"unicode"
	"unicode/utf8"

	"checkout/gateway"
)

func TestParseCallbackReadsSuccessAndFailureBodies(t *testing.T) {
	tests := []struct {
		name        string
		contentType string
		body        string
		want        gateway.STKCallback
	}{
		{
			name:        "success",
			contentType: "application/json",
			body: `{"orderId":"pay_01","billRefNumber":"INV-1001","phoneNumber":"254712345678","amount":1500,` +
				`"thirdPartyReference":"QK12ABC3DE","isSuccessful":true,"failReason":null,` +
				`"resultDescription":"The service request is processed successfully."}`,
			want: gateway.STKCallback{Reference: "pay_01", Successful: true,
				Message: "The service request is processed successfully."},
		},
		{
			name:        "success with strings for numbers, a result code and a collection id",
			contentType: "text/plain; charset=utf-8",
			body: `{"orderId":"pay_01","phoneNumber":254712345678,"amount":"1500.00","thirdPartyReference":"QK12ABC3DE",` +
				`"isSuccessful":"true","resultCode":"0","collectionId":123}`,
			want: gateway.STKCallback{Reference: "pay_01", ProviderReference: "123", Successful: true, Code: "0"},
		},
		{
			name:        "failure: the reason wins over the description",
			contentType: "application/json",
			body: `{"orderId":"pay_01","billRefNumber":"INV-1001","phoneNumber":"254712345678","amount":1500,` +
				`"thirdPartyReference":null,"isSuccessful":false,"failReason":"Request cancelled by user",` +
				`"resultDescription":"Cancelled","resultCode":1032}`,
			want: gateway.STKCallback{Reference: "pay_01", Code: "1032", Message: "Request cancelled by user"},
		},
		{
			name:        "failure with only M-Pesa's description and unknown fields takes its code",
			contentType: "",
			body: `{"OrderId":" pay_01 ","isSuccessful":0,"resultDescription":"DS timeout user cannot be reached",` +
				`"extra":{"nested":[1,2,3]},"merchant":null}`,
			want: gateway.STKCallback{Reference: "pay_01", Code: "1037", Message: "DS timeout user cannot be reached"},
		},
		{
			name:        "numeric orderId and unreadable isSuccessful",
			contentType: "application/json",
			body:        `{"orderId":12345,"isSuccessful":"maybe","failReason":"line\nbreak"}`,
			want:        gateway.STKCallback{Reference: "12345", Message: "linebreak"},
		},
	}
	c, err := New(Config{Email: testEmail, Password: testPassword})
	if err != nil {
		t.Fatal(err)
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := c.ParseCallback(tt.contentType, []byte(tt.body))
			if err != nil {
				t.Fatalf("ParseCallback: %v", err)
			}
			if got != tt.want {
				t.Errorf("callback:\n got %+v\nwant %+v", got, tt.want)
			}
		})
	}
}

func TestParseCallbackRefusesWhatIsNotACallback(t *testing.T) {
	big := `{"orderId":"pay_01","pad":"` + strings.Repeat("x", maxCallback) + `"}`
	tests := []struct {
		name    string
		body    string
		wantErr string
	}{
		{"empty body", ``, "body is not a JSON object"},
		{"null", `null`, "body is not a JSON object"},
		{"array", `[{"orderId":"pay_01"}]`, "body is not a JSON object"},
		{"form body", `orderId=pay_01&isSuccessful=true`, "body is not a JSON object"},
		{"broken JSON", `{"orderId":"pay_01"`, "unexpected end of JSON input"},
		{"trailing data", `{"orderId":"pay_01"} {}`, "invalid character '{' after top-level value"},
		{"no orderId", `{"isSuccessful":true,"thirdPartyReference":"QK1"}`, "no orderId"},
		{"blank orderId", `{"orderId":"  "}`, "no orderId"},
		{"orderId of the wrong type", `{"orderId":{"id":"pay_01"}}`, "no orderId"},
		{"orderId with a control character", `{"orderId":"pay\u000001"}`, "orderId is not one of our references"},
		{"orderId too long", `{"orderId":"` + strings.Repeat("p", 101) + `"}`, "orderId is not one of our references"},
		{"larger than 16 KiB", big, "body is larger than 16 KiB"},
	}
	c, err := New(Config{Email: testEmail, Password: testPassword})
	if err != nil {
		t.Fatal(err)
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := c.ParseCallback("application/json", []byte(tt.body))

			if want := "pochipay: invalid callback: " + tt.wantErr; err == nil || err.Error() != want {
				t.Fatalf("error = %v, want %q", err, want)
			}
			if !errors.Is(err, ErrInvalidCallback) {
				t.Errorf("error does not wrap ErrInvalidCallback")
			}
			if got != (gateway.STKCallback{}) {
				t.Errorf("callback %+v came with an error", got)
			}
		})
	}
}

func TestParseCallbackAcceptsExactly16KiB(t *testing.T) {
	prefix := `{"orderId":"pay_01","pad":"`
	body := prefix + strings.Repeat("x", maxCallback-len(prefix)-2) + `"}`
	if len(body) != maxCallback {
		t.Fatalf("body is %d bytes", len(body))
	}
	got, err := parseCallback([]byte(body))
	if err != nil || got.Reference != "pay_01" {
		t.Errorf("ParseCallback = %+v, %v; want pay_01", got, err)
	}
}

func FuzzParseCallback(f *testing.F) {
	seedCallbackFixtures(f)
	for _, seed := range []string{
		`{"orderId":"pay_01","billRefNumber":"INV-1001","phoneNumber":"254712345678","amount":1500,"thirdPartyReference":"QK12ABC3DE","isSuccessful":true,"failReason":null,"resultDescription":"ok"}`,
		`{"orderId":12345,"isSuccessful":"false","failReason":"Request cancelled by user","resultCode":1032}`,
		`{"orderId":"pay_01","isSuccessful":1,"collectionId":"col_1","resultCode":"0"}`,
		`{"orderId":" ","isSuccessful":true}`,
		`{"orderId":{"x":1}}`,
		`[]`, `null`, ``, `{`, `{"orderId":"a"} x`,
		`{"orderId":"\u0000"}`, `{"orderId":"p","failReason":"` + strings.Repeat("é", 300) + `"}`,
	} {
		f.Add("application/json", []byte(seed))
	}
	c := &Client{}
	f.Fuzz(func(t *testing.T, contentType string, body []byte) {
		got, err := c.ParseCallback(contentType, body)
		if err != nil {
			if !errors.Is(err, ErrInvalidCallback) {
				t.Fatalf("error %v does not wrap ErrInvalidCallback", err)
			}
			if got != (gateway.STKCallback{}) {
				t.Fatalf("callback %+v came with an error", got)
			}
			return
		}
		if len(body) > maxCallback {
			t.Fatalf("accepted a %d-byte body", len(body))
		}
		if got.Reference == "" || got.Reference != strings.TrimSpace(got.Reference) || utf8.RuneCountInString(got.Reference) > 100 {
			t.Fatalf("reference %q is not a trimmed id of at most 100 characters", got.Reference)
		}
		for _, s := range []string{got.Reference, got.ProviderReference, got.Code, got.Message} {
			if !utf8.ValidString(s) || utf8.RuneCountInString(s) > maxMessageLen+1 {
				t.Fatalf("field %q is not short valid UTF-8", s)
			}
			for _, r := range s {
				if !unicode.IsPrint(r) {
					t.Fatalf("field %q holds a control character", s)
				}
			}
		}
		again, err := parseCallback(body)
		if err != nil || again != got {
			t.Fatalf("a second parse gave %+v, %v", again, err)
		}
	})
}
