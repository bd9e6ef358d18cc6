package e2e

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	_ "modernc.org/sqlite"

	"roster/db/pgtest"
	rosterhttp "roster/http"
)

// ledger records what the server acknowledged. For each user it holds the
// last acknowledged password and, while a change is unanswered, the password
// that change may have committed.
type ledger struct {
	mu       sync.Mutex
	acked    map[string]string
	inFlight map[string]string
}

func (l *ledger) set(m map[string]string, name, pw string) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if pw == "" {
		delete(m, name)
	} else {
		m[name] = pw
	}
}

// TestCrashLosesNothingAcknowledged SIGKILLs the server at a random moment
// under concurrent sign-ups and password changes, then checks the database
// (SQLite's file checks) and that every acknowledged user logs in with the
// last acknowledged password. 3 rounds by default, 20 with ROSTER_SOAK set
// (as .ci/run does); on a SQLite file and on a PostgreSQL schema.
func TestCrashLosesNothingAcknowledged(t *testing.T) {
	t.Run("sqlite", func(t *testing.T) {
		t.Parallel()
		path := filepath.Join(t.TempDir(), "roster.db")
		crashRounds(t, path, func(round int) { checkFile(t, path, round) })
	})
	t.Run("postgres", func(t *testing.T) {
		t.Parallel()
		crashRounds(t, pgtest.SchemaURL(t), func(int) {})
	})
}

// crashRounds kills and restarts the server on the database dbPath names,
// calling check after each kill.
func crashRounds(t *testing.T, dbPath string, check func(round int)) {
	rounds := 3
	if os.Getenv("ROSTER_SOAK") != "" {
		rounds = 20
	}
	l := &ledger{acked: map[string]string{}, inFlight: map[string]string{}}
	totals := struct{ signups, changes, unanswered int }{}

	for round := range rounds {
		// Four workers share the hashing slots: a long wait for one on a
		// loaded machine must not turn into a 503 the ledger counts as lost.
		srv := start(t, dbPath, "-hash-wait", "30s")
		if round > 0 {
			checkLedger(t, srv, l, round)
		}
		ctx, cancel := context.WithCancel(context.Background())
		var wg sync.WaitGroup
		var mu sync.Mutex
		for w := range 4 {
			wg.Go(func() {
				s, c, u, err := drive(ctx, srv.URL, l, fmt.Sprintf("r%dw%d", round, w))
				if err != nil {
					t.Errorf("round %d: the server refused a valid request: %v", round, err)
				}
				mu.Lock()
				totals.signups += s
				totals.changes += c
				totals.unanswered += u
				mu.Unlock()
			})
		}
		time.Sleep(time.Duration(150+rand.IntN(1200)) * time.Millisecond)
		srv.kill()
		cancel()
		wg.Wait()
		check(round)
	}
	srv := start(t, dbPath)
	checkLedger(t, srv, l, rounds)
	t.Logf("%d rounds: %d acknowledged sign-ups, %d acknowledged password changes, %d requests cut off by the kill; all acknowledged users log in",
		rounds, totals.signups, totals.changes, totals.unanswered)
}

// drive signs users up and changes their passwords until the server dies.
// It returns the acknowledged sign-ups and changes, the unanswered requests,
// and an error if the server refused a request it should have accepted.
func drive(ctx context.Context, base string, l *ledger, prefix string) (signups, changes, unanswered int, err error) {
	for i := 0; ctx.Err() == nil; i++ {
		name := fmt.Sprintf("%si%d", prefix, i)
		pw := fmt.Sprintf("%s %x", password, rand.Uint64())
		c := rosterhttp.NewClient(base, &http.Client{Timeout: 30 * time.Second})
		if err := retried(ctx, func() error {
			_, err := c.Signup(ctx, rosterhttp.SignupRequest{Username: name, Password: pw})
			return err
		}); err != nil {
			return signups, changes, unanswered + 1, refused("sign-up", err)
		}
		signups++
		l.set(l.acked, name, pw)
		if _, err := c.Login(ctx, name, pw); err != nil {
			return signups, changes, unanswered + 1, refused("login", err)
		}
		for j := range 3 {
			next := fmt.Sprintf("%s #%d", pw, j)
			l.set(l.inFlight, name, next)
			if err := retried(ctx, func() error { return c.ChangePassword(ctx, pw, next) }); err != nil {
				return signups, changes, unanswered + 1, refused("password change", err)
			}
			changes++
			l.set(l.acked, name, next)
			l.set(l.inFlight, name, "")
			pw = next
		}
	}
	return signups, changes, unanswered, nil
}

// retried runs call again, after the server's Retry-After, while it answers
// 503 contended (its transaction lost to concurrent ones on every run;
// nothing was stored): what a client should do with that answer.
func retried(ctx context.Context, call func() error) error {
	for i := 0; ; i++ {
		err := call()
		var p *rosterhttp.Problem
		if i == 10 || !errors.As(err, &p) || p.Code != "contended" || ctx.Err() != nil {
			return err
		}
		time.Sleep(p.RetryAfter)
	}
}

// refused returns err if the server answered it (a refusal the test did not
// expect), and nil for a request cut off by the kill.
func refused(what string, err error) error {
	var p *rosterhttp.Problem
	if errors.As(err, &p) {
		return fmt.Errorf("%s: %w", what, err)
	}
	return nil
}

// checkFile runs SQLite's own checks on the file the killed server left.
func checkFile(t *testing.T, path string, round int) {
	t.Helper()
	conn, err := sql.Open("sqlite", "file:"+path+"?_pragma=busy_timeout(10000)")
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	var integrity string
	if err := conn.QueryRow("PRAGMA integrity_check").Scan(&integrity); err != nil || integrity != "ok" {
		t.Fatalf("round %d: integrity_check = %q, %v; want ok", round, integrity, err)
	}
	rows, err := conn.Query("PRAGMA foreign_key_check")
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	if rows.Next() {
		t.Fatalf("round %d: foreign_key_check reports violations", round)
	}
}

// checkLedger logs every acknowledged user in through the tutorial's form
// route: the last acknowledged password must work, or the unanswered change's
// new one when the kill fell between its commit and its answer.
func checkLedger(t *testing.T, srv *server, l *ledger, round int) {
	t.Helper()
	l.mu.Lock()
	defer l.mu.Unlock()
	for name, pw := range l.acked {
		if loginOK(t, srv.URL, name, pw) {
			continue
		}
		if next, ok := l.inFlight[name]; ok && loginOK(t, srv.URL, name, next) {
			l.acked[name] = next
			delete(l.inFlight, name)
			continue
		}
		t.Errorf("after kill %d: %s cannot log in with its last acknowledged password", round, name)
	}
}

func loginOK(t *testing.T, base, name, pw string) bool {
	t.Helper()
	res, err := http.PostForm(base+"/login", url.Values{"user": {name}, "pass": {pw}})
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	b, _ := io.ReadAll(res.Body)
	if res.StatusCode != http.StatusOK {
		t.Fatalf("POST /login for %s: status %d: %s", name, res.StatusCode, b)
	}
	return strings.HasPrefix(string(b), "[[")
}
