package db

import (
	"context"
	"database/sql"
	"database/sql/driver"
	"errors"
	"fmt"
	"net/url"
	"runtime"
	"strconv"
	"strings"
	"time"

	"github.com/pressly/goose/v3"
	sqlite3 "modernc.org/sqlite/lib"

	"roster/sql/schema"
)

// MinSQLiteVersion is the oldest SQLite roster runs on: 3.51.3 fixes a WAL-reset
// bug that can corrupt a database written by concurrent connections.
const MinSQLiteVersion = "3.51.3"

// pragmas are set on every pooled connection through the DSN, so none depends
// on which connection database/sql hands out. synchronous=FULL makes a commit
// durable across power loss, not only a process crash.
//
// journal_size_limit: a checkpoint that has copied the whole WAL lets the
// next writer start the WAL again from its front, but the file keeps the
// largest size it ever grew to, until the last connection closes. With the
// limit SQLite truncates it to 4 MiB at that restart, about what it grows to
// between automatic checkpoints (1000 pages of 4 KiB), so the space a burst
// took (a large import; a backlog while a full volume held up checkpoints) is
// given back to the volume rather than kept, and steady work does not shrink
// and regrow the file at every checkpoint.
const pragmas = "_pragma=busy_timeout(" + busyTimeoutMS + ")&_pragma=journal_mode(WAL)" +
	"&_pragma=foreign_keys(1)&_pragma=synchronous(FULL)&_pragma=journal_size_limit(4194304)" +
	"&_time_format=sqlite"

// busyTimeoutMS is how long, in milliseconds, a statement waits for a lock
// another connection holds.
const busyTimeoutMS = "10000"

// dsn is the modernc.org/sqlite data source name for the file at path.
func dsn(path, query string) string {
	return "file:" + (&url.URL{Path: path}).EscapedPath() + "?" + query
}

// SQLite is an open SQLite roster database, the Engine of a Store: one
// writer connection, whose transactions begin IMMEDIATE so concurrent
// writers queue instead of failing with "database is locked", and a pool of
// readers that WAL lets run beside it. What only SQLite has (Backup, Path,
// Pools, Changes, the WAL checkpoint) is reached through this type.
type SQLite struct {
	// Read runs queries on the reader pool.
	Read Querier
	// Write runs single statements on the writer connection; use Tx for more.
	Write Querier
	// Stats runs slow aggregate reads (metrics) on one connection of their
	// own, opened on first use and closed after a minute idle: however long
	// they take, they never hold a reader that requests need.
	Stats Querier

	read, write *Queries // Read and Write, with their prepared statements

	reader     *sql.DB
	writer     *sql.DB
	stats      *sql.DB
	watch      *changeWatch
	sessions   sessionCache
	path       string
	migrations *goose.Provider // on the reader pool: it only reads the version table
	health     storageHealth
}

// OpenSQLite opens (creating if needed) the database at path, checks the
// SQLite version and applies any pending migrations. On unix it also maps
// the database's -shm file for Changes, and fails if it cannot.
//
// On a full volume Open works while the WAL and -shm files are there (left
// by a process killed or unable to checkpoint at exit, or open in another
// one); Writable then tells whether the store can write. Without them Open
// must create the -shm file, and fails with an error wrapping
// ErrStorageUnavailable: the caller exits, and a restart once space returns
// succeeds.
func OpenSQLite(ctx context.Context, path string) (_ *SQLite, err error) {
	if path == "" {
		return nil, errors.New("db: empty database path")
	}
	defer func() {
		// SQLITE_CANTOPEN here is far more often a wrong path or
		// permission than a full volume: it stays as it is.
		code, _ := sqliteCode(err)
		if IsStorageUnavailable(err) && code&0xff != sqlite3.SQLITE_CANTOPEN && !errors.Is(err, ErrStorageUnavailable) {
			err = fmt.Errorf("%w: %w", ErrStorageUnavailable, err)
		}
	}()
	// Until Open returns, no store closing in this process closes its -shm
	// file: this one may have connections on the same file already.
	defer holdShmFiles()()
	base := dsn(path, pragmas)
	writer, err := sql.Open("sqlite", base+"&_txlock=immediate")
	if err != nil {
		return nil, err
	}
	writer.SetMaxOpenConns(1)
	writer.SetMaxIdleConns(1)
	writer.SetConnMaxLifetime(0)
	writer.SetConnMaxIdleTime(0)

	s := &SQLite{writer: writer, path: path}
	s.health.init()
	if err := s.init(ctx); err != nil {
		s.health.close()
		writer.Close()
		return nil, err
	}
	// Every statement is prepared once per connection and reused: parsing SQL
	// was a third of the time of a session lookup.
	if s.write, err = Prepare(ctx, writer); err != nil {
		s.health.close()
		writer.Close()
		return nil, err
	}
	s.Write = s.write

	reader, err := sql.Open("sqlite", base+"&_pragma=query_only(1)")
	if err != nil {
		s.health.close()
		writer.Close()
		return nil, err
	}
	// Enough readers that concurrent requests seldom queue for a connection:
	// GET /v1/me at 32 connections on 2 cores went from ~26,800 to ~31,400
	// requests/s with 8 readers instead of 4 (16: 32,600; 32: 33,800). Each
	// reader's page cache can grow to 2 MiB, which bounds how far to go.
	readers := max(8, runtime.GOMAXPROCS(0)*4)
	reader.SetMaxOpenConns(readers)
	reader.SetMaxIdleConns(readers)
	s.reader = reader
	if s.stats, err = sql.Open("sqlite", base+"&_pragma=query_only(1)"); err != nil {
		s.Close()
		return nil, err
	}
	s.stats.SetMaxOpenConns(1)
	s.stats.SetConnMaxIdleTime(time.Minute)
	s.Stats = New(s.stats)
	if s.read, err = Prepare(ctx, reader); err != nil {
		s.Close()
		return nil, fmt.Errorf("db: open reader: %w", err)
	}
	s.Read = s.read
	if s.watch, err = openChangeWatch(ctx, reader.Driver(), base+"&_pragma=query_only(1)"); err != nil {
		s.Close()
		return nil, fmt.Errorf("db: open change watch: %w", err)
	}
	if s.migrations, err = goose.NewProvider(goose.DialectSQLite3, reader, schema.FS, goMigrations()); err != nil {
		s.Close()
		return nil, fmt.Errorf("db: migrations: %w", err)
	}
	return s, nil
}

// init checks the SQLite library and brings the schema up to date on the
// writer connection.
func (s *SQLite) init(ctx context.Context) error {
	version, err := New(s.writer).SQLiteVersion(ctx)
	if err != nil {
		return fmt.Errorf("db: open %w", err)
	}
	if !versionAtLeast(version, MinSQLiteVersion) {
		return fmt.Errorf("db: SQLite %s is older than the required %s", version, MinSQLiteVersion)
	}
	provider, err := goose.NewProvider(goose.DialectSQLite3, s.writer, schema.FS, goMigrations())
	if err != nil {
		return fmt.Errorf("db: migrations: %w", err)
	}
	if _, err := provider.Up(ctx); err != nil {
		return fmt.Errorf("db: migrate: %w", err)
	}
	return nil
}

// versionAtLeast compares dotted numeric versions such as "3.51.3".
func versionAtLeast(have, want string) bool {
	h, w := strings.Split(have, "."), strings.Split(want, ".")
	for i := range w {
		var hv int
		if i < len(h) {
			hv, _ = strconv.Atoi(h[i])
		}
		wv, _ := strconv.Atoi(w[i])
		if hv != wv {
			return hv > wv
		}
	}
	return true
}

// Close closes both pools; the WAL is checkpointed when the last connection closes.
func (s *SQLite) Close() error {
	var errs []error
	s.health.close() // its recovery loop writes
	// The change watch stops first, while the store's connections still
	// hold the -shm file open, and lets go of the file last.
	if s.watch != nil {
		errs = append(errs, s.watch.close())
	}
	if s.read != nil {
		errs = append(errs, s.read.Close())
	}
	if s.reader != nil {
		errs = append(errs, s.reader.Close())
	}
	if s.stats != nil {
		errs = append(errs, s.stats.Close())
	}
	errs = append(errs, s.write.Close(), s.writer.Close())
	if s.watch != nil {
		errs = append(errs, s.watch.release())
	}
	return errors.Join(errs...)
}

// Tx runs fn in one write transaction (BEGIN IMMEDIATE) and commits if fn
// returns nil. Keep fn short: no hashing, mail or network inside it.
func (s *SQLite) Tx(ctx context.Context, fn func(q Querier) error) error {
	return s.tx(ctx, s.writer, fn)
}

// TxRowLocks implements Engine: SQLite's one writer already serializes every
// transaction, so it is Tx, or TxNoSync when noSync.
func (s *SQLite) TxRowLocks(ctx context.Context, noSync bool, fn func(q Querier) error) error {
	if noSync {
		return s.TxNoSync(ctx, fn)
	}
	return s.Tx(ctx, fn)
}

// TxNoSync is Tx with a commit that does not wait for the disk: it is
// visible to every connection at once and survives a crash of the process,
// but survives power loss only once a commit by Tx or Write follows, since
// that flushes the whole WAL, in order, with it. Use it only for a write
// that nothing acknowledged depends on: one whose caller always commits
// through Tx or Write before it answers (a login's throttle charge, taken
// before the hash and followed by the login's own transaction, its failure
// record or its refund), or one whose loss is harmless (a session's activity
// touch, which only makes the session look idle for longer). It saves that
// request one wait for the disk.
//
// synchronous cannot change inside a transaction, so it is lowered around
// this one on the writer connection and set back to FULL after; a connection
// that cannot be set back is closed instead (the commit stands), and its
// replacement gets FULL from the DSN.
func (s *SQLite) TxNoSync(ctx context.Context, fn func(q Querier) error) error {
	conn, err := s.writer.Conn(ctx)
	if err != nil {
		return err
	}
	defer conn.Close()
	defer func() {
		if _, err := conn.ExecContext(context.WithoutCancel(ctx), "PRAGMA synchronous = FULL"); err != nil {
			conn.Raw(func(any) error { return driver.ErrBadConn })
		}
	}()
	if _, err := conn.ExecContext(ctx, "PRAGMA synchronous = NORMAL"); err != nil {
		return err
	}
	// Bound to ctx, the transaction would be rolled back in the background
	// when ctx is cancelled, perhaps only after the restore above had failed
	// inside it. Unbound, it ends before the restore: fn's statements still
	// fail on a cancelled ctx, and ctx is checked again before the commit.
	return s.tx(context.WithoutCancel(ctx), conn, func(q Querier) error {
		if err := fn(q); err != nil {
			return err
		}
		return ctx.Err()
	})
}

// tx runs fn in a write transaction begun on b, the writer pool or its one
// connection.
func (s *SQLite) tx(ctx context.Context, b interface {
	BeginTx(context.Context, *sql.TxOptions) (*sql.Tx, error)
}, fn func(q Querier) error) (err error) {
	defer func() { s.noteStorage(err) }()
	tx, err := b.BeginTx(ctx, nil)
	if err != nil {
		return err
	}
	defer tx.Rollback() // if fn panics; a no-op once the transaction ended
	if err := fn(s.write.WithTx(tx)); err != nil {
		return errors.Join(err, tx.Rollback())
	}
	return tx.Commit()
}

// ReadTx runs fn in one read-only transaction on the reader pool, so every
// query in it sees the same snapshot of the database.
func (s *SQLite) ReadTx(ctx context.Context, fn func(q Querier) error) error {
	tx, err := s.reader.BeginTx(ctx, &sql.TxOptions{ReadOnly: true})
	if err != nil {
		return err
	}
	defer tx.Rollback()
	return fn(s.read.WithTx(tx))
}

// Ping checks that both pools answer.
func (s *SQLite) Ping(ctx context.Context) error {
	return errors.Join(s.writer.PingContext(ctx), s.reader.PingContext(ctx))
}

// Path is the database file's path as given to Open.
func (s *SQLite) Path() string { return s.path }

// ErrPendingMigrations means the database schema is older than this binary's.
var ErrPendingMigrations = errors.New("db: migrations pending")

// Ready checks that both pools answer, that every migration is applied and
// that the database can write (Writable).
func (s *SQLite) Ready(ctx context.Context) error {
	if err := s.Ping(ctx); err != nil {
		return err
	}
	pending, err := s.migrations.HasPending(ctx)
	if err != nil {
		return err
	}
	if pending {
		return ErrPendingMigrations
	}
	return s.Writable(ctx)
}

// Pools returns the writer and reader pools, for statistics and tests that
// inspect per-connection settings.
func (s *SQLite) Pools() (writer, reader *sql.DB) { return s.writer, s.reader }

// Now is the database's notion of a timestamp: UTC, whole seconds. With
// _time_format=sqlite every stored time then has one fixed-width text form,
// so SQL comparisons such as expires_at < ? order correctly.
func Now(t time.Time) time.Time { return t.UTC().Truncate(time.Second) }
