package account_test

import (
	"context"
	"testing"
	"time"

	"roster/account"
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
		if ok, _, err := h.Verify(ctx, hash, goodPassword); !ok || err != nil {
			b.Fatal(ok, err)
		}
	}
}

func BenchmarkNewTokenAndHash(b *testing.B) {
	for b.Loop() {
		account.NewToken()
	}
}

func BenchmarkPolicyCheck(b *testing.B) {
	p, _ := account.NewPolicy(account.DefaultMinPasswordLen)
	email := "someone@example.com"
	for b.Loop() {
		if _, err := p.Check("password", goodPassword, "someone", &email); err != nil {
			b.Fatal(err)
		}
	}
}
