package cli

import (
	"bytes"
	"context"
	"errors"
	"math"
	"strings"
	"testing"
	"time"

	"roster/account"
	"roster/account/accounttest"
	"roster/db"
)

const cliPassword = "correct horse battery staple"

// roster runs the program once with args, stdin and an empty environment but
// for ROSTER_DB, and returns stdout, stderr and the error.
func roster(t *testing.T, dbPath, stdin string, args ...string) (string, string, error) {
	t.Helper()
	getenv := func(k string) string {
		if k == "ROSTER_DB" {
			return dbPath
		}
		return ""
	}
	var stdout, stderr bytes.Buffer
	err := run(context.Background(), args, getenv, strings.NewReader(stdin), &stdout, &stderr)
	return stdout.String(), stderr.String(), err
}

func TestUserCLI(t *testing.T) {
	t.Parallel()
	accounttest.Run(t, testUserCLI)
}

func testUserCLI(t *testing.T, eng accounttest.Engine) {
	t.Parallel()
	dbPath := eng.DSN(t)
	steps := []struct {
		stdin   string
		args    []string
		wantOut string // a substring of stdout
		wantErr string // a substring of the error; "" for success
		usage   bool   // the error is a usage error (exit status 2)
	}{
		{cliPassword + "\n", []string{"user", "create", "-admin", "-email", "root@example.com", "-password-stdin", "root"}, "created user root (id 1, role admin)", "", false},
		{cliPassword + "\r\n", []string{"user", "create", "-password-stdin", "bob"}, "created user bob (id 2, role user)", "", false},
		{cliPassword, []string{"user", "create", "-password-stdin", "BOB"}, "", "username is already taken", false},
		{"short\n", []string{"user", "create", "-password-stdin", "carl"}, "", "password: must be at least 15 characters", false},
		{"", []string{"user", "create", "carl"}, "", "stdin is not a terminal", true},
		{"", []string{"user", "create", "-password-stdin"}, "", "missing NAME", true},
		{"", []string{"user", "list"}, "root      root@example.com  admin  active", "", false},
		{"", []string{"user", "list", "-q", "B"}, "2   bob", "", false},
		{"", []string{"user", "list", "-status", "gone"}, "", "-status must be", true},
		{"", []string{"user", "set-role", "root", "user"}, "", "last active admin", false},
		{"", []string{"user", "disable", "root"}, "", "last active admin", false},
		{"", []string{"user", "delete", "root"}, "", "last active admin", false},
		{"", []string{"user", "set-role", "bob", "superuser"}, "", "role: must be user or admin", false},
		{"", []string{"user", "set-role", "bob", "admin"}, "user bob: role admin, status active", "", false},
		{"", []string{"user", "disable", "root"}, "user root: role admin, status disabled", "", false},
		{"", []string{"user", "disable", "bob"}, "", "last active admin", false},
		{"", []string{"user", "enable", "root"}, "user root: role admin, status active", "", false},
		{"", []string{"user", "disable", "nobody"}, "", `no user named "nobody"`, false},
		{"", []string{"user", "send-reset", "root"}, "password-reset mail for user root queued to root@example.com", "", false},
		{"", []string{"user", "send-reset", "bob"}, "", "user bob: the account has no email address", false},
		{"", []string{"user", "send-reset"}, "", "missing NAME", true},
		{"another good passphrase\n", []string{"user", "set-password", "-password-stdin", "bob"}, "password of user bob replaced", "", false},
		{"", []string{"user", "delete", "bob"}, "deleted user bob (id 2)", "", false},
		{"", []string{"user", "frobnicate", "bob"}, "", "unknown command", true},
		{"", []string{"user", "delete", "a", "b"}, "", `unexpected argument "b"`, true},
	}
	for _, st := range steps {
		out, _, err := roster(t, dbPath, st.stdin, st.args...)
		what := "roster " + strings.Join(st.args, " ")
		switch {
		case st.wantErr == "" && err != nil:
			t.Fatalf("%s: %v", what, err)
		case st.wantErr != "" && (err == nil || !strings.Contains(err.Error(), st.wantErr)):
			t.Fatalf("%s: err = %v, want one containing %q", what, err, st.wantErr)
		case st.usage != errors.As(err, new(usageError)):
			t.Fatalf("%s: usage error = %v, want %v (err %v)", what, !st.usage, st.usage, err)
		case !strings.Contains(out, st.wantOut):
			t.Fatalf("%s: stdout = %q, want it to contain %q", what, out, st.wantOut)
		}
	}

	// The CLI goes through account.Service: every change is audited with no
	// actor and no IP, and the password set on the command line works.
	store, err := db.Open(context.Background(), dbPath)
	if err != nil {
		t.Fatal(err)
	}
	defer store.Close()
	events, err := store.Read.ListAuditEvents(context.Background(), db.ListAuditEventsParams{Before: math.MaxInt64, Lim: 100})
	if err != nil {
		t.Fatal(err)
	}
	var actions []string
	for _, e := range events {
		if e.ActorID != nil || e.Ip != "" {
			t.Errorf("CLI audit event %+v has an actor or IP", e)
		}
		actions = append(actions, e.Action)
	}
	wantActions := "user.delete password.set password.reset_request user.enable user.disable user.role user.create user.create"
	if got := strings.Join(actions, " "); got != wantActions {
		t.Errorf("audit actions = %s, want %s", got, wantActions)
	}

	// Mail waits in the outbox for the server: root's verification and reset.
	mails, err := store.Read.ListOutboxMessages(context.Background(), db.ListOutboxMessagesParams{Lim: 100})
	if err != nil {
		t.Fatal(err)
	}
	var kinds []string
	for _, m := range mails {
		kinds = append(kinds, m.Kind+" to "+m.Recipient)
	}
	if got, want := strings.Join(kinds, ", "), "email_verification to root@example.com, password_reset to root@example.com"; got != want {
		t.Errorf("outbox = %s, want %s", got, want)
	}

	hasher, _ := account.NewHasher(account.DefaultParams, 1, time.Second)
	accounts := &account.Service{Store: store, Hasher: hasher, Now: time.Now}
	if _, err := accounts.LoginWithoutSession(context.Background(), "root@example.com", cliPassword, "192.0.2.1"); err != nil {
		t.Errorf("root cannot log in with the password given on stdin: %v", err)
	}
}
