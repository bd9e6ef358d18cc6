package db_test

import (
	"context"
	"database/sql"
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
	store, err := db.OpenSQLite(ctx, src)
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
	copied, err := db.OpenSQLite(ctx, path)
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

// TestIntegrityCheckReportsDamage: a file that opens, with an index that no
// longer matches its table, fails the check with SQLite's findings.
func TestIntegrityCheckReportsDamage(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "damaged.db")
	conn, err := sql.Open("sqlite", "file:"+path)
	if err != nil {
		t.Fatal(err)
	}
	conn.SetMaxOpenConns(1)
	for _, stmt := range []string{
		"CREATE TABLE t (x INTEGER, y INTEGER)",
		"CREATE INDEX t_x ON t (x)",
		"INSERT INTO t VALUES (1, 10), (2, 20), (3, 30)",
		// The index holds x, but the schema now says it holds y.
		"PRAGMA writable_schema = ON",
		"UPDATE sqlite_schema SET sql = 'CREATE INDEX t_x ON t (y)' WHERE name = 't_x'",
	} {
		if _, err := conn.ExecContext(ctx, stmt); err != nil {
			t.Fatalf("%s: %v", stmt, err)
		}
	}
	conn.Close()
	err = db.IntegrityCheck(ctx, path)
	if err == nil || !strings.Contains(err.Error(), "failed: ") || !strings.Contains(err.Error(), "t_x") {
		t.Fatalf("IntegrityCheck on a damaged file: %v, want its findings about t_x", err)
	}
}
