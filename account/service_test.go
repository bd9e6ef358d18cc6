package account_test

import (
	"bytes"
	"context"
	"errors"
	"os"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"roster/account"
	"roster/account/accounttest"
	"roster/db"
)

func TestLoginAndSessionLifetimes(t *testing.T) {
	t.Parallel()
	accounttest.Run(t, testLoginAndSessionLifetimes)
}

func testLoginAndSessionLifetimes(t *testing.T, eng accounttest.Engine) {
	t.Parallel()
	ctx := context.Background()
	svc := eng.New(t)
	clock := accounttest.NewClock(time.Date(2026, 1, 1, 12, 0, 0, 0, time.UTC))
	svc.Now = clock.Now
	if _, err := svc.CreateUser(ctx, account.Actor{}, account.NewUser{Username: "dora", Password: goodPassword}); err != nil {
		t.Fatal(err)
	}

	token, _, _, err := svc.Login(ctx, "Dora", goodPassword, account.ClientInfo{UserAgent: "test", IP: "127.0.0.1"})
	if err != nil {
		t.Fatal(err)
	}
	if _, _, err := svc.Authenticate(ctx, token); err != nil {
		t.Fatalf("Authenticate(fresh token): %v", err)
	}

	// last_seen_at is written at most once a minute.
	clock.Advance(30 * time.Second)
	s, _, _ := svc.Authenticate(ctx, token)
	if !s.LastSeenAt.Equal(clock.Now().Add(-30 * time.Second)) {
		t.Errorf("last_seen_at = %v after 30 s, want unchanged", s.LastSeenAt)
	}
	clock.Advance(31 * time.Second)
	s, _, _ = svc.Authenticate(ctx, token)
	if !s.LastSeenAt.Equal(clock.Now()) {
		t.Errorf("last_seen_at = %v after 61 s, want %v", s.LastSeenAt, clock.Now())
	}

	// Idle: 7 days without use kills the session.
	clock.Advance(account.DefaultIdleTTL - time.Second)
	if _, _, err := svc.Authenticate(ctx, token); err != nil {
		t.Fatalf("Authenticate just inside the idle lifetime: %v", err)
	}
	clock.Advance(account.DefaultIdleTTL)
	if _, _, err := svc.Authenticate(ctx, token); !errors.Is(err, account.ErrUnauthenticated) {
		t.Fatalf("Authenticate after 7 idle days = %v, want ErrUnauthenticated", err)
	}

	// Absolute: 30 days even when used every day.
	token, _, _, _ = svc.Login(ctx, "dora", goodPassword, account.ClientInfo{})
	for range 29 {
		clock.Advance(24 * time.Hour)
		if _, _, err := svc.Authenticate(ctx, token); err != nil {
			t.Fatalf("Authenticate on a daily-used session: %v", err)
		}
	}
	clock.Advance(24 * time.Hour)
	if _, _, err := svc.Authenticate(ctx, token); !errors.Is(err, account.ErrUnauthenticated) {
		t.Fatalf("Authenticate after 30 days = %v, want ErrUnauthenticated", err)
	}
}

func TestLoginMintsNewTokenAndLogoutKillsIt(t *testing.T) {
	t.Parallel()
	accounttest.Run(t, testLoginMintsNewTokenAndLogoutKillsIt)
}

func testLoginMintsNewTokenAndLogoutKillsIt(t *testing.T, eng accounttest.Engine) {
	t.Parallel()
	ctx := context.Background()
	svc := eng.New(t)
	svc.CreateUser(ctx, account.Actor{}, account.NewUser{Username: "erin", Email: "erin@example.com", Password: goodPassword})
	a, sa, _, err := svc.Login(ctx, "erin", goodPassword, account.ClientInfo{})
	if err != nil {
		t.Fatal(err)
	}
	b, _, _, err := svc.Login(ctx, "ERIN@example.com", goodPassword, account.ClientInfo{})
	if err != nil {
		t.Fatalf("login by email: %v", err)
	}
	if a == b {
		t.Fatal("two logins returned the same token")
	}
	if err := svc.Logout(ctx, account.Actor{}, sa); err != nil {
		t.Fatal(err)
	}
	if _, _, err := svc.Authenticate(ctx, a); !errors.Is(err, account.ErrUnauthenticated) {
		t.Errorf("Authenticate(logged-out token) = %v, want ErrUnauthenticated", err)
	}
	if _, _, err := svc.Authenticate(ctx, b); err != nil {
		t.Errorf("the other session died with the first: %v", err)
	}
}

func TestLoginWithoutSessionUpgradesOldHash(t *testing.T) {
	t.Parallel()
	accounttest.Run(t, testCheckPasswordUpgradesOldHash)
}

func testCheckPasswordUpgradesOldHash(t *testing.T, eng accounttest.Engine) {
	t.Parallel()
	ctx := context.Background()
	svc := eng.New(t)
	u, err := svc.CreateUser(ctx, account.Actor{}, account.NewUser{Username: "fred", Password: goodPassword})
	if err != nil {
		t.Fatal(err)
	}
	// The service moves to stronger parameters; fred's stored hash is now old.
	stronger := accounttest.CheapParams
	stronger.Time = 2
	svc.Hasher, _ = account.NewHasher(stronger, 1, time.Second)
	if _, err := svc.LoginWithoutSession(ctx, "fred", goodPassword, "192.0.2.1"); err != nil {
		t.Fatal(err)
	}
	got, _ := svc.Store.Read.GetUser(ctx, u.ID)
	p, _, _, err := account.ParsePHC(got.PasswordHash)
	if err != nil || p != stronger {
		t.Fatalf("stored hash params = %+v (%v), want upgraded to %+v", p, err, stronger)
	}
	if _, err := svc.LoginWithoutSession(ctx, "fred", goodPassword, "192.0.2.1"); err != nil {
		t.Fatalf("login after rehash: %v", err)
	}
}

func TestLoginWithoutSessionGenericFailure(t *testing.T) {
	t.Parallel()
	accounttest.Run(t, testCheckPasswordGenericFailure)
}

func testCheckPasswordGenericFailure(t *testing.T, eng accounttest.Engine) {
	t.Parallel()
	ctx := context.Background()
	svc := eng.New(t)
	svc.CreateUser(ctx, account.Actor{}, account.NewUser{Username: "gina", Password: goodPassword})
	for _, login := range []string{"gina", "nobody", "no body", "x@y.z"} {
		if _, err := svc.LoginWithoutSession(ctx, login, "wrong password entirely", "192.0.2.1"); !errors.Is(err, account.ErrBadCredentials) {
			t.Errorf("LoginWithoutSession(%q, wrong) = %v, want ErrBadCredentials", login, err)
		}
	}
}

func TestPlaintextPasswordNeverStored(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	svc := accounttest.New(t)
	passwords := map[string]string{"quinn": "Plaintext-Marker-Q-0123456789", "rosa": "Plaintext-Marker-R-9876543210"}
	for name, pw := range passwords {
		if _, err := svc.CreateUser(ctx, account.Actor{}, account.NewUser{Username: name, Password: pw}); err != nil {
			t.Fatal(err)
		}
		if _, _, _, err := svc.Login(ctx, name, pw, account.ClientInfo{}); err != nil {
			t.Fatal(err)
		}
	}
	var files [][]byte
	for _, suffix := range []string{"", "-wal"} {
		b, err := os.ReadFile(svc.Store.Engine.(*db.SQLite).Path() + suffix)
		if err != nil {
			t.Fatalf("read database%s: %v", suffix, err)
		}
		files = append(files, b)
	}
	if len(files[1]) == 0 {
		t.Fatal("the WAL is empty; the test would not see uncheckpointed data")
	}
	for _, pw := range passwords {
		for i, b := range files {
			if bytes.Contains(b, []byte(pw)) {
				t.Errorf("plaintext password found in %s", []string{"the database file", "the WAL"}[i])
			}
		}
	}
}

// TestLoginStoresUserAgent: the session keeps at most 512 bytes of the
// User-Agent, cut before a character that straddles byte 512, and as valid
// UTF-8 even when the header is not.
func TestLoginStoresUserAgent(t *testing.T) {
	t.Parallel()
	accounttest.Run(t, testLoginStoresUserAgent)
}

func testLoginStoresUserAgent(t *testing.T, eng accounttest.Engine) {
	t.Parallel()
	ctx := context.Background()
	svc := eng.New(t)
	if _, err := svc.CreateUser(ctx, account.Actor{}, account.NewUser{Username: "uma", Password: goodPassword}); err != nil {
		t.Fatal(err)
	}
	a := strings.Repeat
	for _, tc := range []struct{ sent, stored string }{
		{"Mozilla/5.0", "Mozilla/5.0"},
		{a("a", 512) + "tail", a("a", 512)},
		{a("a", 511) + "é", a("a", 511)},        // é is bytes 511-512
		{a("a", 510) + "€x", a("a", 510)},       // € is bytes 510-512
		{a("a", 509) + "😀", a("a", 509)},        // 😀 is bytes 509-512
		{a("a", 508) + "😀x", a("a", 508) + "😀"}, // 😀 ends at byte 511
		{"Mozilla\xff\xfe/5.0 \xc3", "Mozilla\uFFFD/5.0 \uFFFD"},
		{a("\xff", 600) + "x", "\uFFFDx"},
		{a("a", 511) + "\xff", a("a", 511)}, // the U+FFFD would straddle byte 512
	} {
		token, _, _, err := svc.Login(ctx, "uma", goodPassword, account.ClientInfo{UserAgent: tc.sent, IP: "127.0.0.1"})
		if err != nil {
			t.Fatal(err)
		}
		s, _, err := svc.Authenticate(ctx, token)
		if err != nil {
			t.Fatal(err)
		}
		if s.UserAgent != tc.stored || !utf8.ValidString(s.UserAgent) || len(s.UserAgent) > 512 {
			t.Errorf("User-Agent %q stored as %q, want %q", tc.sent, s.UserAgent, tc.stored)
		}
	}
}
