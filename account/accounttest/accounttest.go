// Package accounttest builds account services on real test databases.
package accounttest

import (
	"sync"
	"testing"
	"time"

	"roster/account"
	"roster/db"
	"roster/db/dbtest"
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
	return NewOn(tb, dbtest.Open(tb))
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
