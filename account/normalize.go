package account

import (
	"net/mail"
	"strings"
	"unicode/utf8"

	"golang.org/x/text/secure/precis"
	"golang.org/x/text/unicode/norm"

	"roster/internal/uts39"
)

// Limits on identifiers, counted in code points.
const (
	MaxUsernameLen = 64
	MaxEmailLen    = 254
)

// Username checks a name for a new or renamed account and returns its
// uniqueness key (see usernameKey). The name must also meet UTS #39's Highly
// Restrictive level: one script, or Latin with Han and Japanese kana, with
// Han and Bopomofo, or with Han and Hangul; digits and punctuation go with
// any (username_mixed_script). That a name does not look like another
// account's is checked when it is written (UsernameSkeleton).
func Username(raw string) (key string, err error) {
	key, err = usernameKey(raw)
	if err != nil {
		return "", err
	}
	if err := mixedScript(key); err != nil {
		return "", err
	}
	return key, nil
}

// mixedScript refuses a username key that mixes scripts beyond UTS #39's
// Highly Restrictive level, as in a Latin name with a Cyrillic "а".
func mixedScript(key string) error {
	if uts39.HighlyRestrictive(key) {
		return nil
	}
	return invalid("username_mixed_script", "username", "mixes letters of different scripts ("+
		strings.Join(uts39.Scripts(key), ", ")+"): use one script; only Latin may go with Han and Japanese kana, "+
		"Han and Bopomofo, or Han and Hangul")
}

// UsernameSkeleton is the UTS #39 confusable skeleton of a username key:
// names with the same skeleton look alike, and one account at most may hold
// each (users.username_skeleton is unique).
func UsernameSkeleton(key string) string { return uts39.Skeleton(key) }

// usernameKey checks a username as entered and returns its uniqueness key:
// the RFC 8265 UsernameCaseMapped form, so "Bob", "bob" and full-width "ｂｏｂ"
// share one key. "@" is refused so that a login name is never ambiguous
// between a username and an email address. It is the check for looking an
// account up: names that predate the script rule still name their account.
func usernameKey(raw string) (key string, err error) {
	switch {
	case raw == "":
		return "", invalid("validation", "username", "is required")
	case !utf8.ValidString(raw):
		return "", invalid("validation", "username", "is not valid UTF-8")
	case utf8.RuneCountInString(raw) > MaxUsernameLen:
		return "", invalid("validation", "username", "must be at most 64 characters")
	case strings.ContainsRune(raw, '@'):
		return "", invalid("validation", "username", "must not contain @")
	}
	key, err = precis.UsernameCaseMapped.String(raw)
	if err != nil || key == "" {
		return "", invalid("validation", "username", "may contain letters, digits and symbols, but no spaces or control characters")
	}
	return key, nil
}

// Email checks an optional email address. An empty string means no email and
// gives nil results. The key is the NFC, lower-cased address, so uniqueness
// ignores case.
func Email(raw string) (email, key *string, err error) {
	if raw == "" {
		return nil, nil, nil
	}
	if !utf8.ValidString(raw) || utf8.RuneCountInString(raw) > MaxEmailLen {
		return nil, nil, invalid("validation", "email", "must be a valid address of at most 254 characters")
	}
	addr, perr := mail.ParseAddress(raw)
	if perr != nil || addr.Address != raw || addr.Name != "" {
		return nil, nil, invalid("validation", "email", "must be a plain address such as name@example.com")
	}
	k := strings.ToLower(norm.NFC.String(raw))
	return &raw, &k, nil
}

// LoginKey turns what a user typed into the login form into a lookup: an
// email key when it holds "@", a username key otherwise. ok is false when the
// input cannot name any account.
func LoginKey(raw string) (key string, byEmail, ok bool) {
	if strings.ContainsRune(raw, '@') {
		_, k, err := Email(raw)
		if err != nil || k == nil {
			return "", true, false
		}
		return *k, true, true
	}
	k, err := usernameKey(raw)
	return k, false, err == nil
}
