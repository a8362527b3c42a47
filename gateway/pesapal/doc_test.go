package pesapal

import (
	"context"
	"encoding/json"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"reflect"
	"sort"
	"strings"
	"testing"
	"time"

	"checkout/gateway"
	"checkout/gateway/internal/fixture"
	"checkout/gateway/internal/httpx"
)

// The tests in this file hold the client to the examples of the Pesapal API
// 3.0 document, copied verbatim into testdata/doc-*, and to the shapes we
// assume where the document has none (testdata/assumed-*, listed in
// testdata/ASSUMED.md). Each answer is served byte for byte by the fake and
// read through the client's real path.

// readTestdata returns a file of testdata/.
func readTestdata(t testing.TB, name string) []byte {
	t.Helper()
	return fixture.Read(t, "testdata", name)
}

// Values the document's examples carry, named once.
const (
	docToken          = "eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJodHRwOi8vc2NoZW1hcy5taWNyb3NvZnQuY29tL3dzLzIwMDgvMDYa"
	docStatusTracking = "7e6b62d9-883e-440f-a63e-e1105bbfadc3"
	docStatusCallback = "https://test.com/?OrderTrackingId=7e6b62d9-883e-440f-a63e-e1105bbfadc3&OrderMerchantReference=1515111111"
	docOrderTracking  = "b945e4af-80a5-4ec1-8706-e03f8332fb04"
)

// tokenUse is what the token example means to the client: the token is sent
// as "Bearer <token>" and is used until shortly before its expiryDate.
type tokenUse struct {
	// Authorizations are the Authorization headers of three calls: at
	// 12:27:00, at 12:28:59 (before the renewal time, 30 s before
	// expiryDate 12:29:30.52) and at 12:29:01 (after it).
	Authorizations []string
	// TokenRequestsBeforeRenewal counts token requests after the second
	// call; TokenRequestsAfterRenewal after the third.
	TokenRequestsBeforeRenewal, TokenRequestsAfterRenewal int
}

// statusMeaning is what a GetTransactionStatus answer means: the answer as
// read, and the verdict the payments service gets.
type statusMeaning struct {
	Status TransactionStatus
	Result gateway.Result
}

// statusCall asks for the given tracking id and returns its meaning.
func statusCall(id string) func(*testing.T, *fakePesapal, *Client) (any, error) {
	return func(t *testing.T, _ *fakePesapal, c *Client) (any, error) {
		ts, err := c.GetTransactionStatus(t.Context(), id)
		if err != nil {
			return nil, err
		}
		return statusMeaning{Status: ts, Result: ts.Result()}, nil
	}
}

func submitDocOrder(t *testing.T, _ *fakePesapal, c *Client) (any, error) {
	return c.SubmitOrderRequest(t.Context(), docOrderRequest())
}

func registerDocIPN(t *testing.T, _ *fakePesapal, c *Client) (any, error) {
	return c.RegisterIPN(t.Context(), "https://www.myapplication.com/ipn", IPNGet)
}

// docOrderRequest is the document's SubmitOrderRequest example as our
// OrderRequest: the example's values, the empty ones left empty.
func docOrderRequest() OrderRequest {
	return OrderRequest{
		ID:             "AA1122-3344ZZ",
		Currency:       "KES",
		Amount:         10000,
		Description:    "Payment description goes here",
		CallbackURL:    "https://www.myapplication.com/response-page",
		RedirectMode:   "",
		NotificationID: "fe078e53-78da-4a83-aa89-e7ded5c456e6",
		Branch:         "Store Name - HQ",
		BillingAddress: BillingAddress{
			EmailAddress: "john.doe@example.com",
			PhoneNumber:  "0723xxxxxx",
			CountryCode:  "KE",
			FirstName:    "John",
			LastName:     "Doe",
			Line1:        "Pesapal Limited",
		},
	}
}

func TestDocumentExamplesMeanWhatTheDocumentSays(t *testing.T) {
	topLevel := func() statusMeaning {
		b := readTestdata(t, "assumed-gettransactionstatus-pending-toplevel.json")
		ts := TransactionStatus{
			Message:         "Pending Payment",
			Error:           &ErrorObject{ErrorType: "api_error", Code: "payment_details_not_found", Message: "Pending Payment"},
			OrderTrackingID: docStatusTracking,
			Raw:             b,
		}
		return statusMeaning{Status: ts, Result: gateway.Result{Status: gateway.StatusPending, ProviderReference: docStatusTracking, Raw: b}}
	}
	nested := func() statusMeaning {
		b := readTestdata(t, "assumed-gettransactionstatus-pending-nested.json")
		return statusMeaning{
			Status: TransactionStatus{
				PaymentMethod:            "",
				Amount:                   amount(0),
				CreatedDate:              "0001-01-01T00:00:00",
				PaymentStatusDescription: "INVALID",
				Message:                  "Request processed successfully",
				CallBackURL:              docStatusCallback,
				StatusCode:               StatusCodeInvalid,
				MerchantReference:        "1515111111",
				Currency:                 "KES",
				Error: &ErrorObject{ErrorType: "api_error", Code: "payment_details_not_found",
					Message: "Pending Payment", CallBackURL: docStatusCallback},
				Status:          "500",
				OrderTrackingID: docStatusTracking,
				Raw:             b,
			},
			Result: gateway.Result{Status: gateway.StatusPending, Amount: 0, HasAmount: true, Currency: "KES",
				Reference: "1515111111", ProviderReference: docStatusTracking, Raw: b},
		}
	}
	docError := func(op string, httpStatus int) *Error {
		return &Error{Op: op, HTTPStatus: httpStatus, Type: "error_type", Code: "response_code",
			Message: "Detailed error message goes here.."}
	}
	statusDoc := readTestdata(t, "doc-gettransactionstatus-response.json")

	tests := []struct {
		name       string
		fixture    string
		httpStatus int
		path       string            // where the fixture is served
		others     map[string]string // other paths and the fixture they serve with HTTP 200
		call       func(*testing.T, *fakePesapal, *Client) (any, error)
		want       any    // the meaning, when the call succeeds
		wantErr    *Error // the error, when it does not
		wantTries  int    // requests received on path
	}{
		{
			name: "RequestToken answer: token used as a bearer until 30 s before expiryDate", fixture: "doc-auth-requesttoken-response.json",
			httpStatus: http.StatusOK, path: pathToken, others: map[string]string{pathIPNList: "doc-getipnlist-response.json"},
			call: func(t *testing.T, f *fakePesapal, c *Client) (any, error) {
				var use tokenUse
				for i, at := range []time.Time{
					time.Date(2021, 8, 26, 12, 27, 0, 0, time.UTC),
					time.Date(2021, 8, 26, 12, 28, 59, 0, time.UTC),
					time.Date(2021, 8, 26, 12, 29, 1, 0, time.UTC),
				} {
					f.Clock.Set(at)
					if _, err := c.GetIPNList(t.Context()); err != nil {
						return nil, err
					}
					switch i {
					case 1:
						use.TokenRequestsBeforeRenewal = f.Tokens()
					case 2:
						use.TokenRequestsAfterRenewal = f.Tokens()
					}
				}
				for _, r := range f.Requests(pathIPNList) {
					use.Authorizations = append(use.Authorizations, r.Authorization)
				}
				return use, nil
			},
			want: tokenUse{
				Authorizations:             []string{"Bearer " + docToken, "Bearer " + docToken, "Bearer " + docToken},
				TokenRequestsBeforeRenewal: 1, TokenRequestsAfterRenewal: 2,
			},
			wantTries: 2,
		},
		{
			name: "RegisterIPN answer", fixture: "doc-registeripn-response.json", httpStatus: http.StatusOK, path: pathRegisterIPN,
			call: registerDocIPN,
			want: IPNRegistration{
				URL:                            "https://myapplication.com/ipn",
				CreatedDate:                    "2024-06-14T07:50:22.2825997Z",
				IPNID:                          "84740ab4-3cd9-47da-8a4f-dd1db53494b5",
				NotificationType:               0,
				IPNNotificationTypeDescription: "GET",
				IPNStatus:                      1,
				IPNStatusDescription:           "Active",
				Error:                          nil,
				Status:                         "200",
			},
			wantTries: 1,
		},
		{
			name: "GetIpnList answer", fixture: "doc-getipnlist-response.json", httpStatus: http.StatusOK, path: pathIPNList,
			call: func(t *testing.T, _ *fakePesapal, c *Client) (any, error) { return c.GetIPNList(t.Context()) },
			want: []IPNRegistration{
				{URL: "https://www.myapplication.com/ipn", CreatedDate: "2022-03-03T17:29:03.7208266Z",
					IPNID: "e32182ca-0983-4fa0-91bc-c3bb813ba750", Status: "200"},
				{URL: "https://ipn.myapplication.com/application2", CreatedDate: "2021-12-05T04:23:45.5509243Z",
					IPNID: "c3bb813ba750-0983-4fa0-91bc-e32182ca", Status: "200"},
			},
			wantTries: 1,
		},
		{
			name: "SubmitOrderRequest answer", fixture: "doc-submitorderrequest-response.json", httpStatus: http.StatusOK, path: pathSubmitOrder,
			call: submitDocOrder,
			want: OrderResponse{
				OrderTrackingID:   docOrderTracking,
				MerchantReference: "TEST1515111119",
				RedirectURL:       "https://cybqa.pesapal.com/pesapaliframe/PesapalIframe3/Index/?OrderTrackingId=b945e4af-80a5-4ec1-8706-e03f8332fb04",
				Error:             nil,
				Message:           "",
				Status:            "200",
			},
			wantTries: 1,
		},
		{
			name: "GetTransactionStatus answer: status_code 2 is a failed payment with its description", fixture: "doc-gettransactionstatus-response.json",
			httpStatus: http.StatusOK, path: pathTransactionSts, call: statusCall(docStatusTracking),
			want: statusMeaning{
				Status: TransactionStatus{
					PaymentMethod:            "Visa",
					Amount:                   amount(10000),
					CreatedDate:              "2022-04-30T07:41:09.763",
					ConfirmationCode:         "6513008693186320103009",
					PaymentStatusDescription: "Failed",
					Description:              "Unable to Authorize Transaction.Kindly contact your bank for assistance",
					Message:                  "Request processed successfully",
					PaymentAccount:           "476173**0010",
					CallBackURL:              docStatusCallback,
					StatusCode:               StatusCodeFailed,
					MerchantReference:        "1515111111",
					PaymentStatusCode:        "",
					Currency:                 "KES",
					Error:                    &ErrorObject{},
					Status:                   "200",
					OrderTrackingID:          docStatusTracking,
					Raw:                      statusDoc,
				},
				Result: gateway.Result{
					Status:            gateway.StatusFailed,
					Amount:            10000,
					HasAmount:         true,
					Currency:          "KES",
					Reference:         "1515111111",
					ProviderReference: docStatusTracking,
					Receipt:           "6513008693186320103009",
					Method:            "Visa",
					Message:           "Unable to Authorize Transaction.Kindly contact your bank for assistance",
					Raw:               statusDoc,
				},
			},
			wantTries: 1,
		},
		{
			name: "error object on RequestToken with HTTP 401", fixture: "doc-error-object.json", httpStatus: http.StatusUnauthorized, path: pathToken,
			call:    func(t *testing.T, _ *fakePesapal, c *Client) (any, error) { return c.GetIPNList(t.Context()) },
			wantErr: docError("request token", http.StatusUnauthorized), wantTries: 1,
		},
		{
			name: "error object on SubmitOrderRequest with HTTP 400", fixture: "doc-error-object.json", httpStatus: http.StatusBadRequest, path: pathSubmitOrder,
			call: submitDocOrder, wantErr: docError("submit order request", http.StatusBadRequest), wantTries: 1,
		},
		{
			name: "error object on SubmitOrderRequest with HTTP 200", fixture: "doc-error-object.json", httpStatus: http.StatusOK, path: pathSubmitOrder,
			call: submitDocOrder, wantErr: docError("submit order request", http.StatusOK), wantTries: 1,
		},
		{
			name: "error object on RegisterIPN with HTTP 200", fixture: "doc-error-object.json", httpStatus: http.StatusOK, path: pathRegisterIPN,
			call: registerDocIPN, wantErr: docError("register IPN", http.StatusOK), wantTries: 1,
		},
		{
			name: "error object on GetIpnList with HTTP 200", fixture: "doc-error-object.json", httpStatus: http.StatusOK, path: pathIPNList,
			call:    func(t *testing.T, _ *fakePesapal, c *Client) (any, error) { return c.GetIPNList(t.Context()) },
			wantErr: docError("get IPN list", http.StatusOK), wantTries: 1,
		},
		{
			name: "error object on GetTransactionStatus with HTTP 400 is not retried", fixture: "doc-error-object.json",
			httpStatus: http.StatusBadRequest, path: pathTransactionSts, call: statusCall(docStatusTracking),
			wantErr: docError("get transaction status", http.StatusBadRequest), wantTries: 1,
		},
		{
			name: "error object on GetTransactionStatus with HTTP 500 is retried, then an error", fixture: "doc-error-object.json",
			httpStatus: http.StatusInternalServerError, path: pathTransactionSts, call: statusCall(docStatusTracking),
			wantErr: docError("get transaction status", http.StatusInternalServerError), wantTries: httpx.Tries,
		},
		{
			name: "pending error object at the top level with HTTP 500 is pending, not retried", fixture: "assumed-gettransactionstatus-pending-toplevel.json",
			httpStatus: http.StatusInternalServerError, path: pathTransactionSts, call: statusCall(docStatusTracking),
			want: topLevel(), wantTries: 1,
		},
		{
			name: "pending error object at the top level with HTTP 400 is pending", fixture: "assumed-gettransactionstatus-pending-toplevel.json",
			httpStatus: http.StatusBadRequest, path: pathTransactionSts, call: statusCall(docStatusTracking),
			want: topLevel(), wantTries: 1,
		},
		{
			name: "pending error object at the top level with HTTP 200 is pending", fixture: "assumed-gettransactionstatus-pending-toplevel.json",
			httpStatus: http.StatusOK, path: pathTransactionSts, call: statusCall(docStatusTracking),
			want: topLevel(), wantTries: 1,
		},
		{
			name: "pending error object under error with HTTP 200 is pending", fixture: "assumed-gettransactionstatus-pending-nested.json",
			httpStatus: http.StatusOK, path: pathTransactionSts, call: statusCall(docStatusTracking),
			want: nested(), wantTries: 1,
		},
		{
			name: "pending error object under error with HTTP 400 is pending", fixture: "assumed-gettransactionstatus-pending-nested.json",
			httpStatus: http.StatusBadRequest, path: pathTransactionSts, call: statusCall(docStatusTracking),
			want: nested(), wantTries: 1,
		},
		{
			name: "pending error object under error with HTTP 500 is pending, not retried", fixture: "assumed-gettransactionstatus-pending-nested.json",
			httpStatus: http.StatusInternalServerError, path: pathTransactionSts, call: statusCall(docStatusTracking),
			want: nested(), wantTries: 1,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			body := readTestdata(t, tt.fixture)
			routes := map[string]http.HandlerFunc{}
			for path, name := range tt.others {
				routes[path] = raw(http.StatusOK, string(readTestdata(t, name)))
			}
			serve := func(w http.ResponseWriter, _ *http.Request) {
				writeRaw(w, tt.httpStatus, "application/json; charset=utf-8", string(body))
			}
			var opts []func(*fakePesapal)
			if tt.path == pathToken {
				opts = append(opts, func(f *fakePesapal) { f.TokenHandler = serve })
			} else {
				routes[tt.path] = serve
			}
			f := newFake(t, routes, opts...)
			sleeper := &sleepRecorder{}
			c := f.client(sleeper)

			got, err := tt.call(t, f, c)

			if tt.wantErr != nil {
				e := asError(t, err)
				if e.HTTPStatus != tt.wantErr.HTTPStatus || e.Type != tt.wantErr.Type || e.Code != tt.wantErr.Code ||
					e.Message != tt.wantErr.Message || e.Op != tt.wantErr.Op || e.Err != nil {
					t.Errorf("error = %+v\nwant    %+v", *e, *tt.wantErr)
				}
			} else {
				if err != nil {
					t.Fatalf("error: %v", err)
				}
				if !reflect.DeepEqual(got, tt.want) {
					t.Errorf("meaning:\n got %+v\nwant %+v", got, tt.want)
				}
			}
			tries := len(f.Requests(tt.path))
			if tt.path == pathToken {
				tries = f.Tokens()
			}
			if tries != tt.wantTries {
				t.Errorf("requests on %s = %d, want %d", tt.path, tries, tt.wantTries)
			}
			if waits := len(sleeper.Waits()); tt.path == pathTransactionSts && waits != tt.wantTries-1 {
				t.Errorf("backoff waits = %d, want %d", waits, tt.wantTries-1)
			}
		})
	}
}

// decodeJSON reads a JSON document keeping numbers as written.
func decodeJSON(t *testing.T, label string, b []byte) any {
	t.Helper()
	v, err := fixture.Decode(b)
	if err != nil {
		t.Fatalf("%s: %v", label, err)
	}
	return v
}

// withoutKeys returns the JSON document b without the object members named
// by dotted paths ("billing_address.city"), re-encoded, and the decoded
// value.
func withoutKeys(t *testing.T, b []byte, paths []string) ([]byte, any) {
	t.Helper()
	v := decodeJSON(t, "fixture", b)
	for _, p := range paths {
		obj, ok := v.(map[string]any)
		keys := strings.Split(p, ".")
		for _, k := range keys[:len(keys)-1] {
			if !ok {
				break
			}
			obj, ok = obj[k].(map[string]any)
		}
		if !ok {
			t.Fatalf("fixture has no object holding %s", p)
		}
		if _, present := obj[keys[len(keys)-1]]; !present {
			t.Fatalf("fixture has no %s to leave out", p)
		}
		delete(obj, keys[len(keys)-1])
	}
	out, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return out, v
}

// hasKey reports whether the decoded JSON document v holds the dotted path.
func hasKey(v any, path string) bool {
	for _, k := range strings.Split(path, ".") {
		obj, ok := v.(map[string]any)
		if !ok {
			return false
		}
		if v, ok = obj[k]; !ok {
			return false
		}
	}
	return true
}

func TestDocumentExampleRequestsAreBuiltAsShown(t *testing.T) {
	tests := []struct {
		name       string
		fixture    string // the example body or query; "" when the document shows none
		path       string
		answer     string // the fixture the fake answers with
		call       func(context.Context, *Client) error
		wantMethod string
		wantAuth   string   // the exact Authorization header; "" for none
		leftOut    []string // fields of the example the client leaves out
	}{
		{
			name: "RequestToken", fixture: "doc-auth-requesttoken-request.json", path: pathToken,
			answer: "doc-getipnlist-response.json",
			call: func(ctx context.Context, c *Client) error {
				_, err := c.GetIPNList(ctx)
				return err
			},
			wantMethod: http.MethodPost, wantAuth: "",
		},
		{
			name: "RegisterIPN", fixture: "doc-registeripn-request.json", path: pathRegisterIPN,
			answer: "doc-registeripn-response.json",
			call: func(ctx context.Context, c *Client) error {
				_, err := c.RegisterIPN(ctx, "https://www.myapplication.com/ipn", IPNGet)
				return err
			},
			wantMethod: http.MethodPost, wantAuth: "Bearer " + tokenName(1),
		},
		{
			name: "GetIpnList sends no payload", fixture: "", path: pathIPNList,
			answer: "doc-getipnlist-response.json",
			call: func(ctx context.Context, c *Client) error {
				_, err := c.GetIPNList(ctx)
				return err
			},
			wantMethod: http.MethodGet, wantAuth: "Bearer " + tokenName(1),
		},
		{
			// Optional fields with no value are left out rather than sent
			// as "" like the example: postal_code and zip_code are
			// Integers in the document's table, and an empty string is not
			// one.
			name: "SubmitOrderRequest", fixture: "doc-submitorderrequest-request.json", path: pathSubmitOrder,
			answer: "doc-submitorderrequest-response.json",
			call: func(ctx context.Context, c *Client) error {
				_, err := c.SubmitOrderRequest(ctx, docOrderRequest())
				return err
			},
			wantMethod: http.MethodPost, wantAuth: "Bearer " + tokenName(1),
			leftOut: []string{"billing_address.middle_name", "billing_address.line_2", "billing_address.city",
				"billing_address.state", "billing_address.postal_code", "billing_address.zip_code"},
		},
		{
			name: "GetTransactionStatus", fixture: "doc-gettransactionstatus-request.query", path: pathTransactionSts,
			answer: "doc-gettransactionstatus-response.json",
			call: func(ctx context.Context, c *Client) error {
				_, err := c.GetTransactionStatus(ctx, "xxxxxxxxxxxx")
				return err
			},
			wantMethod: http.MethodGet, wantAuth: "Bearer " + tokenName(1),
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			routes := map[string]http.HandlerFunc{}
			if tt.path != pathToken {
				routes[tt.path] = raw(http.StatusOK, string(readTestdata(t, tt.answer)))
			} else {
				routes[pathIPNList] = raw(http.StatusOK, string(readTestdata(t, tt.answer)))
			}
			f := newFake(t, routes)
			// The document's example credentials, so that the token request
			// can be compared value for value.
			c := f.client(&sleepRecorder{}, func(cfg *Config) { cfg.ConsumerKey, cfg.ConsumerSecret = "xxxxx", "xxxxxx" })

			if err := tt.call(t.Context(), c); err != nil {
				t.Fatal(err)
			}

			reqs := f.Requests(tt.path)
			if tt.path == pathToken {
				reqs = f.TokenRequests()
			}
			if len(reqs) != 1 {
				t.Fatalf("requests on %s = %d, want 1", tt.path, len(reqs))
			}
			r := reqs[0]
			if r.Method != tt.wantMethod {
				t.Errorf("method = %s, want %s", r.Method, tt.wantMethod)
			}
			if r.Authorization != tt.wantAuth {
				t.Errorf("Authorization = %q, want %q", r.Authorization, tt.wantAuth)
			}
			// The document asks for both headers on every call.
			if r.Accept != "application/json" || r.ContentType != "application/json" {
				t.Errorf("Accept = %q, Content-Type = %q, want application/json for both", r.Accept, r.ContentType)
			}
			switch {
			case tt.fixture == "":
				if r.Body != "" || r.RawQuery != "" {
					t.Errorf("body %q, query %q, want neither", r.Body, r.RawQuery)
				}
			case strings.HasSuffix(tt.fixture, ".query"):
				if want := string(readTestdata(t, tt.fixture)); r.RawQuery != want || r.Body != "" {
					t.Errorf("query %q, body %q; want query %q and no body", r.RawQuery, r.Body, want)
				}
			default:
				want, wantValue := withoutKeys(t, readTestdata(t, tt.fixture), tt.leftOut)
				fixture.SameShape(t, tt.name, want, []byte(r.Body))
				got := decodeJSON(t, "request body", []byte(r.Body))
				for _, p := range tt.leftOut {
					if hasKey(got, p) {
						t.Errorf("%s is sent; want it left out", p)
					}
				}
				if !reflect.DeepEqual(got, wantValue) {
					t.Errorf("body values differ from the example:\n got %s\nwant %s", r.Body, want)
				}
				if r.RawQuery != "" {
					t.Errorf("query = %q, want none", r.RawQuery)
				}
			}
		})
	}
}

func TestDocumentExampleNotificationsAndAcknowledgement(t *testing.T) {
	tests := []struct {
		name    string
		fixture string
		method  string
		want    Notification
	}{
		{"callback URL query", "doc-callback-query.query", http.MethodGet,
			Notification{OrderTrackingID: docOrderTracking, OrderMerchantReference: "TEST1515111119", OrderNotificationType: NotificationCallback}},
		{"IPN GET query", "doc-ipn-get.query", http.MethodGet,
			Notification{OrderTrackingID: docOrderTracking, OrderMerchantReference: "TEST1515111119", OrderNotificationType: NotificationIPN}},
		{"IPN POST body", "doc-ipn-post.json", http.MethodPost,
			Notification{OrderTrackingID: docOrderTracking, OrderMerchantReference: "TEST1515111119", OrderNotificationType: NotificationIPN}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			b := readTestdata(t, tt.fixture)
			var (
				n   Notification
				err error
			)
			if tt.method == http.MethodGet {
				q, perr := url.ParseQuery(string(b))
				if perr != nil {
					t.Fatal(perr)
				}
				n, err = ParseNotification(tt.method, q, "", nil)
			} else {
				n, err = ParseNotification(tt.method, url.Values{}, "application/json", b)
			}
			if err != nil {
				t.Fatal(err)
			}
			if n != tt.want {
				t.Errorf("notification = %+v, want %+v", n, tt.want)
			}
		})
	}

	t.Run("IPN acknowledgement, byte for byte", func(t *testing.T) {
		want := readTestdata(t, "doc-ipn-acknowledgement.json")
		got := Ack(Notification{OrderTrackingID: "d0fa69d6-f3cd-433b-858e-df86555b86c8",
			OrderMerchantReference: "1515111111", OrderNotificationType: NotificationIPN}, http.StatusOK)
		if string(got) != string(want) {
			t.Errorf("Ack:\n got %s\nwant %s", got, want)
		}
	})
}

func TestAssumedRefundAndCancelOrderShapes(t *testing.T) {
	t.Run("RefundRequest request", func(t *testing.T) {
		b, err := json.Marshal(RefundRequest{ConfirmationCode: "AA11BB22", Amount: 10000, Username: "John Doe", Remarks: "Service not offered"})
		if err != nil {
			t.Fatal(err)
		}
		want := readTestdata(t, "assumed-refundrequest-request.json")
		fixture.SameShape(t, "RefundRequest", want, b)
		if got, w := decodeJSON(t, "got", b), decodeJSON(t, "want", want); !reflect.DeepEqual(got, w) {
			t.Errorf("RefundRequest = %s, want the values of %s", b, want)
		}
	})
	t.Run("CancelOrder request", func(t *testing.T) {
		b, err := json.Marshal(CancelOrderRequest{OrderTrackingID: docOrderTracking})
		if err != nil {
			t.Fatal(err)
		}
		want := readTestdata(t, "assumed-cancelorder-request.json")
		fixture.SameShape(t, "CancelOrder", want, b)
		if got, w := decodeJSON(t, "got", b), decodeJSON(t, "want", want); !reflect.DeepEqual(got, w) {
			t.Errorf("CancelOrderRequest = %s, want the values of %s", b, want)
		}
	})
	for _, tt := range []struct {
		fixture string
		want    StatusAnswer
	}{
		{"assumed-refundrequest-response.json", StatusAnswer{Status: "200", Message: "Refund request successfully"}},
		{"assumed-cancelorder-response.json", StatusAnswer{Status: "200", Message: "Request processed successfully"}},
	} {
		t.Run(tt.fixture, func(t *testing.T) {
			var got StatusAnswer
			if err := json.Unmarshal(readTestdata(t, tt.fixture), &got); err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(got, tt.want) {
				t.Errorf("answer = %+v, want %+v", got, tt.want)
			}
		})
	}
}

// TestEveryFixtureIsHeldByATestAndEveryAssumptionIsListed keeps testdata/
// honest: each file is a doc-* example or an assumed-* shape, each is read by
// a test of this package, and each assumed-* file is listed in ASSUMED.md.
func TestEveryFixtureIsHeldByATestAndEveryAssumptionIsListed(t *testing.T) {
	entries, err := os.ReadDir("testdata")
	if err != nil {
		t.Fatal(err)
	}
	sources, err := filepath.Glob("*_test.go")
	if err != nil {
		t.Fatal(err)
	}
	var tests strings.Builder
	for _, s := range sources {
		b, err := os.ReadFile(s)
		if err != nil {
			t.Fatal(err)
		}
		tests.Write(b)
	}
	assumed := string(readTestdata(t, "ASSUMED.md"))
	var names []string
	for _, e := range entries {
		names = append(names, e.Name())
	}
	sort.Strings(names)
	for _, name := range names {
		if name == "ASSUMED.md" || name == "fuzz" { // fuzz: go test's fuzz corpus
			continue
		}
		if !strings.HasPrefix(name, "doc-") && !strings.HasPrefix(name, "assumed-") {
			t.Errorf("%s: a fixture is named doc-* (copied from the document) or assumed-* (listed in ASSUMED.md)", name)
		}
		if !strings.Contains(tests.String(), `"`+name+`"`) {
			t.Errorf("%s: no test of this package reads it", name)
		}
		if strings.HasPrefix(name, "assumed-") && !strings.Contains(assumed, name) {
			t.Errorf("%s: not listed in testdata/ASSUMED.md", name)
		}
	}
}
