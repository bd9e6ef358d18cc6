package e2e

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	rosterhttp "roster/http"
	"roster/internal/tmpfstest"
)

// wantStorageUnavailable fails the test unless err is the server's 503
// storage_unavailable with a Retry-After.
func wantStorageUnavailable(t *testing.T, what string, err error) {
	t.Helper()
	var p *rosterhttp.Problem
	if !errors.As(err, &p) || p.Status != http.StatusServiceUnavailable || p.Code != "storage_unavailable" || p.RetryAfter <= 0 {
		t.Fatalf("%s: err = %v (%+v), want 503 storage_unavailable with Retry-After", what, err, p)
	}
}

// readyz is the status of GET /readyz.
func readyz(t *testing.T, srv *server) int {
	t.Helper()
	res, err := http.Get(srv.URL + "/readyz")
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	return res.StatusCode
}

// TestFullDiskAgainstBinary: the real server on a 2 MB volume that fills
// answers 503 storage_unavailable to sign-ups. Killed there, it leaves its
// WAL and -shm files, and restarted on the full volume it starts, answers
// 503 storage_unavailable to sign-ups, logins and /readyz, and serves again
// by itself within 15 s of space returning, with every acknowledged account
// there. Stopped cleanly
// (which deletes them) and started on a full volume, it exits at once with
// an error line naming the cause, and starts once space returns.
func TestFullDiskAgainstBinary(t *testing.T) {
	dir := tmpfstest.Mount(t, "2m")
	dbPath := filepath.Join(dir, "roster.db")
	ctx := context.Background()
	srv := start(t, dbPath)
	c := rosterhttp.NewClient(srv.URL, nil)
	acked := []string{"early"}
	if _, err := c.Signup(ctx, rosterhttp.SignupRequest{Username: "early", Password: password}); err != nil {
		t.Fatal(err)
	}

	// signUpUntilFull signs up until a sign-up is refused, as it must be.
	signUpUntilFull := func(what string) {
		t.Helper()
		for i := 0; ; i++ {
			name := fmt.Sprintf("%s%03d", what, i)
			_, err := c.Signup(ctx, rosterhttp.SignupRequest{Username: name, Password: password})
			if err != nil {
				wantStorageUnavailable(t, what+": sign-up on a full volume", err)
				return
			}
			acked = append(acked, name)
			if i == 100 {
				t.Fatalf("%s: 100 sign-ups on a full volume all succeeded", what)
			}
		}
	}
	fillers := []string{tmpfstest.Fill(t, dir, 64<<10)}
	signUpUntilFull("first")

	// Killed, the server leaves its WAL and -shm files; restarted on the
	// full volume it starts. Its first readiness probe checkpoints the WAL,
	// which gives the WAL's space back if the database need not grow to take
	// it in (then it is ready, and rightly so): fill that space too.
	srv.kill()
	fillers = append(fillers, tmpfstest.Fill(t, dir, 0))
	srv = launch(t, os.Environ(), dbPath)
	c = rosterhttp.NewClient(srv.URL, nil)
	t.Logf("/readyz after a restart on a full volume: %d", readyz(t, srv))
	fillers = append(fillers, tmpfstest.Fill(t, dir, 0))
	signUpUntilFull("restarted")
	_, err := c.Login(ctx, "early", password)
	wantStorageUnavailable(t, "login on a full volume", err)
	if got := readyz(t, srv); got != http.StatusServiceUnavailable {
		t.Errorf("/readyz on a full volume = %d, want 503", got)
	}

	for _, f := range fillers {
		if err := os.Remove(f); err != nil {
			t.Fatal(err)
		}
	}
	freed := time.Now()
	for readyz(t, srv) != http.StatusOK {
		if time.Since(freed) > 15*time.Second {
			t.Fatalf("/readyz not 200 15 s after space returned:\n%s", srv.log())
		}
		time.Sleep(100 * time.Millisecond)
	}
	t.Logf("ready %v after space returned", time.Since(freed).Round(time.Millisecond))
	if _, err := c.Signup(ctx, rosterhttp.SignupRequest{Username: "after", Password: password}); err != nil {
		t.Fatal(err)
	}
	acked = append(acked, "after")
	for _, name := range acked {
		if _, err := c.Login(ctx, name, password); err != nil {
			t.Errorf("login %s after recovery: %v", name, err)
		}
	}

	srv.stop(t)
	filler := tmpfstest.Fill(t, dir, 0)
	_, stderr, code := cli(t, nil, "", "serve", "-addr", "127.0.0.1:0", "-db", dbPath)
	lines := strings.Split(strings.TrimSpace(stderr), "\n")
	if last := lines[len(lines)-1]; code == 0 || !strings.Contains(last, "storage unavailable") {
		t.Errorf("serve on a full volume without -shm: exit %d, last line %q; want non-zero and a line saying storage unavailable", code, last)
	}
	if err := os.Remove(filler); err != nil {
		t.Fatal(err)
	}
	srv = start(t, dbPath)
	if _, err := rosterhttp.NewClient(srv.URL, nil).Login(ctx, "early", password); err != nil {
		t.Fatal(err)
	}
	srv.stop(t)
}
