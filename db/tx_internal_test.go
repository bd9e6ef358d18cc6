package db

import (
	"context"
	"errors"
	"path/filepath"
	"testing"
	"time"
)

// TestTxNoSync: the transaction's commit runs with synchronous=NORMAL (no
// wait for the disk) and is visible to readers at once; afterwards the
// writer connection is back to FULL, and is the same connection, whether fn
// committed, failed, panicked or saw its context cancelled, so no later
// commit loses its flush and no request's end costs the writer its
// prepared statements.
func TestTxNoSync(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	store, err := OpenSQLite(ctx, filepath.Join(t.TempDir(), "roster.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { store.Close() })
	events := func() int {
		t.Helper()
		var n int
		if err := store.reader.QueryRowContext(ctx, "SELECT count(*) FROM audit_events").Scan(&n); err != nil {
			t.Fatal(err)
		}
		return n
	}
	event := func(q Querier, action string) error {
		return q.CreateAuditEvent(ctx, CreateAuditEventParams{CreatedAt: Now(time.Now()), Action: action})
	}
	// writer returns the writer's driver connection and its synchronous
	// level, failing if the connection is still held after 10 s.
	writer := func() (driverConn any, level int) {
		t.Helper()
		wctx, cancel := context.WithTimeout(ctx, 10*time.Second)
		defer cancel()
		c, err := store.writer.Conn(wctx)
		if err != nil {
			t.Fatalf("the writer connection: %v", err)
		}
		defer c.Close()
		c.Raw(func(dc any) error { driverConn = dc; return nil })
		if err := c.QueryRowContext(ctx, "PRAGMA synchronous").Scan(&level); err != nil {
			t.Fatal(err)
		}
		return driverConn, level
	}
	first, _ := writer()
	restored := func(after string) {
		t.Helper()
		if dc, level := writer(); level != 2 || dc != first {
			t.Errorf("after %s: the writer's synchronous = %d (want 2, FULL); same connection: %v", after, level, dc == first)
		}
	}

	err = store.TxNoSync(ctx, func(q Querier) error {
		var level int
		if err := q.(*Queries).tx.QueryRowContext(ctx, "PRAGMA synchronous").Scan(&level); err != nil {
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
	restored("a commit")

	failed := errors.New("fn failed")
	if err := store.TxNoSync(ctx, func(q Querier) error {
		if err := event(q, "rolled back"); err != nil {
			return err
		}
		return failed
	}); !errors.Is(err, failed) {
		t.Fatalf("TxNoSync returned %v, want fn's error", err)
	}
	restored("a rollback")

	panicked := make(chan any)
	go func() {
		defer func() { panicked <- recover() }()
		store.TxNoSync(ctx, func(q Querier) error {
			if err := event(q, "panicked"); err != nil {
				return err
			}
			panic("fn panicked")
		})
	}()
	select {
	case p := <-panicked:
		if p == nil {
			t.Error("fn's panic did not reach TxNoSync's caller")
		}
	case <-time.After(10 * time.Second):
		t.Fatal("TxNoSync did not return 10 s after fn panicked")
	}
	restored("a panic")

	// A request that ends during the transaction: its statements may have
	// run, but nothing commits. (database/sql's background rollback on
	// cancellation used to race the restore and lose the connection.)
	for i := range 20 {
		cctx, cancel := context.WithCancel(ctx)
		if err := store.TxNoSync(cctx, func(q Querier) error {
			if err := event(q, "cancelled"); err != nil {
				return err
			}
			cancel()
			if i%2 == 0 {
				return nil // cancelled after its statements
			}
			return q.CreateAuditEvent(cctx, CreateAuditEventParams{CreatedAt: Now(time.Now()), Action: "cancelled"})
		}); !errors.Is(err, context.Canceled) {
			t.Fatalf("TxNoSync after its context was cancelled returned %v, want context.Canceled", err)
		}
		restored("a cancelled transaction")
	}
	if n := events(); n != 1 {
		t.Errorf("readers see %d events, want only the committed one", n)
	}
}
