package cli

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"text/tabwriter"
	"time"

	"roster/account"
	"roster/db"
)

const userUsage = `usage: roster user COMMAND [flags] ARGS

commands:
  create [-admin] [-email E] [-password-stdin] NAME   create an account; asks for its password
  list [-q PREFIX] [-status S] [-role R]               list accounts in id order
  set-role NAME user|admin                             change an account's role
  disable NAME                                         refuse logins and end every session
  enable NAME                                          allow logins again
  delete NAME                                          delete an account and its sessions
  set-password [-password-stdin] NAME                  replace a password; ends every session
  send-reset NAME                                      mail the account a password-reset link

Every command also takes -db and the account flags of "roster serve"
(run "roster user COMMAND -h"). Passwords are typed twice at the terminal
without echo, or read with -password-stdin from the first line of stdin. The
changes are audited like the HTTP API's, with no actor and no IP. Mail
(verification on create, the notice on set-password, send-reset) is written
to the database's outbox; the running server delivers it within seconds.
`

// userFlags are the flags of the user commands; each command registers the
// ones it uses.
type userFlags struct {
	db            dbConfig
	account       account.Config
	admin         bool
	email         string
	passwordStdin bool
	query         string
	status        string
	role          string
}

// cmdUser runs "roster user COMMAND": account administration on the
// database file through the same account.Service as the HTTP API.
func cmdUser(ctx context.Context, args []string, getenv func(string) string, stdin io.Reader, stdout, stderr io.Writer) error {
	if len(args) == 0 || args[0] == "help" || args[0] == "-h" {
		fmt.Fprint(stderr, userUsage)
		return usageError{"user: missing command"}
	}
	sub, args := args[0], args[1:]
	cfg := userFlags{account: account.DefaultConfig()}
	fs := flag.NewFlagSet("user "+sub, flag.ContinueOnError)
	cfg.db.register(fs)
	registerAccount(fs, &cfg.account)
	positional := []string{"name"}
	switch sub {
	case "create":
		fs.BoolVar(&cfg.admin, "admin", false, "give the account the admin role")
		fs.StringVar(&cfg.email, "email", "", "the account's email address")
		fs.BoolVar(&cfg.passwordStdin, "password-stdin", false, "read the password from the first line of standard input")
	case "set-password":
		fs.BoolVar(&cfg.passwordStdin, "password-stdin", false, "read the password from the first line of standard input")
	case "list":
		fs.StringVar(&cfg.query, "q", "", "only accounts whose username or email starts with this, ignoring case")
		fs.StringVar(&cfg.status, "status", "", "only accounts with this status (active or disabled)")
		fs.StringVar(&cfg.role, "role", "", "only accounts with this role (user or admin)")
		positional = nil
	case "set-role":
		positional = []string{"name", "role"}
	case "disable", "enable", "delete", "send-reset":
	default:
		fmt.Fprint(stderr, userUsage)
		return usageError{fmt.Sprintf("user: unknown command %q", sub)}
	}
	pos, err := parseFlags(fs, args, getenv, stderr, positional...)
	if err != nil {
		return err
	}
	if err := validated(cfg.account.Validate()); err != nil {
		return err
	}
	if (cfg.status != "" && !account.ValidStatus(cfg.status)) || (cfg.role != "" && !account.ValidRole(cfg.role)) {
		return usageError{"-status must be active or disabled, -role user or admin"}
	}
	accounts, err := openAccounts(ctx, cfg.db, cfg.account)
	if err != nil {
		return err
	}
	defer accounts.Store.Close()
	u := userCommand{accounts: accounts, stdin: stdin, stdout: stdout, stderr: stderr}

	var name string
	if len(pos) > 0 {
		name = pos[0]
	}
	switch sub {
	case "create":
		return u.create(ctx, name, cfg)
	case "list":
		return u.list(ctx, account.UserFilter{Query: cfg.query, Status: cfg.status, Role: cfg.role})
	case "set-role":
		return u.update(ctx, name, account.UserChange{Role: ptr(pos[1])})
	case "disable":
		return u.update(ctx, name, account.UserChange{Status: ptr(account.StatusDisabled)})
	case "enable":
		return u.update(ctx, name, account.UserChange{Status: ptr(account.StatusActive)})
	case "delete":
		return u.delete(ctx, name)
	case "send-reset":
		return u.sendReset(ctx, name)
	default: // set-password
		return u.setPassword(ctx, name, cfg.passwordStdin)
	}
}

func ptr[T any](v T) *T { return &v }

// cli is the audit actor of every CLI change: no account, no IP.
var cli = account.Actor{}

type userCommand struct {
	accounts       *account.Service
	stdin          io.Reader
	stdout, stderr io.Writer
}

func (u userCommand) create(ctx context.Context, name string, cfg userFlags) error {
	password, err := newPassword(u.stdin, u.stderr, cfg.passwordStdin)
	if err != nil {
		return err
	}
	role := account.RoleUser
	if cfg.admin {
		role = account.RoleAdmin
	}
	user, err := u.accounts.CreateUser(ctx, cli, account.NewUser{Username: name, Email: cfg.email, Password: password, Role: role})
	if err != nil {
		return err
	}
	fmt.Fprintf(u.stdout, "created user %s (id %d, role %s)\n", user.Username, user.ID, user.Role)
	return nil
}

// listBatch is how many accounts list reads per query.
const listBatch = 200

func (u userCommand) list(ctx context.Context, f account.UserFilter) error {
	tw := tabwriter.NewWriter(u.stdout, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "ID\tUSERNAME\tEMAIL\tROLE\tSTATUS\tCREATED")
	var after int64
	for {
		users, err := u.accounts.ListUsers(ctx, f, after, listBatch)
		if err != nil {
			return err
		}
		for _, user := range users {
			email := "-"
			if user.Email != nil {
				email = *user.Email
			}
			fmt.Fprintf(tw, "%d\t%s\t%s\t%s\t%s\t%s\n", user.ID, user.Username, email, user.Role, user.Status,
				user.CreatedAt.Format(time.RFC3339))
			after = user.ID
		}
		if len(users) < listBatch {
			return tw.Flush()
		}
	}
}

func (u userCommand) update(ctx context.Context, name string, ch account.UserChange) error {
	user, err := u.lookup(ctx, name)
	if err != nil {
		return err
	}
	user, err = u.accounts.UpdateUser(ctx, cli, user.ID, ch)
	if err != nil {
		return err
	}
	fmt.Fprintf(u.stdout, "user %s: role %s, status %s\n", user.Username, user.Role, user.Status)
	return nil
}

func (u userCommand) delete(ctx context.Context, name string) error {
	user, err := u.lookup(ctx, name)
	if err != nil {
		return err
	}
	if err := u.accounts.DeleteUser(ctx, cli, user.ID); err != nil {
		return err
	}
	fmt.Fprintf(u.stdout, "deleted user %s (id %d)\n", user.Username, user.ID)
	return nil
}

func (u userCommand) setPassword(ctx context.Context, name string, fromStdin bool) error {
	user, err := u.lookup(ctx, name)
	if err != nil {
		return err
	}
	password, err := newPassword(u.stdin, u.stderr, fromStdin)
	if err != nil {
		return err
	}
	if err := u.accounts.SetPassword(ctx, cli, user.ID, password); err != nil {
		return err
	}
	fmt.Fprintf(u.stdout, "password of user %s replaced; every session of it ended\n", user.Username)
	return nil
}

func (u userCommand) sendReset(ctx context.Context, name string) error {
	user, err := u.lookup(ctx, name)
	if err != nil {
		return err
	}
	if err := u.accounts.SendPasswordReset(ctx, cli, user.ID); err != nil {
		return fmt.Errorf("user %s: %w", user.Username, err)
	}
	fmt.Fprintf(u.stdout, "password-reset mail for user %s queued to %s; its code works for %s\n",
		user.Username, *user.Email, account.ResetTTL)
	return nil
}

// lookup finds an account by username, naming it in the error when missing.
func (u userCommand) lookup(ctx context.Context, name string) (db.User, error) {
	user, err := u.accounts.UserByName(ctx, name)
	if errors.Is(err, account.ErrNotFound) {
		return db.User{}, fmt.Errorf("no user named %q", name)
	}
	return user, err
}

// newPassword reads a password the operator chooses: from stdin with
// fromStdin, else typed twice at the terminal without echo.
func newPassword(stdin io.Reader, stderr io.Writer, fromStdin bool) (string, error) {
	pw, err := readPassword(stdin, stderr, fromStdin, "Password: ")
	if err != nil || fromStdin {
		return pw, err
	}
	again, err := readPassword(stdin, stderr, false, "Repeat password: ")
	if err != nil {
		return "", err
	}
	if again != pw {
		return "", errors.New("the passwords do not match")
	}
	return pw, nil
}
