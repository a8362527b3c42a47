package pokeapay

import (
	"bytes"
	"crypto"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"reflect"
	"strings"
	"testing"

	"checkout/gateway"
)

// repairB2C makes a B2C example valid JSON with exactly the repair
// testdata/ASSUMED.md ("B2C examples as published") describes, and fails
// when the published text is not the one the repair was written for.
func repairB2C(t *testing.T, name string) []byte {
	t.Helper()
	raw := string(doc(t, name))
	var from, to string
	switch name {
	case "doc-b2c-request.txt":
		// A comma after the last field of "destination".
		from, to = "\"mobile_number\":\"2547XXXXXXXXXXX\",\n}", "\"mobile_number\":\"2547XXXXXXXXXXX\"\n}"
	case "doc-b2c-result-failed.txt":
		// No comma after "reference".
		from, to = "\"reference\" : \"12232\"\n", "\"reference\" : \"12232\",\n"
	default:
		return []byte(raw)
	}
	if json.Valid([]byte(raw)) {
		t.Fatalf("%s is valid JSON: the repair is no longer needed", name)
	}
	if n := strings.Count(raw, from); n != 1 {
		t.Fatalf("%s: the repaired text occurs %d times, want once", name, n)
	}
	fixed := strings.Replace(raw, from, to, 1)
	if !json.Valid([]byte(fixed)) {
		t.Fatalf("%s is still not valid JSON after the repair", name)
	}
	return []byte(fixed)
}

// decodeStrict decodes b into v, refusing fields v does not name: the wire
// types must name every field of the examples.
func decodeStrict(t *testing.T, b []byte, v any) {
	t.Helper()
	d := json.NewDecoder(bytes.NewReader(b))
	d.DisallowUnknownFields()
	if err := d.Decode(v); err != nil {
		t.Fatalf("decode: %v", err)
	}
}

func TestDocumentExamplesB2C(t *testing.T) {
	t.Run("request", func(t *testing.T) {
		var r B2CRequest
		decodeStrict(t, repairB2C(t, "doc-b2c-request.txt"), &r)
		want := B2CRequest{
			Source:      B2CSource{CustomerCode: "XXXXXXXX", AccountNo: "XXXXX"},
			Destination: B2CDestination{CountryCode: "KES", Name: "John Doe", MobileNumber: "2547XXXXXXXXXXX"},
			Transfer: B2CTransfer{Reference: "12232", Currency: "KES", Amount: "100", Date: "2020-10-23",
				Description: "Dividend remitting", Channel: B2CChannelMPesa},
			ResultURL: "https://webhook.site/dd12b3f6-5e5b-452e-96ee-63fac3c0e73e",
		}
		if !reflect.DeepEqual(r, want) {
			t.Fatalf("request = %+v\nwant      %+v", r, want)
		}
		// Writing it back gives the example's fields, names and nesting.
		out, err := json.Marshal(r)
		if err != nil {
			t.Fatal(err)
		}
		if d := sameShapeBytes(t, repairB2C(t, "doc-b2c-request.txt"), out); len(d) != 0 {
			t.Errorf("encoded request differs from the example: %v", d)
		}
		// "transfer.amount, transfer.currency, transfer.reference,
		// source.account_no", concatenated.
		if got := B2CSigningString(r); got != "100KES12232XXXXX" {
			t.Errorf("signing string = %q", got)
		}
	})
	t.Run("request headers", func(t *testing.T) {
		h := string(doc(t, "doc-b2c-request-headers.txt"))
		for _, want := range []string{"'Authorization: Bearer ", "'signature: ", "'Content-Type: application/json'", "'Accept: application/json'"} {
			if !strings.Contains(h, want) {
				t.Errorf("headers example has no %q", want)
			}
		}
		sig := string(doc(t, "doc-b2c-signature.txt"))
		if !strings.Contains(sig, "transfer.amount, transfer.currency, transfer.reference, source.account_no.") {
			t.Errorf("signature description changed: %q", sig)
		}
	})
	t.Run("answer", func(t *testing.T) {
		var a B2CAnswer
		decodeStrict(t, doc(t, "doc-b2c-response.json"), &a)
		want := B2CAnswer{Code: "0", Success: true, Message: "The service request is submitted successfully."}
		if a != want || !a.Accepted() {
			t.Fatalf("answer = %+v (accepted %v), want %+v accepted", a, a.Accepted(), want)
		}
	})
	t.Run("success result", func(t *testing.T) {
		var r B2CResult
		decodeStrict(t, doc(t, "doc-b2c-result-success.json"), &r)
		want := B2CResult{Channel: "234432", Reference: "12232", TransactionID: "QLD82TMWJE", Currency: "KES",
			Amount: "100", Fees: "2", ResultCode: "0", ResultDescription: "The service request is processed successfully.",
			Hash: "d6e15ccdf590e58ac5ad4f52943fe16c4db8a605034a4565d21a86a886a7c1c4"}
		if r != want {
			t.Fatalf("result = %+v\nwant     %+v", r, want)
		}
		amt, err := r.AmountCents()
		if !r.Succeeded() || err != nil || amt != gateway.Amount(10000) {
			t.Errorf("succeeded %v, amount %v (%v); want a success of 100.00", r.Succeeded(), amt, err)
		}
	})
	t.Run("failed result", func(t *testing.T) {
		var r B2CResult
		decodeStrict(t, repairB2C(t, "doc-b2c-result-failed.txt"), &r)
		want := B2CResult{Channel: "234432", Reference: "12232", ResultCode: "1032",
			ResultDescription: "Bad Request - Invalid Account number",
			Hash:              "b80c6893e1f38cc054d2b33fb6c3f7b65f635f45eed7a9c6747da038f2b52d30"}
		if r != want {
			t.Fatalf("result = %+v\nwant     %+v", r, want)
		}
		if _, err := r.AmountCents(); r.Succeeded() || err == nil {
			t.Errorf("succeeded %v, amount error %v; want a failure without an amount", r.Succeeded(), err)
		}
	})
}

func TestB2CResultWithoutCodeIsNotASuccess(t *testing.T) {
	var r B2CResult
	decodeStrict(t, []byte(`{"reference":"12232","amount":"100"}`), &r)
	if r.Succeeded() {
		t.Fatal("a result without result_code reads as a success")
	}
}

func TestSignB2CSignsTheSigningStringWithSHA256(t *testing.T) {
	key, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	var r B2CRequest
	decodeStrict(t, repairB2C(t, "doc-b2c-request.txt"), &r)
	sig, err := SignB2C(key, r)
	if err != nil {
		t.Fatal(err)
	}
	raw, err := base64.StdEncoding.DecodeString(sig)
	if err != nil {
		t.Fatalf("signature is not standard Base64: %v", err)
	}
	sum := sha256.Sum256([]byte("100KES12232XXXXX"))
	if err := rsa.VerifyPKCS1v15(&key.PublicKey, crypto.SHA256, sum[:], raw); err != nil {
		t.Fatalf("signature does not verify over the signing string: %v", err)
	}
}
