package http_test

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"roster/account/accounttest"
	"roster/db"
	"roster/internal/tmpfstest"
)

// wantStorageUnavailable fails the test unless r is a 503 with problem code
// storage_unavailable (as one line of text on a form route) and Retry-After.
func wantStorageUnavailable(t *testing.T, what string, r response) {
	t.Helper()
	want(t, what, r, http.StatusServiceUnavailable)
	if r.header.Get("Retry-After") == "" {
		t.Errorf("%s: 503 without Retry-After", what)
	}
	if strings.HasPrefix(r.header.Get("Content-Type"), "application/problem+json") {
		if p := decodeAs[problem](t, r); p.Code != "storage_unavailable" {
			t.Errorf("%s: code = %q, want storage_unavailable; body=%s", what, p.Code, r.body)
		}
	}
}

// TestFullDisk fills a 2 MB volume under the database, as in issue 20: a
// sign-up answers 503 storage_unavailable with Retry-After, a login fails
// closed with 503, /readyz answers 503; once space returns the server serves
// again by itself within 15 s, its WAL checkpointed and truncated, and every
// acknowledged sign-up logs in. The second round restarts the server on the
// full volume first, with the WAL and -shm files still there (as a process
// killed, or one that could not checkpoint at exit, leaves them; here
// another store keeps them open): it starts, answers the same, and recovers
// the same. Without them, opening the database on the full volume fails with
// ErrStorageUnavailable, and succeeds once space returns.
func TestFullDisk(t *testing.T) {
	dir := tmpfstest.Mount(t, "2m")
	path := filepath.Join(dir, "roster.db")
	var (
		store *db.Store
		ts    *testServer
	)
	start := func() {
		var err error
		if store, err = db.Open(context.Background(), path); err != nil {
			t.Fatalf("db.Open: %v", err)
		}
		ts = newTestServerWith(t, accounttest.NewOn(t, store))
	}
	stop := func() {
		if ts == nil {
			return
		}
		ts.Close()
		if err := store.Close(); err != nil {
			t.Logf("store.Close on a full volume: %v", err)
		}
		store, ts = nil, nil
	}
	start()
	t.Cleanup(func() { stop() })

	acked := []string{"early"}
	ts.signup("early", "", goodPassword)
	for round, restart := range []bool{false, true} {
		filler := tmpfstest.Fill(t, dir, 64<<10)
		full := false
		for i := 0; i < 100 && !full; i++ {
			name := fmt.Sprintf("r%du%03d", round, i)
			r := ts.json("POST", "/v1/users", map[string]string{"username": name, "password": goodPassword}, "")
			switch r.status {
			case http.StatusCreated:
				acked = append(acked, name)
			default:
				wantStorageUnavailable(t, "POST /v1/users on a full volume", r)
				full = true
			}
		}
		if !full {
			t.Fatalf("round %d: 100 sign-ups with 64 KiB free all answered 201", round)
		}
		fillers := []string{filler}
		if restart {
			// The last connection to close checkpoints the WAL and deletes
			// it and the -shm file: another store keeps them. Closing may
			// give space back all the same: fill that too.
			other, err := db.Open(context.Background(), path)
			if err != nil {
				t.Fatal(err)
			}
			stop()
			fillers = append(fillers, tmpfstest.Fill(t, dir, 0))
			start()
			if err := other.Close(); err != nil {
				t.Fatal(err)
			}
			r := ts.json("POST", "/v1/users", map[string]string{"username": "refused", "password": goodPassword}, "")
			wantStorageUnavailable(t, "POST /v1/users after a restart on a full volume", r)
		}

		r := ts.json("POST", "/v1/sessions", map[string]string{"username": "early", "password": goodPassword}, "")
		wantStorageUnavailable(t, "POST /v1/sessions on a full volume", r)
		r = ts.form("/login", url.Values{"user": {"early"}, "pass": {goodPassword}})
		wantStorageUnavailable(t, "POST /login on a full volume", r)
		r = ts.do("GET", "/readyz", "", "")
		wantStorageUnavailable(t, "GET /readyz on a full volume", r)

		for _, f := range fillers {
			if err := os.Remove(f); err != nil {
				t.Fatal(err)
			}
		}
		freed := time.Now()
		for {
			r = ts.do("GET", "/readyz", "", "")
			if r.status == http.StatusOK {
				break
			}
			if time.Since(freed) > 15*time.Second {
				t.Fatalf("round %d: /readyz still %d 15 s after space returned; body=%s", round, r.status, r.body)
			}
			time.Sleep(100 * time.Millisecond)
		}
		t.Logf("round %d: ready %v after space returned", round, time.Since(freed).Round(time.Millisecond))
		// Recovery checkpointed the WAL with truncation before its probe
		// wrote one page, so the WAL no longer holds the space it filled.
		if fi, err := os.Stat(path + "-wal"); err != nil {
			t.Fatal(err)
		} else if fi.Size() > 64<<10 {
			t.Errorf("round %d: the WAL is %d bytes once ready again, want it truncated (at most 64 KiB)", round, fi.Size())
		}
		name := fmt.Sprintf("r%dafter", round)
		ts.signup(name, "", goodPassword)
		acked = append(acked, name)
	}
	for _, name := range acked {
		ts.login(name, goodPassword)
	}

	stop()
	filler := tmpfstest.Fill(t, dir, 0)
	if s, err := db.Open(context.Background(), path); !errors.Is(err, db.ErrStorageUnavailable) {
		if err == nil {
			s.Close()
		}
		t.Fatalf("db.Open on a full volume without a -shm file: err = %v, want ErrStorageUnavailable", err)
	}
	if err := os.Remove(filler); err != nil {
		t.Fatal(err)
	}
	start()
	ts.login("early", goodPassword)
}
