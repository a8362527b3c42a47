package pesapal

import (
	"context"
	"errors"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"reflect"
	"testing"
	"time"

	"checkout/gateway"
)

// docStatusSample is the document's GetTransactionStatus sample answer.
const docStatusSample = `{
    "payment_method": "Visa",
    "amount": 100,
    "created_date": "2022-04-30T07:41:09.763",
    "confirmation_code": "6513008693186320103009",
    "payment_status_description": "Failed",
    "description": "Unable to Authorize Transaction.Kindly contact your bank for assistance",
    "message": "Request processed successfully",
    "payment_account": "476173**0010",
    "call_back_url": "https://test.com/?OrderTrackingId=7e6b62d9-883e-440f-a63e-e1105bbfadc3&OrderMerchantReference=1515111111",
    "status_code": 2,
    "merchant_reference": "1515111111",
    "payment_status_code": "",
    "currency": "KES",
    "error": {
        "error_type": null,
        "code": null,
        "message": null,
        "call_back_url": null
    },
    "status": "200"
}`

func TestGetTransactionStatusReadsTheDocumentSample(t *testing.T) {
	const trackingID = "7e6b62d9-883e-440f-a63e-e1105bbfadc3 &x=1/?"
	f := newFake(t, map[string]http.HandlerFunc{pathTransactionSts: raw(http.StatusOK, docStatusSample)})
	c := f.client(&sleepRecorder{})

	ts, err := c.GetTransactionStatus(t.Context(), trackingID)
	if err != nil {
		t.Fatal(err)
	}

	want := TransactionStatus{
		PaymentMethod:            "Visa",
		Amount:                   amount(10000),
		CreatedDate:              "2022-04-30T07:41:09.763",
		ConfirmationCode:         "6513008693186320103009",
		PaymentStatusDescription: "Failed",
		Description:              "Unable to Authorize Transaction.Kindly contact your bank for assistance",
		Message:                  "Request processed successfully",
		PaymentAccount:           "476173**0010",
		CallBackURL:              "https://test.com/?OrderTrackingId=7e6b62d9-883e-440f-a63e-e1105bbfadc3&OrderMerchantReference=1515111111",
		StatusCode:               2,
		MerchantReference:        "1515111111",
		PaymentStatusCode:        "",
		Currency:                 "KES",
		Error:                    &ErrorObject{},
		Status:                   "200",
		OrderTrackingID:          trackingID,
		Raw:                      []byte(docStatusSample),
	}
	if !reflect.DeepEqual(ts, want) {
		t.Errorf("status:\n got %+v\nwant %+v", ts, want)
	}
	reqs := f.Requests(pathTransactionSts)
	if len(reqs) != 1 {
		t.Fatalf("requests = %d, want 1", len(reqs))
	}
	r := reqs[0]
	q, err := url.ParseQuery(r.RawQuery)
	if err != nil {
		t.Fatal(err)
	}
	if len(q) != 1 || q.Get("orderTrackingId") != trackingID {
		t.Errorf("query %q does not carry the escaped tracking id alone", r.RawQuery)
	}
	if r.Method != http.MethodGet || r.Accept != "application/json" || r.ContentType != "application/json" ||
		r.Authorization != "Bearer "+tokenName(1) || r.Body != "" {
		t.Errorf("request = %+v, want a GET with JSON headers, the bearer token and no body", r)
	}
}

func TestPendingQuirkIsPendingAndNotRetried(t *testing.T) {
	// sandboxStyle is how a pending payment reads with HTTP 200: the whole
	// status answer with the pending error object.
	const sandboxStyle = `{"payment_method":null,"amount":0,"created_date":null,"confirmation_code":null,` +
		`"payment_status_description":"INVALID","description":null,"message":"Request processed successfully",` +
		`"payment_account":null,"call_back_url":"https://shop.example/return","status_code":0,` +
		`"merchant_reference":"att-1","payment_status_code":null,"currency":"KES",` +
		`"error":{"error_type":"api_error","code":"payment_details_not_found","message":"Pending Payment","call_back_url":"https://shop.example/return"},"status":"500"}`
	// bare is the error object alone, as the provider notes show it.
	const bare = `{"error":{"error_type":"api_error","code":"payment_details_not_found","message":"Pending Payment"},"status":"500"}`

	tests := []struct {
		name       string
		httpStatus int
		body       string
		want       TransactionStatus
		wantResult gateway.Result
	}{
		{
			name: "HTTP 200 with status 500", httpStatus: http.StatusOK, body: sandboxStyle,
			want: TransactionStatus{
				Amount: amount(0), PaymentStatusDescription: "INVALID", Message: "Request processed successfully",
				CallBackURL: "https://shop.example/return", StatusCode: 0, MerchantReference: "att-1", Currency: "KES",
				Error: &ErrorObject{ErrorType: "api_error", Code: "payment_details_not_found", Message: "Pending Payment",
					CallBackURL: "https://shop.example/return"},
				Status: "500", OrderTrackingID: "trk-1", Raw: []byte(sandboxStyle),
			},
			wantResult: gateway.Result{Status: gateway.StatusPending, Amount: 0, HasAmount: true, Currency: "KES",
				Reference: "att-1", ProviderReference: "trk-1", Raw: []byte(sandboxStyle)},
		},
		{
			name: "HTTP 500 with the bare error object", httpStatus: http.StatusInternalServerError, body: bare,
			want: TransactionStatus{
				Error:  &ErrorObject{ErrorType: "api_error", Code: "payment_details_not_found", Message: "Pending Payment"},
				Status: "500", OrderTrackingID: "trk-1", Raw: []byte(bare),
			},
			wantResult: gateway.Result{Status: gateway.StatusPending, ProviderReference: "trk-1", Raw: []byte(bare)},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newFake(t, map[string]http.HandlerFunc{pathTransactionSts: raw(tt.httpStatus, tt.body)})
			sleeper := &sleepRecorder{}
			c := f.client(sleeper)

			ts, err := c.GetTransactionStatus(t.Context(), "trk-1")

			if err != nil {
				t.Fatalf("pending payment returned an error: %v", err)
			}
			if !ts.PendingPayment() {
				t.Errorf("PendingPayment() = false")
			}
			if !reflect.DeepEqual(ts, tt.want) {
				t.Errorf("status:\n got %+v\nwant %+v", ts, tt.want)
			}
			assertResult(t, ts.Result(), tt.wantResult)
			if got := len(f.Requests(pathTransactionSts)); got != 1 {
				t.Errorf("requests = %d, want 1 (pending is not retried)", got)
			}
			if w := sleeper.Waits(); len(w) != 0 {
				t.Errorf("slept %v, want no backoff", w)
			}
		})
	}
}

func TestResultMapsStatusCodes(t *testing.T) {
	raw := []byte(`{"raw":true}`)
	base := func(code int, description string) TransactionStatus {
		return TransactionStatus{
			PaymentMethod:            "MpesaKE",
			Amount:                   amount(150000),
			CreatedDate:              "2024-06-14T07:50:22.283",
			ConfirmationCode:         "SFE1234XYZ",
			PaymentStatusDescription: description,
			Description:              "",
			Message:                  "Request processed successfully",
			PaymentAccount:           "2547******89",
			CallBackURL:              "https://shop.example/return",
			StatusCode:               code,
			MerchantReference:        "att-42",
			Currency:                 "KES",
			Error:                    &ErrorObject{},
			Status:                   "200",
			OrderTrackingID:          "trk-42",
			Raw:                      raw,
		}
	}
	result := func(s gateway.Status, message string) gateway.Result {
		return gateway.Result{Status: s, Amount: 150000, HasAmount: true, Currency: "KES", Reference: "att-42",
			ProviderReference: "trk-42", Receipt: "SFE1234XYZ", Method: "MpesaKE", Message: message, Raw: raw}
	}
	tests := []struct {
		name string
		ts   TransactionStatus
		want gateway.Result
	}{
		{"0 INVALID is pending", base(0, "INVALID"), result(gateway.StatusPending, "")},
		{"1 COMPLETED is succeeded", base(1, "Completed"), result(gateway.StatusSucceeded, "")},
		{"2 FAILED is failed with the description", func() TransactionStatus {
			ts := base(2, "Failed")
			ts.Description = "Unable to Authorize Transaction."
			return ts
		}(), result(gateway.StatusFailed, "Unable to Authorize Transaction.")},
		{"2 FAILED without description falls back to the status words", base(2, "Failed"), result(gateway.StatusFailed, "Failed")},
		{"2 FAILED with no words at all", base(2, ""), result(gateway.StatusFailed, "Pesapal reports the payment as failed")},
		{"3 REVERSED is reversed", base(3, "Reversed"), result(gateway.StatusReversed, "Reversed")},
		{"unknown code stays pending", base(7, "Odd"), result(gateway.StatusPending, "Pesapal sent an unknown status_code 7")},
		{"pending quirk wins over a final code", func() TransactionStatus {
			ts := base(1, "Completed")
			ts.Error = &ErrorObject{ErrorType: "api_error", Code: "payment_details_not_found", Message: "Pending Payment"}
			return ts
		}(), result(gateway.StatusPending, "")},
		{"absent amount has no amount", func() TransactionStatus {
			ts := base(1, "Completed")
			ts.Amount = nil
			return ts
		}(), func() gateway.Result {
			r := result(gateway.StatusSucceeded, "")
			r.Amount, r.HasAmount = 0, false
			return r
		}()},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			assertResult(t, tt.ts.Result(), tt.want)
		})
	}
}

func TestTransactionStatusAmountIsExactInCents(t *testing.T) {
	tests := []struct {
		name      string
		amount    string // the JSON written after "amount": ; empty leaves the key out
		want      *gateway.Amount
		wantCents gateway.Amount
		wantHas   bool
	}{
		{"whole number", `100`, amount(10000), 10000, true},
		{"one decimal", `100.5`, amount(10050), 10050, true},
		{"two decimals", `1500.00`, amount(150000), 150000, true},
		{"string", `"1500.00"`, amount(150000), 150000, true},
		{"zero", `0`, amount(0), 0, true},
		{"null", `null`, nil, 0, false},
		{"absent", ``, nil, 0, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			body := `{"status_code":1,"currency":"KES","error":null,"status":"200"}`
			if tt.amount != "" {
				body = `{"status_code":1,"amount":` + tt.amount + `,"currency":"KES","error":null,"status":"200"}`
			}
			f := newFake(t, map[string]http.HandlerFunc{pathTransactionSts: raw(http.StatusOK, body)})
			c := f.client(&sleepRecorder{})

			ts, err := c.GetTransactionStatus(t.Context(), "trk-1")
			if err != nil {
				t.Fatal(err)
			}

			if !reflect.DeepEqual(ts.Amount, tt.want) {
				t.Errorf("Amount = %v, want %v", ts.Amount, tt.want)
			}
			r := ts.Result()
			if r.Amount != tt.wantCents || r.HasAmount != tt.wantHas {
				t.Errorf("Result amount = %d (has %v), want %d (has %v)", r.Amount, r.HasAmount, tt.wantCents, tt.wantHas)
			}
		})
	}
}

func TestGetTransactionStatusRetriesOnlyWhatIsSafe(t *testing.T) {
	const ok = `{"status_code":1,"amount":100,"currency":"KES","merchant_reference":"att-1","error":null,"status":"200"}`
	unavailable := raw(http.StatusServiceUnavailable, `{"error":{"type":"server_error","code":"unavailable","message":"Try later"}}`)
	tests := []struct {
		name       string
		answers    []http.HandlerFunc
		wantHits   int
		wantWaits  []time.Duration // upper bounds; each wait is between half and all of it
		wantStatus int             // HTTPStatus of the error; -1 for success
	}{
		{"503 then success", []http.HandlerFunc{unavailable, raw(http.StatusOK, ok)}, 2,
			[]time.Duration{500 * time.Millisecond}, -1},
		{"503 twice then success", []http.HandlerFunc{unavailable, unavailable, raw(http.StatusOK, ok)}, 3,
			[]time.Duration{500 * time.Millisecond, time.Second}, -1},
		{"503 three times gives up", []http.HandlerFunc{unavailable}, 3,
			[]time.Duration{500 * time.Millisecond, time.Second}, http.StatusServiceUnavailable},
		{"dropped connection then success", []http.HandlerFunc{dropConnection, raw(http.StatusOK, ok)}, 2,
			[]time.Duration{500 * time.Millisecond}, -1},
		{"404 is not retried", []http.HandlerFunc{raw(http.StatusNotFound, `{"error":{"code":"not_found","message":"No such order"}}`)}, 1,
			nil, http.StatusNotFound},
		{"400 is not retried", []http.HandlerFunc{raw(http.StatusBadRequest, `{"error":{"code":"bad","message":"Bad"}}`)}, 1,
			nil, http.StatusBadRequest},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newFake(t, map[string]http.HandlerFunc{pathTransactionSts: sequence(tt.answers...)})
			sleeper := &sleepRecorder{}
			// A fresh connection per request: with keep-alive, net/http itself
			// silently resends a GET whose reused connection was dropped,
			// which would hide our own retry count.
			c := f.client(sleeper, func(cfg *Config) {
				cfg.HTTPClient = &http.Client{Transport: &http.Transport{DisableKeepAlives: true}}
			})

			ts, err := c.GetTransactionStatus(t.Context(), "trk-1")

			if tt.wantStatus == -1 {
				if err != nil {
					t.Fatalf("call failed: %v", err)
				}
				if ts.StatusCode != 1 || ts.MerchantReference != "att-1" {
					t.Errorf("status = %+v", ts)
				}
			} else if e := asError(t, err); e.HTTPStatus != tt.wantStatus {
				t.Errorf("HTTPStatus = %d, want %d", e.HTTPStatus, tt.wantStatus)
			}
			if got := len(f.Requests(pathTransactionSts)); got != tt.wantHits {
				t.Errorf("requests = %d, want %d", got, tt.wantHits)
			}
			waits := sleeper.Waits()
			if len(waits) != len(tt.wantWaits) {
				t.Fatalf("waits = %v, want %d of them", waits, len(tt.wantWaits))
			}
			for i, w := range waits {
				if w < tt.wantWaits[i]/2 || w > tt.wantWaits[i] {
					t.Errorf("wait %d = %v, want between %v and %v", i, w, tt.wantWaits[i]/2, tt.wantWaits[i])
				}
			}
		})
	}
}

func TestGetTransactionStatusStopsWhenBackoffIsCancelled(t *testing.T) {
	f := newFake(t, map[string]http.HandlerFunc{pathTransactionSts: raw(http.StatusBadGateway, ``)})
	sleeper := &sleepRecorder{Err: context.Canceled}
	c := f.client(sleeper)

	_, err := c.GetTransactionStatus(t.Context(), "trk-1")

	if !errors.Is(err, context.Canceled) {
		t.Fatalf("error %v does not match context.Canceled", err)
	}
	e := asError(t, err)
	if e.Op != "get transaction status" || e.Message != "stopped before retrying (HTTP 502)" || e.HTTPStatus != 0 {
		t.Errorf("error = %+v", *e)
	}
	if got := len(f.Requests(pathTransactionSts)); got != 1 {
		t.Errorf("requests = %d, want 1", got)
	}
}

func TestConfirmAsksForTheProviderReference(t *testing.T) {
	const completed = `{"payment_method":"MpesaKE","amount":1500.00,"created_date":"2024-06-14T07:50:22.283",` +
		`"confirmation_code":"SFE1234XYZ","payment_status_description":"Completed","description":"",` +
		`"message":"Request processed successfully","payment_account":"2547******89","call_back_url":"https://shop.example/return",` +
		`"status_code":1,"merchant_reference":"att-42","payment_status_code":"","currency":"KES",` +
		`"error":{"error_type":null,"code":null,"message":null,"call_back_url":null},"status":"200"}`
	f := newFake(t, map[string]http.HandlerFunc{pathTransactionSts: raw(http.StatusOK, completed)})
	var confirmer gateway.Confirmer = f.client(&sleepRecorder{})

	got, err := confirmer.Confirm(t.Context(), gateway.Query{AttemptID: "att-42", ProviderReference: "trk-42", Amount: 150000, Currency: "KES"})
	if err != nil {
		t.Fatal(err)
	}

	assertResult(t, got, gateway.Result{Status: gateway.StatusSucceeded, Amount: 150000, HasAmount: true,
		Currency: "KES", Reference: "att-42", ProviderReference: "trk-42", Receipt: "SFE1234XYZ",
		Method: "MpesaKE", Raw: []byte(completed)})
	reqs := f.Requests(pathTransactionSts)
	if len(reqs) != 1 || reqs[0].RawQuery != "orderTrackingId=trk-42" {
		t.Errorf("requests = %+v, want one for trk-42", reqs)
	}

	_, err = confirmer.Confirm(t.Context(), gateway.Query{AttemptID: "att-42"})
	if !errors.Is(err, ErrInvalidRequest) {
		t.Errorf("Confirm without ProviderReference: error %v, want ErrInvalidRequest", err)
	}
}

// The screen that spares a completed answer the pending probes must never
// screen out an answer the probes call pending: escaped letters, other
// letter cases, Unicode letters that fold to the code's, the error object
// at the top or under "error", and the fixtures.
func TestPendingScreenKeepsEveryPendingAnswer(t *testing.T) {
	bodies := []string{
		`{"error":{"error_type":"api_error","code":"payment_details_not_found","message":"Pending Payment"},"status":"500"}`,
		`{"error_type":"api_error","code":"Payment_Details_Not_Found","message":"Pending Payment"}`,
		`{"error":{"code":"  PAYMENT_DETAILS_NOT_FOUND "}}`,
		`{"error":{"code":"\u0070ayment_details_not_found"}}`,
		`{"code":"payment_detai\u006cs_not_found"}`,
		`{"code":"payment\u005Fdetails_not_found","call_back_url":"a\u0026b"}`,
		`{"error":{"code":"\u0050AYMENT_details_not_found"}}`,
		`{"error":{"code":"payment_detail\u017f_not_found"}}`,
		`{"error":{"code":"payment_detailſ_not_found"}}`,
		`{"code":"payment_details_not_found"}`,
	}
	for _, name := range []string{"doc-gettransactionstatus-completed.json", "doc-error-object.json"} {
		if b, err := os.ReadFile(filepath.Join("testdata", name)); err == nil {
			bodies = append(bodies, string(b))
		}
	}
	matches, _ := filepath.Glob(filepath.Join("testdata", "*gettransactionstatus*.json"))
	for _, m := range matches {
		b, err := os.ReadFile(m)
		if err != nil {
			t.Fatal(err)
		}
		bodies = append(bodies, string(b))
	}
	pendings := 0
	for _, body := range bodies {
		for _, status := range []int{200, 400, 500} {
			a := answer{Status: status, ContentType: "application/json", Body: []byte(body)}
			_, parsed := pendingAnswerParsed(a)
			_, screened := pendingAnswer(a)
			if parsed != screened {
				t.Errorf("HTTP %d %s: pending %v when parsed, %v through the screen", status, body, parsed, screened)
			}
			if parsed {
				pendings++
			}
		}
	}
	if pendings < 9*3 {
		t.Errorf("only %d pending answers among the cases: the cases do not test the screen", pendings)
	}
	// A completed answer is screened out, escapes of characters not in
	// the code (encoding/json writes a URL's & as \u0026) included: one
	// parse, not four.
	for _, body := range []string{
		`{"status_code":1,"payment_status_description":"Completed","error":{"code":null},"status":"200"}`,
		`{"status_code":1,"call_back_url":"https://shop.example/r?OrderTrackingId=x\u0026OrderMerchantReference=y","message":"a \"b\" \\ \/ \n","status":"200"}`,
	} {
		if mayHoldPendingCode([]byte(body)) {
			t.Errorf("completed answer %s is not screened out", body)
		}
	}
	for _, body := range []string{`{"x":"\u0050"}`, `{"x":"\u005f"}`, `{"x":"\u017f"}`, `{"x":"\u00"}`, `{"x":"\`, `{"x":"\\u0070"}payment_details_not_found`} {
		if !mayHoldPendingCode([]byte(body)) {
			t.Errorf("%s screened out: it may hold the code", body)
		}
	}
}
