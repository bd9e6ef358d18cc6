package argon2id

import "math/bits"

// compressGeneric is the compression function G of RFC 9106: out = P(x ^ y) ^ x ^ y,
// or out ^= that when xor is set (every pass after the first). P permutes
// each row of 16 words, then each column of 8 word pairs. out may be x or y.
func compressGeneric(out, x, y *block, xor bool) {
	var r, q block
	for i := range r {
		r[i] = x[i] ^ y[i]
	}
	q = r
	for row := 0; row < blockWords; row += 16 {
		permute((*[16]uint64)(q[row : row+16]))
	}
	for col := 0; col < 16; col += 2 {
		var v [16]uint64
		for k := range 8 {
			v[2*k], v[2*k+1] = q[16*k+col], q[16*k+col+1]
		}
		permute(&v)
		for k := range 8 {
			q[16*k+col], q[16*k+col+1] = v[2*k], v[2*k+1]
		}
	}
	if xor {
		for i := range out {
			out[i] ^= q[i] ^ r[i]
		}
		return
	}
	for i := range out {
		out[i] = q[i] ^ r[i]
	}
}

// permute is BLAKE2b's round on 16 words with BlaMka's multiplying mix:
// the four columns of the 4×4 matrix, then its four diagonals.
func permute(v *[16]uint64) {
	v[0], v[4], v[8], v[12] = mix(v[0], v[4], v[8], v[12])
	v[1], v[5], v[9], v[13] = mix(v[1], v[5], v[9], v[13])
	v[2], v[6], v[10], v[14] = mix(v[2], v[6], v[10], v[14])
	v[3], v[7], v[11], v[15] = mix(v[3], v[7], v[11], v[15])
	v[0], v[5], v[10], v[15] = mix(v[0], v[5], v[10], v[15])
	v[1], v[6], v[11], v[12] = mix(v[1], v[6], v[11], v[12])
	v[2], v[7], v[8], v[13] = mix(v[2], v[7], v[8], v[13])
	v[3], v[4], v[9], v[14] = mix(v[3], v[4], v[9], v[14])
}

func mix(a, b, c, d uint64) (uint64, uint64, uint64, uint64) {
	a += b + 2*uint64(uint32(a))*uint64(uint32(b))
	d = bits.RotateLeft64(d^a, -32)
	c += d + 2*uint64(uint32(c))*uint64(uint32(d))
	b = bits.RotateLeft64(b^c, -24)
	a += b + 2*uint64(uint32(a))*uint64(uint32(b))
	d = bits.RotateLeft64(d^a, -16)
	c += d + 2*uint64(uint32(c))*uint64(uint32(d))
	b = bits.RotateLeft64(b^c, -63)
	return a, b, c, d
}
