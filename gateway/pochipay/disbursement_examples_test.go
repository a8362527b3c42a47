package pochipay

import (
	"encoding/json"
	"reflect"
	"testing"

	"checkout/gateway/internal/fixture"
)

// Disbursements have no call yet: these tests hold the wire types to the
// assumed examples, so that the payouts work starts from names that read
// every example as it means.

// decodeEnvelope reads an answer example's envelope and its result into v
// (v may be nil for an answer whose result is null).
func decodeEnvelope(t *testing.T, name string, v any) envelope {
	t.Helper()
	var env envelope
	if err := json.Unmarshal(example(t, name), &env); err != nil {
		t.Fatalf("%s: %v", name, err)
	}
	if v != nil {
		if err := json.Unmarshal(env.Result, v); err != nil {
			t.Fatalf("%s: result: %v", name, err)
		}
	}
	return env
}

func TestDisbursementExampleRequestsMatchTheWireTypes(t *testing.T) {
	for _, tt := range []struct {
		name  string
		built any // what our types send for the example's values
		into  any // a new value to decode the example into
	}{
		{
			name: "assumed-disbursement-send-to-mobile-request.json",
			built: sendToMobileRequest{
				CallbackURL:       "https://checkout.example.com/callback/pochipay-payout",
				RequestID:         "po_3Kx8vT1q",
				DisbursementTitle: "Refund ORDER-1001",
				Recipients: []sendToMobileRecipient{{Amount: 100, Remarks: "Refund ORDER-1001",
					TrackingReference: "po_3Kx8vT1q-1", PhoneNumber: "254712345678"}},
			},
			into: &sendToMobileRequest{},
		},
		{"assumed-disbursement-status-request.json", trackingRequest{TrackingReference: "po_3Kx8vT1q-1"}, &trackingRequest{}},
		{"assumed-disbursement-cancel-request.json", trackingRequest{TrackingReference: "po_3Kx8vT1q-1"}, &trackingRequest{}},
		{"assumed-disbursement-execute-narration-request.json",
			executeNarrationRequest{NarrationID: "8d2e6f1a-3b4c-4d5e-8f9a-1b2c3d4e5f6a"}, &executeNarrationRequest{}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			b, err := json.Marshal(tt.built)
			if err != nil {
				t.Fatal(err)
			}
			fixture.SameShape(t, tt.name, example(t, tt.name), b)
			assertNoEmptyStrings(t, tt.name, string(b))
			if err := json.Unmarshal(example(t, tt.name), tt.into); err != nil {
				t.Fatal(err)
			}
			if got := reflect.ValueOf(tt.into).Elem().Interface(); !reflect.DeepEqual(got, tt.built) {
				t.Errorf("example reads as %+v, want %+v", got, tt.built)
			}
		})
	}
}

func TestDisbursementRemarksAreLeftOutWhenEmpty(t *testing.T) {
	b, err := json.Marshal(sendToMobileRecipient{Amount: 100, TrackingReference: "t", PhoneNumber: "254712345678"})
	if err != nil {
		t.Fatal(err)
	}
	assertJSONObject(t, string(b), map[string]any{"amount": json.Number("100"), "trackingReference": "t", "phoneNumber": "254712345678"})
}

func TestDisbursementExampleAnswersDecode(t *testing.T) {
	t.Run("assumed-disbursement-send-to-mobile-response.json", func(t *testing.T) {
		var r sendToMobileResult
		env := decodeEnvelope(t, "assumed-disbursement-send-to-mobile-response.json", &r)
		want := sendToMobileResult{RequestID: "po_3Kx8vT1q", IsProcessing: flexBool{Set: true, Value: true}}
		if r != want || len(env.Errors) != 0 || !equalStrings(env.Message, []string{"Disbursement request accepted for processing"}) {
			t.Errorf("accepted = %+v, envelope %+v; want %+v and no errors", r, env, want)
		}
	})
	t.Run("assumed-disbursement-send-to-mobile-error.json", func(t *testing.T) {
		env := decodeEnvelope(t, "assumed-disbursement-send-to-mobile-error.json", nil)
		if string(env.Result) != "null" || !equalStrings(env.Errors, []string{"Insufficient balance"}) ||
			!equalStrings(env.Message, []string{"Insufficient balance"}) {
			t.Errorf("refused = %+v, want a null result and the text", env)
		}
	})
	for _, tt := range []struct {
		name string
		want payoutCallback
	}{
		{"assumed-disbursement-callback-success.json", payoutCallback{Successful: flexBool{Set: true, Value: true},
			RequestID: "po_3Kx8vT1q", TrackingReference: "po_3Kx8vT1q-1", ThirdPartyReference: "SGR8XYZ789"}},
		{"assumed-disbursement-callback-failed.json", payoutCallback{Successful: flexBool{Set: true, Value: false},
			RequestID: "po_3Kx8vT1q", TrackingReference: "po_3Kx8vT1q-1",
			FailReason: "The recipient is not a registered M-Pesa customer"}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			var got payoutCallback
			if err := json.Unmarshal(example(t, tt.name), &got); err != nil {
				t.Fatal(err)
			}
			if got != tt.want {
				t.Errorf("callback = %+v, want %+v", got, tt.want)
			}
		})
	}
	for _, tt := range []struct {
		name string
		want disbursementStatusResult
	}{
		// Pending with a narrationId: execute-narration can retry it.
		{"assumed-disbursement-status-pending.json", disbursementStatusResult{TrackingReference: "po_3Kx8vT1q-1",
			Status: "Pending", NarrationID: "8d2e6f1a-3b4c-4d5e-8f9a-1b2c3d4e5f6a"}},
		// Completed with the M-Pesa receipt.
		{"assumed-disbursement-status-completed.json", disbursementStatusResult{TrackingReference: "po_3Kx8vT1q-1",
			Status: "Completed", ThirdPartyReference: "SGR8XYZ789"}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			var got disbursementStatusResult
			env := decodeEnvelope(t, tt.name, &got)
			if got != tt.want || len(env.Errors) != 0 {
				t.Errorf("status = %+v (errors %v), want %+v", got, env.Errors, tt.want)
			}
		})
	}
	for _, tt := range []struct {
		name, message string
		errors        []string
	}{
		{"assumed-disbursement-status-notfound.json", "Transaction not found", []string{"Transaction not found"}},
		{"assumed-disbursement-cancel-response.json", "Transaction cancelled", nil},
		{"assumed-disbursement-execute-narration-response.json", "Narration queued for execution", nil},
	} {
		t.Run(tt.name, func(t *testing.T) {
			env := decodeEnvelope(t, tt.name, nil)
			if string(env.Result) != "null" || !equalStrings(env.Message, []string{tt.message}) || !equalStrings(env.Errors, tt.errors) {
				t.Errorf("answer = result %s, message %v, errors %v; want null, %q, %v", env.Result, env.Message, env.Errors, tt.message, tt.errors)
			}
		})
	}
	t.Run("assumed-account-balance-response.json", func(t *testing.T) {
		var got balanceResult
		env := decodeEnvelope(t, "assumed-account-balance-response.json", &got)
		want := balanceResult{Currency: "KES", Balance: optionalAmount{Set: true, OK: true, Text: "15000.5"}}
		if got != want || len(env.Errors) != 0 {
			t.Errorf("balance = %+v, want %+v", got, want)
		}
	})
}
