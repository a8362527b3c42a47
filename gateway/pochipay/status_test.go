package pochipay

import (
	"context"
	"errors"
	"net/http"
	"testing"

	"checkout/gateway"
	"checkout/gateway/internal/httpx"
)

// completeStatus is a transaction-status answer for a paid collection.
const completeStatus = `{"result":{"status":"Complete","isSuccessful":true,"mpesaReference":"QK12ABC3DE","amount":1500,` +
	`"orderId":"pay_01","phoneNumber":"254712345678","resultCode":0,"resultDescription":"The service request is processed successfully."},` +
	`"message":"Success","errors":[]}`

func TestConfirmMapsTransactionStatus(t *testing.T) {
	// base is the result every answer shares, before its own fields.
	base := func(body string) gateway.Result {
		return gateway.Result{Currency: "KES", Reference: "pay_01", ProviderReference: "col_123", Method: "M-Pesa", Raw: []byte(body)}
	}
	tests := []struct {
		name   string
		status int // 200 when zero
		body   string
		want   func(r gateway.Result) gateway.Result
	}{
		{
			name: "Complete and successful is paid",
			body: completeStatus,
			want: func(r gateway.Result) gateway.Result {
				r.Status, r.Amount, r.HasAmount, r.Receipt, r.Code = gateway.StatusSucceeded, 150000, true, "QK12ABC3DE", "0"
				return r
			},
		},
		{
			name: "lower-case complete with text values and no orderId takes the attempt id",
			body: `{"result":{"status":"complete","isSuccessful":"true","mpesaReference":"QK12ABC3DE","amount":"1500.00","resultCode":"0"}}`,
			want: func(r gateway.Result) gateway.Result {
				r.Status, r.Amount, r.HasAmount, r.Receipt, r.Code = gateway.StatusSucceeded, 150000, true, "QK12ABC3DE", "0"
				return r
			},
		},
		{
			name: "Complete with another orderId reports it for the caller to compare",
			body: `{"result":{"status":"Complete","isSuccessful":true,"mpesaReference":"QK1","amount":1500,"orderId":"pay_99"}}`,
			want: func(r gateway.Result) gateway.Result {
				r.Status, r.Amount, r.HasAmount, r.Receipt, r.Code, r.Reference = gateway.StatusSucceeded, 150000, true, "QK1", "0", "pay_99"
				return r
			},
		},
		{
			name: "Complete with a null amount is a success without an amount",
			body: `{"result":{"status":"Complete","isSuccessful":1,"mpesaReference":"QK1","amount":null,"orderId":"pay_01"}}`,
			want: func(r gateway.Result) gateway.Result {
				r.Status, r.Receipt, r.Code = gateway.StatusSucceeded, "QK1", "0"
				return r
			},
		},
		{
			name: "Complete without an amount is a success without an amount",
			body: `{"result":{"status":"COMPLETE","isSuccessful":true,"mpesaReference":"QK1","orderId":"pay_01"}}`,
			want: func(r gateway.Result) gateway.Result {
				r.Status, r.Receipt, r.Code = gateway.StatusSucceeded, "QK1", "0"
				return r
			},
		},
		{
			name: "Failed with code 1032 carries the code and the reason",
			body: `{"result":{"status":"Failed","isSuccessful":false,"mpesaReference":null,"amount":1500,"orderId":"pay_01",` +
				`"resultCode":"1032","failReason":"Request cancelled by user","resultDescription":"Cancelled"}}`,
			want: func(r gateway.Result) gateway.Result {
				r.Status, r.Amount, r.HasAmount, r.Code, r.Message = gateway.StatusFailed, 150000, true, "1032", "Request cancelled by user"
				return r
			},
		},
		{
			name: "FAILED with a numeric code and only a description",
			body: `{"result":{"status":"FAILED","isSuccessful":false,"orderId":"pay_01","resultCode":1037,"resultDescription":"DS timeout user cannot be reached"}}`,
			want: func(r gateway.Result) gateway.Result {
				r.Status, r.Code, r.Message = gateway.StatusFailed, "1037", "DS timeout user cannot be reached"
				return r
			},
		},
		{
			name: "Failed without a resultCode takes M-Pesa's code from failReason",
			body: `{"result":{"status":"Failed","isSuccessful":false,"mpesaReference":null,"failReason":"The balance is insufficient for the transaction.","resultDescription":null}}`,
			want: func(r gateway.Result) gateway.Result {
				r.Status, r.Code, r.Message = gateway.StatusFailed, "1", "The balance is insufficient for the transaction."
				return r
			},
		},
		{
			name: "Failed without a resultCode takes M-Pesa's code from resultDescription",
			body: `{"result":{"status":"Failed","failReason":"Payment failed","resultDescription":"The initiator information is invalid."}}`,
			want: func(r gateway.Result) gateway.Result {
				r.Status, r.Code, r.Message = gateway.StatusFailed, "2001", "Payment failed"
				return r
			},
		},
		{
			name: "Failed with a sentence M-Pesa does not use has no code",
			body: `{"result":{"status":"Failed","failReason":"Something else went wrong"}}`,
			want: func(r gateway.Result) gateway.Result {
				r.Status, r.Message = gateway.StatusFailed, "Something else went wrong"
				return r
			},
		},
		{
			name: "Failed without a code or a reason",
			body: `{"result":{"status":"Failed","orderId":"pay_01"}}`,
			want: func(r gateway.Result) gateway.Result {
				r.Status, r.Message = gateway.StatusFailed, "Pochipay reports the collection as failed"
				return r
			},
		},
		{
			name: "Pending",
			body: `{"result":{"status":"Pending","isSuccessful":false,"amount":1500,"orderId":"pay_01"},"errors":[]}`,
			want: func(r gateway.Result) gateway.Result {
				r.Status, r.Amount, r.HasAmount = gateway.StatusPending, 150000, true
				return r
			},
		},
		{
			name:   "404 with a JSON body is not found, with Pochipay's text",
			status: http.StatusNotFound,
			body:   `{"result":null,"message":"Collection not found","errors":[]}`,
			want: func(r gateway.Result) gateway.Result {
				r.Status, r.Message = gateway.StatusNotFound, "Collection not found"
				return r
			},
		},
		{
			name: "200 with no result and errors saying not found is not found",
			body: `{"result":null,"message":"Failed","errors":["No collection found for the given id"]}`,
			want: func(r gateway.Result) gateway.Result {
				r.Status, r.Message = gateway.StatusNotFound, "Failed; No collection found for the given id"
				return r
			},
		},
		{
			name: "pending in capitals with a stray code stays pending without it",
			body: `{"result":{"status":" PENDING ","resultCode":"1037"}}`,
			want: func(r gateway.Result) gateway.Result {
				r.Status = gateway.StatusPending
				return r
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			status := tt.status
			if status == 0 {
				status = http.StatusOK
			}
			f := newFake(t, map[string]http.HandlerFunc{pathTransactionStatus: raw(status, tt.body)})
			c := f.client(&sleepRecorder{})

			got, err := c.Confirm(t.Context(), statusQuery)

			if err != nil {
				t.Fatalf("Confirm: %v", err)
			}
			assertResult(t, got, tt.want(base(tt.body)))
			reqs := f.Requests(pathTransactionStatus)
			if len(reqs) != 1 {
				t.Fatalf("requests = %d, want 1", len(reqs))
			}
			want := seenRequest{Method: http.MethodPost, Path: "/collections/mpesa/transaction-status", Authorization: "Bearer " + tokenName(1),
				Accept: "application/json", ContentType: "application/json", Body: `{"collectionId":"col_123"}`}
			if reqs[0] != want {
				t.Errorf("request:\n got %+v\nwant %+v", reqs[0], want)
			}
			if n := len(f.Requests(pathCollectionQuery)); n != 0 {
				t.Errorf("collection-query asked %d times with a collection id known", n)
			}
		})
	}
}

func TestConfirmRefusesAnswersThatCannotMeanSuccess(t *testing.T) {
	tests := []struct {
		name    string
		status  int
		body    string
		wantErr string
		msgs    []string
	}{
		{"Complete but not successful", 200, `{"result":{"status":"Complete","isSuccessful":false,"mpesaReference":"QK1","amount":1500}}`,
			"pochipay: transaction status: HTTP 200: status Complete with result.isSuccessful false", nil},
		{"Complete without isSuccessful", 200, `{"result":{"status":"Complete","mpesaReference":"QK1","amount":1500}}`,
			"pochipay: transaction status: HTTP 200: status Complete without a readable result.isSuccessful", nil},
		{"Complete with an unreadable isSuccessful", 200, `{"result":{"status":"Complete","isSuccessful":"yes"}}`,
			"pochipay: transaction status: HTTP 200: status Complete without a readable result.isSuccessful", nil},
		{"Complete with a failure code", 200, `{"result":{"status":"Complete","isSuccessful":true,"resultCode":1032}}`,
			`pochipay: transaction status: HTTP 200: status Complete with result.resultCode "1032"`, nil},
		{"Failed but successful", 200, `{"result":{"status":"Failed","isSuccessful":true}}`,
			"pochipay: transaction status: HTTP 200: status Failed with result.isSuccessful true", nil},
		{"Failed with code 0", 200, `{"result":{"status":"Failed","resultCode":"0"}}`,
			"pochipay: transaction status: HTTP 200: status Failed with result.resultCode 0", nil},
		{"unknown status", 200, `{"result":{"status":"Reversed","isSuccessful":true}}`,
			`pochipay: transaction status: HTTP 200: unknown result.status "Reversed"`, nil},
		{"no status", 200, `{"result":{"isSuccessful":true,"amount":1500}}`,
			"pochipay: transaction status: HTTP 200: answer has no result.status", nil},
		{"null result", 200, `{"result":null,"message":"Success","errors":[]}`,
			"pochipay: transaction status: HTTP 200: Success: answer has no result", []string{"Success"}},
		{"result of the wrong type", 200, `{"result":"Complete"}`,
			"pochipay: transaction status: HTTP 200: unexpected result: json: cannot unmarshal string into Go value of type pochipay.statusResult", nil},
		{"errors in a 200", 200, `{"result":{"status":"Complete","isSuccessful":true},"errors":["Collection not found"]}`,
			"pochipay: transaction status: HTTP 200: Collection not found", []string{"Collection not found"}},
		{"not JSON", 200, `Complete`,
			"pochipay: transaction status: HTTP 200: answer is not JSON (application/json; charset=utf-8, 8 bytes)", nil},
		{"Complete with an unreadable amount", 200, `{"result":{"status":"Complete","isSuccessful":true,"mpesaReference":"QK1","amount":"1,500"}}`,
			"pochipay: transaction status: HTTP 200: unreadable result.amount", nil},
		{"Complete with an amount that is not a number", 200, `{"result":{"status":"Complete","isSuccessful":true,"mpesaReference":"QK1","amount":{"value":1500}}}`,
			"pochipay: transaction status: HTTP 200: unreadable result.amount", nil},
		{"404 without a body (a wrong URL looks like this)", 404, ``,
			"pochipay: transaction status: HTTP 404: empty answer (Not Found)", nil},
		{"404 whose JSON names a route, not the collection", 404, `{"result":null,"message":"Route not found","errors":[]}`,
			"pochipay: transaction status: HTTP 404: Route not found", []string{"Route not found"}},
		{"404 with an ASP.NET problem body naming nothing", 404, `{"type":"https://tools.ietf.org/html/rfc9110#section-15.5.5","title":"Not Found","status":404}`,
			"pochipay: transaction status: HTTP 404: Not Found", nil},
		{"404 with an HTML page", 404, `<html><body>Not Found</body></html>`,
			"pochipay: transaction status: HTTP 404: answer is not JSON (application/json; charset=utf-8, 35 bytes)", nil},
		{"200 with no result saying something else", 200, `{"result":null,"message":"Collection found","errors":["Try later"]}`,
			"pochipay: transaction status: HTTP 200: Collection found; Try later", []string{"Collection found", "Try later"}},
		{"400", 400, `{"errors":{"CollectionId":["The value 'col_123' is not valid."]}}`,
			"pochipay: transaction status: HTTP 400: CollectionId: The value 'col_123' is not valid.", []string{"CollectionId: The value 'col_123' is not valid."}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newFake(t, map[string]http.HandlerFunc{pathTransactionStatus: raw(tt.status, tt.body)})
			sleeper := &sleepRecorder{}
			c := f.client(sleeper)

			got, err := c.Confirm(t.Context(), statusQuery)

			if err == nil || err.Error() != tt.wantErr {
				t.Fatalf("error = %v, want %q (result %+v)", err, tt.wantErr, got)
			}
			assertResult(t, got, gateway.Result{})
			if e := asError(t, err); e.HTTPStatus != tt.status || e.Op != "transaction status" || !equalStrings(e.Messages, tt.msgs) {
				t.Errorf("error = %+v", *e)
			}
			if n, w := len(f.Requests(pathTransactionStatus)), len(sleeper.Waits()); n != 1 || w != 0 {
				t.Errorf("requests = %d, waits = %d, want 1 and 0 (not retried)", n, w)
			}
		})
	}
}

func TestConfirmWithoutCollectionIdFallsBackToCollectionQuery(t *testing.T) {
	q := gateway.Query{AttemptID: "pay_01", Amount: 150000, Currency: "KES", Phone: "254712345678"}
	base := func(body string) gateway.Result {
		return gateway.Result{Currency: "KES", Reference: "pay_01", Method: "M-Pesa", Raw: []byte(body)}
	}
	tests := []struct {
		name   string
		status int
		body   string
		want   func(gateway.Result) gateway.Result
	}{
		{
			name: "404 with a JSON body is not found", status: http.StatusNotFound,
			body: `{"result":null,"message":"Collection not found","errors":["Not found"]}`,
			want: func(r gateway.Result) gateway.Result {
				r.Status, r.Message = gateway.StatusNotFound, "Collection not found; Not found"
				return r
			},
		},
		{
			name: "Complete learns the collection id", status: http.StatusOK,
			body: `{"result":{"status":"Complete","isSuccessful":true,"mpesaReference":"QK12ABC3DE","amount":1500,"orderId":"pay_01","collectionId":"col_9"}}`,
			want: func(r gateway.Result) gateway.Result {
				r.Status, r.Amount, r.HasAmount, r.Receipt, r.Code, r.ProviderReference = gateway.StatusSucceeded, 150000, true, "QK12ABC3DE", "0", "col_9"
				return r
			},
		},
		{
			name: "Failed with code 1032", status: http.StatusOK,
			body: `{"result":{"status":"Failed","isSuccessful":false,"orderId":"pay_01","resultCode":1032,"failReason":"Request cancelled by user"}}`,
			want: func(r gateway.Result) gateway.Result {
				r.Status, r.Code, r.Message = gateway.StatusFailed, "1032", "Request cancelled by user"
				return r
			},
		},
		{
			name: "Pending", status: http.StatusOK,
			body: `{"result":{"status":"Pending","orderId":"pay_01"}}`,
			want: func(r gateway.Result) gateway.Result { r.Status = gateway.StatusPending; return r },
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newFake(t, map[string]http.HandlerFunc{pathCollectionQuery: raw(tt.status, tt.body)})
			c := f.client(&sleepRecorder{})

			got, err := c.Confirm(t.Context(), q)

			if err != nil {
				t.Fatalf("Confirm: %v", err)
			}
			assertResult(t, got, tt.want(base(tt.body)))
			reqs := f.Requests(pathCollectionQuery)
			if len(reqs) != 1 {
				t.Fatalf("requests = %d, want 1", len(reqs))
			}
			want := seenRequest{Method: http.MethodGet, Path: "/collections/mpesa/collection-query", RawQuery: "OrderId=pay_01",
				Authorization: "Bearer " + tokenName(1), Accept: "application/json"}
			if reqs[0] != want {
				t.Errorf("request:\n got %+v\nwant %+v", reqs[0], want)
			}
			if n := len(f.Requests(pathTransactionStatus)); n != 0 {
				t.Errorf("transaction-status asked %d times without a collection id", n)
			}
		})
	}
}

func TestConfirmWithoutAnyIdIsRefusedBeforeSending(t *testing.T) {
	f := newFake(t, nil)
	c := f.client(&sleepRecorder{})

	_, err := c.Confirm(t.Context(), gateway.Query{AttemptID: " ", Amount: 100, Currency: "KES"})

	const want = "pochipay: collection query: invalid request: a collection id or an order id is required"
	if err == nil || err.Error() != want || !errors.Is(err, ErrInvalidRequest) {
		t.Fatalf("error = %v, want %q wrapping ErrInvalidRequest", err, want)
	}
	if f.Tokens() != 0 {
		t.Errorf("a token was requested")
	}
}

func TestStatusCallsAreRetriedOnlyWhenSafe(t *testing.T) {
	unavailable := raw(http.StatusServiceUnavailable, `{"message":"Service Unavailable"}`)
	ok := raw(http.StatusOK, completeStatus)
	tests := []struct {
		name      string
		path      string
		handler   http.HandlerFunc
		wantErr   string // "" for success
		wantHits  int
		wantState gateway.Status
	}{
		{"transaction-status 503 twice, then paid", pathTransactionStatus, sequence(unavailable, unavailable, ok), "", 3, gateway.StatusSucceeded},
		{"transaction-status dropped connection, then paid", pathTransactionStatus, sequence(dropConnection, ok), "", 2, gateway.StatusSucceeded},
		{"transaction-status 503 three times", pathTransactionStatus, unavailable,
			"pochipay: transaction status: HTTP 503: Service Unavailable", 3, ""},
		{"transaction-status 400 is not retried", pathTransactionStatus, raw(http.StatusBadRequest, `{"errors":["bad id"]}`),
			"pochipay: transaction status: HTTP 400: bad id", 1, ""},
		{"collection-query 502, then 404 not found", pathCollectionQuery,
			sequence(raw(http.StatusBadGateway, ``), raw(http.StatusNotFound, `{"result":null,"message":"Collection not found","errors":[]}`)),
			"", 2, gateway.StatusNotFound},
		{"collection-query 404 without a body is an error, not retried", pathCollectionQuery, raw(http.StatusNotFound, ``),
			"pochipay: collection query: HTTP 404: empty answer (Not Found)", 1, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newFake(t, map[string]http.HandlerFunc{tt.path: tt.handler})
			sleeper := &sleepRecorder{}
			c := f.client(sleeper)
			q := statusQuery
			if tt.path == pathCollectionQuery {
				q.ProviderReference = ""
			}

			got, err := c.Confirm(t.Context(), q)

			if tt.wantErr == "" {
				if err != nil {
					t.Fatalf("Confirm: %v", err)
				}
				if got.Status != tt.wantState {
					t.Errorf("status = %s, want %s", got.Status, tt.wantState)
				}
			} else if err == nil || err.Error() != tt.wantErr {
				t.Fatalf("error = %v, want %q", err, tt.wantErr)
			}
			if n := len(f.Requests(tt.path)); n != tt.wantHits {
				t.Errorf("requests = %d, want %d", n, tt.wantHits)
			}
			waits := sleeper.Waits()
			if len(waits) != tt.wantHits-1 {
				t.Fatalf("waits = %v, want %d", waits, tt.wantHits-1)
			}
			for i, w := range waits {
				full := httpx.RetryBase << i
				if w < full/2 || w > full {
					t.Errorf("wait %d = %v, want between %v and %v", i+1, w, full/2, full)
				}
			}
		})
	}
}

func TestStatusRetryStopsWhenTheBackoffIsCancelled(t *testing.T) {
	f := newFake(t, map[string]http.HandlerFunc{pathTransactionStatus: raw(http.StatusServiceUnavailable, ``)})
	sleeper := &sleepRecorder{Err: context.Canceled}
	c := f.client(sleeper)

	_, err := c.Confirm(t.Context(), statusQuery)

	if !errors.Is(err, context.Canceled) {
		t.Fatalf("error = %v, want context.Canceled", err)
	}
	const want = "pochipay: transaction status: stopped before retrying (HTTP 503): context canceled"
	if err.Error() != want {
		t.Errorf("error = %q, want %q", err, want)
	}
	if n := len(f.Requests(pathTransactionStatus)); n != 1 {
		t.Errorf("requests = %d, want 1", n)
	}
}

func TestMpesaCodeKnowsMpesaSentences(t *testing.T) {
	for text, want := range map[string]string{
		"The balance is insufficient for the transaction.":                                          "1",
		"Unable to lock subscriber, a transaction is already in process for the current subscriber": "1001",
		"Transaction has expired":                        "1019",
		"Request cancelled by user":                      "1032",
		"Request Cancelled by the customer":              "1032",
		"DS timeout user cannot be reached":              "1037",
		"No response from user.":                         "1037",
		"The initiator information is invalid.":          "2001",
		"The service request is processed successfully.": "",
		"":             "",
		"expired card": "",
	} {
		if got := mpesaCode(text); got != want {
			t.Errorf("mpesaCode(%q) = %q, want %q", text, got, want)
		}
	}
}
