//go:build !unix

// Outside unix (Windows), the change watch asks SQLite's PRAGMA data_version
// on connections of its own; changes_unix.go reads the -shm file instead.

package db

import (
	"context"
	"database/sql/driver"
	"errors"
	"runtime"
	"sync"
	"sync/atomic"
)

// dataVersionPragma changes its answer on a connection whenever another
// connection, in this process or another one, has committed since that
// connection last asked. On these systems it is the one statement outside
// sql/queries besides backup.go's: sqlc cannot parse a PRAGMA, and this check
// runs on every authenticated request, where going through database/sql would
// cost three times as much (1.4 µs against 4 µs per check with a request's
// context).
const dataVersionPragma = "PRAGMA data_version"

// changeWatch counts the commits to the database that the process has
// noticed, its own and those of other processes alike, by asking
// data_version on driver connections of its own that never write.
type changeWatch struct {
	driver driver.Driver
	dsn    string
	n      int
	idle   chan *watchConn
	count  atomic.Uint64
	// closing keeps connections from being handed out once close has begun;
	// close then waits for the ones in use.
	closing   atomic.Bool
	closeOnce sync.Once
}

// watchConn is one connection of the watch, used by one goroutine at a time,
// with the data_version it last answered.
type watchConn struct {
	conn driver.Conn
	stmt driver.StmtQueryContext
	last int64
	dest []driver.Value
}

// holdShmFiles is a no-op here: only the unix watch keeps a file open.
func holdShmFiles() (done func()) { return func() {} }

func openChangeWatch(_ context.Context, d driver.Driver, dsn string) (*changeWatch, error) {
	// As many connections as readers: with two, GET /v1/me (32 connections,
	// 2 cores, access log off) reached ~43,000 requests/s, with CPU idle while
	// requests queued for a check; with 8, ~53,000 (16: ~54,000).
	w := &changeWatch{driver: d, dsn: dsn, n: max(8, 4*runtime.GOMAXPROCS(0))}
	w.idle = make(chan *watchConn, w.n)
	for range w.n {
		c := &watchConn{last: -1, dest: make([]driver.Value, 1)}
		if err := w.connect(c); err != nil {
			w.n = len(w.idle)
			return nil, errors.Join(err, w.close())
		}
		w.idle <- c
	}
	return w, nil
}

// connect gives c a fresh connection and statement.
func (w *changeWatch) connect(c *watchConn) error {
	conn, err := w.driver.Open(w.dsn)
	if err != nil {
		return err
	}
	stmt, err := conn.Prepare(dataVersionPragma)
	if err != nil {
		return errors.Join(err, conn.Close())
	}
	c.conn, c.stmt = conn, stmt.(driver.StmtQueryContext)
	return nil
}

// changes is SQLite.Changes.
func (w *changeWatch) changes() (uint64, error) {
	c, ok := <-w.idle // never long: a check returns its connection within microseconds
	if !ok {
		return 0, errStoreClosed
	}
	defer func() { w.idle <- c }()
	if w.closing.Load() {
		return 0, errStoreClosed
	}
	v, err := c.dataVersion()
	if err != nil {
		// Replace the connection rather than fail every eighth check on it.
		c.disconnect()
		return 0, errors.Join(err, w.connect(c))
	}
	// A commit seen on this connection counts even if another connection
	// counted it already: an extra change only costs a cache one more read.
	if v != c.last {
		c.last = v
		w.count.Add(1)
	}
	return w.count.Load(), nil
}

func (c *watchConn) dataVersion() (int64, error) {
	if c.conn == nil {
		return 0, errors.New("db: change watch connection lost")
	}
	// No request context: the pragma does not wait for writers, and a
	// cancellable context would make the driver watch it from a goroutine.
	rows, err := c.stmt.QueryContext(context.Background(), nil)
	if err != nil {
		return 0, err
	}
	err = rows.Next(c.dest)
	if err := errors.Join(err, rows.Close()); err != nil {
		return 0, err
	}
	v, ok := c.dest[0].(int64)
	if !ok {
		return 0, errors.New("db: data_version is not an integer")
	}
	return v, nil
}

// disconnect closes c's connection; c.conn is nil until connect succeeds.
func (c *watchConn) disconnect() error {
	if c.conn == nil {
		return nil
	}
	err := errors.Join(c.stmt.(driver.Stmt).Close(), c.conn.Close())
	c.conn, c.stmt = nil, nil
	return err
}

// close waits for every connection, including those in use, closes them and
// makes later Changes calls fail instead of waiting.
func (w *changeWatch) close() error {
	var errs []error
	w.closeOnce.Do(func() {
		w.closing.Store(true)
		for range w.n {
			errs = append(errs, (<-w.idle).disconnect())
		}
		close(w.idle)
	})
	return errors.Join(errs...)
}

// release is a no-op here: the watch keeps no file of its own.
func (w *changeWatch) release() error { return nil }
