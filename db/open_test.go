package db_test

import (
	"context"
	"database/sql"
	"fmt"
	"path/filepath"
	"testing"
	"time"

	"roster/db"
	"roster/db/dbtest"
)

// TestPragmasOnEveryConnection holds every connection of both pools open at
// once, so each reports its own settings rather than one reused connection's.
func TestPragmasOnEveryConnection(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	store := dbtest.Open(t)
	writer, reader := store.Pools()
	for name, pool := range map[string]*sql.DB{"writer": writer, "reader": reader} {
		n := pool.Stats().MaxOpenConnections
		if name == "writer" && n != 1 {
			t.Errorf("writer pool allows %d connections, want 1", n)
		}
		var conns []*sql.Conn
		for range n {
			c, err := pool.Conn(ctx)
			if err != nil {
				t.Fatal(err)
			}
			conns = append(conns, c)
		}
		for i, c := range conns {
			var fk, sync, limit int
			var mode string
			if err := c.QueryRowContext(ctx, "PRAGMA foreign_keys").Scan(&fk); err != nil {
				t.Fatal(err)
			}
			c.QueryRowContext(ctx, "PRAGMA journal_mode").Scan(&mode)
			c.QueryRowContext(ctx, "PRAGMA synchronous").Scan(&sync)
			c.QueryRowContext(ctx, "PRAGMA journal_size_limit").Scan(&limit)
			if fk != 1 || mode != "wal" || sync != 2 || limit != 4<<20 {
				t.Errorf("%s connection %d: foreign_keys=%d journal_mode=%s synchronous=%d journal_size_limit=%d; want 1, wal, 2, %d",
					name, i, fk, mode, sync, limit, 4<<20)
			}
		}
		for _, c := range conns {
			c.Close()
		}
	}
}

func TestReaderPoolIsReadOnly(t *testing.T) {
	t.Parallel()
	_, reader := dbtest.Open(t).Pools()
	if _, err := reader.Exec("CREATE TABLE sneaky (x)"); err == nil {
		t.Error("the reader pool accepted a write")
	}
}

// TestStatsNeedsNoReader: Stats queries run on a connection of their own,
// so they answer while every reader connection is taken.
func TestStatsNeedsNoReader(t *testing.T) {
	t.Parallel()
	store := dbtest.Open(t)
	_, reader := store.Pools()
	for range reader.Stats().MaxOpenConnections {
		c, err := reader.Conn(t.Context())
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
	}
	ctx, cancel := context.WithTimeout(t.Context(), 2*time.Second)
	defer cancel()
	now := db.Now(time.Now())
	if n, err := store.Stats.CountLiveSessions(ctx, db.CountLiveSessionsParams{Now: now, IdleBefore: now}); n != 0 || err != nil {
		t.Errorf("Stats.CountLiveSessions with every reader taken = %d, %v; want 0, nil", n, err)
	}
}

func TestOpenIsIdempotentAndMigrates(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "x.db")
	for range 2 {
		store, err := db.OpenSQLite(ctx, path)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := store.Read.CountUsers(ctx); err != nil {
			t.Fatalf("users table missing after Open: %v", err)
		}
		store.Close()
	}
}

func TestUniqueAndForeignKeyErrorsMapByCode(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	store := dbtest.Open(t)
	p := db.CreateUserParams{Username: "a", UsernameKey: "a", PasswordHash: "x", Role: "user"}
	if _, err := store.Write.CreateUser(ctx, p); err != nil {
		t.Fatal(err)
	}
	if _, err := store.Write.CreateUser(ctx, p); !db.IsUniqueViolation(err) {
		t.Errorf("duplicate username_key: err = %v, want a unique violation", err)
	}
	err := store.Write.CreateSession(ctx, db.CreateSessionParams{TokenHash: []byte("h"), UserID: 999})
	if !db.IsForeignKeyViolation(err) {
		t.Errorf("session for a missing user: err = %v, want a foreign key violation", err)
	}
}

func BenchmarkQueries(b *testing.B) {
	ctx := context.Background()
	store := dbtest.Open(b)
	now := db.Now(time.Now())
	for i := range 1000 {
		name := fmt.Sprintf("user%d", i)
		if _, err := store.Write.CreateUser(ctx, db.CreateUserParams{Username: name, UsernameKey: name,
			PasswordHash: "x", Role: "user", CreatedAt: now}); err != nil {
			b.Fatal(err)
		}
	}
	b.Run("GetUserByUsernameKey", func(b *testing.B) {
		for b.Loop() {
			if _, err := store.Read.GetUserByUsernameKey(ctx, "user500"); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("GetUser", func(b *testing.B) {
		for b.Loop() {
			if _, err := store.Read.GetUser(ctx, 500); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("CreateUser", func(b *testing.B) {
		i := 0
		for b.Loop() {
			i++
			name := fmt.Sprintf("new%d", i)
			if _, err := store.Write.CreateUser(ctx, db.CreateUserParams{Username: name, UsernameKey: name,
				PasswordHash: "x", Role: "user", CreatedAt: now}); err != nil {
				b.Fatal(err)
			}
		}
	})
}
