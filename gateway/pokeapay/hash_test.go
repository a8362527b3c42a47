package pokeapay

import (
	"net/url"
	"testing"

	"checkout/gateway"
)

// Test vectors computed outside this code, with OpenSSL 3 (and checked with
// Python's hmac module, which gives the same hex). Each was produced by
//
//	printf '%s' '<input>' | openssl dgst -sha1 -hmac 'pk-test-HASHKEY-5d1e0a7c'
//
// with <input> the constant next to it, and the hex copied from the output
// "SHA1(stdin)= <hex>". The key is testKey.
const (
	// Checkout, live: live . oref . amt . tel . eml . oc =
	// "1" . "ORD-123" . "1500.00" . "254722000000" . "john@example.com" . "OCT00001".
	vecCheckoutLiveInput = "1ORD-1231500.00254722000000john@example.comOCT00001"
	vecCheckoutLiveHash  = "43fb3c0c6fc7d21d525ab8da835d32ccdaca2914"
	// Checkout, demo, 1,234,567.00 written without separators.
	vecCheckoutDemoInput = "0ORD-1231234567.00254722000000john@example.comOCT00001"
	vecCheckoutDemoHash  = "0a240ebe171498c5d09eb7236072b8518f007d92"
	// Return URL: oref . oc = "ORD-123" . "OCT00001".
	vecReturnInput = "ORD-123OCT00001"
	vecReturnHash  = "6e64810d1d134f0e17a2a794d7456cb99d6a1590"
	// Verification (assumed construction): bill_ref . oc = "pay_01J9ZK4M7Q" . "OCT00001".
	vecVerifyInput = "pay_01J9ZK4M7QOCT00001"
	vecVerifyHash  = "8991dd294b5746d14c3f4599b2b4a07396ebdb90"
)

func TestHashesMatchIndependentlyComputedVectors(t *testing.T) {
	tests := []struct {
		name, input, got, want string
	}{
		{"CheckoutHash live", vecCheckoutLiveInput,
			CheckoutHash(testKey, "1", "ORD-123", "1500.00", "254722000000", "john@example.com", testOC), vecCheckoutLiveHash},
		{"CheckoutHash demo", vecCheckoutDemoInput,
			CheckoutHash(testKey, "0", "ORD-123", "1234567.00", "254722000000", "john@example.com", testOC), vecCheckoutDemoHash},
		{"ReturnHash", vecReturnInput, ReturnHash(testKey, "ORD-123", testOC), vecReturnHash},
		{"VerificationHash", vecVerifyInput, VerificationHash(testKey, "pay_01J9ZK4M7Q", testOC), vecVerifyHash},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if tt.got != tt.want {
				t.Errorf("hash of %q = %s, want %s", tt.input, tt.got, tt.want)
			}
			// The concatenation itself, so that a vector cannot pass by
			// hashing another string that happens to be built the same way.
			if h := hmacSHA1Hex(testKey, tt.input); h != tt.want {
				t.Errorf("hmacSHA1Hex(%q) = %s, want %s", tt.input, h, tt.want)
			}
		})
	}
}

func TestCheckoutURLCarriesTheVectorHash(t *testing.T) {
	tests := []struct {
		name   string
		live   bool
		amount gateway.Amount
		want   string
	}{
		{"live 1500.00", true, 150000, vecCheckoutLiveHash},
		{"demo 1,234,567.00", false, 123456700, vecCheckoutDemoHash},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := newClient(t, tt.live)
			u, err := c.CheckoutURL(CheckoutRequest{OrderRef: "ORD-123", Amount: tt.amount, Currency: "KES",
				CustomerName: "John Doe", Email: "john@example.com", Phone: "254722000000", CallbackURL: "https://shop.example/return"})
			if err != nil {
				t.Fatal(err)
			}
			parsed, err := url.Parse(u)
			if err != nil {
				t.Fatal(err)
			}
			if got := parsed.Query().Get("hsh"); got != tt.want {
				t.Errorf("hsh = %s, want %s", got, tt.want)
			}
		})
	}
}

func TestVerifyReturnAcceptsTheVectorHash(t *testing.T) {
	c := newClient(t, true)
	if err := c.VerifyReturn(Return{OrderRef: "ORD-123", Hash: vecReturnHash}); err != nil {
		t.Errorf("VerifyReturn with the vector hash: %v", err)
	}
}

func TestVerifyPaymentSendsTheVectorHash(t *testing.T) {
	f := newCore(t, jsonAnswer(`{"status":"`+StatusValuePending+`"}`))
	c := f.client(&sleepRecorder{})
	if _, err := c.VerifyPayment(t.Context(), "pay_01J9ZK4M7Q", 150000, TypeMPesa); err != nil {
		t.Fatal(err)
	}
	reqs := f.requests()
	if len(reqs) != 1 {
		t.Fatalf("requests = %d, want 1", len(reqs))
	}
	if got := reqs[0].Query.Get("hash"); got != vecVerifyHash {
		t.Errorf("hash = %s, want %s", got, vecVerifyHash)
	}
}
