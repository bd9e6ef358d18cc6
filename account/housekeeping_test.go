package account_test

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	"roster/account"
	"roster/account/accounttest"
	"roster/db"
)

func TestPurgeExpired(t *testing.T) {
	accounttest.Run(t, testPurgeExpired)
}

func testPurgeExpired(t *testing.T, eng accounttest.Engine) {
	ctx := context.Background()
	svc := eng.New(t)
	clock := accounttest.NewClock(time.Date(2026, 1, 1, 12, 0, 0, 0, time.UTC))
	svc.Now = clock.Now
	svc.SessionTTL, svc.IdleTTL = 5*time.Hour, 3*time.Hour
	ann, err := svc.CreateUser(ctx, account.Actor{}, account.NewUser{Username: "ann", Password: "correct horse battery staple"})
	if err != nil {
		t.Fatal(err)
	}
	// Three mailed tokens: two expire after 30 minutes, one after 24 hours.
	for i, ttl := range []time.Duration{30 * time.Minute, 30 * time.Minute, 24 * time.Hour} {
		_, hash := account.NewToken()
		now := db.Now(clock.Now())
		err := svc.Store.Write.CreateUserToken(ctx, db.CreateUserTokenParams{TokenHash: hash, UserID: ann.ID,
			Kind: "password_reset", EmailKey: fmt.Sprint(i), CreatedAt: now, ExpiresAt: now.Add(ttl)})
		if err != nil {
			t.Fatal(err)
		}
	}
	login := func() string {
		t.Helper()
		token, _, _, err := svc.Login(ctx, "ann", "correct horse battery staple", account.ClientInfo{})
		if err != nil {
			t.Fatal(err)
		}
		return token
	}

	// Five sessions go idle; one is kept alive until it reaches its absolute
	// expiry; one is opened late and stays live.
	for range 5 {
		login()
	}
	old := login()
	for range 2 {
		clock.Advance(2*time.Hour + time.Minute)
		if _, _, err := svc.Authenticate(ctx, old); err != nil {
			t.Fatalf("Authenticate after %v: %v", clock.Now(), err)
		}
	}
	fresh := login()
	tests := []struct {
		advance      time.Duration
		wantSessions int64
		wantTokens   int64
		wantLive     int64
	}{
		{0, 5, 2, 2},              // the five idle sessions, in batches of two; the two short tokens
		{0, 0, 0, 2},              // nothing left to do
		{time.Hour, 1, 0, 1},      // old reaches its absolute lifetime, 5h after it began
		{2 * time.Hour, 1, 0, 0},  // fresh goes idle, 3h after its last use
		{24 * time.Hour, 0, 1, 0}, // the long token expires
	}
	for i, tt := range tests {
		clock.Advance(tt.advance)
		sessions, tokens, err := svc.PurgeExpired(ctx, 2)
		if err != nil || sessions != tt.wantSessions || tokens != tt.wantTokens {
			t.Fatalf("step %d: PurgeExpired = %d sessions, %d tokens, %v; want %d, %d", i, sessions, tokens, err,
				tt.wantSessions, tt.wantTokens)
		}
		live, err := svc.CountLiveSessions(ctx)
		if err != nil || live != tt.wantLive {
			t.Fatalf("step %d: CountLiveSessions = %d, %v; want %d", i, live, err, tt.wantLive)
		}
	}
	if _, _, err := svc.Authenticate(ctx, fresh); err != account.ErrUnauthenticated {
		t.Fatalf("Authenticate(purged session) = %v, want ErrUnauthenticated", err)
	}

	// The login throttle's rows: a pair idle for a day and an account whose
	// debt is paid go; a recent pair stays.
	now := db.Now(clock.Now())
	for _, p := range []db.UpsertLoginPairParams{
		{AccountKey: "u:stale", Ip: "192.0.2.0/24", Failures: 7, BlockedUntil: now, UpdatedAt: now.Add(-25 * time.Hour)},
		{AccountKey: "u:recent", Ip: "192.0.2.0/24", Failures: 7, BlockedUntil: now, UpdatedAt: now.Add(-time.Hour)},
	} {
		if err := svc.Store.Write.UpsertLoginPair(ctx, p); err != nil {
			t.Fatal(err)
		}
	}
	if err := svc.Store.Write.UpsertLoginAccount(ctx, db.UpsertLoginAccountParams{AccountKey: "u:stale", PaidUntil: now.Add(-time.Second)}); err != nil {
		t.Fatal(err)
	}
	if _, _, err := svc.PurgeExpired(ctx, 2); err != nil {
		t.Fatal(err)
	}
	if _, err := svc.Store.Read.GetLoginPair(ctx, db.GetLoginPairParams{AccountKey: "u:stale", Ip: "192.0.2.0/24"}); !errors.Is(err, sql.ErrNoRows) {
		t.Errorf("stale login pair after PurgeExpired: err = %v, want sql.ErrNoRows", err)
	}
	if p, err := svc.Store.Read.GetLoginPair(ctx, db.GetLoginPairParams{AccountKey: "u:recent", Ip: "192.0.2.0/24"}); err != nil || p.Failures != 7 {
		t.Errorf("recent login pair after PurgeExpired = %+v, %v; want kept", p, err)
	}
	if _, err := svc.Store.Read.GetLoginAccountPaidUntil(ctx, "u:stale"); !errors.Is(err, sql.ErrNoRows) {
		t.Errorf("paid-off login account after PurgeExpired: err = %v, want sql.ErrNoRows", err)
	}

	// An expired login challenge and passkey ceremony go; live ones stay.
	for i, exp := range []time.Time{now.Add(-time.Second), now.Add(time.Minute)} {
		hash := []byte{byte(i), 1, 2, 3}
		if err := svc.Store.Write.CreateMFAChallenge(ctx, db.CreateMFAChallengeParams{TokenHash: hash, UserID: ann.ID,
			PasswordHash: "x", CreatedAt: now, ExpiresAt: exp}); err != nil {
			t.Fatal(err)
		}
		if err := svc.Store.Write.CreateCeremony(ctx, db.CreateCeremonyParams{TokenHash: hash, Kind: "login",
			Session: "{}", ExpiresAt: exp}); err != nil {
			t.Fatal(err)
		}
	}
	if _, _, err := svc.PurgeExpired(ctx, 2); err != nil {
		t.Fatal(err)
	}
	for i, wantLeft := range []bool{false, true} {
		hash := []byte{byte(i), 1, 2, 3}
		_, err := svc.Store.Read.GetMFAChallenge(ctx, hash)
		if left := err == nil; left != wantLeft {
			t.Errorf("challenge %d after PurgeExpired: present %v, want %v (%v)", i, left, wantLeft, err)
		}
		_, err = svc.Store.Write.TakeCeremony(ctx, db.TakeCeremonyParams{TokenHash: hash, Kind: "login", Now: now.Add(-time.Hour)})
		if left := err == nil; left != wantLeft {
			t.Errorf("ceremony %d after PurgeExpired: present %v, want %v (%v)", i, left, wantLeft, err)
		}
	}
}

func TestTakeLease(t *testing.T) {
	accounttest.Run(t, testTakeLease)
}

// Replicas share one database: of those asking for a lease at once exactly
// one gets it, nobody else until it expires, and then one again.
func testTakeLease(t *testing.T, eng accounttest.Engine) {
	ctx := context.Background()
	dsn := eng.DSN(t)
	clock := accounttest.NewClock(time.Date(2026, 1, 1, 12, 0, 0, 0, time.UTC))
	const replicas = 4
	var svcs []*account.Service
	for range replicas {
		store, err := db.Open(ctx, dsn)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { store.Close() })
		svc := accounttest.NewOn(t, store)
		svc.Now = clock.Now
		svcs = append(svcs, svc)
	}
	round := func(what string) (winner string) {
		t.Helper()
		var mu sync.Mutex
		var winners []string
		var wg sync.WaitGroup
		for i, svc := range svcs {
			for j := range 3 { // each replica asks three times at once
				holder := fmt.Sprintf("replica-%d", i)
				wg.Go(func() {
					ok, err := svc.TakeLease(ctx, "housekeeping", holder, time.Minute)
					if err != nil {
						t.Errorf("%s: replica %d, try %d: %v", what, i, j, err)
					}
					if ok {
						mu.Lock()
						winners = append(winners, holder)
						mu.Unlock()
					}
				})
			}
		}
		wg.Wait()
		if len(winners) > 1 {
			t.Fatalf("%s: %d takers %v, want at most one", what, len(winners), winners)
		}
		if len(winners) == 1 {
			return winners[0]
		}
		return ""
	}
	first := round("at start")
	if first == "" {
		t.Fatal("at start: nobody took the free lease")
	}
	clock.Advance(time.Minute - time.Second)
	if w := round("before expiry"); w != "" {
		t.Fatalf("before expiry: %s took the lease %s holds", w, first)
	}
	clock.Advance(time.Second)
	if w := round("at expiry"); w == "" {
		t.Fatal("at expiry: nobody took the expired lease")
	}
	leases, err := svcs[0].Store.Read.ListLeases(ctx)
	if err != nil || len(leases) != 1 || !leases[0].ExpiresAt.Equal(clock.Now().Add(time.Minute)) {
		t.Fatalf("ListLeases = %+v, %v; want one lease expiring a minute from now", leases, err)
	}
}
