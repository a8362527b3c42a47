package web_test

import (
	"bytes"
	"context"
	"errors"
	"log/slog"
	"math"
	"math/rand/v2"
	"net/http"
	"regexp"
	"strings"
	"testing"
	"time"

	"checkout/web"
)

// textPair is our text handler and slog's, each on its own buffer.
type textPair struct {
	ours, slogs     slog.Handler
	ourOut, slogOut *sink
	lw              *web.LogWriter
}

func newTextPair(t *testing.T, opts *slog.HandlerOptions) *textPair {
	t.Helper()
	p := &textPair{ourOut: &sink{}, slogOut: &sink{}}
	p.lw = web.NewLogWriter(p.ourOut, 1<<20, time.Hour)
	t.Cleanup(func() { p.lw.Close() })
	p.ours = web.NewTextHandler(p.lw, opts)
	p.slogs = slog.NewTextHandler(p.slogOut, opts)
	return p
}

// same hands r to both and fails unless they wrote the same line.
func (p *textPair) same(t *testing.T, ours, slogs slog.Handler, r slog.Record) {
	t.Helper()
	if err := ours.Handle(context.Background(), r.Clone()); err != nil {
		t.Fatal(err)
	}
	if err := slogs.Handle(context.Background(), r.Clone()); err != nil {
		t.Fatal(err)
	}
	if err := p.lw.Flush(); err != nil {
		t.Fatal(err)
	}
	got, _ := p.ourOut.get()
	want, _ := p.slogOut.get()
	p.ourOut.mu.Lock()
	p.ourOut.b.Reset()
	p.ourOut.mu.Unlock()
	p.slogOut.mu.Lock()
	p.slogOut.b.Reset()
	p.slogOut.mu.Unlock()
	if got != want {
		t.Fatalf("record %v:\nours %q\nslog %q", r, got, want)
	}
}

// TestTextHandlerWritesWhatSlogsTextHandlerWrites: the request line and
// every other shape of record come out of NewTextHandler byte for byte as
// out of slog.NewTextHandler: the kinds it formats itself, strings that
// need quoting or not, odd levels, a zero time, times in other zones, and
// the records and handlers it leaves to slog's (errors, groups, empty
// attributes, WithAttrs, WithGroup).
func TestTextHandlerWritesWhatSlogsTextHandlerWrites(t *testing.T) {
	p := newTextPair(t, &slog.HandlerOptions{Level: slog.LevelDebug})
	at := time.Date(2026, 12, 5, 4, 55, 56, 123456789, time.UTC)
	nairobi := time.FixedZone("EAT", 3*3600)
	rec := func(when time.Time, l slog.Level, msg string, as ...slog.Attr) slog.Record {
		r := slog.NewRecord(when, l, msg, 0)
		r.AddAttrs(as...)
		return r
	}
	requestLine := rec(at, slog.LevelInfo, "request", slog.String("method", "GET"), slog.String("path", "/c/chk_01JXYZ"),
		slog.String("route", "/c/:id"), slog.Int("status", 200), slog.Duration("took", 1234567*time.Nanosecond),
		slog.String("ip", "127.0.0.1"), slog.String("request_id", "0123456789abcdef"))
	records := []slog.Record{
		requestLine,
		rec(at, slog.LevelError, "request", slog.String("path", "/c/a b"), slog.String("route", ""), slog.Int("status", 500)),
		rec(time.Time{}, slog.LevelWarn, "no time"),
		rec(at.In(nairobi), slog.LevelDebug, "zone", slog.Time("at", at.In(nairobi)), slog.Time("zero", time.Time{})),
		rec(at, slog.LevelInfo+2, "odd level"), rec(at, slog.LevelError+4, "odd level"), rec(at, slog.LevelDebug-1, "odd level"),
		rec(at, slog.LevelInfo, "", slog.String("", "empty key")),
		rec(at, slog.LevelInfo, "kinds", slog.Int64("neg", -42), slog.Uint64("u", math.MaxUint64), slog.Float64("f", 1.5e-7),
			slog.Float64("nan", math.NaN()), slog.Float64("inf", math.Inf(-1)), slog.Bool("ok", true), slog.Duration("d", 0),
			slog.Duration("long", 90*time.Minute+time.Nanosecond)),
		rec(at, slog.LevelInfo, "strings", slog.String("q", `say "hi"`), slog.String("eq", "a=b"), slog.String("bs", `C:\path`),
			slog.String("nl", "line\nbreak"), slog.String("tab", "a\tb"), slog.String("uni", "Nairobi · Kenya ü"),
			slog.String("nbsp", "a\u00a0b"), slog.String("bad", "\xff\xfe"), slog.String("ctl", "\x7f\x01"),
			slog.String("html", "<b>&amp;</b>"), slog.String("key with space", "v"), slog.String("emoji", "💸")),
		// Left to slog's own:
		rec(at, slog.LevelError, "failed", slog.Any("err", errors.New("boom: \"x\"")), slog.String("after", "y")),
		rec(at, slog.LevelInfo, "group", slog.Group("g", slog.String("a", "1"), slog.Int("b", 2))),
		rec(at, slog.LevelInfo, "empty attr", slog.Attr{}, slog.String("a", "1")),
		rec(at, slog.LevelInfo, "any", slog.Any("m", map[string]int{"a": 1}), slog.Any("nil", nil)),
	}
	for _, r := range records {
		p.same(t, p.ours, p.slogs, r)
	}
	// Handlers derived with attributes or a group.
	p.same(t, p.ours.WithAttrs([]slog.Attr{slog.String("svc", "checkout")}), p.slogs.WithAttrs([]slog.Attr{slog.String("svc", "checkout")}), requestLine)
	p.same(t, p.ours.WithGroup("req"), p.slogs.WithGroup("req"), requestLine)

	// Random strings: bytes of every kind, valid UTF-8 or not.
	rnd := rand.New(rand.NewPCG(1, 2))
	alphabet := []string{"a", "Z", "0", " ", "=", `"`, `\`, "\n", "\x00", "\x7f", "\xff", "é", "·", "\u2028", "\u00a0", "💸", "/", ":", "-"}
	for range 2000 {
		var b strings.Builder
		for range rnd.IntN(8) {
			b.WriteString(alphabet[rnd.IntN(len(alphabet))])
		}
		s := b.String()
		p.same(t, p.ours, p.slogs, rec(at.Add(time.Duration(rnd.Int64N(int64(time.Hour)))), slog.LevelInfo, s, slog.String(s, s)))
	}
}

// TestTextHandlerLevels: Enabled answers as slog's handler does for the
// configured level (Info when none is).
func TestTextHandlerLevels(t *testing.T) {
	for _, opts := range []*slog.HandlerOptions{nil, {}, {Level: slog.LevelWarn}, {Level: slog.LevelDebug}} {
		p := newTextPair(t, opts)
		for _, l := range []slog.Level{slog.LevelDebug, slog.LevelInfo, slog.LevelWarn, slog.LevelError} {
			if got, want := p.ours.Enabled(context.Background(), l), p.slogs.Enabled(context.Background(), l); got != want {
				t.Errorf("opts %+v level %v: Enabled %v, want %v", opts, l, got, want)
			}
		}
	}
}

// TestTextHandlerWithReplaceAttrOrSourceIsSlogs: options it does not
// implement give slog's handler, so the lines still follow them.
func TestTextHandlerWithReplaceAttrOrSourceIsSlogs(t *testing.T) {
	drop := func(_ []string, a slog.Attr) slog.Attr {
		if a.Key == "ip" {
			return slog.Attr{}
		}
		return a
	}
	for _, opts := range []*slog.HandlerOptions{{ReplaceAttr: drop}, {AddSource: true}} {
		lw := web.NewLogWriter(&bytes.Buffer{}, 1024, time.Hour)
		if _, ok := web.NewTextHandler(lw, opts).(*slog.TextHandler); !ok {
			t.Errorf("opts %+v: not slog's TextHandler", opts)
		}
		lw.Close()
	}
}

// TestRequestLineThroughTheAppsLogChain: with the log chain main builds,
// a page view and a form post each write one request line in slog's text
// format, with the request's id (its X-Request-ID), the route and the
// status.
func TestRequestLineThroughTheAppsLogChain(t *testing.T) {
	out := &sink{}
	lw := web.NewLogWriter(out, 1<<20, time.Hour)
	defer lw.Close()
	e := newEnv(t, envOptions{logs: web.LogHandler(lw.Handler(web.NewTextHandler(lw, nil)))})
	id := e.createCheckout("log-line")
	r := e.browser().fetch(e.app.URL + "/c/" + id)
	if r.status != http.StatusOK {
		t.Fatalf("page: %d", r.status)
	}
	if err := lw.Flush(); err != nil {
		t.Fatal(err)
	}
	text, _ := out.get()
	want := regexp.MustCompile(`(?m)^time=\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}(Z|[+-]\d\d:\d\d) level=INFO msg=request method=GET path=/c/` +
		regexp.QuoteMeta(id) + ` route=/c/:id status=200 took=[0-9.]+[µnm]?s ip=127\.0\.0\.1 request_id=` +
		regexp.QuoteMeta(r.header.Get("X-Request-ID")) + `$`)
	if r.header.Get("X-Request-ID") == "" || len(want.FindAllString(text, -1)) != 1 {
		t.Fatalf("want one request line for GET /c/%s with request_id %q in:\n%s", id, r.header.Get("X-Request-ID"), text)
	}
}
