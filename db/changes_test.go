package db_test

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"roster/db"
	"roster/db/dbtest"
)

// childEnv names the action a re-executed test binary runs instead of the
// tests (see runChild); its arguments follow in childArgsEnv.
const childEnv, childArgsEnv = "ROSTER_DB_TEST_CHILD", "ROSTER_DB_TEST_CHILD_ARGS"

// childActions are what another process can be asked to do to a database.
var childActions = map[string]func(args []string) error{
	// set-status PATH ID STATUS [checkpoint]: commit a user's new status
	// from another process, after a truncating checkpoint if asked.
	"set-status": func(args []string) error {
		ctx := context.Background()
		store, err := db.OpenSQLite(ctx, args[0])
		if err != nil {
			return err
		}
		defer store.Close()
		if len(args) > 3 && args[3] == "checkpoint" {
			if err := checkpoint(store); err != nil {
				return err
			}
		}
		id, err := strconv.ParseInt(args[1], 10, 64)
		if err != nil {
			return err
		}
		_, err = store.Write.UpdateUser(ctx, db.UpdateUserParams{Username: "flip", UsernameKey: "flip",
			Status: args[2], Role: "user", UpdatedAt: db.Now(time.Now()), ID: id})
		return err
	},
}

func TestMain(m *testing.M) {
	if action := os.Getenv(childEnv); action != "" {
		var args []string
		err := json.Unmarshal([]byte(os.Getenv(childArgsEnv)), &args)
		if err == nil {
			err = childActions[action](args)
		}
		if err != nil {
			fmt.Fprintln(os.Stderr, err)
			os.Exit(1)
		}
		os.Exit(0)
	}
	os.Exit(m.Run())
}

// inChild runs action in a new process (this test binary, re-executed) and
// returns its standard output once it has exited.
func inChild(t *testing.T, action string, args ...string) string {
	t.Helper()
	encoded, err := json.Marshal(args)
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(os.Args[0], "-test.run=^$")
	cmd.Env = append(os.Environ(), childEnv+"="+action, childArgsEnv+"="+string(encoded))
	var stderr strings.Builder
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("child %s %v: %v; stderr: %s", action, args, err, stderr.String())
	}
	return string(out)
}

// checkpoint copies the whole WAL into the database and truncates it, on the
// store's writer, so that the next commit starts the WAL afresh.
func checkpoint(store *db.SQLite) error {
	writer, _ := store.Pools()
	var busy, log, done int
	if err := writer.QueryRow("PRAGMA wal_checkpoint(TRUNCATE)").Scan(&busy, &log, &done); err != nil {
		return err
	}
	if busy != 0 {
		return fmt.Errorf("wal_checkpoint(TRUNCATE) busy: log %d, checkpointed %d", log, done)
	}
	return nil
}

// TestChangesCountsEveryCommit: Changes stays put while nothing commits (so
// a cache can be used) and moves on after a commit by the store's own writer
// and by another store on the file. (That store is in this process, sharing
// its -shm pages; TestSessionWithUserSeesOtherProcessCommits commits from
// another process.)
func TestChangesCountsEveryCommit(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	store := dbtest.Open(t)
	other, err := db.OpenSQLite(ctx, store.Path())
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
	// Warm up, as the data_version watch (not unix) needs: each of its
	// connections may count a change the first time it is asked.
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
		q    db.Querier
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
// store on the file while goroutines keep the session cache busy: the
// first lookup after each commit must see it, whichever lookups were in
// flight when it committed.
func TestSessionWithUserSeesEveryCommit(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	store := dbtest.Open(t)
	other, err := db.OpenSQLite(ctx, store.Path())
	if err != nil {
		t.Fatal(err)
	}
	defer other.Close()
	now := db.Now(time.Now())
	userID, hash := flipSession(t, store)

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
			Status: want, Role: "user", UpdatedAt: now, ID: userID}); err != nil {
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
	_, hash := flipSession(b, store)
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
	store, err := db.OpenSQLite(context.Background(), filepath.Join(t.TempDir(), "roster.db"))
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

// flipSession creates the user "flip", active, with a session, and returns
// the user's id and the session's token hash.
func flipSession(t testing.TB, store *db.SQLite) (int64, []byte) {
	t.Helper()
	ctx := context.Background()
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
	return user.ID, hash
}

// cachedStatus looks the session up twice, the second time with no commit
// in between, so that the cache holds the row, and returns the user's status.
func cachedStatus(t *testing.T, store *db.SQLite, hash []byte) string {
	t.Helper()
	var status string
	for range 2 {
		row, err := store.SessionWithUser(context.Background(), hash)
		if err != nil {
			t.Fatal(err)
		}
		status = row.User.Status
	}
	return status
}

// TestSessionWithUserSeesOtherProcessCommits: another OS process (this test
// binary, re-executed) commits while the session is cached; the first lookup
// after it has exited must see the commit, also when that process first
// checkpointed and truncated the WAL.
func TestSessionWithUserSeesOtherProcessCommits(t *testing.T) {
	t.Parallel()
	store := dbtest.Open(t)
	id, hash := flipSession(t, store)
	last := "active"
	for i, step := range []struct {
		status     string
		checkpoint bool
	}{{"disabled", false}, {"active", false}, {"disabled", true}, {"active", true}} {
		if got := cachedStatus(t, store, hash); got != last {
			t.Fatalf("step %d: status before the commit = %q, want %q", i, got, last)
		}
		args := []string{store.Path(), strconv.FormatInt(id, 10), step.status}
		if step.checkpoint {
			args = append(args, "checkpoint")
		}
		inChild(t, "set-status", args...)
		row, err := store.SessionWithUser(context.Background(), hash)
		if err != nil {
			t.Fatal(err)
		}
		if row.User.Status != step.status {
			t.Fatalf("step %d (checkpoint %v): lookup after another process committed saw status %q, want %q",
				i, step.checkpoint, row.User.Status, step.status)
		}
		last = step.status
	}
}

// TestSessionWithUserSeesCommitAfterCheckpoint: a truncating checkpoint
// restarts the WAL, so the next commit's frames start again at the front of
// the file; that commit must still reach the next lookup.
func TestSessionWithUserSeesCommitAfterCheckpoint(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	store := dbtest.Open(t)
	other, err := db.OpenSQLite(ctx, store.Path())
	if err != nil {
		t.Fatal(err)
	}
	defer other.Close()
	id, hash := flipSession(t, store)
	for i, commit := range []struct {
		name   string
		q      db.Querier
		status string
	}{{"another store", other.Write, "disabled"}, {"own writer", store.Write, "active"}} {
		cachedStatus(t, store, hash)
		if err := checkpoint(store); err != nil {
			t.Fatal(err)
		}
		if fi, err := os.Stat(store.Path() + "-wal"); err != nil {
			t.Fatal(err)
		} else if fi.Size() != 0 {
			t.Fatalf("after wal_checkpoint(TRUNCATE) the WAL is %d bytes, want 0", fi.Size())
		}
		cachedStatus(t, store, hash) // cached again under the checkpoint's header
		if _, err := commit.q.UpdateUser(ctx, db.UpdateUserParams{Username: "flip", UsernameKey: "flip",
			Status: commit.status, Role: "user", UpdatedAt: db.Now(time.Now()), ID: id}); err != nil {
			t.Fatal(err)
		}
		row, err := store.SessionWithUser(ctx, hash)
		if err != nil {
			t.Fatal(err)
		}
		if row.User.Status != commit.status {
			t.Fatalf("commit %d by the %s after a checkpoint: lookup saw status %q, want %q",
				i, commit.name, row.User.Status, commit.status)
		}
	}
}

// BenchmarkChangesParallel is the check made by concurrent requests.
func BenchmarkChangesParallel(b *testing.B) {
	store := dbtest.Open(b)
	b.ReportAllocs()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			if _, err := store.Changes(); err != nil {
				b.Error(err)
				return
			}
		}
	})
}
