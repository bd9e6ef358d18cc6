package account

import (
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"strings"
)

// TokenPrefix marks roster session tokens so secret scanners can spot them.
const TokenPrefix = "rst_"

// tokenLen is the length of a token: the prefix and 32 random bytes in
// unpadded base64url.
var tokenLen = len(TokenPrefix) + base64.RawURLEncoding.EncodedLen(32)

// NewToken returns a fresh session token and the SHA-256 hash that is stored
// in its place.
func NewToken() (token string, hash []byte) {
	var b [32]byte
	rand.Read(b[:]) // never returns an error; it crashes the program instead
	token = TokenPrefix + base64.RawURLEncoding.EncodeToString(b[:])
	return token, HashToken(token)
}

// HashToken returns the stored form of a token.
func HashToken(token string) []byte {
	sum := sha256.Sum256([]byte(token))
	return sum[:]
}

// ValidToken reports whether s has the shape of a roster token, so malformed
// input is refused before any database lookup.
func ValidToken(s string) bool {
	if len(s) != tokenLen || !strings.HasPrefix(s, TokenPrefix) {
		return false
	}
	_, err := base64.RawURLEncoding.Strict().DecodeString(s[len(TokenPrefix):])
	return err == nil
}

// newSessionID returns a session's public name: 16 random bytes in hex. It is
// unrelated to the token, so showing it reveals nothing that opens the session.
func newSessionID() string {
	var b [16]byte
	rand.Read(b[:])
	return hex.EncodeToString(b[:])
}
