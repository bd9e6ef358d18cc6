package e2e

import (
	"context"
	"errors"
	"io"
	"net/http"
	"net/url"
	"path/filepath"
	"strings"
	"testing"

	rosterhttp "roster/http"
)

const password = "correct horse battery staple"

func TestClientAgainstBinary(t *testing.T) {
	t.Parallel()
	srv := start(t, filepath.Join(t.TempDir(), "roster.db"))
	ctx := context.Background()
	c := rosterhttp.NewClient(srv.URL, nil)

	u, err := c.Signup(ctx, rosterhttp.SignupRequest{Username: "wanda", Email: "wanda@example.com", Password: password})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := c.Signup(ctx, rosterhttp.SignupRequest{Username: "ＷＡＮＤＡ", Password: password}); !errors.Is(err, rosterhttp.ErrConflict) {
		t.Errorf("width-variant signup = %v, want ErrConflict", err)
	}
	if _, err := c.Login(ctx, "wanda@example.com", password); err != nil {
		t.Fatal(err)
	}
	me, err := c.Me(ctx)
	if err != nil || me.ID != u.ID {
		t.Fatalf("Me = %+v, %v", me, err)
	}
	if err := c.Logout(ctx); err != nil {
		t.Fatal(err)
	}
	if _, err := c.Me(ctx); !errors.Is(err, rosterhttp.ErrUnauthorized) {
		t.Errorf("Me after Logout = %v, want ErrUnauthorized", err)
	}
	srv.stop(t)
}

func TestTutorialFormsAgainstBinary(t *testing.T) {
	t.Parallel()
	srv := start(t, filepath.Join(t.TempDir(), "roster.db"))
	post := func(path string, form url.Values) (int, string) {
		res, err := http.PostForm(srv.URL+path, form)
		if err != nil {
			t.Fatal(err)
		}
		defer res.Body.Close()
		b, _ := io.ReadAll(res.Body)
		return res.StatusCode, string(b)
	}
	if code, body := post("/add", url.Values{"user": {"xena"}, "email": {"xena@example.com"}, "pass": {password}}); code != 200 || body != "ok" {
		t.Fatalf("POST /add = %d %q", code, body)
	}
	if code, body := post("/add", url.Values{"user": {"Xena"}, "pass": {password}}); code != 409 || strings.Count(body, "\n") != 1 {
		t.Errorf("POST /add taken = %d %q, want 409 and one line", code, body)
	}
	if code, body := post("/login", url.Values{"user": {"xena"}, "pass": {password}}); code != 200 || body != "[[1]]\n" {
		t.Errorf("POST /login = %d %q, want [[1]]", code, body)
	}
	if code, body := post("/login", url.Values{"user": {"xena"}, "pass": {"not the password at all"}}); code != 200 || body != "[]\n" {
		t.Errorf("POST /login wrong = %d %q, want []", code, body)
	}
}

func TestCLIAgainstBinary(t *testing.T) {
	t.Parallel()
	srv := start(t, filepath.Join(t.TempDir(), "roster.db"))
	env := []string{"HOME=" + t.TempDir(), "XDG_CONFIG_HOME=", "ROSTER_TOKEN="}

	out, errOut, code := cli(t, env, password+"\n", "signup", "-server", srv.URL, "-password-stdin", "yuri", "-email", "yuri@example.com")
	if code != 0 || !strings.Contains(out, "created user yuri") {
		t.Fatalf("signup: exit %d, %q %q", code, out, errOut)
	}
	_, errOut, code = cli(t, env, password+"\n", "signup", "-server", srv.URL, "-password-stdin", "YURI")
	if code != 1 || !strings.Contains(errOut, "username is already taken") {
		t.Errorf("signup taken: exit %d, stderr %q; want 1 and the problem's detail", code, errOut)
	}
	_, errOut, code = cli(t, env, "", "signup", "-server", srv.URL)
	if code != 2 {
		t.Errorf("signup without NAME: exit %d (%q), want 2", code, errOut)
	}
	_, _, code = cli(t, env, password+"\n", "login", "-server", srv.URL, "-password-stdin", "yuri")
	if code != 0 {
		t.Fatalf("login: exit %d", code)
	}
	out, _, code = cli(t, env, "", "me")
	if code != 0 || !strings.Contains(out, `"email": "yuri@example.com"`) {
		t.Errorf("me: exit %d, %q", code, out)
	}
	if _, _, code = cli(t, env, "", "logout"); code != 0 {
		t.Errorf("logout: exit %d", code)
	}
	if _, errOut, code = cli(t, env, "", "me"); code != 1 || !strings.Contains(errOut, "not logged in") {
		t.Errorf("me after logout: exit %d, %q; want 1, not logged in", code, errOut)
	}
}

// TestCLIChangesReachServingSessions: `roster user …` writes the database from
// another process while the server answers GET /v1/me from its session cache;
// the server's next request must see each change.
func TestCLIChangesReachServingSessions(t *testing.T) {
	t.Parallel()
	dbPath := filepath.Join(t.TempDir(), "roster.db")
	srv := start(t, dbPath)
	ctx := context.Background()
	c := rosterhttp.NewClient(srv.URL, nil)
	if _, err := c.Signup(ctx, rosterhttp.SignupRequest{Username: "vera", Password: password}); err != nil {
		t.Fatal(err)
	}
	login := func() {
		t.Helper()
		if _, err := c.Login(ctx, "vera", password); err != nil {
			t.Fatal(err)
		}
	}
	me := func() (rosterhttp.User, error) {
		var u rosterhttp.User
		var err error
		for range 5 { // the later calls are answered from the cache
			if u, err = c.Me(ctx); err != nil {
				break
			}
		}
		return u, err
	}
	user := func(args ...string) {
		t.Helper()
		if _, errOut, code := cli(t, nil, "", append([]string{"user"}, append(args, "-db", dbPath)...)...); code != 0 {
			t.Fatalf("roster user %v: exit %d, %s", args, code, errOut)
		}
	}

	// Another admin, so that vera can be made admin and back (the last
	// active admin cannot be demoted).
	if _, errOut, code := cli(t, nil, password+"\n", "user", "create", "-db", dbPath, "-admin", "-password-stdin", "boss"); code != 0 {
		t.Fatalf("roster user create: exit %d, %s", code, errOut)
	}
	login()
	if u, err := me(); err != nil || u.Role != "user" {
		t.Fatalf("Me = %+v, %v", u, err)
	}
	user("set-role", "vera", "admin")
	if u, err := me(); err != nil || u.Role != "admin" {
		t.Errorf("Me after set-role admin = %+v, %v; want role admin", u, err)
	}
	user("set-role", "vera", "user")
	if u, err := me(); err != nil || u.Role != "user" {
		t.Errorf("Me after set-role user = %+v, %v; want role user", u, err)
	}
	user("disable", "vera")
	if _, err := c.Me(ctx); !errors.Is(err, rosterhttp.ErrUnauthorized) {
		t.Errorf("Me after the CLI disabled the account = %v, want ErrUnauthorized", err)
	}
	user("enable", "vera")
	login()
	if _, err := me(); err != nil {
		t.Fatal(err)
	}
	user("delete", "vera")
	if _, err := c.Me(ctx); !errors.Is(err, rosterhttp.ErrUnauthorized) {
		t.Errorf("Me after the CLI deleted the account = %v, want ErrUnauthorized", err)
	}
}
