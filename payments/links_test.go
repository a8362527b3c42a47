package payments

import (
	"encoding/json"
	"errors"
	"testing"
	"time"

	"checkout/store"
)

func linkReq(t *testing.T, body string) LinkRequest {
	t.Helper()
	var req LinkRequest
	if err := json.Unmarshal([]byte(body), &req); err != nil {
		t.Fatalf("%s: %v", body, err)
	}
	return req
}

func TestCreateLinkRefusesBadFieldsNamingThem(t *testing.T) {
	e := newWhEnv(t, nil)
	m, err := e.st.Merchant(e.ctx, "m")
	if err != nil {
		t.Fatal(err)
	}
	past := e.clock.now().Add(-time.Minute).Format(time.RFC3339)
	long := `"0123456789012345678901234567890123456789"`
	for _, tc := range []struct {
		name, body, field, code string
	}{
		{"no currency", `{"amount": 100, "description": "x"}`, "currency", "required"},
		{"other currency", `{"amount": 100, "currency": "EUR", "description": "x"}`, "currency", "invalid"},
		{"no description", `{"amount": 100, "currency": "KES"}`, "description", "required"},
		{"zero amount", `{"amount": 0, "currency": "KES", "description": "x"}`, "amount", "invalid"},
		{"three decimals", `{"amount": "1.005", "currency": "KES", "description": "x"}`, "amount", "invalid"},
		{"bounds with a fixed amount", `{"amount": 100, "min_amount": 50, "currency": "KES", "description": "x"}`, "min_amount", "invalid"},
		{"min above max", `{"min_amount": 500, "max_amount": 100, "currency": "KES", "description": "x"}`, "max_amount", "invalid"},
		{"negative min", `{"min_amount": "-5", "currency": "KES", "description": "x"}`, "min_amount", "invalid"},
		{"expiry in the past", `{"amount": 100, "currency": "KES", "description": "x", "expires_at": "` + past + `"}`, "expires_at", "invalid"},
		{"expiry not RFC 3339", `{"amount": 100, "currency": "KES", "description": "x", "expires_at": "tomorrow"}`, "expires_at", "invalid"},
		{"unknown method", `{"amount": 100, "currency": "KES", "description": "x", "methods": ["cash"]}`, "methods", "invalid"},
		{"method not configured", `{"amount": 100, "currency": "KES", "description": "x", "methods": ["stk"]}`, "methods", "invalid"},
		{"ftp success URL", `{"amount": 100, "currency": "KES", "description": "x", "success_url": "ftp://shop.test"}`, "success_url", "invalid"},
		{"long prefix", `{"amount": 100, "currency": "KES", "description": "x", "reference_prefix": ` + long + `}`, "reference_prefix", "invalid"},
		{"metadata not a string", `{"amount": 100, "currency": "KES", "description": "x", "metadata": {"k": 1}}`, "metadata.k", "invalid"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := e.svc.CreateLink(e.ctx, m, linkReq(t, tc.body), "api")
			var fe *FieldError
			if !errors.As(err, &fe) || fe.Field != tc.field || fe.Code != tc.code || fe.Message == "" {
				t.Fatalf("error = %v, want a %s error on %s", err, tc.code, tc.field)
			}
		})
	}
	links, _, err := e.svc.Links(e.ctx, "m", "", 100)
	if err != nil || len(links) != 0 {
		t.Fatalf("refused requests left %d links (%v)", len(links), err)
	}
}

func TestCustomerAmountWithinTheLinksBounds(t *testing.T) {
	e := newWhEnv(t, nil)
	m, err := e.st.Merchant(e.ctx, "m")
	if err != nil {
		t.Fatal(err)
	}
	l, err := e.svc.CreateLink(e.ctx, m, linkReq(t, `{"min_amount": "100", "max_amount": "5000", "currency": "KES",
		"description": "Donation", "reference_prefix": "DON-", "metadata": {"campaign": "school"}}`), "api")
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		typed string
		ok    bool
		cents int64
	}{{"99.99", false, 0}, {"100", true, 10000}, {"5,000", true, 500000}, {"5000.01", false, 0}, {"", false, 0}, {"abc", false, 0},
		// A comma is a thousands separator only between groups of three:
		// "1,5" (a decimal comma, perhaps) is refused, not read as 15.
		{"1,5", false, 0}, {"15,0", false, 0}, {"2,50", false, 0}, {"1,500.50", true, 150050}, {" 1,500 ", true, 150000}} {
		co, err := e.svc.CheckoutFromLink(e.ctx, l, tc.typed)
		if !tc.ok {
			var fe *FieldError
			if !errors.As(err, &fe) || fe.Field != "amount" {
				t.Errorf("amount %q: %v, want a field error on amount", tc.typed, err)
			}
			continue
		}
		if err != nil {
			t.Fatalf("amount %q: %v", tc.typed, err)
		}
		got, err := e.st.Checkout(e.ctx, co.ID)
		if err != nil {
			t.Fatal(err)
		}
		if got.Amount != tc.cents || got.PaymentLinkID != l.ID || got.MerchantID != "m" || got.Description != "Donation" ||
			got.Metadata != `{"campaign":"school"}` || got.Reference != "DON-"+store.LinkReferenceSuffix(co.ID) ||
			!got.ExpiresAt.Equal(e.clock.now().Add(24*time.Hour)) {
			t.Errorf("amount %q made %+v", tc.typed, got)
		}
	}
	paid, err := e.svc.LinksPaid(e.ctx, []string{l.ID})
	if err != nil || paid[l.ID].Count != 0 {
		t.Fatalf("paid = %+v, %v", paid, err)
	}
}

func TestWebhookOfALinksPaidCheckoutNamesTheLink(t *testing.T) {
	e := newWhEnv(t, nil)
	m, err := e.st.Merchant(e.ctx, "m")
	if err != nil {
		t.Fatal(err)
	}
	l, err := e.svc.CreateLink(e.ctx, m, linkReq(t, `{"amount": "1500", "currency": "KES", "description": "Maize"}`), "api")
	if err != nil {
		t.Fatal(err)
	}
	co, err := e.svc.CheckoutFromLink(e.ctx, l, "")
	if err != nil {
		t.Fatal(err)
	}
	a := &store.Attempt{ID: store.NewID("pay", e.clock.now()), CheckoutID: co.ID, Provider: ProviderPesapal, Method: MethodPesapal}
	if err := e.st.StartAttempt(e.ctx, a, time.Hour, "test"); err != nil {
		t.Fatal(err)
	}
	if err := e.st.AttemptStarted(e.ctx, a.ID, "trk-link", "http://pay", ""); err != nil {
		t.Fatal(err)
	}
	res := paid
	res.Amount, res.HasAmount, res.Currency, res.Reference = 150000, true, "KES", a.ID
	e.fake.mu.Lock()
	e.fake.results["trk-link"] = res
	e.fake.mu.Unlock()
	e.notify("link")
	e.deliver()

	reqs := e.rcv.all()
	if len(reqs) != 1 {
		t.Fatalf("requests = %d, want 1", len(reqs))
	}
	var body struct {
		Type string         `json:"type"`
		Data map[string]any `json:"data"`
	}
	if err := json.Unmarshal(reqs[0].body, &body); err != nil {
		t.Fatal(err)
	}
	if body.Type != "checkout.paid" || body.Data["id"] != co.ID || body.Data["payment_link"] != l.ID || body.Data["amount"] != "1500.00" {
		t.Fatalf("webhook = %s %v", body.Type, body.Data)
	}
	got, err := e.st.Checkout(e.ctx, co.ID)
	if err != nil {
		t.Fatal(err)
	}
	obj, err := e.svc.Object(got)
	if err != nil || obj.PaymentLink == nil || *obj.PaymentLink != l.ID {
		t.Fatalf("checkout object payment_link = %v (%v)", obj.PaymentLink, err)
	}
	counts, err := e.svc.LinksPaid(e.ctx, []string{l.ID})
	if err != nil || counts[l.ID] != (LinkPaid{Count: 1, Amount: 150000}) {
		t.Fatalf("link paid = %+v, %v", counts, err)
	}
	lo, err := e.svc.LinkObject(l, counts[l.ID])
	if err != nil || lo.CheckoutsPaid != 1 || lo.AmountPaid != "1500.00" || lo.URL != "http://shop.test/l/"+l.ID ||
		lo.Amount == nil || *lo.Amount != "1500.00" || lo.MinAmount != nil || !lo.Active {
		t.Fatalf("link object = %+v (%v)", lo, err)
	}
}

// The refusal of an amount outside the bounds writes them as the amount
// form's hint does ("Between KES 100.00 and KES 5,000.00."), thousands
// grouped.
func TestCustomerAmountOutsideTheBoundsSaysThemAsTheFormDoes(t *testing.T) {
	e := newWhEnv(t, nil)
	m, err := e.st.Merchant(e.ctx, "m")
	if err != nil {
		t.Fatal(err)
	}
	l, err := e.svc.CreateLink(e.ctx, m, linkReq(t, `{"min_amount": "1000", "max_amount": "25000", "currency": "KES",
		"description": "Donation"}`), "api")
	if err != nil {
		t.Fatal(err)
	}
	for typed, want := range map[string]string{
		"999.99":   "The amount must be at least KES 1,000.00.",
		"25000.01": "The amount must be at most KES 25,000.00.",
	} {
		_, err := e.svc.CustomerAmount(l, typed)
		var fe *FieldError
		if !errors.As(err, &fe) || fe.Field != "amount" || fe.Message != want {
			t.Errorf("amount %q: %v, want a field error on amount saying %q", typed, err, want)
		}
	}
}
