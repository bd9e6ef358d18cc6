package db

import (
	"context"
	"errors"
	"path/filepath"
	"testing"
	"time"
)

// TestCheckpointYieldsToReaders: a reader holding an older snapshot stops
// the recovery's truncating checkpoint within a short wait, not the
// writer's 10 s busy_timeout, and the writer connection gets its
// busy_timeout back.
func TestCheckpointYieldsToReaders(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	store, err := OpenSQLite(ctx, filepath.Join(t.TempDir(), "roster.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { store.Close() })
	if err := store.checkpoint(ctx); err != nil {
		t.Fatalf("checkpoint with no reader: %v", err)
	}
	// A read transaction that has read sees its snapshot until it ends; a
	// commit after it puts frames in the WAL that it must not see replaced.
	read, err := store.reader.BeginTx(ctx, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer read.Rollback()
	var n int
	if err := read.QueryRowContext(ctx, "SELECT count(*) FROM users").Scan(&n); err != nil {
		t.Fatal(err)
	}
	if err := store.Write.UpdateStorageProbe(ctx, Now(time.Now())); err != nil {
		t.Fatal(err)
	}
	began := time.Now()
	if err := store.checkpoint(ctx); !errors.Is(err, errCheckpointBusy) {
		t.Fatalf("checkpoint under an older reader: err = %v, want errCheckpointBusy", err)
	}
	if took := time.Since(began); took > 5*time.Second {
		t.Errorf("checkpoint under an older reader took %v, want it to give up well before the 10 s busy_timeout", took)
	}
	var timeout int
	if err := store.writer.QueryRowContext(ctx, "PRAGMA busy_timeout").Scan(&timeout); err != nil {
		t.Fatal(err)
	}
	if timeout != 10000 {
		t.Errorf("writer busy_timeout after the checkpoint = %d, want 10000", timeout)
	}
}
