//go:build amd64 && !purego

package argon2id

import (
	"testing"

	"golang.org/x/sys/cpu"
)

// eachBlockFunc runs f once with each block function this build has: the
// AVX2 code (where the CPU has AVX2) and the plain Go one. It switches a
// package variable, so the calling test must not be parallel.
func eachBlockFunc(t *testing.T, f func(t *testing.T)) {
	saved := useAVX2
	defer func() { useAVX2 = saved }()
	if cpu.X86.HasAVX2 {
		useAVX2 = true
		t.Run("avx2", f)
	} else {
		t.Log("this CPU has no AVX2: only the plain Go block function is checked")
	}
	useAVX2 = false
	t.Run("generic", f)
}
