// Package dbtest opens real, migrated SQLite databases for tests.
package dbtest

import (
	"context"
	"path/filepath"
	"testing"

	"roster/db"
)

// Open returns a fresh SQLite store on a file in tb's temporary directory,
// closed when the test ends.
func Open(tb testing.TB) *db.SQLite {
	tb.Helper()
	store, err := db.OpenSQLite(context.Background(), filepath.Join(tb.TempDir(), "roster.db"))
	if err != nil {
		tb.Fatalf("db.OpenSQLite: %v", err)
	}
	tb.Cleanup(func() {
		if err := store.Close(); err != nil {
			tb.Errorf("store.Close: %v", err)
		}
	})
	return store
}
