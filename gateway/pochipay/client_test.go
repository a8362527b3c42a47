package pochipay

import (
	"context"
	"errors"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"checkout/gateway"
)

// pendingStatus is a transaction-status answer saying "still pending".
const pendingStatus = `{"result":{"status":"Pending","isSuccessful":false,"orderId":"pay_01"},"message":"Success","errors":[]}`

// statusQuery asks about attempt pay_01, collection col_123.
var statusQuery = gateway.Query{AttemptID: "pay_01", ProviderReference: "col_123", Amount: 150000, Currency: "KES", Phone: "254712345678"}

func TestNewNamesTheMissingOrBadField(t *testing.T) {
	good := Config{Email: testEmail, Password: testPassword}
	tests := []struct {
		name    string
		change  func(*Config)
		wantErr string
	}{
		{"no Email", func(c *Config) { c.Email = "" }, "pochipay: Config.Email is required"},
		{"blank Password", func(c *Config) { c.Password = "  " }, "pochipay: Config.Password is required"},
		{"negative Timeout", func(c *Config) { c.Timeout = -time.Second }, "pochipay: Config.Timeout must not be negative"},
		{"BaseURL without scheme", func(c *Config) { c.BaseURL = "app.pochipay.com/api/v1" },
			"pochipay: Config.BaseURL must be an absolute http(s) URL without query, like https://app.pochipay.com/api/v1"},
		{"BaseURL with a query", func(c *Config) { c.BaseURL = "https://app.pochipay.com/api/v1?x=1" },
			"pochipay: Config.BaseURL must be an absolute http(s) URL without query, like https://app.pochipay.com/api/v1"},
		{"BaseURL with credentials", func(c *Config) { c.BaseURL = "https://u:p@app.pochipay.com/api/v1" },
			"pochipay: Config.BaseURL must be an absolute http(s) URL without query, like https://app.pochipay.com/api/v1"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg := good
			tt.change(&cfg)
			c, err := New(cfg)
			if err == nil || err.Error() != tt.wantErr {
				t.Fatalf("New error = %v, want %q", err, tt.wantErr)
			}
			if c != nil {
				t.Errorf("New returned a client with its error")
			}
		})
	}
}

func TestNewAppliesDefaults(t *testing.T) {
	c, err := New(Config{Email: testEmail, Password: testPassword})
	if err != nil {
		t.Fatal(err)
	}
	if DefaultBaseURL != "https://app.pochipay.com/api/v1" || c.base != DefaultBaseURL {
		t.Errorf("base = %q, want %q", c.base, "https://app.pochipay.com/api/v1")
	}
	if DefaultTimeout != 10*time.Second || c.be.Timeout != DefaultTimeout {
		t.Errorf("timeout = %v, want 10s", c.be.Timeout)
	}
	if c.be.HTTP == nil || c.now == nil || c.log == nil || c.be.Sleep == nil {
		t.Errorf("defaults missing: http %v, now %v, log %v, sleep %v", c.be.HTTP != nil, c.now != nil, c.log != nil, c.be.Sleep != nil)
	}
	if c.email != testEmail || c.password != testPassword || len(c.secrets) != 2 {
		t.Errorf("credentials not kept")
	}
	if c.Name() != "pochipay" {
		t.Errorf("Name() = %q, want pochipay", c.Name())
	}

	c, err = New(Config{BaseURL: "http://127.0.0.1:8080/api/v1/", Email: testEmail, Password: testPassword})
	if err != nil {
		t.Fatal(err)
	}
	if c.base != "http://127.0.0.1:8080/api/v1" {
		t.Errorf("base = %q, want the BaseURL without its trailing slash", c.base)
	}
}

func TestTokenIsCachedForManyCalls(t *testing.T) {
	f := newFake(t, map[string]http.HandlerFunc{pathTransactionStatus: raw(http.StatusOK, pendingStatus)})
	c := f.client(&sleepRecorder{})

	const calls = 10
	for i := range calls {
		if _, err := c.Confirm(t.Context(), statusQuery); err != nil {
			t.Fatalf("call %d: %v", i, err)
		}
	}

	if got := f.Tokens(); got != 1 {
		t.Fatalf("token requests = %d, want 1", got)
	}
	tr := f.TokenRequests()[0]
	if tr.Method != http.MethodPost || tr.Path != "/account/token" || tr.RawQuery != "" || tr.Authorization != "" ||
		tr.ContentType != "application/json" || tr.Accept != "application/json" {
		t.Errorf("token request = %+v, want a JSON POST to /account/token without Authorization", tr)
	}
	assertJSONObject(t, tr.Body, map[string]any{"email": testEmail, "password": testPassword})
	reqs := f.Requests(pathTransactionStatus)
	if len(reqs) != calls {
		t.Fatalf("API requests = %d, want %d", len(reqs), calls)
	}
	for i, r := range reqs {
		if r.Authorization != "Bearer "+tokenName(1) {
			t.Errorf("request %d Authorization = %q, want the first token", i, r.Authorization)
		}
	}
}

func TestTokenIsRenewedSixtySecondsBeforeExpiresIn(t *testing.T) {
	tests := []struct {
		name      string
		expiresIn string        // raw JSON, "" for no key
		stillUsed time.Duration // after issue, the first token is still used
		renewed   time.Duration // after issue, a second token is fetched
	}{
		{"expiresIn 3600", "3600", 3539 * time.Second, 3540 * time.Second},
		{"expiresIn as a string", `"1800"`, 1739 * time.Second, 1740 * time.Second},
		{"missing expiresIn means 3600", "", 3539 * time.Second, 3540 * time.Second},
		{"null expiresIn means 3600", "null", 3539 * time.Second, 3540 * time.Second},
		{"zero expiresIn means 3600", "0", 3539 * time.Second, 3540 * time.Second},
		{"expiresIn beyond 3600 is capped at 3600", "86400", 3539 * time.Second, 3540 * time.Second},
		{"expiresIn shorter than the margin is never cached", "30", 0, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newFake(t, map[string]http.HandlerFunc{pathTransactionStatus: raw(http.StatusOK, pendingStatus)},
				func(f *fakePochipay) { f.expiresIn = tt.expiresIn })
			c := f.client(&sleepRecorder{})
			issued := f.Clock.Now()
			confirm := func() {
				t.Helper()
				if _, err := c.Confirm(t.Context(), statusQuery); err != nil {
					t.Fatalf("Confirm: %v", err)
				}
			}

			confirm()
			if tt.stillUsed > 0 {
				f.Clock.Set(issued.Add(tt.stillUsed))
				confirm()
				if got := f.Tokens(); got != 1 {
					t.Fatalf("after %v: token requests = %d, want 1", tt.stillUsed, got)
				}
			}
			f.Clock.Set(issued.Add(tt.renewed))
			confirm()

			if got := f.Tokens(); got != 2 {
				t.Fatalf("after %v: token requests = %d, want 2", tt.renewed, got)
			}
			reqs := f.Requests(pathTransactionStatus)
			if last := reqs[len(reqs)-1].Authorization; last != "Bearer "+tokenName(2) {
				t.Errorf("last request Authorization = %q, want the second token", last)
			}
		})
	}
}

func TestTokenInThePagesOwnSpellingIsRead(t *testing.T) {
	f := newFake(t, map[string]http.HandlerFunc{pathTransactionStatus: raw(http.StatusOK, pendingStatus)}, func(f *fakePochipay) {
		f.TokenHandler = raw(http.StatusOK, `{"result":{"access_token":"snake-case-token-1","token_type":"Bearer","expires_in":3600}}`)
	})
	c := f.client(&sleepRecorder{})

	if _, err := c.Confirm(t.Context(), statusQuery); err != nil {
		t.Fatalf("Confirm: %v", err)
	}

	if got := f.Requests(pathTransactionStatus)[0].Authorization; got != "Bearer snake-case-token-1" {
		t.Errorf("Authorization = %q, want the access_token", got)
	}
}

func TestConcurrentCallsWithoutTokenMakeOneTokenRequest(t *testing.T) {
	gate := make(chan struct{})
	f := newFake(t, map[string]http.HandlerFunc{pathTransactionStatus: raw(http.StatusOK, pendingStatus)},
		func(f *fakePochipay) { f.TokenGate = gate })
	c := f.client(&sleepRecorder{})
	const callers = 20
	var waiting, done sync.WaitGroup
	waiting.Add(callers)
	c.tok.waiting = waiting.Done

	errs := make(chan error, callers)
	done.Add(callers)
	for range callers {
		go func() {
			defer done.Done()
			_, err := c.Confirm(context.Background(), statusQuery)
			errs <- err
		}()
	}
	// Every caller is waiting for a token before the token request may
	// answer, so none of them can have found one in the cache.
	waiting.Wait()
	close(gate)
	done.Wait()
	close(errs)

	for err := range errs {
		if err != nil {
			t.Errorf("call failed: %v", err)
		}
	}
	if got := f.Tokens(); got != 1 {
		t.Errorf("token requests = %d, want exactly 1", got)
	}
	reqs := f.Requests(pathTransactionStatus)
	if len(reqs) != callers {
		t.Errorf("API requests = %d, want %d", len(reqs), callers)
	}
	for i, r := range reqs {
		if r.Authorization != "Bearer "+tokenName(1) {
			t.Errorf("request %d Authorization = %q", i, r.Authorization)
		}
	}
}

func TestCallerGivingUpOnTokenDoesNotFailOthers(t *testing.T) {
	gate := make(chan struct{})
	f := newFake(t, map[string]http.HandlerFunc{pathTransactionStatus: raw(http.StatusOK, pendingStatus)},
		func(f *fakePochipay) { f.TokenGate = gate })
	c := f.client(&sleepRecorder{})
	var waiting sync.WaitGroup
	waiting.Add(2)
	c.tok.waiting = waiting.Done

	ctx, cancel := context.WithCancel(context.Background())
	first := make(chan error, 1)
	go func() { _, err := c.Confirm(ctx, statusQuery); first <- err }()
	second := make(chan error, 1)
	go func() { _, err := c.Confirm(context.Background(), statusQuery); second <- err }()
	waiting.Wait()
	cancel()
	err := <-first
	close(gate)

	if !errors.Is(err, context.Canceled) {
		t.Errorf("first caller error = %v, want context.Canceled", err)
	}
	if err := <-second; err != nil {
		t.Errorf("second caller error = %v, want none", err)
	}
	if got := f.Tokens(); got != 1 {
		t.Errorf("token requests = %d, want 1", got)
	}
}

func TestUnauthorizedRenewsTokenOnceAndRepeatsCall(t *testing.T) {
	const accepted = `{"result":{"collectionId":"col_123","isProcessing":true},"message":"Success","errors":[]}`
	unauthorized := raw(http.StatusUnauthorized, `{"result":null,"message":"Unauthorized","errors":["Token expired"]}`)
	refuseFirstToken := func(w http.ResponseWriter, r *http.Request) {
		if r.Header.Get("Authorization") == "Bearer "+tokenName(1) {
			unauthorized(w, r)
			return
		}
		raw(http.StatusOK, accepted)(w, r)
	}
	tests := []struct {
		name    string
		handler http.HandlerFunc
		wantErr string
	}{
		{"refused once, then accepted", refuseFirstToken, ""},
		{"refused twice is an error", unauthorized, "pochipay: push: HTTP 401: Unauthorized; Token expired"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newFake(t, map[string]http.HandlerFunc{pathCollect: tt.handler})
			sleeper := &sleepRecorder{}
			c := f.client(sleeper)

			started, err := c.Push(t.Context(), pushRequest())

			if tt.wantErr == "" {
				if err != nil {
					t.Fatalf("Push: %v", err)
				}
				if started.ProviderReference != "col_123" || string(started.Raw) != accepted {
					t.Errorf("started = %+v", started)
				}
			} else {
				if err == nil || err.Error() != tt.wantErr {
					t.Fatalf("error = %v, want %q", err, tt.wantErr)
				}
				if e := asError(t, err); e.HTTPStatus != http.StatusUnauthorized || e.Op != "push" || e.Err != nil ||
					!equalStrings(e.Messages, []string{"Unauthorized", "Token expired"}) {
					t.Errorf("error = %+v", *e)
				}
			}
			if got := f.Tokens(); got != 2 {
				t.Errorf("token requests = %d, want 2", got)
			}
			reqs := f.Requests(pathCollect)
			if len(reqs) != 2 {
				t.Fatalf("push requests = %d, want 2 (the call and its one repeat)", len(reqs))
			}
			if reqs[0].Authorization != "Bearer "+tokenName(1) || reqs[1].Authorization != "Bearer "+tokenName(2) {
				t.Errorf("Authorization = %q then %q, want the first token then the second", reqs[0].Authorization, reqs[1].Authorization)
			}
			if reqs[0].Body != reqs[1].Body {
				t.Errorf("the repeat sent %q, the call %q", reqs[1].Body, reqs[0].Body)
			}
			if w := sleeper.Waits(); len(w) != 0 {
				t.Errorf("waits = %v, want none", w)
			}
		})
	}
}

func TestTokenFailuresAreErrorsWithPochipayMessages(t *testing.T) {
	tests := []struct {
		name    string
		handler http.HandlerFunc
		want    string
		status  int
		msgs    []string
	}{
		{
			name:    "wrong credentials",
			handler: raw(http.StatusBadRequest, `{"result":null,"message":"Login failed","errors":["Invalid email or password"]}`),
			want:    "pochipay: request token: HTTP 400: Login failed; Invalid email or password",
			status:  http.StatusBadRequest, msgs: []string{"Login failed", "Invalid email or password"},
		},
		{
			name:    "errors in a 200",
			handler: raw(http.StatusOK, `{"result":null,"errors":[{"code":"locked","description":"Account locked"}]}`),
			want:    "pochipay: request token: HTTP 200: locked: Account locked",
			status:  http.StatusOK, msgs: []string{"locked: Account locked"},
		},
		{
			name:    "no access token",
			handler: raw(http.StatusOK, `{"result":{"tokenType":"Bearer","expiresIn":3600},"errors":[]}`),
			want:    "pochipay: request token: HTTP 200: answer has no result.accessToken",
			status:  http.StatusOK,
		},
		{
			name: "HTML error page",
			handler: func(w http.ResponseWriter, _ *http.Request) {
				writeRaw(w, http.StatusBadGateway, "text/html", "<html>bad gateway</html>")
			},
			want:   "pochipay: request token: HTTP 502: answer is not JSON (text/html, 24 bytes)",
			status: http.StatusBadGateway,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newFake(t, map[string]http.HandlerFunc{pathCollect: raw(http.StatusOK, `{}`)},
				func(f *fakePochipay) { f.TokenHandler = tt.handler })
			c := f.client(&sleepRecorder{})

			_, err := c.Push(t.Context(), pushRequest())

			if err == nil || err.Error() != tt.want {
				t.Fatalf("error = %v, want %q", err, tt.want)
			}
			e := asError(t, err)
			if e.HTTPStatus != tt.status || e.Op != "request token" || !equalStrings(e.Messages, tt.msgs) {
				t.Errorf("error = %+v, want HTTP %d messages %q", *e, tt.status, tt.msgs)
			}
			if n := len(f.Requests(pathCollect)); n != 0 {
				t.Errorf("push requests = %d, want none without a token", n)
			}
		})
	}
}

func TestCallExceedingTimeoutFailsWithDeadlineExceeded(t *testing.T) {
	f := newFake(t, map[string]http.HandlerFunc{pathCollect: hang})
	c := f.client(&sleepRecorder{}, func(cfg *Config) { cfg.Timeout = 50 * time.Millisecond })

	_, err := c.Push(t.Context(), pushRequest())

	if !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("error = %v, want context.DeadlineExceeded", err)
	}
	e := asError(t, err)
	if e.Op != "push" || e.HTTPStatus != 0 || !e.transport || len(e.Messages) != 0 ||
		!strings.HasPrefix(e.Error(), "pochipay: push: timed out: ") {
		t.Errorf("error = %+v (%q)", *e, e)
	}
}

func TestSecretsNeverAppearInErrorsOrLogs(t *testing.T) {
	upperEmail := strings.ToUpper(testEmail)
	tests := []struct {
		name   string
		token  http.HandlerFunc // nil: the fake's tokens
		push   http.HandlerFunc
		tokens []string // tokens that must not appear
	}{
		{
			name: "token refusal echoing the credentials",
			token: raw(http.StatusBadRequest, `{"message":"no user `+upperEmail+`","errors":["password `+testPassword+
				` is wrong for `+testEmail+`"]}`),
			push: raw(http.StatusOK, `{}`),
		},
		{
			name:   "push refusal echoing the token",
			push:   raw(http.StatusBadRequest, `{"errors":["token `+tokenName(1)+` may not collect"]}`),
			tokens: []string{tokenName(1)},
		},
		{
			name:   "unreadable push answer",
			push:   raw(http.StatusOK, `{"result":{"collectionId":{"x":"`+tokenName(1)+`"}}}`),
			tokens: []string{tokenName(1)},
		},
		{
			name:   "timed out push",
			push:   hang,
			tokens: []string{tokenName(1)},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newFake(t, map[string]http.HandlerFunc{pathCollect: tt.push}, func(f *fakePochipay) { f.TokenHandler = tt.token })
			logs := &lockedBuffer{}
			c := f.client(&sleepRecorder{}, func(cfg *Config) {
				cfg.Logger = debugLogger(logs)
				cfg.Timeout = 100 * time.Millisecond
			})

			_, err := c.Push(t.Context(), pushRequest())

			if err == nil {
				t.Fatal("Push succeeded")
			}
			if leaked := secretsIn(err.Error(), tt.tokens...); len(leaked) > 0 {
				t.Errorf("error %q contains %q", err, leaked)
			}
			if leaked := secretsIn(logs.String(), tt.tokens...); len(leaked) > 0 {
				t.Errorf("logs contain %q:\n%s", leaked, logs)
			}
			if logs.String() == "" {
				t.Errorf("nothing was logged")
			}
		})
	}
}

func TestAnswersKeptForTheEventLogAreRedacted(t *testing.T) {
	f := newFake(t, map[string]http.HandlerFunc{
		pathCollect:           raw(http.StatusOK, `{"result":{"collectionId":"col_1"},"message":"sent for `+testEmail+` with `+tokenName(1)+`"}`),
		pathTransactionStatus: raw(http.StatusOK, `{"result":{"status":"Pending"},"message":"`+strings.ToUpper(testPassword)+`"}`),
	})
	c := f.client(&sleepRecorder{})

	started, err := c.Push(t.Context(), pushRequest())
	if err != nil {
		t.Fatal(err)
	}
	res, err := c.Confirm(t.Context(), statusQuery)
	if err != nil {
		t.Fatal(err)
	}

	if got, want := string(started.Raw), `{"result":{"collectionId":"col_1"},"message":"sent for [redacted] with [redacted]"}`; got != want {
		t.Errorf("push Raw = %s, want %s", got, want)
	}
	if got, want := string(res.Raw), `{"result":{"status":"Pending"},"message":"[redacted]"}`; got != want {
		t.Errorf("status Raw = %s, want %s", got, want)
	}
}

func TestErrorsAndMessagesAreReadInEveryShape(t *testing.T) {
	tests := []struct {
		name string
		body string
		want []string
	}{
		{"array of strings", `{"errors":["a","b"]}`, []string{"a", "b"}},
		{"message and errors, repeats dropped", `{"message":"a","errors":["a","b"]}`, []string{"a", "b"}},
		{"a string", `{"errors":"just this"}`, []string{"just this"}},
		{"array of objects", `{"errors":[{"message":"x","code":1001},{"field":"phoneNumber","message":"bad"}]}`,
			[]string{"1001: x", "phoneNumber: bad"}},
		{"ASP.NET validation map", `{"title":"One or more validation errors occurred.","errors":{"PhoneNumber":["The PhoneNumber field is required."],"Amount":["Too small","Whole"]}}`,
			[]string{"Amount: Too small: Whole", "PhoneNumber: The PhoneNumber field is required."}},
		{"control characters and blanks dropped", `{"message":"  ","errors":["line\none\u0000", "", null, true]}`, []string{"lineone"}},
		{"nothing", `{"errors":[],"message":null}`, nil},
		{"errors of an unexpected type", `{"errors":true,"message":{"text":"x"}}`, []string{"text: x"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newFake(t, map[string]http.HandlerFunc{pathTransactionStatus: raw(http.StatusBadRequest, tt.body)})
			c := f.client(&sleepRecorder{})

			_, err := c.Confirm(t.Context(), statusQuery)

			e := asError(t, err)
			if !equalStrings(e.Messages, tt.want) {
				t.Errorf("messages = %q, want %q", e.Messages, tt.want)
			}
			if (e.Err != nil) != (len(tt.want) == 0) {
				t.Errorf("Err = %v: want our own text only when Pochipay gave none", e.Err)
			}
		})
	}
}

func TestErrorTextLeavesOutEmptyParts(t *testing.T) {
	tests := []struct {
		err  *Error
		want string
	}{
		{&Error{}, "pochipay"},
		{&Error{Op: "push"}, "pochipay: push"},
		{&Error{Op: "push", HTTPStatus: 400, Messages: []string{"a", "b"}}, "pochipay: push: HTTP 400: a; b"},
		{&Error{Op: "push", HTTPStatus: 400, Messages: []string{"busy"}, Err: gateway.ErrSubscriberBusy},
			"pochipay: push: HTTP 400: busy: a payment prompt is already in progress on this phone"},
		{&Error{Op: "push", Err: context.Canceled}, "pochipay: push: context canceled"},
	}
	for _, tt := range tests {
		if got := tt.err.Error(); got != tt.want {
			t.Errorf("Error() = %q, want %q", got, tt.want)
		}
		if !errors.Is(tt.err, tt.err.Err) && tt.err.Err != nil {
			t.Errorf("%q does not unwrap to its Err", tt.want)
		}
	}
}

// equalStrings compares two lists, nil and empty alike.
func equalStrings(a, b []string) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}
