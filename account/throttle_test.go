package account_test

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	"roster/account"
	"roster/account/accounttest"
	"roster/db"
)

const (
	password = "correct horse battery staple"
	wrong    = "incorrect horse battery staple"
)

var epoch = time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)

// throttled returns the Retry-After of a *ThrottledError, or fails the test.
func throttled(t *testing.T, what string, err error) time.Duration {
	t.Helper()
	var te *account.ThrottledError
	if !errors.As(err, &te) {
		t.Fatalf("%s: err = %v, want *ThrottledError", what, err)
	}
	return te.RetryAfter
}

// newClocked returns a service on a fresh database with a test clock and
// one account, "alice", with password.
func newClocked(t *testing.T, eng accounttest.Engine) (*account.Service, *accounttest.Clock) {
	t.Helper()
	svc := eng.New(t)
	clock := accounttest.NewClock(epoch)
	svc.Now = clock.Now
	if _, err := svc.CreateUser(context.Background(), account.Actor{}, account.NewUser{Username: "alice", Password: password}); err != nil {
		t.Fatal(err)
	}
	return svc, clock
}

// TestThrottlePairBackoff: five failures are free, then each attempt waits
// 1 s, doubling per failure up to 15 minutes, and a refused attempt costs no
// hash. An unknown account behaves exactly like a known one.
func TestThrottlePairBackoff(t *testing.T) {
	accounttest.Run(t, testThrottlePairBackoff)
}

func testThrottlePairBackoff(t *testing.T, eng accounttest.Engine) {
	for _, login := range []string{"alice", "nobody"} {
		t.Run(login, func(t *testing.T) {
			ctx := context.Background()
			svc, clock := newClocked(t, eng)
			check := func() error {
				_, err := svc.LoginWithoutSession(ctx, login, wrong, "192.0.2.1")
				return err
			}
			for i := range 5 {
				if err := check(); !errors.Is(err, account.ErrBadCredentials) {
					t.Fatalf("failure %d: err = %v, want ErrBadCredentials", i+1, err)
				}
			}
			want := time.Second
			for i := range 14 {
				runs := svc.Hasher.Runs()
				if got := throttled(t, fmt.Sprintf("round %d", i), check()); got != want {
					t.Fatalf("round %d: Retry-After = %s, want %s", i, got, want)
				}
				if runs != svc.Hasher.Runs() {
					t.Fatalf("round %d: a throttled attempt ran the hasher", i)
				}
				clock.Advance(want - time.Second)
				throttled(t, fmt.Sprintf("round %d, 1 s early", i), check())
				clock.Advance(time.Second)
				if err := check(); !errors.Is(err, account.ErrBadCredentials) {
					t.Fatalf("round %d, after %s: err = %v, want ErrBadCredentials", i, want, err)
				}
				want = min(2*want, 15*time.Minute)
			}
			// Another network is a separate pair.
			if _, err := svc.LoginWithoutSession(ctx, login, wrong, "192.0.2.2"); !errors.Is(err, account.ErrBadCredentials) {
				t.Fatalf("other network: err = %v, want ErrBadCredentials", err)
			}
			// Never permanent: a pair idle for a day starts over.
			clock.Advance(25 * time.Hour)
			for i := range 5 {
				if err := check(); !errors.Is(err, account.ErrBadCredentials) {
					t.Fatalf("a day later, failure %d: err = %v, want ErrBadCredentials", i+1, err)
				}
			}
		})
	}
}

// TestThrottleWaitRoundsUp: stored times are whole seconds, yet no wait is
// cut short: five failures just before a second begins still make the next
// attempt wait a whole second, until the one after it.
func TestThrottleWaitRoundsUp(t *testing.T) {
	accounttest.Run(t, testThrottleWaitRoundsUp)
}

func testThrottleWaitRoundsUp(t *testing.T, eng accounttest.Engine) {
	ctx := context.Background()
	svc, clock := newClocked(t, eng)
	check := func() error {
		_, err := svc.LoginWithoutSession(ctx, "alice", wrong, "192.0.2.1")
		return err
	}
	clock.Advance(900 * time.Millisecond)
	for i := range 5 {
		if err := check(); !errors.Is(err, account.ErrBadCredentials) {
			t.Fatalf("failure %d: err = %v, want ErrBadCredentials", i+1, err)
		}
	}
	clock.Advance(200 * time.Millisecond) // into the next second, 0.2 s into the wait
	if got := throttled(t, "0.2 s into a 1 s wait", check()); got != time.Second {
		t.Fatalf("0.2 s into a 1 s wait: Retry-After = %s, want 1s", got)
	}
	clock.Advance(800 * time.Millisecond)
	throttled(t, "1 s after the failure, before the next whole second", check())
	clock.Advance(100 * time.Millisecond)
	if err := check(); !errors.Is(err, account.ErrBadCredentials) {
		t.Fatalf("at the next whole second: err = %v, want ErrBadCredentials", err)
	}
}

// TestThrottleSuccessResets: a right password resets the pair's count,
// unless the account is disabled.
func TestThrottleSuccessResets(t *testing.T) {
	accounttest.Run(t, testThrottleSuccessResets)
}

func testThrottleSuccessResets(t *testing.T, eng accounttest.Engine) {
	ctx := context.Background()
	svc, _ := newClocked(t, eng)
	const ip = "192.0.2.1"
	for range 2 {
		for i := range 4 {
			if _, err := svc.LoginWithoutSession(ctx, "alice", wrong, ip); !errors.Is(err, account.ErrBadCredentials) {
				t.Fatalf("failure %d: err = %v, want ErrBadCredentials", i+1, err)
			}
		}
		if _, err := svc.LoginWithoutSession(ctx, "alice", password, ip); err != nil {
			t.Fatalf("right password after 4 failures: %v", err)
		}
	}
	for range 5 {
		svc.LoginWithoutSession(ctx, "alice", wrong, ip)
	}
	throttled(t, "after 5 failures", func() error { _, err := svc.LoginWithoutSession(ctx, "alice", password, ip); return err }())

	// A disabled account's right password is a failure like any other: if it
	// reset the count, the throttle would confirm the guess.
	user, err := svc.UserByName(ctx, "alice")
	if err != nil {
		t.Fatal(err)
	}
	disabled := account.StatusDisabled
	if _, err := svc.UpdateUser(ctx, account.Actor{}, user.ID, account.UserChange{Status: &disabled}); err != nil {
		t.Fatal(err)
	}
	const other = "192.0.2.2"
	for i := range 4 {
		svc.LoginWithoutSession(ctx, "alice", wrong, other)
		if i == 1 {
			if _, err := svc.LoginWithoutSession(ctx, "alice", password, other); !errors.Is(err, account.ErrBadCredentials) {
				t.Fatalf("disabled account, right password: err = %v, want ErrBadCredentials", err)
			}
		}
	}
	throttled(t, "disabled account after 4 wrong and 1 right password", func() error { _, err := svc.LoginWithoutSession(ctx, "alice", wrong, other); return err }())
}

// TestThrottleSurvivesRestart: the counters are in the database.
func TestThrottleSurvivesRestart(t *testing.T) {
	accounttest.Run(t, testThrottleSurvivesRestart)
}

func testThrottleSurvivesRestart(t *testing.T, eng accounttest.Engine) {
	ctx := context.Background()
	dsn := eng.DSN(t)
	clock := accounttest.NewClock(epoch)
	open := func() *account.Service {
		store, err := db.Open(ctx, dsn)
		if err != nil {
			t.Fatal(err)
		}
		svc := accounttest.NewOn(t, store)
		svc.Now = clock.Now
		return svc
	}
	svc := open()
	if _, err := svc.CreateUser(ctx, account.Actor{}, account.NewUser{Username: "alice", Password: password}); err != nil {
		t.Fatal(err)
	}
	for range 5 {
		svc.LoginWithoutSession(ctx, "alice", wrong, "192.0.2.1")
	}
	if err := svc.Store.Close(); err != nil {
		t.Fatal(err)
	}
	svc = open()
	defer svc.Store.Close()
	_, err := svc.LoginWithoutSession(ctx, "alice", password, "192.0.2.1")
	if got := throttled(t, "after restart", err); got != time.Second {
		t.Fatalf("after restart: Retry-After = %s, want 1s", got)
	}
}

// TestThrottleAccountCap: an attacker spraying one account from ever new
// networks (never tripping a pair) gets fewer than 100 verifications in an
// hour, even when networks the account logged in from guess wrong as well;
// while the attack only comes from strangers, the owner, from a network that
// logged in before, still logs in. The cap lifts by itself after the attack.
func TestThrottleAccountCap(t *testing.T) {
	accounttest.Run(t, testThrottleAccountCap)
}

func testThrottleAccountCap(t *testing.T, eng accounttest.Engine) {
	for _, knownGuess := range []bool{false, true} {
		t.Run(fmt.Sprintf("known networks guess: %v", knownGuess), func(t *testing.T) {
			ctx := context.Background()
			svc, clock := newClocked(t, eng)
			known := make([]string, 40) // known[0] is the owner's
			for i := range known {
				known[i] = fmt.Sprintf("198.51.100.%d", i+1)
				if _, err := svc.LoginWithoutSession(ctx, "alice", password, known[i]); err != nil {
					t.Fatalf("login from %s: %v", known[i], err)
				}
			}
			verified := 0 // wrong passwords the hasher checked
			guess := func(ip string) error {
				_, err := svc.LoginWithoutSession(ctx, "alice", wrong, ip)
				if errors.Is(err, account.ErrBadCredentials) {
					verified++
				} else if throttled(t, "guess from "+ip, err) <= 0 {
					t.Fatalf("guess from %s: Retry-After must be positive", ip)
				}
				return err
			}
			for step := range 720 { // one attempt every 5 s for an hour
				if knownGuess && step%3 == 2 {
					guess(known[1+step%39])
				} else {
					guess(fmt.Sprintf("10.0.%d.%d", step/256, step%256))
				}
				if !knownGuess && step%60 == 30 {
					if _, err := svc.LoginWithoutSession(ctx, "alice", password, known[0]); err != nil {
						t.Fatalf("owner from a known network during the attack (step %d): %v", step, err)
					}
				}
				clock.Advance(5 * time.Second)
			}
			if verified >= 100 {
				t.Fatalf("%d wrong passwords verified in one hour, want fewer than 100", verified)
			}
			t.Logf("%d wrong passwords verified in one hour", verified)
			clock.Advance(time.Hour)
			if err := guess("203.0.113.10"); !errors.Is(err, account.ErrBadCredentials) {
				t.Fatalf("an hour after the attack: err = %v, want ErrBadCredentials (no permanent lock)", err)
			}
		})
	}
}

// TestThrottleRefundsUnverified: an attempt that verified nothing (the
// hasher was busy) is not counted as a failure, nor leaves a wait.
func TestThrottleRefundsUnverified(t *testing.T) {
	accounttest.Run(t, testThrottleRefundsUnverified)
}

func testThrottleRefundsUnverified(t *testing.T, eng accounttest.Engine) {
	ctx := context.Background()
	svc, _ := newClocked(t, eng)
	hasher, err := account.NewHasher(accounttest.CheapParams, 1, 0)
	if err != nil {
		t.Fatal(err)
	}
	svc.Hasher = hasher
	release := account.FillHashSlots(hasher)
	for i := range 10 {
		if _, err := svc.LoginWithoutSession(ctx, "alice", wrong, "192.0.2.1"); !errors.Is(err, account.ErrHashBusy) {
			t.Fatalf("attempt %d with a full limiter: err = %v, want ErrHashBusy", i, err)
		}
	}
	release()
	if _, err := svc.LoginWithoutSession(ctx, "alice", password, "192.0.2.1"); err != nil {
		t.Fatalf("right password after unverified attempts: %v", err)
	}

	// An unverified fifth attempt leaves four failures, which cost no wait,
	// though its charge had set one.
	for i := range 4 {
		if _, err := svc.LoginWithoutSession(ctx, "alice", wrong, "192.0.2.1"); !errors.Is(err, account.ErrBadCredentials) {
			t.Fatalf("failure %d: err = %v, want ErrBadCredentials", i+1, err)
		}
	}
	release = account.FillHashSlots(hasher)
	if _, err := svc.LoginWithoutSession(ctx, "alice", wrong, "192.0.2.1"); !errors.Is(err, account.ErrHashBusy) {
		t.Fatalf("fifth attempt with a full limiter: err = %v, want ErrHashBusy", err)
	}
	release()
	if _, err := svc.LoginWithoutSession(ctx, "alice", wrong, "192.0.2.1"); !errors.Is(err, account.ErrBadCredentials) {
		t.Fatalf("the fifth failure after an unverified attempt: err = %v, want ErrBadCredentials", err)
	}
	_, err = svc.LoginWithoutSession(ctx, "alice", password, "192.0.2.1")
	throttled(t, "after five failures", err)
}

// TestThrottleOwnPassword: confirming one's own password before a sensitive
// change shares the login throttle, so a stolen session is no unlimited
// password oracle.
func TestThrottleOwnPassword(t *testing.T) {
	accounttest.Run(t, testThrottleOwnPassword)
}

func testThrottleOwnPassword(t *testing.T, eng accounttest.Engine) {
	ctx := context.Background()
	svc, _ := newClocked(t, eng)
	user, err := svc.UserByName(ctx, "alice")
	if err != nil {
		t.Fatal(err)
	}
	const ip = "192.0.2.1"
	for i := range 5 {
		if err := svc.CheckOwnPassword(ctx, user, ip, "password", wrong); !errors.Is(err, account.ErrWrongPassword) {
			t.Fatalf("failure %d: err = %v, want ErrWrongPassword", i+1, err)
		}
	}
	runs := svc.Hasher.Runs()
	throttled(t, "own password after 5 failures", svc.CheckOwnPassword(ctx, user, ip, "password", password))
	_, err = svc.LoginWithoutSession(ctx, "alice", password, ip)
	throttled(t, "login from the same network", err)
	if svc.Hasher.Runs() != runs {
		t.Fatal("throttled attempts ran the hasher")
	}
}

// TestThrottlePairIsTheLoginAsTyped: the per-(login, network) delay is keyed
// by the name as typed, so failures on a username do not throttle the
// account's email (which would tell a guesser that the email is that
// account's) nor the other way round; the hourly cap, though, counts every
// failure on the account, by whichever name.
func TestThrottlePairIsTheLoginAsTyped(t *testing.T) {
	accounttest.Run(t, testThrottlePairIsTheLoginAsTyped)
}

func testThrottlePairIsTheLoginAsTyped(t *testing.T, eng accounttest.Engine) {
	ctx := context.Background()
	for _, tc := range []struct{ first, then string }{
		{"alice", "alice.secret@example.com"},
		{"alice.secret@example.com", "Alice"},
	} {
		t.Run(tc.first, func(t *testing.T) {
			svc := eng.New(t)
			svc.Now = accounttest.NewClock(epoch).Now // the 1 s wait must not end mid-test
			if _, err := svc.CreateUser(ctx, account.Actor{}, account.NewUser{Username: "alice", Email: "alice.secret@example.com", Password: password}); err != nil {
				t.Fatal(err)
			}
			const ip = "203.0.113.9"
			for range 5 {
				svc.LoginWithoutSession(ctx, tc.first, wrong, ip)
			}
			_, err := svc.LoginWithoutSession(ctx, tc.first, wrong, ip)
			throttled(t, tc.first+" after 5 failures", err)
			for _, login := range []string{"nobody@example.com", "nobody", tc.then} {
				if _, err := svc.LoginWithoutSession(ctx, login, wrong, ip); !errors.Is(err, account.ErrBadCredentials) {
					t.Errorf("%s after 5 failures on %s: err = %v, want ErrBadCredentials", login, tc.first, err)
				}
			}
		})
	}
	t.Run("account cap", func(t *testing.T) {
		svc := eng.New(t)
		if _, err := svc.CreateUser(ctx, account.Actor{}, account.NewUser{Username: "alice", Email: "alice.secret@example.com", Password: password}); err != nil {
			t.Fatal(err)
		}
		logins := []string{"alice", "alice.secret@example.com"}
		for i := range 30 { // burstUnknown failures from networks that never logged in
			if _, err := svc.LoginWithoutSession(ctx, logins[i%2], wrong, fmt.Sprintf("10.0.0.%d", i)); !errors.Is(err, account.ErrBadCredentials) {
				t.Fatalf("failure %d: err = %v, want ErrBadCredentials", i+1, err)
			}
		}
		for _, login := range logins {
			_, err := svc.LoginWithoutSession(ctx, login, wrong, "10.0.1.1")
			throttled(t, login+" after 30 failures on the account", err)
		}
	})
}

func TestConcurrentGuessesStayWithinTheCaps(t *testing.T) {
	t.Parallel()
	accounttest.Run(t, testConcurrentGuessesStayWithinTheCaps)
}

// Wrong guesses sent at once, through four pools as from four replicas,
// are charged one after another on the throttle's rows: from one address
// no more than the pair's free failures get a hash, and from many
// addresses no more than an unknown network's burst on the account.
func testConcurrentGuessesStayWithinTheCaps(t *testing.T, eng accounttest.Engine) {
	t.Parallel()
	ctx := context.Background()
	dsn := eng.DSN(t)
	clock := accounttest.NewClock(epoch)
	var svcs []*account.Service
	for range 4 {
		store, err := db.Open(ctx, dsn)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { store.Close() })
		svc := accounttest.NewOn(t, store)
		svc.Now = clock.Now
		svcs = append(svcs, svc)
	}
	for _, name := range []string{"alice", "bob"} {
		if _, err := svcs[0].CreateUser(ctx, account.Actor{}, account.NewUser{Username: name, Password: password}); err != nil {
			t.Fatal(err)
		}
	}
	guess := func(login string, n int, ip func(i int) string) (admitted, throttledN int) {
		var mu sync.Mutex
		var wg sync.WaitGroup
		for i := range n {
			wg.Go(func() {
				_, err := svcs[i%len(svcs)].LoginWithoutSession(ctx, login, wrong, ip(i))
				mu.Lock()
				defer mu.Unlock()
				var te *account.ThrottledError
				switch {
				case errors.Is(err, account.ErrBadCredentials):
					admitted++
				case errors.As(err, &te):
					throttledN++
				default:
					t.Errorf("guess %d for %s: %v", i, login, err)
				}
			})
		}
		wg.Wait()
		return admitted, throttledN
	}
	if a, th := guess("alice", 20, func(int) string { return "192.0.2.1" }); a > 5 || a+th != 20 {
		t.Errorf("20 guesses at once from one address: %d got a hash, %d throttled; want at most 5 (the free failures)", a, th)
	}
	if a, th := guess("bob", 60, func(i int) string { return fmt.Sprintf("10.%d.%d.1", i/200, i%200) }); a > 30 || a+th != 60 {
		t.Errorf("60 guesses at once from 60 addresses: %d got a hash, %d throttled; want at most 30 (an unknown network's burst)", a, th)
	}
}
