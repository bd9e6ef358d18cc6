// Package accounttest builds account services on real test databases.
package accounttest

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"roster/account"
	"roster/db"
	"roster/db/dbtest"
	_ "roster/db/pgstore" // db.Open's PostgreSQL engine
	"roster/db/pgtest"
)

// CheapParams make argon2id fast for tests that are not about hashing.
var CheapParams = account.Params{Memory: 64, Time: 1, Threads: 1, SaltLen: 16, KeyLen: 32}

// Clock is a settable test clock, safe for concurrent use.
type Clock struct {
	mu sync.Mutex
	t  time.Time
}

// NewClock returns a clock reading t.
func NewClock(t time.Time) *Clock { return &Clock{t: t} }

// Now returns the clock's time.
func (c *Clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

// Advance moves the clock forward by d.
func (c *Clock) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(d)
}

// New returns a service with default policy and lifetimes, cheap hashing and
// the real clock, on a fresh database.
func New(tb testing.TB) *account.Service {
	tb.Helper()
	return NewOn(tb, db.NewStore(dbtest.Open(tb)))
}

// NewOn is New on a given store, for tests that reopen a database file.
func NewOn(tb testing.TB, store *db.Store) *account.Service {
	tb.Helper()
	hasher, err := account.NewHasher(CheapParams, 4, 10*time.Second)
	if err != nil {
		tb.Fatal(err)
	}
	policy, _ := account.NewPolicy(account.DefaultMinPasswordLen)
	return &account.Service{Store: store, Hasher: hasher, Policy: policy,
		SessionTTL: account.DefaultSessionTTL, IdleTTL: account.DefaultIdleTTL, Now: time.Now}
}

// Engine is one database engine that tests run on.
type Engine struct {
	// Name is "sqlite" or "postgres", the subtest's name.
	Name string
	dsn  func(testing.TB) string
}

// DSN returns the location of a fresh, empty database of engine e, for
// db.Open: a file in the test's temporary directory, or a URL naming a
// fresh schema on the server pgtest.Env names.
func (e Engine) DSN(tb testing.TB) string {
	tb.Helper()
	return e.dsn(tb)
}

// Store opens a fresh database of engine e, closed when the test ends.
func (e Engine) Store(tb testing.TB) *db.Store {
	tb.Helper()
	store, err := db.Open(context.Background(), e.dsn(tb))
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

// New returns a service as the package-level New does, on a fresh database
// of engine e.
func (e Engine) New(tb testing.TB) *account.Service {
	tb.Helper()
	return NewOn(tb, e.Store(tb))
}

// The engines. Postgres's databases are migrated by db.Open (pgstore, which
// this package links in).
var (
	SQLite   = Engine{Name: "sqlite", dsn: func(tb testing.TB) string { return filepath.Join(tb.TempDir(), "roster.db") }}
	Postgres = Engine{Name: "postgres", dsn: pgtest.SchemaURL}
)

var skipOnce sync.Once

// Engines returns the engines to run on: SQLite, and PostgreSQL when
// pgtest.Env is set (a server that cannot be reached then fails the test
// that opens it). Without it, the test binary says so once on stderr.
func Engines() []Engine {
	if os.Getenv(pgtest.Env) == "" {
		skipOnce.Do(func() { fmt.Fprintln(os.Stderr, "accounttest: "+pgtest.SkipMessage+" (SQLite only)") })
		return []Engine{SQLite}
	}
	return []Engine{SQLite, Postgres}
}

// Run runs f as a subtest of t on each of Engines, named after it. f calls
// t.Parallel itself if it may run beside other tests.
func Run(t *testing.T, f func(t *testing.T, e Engine)) {
	t.Helper()
	for _, e := range Engines() {
		t.Run(e.Name, func(t *testing.T) { f(t, e) })
	}
}
