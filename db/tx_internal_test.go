package db

import (
	"context"
	"database/sql"
	"errors"
	"path/filepath"
	"testing"
	"time"
)

// TestTxNoSync: the transaction's commit runs with synchronous=NORMAL (no
// wait for the disk), is visible to readers at once, and the writer
// connection is back to FULL afterwards, whether fn committed, failed, or
// saw its context cancelled, so no later commit loses its flush.
func TestTxNoSync(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	store, err := Open(ctx, filepath.Join(t.TempDir(), "roster.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { store.Close() })
	// scalar is the one integer the query answers on pool.
	scalar := func(pool *sql.DB, query string) int {
		t.Helper()
		var n int
		if err := pool.QueryRowContext(ctx, query).Scan(&n); err != nil {
			t.Fatal(err)
		}
		return n
	}
	writerSync := func() int { return scalar(store.writer, "PRAGMA synchronous") }
	events := func() int { return scalar(store.reader, "SELECT count(*) FROM audit_events") }
	event := func(q *Queries, action string) error {
		return q.CreateAuditEvent(ctx, CreateAuditEventParams{CreatedAt: Now(time.Now()), Action: action})
	}

	err = store.TxNoSync(ctx, func(q *Queries) error {
		var level int
		if err := q.tx.QueryRowContext(ctx, "PRAGMA synchronous").Scan(&level); err != nil {
			return err
		}
		if level != 1 {
			t.Errorf("synchronous inside TxNoSync = %d, want 1 (NORMAL)", level)
		}
		return event(q, "committed")
	})
	if err != nil {
		t.Fatal(err)
	}
	if n := events(); n != 1 {
		t.Fatalf("readers see %d events after the commit, want 1", n)
	}
	if got := writerSync(); got != 2 {
		t.Errorf("after a commit, the writer's synchronous = %d, want 2 (FULL)", got)
	}

	failed := errors.New("fn failed")
	if err := store.TxNoSync(ctx, func(q *Queries) error {
		if err := event(q, "rolled back"); err != nil {
			return err
		}
		return failed
	}); !errors.Is(err, failed) {
		t.Fatalf("TxNoSync returned %v, want fn's error", err)
	}
	if got := writerSync(); got != 2 {
		t.Errorf("after a rollback, the writer's synchronous = %d, want 2 (FULL)", got)
	}

	cctx, cancel := context.WithCancel(ctx)
	if err := store.TxNoSync(cctx, func(q *Queries) error {
		cancel()
		return event(q, "cancelled")
	}); err == nil {
		t.Fatal("TxNoSync committed after its context was cancelled")
	}
	if got := writerSync(); got != 2 {
		t.Errorf("after a cancelled transaction, the writer's synchronous = %d, want 2 (FULL)", got)
	}
	if n := events(); n != 1 {
		t.Errorf("readers see %d events, want only the committed one", n)
	}
}
