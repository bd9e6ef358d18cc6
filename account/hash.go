package account

import (
	"context"
	"crypto/rand"
	"crypto/subtle"
	"encoding/base64"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"golang.org/x/crypto/argon2"
	"golang.org/x/crypto/bcrypt"

	"roster/internal/argon2id"
)

// Params are argon2id parameters. Memory is in KiB, as x/crypto/argon2 takes it.
type Params struct {
	Memory  uint32
	Time    uint32
	Threads uint8
	SaltLen uint32
	KeyLen  uint32
}

// DefaultParams is OWASP's argon2id minimum: 19 MiB, 2 passes, 1 lane.
var DefaultParams = Params{Memory: 19456, Time: 2, Threads: 1, SaltLen: 16, KeyLen: 32}

// Bounds on stored hashes, checked before any allocation: a PHC string with
// absurd parameters fails closed instead of exhausting memory or CPU.
const (
	maxArgonMemory  = 1 << 20 // KiB, 1 GiB
	maxArgonTime    = 20
	maxArgonThreads = 64
	maxBcryptCost   = 16
	minSaltLen      = 8
	maxSaltKeyLen   = 64
)

// ErrMalformedHash means a stored hash is not a PHC string roster can verify.
var ErrMalformedHash = errors.New("malformed or unsupported password hash")

// Hasher hashes and verifies passwords. Every hash and verify, including the
// dummy verify for unknown accounts, passes through one limiter: each argon2id
// call holds Params.Memory of RAM, so unbounded concurrency would exhaust it.
// Each of the limiter's slots keeps its own work area for hashes with the
// hasher's parameters, so hashing allocates nothing once every slot was used.
type Hasher struct {
	params   Params
	slots    chan *slot // the free ones
	maxWait  time.Duration
	dummy    string
	runs     atomic.Uint64
	observer HashObserver
	held     sync.Map // accounts with a password check in flight (see hold)
	costs    *verifyCosts
}

// HashObserver receives a Hasher's timings, for metrics. Its methods are
// called concurrently and must be quick.
type HashObserver interface {
	// ObserveWait records how long a caller waited for a hashing slot; ok is
	// false when it gave up (ErrHashBusy or a cancelled request).
	ObserveWait(d time.Duration, ok bool)
	// ObserveHash records one computation; op is "hash" or "verify".
	ObserveHash(op string, d time.Duration)
}

type noObserver struct{}

func (noObserver) ObserveWait(time.Duration, bool)   {}
func (noObserver) ObserveHash(string, time.Duration) {}

// Observe sends the hasher's timings to o. Call it before the hasher is used.
func (h *Hasher) Observe(o HashObserver) { h.observer = o }

// NewHasher returns a hasher that runs at most concurrency hashes at once and
// lets a caller wait at most maxWait for a slot before ErrHashBusy.
func NewHasher(p Params, concurrency int, maxWait time.Duration) (*Hasher, error) {
	if err := p.validateBounds(); err != nil {
		return nil, err
	}
	if concurrency < 1 {
		return nil, fmt.Errorf("hash concurrency must be at least 1, got %d", concurrency)
	}
	h := &Hasher{params: p, slots: make(chan *slot, concurrency), maxWait: maxWait, observer: noObserver{},
		costs: newVerifyCosts(p)}
	for range concurrency {
		h.slots <- &slot{}
	}
	s := <-h.slots
	defer func() { h.slots <- s }()
	start := time.Now()
	var err error
	h.dummy, err = h.encode(s, rand.Text())
	h.costs.observe(h.costs.own, time.Since(start))
	return h, err
}

// slot is one of the limiter's places to hash in. work is nil until the
// slot's first argon2id hash with the hasher's parameters, then kept.
type slot struct{ work *argon2id.Work }

// idKey computes an argon2id key with parameters p: in the slot's work area
// when p has the hasher's memory and one lane, as every hash roster makes
// does; otherwise (an imported hash, or one from before a parameter change)
// through x/crypto in memory of its own.
func (h *Hasher) idKey(s *slot, password string, salt []byte, p Params) []byte {
	if p.Memory != h.params.Memory || p.Threads != 1 {
		return argon2.IDKey([]byte(password), salt, p.Time, p.Memory, p.Threads, p.KeyLen)
	}
	if s.work == nil {
		s.work = argon2id.NewWork(p.Memory)
	}
	return s.work.Key([]byte(password), salt, p.Time, p.KeyLen)
}

// Params returns the parameters new hashes are made with.
func (h *Hasher) Params() Params { return h.params }

func (p Params) validateBounds() error {
	if p.Memory < 8*uint32(p.Threads) || p.Memory > maxArgonMemory || p.Time < 1 || p.Time > maxArgonTime ||
		p.Threads < 1 || p.Threads > maxArgonThreads || p.SaltLen < minSaltLen || p.SaltLen > maxSaltKeyLen ||
		p.KeyLen < 16 || p.KeyLen > maxSaltKeyLen {
		return fmt.Errorf("argon2id parameters out of range: %+v", p)
	}
	return nil
}

// Runs returns how many hashes and verifies have been admitted so far; tests
// use it to show that a refused request cost no hash.
func (h *Hasher) Runs() uint64 { return h.runs.Load() }

// acquire takes a hashing slot, waiting at most maxWait; the caller gives
// it back with release.
func (h *Hasher) acquire(ctx context.Context) (s *slot, err error) {
	start := time.Now()
	defer func() { h.observer.ObserveWait(time.Since(start), err == nil) }()
	select {
	case s = <-h.slots:
		h.runs.Add(1)
		return s, nil
	default:
	}
	t := time.NewTimer(h.maxWait)
	defer t.Stop()
	select {
	case s = <-h.slots:
		h.runs.Add(1)
		return s, nil
	case <-t.C:
		return nil, ErrHashBusy
	case <-ctx.Done():
		return nil, ctx.Err()
	}
}

func (h *Hasher) release(s *slot) { h.slots <- s }

// Hash returns the argon2id PHC string of an already normalized password.
func (h *Hasher) Hash(ctx context.Context, password string) (string, error) {
	s, err := h.acquire(ctx)
	if err != nil {
		return "", err
	}
	defer h.release(s)
	start := time.Now()
	defer func() {
		d := time.Since(start)
		h.costs.observe(h.costs.own, d)
		h.observer.ObserveHash("hash", d)
	}()
	return h.encode(s, password)
}

func (h *Hasher) encode(s *slot, password string) (string, error) {
	p := h.params
	salt := make([]byte, p.SaltLen)
	if _, err := rand.Read(salt); err != nil {
		return "", err
	}
	key := h.idKey(s, password, salt, p)
	return fmt.Sprintf("$argon2id$v=%d$m=%d,t=%d,p=%d$%s$%s", argon2id.Version, p.Memory, p.Time, p.Threads,
		b64.EncodeToString(salt), b64.EncodeToString(key)), nil
}

var b64 = base64.RawStdEncoding

// VerifyPassword checks an already normalized password against a stored
// argon2id or bcrypt hash, in one of the limiter's slots. rehash is true
// after a match whose hash is not argon2id with the current parameters, so
// the caller can store a fresh one.
func (h *Hasher) VerifyPassword(ctx context.Context, encoded, password string) (ok, rehash bool, err error) {
	ok, rehash, _, err = h.verifyTimed(ctx, encoded, password)
	return ok, rehash, err
}

// verifyTimed is VerifyPassword that also measures what the computation
// cost (see verifyCosts) and returns when a failure should be answered: the
// floor after the computation began, once it had a slot (see padFailure).
func (h *Hasher) verifyTimed(ctx context.Context, encoded, password string) (ok, rehash bool, padUntil time.Time, err error) {
	s, err := h.acquire(ctx)
	if err != nil {
		return false, false, time.Time{}, err
	}
	defer h.release(s)
	began := time.Now()
	padUntil = began.Add(h.costs.floor()) // before this verify's own cost moves it
	ok, rehash, err = h.compare(s, encoded, password)
	d := time.Since(began)
	if err == nil {
		h.costs.observe(hashKind(encoded), d)
	}
	h.observer.ObserveHash("verify", d)
	return ok, rehash, padUntil, err
}

// spendDummyVerify does the work of one VerifyPassword with current
// parameters against a hash that matches nothing, so that an unknown account
// costs what a known one does; padUntil is verifyTimed's.
func (h *Hasher) spendDummyVerify(ctx context.Context, password string) (padUntil time.Time, err error) {
	_, _, padUntil, err = h.verifyTimed(ctx, h.dummy, password)
	return padUntil, err
}

// compare computes password's hash with encoded's parameters and salt in
// slot s and compares it with encoded's key.
func (h *Hasher) compare(s *slot, encoded, password string) (ok, rehash bool, err error) {
	if isBcrypt(encoded) {
		if err := ValidateHash(encoded); err != nil {
			return false, false, err
		}
		err := bcrypt.CompareHashAndPassword([]byte(encoded), []byte(password))
		if errors.Is(err, bcrypt.ErrMismatchedHashAndPassword) || errors.Is(err, bcrypt.ErrPasswordTooLong) {
			return false, false, nil
		}
		if err != nil {
			return false, false, ErrMalformedHash
		}
		return true, true, nil
	}
	p, salt, key, err := ParsePHC(encoded)
	if err != nil {
		return false, false, err
	}
	got := h.idKey(s, password, salt, p)
	if subtle.ConstantTimeCompare(got, key) != 1 {
		return false, false, nil
	}
	return true, p != h.params, nil
}

// ValidateHash reports whether encoded is a stored hash roster can verify: an
// argon2id PHC string within bounds, or a bcrypt hash of cost at most 16. It
// decides which hashes an import accepts.
func ValidateHash(encoded string) error {
	if isBcrypt(encoded) {
		cost, err := bcrypt.Cost([]byte(encoded))
		if err != nil || cost > maxBcryptCost || len(encoded) != bcryptHashLen {
			return ErrMalformedHash
		}
		return nil
	}
	_, _, _, err := ParsePHC(encoded)
	return err
}

// bcryptHashLen is the length of every bcrypt hash: "$2b$", a two-digit
// cost, "$", then 53 characters of salt and key.
const bcryptHashLen = 60

func isBcrypt(s string) bool {
	return strings.HasPrefix(s, "$2a$") || strings.HasPrefix(s, "$2b$") || strings.HasPrefix(s, "$2y$")
}

// ParsePHC parses "$argon2id$v=19$m=…,t=…,p=…$salt$key", refusing parameters
// outside roster's bounds before decoding or allocating anything large.
func ParsePHC(s string) (p Params, salt, key []byte, err error) {
	fields := strings.Split(s, "$")
	if len(fields) != 6 || fields[0] != "" || fields[1] != "argon2id" || fields[2] != "v=19" {
		return p, nil, nil, ErrMalformedHash
	}
	var m, t, par uint64
	for i, kv := range strings.Split(fields[3], ",") {
		name, val, found := strings.Cut(kv, "=")
		n, perr := strconv.ParseUint(val, 10, 32)
		if !found || perr != nil || i > 2 || name != [...]string{"m", "t", "p"}[i] {
			return p, nil, nil, ErrMalformedHash
		}
		switch i {
		case 0:
			m = n
		case 1:
			t = n
		case 2:
			par = n
		}
	}
	saltLen, keyLen := b64.DecodedLen(len(fields[4])), b64.DecodedLen(len(fields[5]))
	p = Params{Memory: uint32(m), Time: uint32(t), Threads: uint8(min(par, 255)), SaltLen: uint32(saltLen), KeyLen: uint32(keyLen)}
	if par > maxArgonThreads || p.validateBounds() != nil {
		return Params{}, nil, nil, ErrMalformedHash
	}
	if salt, err = b64.DecodeString(fields[4]); err != nil {
		return Params{}, nil, nil, ErrMalformedHash
	}
	if key, err = b64.DecodeString(fields[5]); err != nil {
		return Params{}, nil, nil, ErrMalformedHash
	}
	// The decoder skips \r and \n, so the lengths checked above can overstate
	// what was decoded; a hash whose salt or key is not what it claims fails.
	if len(salt) != saltLen || len(key) != keyLen {
		return Params{}, nil, nil, ErrMalformedHash
	}
	return p, salt, key, nil
}
