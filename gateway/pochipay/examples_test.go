package pochipay

import (
	"errors"
	"net/http"
	"net/url"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"

	"checkout/gateway"
	"checkout/gateway/internal/fixture"
)

// The example bodies in testdata/ (see testdata/ASSUMED.md) and the values
// they carry.
const (
	exampleOrderID      = "pay_7Hq2kX9mN4"
	exampleCollectionID = "5b1f3a2e-8c4d-4e6f-9a7b-0c1d2e3f4a5b"
	exampleReceipt      = "SGR7ABC123"
)

// example reads testdata/name.
func example(t *testing.T, name string) []byte {
	t.Helper()
	return fixture.Read(t, "testdata", name)
}

// serveExample answers every request with the example's bytes and status.
func serveExample(t *testing.T, status int, name string) http.HandlerFunc {
	return raw(status, string(example(t, name)))
}

func TestDocumentExamplesStatusAnswers(t *testing.T) {
	for _, tt := range []struct {
		example string
		status  int
		want    gateway.Result // without Reference, ProviderReference, Currency, Method, Raw
	}{
		{"complete", 200, gateway.Result{Status: gateway.StatusSucceeded, Receipt: exampleReceipt, Code: "0"}},
		{"complete-amount", 200, gateway.Result{Status: gateway.StatusSucceeded, Receipt: exampleReceipt, Code: "0", Amount: 10000, HasAmount: true}},
		{"failed", 200, gateway.Result{Status: gateway.StatusFailed, Message: "Request cancelled by user", Code: "1032"}},
		{"pending", 200, gateway.Result{Status: gateway.StatusPending}},
		{"notfound", 404, gateway.Result{Status: gateway.StatusNotFound, Message: "Collection not found"}},
	} {
		for _, call := range []struct {
			name, path, collectionID string
		}{
			{"status", pathTransactionStatus, exampleCollectionID},
			{"query", pathCollectionQuery, ""},
		} {
			name := "assumed-collections-" + call.name + "-" + tt.example + ".json"
			t.Run(name, func(t *testing.T) {
				f := newFake(t, map[string]http.HandlerFunc{call.path: serveExample(t, tt.status, name)})
				c := f.client(&sleepRecorder{})

				got, err := c.Confirm(t.Context(), gateway.Query{AttemptID: exampleOrderID, ProviderReference: call.collectionID,
					Amount: 10000, Currency: "KES", Phone: "254712345678"})

				if err != nil {
					t.Fatalf("Confirm: %v", err)
				}
				want := tt.want
				want.Currency, want.Method = "KES", "M-Pesa"
				want.Reference, want.ProviderReference = exampleOrderID, call.collectionID
				want.Raw = example(t, name)
				assertResult(t, got, want)
				if n := len(f.Requests(call.path)); n != 1 {
					t.Errorf("%s asked %d times, want 1", call.path, n)
				}
			})
		}
	}
}

func TestDocumentExamplesPushAnswers(t *testing.T) {
	t.Run("assumed-collections-push-response.json", func(t *testing.T) {
		const name = "assumed-collections-push-response.json"
		f := newFake(t, map[string]http.HandlerFunc{pathCollect: serveExample(t, 200, name)})

		got, err := f.client(&sleepRecorder{}).Push(t.Context(), pushRequest())

		if err != nil {
			t.Fatalf("Push: %v", err)
		}
		want := gateway.STKStarted{ProviderReference: exampleCollectionID, Raw: example(t, name)}
		if !reflect.DeepEqual(got, want) {
			t.Errorf("Push = %+v (%s), want %+v", got, got.Raw, want)
		}
	})
	t.Run("assumed-collections-push-error.json", func(t *testing.T) {
		f := newFake(t, map[string]http.HandlerFunc{pathCollect: serveExample(t, 400, "assumed-collections-push-error.json")})

		got, err := f.client(&sleepRecorder{}).Push(t.Context(), pushRequest())

		const wantErr = "pochipay: push: HTTP 400: One or more validation errors occurred.; " +
			"PhoneNumber must be a valid Safaricom number in the format 2547XXXXXXXX"
		if err == nil || err.Error() != wantErr {
			t.Fatalf("error = %v, want %q (started %+v)", err, wantErr, got)
		}
		e := asError(t, err)
		wantMsgs := []string{"One or more validation errors occurred.",
			"PhoneNumber must be a valid Safaricom number in the format 2547XXXXXXXX"}
		if e.HTTPStatus != 400 || e.Op != "push" || !equalStrings(e.Messages, wantMsgs) || errors.Is(err, gateway.ErrSubscriberBusy) {
			t.Errorf("error = %+v, want HTTP 400 with Pochipay's texts, not busy", *e)
		}
		if !reflect.DeepEqual(got, gateway.STKStarted{}) {
			t.Errorf("started = %+v, want nothing", got)
		}
	})
}

func TestDocumentExamplesCollectionCallbacks(t *testing.T) {
	for _, tt := range []struct {
		name string
		want gateway.STKCallback
	}{
		{"assumed-collections-callback-success.json", gateway.STKCallback{Reference: exampleOrderID, Successful: true,
			Message: "The service request is processed successfully."}},
		{"assumed-collections-callback-failed.json", gateway.STKCallback{Reference: exampleOrderID, Successful: false,
			Code: "1032", Message: "Request cancelled by user"}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			c := newFake(t, nil).client(&sleepRecorder{})

			got, err := c.ParseCallback("application/json", example(t, tt.name))

			if err != nil {
				t.Fatalf("ParseCallback: %v", err)
			}
			if got != tt.want {
				t.Errorf("callback = %+v, want %+v", got, tt.want)
			}
		})
	}
}

// TestDocumentExampleTokenAnswer serves the developer site's token answer
// verbatim: its accessToken is sent as "Bearer <accessToken>" and kept for
// its expiresIn (3600 s) less the minute renewed early.
func TestDocumentExampleTokenAnswer(t *testing.T) {
	f := newFake(t, map[string]http.HandlerFunc{pathTransactionStatus: serveExample(t, 200, "assumed-collections-status-pending.json")},
		func(f *fakePochipay) { f.TokenHandler = serveExample(t, 200, "doc-token-response.json") })
	c := f.client(&sleepRecorder{})
	start := f.Clock.Now()
	q := gateway.Query{AttemptID: exampleOrderID, ProviderReference: exampleCollectionID}

	for i, at := range []time.Duration{0, 3539 * time.Second, 3540 * time.Second} {
		f.Clock.Set(start.Add(at))
		if _, err := c.Confirm(t.Context(), q); err != nil {
			t.Fatalf("Confirm at +%v: %v", at, err)
		}
		if got := f.Requests(pathTransactionStatus)[i].Authorization; got != "Bearer ..." {
			t.Errorf("Authorization at +%v = %q, want the example's token as %q", at, got, "Bearer ...")
		}
	}
	if n := f.Tokens(); n != 2 {
		t.Errorf("token requests = %d, want 2 (one at the start, one renewed at 3540 s)", n)
	}
}

// assertNoEmptyStrings fails when the JSON body has a string value that is
// empty: an optional field with no value is left out, never sent as "".
func assertNoEmptyStrings(t *testing.T, name, body string) {
	t.Helper()
	v, err := fixture.Decode([]byte(body))
	if err != nil {
		t.Fatalf("%s: %v", name, err)
	}
	var walk func(path string, v any)
	walk = func(path string, v any) {
		switch x := v.(type) {
		case string:
			if strings.TrimSpace(x) == "" {
				t.Errorf("%s: %s is sent as %q; leave it out", name, path, x)
			}
		case map[string]any:
			for k, e := range x {
				walk(path+"."+k, e)
			}
		case []any:
			for _, e := range x {
				walk(path+"[]", e)
			}
		}
	}
	walk("$", v)
}

func TestDocumentExampleRequests(t *testing.T) {
	minimal := pushRequest()
	minimal.AccountReference, minimal.Description, minimal.CustomerName, minimal.CustomerEmail = "", "", "", ""
	f := newFake(t, map[string]http.HandlerFunc{
		pathCollect:           serveExample(t, 200, "assumed-collections-push-response.json"),
		pathTransactionStatus: serveExample(t, 200, "assumed-collections-status-pending.json"),
		pathCollectionQuery:   serveExample(t, 200, "assumed-collections-query-pending.json"),
	})
	c := f.client(&sleepRecorder{})
	for _, r := range []gateway.STKRequest{pushRequest(), minimal} {
		if _, err := c.Push(t.Context(), r); err != nil {
			t.Fatalf("Push: %v", err)
		}
	}
	if _, err := c.Confirm(t.Context(), gateway.Query{AttemptID: exampleOrderID, ProviderReference: exampleCollectionID}); err != nil {
		t.Fatalf("Confirm by collection id: %v", err)
	}
	if _, err := c.Confirm(t.Context(), gateway.Query{AttemptID: exampleOrderID}); err != nil {
		t.Fatalf("Confirm by order id: %v", err)
	}
	bearer := "Bearer " + tokenName(1)

	t.Run("assumed-token-request.json", func(t *testing.T) {
		reqs := f.TokenRequests()
		if len(reqs) != 1 {
			t.Fatalf("token requests = %d, want 1", len(reqs))
		}
		fixture.SameShape(t, "token request", example(t, "assumed-token-request.json"), []byte(reqs[0].Body))
		assertNoEmptyStrings(t, "token request", reqs[0].Body)
		if r := reqs[0]; r.Method != http.MethodPost || r.Authorization != "" || r.ContentType != "application/json" {
			t.Errorf("token request = %s, Authorization %q, Content-Type %q; want POST, none (\"Headers: None\"), application/json",
				r.Method, r.Authorization, r.ContentType)
		}
	})
	t.Run("assumed-collections-push-request.json", func(t *testing.T) {
		reqs := f.Requests(pathCollect)
		if len(reqs) != 2 {
			t.Fatalf("push requests = %d, want 2", len(reqs))
		}
		for i, name := range []string{"push with every field", "push without account reference or description"} {
			r := reqs[i]
			fixture.SameShape(t, name, example(t, "assumed-collections-push-request.json"), []byte(r.Body))
			assertNoEmptyStrings(t, name, r.Body)
			if r.Method != http.MethodPost || r.Authorization != bearer || r.ContentType != "application/json" {
				t.Errorf("%s: %s, Authorization %q, Content-Type %q; want POST, %q, application/json",
					name, r.Method, r.Authorization, r.ContentType, bearer)
			}
		}
	})
	t.Run("assumed-collections-status-request.json", func(t *testing.T) {
		reqs := f.Requests(pathTransactionStatus)
		if len(reqs) != 1 {
			t.Fatalf("status requests = %d, want 1", len(reqs))
		}
		r := reqs[0]
		fixture.SameShape(t, "status request", example(t, "assumed-collections-status-request.json"), []byte(r.Body))
		assertNoEmptyStrings(t, "status request", r.Body)
		if r.Method != http.MethodPost || r.Authorization != bearer || r.RawQuery != "" {
			t.Errorf("status request: %s, Authorization %q, query %q; want POST, %q, none", r.Method, r.Authorization, r.RawQuery, bearer)
		}
	})
	t.Run("assumed-collections-query-request.query", func(t *testing.T) {
		reqs := f.Requests(pathCollectionQuery)
		if len(reqs) != 1 {
			t.Fatalf("query requests = %d, want 1", len(reqs))
		}
		r := reqs[0]
		want, err := url.ParseQuery(string(example(t, "assumed-collections-query-request.query")))
		if err != nil {
			t.Fatal(err)
		}
		got, err := url.ParseQuery(r.RawQuery)
		if err != nil {
			t.Fatal(err)
		}
		if !slices.Equal(slices.Sorted(mapKeys(got)), slices.Sorted(mapKeys(want))) || got.Get("OrderId") != exampleOrderID {
			t.Errorf("query = %q, want the keys of %q with our order id", r.RawQuery, want.Encode())
		}
		if r.Method != http.MethodGet || r.Authorization != bearer || r.Body != "" || r.ContentType != "" {
			t.Errorf("query request: %s, Authorization %q, body %q, Content-Type %q; want GET, %q, no body",
				r.Method, r.Authorization, r.Body, r.ContentType, bearer)
		}
	})
}

// mapKeys iterates over the keys of a url.Values.
func mapKeys(v url.Values) func(func(string) bool) {
	return func(yield func(string) bool) {
		for k := range v {
			if !yield(k) {
				return
			}
		}
	}
}
