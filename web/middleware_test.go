package web_test

import (
	"context"
	"fmt"
	"log/slog"
	"net/http"
	"sync"
	"testing"
	"time"

	"checkout/reqctx"
	"checkout/web"
)

// records is a log handler that keeps every record, with its attributes.
type records struct {
	mu   *sync.Mutex
	list *[]slog.Record
}

func newRecords() records { return records{mu: new(sync.Mutex), list: new([]slog.Record)} }

func (h records) Enabled(context.Context, slog.Level) bool { return true }
func (h records) WithAttrs([]slog.Attr) slog.Handler       { return h }
func (h records) WithGroup(string) slog.Handler            { return h }
func (h records) Handle(_ context.Context, r slog.Record) error {
	h.mu.Lock()
	defer h.mu.Unlock()
	*h.list = append(*h.list, r.Clone())
	return nil
}

// find returns the records with message msg.
func (h records) find(msg string) []slog.Record {
	h.mu.Lock()
	defer h.mu.Unlock()
	var out []slog.Record
	for _, r := range *h.list {
		if r.Message == msg {
			out = append(out, r)
		}
	}
	return out
}

// attrs returns every value of the attribute key in r.
func attrs(r slog.Record, key string) []string {
	var vals []string
	r.Attrs(func(a slog.Attr) bool {
		if a.Key == key {
			vals = append(vals, a.Value.String())
		}
		return true
	})
	return vals
}

// TestLogLinesOfARequestCarryItsRequestIDOnce: the request line (web) and a
// handler's line both name the request's id, once, with no call site adding
// it; a line logged outside a request names none.
func TestLogLinesOfARequestCarryItsRequestIDOnce(t *testing.T) {
	logs := newRecords()
	e := newEnv(t, envOptions{logs: web.LogHandler(logs)})
	e.createAdmin()
	b := e.browser()
	_, r := e.login(b, adminEmail, adminPassword)
	if r.status != http.StatusSeeOther {
		t.Fatalf("login: %d", r.status)
	}
	id := r.header.Get("X-Request-ID")
	if id == "" {
		t.Fatal("no X-Request-ID on the login answer")
	}
	in := logs.find("admin logged in")
	if len(in) != 1 {
		t.Fatalf("%d \"admin logged in\" lines, want 1", len(in))
	}
	if got := attrs(in[0], "request_id"); len(got) != 1 || got[0] != id {
		t.Errorf("handler's line: request_id %q, want [%s]", got, id)
	}
	var posts []slog.Record
	for _, rec := range logs.find("request") {
		if m := attrs(rec, "method"); len(m) == 1 && m[0] == http.MethodPost {
			posts = append(posts, rec)
		}
	}
	if len(posts) != 1 {
		t.Fatalf("%d POST request lines, want 1", len(posts))
	}
	if got := attrs(posts[0], "request_id"); len(got) != 1 || got[0] != id {
		t.Errorf("request line: request_id %q, want [%s]", got, id)
	}

	outside := newRecords()
	slog.New(web.LogHandler(outside)).InfoContext(context.Background(), "background")
	inside := reqctx.WithRequestID(context.Background(), "req-12345678")
	slog.New(web.LogHandler(outside)).With("k", "v").InfoContext(inside, "in a request")
	if got := attrs(outside.find("background")[0], "request_id"); len(got) != 0 {
		t.Errorf("line outside a request: request_id %q, want none", got)
	}
	if got := attrs(outside.find("in a request")[0], "request_id"); len(got) != 1 || got[0] != "req-12345678" {
		t.Errorf("line of a logger With attributes: request_id %q, want [req-12345678]", got)
	}
}

// TestLoginLimitRefusesAnAddressAfterTenTriesUntilATokenComesBack: ten
// login tries from one address are answered, the eleventh is refused with
// 429 and the form again; a form missing its password spends no try; six
// seconds on the service's clock give one try back.
func TestLoginLimitRefusesAnAddressAfterTenTriesUntilATokenComesBack(t *testing.T) {
	e := newEnv(t, envOptions{})
	e.createAdmin()
	b := e.browser()
	try := func(email, password string) reply {
		t.Helper()
		_, r := e.login(b, email, password)
		return r
	}
	for i := range 10 {
		// A new email each time: the service throttles one email from one
		// address on its own after five failures.
		if r := try(fmt.Sprintf("nobody%d@example.com", i), "guess"); r.status != http.StatusUnauthorized {
			t.Fatalf("try %d: %d, want 401", i+1, r.status)
		}
	}
	r := try("Nobody@Example.com ", "guess")
	if r.status != http.StatusTooManyRequests {
		t.Fatalf("eleventh try: %d, want 429", r.status)
	}
	if got, want := alert(r.page, "error"), "Too many login attempts from your network. Wait a minute and try again."; got != want {
		t.Errorf("eleventh try: alert %q, want %q", got, want)
	}
	if got := r.doc.Find("input[name=email]").AttrOr("value", ""); got != "nobody@example.com" {
		t.Errorf("eleventh try: email field %q, want the email typed", got)
	}
	if r := try("nobody@example.com", ""); r.status != http.StatusUnprocessableEntity {
		t.Errorf("form without a password: %d, want 422 (no try spent)", r.status)
	}
	e.clock.Advance(6 * time.Second)
	if r := try(adminEmail, adminPassword); r.status != http.StatusSeeOther {
		t.Fatalf("after six seconds: %d, want the login to go through", r.status)
	}
	if r := try("nobody@example.com", "guess"); r.status != http.StatusTooManyRequests {
		t.Fatalf("right after: %d, want 429", r.status)
	}
}
