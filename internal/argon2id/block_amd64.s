//go:build amd64 && !purego

#include "textflag.h"

// VPSHUFB masks rotating each 64-bit word right by 24 and by 16 bits.
DATA rot24<>+0x00(SB)/8, $0x0201000706050403
DATA rot24<>+0x08(SB)/8, $0x0a09080f0e0d0c0b
DATA rot24<>+0x10(SB)/8, $0x0201000706050403
DATA rot24<>+0x18(SB)/8, $0x0a09080f0e0d0c0b
GLOBL rot24<>(SB), (NOPTR+RODATA), $32

DATA rot16<>+0x00(SB)/8, $0x0100070605040302
DATA rot16<>+0x08(SB)/8, $0x09080f0e0d0c0b0a
DATA rot16<>+0x10(SB)/8, $0x0100070605040302
DATA rot16<>+0x18(SB)/8, $0x09080f0e0d0c0b0a
GLOBL rot16<>(SB), (NOPTR+RODATA), $32

// BLAMKA sets a += b + 2·lo32(a)·lo32(b) in each lane, using t.
#define BLAMKA(a, b, t) \
	VPMULUDQ b, a, t; \
	VPADDQ   b, a, a; \
	VPADDQ   t, t, t; \
	VPADDQ   t, a, a

// MIX is BlaMka's G on the four lanes of a, b, c and d at once.
#define MIX(a, b, c, d, t) \
	BLAMKA(a, b, t);          \
	VPXOR    a, d, d;         \
	VPSHUFD  $0xb1, d, d;     \
	BLAMKA(c, d, t);          \
	VPXOR    c, b, b;         \
	VPSHUFB  Y14, b, b;       \
	BLAMKA(a, b, t);          \
	VPXOR    a, d, d;         \
	VPSHUFB  Y15, d, d;       \
	BLAMKA(c, d, t);          \
	VPXOR    c, b, b;         \
	VPADDQ   b, b, t;         \
	VPSRLQ   $63, b, b;       \
	VPXOR    t, b, b

// PERMUTE is P on the 16 words a|b|c|d: G on the matrix's columns (the
// lanes), then on its diagonals, lined up by rotating b, c and d by one,
// two and three lanes, and rotated back.
#define PERMUTE(a, b, c, d, t) \
	MIX(a, b, c, d, t);       \
	VPERMQ $0x39, b, b;       \
	VPERMQ $0x4e, c, c;       \
	VPERMQ $0x93, d, d;       \
	MIX(a, b, c, d, t);       \
	VPERMQ $0x93, b, b;       \
	VPERMQ $0x4e, c, c;       \
	VPERMQ $0x39, d, d

// LOADCOL loads words 2j, 2j+1 of rows 2k and 2k+1 (bytes off and off+128
// from p) into one vector.
#define LOADCOL(p, off, y, x) \
	VMOVDQU     off(p), x; \
	VINSERTI128 $1, off+128(p), y, y

#define STORECOL(p, off, y, x) \
	VMOVDQU      x, off(p); \
	VEXTRACTI128 $1, y, off+128(p)

// COLUMN permutes the word pairs 2j, 2j+1 of every row of Q, at R10, in place.
#define COLUMN \
	LOADCOL(R10, 0, Y0, X0);     \
	LOADCOL(R10, 256, Y1, X1);   \
	LOADCOL(R10, 512, Y2, X2);   \
	LOADCOL(R10, 768, Y3, X3);   \
	PERMUTE(Y0, Y1, Y2, Y3, Y8); \
	STORECOL(R10, 0, Y0, X0);    \
	STORECOL(R10, 256, Y1, X1);  \
	STORECOL(R10, 512, Y2, X2);  \
	STORECOL(R10, 768, Y3, X3)

// PREFETCH_BLOCK asks for the 16 cache lines of the block at p.
#define PREFETCH_BLOCK(p) \
	PREFETCHT0 0(p); \
	PREFETCHT0 64(p); \
	PREFETCHT0 128(p); \
	PREFETCHT0 192(p); \
	PREFETCHT0 256(p); \
	PREFETCHT0 320(p); \
	PREFETCHT0 384(p); \
	PREFETCHT0 448(p); \
	PREFETCHT0 512(p); \
	PREFETCHT0 576(p); \
	PREFETCHT0 640(p); \
	PREFETCHT0 704(p); \
	PREFETCHT0 768(p); \
	PREFETCHT0 832(p); \
	PREFETCHT0 896(p); \
	PREFETCHT0 960(p)

// func compressAVX2(out, x, y *block, xor bool, next *nextRef)
// The frame holds R = x ^ y (0–1023) and the block being permuted, Q
// (1024–2047); out is written only at the end, so it may alias x or y.
TEXT ·compressAVX2(SB), 0, $2048-40
	MOVQ out+0(FP), DI
	MOVQ x+8(FP), SI
	MOVQ y+16(FP), DX
	MOVBLZX xor+24(FP), R9
	// y is a block from anywhere in memory: ask for all of it at once
	// instead of a line at a time as the rows reach it.
	PREFETCH_BLOCK(DX)
	// So is out, written at the end: its lines are rarely in the cache
	// (in the first pass not since the last hash), and each store to one
	// that is not would wait for it behind the rest.
	PREFETCH_BLOCK(DI)
	VMOVDQU rot24<>(SB), Y14
	VMOVDQU rot16<>(SB), Y15

	// Rows: words 16i … 16i+15 of R, permuted, into Q.
	MOVQ SP, R10 // R
	MOVQ $8, CX
rows:
	VMOVDQU 0(SI), Y0
	VMOVDQU 32(SI), Y1
	VMOVDQU 64(SI), Y2
	VMOVDQU 96(SI), Y3
	VPXOR   0(DX), Y0, Y0
	VPXOR   32(DX), Y1, Y1
	VPXOR   64(DX), Y2, Y2
	VPXOR   96(DX), Y3, Y3
	VMOVDQU Y0, 0(R10)
	VMOVDQU Y1, 32(R10)
	VMOVDQU Y2, 64(R10)
	VMOVDQU Y3, 96(R10)
	PERMUTE(Y0, Y1, Y2, Y3, Y8)
	VMOVDQU Y0, 1024(R10)
	VMOVDQU Y1, 1056(R10)
	VMOVDQU Y2, 1088(R10)
	VMOVDQU Y3, 1120(R10)
	ADDQ $128, SI
	ADDQ $128, DX
	ADDQ $128, R10
	DECQ CX
	JNZ  rows

	// Columns: word pairs 2j, 2j+1 of every row of Q, permuted in place.
	LEAQ 1024(SP), R10 // Q
	COLUMN

	// Word 0 of Q is final now, and with it word 0 of out: fetch the block
	// the next one references (see nextRef), while the columns go on.
	MOVQ next+32(FP), R8
	MOVQ 8(R8), R11  // area
	MOVQ 32(R8), BX  // index
	TESTQ R11, R11
	JZ   known
	MOVQ 1024(SP), AX
	XORQ 0(SP), AX
	TESTQ R9, R9
	JZ   pick
	XORQ 0(DI), AX
pick:
	MOVL  AX, AX // the low 32 bits
	IMULQ AX, AX
	SHRQ  $32, AX
	IMULQ R11, AX
	SHRQ  $32, AX
	MOVQ  16(R8), BX // start + area - 1 - y, less than twice the lane
	ADDQ  R11, BX
	DECQ  BX
	SUBQ  AX, BX
	CMPQ  BX, 24(R8)
	JB    fetch
	SUBQ  24(R8), BX
	JMP   fetch
known:
	CMPQ BX, 24(R8)
	JAE  columns
fetch:
	SHLQ $10, BX
	ADDQ 0(R8), BX
	PREFETCH_BLOCK(BX)

columns:
	MOVQ $7, CX
cols:
	ADDQ $16, R10
	COLUMN
	DECQ CX
	JNZ  cols

	// out = Q ^ R, or out ^= Q ^ R.
	MOVQ SP, R10
	MOVQ $32, CX
final:
	VMOVDQU 1024(R10), Y0
	VPXOR   0(R10), Y0, Y0
	TESTQ   R9, R9
	JZ      store
	VPXOR   0(DI), Y0, Y0
store:
	VMOVDQU Y0, 0(DI)
	ADDQ $32, R10
	ADDQ $32, DI
	DECQ CX
	JNZ  final

	VZEROUPPER
	RET
