package account_test

import (
	"context"
	"runtime"
	"testing"
	"time"

	"roster/account"
	"roster/account/accounttest"
)

func BenchmarkHashDefaultParams(b *testing.B) {
	h, _ := account.NewHasher(account.DefaultParams, 1, time.Minute)
	ctx := context.Background()
	b.ReportAllocs()
	for b.Loop() {
		if _, err := h.Hash(ctx, goodPassword); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkVerifyDefaultParams(b *testing.B) {
	h, _ := account.NewHasher(account.DefaultParams, 1, time.Minute)
	ctx := context.Background()
	hash, _ := h.Hash(ctx, goodPassword)
	b.ReportAllocs()
	for b.Loop() {
		if ok, _, err := h.VerifyPassword(ctx, hash, goodPassword); !ok || err != nil {
			b.Fatal(ok, err)
		}
	}
}

func BenchmarkNewTokenAndHash(b *testing.B) {
	for b.Loop() {
		account.NewToken()
	}
}

func BenchmarkPolicyValidateNewPassword(b *testing.B) {
	p, _ := account.NewPolicy(account.DefaultMinPasswordLen)
	email := "someone@example.com"
	for b.Loop() {
		if _, err := p.ValidateNewPassword("password", goodPassword, "someone", &email); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkAuthenticate is session validation: token shape check, SHA-256,
// and the session+account lookup on the reader pool.
func BenchmarkAuthenticate(b *testing.B) {
	ctx := context.Background()
	svc, token := benchSession(b, time.Now)
	b.ReportAllocs()
	for b.Loop() {
		if _, _, err := svc.Authenticate(ctx, token); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkAuthenticateTouch is session validation when the session's
// activity is due to be recorded (once a minute per session): the lookup and
// the last_seen_at write.
func BenchmarkAuthenticateTouch(b *testing.B) {
	ctx := context.Background()
	clock := accounttest.NewClock(epoch)
	svc, token := benchSession(b, clock.Now)
	svc.SessionTTL = 100 * 365 * 24 * time.Hour // a minute per call never reaches it
	b.ReportAllocs()
	for b.Loop() {
		clock.Advance(time.Minute)
		s, _, err := svc.Authenticate(ctx, token)
		if err != nil || !s.LastSeenAt.Equal(clock.Now()) {
			b.Fatal(s.LastSeenAt, err)
		}
	}
}

// benchSession is a service on the clock now with one account and the token
// of one session of it.
func benchSession(b *testing.B, now func() time.Time) (*account.Service, string) {
	ctx := context.Background()
	svc := accounttest.New(b)
	svc.Now = now
	if _, err := svc.CreateUser(ctx, account.Actor{}, account.NewUser{Username: "bench", Password: goodPassword}); err != nil {
		b.Fatal(err)
	}
	token, _, _, err := svc.Login(ctx, "bench", goodPassword, account.ClientInfo{})
	if err != nil {
		b.Fatal(err)
	}
	return svc, token
}

// BenchmarkLoginCheapHash is a whole successful login (throttle check, lookup,
// verify, session insert, audit row) with hashing made cheap, so what remains
// is the database work around the hash.
func BenchmarkLoginCheapHash(b *testing.B) {
	ctx := context.Background()
	svc := accounttest.New(b)
	if _, err := svc.CreateUser(ctx, account.Actor{}, account.NewUser{Username: "bench", Password: goodPassword}); err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	for b.Loop() {
		if _, _, _, err := svc.Login(ctx, "bench", goodPassword, account.ClientInfo{IP: "127.0.0.1"}); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkHashParallel hashes from GOMAXPROCS goroutines at once, as a
// loaded server does. argon2id is memory-bound, so concurrent hashes slow
// each other: compare ns/op here with BenchmarkHashDefaultParams / GOMAXPROCS.
func BenchmarkHashParallel(b *testing.B) {
	h, _ := account.NewHasher(account.DefaultParams, runtime.GOMAXPROCS(0), time.Minute)
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			if _, err := h.Hash(context.Background(), goodPassword); err != nil {
				b.Error(err)
				return
			}
		}
	})
}
