// Package dbtest opens real, migrated SQLite databases for tests.
package dbtest

import (
	"context"
	"path/filepath"
	"testing"

	"roster/db"
)

// Open returns a fresh store on a file in tb's temporary directory, closed
// when the test ends.
func Open(tb testing.TB) *db.Store {
	tb.Helper()
	store, err := db.Open(context.Background(), filepath.Join(tb.TempDir(), "roster.db"))
	if err != nil {
		tb.Fatalf("db.Open: %v", err)
	}
	tb.Cleanup(func() {
		if err := store.Close(); err != nil {
			tb.Errorf("store.Close: %v", err)
		}
	})
	return store
}
