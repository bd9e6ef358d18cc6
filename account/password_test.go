package account_test

import (
	"errors"
	"strings"
	"testing"

	"roster/account"
)

func TestPolicy(t *testing.T) {
	t.Parallel()
	policy, err := account.NewPolicy(account.DefaultMinPasswordLen)
	if err != nil {
		t.Fatal(err)
	}
	email := "carol.smith@example.com"
	tests := []struct {
		name     string
		password string
		code     string // "" means accepted
	}{
		{"fifteen code points", "abcdefghijklmno", ""},
		{"fourteen code points", "abcdefghijklmn", "password_too_short"},
		{"spaces allowed", "a b c d e f g h", ""},
		{"counted in runes not bytes", strings.Repeat("é", 15), ""},
		{"multibyte too short", strings.Repeat("é", 14), "password_too_short"},
		{"no composition rules", strings.Repeat("a", 15), ""},
		{"exactly the maximum", strings.Repeat("p", 256), ""},
		{"over the maximum", strings.Repeat("p", 257), "password_too_long"},
		{"huge input", strings.Repeat("p", 1<<20), "password_too_long"},
		{"contains username", "xx-carolina-xx-long", "password_contains_username"},
		{"contains username any case", "xx-CAROLINA-xx-long", "password_contains_username"},
		{"contains email local part", "my carol.smith secret", "password_contains_email"},
		{"empty", "", "validation"},
		{"invalid utf-8", "abcdefghijklmnop\xff", "validation"},
	}
	for _, tt := range tests {
		_, err := policy.ValidateNewPassword("password", tt.password, "Carolina", &email)
		var ve *account.ValidationError
		switch {
		case tt.code == "" && err != nil:
			t.Errorf("%s: ValidateNewPassword = %v, want accepted", tt.name, err)
		case tt.code != "" && (!errors.As(err, &ve) || ve.Code != tt.code):
			t.Errorf("%s: ValidateNewPassword = %v, want code %s", tt.name, err, tt.code)
		}
	}
}

func TestPolicyMinimumBounds(t *testing.T) {
	t.Parallel()
	if _, err := account.NewPolicy(7); err == nil {
		t.Error("NewPolicy(7) accepted, want refused: the floor is 8")
	}
	p, err := account.NewPolicy(8)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := p.ValidateNewPassword("password", "eightchr", "someone", nil); err != nil {
		t.Errorf("8-character password with MinLen 8: %v", err)
	}
}

func TestNormalizePasswordNFKCNoCaseFold(t *testing.T) {
	t.Parallel()
	// U+FB01 (ﬁ ligature) and full-width letters fold under NFKC; case does not.
	got, err := account.NormalizePassword("password", "ﬁＡb")
	if err != nil {
		t.Fatal(err)
	}
	if got != "fiAb" {
		t.Errorf("NormalizePassword = %q, want %q", got, "fiAb")
	}
	// Precomposed é and e + combining acute normalize to the same string.
	a, _ := account.NormalizePassword("password", "caf\u00e9")
	b, _ := account.NormalizePassword("password", "cafe\u0301")
	if a != b {
		t.Errorf("NFKC forms differ: %q vs %q", a, b)
	}
}
