package account

import (
	"fmt"
	"strings"
	"unicode/utf8"

	"golang.org/x/text/unicode/norm"
)

// Password length bounds, in code points after NFKC normalization.
const (
	DefaultMinPasswordLen = 15 // NIST SP 800-63B-4 for password-only login
	FloorMinPasswordLen   = 8
	MaxPasswordLen        = 256
)

// maxPasswordBytes bounds the input before any normalization work: 256 code
// points of at most 4 bytes each.
const maxPasswordBytes = MaxPasswordLen * utf8.UTFMax

// Policy decides which passwords are accepted. There are no composition
// rules and nothing is truncated; spaces are allowed.
type Policy struct {
	MinLen int
}

// NewPolicy returns a policy with the given minimum length, refusing one
// below FloorMinPasswordLen or above MaxPasswordLen.
func NewPolicy(minLen int) (Policy, error) {
	if minLen < FloorMinPasswordLen || minLen > MaxPasswordLen {
		return Policy{}, fmt.Errorf("minimum password length must be between %d and %d, got %d", FloorMinPasswordLen, MaxPasswordLen, minLen)
	}
	return Policy{MinLen: minLen}, nil
}

// NormalizePassword returns the NFKC form that is hashed and verified. It
// never case-folds. The length is checked first, so an oversized input costs
// no normalization and never reaches the hasher.
func NormalizePassword(field, pw string) (string, error) {
	if pw == "" {
		return "", invalid("validation", field, "is required")
	}
	if len(pw) > maxPasswordBytes || utf8.RuneCountInString(pw) > MaxPasswordLen {
		return "", invalid("password_too_long", field, fmt.Sprintf("must be at most %d characters", MaxPasswordLen))
	}
	if !utf8.ValidString(pw) {
		return "", invalid("validation", field, "is not valid UTF-8")
	}
	n := norm.NFKC.String(pw)
	if utf8.RuneCountInString(n) > MaxPasswordLen {
		return "", invalid("password_too_long", field, fmt.Sprintf("must be at most %d characters", MaxPasswordLen))
	}
	return n, nil
}

// ValidateNewPassword applies the policy to a new password: length, not one of the most
// common passwords (compared case-insensitively), and not containing the
// username or the email's local part. It returns the normalized password to
// hash.
func (p Policy) ValidateNewPassword(field, pw, username string, email *string) (string, error) {
	n, err := NormalizePassword(field, pw)
	if err != nil {
		return "", err
	}
	if utf8.RuneCountInString(n) < p.MinLen {
		return "", invalid("password_too_short", field, fmt.Sprintf("must be at least %d characters", p.MinLen))
	}
	lower := strings.ToLower(n)
	if isCommon(lower) {
		return "", invalid("password_common", field, "is one of the most commonly used passwords")
	}
	if u := strings.ToLower(norm.NFKC.String(username)); len(u) >= 3 && strings.Contains(lower, u) {
		return "", invalid("password_contains_username", field, "must not contain the username")
	}
	if email != nil {
		local, _, _ := strings.Cut(strings.ToLower(norm.NFKC.String(*email)), "@")
		if len(local) >= 3 && strings.Contains(lower, local) {
			return "", invalid("password_contains_email", field, "must not contain the email address")
		}
	}
	return n, nil
}
