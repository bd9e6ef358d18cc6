// Package pgtest opens real, migrated PostgreSQL schemas for tests on the
// server that ROSTER_TEST_POSTGRES names (a postgres:// URL; .ci/run starts
// one). Without the variable, PostgreSQL tests skip; with it, a server that
// cannot be reached fails them.
package pgtest

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	neturl "net/url"
	"os"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/jackc/pgx/v5/stdlib"
	"github.com/pressly/goose/v3"

	pgschema "roster/sql/postgres/schema"
)

// Env is the variable that names the test server.
const Env = "ROSTER_TEST_POSTGRES"

// SkipMessage is what a PostgreSQL test says when it skips.
const SkipMessage = Env + " not set: PostgreSQL tests skipped"

// URL returns the test server's URL, or skips tb when Env is unset.
func URL(tb testing.TB) string {
	tb.Helper()
	url := os.Getenv(Env)
	if url == "" {
		tb.Skip(SkipMessage)
	}
	return url
}

// SchemaURL creates an empty schema with a fresh name on the test server
// and returns a URL whose connections work in it (search_path), for
// pgstore.Open or db.Open, which migrate it. The schema and everything in it
// are dropped when the test ends.
func SchemaURL(tb testing.TB) string {
	tb.Helper()
	name := createSchema(tb)
	u, err := WithSearchPath(URL(tb), name)
	if err != nil {
		tb.Fatalf("%s: %v", Env, err)
	}
	return u
}

// Open creates a schema with a fresh name on the test server, applies the
// PostgreSQL migrations (sql/postgres/schema) in it with goose, and returns
// a pool whose connections work in that schema. The schema and everything in
// it are dropped when the test ends.
func Open(tb testing.TB) *pgxpool.Pool {
	tb.Helper()
	name := createSchema(tb)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	cfg, err := pgxpool.ParseConfig(URL(tb))
	if err != nil {
		tb.Fatalf("%s: %v", Env, err)
	}
	cfg.ConnConfig.RuntimeParams["search_path"] = name
	pool, err := pgxpool.NewWithConfig(ctx, cfg)
	if err != nil {
		tb.Fatalf("pgxpool: %v", err)
	}
	tb.Cleanup(pool.Close) // before the schema is dropped: cleanups run last first

	sqlDB := stdlib.OpenDBFromPool(pool)
	defer sqlDB.Close()
	provider, err := goose.NewProvider(goose.DialectPostgres, sqlDB, pgschema.FS)
	if err != nil {
		tb.Fatalf("goose: %v", err)
	}
	if _, err := provider.Up(ctx); err != nil {
		tb.Fatalf("migrate schema %s: %v", name, err)
	}
	return pool
}

// createSchema creates an empty schema with a fresh name, dropped when the
// test ends, and returns its name.
func createSchema(tb testing.TB) string {
	tb.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	name, drop, err := NewSchema(ctx, URL(tb))
	if err != nil {
		tb.Fatalf("%s: %v", Env, err)
	}
	tb.Cleanup(func() {
		if err := drop(context.Background()); err != nil {
			tb.Errorf("drop schema %s: %v", name, err)
		}
	})
	return name
}

// NewSchema creates an empty schema with a fresh name on the server url
// names, and returns its name and a function that drops it with everything
// in it. The load harness uses it too, for a fresh database per run.
func NewSchema(ctx context.Context, url string) (name string, drop func(context.Context) error, err error) {
	admin, err := pgx.Connect(ctx, url)
	if err != nil {
		return "", nil, fmt.Errorf("cannot reach PostgreSQL: %w", err)
	}
	name = "roster_test_" + randomName()
	schema := pgx.Identifier{name}.Sanitize()
	if _, err := admin.Exec(ctx, "CREATE SCHEMA "+schema); err != nil {
		admin.Close(context.Background())
		return "", nil, fmt.Errorf("create schema %s: %w", name, err)
	}
	return name, func(ctx context.Context) error {
		defer admin.Close(context.Background())
		_, err := admin.Exec(ctx, "DROP SCHEMA "+schema+" CASCADE")
		return err
	}, nil
}

// WithSearchPath is url with its connections working in schema.
func WithSearchPath(url, schema string) (string, error) {
	u, err := neturl.Parse(url)
	if err != nil {
		return "", err
	}
	q := u.Query()
	q.Set("search_path", schema)
	u.RawQuery = q.Encode()
	return u.String(), nil
}

// randomName is a lower-case suffix for names that must not collide between
// tests, or test runs, on one server.
func randomName() string {
	b := make([]byte, 8)
	rand.Read(b)
	return hex.EncodeToString(b)
}
