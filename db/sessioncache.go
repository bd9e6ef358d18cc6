package db

import (
	"context"
	"sync"
)

// sessionCacheSize bounds the session cache: when full, it starts again empty.
const sessionCacheSize = 10_000

// sessionCache keeps recent session lookups. Every entry was read after
// Changes returned the cache's changes value, and is used only by a request
// whose own Changes check returns that same value.
type sessionCache struct {
	mu      sync.Mutex
	changes uint64
	rows    map[string]GetSessionWithUserRow // by token hash
}

// SessionWithUser is Read.GetSessionWithUser answered from memory while the
// database has not changed since the row was read, so a client that calls
// often costs one Changes check instead of a join. A logout,
// revocation, password change, disable or delete, by this process or another,
// is a commit, so the next request reads the database again. The row's
// pointer fields are shared between callers: treat them as read-only.
func (s *SQLite) SessionWithUser(ctx context.Context, tokenHash []byte) (GetSessionWithUserRow, error) {
	changes, err := s.Changes()
	if err != nil {
		return GetSessionWithUserRow{}, err
	}
	if row, ok := s.sessions.get(changes, tokenHash); ok {
		return row, nil
	}
	row, err := s.Read.GetSessionWithUser(ctx, tokenHash)
	if err != nil {
		return row, err
	}
	s.sessions.put(changes, tokenHash, row)
	return row, nil
}

func (c *sessionCache) get(changes uint64, hash []byte) (GetSessionWithUserRow, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if changes != c.changes {
		return GetSessionWithUserRow{}, false
	}
	row, ok := c.rows[string(hash)]
	return row, ok
}

func (c *sessionCache) put(changes uint64, hash []byte, row GetSessionWithUserRow) {
	c.mu.Lock()
	defer c.mu.Unlock()
	switch {
	case changes < c.changes:
		return // read before a change the cache already knows of
	case changes > c.changes || c.rows == nil || len(c.rows) >= sessionCacheSize:
		c.changes = changes
		c.rows = make(map[string]GetSessionWithUserRow)
	}
	c.rows[string(hash)] = row
}
