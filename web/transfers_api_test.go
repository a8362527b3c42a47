package web_test

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"strings"
	"testing"

	"checkout/gateway"
	"checkout/store"
)

// apiPayouts stands for a payout provider at its boundary; only what the
// API tests reach is answered.
type apiPayouts struct{}

func (apiPayouts) Name() string { return "pochipay" }
func (apiPayouts) Send(context.Context, gateway.PayoutRequest) (gateway.PayoutStarted, error) {
	return gateway.PayoutStarted{}, errors.New("not used")
}
func (apiPayouts) Status(_ context.Context, ref string) (gateway.PayoutResult, error) {
	return gateway.PayoutResult{Status: gateway.StatusPending, Reference: ref, Verified: true}, nil
}

// ParseCallback reads {"reference": "..."}.
func (apiPayouts) ParseCallback(_ string, body []byte) (gateway.PayoutResult, error) {
	var c struct{ Reference string }
	if err := json.Unmarshal(body, &c); err != nil || c.Reference == "" {
		return gateway.PayoutResult{}, errors.New("not a callback")
	}
	return gateway.PayoutResult{Status: gateway.StatusSucceeded, Reference: c.Reference, Raw: body}, nil
}

type apiRefunder struct{}

func (apiRefunder) Refund(context.Context, gateway.RefundRequest) (gateway.RefundAnswer, error) {
	return gateway.RefundAnswer{}, errors.New("not used")
}

const otherAPIKey = "sk_test_other_0123456789abcdef0123"

// transferEnv is the app with a payout provider and Pesapal refunds, and a
// second merchant.
func transferEnv(t *testing.T) *env {
	t.Helper()
	e := newEnv(t, envOptions{payouts: apiPayouts{}, refunder: apiRefunder{}})
	if _, err := e.store.EnsureMerchant(context.Background(), "other", "Other shop", otherAPIKey); err != nil {
		t.Fatal(err)
	}
	return e
}

// call sends a merchant API request with key and the headers given, and
// returns the status, the headers and the raw body.
func (e *env) call(key, method, path, body string, hdr map[string]string) (int, http.Header, []byte) {
	e.t.Helper()
	req, err := http.NewRequest(method, e.app.URL+path, strings.NewReader(body))
	if err != nil {
		e.t.Fatal(err)
	}
	req.Header.Set("Authorization", "Bearer "+key)
	req.Header.Set("Content-Type", "application/json")
	for k, v := range hdr {
		req.Header.Set(k, v)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		e.t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		e.t.Fatal(err)
	}
	return resp.StatusCode, resp.Header, b
}

func errorOf(t *testing.T, body []byte) (code, field string) {
	t.Helper()
	var out struct {
		Error struct {
			Code  string
			Field *string
		}
	}
	if err := json.Unmarshal(body, &out); err != nil {
		t.Fatalf("not the error shape: %s", body)
	}
	if out.Error.Field != nil {
		field = *out.Error.Field
	}
	return out.Error.Code, field
}

func TestRefundAPIValidatesAndIsIdempotent(t *testing.T) {
	e := transferEnv(t)
	id := e.createCheckout("order-refund-api")
	path := "/api/v1/checkouts/" + id + "/refunds"

	if st, _, b := e.call(testAPIKey, http.MethodPost, path, `{}`, nil); st != http.StatusConflict {
		t.Fatalf("refund of an unpaid checkout: %d %s, want 409", st, b)
	} else if code, _ := errorOf(t, b); code != "not_paid" {
		t.Fatalf("code %q, want not_paid", code)
	}
	e.payByIPN(id)

	for _, tc := range []struct {
		name, body  string
		status      int
		code, field string
	}{
		{"not JSON", `{"amount":`, http.StatusBadRequest, "malformed", ""},
		{"unknown field", `{"amount":"10","currency":"KES"}`, http.StatusBadRequest, "malformed", "currency"},
		{"amount not a number", `{"amount":"ten"}`, http.StatusUnprocessableEntity, "invalid", "amount"},
		{"amount of the wrong type", `{"amount":true}`, http.StatusBadRequest, "malformed", "amount"},
		// There but empty: an invalid field like any other (left out or
		// null, it refunds what is left).
		{"amount empty", `{"amount":""}`, http.StatusUnprocessableEntity, "invalid", "amount"},
		{"more than paid", `{"amount":"1500.01"}`, http.StatusUnprocessableEntity, "invalid", "amount"},
		// The simulator's payment is M-Pesa: Pesapal refunds it only in full.
		{"part of a mobile money payment", `{"amount":"100"}`, http.StatusUnprocessableEntity, "invalid", "amount"},
	} {
		// The same answer with an Idempotency-Key (the refusal is kept for
		// the key, and given again).
		for _, hdr := range []map[string]string{nil, {"Idempotency-Key": "refused-" + tc.name}, {"Idempotency-Key": "refused-" + tc.name}} {
			st, _, b := e.call(testAPIKey, http.MethodPost, path, tc.body, hdr)
			code, field := errorOf(t, b)
			if st != tc.status || code != tc.code || field != tc.field {
				t.Errorf("%s (headers %v): %d %s %q, want %d %s %q", tc.name, hdr, st, code, field, tc.status, tc.code, tc.field)
			}
		}
	}

	if st, _, b := e.call(otherAPIKey, http.MethodPost, path, `{}`, nil); st != http.StatusNotFound {
		t.Fatalf("refund by another merchant: %d %s, want 404", st, b)
	}

	key := map[string]string{"Idempotency-Key": "refund-1"}
	st, _, first := e.call(testAPIKey, http.MethodPost, path, `{"reason":"out of stock"}`, key)
	if st != http.StatusCreated {
		t.Fatalf("refund: %d %s", st, first)
	}
	var obj map[string]any
	if err := json.Unmarshal(first, &obj); err != nil {
		t.Fatal(err)
	}
	if obj["amount"] != "1500.00" || obj["status"] != "pending" || obj["checkout_id"] != id || obj["provider"] != "pesapal" ||
		obj["reason"] != "out of stock" || obj["completed_at"] != nil || len(obj) != 12 {
		t.Errorf("refund object %v", obj)
	}
	st, hdr, again := e.call(testAPIKey, http.MethodPost, path, `{"reason":"out of stock"}`, key)
	if st != http.StatusCreated || string(again) != string(first) || hdr.Get("Idempotent-Replayed") != "true" {
		t.Errorf("replay: %d %q replayed=%q", st, again, hdr.Get("Idempotent-Replayed"))
	}
	if st, _, b := e.call(testAPIKey, http.MethodPost, path, `{"reason":"another"}`, key); st != http.StatusConflict {
		t.Errorf("same key, other body: %d %s, want 409", st, b)
	}
	// The same key on the payouts endpoint is not this answer.
	if st, _, b := e.call(testAPIKey, http.MethodPost, "/api/v1/payouts", `{"reason":"out of stock"}`, key); st != http.StatusConflict {
		t.Errorf("same key on payouts: %d %s, want 409", st, b)
	}
	if st, _, b := e.call(testAPIKey, http.MethodPost, path, `{}`, nil); st != http.StatusConflict {
		t.Errorf("second Pesapal refund: %d %s, want 409", st, b)
	} else if code, _ := errorOf(t, b); code != "refund_exists" {
		t.Errorf("second Pesapal refund: code %q", code)
	}

	refID := obj["id"].(string)
	if st, _, b := e.call(testAPIKey, http.MethodGet, "/api/v1/refunds/"+refID, "", nil); st != http.StatusOK || !strings.Contains(string(b), refID) {
		t.Errorf("get refund: %d %s", st, b)
	}
	if st, _, b := e.call(otherAPIKey, http.MethodGet, "/api/v1/refunds/"+refID, "", nil); st != http.StatusNotFound {
		t.Errorf("another merchant's refund: %d %s, want 404", st, b)
	}
	var list struct {
		Data    []map[string]any
		HasMore bool `json:"has_more"`
	}
	st, _, b := e.call(testAPIKey, http.MethodGet, "/api/v1/refunds?limit=10", "", nil)
	if err := json.Unmarshal(b, &list); st != http.StatusOK || err != nil || len(list.Data) != 1 || list.HasMore {
		t.Errorf("list: %d %s", st, b)
	}
	st, _, b = e.call(otherAPIKey, http.MethodGet, "/api/v1/refunds", "", nil)
	if err := json.Unmarshal(b, &list); st != http.StatusOK || err != nil || len(list.Data) != 0 {
		t.Errorf("another merchant's list: %d %s", st, b)
	}
	if st, _, _ := e.call(testAPIKey, http.MethodGet, "/api/v1/refunds?limit=0", "", nil); st != http.StatusUnprocessableEntity {
		t.Errorf("limit 0: %d, want 422", st)
	}
	st, co := e.api(http.MethodGet, "/api/v1/checkouts/"+id, "")
	if st != http.StatusOK || co["amount_refunded"] != "0.00" {
		t.Errorf("checkout object: %d amount_refunded %v", st, co["amount_refunded"])
	}
}

func TestPayoutAPIValidatesAndIsIdempotent(t *testing.T) {
	e := transferEnv(t)
	for _, tc := range []struct {
		name, body  string
		status      int
		code, field string
	}{
		{"no amount", `{"phone":"0712345678"}`, http.StatusUnprocessableEntity, "required", "amount"},
		{"cents", `{"amount":"100.50","phone":"0712345678"}`, http.StatusUnprocessableEntity, "invalid", "amount"},
		{"no phone", `{"amount":100}`, http.StatusUnprocessableEntity, "required", "phone"},
		{"not a Kenyan mobile", `{"amount":100,"phone":"0202345678"}`, http.StatusUnprocessableEntity, "invalid", "phone"},
		{"unknown field", `{"amount":100,"phone":"0712345678","to":"x"}`, http.StatusBadRequest, "malformed", "to"},
		{"reference too long", `{"amount":100,"phone":"0712345678","reference":"` + strings.Repeat("r", 65) + `"}`,
			http.StatusUnprocessableEntity, "invalid", "reference"},
	} {
		st, _, b := e.call(testAPIKey, http.MethodPost, "/api/v1/payouts", tc.body, nil)
		code, field := errorOf(t, b)
		if st != tc.status || code != tc.code || field != tc.field {
			t.Errorf("%s: %d %s %q, want %d %s %q", tc.name, st, code, field, tc.status, tc.code, tc.field)
		}
	}
	body := `{"amount":250,"phone":"0712 345 678","name":"Jane","reference":"INV-7","description":"Supplier"}`
	key := map[string]string{"Idempotency-Key": "payout-1"}
	st, _, first := e.call(testAPIKey, http.MethodPost, "/api/v1/payouts", body, key)
	if st != http.StatusCreated {
		t.Fatalf("payout: %d %s", st, first)
	}
	var obj map[string]any
	if err := json.Unmarshal(first, &obj); err != nil {
		t.Fatal(err)
	}
	if obj["amount"] != "250.00" || obj["phone"] != "254712345678" || obj["status"] != "pending" ||
		obj["reference"] != "INV-7" || obj["receipt"] != nil || obj["provider"] != "pochipay" || len(obj) != 15 {
		t.Errorf("payout object %v", obj)
	}
	if ref, _ := obj["provider_reference"].(string); len(ref) != 12 {
		t.Errorf("provider_reference %q, want 12 digits", ref)
	}
	st, hdr, again := e.call(testAPIKey, http.MethodPost, "/api/v1/payouts", body, key)
	if st != http.StatusCreated || string(again) != string(first) || hdr.Get("Idempotent-Replayed") != "true" {
		t.Errorf("replay: %d %s", st, again)
	}
	if st, _, b := e.call(testAPIKey, http.MethodPost, "/api/v1/payouts", body, nil); st != http.StatusConflict {
		t.Errorf("reference used again: %d %s, want 409", st, b)
	} else if code, field := errorOf(t, b); code != "duplicate" || field != "reference" {
		t.Errorf("reference used again: %s %s", code, field)
	}
	id := obj["id"].(string)
	if st, _, b := e.call(otherAPIKey, http.MethodGet, "/api/v1/payouts/"+id, "", nil); st != http.StatusNotFound {
		t.Errorf("another merchant's payout: %d %s, want 404", st, b)
	}
	if st, _, b := e.call(testAPIKey, http.MethodGet, "/api/v1/payouts/"+id, "", nil); st != http.StatusOK || !strings.Contains(string(b), id) {
		t.Errorf("get payout: %d %s", st, b)
	}
	st, _, b := e.call(testAPIKey, http.MethodGet, "/api/v1/payouts", "", nil)
	if st != http.StatusOK || !strings.Contains(string(b), id) || !strings.Contains(string(b), `"has_more":false`) {
		t.Errorf("list: %d %s", st, b)
	}

	// The provider's callback is stored on the payout's timeline.
	ref := obj["provider_reference"].(string)
	for _, tc := range []struct {
		path, body string
		status     int
	}{
		{"/callback/pochipay-payout", `not json`, http.StatusBadRequest},
		{"/callback/pokeapay-b2c", `{"reference":"` + ref + `"}`, http.StatusNotFound},
		{"/callback/pochipay-payout", `{"reference":"` + ref + `"}`, http.StatusOK},
		{"/callback/pochipay-payout", `{"reference":"` + strings.Repeat("9", 70<<10) + `"}`, http.StatusRequestEntityTooLarge},
	} {
		resp, err := http.Post(e.app.URL+tc.path, "application/json", strings.NewReader(tc.body))
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != tc.status {
			t.Errorf("POST %s %.30s: %d, want %d", tc.path, tc.body, resp.StatusCode, tc.status)
		}
	}
	evs, err := e.svc.TransferEvents(context.Background(), id)
	if err != nil {
		t.Fatal(err)
	}
	var callbacks int
	for _, ev := range evs {
		if ev.Kind == store.TransferEventCallback {
			callbacks++
		}
	}
	if callbacks != 1 {
		t.Errorf("%d callbacks on the timeline, want 1: %+v", callbacks, evs)
	}
}
