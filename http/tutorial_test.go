package http_test

import (
	"bytes"
	"fmt"
	"mime/multipart"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"roster/account"
	rosterhttp "roster/http"
)

// TestTutorialFlow is the tutorial client's whole conversation: add a user,
// log in right and wrong.
func TestTutorialFlow(t *testing.T) {
	t.Parallel()
	ts := newTestServer(t)

	r := ts.form("/add", url.Values{"user": {"mia"}, "email": {"mia@example.com"}, "pass": {goodPassword}})
	if r.status != 200 || r.body != "ok" {
		t.Fatalf("POST /add: %d %q, want 200 ok", r.status, r.body)
	}
	r = ts.form("/add", url.Values{"user": {"noemail"}, "pass": {goodPassword}})
	if r.status != 200 || r.body != "ok" {
		t.Fatalf("POST /add without email: %d %q, want 200 ok", r.status, r.body)
	}

	r = ts.form("/login", url.Values{"user": {"mia"}, "pass": {goodPassword}})
	if r.status != 200 || r.body != "[[1]]\n" {
		t.Fatalf("POST /login: %d %q, want 200 [[1]]", r.status, r.body)
	}
	for _, creds := range []url.Values{
		{"user": {"mia"}, "pass": {"wrong password, long enough"}},
		{"user": {"ghost"}, "pass": {goodPassword}},
		{"user": {"bad name"}, "pass": {goodPassword}},
	} {
		r = ts.form("/login", creds)
		if r.status != 200 || r.body != "[]\n" {
			t.Errorf("POST /login %v: %d %q, want 200 []", creds, r.status, r.body)
		}
	}

	// The same account is reachable through the JSON API.
	token := ts.login("mia", goodPassword)
	want(t, "GET /v1/me", ts.json("GET", "/v1/me", nil, token), http.StatusOK)
}

func TestTutorialMultipartForm(t *testing.T) {
	t.Parallel()
	ts := newTestServer(t)
	var buf bytes.Buffer
	mw := multipart.NewWriter(&buf)
	mw.WriteField("user", "nora")
	mw.WriteField("pass", goodPassword)
	mw.Close()
	r := ts.do("POST", "/add", mw.FormDataContentType(), buf.String())
	if r.status != 200 || r.body != "ok" {
		t.Fatalf("multipart POST /add: %d %q, want 200 ok", r.status, r.body)
	}
}

func TestTutorialRefusals(t *testing.T) {
	t.Parallel()
	ts := newTestServer(t)
	ts.form("/add", url.Values{"user": {"olga"}, "pass": {goodPassword}})
	tests := []struct {
		name   string
		path   string
		ctype  string
		body   string
		status int
	}{
		{"taken", "/add", "", url.Values{"user": {"OLGA"}, "pass": {goodPassword}}.Encode(), 409},
		{"missing pass", "/add", "", url.Values{"user": {"pat"}}.Encode(), 400},
		{"missing user", "/add", "", url.Values{"pass": {goodPassword}}.Encode(), 400},
		{"short pass", "/add", "", url.Values{"user": {"pat"}, "pass": {"short"}}.Encode(), 422},
		{"bad email", "/add", "", url.Values{"user": {"pat"}, "email": {"x"}, "pass": {goodPassword}}.Encode(), 422},
		{"unknown field", "/add", "", url.Values{"user": {"pat"}, "pass": {goodPassword}, "role": {"admin"}}.Encode(), 400},
		{"repeated field", "/add", "", "user=pat&user=quinn&pass=" + url.QueryEscape(goodPassword), 400},
		{"bad escape", "/add", "", "user=%zz&pass=x", 400},
		{"json body", "/add", "application/json", `{"user":"pat"}`, 415},
		{"too large", "/add", "", "user=pat&pass=" + strings.Repeat("x", 20<<10), 413},
		{"login missing pass", "/login", "", "user=olga", 400},
		{"login too large", "/login", "", "user=olga&pass=" + strings.Repeat("x", 20<<10), 413},
	}
	for _, tt := range tests {
		ctype := tt.ctype
		if ctype == "" {
			ctype = "application/x-www-form-urlencoded"
		}
		r := ts.do("POST", tt.path, ctype, tt.body)
		if r.status != tt.status {
			t.Errorf("%s: POST %s: status = %d, want %d; body=%q", tt.name, tt.path, r.status, tt.status, r.body)
			continue
		}
		if strings.Count(r.body, "\n") != 1 || !strings.HasSuffix(r.body, "\n") || len(r.body) < 5 {
			t.Errorf("%s: body = %q, want a one-line reason", tt.name, r.body)
		}
		if !strings.HasPrefix(r.header.Get("Content-Type"), "text/plain") {
			t.Errorf("%s: Content-Type = %q, want text/plain", tt.name, r.header.Get("Content-Type"))
		}
	}
	if n, _ := ts.accounts.Store.Read.CountUsers(t.Context()); n != 1 {
		t.Errorf("users = %d after refused adds, want 1", n)
	}
}

// TestTutorialLoginIsAudited: POST /login is a login without a session and
// leaves the same audit rows as POST /v1/sessions: login.failure with the
// reason, login.success by the account itself.
func TestTutorialLoginIsAudited(t *testing.T) {
	t.Parallel()
	ts := newTestServer(t)
	_, adminToken := ts.admin("root")
	id := ts.createUser("mia", account.RoleUser)
	for _, creds := range []url.Values{
		{"user": {"mia"}, "pass": {"wrong password, long enough"}},
		{"user": {"ghost"}, "pass": {goodPassword}},
		{"user": {"mia"}, "pass": {goodPassword}},
	} {
		ts.form("/login", creds)
	}
	var failures []string
	for _, e := range ts.audit(adminToken, "action=login.failure") {
		failures = append(failures, e.Detail)
	}
	if fmt.Sprint(failures) != "[unknown_account wrong_password]" {
		t.Errorf("login.failure reasons (newest first) = %v, want [unknown_account wrong_password]", failures)
	}
	ev := ts.audit(adminToken, fmt.Sprintf("action=login.success&user_id=%d", id))
	if len(ev) != 1 || ev[0].ActorID == nil || *ev[0].ActorID != id || ev[0].Detail != "no session" || ev[0].IP != "127.0.0.1" {
		t.Errorf("login.success events of mia = %+v, want one by mia from 127.0.0.1, detail \"no session\"", ev)
	}
}

// TestTutorialLoginRequiresVerifiedEmail: with -require-verified-email the
// tutorial's POST /login refuses the right password of an unverified account
// as POST /v1/sessions does, with 403 email_unverified in one line of text.
func TestTutorialLoginRequiresVerifiedEmail(t *testing.T) {
	t.Parallel()
	e := newMailEnv(t, rosterhttp.Config{}, func(s *account.Service) { s.RequireVerifiedEmail = true })
	e.signup("bob", "bob@example.com", goodPassword)
	r := e.form("/login", url.Values{"user": {"bob"}, "pass": {"not bob's password at all"}})
	if r.status != http.StatusOK || r.body != "[]\n" {
		t.Errorf("POST /login with a wrong password: %d %q, want 200 []", r.status, r.body)
	}
	r = e.form("/login", url.Values{"user": {"bob"}, "pass": {goodPassword}})
	if r.status != http.StatusForbidden || strings.Count(r.body, "\n") != 1 || !strings.HasPrefix(r.header.Get("Content-Type"), "text/plain") {
		t.Errorf("POST /login before verifying: %d %q, want 403 and a one-line reason", r.status, r.body)
	}
	tok := e.token("bob@example.com", "Confirm", account.VerificationTokenPrefix, 1)
	want(t, "verify", e.json("POST", "/v1/email-verifications", map[string]string{"token": tok}, ""), http.StatusNoContent)
	if r = e.form("/login", url.Values{"user": {"bob"}, "pass": {goodPassword}}); r.status != http.StatusOK || r.body != "[[1]]\n" {
		t.Errorf("POST /login after verifying: %d %q, want 200 [[1]]", r.status, r.body)
	}
}
