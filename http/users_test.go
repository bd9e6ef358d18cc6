package http_test

import (
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"testing"

	"roster/account/accounttest"
)

func TestUserCreate(t *testing.T) {
	t.Parallel()
	accounttest.Run(t, testUserCreate)
}

func testUserCreate(t *testing.T, eng accounttest.Engine) {
	t.Parallel()
	ts := newTestServerOn(t, eng)
	r := ts.json("POST", "/v1/users", map[string]string{"username": "Alice", "email": "Alice@Example.com", "password": goodPassword}, "")
	want(t, "POST /v1/users", r, http.StatusCreated)
	u := decodeAs[map[string]any](t, r)
	for _, k := range []string{"id", "username", "email", "status", "role", "email_verified_at", "created_at", "updated_at"} {
		if _, ok := u[k]; !ok {
			t.Errorf("user on the wire lacks %q: %s", k, r.body)
		}
	}
	if len(u) != 8 || strings.Contains(r.body, "argon2") || strings.Contains(strings.ToLower(r.body), "hash") {
		t.Errorf("user on the wire = %s, want exactly id, username, email, status, role, email_verified_at, created_at, updated_at", r.body)
	}
	if u["email_verified_at"] != nil {
		t.Errorf("email_verified_at = %v, want null for a new account", u["email_verified_at"])
	}
	if u["status"] != "active" || u["role"] != "user" {
		t.Errorf("status/role = %v/%v, want active/user", u["status"], u["role"])
	}
	if u["username"] != "Alice" || u["email"] != "Alice@Example.com" {
		t.Errorf("username/email = %v/%v, want kept as entered", u["username"], u["email"])
	}
	noEmail := ts.signup("bob", "", goodPassword)
	if noEmail.Email != "" {
		t.Errorf("email = %q for an account without one", noEmail.Email)
	}
}

func TestUserCreateRefused(t *testing.T) {
	t.Parallel()
	accounttest.Run(t, testUserCreateRefused)
}

func testUserCreateRefused(t *testing.T, eng accounttest.Engine) {
	t.Parallel()
	ts := newTestServerOn(t, eng)
	ts.signup("carol", "carol@example.com", goodPassword)
	long := strings.Repeat("x", 257)
	tests := []struct {
		name   string
		body   string
		ctype  string
		status int
		code   string
		field  string
	}{
		{"username taken", `{"username":"carol","password":"` + goodPassword + `"}`, "", 409, "username_taken", "username"},
		{"username taken across case", `{"username":"CAROL","password":"` + goodPassword + `"}`, "", 409, "username_taken", "username"},
		{"username taken across width", `{"username":"ｃａｒｏｌ","password":"` + goodPassword + `"}`, "", 409, "username_taken", "username"},
		{"email taken ignoring case", `{"username":"carol2","email":"CAROL@example.COM","password":"` + goodPassword + `"}`, "", 409, "email_taken", "email"},
		{"password too short", `{"username":"dan","password":"short"}`, "", 422, "password_too_short", "password"},
		{"password too long", `{"username":"dan","password":"` + long + `"}`, "", 422, "password_too_long", "password"},
		{"password missing", `{"username":"dan"}`, "", 422, "validation", "password"},
		{"username missing", `{"password":"` + goodPassword + `"}`, "", 422, "validation", "username"},
		{"username with space", `{"username":"d an","password":"` + goodPassword + `"}`, "", 422, "validation", "username"},
		{"bad email", `{"username":"dan","email":"nope","password":"` + goodPassword + `"}`, "", 422, "validation", "email"},
		{"wrong type", `{"username":42,"password":"` + goodPassword + `"}`, "", 422, "wrong_type", ""},
		{"unknown field role", `{"username":"dan","password":"` + goodPassword + `","role":"admin"}`, "", 400, "malformed", ""},
		{"duplicate field", `{"username":"dan","username":"eve","password":"` + goodPassword + `"}`, "", 400, "malformed", ""},
		{"duplicate field by case", `{"username":"dan","USERNAME":"eve","password":"` + goodPassword + `"}`, "", 400, "malformed", ""},
		{"duplicate field by Unicode folding", `{"username":"dan","uſername":"eve","password":"` + goodPassword + `"}`, "", 400, "malformed", ""},
		{"trailing data", `{"username":"dan","password":"` + goodPassword + `"} {}`, "", 400, "malformed", ""},
		{"not an object", `["dan"]`, "", 400, "malformed", ""},
		{"malformed", `{"username":`, "", 400, "malformed", ""},
		{"empty body", ``, "", 400, "malformed", ""},
		{"too deep", strings.Repeat(`{"a":`, 20) + "1" + strings.Repeat("}", 20), "", 400, "malformed", ""},
		{"wrong content type", `{"username":"dan","password":"` + goodPassword + `"}`, "text/plain", 415, "unsupported_media_type", ""},
		{"too large", `{"username":"dan","password":"` + strings.Repeat("x", 20<<10) + `"}`, "", 413, "too_large", ""},
	}
	for _, tt := range tests {
		ctype := tt.ctype
		if ctype == "" {
			ctype = "application/json"
		}
		r := ts.do("POST", "/v1/users", ctype, tt.body)
		if r.status != tt.status {
			t.Errorf("%s: POST /v1/users: status = %d, want %d; body=%s", tt.name, r.status, tt.status, r.body)
			continue
		}
		if ct := r.header.Get("Content-Type"); ct != "application/problem+json" {
			t.Errorf("%s: Content-Type = %q, want application/problem+json", tt.name, ct)
		}
		p := decodeAs[problem](t, r)
		if p.Code != tt.code || p.Status != tt.status || p.Type != "urn:roster:problem:"+tt.code || p.Title == "" {
			t.Errorf("%s: problem = %+v, want code %s", tt.name, p, tt.code)
		}
		if tt.field != "" && (len(p.Errors) == 0 || p.Errors[0].Field != tt.field) {
			t.Errorf("%s: errors = %+v, want field %s", tt.name, p.Errors, tt.field)
		}
	}
	// Nothing refused was stored.
	if n, _ := ts.accounts.Store.Read.CountUsers(t.Context()); n != 1 {
		t.Errorf("users = %d after refused sign-ups, want 1", n)
	}
}

func TestConcurrentSignupsDistinct(t *testing.T) {
	t.Parallel()
	accounttest.Run(t, testConcurrentSignupsDistinct)
}

func testConcurrentSignupsDistinct(t *testing.T, eng accounttest.Engine) {
	t.Parallel()
	ts := newTestServerOn(t, eng)
	const n = 200
	statuses := make(chan response, n)
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() {
			statuses <- ts.json("POST", "/v1/users", map[string]string{
				"username": fmt.Sprintf("user%03d", i), "password": goodPassword}, "")
		})
	}
	wg.Wait()
	close(statuses)
	for r := range statuses {
		if r.status != http.StatusCreated {
			t.Errorf("concurrent POST /v1/users: status = %d, want 201; body=%s", r.status, r.body)
		}
		if strings.Contains(r.body, "locked") {
			t.Errorf("body mentions a locked database: %s", r.body)
		}
	}
	if got, _ := ts.accounts.Store.Read.CountUsers(t.Context()); got != n {
		t.Errorf("users = %d, want %d", got, n)
	}
}

func TestConcurrentSignupsSameName(t *testing.T) {
	t.Parallel()
	accounttest.Run(t, testConcurrentSignupsSameName)
}

func testConcurrentSignupsSameName(t *testing.T, eng accounttest.Engine) {
	t.Parallel()
	ts := newTestServerOn(t, eng)
	const n = 50
	results := make(chan int, n)
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() {
			// Case and width variants of one name race for the same key.
			name := []string{"Zed", "zed", "ＺＥＤ"}[i%3]
			results <- ts.json("POST", "/v1/users", map[string]string{"username": name, "password": goodPassword}, "").status
		})
	}
	wg.Wait()
	close(results)
	count := map[int]int{}
	for s := range results {
		count[s]++
	}
	if count[201] != 1 || count[409] != n-1 {
		t.Errorf("statuses = %v, want exactly one 201 and %d 409", count, n-1)
	}
}

func TestMe(t *testing.T) {
	t.Parallel()
	accounttest.Run(t, testMe)
}

func testMe(t *testing.T, eng accounttest.Engine) {
	t.Parallel()
	ts := newTestServerOn(t, eng)
	u := ts.signup("hank", "hank@example.com", goodPassword)
	token := ts.login("hank", goodPassword)

	r := ts.json("GET", "/v1/me", nil, token)
	want(t, "GET /v1/me", r, http.StatusOK)
	if me := decodeAs[user](t, r); me != u {
		t.Errorf("GET /v1/me = %+v, want %+v", me, u)
	}
	if cc := r.header.Get("Cache-Control"); cc != "no-store" {
		t.Errorf("Cache-Control = %q, want no-store", cc)
	}

	for _, tt := range []struct{ name, auth string }{
		{"no header", ""},
		{"wrong scheme", "Basic " + token},
		{"unknown token", "Bearer rst_" + strings.Repeat("A", 43)},
		{"malformed token", "Bearer nonsense"},
		{"empty bearer", "Bearer "},
	} {
		var header []string
		if tt.auth != "" {
			header = []string{"Authorization", tt.auth}
		}
		r := ts.do("GET", "/v1/me", "", "", header...)
		if r.status != http.StatusUnauthorized || decodeAs[problem](t, r).Code != "unauthenticated" {
			t.Errorf("%s: GET /v1/me: status = %d, want 401 unauthenticated; body=%s", tt.name, r.status, r.body)
		}
		if r.header.Get("WWW-Authenticate") == "" {
			t.Errorf("%s: 401 without WWW-Authenticate", tt.name)
		}
	}
}

// TestInvalidUTF8Passwords: sign-up, login and password change refuse a
// JSON password holding bytes that are not UTF-8 (or escaping a lone
// surrogate) with 422 invalid_encoding, as the form routes refuse them, so two
// different invalid sequences can no longer both become U+FFFD U+FFFD U+FFFD
// and be the same password.
func TestInvalidUTF8Passwords(t *testing.T) {
	t.Parallel()
	accounttest.Run(t, testInvalidUTF8Passwords)
}

func testInvalidUTF8Passwords(t *testing.T, eng accounttest.Engine) {
	t.Parallel()
	ts := newTestServerOn(t, eng)
	const prefix = "correct horse battery "
	// The password the invalid ones used to collapse into, typed as text.
	ts.signup("una", "una@example.com", prefix+"\ufffd\ufffd\ufffd")
	token := ts.login("una", prefix+"\ufffd\ufffd\ufffd")
	refused := func(what string, r response) {
		t.Helper()
		want(t, what, r, http.StatusUnprocessableEntity)
		p := decodeAs[problem](t, r)
		if p.Code != "invalid_encoding" || p.Type != "urn:roster:problem:invalid_encoding" || len(p.Errors) != 1 ||
			!strings.HasSuffix(p.Errors[0].Field, "password") || p.Errors[0].Message != "is not valid UTF-8" {
			t.Errorf("%s: problem = %+v, want invalid_encoding naming the password field", what, p)
		}
	}
	for _, bad := range []string{"\xff\xfe\xfd", "\xc0\xc1\xf5", `\ud800\udbff\udc00`} {
		login := `{"username":"una","password":"` + prefix + bad + `"}`
		refused("POST /v1/sessions with "+bad, ts.do("POST", "/v1/sessions", "application/json", login))
		signup := `{"username":"vic","email":"vic@example.com","password":"` + prefix + bad + `"}`
		refused("POST /v1/users with "+bad, ts.do("POST", "/v1/users", "application/json", signup))
		change := `{"current_password":"` + prefix + `\ufffd\ufffd\ufffd","new_password":"` + prefix + bad + `"}`
		refused("PUT /v1/me/password with "+bad, ts.do("PUT", "/v1/me/password", "application/json", change,
			"Authorization", "Bearer "+token))
	}
	// The form route words its refusal the same way.
	r := ts.do("POST", "/add", "application/x-www-form-urlencoded",
		"user=vic&pass="+url.QueryEscape(prefix+"\xff\xfe\xfd"))
	if r.status != http.StatusUnprocessableEntity || r.body != "password: is not valid UTF-8\n" {
		t.Errorf("POST /add with invalid UTF-8: %d %q, want 422 %q", r.status, r.body, "password: is not valid UTF-8\n")
	}
	if n, _ := ts.accounts.Store.Read.CountUsers(t.Context()); n != 1 {
		t.Errorf("users = %d, want 1", n)
	}
	ts.login("una", prefix+"\ufffd\ufffd\ufffd") // the password did not change
}
