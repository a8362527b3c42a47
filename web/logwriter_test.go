package web_test

import (
	"bytes"
	"log/slog"
	"strings"
	"sync"
	"testing"
	"time"

	"checkout/web"
)

// sink is a destination the test reads while the writer may write to it.
type sink struct {
	mu     sync.Mutex
	b      bytes.Buffer
	writes int
}

func (s *sink) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.writes++
	return s.b.Write(p)
}

func (s *sink) get() (string, int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String(), s.writes
}

// TestLogWriterBuffersInfoAndFlushesWarnings: request lines (Info) wait in
// the buffer and go out in one write; a warning goes out at once with what
// was before it; Close flushes the rest, and a line after Close is written
// through.
func TestLogWriterBuffersInfoAndFlushesWarnings(t *testing.T) {
	out := &sink{}
	lw := web.NewLogWriter(out, 4096, time.Hour) // the ticker never fires here
	log := slog.New(lw.Handler(slog.NewTextHandler(lw, nil)))
	log.Info("request", "n", 1)
	log.Info("request", "n", 2)
	if got, _ := out.get(); got != "" {
		t.Fatalf("info lines written before a flush: %q", got)
	}
	log.Warn("provider down")
	got, writes := out.get()
	if strings.Count(got, "msg=request") != 2 || !strings.Contains(got, "provider down") || writes != 1 {
		t.Fatalf("after a warning: %d writes of %q; want the three lines in one write", writes, got)
	}
	log.Info("request", "n", 3)
	if err := lw.Close(); err != nil {
		t.Fatal(err)
	}
	if got, _ := out.get(); strings.Count(got, "msg=request") != 3 {
		t.Fatalf("after Close: %q", got)
	}
	log.Info("late")
	if got, _ := out.get(); !strings.Contains(got, "msg=late") {
		t.Fatalf("a line after Close is still buffered: %q", got)
	}
}

// TestLogWriterIsBounded: lines beyond the buffer's size are written at
// once rather than held, so the memory stays bounded and none is lost.
func TestLogWriterIsBounded(t *testing.T) {
	out := &sink{}
	lw := web.NewLogWriter(out, 256, time.Hour)
	defer lw.Close()
	line := strings.Repeat("x", 99) + "\n"
	for range 10 {
		if _, err := lw.Write([]byte(line)); err != nil {
			t.Fatal(err)
		}
	}
	got, _ := out.get()
	if len(got) < 1000-256 || len(got) > 1000 || !strings.HasPrefix(got, line) {
		t.Fatalf("%d bytes out after 1000 bytes into a 256-byte buffer", len(got))
	}
}

// TestLogWriterFlushesOnItsInterval: a line waits no longer than the
// interval.
func TestLogWriterFlushesOnItsInterval(t *testing.T) {
	out := &sink{}
	lw := web.NewLogWriter(out, 4096, time.Millisecond)
	defer lw.Close()
	if _, err := lw.Write([]byte("one line\n")); err != nil {
		t.Fatal(err)
	}
	deadline := time.After(10 * time.Second)
	for {
		if got, _ := out.get(); got == "one line\n" {
			return
		}
		select {
		case <-deadline:
			t.Fatal("the line was not flushed by the ticker")
		case <-time.After(time.Millisecond):
		}
	}
}
