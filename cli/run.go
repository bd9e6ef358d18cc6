// Package cli is roster's command line: it maps flags and environment onto
// each package's Config, and serve is the composition root that wires the
// database, the account rules, the mail worker and the HTTP server together.
package cli

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
)

// Run runs the command line args (without the program name) and returns the
// process's exit status: 0, 2 for a bad command line, 1 for any other error,
// which it prints to stderr as one line.
func Run(ctx context.Context, args []string, getenv func(string) string, stdin io.Reader, stdout, stderr io.Writer) int {
	err := run(ctx, args, getenv, stdin, stdout, stderr)
	switch {
	case err == nil, errors.Is(err, flag.ErrHelp):
		return 0
	case errors.As(err, new(usageError)):
		fmt.Fprintln(stderr, "roster:", err)
		return 2
	default:
		fmt.Fprintln(stderr, "roster:", err)
		return 1
	}
}

// usageError is a bad command line: exit status 2.
type usageError struct{ msg string }

func (e usageError) Error() string { return e.msg }

const usage = `usage: roster [command] [flags]

commands:
  serve        run the HTTP service (the default)
  migrate      apply database migrations and exit
  user         manage accounts on the database file ("roster user" lists its commands)
  backup FILE  copy the database to a new FILE, online, and check the copy
  import FILE  add users from a JSON Lines FILE ("-" for stdin)
  export FILE  write every user to a new JSON Lines FILE ("-" for stdout)
  mfa-rekey    seal every TOTP secret under the first -mfa-key, so older keys can go

client commands (talk to a running server):
  signup    create an account: roster signup [-server URL] [-email E] NAME
  login     log in and keep the session token: roster login [-server URL] NAME
  me        show the logged-in account
  logout    end the session and forget the token

Run "roster COMMAND -h" for a command's flags. Every flag can also be set
through the environment as ROSTER_<FLAG>, for example ROSTER_ADDR.
`

// run is the whole program; main only wires it to the process.
func run(ctx context.Context, args []string, getenv func(string) string, stdin io.Reader, stdout, stderr io.Writer) error {
	cmd := "serve"
	if len(args) > 0 && args[0] != "" && args[0][0] != '-' {
		cmd, args = args[0], args[1:]
	}
	switch cmd {
	case "serve":
		return cmdServe(ctx, args, getenv, stderr)
	case "migrate":
		return cmdMigrate(ctx, args, getenv, stdout, stderr)
	case "user":
		return cmdUser(ctx, args, getenv, stdin, stdout, stderr)
	case "signup":
		return cmdSignup(ctx, args, getenv, stdin, stdout, stderr)
	case "login":
		return cmdLogin(ctx, args, getenv, stdin, stdout, stderr)
	case "me":
		return cmdMe(ctx, args, getenv, stdout, stderr)
	case "logout":
		return cmdLogout(ctx, args, getenv, stdout, stderr)
	case "backup":
		return cmdBackup(ctx, args, getenv, stdout, stderr)
	case "import":
		return cmdImport(ctx, args, getenv, stdin, stdout, stderr)
	case "mfa-rekey":
		return cmdMFARekey(ctx, args, getenv, stdout, stderr)
	case "export":
		return cmdExport(ctx, args, getenv, stdout, stderr)
	case "help":
		fmt.Fprint(stdout, usage)
		return nil
	default:
		fmt.Fprint(stderr, usage)
		return usageError{fmt.Sprintf("unknown command %q", cmd)}
	}
}
