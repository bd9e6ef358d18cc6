package cli

import (
	"bufio"
	"bytes"
	"errors"
	"flag"
	"io"
	"maps"
	"os"
	"regexp"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"testing"
)

// configurationDoc is the flag reference, relative to this package.
const configurationDoc = "../docs/configuration.md"

// docFlag is one flag as a command's -h lists it, or as a table row of
// configurationDoc gives it.
type docFlag struct{ env, def string }

// commandNames lists every command and user subcommand from the usage texts,
// as "serve", "user create", "signup", ….
func commandNames(t *testing.T) []string {
	t.Helper()
	word := regexp.MustCompile(`(?m)^  ([a-z-]+)\b`)
	var names []string
	for _, m := range word.FindAllStringSubmatch(usage, -1) {
		if m[1] != "user" {
			names = append(names, m[1])
		}
	}
	for _, m := range word.FindAllStringSubmatch(userUsage, -1) {
		names = append(names, "user "+m[1])
	}
	if !slices.Contains(names, "serve") || !slices.Contains(names, "user create") || !slices.Contains(names, "me") {
		t.Fatalf("commands read from the usage texts: %q, want serve, user create, me and the rest", names)
	}
	return names
}

// commandFlags runs "roster COMMAND -h", which builds the command's flag set
// exactly as the command does, and reads back every flag it lists.
func commandFlags(t *testing.T, command string) map[string]docFlag {
	t.Helper()
	var stderr bytes.Buffer
	args := append(strings.Fields(command), "-h")
	err := run(t.Context(), args, func(string) string { return "" }, strings.NewReader(""), io.Discard, &stderr)
	if !errors.Is(err, flag.ErrHelp) {
		t.Fatalf("roster %s -h: err = %v, want flag.ErrHelp", command, err)
	}
	line := regexp.MustCompile(`(?m)^  -(\S+) \(env (\S+), default ("(?:[^"\\]|\\.)*")\)$`)
	flags := map[string]docFlag{}
	for _, m := range line.FindAllStringSubmatch(stderr.String(), -1) {
		def, err := strconv.Unquote(m[3])
		if err != nil {
			t.Fatalf("roster %s -h: default %s: %v", command, m[3], err)
		}
		flags["-"+m[1]] = docFlag{env: m[2], def: def}
	}
	if len(flags) == 0 {
		t.Fatalf("roster %s -h lists no flags:\n%s", command, stderr.String())
	}
	return flags
}

// docFlags reads configurationDoc: each "Commands: `roster X`, …" line names
// the commands that take the flags of the table after it (`roster user *`
// is every user subcommand); a command takes the rows of every table that
// names it.
func docFlags(t *testing.T, commands []string) map[string]map[string]docFlag {
	t.Helper()
	f, err := os.Open(configurationDoc)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	const header = "| flag | environment | default | meaning |"
	quoted := regexp.MustCompile("`roster ([^`]+)`")
	doc := map[string]map[string]docFlag{}
	var named []string // the commands of the table being read
	inTable := false
	sc := bufio.NewScanner(f)
	for n := 1; sc.Scan(); n++ {
		line := sc.Text()
		switch {
		case strings.HasPrefix(line, "Commands:"):
			named = nil
			for _, m := range quoted.FindAllStringSubmatch(line, -1) {
				prefix, all := strings.CutSuffix(m[1], " *")
				found := false
				for _, c := range commands {
					if c == m[1] || (all && strings.HasPrefix(c, prefix+" ")) {
						named, found = append(named, c), true
					}
				}
				if !found {
					t.Errorf("%s:%d: no command %q", configurationDoc, n, m[1])
				}
			}
		case line == header:
			if len(named) == 0 {
				t.Errorf("%s:%d: a flag table without a Commands: line before it", configurationDoc, n)
			}
			inTable = true
		case inTable && strings.HasPrefix(line, "|---"):
		case inTable && strings.HasPrefix(line, "|"):
			cells := strings.Split(line, "|")
			if len(cells) < 5 {
				t.Errorf("%s:%d: a row of fewer than four cells", configurationDoc, n)
				continue
			}
			cell := func(i int) string { return strings.Trim(strings.TrimSpace(cells[i]), "`") }
			name := cell(1)
			for _, c := range named {
				if doc[c] == nil {
					doc[c] = map[string]docFlag{}
				}
				if _, dup := doc[c][name]; dup {
					t.Errorf("%s:%d: %s listed twice for roster %s", configurationDoc, n, name, c)
				}
				doc[c][name] = docFlag{env: cell(2), def: cell(3)}
			}
		default:
			inTable = false
			if strings.HasPrefix(line, "#") {
				named = nil
			}
		}
	}
	if err := sc.Err(); err != nil {
		t.Fatal(err)
	}
	return doc
}

// TestConfigurationDoc checks that docs/configuration.md lists exactly the
// flags of every command, with their environment variables and defaults.
func TestConfigurationDoc(t *testing.T) {
	commands := commandNames(t)
	doc := docFlags(t, commands)
	for _, c := range commands {
		want, got := commandFlags(t, c), doc[c]
		for _, name := range slices.Sorted(maps.Keys(want)) {
			w := want[name]
			if name == "-hash-concurrency" && w.def == strconv.Itoa(runtime.GOMAXPROCS(0)) {
				w.def = "number of CPUs"
			}
			g, ok := got[name]
			switch {
			case !ok:
				t.Errorf("roster %s %s (env %s, default %q) is not in %s", c, name, w.env, w.def, configurationDoc)
			case g != w:
				t.Errorf("%s: roster %s %s has env %s, default %q; want env %s, default %q",
					configurationDoc, c, name, g.env, g.def, w.env, w.def)
			}
		}
		for _, name := range slices.Sorted(maps.Keys(got)) {
			if _, ok := want[name]; !ok {
				t.Errorf("%s lists %s for roster %s, which has no such flag", configurationDoc, name, c)
			}
		}
	}
}
