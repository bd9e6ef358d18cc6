//go:build amd64 && !purego

package argon2id

import "golang.org/x/sys/cpu"

var useAVX2 = cpu.X86.HasAVX2

func compress(out, x, y *block, xor bool, next *nextRef) {
	if useAVX2 {
		compressAVX2(out, x, y, xor, next)
		return
	}
	compressGeneric(out, x, y, xor)
}

// compressAVX2 is compressGeneric with each permutation done on four 4-word
// vectors: the columns of the 4×4 word matrix are lanes, and its diagonals
// are lined up by rotating three of the vectors. Once the first word of out
// is known, after its first column, it fetches the block that next
// names into the cache: the next block's computation would otherwise start
// by waiting for memory.
//
//go:noescape
func compressAVX2(out, x, y *block, xor bool, next *nextRef)
