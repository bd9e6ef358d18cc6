//go:build !amd64 || purego

package argon2id

import "testing"

// eachBlockFunc runs f with the one block function this build has.
func eachBlockFunc(t *testing.T, f func(t *testing.T)) { t.Run("generic", f) }
