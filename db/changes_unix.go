//go:build unix

package db

import (
	"context"
	"database/sql"
	"database/sql/driver"
	"errors"
	"fmt"
	"os"
	"slices"
	"sync"
	"sync/atomic"
	"unsafe"

	"golang.org/x/sys/unix"
)

// The change watch reads the WAL-index header that SQLite keeps at the start
// of the database's -shm file (https://www.sqlite.org/walformat.html, "The
// WAL-Index Header"), mapped read-only into this process: a check is a few
// dozen loads from memory under a read lock, with no system call and none of
// SQLite's locks.
//
// The header is 48 bytes, stored twice (offsets 0 and 48) and followed by the
// 40-byte checkpoint information: iVersion, unused, iChange, isInit,
// bigEndCksum, szPage, mxFrame, nPage, aFrameCksum[2], aSalt[2], aCksum[2], in
// native byte order. A commit writes it (walIndexWriteHdr, called by
// walFrames, which increments iChange for every commit) before the commit
// call returns: copy 1, a memory barrier, then copy 0. A checkpoint that
// restarts the WAL rewrites it with new salts, and recovery after a crashed
// writer rebuilds it; both only make the watch count a change that is none.
const (
	walIndexHdrSize  = 48
	walIndexHdrWords = walIndexHdrSize / 4
	// shmMinSize covers both copies of the header and the checkpoint
	// information; a shorter file is not an initialized wal-index.
	shmMinSize = 2*walIndexHdrSize + 40
)

// walIndexHdr is one copy of the WAL-index header, as 32-bit words. Only
// equality matters, so the fields are not decoded.
type walIndexHdr [walIndexHdrWords]uint32

// readWalIndexHdr reads both copies of the header at the start of shm, copy 0
// first, each word with an atomic load, so that neither the compiler nor the
// CPU makes a load of copy 1 happen before a load of copy 0: the reverse of
// the order in which a writer stores them. It reports torn when the copies
// differ, as they do while a writer is between its two stores (or after it
// died there). shm must hold at least shmMinSize bytes, 4-byte aligned.
func readWalIndexHdr(shm []byte) (hdr walIndexHdr, torn bool) {
	words := (*[2 * walIndexHdrWords]uint32)(unsafe.Pointer(unsafe.SliceData(shm[:2*walIndexHdrSize])))
	for i := range hdr {
		hdr[i] = atomic.LoadUint32(&words[i])
	}
	for i := range hdr {
		if atomic.LoadUint32(&words[walIndexHdrWords+i]) != hdr[i] {
			return hdr, true
		}
	}
	return hdr, false
}

// changedSince reads the header in shm and reports whether it counts as a
// change since seen was recorded: unless both copies agree and equal the
// header seen recorded, whole, it does. A header being written (copies that
// differ) names no state yet, so it never counts as unchanged, and neither
// does anything read while seen itself was recorded from a torn read.
func changedSince(shm []byte, seen *seenHdr) (hdr walIndexHdr, torn, changed bool) {
	hdr, torn = readWalIndexHdr(shm)
	return hdr, torn, torn || seen.torn || hdr != seen.hdr
}

// changeWatch counts the header values the process has seen in the -shm
// file. seen pairs the header last recorded with its count, so that no reader
// sees a count beside a header it does not belong to.
//
// Why a count may stand for "nothing has committed since":
//   - The database moves forward from state to state, and the header names
//     the state new readers see: every commit rewrites it, with iChange one
//     higher, before the commit call returns, and a header value once replaced
//     does not come back. (A WAL restart keeps iChange and changes the salts;
//     recovery after a crashed writer starts iChange again from 0, but can
//     rebuild an earlier header byte for byte only from the same WAL, so for
//     the same state. iChange is 32 bits: a value could recur only after 2^32
//     commits, and then with the same frame count, salts and checksums.)
//   - A count n is returned more than once only if it was recorded with a
//     whole header h (both copies equal), and every call returning it has
//     read h whole again. A count recorded from a torn read is returned once,
//     by the call that recorded it.
//
// So a caller that got n, then read the database, saw a state no older than
// h's. If a later call returns n again, the header was h when n was recorded
// and is h again, so it has not changed in between: no commit has completed
// since, and what the caller read is still current. Extra counts, such as for
// a checkpoint's new salts, only cost a cache miss.
type changeWatch struct {
	// conn, the one connection of pool, is never used after Open. It holds
	// the -shm file in use, as any open connection in WAL mode does: SQLite
	// truncates and reinitializes the file only when a process opens the
	// database while no connection in any process has it open, and reading a
	// mapping past the end of a truncated file is SIGBUS. It is closed only
	// after the mapping is gone.
	pool *sql.DB
	conn *sql.Conn
	file *os.File // the -shm file; see shmFiles before closing it

	// mu is read-held while the mapping is read; close write-holds it, so it
	// waits for those reads, and sets shm to nil before unmapping.
	mu  sync.RWMutex
	shm []byte

	bump sync.Mutex // held to record a new header
	seen atomic.Pointer[seenHdr]
}

// seenHdr is a header the watch recorded and the count it recorded it with;
// torn if the copies differed when it was read.
type seenHdr struct {
	hdr  walIndexHdr
	torn bool
	n    uint64
}

// openChangeWatch opens a connection of d with dsn, checks that the database
// is in WAL mode and maps its -shm file. Call holdShmFiles first.
func openChangeWatch(ctx context.Context, d driver.Driver, dsn string) (*changeWatch, error) {
	w := &changeWatch{pool: sql.OpenDB(dsnConnector{d, dsn})}
	w.pool.SetMaxOpenConns(1)
	conn, err := w.pool.Conn(ctx)
	if err != nil {
		return nil, errors.Join(err, w.pool.Close())
	}
	w.conn = conn
	if err := w.mapShm(ctx); err != nil {
		return nil, errors.Join(err, w.close(), w.release())
	}
	hdr, torn := readWalIndexHdr(w.shm)
	w.seen.Store(&seenHdr{hdr: hdr, torn: torn})
	return w, nil
}

func (w *changeWatch) mapShm(ctx context.Context) error {
	path, err := shmPath(ctx, w.conn)
	if err != nil {
		return err
	}
	if w.file, err = shmFiles.open(path); err != nil {
		return err
	}
	fi, err := w.file.Stat()
	if err != nil {
		return fmt.Errorf("db: change watch: %w", err)
	}
	// Mapping past the end of the file would fault on the first read. SQLite
	// grows the file to 32 KiB when it first maps it, and does not shrink it
	// while w.conn is open.
	if fi.Size() < shmMinSize {
		return fmt.Errorf("db: change watch: %s is %d bytes, shorter than a WAL-index header", path, fi.Size())
	}
	if w.shm, err = unix.Mmap(int(w.file.Fd()), 0, shmMinSize, unix.PROT_READ, unix.MAP_SHARED); err != nil {
		return fmt.Errorf("db: change watch: map %s: %w", path, err)
	}
	return nil
}

// shmPath asks conn for the journal mode and the database file (WALFile), and
// names the -shm file.
func shmPath(ctx context.Context, conn *sql.Conn) (string, error) {
	wal, err := New(conn).WALFile(ctx)
	if err != nil {
		return "", err
	}
	mode, _ := wal.JournalMode.(string)
	file, _ := wal.File.(string)
	if mode != "wal" {
		return "", fmt.Errorf("db: journal_mode is %q, want wal: the change watch needs the -shm file", mode)
	}
	if file == "" {
		return "", errors.New("db: the database has no file name: the change watch needs its -shm file")
	}
	return file + "-shm", nil
}

// changes is SQLite.Changes.
func (w *changeWatch) changes() (uint64, error) {
	seen := w.seen.Load()
	_, _, changed, err := w.read(seen)
	if err != nil {
		return 0, err
	}
	if !changed {
		return seen.n, nil
	}
	w.bump.Lock()
	defer w.bump.Unlock()
	// Another caller may have recorded this header meanwhile: read again,
	// against what is recorded now.
	seen = w.seen.Load()
	hdr, torn, changed, err := w.read(seen)
	if err != nil {
		return 0, err
	}
	if changed {
		seen = &seenHdr{hdr: hdr, torn: torn, n: seen.n + 1}
		w.seen.Store(seen)
	}
	return seen.n, nil
}

// read is changedSince on the mapping, or errStoreClosed once it is gone.
func (w *changeWatch) read(seen *seenHdr) (hdr walIndexHdr, torn, changed bool, err error) {
	w.mu.RLock()
	defer w.mu.RUnlock()
	if w.shm == nil {
		return hdr, false, false, errStoreClosed
	}
	hdr, torn, changed = changedSince(w.shm, seen)
	return hdr, torn, changed, nil
}

// close unmaps the -shm file once no Changes call is reading it, so that
// later calls fail with errStoreClosed, then closes the watch's connection.
// Call release once the store's other connections are closed too.
func (w *changeWatch) close() error {
	w.mu.Lock()
	shm, conn, pool := w.shm, w.conn, w.pool
	w.shm, w.conn, w.pool = nil, nil, nil
	w.mu.Unlock()
	var errs []error
	if shm != nil {
		errs = append(errs, unix.Munmap(shm))
	}
	if conn != nil {
		errs = append(errs, conn.Close()) // back to pool, which closes it
	}
	if pool != nil {
		errs = append(errs, pool.Close())
	}
	return errors.Join(errs...)
}

// dsnConnector opens d's connections with dsn: the watch's pool shares the
// store's driver.
type dsnConnector struct {
	d   driver.Driver
	dsn string
}

func (c dsnConnector) Connect(context.Context) (driver.Conn, error) { return c.d.Open(c.dsn) }
func (c dsnConnector) Driver() driver.Driver                        { return c.d }

// release hands the -shm file back to shmFiles, which closes it when that can
// no longer drop another connection's locks.
func (w *changeWatch) release() error {
	w.mu.Lock()
	f := w.file
	w.file = nil
	w.mu.Unlock()
	if f == nil {
		return nil
	}
	return shmFiles.release(f)
}

// shmFiles owns every -shm file the process opened for a watch. SQLite locks
// the -shm file with POSIX record locks (fcntl F_SETLK), which belong to the
// process, not to a descriptor: closing any descriptor of the file drops every
// lock the process holds on it, those of all its SQLite connections included,
// and with them the shared lock that keeps other processes from reinitializing
// the file, and the read marks that keep a checkpoint from overwriting WAL
// frames still being read. So a watch's file is closed only when no store in
// the process is open on that file, and no Open is under way (one may have
// connections on the file before its watch has registered it).
//
// Connections opened outside SQLite (db.Backup's) are not counted: a store
// closing its last watch while one of them is on the same file can drop its
// locks.
var shmFiles shmRegistry

type shmRegistry struct {
	mu      sync.Mutex
	opening int
	files   []*shmEntry
}

// shmEntry is one -shm file (by identity, not name) and every descriptor of
// it that watches opened; refs counts the watches that have not released.
type shmEntry struct {
	info  os.FileInfo // nil if fstat failed: closed only once no store is open
	refs  int
	files []*os.File
}

// holdShmFiles marks an Open under way; call done when it has returned.
func holdShmFiles() (done func()) { return shmFiles.hold() }

func (r *shmRegistry) hold() (done func()) {
	r.mu.Lock()
	r.opening++
	r.mu.Unlock()
	return func() {
		r.mu.Lock()
		defer r.mu.Unlock()
		r.opening--
		// An error here belongs to a store that is already closed; there is
		// no one left to tell.
		_ = r.flush()
	}
}

// open opens the -shm file at path read-only and registers it, before any
// other step can fail.
func (r *shmRegistry) open(path string) (*os.File, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("db: change watch: %w", err)
	}
	info, _ := f.Stat()
	r.mu.Lock()
	defer r.mu.Unlock()
	i := slices.IndexFunc(r.files, func(e *shmEntry) bool {
		return info != nil && e.info != nil && os.SameFile(e.info, info)
	})
	if i < 0 {
		i = len(r.files)
		r.files = append(r.files, &shmEntry{info: info})
	}
	r.files[i].refs++
	r.files[i].files = append(r.files[i].files, f)
	return f, nil
}

// release gives up one watch's hold on the file f, closing what can be closed.
func (r *shmRegistry) release(f *os.File) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	for _, e := range r.files {
		if slices.Contains(e.files, f) {
			e.refs--
		}
	}
	return r.flush()
}

// flush closes the files of every entry no store holds, if no Open is under
// way.
func (r *shmRegistry) flush() error {
	if r.opening > 0 {
		return nil
	}
	live := slices.ContainsFunc(r.files, func(e *shmEntry) bool { return e.refs > 0 })
	var errs []error
	r.files = slices.DeleteFunc(r.files, func(e *shmEntry) bool {
		if e.refs > 0 || (e.info == nil && live) {
			return false
		}
		for _, f := range e.files {
			errs = append(errs, f.Close())
		}
		return true
	})
	return errors.Join(errs...)
}
