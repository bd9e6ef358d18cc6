package parity

import (
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strings"
	"testing"
)

const root = "../.."

func names(t *testing.T, dir string) map[string]string {
	t.Helper()
	n, err := QueryNames(filepath.Join(root, dir))
	if err != nil {
		t.Fatal(err)
	}
	return n
}

// TestQueryNamesMatch fails when a named query exists for one engine but not
// the other, unless SQLiteOnly or PostgresOnly lists it, and when one of
// those lists names a query that is not (or no longer) engine-specific.
func TestQueryNamesMatch(t *testing.T) {
	shared := names(t, SharedQueries)
	if len(shared) == 0 {
		t.Fatalf("no queries found in %s", SharedQueries)
	}
	engine := map[string]map[string]string{
		"SQLite":     names(t, SQLiteQueries),
		"PostgreSQL": names(t, PostgresQueries),
	}
	for eng, own := range engine {
		for name, file := range own {
			if prev, ok := shared[name]; ok {
				t.Errorf("%s: query %s is in %s and in the shared %s", eng, name, file, prev)
			}
		}
	}
	dir := map[string]string{"SQLite": SQLiteQueries, "PostgreSQL": PostgresQueries}
	check := func(eng, other string, only map[string]string, listName string) {
		for name, file := range engine[eng] {
			_, twin := engine[other][name]
			_, listed := only[name]
			switch {
			case !twin && !listed:
				t.Errorf("query %s (%s) has no %s twin: add it under the same name in %s, or list it in parity.%s with the reason", name, file, other, dir[other], listName)
			case twin && listed:
				t.Errorf("query %s exists on both engines but parity.%s lists it", name, listName)
			}
		}
		for name := range only {
			if _, ok := engine[eng][name]; !ok {
				t.Errorf("parity.%s lists %s, which %s does not define", listName, name, dir[eng])
			}
		}
	}
	check("SQLite", "PostgreSQL", SQLiteOnly, "SQLiteOnly")
	check("PostgreSQL", "SQLite", PostgresOnly, "PostgresOnly")
}

// TestMigrationVersionsMatch fails when the engines' migration histories
// part after the PostgreSQL baseline: a migration added for one engine needs
// its twin, with the same version, for the other.
func TestMigrationVersionsMatch(t *testing.T) {
	lite, err := MigrationVersions(filepath.Join(root, SQLiteSchema))
	if err != nil {
		t.Fatal(err)
	}
	pg, err := MigrationVersions(filepath.Join(root, PostgresSchema))
	if err != nil {
		t.Fatal(err)
	}
	if len(pg) == 0 || pg[0] != Baseline {
		t.Fatalf("%s starts with versions %v, want the baseline %d first", PostgresSchema, pg, Baseline)
	}
	if !slices.Contains(lite, Baseline) {
		t.Errorf("%s has no migration %d, the version the PostgreSQL baseline stands for", SQLiteSchema, Baseline)
	}
	after := func(vs []int) []int {
		i := sort.SearchInts(vs, Baseline+1)
		return vs[i:]
	}
	if l, p := after(lite), after(pg); !slices.Equal(l, p) {
		t.Errorf("migrations after the baseline %d differ: %s has %v, %s has %v", Baseline, SQLiteSchema, l, PostgresSchema, p)
	}
}

// postgresBlock returns the schema and queries lines of the postgresql block
// of the sqlc config at path.
func postgresBlock(t *testing.T, path string) []string {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	in := false
	for _, line := range strings.Split(string(b), "\n") {
		line = strings.TrimSpace(line)
		if strings.HasPrefix(line, "- engine:") {
			in = line == "- engine: postgresql"
		}
		if in && (strings.HasPrefix(line, "schema:") || strings.HasPrefix(line, "queries:")) {
			out = append(out, line)
		}
	}
	if len(out) != 2 {
		t.Fatalf("%s: want one postgresql block with a schema and a queries line, found %q", path, out)
	}
	return out
}

// TestVetConfigMatches fails when sqlc.vet-postgres.yaml, which CI uses to
// prepare the PostgreSQL queries on a server, no longer reads the files
// sqlc.yaml generates package pg from.
func TestVetConfigMatches(t *testing.T) {
	gen := postgresBlock(t, filepath.Join(root, "sqlc.yaml"))
	vet := postgresBlock(t, filepath.Join(root, "sqlc.vet-postgres.yaml"))
	if !slices.Equal(gen, vet) {
		t.Errorf("sqlc.yaml's postgresql block reads %q, sqlc.vet-postgres.yaml's %q", gen, vet)
	}
}
