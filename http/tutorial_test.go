package http_test

import (
	"bytes"
	"mime/multipart"
	"net/http"
	"net/url"
	"strings"
	"testing"
)

// TestTutorialFlow is the tutorial client's whole conversation: add a user,
// log in right and wrong.
func TestTutorialFlow(t *testing.T) {
	t.Parallel()
	ts := newTestServer(t)

	r := ts.form("/add", url.Values{"user": {"mia"}, "email": {"mia@example.com"}, "pass": {goodPassword}})
	if r.status != 200 || r.body != "ok\n" {
		t.Fatalf("POST /add: %d %q, want 200 ok", r.status, r.body)
	}
	r = ts.form("/add", url.Values{"user": {"noemail"}, "pass": {goodPassword}})
	if r.status != 200 || r.body != "ok\n" {
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
	if r.status != 200 || r.body != "ok\n" {
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
