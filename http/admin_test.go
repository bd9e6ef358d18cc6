package http_test

import (
	"context"
	"encoding/base64"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"

	"roster/account"
	"roster/account/accounttest"
)

// adminUser is a user as the admin API shows it.
type adminUser struct {
	ID       int64  `json:"id"`
	Username string `json:"username"`
	Email    string `json:"email"`
	Status   string `json:"status"`
	Role     string `json:"role"`
}

type userPage struct {
	Users      []adminUser `json:"users"`
	NextCursor string      `json:"next_cursor"`
}

type auditEvent struct {
	ID       int64  `json:"id"`
	ActorID  *int64 `json:"actor_id"`
	TargetID *int64 `json:"target_id"`
	Action   string `json:"action"`
	Detail   string `json:"detail"`
	IP       string `json:"ip"`
}

type auditPage struct {
	Events     []auditEvent `json:"events"`
	NextCursor string       `json:"next_cursor"`
}

// createUser stores an account directly through the service, with the
// given role, and returns its id.
func (ts *testServer) createUser(name, role string) int64 {
	ts.t.Helper()
	u, err := ts.accounts.CreateUser(context.Background(), account.Actor{},
		account.NewUser{Username: name, Password: goodPassword, Role: role})
	if err != nil {
		ts.t.Fatalf("CreateUser(%q): %v", name, err)
	}
	return u.ID
}

// admin creates an admin account and returns its id and a session token.
func (ts *testServer) admin(name string) (int64, string) {
	ts.t.Helper()
	id := ts.createUser(name, account.RoleAdmin)
	return id, ts.login(name, goodPassword)
}

// audit returns every audit event matching query (for example
// "action=logout"), newest first.
func (ts *testServer) audit(adminToken, query string) []auditEvent {
	ts.t.Helper()
	r := ts.json("GET", "/v1/admin/audit?limit=200&"+query, nil, adminToken)
	want(ts.t, "GET /v1/admin/audit", r, http.StatusOK)
	return decodeAs[auditPage](ts.t, r).Events
}

func TestAdminRoutesAuthorization(t *testing.T) {
	t.Parallel()
	accounttest.Run(t, testAdminRoutesAuthorization)
}

func testAdminRoutesAuthorization(t *testing.T, eng accounttest.Engine) {
	t.Parallel()
	ts := newTestServerOn(t, eng)
	_, adminToken := ts.admin("root")
	ts.signup("plain", "", goodPassword)
	userToken := ts.login("plain", goodPassword)
	target := ts.createUser("target", account.RoleUser)
	doomed := ts.createUser("doomed", account.RoleUser)

	routes := []struct {
		method, path string
		body         any
		status       int // for an admin
	}{
		{"GET", "/v1/admin/users", nil, http.StatusOK},
		{"POST", "/v1/admin/users", map[string]string{"username": "made", "password": goodPassword}, http.StatusCreated},
		{"GET", fmt.Sprintf("/v1/admin/users/%d", target), nil, http.StatusOK},
		{"PATCH", fmt.Sprintf("/v1/admin/users/%d", target), map[string]string{"role": "user"}, http.StatusOK},
		{"DELETE", fmt.Sprintf("/v1/admin/users/%d/sessions", target), nil, http.StatusNoContent},
		{"DELETE", fmt.Sprintf("/v1/admin/users/%d", doomed), nil, http.StatusNoContent},
		{"GET", "/v1/admin/audit", nil, http.StatusOK},
		{"GET", "/v1/admin/outbox", nil, http.StatusOK},
	}
	for _, rt := range routes {
		what := rt.method + " " + rt.path
		t.Run(what, func(t *testing.T) {
			r := ts.json(rt.method, rt.path, rt.body, "")
			want(t, what+" without a session", r, http.StatusUnauthorized)
			r = ts.json(rt.method, rt.path, rt.body, userToken)
			want(t, what+" as a user", r, http.StatusForbidden)
			if p := decodeAs[problem](t, r); p.Code != "forbidden" {
				t.Errorf("%s as a user: code = %q, want forbidden", what, p.Code)
			}
			r = ts.json(rt.method, rt.path, rt.body, adminToken)
			want(t, what+" as an admin", r, rt.status)
		})
	}
}

func TestAdminUserCRUD(t *testing.T) {
	t.Parallel()
	accounttest.Run(t, testAdminUserCRUD)
}

func testAdminUserCRUD(t *testing.T, eng accounttest.Engine) {
	t.Parallel()
	ts := newTestServerOn(t, eng)
	_, adminToken := ts.admin("root")

	r := ts.json("POST", "/v1/admin/users", map[string]string{"username": "Carol", "email": "carol@example.com",
		"password": goodPassword, "role": "admin"}, adminToken)
	want(t, "POST /v1/admin/users", r, http.StatusCreated)
	carol := decodeAs[adminUser](t, r)
	if carol.Role != "admin" || carol.Status != "active" {
		t.Errorf("created %+v, want an active admin", carol)
	}
	path := fmt.Sprintf("/v1/admin/users/%d", carol.ID)

	for _, tc := range []struct {
		name   string
		body   any
		status int
	}{
		{"password hash", map[string]string{"password_hash": "$argon2id$x"}, http.StatusBadRequest},
		{"password", map[string]string{"password": goodPassword}, http.StatusBadRequest},
		{"bad status", map[string]string{"status": "gone"}, http.StatusUnprocessableEntity},
		{"bad role", map[string]string{"role": "root"}, http.StatusUnprocessableEntity},
		{"taken username", map[string]string{"username": "ROOT"}, http.StatusConflict},
		{"rename", map[string]string{"username": "caroline", "email": "caroline@example.com"}, http.StatusOK},
	} {
		r := ts.json("PATCH", path, tc.body, adminToken)
		want(t, "PATCH "+path+" ("+tc.name+")", r, tc.status)
	}
	r = ts.json("GET", path, nil, adminToken)
	want(t, "GET "+path, r, http.StatusOK)
	if got := decodeAs[adminUser](t, r); got.Username != "caroline" || got.Email != "caroline@example.com" {
		t.Errorf("GET %s = %+v, want caroline <caroline@example.com>", path, got)
	}
	for _, s := range []string{"password", "hash", "argon2id"} {
		if strings.Contains(r.body, s) {
			t.Errorf("GET %s: body %s mentions %q", path, r.body, s)
		}
	}
	for _, p := range []string{"/v1/admin/users/999", "/v1/admin/users/x", "/v1/admin/users/-1"} {
		want(t, "GET "+p, ts.json("GET", p, nil, adminToken), http.StatusNotFound)
		want(t, "DELETE "+p, ts.json("DELETE", p, nil, adminToken), http.StatusNotFound)
		want(t, "DELETE "+p+"/sessions", ts.json("DELETE", p+"/sessions", nil, adminToken), http.StatusNotFound)
	}

	carolToken := ts.login("caroline", goodPassword)
	want(t, "DELETE "+path, ts.json("DELETE", path, nil, adminToken), http.StatusNoContent)
	want(t, "GET /v1/me with a deleted user's session", ts.json("GET", "/v1/me", nil, carolToken), http.StatusUnauthorized)
	want(t, "GET "+path+" after delete", ts.json("GET", path, nil, adminToken), http.StatusNotFound)
}

func TestDisableKillsSessions(t *testing.T) {
	t.Parallel()
	accounttest.Run(t, testDisableKillsSessions)
}

func testDisableKillsSessions(t *testing.T, eng accounttest.Engine) {
	t.Parallel()
	ts := newTestServerOn(t, eng)
	_, adminToken := ts.admin("root")
	u := ts.signup("dave", "", goodPassword)
	tokens := []string{ts.login("dave", goodPassword), ts.login("dave", goodPassword)}
	path := fmt.Sprintf("/v1/admin/users/%d", u.ID)

	want(t, "PATCH "+path, ts.json("PATCH", path, map[string]string{"status": "disabled"}, adminToken), http.StatusOK)
	for i, tok := range tokens {
		want(t, fmt.Sprintf("GET /v1/me with session %d of a disabled user", i), ts.json("GET", "/v1/me", nil, tok), http.StatusUnauthorized)
	}
	right := ts.json("POST", "/v1/sessions", map[string]string{"username": "dave", "password": goodPassword}, "")
	wrong := ts.json("POST", "/v1/sessions", map[string]string{"username": "dave", "password": goodPassword + "!"}, "")
	unknown := ts.json("POST", "/v1/sessions", map[string]string{"username": "nobody", "password": goodPassword}, "")
	want(t, "POST /v1/sessions for a disabled user", right, http.StatusUnauthorized)
	if right.body != wrong.body || right.body != unknown.body {
		t.Errorf("disabled, wrong-password and unknown logins differ:\n%s\n%s\n%s", right.body, wrong.body, unknown.body)
	}
	for _, h := range []string{"Content-Type", "Www-Authenticate", "Retry-After", "Content-Length"} {
		if right.header.Get(h) != wrong.header.Get(h) || right.header.Get(h) != unknown.header.Get(h) {
			t.Errorf("header %s differs: %q, %q, %q", h, right.header.Get(h), wrong.header.Get(h), unknown.header.Get(h))
		}
	}
	// The reasons stay server-side, in the audit log.
	var reasons []string
	for _, e := range ts.audit(adminToken, "action=login.failure") {
		reasons = append(reasons, e.Detail)
	}
	if fmt.Sprint(reasons) != "[unknown_account wrong_password disabled]" {
		t.Errorf("login.failure reasons (newest first) = %v", reasons)
	}

	want(t, "PATCH "+path, ts.json("PATCH", path, map[string]string{"status": "active"}, adminToken), http.StatusOK)
	ts.login("dave", goodPassword)
}

func TestAdminSessionsRevoke(t *testing.T) {
	t.Parallel()
	accounttest.Run(t, testAdminSessionsRevoke)
}

func testAdminSessionsRevoke(t *testing.T, eng accounttest.Engine) {
	t.Parallel()
	ts := newTestServerOn(t, eng)
	_, adminToken := ts.admin("root")
	u := ts.signup("erin", "", goodPassword)
	tok := ts.login("erin", goodPassword)
	path := fmt.Sprintf("/v1/admin/users/%d/sessions", u.ID)
	want(t, "DELETE "+path, ts.json("DELETE", path, nil, adminToken), http.StatusNoContent)
	want(t, "GET /v1/me after revocation", ts.json("GET", "/v1/me", nil, tok), http.StatusUnauthorized)
	ev := ts.audit(adminToken, "action=sessions.revoke")
	if len(ev) != 1 || ev[0].Detail != "revoked 1 sessions" || *ev[0].TargetID != u.ID {
		t.Errorf("sessions.revoke events = %+v", ev)
	}
}

func TestLastAdmin(t *testing.T) {
	t.Parallel()
	accounttest.Run(t, testLastAdmin)
}

func testLastAdmin(t *testing.T, eng accounttest.Engine) {
	t.Parallel()
	ts := newTestServerOn(t, eng)
	rootID, rootToken := ts.admin("root")
	self := fmt.Sprintf("/v1/admin/users/%d", rootID)

	for _, tc := range []struct {
		method string
		body   any
	}{
		{"PATCH", map[string]string{"role": "user"}},
		{"PATCH", map[string]string{"status": "disabled"}},
		{"PATCH", map[string]string{"role": "user", "status": "disabled"}},
		{"DELETE", nil},
	} {
		r := ts.json(tc.method, self, tc.body, rootToken)
		want(t, fmt.Sprintf("%s %s %v (last admin)", tc.method, self, tc.body), r, http.StatusConflict)
		if p := decodeAs[problem](t, r); p.Code != "last_admin" {
			t.Errorf("code = %q, want last_admin", p.Code)
		}
	}
	want(t, "DELETE /v1/me (last admin)", ts.json("DELETE", "/v1/me", map[string]string{"password": goodPassword}, rootToken), http.StatusConflict)
	// Renaming the last admin is no demotion.
	want(t, "PATCH "+self+" username", ts.json("PATCH", self, map[string]string{"username": "Root"}, rootToken), http.StatusOK)

	// A disabled admin does not count.
	otherID := ts.createUser("other", account.RoleAdmin)
	other := fmt.Sprintf("/v1/admin/users/%d", otherID)
	want(t, "PATCH "+other+" disable", ts.json("PATCH", other, map[string]string{"status": "disabled"}, rootToken), http.StatusOK)
	want(t, "PATCH "+self+" demote", ts.json("PATCH", self, map[string]string{"role": "user"}, rootToken), http.StatusConflict)

	// With a second active admin, the first can go; then the second is last.
	want(t, "PATCH "+other+" enable", ts.json("PATCH", other, map[string]string{"status": "active"}, rootToken), http.StatusOK)
	want(t, "PATCH "+self+" demote", ts.json("PATCH", self, map[string]string{"role": "user"}, rootToken), http.StatusOK)
	want(t, "GET /v1/admin/users as a demoted admin", ts.json("GET", "/v1/admin/users", nil, rootToken), http.StatusForbidden)
	otherToken := ts.login("other", goodPassword)
	want(t, "DELETE "+other+" (now last)", ts.json("DELETE", other, nil, otherToken), http.StatusConflict)
	want(t, "DELETE "+self, ts.json("DELETE", self, nil, otherToken), http.StatusNoContent)
}

func TestUserListFilters(t *testing.T) {
	t.Parallel()
	accounttest.Run(t, testUserListFilters)
}

func testUserListFilters(t *testing.T, eng accounttest.Engine) {
	t.Parallel()
	ts := newTestServerOn(t, eng)
	_, adminToken := ts.admin("root")
	for _, u := range [][2]string{{"Alice", "zed@example.com"}, {"alpha", ""}, {"a_b", ""}, {"axb", "a_b.x@example.com"},
		{"bob", "ALICE.b@example.com"}, {"ａｌｅｘ", ""}} {
		ts.signup(u[0], u[1], goodPassword)
	}
	ts.createUser("Admin2", account.RoleAdmin)

	names := func(query string) string {
		t.Helper()
		r := ts.json("GET", "/v1/admin/users?"+query, nil, adminToken)
		want(t, "GET /v1/admin/users?"+query, r, http.StatusOK)
		var got []string
		for _, u := range decodeAs[userPage](t, r).Users {
			got = append(got, u.Username)
		}
		return fmt.Sprint(got)
	}
	for _, tc := range []struct{ query, want string }{
		{"q=al", "[Alice alpha bob ａｌｅｘ]"}, // bob by email; the full-width name by its key
		{"q=AL", "[Alice alpha bob ａｌｅｘ]"},
		{"q=a_", "[a_b axb]"}, // "_" is no wildcard; axb by email
		{"q=%25", "[]"},
		{"q=a%25", "[]"},
		{"q=zed%40", "[Alice]"},
		{"q=a&role=admin", "[Admin2]"},
		{"role=admin", "[root Admin2]"},
		{"status=disabled", "[]"},
		{"q=nobody", "[]"},
	} {
		if got := names(tc.query); got != tc.want {
			t.Errorf("GET /v1/admin/users?%s = %s, want %s", tc.query, got, tc.want)
		}
	}
	for _, q := range []string{"limit=0", "limit=201", "limit=x", "after=!!", "after=MA", "after=" + url.QueryEscape("LTE"),
		"status=gone", "role=root"} {
		r := ts.json("GET", "/v1/admin/users?"+q, nil, adminToken)
		want(t, "GET /v1/admin/users?"+q, r, http.StatusBadRequest)
	}
}

// pageAll walks /v1/admin/users with the given limit and returns the ids in
// the order seen. between, when not nil, runs after every page.
func (ts *testServer) pageAll(adminToken string, limit int, between func()) []int64 {
	ts.t.Helper()
	var ids []int64
	cursor := ""
	for pages := 0; ; pages++ {
		if pages > 10000 {
			ts.t.Fatal("paging does not end")
		}
		path := fmt.Sprintf("/v1/admin/users?limit=%d", limit)
		if cursor != "" {
			path += "&after=" + url.QueryEscape(cursor)
		}
		r := ts.json("GET", path, nil, adminToken)
		want(ts.t, "GET "+path, r, http.StatusOK)
		page := decodeAs[userPage](ts.t, r)
		if len(page.Users) > limit {
			ts.t.Fatalf("GET %s: %d users, want at most %d", path, len(page.Users), limit)
		}
		for _, u := range page.Users {
			ids = append(ids, u.ID)
		}
		if page.NextCursor == "" {
			return ids
		}
		cursor = page.NextCursor
		if between != nil {
			between()
		}
	}
}

func TestUserPagination(t *testing.T) {
	t.Parallel()
	accounttest.Run(t, testUserPagination)
}

func testUserPagination(t *testing.T, eng accounttest.Engine) {
	t.Parallel()
	ts := newTestServerOn(t, eng)
	rootID, adminToken := ts.admin("root")
	const n = 1000
	all := []int64{rootID}
	for i := range n - 1 {
		all = append(all, ts.createUser(fmt.Sprintf("user%04d", i), account.RoleUser))
	}

	ids := ts.pageAll(adminToken, 37, nil)
	if fmt.Sprint(ids) != fmt.Sprint(all) {
		t.Fatalf("paged %d ids, want the %d created in id order", len(ids), len(all))
	}
	// 1000 = 27*37 + 1: the last page holds one user and has no next_cursor.
	r := ts.json("GET", "/v1/admin/users?limit=200", nil, adminToken)
	if p := decodeAs[userPage](t, r); len(p.Users) != 200 || p.NextCursor == "" {
		t.Errorf("first page of 200: %d users, next_cursor %q", len(p.Users), p.NextCursor)
	}

	t.Run("concurrent inserts and deletes", func(t *testing.T) {
		// Every tenth original user may be deleted meanwhile; the others exist
		// throughout and must each be seen exactly once.
		volatile := map[int64]bool{}
		for i, id := range all {
			if i%10 == 5 {
				volatile[id] = true
			}
		}
		stop := make(chan struct{})
		var wg sync.WaitGroup
		var ops atomic.Int64
		wg.Go(func() {
			ctx := context.Background()
			for i := 0; ; i++ {
				select {
				case <-stop:
					return
				default:
				}
				u, err := ts.accounts.CreateUser(ctx, account.Actor{}, account.NewUser{Username: fmt.Sprintf("new%05d", i), Password: goodPassword})
				if err != nil {
					t.Errorf("CreateUser: %v", err)
					return
				}
				victim := u.ID
				if i%2 == 0 {
					victim = all[(i*10+5)%len(all)]
				}
				if err := ts.accounts.DeleteUser(ctx, account.Actor{}, victim); err != nil && !errors.Is(err, account.ErrNotFound) {
					t.Errorf("DeleteUser(%d): %v", victim, err)
					return
				}
				ops.Add(1)
			}
		})
		// Between pages, wait for the writer to finish at least one more
		// insert and delete, so that every page boundary sees writes.
		ids := ts.pageAll(adminToken, 37, func() {
			for start := ops.Load(); ops.Load() == start && !t.Failed(); {
				runtime.Gosched()
			}
		})
		close(stop)
		wg.Wait()

		seen := map[int64]bool{}
		for i, id := range ids {
			if seen[id] {
				t.Errorf("user %d seen twice", id)
			}
			seen[id] = true
			if i > 0 && id <= ids[i-1] {
				t.Errorf("id %d after %d: not in id order", id, ids[i-1])
			}
		}
		for _, id := range all {
			if !volatile[id] && !seen[id] {
				t.Errorf("user %d existed throughout but was skipped", id)
			}
		}
		t.Logf("%d users paged while %d insert+delete pairs ran", len(ids), ops.Load())
	})
}

func TestAuditLog(t *testing.T) {
	t.Parallel()
	accounttest.Run(t, testAuditLog)
}

func testAuditLog(t *testing.T, eng accounttest.Engine) {
	t.Parallel()
	ts := newTestServerOn(t, eng)
	rootID, adminToken := ts.admin("root")
	u := ts.signup("fay", "", goodPassword)
	tok := ts.login("fay", goodPassword)
	want(t, "DELETE /v1/sessions/current", ts.json("DELETE", "/v1/sessions/current", nil, tok), http.StatusNoContent)

	// Newest first, paged with a cursor.
	var all []auditEvent
	cursor := ""
	for {
		path := "/v1/admin/audit?limit=2"
		if cursor != "" {
			path += "&after=" + cursor
		}
		r := ts.json("GET", path, nil, adminToken)
		want(t, "GET "+path, r, http.StatusOK)
		p := decodeAs[auditPage](t, r)
		all = append(all, p.Events...)
		if p.NextCursor == "" {
			break
		}
		cursor = p.NextCursor
	}
	var actions []string
	for _, e := range all {
		actions = append(actions, e.Action)
	}
	wantActions := "[logout login.success user.create login.success user.create]"
	if fmt.Sprint(actions) != wantActions {
		t.Fatalf("audit actions = %v, want %s", actions, wantActions)
	}
	if e := all[0]; e.ActorID == nil || *e.ActorID != u.ID || *e.TargetID != u.ID || e.IP != "127.0.0.1" {
		t.Errorf("logout event = %+v, want actor and target %d from 127.0.0.1", e, u.ID)
	}
	if e := all[2]; e.ActorID != nil || e.IP != "127.0.0.1" {
		t.Errorf("sign-up event = %+v, want no actor, IP 127.0.0.1", e)
	}
	if e := all[4]; e.ActorID != nil || e.IP != "" || *e.TargetID != rootID {
		t.Errorf("service-created admin event = %+v, want no actor and no IP", e)
	}

	if got := ts.audit(adminToken, fmt.Sprintf("user_id=%d", u.ID)); len(got) != 3 {
		t.Errorf("events of user %d = %+v, want 3", u.ID, got)
	}
	for _, q := range []string{"user_id=x", "user_id=0", "action=nope", "after=zz", "limit=500"} {
		want(t, "GET /v1/admin/audit?"+q, ts.json("GET", "/v1/admin/audit?"+q, nil, adminToken), http.StatusBadRequest)
	}
}

// TestListCursors: every admin list takes back its own next_cursor, which
// is the base64url of the page's last id, as documented; a cursor of any
// other form is a 400 invalid_query problem, never a 500; a well-formed
// cursor naming no row is a page.
func TestListCursors(t *testing.T) {
	t.Parallel()
	accounttest.Run(t, testListCursors)
}

func testListCursors(t *testing.T, eng accounttest.Engine) {
	t.Parallel()
	ts := newTestServerOn(t, eng)
	_, adminToken := ts.admin("root")
	for _, name := range []string{"ivy", "jon", "kai"} {
		ts.signup(name, "", goodPassword)
	}
	r := ts.json("GET", "/v1/admin/users?limit=2", nil, adminToken)
	want(t, "GET /v1/admin/users?limit=2", r, http.StatusOK)
	page := decodeAs[struct {
		Users      []user `json:"users"`
		NextCursor string `json:"next_cursor"`
	}](t, r)
	if want := base64.RawURLEncoding.EncodeToString([]byte(strconv.FormatInt(page.Users[1].ID, 10))); page.NextCursor != want {
		t.Errorf("next_cursor = %q, want %q, the base64url of the last id %d", page.NextCursor, want, page.Users[1].ID)
	}
	b64 := func(s string) string { return url.QueryEscape(base64.RawURLEncoding.EncodeToString([]byte(s))) }
	malformed := []string{"!!", "zz", "MA" /* 0 */, b64("-1"), b64("01"), b64("+1"), b64("1 "), b64("1e3"), b64("x"),
		b64("9223372036854775808"), "MQ==" /* padded */, "MR" /* non-canonical */, url.QueryEscape("MQ\n"),
		url.QueryEscape("+/"), strings.Repeat("M", 10000)}
	for _, path := range []string{"/v1/admin/users", "/v1/admin/audit", "/v1/admin/outbox"} {
		for _, c := range malformed {
			r := ts.json("GET", path+"?after="+c, nil, adminToken)
			want(t, "GET "+path+"?after="+c, r, http.StatusBadRequest)
			if p := decodeAs[problem](t, r); p.Code != "invalid_query" || !strings.Contains(p.Detail, "next_cursor") {
				t.Errorf("GET %s?after=%s: problem %+v, want invalid_query naming next_cursor", path, c, p)
			}
		}
		for _, id := range []string{"1", "9223372036854775807"} { // an end of every list
			want(t, "GET "+path+"?after="+b64(id), ts.json("GET", path+"?after="+b64(id), nil, adminToken), http.StatusOK)
		}
	}
}
