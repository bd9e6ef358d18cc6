package db_test

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"roster/db"
)

func TestBackup(t *testing.T) {
	ctx := context.Background()
	src := filepath.Join(t.TempDir(), "roster.db")
	store, err := db.Open(ctx, src)
	if err != nil {
		t.Fatal(err)
	}
	defer store.Close()
	_, err = store.Write.CreateUser(ctx, db.CreateUserParams{Username: "ann", UsernameKey: "ann",
		PasswordHash: "x", Role: "user", CreatedAt: db.Now(time.Now())})
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(t.TempDir(), "copy.db")
	if err := db.Backup(ctx, src, path); err != nil {
		t.Fatalf("Backup: %v", err)
	}
	if fi, err := os.Stat(path); err != nil || fi.Mode().Perm() != 0o600 {
		t.Fatalf("backup file mode = %v (%v), want 0600: it holds every password hash", fi.Mode().Perm(), err)
	}
	copied, err := db.Open(ctx, path)
	if err != nil {
		t.Fatal(err)
	}
	defer copied.Close()
	if n, err := copied.Read.CountUsers(ctx); err != nil || n != 1 {
		t.Fatalf("CountUsers on the copy = %d, %v; want 1", n, err)
	}

	err = db.Backup(ctx, src, path)
	if err == nil || !strings.Contains(err.Error(), "already exists") {
		t.Fatalf("Backup over an existing file: err = %v, want already exists", err)
	}
	missingDst := filepath.Join(t.TempDir(), "copy.db")
	err = db.Backup(ctx, filepath.Join(t.TempDir(), "missing.db"), missingDst)
	if err == nil {
		t.Fatal("Backup of a missing database: err = nil, want an error")
	}
	if _, err := os.Stat(missingDst); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("a failed backup left %s behind: %v", missingDst, err)
	}
}

func TestIntegrityCheckRefusesGarbage(t *testing.T) {
	path := filepath.Join(t.TempDir(), "garbage.db")
	if err := os.WriteFile(path, []byte(strings.Repeat("not a database ", 512)), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := db.IntegrityCheck(context.Background(), path); err == nil {
		t.Fatal("IntegrityCheck on a garbage file: err = nil, want an error")
	}
}
