package cli

import (
	"io"
	"sync"
	"time"
)

// Access log lines are written in batches: one write per request was a fifth
// of the throughput of GET /v1/me when the log went to a pipe, as it does
// under systemd or a container runtime. Every other line is written at once,
// after the batched lines before it, so the log keeps its order.
const (
	accessLogFlushEvery = 100 * time.Millisecond
	accessLogBatchSize  = 32 << 10
)

// logBatch holds log lines until flushed: by an immediate line, when
// accessLogBatchSize bytes are pending, or every accessLogFlushEvery by run.
type logBatch struct {
	mu      sync.Mutex
	w       io.Writer
	pending []byte
}

// Write queues p, which must be whole lines (slog writes one record per call).
func (b *logBatch) Write(p []byte) (int, error) { return b.queue(p, false) }

// queue appends p to the pending lines and writes them all if flush is set
// or the batch is full.
func (b *logBatch) queue(p []byte, flush bool) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.pending = append(b.pending, p...)
	if flush || len(b.pending) >= accessLogBatchSize {
		return len(p), b.flushLocked()
	}
	return len(p), nil
}

// Flush writes the pending lines.
func (b *logBatch) Flush() error {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.flushLocked()
}

func (b *logBatch) flushLocked() error {
	if len(b.pending) == 0 {
		return nil
	}
	_, err := b.w.Write(b.pending)
	b.pending = b.pending[:0]
	return err
}

// immediate is the writer for lines that must not wait: each is written
// together with the batched lines queued before it.
func (b *logBatch) immediate() io.Writer { return immediateWriter{b} }

type immediateWriter struct{ b *logBatch }

func (w immediateWriter) Write(p []byte) (int, error) { return w.b.queue(p, true) }

// run flushes every accessLogFlushEvery until stop is closed, then once more.
func (b *logBatch) run(stop <-chan struct{}) {
	ticker := time.NewTicker(accessLogFlushEvery)
	defer ticker.Stop()
	for {
		select {
		case <-ticker.C:
			b.Flush()
		case <-stop:
			b.Flush()
			return
		}
	}
}
