package web

import (
	"bufio"
	"context"
	"io"
	"log/slog"
	"sync"
	"time"
)

// LogWriter buffers log lines on their way to a slow destination (stderr,
// a pipe): one write per flush instead of a system call per request line.
// It flushes every interval from a goroutine of its own, at once when the
// buffer is full (the line's writer waits for that write: memory stays
// bounded and no line is dropped), after every record of level Warn or
// above that goes through its Handler, and at Close.
type LogWriter struct {
	mu   sync.Mutex
	buf  *bufio.Writer
	stop chan struct{}
	done chan struct{}
	once sync.Once
	// closed: Close ran, and every line is written through at once.
	closed bool
}

// NewLogWriter starts a LogWriter of size bytes onto out, flushed every
// interval. Close it to flush what is left.
func NewLogWriter(out io.Writer, size int, every time.Duration) *LogWriter {
	w := &LogWriter{buf: bufio.NewWriterSize(out, size), stop: make(chan struct{}), done: make(chan struct{})}
	go w.flushEvery(every)
	return w
}

func (w *LogWriter) flushEvery(every time.Duration) {
	defer close(w.done)
	t := time.NewTicker(every)
	defer t.Stop()
	for {
		select {
		case <-w.stop:
			return
		case <-t.C:
			_ = w.Flush() // nowhere to report a failing log destination
		}
	}
}

// Write buffers p, a whole line as slog writes them.
func (w *LogWriter) Write(p []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	n, err := w.buf.Write(p)
	if err == nil && w.closed {
		err = w.buf.Flush()
	}
	return n, err
}

// Flush writes out what is buffered.
func (w *LogWriter) Flush() error {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.buf.Flush()
}

// Close stops the flushing goroutine and flushes what is left. Lines
// written after Close (a late goroutine's) are written through at once.
func (w *LogWriter) Close() error {
	w.once.Do(func() { close(w.stop) })
	<-w.done
	w.mu.Lock()
	defer w.mu.Unlock()
	w.closed = true
	return w.buf.Flush()
}

// Handler wraps next, a handler writing to w, so that a record of level
// Warn or above is flushed at once: what tells of a failure is out before
// anything else can go wrong.
func (w *LogWriter) Handler(next slog.Handler) slog.Handler { return flushHandler{next, w} }

type flushHandler struct {
	next slog.Handler
	w    *LogWriter
}

func (h flushHandler) Enabled(ctx context.Context, l slog.Level) bool {
	return h.next.Enabled(ctx, l)
}

func (h flushHandler) Handle(ctx context.Context, r slog.Record) error {
	err := h.next.Handle(ctx, r)
	if r.Level >= slog.LevelWarn {
		_ = h.w.Flush()
	}
	return err
}

func (h flushHandler) WithAttrs(as []slog.Attr) slog.Handler {
	return flushHandler{h.next.WithAttrs(as), h.w}
}

func (h flushHandler) WithGroup(name string) slog.Handler {
	return flushHandler{h.next.WithGroup(name), h.w}
}
