package main

import (
	"reflect"
	"testing"

	"checkout/gateway/sandbox"
)

// self is the listener's loopback URL in these tests: deliberately not the
// public URL, so that each expected URL says which of the two it is built on.
const testSelf = "http://127.0.0.1:41234"

func mustConfig(t *testing.T, env map[string]string) *config {
	t.Helper()
	c, err := loadConfig(func(k string) string { return env[k] })
	if err != nil {
		t.Fatalf("loadConfig: %v", err)
	}
	return c
}

// TestResolveProvidersInTestModeIsTheSimulatorsAtTheLoopbackURL: in test
// mode every client calls a simulator at the listener's loopback address
// with the credentials made up for this start, the customer's browser goes
// to the simulated pages at the public URL, configured provider URLs are
// ignored, and no provider page is an allowed origin.
func TestResolveProvidersInTestModeIsTheSimulatorsAtTheLoopbackURL(t *testing.T) {
	cfg := mustConfig(t, map[string]string{
		"CHECKOUT_PUBLIC_URL": "http://localhost:8080",
		// Not credentials: allowed in test mode, and ignored there.
		"PESAPAL_URL": "https://pesapal.example/v3", "POKEAPAY_CHECKOUT_URL": "https://pay.pokeapay.example/",
		"POKEAPAY_CORE_URL": "https://core.pokeapay.example", "POKEAPAY_API_URL": "https://saf.pokeapay.example/api/v1",
		"POCHIPAY_URL": "https://pochipay.example/api/v1",
	})
	if !cfg.Sandbox {
		t.Fatal("the configuration is not test mode")
	}
	sim := simSecrets{Secret: "sim-secret", HashKey: "sim-hash-key"}
	before := *cfg
	got := resolveProviders(cfg, testSelf, sim)
	if !reflect.DeepEqual(*cfg, before) {
		t.Errorf("resolveProviders changed the configuration:\n got %+v\nwant %+v", *cfg, before)
	}
	want := providers{
		Sandbox: &sandbox.Config{PublicURL: "http://localhost:8080", ConsumerKey: "sandbox-key", ConsumerSecret: "sim-secret",
			PokeaPayOutletCode: "SANDBOX01", PokeaPayHashKey: "sim-hash-key", PokeaPayIPNURL: "http://localhost:8080/ipn/pokeapay",
			PokeaPaySTKEmail: "stk@sandbox.local", PokeaPaySTKPassword: "sim-secret",
			PochipayEmail: "pochipay@sandbox.local", PochipayPassword: "sim-secret",
			PokeaPayB2CCustomerCode: "SANDBOXB2C", PokeaPayB2CAccountNo: "100200300",
			DuplicateIPNRate: sandbox.DefaultDuplicateIPNRate},
		Pesapal: &pesapalSetup{URL: testSelf + "/sandbox/pesapal/v3", ConsumerKey: "sandbox-key", ConsumerSecret: "sim-secret",
			IPNURL: "http://localhost:8080/ipn/pesapal"},
		PokeaPay: &pokeaPaySetup{CheckoutURL: "http://localhost:8080/sandbox/pokeapay/", CoreURL: testSelf + "/sandbox/pokeapay/core",
			OutletCode: "SANDBOX01", HashKey: "sim-hash-key", Live: false},
		STK: stkSetup{Provider: "pokeapay", URL: testSelf + "/sandbox/pokeapay/stk/api/v1", Email: "stk@sandbox.local",
			Password: "sim-secret", OutletCode: "SANDBOX01"},
		// Payouts go to the B2C simulator, signed with its key (set by run
		// once the simulator exists), with the STK simulator's login.
		Payout: payoutSetup{Provider: "pokeapay", URL: testSelf + "/sandbox/pokeapay-b2c", APIURL: testSelf + "/sandbox/pokeapay/stk/api/v1",
			Email: "stk@sandbox.local", Password: "sim-secret", CustomerCode: "SANDBOXB2C", AccountNo: "100200300"},
		Origins: nil,
	}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("providers:\n got %+v\n     %+v %+v %+v %+v\nwant %+v\n     %+v %+v %+v %+v",
			got, got.Sandbox, got.Pesapal, got.PokeaPay, got.STK, want, want.Sandbox, want.Pesapal, want.PokeaPay, want.STK)
	}

	// The simulator serves its hosted page where the client sends the
	// customer.
	sb := sandbox.New(*got.Sandbox)
	defer sb.Close()
	if u := sb.PokeaPayCheckoutURL(); u != got.PokeaPay.CheckoutURL {
		t.Errorf("the simulator's checkout page is at %s, the client sends customers to %s", u, got.PokeaPay.CheckoutURL)
	}
}

// TestResolveProvidersLiveIsTheConfiguredProviders: in live mode each
// configured provider is called at its configured URL with its configured
// credentials, the loopback URL plays no part, no simulator runs, and the
// provider pages customers see are the allowed origins.
func TestResolveProvidersLiveIsTheConfiguredProviders(t *testing.T) {
	cfg := mustConfig(t, map[string]string{
		"CHECKOUT_PUBLIC_URL":  "https://pay.example.co.ke",
		"CHECKOUT_ADMIN_EMAIL": "ops@example.co.ke", "CHECKOUT_ADMIN_PASSWORD": "a long admin password",
		"PESAPAL_URL": "https://cybqa.pesapal.com/pesapalv3/", "PESAPAL_CONSUMER_KEY": "pesapal-key", "PESAPAL_CONSUMER_SECRET": "pesapal-secret",
		"POKEAPAY_CHECKOUT_URL": "https://demo.pokeapay.example/checkout/", "POKEAPAY_CORE_URL": "https://core.pokeapay.example/",
		"POKEAPAY_OUTLET_CODE": "OCT00001", "POKEAPAY_HASH_KEY": "pokeapay-hash-key", "POKEAPAY_LIVE": "0",
		"POKEAPAY_API_URL": "https://saf.pokeapay.example/api/v1", "POKEAPAY_EMAIL": "stk@shop.example", "POKEAPAY_PASSWORD": "pokeapay-password",
		"POCHIPAY_URL": "https://pochipay.example/api/v1", "POCHIPAY_EMAIL": "p@shop.example", "POCHIPAY_PASSWORD": "pochipay-password",
		"CHECKOUT_STK_PROVIDER": "pochipay",
	})
	if cfg.Sandbox {
		t.Fatal("the configuration is test mode")
	}
	got := resolveProviders(cfg, testSelf, simSecrets{Secret: "unused", HashKey: "unused"})
	want := providers{
		Sandbox: nil,
		Pesapal: &pesapalSetup{URL: "https://cybqa.pesapal.com/pesapalv3", ConsumerKey: "pesapal-key", ConsumerSecret: "pesapal-secret",
			IPNURL: "https://pay.example.co.ke/ipn/pesapal"},
		PokeaPay: &pokeaPaySetup{CheckoutURL: "https://demo.pokeapay.example/checkout/", CoreURL: "https://core.pokeapay.example",
			OutletCode: "OCT00001", HashKey: "pokeapay-hash-key", Live: false},
		STK: stkSetup{Provider: "pochipay", URL: "https://pochipay.example/api/v1", Email: "p@shop.example", Password: "pochipay-password"},
		// Pochipay's login covers disbursements: it sends payouts.
		Payout:  payoutSetup{Provider: "pochipay", URL: "https://pochipay.example/api/v1", Email: "p@shop.example", Password: "pochipay-password"},
		Origins: []string{"https://demo.pokeapay.example", "https://cybqa.pesapal.com"},
	}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("providers:\n got %+v\n     %+v %+v %+v\nwant %+v\n     %+v %+v %+v",
			got, got.Pesapal, got.PokeaPay, got.STK, want, want.Pesapal, want.PokeaPay, want.STK)
	}
}

// TestResolveProvidersLiveLeavesOutWhatIsNotConfigured: a live start with
// Pesapal alone has no PokeaPay checkout and no STK backend, and only
// Pesapal's page is an allowed origin.
func TestResolveProvidersLiveLeavesOutWhatIsNotConfigured(t *testing.T) {
	cfg := mustConfig(t, liveEnv(t, "checkout.db"))
	got := resolveProviders(cfg, testSelf, simSecrets{})
	want := providers{
		Pesapal: &pesapalSetup{URL: "http://127.0.0.1:1/v3", ConsumerKey: "qkio1BGGYAXTu2JOfm7XSXNruoZsrqEW",
			ConsumerSecret: "osGQ364R49cXKeOYSpaOnT++rHs=", IPNURL: "https://pay.example.co.ke/ipn/pesapal"},
		Origins: []string{"http://127.0.0.1:1"},
	}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("providers:\n got %+v %+v\nwant %+v %+v", got, got.Pesapal, want, want.Pesapal)
	}
}

// TestResolveProvidersChoosesTheSTKBackend: CHECKOUT_STK_PROVIDER, else
// the provider with STK credentials, else (test mode) PokeaPay's simulator;
// a live start without STK credentials has none.
func TestResolveProvidersChoosesTheSTKBackend(t *testing.T) {
	live := map[string]string{"CHECKOUT_PUBLIC_URL": "https://pay.example.co.ke",
		"CHECKOUT_ADMIN_EMAIL": "ops@example.co.ke", "CHECKOUT_ADMIN_PASSWORD": "a long admin password"}
	pesapal := map[string]string{"PESAPAL_CONSUMER_KEY": "pesapal-key", "PESAPAL_CONSUMER_SECRET": "pesapal-secret"}
	pokea := map[string]string{"POKEAPAY_OUTLET_CODE": "OCT00001", "POKEAPAY_HASH_KEY": "pokeapay-hash-key",
		"POKEAPAY_API_URL": "https://saf.pokeapay.example/api/v1", "POKEAPAY_EMAIL": "stk@shop.example", "POKEAPAY_PASSWORD": "pokeapay-password"}
	pochi := map[string]string{"POCHIPAY_URL": "https://pochipay.example/api/v1", "POCHIPAY_EMAIL": "p@shop.example", "POCHIPAY_PASSWORD": "pochipay-password"}
	choose := func(p string) map[string]string { return map[string]string{"CHECKOUT_STK_PROVIDER": p} }
	with := func(maps ...map[string]string) map[string]string {
		out := map[string]string{}
		for _, m := range maps {
			for k, v := range m {
				out[k] = v
			}
		}
		return out
	}
	livePokea := stkSetup{Provider: "pokeapay", URL: "https://saf.pokeapay.example/api/v1", Email: "stk@shop.example",
		Password: "pokeapay-password", OutletCode: "OCT00001"}
	livePochi := stkSetup{Provider: "pochipay", URL: "https://pochipay.example/api/v1", Email: "p@shop.example", Password: "pochipay-password"}
	simPokea := stkSetup{Provider: "pokeapay", URL: testSelf + "/sandbox/pokeapay/stk/api/v1", Email: "stk@sandbox.local",
		Password: "sim-secret", OutletCode: "SANDBOX01"}
	simPochi := stkSetup{Provider: "pochipay", URL: testSelf + "/sandbox/pochipay/api/v1", Email: "pochipay@sandbox.local", Password: "sim-secret"}
	for _, tc := range []struct {
		name string
		env  map[string]string
		want stkSetup
	}{
		{"test mode: PokeaPay's simulator", map[string]string{}, simPokea},
		{"test mode, pochipay chosen: Pochipay's simulator", choose("pochipay"), simPochi},
		{"test mode, pokeapay chosen", choose("pokeapay"), simPokea},
		{"live, PokeaPay STK credentials", with(live, pokea), livePokea},
		{"live, Pochipay credentials", with(live, pochi), livePochi},
		{"live, both, pokeapay chosen", with(live, pokea, pochi, choose("pokeapay")), livePokea},
		{"live, both, pochipay chosen", with(live, pokea, pochi, choose("pochipay")), livePochi},
		{"live, Pesapal alone: no STK", with(live, pesapal), stkSetup{}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got := resolveProviders(mustConfig(t, tc.env), testSelf, simSecrets{Secret: "sim-secret", HashKey: "sim-hash-key"})
			if got.STK != tc.want {
				t.Fatalf("STK = %+v, want %+v", got.STK, tc.want)
			}
		})
	}
}
