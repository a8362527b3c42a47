package pokeapay

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"reflect"
	"strings"
	"testing"
	"time"

	"checkout/gateway"
	"checkout/gateway/internal/httpx"
)

func TestSTKConfirmSendsTheDocumentQuery(t *testing.T) {
	f := newSTKFake(t)
	c := f.client(&sleepRecorder{})
	if _, err := c.Confirm(context.Background(), stkQueryOK()); err != nil {
		t.Fatalf("Confirm: %v", err)
	}
	reqs := f.requests()
	if len(reqs) != 2 {
		t.Fatalf("requests = %v", f.paths())
	}
	q := reqs[1]
	if q.Method != http.MethodPost || q.Path != "/api/v1/transaction/query" ||
		q.ContentType != "application/json" || q.Accept != "application/json" ||
		!strings.HasPrefix(q.Authorization, "ey") {
		t.Fatalf("query request = %+v", q)
	}
	want := map[string]any{
		"amount":     json.Number("1500"),
		"phone":      "254712345678",
		"outletCode": stkTestOutlet,
		"orderRef":   "pay_1",
	}
	if got := decodeBody(t, q.Body); !reflect.DeepEqual(got, want) {
		t.Fatalf("query body = %v, want %v", got, want)
	}
}

func TestSTKConfirmMapsQueryAnswers(t *testing.T) {
	// The document's own examples are in TestDocumentExamplesSTKQuery;
	// these are their variations.
	const op = "transaction query"
	ok := func(status gateway.Status) gateway.Result {
		return gateway.Result{Status: status, Currency: "KES", Reference: "pay_1", ProviderReference: "pay_1", Method: "M-Pesa"}
	}
	tests := []struct {
		name    string
		status  int
		body    string
		attempt string         // the AttemptID asked about, when not pay_1
		want    gateway.Result // Raw is the body
		wantErr *Error
	}{
		{name: "completed", status: 200, body: queryCompleted, want: func() gateway.Result {
			r := ok(gateway.StatusSucceeded)
			r.Amount, r.HasAmount, r.Receipt = 150000, true, "SBK12XYZ9Q"
			return r
		}()},
		{name: "success with an amount as a decimal string", status: 200,
			body: `{"success":"true","data":{"receipt":"SBK1","amount":"1500.00"}}`,
			want: func() gateway.Result {
				r := ok(gateway.StatusSucceeded)
				r.Amount, r.HasAmount, r.Receipt = 150000, true, "SBK1"
				return r
			}()},
		{name: "success without an amount has no amount", status: 200,
			body: `{"success":true,"message":"Transaction completed successfully","data":{"receipt":"SBK2","orderRef":"pay_1"}}`,
			want: func() gateway.Result {
				r := ok(gateway.StatusSucceeded)
				r.Receipt = "SBK2"
				return r
			}()},
		{name: "success reporting result code 0 keeps it", status: 200,
			body: `{"success":true,"data":{"receipt":"SBK3","orderRef":"pay_1","resultCode":"0"}}`,
			want: func() gateway.Result {
				r := ok(gateway.StatusSucceeded)
				r.Receipt, r.Code = "SBK3", "0"
				return r
			}()},
		{name: "success true without a receipt is pending", status: 200,
			body: `{"success":true,"message":"Transaction initiated successfully","data":{"orderRef":"pay_1","amount":1500,"phone":"254712345678"}}`,
			want: ok(gateway.StatusPending)},
		{name: "success true without data is pending", status: 200, body: `{"success":true}`,
			want: ok(gateway.StatusPending)},
		{name: "failure body with a result code", status: 200,
			body: `{"success":false,"message":"Request cancelled by user","data":{"orderRef":"pay_1","amount":1500,"phone":"254712345678","resultCode":1032}}`,
			want: func() gateway.Result {
				r := ok(gateway.StatusFailed)
				r.Code, r.Message = "1032", "Request cancelled by user"
				return r
			}()},
		{name: "failure body whose reason is an M-Pesa sentence has its code", status: 200,
			body: `{"success":false,"message":"DS timeout user cannot be reached","data":{"orderRef":"pay_1"}}`,
			want: func() gateway.Result {
				r := ok(gateway.StatusFailed)
				r.Code, r.Message = "1037", "DS timeout user cannot be reached"
				return r
			}()},
		// A failure is read only from a 2xx: the document shows 400 only
		// for a refusal of the query itself.
		{name: "failure body with HTTP 400 is an error, not a failure", status: 400,
			body:    `{"success":false,"message":"The account is closed","data":{"orderRef":"pay_1"}}`,
			wantErr: &Error{Op: op, HTTPStatus: 400, Message: "The account is closed"}},
		{name: "subscriber busy is pending", status: 422, body: `{"success":false,"error":"Unable to lock subscriber"}`,
			want: ok(gateway.StatusPending)},
		{name: "success false saying pending is pending", status: 200, body: `{"success":false,"message":"Request is Pending"}`,
			want: ok(gateway.StatusPending)},
		{name: "a pending text wins over the failure body", status: 200,
			body: `{"success":false,"message":"Transaction is pending","data":{"orderRef":"pay_1"}}`,
			want: ok(gateway.StatusPending)},
		{name: "not found with HTTP 404 is not found", status: 404, body: `{"success":false,"error":"Transaction not found"}`,
			want: func() gateway.Result {
				r := ok(gateway.StatusNotFound)
				r.Message = "Transaction not found"
				return r
			}()},
		{name: "no record in a message is not found", status: 200, body: `{"success":false,"message":"No record for this orderRef"}`,
			want: func() gateway.Result {
				r := ok(gateway.StatusNotFound)
				r.Message = "No record for this orderRef"
				return r
			}()},

		{name: "garbage", status: 200, body: `<html>hello</html>`,
			wantErr: &Error{Op: op, HTTPStatus: 200, Message: "answer is not a JSON object (application/json; charset=utf-8, 18 bytes)"}},
		{name: "JSON array", status: 200, body: `[{"success":true}]`,
			wantErr: &Error{Op: op, HTTPStatus: 200, Message: "answer is not a JSON object (application/json; charset=utf-8, 18 bytes)"}},
		{name: "no success flag", status: 200, body: `{"message":"Transaction completed successfully","data":{"receipt":"SBK1"}}`,
			wantErr: &Error{Op: op, HTTPStatus: 200, Message: "unexpected answer: answer has no success flag: Transaction completed successfully"}},
		{name: "success flag of the wrong type", status: 200, body: `{"success":"yes","data":{"receipt":"SBK1"}}`,
			wantErr: &Error{Op: op, HTTPStatus: 200, Message: "unexpected answer: answer has no success flag"}},
		{name: "success with HTTP 400", status: 400, body: `{"success":true,"data":{"receipt":"SBK1"}}`,
			wantErr: &Error{Op: op, HTTPStatus: 400, Message: `unexpected answer: success true with HTTP 400`}},
		{name: "receipt with result code 1032", status: 200, body: `{"success":true,"data":{"receipt":"SBK1","resultCode":"1032"}}`,
			wantErr: &Error{Op: op, HTTPStatus: 200, Message: `unexpected answer: data.receipt with data.resultCode "1032"`}},
		{name: "receipt with an unreadable amount", status: 200, body: `{"success":true,"data":{"receipt":"SBK3","amount":"1,500"}}`,
			wantErr: &Error{Op: op, HTTPStatus: 200, Message: `unexpected answer: data.amount "1,500" is not an amount`}},
		{name: "success about another orderRef", status: 200, body: `{"success":true,"data":{"receipt":"SBK1","orderRef":"pay_2"}}`,
			wantErr: &Error{Op: op, HTTPStatus: 200, Message: `unexpected answer: answer is about another orderRef (asked "pay_1", got "pay_2")`}},
		{name: "failure body about another orderRef", status: 200, body: `{"success":false,"message":"Failed Reason","data":{"orderRef":"pay_2"}}`,
			wantErr: &Error{Op: op, HTTPStatus: 200, Message: `unexpected answer: answer is about another orderRef (asked "pay_1", got "pay_2"): Failed Reason`}},
		{name: "failure body with result code 0", status: 200, body: `{"success":false,"message":"Failed Reason","data":{"orderRef":"pay_1","resultCode":0}}`,
			wantErr: &Error{Op: op, HTTPStatus: 200, Message: `unexpected answer: a failure with data.resultCode 0: Failed Reason`}},
		{name: "failure text without the failure body", status: 200, body: `{"success":false,"message":"Failed Reason"}`,
			wantErr: &Error{Op: op, HTTPStatus: 200, Message: "Failed Reason"}},
		{name: "success false with an error text", status: 400, body: `{"success":false,"error":"Invalid outlet code"}`,
			wantErr: &Error{Op: op, HTTPStatus: 400, Message: "Invalid outlet code"}},
		{name: "success false with an error text and the request echoed", status: 200,
			body:    `{"success":false,"error":"\"outletCode\" is required","data":{"orderRef":"pay_1"}}`,
			wantErr: &Error{Op: op, HTTPStatus: 200, Message: `"outletCode" is required`}},
		{name: "success false without text", status: 200, body: `{"success":false}`,
			wantErr: &Error{Op: op, HTTPStatus: 200, Message: "PokeaPay did not answer the query"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			f := newSTKFake(t)
			f.set(func(f *stkFake) { f.query = stkJSON(tc.status, tc.body) })
			sleeper := &sleepRecorder{}
			c := f.client(sleeper)
			q := stkQueryOK()
			if tc.attempt != "" {
				q.AttemptID = tc.attempt
			}
			got, err := c.Confirm(context.Background(), q)
			if tc.wantErr != nil {
				if e := asError(t, err); !reflect.DeepEqual(e, tc.wantErr) {
					t.Fatalf("error = %#v\nwant %#v", e, tc.wantErr)
				}
				if !reflect.DeepEqual(got, gateway.Result{}) {
					t.Fatalf("Confirm = %+v with an error", got)
				}
			} else {
				if err != nil {
					t.Fatalf("Confirm: %v", err)
				}
				want := tc.want
				want.Raw = []byte(tc.body)
				if !reflect.DeepEqual(got, want) {
					t.Fatalf("Confirm = %+v\nwant %+v", got, want)
				}
			}
			if got := f.paths(); !reflect.DeepEqual(got, []string{"/login", "/transaction/query"}) {
				t.Fatalf("requests = %v (an answer with a verdict or a 4xx is not retried)", got)
			}
			if w := sleeper.Waits(); len(w) != 0 {
				t.Fatalf("waits = %v", w)
			}
		})
	}
}

func TestSTKConfirmRetriesWhatIsSafe(t *testing.T) {
	unavailable := text(http.StatusServiceUnavailable, "text/html", "<h1>503</h1>")
	tests := []struct {
		name      string
		handler   http.HandlerFunc
		wantTries int
		wantErr   *Error // nil: succeeds
	}{
		{"503 twice then completed", sequence(unavailable, unavailable, stkJSON(200, queryCompleted)), 3, nil},
		{"500 JSON then completed", sequence(stkJSON(500, `{"success":true,"data":{"status":"COMPLETED","receipt":"X"}}`), stkJSON(200, queryCompleted)), 2, nil},
		{"503 three times", unavailable, 3, &Error{Op: "transaction query", HTTPStatus: 503, Message: "Service Unavailable"}},
		{"502 with text three times", stkJSON(502, `{"success":false,"error":"Bad gateway"}`), 3,
			&Error{Op: "transaction query", HTTPStatus: 502, Message: "Bad gateway"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			f := newSTKFake(t)
			f.set(func(f *stkFake) { f.query = tc.handler })
			sleeper := &sleepRecorder{}
			c := f.client(sleeper)
			got, err := c.Confirm(context.Background(), stkQueryOK())
			if tc.wantErr == nil {
				if err != nil || got.Status != gateway.StatusSucceeded {
					t.Fatalf("Confirm = %+v, %v", got, err)
				}
			} else if e := asError(t, err); !reflect.DeepEqual(e, tc.wantErr) {
				t.Fatalf("error = %#v, want %#v", e, tc.wantErr)
			}
			want := []string{"/login"}
			for range tc.wantTries {
				want = append(want, "/transaction/query")
			}
			if got := f.paths(); !reflect.DeepEqual(got, want) {
				t.Fatalf("requests = %v, want %v", got, want)
			}
			waits := sleeper.Waits()
			if len(waits) != tc.wantTries-1 {
				t.Fatalf("waits = %v, want %d", waits, tc.wantTries-1)
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

func TestSTKConfirmRetriesTimeoutsAndLoginFailures(t *testing.T) {
	t.Run("timeout", func(t *testing.T) {
		f := newSTKFake(t)
		sleeper := &sleepRecorder{}
		c := f.client(sleeper)
		// Logged in first, so that the short timeout bounds only the query.
		if _, err := c.Push(context.Background(), stkPushOK()); err != nil {
			t.Fatalf("Push: %v", err)
		}
		f.set(func(f *stkFake) { f.query = sequence(hang, stkJSON(200, queryCompleted)) })
		c.be.Timeout = 200 * time.Millisecond
		got, err := c.Confirm(context.Background(), stkQueryOK())
		if err != nil || got.Status != gateway.StatusSucceeded {
			t.Fatalf("Confirm = %+v, %v", got, err)
		}
		want := []string{"/login", "/stkPush/transaction", "/transaction/query", "/transaction/query"}
		if got := f.paths(); !reflect.DeepEqual(got, want) {
			t.Fatalf("requests = %v, want %v", got, want)
		}
		if n := len(sleeper.Waits()); n != 1 {
			t.Fatalf("waits = %d, want 1", n)
		}
	})
	t.Run("login answering 503", func(t *testing.T) {
		f := newSTKFake(t)
		f.set(func(f *stkFake) { f.login = sequence(text(503, "text/plain", "down"), f.issueToken) })
		sleeper := &sleepRecorder{}
		c := f.client(sleeper)
		got, err := c.Confirm(context.Background(), stkQueryOK())
		if err != nil || got.Status != gateway.StatusSucceeded {
			t.Fatalf("Confirm = %+v, %v", got, err)
		}
		if got := f.paths(); !reflect.DeepEqual(got, []string{"/login", "/login", "/transaction/query"}) {
			t.Fatalf("requests = %v", got)
		}
		if n := len(sleeper.Waits()); n != 1 {
			t.Fatalf("waits = %d, want 1", n)
		}
	})
}

func TestSTKConfirmStopsWhenTheWaitIsCancelled(t *testing.T) {
	f := newSTKFake(t)
	f.set(func(f *stkFake) { f.query = text(503, "text/plain", "down") })
	sleeper := &sleepRecorder{Err: context.Canceled}
	c := f.client(sleeper)
	_, err := c.Confirm(context.Background(), stkQueryOK())
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("error = %v, want Canceled", err)
	}
	if got := f.paths(); !reflect.DeepEqual(got, []string{"/login", "/transaction/query"}) {
		t.Fatalf("requests = %v", got)
	}
}

func TestSTKConfirmRefusesBadQueriesWithoutAnyRequest(t *testing.T) {
	tests := []struct {
		name string
		mod  func(q *gateway.Query)
	}{
		{"no attempt id", func(q *gateway.Query) { q.AttemptID = "" }},
		{"long attempt id", func(q *gateway.Query) { q.AttemptID = strings.Repeat("a", 51) }},
		{"no phone", func(q *gateway.Query) { q.Phone = "" }},
		{"local phone", func(q *gateway.Query) { q.Phone = "0712345678" }},
		{"amount with cents", func(q *gateway.Query) { q.Amount = 150001 }},
		{"zero amount", func(q *gateway.Query) { q.Amount = 0 }},
		{"other currency", func(q *gateway.Query) { q.Currency = "USD" }},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			f := newSTKFake(t)
			c := f.client(&sleepRecorder{})
			q := stkQueryOK()
			tc.mod(&q)
			got, err := c.Confirm(context.Background(), q)
			if !errors.Is(err, ErrInvalidRequest) {
				t.Fatalf("error = %v, want ErrInvalidRequest", err)
			}
			if e := asError(t, err); e.Op != "transaction query" || e.HTTPStatus != 0 {
				t.Fatalf("error = %#v", e)
			}
			if !reflect.DeepEqual(got, gateway.Result{}) {
				t.Fatalf("Confirm = %+v", got)
			}
			if n := len(f.requests()); n != 0 {
				t.Fatalf("requests = %v, want none", f.paths())
			}
		})
	}
}

// An answer that only something in front of PokeaPay (a rate limiter, a
// firewall, a router) would give is no verdict on the prompt, even when it
// has the failed callback's shape (success false, a "message", our request
// echoed in data) or a not-found text: an error, so the attempt stays
// pending and is asked about again.
func TestSTKConfirmTakesNoVerdictFromAnAnswerThatIsNotAboutThePrompt(t *testing.T) {
	const op = "transaction query"
	const echoed = `"data":{"orderRef":"pay_1","amount":1500,"phone":"254712345678","outletCode":"` + stkTestOutlet + `"}`
	tests := []struct {
		name    string
		status  int
		body    string
		wantErr *Error
	}{
		{"HTTP 429 rate limit echoing the request", 429,
			`{"success":false,"message":"Too many requests, please try again later",` + echoed + `}`,
			&Error{Op: op, HTTPStatus: 429, Message: "Too many requests, please try again later"}},
		{"HTTP 403 firewall echoing the request", 403,
			`{"success":false,"message":"Forbidden: request blocked",` + echoed + `}`,
			&Error{Op: op, HTTPStatus: 403, Message: "Forbidden: request blocked"}},
		{"HTTP 404 echoing the request", 404,
			`{"success":false,"message":"Too many requests, please try again later",` + echoed + `}`,
			&Error{Op: op, HTTPStatus: 404, Message: "Too many requests, please try again later"}},
		{"HTTP 404 route not found", 404, `{"success":false,"error":"Route not found"}`,
			&Error{Op: op, HTTPStatus: 404, Message: "Route not found"}},
		{"HTTP 404 not found naming nothing", 404, `{"success":false,"error":"Not found"}`,
			&Error{Op: op, HTTPStatus: 404, Message: "Not found"}},
		{"HTTP 404 Express's cannot POST", 404, `{"success":false,"message":"Cannot POST /api/v1/transaction/query not found"}`,
			&Error{Op: op, HTTPStatus: 404, Message: "Cannot POST /api/v1/transaction/query not found"}},
		{"HTTP 200 route not found", 200, `{"success":false,"error":"Route not found"}`,
			&Error{Op: op, HTTPStatus: 200, Message: "Route not found"}},
		{"HTTP 429 transaction not found", 429, `{"success":false,"error":"Transaction not found"}`,
			&Error{Op: op, HTTPStatus: 429, Message: "Transaction not found"}},
		{"HTTP 403 saying pending", 403, `{"success":false,"message":"Request pending review"}`,
			&Error{Op: op, HTTPStatus: 403, Message: "Request pending review"}},
		{"HTTP 429 without text", 429, `{"success":false}`,
			&Error{Op: op, HTTPStatus: 429, Message: "Too Many Requests"}},
		{"HTTP 400 transaction not found", 400, `{"success":false,"error":"Transaction not found"}`,
			&Error{Op: op, HTTPStatus: 400, Message: "Transaction not found"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			f := newSTKFake(t)
			f.set(func(f *stkFake) { f.query = stkJSON(tc.status, tc.body) })
			sleeper := &sleepRecorder{}
			c := f.client(sleeper)
			got, err := c.Confirm(context.Background(), stkQueryOK())
			if e := asError(t, err); !reflect.DeepEqual(e, tc.wantErr) {
				t.Fatalf("Confirm = %+v, error %#v\nwant error %#v", got, e, tc.wantErr)
			}
			if !reflect.DeepEqual(got, gateway.Result{}) {
				t.Fatalf("Confirm = %+v with an error", got)
			}
			if got := f.paths(); !reflect.DeepEqual(got, []string{"/login", "/transaction/query"}) {
				t.Fatalf("requests = %v (a 4xx is not retried)", got)
			}
			if w := sleeper.Waits(); len(w) != 0 {
				t.Fatalf("waits = %v", w)
			}
		})
	}
}

// PokeaPay's own "no record" answers still read as not found: any 2xx, and
// a 404 whose text names the transaction or the order (the simulator's
// answer, testdata/assumed-stk-query-not-found.json).
func TestSTKConfirmReadsNotFoundFromA2xxOrA404NamingThePrompt(t *testing.T) {
	tests := []struct {
		name   string
		status int
		body   string
		msg    string
	}{
		{"HTTP 404 transaction not found", 404, `{"success":false,"error":"Transaction not found"}`, "Transaction not found"},
		{"HTTP 404 orderRef does not exist", 404, `{"success":false,"message":"orderRef does not exist"}`, "orderRef does not exist"},
		{"HTTP 200 no record", 200, `{"success":false,"message":"No record found"}`, "No record found"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			f := newSTKFake(t)
			f.set(func(f *stkFake) { f.query = stkJSON(tc.status, tc.body) })
			c := f.client(&sleepRecorder{})
			got, err := c.Confirm(context.Background(), stkQueryOK())
			if err != nil {
				t.Fatalf("Confirm: %v", err)
			}
			want := gateway.Result{Status: gateway.StatusNotFound, Currency: "KES", Reference: "pay_1", ProviderReference: "pay_1",
				Method: "M-Pesa", Message: tc.msg, Raw: []byte(tc.body)}
			if !reflect.DeepEqual(got, want) {
				t.Fatalf("Confirm = %+v\nwant %+v", got, want)
			}
		})
	}
}
