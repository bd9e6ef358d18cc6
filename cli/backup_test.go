package cli

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"roster/db"
)

// TestBackupUnderWriteLoadRestores takes a backup with the backup command
// while writers keep committing users through their own store, as a running
// server would, then restores it (a copy in place of the database file) and
// finds every user committed before the backup began.
func TestBackupUnderWriteLoadRestores(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	live := filepath.Join(dir, "roster.db")
	store, err := db.Open(ctx, live)
	if err != nil {
		t.Fatal(err)
	}
	defer store.Close()

	var (
		mu        sync.Mutex
		committed []string
	)
	create := func(q db.Querier, name string) error {
		_, err := q.CreateUser(ctx, db.CreateUserParams{Username: name, UsernameKey: name,
			PasswordHash: "$argon2id$v=19$m=64,t=1,p=1$c2FsdHNhbHRzYWx0c2FsdA$a2V5a2V5a2V5a2V5a2V5a2V5a2V5a2V5a2V5a2V5a2U",
			Role:         "user", CreatedAt: db.Now(time.Now())})
		return err
	}
	// Enough rows that the copy takes a while.
	err = store.Tx(ctx, func(q db.Querier) error {
		for i := range 20000 {
			if err := create(q, fmt.Sprintf("seed%d", i)); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}

	stop := make(chan struct{})
	var wg sync.WaitGroup
	for w := range 2 {
		wg.Go(func() {
			for i := 0; ; i++ {
				select {
				case <-stop:
					return
				default:
				}
				name := fmt.Sprintf("w%d-%d", w, i)
				if err := create(store.Write, name); err != nil {
					t.Errorf("CreateUser %s: %v", name, err)
					return
				}
				mu.Lock()
				committed = append(committed, name)
				mu.Unlock()
			}
		})
	}
	// Let the writers commit some users, then note every user committed so far.
	for {
		mu.Lock()
		n := len(committed)
		mu.Unlock()
		if n >= 200 {
			break
		}
		time.Sleep(time.Millisecond)
	}
	mu.Lock()
	before := append([]string(nil), committed...)
	mu.Unlock()

	backup := filepath.Join(dir, "backup.db")
	var stdout bytes.Buffer
	if err := run(ctx, []string{"backup", "-db", live, backup}, env(nil), nil, &stdout, io.Discard); err != nil {
		t.Fatalf("roster backup: %v", err)
	}
	mu.Lock()
	during := len(committed) - len(before)
	mu.Unlock()
	close(stop)
	wg.Wait()
	if !strings.Contains(stdout.String(), "integrity check ok") {
		t.Errorf("roster backup printed %q, want the integrity check reported", stdout.String())
	}
	t.Logf("%s; %d users committed while it ran", strings.TrimSpace(stdout.String()), during)

	// Restore: stop, replace the file, start.
	restored := filepath.Join(t.TempDir(), "roster.db")
	b, err := os.ReadFile(backup)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(restored, b, 0o600); err != nil {
		t.Fatal(err)
	}
	rs, err := db.Open(ctx, restored)
	if err != nil {
		t.Fatalf("open the restored database: %v", err)
	}
	defer rs.Close()
	for _, name := range append(before, "seed0", "seed19999") {
		if _, err := rs.Read.GetUserByUsernameKey(ctx, name); err != nil {
			t.Fatalf("restored database: user %s, committed before the backup began: %v", name, err)
		}
	}

	if err := run(ctx, []string{"backup", "-db", live, backup}, env(nil), nil, io.Discard, io.Discard); err == nil ||
		!strings.Contains(err.Error(), "already exists") {
		t.Errorf("roster backup over an existing file: err = %v, want a refusal", err)
	}
}

// TestBackupRefusesPostgres: roster backup copies a SQLite file only, and
// says what backs up a PostgreSQL database instead, without connecting.
func TestBackupRefusesPostgres(t *testing.T) {
	t.Parallel()
	out := filepath.Join(t.TempDir(), "backup.db")
	err := run(t.Context(), []string{"backup", "-db", "postgres://roster:secret@127.0.0.1:1/roster", out},
		env(nil), nil, io.Discard, io.Discard)
	if err == nil || !strings.Contains(err.Error(), "pg_dump") || strings.Contains(err.Error(), "secret") {
		t.Fatalf("backup of a PostgreSQL URL: %v, want a refusal naming pg_dump", err)
	}
	if _, err := os.Stat(out); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("the backup file exists after the refusal (stat: %v)", err)
	}
}
