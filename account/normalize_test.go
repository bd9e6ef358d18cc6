package account_test

import (
	"errors"
	"strings"
	"testing"

	"roster/account"
)

func TestUsernameKeyCollides(t *testing.T) {
	t.Parallel()
	variants := []string{"Bob", "bob", "BOB", "ｂｏｂ", "Ｂｏｂ"}
	want, err := account.Username("bob")
	if err != nil {
		t.Fatal(err)
	}
	for _, v := range variants {
		got, err := account.Username(v)
		if err != nil {
			t.Fatalf("Username(%q): %v", v, err)
		}
		if got != want {
			t.Errorf("Username(%q) = %q, want %q", v, got, want)
		}
	}
}

func TestUsernameRefused(t *testing.T) {
	t.Parallel()
	for _, raw := range []string{"", "has space", "a@b", "tab\tname", strings.Repeat("x", 65), "\xff\xfe", "\u0000nul"} {
		_, err := account.Username(raw)
		var ve *account.ValidationError
		if !errors.As(err, &ve) || ve.Errors[0].Field != "username" {
			t.Errorf("Username(%q) = %v, want a username validation error", raw, err)
		}
	}
}

func TestEmail(t *testing.T) {
	t.Parallel()
	email, key, err := account.Email("Alice@Example.COM")
	if err != nil || *email != "Alice@Example.COM" || *key != "alice@example.com" {
		t.Fatalf("Email = %v, %v, %v; want kept as entered with a lower-case key", email, key, err)
	}
	if e, k, err := account.Email(""); e != nil || k != nil || err != nil {
		t.Fatalf("Email(\"\") = %v, %v, %v; want no email", e, k, err)
	}
	for _, raw := range []string{"not-an-address", "Alice <a@example.com>", "a@", " a@example.com", strings.Repeat("a", 250) + "@x.io"} {
		if _, _, err := account.Email(raw); err == nil {
			t.Errorf("Email(%q) accepted, want refused", raw)
		}
	}
}

func TestLoginKey(t *testing.T) {
	t.Parallel()
	tests := []struct {
		in      string
		key     string
		byEmail bool
		ok      bool
	}{
		{"Bob", "bob", false, true},
		{"ｂｏｂ", "bob", false, true},
		{"Bob@Example.com", "bob@example.com", true, true},
		{"has space", "", false, false},
		{"@@", "", true, false},
	}
	for _, tt := range tests {
		key, byEmail, ok := account.LoginKey(tt.in)
		if key != tt.key || byEmail != tt.byEmail || ok != tt.ok {
			t.Errorf("LoginKey(%q) = %q, %v, %v; want %q, %v, %v", tt.in, key, byEmail, ok, tt.key, tt.byEmail, tt.ok)
		}
	}
}
