package payments

import (
	"bytes"
	"encoding/json"
	"errors"
	"strings"
	"testing"
	"time"

	"checkout/store"
)

func TestTextOnABrandColourIsTheOneWithTheHigherContrast(t *testing.T) {
	if got := ContrastRatio("#000000", "#ffffff"); got != 21 {
		t.Errorf("ContrastRatio(black, white) = %v, want 21", got)
	}
	if got := ContrastRatio("#ffffff", "#ffffff"); got != 1 {
		t.Errorf("ContrastRatio(white, white) = %v, want 1", got)
	}
	for _, tc := range []struct{ bg, want string }{
		{"#ffffff", "#000000"},
		{"#000000", "#ffffff"},
		{"#0a7d32", "#ffffff"}, // dark green
		{"#ffeb3b", "#000000"}, // yellow
		{"#1e88e5", "#000000"}, // mid blue: black reads better (5.6 against 3.7)
		{"#777777", "#000000"}, // mid grey: black 4.69 against white 4.48
		{"#757575", "#ffffff"}, // a shade darker: white 4.61 against black 4.56
		{"#c62828", "#ffffff"}, // red
		{"#FFEB3B", "#000000"}, // upper case
	} {
		got := TextOn(tc.bg)
		other := "#ffffff"
		if got == other {
			other = "#000000"
		}
		if got != tc.want || ContrastRatio(tc.bg, got) < ContrastRatio(tc.bg, other) {
			t.Errorf("TextOn(%s) = %s (%.2f, the other %.2f), want %s", tc.bg, got,
				ContrastRatio(tc.bg, got), ContrastRatio(tc.bg, other), tc.want)
		}
	}
}

func TestLogoIsSniffedFromItsBytes(t *testing.T) {
	png := []byte("\x89PNG\r\n\x1a\n\x00\x00\x00\x0dIHDR")
	for _, tc := range []struct {
		name string
		data []byte
		typ  string
	}{
		{"png", png, "image/png"},
		{"jpeg", []byte("\xff\xd8\xff\xe0\x00\x10JFIF"), "image/jpeg"},
		{"webp", []byte("RIFF\x24\x00\x00\x00WEBPVP8 "), "image/webp"},
		{"svg", []byte(`<svg xmlns="http://www.w3.org/2000/svg"><script>alert(1)</script></svg>`), ""},
		{"svg with an xml prolog", []byte(`<?xml version="1.0"?><svg/>`), ""},
		{"gif", []byte("GIF89a\x01\x00"), ""},
		{"html", []byte("<html>"), ""},
		{"empty", []byte{}, ""},
		{"png over 200 KB", append(append([]byte(nil), png...), make([]byte, MaxLogoBytes)...), ""},
		{"png of exactly 200 KB", append(append([]byte(nil), png...), make([]byte, MaxLogoBytes-len(png))...), "image/png"},
	} {
		typ, msg := sniffLogo(tc.data)
		if typ != tc.typ || (typ == "") == (msg == "") {
			t.Errorf("%s: sniffLogo = %q, %q; want type %q", tc.name, typ, msg, tc.typ)
		}
	}
}

func TestMerchantFormRefusesBadFieldsNamingEachAndSavesNothing(t *testing.T) {
	e := newWhEnv(t, nil)
	before, err := e.svc.Merchants(e.ctx)
	if err != nil {
		t.Fatal(err)
	}
	f := MerchantForm{Name: " ", BrandColor: "green", SupportPhone: "call us", SupportEmail: "not-an-email",
		SuccessURL: "ftp://shop.test", CancelURL: "https://user:pw@shop.test/", Methods: nil,
		Logo: []byte("<svg/>")}
	_, err = e.svc.CreateMerchant(e.ctx, f)
	var fe FieldErrors
	if !errors.As(err, &fe) {
		t.Fatalf("CreateMerchant = %v, want FieldErrors", err)
	}
	for _, field := range []string{"name", "brand_color", "support_phone", "support_email", "success_url", "cancel_url", "methods", "logo"} {
		if fe[field] == "" {
			t.Errorf("no error on %s: %v", field, fe)
		}
	}
	if len(fe) != 8 {
		t.Errorf("errors %v, want the eight fields", fe)
	}
	after, _ := e.svc.Merchants(e.ctx)
	if len(after) != len(before) {
		t.Errorf("a refused form made a merchant: %d, then %d", len(before), len(after))
	}
	// An update refused changes nothing either.
	if err := e.svc.UpdateMerchant(e.ctx, "m", MerchantForm{Name: "New name", BrandColor: "#12345g", Methods: AllMethods}); !errors.As(err, &fe) || fe["brand_color"] == "" {
		t.Fatalf("UpdateMerchant = %v", err)
	}
	if m, _ := e.st.Merchant(e.ctx, "m"); m.Name != "Shop" {
		t.Errorf("a refused update renamed the merchant to %q", m.Name)
	}
}

func TestMerchantMethodsAndDefaultURLsApplyToCheckoutsAndLinks(t *testing.T) {
	e := newWhEnv(t, nil)
	m, err := e.svc.CreateMerchant(e.ctx, MerchantForm{Name: "Duka", Methods: []string{MethodPesapal},
		SuccessURL: "https://duka.test/thanks", CancelURL: "https://duka.test/cart"})
	if err != nil {
		t.Fatal(err)
	}
	req := func(body string) CreateRequest {
		var r CreateRequest
		if err := json.Unmarshal([]byte(body), &r); err != nil {
			t.Fatal(err)
		}
		return r
	}
	co, err := e.svc.CreateCheckout(e.ctx, m, req(`{"amount": 100, "currency": "KES", "reference": "A1", "description": "x"}`), "api")
	if err != nil {
		t.Fatal(err)
	}
	if co.Methods != MethodPesapal || co.SuccessURL != "https://duka.test/thanks" || co.CancelURL != "https://duka.test/cart" {
		t.Errorf("checkout methods %q, URLs %q %q: want the merchant's", co.Methods, co.SuccessURL, co.CancelURL)
	}
	co, err = e.svc.CreateCheckout(e.ctx, m, req(`{"amount": 100, "currency": "KES", "reference": "A2", "description": "x",
		"success_url": "https://duka.test/own"}`), "api")
	if err != nil || co.SuccessURL != "https://duka.test/own" || co.CancelURL != "https://duka.test/cart" {
		t.Errorf("a checkout's own success URL: %v, %+v", err, co)
	}
	_, err = e.svc.CreateCheckout(e.ctx, m, req(`{"amount": 100, "currency": "KES", "reference": "A3", "description": "x",
		"methods": ["stk"]}`), "api")
	var fe *FieldError
	if !errors.As(err, &fe) || fe.Field != "methods" {
		t.Errorf("a method the server lacks: %v, want a methods error", err)
	}
	// A method the server has but the merchant does not allow.
	if err := e.svc.UpdateMerchant(e.ctx, m.ID, MerchantForm{Name: "Duka", Methods: []string{MethodPokeaPay}}); err != nil {
		t.Fatal(err)
	}
	m, _ = e.svc.Merchant(e.ctx, m.ID)
	_, err = e.svc.CreateCheckout(e.ctx, m, req(`{"amount": 100, "currency": "KES", "reference": "A4", "description": "x",
		"methods": ["pesapal"]}`), "api")
	if !errors.As(err, &fe) || fe.Field != "methods" || fe.Code != "invalid" || !strings.Contains(fe.Message, "not allowed") {
		t.Errorf("a method the merchant disallows: %v, want a methods error", err)
	}
	_, err = e.svc.CreateLink(e.ctx, m, linkReq(t, `{"amount": 100, "currency": "KES", "description": "x", "methods": ["pesapal"]}`), "api")
	if !errors.As(err, &fe) || fe.Field != "methods" || !strings.Contains(fe.Message, "not allowed") {
		t.Errorf("a link with a method the merchant disallows: %v, want a methods error", err)
	}
	if err := e.svc.UpdateMerchant(e.ctx, m.ID, MerchantForm{Name: "Duka", Methods: AllMethods, SuccessURL: "https://duka.test/thanks"}); err != nil {
		t.Fatal(err)
	}
	m, _ = e.svc.Merchant(e.ctx, m.ID)
	if m.Methods != "" {
		t.Errorf("every method ticked is stored as %q, want \"\"", m.Methods)
	}
	l, err := e.svc.CreateLink(e.ctx, m, linkReq(t, `{"amount": 100, "currency": "KES", "description": "x"}`), "api")
	if err != nil || l.SuccessURL != "https://duka.test/thanks" || l.Methods != "" {
		t.Errorf("link: %v, %+v; want the merchant's success URL", err, l)
	}
}

func TestAPIKeysAuthenticateUntilRevokedOrTheirOverlapEnds(t *testing.T) {
	e := newWhEnv(t, nil)
	k, key, err := e.svc.CreateAPIKey(e.ctx, "m", "Shop server", "owner@shop.test")
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(key, "sk_live_") || len(key) != len("sk_live_")+32 || k.Hint != key[len(key)-4:] || k.Name != "Shop server" {
		t.Fatalf("key %q (%+v): want sk_live_ and 32 hex digits in live mode", key, k)
	}
	if _, _, err := e.svc.CreateAPIKey(e.ctx, "m", "  ", ""); !isFieldError(err, "name") {
		t.Errorf("a key without a name: %v", err)
	}
	m, err := e.svc.Authenticate(e.ctx, key)
	if err != nil || m.ID != "m" {
		t.Fatalf("Authenticate = %v, %v", m, err)
	}

	// Rotation: both keys work until the overlap ends, then only the new.
	if _, _, _, err := e.svc.RotateAPIKey(e.ctx, "m", k.ID, 2*time.Hour, ""); !isFieldError(err, "overlap") {
		t.Errorf("an overlap not offered: %v", err)
	}
	old, next, newKey, err := e.svc.RotateAPIKey(e.ctx, "m", k.ID, time.Hour, "owner@shop.test")
	if err != nil {
		t.Fatal(err)
	}
	if newKey == key || next.Name != "Shop server" || old.ExpiresAt == nil || !old.ExpiresAt.Equal(e.clock.now().Add(time.Hour)) {
		t.Errorf("rotation: old %+v, next %+v", old, next)
	}
	e.clock.add(59 * time.Minute)
	for _, kk := range []string{key, newKey} {
		if _, err := e.svc.Authenticate(e.ctx, kk); err != nil {
			t.Errorf("within the overlap: %v", err)
		}
	}
	e.clock.add(time.Minute)
	if _, err := e.svc.Authenticate(e.ctx, key); !errors.Is(err, ErrBadAPIKey) {
		t.Errorf("the old key after the overlap: %v, want ErrBadAPIKey", err)
	}
	if _, err := e.svc.Authenticate(e.ctx, newKey); err != nil {
		t.Errorf("the new key after the overlap: %v", err)
	}

	// Revocation is immediate, and another merchant cannot revoke.
	if _, err := e.svc.RevokeAPIKey(e.ctx, "other", next.ID); !errors.Is(err, ErrNotFound) {
		t.Errorf("another merchant revokes: %v, want ErrNotFound", err)
	}
	if _, err := e.svc.RevokeAPIKey(e.ctx, "m", next.ID); err != nil {
		t.Fatal(err)
	}
	if _, err := e.svc.Authenticate(e.ctx, newKey); !errors.Is(err, ErrBadAPIKey) {
		t.Errorf("a revoked key: %v, want ErrBadAPIKey", err)
	}
	if _, err := e.svc.Authenticate(e.ctx, "sk_live_unknown"); !errors.Is(err, ErrBadAPIKey) {
		t.Errorf("an unknown key: %v, want ErrBadAPIKey", err)
	}
}

func TestAPIKeysOfTestModeAreSandboxKeys(t *testing.T) {
	e := newWhEnv(t, nil)
	e.testMode = true
	svc := e.service(e.st)
	_, key, err := svc.CreateAPIKey(e.ctx, "m", "Sandbox", "")
	if err != nil || !strings.HasPrefix(key, "sk_sandbox_") {
		t.Errorf("key %q, %v: want sk_sandbox_ in test mode", key, err)
	}
}

// TestAPIKeyLastUseIsWrittenOncePerMinute: calls within a minute of the
// stored use write nothing; the first call a minute on writes it.
func TestAPIKeyLastUseIsWrittenOncePerMinute(t *testing.T) {
	e := newWhEnv(t, nil)
	k, key, err := e.svc.CreateAPIKey(e.ctx, "m", "Till", "")
	if err != nil {
		t.Fatal(err)
	}
	lastUse := func() *time.Time {
		ks, err := e.svc.APIKeys(e.ctx, "m")
		if err != nil {
			t.Fatal(err)
		}
		for _, x := range ks {
			if x.ID == k.ID {
				return x.LastUsedAt
			}
		}
		t.Fatal("the key is gone")
		return nil
	}
	if lastUse() != nil {
		t.Fatal("a new key has a last use")
	}
	start := e.clock.now()
	for i := 0; i < 5; i++ {
		if _, err := e.svc.Authenticate(e.ctx, key); err != nil {
			t.Fatal(err)
		}
		e.clock.add(10 * time.Second)
	}
	if u := lastUse(); u == nil || !u.Equal(start) {
		t.Errorf("after five calls in 50 s the last use is %v, want the first call's %v", u, start)
	}
	e.clock.add(10 * time.Second) // a minute after the first
	if _, err := e.svc.Authenticate(e.ctx, key); err != nil {
		t.Fatal(err)
	}
	if u := lastUse(); u == nil || !u.Equal(start.Add(time.Minute)) {
		t.Errorf("a minute on the last use is %v, want %v", u, start.Add(time.Minute))
	}
}

// TestBrandComesFromTheCacheAtMost30sStale: a change made by another
// process shows within BrandMaxAge; one made through this service at once.
func TestBrandComesFromTheCacheAtMost30sStale(t *testing.T) {
	e := newWhEnv(t, nil)
	png := []byte("\x89PNG\r\n\x1a\nrest of it")
	if err := e.svc.UpdateMerchant(e.ctx, "m", MerchantForm{Name: "Shop", BrandColor: "#0A7D32", SupportPhone: "0712 345 678",
		SupportEmail: "help@shop.test", Methods: AllMethods, Logo: png}); err != nil {
		t.Fatal(err)
	}
	etag := store.NewLogo(png, "").Etag
	want := Brand{Name: "Shop", LogoURL: "/m/m/logo/" + etag, Color: "#0a7d32", TextColor: "#ffffff",
		SupportPhone: "0712 345 678", SupportEmail: "help@shop.test", logoEtag: etag}
	if b := e.svc.Brand(e.ctx, "m"); b != want {
		t.Fatalf("Brand = %+v, want %+v", b, want)
	}
	// Another process renames it: this one shows the old name for up to 30 s.
	if err := e.st.UpdateMerchant(e.ctx, "m", store.MerchantProfile{Name: "Shop Two", BrandColor: "#ffeb3b"}, nil, false); err != nil {
		t.Fatal(err)
	}
	e.clock.add(BrandMaxAge - time.Second)
	if b := e.svc.Brand(e.ctx, "m"); b != want {
		t.Errorf("within 30 s: %+v, want the cached %+v", b, want)
	}
	e.clock.add(time.Second)
	if b := e.svc.Brand(e.ctx, "m"); b.Name != "Shop Two" || b.Color != "#ffeb3b" || b.TextColor != "#000000" || b.LogoURL != want.LogoURL {
		t.Errorf("after 30 s: %+v", b)
	}
	// The logo is served for its current etag only.
	l, err := e.svc.MerchantLogo(e.ctx, "m", etag)
	if err != nil || !bytes.Equal(l.Data, png) || l.Type != "image/png" {
		t.Errorf("MerchantLogo = %v, %v", l, err)
	}
	if _, err := e.svc.MerchantLogo(e.ctx, "m", "0123"); !errors.Is(err, ErrNotFound) {
		t.Errorf("an old etag: %v, want ErrNotFound", err)
	}
	if b := e.svc.Brand(e.ctx, "nobody"); b != (Brand{}) {
		t.Errorf("no merchant: %+v", b)
	}
}

func isFieldError(err error, field string) bool {
	var fe *FieldError
	return errors.As(err, &fe) && fe.Field == field
}
