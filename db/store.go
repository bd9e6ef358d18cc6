package db

import (
	"context"
	"errors"
	"net/url"
	"strings"
	"sync"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
)

// Store is the database as account, outbox and http use it, on either
// engine: they call its queriers and Engine's methods and never learn which
// engine runs them. Read, Write and Stats are fields, not methods, because
// an engine's queriers are fixed for its lifetime.
type Store struct {
	// Read runs queries outside a transaction on connections for reading.
	Read Querier
	// Write runs single statements outside a transaction; use Tx for more.
	Write Querier
	// Stats runs slow aggregate reads (metrics) where they never hold a
	// connection that requests need.
	Stats Querier
	// Engine is the SQLite (*SQLite) or PostgreSQL (db/pgstore) store.
	Engine
}

// Engine is what each database engine provides. Keep it small: what only
// one engine has (SQLite's Backup, Path, Pools, Changes) stays on that
// engine's type.
type Engine interface {
	// Queriers returns the queriers that Store exposes as Read, Write and
	// Stats.
	Queriers() (read, write, stats Querier)
	// Tx runs fn in one write transaction and commits if fn returns nil. The
	// transaction is serializable: no other transaction's writes interleave
	// with fn's reads and writes. An engine may run fn again after a
	// serialization failure, so fn must set whatever it returns to its
	// caller afresh on every run, and keep effects outside the database
	// (mail, counters, reports) until Tx has returned nil. Keep fn short: no
	// hashing, mail or network inside it.
	Tx(ctx context.Context, fn func(q Querier) error) error
	// TxNoSync is Tx with a commit that does not wait for the disk. Use it
	// only for a write that nothing acknowledged depends on (see SQLite's).
	TxNoSync(ctx context.Context, fn func(q Querier) error) error
	// TxRowLocks runs fn in one write transaction that is not serializable
	// where an engine can do better: fn takes the row locks its rule needs
	// (the Lock… queries, which hold a row until the end) and reads nothing
	// else it relies on. On PostgreSQL it is READ COMMITTED, so that
	// transactions on different rows never fail to serialize because
	// PostgreSQL's SSI locked the same index page; SQLite's single writer
	// serializes every transaction anyway. noSync is TxNoSync's commit.
	TxRowLocks(ctx context.Context, noSync bool, fn func(q Querier) error) error
	// ReadTx runs fn in one read-only transaction: every query in it sees the
	// same snapshot.
	ReadTx(ctx context.Context, fn func(q Querier) error) error
	// SessionWithUser is Read.GetSessionWithUser, perhaps answered from a
	// cache that no commit outlives. The row's pointer fields may be shared
	// between callers: treat them as read-only.
	SessionWithUser(ctx context.Context, tokenHash []byte) (GetSessionWithUserRow, error)
	// Ping checks that the database answers.
	Ping(ctx context.Context) error
	// Ready checks that the database answers, that every migration is
	// applied (else ErrPendingMigrations) and that it can write (Writable).
	Ready(ctx context.Context) error
	// Writable reports whether the database can write: an error wrapping
	// ErrStorageUnavailable when its storage refuses writes.
	Writable(ctx context.Context) error
	// Close closes every connection.
	Close() error
	// Collectors report the connection pools' statistics, for metrics.
	Collectors() []prometheus.Collector
}

// NewStore returns the Store that runs on e.
func NewStore(e Engine) *Store {
	s := &Store{Engine: e}
	s.Read, s.Write, s.Stats = e.Queriers()
	return s
}

// Queriers implements Engine.
func (s *SQLite) Queriers() (read, write, stats Querier) { return s.Read, s.Write, s.Stats }

// Collectors implements Engine: database/sql's statistics of the writer
// and reader pools (go_sql_*, db_name "writer" and "reader").
func (s *SQLite) Collectors() []prometheus.Collector {
	return []prometheus.Collector{collectors.NewDBStatsCollector(s.writer, "writer"),
		collectors.NewDBStatsCollector(s.reader, "reader")}
}

// IsPostgresURL reports whether dsn names a PostgreSQL database (a
// postgres:// or postgresql:// URL) rather than a SQLite file.
func IsPostgresURL(dsn string) bool {
	return strings.HasPrefix(dsn, "postgres://") || strings.HasPrefix(dsn, "postgresql://")
}

// Redacted is dsn with the password of a PostgreSQL URL masked, for logs.
func Redacted(dsn string) string {
	if !IsPostgresURL(dsn) {
		return dsn
	}
	u, err := url.Parse(dsn)
	if err != nil {
		return "postgres://(unparsable URL)"
	}
	return u.Redacted()
}

var (
	postgresMu   sync.Mutex
	openPostgres func(ctx context.Context, url string) (Engine, error)
)

// RegisterPostgres is called by db/pgstore's init with its Open: package db
// cannot import it (pgstore imports db), so a binary that opens PostgreSQL
// databases imports pgstore, as a database/sql program imports its driver.
func RegisterPostgres(open func(ctx context.Context, url string) (Engine, error)) {
	postgresMu.Lock()
	defer postgresMu.Unlock()
	openPostgres = open
}

// Open opens the database dsn names: a PostgreSQL database for a
// postgres:// or postgresql:// URL (see db/pgstore.Open), else the SQLite
// file at that path (OpenSQLite). Either is migrated to this binary's schema.
func Open(ctx context.Context, dsn string) (*Store, error) {
	if IsPostgresURL(dsn) {
		postgresMu.Lock()
		open := openPostgres
		postgresMu.Unlock()
		if open == nil {
			return nil, errors.New("db: PostgreSQL is not linked into this program (import roster/db/pgstore)")
		}
		e, err := open(ctx, dsn)
		if err != nil {
			return nil, err
		}
		return NewStore(e), nil
	}
	e, err := OpenSQLite(ctx, dsn)
	if err != nil {
		return nil, err
	}
	return NewStore(e), nil
}
