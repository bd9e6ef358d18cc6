package uts39_test

import (
	"testing"

	"roster/internal/uts39"
)

func TestHighlyRestrictive(t *testing.T) {
	for _, tc := range []struct {
		s    string
		want bool
	}{
		{"admin", true},
		{"admin_42", true},
		{"иван", true},        // Cyrillic
		{"αλέξης", true},      // Greek, with a combining accent after NFD
		{"山田たろう", true},       // Han + Hiragana
		{"やまだタロウ2", true},     // Hiragana + Katakana + digit
		{"tanaka山田", true},    // Latin + Han
		{"김민준kim", true},      // Hangul + Latin
		{"王ㄅㄆ", true},         // Han + Bopomofo
		{"\u0430dmin", false}, // Cyrillic а + Latin
		{"\u03b1dmin", false}, // Greek α + Latin
		{"иванjohn", false},   // Cyrillic + Latin
		{"たろう김", false},       // Hiragana + Hangul
		{"abc\u0661", false},  // Latin + an Arabic-Indic digit
		{"admi\u0307n", true}, // Latin + Inherited
	} {
		if got := uts39.HighlyRestrictive(tc.s); got != tc.want {
			t.Errorf("HighlyRestrictive(%q) = %v, want %v (scripts %v)", tc.s, got, tc.want, uts39.Scripts(tc.s))
		}
	}
}

func TestSkeleton(t *testing.T) {
	admin := uts39.Skeleton("admin")
	for _, s := range []string{"\u0430dmin", "\u03b1dmin", "adm\u0131n", "admi\u0307n", "adrnin"} {
		if got := uts39.Skeleton(s); got != admin {
			t.Errorf("Skeleton(%q) = %q, want %q as for admin", s, got, admin)
		}
	}
	for _, s := range []string{"admins", "adm", "admín", "иван", "ivan"} {
		if got := uts39.Skeleton(s); got == admin {
			t.Errorf("Skeleton(%q) = %q, the same as admin's", s, got)
		}
	}
	// A dot above stays when another above-mark sits between it and the i.
	if uts39.Skeleton("i\u0301\u0307") == uts39.Skeleton("i\u0301") {
		t.Errorf("i + acute + dot above lost its dot")
	}
}
