package pgstore

import (
	"context"
	"encoding/hex"
	"errors"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgxpool"

	"roster/db"
	"roster/db/pg"
)

// The session cache on PostgreSQL. Each replica keeps the sessions it looked
// up, and learns which went stale from the notifications of migration
// 00055's triggers, which every replica's listener receives on its own
// connection (LISTEN roster_sessions). A cached row is served only while the
// listener is known to be hearing everything: the listener sends a
// heartbeat notification to itself every heartbeatEvery, and since
// notifications arrive in commit order, its return proves that every change
// committed before it was sent has been heard of. The cache trusts itself
// for trustFor after the send time of the last heartbeat that came back, so
// a session ended on any replica is refused here within trustFor plus the
// notification's delivery, even when the listener's connection hangs
// without an error. When the listener fails the cache is emptied and stays
// unused until a new listener has heard its first heartbeat.
const (
	sessionCacheSize = 10_000
	heartbeatEvery   = 200 * time.Millisecond
	trustFor         = 500 * time.Millisecond
	// heartbeatTimeout is how long the listener waits for its heartbeat
	// before it gives its connection up and connects again.
	heartbeatTimeout = 2 * time.Second
	maxListenBackoff = 2 * time.Second
)

type sessionCache struct {
	mu sync.Mutex
	// gen changes with every change heard of and every listener failure: a
	// row read from the database is cached only if gen did not change while
	// it was read, so no notification can slip between the read and the put.
	gen     uint64
	heardAt time.Time // when the last heartbeat that came back was sent; zero while not listening
	rows    map[string]db.GetSessionWithUserRow

	hits, misses uint64
}

// trusted reports whether cached rows may be served at now. Call with mu held.
func (c *sessionCache) trusted(now time.Time) bool {
	return !c.heardAt.IsZero() && now.Sub(c.heardAt) < trustFor
}

// get returns the cached row for hash if the cache is trusted, and the
// generation that a row read from the database must be put with.
func (c *sessionCache) get(hash []byte) (row db.GetSessionWithUserRow, gen uint64, ok bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.trusted(time.Now()) {
		row, ok = c.rows[string(hash)]
	}
	if ok {
		c.hits++
	} else {
		c.misses++
	}
	return row, c.gen, ok
}

func (c *sessionCache) put(gen uint64, hash []byte, row db.GetSessionWithUserRow) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if gen != c.gen || !c.trusted(time.Now()) {
		return
	}
	if c.rows == nil || len(c.rows) >= sessionCacheSize {
		c.rows = make(map[string]db.GetSessionWithUserRow)
	}
	c.rows[string(hash)] = row
}

// heard applies one notification's payload (without its schema): "s
// <token_hash hex>" drops a session, "u <id>" an account's sessions.
func (c *sessionCache) heard(payload string) {
	kind, key, _ := strings.Cut(payload, " ")
	c.mu.Lock()
	defer c.mu.Unlock()
	c.gen++
	switch kind {
	case "s":
		if hash, err := hex.DecodeString(key); err == nil {
			delete(c.rows, string(hash))
			return
		}
	case "u":
		if id, err := strconv.ParseInt(key, 10, 64); err == nil {
			for k, row := range c.rows {
				if row.User.ID == id {
					delete(c.rows, k)
				}
			}
			return
		}
	}
	c.rows = nil // not understood: forget everything
}

// heartbeat records that a heartbeat sent at sentAt came back.
func (c *sessionCache) heartbeat(sentAt time.Time) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.heardAt = sentAt
}

// forget empties the cache after this replica wrote: its own commits reach
// its listener no sooner than the others', and a request that follows a
// logout here must be refused at once. SQLite's cache does the same after
// any commit.
func (c *sessionCache) forget() {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.gen++
	c.rows = nil
}

// writer is the pool as the Write querier runs statements on it: once a
// statement has run, the cache forgets everything (transactions do the same
// after their commit, in tx1).
type writer struct {
	pool  *pgxpool.Pool
	cache *sessionCache
}

func (w writer) Exec(ctx context.Context, sql string, args ...any) (pgconn.CommandTag, error) {
	defer w.cache.forget()
	return w.pool.Exec(ctx, sql, args...)
}

func (w writer) Query(ctx context.Context, sql string, args ...any) (pgx.Rows, error) {
	rows, err := w.pool.Query(ctx, sql, args...)
	if err != nil {
		w.cache.forget()
		return rows, err
	}
	return forgettingRows{rows, w.cache}, nil
}

func (w writer) QueryRow(ctx context.Context, sql string, args ...any) pgx.Row {
	return forgettingRow{w.pool.QueryRow(ctx, sql, args...), w.cache}
}

// forgettingRows and forgettingRow forget once the statement's results are
// read, by when it has committed.
type forgettingRows struct {
	pgx.Rows
	cache *sessionCache
}

func (r forgettingRows) Close() {
	r.Rows.Close()
	r.cache.forget()
}

type forgettingRow struct {
	row   pgx.Row
	cache *sessionCache
}

func (r forgettingRow) Scan(dest ...any) error {
	defer r.cache.forget()
	return r.row.Scan(dest...)
}

// deaf empties the cache when the listener stops hearing.
func (c *sessionCache) deaf() {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.gen++
	c.heardAt = time.Time{}
	c.rows = nil
}

// SessionCacheStats returns how many SessionWithUser calls the cache
// answered and how many read the database.
func (s *Store) SessionCacheStats() (hits, misses uint64) {
	s.sessions.mu.Lock()
	defer s.sessions.mu.Unlock()
	return s.sessions.hits, s.sessions.misses
}

// SessionWithUser implements db.Engine from the session cache when it can
// (see above), else from the database. The listener starts with the first
// call, so that commands that never authenticate open no extra connection.
func (s *Store) SessionWithUser(ctx context.Context, tokenHash []byte) (db.GetSessionWithUserRow, error) {
	s.startListener.Do(func() { go s.listen() })
	row, gen, ok := s.sessions.get(tokenHash)
	if ok {
		return row, nil
	}
	row, err := s.q.GetSessionWithUser(ctx, tokenHash)
	if err == nil {
		s.sessions.put(gen, tokenHash, row)
	}
	return row, err
}

// listen keeps a listener running until the store closes, connecting again
// after each failure with a growing pause.
func (s *Store) listen() {
	defer close(s.listenerDone)
	backoff := 50 * time.Millisecond
	for s.closing.Err() == nil {
		heard := s.listenOnce(s.closing)
		s.sessions.deaf()
		if heard {
			backoff = 50 * time.Millisecond
		}
		select {
		case <-s.closing.Done():
		case <-time.After(backoff):
		}
		backoff = min(2*backoff, maxListenBackoff)
	}
}

// listenOnce runs one listener connection until it fails; heard reports
// whether any heartbeat came back on it.
func (s *Store) listenOnce(ctx context.Context) (heard bool) {
	setup, cancel := context.WithTimeout(ctx, heartbeatTimeout)
	defer cancel()
	conn, err := pgx.ConnectConfig(setup, s.listenConfig.Copy())
	if err != nil {
		return false
	}
	defer conn.Close(context.WithoutCancel(ctx))
	q := pg.New(conn)
	schema, err := q.CurrentSchema(setup)
	if err != nil {
		return false
	}
	if err := q.ListenSessionChanges(setup); err != nil {
		return false
	}
	prefix, pid := schema+" ", conn.PgConn().PID()
	for {
		sentAt := time.Now()
		if err := q.NotifySessionHeartbeat(ctx); err != nil {
			return heard
		}
		back := false
		for next := sentAt.Add(heartbeatEvery); !back || time.Now().Before(next); {
			deadline := next
			if !back {
				deadline = sentAt.Add(heartbeatTimeout)
			}
			wctx, cancel := context.WithDeadline(ctx, deadline)
			n, err := conn.WaitForNotification(wctx)
			cancel()
			if errors.Is(err, context.DeadlineExceeded) && ctx.Err() == nil && back {
				break // quiet since the heartbeat came back: send the next
			}
			if err != nil {
				return heard // closing, heartbeat lost, or the connection failed
			}
			payload, ours := strings.CutPrefix(n.Payload, prefix)
			switch {
			case !ours:
			case payload == "h":
				if n.PID == pid {
					back, heard = true, true
					s.sessions.heartbeat(sentAt)
				}
			default:
				s.sessions.heard(payload)
			}
		}
	}
}
