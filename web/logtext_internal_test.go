package web

import (
	"bytes"
	"context"
	"io"
	"log/slog"
	"testing"
	"time"

	"checkout/reqctx"
)

// TestRequestLineIsWhatTheChainWrites: the line Logger writes itself is
// byte for byte what slog.New(LogHandler(slog.NewTextHandler)) writes for
// the record Logger would log, request id added, for plain and awkward
// values (a path or route that needs quoting, an empty route, IPv6, no
// request id).
func TestRequestLineIsWhatTheChainWrites(t *testing.T) {
	at := time.Date(2026, 12, 5, 4, 55, 56, 987654321, time.FixedZone("EAT", 3*3600))
	for _, tc := range []struct {
		method, path, route, ip, id string
		status                      int
		took                        time.Duration
	}{
		{"GET", "/c/chk_01JXYZ", "/c/:id", "127.0.0.1", "0123456789abcdef", 200, 1234567 * time.Nanosecond},
		{"POST", "/c/chk_01JXYZ/pay", "/c/:id/pay", "::1", "req-12345678", 303, 0},
		{"GET", "/no such/page", "", "10.0.0.7", "", 404, 90 * time.Minute},
		{"GET", `/c/"x"=y`, "/c/:id", "203.0.113.9", "abcdefgh", 499, time.Nanosecond},
		{"HEAD", "/static/é·ü", "/static/*name", "", "id", 200, 3 * time.Second},
	} {
		var want bytes.Buffer
		ctx := context.Background()
		if tc.id != "" {
			ctx = reqctx.WithRequestID(ctx, tc.id)
		}
		r := slog.NewRecord(at, slog.LevelInfo, "request", 0)
		r.AddAttrs(slog.String("method", tc.method), slog.String("path", tc.path), slog.String("route", tc.route),
			slog.Int("status", tc.status), slog.Duration("took", tc.took), slog.String("ip", tc.ip))
		if err := LogHandler(slog.NewTextHandler(&want, nil)).Handle(ctx, r); err != nil {
			t.Fatal(err)
		}
		got := appendRequestLine(nil, at, tc.method, tc.path, tc.route, tc.status, tc.took, tc.ip, tc.id)
		if string(got) != want.String() {
			t.Errorf("request line:\ngot  %q\nwant %q", got, want.String())
		}
	}
}

// TestRequestLinesOnlyUnderTheAppsChain: Logger writes the line itself
// only under the chain main builds; any other handler gets the record.
func TestRequestLinesOnlyUnderTheAppsChain(t *testing.T) {
	lw := NewLogWriter(io.Discard, 1024, time.Hour)
	defer lw.Close()
	if requestLines(slog.New(LogHandler(lw.Handler(NewTextHandler(lw, nil))))) == nil {
		t.Error("the app's chain: no request lines")
	}
	for name, h := range map[string]slog.Handler{
		"slog's text handler":        LogHandler(lw.Handler(slog.NewTextHandler(lw, nil))),
		"without LogHandler":         lw.Handler(NewTextHandler(lw, nil)),
		"with ReplaceAttr":           LogHandler(lw.Handler(NewTextHandler(lw, &slog.HandlerOptions{ReplaceAttr: func(_ []string, a slog.Attr) slog.Attr { return a }}))),
		"derived with attributes":    LogHandler(lw.Handler(NewTextHandler(lw, nil))).WithAttrs([]slog.Attr{slog.String("k", "v")}),
		"slog's JSON handler":        LogHandler(lw.Handler(slog.NewJSONHandler(lw, nil))),
		"discarding (tests' engine)": slog.DiscardHandler,
	} {
		if requestLines(slog.New(h)) != nil {
			t.Errorf("%s: request lines written by Logger", name)
		}
	}
}
