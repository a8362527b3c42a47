package payments

import (
	"encoding/json"
	"errors"
	"math/big"
	"net/mail"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"
	"unicode"
	"unicode/utf8"

	"checkout/gateway"
	"checkout/gateway/pesapal"
	"checkout/gateway/pokeapay"
	"checkout/store"
)

// amountText is what the merchant API takes as an amount once a JSON
// string is unquoted.
var amountText = regexp.MustCompile(`^[0-9]+(\.[0-9]{1,2})?$`)

// FuzzCreateRequest decodes any body as the merchant API's create request
// and validates it with any set of configured methods: a refusal is a
// *FieldError naming a field; an accepted request gives a checkout whose
// every field keeps the API's rules, with the amount the body wrote, in
// cents, exactly.
func FuzzCreateRequest(f *testing.F) {
	for _, s := range []string{
		`{"amount":1500,"currency":"KES","reference":"INV-1001","description":"Order 1001"}`,
		`{"amount":"1500.50","currency":"KES","reference":"INV-1","description":"d","customer":{"name":"Jane","email":"jane@example.com","phone":"0712 345 678"},"success_url":"https://shop.example/ok","cancel_url":"http://shop.example/no","methods":["stk","pesapal","stk"],"metadata":{"order":"1001"},"expires_in":900}`,
		`{"amount":1500.5,"currency":"KES","reference":"r","description":"d","methods":["stk"]}`,
		`{"amount":"0","currency":"KES","reference":"r","description":"d"}`,
		`{"amount":1e3,"currency":"kes","reference":"r","description":"d"}`,
		`{"amount":"9999999999999.99","currency":"USD","reference":" r ","description":"d\u0000"}`,
		`{"amount":10,"currency":"KES","reference":"r","description":"d","customer":{"phone":"+254 112-345-678"},"metadata":{"a":1},"expires_in":86401}`,
		`{"amount":10,"currency":"KES","reference":"r","description":"d","success_url":"javascript:alert(1)","methods":[]}`,
		`{"amount":null}`, `[]`, ``,
	} {
		f.Add([]byte(s), uint8(7))
		f.Add([]byte(s), uint8(4))
	}
	pp, err := pesapal.New(pesapal.Config{BaseURL: "http://127.0.0.1:1", ConsumerKey: "k", ConsumerSecret: "s"})
	if err != nil {
		f.Fatal(err)
	}
	pk, err := pokeapay.New(pokeapay.Config{CheckoutURL: "https://pay.example.test/", OutletCode: "OC1", HashKey: "hk"})
	if err != nil {
		f.Fatal(err)
	}
	now := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	f.Fuzz(func(t *testing.T, body []byte, configured uint8) {
		var req CreateRequest
		if json.Unmarshal(body, &req) != nil {
			return // the handler answers 400 before the service sees it
		}
		cfg := Config{}
		if configured&1 != 0 {
			cfg.Pesapal = pp
		}
		if configured&2 != 0 {
			cfg.PokeaPay = pk
		}
		if configured&4 != 0 {
			cfg.STK = &fakeSTK{}
		}
		s := &Service{cfg: cfg, now: func() time.Time { return now }}
		co, err := s.validate(&store.Merchant{}, req)
		if err != nil {
			var fe *FieldError
			if !errors.As(err, &fe) || fe.Field == "" || fe.Message == "" || (fe.Code != "invalid" && fe.Code != "required") {
				t.Fatalf("refusal %#v is not a field error", err)
			}
			return
		}

		// The amount is the body's, in cents, exactly.
		raw := strings.TrimSpace(string(req.Amount))
		if strings.HasPrefix(raw, `"`) {
			if err := json.Unmarshal(req.Amount, &raw); err != nil {
				t.Fatal(err)
			}
		}
		if !amountText.MatchString(raw) {
			t.Fatalf("amount %q accepted", raw)
		}
		want, _ := new(big.Rat).SetString(raw)
		want.Mul(want, big.NewRat(100, 1))
		if !want.IsInt() || want.Num().Cmp(big.NewInt(co.Amount)) != 0 || co.Amount <= 0 {
			t.Fatalf("amount %q stored as %d cents", raw, co.Amount)
		}
		if back, err := gateway.ParseAmount(gateway.Amount(co.Amount).String()); err != nil || int64(back) != co.Amount {
			t.Fatalf("amount %d does not re-parse: %d, %v", co.Amount, back, err)
		}

		if !knownCurrency(co.Currency) || co.Currency != strings.ToUpper(co.Currency) {
			t.Fatalf("currency %q", co.Currency)
		}
		for _, f := range []struct {
			val      string
			max      int
			required bool
		}{{co.Reference, maxReference, true}, {co.Description, maxDescription, true}, {co.CustomerName, 100, false}} {
			if (f.required && f.val == "") || !utf8.ValidString(f.val) || utf8.RuneCountInString(f.val) > f.max ||
				f.val != strings.TrimSpace(f.val) || strings.IndexFunc(f.val, unicode.IsControl) >= 0 {
				t.Fatalf("text %q breaks the rules", f.val)
			}
		}
		if e := co.CustomerEmail; e != "" {
			if a, err := mail.ParseAddress(e); err != nil || a.Address != e {
				t.Fatalf("email %q", e)
			}
		}
		if p := co.CustomerPhone; p != "" && !stkPattern.MatchString(p) && !phonePattern.MatchString(p) {
			t.Fatalf("phone %q", p)
		}
		if p, err := NormalizePhone(co.CustomerPhone); err == nil && p != co.CustomerPhone {
			t.Fatalf("phone %q kept instead of %q", co.CustomerPhone, p)
		}
		for _, u := range []string{co.SuccessURL, co.CancelURL} {
			if u != "" && CheckMerchantURL(u) != nil {
				t.Fatalf("URL %q", u)
			}
		}

		usable := false
		var methods []string
		if co.Methods != "" {
			methods = strings.Split(co.Methods, ",")
		}
		for i, m := range methods {
			if !known(m) || !s.Configured(m) || slices.Contains(methods[:i], m) {
				t.Fatalf("methods %q", co.Methods)
			}
		}
		for _, m := range AllMethods {
			if s.Configured(m) && (len(methods) == 0 || slices.Contains(methods, m)) && supports(m, co.Currency) &&
				(m != MethodSTK || gateway.Amount(co.Amount).Whole()) {
				usable = true
			}
		}
		if !usable {
			t.Fatalf("checkout %+v has no usable method", co)
		}

		if co.Metadata != "" {
			var md map[string]string
			if err := json.Unmarshal([]byte(co.Metadata), &md); err != nil || len(md) > maxMetadataKeys {
				t.Fatalf("metadata %q", co.Metadata)
			}
			for k, v := range md {
				if k == "" || utf8.RuneCountInString(k) > maxMetadataKey || utf8.RuneCountInString(v) > maxMetadataValue {
					t.Fatalf("metadata %q: %q", k, v)
				}
			}
		}
		if d := co.ExpiresAt.Sub(now); d < MinExpiresIn*time.Second || d > MaxExpiresIn*time.Second {
			t.Fatalf("expires after %s", d)
		}
	})
}
