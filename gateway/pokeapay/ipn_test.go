package pokeapay

import (
	"errors"
	"strings"
	"testing"
	"unicode"
	"unicode/utf8"

	"checkout/gateway"
)

func TestParseIPNAccepts(t *testing.T) {
	full := IPN{BillReference: "pay_01J9ZK4M7Q", Amount: "1500.00", AccountName: "JOHN DOE", AccountNo: "254722000000",
		Fees: "15.00", ReferenceNo: "SFE1234XYZ", Method: "MPESA"}
	tests := []struct {
		name        string
		contentType string
		body        string
		want        IPN
	}{
		{"JSON strings, as the document's body", "application/json", "{\r\n     \"billreference\":\"pay_01J9ZK4M7Q\",\r\n     \"amount\":\"1500.00\",\r\n" +
			"     \"accountname\":\"JOHN DOE\",\r\n     \"accountno\":\"254722000000\",\r\n     \"fees\":\"15.00\",\r\n" +
			"     \"referenceno\":\"SFE1234XYZ\",\r\n     \"method\":\"MPESA\"\r\n}", full},
		{"JSON numbers keep their text", "application/json; charset=utf-8",
			`{"billreference":949,"amount":1500,"accountname":"JOHN DOE","accountno":254722000000,"fees":15.5,"referenceno":"SFE1234XYZ","method":"MPESA"}`,
			IPN{BillReference: "949", Amount: "1500", AccountName: "JOHN DOE", AccountNo: "254722000000", Fees: "15.5",
				ReferenceNo: "SFE1234XYZ", Method: "MPESA"}},
		{"JSON without content type", "", `{"billreference":"pay_1","amount":"10"}`, IPN{BillReference: "pay_1", Amount: "10"}},
		{"JSON with nulls, other keys and upper-case keys", "application/json",
			`{"BillReference":"pay_1","amount":null,"method":"VISA","extra":{"a":1}}`, IPN{BillReference: "pay_1", Method: "VISA"}},
		{"JSON with an empty amount", "application/json", `{"billreference":"pay_1","amount":""}`, IPN{BillReference: "pay_1"}},
		{"JSON amount with three decimals", "application/json", `{"billreference":"pay_1","amount":"100.000"}`, IPN{BillReference: "pay_1", Amount: "100.000"}},
		{"form body", "application/x-www-form-urlencoded",
			"billreference=pay_01J9ZK4M7Q&amount=1500.00&accountname=JOHN+DOE&accountno=254722000000&fees=15.00&referenceno=SFE1234XYZ&method=MPESA", full},
		{"form body without content type", "", "billreference=pay_1&amount=10", IPN{BillReference: "pay_1", Amount: "10"}},
		{"values trimmed", "application/json", `{"billreference":" pay_1 ","method":" Card "}`, IPN{BillReference: "pay_1", Method: "Card"}},
		{"100-character billreference", "application/json", `{"billreference":"` + strings.Repeat("é", 100) + `"}`,
			IPN{BillReference: strings.Repeat("é", 100)}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := ParseIPN(tt.contentType, []byte(tt.body))
			if err != nil {
				t.Fatalf("ParseIPN: %v", err)
			}
			if got != tt.want {
				t.Errorf("IPN:\n got %+v\nwant %+v", got, tt.want)
			}
		})
	}
}

func TestParseIPNRejects(t *testing.T) {
	tests := []struct {
		name        string
		contentType string
		body        string
		wantErr     string
	}{
		{"missing billreference", "application/json", `{"amount":"10"}`, "billreference is missing"},
		{"blank billreference", "application/json", `{"billreference":"  "}`, "billreference is missing"},
		{"null billreference", "application/json", `{"billreference":null}`, "billreference is missing"},
		{"empty body", "application/json", "  ", "body is empty"},
		{"form without billreference", "application/x-www-form-urlencoded", "amount=10", "billreference is missing"},
		{"billreference of 101 characters", "application/json", `{"billreference":"` + strings.Repeat("a", 101) + `"}`, "billreference is longer than 100 characters"},
		{"bad amount", "application/json", `{"billreference":"pay_1","amount":"1,500.00"}`, "amount is not a decimal amount"},
		{"negative amount", "application/json", `{"billreference":"pay_1","amount":-10}`, "amount is not a decimal amount"},
		{"amount with an exponent", "application/json", `{"billreference":"pay_1","amount":1e3}`, "amount is not a decimal amount"},
		{"amount with three significant decimals", "application/json", `{"billreference":"pay_1","amount":"10.005"}`, "amount is not a decimal amount"},
		{"boolean value", "application/json", `{"billreference":"pay_1","amount":true}`, "body is not the JSON object PokeaPay sends"},
		{"object value", "application/json", `{"billreference":{"id":"pay_1"}}`, "body is not the JSON object PokeaPay sends"},
		{"broken JSON", "application/json", `{"billreference":`, "body is not the JSON object PokeaPay sends"},
		{"JSON array", "application/json", `[{"billreference":"pay_1"}]`, "body is not the JSON object PokeaPay sends"},
		{"control character", "application/json", `{"billreference":"pay\u00001"}`, "billreference contains a character that is not printable"},
		{"newline in the name", "application/json", `{"billreference":"pay_1","accountname":"A\nB"}`, "accountname contains a character that is not printable"},
		{"name of 256 characters", "application/json", `{"billreference":"pay_1","accountname":"` + strings.Repeat("n", 256) + `"}`, "accountname is longer than 255 characters"},
		{"broken form", "application/x-www-form-urlencoded", "billreference=%zz", "body is neither JSON nor a form"},
		{"form key twice", "application/x-www-form-urlencoded", "billreference=a&billreference=b", "billreference is sent more than once with different values"},
		{"oversize body", "application/json", `{"billreference":"pay_1","accountname":"` + strings.Repeat("a", 16<<10) + `"}`, "body is larger than 16384 bytes"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := ParseIPN(tt.contentType, []byte(tt.body))
			if !errors.Is(err, ErrInvalidIPN) {
				t.Fatalf("error %v does not wrap ErrInvalidIPN (got %+v)", err, got)
			}
			if want := "pokeapay: invalid IPN: " + tt.wantErr; err.Error() != want {
				t.Errorf("error = %q\nwant    %q", err, want)
			}
			if got != (IPN{}) {
				t.Errorf("IPN %+v came with an error", got)
			}
		})
	}
}

func TestIPNAmountCents(t *testing.T) {
	tests := []struct {
		amount string
		want   gateway.Amount
		wantOK bool
	}{
		{"1500.00", 150000, true},
		{"1500", 150000, true},
		{"0.5", 50, true},
		{"100.000", 10000, true},
		{"", 0, false},
		{"1,500", 0, false},
		{"abc", 0, false},
	}
	for _, tt := range tests {
		t.Run(tt.amount, func(t *testing.T) {
			got, ok := IPN{BillReference: "pay_1", Amount: tt.amount}.AmountCents()
			if got != tt.want || ok != tt.wantOK {
				t.Errorf("AmountCents() = %d, %v; want %d, %v", got, ok, tt.want, tt.wantOK)
			}
		})
	}
}

func FuzzParseIPN(f *testing.F) {
	seedIPNFixtures(f)
	f.Add("application/json", []byte(`{"billreference":"pay_1","amount":"1500.00","accountname":"JOHN","accountno":"254722000000","fees":"0","referenceno":"SFE1","method":"MPESA"}`))
	f.Add("application/json", []byte(`{"billreference":949,"amount":1500}`))
	f.Add("application/x-www-form-urlencoded", []byte("billreference=pay_1&amount=10"))
	f.Add("", []byte(`{"billreference":"\u0000"}`))
	f.Add("text/plain; charset=\"", []byte(" "))
	f.Add("application/json", []byte(`{"billreference":"a","amount":-0}`))
	f.Fuzz(func(t *testing.T, contentType string, body []byte) {
		n, err := ParseIPN(contentType, body)
		if err != nil {
			if !errors.Is(err, ErrInvalidIPN) {
				t.Fatalf("error %v does not wrap ErrInvalidIPN", err)
			}
			if n != (IPN{}) {
				t.Fatalf("IPN %+v came with an error", n)
			}
			return
		}
		if len(body) > maxIPNBody {
			t.Fatalf("accepted a %d-byte body", len(body))
		}
		if n.BillReference == "" {
			t.Fatalf("parsed %+v without a billreference", n)
		}
		if utf8.RuneCountInString(n.BillReference) > 100 {
			t.Fatalf("billreference %q is longer than 100 characters", n.BillReference)
		}
		for _, s := range []string{n.BillReference, n.Amount, n.AccountName, n.AccountNo, n.Fees, n.ReferenceNo, n.Method} {
			if !utf8.ValidString(s) || strings.IndexFunc(s, func(r rune) bool { return !unicode.IsPrint(r) }) >= 0 {
				t.Fatalf("parsed value %q is not printable UTF-8", s)
			}
		}
		if _, ok := n.AmountCents(); n.Amount != "" && !ok {
			t.Fatalf("amount %q was accepted but does not parse", n.Amount)
		}
	})
}
