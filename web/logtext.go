package web

import (
	"context"
	"log/slog"
	"strconv"
	"sync"
	"time"
	"unicode"
	"unicode/utf8"
)

// NewTextHandler is slog.NewTextHandler(w, opts), writing the same lines
// faster for the records the app writes most (the request line, one per
// request): a record whose attributes are all strings, numbers, booleans,
// durations and times is formatted here, byte for byte as slog's text
// handler formats it (TestTextHandlerWritesWhatSlogsTextHandlerWrites);
// any other record (an error, a group, a LogValuer, an empty attribute)
// and every handler made by WithAttrs or WithGroup go to slog's own. With
// ReplaceAttr or AddSource set it is slog's own outright.
//
// Both write each line in one Write, so lines never interleave: w is a
// LogWriter, which takes lines from several goroutines.
func NewTextHandler(w *LogWriter, opts *slog.HandlerOptions) slog.Handler {
	if opts == nil {
		opts = &slog.HandlerOptions{}
	}
	slow := slog.NewTextHandler(w, opts)
	if opts.ReplaceAttr != nil || opts.AddSource {
		return slow
	}
	level := opts.Level
	if level == nil {
		level = slog.LevelInfo
	}
	return &textHandler{slow: slow, w: w, level: level}
}

type textHandler struct {
	slow  slog.Handler
	w     *LogWriter
	level slog.Leveler
}

func (h *textHandler) Enabled(_ context.Context, l slog.Level) bool { return l >= h.level.Level() }

func (h *textHandler) WithAttrs(as []slog.Attr) slog.Handler { return h.slow.WithAttrs(as) }

func (h *textHandler) WithGroup(name string) slog.Handler { return h.slow.WithGroup(name) }

// lineBufs are the buffers lines are formatted in.
var lineBufs = sync.Pool{New: func() any { b := make([]byte, 0, 512); return &b }}

func (h *textHandler) Handle(ctx context.Context, r slog.Record) error {
	plain := true
	r.Attrs(func(a slog.Attr) bool {
		switch a.Value.Kind() {
		case slog.KindString, slog.KindInt64, slog.KindUint64, slog.KindFloat64, slog.KindBool,
			slog.KindDuration, slog.KindTime:
			return true
		}
		plain = false
		return false
	})
	if !plain {
		return h.slow.Handle(ctx, r)
	}
	bp := lineBufs.Get().(*[]byte)
	b := (*bp)[:0]
	sep := ""
	if !r.Time.IsZero() {
		b = append(b, "time="...)
		b = appendRFC3339Millis(b, r.Time.Round(0))
		sep = " "
	}
	b = append(b, sep...)
	b = append(b, "level="...)
	b = appendTextString(b, r.Level.String())
	b = append(b, " msg="...)
	b = appendTextString(b, r.Message)
	r.Attrs(func(a slog.Attr) bool {
		b = append(b, ' ')
		b = appendTextString(b, a.Key)
		b = append(b, '=')
		v := a.Value
		switch v.Kind() {
		case slog.KindString:
			b = appendTextString(b, v.String())
		case slog.KindInt64:
			b = strconv.AppendInt(b, v.Int64(), 10)
		case slog.KindUint64:
			b = strconv.AppendUint(b, v.Uint64(), 10)
		case slog.KindFloat64:
			b = strconv.AppendFloat(b, v.Float64(), 'g', -1, 64)
		case slog.KindBool:
			b = strconv.AppendBool(b, v.Bool())
		case slog.KindDuration:
			b = append(b, v.Duration().String()...)
		case slog.KindTime:
			b = appendRFC3339Millis(b, v.Time())
		}
		return true
	})
	b = append(b, '\n')
	_, err := h.w.Write(b)
	if cap(b) <= 16<<10 {
		*bp = b
		lineBufs.Put(bp)
	}
	return err
}

// appendTextString is slog's text handler's string: as it is, or quoted
// when it needs to be.
func appendTextString(b []byte, s string) []byte {
	if needsQuoting(s) {
		return strconv.AppendQuote(b, s)
	}
	return append(b, s...)
}

// needsQuoting is slog's rule (log/slog/text_handler.go): empty, or any
// space, '=', '"', control character, or a rune that is invalid, a space or
// not printable. A backslash alone does not need quoting.
func needsQuoting(s string) bool {
	if len(s) == 0 {
		return true
	}
	for i := 0; i < len(s); {
		b := s[i]
		if b < utf8.RuneSelf {
			if quoteASCII[b] {
				return true
			}
			i++
			continue
		}
		r, size := utf8.DecodeRuneInString(s[i:])
		if r == utf8.RuneError || unicode.IsSpace(r) || !unicode.IsPrint(r) {
			return true
		}
		i += size
	}
	return false
}

// quoteASCII marks the ASCII bytes that need quoting: space, '=', '"' and
// the control characters (slog: those JSON escapes, but the backslash).
var quoteASCII = func() (q [utf8.RuneSelf]bool) {
	for b := range q {
		q[b] = b < 0x20 || b == ' ' || b == '=' || b == '"'
	}
	return q
}()

// appendRFC3339Millis is slog's time format: RFC 3339 with exactly three
// digits of milliseconds.
func appendRFC3339Millis(b []byte, t time.Time) []byte {
	const prefixLen = len("2006-01-02T15:04:05.000")
	n := len(b)
	t = t.Truncate(time.Millisecond).Add(time.Millisecond / 10)
	b = t.AppendFormat(b, time.RFC3339Nano)
	return append(b[:n+prefixLen], b[n+prefixLen+1:]...) // drop the 4th digit
}

// requestLines is the handler under log when log is the app's chain,
// LogHandler over a LogWriter's Handler over NewTextHandler (main builds
// it so): Logger then writes an Info request line itself, the line that
// chain would write, without building a slog.Record for it. nil for any
// other handler: the line goes through log.
func requestLines(log *slog.Logger) *textHandler {
	lh, ok := log.Handler().(logHandler)
	if !ok {
		return nil
	}
	fh, ok := lh.next.(flushHandler)
	if !ok {
		return nil
	}
	th, _ := fh.next.(*textHandler)
	return th
}

// requestLine writes the request line at Info, as
// log.LogAttrs(ctx, slog.LevelInfo, "request", ...) through the chain
// would (TestRequestLineIsWhatTheChainWrites).
func (h *textHandler) requestLine(t time.Time, method, path, route string, status int, took time.Duration, ip, requestID string) error {
	bp := lineBufs.Get().(*[]byte)
	b := appendRequestLine((*bp)[:0], t, method, path, route, status, took, ip, requestID)
	_, err := h.w.Write(b)
	if cap(b) <= 16<<10 {
		*bp = b
		lineBufs.Put(bp)
	}
	return err
}

// appendRequestLine is the request line's text: what Handle writes for
// the record Logger logs, with the request_id LogHandler adds (none when
// requestID is "").
func appendRequestLine(b []byte, t time.Time, method, path, route string, status int, took time.Duration, ip, requestID string) []byte {
	b = append(b, "time="...)
	b = appendRFC3339Millis(b, t.Round(0))
	b = append(b, " level=INFO msg=request method="...)
	b = appendTextString(b, method)
	b = append(b, " path="...)
	b = appendTextString(b, path)
	b = append(b, " route="...)
	b = appendTextString(b, route)
	b = append(b, " status="...)
	b = strconv.AppendInt(b, int64(status), 10)
	b = append(b, " took="...)
	b = append(b, took.String()...)
	b = append(b, " ip="...)
	b = appendTextString(b, ip)
	if requestID != "" {
		b = append(b, " request_id="...)
		b = appendTextString(b, requestID)
	}
	return append(b, '\n')
}
