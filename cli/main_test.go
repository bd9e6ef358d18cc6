package cli

import (
	"bytes"
	"context"
	"errors"
	"flag"
	"io"
	"net/http"
	"net/url"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"roster/account/accounttest"
	"roster/db"
	"roster/db/pgtest"
)

func env(vars map[string]string) func(string) string {
	return func(k string) string { return vars[k] }
}

// startServe runs `roster serve` on a loopback port 0 and returns its base
// URL once /readyz answers 200, and a function that stops it and returns run's error.
func startServe(t *testing.T, args []string, vars map[string]string) (baseURL string, stop func() error) {
	t.Helper()
	addr, _, stop := startServeLogged(t, args, vars)
	baseURL = "http://" + addr
	deadline := time.Now().Add(30 * time.Second)
	for {
		res, err := http.Get(baseURL + "/readyz")
		if err == nil {
			res.Body.Close()
			if res.StatusCode == 200 {
				break
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("/readyz never answered 200: %v", err)
		}
		time.Sleep(10 * time.Millisecond)
	}
	return baseURL, stop
}

// TestServeTutorialRoundTripAndShutdown runs on each engine: -db (here
// ROSTER_DB) takes a SQLite path or a PostgreSQL URL.
func TestServeTutorialRoundTripAndShutdown(t *testing.T) {
	t.Parallel()
	accounttest.Run(t, testServeTutorialRoundTripAndShutdown)
}

func testServeTutorialRoundTripAndShutdown(t *testing.T, eng accounttest.Engine) {
	t.Parallel()
	dbPath := eng.DSN(t)
	// The database comes from the environment; flags override env.
	base, stop := startServe(t, []string{"-min-password-length", "8"}, map[string]string{"ROSTER_DB": dbPath})

	res, err := http.PostForm(base+"/add", url.Values{"user": {"sam"}, "pass": {"eight ch"}})
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(res.Body)
	res.Body.Close()
	if res.StatusCode != 200 || string(body) != "ok" {
		t.Fatalf("POST /add: %d %q, want 200 ok (min length 8 from the flag)", res.StatusCode, body)
	}
	if err := stop(); err != nil {
		t.Fatalf("run after cancel = %v, want nil", err)
	}

	// The user survives a restart on the same database.
	base, _ = startServe(t, nil, map[string]string{"ROSTER_DB": dbPath})
	res, err = http.PostForm(base+"/login", url.Values{"user": {"sam"}, "pass": {"eight ch"}})
	if err != nil {
		t.Fatal(err)
	}
	body, _ = io.ReadAll(res.Body)
	res.Body.Close()
	if string(body) != "[[1]]\n" {
		t.Fatalf("POST /login after restart = %q, want [[1]]", body)
	}
}

func TestUsageErrors(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	tests := []struct {
		name string
		args []string
		env  map[string]string
	}{
		{"unknown command", []string{"frobnicate"}, nil},
		{"unknown flag", []string{"serve", "-nope"}, nil},
		{"bad flag value", []string{"serve", "-hash-concurrency", "many"}, nil},
		{"bad env value", []string{"serve"}, map[string]string{"ROSTER_SESSION_TTL": "forever"}},
		{"password minimum below floor", []string{"serve", "-min-password-length", "7", "-db", filepath.Join(dir, "a.db")}, nil},
		{"extra argument", []string{"migrate", "-db", filepath.Join(dir, "b.db"), "extra"}, nil},
		{"bad SMTP URL", []string{"serve", "-smtp-url", "http://mail.example.com"}, nil},
		{"bad mail-from", []string{"serve", "-mail-from", "nobody"}, nil},
		{"bad public URL", []string{"serve", "-public-url", "roster.example.com"}, nil},
		{"retry below a second", []string{"serve", "-mail-retry-min", "10ms"}, nil},
		{"bad mail rate", []string{"serve", "-mail-rate", "lots"}, nil},
	}
	for _, tt := range tests {
		var stderr bytes.Buffer
		err := run(context.Background(), tt.args, env(tt.env), nil, io.Discard, &stderr)
		if !errors.As(err, new(usageError)) {
			t.Errorf("%s: run(%q) = %v, want a usage error (exit 2)", tt.name, tt.args, err)
		}
	}
}

func TestServeHelpListsFlagsWithEnv(t *testing.T) {
	t.Parallel()
	var stderr bytes.Buffer
	err := run(context.Background(), []string{"serve", "-h"}, env(nil), nil, io.Discard, &stderr)
	if !errors.Is(err, flag.ErrHelp) {
		t.Fatalf("serve -h = %v, want flag.ErrHelp", err)
	}
	for _, s := range []string{"-addr", "ROSTER_ADDR", `":8080"`, "-db", "ROSTER_DB", `"roster.db"`, "ROSTER_MIN_PASSWORD_LENGTH"} {
		if !strings.Contains(stderr.String(), s) {
			t.Errorf("serve -h output lacks %q:\n%s", s, stderr.String())
		}
	}
}

func TestMigrate(t *testing.T) {
	t.Parallel()
	path := filepath.Join(t.TempDir(), "m.db")
	var stdout bytes.Buffer
	if err := run(context.Background(), []string{"migrate", "-db", path}, env(nil), nil, &stdout, io.Discard); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(stdout.String(), "migrations applied") {
		t.Errorf("migrate printed %q", stdout.String())
	}
}

// TestMigratePostgres: migrate takes a PostgreSQL URL, migrates that
// database, and prints the URL with its password masked.
func TestMigratePostgres(t *testing.T) {
	t.Parallel()
	u, err := url.Parse(pgtest.SchemaURL(t))
	if err != nil {
		t.Fatal(err)
	}
	u.User = url.UserPassword(u.User.Username(), "s3cret") // the test server trusts, ignoring it
	var stdout bytes.Buffer
	if err := run(t.Context(), []string{"migrate", "-db", u.String()}, env(nil), nil, &stdout, io.Discard); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(stdout.String(), "migrations applied to postgres://") || strings.Contains(stdout.String(), "s3cret") {
		t.Errorf("migrate printed %q, want the URL without its password", stdout.String())
	}
	store, err := db.Open(t.Context(), u.String())
	if err != nil {
		t.Fatal(err)
	}
	defer store.Close()
	if err := store.Ready(t.Context()); err != nil {
		t.Errorf("Ready after migrate: %v", err)
	}
}
