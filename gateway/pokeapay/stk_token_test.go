package pokeapay

import (
	"context"
	"errors"
	"net/http"
	"reflect"
	"strings"
	"sync"
	"testing"
	"time"

	"checkout/gateway"
)

// stkPushOK is a push request that the checks accept.
func stkPushOK() gateway.STKRequest {
	return gateway.STKRequest{
		Reference:        "pay_1",
		Phone:            "254712345678",
		Amount:           150000,
		CallbackURL:      "https://shop.example.test/callback/pokeapay-stk?x=1&y=2",
		AccountReference: "INV-1001",
		Description:      "Order INV-1001",
		CustomerName:     "Wanjiku Kamau",
		CustomerEmail:    "wanjiku@example.test",
	}
}

// stkQueryOK is a query that the checks accept.
func stkQueryOK() gateway.Query {
	return gateway.Query{AttemptID: "pay_1", ProviderReference: "pay_1", Amount: 150000, Currency: "KES", Phone: "254712345678"}
}

func TestSTKLogsInOnceForManyCalls(t *testing.T) {
	f := newSTKFake(t)
	c := f.client(&sleepRecorder{})
	ctx := context.Background()
	for i := range 3 {
		if _, err := c.Push(ctx, stkPushOK()); err != nil {
			t.Fatalf("push %d: %v", i, err)
		}
		if _, err := c.Confirm(ctx, stkQueryOK()); err != nil {
			t.Fatalf("query %d: %v", i, err)
		}
	}
	want := []string{"/login", "/stkPush/transaction", "/transaction/query", "/stkPush/transaction",
		"/transaction/query", "/stkPush/transaction", "/transaction/query"}
	if got := f.paths(); !reflect.DeepEqual(got, want) {
		t.Fatalf("requests = %v, want %v", got, want)
	}

	reqs := f.requests()
	login := reqs[0]
	if login.Method != http.MethodPost || login.Authorization != "" ||
		login.ContentType != "application/json" || login.Accept != "application/json" {
		t.Errorf("login request = %+v", login)
	}
	body := decodeBody(t, login.Body)
	if want := map[string]any{"email": stkTestEmail, "password": stkTestPassword}; !reflect.DeepEqual(body, want) {
		t.Errorf("login body = %v, want %v", body, want)
	}
	for _, r := range reqs[1:] {
		// The document's bare form: "Authorization: eyJ...".
		if r.Method != http.MethodPost || !strings.HasPrefix(r.Authorization, "ey") {
			t.Errorf("%s: method %s, Authorization %q", r.Path, r.Method, r.Authorization)
		}
		if r.Authorization != reqs[1].Authorization {
			t.Errorf("%s used another token than the first call", r.Path)
		}
	}
}

func TestSTKConcurrentCallsWithoutTokenShareOneLogin(t *testing.T) {
	const calls = 20
	f := newSTKFake(t)
	c := f.client(&sleepRecorder{})
	gate := make(chan struct{})
	f.set(func(f *stkFake) { f.loginGate = gate })
	// The login is held until every caller is waiting for a token, so the
	// 20 calls really overlap.
	var waitingMu sync.Mutex
	waiting := 0
	c.tok.waiting = func() {
		waitingMu.Lock()
		defer waitingMu.Unlock()
		waiting++
		if waiting == calls {
			close(gate)
		}
	}

	var wg sync.WaitGroup
	errs := make(chan error, calls)
	for i := range calls {
		wg.Go(func() {
			var err error
			if i%2 == 0 {
				_, err = c.Push(context.Background(), stkPushOK())
			} else {
				_, err = c.Confirm(context.Background(), stkQueryOK())
			}
			errs <- err
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Errorf("call: %v", err)
		}
	}
	if n := f.loginCount(); n != 1 {
		t.Fatalf("logins = %d, want 1", n)
	}
	if n := len(f.requests()); n != calls+1 {
		t.Fatalf("requests = %d, want %d", n, calls+1)
	}
}

func TestSTKRenewsTokenShortlyBeforeItsExp(t *testing.T) {
	f := newSTKFake(t)
	f.set(func(f *stkFake) { f.tokenLife = 10 * time.Minute })
	c := f.client(&sleepRecorder{})
	ctx := context.Background()
	steps := []struct {
		advance    time.Duration
		wantLogins int
	}{
		{0, 1},
		{8 * time.Minute, 1},
		{time.Minute - time.Second, 1}, // 61 s before exp: still cached
		{time.Second, 2},               // 60 s before exp: renewed
		{8*time.Minute + 59*time.Second, 2},
		{time.Second, 3},
	}
	for i, s := range steps {
		f.clock.Advance(s.advance)
		if _, err := c.Push(ctx, stkPushOK()); err != nil {
			t.Fatalf("step %d: %v", i, err)
		}
		if n := f.loginCount(); n != s.wantLogins {
			t.Fatalf("step %d: logins = %d, want %d", i, n, s.wantLogins)
		}
	}
}

func TestSTKTokenWithoutExpLastsAnHourLessTheMargin(t *testing.T) {
	for _, tc := range []struct {
		name string
		mod  func(f *stkFake)
	}{
		{"JWT without exp", func(f *stkFake) { f.tokenLife = 0 }},
		{"token that is not a JWT", func(f *stkFake) { f.opaque = true }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f := newSTKFake(t)
			f.set(tc.mod)
			c := f.client(&sleepRecorder{})
			ctx := context.Background()
			for i, s := range []struct {
				advance    time.Duration
				wantLogins int
			}{{0, 1}, {58*time.Minute + 59*time.Second, 1}, {time.Second, 2}} {
				f.clock.Advance(s.advance)
				if _, err := c.Confirm(ctx, stkQueryOK()); err != nil {
					t.Fatalf("step %d: %v", i, err)
				}
				if n := f.loginCount(); n != s.wantLogins {
					t.Fatalf("step %d: logins = %d, want %d", i, n, s.wantLogins)
				}
			}
		})
	}
}

func TestSTKExpiredTokenIsUsedOnceButNotCached(t *testing.T) {
	// PokeaPay's clock behind ours: the token's exp is already past.
	f := newSTKFake(t)
	f.set(func(f *stkFake) { f.tokenLife = -time.Minute })
	c := f.client(&sleepRecorder{})
	for i := range 2 {
		if _, err := c.Push(context.Background(), stkPushOK()); err != nil {
			t.Fatalf("push %d: %v", i, err)
		}
	}
	if n := f.loginCount(); n != 2 {
		t.Fatalf("logins = %d, want 2 (one per call)", n)
	}
}

func TestJWTExpiryReadsTheExpClaim(t *testing.T) {
	// The document's sample login token: iat 1608731993, exp 1608735593.
	const sample = "eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJ1c2VySW5mbyI6eyJ1c2VySWQiOjIsInJvbGVzIjpbeyJpZCI6Miwicm9sZU5hbWUiOiJBZG1pbmlzdHJhdG9yIn1dfSwiaWF0IjoxNjA4NzMxOTkzLCJleHAiOjE2MDg3MzU1OTN9.1YUH0_2oAICeJx4yLKGzd1uN3FA2IoGHL9lnzBf8_hE"
	b64 := func(s string) string { return strings.TrimRight(encodeB64URL(s), "=") }
	tests := []struct {
		name   string
		token  string
		want   time.Time
		wantOK bool
	}{
		{"document sample", sample, time.Unix(1608735593, 0), true},
		{"exp as a string", "h." + b64(`{"exp":"1700000000"}`) + ".s", time.Unix(1700000000, 0), true},
		{"exp with a fraction", "h." + b64(`{"exp":1700000000.5}`) + ".s", time.Unix(1700000000, 5e8), true},
		{"padded payload", "h." + encodeB64URL(`{"exp":1700000000}`) + ".s", time.Unix(1700000000, 0), true},
		{"no exp", "h." + b64(`{"iat":1700000000}`) + ".s", time.Time{}, false},
		{"exp null", "h." + b64(`{"exp":null}`) + ".s", time.Time{}, false},
		{"exp zero", "h." + b64(`{"exp":0}`) + ".s", time.Time{}, false},
		{"exp negative", "h." + b64(`{"exp":-5}`) + ".s", time.Time{}, false},
		{"exp past year 9999", "h." + b64(`{"exp":1e20}`) + ".s", time.Time{}, false},
		{"exp a word", "h." + b64(`{"exp":"soon"}`) + ".s", time.Time{}, false},
		{"payload not JSON", "h." + b64(`exp=1700000000`) + ".s", time.Time{}, false},
		{"payload not base64url", "h.@@@.s", time.Time{}, false},
		{"two parts", "h." + b64(`{"exp":1700000000}`), time.Time{}, false},
		{"opaque token", "0123456789abcdef", time.Time{}, false},
		{"empty", "", time.Time{}, false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, ok := jwtExpiry(tc.token)
			if ok != tc.wantOK || !got.Equal(tc.want) {
				t.Fatalf("jwtExpiry = %v, %v; want %v, %v", got, ok, tc.want, tc.wantOK)
			}
		})
	}
}

func TestSTK401LogsInAgainAndRepeatsOnce(t *testing.T) {
	for _, call := range []struct {
		name string
		path string
		do   func(c *STKClient) error
	}{
		{"push", "/stkPush/transaction", func(c *STKClient) error {
			_, err := c.Push(context.Background(), stkPushOK())
			return err
		}},
		{"query", "/transaction/query", func(c *STKClient) error {
			_, err := c.Confirm(context.Background(), stkQueryOK())
			return err
		}},
	} {
		t.Run(call.name+" repeated with a new token", func(t *testing.T) {
			f := newSTKFake(t)
			sleeper := &sleepRecorder{}
			c := f.client(sleeper)
			if err := call.do(c); err != nil {
				t.Fatalf("first call: %v", err)
			}
			f.revokeAll()
			if err := call.do(c); err != nil {
				t.Fatalf("call after revoke: %v", err)
			}
			want := []string{"/login", call.path, call.path, "/login", call.path}
			if got := f.paths(); !reflect.DeepEqual(got, want) {
				t.Fatalf("requests = %v, want %v", got, want)
			}
			reqs := f.requests()
			if reqs[2].Authorization == reqs[4].Authorization {
				t.Fatal("the repeat used the refused token")
			}
			if w := sleeper.Waits(); len(w) != 0 {
				t.Fatalf("waited %v before repeating after a 401", w)
			}
		})
		t.Run(call.name+" refused twice is an error", func(t *testing.T) {
			f := newSTKFake(t)
			f.set(func(f *stkFake) { f.rejectAll = true })
			c := f.client(&sleepRecorder{})
			err := call.do(c)
			e := asError(t, err)
			if e.HTTPStatus != http.StatusUnauthorized || e.Message != "PokeaPay refused a new token too" {
				t.Fatalf("error = %#v", e)
			}
			// Bare refused, Bearer refused, a new token bare refused.
			want := []string{"/login", call.path, call.path, "/login", call.path}
			if got := f.paths(); !reflect.DeepEqual(got, want) {
				t.Fatalf("requests = %v, want %v", got, want)
			}
		})
	}
}

func TestSTKLoginRefusalIsAnErrorAndNothingIsPushed(t *testing.T) {
	f := newSTKFake(t)
	f.set(func(f *stkFake) {
		// The document's login error, verbatim.
		f.login = stkJSON(http.StatusBadRequest, "{\n    \"success\": false,\n    \"error\": \"The credentials you provided are incorrect\"\n}")
	})
	c := f.client(&sleepRecorder{})
	_, err := c.Push(context.Background(), stkPushOK())
	e := asError(t, err)
	want := &Error{Op: "login", HTTPStatus: http.StatusBadRequest, Message: "The credentials you provided are incorrect"}
	if !reflect.DeepEqual(e, want) {
		t.Fatalf("error = %#v, want %#v", e, want)
	}
	if got := f.paths(); !reflect.DeepEqual(got, []string{"/login"}) {
		t.Fatalf("requests = %v", got)
	}
}

func TestSTKLoginAnswers(t *testing.T) {
	tests := []struct {
		name    string
		answer  http.HandlerFunc
		wantErr *Error // nil: the token is taken
	}{
		{"success with HTTP 201", stkJSON(http.StatusCreated, `{"success":true,"data":{"token":"`+makeJWT(map[string]any{"exp": 1})+`"}}`), nil},
		{"success as a string", stkJSON(http.StatusOK, `{"success":"true","data":{"token":"tok-abcdef"}}`), nil},
		{"success without a token", stkJSON(http.StatusOK, `{"success":true,"message":"Login successful","data":{}}`),
			&Error{Op: "login", HTTPStatus: 200, Message: "answer has no data.token: Login successful"}},
		{"token without success", stkJSON(http.StatusOK, `{"success":false,"data":{"token":"tok-abcdef"}}`),
			&Error{Op: "login", HTTPStatus: 200, Message: "login refused"}},
		{"HTML error page", text(http.StatusBadGateway, "text/html", "<html>502</html>"),
			&Error{Op: "login", HTTPStatus: 502, Message: "answer is not a JSON object (text/html, 16 bytes)"}},
		{"empty answer", text(http.StatusOK, "", ""),
			&Error{Op: "login", HTTPStatus: 200, Message: "empty answer"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			f := newSTKFake(t)
			f.set(func(f *stkFake) { f.login = tc.answer })
			c := f.client(&sleepRecorder{})
			tok, _, err := c.login(context.Background())
			if tc.wantErr == nil {
				if err != nil || tok == "" {
					t.Fatalf("login = %q, %v", tok, err)
				}
				return
			}
			if e := asError(t, err); !reflect.DeepEqual(e, tc.wantErr) {
				t.Fatalf("error = %#v, want %#v", e, tc.wantErr)
			}
		})
	}
}

func TestSTKCallerGivingUpDoesNotFailOthersWaitingForTheLogin(t *testing.T) {
	f := newSTKFake(t)
	gate := make(chan struct{})
	f.set(func(f *stkFake) { f.loginGate = gate })
	c := f.client(&sleepRecorder{})
	waits := make(chan struct{}, 2)
	c.tok.waiting = func() { waits <- struct{}{} }

	ctx, cancel := context.WithCancel(context.Background())
	gaveUp := make(chan error, 1)
	go func() {
		_, err := c.Push(ctx, stkPushOK())
		gaveUp <- err
	}()
	<-waits
	stayed := make(chan error, 1)
	go func() {
		_, err := c.Confirm(context.Background(), stkQueryOK())
		stayed <- err
	}()
	<-waits
	cancel()
	if err := <-gaveUp; !errors.Is(err, context.Canceled) {
		t.Fatalf("cancelled caller: %v", err)
	}
	close(gate)
	if err := <-stayed; err != nil {
		t.Fatalf("waiting caller: %v", err)
	}
	if n := f.loginCount(); n != 1 {
		t.Fatalf("logins = %d, want 1", n)
	}
}
