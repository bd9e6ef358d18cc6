package cli

import (
	"bytes"
	"context"
	"errors"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/pquerna/otp/totp"

	rosterhttp "roster/http"
)

const goodPassword = "correct horse battery staple"

func TestClientCommands(t *testing.T) {
	t.Parallel()
	base, _ := startServe(t, []string{"-db", filepath.Join(t.TempDir(), "roster.db")}, nil)
	home := t.TempDir()
	vars := map[string]string{"HOME": home}
	ctx := context.Background()
	cli := func(stdin string, args ...string) (string, string, error) {
		var stdout, stderr bytes.Buffer
		err := run(ctx, args, env(vars), strings.NewReader(stdin), &stdout, &stderr)
		return stdout.String(), stderr.String(), err
	}

	out, _, err := cli(goodPassword+"\n", "signup", "-server", base, "-password-stdin", "vera", "-email", "vera@example.com")
	if err != nil || !strings.Contains(out, "created user vera") {
		t.Fatalf("signup = %q, %v", out, err)
	}
	_, _, err = cli(goodPassword+"\n", "signup", "-server", base, "-password-stdin", "VERA")
	if !errors.Is(err, rosterhttp.ErrConflict) || errors.As(err, new(usageError)) {
		t.Errorf("second signup = %v, want a refused request (exit 1), not a usage error", err)
	}
	if _, _, err := cli("", "me"); err == nil || !strings.Contains(err.Error(), "not logged in") {
		t.Errorf("me before login = %v, want not logged in", err)
	}
	if _, _, err := cli("wrong password, long enough\n", "login", "-server", base, "-password-stdin", "vera"); !errors.Is(err, rosterhttp.ErrUnauthorized) {
		t.Errorf("login with a wrong password = %v, want ErrUnauthorized", err)
	}

	out, _, err = cli(goodPassword+"\n", "login", "-password-stdin", "-server", base, "vera")
	if err != nil || !strings.Contains(out, "logged in as vera") {
		t.Fatalf("login = %q, %v", out, err)
	}
	tokenFile := filepath.Join(home, ".config", "roster", "token")
	fi, err := os.Stat(tokenFile)
	if err != nil || fi.Mode().Perm() != 0o600 {
		t.Fatalf("token file: %v, mode %v; want 0600", err, fi.Mode().Perm())
	}

	// me and logout find the server and the token from the login.
	out, _, err = cli("", "me")
	if err != nil || !strings.Contains(out, `"username": "vera"`) {
		t.Fatalf("me = %q, %v", out, err)
	}
	// The kept token goes only to the server it came from.
	if _, _, err := cli("", "me", "-server", "http://127.0.0.1:1"); err == nil || !strings.Contains(err.Error(), "not logged in to") {
		t.Errorf("me -server elsewhere = %v, want a refusal that sends nothing", err)
	}
	token, _ := os.ReadFile(tokenFile)
	out, _, err = cli("", "logout")
	if err != nil || !strings.Contains(out, "logged out") {
		t.Fatalf("logout = %q, %v", out, err)
	}
	if _, err := os.Stat(tokenFile); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("token file still there after logout: %v", err)
	}
	// ROSTER_TOKEN overrides the file; the old token is dead on the server.
	vars["ROSTER_TOKEN"] = strings.TrimSpace(string(token))
	if _, _, err := cli("", "me"); !errors.Is(err, rosterhttp.ErrUnauthorized) {
		t.Errorf("me with a logged-out ROSTER_TOKEN = %v, want ErrUnauthorized", err)
	}
}

func TestClientCommandUsage(t *testing.T) {
	t.Parallel()
	vars := map[string]string{"HOME": t.TempDir()}
	for _, args := range [][]string{
		{"signup"},                      // no NAME
		{"signup", "a", "b"},            // two names
		{"login", "-bogus", "a"},        // unknown flag
		{"signup", "-server", "x", "a"}, // stdin is no terminal and no -password-stdin
	} {
		err := run(context.Background(), args, env(vars), strings.NewReader(""), io.Discard, io.Discard)
		if !errors.As(err, new(usageError)) {
			t.Errorf("run(%q) = %v, want a usage error", args, err)
		}
	}
}

// roster login asks for a second factor when the account has one, and reads
// it from the line after the password with -password-stdin.
func TestLoginWithSecondFactor(t *testing.T) {
	t.Parallel()
	base, _ := startServe(t, []string{"-db", filepath.Join(t.TempDir(), "roster.db")}, nil)
	vars := map[string]string{"HOME": t.TempDir()}
	ctx := context.Background()
	cli := func(stdin string, args ...string) (string, error) {
		var stdout, stderr bytes.Buffer
		err := run(ctx, args, env(vars), strings.NewReader(stdin), &stdout, &stderr)
		return stdout.String(), err
	}
	c := rosterhttp.NewClient(base, nil)
	if _, err := c.Signup(ctx, rosterhttp.SignupRequest{Username: "otto", Password: goodPassword}); err != nil {
		t.Fatal(err)
	}
	if _, err := c.Login(ctx, "otto", goodPassword); err != nil {
		t.Fatal(err)
	}
	en, err := c.EnrollTOTP(ctx, goodPassword)
	if err != nil {
		t.Fatal(err)
	}
	code, err := totp.GenerateCode(en.Secret, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	recovery, err := c.ConfirmTOTP(ctx, code)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := c.Login(ctx, "otto", goodPassword); !errors.Is(err, rosterhttp.ErrMFARequired) {
		t.Fatalf("Client.Login for an account with MFA = %v, want ErrMFARequired", err)
	}
	wrongCode := "000000"
	if wrongCode == code {
		wrongCode = "000001"
	}
	if _, err := cli(goodPassword+"\n"+wrongCode+"\n", "login", "-server", base, "-password-stdin", "otto"); !errors.Is(err, rosterhttp.ErrUnauthorized) {
		t.Errorf("login with a wrong code = %v, want ErrUnauthorized", err)
	}
	out, err := cli(goodPassword+"\n"+recovery[0]+"\n", "login", "-server", base, "-password-stdin", "otto")
	if err != nil || !strings.Contains(out, "logged in as otto") {
		t.Fatalf("login with a recovery code = %q, %v", out, err)
	}
	if out, err := cli("", "me"); err != nil || !strings.Contains(out, `"username": "otto"`) {
		t.Fatalf("me after the two-step login = %q, %v", out, err)
	}
}
