package account_test

import (
	"bufio"
	"os"
	"slices"
	"strings"
	"testing"

	"roster/account"
)

// TestAuditActionsDoc keeps the table under "### Audit actions" in
// docs/api.md equal to account.Actions: no action missing, none extra.
func TestAuditActionsDoc(t *testing.T) {
	f, err := os.Open("../docs/api.md")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var doc []string
	in, found := false, false
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		line := sc.Text()
		switch {
		case line == "### Audit actions":
			in, found = true, true
		case in && strings.HasPrefix(line, "#"):
			in = false
		case in && strings.HasPrefix(line, "| `"):
			// | `action` | detail |
			cell := strings.TrimSpace(strings.Split(line, "|")[1])
			doc = append(doc, strings.Trim(cell, "`"))
		}
	}
	if err := sc.Err(); err != nil {
		t.Fatal(err)
	}
	if !found {
		t.Fatal(`docs/api.md has no "### Audit actions" heading`)
	}
	for _, a := range account.Actions {
		if !slices.Contains(doc, a) {
			t.Errorf("docs/api.md's audit actions lack %q", a)
		}
	}
	for _, a := range doc {
		if !account.ValidAction(a) {
			t.Errorf("docs/api.md lists audit action %q, which account.Actions does not have", a)
		}
	}
	if len(doc) != len(account.Actions) {
		t.Errorf("docs/api.md lists %d audit actions, account.Actions has %d", len(doc), len(account.Actions))
	}
}
