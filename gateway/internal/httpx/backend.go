package httpx

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"time"

	"checkout/gateway"
)

// Retry policy of the calls that only read, after stripe-go: at most
// Tries tries, waiting RetryWait between them.
const (
	Tries     = 3
	RetryBase = 500 * time.Millisecond
	RetryMax  = 5 * time.Second
)

// RetryWait is the wait after the given try (1-based): 500 ms doubling per
// try, capped at 5 s, jittered (see Backoff).
func RetryWait(try int) time.Duration {
	return Backoff(try, RetryBase, RetryMax)
}

// Kind says how an exchange failed without a usable answer.
type Kind int

// The kinds of Failure.
const (
	// Unbuildable: the request could not be built; nothing was sent.
	Unbuildable Kind = iota + 1
	// NoAnswer: no HTTP answer came back (a transport failure, timeouts
	// included).
	NoAnswer
	// TooLarge: the answer is larger than Backend.MaxAnswer.
	TooLarge
	// Stopped: the caller's context ended while waiting to retry.
	Stopped
)

// Failure is an exchange that gave no usable answer. Each client turns it
// into its own typed *Error with Backend.Wrap, keeping What as its message
// and Err as the cause.
type Failure struct {
	Op         string
	Kind       Kind
	HTTPStatus int    // the answer's status, for TooLarge
	What       string // "timed out", "cancelled", "network error", "cannot build the request", ...
	Err        error  // the cause; nil for TooLarge
}

// Error reads "what: cause".
func (f *Failure) Error() string {
	if f.Err == nil {
		return f.What
	}
	return f.What + ": " + f.Err.Error()
}

// Unwrap returns the cause.
func (f *Failure) Unwrap() error { return f.Err }

// Request is one request to a provider.
type Request struct {
	// Op is the client's name for the call, in logs, errors and metrics
	// (gateway.Call.Operation): a constant of the client, never built from
	// a reference or a URL.
	Op     string
	Method string
	URL    string // the whole URL, query included
	// Path is what the logs show of the URL (the query may hold a hash or
	// a reference, and is never logged).
	Path   string
	Body   []byte // nil sends no body
	Header http.Header
	// Bearer is the token the request carries (in Header), kept in the
	// Answer so that provider text can be cleaned of it.
	Bearer string
}

// Answer is one HTTP answer, read in full, whatever its status.
type Answer struct {
	Status      int
	ContentType string
	Body        []byte
	Bearer      string // the token sent, "" for none
}

// Backend does the HTTP exchanges of one provider client, after
// stripe-go's Backend: the clients describe their endpoints, parameters
// and answers; the building, timing out, reading with a size limit,
// logging, renewing of a refused token and retrying happen here once.
type Backend struct {
	// Provider names the client in log lines ("pesapal").
	Provider string
	HTTP     *http.Client
	// Timeout bounds each exchange, each retry included.
	Timeout time.Duration
	// MaxAnswer caps how much of an answer is read; a larger one is a
	// TooLarge Failure.
	MaxAnswer int
	// Log receives Debug lines about exchanges, retries and refused
	// tokens; never a body, a token or a query.
	Log *slog.Logger
	// Sleep waits between retries (Sleep when nil).
	Sleep func(ctx context.Context, d time.Duration) error
	// Wrap turns a Failure into the client's typed error.
	Wrap func(*Failure) error
	// Scrub, when set, cleans an error of net/http before it is logged or
	// kept (PokeaPay drops the URL's query, which carries a hash).
	Scrub func(error) error
	// Observer, when set, is told of every exchange that was sent (not of
	// a request that could not be built): its operation, duration, status
	// or failure (see gateway.CallObserver).
	Observer gateway.CallObserver
}

// observe tells b.Observer of one exchange.
func (b *Backend) observe(op string, start time.Time, status int, failure string) {
	if b.Observer == nil {
		return
	}
	b.Observer.ObserveCall(gateway.Call{Provider: b.Provider, Operation: op, Duration: time.Since(start),
		HTTPStatus: status, Failure: failure})
}

// scrub applies b.Scrub.
func (b *Backend) scrub(err error) error {
	if b.Scrub == nil {
		return err
	}
	return b.Scrub(err)
}

// Do sends one request and reads its answer, within b.Timeout. A request
// that gets no usable answer is a Failure passed through b.Wrap; any HTTP
// answer, whatever its status, is returned as is.
func (b *Backend) Do(ctx context.Context, r Request) (Answer, error) {
	actx, cancel := context.WithTimeout(ctx, b.Timeout)
	defer cancel()

	var body io.Reader
	if r.Body != nil {
		body = bytes.NewReader(r.Body)
	}
	req, err := http.NewRequestWithContext(actx, r.Method, r.URL, body)
	if err != nil {
		return Answer{}, b.Wrap(&Failure{Op: r.Op, Kind: Unbuildable, What: "cannot build the request", Err: b.scrub(err)})
	}
	for k, v := range r.Header {
		req.Header[k] = v
	}

	start := time.Now()
	resp, err := b.HTTP.Do(req)
	if err != nil {
		err = b.scrub(err)
		b.Log.DebugContext(ctx, b.Provider+" exchange failed", "op", r.Op, "method", r.Method, "path", r.Path,
			"duration", time.Since(start), "error", err)
		return Answer{}, b.noAnswer(r.Op, start, 0, actx, err)
	}
	defer resp.Body.Close()
	raw, err := io.ReadAll(io.LimitReader(resp.Body, int64(b.MaxAnswer)+1))
	if err != nil {
		return Answer{}, b.noAnswer(r.Op, start, resp.StatusCode, actx, fmt.Errorf("reading the answer: %w", b.scrub(err)))
	}
	if len(raw) > b.MaxAnswer {
		b.observe(r.Op, start, resp.StatusCode, gateway.CallTooLarge)
		return Answer{}, b.Wrap(&Failure{Op: r.Op, Kind: TooLarge, HTTPStatus: resp.StatusCode,
			What: "answer is larger than " + size(b.MaxAnswer)})
	}
	b.observe(r.Op, start, resp.StatusCode, "")
	b.Log.DebugContext(ctx, b.Provider+" exchange", "op", r.Op, "method", r.Method, "path", r.Path,
		"http_status", resp.StatusCode, "bytes", len(raw), "duration", time.Since(start))
	return Answer{Status: resp.StatusCode, ContentType: resp.Header.Get("Content-Type"), Body: raw, Bearer: r.Bearer}, nil
}

// noAnswer describes a request that got no usable HTTP answer (see
// TransportFailure), and tells b.Observer of it. status is the answer's
// when one started but could not be read.
func (b *Backend) noAnswer(op string, start time.Time, status int, actx context.Context, err error) error {
	cause, what := TransportFailure(actx, err)
	failure := gateway.CallNetwork
	switch what {
	case whatTimedOut:
		failure = gateway.CallTimeout
	case whatCancelled:
		failure = gateway.CallCancelled
	}
	b.observe(op, start, status, failure)
	return b.Wrap(&Failure{Op: op, Kind: NoAnswer, What: what, Err: cause})
}

// size writes n bytes as "1 MiB" or "64 KiB".
func size(n int) string {
	if n >= 1<<20 && n%(1<<20) == 0 {
		return fmt.Sprintf("%d MiB", n>>20)
	}
	if n >= 1<<10 && n%(1<<10) == 0 {
		return fmt.Sprintf("%d KiB", n>>10)
	}
	return fmt.Sprintf("%d bytes", n)
}

// WithBearer sends a request carrying a bearer token ("Authorization:
// Bearer <token>"). token gives the token (a cached one, or a new one);
// when the provider answers 401 the token is dropped and the request sent
// once more with a new one. A 401 comes before the provider did anything
// (the token expired early, was revoked, or our clock is off), so the
// repeat is safe even for a call that starts a payment. Only once: a
// second 401 is returned as the answer.
func (b *Backend) WithBearer(ctx context.Context, r Request, token func(context.Context) (string, error), drop func(refused string)) (Answer, error) {
	send := func(tok string) (Answer, error) {
		h := r.Header.Clone()
		if h == nil {
			h = http.Header{}
		}
		h.Set("Authorization", "Bearer "+tok)
		rr := r
		rr.Header, rr.Bearer = h, tok
		return b.Do(ctx, rr)
	}
	tok, err := token(ctx)
	if err != nil {
		return Answer{}, err
	}
	a, err := send(tok)
	if err != nil || a.Status != http.StatusUnauthorized {
		return a, err
	}
	drop(tok)
	b.Log.DebugContext(ctx, b.Provider+" token refused, renewing", "op", r.Op)
	tok, err = token(ctx)
	if err != nil {
		return Answer{}, err
	}
	return send(tok)
}

// Retry runs once until it succeeds, fails in a way should does not allow
// repeating, or has run Tries times, waiting RetryWait between tries.
// Only a call that is safe to repeat may use it: never one that starts a
// payment. When the wait is cut short (the caller's context ended), the
// error is a Stopped Failure, passed through b.Wrap, naming the reason the
// call would have been retried.
func Retry[T any](ctx context.Context, b *Backend, op string, should func(context.Context, error) (bool, string), once func() (T, error)) (T, error) {
	sleep := b.Sleep
	if sleep == nil {
		sleep = Sleep
	}
	for try := 1; ; try++ {
		v, err := once()
		if err == nil {
			return v, nil
		}
		retry, reason := should(ctx, err)
		if !retry || try == Tries {
			var zero T
			return zero, err
		}
		wait := RetryWait(try)
		b.Log.DebugContext(ctx, b.Provider+" retrying", "op", op, "try", try, "reason", reason, "wait", wait)
		if serr := sleep(ctx, wait); serr != nil {
			var zero T
			return zero, b.Wrap(&Failure{Op: op, Kind: Stopped, What: "stopped before retrying (" + reason + ")", Err: serr})
		}
	}
}

// maxIdlePerHost is how many idle connections to one provider are kept for
// the next call. net/http keeps 2: with more status queries at once (an
// IPN burst, the reconciler), every call past the second would dial, and
// over TLS shake hands, again.
const maxIdlePerHost = 32

// NewClient is the HTTP client of a provider client built without one:
// the default transport, keeping more idle connections per host.
func NewClient() *http.Client {
	t := http.DefaultTransport.(*http.Transport).Clone()
	t.MaxIdleConnsPerHost = maxIdlePerHost
	return &http.Client{Transport: t}
}
