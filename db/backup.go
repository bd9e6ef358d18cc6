package db

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"io/fs"
	"os"
)

// Backup's VACUUM INTO, the two PRAGMA synchronous statements of TxNoSync,
// storage.go's PRAGMA wal_checkpoint and busy_timeout statements and,
// outside unix, changes_other.go's PRAGMA data_version are the only SQL
// outside sql/queries: sqlc's SQLite grammar refuses a bound parameter in
// VACUUM INTO, and it skips PRAGMA statements without generating code for
// them.

// Backup writes a consistent copy of the database at src to the new file dst
// with VACUUM INTO, which reads one snapshot while other connections, such as
// a running server's, keep writing. Then it runs PRAGMA integrity_check on the
// copy. It refuses to overwrite dst, and removes the copy if the check fails.
// It opens src as it is, without applying migrations, so a backup taken
// before an upgrade holds the old schema.
func Backup(ctx context.Context, src, dst string) error {
	// Creating dst empty with O_EXCL refuses an existing file without a race,
	// and mode 0600 keeps the password hashes in the copy from other users:
	// VACUUM INTO fills an empty file and keeps its mode.
	f, err := os.OpenFile(dst, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if errors.Is(err, fs.ErrExist) {
		return fmt.Errorf("backup: %s already exists; choose a new file", dst)
	}
	if err != nil {
		return fmt.Errorf("backup: %w", err)
	}
	if err := f.Close(); err != nil {
		return fmt.Errorf("backup: %w", err)
	}
	conn, err := sql.Open("sqlite", dsn(src, "mode=rw&_pragma=busy_timeout(10000)"))
	if err != nil {
		os.Remove(dst)
		return err
	}
	defer conn.Close()
	if _, err := conn.ExecContext(ctx, "VACUUM INTO ?", dst); err != nil {
		return errors.Join(fmt.Errorf("backup of %s: %w", src, err), os.Remove(dst))
	}
	if err := IntegrityCheck(ctx, dst); err != nil {
		return errors.Join(err, os.Remove(dst))
	}
	return nil
}

// IntegrityCheck opens the database file at path read-only and runs SQLite's
// integrity_check on it.
func IntegrityCheck(ctx context.Context, path string) error {
	conn, err := sql.Open("sqlite", dsn(path, "mode=ro"))
	if err != nil {
		return err
	}
	defer conn.Close()
	problems, err := New(conn).IntegrityCheck(ctx)
	if err != nil {
		return fmt.Errorf("integrity check of %s: %w", path, err)
	}
	if problems != "ok" {
		return fmt.Errorf("integrity check of %s failed: %s", path, problems)
	}
	return nil
}
