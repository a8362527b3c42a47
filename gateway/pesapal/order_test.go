package pesapal

import (
	"errors"
	"net/http"
	"strings"
	"testing"
	"time"
)

// docOrderAnswer is the document's SubmitOrderRequest sample answer.
const docOrderAnswer = `{
    "order_tracking_id": "b945e4af-80a5-4ec1-8706-e03f8332fb04",
    "merchant_reference": "TEST1515111119",
    "redirect_url": "https://cybqa.pesapal.com/pesapaliframe/PesapalIframe3/Index/?OrderTrackingId=b945e4af-80a5-4ec1-8706-e03f8332fb04",
    "error": null,
    "status": "200"
}`

// validOrder is the document's sample request, which every check accepts.
func validOrder() OrderRequest {
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

func TestSubmitOrderRequestSendsTheDocumentFields(t *testing.T) {
	tests := []struct {
		name     string
		req      OrderRequest
		wantBody string
	}{
		{
			name: "document sample, optional fields left out",
			req:  validOrder(),
			wantBody: `{"id":"AA1122-3344ZZ","currency":"KES","amount":100.00,"description":"Payment description goes here",` +
				`"redirect_mode":"","callback_url":"https://www.myapplication.com/response-page",` +
				`"notification_id":"fe078e53-78da-4a83-aa89-e7ded5c456e6","branch":"Store Name - HQ",` +
				`"billing_address":{"email_address":"john.doe@example.com","phone_number":"0723xxxxxx","country_code":"KE",` +
				`"first_name":"John","last_name":"Doe","line_1":"Pesapal Limited"}}`,
		},
		{
			name: "every field set",
			req: OrderRequest{
				ID: "att-1", Currency: "KES", Amount: 150050, Description: "Order 17",
				RedirectMode: RedirectParentWindow, CallbackURL: "https://shop.example/return",
				CancellationURL: "https://shop.example/cancel", NotificationID: "ipn-1", Branch: "Westlands",
				BillingAddress: BillingAddress{
					EmailAddress: "a@example.com", PhoneNumber: "254712345678", CountryCode: "KE",
					FirstName: "Amina", MiddleName: "W", LastName: "Otieno", Line1: "1 Moi Ave", Line2: "Floor 2",
					City: "Nairobi", State: "NBO", PostalCode: "00100", ZipCode: "00200",
				},
			},
			wantBody: `{"id":"att-1","currency":"KES","amount":1500.50,"description":"Order 17",` +
				`"redirect_mode":"PARENT_WINDOW","callback_url":"https://shop.example/return",` +
				`"cancellation_url":"https://shop.example/cancel","notification_id":"ipn-1","branch":"Westlands",` +
				`"billing_address":{"email_address":"a@example.com","phone_number":"254712345678","country_code":"KE",` +
				`"first_name":"Amina","middle_name":"W","last_name":"Otieno","line_1":"1 Moi Ave","line_2":"Floor 2",` +
				`"city":"Nairobi","state":"NBO","postal_code":"00100","zip_code":"00200"}}`,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newFake(t, map[string]http.HandlerFunc{pathSubmitOrder: raw(http.StatusOK, docOrderAnswer)})
			c := f.client(&sleepRecorder{})

			resp, err := c.SubmitOrderRequest(t.Context(), tt.req)
			if err != nil {
				t.Fatal(err)
			}

			want := OrderResponse{
				OrderTrackingID:   "b945e4af-80a5-4ec1-8706-e03f8332fb04",
				MerchantReference: "TEST1515111119",
				RedirectURL:       "https://cybqa.pesapal.com/pesapaliframe/PesapalIframe3/Index/?OrderTrackingId=b945e4af-80a5-4ec1-8706-e03f8332fb04",
				Error:             nil,
				Message:           "",
				Status:            "200",
			}
			if resp != want {
				t.Errorf("response:\n got %+v\nwant %+v", resp, want)
			}
			reqs := f.Requests(pathSubmitOrder)
			if len(reqs) != 1 {
				t.Fatalf("requests = %d, want 1", len(reqs))
			}
			r := reqs[0]
			if r.Body != tt.wantBody {
				t.Errorf("body:\n got %s\nwant %s", r.Body, tt.wantBody)
			}
			if r.Method != http.MethodPost || r.Accept != "application/json" || r.ContentType != "application/json" ||
				r.Authorization != "Bearer "+tokenName(1) || r.RawQuery != "" {
				t.Errorf("request = %+v, want a POST with JSON headers and the bearer token", r)
			}
		})
	}
}

func TestSubmitOrderRequestRefusesInvalidOrdersBeforeSending(t *testing.T) {
	tests := []struct {
		name    string
		change  func(*OrderRequest)
		wantErr string
	}{
		{"no id", func(r *OrderRequest) { r.ID = "" }, "id is required"},
		{"id of 51 characters", func(r *OrderRequest) { r.ID = strings.Repeat("a", 51) }, "id is longer than 50 characters"},
		{"no currency", func(r *OrderRequest) { r.Currency = "" }, "currency is required"},
		{"zero amount", func(r *OrderRequest) { r.Amount = 0 }, "amount must be more than zero"},
		{"negative amount", func(r *OrderRequest) { r.Amount = -100 }, "amount must be more than zero"},
		{"blank description", func(r *OrderRequest) { r.Description = " " }, "description is required"},
		{"description of 101 characters", func(r *OrderRequest) { r.Description = strings.Repeat("é", 101) }, "description is longer than 100 characters"},
		{"unknown redirect mode", func(r *OrderRequest) { r.RedirectMode = "NEW_TAB" }, "redirect_mode must be"},
		{"no callback url", func(r *OrderRequest) { r.CallbackURL = "" }, "callback_url is required"},
		{"no notification id", func(r *OrderRequest) { r.NotificationID = "" }, "notification_id is required"},
		{"neither email nor phone", func(r *OrderRequest) {
			r.BillingAddress.EmailAddress, r.BillingAddress.PhoneNumber = "", " "
		}, "billing_address needs an email_address or a phone_number"},
		{"three-letter country", func(r *OrderRequest) { r.BillingAddress.CountryCode = "KEN" }, "billing_address.country_code must be 2 letters"},
		{"four-letter state", func(r *OrderRequest) { r.BillingAddress.State = "NAIR" }, "billing_address.state is longer than 3 characters"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newFake(t, map[string]http.HandlerFunc{pathSubmitOrder: raw(http.StatusOK, docOrderAnswer)})
			c := f.client(&sleepRecorder{})
			req := validOrder()
			tt.change(&req)

			_, err := c.SubmitOrderRequest(t.Context(), req)

			if !errors.Is(err, ErrInvalidRequest) {
				t.Fatalf("error %v does not wrap ErrInvalidRequest", err)
			}
			if want := "pesapal: submit order request: invalid request: " + tt.wantErr; !strings.HasPrefix(err.Error(), want) {
				t.Errorf("error = %q, want prefix %q", err, want)
			}
			if f.Tokens() != 0 || len(f.Requests(pathSubmitOrder)) != 0 {
				t.Errorf("something was sent for an invalid order")
			}
		})
	}
	t.Run("limits themselves are accepted", func(t *testing.T) {
		f := newFake(t, map[string]http.HandlerFunc{pathSubmitOrder: raw(http.StatusOK, docOrderAnswer)})
		c := f.client(&sleepRecorder{})
		req := validOrder()
		req.ID, req.Description = strings.Repeat("a", 50), strings.Repeat("é", 100)
		req.BillingAddress.EmailAddress, req.BillingAddress.State = "", "NBO"
		if _, err := c.SubmitOrderRequest(t.Context(), req); err != nil {
			t.Fatal(err)
		}
	})
}

func TestSubmitOrderRequestIsNeverRetried(t *testing.T) {
	tests := []struct {
		name       string
		answer     http.HandlerFunc
		timeout    time.Duration
		wantStatus int
		wantMsg    string
	}{
		{"503", raw(http.StatusServiceUnavailable, `{"error":{"type":"server_error","code":"unavailable","message":"Try later"}}`),
			0, http.StatusServiceUnavailable, "Try later"},
		{"500 with an error object", raw(http.StatusInternalServerError, `{"error":{"error_type":"api_error","code":"payment_details_not_found","message":"Pending Payment"},"status":"500"}`),
			0, http.StatusInternalServerError, "Pending Payment"},
		{"timeout", hang, 30 * time.Millisecond, 0, "timed out"},
		{"dropped connection", dropConnection, 0, 0, "network error"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newFake(t, map[string]http.HandlerFunc{pathSubmitOrder: tt.answer})
			sleeper := &sleepRecorder{}
			c := f.client(sleeper, func(cfg *Config) {
				if tt.timeout > 0 {
					cfg.Timeout = tt.timeout
				}
			})

			_, err := c.SubmitOrderRequest(t.Context(), validOrder())

			e := asError(t, err)
			if e.HTTPStatus != tt.wantStatus || e.Message != tt.wantMsg || e.Op != "submit order request" {
				t.Errorf("error = %+v, want HTTP %d %q", *e, tt.wantStatus, tt.wantMsg)
			}
			if got := len(f.Requests(pathSubmitOrder)); got != 1 {
				t.Errorf("requests = %d, want exactly 1", got)
			}
			if w := sleeper.Waits(); len(w) != 0 {
				t.Errorf("slept %v, want no backoff", w)
			}
		})
	}
}

func TestSubmitOrderRequestRejectsIncompleteAnswers(t *testing.T) {
	tests := []struct {
		name    string
		answer  string
		want    Error
		wantTxt string
	}{
		{"error object with HTTP 200",
			`{"order_tracking_id":null,"merchant_reference":"att-1","redirect_url":null,"error":{"error_type":"api_error","code":"duplicate_order_reference","message":"Order reference already exists"},"status":"500"}`,
			Error{HTTPStatus: 200, Type: "api_error", Code: "duplicate_order_reference", Message: "Order reference already exists", Op: "submit order request"},
			"pesapal: submit order request: HTTP 200: duplicate_order_reference (api_error): Order reference already exists"},
		{"status 400 without error object",
			`{"order_tracking_id":"","merchant_reference":"att-1","redirect_url":"","error":null,"message":"Bad request","status":"400"}`,
			Error{HTTPStatus: 200, Message: "Bad request", Op: "submit order request"},
			"pesapal: submit order request: HTTP 200: Bad request"},
		{"no tracking id",
			`{"merchant_reference":"att-1","redirect_url":"https://pay.example/x","error":null,"status":"200"}`,
			Error{HTTPStatus: 200, Message: "answer has no order_tracking_id", Op: "submit order request"},
			"pesapal: submit order request: HTTP 200: answer has no order_tracking_id"},
		{"no redirect url",
			`{"order_tracking_id":"trk-1","merchant_reference":"att-1","error":null,"status":"200"}`,
			Error{HTTPStatus: 200, Message: "answer has no redirect_url", Op: "submit order request"},
			"pesapal: submit order request: HTTP 200: answer has no redirect_url"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newFake(t, map[string]http.HandlerFunc{pathSubmitOrder: raw(http.StatusOK, tt.answer)})
			c := f.client(&sleepRecorder{})

			_, err := c.SubmitOrderRequest(t.Context(), validOrder())

			e := asError(t, err)
			if e.HTTPStatus != tt.want.HTTPStatus || e.Type != tt.want.Type || e.Code != tt.want.Code ||
				e.Message != tt.want.Message || e.Op != tt.want.Op || e.Err != nil {
				t.Errorf("error = %+v\nwant %+v", *e, tt.want)
			}
			if e.Error() != tt.wantTxt {
				t.Errorf("Error() = %q, want %q", e.Error(), tt.wantTxt)
			}
		})
	}
}
