// Package argon2id computes Argon2id keys (RFC 9106, version 0x13) with one
// lane, in a work area the caller keeps and reuses.
//
// golang.org/x/crypto/argon2 allocates its whole work area (19 MiB with
// OWASP's parameters) for every call, so a server that hashes continually
// pays for zeroing that memory, or faulting it in afresh, and for collecting
// it, on every login; its API has no way to pass the memory in (Go issue
// 36634). A Work is allocated once and filled again by each Key: Argon2's
// first pass writes every block before any block is read, so it needs no
// clearing between hashes. On amd64 with AVX2 the block function is vector
// code (block_amd64.s); elsewhere it is plain Go. Key returns exactly what
// argon2.IDKey returns for threads = 1, which the tests check, as they check
// the reference implementation's known answers and RFC 9106's H0.
package argon2id

import (
	"encoding/binary"
	"hash"

	"golang.org/x/crypto/blake2b"
)

// Version is the Argon2 version Key implements (0x13, i.e. 19).
const Version = 0x13

const (
	blockWords = 128 // 64-bit words in a 1 KiB block
	slices     = 4   // segments per pass: RFC 9106's SL
	typeID     = 2   // Argon2id in the hash input and the address blocks
)

type block [blockWords]uint64

// Work is the memory of one hash at a time: a Work must not be used by two
// goroutines at once.
type Work struct {
	memory uint32 // KiB, as given to NewWork (it enters H0)
	blocks []block
}

// NewWork returns a work area for hashes of memory KiB; memory must be at
// least 8. Argon2 uses memory rounded down to a multiple of 4 blocks.
func NewWork(memory uint32) *Work {
	if memory < 2*slices {
		panic("argon2id: memory below 8 KiB")
	}
	return &Work{memory: memory, blocks: make([]block, memory/slices*slices)}
}

// Memory returns the memory parameter, in KiB, that w computes hashes for.
func (w *Work) Memory() uint32 { return w.memory }

// Key derives a keyLen-byte key from password and salt with passes over w's
// memory: argon2.IDKey(password, salt, passes, w.Memory(), 1, keyLen).
func (w *Work) Key(password, salt []byte, passes, keyLen uint32) []byte {
	return w.key(password, salt, nil, nil, passes, keyLen)
}

// key is Key with RFC 9106's optional secret value K and associated data X,
// which roster does not use; they enter only H0.
func (w *Work) key(password, salt, secret, ad []byte, passes, keyLen uint32) []byte {
	if passes < 1 || keyLen < 1 {
		panic("argon2id: passes and key length must be at least 1")
	}
	h0 := initialHash(1, keyLen, w.memory, passes, password, salt, secret, ad)
	initialBlock(&w.blocks[0], &h0, 0, 0)
	initialBlock(&w.blocks[1], &h0, 1, 0)
	w.fill(passes)
	var last [blockWords * 8]byte
	for j, v := range w.blocks[len(w.blocks)-1] {
		binary.LittleEndian.PutUint64(last[8*j:], v)
	}
	key := make([]byte, keyLen)
	variableHash(key, last[:])
	return key
}

// initialHash is H0: BLAKE2b-512 over the parameters and inputs.
func initialHash(lanes, keyLen, memory, passes uint32, password, salt, secret, ad []byte) [blake2b.Size]byte {
	h, _ := blake2b.New512(nil)
	for _, v := range []uint32{lanes, keyLen, memory, passes, Version, typeID} {
		writeUint32(h, v)
	}
	for _, s := range [][]byte{password, salt, secret, ad} {
		writeUint32(h, uint32(len(s)))
		h.Write(s)
	}
	var h0 [blake2b.Size]byte
	h.Sum(h0[:0])
	return h0
}

// initialBlock sets b to B[lane][column], column 0 or 1, which are
// H'(H0 || LE32(column) || LE32(lane)).
func initialBlock(b *block, h0 *[blake2b.Size]byte, column, lane uint32) {
	var seed [blake2b.Size + 8]byte
	copy(seed[:], h0[:])
	binary.LittleEndian.PutUint32(seed[blake2b.Size:], column)
	binary.LittleEndian.PutUint32(seed[blake2b.Size+4:], lane)
	var out [blockWords * 8]byte
	variableHash(out[:], seed[:])
	for j := range b {
		b[j] = binary.LittleEndian.Uint64(out[8*j:])
	}
}

// fill computes every block after the first two, pass by pass and segment
// by segment. The first half of the first pass takes its reference blocks
// from generated addresses (data-independent, as Argon2i), the rest from the
// previous block (as Argon2d).
func (w *Work) fill(passes uint32) {
	b := w.blocks
	lane := uint32(len(b))
	segment := lane / slices
	var address, input, zero block
	next := nextRef{mem: &b[0], lane: uint64(lane)}
	for pass := range passes {
		for slice := range uint32(slices) {
			independent := pass == 0 && slice < slices/2
			if independent {
				input = block{0: uint64(pass), 2: uint64(slice), 3: uint64(lane), 4: uint64(passes), 5: typeID}
			}
			first := uint32(0)
			if pass == 0 && slice == 0 {
				first = 2 // B[0] and B[1] come from H0
				if independent {
					nextAddresses(&address, &input, &zero)
				}
			}
			for i := first; i < segment; i++ {
				cur := slice*segment + i
				prev := cur - 1
				if cur == 0 {
					prev = lane - 1
				}
				var random uint64
				if independent {
					if i%blockWords == 0 {
						nextAddresses(&address, &input, &zero)
					}
					random = address[i%blockWords]
				} else {
					random = b[prev][0]
				}
				area, start := referenceArea(pass, slice, i, segment)
				ref := pick(random, area, start, uint64(lane))
				// Tell the block function about the next block's reference.
				// It depends on this block's first word, except in the
				// first half of the first pass, where it is in address.
				// Past the end of a segment, work it out afresh there.
				next.area, next.index = 0, noRef
				switch {
				case i+1 == segment:
				case !independent:
					next.area, next.start = referenceArea(pass, slice, i+1, segment)
				case (i+1)%blockWords != 0:
					a, s := referenceArea(pass, slice, i+1, segment)
					next.index = uint64(pick(address[(i+1)%blockWords], a, s, uint64(lane)))
				}
				compress(&b[cur], &b[prev], &b[ref], pass > 0, &next)
			}
		}
	}
}

// nextRef tells the block function which block the next one will reference,
// so that it can ask for that block from memory while it still computes this
// one. When area is not 0, the reference depends on the first word of the
// block being computed: pick(word, area, start, lane). Otherwise index is
// the reference, or noRef. It is only a hint: a block function may ignore it.
type nextRef struct {
	mem         *block // the work area's first block
	area, start uint64 // as referenceArea returns them
	lane        uint64 // blocks in the lane
	index       uint64
}

// noRef is a nextRef.index that names no block.
const noRef = ^uint64(0)

// nextAddresses advances the counter in input and sets address to
// G(0, G(0, input)): the next 128 pseudo-random reference values.
func nextAddresses(address, input, zero *block) {
	input[6]++
	compress(address, zero, input, false, &nextRef{index: noRef})
	compress(address, zero, address, false, &nextRef{index: noRef})
}

// referenceArea is where block i of segment slice may take its reference
// from in this pass (RFC 9106 section 3.4.1.2, one lane): area blocks,
// counted on from block start. They are every block computed so far except
// the previous one: in the first pass those before it; later, the three
// other segments' blocks from the last pass and the current segment's
// before the previous.
func referenceArea(pass, slice, i, segment uint32) (area, start uint64) {
	if pass == 0 {
		return uint64(slice*segment + i - 1), 0
	}
	return uint64(3*segment + i - 1), uint64((slice + 1) % slices * segment)
}

// pick maps a pseudo-random value (its low 32 bits) to a block of the area
// (see referenceArea) in a lane of lane blocks, favouring recent ones.
func pick(random, area, start, lane uint64) uint32 {
	x := uint64(uint32(random))
	x = x * x >> 32
	y := area * x >> 32
	return uint32((start + area - 1 - y) % lane)
}

// variableHash is H' of RFC 9106: len(out) bytes of BLAKE2b-based output
// over LE32(len(out)) || in.
func variableHash(out, in []byte) {
	var prefix [4]byte
	binary.LittleEndian.PutUint32(prefix[:], uint32(len(out)))
	if len(out) <= blake2b.Size {
		h, _ := blake2b.New(len(out), nil)
		h.Write(prefix[:])
		h.Write(in)
		h.Sum(out[:0])
		return
	}
	h, _ := blake2b.New512(nil)
	h.Write(prefix[:])
	h.Write(in)
	var v [blake2b.Size]byte
	h.Sum(v[:0])
	// The first 32 bytes of each V_i, then all of the last, shorter or not.
	for len(out) > blake2b.Size {
		copy(out, v[:blake2b.Size/2])
		out = out[blake2b.Size/2:]
		if len(out) > blake2b.Size {
			v = blake2b.Sum512(v[:])
		}
	}
	h, _ = blake2b.New(len(out), nil)
	h.Write(v[:])
	h.Sum(out[:0])
}

func writeUint32(h hash.Hash, v uint32) {
	var b [4]byte
	binary.LittleEndian.PutUint32(b[:], v)
	h.Write(b[:])
}
