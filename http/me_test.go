package http_test

import (
	"fmt"
	"net/http"
	"strings"
	"testing"

	"roster/account/accounttest"
)

type SessionInfo struct {
	ID        string `json:"id"`
	UserAgent string `json:"user_agent"`
	IP        string `json:"ip"`
	Current   bool   `json:"current"`
}

type sessionList struct {
	Sessions []SessionInfo `json:"sessions"`
}

// sessions lists the sessions of the user behind token.
func (ts *testServer) sessions(token string) []SessionInfo {
	ts.t.Helper()
	r := ts.json("GET", "/v1/me/sessions", nil, token)
	want(ts.t, "GET /v1/me/sessions", r, http.StatusOK)
	return decodeAs[sessionList](ts.t, r).Sessions
}

func TestMeSessions(t *testing.T) {
	t.Parallel()
	accounttest.Run(t, testMeSessions)
}

func testMeSessions(t *testing.T, eng accounttest.Engine) {
	t.Parallel()
	ts := newTestServerOn(t, eng)
	ts.signup("gus", "", goodPassword)
	tokens := []string{ts.login("gus", goodPassword), ts.login("gus", goodPassword), ts.login("gus", goodPassword)}

	list := ts.sessions(tokens[0])
	if len(list) != 3 {
		t.Fatalf("GET /v1/me/sessions: %d sessions, want 3", len(list))
	}
	var current, others []string
	for _, s := range list {
		for _, tok := range tokens {
			if strings.Contains(s.ID, tok[len("rst_"):]) || strings.Contains(tok, s.ID) {
				t.Errorf("session id %q overlaps a token", s.ID)
			}
		}
		if s.Current {
			current = append(current, s.ID)
		} else {
			others = append(others, s.ID)
		}
		if s.IP != "127.0.0.1" || s.UserAgent == "" {
			t.Errorf("session %+v: want IP 127.0.0.1 and a user agent", s)
		}
	}
	if len(current) != 1 {
		t.Fatalf("current sessions = %v, want one", current)
	}

	// Revoke another session by id: exactly one of the other tokens dies.
	// Revoking it again is a 404.
	path := "/v1/me/sessions/" + others[0]
	want(t, "DELETE "+path, ts.json("DELETE", path, nil, tokens[0]), http.StatusNoContent)
	want(t, "DELETE "+path+" again", ts.json("DELETE", path, nil, tokens[0]), http.StatusNotFound)
	want(t, "DELETE /v1/me/sessions/not-an-id", ts.json("DELETE", "/v1/me/sessions/not-an-id", nil, tokens[0]), http.StatusNotFound)
	alive := ""
	for _, tok := range tokens[1:] {
		if ts.json("GET", "/v1/me", nil, tok).status == http.StatusOK {
			alive = tok
		}
	}
	if list := ts.sessions(tokens[0]); len(list) != 2 || alive == "" {
		t.Fatalf("after revoking %s: sessions %+v, surviving other token %v", others[0], list, alive != "")
	}

	// Revoke all others from the survivor: only it is left.
	want(t, "DELETE /v1/me/sessions", ts.json("DELETE", "/v1/me/sessions", nil, alive), http.StatusNoContent)
	want(t, "GET /v1/me with a revoked session", ts.json("GET", "/v1/me", nil, tokens[0]), http.StatusUnauthorized)
	if list := ts.sessions(alive); len(list) != 1 || !list[0].Current {
		t.Errorf("sessions after DELETE /v1/me/sessions = %+v, want only the current one", list)
	}
}

func TestPasswordChange(t *testing.T) {
	t.Parallel()
	accounttest.Run(t, testPasswordChange)
}

func testPasswordChange(t *testing.T, eng accounttest.Engine) {
	t.Parallel()
	ts := newTestServerOn(t, eng)
	ts.signup("hal", "hal@example.com", goodPassword)
	current, other := ts.login("hal", goodPassword), ts.login("hal", goodPassword)
	const newPassword = "a completely different passphrase"

	for _, tc := range []struct {
		name   string
		body   any
		status int
		code   string
	}{
		{"wrong current", map[string]string{"current_password": "not the password at all", "new_password": newPassword}, http.StatusForbidden, "wrong_password"},
		{"short new", map[string]string{"current_password": goodPassword, "new_password": "short"}, http.StatusUnprocessableEntity, "password_too_short"},
		{"new has username", map[string]string{"current_password": goodPassword, "new_password": "my name is hal, hello"}, http.StatusUnprocessableEntity, "password_contains_username"},
		{"missing current", map[string]string{"new_password": newPassword}, http.StatusUnprocessableEntity, "validation"},
		{"extra field", map[string]string{"current_password": goodPassword, "new_password": newPassword, "user_id": "1"}, http.StatusBadRequest, "malformed"},
	} {
		r := ts.json("PUT", "/v1/me/password", tc.body, current)
		want(t, "PUT /v1/me/password ("+tc.name+")", r, tc.status)
		if p := decodeAs[problem](t, r); p.Code != tc.code {
			t.Errorf("PUT /v1/me/password (%s): code = %q, want %q", tc.name, p.Code, tc.code)
		}
	}
	want(t, "GET /v1/me with the other session before the change", ts.json("GET", "/v1/me", nil, other), http.StatusOK)

	r := ts.json("PUT", "/v1/me/password", map[string]string{"current_password": goodPassword, "new_password": newPassword}, current)
	want(t, "PUT /v1/me/password", r, http.StatusNoContent)
	want(t, "GET /v1/me with the current session", ts.json("GET", "/v1/me", nil, current), http.StatusOK)
	want(t, "GET /v1/me with the other session", ts.json("GET", "/v1/me", nil, other), http.StatusUnauthorized)
	want(t, "login with the old password", ts.json("POST", "/v1/sessions", map[string]string{"username": "hal", "password": goodPassword}, ""), http.StatusUnauthorized)
	ts.login("hal", newPassword)
}

func TestMeUpdate(t *testing.T) {
	t.Parallel()
	accounttest.Run(t, testMeUpdate)
}

func testMeUpdate(t *testing.T, eng accounttest.Engine) {
	t.Parallel()
	ts := newTestServerOn(t, eng)
	ts.signup("ivy", "ivy@example.com", goodPassword)
	ts.signup("jon", "jon@example.com", goodPassword)
	tok := ts.login("ivy", goodPassword)

	for _, tc := range []struct {
		name   string
		body   any
		status int
	}{
		{"taken username", map[string]string{"username": "JON"}, http.StatusConflict},
		{"taken email", map[string]string{"email": "Jon@Example.com", "current_password": goodPassword}, http.StatusConflict},
		{"bad username", map[string]string{"username": "a b"}, http.StatusUnprocessableEntity},
		{"bad email", map[string]string{"email": "nope"}, http.StatusUnprocessableEntity},
		{"role", map[string]string{"role": "admin"}, http.StatusBadRequest},
		{"status", map[string]string{"status": "active"}, http.StatusBadRequest},
		{"wrong type", map[string]any{"username": 5}, http.StatusUnprocessableEntity},
		{"nothing", map[string]string{}, http.StatusOK},
		{"rename", map[string]string{"username": "Ivy2", "email": "ivy2@example.com", "current_password": goodPassword}, http.StatusOK},
		{"remove email", map[string]string{"email": "", "current_password": goodPassword}, http.StatusOK},
	} {
		r := ts.json("PATCH", "/v1/me", tc.body, tok)
		want(t, "PATCH /v1/me ("+tc.name+")", r, tc.status)
	}
	r := ts.json("GET", "/v1/me", nil, tok)
	if got := decodeAs[adminUser](t, r); got.Username != "Ivy2" || got.Email != "" || got.Role != "user" {
		t.Errorf("GET /v1/me = %+v, want Ivy2 without email, role user", got)
	}
	ts.login("ivy2", goodPassword)
}

// TestMeUpdateEmailNeedsPassword: a stolen session alone cannot point the
// account's address, where reset codes go, somewhere else.
func TestMeUpdateEmailNeedsPassword(t *testing.T) {
	t.Parallel()
	accounttest.Run(t, testMeUpdateEmailNeedsPassword)
}

func testMeUpdateEmailNeedsPassword(t *testing.T, eng accounttest.Engine) {
	t.Parallel()
	ts := newTestServerOn(t, eng)
	ts.signup("lea", "lea@example.com", goodPassword)
	tok := ts.login("lea", goodPassword)

	for _, tc := range []struct {
		name   string
		body   map[string]string
		status int
		code   string // the problem's code, or "" for a success
		field  string // the field a 422 names
	}{
		{"new email without the password", map[string]string{"email": "attacker@example.net"},
			http.StatusUnprocessableEntity, "validation", "current_password"},
		{"new email with a wrong password", map[string]string{"email": "attacker@example.net", "current_password": "not the password at all"},
			http.StatusForbidden, "wrong_password", ""},
		{"email removed without the password", map[string]string{"email": ""},
			http.StatusUnprocessableEntity, "validation", "current_password"},
		{"username and email without the password", map[string]string{"username": "lea2", "email": "attacker@example.net"},
			http.StatusUnprocessableEntity, "validation", "current_password"},
		{"username only", map[string]string{"username": "Lea"}, http.StatusOK, "", ""},
		{"the same email", map[string]string{"email": "lea@example.com"}, http.StatusOK, "", ""},
		{"new email with the password", map[string]string{"email": "lea@example.org", "current_password": goodPassword}, http.StatusOK, "", ""},
	} {
		r := ts.json("PATCH", "/v1/me", tc.body, tok)
		want(t, "PATCH /v1/me ("+tc.name+")", r, tc.status)
		if tc.code == "" {
			continue
		}
		p := decodeAs[problem](t, r)
		if p.Code != tc.code || tc.field != "" && (len(p.Errors) != 1 || p.Errors[0].Field != tc.field) {
			t.Errorf("PATCH /v1/me (%s): code = %q, errors = %+v; want %q naming %q", tc.name, p.Code, p.Errors, tc.code, tc.field)
		}
		if got := decodeAs[adminUser](t, ts.json("GET", "/v1/me", nil, tok)); got.Email != "lea@example.com" || got.Username != "lea" {
			t.Fatalf("after PATCH /v1/me (%s): account = %+v, want it unchanged", tc.name, got)
		}
	}
	if got := decodeAs[adminUser](t, ts.json("GET", "/v1/me", nil, tok)); got.Email != "lea@example.org" || got.Username != "Lea" {
		t.Errorf("GET /v1/me = %+v, want Lea with lea@example.org", got)
	}
}

func TestMeDelete(t *testing.T) {
	t.Parallel()
	accounttest.Run(t, testMeDelete)
}

func testMeDelete(t *testing.T, eng accounttest.Engine) {
	t.Parallel()
	ts := newTestServerOn(t, eng)
	_, adminToken := ts.admin("root")
	u := ts.signup("kim", "", goodPassword)
	tok, other := ts.login("kim", goodPassword), ts.login("kim", goodPassword)

	want(t, "DELETE /v1/me (wrong password)", ts.json("DELETE", "/v1/me", map[string]string{"password": "not the password at all"}, tok), http.StatusForbidden)
	want(t, "DELETE /v1/me (no body)", ts.json("DELETE", "/v1/me", nil, tok), http.StatusUnsupportedMediaType)
	want(t, "DELETE /v1/me", ts.json("DELETE", "/v1/me", map[string]string{"password": goodPassword}, tok), http.StatusNoContent)
	for _, tk := range []string{tok, other} {
		want(t, "GET /v1/me after deletion", ts.json("GET", "/v1/me", nil, tk), http.StatusUnauthorized)
	}
	want(t, "login after deletion", ts.json("POST", "/v1/sessions", map[string]string{"username": "kim", "password": goodPassword}, ""), http.StatusUnauthorized)
	want(t, "GET the deleted user", ts.json("GET", fmt.Sprintf("/v1/admin/users/%d", u.ID), nil, adminToken), http.StatusNotFound)
	ev := ts.audit(adminToken, "action=user.delete")
	if len(ev) != 1 || *ev[0].ActorID != u.ID || ev[0].Detail != "username=kim" {
		t.Errorf("user.delete events = %+v", ev)
	}
	ts.signup("kim", "", goodPassword) // the name is free again
}

// TestIDOR checks that user A reaches nothing of user B's through the
// non-admin routes.
func TestIDOR(t *testing.T) {
	t.Parallel()
	accounttest.Run(t, testIDOR)
}

func testIDOR(t *testing.T, eng accounttest.Engine) {
	t.Parallel()
	ts := newTestServerOn(t, eng)
	a := ts.signup("alice", "alice@example.com", goodPassword)
	b := ts.signup("bob", "bob@example.com", goodPassword)
	aTok, bTok := ts.login("alice", goodPassword), ts.login("bob", goodPassword)
	bSession := ts.sessions(bTok)[0].ID

	if list := ts.sessions(aTok); len(list) != 1 || list[0].ID == bSession {
		t.Errorf("alice's sessions = %+v, want only her own", list)
	}
	want(t, "DELETE bob's session as alice", ts.json("DELETE", "/v1/me/sessions/"+bSession, nil, aTok), http.StatusNotFound)
	want(t, "DELETE /v1/me/sessions as alice", ts.json("DELETE", "/v1/me/sessions", nil, aTok), http.StatusNoContent)
	want(t, "PATCH /v1/me with bob's id", ts.json("PATCH", "/v1/me", map[string]any{"id": b.ID, "username": "x"}, aTok), http.StatusBadRequest)
	want(t, "PATCH /v1/me to bob's email", ts.json("PATCH", "/v1/me",
		map[string]any{"email": "bob@example.com", "current_password": goodPassword}, aTok), http.StatusConflict)
	want(t, "PUT /v1/me/password with bob's password", ts.json("PUT", "/v1/me/password",
		map[string]string{"current_password": goodPassword + "b", "new_password": "another fine passphrase"}, aTok), http.StatusForbidden)
	for _, p := range []string{fmt.Sprintf("/v1/admin/users/%d", b.ID), fmt.Sprintf("/v1/admin/users/%d/sessions", b.ID)} {
		want(t, "GET "+p+" as alice", ts.json("GET", p, nil, aTok), http.StatusForbidden)
		want(t, "DELETE "+p+" as alice", ts.json("DELETE", p, nil, aTok), http.StatusForbidden)
	}
	// Bob is untouched: his session works and shows his own account.
	r := ts.json("GET", "/v1/me", nil, bTok)
	want(t, "GET /v1/me as bob", r, http.StatusOK)
	if got := decodeAs[adminUser](t, r); got.ID != b.ID || got.Email != "bob@example.com" {
		t.Errorf("bob = %+v", got)
	}
	if got := decodeAs[adminUser](t, ts.json("GET", "/v1/me", nil, aTok)); got.ID != a.ID {
		t.Errorf("alice's /v1/me = %+v", got)
	}
}
