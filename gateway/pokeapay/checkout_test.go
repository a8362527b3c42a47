package pokeapay

import (
	"errors"
	"net/url"
	"strings"
	"testing"

	"checkout/gateway"
)

func TestCheckoutURLCarriesEveryDocumentParameter(t *testing.T) {
	tests := []struct {
		name     string
		live     bool
		req      CheckoutRequest
		wantLive string
		wantAmt  string
		wantCurr string
	}{
		{
			name: "live order with custom variables",
			live: true,
			req: CheckoutRequest{OrderRef: "pay_01J9ZK4M7Q", Amount: 150000, Currency: "KES", CustomerName: "John Doe",
				Email: "john@example.com", Phone: "254722000000", CallbackURL: "https://shop.example/return/pokeapay?x=1&y=2",
				V1: "chk_42", V2: "a b&c"},
			wantLive: "1", wantAmt: "1500.00", wantCurr: "KES",
		},
		{
			name: "demo order of 1,234,567.00 has no thousands separator",
			req: CheckoutRequest{OrderRef: "ORD-123", Amount: 123456700, Currency: "KES", CustomerName: "Wanjiru Kamau",
				Email: "w@example.com", Phone: "254712345678", CallbackURL: "http://localhost:8080/return"},
			wantLive: "0", wantAmt: "1234567.00", wantCurr: "KES",
		},
		{
			name: "empty currency is KES and spaces are trimmed",
			req: CheckoutRequest{OrderRef: " ORD-7 ", Amount: 5, CustomerName: " Ann ", Email: " a@example.com ",
				Phone: " 254700000001 ", CallbackURL: " https://shop.example/r "},
			wantLive: "0", wantAmt: "0.05", wantCurr: "KES",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := newClient(t, tt.live)

			got, err := c.CheckoutURL(tt.req)
			if err != nil {
				t.Fatal(err)
			}

			u, err := url.Parse(got)
			if err != nil {
				t.Fatal(err)
			}
			if u.Scheme != "https" || u.Host != "pay.pokeapay.com" || u.Path != "/" || u.Fragment != "" {
				t.Errorf("URL %s is not the configured checkout page", got)
			}
			q := u.Query()
			r := tt.req.trimmed()
			want := map[string]string{
				"oc":   testOC,
				"live": tt.wantLive,
				"cn":   r.CustomerName,
				"eml":  r.Email,
				"tel":  r.Phone,
				"curr": tt.wantCurr,
				"oref": r.OrderRef,
				"cb":   r.CallbackURL,
				"amt":  tt.wantAmt,
				"hsh":  CheckoutHash(testKey, tt.wantLive, r.OrderRef, tt.wantAmt, r.Phone, r.Email, testOC),
				"v1":   r.V1,
				"v2":   r.V2,
			}
			if len(q) != len(want) {
				t.Errorf("URL has %d parameters, want %d: %s", len(q), len(want), got)
			}
			for k, v := range want {
				if vals, ok := q[k]; !ok || len(vals) != 1 || vals[0] != v {
					t.Errorf("%s = %q, want exactly %q", k, vals, v)
				}
			}
			if strings.Contains(q.Get("amt"), ",") {
				t.Errorf("amt %q has a thousands separator", q.Get("amt"))
			}
			// The document's order, so that the URL reads like its example.
			var keys []string
			for _, pair := range strings.Split(u.RawQuery, "&") {
				k, _, _ := strings.Cut(pair, "=")
				keys = append(keys, k)
			}
			if got, want := strings.Join(keys, ","), "oc,live,cn,eml,tel,curr,oref,cb,amt,hsh,v1,v2"; got != want {
				t.Errorf("parameter order = %s, want %s", got, want)
			}
			if strings.Contains(got, testKey) {
				t.Errorf("URL contains the hash key")
			}
		})
	}
}

func TestCheckoutURLKeepsTheConfiguredPage(t *testing.T) {
	tests := []struct{ configured, wantPrefix string }{
		{"https://pay.pokeapay.com/", "https://pay.pokeapay.com/?oc="},
		{"https://pay.pokeapay.com", "https://pay.pokeapay.com/?oc="},
		{"http://127.0.0.1:8080/sandbox/pokeapay/pay", "http://127.0.0.1:8080/sandbox/pokeapay/pay?oc="},
	}
	for _, tt := range tests {
		t.Run(tt.configured, func(t *testing.T) {
			c, err := New(Config{CheckoutURL: tt.configured, OutletCode: testOC, HashKey: testKey})
			if err != nil {
				t.Fatal(err)
			}
			got, err := c.CheckoutURL(CheckoutRequest{OrderRef: "o1", Amount: 100, Phone: "254700000000", Email: "a@example.com", CallbackURL: "https://shop.example/r"})
			if err != nil {
				t.Fatal(err)
			}
			if !strings.HasPrefix(got, tt.wantPrefix) {
				t.Errorf("URL %s does not start with %s", got, tt.wantPrefix)
			}
		})
	}
}

func TestCheckoutURLRefusesInvalidRequests(t *testing.T) {
	valid := CheckoutRequest{OrderRef: "ORD-1", Amount: 100, Currency: "KES", Email: "a@example.com",
		Phone: "254700000000", CallbackURL: "https://shop.example/return"}
	tests := []struct {
		name    string
		change  func(*CheckoutRequest)
		wantErr string
	}{
		{"no oref", func(r *CheckoutRequest) { r.OrderRef = "  " }, "oref is required"},
		{"oref of 51 characters", func(r *CheckoutRequest) { r.OrderRef = strings.Repeat("a", 51) }, "oref is longer than 50 characters"},
		{"zero amount", func(r *CheckoutRequest) { r.Amount = 0 }, "amt must be more than zero"},
		{"negative amount", func(r *CheckoutRequest) { r.Amount = -100 }, "amt must be more than zero"},
		{"no phone", func(r *CheckoutRequest) { r.Phone = " " }, "tel is required"},
		{"no email", func(r *CheckoutRequest) { r.Email = "" }, "eml is required"},
		{"currency USD", func(r *CheckoutRequest) { r.Currency = "USD" }, "curr must be KES"},
		{"currency in lower case", func(r *CheckoutRequest) { r.Currency = "kes" }, "curr must be KES"},
		{"no callback", func(r *CheckoutRequest) { r.CallbackURL = "" }, "cb must be an absolute http(s) URL"},
		{"relative callback", func(r *CheckoutRequest) { r.CallbackURL = "/return/pokeapay" }, "cb must be an absolute http(s) URL"},
		{"javascript callback", func(r *CheckoutRequest) { r.CallbackURL = "javascript:alert(1)" }, "cb must be an absolute http(s) URL"},
		{"callback with credentials", func(r *CheckoutRequest) { r.CallbackURL = "https://u:p@shop.example/r" }, "cb must be an absolute http(s) URL"},
		{"newline in the name", func(r *CheckoutRequest) { r.CustomerName = "John\nDoe" }, "cn contains a character that is not printable"},
		{"invalid UTF-8 in the email", func(r *CheckoutRequest) { r.Email = "a\xff@example.com" }, "eml contains a character that is not printable"},
		{"control character in oref", func(r *CheckoutRequest) { r.OrderRef = "ORD\x001" }, "oref contains a character that is not printable"},
		{"v2 of 256 characters", func(r *CheckoutRequest) { r.V2 = strings.Repeat("v", 256) }, "v2 is longer than 255 characters"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := newClient(t, true)
			r := valid
			tt.change(&r)

			got, err := c.CheckoutURL(r)

			if got != "" {
				t.Errorf("URL %q returned with an error", got)
			}
			if !errors.Is(err, ErrInvalidRequest) {
				t.Fatalf("error %v does not wrap ErrInvalidRequest", err)
			}
			e := asError(t, err)
			if want := "pokeapay: checkout URL: invalid request: " + tt.wantErr; err.Error() != want {
				t.Errorf("error = %q\nwant    %q", err, want)
			}
			if e.Op != "checkout URL" || e.HTTPStatus != 0 || e.Code != "" || e.Message != "" {
				t.Errorf("error fields = %+v", *e)
			}
		})
	}
}

func TestCheckoutURLAmountIsExact(t *testing.T) {
	tests := []struct {
		amount gateway.Amount
		want   string
	}{
		{1, "0.01"},
		{100, "1.00"},
		{150050, "1500.50"},
		{123456700, "1234567.00"},
		{99999999999, "999999999.99"},
	}
	for _, tt := range tests {
		t.Run(tt.want, func(t *testing.T) {
			c := newClient(t, true)
			got, err := c.CheckoutURL(CheckoutRequest{OrderRef: "o1", Amount: tt.amount, Phone: "254700000000", Email: "a@example.com", CallbackURL: "https://s.example/r"})
			if err != nil {
				t.Fatal(err)
			}
			u, err := url.Parse(got)
			if err != nil {
				t.Fatal(err)
			}
			if amt := u.Query().Get("amt"); amt != tt.want {
				t.Errorf("amt = %q, want %q", amt, tt.want)
			}
		})
	}
}
