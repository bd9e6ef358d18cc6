package http_test

import (
	"net/http"
	"strings"
	"testing"
	"time"

	"roster/account/accounttest"
	"roster/db"
)

func TestSessionCreate(t *testing.T) {
	t.Parallel()
	accounttest.Run(t, testSessionCreate)
}

func testSessionCreate(t *testing.T, eng accounttest.Engine) {
	t.Parallel()
	ts := newTestServerOn(t, eng)
	u := ts.signup("ivy", "ivy@example.com", goodPassword)

	for _, login := range []string{"ivy", "IVY", "ｉｖｙ", "ivy@example.com", "IVY@EXAMPLE.COM"} {
		r := ts.json("POST", "/v1/sessions", map[string]string{"username": login, "password": goodPassword}, "")
		want(t, "POST /v1/sessions as "+login, r, http.StatusCreated)
		s := decodeAs[session](t, r)
		if !strings.HasPrefix(s.Token, "rst_") || s.User != u {
			t.Errorf("session = %+v, want an rst_ token for %+v", s, u)
		}
		exp, err := time.Parse(time.RFC3339, s.ExpiresAt)
		if err != nil || time.Until(exp) < 29*24*time.Hour || time.Until(exp) > 31*24*time.Hour {
			t.Errorf("expires_at = %q, want about 30 days from now", s.ExpiresAt)
		}
	}
}

func TestSessionCreateGenericFailure(t *testing.T) {
	t.Parallel()
	accounttest.Run(t, testSessionCreateGenericFailure)
}

func testSessionCreateGenericFailure(t *testing.T, eng accounttest.Engine) {
	t.Parallel()
	ts := newTestServerOn(t, eng)
	ts.signup("jack", "", goodPassword)
	var first response
	for i, body := range []map[string]string{
		{"username": "jack", "password": "wrong password, long enough"},
		{"username": "nobody", "password": "wrong password, long enough"},
		{"username": "nobody@example.com", "password": "wrong password, long enough"},
		{"username": "jack", "password": strings.ToUpper(goodPassword)}, // never case-folded
	} {
		r := ts.json("POST", "/v1/sessions", body, "")
		want(t, "POST /v1/sessions "+body["username"], r, http.StatusUnauthorized)
		if i == 0 {
			first = r
			continue
		}
		if r.body != first.body {
			t.Errorf("401 bodies differ: %q vs %q", r.body, first.body)
		}
	}
	if p := decodeAs[problem](t, first); p.Code != "invalid_credentials" {
		t.Errorf("code = %q, want invalid_credentials", p.Code)
	}
}

func TestLogout(t *testing.T) {
	t.Parallel()
	accounttest.Run(t, testLogout)
}

func testLogout(t *testing.T, eng accounttest.Engine) {
	t.Parallel()
	ts := newTestServerOn(t, eng)
	ts.signup("kate", "", goodPassword)
	token := ts.login("kate", goodPassword)
	other := ts.login("kate", goodPassword)

	want(t, "DELETE /v1/sessions/current", ts.json("DELETE", "/v1/sessions/current", nil, token), http.StatusNoContent)
	want(t, "GET /v1/me after logout", ts.json("GET", "/v1/me", nil, token), http.StatusUnauthorized)
	want(t, "DELETE /v1/sessions/current again", ts.json("DELETE", "/v1/sessions/current", nil, token), http.StatusUnauthorized)
	want(t, "GET /v1/me with the other session", ts.json("GET", "/v1/me", nil, other), http.StatusOK)
}

func TestTokenStoredOnlyAsHash(t *testing.T) {
	t.Parallel()
	ts := newTestServer(t)
	ts.signup("liam", "", goodPassword)
	token := ts.login("liam", goodPassword)
	_, reader := ts.accounts.Store.Engine.(*db.SQLite).Pools()
	var n int
	if err := reader.QueryRow("SELECT COUNT(*) FROM sessions WHERE token_hash = ? OR CAST(token_hash AS TEXT) = ?", token, token).Scan(&n); err != nil {
		t.Fatal(err)
	}
	if n != 0 {
		t.Error("the plaintext token is stored in sessions")
	}
}

func TestRoutingAndHeaders(t *testing.T) {
	t.Parallel()
	accounttest.Run(t, testRoutingAndHeaders)
}

func testRoutingAndHeaders(t *testing.T, eng accounttest.Engine) {
	t.Parallel()
	ts := newTestServerOn(t, eng)
	tests := []struct {
		method, path string
		status       int
		code         string
	}{
		{"GET", "/nope", 404, "not_found"},
		{"GET", "/v1/users", 405, "method_not_allowed"},
		{"PUT", "/v1/sessions", 405, "method_not_allowed"},
		{"GET", "/add", 405, "method_not_allowed"},
	}
	for _, tt := range tests {
		r := ts.do(tt.method, tt.path, "", "")
		if r.status != tt.status || decodeAs[problem](t, r).Code != tt.code {
			t.Errorf("%s %s: status = %d, want %d %s; body=%s", tt.method, tt.path, r.status, tt.status, tt.code, r.body)
		}
	}
	for _, path := range []string{"/healthz", "/readyz", "/nope"} {
		r := ts.do("GET", path, "", "")
		for name, value := range map[string]string{
			"X-Content-Type-Options":  "nosniff",
			"Referrer-Policy":         "no-referrer",
			"Content-Security-Policy": "frame-ancestors 'none'",
			"Cache-Control":           "no-store",
		} {
			if got := r.header.Get(name); got != value {
				t.Errorf("GET %s: %s = %q, want %q", path, name, got, value)
			}
		}
	}
	want(t, "GET /readyz", ts.do("GET", "/readyz", "", ""), http.StatusOK)
}
