package e2e

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"roster/db/pgtest"
	rosterhttp "roster/http"
	"roster/mail/mailtest"
)

// cluster is two replicas of the real binary on one PostgreSQL schema, with
// mail going to an SMTP server in the test.
type cluster struct {
	t     *testing.T
	dsn   string
	smtp  *mailtest.Server
	a, b  *server
	admin [2]*rosterhttp.Client // an admin signed in on a and on b
}

// startCluster spawns both replicas at the same moment on an empty schema:
// migrations must run once, and both must come up ready.
func startCluster(t *testing.T) *cluster {
	t.Helper()
	c := &cluster{t: t, dsn: pgtest.SchemaURL(t), smtp: mailtest.Start(t, mailtest.Options{})}
	args := []string{"-smtp-url", c.smtp.URL(), "-housekeeping-interval", "1s", "-log-level", "debug",
		"-hash-wait", "30s", "-public-url", "https://roster.example.com"}
	a, addrA := spawn(t, os.Environ(), c.dsn, args...)
	b, addrB := spawn(t, os.Environ(), c.dsn, args...)
	a.await(t, addrA)
	b.await(t, addrB)
	a.waitReady(t)
	b.waitReady(t)
	c.a, c.b = a, b

	_, stderr, code := cli(t, []string{"ROSTER_DB=" + c.dsn}, password+"\n", "user", "create", "-admin", "-password-stdin", "root")
	if code != 0 {
		t.Fatalf("roster user create -admin: exit %d: %s", code, stderr)
	}
	for i, s := range []*server{a, b} {
		c.admin[i] = rosterhttp.NewClient(s.URL, nil)
		if _, err := c.admin[i].Login(context.Background(), "root", password); err != nil {
			t.Fatal(err)
		}
	}
	return c
}

// user signs a fresh account up on s and returns a client signed in there.
func (c *cluster) user(s *server, name string) (*rosterhttp.Client, rosterhttp.User) {
	c.t.Helper()
	cl := rosterhttp.NewClient(s.URL, nil)
	u, err := cl.Signup(context.Background(), rosterhttp.SignupRequest{Username: name, Email: name + "@example.com", Password: password})
	if err != nil {
		c.t.Fatalf("sign-up %s: %v", name, err)
	}
	if _, err := cl.Login(context.Background(), name, password); err != nil {
		c.t.Fatalf("login %s: %v", name, err)
	}
	return cl, u
}

// on returns a client for s holding the same session token as cl.
func on(s *server, cl *rosterhttp.Client) *rosterhttp.Client {
	other := rosterhttp.NewClient(s.URL, nil)
	other.SetToken(cl.Token())
	return other
}

// refusedWithin polls cl's session until it is refused, failing the test
// after a second, and returns how long it took.
func refusedWithin(t *testing.T, what string, cl *rosterhttp.Client) time.Duration {
	t.Helper()
	start := time.Now()
	for {
		_, err := cl.Me(context.Background())
		if errors.Is(err, rosterhttp.ErrUnauthorized) {
			return time.Since(start)
		}
		if err != nil {
			t.Fatalf("%s: Me = %v, want 200 then 401", what, err)
		}
		if time.Since(start) > time.Second {
			t.Fatalf("%s: the other replica still accepts the session after 1 s", what)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// TestTwoReplicasOnPostgres runs every property that one process gets from
// its single SQLite writer against two processes on one PostgreSQL database
// (issue 21, point 4), through their HTTP APIs, the CLI and real SMTP.
func TestTwoReplicasOnPostgres(t *testing.T) {
	t.Parallel()
	c := startCluster(t)
	ctx := context.Background()

	t.Run("session ended on one replica is refused by the other within 1 s", func(t *testing.T) {
		ends := []struct {
			name string
			end  func(cl *rosterhttp.Client, u rosterhttp.User) error
		}{
			{"logout", func(cl *rosterhttp.Client, _ rosterhttp.User) error { return cl.Logout(ctx) }},
			{"password change", func(_ *rosterhttp.Client, u rosterhttp.User) error {
				other := rosterhttp.NewClient(c.a.URL, nil)
				if _, err := other.Login(ctx, u.Username, password); err != nil {
					return err
				}
				return other.ChangePassword(ctx, password, password+" and more")
			}},
			{"revoke", func(_ *rosterhttp.Client, u rosterhttp.User) error { return c.admin[0].RevokeUserSessions(ctx, u.ID) }},
			{"disable", func(_ *rosterhttp.Client, u rosterhttp.User) error {
				disabled := "disabled"
				_, err := c.admin[0].UpdateUser(ctx, u.ID, rosterhttp.AdminUserUpdate{Status: &disabled})
				return err
			}},
			{"delete", func(_ *rosterhttp.Client, u rosterhttp.User) error { return c.admin[0].DeleteUser(ctx, u.ID) }},
			{"password reset", func(_ *rosterhttp.Client, u rosterhttp.User) error {
				anon := rosterhttp.NewClient(c.a.URL, nil)
				if err := anon.RequestPasswordReset(ctx, rosterhttp.PasswordResetRequest{Email: u.Email}); err != nil {
					return err
				}
				token := c.waitToken(u.Email, "rpr_")
				return anon.ConfirmPasswordReset(ctx, token, password+" reset")
			}},
		}
		for _, e := range ends {
			cl, u := c.user(c.a, "end"+strings.ReplaceAll(e.name, " ", ""))
			onB := on(c.b, cl)
			for range 3 { // B has the session cached
				if _, err := onB.Me(ctx); err != nil {
					t.Fatalf("%s: Me on B before: %v", e.name, err)
				}
			}
			if err := e.end(cl, u); err != nil {
				t.Fatalf("%s on A: %v", e.name, err)
			}
			t.Logf("%s on A: refused by B after %s", e.name, refusedWithin(t, e.name, onB))
		}
	})

	t.Run("a username raced across replicas is taken once", func(t *testing.T) {
		for i := range 20 {
			name := fmt.Sprintf("race%d", i)
			var wins, conflicts int
			var mu sync.Mutex
			var wg sync.WaitGroup
			for _, s := range []*server{c.a, c.b} {
				wg.Go(func() {
					_, err := rosterhttp.NewClient(s.URL, nil).Signup(ctx, rosterhttp.SignupRequest{Username: name, Password: password})
					mu.Lock()
					defer mu.Unlock()
					switch {
					case err == nil:
						wins++
					case errors.Is(err, rosterhttp.ErrConflict):
						conflicts++
					default:
						t.Errorf("sign-up %s: %v", name, err)
					}
				})
			}
			wg.Wait()
			if wins != 1 || conflicts != 1 {
				t.Fatalf("%s: %d sign-ups succeeded and %d conflicted, want 1 and 1", name, wins, conflicts)
			}
		}
	})

	t.Run("two admins demoting each other on two replicas leave one", func(t *testing.T) {
		user := "user"
		admin := "admin"
		var ids [2]int64
		var admins [2]*rosterhttp.Client
		for i, s := range []*server{c.a, c.b} {
			name := fmt.Sprintf("boss%d", i)
			u, err := c.admin[0].CreateUser(ctx, rosterhttp.AdminUserCreate{Username: name, Password: password, Role: admin})
			if err != nil {
				t.Fatal(err)
			}
			ids[i] = u.ID
			admins[i] = rosterhttp.NewClient(s.URL, nil)
			if _, err := admins[i].Login(ctx, name, password); err != nil {
				t.Fatal(err)
			}
		}
		// root steps down, so the two bosses are the only admins.
		rootID := mustMe(t, c.admin[0]).ID
		if _, err := admins[0].UpdateUser(ctx, rootID, rosterhttp.AdminUserUpdate{Role: &user}); err != nil {
			t.Fatal(err)
		}
		for round := range 10 {
			errs := make([]error, 2)
			var wg sync.WaitGroup
			for i := range 2 {
				wg.Go(func() {
					_, errs[i] = admins[i].UpdateUser(ctx, ids[1-i], rosterhttp.AdminUserUpdate{Role: &user})
				})
			}
			wg.Wait()
			var demoted = -1
			for i, err := range errs {
				var p *rosterhttp.Problem
				switch {
				case err == nil:
					demoted = 1 - i
				case errors.As(err, &p) && (p.Code == "last_admin" || p.Status == http.StatusForbidden):
					// refused: the guard, or the demoter was demoted first
				default:
					t.Fatalf("round %d: boss%d demoting boss%d: %v", round, i, 1-i, err)
				}
			}
			if demoted < 0 {
				t.Fatalf("round %d: neither demotion went through: %v", round, errs)
			}
			if errs[0] == nil && errs[1] == nil {
				t.Fatalf("round %d: both bosses demoted each other: no admin left", round)
			}
			keeper := admins[1-demoted]
			if _, err := keeper.UpdateUser(ctx, ids[demoted], rosterhttp.AdminUserUpdate{Role: &admin}); err != nil {
				t.Fatalf("round %d: re-promoting: %v", round, err)
			}
		}
		if _, err := admins[0].UpdateUser(ctx, rootID, rosterhttp.AdminUserUpdate{Role: &admin}); err != nil {
			t.Fatal(err)
		}
	})

	t.Run("a login racing a password change on the other replica does not outlive it", func(t *testing.T) {
		for round := range 10 {
			name := fmt.Sprintf("racer%d", round)
			owner, _ := c.user(c.a, name)
			var loginErr, changeErr error
			intruder := rosterhttp.NewClient(c.b.URL, nil)
			var wg sync.WaitGroup
			wg.Go(func() { _, loginErr = intruder.Login(ctx, name, password) })
			wg.Go(func() { changeErr = owner.ChangePassword(ctx, password, password+" changed") })
			wg.Wait()
			if changeErr != nil {
				t.Fatalf("round %d: password change: %v", round, changeErr)
			}
			if loginErr == nil {
				refusedWithin(t, fmt.Sprintf("round %d: session from the old password", round), intruder)
			} else if !errors.Is(loginErr, rosterhttp.ErrUnauthorized) {
				t.Fatalf("round %d: login with the old password: %v", round, loginErr)
			}
			if _, err := rosterhttp.NewClient(c.b.URL, nil).Login(ctx, name, password); !errors.Is(err, rosterhttp.ErrUnauthorized) {
				t.Fatalf("round %d: old password after the change: %v, want 401", round, err)
			}
		}
	})

	t.Run("wrong guesses spread over replicas are throttled as on one", func(t *testing.T) {
		guesses := func(name string, servers ...*server) int {
			c.user(c.a, name)
			for n := 0; n < 50; n++ {
				_, err := rosterhttp.NewClient(servers[n%len(servers)].URL, nil).Login(ctx, name, "not the password at all")
				if errors.Is(err, rosterhttp.ErrThrottled) {
					return n
				}
				if !errors.Is(err, rosterhttp.ErrUnauthorized) {
					t.Fatalf("guess %d for %s: %v", n, name, err)
				}
			}
			t.Fatalf("50 wrong guesses for %s and no throttling", name)
			return 0
		}
		one := guesses("guessedonone", c.a)
		spread := guesses("guessedonboth", c.a, c.b)
		if spread != one {
			t.Fatalf("%d wrong guesses before throttling over two replicas, %d on one; want the same", spread, one)
		}
		t.Logf("%d wrong guesses answered before the throttle, on one replica and over two", one)
	})

	t.Run("each reset mail is sent once by two replicas' workers", func(t *testing.T) {
		before := len(c.smtp.Messages())
		const users = 10
		for i := range users {
			cl, u := c.user(c.a, fmt.Sprintf("mailee%d", i))
			_ = cl
			s := []*server{c.a, c.b}[i%2]
			if err := rosterhttp.NewClient(s.URL, nil).RequestPasswordReset(ctx, rosterhttp.PasswordResetRequest{Email: u.Email}); err != nil {
				t.Fatal(err)
			}
		}
		// Every sign-up mails a verification link and every request a reset:
		// wait for them all, then a while longer for any duplicate.
		c.smtp.Wait(before + 2*users)
		time.Sleep(2 * time.Second)
		resets := map[string]int{}
		for _, m := range c.smtp.Messages()[before:] {
			h, _, err := m.Parse()
			if err != nil {
				t.Fatal(err)
			}
			if strings.Contains(h.Get("Subject"), "Reset") {
				resets[h.Get("To")]++
			}
		}
		for i := range users {
			to := fmt.Sprintf("<mailee%d@example.com>", i)
			if resets[to] != 1 {
				t.Errorf("%d reset mails to %s, want 1", resets[to], to)
			}
		}
		if n := len(c.smtp.Messages()) - before; n != 2*users {
			t.Errorf("%d messages for %d sign-ups and %d resets, want %d", n, users, users, 2*users)
		}
	})

	t.Run("housekeeping runs once per interval across replicas", func(t *testing.T) {
		count := func() int {
			return strings.Count(c.a.log(), `"msg":"housekeeping job ran","job":"housekeeping"`) +
				strings.Count(c.b.log(), `"msg":"housekeeping job ran","job":"housekeeping"`)
		}
		start, began := count(), time.Now()
		time.Sleep(6 * time.Second)
		runs, elapsed := count()-start, time.Since(began)
		// With a 1 s interval each replica alone would run about 6 times.
		if max := int(elapsed/time.Second) + 2; runs < 3 || runs > max {
			t.Fatalf("housekeeping ran %d times in %s over two replicas, want about one a second (3 to %d)", runs, elapsed.Round(time.Millisecond), max)
		}
		t.Logf("housekeeping ran %d times in %s over two replicas", runs, elapsed.Round(time.Millisecond))
	})

	t.Run("an import colliding with sign-ups on both replicas keeps going", func(t *testing.T) {
		// A valid hash to import: the one `roster export` writes for root.
		out, stderr, code := cli(t, []string{"ROSTER_DB=" + c.dsn}, "", "export", "-")
		if code != 0 {
			t.Fatalf("roster export: exit %d: %s", code, stderr)
		}
		hash := regexp.MustCompile(`"password_hash":"([^"]+)"`).FindStringSubmatch(out)
		if hash == nil {
			t.Fatalf("no password hash in the export:\n%s", out)
		}
		const n = 60
		var lines strings.Builder
		for i := range n {
			fmt.Fprintf(&lines, `{"username":"imp%d","created_at":"2026-01-01T00:00:00Z","password_hash":%q}`+"\n", i, hash[1])
		}
		file := filepath.Join(t.TempDir(), "users.jsonl")
		if err := os.WriteFile(file, []byte(lines.String()), 0o600); err != nil {
			t.Fatal(err)
		}
		var wg sync.WaitGroup
		signedUp := make([]bool, n)
		for w := range 2 {
			wg.Go(func() {
				s := []*server{c.a, c.b}[w]
				for i := w; i < n; i += 2 {
					_, err := rosterhttp.NewClient(s.URL, nil).Signup(ctx, rosterhttp.SignupRequest{Username: fmt.Sprintf("imp%d", i), Password: password + " signup"})
					if err != nil && !errors.Is(err, rosterhttp.ErrConflict) {
						t.Errorf("sign-up imp%d: %v", i, err)
					}
					signedUp[i] = err == nil
				}
			})
		}
		var importOut, importErr string
		wg.Go(func() {
			importOut, importErr, code = cli(t, []string{"ROSTER_DB=" + c.dsn}, "", "import", "-batch", "7", file)
		})
		wg.Wait()
		var imported, refused int
		if _, err := fmt.Sscanf(importOut[strings.Index(importOut, "imported"):], "imported %d users", &imported); err != nil {
			t.Fatalf("roster import said %q (exit %d): %v\n%s", importOut, code, err, importErr)
		}
		fmt.Sscanf(importOut[strings.Index(importOut, "refused"):], "refused %d lines", &refused)
		signups := 0
		for _, ok := range signedUp {
			if ok {
				signups++
			}
		}
		if imported+refused != n || imported+signups != n {
			t.Fatalf("import: %d imported, %d refused, and %d signed up of %d names; want every name taken once\n%s", imported, refused, signups, n, importErr)
		}
		t.Logf("%d names: %d imported, %d taken by concurrent sign-ups first", n, imported, signups)
	})
}

func mustMe(t *testing.T, cl *rosterhttp.Client) rosterhttp.User {
	t.Helper()
	u, err := cl.Me(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	return u
}

// waitToken returns the token with prefix from the newest mail to an address.
func (c *cluster) waitToken(to, prefix string) string {
	c.t.Helper()
	re := regexp.MustCompile(prefix + `[A-Za-z0-9_-]{43}`)
	for deadline := time.Now().Add(30 * time.Second); time.Now().Before(deadline); time.Sleep(20 * time.Millisecond) {
		msgs := c.smtp.Messages()
		for i := len(msgs) - 1; i >= 0; i-- {
			h, body, err := msgs[i].Parse()
			if err == nil && h.Get("To") == "<"+to+">" {
				if tok := re.FindString(body); tok != "" {
					return tok
				}
			}
		}
	}
	c.t.Fatalf("no mail with a %s token to %s within 30 s", prefix, to)
	return ""
}
