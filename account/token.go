package account

import (
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"strings"
)

// Token prefixes mark each kind of roster token so secret scanners can spot
// them and a token of one kind is never taken for another.
const (
	TokenPrefix             = "rst_" // session
	VerificationTokenPrefix = "rev_" // email verification
	ResetTokenPrefix        = "rpr_" // password reset
	DeviceTokenPrefix       = "rdv_" // device (see device.go)
	SignInCodePrefix        = "rsc_" // mailed sign-in code (see device.go)
	MFATokenPrefix          = "rmf_" // a login's second step (see mfa.go)
)

// NewToken returns a fresh session token and the SHA-256 hash that is stored
// in its place.
func NewToken() (token string, hash []byte) { return newToken(TokenPrefix) }

// newToken returns prefix and 32 random bytes in unpadded base64url, and the
// token's hash.
func newToken(prefix string) (token string, hash []byte) {
	var b [32]byte
	rand.Read(b[:]) // never returns an error; it crashes the program instead
	token = prefix + base64.RawURLEncoding.EncodeToString(b[:])
	return token, HashToken(token)
}

// HashToken returns the stored form of a token.
func HashToken(token string) []byte {
	sum := sha256.Sum256([]byte(token))
	return sum[:]
}

// ValidToken reports whether s has the shape of a roster session token, so
// malformed input is refused before any database lookup.
func ValidToken(s string) bool { return validToken(s, TokenPrefix) }

func validToken(s, prefix string) bool {
	if len(s) != len(prefix)+base64.RawURLEncoding.EncodedLen(32) || !strings.HasPrefix(s, prefix) {
		return false
	}
	_, err := base64.RawURLEncoding.Strict().DecodeString(s[len(prefix):])
	return err == nil
}

// newSessionID returns a session's public name: 16 random bytes in hex. It is
// unrelated to the token, so showing it reveals nothing that opens the session.
func newSessionID() string {
	var b [16]byte
	rand.Read(b[:])
	return hex.EncodeToString(b[:])
}
