package db

import (
	"context"
	"database/sql/driver"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"time"
)

// A full volume, or a disk that fails, refuses writes while reads go on.
// The store then reports ErrStorageUnavailable from Writable, and a recovery
// loop checkpoints the WAL into the database, truncating it, and probes with
// a one-row write every recoverInterval until both succeed. So once space
// returns the store serves writes again by itself, and the WAL gives back
// what it had grown to instead of refilling the volume: on a volume smaller
// than the WAL between automatic checkpoints (about 4 MB), nothing else
// would ever checkpoint it.

// ErrStorageUnavailable means the database cannot write: its volume is full,
// or the file system failed an operation. It passes once space returns.
var ErrStorageUnavailable = errors.New("db: storage unavailable (is the volume full?)")

const (
	// probeInterval is how often Writable probes at most; between probes it
	// answers the last result.
	probeInterval = time.Second
	// probeTimeout bounds a probe's, or a checkpoint's, wait for the writer
	// connection.
	probeTimeout = 5 * time.Second
	// recoverInterval is how often the recovery loop tries again.
	recoverInterval = time.Second
)

// checkpointTruncate copies every WAL frame into the database and truncates
// the WAL to zero bytes. It runs on the writer connection, so no writer of
// this process holds it up, but it waits for readers of older snapshots (in
// any process) under busy_timeout, holding the writer connection: the wait
// is cut to checkpointBusyTimeout, so a long reader, such as a backup in
// another process, stalls this process's writes that long at most. Like
// TxNoSync's pragmas these are SQL outside sql/queries: sqlc skips PRAGMA
// statements.
const (
	checkpointTruncate    = "PRAGMA wal_checkpoint(TRUNCATE)"
	checkpointBusyTimeout = "PRAGMA busy_timeout = 250"
	restoreBusyTimeout    = "PRAGMA busy_timeout = " + busyTimeoutMS
)

// storageHealth is what the store knows of its storage.
type storageHealth struct {
	// failure is the last storage error since the storage last proved
	// writable, or nil.
	failure atomic.Pointer[error]

	probeMu  sync.Mutex // one probe at a time; guards probedAt and probeErr
	probedAt time.Time
	probeErr error

	mu         sync.Mutex // guards recovering and starting the loop
	recovering bool
	ctx        context.Context // done when the store closes
	cancel     context.CancelFunc
	wg         sync.WaitGroup // the recovery loop
}

func (h *storageHealth) init() {
	h.ctx, h.cancel = context.WithCancel(context.Background())
}

// close stops the recovery loop and waits for it. Under mu, no loop starts
// after it.
func (h *storageHealth) close() {
	h.mu.Lock()
	h.cancel()
	h.mu.Unlock()
	h.wg.Wait()
}

// Writable reports whether the database can write: an error wrapping
// ErrStorageUnavailable while a storage failure is not recovered from. It
// probes with a one-row write at most once every probeInterval, answering
// the last result in between, so that a readiness check polled often costs
// at most one small commit a second; this also finds a volume that filled
// while nothing wrote. The first probe checkpoints the WAL too, as recovery
// does, for a process started on a full volume.
//
// A write that fits in WAL space already allocated succeeds on a full
// volume (a failed commit leaves such space behind it), so a probe alone can
// pass while a larger write fails. Hence recovery, and the first probe, rely
// on the checkpoint: it copies the WAL into the database, which must grow by
// the pages it adds, and truncates the WAL, so the probe after it must find
// new space. A failed write marks the store unavailable again.
func (s *SQLite) Writable(ctx context.Context) error {
	h := &s.health
	if err := h.unavailable(); err != nil {
		return err
	}
	h.probeMu.Lock()
	defer h.probeMu.Unlock()
	switch {
	case h.probedAt.IsZero():
		h.probeErr = s.recoverStep(context.WithoutCancel(ctx))
		h.probedAt = time.Now()
	case time.Since(h.probedAt) >= probeInterval:
		h.probeErr = s.probe(ctx)
		h.probedAt = time.Now()
	}
	if err := h.unavailable(); err != nil {
		return err
	}
	return h.probeErr
}

func (h *storageHealth) unavailable() error {
	if p := h.failure.Load(); p != nil {
		return fmt.Errorf("%w: %w", ErrStorageUnavailable, *p)
	}
	return nil
}

// probe rewrites the storage_probe row, noting the outcome. It is not
// cancelled with ctx: its result is shared by every caller until the next.
func (s *SQLite) probe(ctx context.Context) error {
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), probeTimeout)
	defer cancel()
	err := s.Write.UpdateStorageProbe(ctx, Now(time.Now()))
	s.noteStorage(err)
	return err
}

// recoverStep checkpoints the WAL with truncation, then probes, noting a
// storage failure of either. A reader in the checkpoint's way is no failure:
// the WAL is then in use, and the automatic checkpoints take over.
func (s *SQLite) recoverStep(ctx context.Context) error {
	err := s.checkpoint(ctx)
	if err != nil && !errors.Is(err, errCheckpointBusy) {
		s.noteStorage(err)
		return err
	}
	return s.probe(ctx)
}

// noteStorage marks the store unavailable if err is a storage failure, and
// starts the recovery loop if it is not running. Only the loop clears the
// mark: a small write that succeeded says less than a checkpoint (see
// Writable).
func (s *SQLite) noteStorage(err error) {
	if !IsStorageUnavailable(err) {
		return
	}
	h := &s.health
	h.failure.Store(&err)
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.recovering || h.ctx.Err() != nil {
		return
	}
	h.recovering = true
	h.wg.Add(1)
	go s.recoverStorage()
}

// recoverStorage runs recoverStep every recoverInterval until it succeeds
// with no failure noted since it began, which it then clears; or until the
// store closes.
func (s *SQLite) recoverStorage() {
	h := &s.health
	defer h.wg.Done()
	tick := time.NewTicker(recoverInterval)
	defer tick.Stop()
	for {
		select {
		case <-h.ctx.Done():
			return
		case <-tick.C:
		}
		failure := h.failure.Load()
		if s.recoverStep(h.ctx) != nil || !h.failure.CompareAndSwap(failure, nil) {
			continue
		}
		h.mu.Lock()
		if h.failure.Load() == nil {
			h.recovering = false
			h.mu.Unlock()
			return
		}
		h.mu.Unlock()
	}
}

// errCheckpointBusy means a checkpoint could not copy every frame: a reader
// of an older snapshot outlasted its wait.
var errCheckpointBusy = errors.New("db: WAL checkpoint blocked by a reader")

// checkpoint runs checkpointTruncate on the writer connection with a short
// busy_timeout, set back after; a connection that cannot be set back is
// closed instead, and its replacement gets the DSN's. Only the wait for the
// connection is bounded: an interrupted checkpoint keeps none of its work,
// and a large WAL takes a while to copy.
func (s *SQLite) checkpoint(ctx context.Context) error {
	wait, cancel := context.WithTimeout(ctx, probeTimeout)
	conn, err := s.writer.Conn(wait)
	cancel()
	if err != nil {
		return err
	}
	defer conn.Close()
	defer func() {
		if _, err := conn.ExecContext(context.WithoutCancel(ctx), restoreBusyTimeout); err != nil {
			conn.Raw(func(any) error { return driver.ErrBadConn })
		}
	}()
	if _, err := conn.ExecContext(ctx, checkpointBusyTimeout); err != nil {
		return err
	}
	var busy, frames, copied int64
	if err := conn.QueryRowContext(ctx, checkpointTruncate).Scan(&busy, &frames, &copied); err != nil {
		return err
	}
	if busy != 0 {
		return errCheckpointBusy
	}
	return nil
}
