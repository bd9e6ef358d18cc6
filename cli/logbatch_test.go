package cli

import (
	"strings"
	"sync"
	"testing"
	"time"
)

// syncBuilder is a strings.Builder safe for the flusher goroutine.
type syncBuilder struct {
	mu     sync.Mutex
	b      strings.Builder
	writes int
}

func (s *syncBuilder) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.writes++
	return s.b.Write(p)
}

func (s *syncBuilder) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// TestLogBatchKeepsOrder: batched lines wait, an immediate line goes out at
// once after them, and one write carries the whole batch.
func TestLogBatchKeepsOrder(t *testing.T) {
	var out syncBuilder
	b := &logBatch{w: &out}
	b.Write([]byte("access 1\n"))
	b.Write([]byte("access 2\n"))
	if got := out.String(); got != "" {
		t.Fatalf("batched lines written before a flush: %q", got)
	}
	b.immediate().Write([]byte("error\n"))
	if got, want := out.String(), "access 1\naccess 2\nerror\n"; got != want || out.writes != 1 {
		t.Fatalf("after an immediate line: %q in %d writes, want %q in 1", got, out.writes, want)
	}
	lines := accessLogBatchSize/len("access\n") + 10
	for range lines {
		b.Write([]byte("access\n"))
	}
	if n := strings.Count(out.String(), "access\n"); n == 0 || n == lines {
		t.Errorf("%d of %d lines written past the batch size, want some, not all", n, lines)
	}
}

// TestLogBatchFlushesOnItsOwn: run writes pending lines within its interval
// and everything when stopped.
func TestLogBatchFlushesOnItsOwn(t *testing.T) {
	var out syncBuilder
	b := &logBatch{w: &out}
	stop, stopped := make(chan struct{}), make(chan struct{})
	go func() { b.run(stop); close(stopped) }()
	b.Write([]byte("access 1\n"))
	deadline := time.Now().Add(10 * time.Second)
	for out.String() == "" && time.Now().Before(deadline) {
		time.Sleep(10 * time.Millisecond)
	}
	if out.String() != "access 1\n" {
		t.Fatalf("not flushed by the ticker: %q", out.String())
	}
	b.Write([]byte("access 2\n"))
	close(stop)
	<-stopped
	if got := out.String(); got != "access 1\naccess 2\n" {
		t.Errorf("after stop: %q", got)
	}
}
