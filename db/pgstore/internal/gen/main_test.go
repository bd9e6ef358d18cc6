package main

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestQueriesGoIsCurrent fails when db/pgstore/queries.go is not what the
// generator makes of the current db and db/pg (run go generate ./db/...).
func TestQueriesGoIsCurrent(t *testing.T) {
	want, err := generate("../../..", "../../../pg")
	if err != nil {
		t.Fatal(err)
	}
	got, err := os.ReadFile("../../queries.go")
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(got, want) {
		t.Error("db/pgstore/queries.go is stale: run go generate ./db/...")
	}
}

// pkgDir writes a stand-in for one of sqlc's packages: a Querier and a
// models.go.
func pkgDir(t *testing.T, name, querier, models string) string {
	t.Helper()
	dir := filepath.Join(t.TempDir(), name)
	if err := os.Mkdir(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	for file, src := range map[string]string{
		"querier.go": "package " + name + "\n\ntype Querier interface {\n" + querier + "}\n",
		"models.go":  "package " + name + "\n\n" + models,
	} {
		if err := os.WriteFile(filepath.Join(dir, file), []byte(src), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return dir
}

// TestGenerateRefusesDrift: the generator names the query or struct that
// differs between the packages, and writes nothing.
func TestGenerateRefusesDrift(t *testing.T) {
	const (
		getUser  = "\tGetUser(ctx context.Context, id int64) (User, error)\n"
		version  = "\tSQLiteVersion(ctx context.Context) (string, error)\n"
		user     = "type User struct {\n\tID    int64\n\tEmail *string\n}\n"
		userText = "type User struct {\n\tID    int64\n\tEmail string\n}\n"
	)
	for _, tc := range []struct {
		name                string
		dbQ, dbM, pgQ, pgM  string
		wantErr, wantOutput string
	}{
		{name: "same", dbQ: getUser + version, dbM: user, pgQ: getUser, pgM: user,
			wantOutput: "func (q *Queries) GetUser(ctx context.Context, id int64) (db.User, error) {"},
		{name: "column type", dbQ: getUser, dbM: user, pgQ: getUser, pgM: userText,
			wantErr: "type User differs"},
		{name: "missing on PostgreSQL", dbQ: getUser, dbM: user, pgQ: "", pgM: user,
			wantErr: "GetUser: db has it, db/pg has not"},
		{name: "missing on SQLite", dbQ: getUser, dbM: user, pgQ: getUser + "\tPing(ctx context.Context) error\n", pgM: user,
			wantErr: "Ping: db/pg has it, db has not"},
		{name: "SQLite-only query on PostgreSQL", dbQ: getUser + version, dbM: user, pgQ: getUser + version, pgM: user,
			wantErr: "SQLiteVersion: listed in parity.SQLiteOnly but db/pg has it too"},
		{name: "signature", dbQ: getUser, dbM: user, pgQ: "\tGetUser(ctx context.Context, id int32) (User, error)\n", pgM: user,
			wantErr: "GetUser: db has (context.Context, int64, User, error), db/pg has (context.Context, int32, User, error)"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			src, err := generate(pkgDir(t, "db", tc.dbQ, tc.dbM), pkgDir(t, "pg", tc.pgQ, tc.pgM))
			if tc.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
					t.Fatalf("err = %v, want one containing %q", err, tc.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if !strings.Contains(string(src), tc.wantOutput) {
				t.Errorf("output lacks %q:\n%s", tc.wantOutput, src)
			}
		})
	}
}
