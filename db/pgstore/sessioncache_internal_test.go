package pgstore

import (
	"context"
	"database/sql"
	"errors"
	"io"
	"net"
	"strconv"
	"sync"
	"testing"
	"time"

	"roster/db"
	"roster/db/pgtest"
)

// Two stores on one schema stand for two replicas: B ends or changes what A
// has cached, and A must stop answering from its cache within a second.

func openReplica(t *testing.T, url string) *Store {
	t.Helper()
	s, err := Open(context.Background(), url)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

// newSession creates an account and a session on s, returning the token hash
// and the account's id.
func newSession(t *testing.T, s *Store, name string) ([]byte, int64) {
	t.Helper()
	ctx := context.Background()
	now := db.Now(time.Now())
	u, err := s.q.CreateUser(ctx, db.CreateUserParams{Username: name, UsernameKey: name, PasswordHash: "x",
		Role: "user", CreatedAt: now})
	if err != nil {
		t.Fatal(err)
	}
	hash := []byte("token-hash-of-" + name)
	if err := s.q.CreateSession(ctx, db.CreateSessionParams{TokenHash: hash, ID: name, UserID: u.ID,
		CreatedAt: now, ExpiresAt: now.Add(time.Hour)}); err != nil {
		t.Fatal(err)
	}
	return hash, u.ID
}

// cached waits until s answers hash from its cache (its listener has heard
// its first heartbeat), failing the test after 10 s.
func cached(t *testing.T, s *Store, hash []byte) {
	t.Helper()
	for deadline := time.Now().Add(10 * time.Second); time.Now().Before(deadline); time.Sleep(20 * time.Millisecond) {
		before, _ := s.SessionCacheStats()
		if _, err := s.SessionWithUser(context.Background(), hash); err != nil {
			t.Fatal(err)
		}
		if after, _ := s.SessionCacheStats(); after > before {
			return
		}
	}
	t.Fatal("the session cache answered nothing within 10 s")
}

// refusedWithin polls s until check accepts its answer for hash, failing the
// test if that takes a second or more, and returns how long it took.
func refusedWithin(t *testing.T, s *Store, hash []byte, what string, check func(db.GetSessionWithUserRow, error) bool) time.Duration {
	t.Helper()
	start := time.Now()
	for {
		row, err := s.SessionWithUser(context.Background(), hash)
		if check(row, err) {
			return time.Since(start)
		}
		if time.Since(start) >= time.Second {
			t.Fatalf("%s: still answered %+v, %v after 1 s", what, row.User, err)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

func TestSessionCacheHearsOtherReplicas(t *testing.T) {
	t.Parallel()
	url := pgtest.SchemaURL(t)
	a, b := openReplica(t, url), openReplica(t, url)
	ctx := context.Background()
	hash, id := newSession(t, b, "ann")
	cached(t, a, hash)

	// An account change on B (a disable is an UPDATE of users).
	if _, err := b.q.UpdateUserPasswordHash(ctx, db.UpdateUserPasswordHashParams{PasswordHash: "y", UpdatedAt: db.Now(time.Now()), ID: id}); err != nil {
		t.Fatal(err)
	}
	took := refusedWithin(t, a, hash, "account changed on B", func(row db.GetSessionWithUserRow, err error) bool {
		return err == nil && row.User.PasswordHash == "y"
	})
	t.Logf("account change seen by A after %s", took)

	// A logout on B.
	cached(t, a, hash)
	if _, err := b.q.DeleteSession(ctx, hash); err != nil {
		t.Fatal(err)
	}
	took = refusedWithin(t, a, hash, "session deleted on B", func(_ db.GetSessionWithUserRow, err error) bool {
		return errors.Is(err, sql.ErrNoRows)
	})
	t.Logf("logout seen by A after %s", took)

	// A change in another schema of the same server is not A's concern.
	other := openReplica(t, pgtest.SchemaURL(t))
	hash2, _ := newSession(t, a, "bob")
	cached(t, a, hash2)
	otherHash, _ := newSession(t, other, "bob")
	if _, err := other.q.DeleteSession(ctx, otherHash); err != nil {
		t.Fatal(err)
	}
	time.Sleep(100 * time.Millisecond)
	if _, err := a.SessionWithUser(ctx, hash2); err != nil {
		t.Fatalf("bob's session in A's schema after a delete in another schema: %v", err)
	}
}

// A replica's own writes empty its cache at once: a request right after a
// logout here is refused without waiting for the notification.
func TestSessionCacheForgetsOwnWrites(t *testing.T) {
	t.Parallel()
	a := openReplica(t, pgtest.SchemaURL(t))
	ctx := context.Background()
	_, write, _ := a.Queriers()
	hash, _ := newSession(t, a, "ann")
	cached(t, a, hash)
	if _, err := write.DeleteSession(ctx, hash); err != nil {
		t.Fatal(err)
	}
	if _, err := a.SessionWithUser(ctx, hash); !errors.Is(err, sql.ErrNoRows) {
		t.Fatalf("right after a logout through Write: err = %v, want sql.ErrNoRows", err)
	}
	hash, _ = newSession(t, a, "bob")
	cached(t, a, hash)
	if err := a.Tx(ctx, func(q db.Querier) error { _, err := q.DeleteSession(ctx, hash); return err }); err != nil {
		t.Fatal(err)
	}
	if _, err := a.SessionWithUser(ctx, hash); !errors.Is(err, sql.ErrNoRows) {
		t.Fatalf("right after a logout in a transaction: err = %v, want sql.ErrNoRows", err)
	}
}

// TestSessionCacheDistrustsASilentListener: the listener's connection stops
// carrying anything without failing (a partition, a stalled proxy), so no
// notification of B's logout reaches A; A must still refuse the session
// within a second. When the connection is cut, a new listener takes over and
// the cache serves again.
func TestSessionCacheDistrustsASilentListener(t *testing.T) {
	t.Parallel()
	url := pgtest.SchemaURL(t)
	a, b := openReplica(t, url), openReplica(t, url)
	proxy := startProxy(t, net.JoinHostPort(a.listenConfig.Host, strconv.Itoa(int(a.listenConfig.Port))))
	host, port, _ := net.SplitHostPort(proxy.addr)
	p, _ := strconv.Atoi(port)
	a.listenConfig.Host, a.listenConfig.Port = host, uint16(p)
	a.listenConfig.Fallbacks = nil

	ctx := context.Background()
	hash, _ := newSession(t, b, "ann")
	cached(t, a, hash)
	proxy.freeze()
	if _, err := b.q.DeleteSession(ctx, hash); err != nil {
		t.Fatal(err)
	}
	took := refusedWithin(t, a, hash, "session deleted on B, A's listener silent", func(_ db.GetSessionWithUserRow, err error) bool {
		return errors.Is(err, sql.ErrNoRows)
	})
	t.Logf("logout seen by A with a silent listener after %s", took)

	proxy.cut() // the stalled connections fail; the listener connects again
	hash2, _ := newSession(t, b, "bob")
	cached(t, a, hash2)
}

// proxy forwards loopback TCP connections to a server. freeze stops
// forwarding without closing anything; cut closes every connection and
// forwards new ones again.
type proxy struct {
	addr   string
	mu     sync.Mutex
	frozen chan struct{} // closed while forwarding
	conns  []net.Conn
}

func startProxy(t *testing.T, target string) *proxy {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	p := &proxy{addr: ln.Addr().String(), frozen: make(chan struct{})}
	close(p.frozen)
	t.Cleanup(func() { ln.Close(); p.cut() })
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			s, err := net.Dial("tcp", target)
			if err != nil {
				c.Close()
				continue
			}
			p.mu.Lock()
			p.conns = append(p.conns, c, s)
			p.mu.Unlock()
			go p.pipe(c, s)
			go p.pipe(s, c)
		}
	}()
	return p
}

func (p *proxy) pipe(dst, src net.Conn) {
	buf := make([]byte, 32<<10)
	for {
		n, err := src.Read(buf)
		p.mu.Lock()
		gate := p.frozen
		p.mu.Unlock()
		<-gate
		if n > 0 {
			if _, werr := dst.Write(buf[:n]); werr != nil {
				return
			}
		}
		if err != nil {
			if err != io.EOF {
				dst.Close()
			}
			return
		}
	}
}

func (p *proxy) freeze() {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.frozen = make(chan struct{})
}

func (p *proxy) cut() {
	p.mu.Lock()
	defer p.mu.Unlock()
	for _, c := range p.conns {
		c.Close()
	}
	p.conns = nil
	select {
	case <-p.frozen:
	default:
		close(p.frozen)
	}
}
