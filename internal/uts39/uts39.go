// Package uts39 holds the Unicode Technical Standard #39 (Unicode Security
// Mechanisms) checks roster applies to usernames: the "Highly Restrictive"
// restriction level (§5.2) and the confusable skeleton (§4).
//
// The confusables table is go.mau.fi/util/confusable's, generated from
// Unicode's confusables.txt (version 17.0.0 in go.mau.fi/util v0.11.1).
// Stored skeletons depend on it: a dependency update that changes the table
// needs a migration that recomputes users.username_skeleton (see
// db.RecomputeSkeletons).
package uts39

import (
	"slices"
	"sort"
	"unicode"

	"go.mau.fi/util/confusable"
	"golang.org/x/text/unicode/norm"
)

// Skeleton is the UTS #39 skeleton of s: two strings with the same skeleton
// look alike. It is meant for comparison only, never for display. Pass a
// case-folded form (roster's username key): the table maps, for example, "I"
// to "l", so "Admin" and "admin" would not match otherwise.
//
// Before mapping, a combining dot above (U+0307) on a Soft_Dotted letter
// such as i or j is dropped: Unicode renders it in place of the letter's own
// dot, so "i̇" (the lower case of "İ") looks exactly like "i", which the
// table alone does not say.
func Skeleton(s string) string {
	return confusable.Skeleton(dropDotAbove(norm.NFD.String(s)))
}

const combiningDotAbove = '\u0307'

// dropDotAbove removes from the NFD string s each U+0307 that sits on a
// Soft_Dotted base with no other above-mark (combining class 230) before it.
func dropDotAbove(s string) string {
	out := make([]rune, 0, len(s))
	softBase := false // the last starter is soft-dotted and nothing above it yet
	for _, r := range s {
		ccc := norm.NFD.PropertiesString(string(r)).CCC()
		switch {
		case ccc == 0:
			softBase = unicode.Is(unicode.Soft_Dotted, r)
		case r == combiningDotAbove && softBase:
			softBase = false
			continue
		case ccc == 230:
			softBase = false
		}
		out = append(out, r)
	}
	return string(out)
}

// scripts are Go's Unicode script tables, looked up in order.
var scripts = func() []script {
	var list []script
	for name, table := range unicode.Scripts {
		list = append(list, script{name, table})
	}
	sort.Slice(list, func(i, j int) bool { return list[i].name < list[j].name })
	return list
}()

type script struct {
	name  string
	table *unicode.RangeTable
}

// scriptOf is r's Script property: "Common", "Inherited", "Latin"…, or
// "Unknown" for a code point Go's tables do not assign.
func scriptOf(r rune) string {
	if r < 0x80 {
		if 'a' <= r && r <= 'z' || 'A' <= r && r <= 'Z' {
			return "Latin"
		}
		return "Common"
	}
	for _, sc := range scripts {
		if unicode.Is(sc.table, r) {
			return sc.name
		}
	}
	return "Unknown"
}

// Scripts lists the scripts of s's characters, other than Common and
// Inherited (digits, punctuation, combining marks), in order of appearance.
func Scripts(s string) []string {
	var seen []string
	for _, r := range s {
		sc := scriptOf(r)
		if sc != "Common" && sc != "Inherited" && !slices.Contains(seen, sc) {
			seen = append(seen, sc)
		}
	}
	return seen
}

// highlyRestrictiveSets are the combinations UTS #39 §5.2 allows beyond a
// single script: Latin with the scripts of Japanese, Chinese and Korean.
var highlyRestrictiveSets = [][]string{
	{"Latin", "Han", "Hiragana", "Katakana"},
	{"Latin", "Han", "Bopomofo"},
	{"Latin", "Han", "Hangul"},
}

// HighlyRestrictive reports whether s meets UTS #39's Highly Restrictive
// level: its characters, Common and Inherited ones aside, are of one script,
// or of Latin, Han, Hiragana and Katakana, or of Latin, Han and Bopomofo, or
// of Latin, Han and Hangul. It reads each character's Script property (Go's
// unicode tables have no Script_Extensions), which is at most stricter: a
// character used by several scripts counts for its main one.
func HighlyRestrictive(s string) bool {
	found := Scripts(s)
	if len(found) <= 1 {
		return true
	}
	for _, set := range highlyRestrictiveSets {
		if !slices.ContainsFunc(found, func(sc string) bool { return !slices.Contains(set, sc) }) {
			return true
		}
	}
	return false
}
