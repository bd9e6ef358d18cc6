// Package parity states which named queries may exist on one engine only,
// and reads the query names and migration versions of each engine from sql/.
// Its test fails when the two engines' query names or migration histories
// differ; db/pgstore's generator uses the same list.
package parity

import (
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strconv"
	"strings"
)

// SQLiteOnly names the queries that package db has and package pg has not,
// each with the reason it cannot have a PostgreSQL twin. Keep it short: a
// query the application needs on both engines belongs in sql/queries, or in
// sql/sqlite/queries and sql/postgres/queries under one name.
var SQLiteOnly = map[string]string{
	// The SQLite library's version, for `roster version`; PostgreSQL's is the
	// server's, which a later version query can report under its own name.
	"SQLiteVersion": "reports the embedded SQLite library's version",
	// The change watch maps SQLite's -shm file; PostgreSQL has no such file
	// (replicas learn of changes another way, see issue 21).
	"WALFile": "reads SQLite's journal mode and file name for the -shm change watch",
	// `roster backup` checks the copy it wrote; on PostgreSQL backups are
	// pg_dump's or the provider's and there is no file to check.
	"IntegrityCheck": "runs SQLite's integrity_check pragma on a backup file",
}

// PostgresOnly names the queries that package pg has and package db has
// not, with the reason.
var PostgresOnly = map[string]string{
	// SQLite's TxNoSync sets a pragma on its writer connection around the
	// transaction; PostgreSQL sets the same thing inside it.
	"SetLocalSynchronousCommitOff": "TxNoSync's commit without waiting for the disk, local to the transaction",
	// The session cache's invalidation channel (migration 00055); SQLite's
	// cache watches its -shm file instead (WALFile).
	"ListenSessionChanges":   "subscribes the session cache's listener to other replicas' changes",
	"CurrentSchema":          "the schema that the listener's notifications name",
	"NotifySessionHeartbeat": "the listener's heartbeat to itself",
}

// Baseline is the version of sql/postgres/schema's first migration: it
// creates at once the schema SQLite reaches through sql/schema's migrations
// up to this version. Every later migration has the same version on both
// engines.
const Baseline = 31

// Dirs are the query directories, relative to the repository root: the
// shared one and each engine's own.
const (
	SharedQueries   = "sql/queries"
	SQLiteQueries   = "sql/sqlite/queries"
	PostgresQueries = "sql/postgres/queries"
	SQLiteSchema    = "sql/schema"
	PostgresSchema  = "sql/postgres/schema"
)

var queryName = regexp.MustCompile(`(?m)^-- name: (\w+) :`)

// QueryNames returns the names of the queries in the .sql files of dir, and
// where each is defined; a name defined twice is an error.
func QueryNames(dir string) (map[string]string, error) {
	names := map[string]string{}
	files, err := filepath.Glob(filepath.Join(dir, "*.sql"))
	if err != nil {
		return nil, err
	}
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			return nil, err
		}
		for _, m := range queryName.FindAllStringSubmatch(string(b), -1) {
			if prev, ok := names[m[1]]; ok {
				return nil, fmt.Errorf("query %s is defined in %s and in %s", m[1], prev, f)
			}
			names[m[1]] = f
		}
	}
	return names, nil
}

// MigrationVersions returns the goose versions of the migrations in dir,
// ascending: the number each file name starts with.
func MigrationVersions(dir string) ([]int, error) {
	entries, err := os.ReadDir(dir)
	if err != nil {
		return nil, err
	}
	var versions []int
	for _, e := range entries {
		if e.Type()&fs.ModeType != 0 || !strings.HasSuffix(e.Name(), ".sql") {
			continue
		}
		num, _, ok := strings.Cut(e.Name(), "_")
		v, err := strconv.Atoi(num)
		if !ok || err != nil {
			return nil, fmt.Errorf("%s: a migration's name starts with its version and _", filepath.Join(dir, e.Name()))
		}
		versions = append(versions, v)
	}
	sort.Ints(versions)
	return versions, nil
}
