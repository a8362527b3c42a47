package pokeapay

import (
	"errors"
	"net/http"
	"reflect"
	"testing"

	"checkout/gateway"
)

func TestConfirmAsksBothChannelsAndReportsWhatPokeaPayVerified(t *testing.T) {
	const (
		success = `{"status":"c4812ee2b789226193ad2511495fa559","oref":"pay_1"}`
		failed  = `{"status":"ccc0377a8afbf50e7094f5c23a8af223","oref":"pay_1"}`
		pending = `{"status":"c69f06e1a9b016d133907b4e5f5864d2"}`
		// Assumed fields (testdata/ASSUMED.md, "Verification answer").
		withFacts   = `{"status":"c4812ee2b789226193ad2511495fa559","oref":"pay_1","amount":"1500.00","referenceno":"QLD82TMWJE"}`
		withReceipt = `{"status":"c4812ee2b789226193ad2511495fa559","amount":1500,"receipt":"RCP1"}`
		otherAmount = `{"status":"c4812ee2b789226193ad2511495fa559","oref":"pay_1","amount":"900.00"}`
	)
	q := gateway.Query{AttemptID: "pay_1", ProviderReference: "pay_1", Amount: 150000, Currency: "KES"}
	tests := []struct {
		name      string
		m, c      http.HandlerFunc
		wantTypes []string // the types asked, in order
		want      gateway.Result
	}{
		{
			name: "M-Pesa success asks nothing more and confirms the amount asked about",
			m:    jsonAnswer(success), c: jsonAnswer(failed),
			wantTypes: []string{"m"},
			want: gateway.Result{Status: gateway.StatusSucceeded, Amount: 150000, HasAmount: true, Currency: "KES",
				Reference: "pay_1", ProviderReference: "pay_1", Method: "M-Pesa", Raw: []byte(`{"m":` + success + `}`)},
		},
		{
			name: "a success with an amount and a referenceno reports both",
			m:    jsonAnswer(withFacts), c: jsonAnswer(failed),
			wantTypes: []string{"m"},
			want: gateway.Result{Status: gateway.StatusSucceeded, Amount: 150000, HasAmount: true, Receipt: "QLD82TMWJE",
				Currency: "KES", Reference: "pay_1", ProviderReference: "pay_1", Method: "M-Pesa", Raw: []byte(`{"m":` + withFacts + `}`)},
		},
		{
			name: "a success with a numeric amount and a receipt reports both",
			m:    jsonAnswer(pending), c: jsonAnswer(withReceipt),
			wantTypes: []string{"m", "c"},
			want: gateway.Result{Status: gateway.StatusSucceeded, Amount: 150000, HasAmount: true, Receipt: "RCP1",
				Currency: "KES", Reference: "pay_1", ProviderReference: "pay_1", Method: "Card",
				Raw: []byte(`{"m":` + pending + `,"c":` + withReceipt + `}`)},
		},
		{
			name: "a success reporting another amount reports that amount, for the caller to compare",
			m:    jsonAnswer(otherAmount), c: jsonAnswer(failed),
			wantTypes: []string{"m"},
			want: gateway.Result{Status: gateway.StatusSucceeded, Amount: 90000, HasAmount: true, Currency: "KES",
				Reference: "pay_1", ProviderReference: "pay_1", Method: "M-Pesa", Raw: []byte(`{"m":` + otherAmount + `}`)},
		},
		{
			name: "M-Pesa pending and card success is a card success",
			m:    jsonAnswer(pending), c: jsonAnswer(success),
			wantTypes: []string{"m", "c"},
			want: gateway.Result{Status: gateway.StatusSucceeded, Amount: 150000, HasAmount: true, Currency: "KES",
				Reference: "pay_1", ProviderReference: "pay_1", Method: "Card",
				Raw: []byte(`{"m":` + pending + `,"c":` + success + `}`)},
		},
		{
			name: "plain-text card success is kept as a JSON string",
			m:    text(http.StatusOK, "text/plain", StatusValueFailed), c: text(http.StatusOK, "text/plain", StatusValueSuccess+"\n"),
			wantTypes: []string{"m", "c"},
			want: gateway.Result{Status: gateway.StatusSucceeded, Amount: 150000, HasAmount: true, Currency: "KES",
				Reference: "pay_1", ProviderReference: "pay_1", Method: "Card",
				Raw: []byte(`{"m":"` + StatusValueFailed + `","c":"` + StatusValueSuccess + `\n"}`)},
		},
		{
			name: "both failed is failed, without an amount",
			m:    jsonAnswer(failed), c: jsonAnswer(failed),
			wantTypes: []string{"m", "c"},
			want: gateway.Result{Status: gateway.StatusFailed, Currency: "KES", Reference: "pay_1", ProviderReference: "pay_1",
				Message: "PokeaPay did not receive this payment.", Raw: []byte(`{"m":` + failed + `,"c":` + failed + `}`)},
		},
		{
			name: "M-Pesa pending and card failed stays pending",
			m:    jsonAnswer(pending), c: jsonAnswer(failed),
			wantTypes: []string{"m", "c"},
			want: gateway.Result{Status: gateway.StatusPending, Currency: "KES", Reference: "pay_1", ProviderReference: "pay_1",
				Raw: []byte(`{"m":` + pending + `,"c":` + failed + `}`)},
		},
		{
			name: "M-Pesa failed and card pending stays pending",
			m:    jsonAnswer(failed), c: jsonAnswer(pending),
			wantTypes: []string{"m", "c"},
			want: gateway.Result{Status: gateway.StatusPending, Currency: "KES", Reference: "pay_1", ProviderReference: "pay_1",
				Raw: []byte(`{"m":` + failed + `,"c":` + pending + `}`)},
		},
		{
			name: "an M-Pesa error does not hide a card success",
			m:    text(http.StatusBadRequest, "", ""), c: jsonAnswer(success),
			wantTypes: []string{"m", "c"},
			want: gateway.Result{Status: gateway.StatusSucceeded, Amount: 150000, HasAmount: true, Currency: "KES",
				Reference: "pay_1", ProviderReference: "pay_1", Method: "Card", Raw: []byte(`{"c":` + success + `}`)},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newCore(t, byType(tt.m, tt.c))
			c := f.client(&sleepRecorder{})

			got, err := c.Confirm(t.Context(), q)
			if err != nil {
				t.Fatalf("Confirm: %v", err)
			}

			if !reflect.DeepEqual(got, tt.want) {
				t.Errorf("result:\n got %+v (raw %s)\nwant %+v (raw %s)", got, got.Raw, tt.want, tt.want.Raw)
			}
			reqs := f.requests()
			var types []string
			for _, r := range reqs {
				types = append(types, r.Query.Get("type"))
				if r.Query.Get("bill_ref") != "pay_1" || r.Query.Get("amount") != "1500.00" || r.Query.Get("oc") != testOC {
					t.Errorf("request query %q does not ask about pay_1 for 1500.00", r.RawQuery)
				}
			}
			if !reflect.DeepEqual(types, tt.wantTypes) {
				t.Errorf("types asked = %v, want %v", types, tt.wantTypes)
			}
		})
	}
}

func TestConfirmErrorOnTheCoreIsAnError(t *testing.T) {
	tests := []struct {
		name       string
		m, c       http.HandlerFunc
		wantStatus int
		wantCode   string
		wantHits   int
	}{
		{"both channels answer 500", text(http.StatusInternalServerError, "", ""), text(http.StatusInternalServerError, "", ""),
			http.StatusInternalServerError, "", 6},
		{"M-Pesa pending, card error", jsonAnswer(`{"status":"` + StatusValuePending + `"}`), text(http.StatusForbidden, "", ""),
			http.StatusForbidden, "", 2},
		{"M-Pesa unknown answer, card failed", jsonAnswer(`{"status":"ok"}`), jsonAnswer(`{"status":"` + StatusValueFailed + `"}`),
			http.StatusOK, "ok", 2},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newCore(t, byType(tt.m, tt.c))
			c := f.client(&sleepRecorder{})

			got, err := c.Confirm(t.Context(), gateway.Query{AttemptID: "pay_1", Amount: 100, Currency: "KES"})

			if err == nil {
				t.Fatalf("Confirm succeeded with %+v", got)
			}
			if !reflect.DeepEqual(got, gateway.Result{}) {
				t.Errorf("result %+v came with an error", got)
			}
			e := asError(t, err)
			if e.HTTPStatus != tt.wantStatus || e.Code != tt.wantCode || e.Op != "verify payment" {
				t.Errorf("error = %+v, want HTTP %d code %q", *e, tt.wantStatus, tt.wantCode)
			}
			if hits := len(f.requests()); hits != tt.wantHits {
				t.Errorf("requests = %d, want %d", hits, tt.wantHits)
			}
		})
	}
}

func TestConfirmRefusesBadQueriesBeforeSending(t *testing.T) {
	tests := []struct {
		name    string
		q       gateway.Query
		wantErr string
	}{
		{"currency not KES", gateway.Query{AttemptID: "pay_1", Amount: 100, Currency: "USD"}, "pokeapay: confirm: invalid request: currency \"USD\" is not KES"},
		{"no attempt id", gateway.Query{Amount: 100, Currency: "KES"}, "pokeapay: verify payment: invalid request: bill_ref is required"},
		{"no amount", gateway.Query{AttemptID: "pay_1", Currency: "KES"}, "pokeapay: verify payment: invalid request: amount must be more than zero"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newCore(t, jsonAnswer(`{"status":"`+StatusValueSuccess+`"}`))
			c := f.client(&sleepRecorder{})

			_, err := c.Confirm(t.Context(), tt.q)

			if !errors.Is(err, ErrInvalidRequest) || err.Error() != tt.wantErr {
				t.Errorf("error = %v, want %q wrapping ErrInvalidRequest", err, tt.wantErr)
			}
			if hits := len(f.requests()); hits != 0 {
				t.Errorf("requests = %d, want none", hits)
			}
		})
	}
}
