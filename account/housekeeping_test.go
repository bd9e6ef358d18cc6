package account_test

import (
	"context"
	"fmt"
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
}
