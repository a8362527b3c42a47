package web_test

import (
	"context"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"checkout/store"
)

func TestCreateCheckoutAnswersTheCheckoutObject(t *testing.T) {
	e := newEnv(t, envOptions{})
	status, obj := e.api(http.MethodPost, "/api/v1/checkouts", `{"amount": 1500.5, "currency": "KES", "reference": "inv-77",
		"description": "Invoice 77", "customer": {"name": "Jane Wanjiku", "email": "jane@example.com", "phone": "0712 345 678"},
		"success_url": "https://shop.example/ok", "cancel_url": "https://shop.example/cancel", "methods": ["pesapal"],
		"metadata": {"cart": "42"}, "expires_in": 900, "locale": "sw"}`)
	if status != http.StatusCreated {
		t.Fatalf("status %d: %v", status, obj)
	}
	id, _ := obj["id"].(string)
	want := map[string]any{
		"url": e.app.URL + "/c/" + id, "status": "open", "amount": "1500.50", "currency": "KES", "reference": "inv-77",
		"description": "Invoice 77", "method": nil, "provider": nil, "provider_reference": nil, "receipt": nil,
		"message": nil, "paid_at": nil, "locale": "sw",
	}
	for k, v := range want {
		got, ok := obj[k]
		if !ok {
			t.Errorf("field %q missing", k)
			continue
		}
		if got != v {
			t.Errorf("%s = %v, want %v", k, got, v)
		}
	}
	if md, ok := obj["metadata"].(map[string]any); !ok || md["cart"] != "42" {
		t.Errorf("metadata = %v", obj["metadata"])
	}
	created, err1 := time.Parse(time.RFC3339, obj["created_at"].(string))
	expires, err2 := time.Parse(time.RFC3339, obj["expires_at"].(string))
	if err1 != nil || err2 != nil || expires.Sub(created) != 900*time.Second || created.Location() != time.UTC {
		t.Errorf("created_at %v expires_at %v", obj["created_at"], obj["expires_at"])
	}
	if !strings.HasPrefix(id, "chk_") {
		t.Errorf("id = %q", id)
	}

	status, again := e.api(http.MethodGet, "/api/v1/checkouts/"+id, "")
	if status != http.StatusOK || again["id"] != id || again["amount"] != "1500.50" || again["locale"] != "sw" {
		t.Fatalf("GET: %d %v", status, again)
	}
}

// TestCheckoutObjectLocaleIsNullWhenLeftOut: without a locale the
// customer's browser chooses, and the object says null (present).
func TestCheckoutObjectLocaleIsNullWhenLeftOut(t *testing.T) {
	e := newEnv(t, envOptions{})
	for _, body := range []string{
		`{"amount": "100", "currency": "KES", "reference": "no-locale", "description": "Tea"}`,
		`{"amount": "100", "currency": "KES", "reference": "null-locale", "description": "Tea", "locale": null}`,
	} {
		status, obj := e.api(http.MethodPost, "/api/v1/checkouts", body)
		if status != http.StatusCreated {
			t.Fatalf("status %d: %v", status, obj)
		}
		if v, ok := obj["locale"]; !ok || v != nil {
			t.Errorf("locale = %v (present %v), want null", v, ok)
		}
	}
}

func TestCreateCheckoutRejectsBadInputNamingTheFieldAndCreatesNothing(t *testing.T) {
	e := newEnv(t, envOptions{})
	e.createCheckout("taken")
	valid := func(over string) string {
		base := map[string]string{
			"amount": `"1500"`, "currency": `"KES"`, "reference": `"r-1"`, "description": `"Coffee"`,
		}
		k, v, _ := strings.Cut(over, "=")
		if v == "" {
			delete(base, k)
		} else {
			base[k] = v
		}
		var parts []string
		for k, v := range base {
			parts = append(parts, `"`+k+`": `+v)
		}
		return "{" + strings.Join(parts, ", ") + "}"
	}
	cases := []struct {
		name, body string
		status     int
		code       string
		field      any
	}{
		{"missing amount", valid("amount="), 422, "required", "amount"},
		{"zero amount", valid(`amount="0"`), 422, "invalid", "amount"},
		{"negative amount", valid(`amount=-5`), 422, "invalid", "amount"},
		{"exponent", valid(`amount=1e3`), 422, "invalid", "amount"},
		{"three decimals", valid(`amount="10.005"`), 422, "invalid", "amount"},
		{"thousands separator", valid(`amount="1,500"`), 422, "invalid", "amount"},
		{"amount is an object", valid(`amount={}`), 422, "invalid", "amount"},
		{"missing currency", valid("currency="), 422, "required", "currency"},
		{"unsupported currency", valid(`currency="EUR"`), 422, "invalid", "currency"},
		{"lower-case currency", valid(`currency="kes"`), 422, "invalid", "currency"},
		{"missing reference", valid("reference="), 422, "required", "reference"},
		{"long reference", valid(`reference="` + strings.Repeat("r", 51) + `"`), 422, "invalid", "reference"},
		{"duplicate reference", valid(`reference="taken"`), 409, "duplicate", "reference"},
		{"long description", valid(`description="` + strings.Repeat("d", 101) + `"`), 422, "invalid", "description"},
		{"control character", valid(`description="a\u0007b"`), 422, "invalid", "description"},
		{"bad email", valid(`customer={"email": "not-an-email"}`), 422, "invalid", "customer.email"},
		{"bad phone", valid(`customer={"phone": "call me"}`), 422, "invalid", "customer.phone"},
		{"javascript success_url", valid(`success_url="javascript:alert(1)"`), 422, "invalid", "success_url"},
		{"credentials in cancel_url", valid(`cancel_url="https://u:p@shop.example/"`), 422, "invalid", "cancel_url"},
		{"unknown method", valid(`methods=["cash"]`), 422, "invalid", "methods"},
		{"method not configured", valid(`methods=["stk"]`), 422, "invalid", "methods"},
		{"empty methods", valid(`methods=[]`), 422, "invalid", "methods"},
		{"nested metadata", valid(`metadata={"a": {"b": "c"}}`), 422, "invalid", "metadata.a"},
		{"expires_in too short", valid(`expires_in=60`), 422, "invalid", "expires_in"},
		{"expires_in too long", valid(`expires_in=90000`), 422, "invalid", "expires_in"},
		{"expires_in not a number", valid(`expires_in="soon"`), 400, "malformed", "expires_in"},
		{"unknown locale", valid(`locale="fr"`), 422, "invalid", "locale"},
		{"locale with a region", valid(`locale="sw-KE"`), 422, "invalid", "locale"},
		{"empty locale", valid(`locale=""`), 422, "invalid", "locale"},
		{"locale not a string", valid(`locale=1`), 400, "malformed", "locale"},
		{"unknown field", valid(`colour="red"`), 400, "malformed", "colour"},
		{"not JSON", `{"amount": `, 400, "malformed", nil},
		{"empty body", ``, 400, "malformed", nil},
		{"two objects", valid("x=") + valid("x="), 400, "malformed", nil},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			status, obj := e.api(http.MethodPost, "/api/v1/checkouts", tc.body)
			errObj, ok := obj["error"].(map[string]any)
			if status != tc.status || !ok {
				t.Fatalf("status %d body %v, want %d", status, obj, tc.status)
			}
			if errObj["code"] != tc.code || errObj["field"] != tc.field {
				t.Errorf("error = %v, want code %q field %v", errObj, tc.code, tc.field)
			}
			if msg, _ := errObj["message"].(string); msg == "" {
				t.Error("no message")
			}
		})
	}
	rows, _, err := e.store.ListCheckouts(context.Background(), store.OrderFilter{Limit: 100})
	if err != nil {
		t.Fatal(err)
	}
	if len(rows) != 1 {
		t.Fatalf("%d checkouts exist, want only the first one", len(rows))
	}
}

func TestChoosingPesapalWithoutContactRerendersTheFormWithTheFieldMarked(t *testing.T) {
	e := newEnv(t, envOptions{})
	status, obj := e.api(http.MethodPost, "/api/v1/checkouts", `{"amount": "250", "currency": "KES", "reference": "no-contact", "description": "Tea"}`)
	if status != http.StatusCreated {
		t.Fatalf("create: %d %v", status, obj)
	}
	id := obj["id"].(string)
	b := e.browser()
	p := b.get(e.app.URL + "/c/" + id)
	if p.doc.Find("input#contact").Length() != 1 {
		t.Fatal("the checkout page does not ask for an email or phone")
	}
	again := b.submit(p, "form.method-choice", url.Values{"method": {"pesapal"}, "contact": {"not a contact"}})
	if again.status != http.StatusUnprocessableEntity {
		t.Fatalf("status %d, want 422", again.status)
	}
	in := again.doc.Find("input#contact")
	if in.AttrOr("aria-invalid", "") != "true" || in.AttrOr("value", "") != "not a contact" {
		t.Fatalf("contact field not marked or not kept: %v", in.Nodes)
	}
	if !strings.Contains(again.doc.Find("#contact-error, .field-error").Text(), "email") {
		t.Fatalf("no error sentence: %q", again.doc.Find(".field-error").Text())
	}
	if as, err := e.store.Attempts(context.Background(), id); err != nil || len(as) != 0 {
		t.Fatalf("attempts = %d (%v), want none", len(as), err)
	}
	if co := e.checkout(id); co.Status != store.StatusOpen {
		t.Fatalf("status = %s", co.Status)
	}

	ok := b.submit(again, "form.method-choice", url.Values{"method": {"pesapal"}, "contact": {"0712345678"}})
	if ok.status != http.StatusOK || !strings.HasSuffix(ok.url, "/pesapal") {
		t.Fatalf("with a phone: %d at %s", ok.status, ok.url)
	}
	as, err := e.store.Attempts(context.Background(), id)
	if err != nil || len(as) != 1 {
		t.Fatal(err, len(as))
	}
	o, _ := e.sim.PesapalOrderByReference(as[0].ID)
	if o.Phone != "0712345678" {
		t.Fatalf("Pesapal got phone %q", o.Phone)
	}
}
