package account_test

import (
	"bytes"
	"context"
	"encoding/base64"
	"errors"
	"fmt"
	"regexp"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"

	"golang.org/x/crypto/argon2"
	"golang.org/x/crypto/bcrypt"

	"roster/account"
	"roster/account/accounttest"
)

func TestHashFormatAndVerify(t *testing.T) {
	t.Parallel()
	h, err := account.NewHasher(account.DefaultParams, 2, time.Second)
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	hash, err := h.Hash(ctx, goodPassword)
	if err != nil {
		t.Fatal(err)
	}
	phc := regexp.MustCompile(`^\$argon2id\$v=19\$m=19456,t=2,p=1\$[A-Za-z0-9+/]{22}\$[A-Za-z0-9+/]{43}$`)
	if !phc.MatchString(hash) {
		t.Fatalf("Hash = %q, want an OWASP-parameter argon2id PHC string with 16-byte salt and 32-byte key", hash)
	}
	if ok, rehash, err := h.VerifyPassword(ctx, hash, goodPassword); !ok || rehash || err != nil {
		t.Errorf("VerifyPassword(right password) = %v, %v, %v; want true, false, nil", ok, rehash, err)
	}
	if ok, _, err := h.VerifyPassword(ctx, hash, goodPassword+"!"); ok || err != nil {
		t.Errorf("VerifyPassword(wrong password) = %v, %v; want false, nil", ok, err)
	}
	again, _ := h.Hash(ctx, goodPassword)
	if again == hash {
		t.Error("two hashes of one password are equal; salts must differ")
	}
}

const goodPassword = "correct horse battery staple"

// TestHashInteroperatesWithXCrypto: the hashes a Hasher computes in its kept
// work areas are standard argon2id. Its PHC strings check out with x/crypto,
// and one made by x/crypto verifies, several times on the same slot.
func TestHashInteroperatesWithXCrypto(t *testing.T) {
	t.Parallel()
	h, err := account.NewHasher(account.DefaultParams, 1, time.Second)
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	p := account.DefaultParams
	for i := range 3 {
		password := fmt.Sprintf("%s %d", goodPassword, i)
		hash, err := h.Hash(ctx, password)
		if err != nil {
			t.Fatal(err)
		}
		_, salt, key, err := account.ParsePHC(hash)
		if err != nil {
			t.Fatal(err)
		}
		if want := argon2.IDKey([]byte(password), salt, p.Time, p.Memory, p.Threads, p.KeyLen); !bytes.Equal(key, want) {
			t.Fatalf("Hash(%q) key = %x, x/crypto computes %x", password, key, want)
		}
		salt = []byte(fmt.Sprintf("x/crypto salt %02d", i)) // 16 bytes, as roster makes
		theirs := fmt.Sprintf("$argon2id$v=19$m=%d,t=%d,p=%d$%s$%s", p.Memory, p.Time, p.Threads,
			base64.RawStdEncoding.EncodeToString(salt),
			base64.RawStdEncoding.EncodeToString(argon2.IDKey([]byte(password), salt, p.Time, p.Memory, p.Threads, p.KeyLen)))
		if ok, rehash, err := h.VerifyPassword(ctx, theirs, password); !ok || rehash || err != nil {
			t.Fatalf("VerifyPassword(x/crypto's hash) = %v, %v, %v; want true, false, nil", ok, rehash, err)
		}
		if ok, _, err := h.VerifyPassword(ctx, theirs, password+"!"); ok || err != nil {
			t.Fatalf("VerifyPassword(x/crypto's hash, wrong password) = %v, %v; want false, nil", ok, err)
		}
	}
}

func TestVerifyOlderArgonParamsAsksRehash(t *testing.T) {
	t.Parallel()
	old, _ := account.NewHasher(accounttest.CheapParams, 1, time.Second)
	current, _ := account.NewHasher(account.DefaultParams, 1, time.Second)
	hash, _ := old.Hash(context.Background(), goodPassword)
	ok, rehash, err := current.VerifyPassword(context.Background(), hash, goodPassword)
	if !ok || !rehash || err != nil {
		t.Errorf("VerifyPassword(old params) = %v, %v, %v; want true, true, nil", ok, rehash, err)
	}
}

func TestVerifyBcrypt(t *testing.T) {
	t.Parallel()
	h, _ := account.NewHasher(accounttest.CheapParams, 1, time.Second)
	b, err := bcrypt.GenerateFromPassword([]byte(goodPassword), bcrypt.MinCost)
	if err != nil {
		t.Fatal(err)
	}
	for _, prefix := range []string{"$2a$", "$2b$", "$2y$"} {
		hash := prefix + string(b[4:])
		ok, rehash, err := h.VerifyPassword(context.Background(), hash, goodPassword)
		if !ok || !rehash || err != nil {
			t.Errorf("VerifyPassword(%s…) = %v, %v, %v; want true, true (bcrypt is always upgraded), nil", prefix, ok, rehash, err)
		}
		if ok, _, _ := h.VerifyPassword(context.Background(), hash, "wrong password here"); ok {
			t.Errorf("VerifyPassword(%s…, wrong password) = true", prefix)
		}
	}
}

func TestParsePHCRefusesAbsurdParamsWithoutAllocating(t *testing.T) {
	t.Parallel()
	salt, key := "c2FsdHNhbHRzYWx0c2FsdA", "a2V5a2V5a2V5a2V5a2V5a2V5a2V5a2V5a2V5a2U"
	bad := []string{
		"$argon2id$v=19$m=1048577,t=2,p=1$" + salt + "$" + key, // > 1 GiB
		"$argon2id$v=19$m=4294967295,t=2,p=1$" + salt + "$" + key,
		"$argon2id$v=19$m=19456,t=21,p=1$" + salt + "$" + key,
		"$argon2id$v=19$m=19456,t=0,p=1$" + salt + "$" + key,
		"$argon2id$v=19$m=19456,t=2,p=0$" + salt + "$" + key,
		"$argon2id$v=19$m=19456,t=2,p=255$" + salt + "$" + key,
		"$argon2id$v=19$m=19456,t=2$" + salt + "$" + key,
		"$argon2id$v=19$t=2,m=19456,p=1$" + salt + "$" + key,
		"$argon2id$v=18$m=19456,t=2,p=1$" + salt + "$" + key,
		"$argon2i$v=19$m=19456,t=2,p=1$" + salt + "$" + key,
		"$argon2id$v=19$m=19456,t=2,p=1$" + salt + "$" + strings.Repeat("A", 1<<20),
		"$argon2id$v=19$m=19456,t=2,p=1$!!!$" + key,
		"$2b$31$" + strings.Repeat("a", 53), // bcrypt cost 31
		"plain",
		"",
	}
	h, _ := account.NewHasher(account.DefaultParams, 1, time.Second)
	for _, s := range bad {
		var before, after runtime.MemStats
		runtime.ReadMemStats(&before)
		ok, _, err := h.VerifyPassword(context.Background(), s, goodPassword)
		runtime.ReadMemStats(&after)
		if ok || !errors.Is(err, account.ErrMalformedHash) {
			t.Errorf("VerifyPassword(%.60q) = %v, %v; want false, ErrMalformedHash", s, ok, err)
		}
		// Other tests run in parallel, so allow slack; a refused 1 GiB hash
		// would allocate far more than this.
		if grew := after.TotalAlloc - before.TotalAlloc; grew > 64<<20 {
			t.Errorf("VerifyPassword(%.60q) allocated %d bytes, want it refused before allocating", s, grew)
		}
	}
}

func TestHasherLimiterBoundsWait(t *testing.T) {
	t.Parallel()
	// One slot and a 20 ms wait: while a hash holds the slot, a second caller
	// gives up with ErrHashBusy instead of queueing without bound. The first
	// hash holds the slot until the test lets it go (its observer blocks),
	// so the outcome does not depend on timing.
	h, err := account.NewHasher(accounttest.CheapParams, 1, 20*time.Millisecond)
	if err != nil {
		t.Fatal(err)
	}
	hold := &slotHolder{held: make(chan struct{}), release: make(chan struct{})}
	h.Observe(hold)
	var wg sync.WaitGroup
	wg.Go(func() { h.Hash(context.Background(), goodPassword) })
	<-hold.held
	// Without the bound this would wait for the slot: the context ends that.
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	_, err = h.Hash(ctx, goodPassword)
	close(hold.release)
	wg.Wait()
	if !errors.Is(err, account.ErrHashBusy) {
		t.Errorf("Hash while the only slot was held = %v, want ErrHashBusy", err)
	}
}

// slotHolder keeps the first hash's slot, from the end of its computation,
// until release is closed.
type slotHolder struct {
	once          sync.Once
	held, release chan struct{}
}

func (s *slotHolder) ObserveWait(time.Duration, bool) {}

func (s *slotHolder) ObserveHash(string, time.Duration) {
	s.once.Do(func() {
		close(s.held)
		<-s.release
	})
}

func TestTokens(t *testing.T) {
	t.Parallel()
	tok, hash := account.NewToken()
	if !strings.HasPrefix(tok, account.TokenPrefix) || len(tok) != len(account.TokenPrefix)+43 {
		t.Fatalf("NewToken = %q, want rst_ and 43 base64url characters", tok)
	}
	if !account.ValidToken(tok) {
		t.Errorf("ValidToken(%q) = false", tok)
	}
	if got := account.HashToken(tok); string(got) != string(hash) || len(hash) != 32 {
		t.Errorf("HashToken differs from NewToken's hash or is not SHA-256")
	}
	other, _ := account.NewToken()
	if other == tok {
		t.Error("two tokens are equal")
	}
	for _, bad := range []string{"", "rst_", tok[:len(tok)-1], "xyz_" + tok[4:], tok + "A", strings.Replace(tok, tok[10:11], "*", 1)} {
		if account.ValidToken(bad) {
			t.Errorf("ValidToken(%q) = true", bad)
		}
	}
}
