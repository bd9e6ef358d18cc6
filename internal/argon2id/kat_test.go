package argon2id

import (
	"bytes"
	"encoding/hex"
	"testing"
)

// TestKnownAnswers checks Key against the Argon2id (v=19, one lane)
// vectors of the reference implementation's test suite
// (P-H-C/phc-winner-argon2, src/test.c), with each block function: they
// were computed by Argon2's authors, not by x/crypto. Its 256 MiB vector is
// left out; -short and -race also leave out all but one of the 64 MiB ones.
func TestKnownAnswers(t *testing.T) {
	vectors := []struct {
		passes   uint32
		memory   uint32 // KiB
		password string
		salt     string
		tag      string
	}{
		{2, 256, "password", "somesalt", "9dfeb910e80bad0311fee20f9c0e2b12c17987b4cac90c2ef54d5b3021c68bfe"},
		{2, 65536, "password", "somesalt", "09316115d5cf24ed5a15a31a3ba326e5cf32edc24702987c02b6566f61913cf7"},
		{1, 65536, "password", "somesalt", "f6a5adc1ba723dddef9b5ac1d464e180fcd9dffc9d1cbf76cca2fed795d9ca98"}, // in every run
		{4, 65536, "password", "somesalt", "9025d48e68ef7395cca9079da4c4ec3affb3c8911fe4f86d1a2520856f63172c"},
		{2, 65536, "differentpassword", "somesalt", "0b84d652cf6b0c4beaef0dfe278ba6a80df6696281d7e0d2891b817d8c458fde"},
		{2, 65536, "password", "diffsalt", "bdf32b05ccc42eb15d58fd19b1f856b113da1e9a5874fdcc544308565aa8141c"},
	}
	works := map[uint32]*Work{}
	eachBlockFunc(t, func(t *testing.T) {
		for _, tc := range vectors {
			if tc.memory > 256 && tc.passes != 1 && (testing.Short() || raceEnabled) {
				continue
			}
			if works[tc.memory] == nil {
				works[tc.memory] = NewWork(tc.memory)
			}
			want, _ := hex.DecodeString(tc.tag)
			if got := works[tc.memory].Key([]byte(tc.password), []byte(tc.salt), tc.passes, 32); !bytes.Equal(got, want) {
				t.Errorf("m=%d t=%d %q %q: Key = %x, want %x", tc.memory, tc.passes, tc.password, tc.salt, got, want)
			}
		}
	})
}

// TestRFC9106Inputs checks how the secret and associated data enter the
// hash, with RFC 9106's Argon2id vector (section 5.3: m=32 KiB, t=3, p=4,
// password 32×0x01, salt 16×0x02, secret 8×0x03, associated data 12×0x04).
// Key computes one lane only, so the vector's tag (0d640df5…e659) is out of
// its reach; what a lane count does not change is checked: H0 (the
// "pre-hashing digest") and lane 0's first two blocks, words 0-3 and 127.
func TestRFC9106Inputs(t *testing.T) {
	t.Parallel()
	h0 := initialHash(4, 32, 32, 3, bytes.Repeat([]byte{1}, 32), bytes.Repeat([]byte{2}, 16),
		bytes.Repeat([]byte{3}, 8), bytes.Repeat([]byte{4}, 12))
	const wantH0 = "2889de487eb42ae500c0007ed9252f1069eadec40d5765b485de6dc2437a67b8" +
		"546a2f0acc1a0882db8fcf74714b472e94df421a5da1112ffa11434370a1e997"
	if got := hex.EncodeToString(h0[:]); got != wantH0 {
		t.Fatalf("H0 = %s, want %s", got, wantH0)
	}
	for column, want := range [][5]uint64{
		{0x6b2e09f10671bd43, 0xf69f5c27918a21be, 0xdea7810ea41290e1, 0x6787f7171870f893, 0x8e4dd579ca1c1da0},
		{0xf727b5d2f5c54303, 0x2fc5a656b980caa6, 0x5c08c32e1796ab0e, 0x4ca1ed895a4692d5, 0xc56325d142c23d49},
	} {
		var b block
		initialBlock(&b, &h0, uint32(column), 0)
		if got := [5]uint64{b[0], b[1], b[2], b[3], b[127]}; got != want {
			t.Errorf("B[0][%d] words 0-3, 127 = %x, want %x", column, got, want)
		}
	}
	// key, the path Key takes, hashes these inputs (with one lane) without
	// dropping any: each one changes the key.
	w := NewWork(32)
	in := [][]byte{bytes.Repeat([]byte{1}, 32), bytes.Repeat([]byte{2}, 16), bytes.Repeat([]byte{3}, 8), bytes.Repeat([]byte{4}, 12)}
	base := w.key(in[0], in[1], in[2], in[3], 3, 32)
	if plain := w.key(in[0], in[1], nil, nil, 3, 32); !bytes.Equal(plain, w.Key(in[0], in[1], 3, 32)) || bytes.Equal(plain, base) {
		t.Error("key without secret and associated data differs from Key, or ignores them")
	}
	for i := range in {
		changed := append([][]byte(nil), in...)
		changed[i] = append(bytes.Clone(in[i]), 0)
		if bytes.Equal(w.key(changed[0], changed[1], changed[2], changed[3], 3, 32), base) {
			t.Errorf("input %d does not change the key", i)
		}
	}
}
