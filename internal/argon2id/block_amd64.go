//go:build amd64 && !purego

package argon2id

import "golang.org/x/sys/cpu"

var useAVX2 = cpu.X86.HasAVX2

func compress(out, x, y *block, xor bool) {
	if useAVX2 {
		compressAVX2(out, x, y, xor)
		return
	}
	compressGeneric(out, x, y, xor)
}

// compressAVX2 is compressGeneric with each permutation done on four 4-word
// vectors: the columns of the 4×4 word matrix are lanes, and its diagonals
// are lined up by rotating three of the vectors.
//
//go:noescape
func compressAVX2(out, x, y *block, xor bool)
