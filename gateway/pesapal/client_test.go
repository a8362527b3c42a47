package pesapal

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"
)

func TestNewNamesTheMissingOrBadField(t *testing.T) {
	good := Config{BaseURL: "https://pay.pesapal.com/v3", ConsumerKey: testKey, ConsumerSecret: testSecret}
	tests := []struct {
		name    string
		change  func(*Config)
		wantErr string
	}{
		{"no BaseURL", func(c *Config) { c.BaseURL = "" }, "pesapal: Config.BaseURL is required"},
		{"blank ConsumerKey", func(c *Config) { c.ConsumerKey = "  " }, "pesapal: Config.ConsumerKey is required"},
		{"no ConsumerSecret", func(c *Config) { c.ConsumerSecret = "" }, "pesapal: Config.ConsumerSecret is required"},
		{"BaseURL without scheme", func(c *Config) { c.BaseURL = "pay.pesapal.com/v3" }, "pesapal: Config.BaseURL must be an absolute http(s) URL"},
		{"BaseURL with a query", func(c *Config) { c.BaseURL = "https://pay.pesapal.com/v3?x=1" }, "pesapal: Config.BaseURL must be an absolute http(s) URL"},
		{"negative Timeout", func(c *Config) { c.Timeout = -time.Second }, "pesapal: Config.Timeout must not be negative"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg := good
			tt.change(&cfg)
			c, err := New(cfg)
			if err == nil {
				t.Fatalf("New succeeded, want error %q", tt.wantErr)
			}
			if c != nil {
				t.Errorf("New returned a client with its error")
			}
			if !strings.HasPrefix(err.Error(), tt.wantErr) {
				t.Errorf("error = %q, want prefix %q", err, tt.wantErr)
			}
			if strings.Contains(err.Error(), testSecret) {
				t.Errorf("error %q contains the secret", err)
			}
		})
	}
}

func TestNewAppliesDefaults(t *testing.T) {
	c, err := New(Config{BaseURL: "https://pay.pesapal.com/v3/", ConsumerKey: testKey, ConsumerSecret: testSecret})
	if err != nil {
		t.Fatal(err)
	}
	if c.base != "https://pay.pesapal.com/v3" {
		t.Errorf("base = %q, want the BaseURL without its trailing slash", c.base)
	}
	if c.be.Timeout != DefaultTimeout || DefaultTimeout != 10*time.Second {
		t.Errorf("timeout = %v, want 10s", c.be.Timeout)
	}
	if c.be.HTTP == nil || c.now == nil || c.log == nil || c.be.Sleep == nil {
		t.Errorf("defaults missing: http %v, now %v, log %v, sleep %v", c.be.HTTP != nil, c.now != nil, c.log != nil, c.be.Sleep != nil)
	}
	if c.key != testKey || c.secret != testSecret {
		t.Errorf("credentials not kept")
	}
}

func TestTokenIsCachedAcrossCalls(t *testing.T) {
	f := newFake(t, map[string]http.HandlerFunc{pathIPNList: raw(http.StatusOK, `[]`)})
	c := f.client(&sleepRecorder{})

	const calls = 10
	for i := range calls {
		if _, err := c.GetIPNList(t.Context()); err != nil {
			t.Fatalf("call %d: %v", i, err)
		}
	}

	if got := f.Tokens(); got != 1 {
		t.Errorf("token requests = %d, want 1", got)
	}
	tr := f.TokenRequests()[0]
	if tr.Method != http.MethodPost || tr.Accept != "application/json" || tr.ContentType != "application/json" || tr.Authorization != "" {
		t.Errorf("token request = %+v, want POST with JSON Accept and Content-Type and no Authorization", tr)
	}
	var body map[string]string
	if err := json.Unmarshal([]byte(tr.Body), &body); err != nil {
		t.Fatalf("token body %q: %v", tr.Body, err)
	}
	if want := map[string]string{"consumer_key": testKey, "consumer_secret": testSecret}; len(body) != 2 ||
		body["consumer_key"] != want["consumer_key"] || body["consumer_secret"] != want["consumer_secret"] {
		t.Errorf("token body = %v, want %v", body, want)
	}
	reqs := f.Requests(pathIPNList)
	if len(reqs) != calls {
		t.Fatalf("API requests = %d, want %d", len(reqs), calls)
	}
	for i, r := range reqs {
		if r.Authorization != "Bearer "+tokenName(1) {
			t.Errorf("request %d Authorization = %q, want the first token", i, r.Authorization)
		}
	}
}

func TestTokenIsRenewedShortlyBeforeExpiry(t *testing.T) {
	tests := []struct {
		name string
		// expiry writes expiryDate for a token issued at now (ok false: no key).
		expiry    func(now time.Time) (string, bool)
		stillUsed time.Duration // after issue, the first token is still used
		renewed   time.Duration // after issue, a second token is fetched
	}{
		{
			name: "expiryDate in five minutes with seven decimals",
			expiry: func(now time.Time) (string, bool) {
				return now.Add(5 * time.Minute).Format("2006-01-02T15:04:05.0000000Z"), true
			},
			stillUsed: 4*time.Minute + 29*time.Second,
			renewed:   4*time.Minute + 31*time.Second,
		},
		{
			name:      "expiryDate in one minute",
			expiry:    func(now time.Time) (string, bool) { return now.Add(time.Minute).Format(time.RFC3339), true },
			stillUsed: 29 * time.Second,
			renewed:   31 * time.Second,
		},
		{
			name: "expiryDate without a zone is UTC",
			expiry: func(now time.Time) (string, bool) {
				return now.Add(2 * time.Minute).Format("2006-01-02T15:04:05.000"), true
			},
			stillUsed: time.Minute + 29*time.Second,
			renewed:   time.Minute + 31*time.Second,
		},
		{
			name:      "missing expiryDate means five minutes",
			expiry:    func(time.Time) (string, bool) { return "", false },
			stillUsed: 4*time.Minute + 29*time.Second,
			renewed:   4*time.Minute + 31*time.Second,
		},
		{
			name:      "unreadable expiryDate means five minutes",
			expiry:    func(time.Time) (string, bool) { return "in a while", true },
			stillUsed: 4*time.Minute + 29*time.Second,
			renewed:   4*time.Minute + 31*time.Second,
		},
		{
			name:      "expiryDate beyond five minutes is capped at five",
			expiry:    func(now time.Time) (string, bool) { return now.Add(time.Hour).Format(time.RFC3339Nano), true },
			stillUsed: 4*time.Minute + 29*time.Second,
			renewed:   4*time.Minute + 31*time.Second,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newFake(t, map[string]http.HandlerFunc{pathIPNList: raw(http.StatusOK, `[]`)},
				func(f *fakePesapal) { f.expiry = tt.expiry })
			c := f.client(&sleepRecorder{})
			issued := f.Clock.Now()

			steps := []struct {
				at         time.Duration
				wantTokens int
				wantBearer string
			}{
				{0, 1, tokenName(1)},
				{tt.stillUsed, 1, tokenName(1)},
				{tt.renewed, 2, tokenName(2)},
			}
			for i, s := range steps {
				f.Clock.Set(issued.Add(s.at))
				if _, err := c.GetIPNList(t.Context()); err != nil {
					t.Fatalf("call at +%v: %v", s.at, err)
				}
				if got := f.Tokens(); got != s.wantTokens {
					t.Errorf("at +%v: token requests = %d, want %d", s.at, got, s.wantTokens)
				}
				if got := f.Requests(pathIPNList)[i].Authorization; got != "Bearer "+s.wantBearer {
					t.Errorf("at +%v: Authorization = %q, want Bearer %s", s.at, got, s.wantBearer)
				}
			}
		})
	}
}

func TestConcurrentCallsWithoutTokenMakeOneTokenRequest(t *testing.T) {
	tokenStarted, tokenGate := make(chan struct{}, 1), make(chan struct{})
	f := newFake(t, map[string]http.HandlerFunc{pathIPNList: raw(http.StatusOK, `[]`)}, func(f *fakePesapal) {
		f.TokenStarted, f.TokenGate = tokenStarted, tokenGate
	})
	c := f.client(&sleepRecorder{})

	const callers = 50
	var (
		ready, done sync.WaitGroup
		start       = make(chan struct{})
		errs        = make(chan error, callers)
	)
	ready.Add(callers)
	done.Add(callers)
	for range callers {
		go func() {
			defer done.Done()
			ready.Done()
			<-start
			_, err := c.GetIPNList(context.Background())
			errs <- err
		}()
	}
	ready.Wait()
	close(start)
	// Hold the one token request open until it has arrived, so that the
	// other callers find it under way.
	<-tokenStarted
	close(tokenGate)
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
	reqs := f.Requests(pathIPNList)
	if len(reqs) != callers {
		t.Errorf("API requests = %d, want %d", len(reqs), callers)
	}
	for i, r := range reqs {
		if r.Authorization != "Bearer "+tokenName(1) {
			t.Errorf("request %d Authorization = %q", i, r.Authorization)
		}
	}
}

func TestUnauthorizedRenewsTokenOnceAndRepeatsCall(t *testing.T) {
	// refuseFirstToken answers 401 to the first token and ok to the others.
	refuseFirstToken := func(ok string) http.HandlerFunc {
		return func(w http.ResponseWriter, r *http.Request) {
			if r.Header.Get("Authorization") == "Bearer "+tokenName(1) {
				writeRaw(w, http.StatusUnauthorized, "application/json", `{"error":{"error_type":"api_error","code":"unauthorized","message":"Token expired"},"status":"401"}`)
				return
			}
			writeRaw(w, http.StatusOK, "application/json", ok)
		}
	}
	const statusOK = `{"status_code":1,"amount":100,"currency":"KES","error":null,"status":"200"}`
	const orderOK = `{"order_tracking_id":"trk-1","merchant_reference":"att-1","redirect_url":"https://pay.example/trk-1","error":null,"status":"200"}`
	tests := []struct {
		name       string
		path       string
		handler    http.HandlerFunc
		do         func(*Client) error
		wantTokens int
		wantHits   int
		wantStatus int // HTTPStatus of the *Error; 0 for success
	}{
		{
			name: "status call succeeds with a fresh token", path: pathTransactionSts,
			handler:    refuseFirstToken(statusOK),
			do:         func(c *Client) error { _, err := c.GetTransactionStatus(t.Context(), "trk-1"); return err },
			wantTokens: 2, wantHits: 2,
		},
		{
			name: "order request is repeated once after a 401", path: pathSubmitOrder,
			handler:    refuseFirstToken(orderOK),
			do:         func(c *Client) error { _, err := c.SubmitOrderRequest(t.Context(), validOrder()); return err },
			wantTokens: 2, wantHits: 2,
		},
		{
			name: "IPN list succeeds with a fresh token", path: pathIPNList,
			handler:    refuseFirstToken(`[]`),
			do:         func(c *Client) error { _, err := c.GetIPNList(t.Context()); return err },
			wantTokens: 2, wantHits: 2,
		},
		{
			name: "a second 401 is an error, not another try", path: pathTransactionSts,
			handler:    raw(http.StatusUnauthorized, `{"error":{"error_type":"api_error","code":"unauthorized","message":"Token expired"},"status":"401"}`),
			do:         func(c *Client) error { _, err := c.GetTransactionStatus(t.Context(), "trk-1"); return err },
			wantTokens: 2, wantHits: 2, wantStatus: http.StatusUnauthorized,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newFake(t, map[string]http.HandlerFunc{tt.path: tt.handler})
			sleeper := &sleepRecorder{}
			c := f.client(sleeper)

			err := tt.do(c)

			if tt.wantStatus == 0 && err != nil {
				t.Fatalf("call failed: %v", err)
			}
			if tt.wantStatus != 0 {
				if e := asError(t, err); e.HTTPStatus != tt.wantStatus || e.Code != "unauthorized" || e.Message != "Token expired" {
					t.Errorf("error = %+v, want HTTP %d unauthorized", e, tt.wantStatus)
				}
			}
			if got := f.Tokens(); got != tt.wantTokens {
				t.Errorf("token requests = %d, want %d", got, tt.wantTokens)
			}
			reqs := f.Requests(tt.path)
			if len(reqs) != tt.wantHits {
				t.Fatalf("API requests = %d, want %d", len(reqs), tt.wantHits)
			}
			if reqs[0].Authorization != "Bearer "+tokenName(1) || reqs[1].Authorization != "Bearer "+tokenName(2) {
				t.Errorf("Authorization = %q then %q, want the first then the second token", reqs[0].Authorization, reqs[1].Authorization)
			}
			if reqs[0].Body != reqs[1].Body || reqs[0].RawQuery != reqs[1].RawQuery {
				t.Errorf("repeated request differs: %+v vs %+v", reqs[0], reqs[1])
			}
			if w := sleeper.Waits(); len(w) != 0 {
				t.Errorf("slept %v; a 401 renewal is not a retry", w)
			}
		})
	}
}

func TestCallExceedingTimeoutFailsWithDeadlineExceeded(t *testing.T) {
	tests := []struct {
		name      string
		path      string
		slowToken bool
		timeout   time.Duration // Config.Timeout
		ctxLimit  time.Duration // the caller's deadline; 0 for none
		do        func(ctx context.Context, c *Client) error
		wantHits  int
		wantWaits int
	}{
		{
			name: "status call tries three times then gives up", path: pathTransactionSts, timeout: 30 * time.Millisecond,
			do:       func(ctx context.Context, c *Client) error { _, err := c.GetTransactionStatus(ctx, "trk-1"); return err },
			wantHits: 3, wantWaits: 2,
		},
		{
			name: "order request is not retried", path: pathSubmitOrder, timeout: 30 * time.Millisecond,
			do: func(ctx context.Context, c *Client) error {
				_, err := c.SubmitOrderRequest(ctx, validOrder())
				return err
			},
			wantHits: 1,
		},
		{
			name: "slow token request", path: pathIPNList, slowToken: true, timeout: 30 * time.Millisecond,
			do:       func(ctx context.Context, c *Client) error { _, err := c.GetIPNList(ctx); return err },
			wantHits: 0,
		},
		{
			name: "caller's deadline stops the status call without retry", path: pathTransactionSts, timeout: 10 * time.Second, ctxLimit: 30 * time.Millisecond,
			do:       func(ctx context.Context, c *Client) error { _, err := c.GetTransactionStatus(ctx, "trk-1"); return err },
			wantHits: 1,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newFake(t, map[string]http.HandlerFunc{tt.path: hang}, func(f *fakePesapal) {
				if tt.slowToken {
					f.TokenHandler = hang
				}
			})
			sleeper := &sleepRecorder{}
			c := f.client(sleeper, func(cfg *Config) { cfg.Timeout = tt.timeout })
			ctx := t.Context()
			if tt.ctxLimit > 0 {
				var cancel context.CancelFunc
				ctx, cancel = context.WithTimeout(ctx, tt.ctxLimit)
				defer cancel()
			}

			start := time.Now()
			err := tt.do(ctx, c)
			elapsed := time.Since(start)

			if !errors.Is(err, context.DeadlineExceeded) {
				t.Fatalf("error %v does not match context.DeadlineExceeded", err)
			}
			e := asError(t, err)
			if e.HTTPStatus != 0 {
				t.Errorf("HTTPStatus = %d, want 0 (no answer)", e.HTTPStatus)
			}
			if elapsed > 3*time.Second {
				t.Errorf("took %v; the timeout did not stop the call", elapsed)
			}
			if got := len(f.Requests(tt.path)); got != tt.wantHits {
				t.Errorf("API requests = %d, want %d", got, tt.wantHits)
			}
			if got := len(sleeper.Waits()); got != tt.wantWaits {
				t.Errorf("backoff waits = %d, want %d", got, tt.wantWaits)
			}
		})
	}
}

func TestErrorCarriesPesapalCodeAndMessage(t *testing.T) {
	tests := []struct {
		name     string
		path     string
		answer   http.HandlerFunc
		do       func(*Client) error
		want     Error
		wantText string
		wantErr  bool // whether Err (the cause) is set
	}{
		{
			name: "generic error object with type on HTTP 400", path: pathSubmitOrder,
			answer: raw(http.StatusBadRequest, `{"error":{"type":"validation_error","code":"invalid_currency","message":"Currency XYZ is not supported"},"status":"400"}`),
			do:     func(c *Client) error { _, err := c.SubmitOrderRequest(t.Context(), validOrder()); return err },
			want: Error{HTTPStatus: 400, Type: "validation_error", Code: "invalid_currency",
				Message: "Currency XYZ is not supported", Op: "submit order request"},
			wantText: "pesapal: submit order request: HTTP 400: invalid_currency (validation_error): Currency XYZ is not supported",
		},
		{
			name: "error_type on HTTP 200 with status 500", path: pathRegisterIPN,
			answer: raw(http.StatusOK, `{"url":null,"ipn_id":null,"error":{"error_type":"api_error","code":"invalid_url","message":"Url is invalid","call_back_url":null},"status":"500"}`),
			do: func(c *Client) error {
				_, err := c.RegisterIPN(t.Context(), "https://shop.example/ipn", IPNGet)
				return err
			},
			want: Error{HTTPStatus: 200, Type: "api_error", Code: "invalid_url",
				Message: "Url is invalid", Op: "register IPN"},
			wantText: "pesapal: register IPN: HTTP 200: invalid_url (api_error): Url is invalid",
		},
		{
			name: "status error that is not the pending quirk", path: pathTransactionSts,
			answer: raw(http.StatusOK, `{"status_code":0,"error":{"error_type":"api_error","code":"invalid_order_tracking_id","message":"Order tracking id is invalid","call_back_url":null},"status":"500"}`),
			do:     func(c *Client) error { _, err := c.GetTransactionStatus(t.Context(), "nope"); return err },
			want: Error{HTTPStatus: 200, Type: "api_error", Code: "invalid_order_tracking_id",
				Message: "Order tracking id is invalid", Op: "get transaction status"},
			wantText: "pesapal: get transaction status: HTTP 200: invalid_order_tracking_id (api_error): Order tracking id is invalid",
		},
		{
			name: "HTML error page", path: pathSubmitOrder,
			answer: func(w http.ResponseWriter, _ *http.Request) {
				writeRaw(w, http.StatusBadGateway, "text/html", "<html>Bad Gateway</html>")
			},
			do:       func(c *Client) error { _, err := c.SubmitOrderRequest(t.Context(), validOrder()); return err },
			want:     Error{HTTPStatus: 502, Message: "answer is not JSON (text/html, 24 bytes)", Op: "submit order request"},
			wantText: "pesapal: submit order request: HTTP 502: answer is not JSON (text/html, 24 bytes)",
		},
		{
			name: "non-JSON success", path: pathIPNList,
			answer: func(w http.ResponseWriter, _ *http.Request) {
				writeRaw(w, http.StatusOK, "text/plain", "OK")
			},
			do:       func(c *Client) error { _, err := c.GetIPNList(t.Context()); return err },
			want:     Error{HTTPStatus: 200, Message: "answer is not JSON (text/plain, 2 bytes)", Op: "get IPN list"},
			wantText: "pesapal: get IPN list: HTTP 200: answer is not JSON (text/plain, 2 bytes)",
		},
		{
			name: "empty 404", path: pathTransactionSts,
			answer:   raw(http.StatusNotFound, ``),
			do:       func(c *Client) error { _, err := c.GetTransactionStatus(t.Context(), "unknown"); return err },
			want:     Error{HTTPStatus: 404, Message: "empty answer (Not Found)", Op: "get transaction status"},
			wantText: "pesapal: get transaction status: HTTP 404: empty answer (Not Found)",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newFake(t, map[string]http.HandlerFunc{tt.path: tt.answer})
			sleeper := &sleepRecorder{}
			c := f.client(sleeper)

			e := asError(t, tt.do(c))

			if e.HTTPStatus != tt.want.HTTPStatus || e.Type != tt.want.Type || e.Code != tt.want.Code ||
				e.Message != tt.want.Message || e.Op != tt.want.Op {
				t.Errorf("error = %+v\nwant %+v", *e, tt.want)
			}
			if (e.Err != nil) != tt.wantErr {
				t.Errorf("Err = %v, want set: %v", e.Err, tt.wantErr)
			}
			if e.Error() != tt.wantText {
				t.Errorf("Error() = %q\nwant       %q", e.Error(), tt.wantText)
			}
			if got := len(f.Requests(tt.path)); got != 1 {
				t.Errorf("API requests = %d, want 1 (none of these is retried)", got)
			}
		})
	}
}

func TestRefusedRequestErrorWrapsErrInvalidRequest(t *testing.T) {
	f := newFake(t, nil)
	c := f.client(&sleepRecorder{})
	_, err := c.GetTransactionStatus(t.Context(), " ")
	if !errors.Is(err, ErrInvalidRequest) {
		t.Fatalf("error %v does not wrap ErrInvalidRequest", err)
	}
	e := asError(t, err)
	if e.HTTPStatus != 0 || e.Type != "" || e.Code != "" || e.Message != "" || e.Op != "get transaction status" {
		t.Errorf("error = %+v", *e)
	}
	if want := "pesapal: get transaction status: invalid request: orderTrackingId is required"; err.Error() != want {
		t.Errorf("Error() = %q, want %q", err, want)
	}
	if f.Tokens() != 0 {
		t.Errorf("a token was requested for a refused call")
	}
}

func TestSecretAndTokenNeverAppearInErrorsOrLogs(t *testing.T) {
	echo := `{"error":{"error_type":"api_error","code":"echo","message":"key ` + testKey + ` secret ` + testSecret + ` token ` + tokenName(1) + `"},"status":"500"}`
	tests := []struct {
		name      string
		token     http.HandlerFunc // nil: the fake's default token answer
		api       http.HandlerFunc
		timeout   time.Duration
		wantInErr string
	}{
		{
			name:      "token refused with the credentials echoed",
			token:     raw(http.StatusOK, `{"token":null,"expiryDate":null,"error":{"error_type":"api_error","code":"invalid_consumer_key_or_secret_provided","message":"Invalid secret `+testSecret+` for key `+testKey+`"},"status":"500","message":""}`),
			wantInErr: "invalid_consumer_key_or_secret_provided",
		},
		{
			name:      "token refused with HTTP 401 and credentials echoed",
			token:     raw(http.StatusUnauthorized, `{"error":{"type":"auth","code":"bad_credentials","message":"`+testSecret+`"}}`),
			wantInErr: "bad_credentials",
		},
		{
			name:      "API answer echoing credentials and token",
			api:       raw(http.StatusBadRequest, echo),
			wantInErr: "[redacted]",
		},
		{
			name:      "timeout",
			api:       hang,
			timeout:   30 * time.Millisecond,
			wantInErr: "timed out",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newFake(t, map[string]http.HandlerFunc{pathSubmitOrder: tt.api},
				func(f *fakePesapal) { f.TokenHandler = tt.token })
			var logs lockedBuffer
			c := f.client(&sleepRecorder{}, func(cfg *Config) {
				cfg.Logger = debugLogger(&logs)
				if tt.timeout > 0 {
					cfg.Timeout = tt.timeout
				}
			})

			_, err := c.SubmitOrderRequest(t.Context(), validOrder())

			if err == nil {
				t.Fatal("call succeeded, want an error")
			}
			if !strings.Contains(err.Error(), tt.wantInErr) {
				t.Errorf("error %q does not contain %q", err, tt.wantInErr)
			}
			if logs.String() == "" {
				t.Errorf("nothing was logged at Debug; the log check below would prove nothing")
			}
			for _, secret := range []string{testSecret, testKey, tokenName(1), tokenName(2)} {
				if strings.Contains(err.Error(), secret) {
					t.Errorf("error %q contains %q", err, secret)
				}
				if strings.Contains(logs.String(), secret) {
					t.Errorf("logs contain %q:\n%s", secret, logs.String())
				}
			}
		})
	}
}

func TestCallerGivingUpOnTokenDoesNotFailOthers(t *testing.T) {
	tokenStarted, tokenGate := make(chan struct{}, 1), make(chan struct{})
	f := newFake(t, map[string]http.HandlerFunc{pathIPNList: raw(http.StatusOK, `[]`)}, func(f *fakePesapal) {
		f.TokenStarted, f.TokenGate = tokenStarted, tokenGate
	})
	c := f.client(&sleepRecorder{})

	ctx, cancel := context.WithCancel(t.Context())
	first := make(chan error, 1)
	go func() {
		_, err := c.GetIPNList(ctx)
		first <- err
	}()
	<-tokenStarted
	cancel()
	if err := <-first; !errors.Is(err, context.Canceled) {
		t.Fatalf("cancelled caller: error %v, want context.Canceled", err)
	}
	close(tokenGate)

	if _, err := c.GetIPNList(t.Context()); err != nil {
		t.Fatalf("second caller: %v", err)
	}
	if got := f.Tokens(); got != 1 {
		t.Errorf("token requests = %d, want 1: the first request went on without its caller", got)
	}
	if got := len(f.Requests(pathIPNList)); got != 1 {
		t.Errorf("API requests = %d, want 1", got)
	}
}

func TestErrorObjectReadsEitherSpelling(t *testing.T) {
	tests := []struct {
		name      string
		json      string
		want      *ErrorObject
		wantEmpty bool
		wantKind  string
	}{
		{"null", `{"error":null}`, nil, true, ""},
		{"integer, as the document's tables type it", `{"error":0}`, &ErrorObject{}, true, ""},
		{"all null fields", `{"error":{"error_type":null,"code":null,"message":null,"call_back_url":null}}`, &ErrorObject{}, true, ""},
		{"type", `{"error":{"type":"validation","code":"c","message":"m"}}`,
			&ErrorObject{Type: "validation", Code: "c", Message: "m"}, false, "validation"},
		{"error_type", `{"error":{"error_type":"api_error","code":"c","message":"m","call_back_url":"https://x"}}`,
			&ErrorObject{ErrorType: "api_error", Code: "c", Message: "m", CallBackURL: "https://x"}, false, "api_error"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var v struct {
				Error *ErrorObject `json:"error"`
			}
			if err := json.Unmarshal([]byte(tt.json), &v); err != nil {
				t.Fatal(err)
			}
			if (v.Error == nil) != (tt.want == nil) || (v.Error != nil && *v.Error != *tt.want) {
				t.Errorf("error object = %+v, want %+v", v.Error, tt.want)
			}
			if v.Error.empty() != tt.wantEmpty {
				t.Errorf("empty() = %v, want %v", v.Error.empty(), tt.wantEmpty)
			}
			if v.Error != nil && v.Error.kind() != tt.wantKind {
				t.Errorf("kind() = %q, want %q", v.Error.kind(), tt.wantKind)
			}
		})
	}
}
