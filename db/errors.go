package db

import (
	"errors"

	"github.com/jackc/pgx/v5/pgconn"
	"modernc.org/sqlite"
	sqlite3 "modernc.org/sqlite/lib"
)

// The engines' errors, recognized in one place: callers ask these questions
// and never look at a driver's error type or code.

// PostgreSQL's SQLSTATE codes that the questions below recognize.
const (
	pgUniqueViolation      = "23505"
	pgForeignKeyViolation  = "23503"
	pgSerializationFailure = "40001"
	pgDeadlockDetected     = "40P01"
	pgDiskFull             = "53100"
	pgIOError              = "58030"
)

// IsUniqueViolation reports whether err is a UNIQUE or PRIMARY KEY
// constraint failure.
func IsUniqueViolation(err error) bool {
	if code, ok := sqliteCode(err); ok {
		return code == sqlite3.SQLITE_CONSTRAINT_UNIQUE || code == sqlite3.SQLITE_CONSTRAINT_PRIMARYKEY
	}
	return pgCode(err) == pgUniqueViolation
}

// IsForeignKeyViolation reports whether err is a FOREIGN KEY constraint failure.
func IsForeignKeyViolation(err error) bool {
	if code, ok := sqliteCode(err); ok {
		return code == sqlite3.SQLITE_CONSTRAINT_FOREIGNKEY
	}
	return pgCode(err) == pgForeignKeyViolation
}

// IsSerializationFailure reports whether err says that a transaction lost a
// race with another and may succeed if run again: PostgreSQL's
// serialization_failure or deadlock_detected, or SQLite's
// SQLITE_BUSY_SNAPSHOT (a read transaction that cannot become a write one;
// the SQLite store begins every write transaction IMMEDIATE, so it does not
// meet it).
func IsSerializationFailure(err error) bool {
	if code, ok := sqliteCode(err); ok {
		return code == sqlite3.SQLITE_BUSY_SNAPSHOT
	}
	switch pgCode(err) {
	case pgSerializationFailure, pgDeadlockDetected:
		return true
	}
	return false
}

// IsStorageUnavailable reports whether err says that the storage under the
// database failed rather than the statement: ErrStorageUnavailable;
// SQLite's SQLITE_FULL (the volume is full), any SQLITE_IOERR (the file
// system failed a read, write, sync or truncate: ENOSPC during a sync or a
// -shm resize lands here) or SQLITE_CANTOPEN (a database, WAL or -shm file
// cannot be opened or created); PostgreSQL's disk_full or io_error.
// SQLITE_READONLY is left out: a query_only reader answers it too, for a bug
// that must stay a loud 500.
func IsStorageUnavailable(err error) bool {
	if errors.Is(err, ErrStorageUnavailable) {
		return true
	}
	if code, ok := sqliteCode(err); ok {
		switch code & 0xff { // the primary code of an extended one
		case sqlite3.SQLITE_FULL, sqlite3.SQLITE_IOERR, sqlite3.SQLITE_CANTOPEN:
			return true
		}
		return false
	}
	switch pgCode(err) {
	case pgDiskFull, pgIOError:
		return true
	}
	return false
}

func sqliteCode(err error) (int, bool) {
	var se *sqlite.Error
	if errors.As(err, &se) {
		return se.Code(), true
	}
	return 0, false
}

// pgCode is err's SQLSTATE if it is a PostgreSQL error, else "".
func pgCode(err error) string {
	var pe *pgconn.PgError
	if errors.As(err, &pe) {
		return pe.Code
	}
	return ""
}
