package db_test

import (
	"context"
	"database/sql"
	"errors"
	"path/filepath"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"roster/db"
	"roster/db/dbtest"
)

// TestChangesCountsEveryCommit: Changes stays put while nothing commits (so
// a cache can be used) and moves on after a commit by the store's own writer
// and by another connection to the file, as another process would make.
func TestChangesCountsEveryCommit(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	store := dbtest.Open(t)
	other, err := db.Open(ctx, store.Path())
	if err != nil {
		t.Fatal(err)
	}
	defer other.Close()

	changes := func() uint64 {
		t.Helper()
		n, err := store.Changes()
		if err != nil {
			t.Fatal(err)
		}
		return n
	}
	// Every watch connection has answered once (it may count a change the
	// first time it is asked), so repeated calls now agree.
	for range 64 {
		changes()
	}
	before := changes()
	for range 64 {
		if n := changes(); n != before {
			t.Fatalf("Changes moved from %d to %d with no commit", before, n)
		}
	}
	for i, commit := range []struct {
		name string
		q    *db.Queries
	}{{"own writer", store.Write}, {"another connection", other.Write}} {
		if _, err := commit.q.CreateUser(ctx, db.CreateUserParams{Username: commit.name, UsernameKey: string(rune('a' + i)),
			PasswordHash: "x", Role: "user", CreatedAt: db.Now(time.Now())}); err != nil {
			t.Fatal(err)
		}
		if n := changes(); n <= before {
			t.Errorf("after a commit by the %s Changes = %d, want more than %d", commit.name, n, before)
		} else {
			before = n
		}
	}
}

// TestSessionWithUserSeesEveryCommit flips an account's status from another
// connection to the file while goroutines keep the session cache busy: the
// first lookup after each commit must see it, whichever lookups were in
// flight when it committed.
func TestSessionWithUserSeesEveryCommit(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	store := dbtest.Open(t)
	other, err := db.Open(ctx, store.Path())
	if err != nil {
		t.Fatal(err)
	}
	defer other.Close()
	now := db.Now(time.Now())
	user, err := store.Write.CreateUser(ctx, db.CreateUserParams{Username: "flip", UsernameKey: "flip",
		PasswordHash: "x", Role: "user", CreatedAt: now})
	if err != nil {
		t.Fatal(err)
	}
	hash := []byte("0123456789abcdef0123456789abcdef")
	if err := store.Write.CreateSession(ctx, db.CreateSessionParams{TokenHash: hash, ID: "s1", UserID: user.ID,
		CreatedAt: now, ExpiresAt: now.Add(time.Hour)}); err != nil {
		t.Fatal(err)
	}

	var stop atomic.Bool
	var wg sync.WaitGroup
	for range 4 {
		wg.Go(func() {
			for !stop.Load() {
				if _, err := store.SessionWithUser(ctx, hash); err != nil && !errors.Is(err, sql.ErrNoRows) {
					t.Error(err)
					return
				}
			}
		})
	}
	defer func() { stop.Store(true); wg.Wait() }()

	status := []string{"disabled", "active"}
	for i := range 300 {
		want := status[i%2]
		if _, err := other.Write.UpdateUser(ctx, db.UpdateUserParams{Username: "flip", UsernameKey: "flip",
			Status: want, Role: "user", UpdatedAt: now, ID: user.ID}); err != nil {
			t.Fatal(err)
		}
		row, err := store.SessionWithUser(ctx, hash)
		if err != nil {
			t.Fatal(err)
		}
		if row.User.Status != want {
			t.Fatalf("commit %d: lookup after the commit saw status %q, want %q", i, row.User.Status, want)
		}
	}
	if _, err := other.Write.DeleteSession(ctx, hash); err != nil {
		t.Fatal(err)
	}
	if _, err := store.SessionWithUser(ctx, hash); !errors.Is(err, sql.ErrNoRows) {
		t.Errorf("lookup after the session was deleted elsewhere = %v, want sql.ErrNoRows", err)
	}
}

// BenchmarkChanges is the check every authenticated request makes.
func BenchmarkChanges(b *testing.B) {
	store := dbtest.Open(b)
	b.ReportAllocs()
	for b.Loop() {
		if _, err := store.Changes(); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkSessionWithUser is a session lookup answered from the cache: the
// change check plus a map lookup.
func BenchmarkSessionWithUser(b *testing.B) {
	ctx := context.Background()
	store := dbtest.Open(b)
	now := db.Now(time.Now())
	user, err := store.Write.CreateUser(ctx, db.CreateUserParams{Username: "bench", UsernameKey: "bench",
		PasswordHash: "x", Role: "user", CreatedAt: now})
	if err != nil {
		b.Fatal(err)
	}
	hash := []byte("0123456789abcdef0123456789abcdef")
	if err := store.Write.CreateSession(ctx, db.CreateSessionParams{TokenHash: hash, ID: "s1", UserID: user.ID,
		CreatedAt: now, ExpiresAt: now.Add(time.Hour)}); err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	for b.Loop() {
		if _, err := store.SessionWithUser(ctx, hash); err != nil {
			b.Fatal(err)
		}
	}
}

// TestChangesAfterClose: once the store is closed, a check fails at once
// instead of waiting for a connection that will not come back.
func TestChangesAfterClose(t *testing.T) {
	t.Parallel()
	store, err := db.Open(context.Background(), filepath.Join(t.TempDir(), "roster.db"))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := store.Changes(); err != nil {
		t.Fatal(err)
	}
	if err := store.Close(); err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() {
		_, err := store.Changes()
		done <- err
	}()
	select {
	case err := <-done:
		if err == nil {
			t.Error("Changes after Close succeeded")
		}
	case <-time.After(10 * time.Second):
		t.Fatal("Changes after Close still waiting after 10 s")
	}
}
