package db_test

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"roster/db"
	"roster/db/dbtest"
	"roster/internal/tmpfstest"
)

// TestStorageErrorsMapByCode: only the storage's failures (and the sentinel
// wrapped) count as storage unavailable, not a statement's. A real
// SQLITE_FULL and SQLITE_IOERR are in http's TestFullDisk.
func TestStorageErrorsMapByCode(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	store := dbtest.Open(t)
	p := db.CreateUserParams{Username: "a", UsernameKey: "a", PasswordHash: "x", Role: "user"}
	if _, err := store.Write.CreateUser(ctx, p); err != nil {
		t.Fatal(err)
	}
	_, unique := store.Write.CreateUser(ctx, p)
	_, readOnly := store.Read.CreateUser(ctx, db.CreateUserParams{Username: "b", UsernameKey: "b", PasswordHash: "x", Role: "user"})
	for _, c := range []struct {
		name string
		err  error
		want bool
	}{
		{"nil", nil, false},
		{"unique violation", unique, false},
		{"write on the query_only reader", readOnly, false},
		{"no rows", sql.ErrNoRows, false},
		{"context canceled", context.Canceled, false},
		{"the sentinel, wrapped", fmt.Errorf("x: %w", db.ErrStorageUnavailable), true},
	} {
		if got := db.IsStorageUnavailable(c.err); got != c.want {
			t.Errorf("%s (%v): IsStorageUnavailable = %v, want %v", c.name, c.err, got, c.want)
		}
	}
	if err := store.Writable(ctx); err != nil {
		t.Errorf("Writable on a healthy store: %v", err)
	}
}

// TestWALTruncatedToJournalSizeLimit: after a transaction grew the WAL far
// past the limit and a checkpoint copied it, the next write starts the WAL
// again and cuts the file down to journal_size_limit (4 MiB) instead of
// keeping its high-water mark.
func TestWALTruncatedToJournalSizeLimit(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	store := dbtest.Open(t)
	hash := strings.Repeat("x", 2000)
	if err := store.Tx(ctx, func(q db.Querier) error {
		for i := range 3000 {
			name := fmt.Sprintf("user%d", i)
			if _, err := q.CreateUser(ctx, db.CreateUserParams{Username: name, UsernameKey: name,
				PasswordHash: hash, Role: "user"}); err != nil {
				return err
			}
		}
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	walSize := func() int64 {
		fi, err := os.Stat(store.Path() + "-wal")
		if err != nil {
			t.Fatal(err)
		}
		return fi.Size()
	}
	high := walSize()
	if high < 8<<20 {
		t.Fatalf("the big transaction left a WAL of %d bytes, want over 8 MiB for the test to mean anything", high)
	}
	// The commit's automatic checkpoint copied the WAL; the next commit
	// starts it again from the front.
	for i := range 2 {
		name := fmt.Sprintf("after%d", i)
		if _, err := store.Write.CreateUser(ctx, db.CreateUserParams{Username: name, UsernameKey: name,
			PasswordHash: "x", Role: "user"}); err != nil {
			t.Fatal(err)
		}
	}
	if got := walSize(); got > 4<<20 {
		t.Errorf("WAL after a checkpoint and a small write: %d bytes (high-water mark %d), want at most 4 MiB", got, high)
	}
}

// TestWriterAfterFailedCommit: on a full volume a commit fails with a
// storage error, the writer connection is left outside any transaction (a
// write transaction begins and commits at once, with nothing to write),
// reads go on, and Writable reports ErrStorageUnavailable; once space
// returns Writable is nil again within 15 s, the WAL truncated, and writes
// succeed on the same store.
func TestWriterAfterFailedCommit(t *testing.T) {
	dir := tmpfstest.Mount(t, "2m")
	ctx := context.Background()
	store, err := db.OpenSQLite(ctx, filepath.Join(dir, "roster.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer store.Close()
	create := func(name string) error {
		return store.Tx(ctx, func(q db.Querier) error {
			_, err := q.CreateUser(ctx, db.CreateUserParams{Username: name, UsernameKey: name,
				PasswordHash: strings.Repeat("x", 100), Role: "user", CreatedAt: db.Now(time.Now())})
			return err
		})
	}
	filler := tmpfstest.Fill(t, dir, 64<<10)
	var acked int64
	for ; ; acked++ {
		if acked == 100 {
			t.Fatal("100 sign-ups with 64 KiB free all committed")
		}
		if err = create(fmt.Sprintf("user%03d", acked)); err != nil {
			break
		}
	}
	if !db.IsStorageUnavailable(err) {
		t.Fatalf("commit on a full volume: err = %v, want a storage failure", err)
	}
	if err := store.Tx(ctx, func(db.Querier) error { return nil }); err != nil {
		t.Errorf("an empty write transaction after the failed commit: %v", err)
	}
	if n, err := store.Read.CountUsers(ctx); err != nil || n != acked {
		t.Errorf("CountUsers on a full volume = %d, %v; want %d", n, err, acked)
	}
	if err := store.Writable(ctx); !errors.Is(err, db.ErrStorageUnavailable) {
		t.Errorf("Writable on a full volume = %v, want ErrStorageUnavailable", err)
	}

	if err := os.Remove(filler); err != nil {
		t.Fatal(err)
	}
	freed := time.Now()
	for store.Writable(ctx) != nil {
		if time.Since(freed) > 15*time.Second {
			t.Fatalf("Writable still %v 15 s after space returned", store.Writable(ctx))
		}
		time.Sleep(50 * time.Millisecond)
	}
	if fi, err := os.Stat(store.Path() + "-wal"); err != nil {
		t.Fatal(err)
	} else if fi.Size() > 64<<10 {
		t.Errorf("the WAL is %d bytes once writable again, want it truncated (at most 64 KiB)", fi.Size())
	}
	if err := create("after"); err != nil {
		t.Fatalf("a write once space returned: %v", err)
	}
	if n, err := store.Read.CountUsers(ctx); err != nil || n != acked+1 {
		t.Errorf("CountUsers after recovery = %d, %v; want %d", n, err, acked+1)
	}
}
