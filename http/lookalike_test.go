package http_test

import (
	"fmt"
	"net/http"
	"testing"
)

// lookalikes of "admin" that each became an account of their own before
// the UTS #39 rules: two mix scripts, two are Latin but share its skeleton.
var lookalikes = []struct {
	name, code string
	status     int
}{
	{"\u0430dmin", "username_mixed_script", http.StatusUnprocessableEntity}, // Cyrillic а
	{"\u03b1dmin", "username_mixed_script", http.StatusUnprocessableEntity}, // Greek α
	{"adm\u0131n", "username_confusable", http.StatusConflict},              // dotless ı
	{"ADM\u0130N", "username_confusable", http.StatusConflict},              // İ, whose lower case is i + dot above
	{"adrnin", "username_confusable", http.StatusConflict},                  // rn for m
	{"Admin", "username_taken", http.StatusConflict},
}

func TestLookalikeUsernamesRefused(t *testing.T) {
	t.Parallel()
	ts := newTestServer(t)
	adminID, adminToken := ts.admin("admin")
	ts.signup("mallory", "", goodPassword)
	mallory := ts.login("mallory", goodPassword)
	path := fmt.Sprintf("/v1/admin/users/%d", ts.createUser("someone", "user"))

	for _, tc := range lookalikes {
		for _, req := range []struct {
			method, path, token string
			body                map[string]string
		}{
			{"POST", "/v1/users", "", map[string]string{"username": tc.name, "password": goodPassword}},
			{"POST", "/v1/admin/users", adminToken, map[string]string{"username": tc.name, "password": goodPassword}},
			{"PATCH", "/v1/me", mallory, map[string]string{"username": tc.name}},
			{"PATCH", path, adminToken, map[string]string{"username": tc.name}},
		} {
			what := fmt.Sprintf("%s %s %q", req.method, req.path, tc.name)
			r := ts.json(req.method, req.path, req.body, req.token)
			wantCode(t, what, r, tc.status, tc.code)
			if p := decodeAs[problem](t, r); len(p.Errors) != 1 || p.Errors[0].Field != "username" {
				t.Errorf("%s: errors = %+v, want one naming username", what, p.Errors)
			}
		}
	}
	r := ts.form("/add", map[string][]string{"user": {"adm\u0131n"}, "pass": {goodPassword}})
	if r.status != http.StatusConflict || r.body != "username looks like an existing account's name\n" {
		t.Errorf("POST /add a lookalike: %d %q, want 409 and the reason on one line", r.status, r.body)
	}

	if s := ts.login("admin", goodPassword); s == "" {
		t.Fatal("admin cannot log in")
	}
	if got := ts.json("GET", "/v1/me", nil, adminToken); got.status != http.StatusOK || decodeAs[user](t, got).ID != adminID {
		t.Errorf("GET /v1/me as admin: %d %s", got.status, got.body)
	}
	// Names in one script other than Latin, or in the combinations UTS #39
	// allows, are accepted; so is a rename that keeps the skeleton.
	for _, name := range []string{"иван", "山田たろう", "tanaka山田", "김민준", "αλέξης"} {
		ts.signup(name, "", goodPassword)
	}
	want(t, "PATCH /v1/me to a name that looks like only its own", ts.json("PATCH", "/v1/me",
		map[string]string{"username": "rnallory"}, mallory), http.StatusOK)
}
