package cli

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"runtime"
	"strings"

	rosterhttp "roster/http"
)

// The client commands talk to a running roster over HTTP. The session token
// is kept in <config dir>/roster/token (mode 0600), beside the server URL it
// belongs to; ROSTER_TOKEN, when set, is used instead.

const defaultServer = "http://localhost:8080"

// clientState is where the client commands keep the token and server URL.
type clientState struct {
	dir    string
	getenv func(string) string
}

// newClientState follows os.UserConfigDir but reads the environment through getenv,
// so tests can point it at a temporary directory.
func newClientState(getenv func(string) string) (clientState, error) {
	var dir string
	switch runtime.GOOS {
	case "windows", "darwin", "ios", "plan9":
		d, err := os.UserConfigDir()
		if err != nil {
			return clientState{}, err
		}
		dir = d
	default:
		dir = getenv("XDG_CONFIG_HOME")
		if dir == "" {
			home := getenv("HOME")
			if home == "" {
				return clientState{}, errors.New("neither $XDG_CONFIG_HOME nor $HOME is set")
			}
			dir = filepath.Join(home, ".config")
		}
	}
	return clientState{dir: filepath.Join(dir, "roster"), getenv: getenv}, nil
}

func (c clientState) read(name string) string {
	b, err := os.ReadFile(filepath.Join(c.dir, name))
	if err != nil {
		return ""
	}
	return strings.TrimSpace(string(b))
}

func (c clientState) write(name, value string) error {
	if err := os.MkdirAll(c.dir, 0o700); err != nil {
		return err
	}
	return os.WriteFile(filepath.Join(c.dir, name), []byte(value+"\n"), 0o600)
}

// token is ROSTER_TOKEN, or the one kept by the last login when server is
// the server it came from: a kept token is never sent anywhere else, so a
// typo or a stray ROSTER_SERVER cannot hand the session to another host.
func (c clientState) token(server string) (string, error) {
	if t := c.getenv("ROSTER_TOKEN"); t != "" {
		return t, nil
	}
	t, kept := c.read("token"), c.read("server")
	switch {
	case t == "":
		return "", errors.New("not logged in: run roster login first, or set ROSTER_TOKEN")
	case sameServer(kept, server):
		return t, nil
	default:
		return "", fmt.Errorf("not logged in to %s (the kept session is for %s): run roster login -server %s", server, kept, server)
	}
}

func sameServer(a, b string) bool {
	return strings.TrimRight(a, "/") == strings.TrimRight(b, "/")
}

// server is the -server flag (or ROSTER_SERVER), else the server of the last
// login, else localhost.
func (c clientState) server(flagValue string) string {
	if flagValue != "" {
		return flagValue
	}
	if s := c.read("server"); s != "" {
		return s
	}
	return defaultServer
}

// clientCommand holds the flags every client command takes: -server, and
// -password-stdin for those that send a password.
type clientCommand struct {
	fs            *flag.FlagSet
	server        string
	passwordStdin bool
}

func newClientCommand(name string, takesPassword bool) *clientCommand {
	c := &clientCommand{fs: flag.NewFlagSet(name, flag.ContinueOnError)}
	c.fs.StringVar(&c.server, "server", "", "roster server URL (default: the last login's, else "+defaultServer+")")
	if takesPassword {
		c.fs.BoolVar(&c.passwordStdin, "password-stdin", false, "read the password from the first line of stdin")
	}
	return c
}

// parse parses the command line and finds where the token is kept; server is
// the URL to talk to.
func (c *clientCommand) parse(args []string, getenv func(string) string, stderr io.Writer, positional ...string) (pos []string, state clientState, server string, err error) {
	if pos, err = parseFlags(c.fs, args, getenv, stderr, positional...); err != nil {
		return nil, clientState{}, "", err
	}
	if state, err = newClientState(getenv); err != nil {
		return nil, clientState{}, "", err
	}
	return pos, state, state.server(c.server), nil
}

func cmdSignup(ctx context.Context, args []string, getenv func(string) string, stdin io.Reader, stdout, stderr io.Writer) error {
	cmd := newClientCommand("signup", true)
	var email string
	cmd.fs.StringVar(&email, "email", "", "email address (optional)")
	pos, _, server, err := cmd.parse(args, getenv, stderr, "name")
	if err != nil {
		return err
	}
	password, err := readPassword(stdin, stderr, cmd.passwordStdin, "Password: ")
	if err != nil {
		return err
	}
	u, err := rosterhttp.NewClient(server, nil).Signup(ctx, rosterhttp.SignupRequest{Username: pos[0], Email: email, Password: password})
	if errors.Is(err, rosterhttp.ErrSignupPending) {
		fmt.Fprintln(stdout, err)
		return nil
	}
	if err != nil {
		return err
	}
	fmt.Fprintf(stdout, "created user %s (id %d)\n", u.Username, u.ID)
	return nil
}

func cmdLogin(ctx context.Context, args []string, getenv func(string) string, stdin io.Reader, stdout, stderr io.Writer) error {
	cmd := newClientCommand("login", true)
	pos, state, server, err := cmd.parse(args, getenv, stderr, "name")
	if err != nil {
		return err
	}
	if cmd.passwordStdin {
		stdin = bufio.NewReader(stdin) // the password's line, then the code's
	}
	password, err := readPassword(stdin, stderr, cmd.passwordStdin, "Password: ")
	if err != nil {
		return err
	}
	c := rosterhttp.NewClient(server, nil)
	s, err := c.Login(ctx, pos[0], password)
	var challenge *rosterhttp.MFAChallengeError
	if errors.As(err, &challenge) {
		code, rerr := readPassword(stdin, stderr, cmd.passwordStdin, "Authenticator code (or a recovery code): ")
		if rerr != nil {
			return rerr
		}
		code = strings.TrimSpace(code)
		if len(code) == 6 && strings.Trim(code, "0123456789") == "" {
			s, err = c.CompleteLogin(ctx, challenge.Challenge.MFAToken, code, "")
		} else {
			s, err = c.CompleteLogin(ctx, challenge.Challenge.MFAToken, "", code)
		}
	}
	if err != nil {
		return err
	}
	if err := errors.Join(state.write("token", s.Token), state.write("server", server)); err != nil {
		return fmt.Errorf("keep the session token: %w", err)
	}
	fmt.Fprintf(stdout, "logged in as %s; session expires %s\n", s.User.Username, s.ExpiresAt.Format("2006-01-02 15:04 MST"))
	return nil
}

// sessionClient returns a client carrying the kept token, or a refusal when
// there is none.
func sessionClient(args []string, name string, getenv func(string) string, stderr io.Writer) (*rosterhttp.Client, clientState, error) {
	_, state, server, err := newClientCommand(name, false).parse(args, getenv, stderr)
	if err != nil {
		return nil, clientState{}, err
	}
	token, err := state.token(server)
	if err != nil {
		return nil, clientState{}, err
	}
	c := rosterhttp.NewClient(server, nil)
	c.SetToken(token)
	return c, state, nil
}

func cmdMe(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	c, _, err := sessionClient(args, "me", getenv, stderr)
	if err != nil {
		return err
	}
	u, err := c.Me(ctx)
	if err != nil {
		return err
	}
	enc := json.NewEncoder(stdout)
	enc.SetIndent("", "  ")
	return enc.Encode(u)
}

func cmdLogout(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	c, state, err := sessionClient(args, "logout", getenv, stderr)
	if err != nil {
		return err
	}
	err = c.Logout(ctx)
	if err != nil && !errors.Is(err, rosterhttp.ErrUnauthorized) {
		return err
	}
	// A session the server no longer knows is as good as logged out.
	if rmErr := os.Remove(filepath.Join(state.dir, "token")); rmErr != nil && !errors.Is(rmErr, fs.ErrNotExist) {
		return rmErr
	}
	fmt.Fprintln(stdout, "logged out")
	return nil
}
