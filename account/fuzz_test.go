package account_test

import (
	"errors"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"golang.org/x/text/unicode/norm"

	"roster/account"
)

// FuzzParsePHC: any string either parses to parameters within roster's
// bounds, with salt and key of the stated lengths, or fails with
// ErrMalformedHash; absurd parameters never get as far as allocating.
func FuzzParsePHC(f *testing.F) {
	for _, s := range []string{
		"$argon2id$v=19$m=19456,t=2,p=1$c29tZXNhbHRzb21lc2FsdA$a2V5a2V5a2V5a2V5a2V5a2V5a2V5a2V5a2V5a2V5a2U",
		"$argon2id$v=19$m=4294967295,t=2,p=1$c29tZXNhbHRzb21lc2FsdA$a2V5a2V5a2V5a2V5a2V5a2V5a2V5a2V5a2V5a2V5a2U",
		"$argon2id$v=19$m=19456,t=99,p=1$c29tZXNhbHQ$a2V5",
		"$argon2id$v=19$m=19456,t=2,p=1,x=1$$",
		"$argon2i$v=19$m=19456,t=2,p=1$c29tZXNhbHQ$a2V5",
		"$2b$10$N9qo8uLOickgx2ZMRZoMyeIjZAgcfl7p92ldGxad68LJZdL17lhWy",
		"", "$", "$$$$$",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		p, salt, key, err := account.ParsePHC(s)
		if err != nil {
			if !errors.Is(err, account.ErrMalformedHash) {
				t.Fatalf("ParsePHC(%q): err = %v, want ErrMalformedHash", s, err)
			}
			return
		}
		if p.Memory > 1<<20 || p.Time < 1 || p.Time > 20 || p.Threads < 1 || p.Threads > 64 {
			t.Fatalf("ParsePHC(%q) accepted out-of-bounds parameters %+v", s, p)
		}
		if uint32(len(salt)) != p.SaltLen || uint32(len(key)) != p.KeyLen || len(salt) < 8 || len(key) < 16 {
			t.Fatalf("ParsePHC(%q): salt %d and key %d bytes, params %+v", s, len(salt), len(key), p)
		}
	})
}

// FuzzNormalizePassword: a password is refused with a ValidationError or
// comes back as valid, NFKC-normalized UTF-8 of at most 256 code points
// that normalizes to itself: exactly the NFKC form, never case-folded.
func FuzzNormalizePassword(f *testing.F) {
	for _, s := range []string{"correct horse battery staple", "ＦＵＬＬＷＩＤＴＨ", "ﬁ ligature", "é", "e\u0301",
		strings.Repeat("x", 256), strings.Repeat("é", 257), "\xff\xfe", "\ufdfa", ""} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, pw string) {
		n, err := account.NormalizePassword("password", pw)
		if err != nil {
			var ve *account.ValidationError
			if !errors.As(err, &ve) {
				t.Fatalf("NormalizePassword(%q): err = %v, want a *ValidationError", pw, err)
			}
			return
		}
		if !utf8.ValidString(n) || utf8.RuneCountInString(n) > account.MaxPasswordLen || !norm.NFKC.IsNormalString(n) {
			t.Fatalf("NormalizePassword(%q) = %q: not NFKC UTF-8 of at most %d code points", pw, n, account.MaxPasswordLen)
		}
		if again, err := account.NormalizePassword("password", n); err != nil || again != n {
			t.Fatalf("NormalizePassword(%q) = %q, %v; want it unchanged", n, again, err)
		}
		if n != norm.NFKC.String(pw) {
			t.Fatalf("NormalizePassword(%q) = %q, want exactly its NFKC form (no case folding)", pw, n)
		}
	})
}

// FuzzValidToken: only strings shaped like minted tokens pass, so anything
// else is refused before a database lookup.
func FuzzValidToken(f *testing.F) {
	token, _ := account.NewToken()
	for _, s := range []string{token, token[:len(token)-1], token + "A", "rst_", "Bearer " + token,
		strings.Replace(token, "rst_", "rsT_", 1), token[:10] + "+" + token[11:], ""} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		if !account.ValidToken(s) {
			return
		}
		if len(s) != len(token) || !strings.HasPrefix(s, account.TokenPrefix) ||
			strings.ContainsAny(s[len(account.TokenPrefix):], "+/=") {
			t.Fatalf("ValidToken(%q) = true for a string not shaped like %q", s, token)
		}
	})
}

// FuzzParseRecord: an import line is refused, or it passes every rule a new
// account passes: the username has the key sign-up gives it, the role and
// status are known, the hash is one roster can verify.
func FuzzParseRecord(f *testing.F) {
	for _, s := range []string{
		`{"username":"ann","email":"ann@example.com","role":"admin","status":"disabled","created_at":"2024-03-01T10:00:00Z","password_hash":"$2b$10$N9qo8uLOickgx2ZMRZoMyeIjZAgcfl7p92ldGxad68LJZdL17lhWy"}`,
		`{"username":"Ｂｏｂ","password_hash":"$argon2id$v=19$m=19456,t=2,p=1$c29tZXNhbHRzb21lc2FsdA$a2V5a2V5a2V5a2V5a2V5a2V5a2V5a2V5a2V5a2V5a2U"}`,
		`{"username":"a@b","role":"root"}`, `{} {}`, `[]`, `null`, "",
	} {
		f.Add([]byte(s))
	}
	svc := &account.Service{Now: time.Now}
	f.Fuzz(func(t *testing.T, line []byte) {
		username, key, role, status, hash, err := svc.ParseRecord(line)
		if err != nil {
			return
		}
		if want, err := account.Username(username); err != nil || want != key {
			t.Fatalf("accepted username %q with key %q; Username gives %q, %v", username, key, want, err)
		}
		if !account.ValidRole(role) || !account.ValidStatus(status) || account.ValidateHash(hash) != nil {
			t.Fatalf("accepted role %q, status %q, hash %q", role, status, hash)
		}
	})
}
