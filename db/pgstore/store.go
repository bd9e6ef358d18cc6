package pgstore

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"hash/fnv"
	"math/rand/v2"
	"sync"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgtype"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/jackc/pgx/v5/stdlib"
	"github.com/pressly/goose/v3"
	"github.com/pressly/goose/v3/lock"

	"roster/db"
	"roster/db/pg"
	pgschema "roster/sql/postgres/schema"
)

func init() {
	db.RegisterPostgres(func(ctx context.Context, url string) (db.Engine, error) { return Open(ctx, url) })
}

// Store is roster's database on PostgreSQL, the PostgreSQL Engine of a
// db.Store: a pgx pool, every write transaction SERIALIZABLE.
type Store struct {
	pool       *pgxpool.Pool
	sqlDB      *sql.DB         // the pool through database/sql, for goose
	migrations *goose.Provider // without the lock: Ready only reads the version table
	q          *Queries        // for reading
	w          *Queries        // for writing outside a transaction: forgets the session cache

	// The session cache and its listener (sessioncache.go).
	sessions      sessionCache
	listenConfig  *pgx.ConnConfig
	startListener sync.Once
	listenerDone  chan struct{} // closed when the listener has stopped, if it started
	closing       context.Context
	close         context.CancelFunc
}

// maxTxAttempts bounds how often Tx runs a transaction that keeps failing
// to serialize. PostgreSQL's SSI locks index pages, not rows, so on small
// tables (the login throttle's, a young database's users) concurrent
// logins conflict although they touch different rows: under load a
// transaction may lose a dozen times before it wins.
const maxTxAttempts = 25

// maxTxPause bounds the random pause before a transaction runs again.
const maxTxPause = 100 * time.Millisecond

// Open connects to the PostgreSQL database url names (a postgres:// or
// postgresql:// URL; pgxpool's parameters apply, pool_max_conns among them)
// and applies any pending migrations (sql/postgres/schema). Migrations run
// under a session-level advisory lock, so replicas starting at once migrate
// once: the others wait for the lock, then find nothing pending. The lock's
// id depends on the search_path the URL sets, if any, so that databases in
// different schemas of one server (tests) do not wait for each other.
func Open(ctx context.Context, url string) (*Store, error) {
	cfg, err := pgxpool.ParseConfig(url)
	if err != nil {
		return nil, fmt.Errorf("pgstore: %w", err)
	}
	// timestamptz values come back in UTC, as SQLite's do, whatever the
	// process's local zone.
	cfg.AfterConnect = func(_ context.Context, c *pgx.Conn) error {
		c.TypeMap().RegisterType(&pgtype.Type{Name: "timestamptz", OID: pgtype.TimestamptzOID,
			Codec: &pgtype.TimestamptzCodec{ScanLocation: time.UTC}})
		return nil
	}
	pool, err := pgxpool.NewWithConfig(ctx, cfg)
	if err != nil {
		return nil, fmt.Errorf("pgstore: %w", err)
	}
	s := &Store{pool: pool, sqlDB: stdlib.OpenDBFromPool(pool), q: New(pool),
		listenConfig: cfg.ConnConfig, listenerDone: make(chan struct{})}
	s.closing, s.close = context.WithCancel(context.Background())
	s.w = New(writer{pool, &s.sessions})
	if err := s.migrate(ctx, cfg.ConnConfig.RuntimeParams["search_path"]); err != nil {
		s.Close()
		return nil, err
	}
	return s, nil
}

// migrate applies the pending migrations under the advisory lock.
func (s *Store) migrate(ctx context.Context, searchPath string) error {
	id := lock.DefaultLockID
	if searchPath != "" {
		h := fnv.New64a()
		h.Write([]byte(searchPath))
		id ^= int64(h.Sum64() >> 1)
	}
	// Probe for the lock every second for up to five minutes.
	locker, err := lock.NewPostgresSessionLocker(lock.WithLockID(id), lock.WithLockTimeout(1, 300))
	if err != nil {
		return fmt.Errorf("pgstore: migrations: %w", err)
	}
	up, err := goose.NewProvider(goose.DialectPostgres, s.sqlDB, pgschema.FS, goose.WithSessionLocker(locker))
	if err != nil {
		return fmt.Errorf("pgstore: migrations: %w", err)
	}
	if _, err := up.Up(ctx); err != nil {
		return fmt.Errorf("pgstore: migrate: %w", err)
	}
	if s.migrations, err = goose.NewProvider(goose.DialectPostgres, s.sqlDB, pgschema.FS); err != nil {
		return fmt.Errorf("pgstore: migrations: %w", err)
	}
	return nil
}

// Queriers implements db.Engine: every querier runs on the pool; Write's
// statements empty this replica's session cache.
func (s *Store) Queriers() (read, write, stats db.Querier) { return s.q, s.w, s.q }

// Tx runs fn in one SERIALIZABLE transaction and commits if fn returns nil.
// A transaction that fails to serialize (or is chosen to break a deadlock)
// is rolled back and run again, up to maxTxAttempts times in all, after a
// short random pause; fn must allow that (db.Engine.Tx).
//
// SQLite runs one write transaction at a time; SERIALIZABLE gives the same
// outcome here, which rules that read and then write in one transaction rely
// on: the last active admin (requireOtherAdmin counts the others, then
// demotes, disables or deletes), the login throttle's refund (it reads
// paid_until and the pair's failures, then lowers them; the charge runs in
// TxRowLocks and locks those rows instead), a lookalike
// username (UsernameSkeletonExists, then the insert or rename), single-use
// tokens (consumed, then acted on) and the import's audit of the ids above
// MaxUserID (no concurrent sign-up can commit an id in that range).
func (s *Store) Tx(ctx context.Context, fn func(q db.Querier) error) error {
	return s.tx(ctx, false, fn)
}

// TxNoSync is Tx whose commit does not wait for the WAL flush
// (synchronous_commit = off for this transaction only, PostgreSQL's
// analogue of SQLite's synchronous=NORMAL commit): it is visible at once and
// survives a crash of roster, but a crash of the server may lose it, until
// a later flushed commit, which flushes all WAL before it, has happened. The
// same rules of use as SQLite's TxNoSync apply.
func (s *Store) TxNoSync(ctx context.Context, fn func(q db.Querier) error) error {
	return s.tx(ctx, true, fn)
}

// TxRowLocks implements db.Engine: READ COMMITTED, run again only after a
// deadlock (which row locks taken in different orders can cause).
func (s *Store) TxRowLocks(ctx context.Context, noSync bool, fn func(q db.Querier) error) error {
	return s.txAt(ctx, pgx.ReadCommitted, noSync, fn)
}

func (s *Store) tx(ctx context.Context, noSync bool, fn func(q db.Querier) error) error {
	return s.txAt(ctx, pgx.Serializable, noSync, fn)
}

func (s *Store) txAt(ctx context.Context, iso pgx.TxIsoLevel, noSync bool, fn func(q db.Querier) error) error {
	for attempt := 1; ; attempt++ {
		err := s.tx1(ctx, iso, noSync, fn)
		if !db.IsSerializationFailure(err) || attempt == maxTxAttempts {
			return err
		}
		// Full jitter over a window that doubles from 2 ms up to 100 ms:
		// under load, transactions that collided once tend to collide
		// again if they retry at the same pace.
		pause := time.Duration(rand.Int64N(int64(min(maxTxPause, 2*time.Millisecond<<(attempt-1)))))
		select {
		case <-ctx.Done():
			return errors.Join(err, ctx.Err())
		case <-time.After(pause):
		}
	}
}

func (s *Store) tx1(ctx context.Context, iso pgx.TxIsoLevel, noSync bool, fn func(q db.Querier) error) (err error) {
	tx, err := s.pool.BeginTx(ctx, pgx.TxOptions{IsoLevel: iso})
	if err != nil {
		return err
	}
	defer tx.Rollback(context.WithoutCancel(ctx)) // if fn panics; a no-op once the transaction ended
	if noSync {
		if err := pg.New(tx).SetLocalSynchronousCommitOff(ctx); err != nil {
			return err
		}
	}
	if err := fn(New(tx)); err != nil {
		return errors.Join(err, tx.Rollback(context.WithoutCancel(ctx)))
	}
	defer s.sessions.forget() // after the commit, whether or not it reports success
	return tx.Commit(ctx)
}

// ReadTx runs fn in one REPEATABLE READ, READ ONLY transaction: every query
// in it sees the snapshot taken at its first.
func (s *Store) ReadTx(ctx context.Context, fn func(q db.Querier) error) error {
	tx, err := s.pool.BeginTx(ctx, pgx.TxOptions{IsoLevel: pgx.RepeatableRead, AccessMode: pgx.ReadOnly})
	if err != nil {
		return err
	}
	defer tx.Rollback(context.WithoutCancel(ctx))
	return fn(New(tx))
}

// Ping checks that the server answers.
func (s *Store) Ping(ctx context.Context) error { return s.pool.Ping(ctx) }

// Ready checks that the server answers, that every migration is applied
// and that the database can write.
func (s *Store) Ready(ctx context.Context) error {
	if err := s.Ping(ctx); err != nil {
		return err
	}
	pending, err := s.migrations.HasPending(ctx)
	if err != nil {
		return err
	}
	if pending {
		return db.ErrPendingMigrations
	}
	return s.Writable(ctx)
}

// writableTimeout bounds Writable's probe.
const writableTimeout = 5 * time.Second

// Writable rewrites the one storage_probe row: it fails, with an error
// wrapping db.ErrStorageUnavailable, while the server's volume is full.
func (s *Store) Writable(ctx context.Context) error {
	ctx, cancel := context.WithTimeout(ctx, writableTimeout)
	defer cancel()
	err := s.q.UpdateStorageProbe(ctx, db.Now(time.Now()))
	if db.IsStorageUnavailable(err) {
		return fmt.Errorf("%w: %w", db.ErrStorageUnavailable, err)
	}
	return err
}

// Close stops the session cache's listener and closes the pool.
func (s *Store) Close() error {
	s.close()
	s.startListener.Do(func() { close(s.listenerDone) }) // never started: nothing to wait for
	<-s.listenerDone
	err := s.sqlDB.Close()
	s.pool.Close()
	return err
}
