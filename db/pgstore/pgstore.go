// Package pgstore runs package db's queries on PostgreSQL: Queries has, for
// every query both engines define, the method of db.Queries with the same
// name and signature, and calls package pg's twin, converting each Params
// and Row struct to the other package's by Go struct conversion.
//
// queries.go is generated from the Querier interfaces of db and db/pg (go
// generate). It compiles only while the two packages' structs have the same
// fields with the same types, so a query whose shape differs between the
// engines breaks the build instead of an engine.
package pgstore

import (
	"context"
	"errors"

	"roster/db"
	"roster/db/pg"
)

//go:generate go run ./internal/gen

// Queries is package pg's Queries with package db's types.
type Queries struct{ q *pg.Queries }

// New returns Queries that run on dbtx: a pgx connection, pool or
// transaction.
func New(dbtx pg.DBTX) *Queries { return &Queries{q: pg.New(dbtx)} }

// ErrSQLiteOnly is what the queries only SQLite has (parity.SQLiteOnly)
// answer here. Only package db's SQLite store calls them; Queries has them
// so that it is a db.Querier, the interface account and outbox use.
var ErrSQLiteOnly = errors.New("pgstore: a SQLite-only query called on PostgreSQL")

// SQLiteVersion answers ErrSQLiteOnly.
func (*Queries) SQLiteVersion(context.Context) (string, error) { return "", ErrSQLiteOnly }

// WALFile answers ErrSQLiteOnly.
func (*Queries) WALFile(context.Context) (db.WALFileRow, error) {
	return db.WALFileRow{}, ErrSQLiteOnly
}

// IntegrityCheck answers ErrSQLiteOnly.
func (*Queries) IntegrityCheck(context.Context) (string, error) { return "", ErrSQLiteOnly }

var (
	_ db.Querier = (*Queries)(nil)
	_ db.Engine  = (*Store)(nil)
)
