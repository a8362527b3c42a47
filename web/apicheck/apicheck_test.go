package apicheck_test

import (
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"checkout/web/apicheck"
)

// TestDocumentIsValidOpenAPI31: the served document loads in kin-openapi
// as OpenAPI 3.1 and validates as such.
func TestDocumentIsValidOpenAPI31(t *testing.T) {
	doc, err := apicheck.Load()
	if err != nil {
		t.Fatal(err)
	}
	if doc.OpenAPI != "3.1.0" {
		t.Fatalf("openapi %q, want 3.1.0", doc.OpenAPI)
	}
}

func exchange(method, target, reqBody string, status int, body string) apicheck.Exchange {
	req := httptest.NewRequest(method, target, strings.NewReader(reqBody))
	req.Header.Set("Authorization", "Bearer sk_test_key")
	if reqBody != "" {
		req.Header.Set("Content-Type", "application/json")
	}
	hdr := http.Header{"Content-Type": {"application/json; charset=utf-8"}}
	if status == http.StatusTooManyRequests {
		hdr.Set("Retry-After", "1")
	}
	return apicheck.Exchange{Request: req, RequestBody: []byte(reqBody), Status: status, Header: hdr, Body: []byte(body)}
}

const checkoutJSON = `{"id":"chk_1","url":"http://x/c/chk_1","status":"open","amount":"1500.00","amount_refunded":"0.00",
"currency":"KES","reference":"r1","description":"d","method":%s,"provider":null,"provider_reference":null,"receipt":null,
"message":null,"created_at":"2026-12-05T09:00:00Z","expires_at":"2026-12-06T09:00:00Z","paid_at":null,"metadata":null,
"payment_link":null,"livemode":false,"locale":null}`

// TestCheckHoldsExchangesToTheDocument: the checker applies the
// document's 3.1 schemas as kin-openapi loads them (type arrays with
// "null", additionalProperties false) and the rules of the package.
func TestCheckHoldsExchangesToTheDocument(t *testing.T) {
	c := apicheck.For(t)
	good := `{"amount":"1500","currency":"KES","reference":"r1","description":"d"}`
	for _, tc := range []struct {
		name string
		x    apicheck.Exchange
		ok   bool
	}{
		{"created", exchange("POST", "/api/v1/checkouts", good, 201, fmt.Sprintf(checkoutJSON, "null")), true},
		{"method a string", exchange("GET", "/api/v1/checkouts/chk_1", "", 200, fmt.Sprintf(checkoutJSON, `"stk"`)), true},
		{"method a number", exchange("GET", "/api/v1/checkouts/chk_1", "", 200, fmt.Sprintf(checkoutJSON, `5`)), false},
		{"a field missing", exchange("GET", "/api/v1/checkouts/chk_1", "", 200, `{"id":"chk_1"}`), false},
		{"a field too many", exchange("GET", "/api/v1/checkouts/chk_1", "", 200,
			strings.Replace(fmt.Sprintf(checkoutJSON, "null"), `"livemode"`, `"extra":1,"livemode"`, 1)), false},
		{"status not documented", exchange("GET", "/api/v1/checkouts/chk_1", "", 418, `{}`), false},
		{"invalid request refused", exchange("POST", "/api/v1/checkouts", `{"amount":"-1"}`, 422,
			`{"error":{"code":"invalid","message":"m","field":"amount"}}`), true},
		{"invalid request accepted", exchange("POST", "/api/v1/checkouts", `{"amount":"1","currency":"KES"}`, 201,
			fmt.Sprintf(checkoutJSON, "null")), false},
		{"unknown path 404", exchange("GET", "/api/v1/nope", "", 404, `{"error":{"code":"not_found","message":"m","field":null}}`), true},
		{"unknown path 200", exchange("GET", "/api/v1/nope", "", 200, `{}`), false},
		{"429 without Retry-After", func() apicheck.Exchange {
			x := exchange("GET", "/api/v1/refunds", "", 429, `{"error":{"code":"rate_limited","message":"m","field":null}}`)
			x.Header.Del("Retry-After")
			return x
		}(), false},
		{"429", exchange("GET", "/api/v1/refunds", "", 429, `{"error":{"code":"rate_limited","message":"m","field":null}}`), true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			err := c.Check(tc.x)
			if (err == nil) != tc.ok {
				t.Fatalf("Check: %v, want ok %v", err, tc.ok)
			}
		})
	}
}

// TestCheckMatchesAClientsAbsoluteURL: a client's request carries the
// scheme and host it dialled; the path is what is matched.
func TestCheckMatchesAClientsAbsoluteURL(t *testing.T) {
	x := exchange("GET", "/api/v1/checkouts/chk_1", "", 200, fmt.Sprintf(checkoutJSON, "null"))
	x.Request = httptest.NewRequest("GET", "http://127.0.0.1:8080/api/v1/checkouts/chk_1", nil)
	x.Request.Header.Set("Authorization", "Bearer sk_test_key")
	if err := apicheck.For(t).Check(x); err != nil {
		t.Fatal(err)
	}
}
