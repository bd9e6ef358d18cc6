package argon2id

import (
	"bytes"
	"fmt"
	"math/rand/v2"
	"testing"

	"golang.org/x/crypto/argon2"
)

// TestKeyMatchesXCrypto compares Key with x/crypto's argon2.IDKey over
// memory sizes that exercise partial address blocks, rounding down to a
// multiple of 4 blocks, one pass and several, and key lengths on both sides
// of 64 bytes (H' in one BLAKE2b call or chained).
func TestKeyMatchesXCrypto(t *testing.T) {
	t.Parallel()
	rng := rand.New(rand.NewPCG(1, 2))
	for _, memory := range []uint32{8, 9, 15, 64, 513, 1031, 4096} {
		w := NewWork(memory)
		for _, passes := range []uint32{1, 2, 3} {
			for _, keyLen := range []uint32{1, 16, 32, 64, 65, 100, 1024} {
				password := make([]byte, rng.IntN(40))
				salt := make([]byte, 8+rng.IntN(24))
				for _, b := range [][]byte{password, salt} {
					for i := range b {
						b[i] = byte(rng.Uint32())
					}
				}
				got := w.Key(password, salt, passes, keyLen)
				want := argon2.IDKey(password, salt, passes, memory, 1, keyLen)
				if !bytes.Equal(got, want) {
					t.Fatalf("m=%d t=%d keyLen=%d: Key = %x, argon2.IDKey = %x", memory, passes, keyLen, got, want)
				}
			}
		}
	}
}

// TestKeyReusesWork shows that a Work filled by one hash gives the right
// answer for the next: nothing depends on the memory starting out zeroed.
func TestKeyReusesWork(t *testing.T) {
	t.Parallel()
	w := NewWork(2048)
	for i := range 4 {
		password, salt := fmt.Appendf(nil, "password %d", i), fmt.Appendf(nil, "salt of hash %d", i)
		got := w.Key(password, salt, 2, 32)
		if want := argon2.IDKey(password, salt, 2, 2048, 1, 32); !bytes.Equal(got, want) {
			t.Fatalf("hash %d on a used Work = %x, want %x", i, got, want)
		}
	}
}

// TestKeyOWASPParams checks the parameters roster hashes with.
func TestKeyOWASPParams(t *testing.T) {
	t.Parallel()
	got := NewWork(19456).Key([]byte("correct horse battery staple"), []byte("0123456789abcdef"), 2, 32)
	want := argon2.IDKey([]byte("correct horse battery staple"), []byte("0123456789abcdef"), 2, 19456, 1, 32)
	if !bytes.Equal(got, want) {
		t.Fatalf("Key = %x, argon2.IDKey = %x", got, want)
	}
}

// TestCompressMatchesGeneric compares compress (the vector code where there
// is one) with the plain Go block function on random blocks, in both modes,
// and with out aliasing an input as nextAddresses does.
func TestCompressMatchesGeneric(t *testing.T) {
	t.Parallel()
	rng := rand.New(rand.NewPCG(3, 4))
	random := func() *block {
		var b block
		for i := range b {
			b[i] = rng.Uint64()
		}
		return &b
	}
	// A hint that makes the vector code compute and fetch a reference, into
	// memory of its own: fetching must not change any result.
	mem := make([]block, 64)
	next := &nextRef{mem: &mem[0], area: 40, start: 10, lane: uint64(len(mem))}
	for range 500 {
		x, y, out := random(), random(), random()
		for _, xor := range []bool{false, true} {
			got, want := *out, *out
			compress(&got, x, y, xor, next)
			compressGeneric(&want, x, y, xor)
			if got != want {
				t.Fatalf("compress(xor=%v) differs from compressGeneric", xor)
			}
		}
		got, want := *y, *y
		compress(&got, x, &got, false, &nextRef{index: noRef})
		compressGeneric(&want, x, &want, false)
		if got != want {
			t.Fatal("compress with out == y differs from compressGeneric")
		}
	}
}

func FuzzKey(f *testing.F) {
	f.Add([]byte("password"), []byte("somesalt"), uint8(0), uint8(1), uint8(32))
	f.Fuzz(func(t *testing.T, password, salt []byte, memory, passes, keyLen uint8) {
		m, p, k := 8+uint32(memory), 1+uint32(passes%4), 1+uint32(keyLen)
		got := NewWork(m).Key(password, salt, p, k)
		if want := argon2.IDKey(password, salt, p, m, 1, k); !bytes.Equal(got, want) {
			t.Fatalf("m=%d t=%d keyLen=%d: Key = %x, argon2.IDKey = %x", m, p, k, got, want)
		}
	})
}

var sink []byte

// BenchmarkKey is one hash with roster's parameters (m=19456 KiB, t=2) in a
// reused Work; BenchmarkXCryptoIDKey is the same hash through x/crypto.
func BenchmarkKey(b *testing.B) {
	w := NewWork(19456)
	for b.Loop() {
		sink = w.Key([]byte("correct horse battery staple"), []byte("0123456789abcdef"), 2, 32)
	}
}

func BenchmarkXCryptoIDKey(b *testing.B) {
	for b.Loop() {
		sink = argon2.IDKey([]byte("correct horse battery staple"), []byte("0123456789abcdef"), 2, 19456, 1, 32)
	}
}

func BenchmarkCompress(b *testing.B) {
	var out, x, y block
	for i := range x {
		x[i], y[i] = uint64(i), uint64(3*i)
	}
	for b.Loop() {
		compress(&out, &x, &y, true, &nextRef{index: noRef})
	}
}

func BenchmarkCompressGeneric(b *testing.B) {
	var out, x, y block
	for i := range x {
		x[i], y[i] = uint64(i), uint64(3*i)
	}
	for b.Loop() {
		compressGeneric(&out, &x, &y, true)
	}
}
