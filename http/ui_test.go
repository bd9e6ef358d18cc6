package http_test

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"testing"
	"time"

	"roster/account"
	"roster/account/accounttest"
	rosterhttp "roster/http"
)

// The web console's HTTP behaviour, without a browser; http/ui's tests drive
// it in chromium.

// page requests a console path without following redirects; fields, when
// not nil, are POSTed as a form. header alternates names and values.
func (ts *testServer) page(method, path string, fields url.Values, cookie string, header ...string) response {
	ts.t.Helper()
	req, err := http.NewRequest(method, ts.URL+path, strings.NewReader(fields.Encode()))
	if err != nil {
		ts.t.Fatal(err)
	}
	if fields != nil {
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	}
	if cookie != "" {
		req.AddCookie(&http.Cookie{Name: "__Host-roster_session", Value: cookie})
	}
	for i := 0; i+1 < len(header); i += 2 {
		req.Header.Set(header[i], header[i+1])
	}
	client := *ts.Client()
	client.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
	res, err := client.Do(req)
	if err != nil {
		ts.t.Fatalf("%s %s: %v", method, path, err)
	}
	defer res.Body.Close()
	b, err := io.ReadAll(res.Body)
	if err != nil {
		ts.t.Fatal(err)
	}
	return response{status: res.StatusCode, header: res.Header, body: string(b)}
}

func newUIServer(t *testing.T, cfg rosterhttp.Config) *testServer {
	t.Helper()
	cfg.UI = true
	return newTestServerConfig(t, accounttest.New(t), cfg)
}

func wantRedirect(t *testing.T, what string, r response, location string) {
	t.Helper()
	if r.status != http.StatusSeeOther || r.header.Get("Location") != location {
		t.Fatalf("%s: status = %d, Location = %q; want 303 to %q; body=%s", what, r.status, r.header.Get("Location"), location, r.body)
	}
}

func wantPage(t *testing.T, what string, r response, status int, texts ...string) {
	t.Helper()
	want(t, what, r, status)
	if ct := r.header.Get("Content-Type"); ct != "text/html; charset=utf-8" {
		t.Fatalf("%s: Content-Type = %q, want HTML", what, ct)
	}
	for _, s := range texts {
		if !strings.Contains(r.body, s) {
			t.Fatalf("%s: page lacks %q:\n%s", what, s, r.body)
		}
	}
}

func TestUIOffServesTheAPIAlone(t *testing.T) {
	t.Parallel()
	ts := newTestServer(t)
	for _, path := range []string{"/", "/ui/", "/ui/sign-in"} {
		r := ts.page("GET", path, nil, "")
		if r.status != http.StatusNotFound || !strings.Contains(r.header.Get("Content-Type"), "problem+json") {
			t.Errorf("GET %s with the console off: status = %d, Content-Type %q; want a 404 problem",
				path, r.status, r.header.Get("Content-Type"))
		}
	}
}

func TestUIRoutingAndHeaders(t *testing.T) {
	t.Parallel()
	ts := newUIServer(t, rosterhttp.Config{})
	wantRedirect(t, "GET /", ts.page("GET", "/", nil, ""), "/ui/")
	wantRedirect(t, "GET /ui/", ts.page("GET", "/ui/", nil, ""), "/ui/sign-in?next=%2Fui%2F")
	wantRedirect(t, "GET /ui/admin/users?q=a", ts.page("GET", "/ui/admin/users?q=a", nil, ""),
		"/ui/sign-in?next=%2Fui%2Fadmin%2Fusers%3Fq%3Da")
	r := ts.page("GET", "/ui/account", nil, "rst_not-a-live-session")
	wantRedirect(t, "GET /ui/account with a dead cookie", r, "/ui/sign-in?next=%2Fui%2Faccount")
	if c := r.header.Get("Set-Cookie"); !strings.Contains(c, "__Host-roster_session=;") || !strings.Contains(c, "Max-Age=0") {
		t.Errorf("dead session cookie not cleared: Set-Cookie = %q", c)
	}
	wantPage(t, "GET /ui/nowhere", ts.page("GET", "/ui/nowhere", nil, ""), http.StatusNotFound, "no such page")

	r = ts.page("GET", "/ui/sign-in", nil, "")
	wantPage(t, "GET /ui/sign-in", r, http.StatusOK, `autocomplete="username"`, `autocomplete="current-password"`,
		`<label for="f-password">Password</label>`)
	for name, value := range map[string]string{
		"Content-Security-Policy": "default-src 'none'; script-src 'self'; connect-src 'self'; style-src 'self'; img-src 'self' data:; form-action 'self'; frame-ancestors 'none'; base-uri 'none'",
		"Cache-Control":           "no-store",
		"X-Content-Type-Options":  "nosniff",
		"Referrer-Policy":         "no-referrer",
	} {
		if got := r.header.Get(name); got != value {
			t.Errorf("GET /ui/sign-in: %s = %q, want %q", name, got, value)
		}
	}
	r = ts.page("GET", "/ui/static/style.css", nil, "")
	if r.status != http.StatusOK || !strings.HasPrefix(r.header.Get("Content-Type"), "text/css") {
		t.Errorf("GET /ui/static/style.css: status = %d, Content-Type = %q", r.status, r.header.Get("Content-Type"))
	}
	for _, dir := range []string{"/ui/static/", "/ui/static/.", "/ui/static//", "/ui/static/./"} {
		r = ts.page("GET", dir, nil, "")
		wantPage(t, "GET "+dir, r, http.StatusNotFound, "no such page")
		if strings.Contains(r.body, `<a href="style.css">`) {
			t.Errorf("GET %s lists the directory: %s", dir, r.body)
		}
	}
}

func TestUISignIn(t *testing.T) {
	t.Parallel()
	ts := newUIServer(t, rosterhttp.Config{})
	ts.signup("ann", "", goodPassword)
	signIn := func(next, password string, header ...string) response {
		return ts.page("POST", "/ui/sign-in", url.Values{"username": {"ann"}, "password": {password}, "next": {next}}, "", header...)
	}
	for _, c := range []struct{ next, want string }{
		{"/ui/admin/audit?action=logout", "/ui/admin/audit?action=logout"},
		{"", "/ui/account"},
		{"https://evil.example/ui/", "/ui/account"},
		{"//evil.example/ui/", "/ui/account"},
		{`/ui/\evil.example`, "/ui/account"},
		{"/v1/me", "/ui/account"},
		{"/ui/../v1/me", "/ui/account"},
		{"/ui/../metrics", "/ui/account"},
		{"/ui/%2e%2e/v1/me", "/ui/account"},
		{"/ui/%2E%2E/v1/me", "/ui/account"},
		{"/ui/./account", "/ui/account"},
	} {
		r := signIn(c.next, goodPassword)
		wantRedirect(t, "sign in with next="+c.next, r, c.want)
		cookie := r.header.Get("Set-Cookie")
		for _, attr := range []string{"__Host-roster_session=rst_", "Path=/", "HttpOnly", "Secure", "SameSite=Lax"} {
			if !strings.Contains(cookie, attr) {
				t.Errorf("session cookie %q lacks %s", cookie, attr)
			}
		}
	}
	wantPage(t, "wrong password", signIn("", "not the password at all"), http.StatusUnauthorized,
		"The username or password is wrong", `value="ann"`)
	r := signIn("", goodPassword, "Sec-Fetch-Site", "cross-site")
	wantPage(t, "cross-site sign-in", r, http.StatusForbidden, "sent from another site")
	if c := r.header.Get("Set-Cookie"); c != "" {
		t.Errorf("cross-site sign-in set a cookie: %q", c)
	}
	r = ts.page("POST", "/ui/sign-in", url.Values{"username": {"ann"}, "role": {"admin"}}, "")
	wantPage(t, "unknown form field", r, http.StatusBadRequest, "unknown form field")

	// Signing in over another session ends that session on the server: on a
	// shared browser the previous user's token must not stay valid.
	ts.signup("bea", "", goodPassword)
	previous := ts.login("bea", goodPassword)
	r = ts.page("POST", "/ui/sign-in", url.Values{"username": {"ann"}, "password": {goodPassword}}, "",
		"Cookie", "__Host-roster_session="+previous)
	wantRedirect(t, "sign in over bea's session", r, "/ui/account")
	want(t, "GET /v1/me with the replaced session", ts.json("GET", "/v1/me", nil, previous), http.StatusUnauthorized)
}

// TestUISharesRateLimits: the console's sign-in spends the same per-IP budget
// as POST /v1/sessions.
func TestUISharesRateLimits(t *testing.T) {
	t.Parallel()
	ts := newUIServer(t, rosterhttp.Config{LoginRate: rosterhttp.Rate{Requests: 2, Per: time.Hour}})
	ts.signup("ann", "", goodPassword)
	ts.login("ann", goodPassword)
	ts.login("ann", goodPassword)
	r := ts.page("POST", "/ui/sign-in", url.Values{"username": {"ann"}, "password": {goodPassword}}, "")
	wantPage(t, "third login", r, http.StatusTooManyRequests, "Too many requests from your network")
}

// TestUIReauthSharesRateLimits: the console's password and profile forms
// spend the same per-account budget as PUT /v1/me/password.
func TestUIReauthSharesRateLimits(t *testing.T) {
	t.Parallel()
	ts := newUIServer(t, rosterhttp.Config{ReauthRate: rosterhttp.Rate{Requests: 1, Per: time.Hour}})
	ts.signup("ann", "", goodPassword)
	token := ts.login("ann", goodPassword)
	r := ts.json("PUT", "/v1/me/password", map[string]string{"current_password": goodPassword, "new_password": goodPassword}, token)
	wantProblem(t, "PUT /v1/me/password to the current password", r, http.StatusUnprocessableEntity, "password_unchanged")
	for _, path := range []string{"/ui/account/password", "/ui/account/profile"} {
		r = ts.page("POST", path, url.Values{"username": {"ann"}, "current_password": {goodPassword}, "new_password": {"another long passphrase"}}, token)
		wantPage(t, "POST "+path+" past the account's budget", r, http.StatusTooManyRequests)
	}
}

func TestUIAccountForms(t *testing.T) {
	t.Parallel()
	ts := newUIServer(t, rosterhttp.Config{})
	ts.signup("ann", "ann@example.com", goodPassword)
	ts.signup("bob", "", goodPassword)
	token := ts.login("ann", goodPassword)
	other := ts.login("ann", goodPassword)

	r := ts.page("GET", "/ui/account", nil, token)
	wantPage(t, "account page", r, http.StatusOK, `value="ann@example.com"`, "Not verified", "this browser")

	cases := []struct {
		what   string
		path   string
		fields url.Values
		status int
		texts  []string
	}{
		{"taken username", "/ui/account/profile", url.Values{"username": {"BOB"}, "email": {"ann@example.com"}},
			http.StatusConflict, []string{`id="f-username-error">Username is already taken.`, `value="BOB"`}},
		{"bad email", "/ui/account/profile", url.Values{"username": {"ann"}, "email": {"not an address"}},
			http.StatusUnprocessableEntity, []string{`id="f-email-error">Email address must be`}},
		{"new email without the password", "/ui/account/profile", url.Values{"username": {"ann"}, "email": {"eve@example.net"}},
			http.StatusUnprocessableEntity, []string{`id="f-password-error">Current password is required.`, `value="eve@example.net"`}},
		{"new email with a wrong password", "/ui/account/profile",
			url.Values{"username": {"ann"}, "email": {"eve@example.net"}, "password": {"nope nope nope nope"}},
			http.StatusForbidden, []string{`id="f-password-error">Current password is wrong.`}},
		{"wrong current password", "/ui/account/password",
			url.Values{"username": {"ann"}, "current_password": {"nope nope nope nope"}, "new_password": {"another long passphrase"}},
			http.StatusForbidden, []string{`id="f-current_password-error">Current password is wrong.`, `aria-invalid="true"`}},
		{"new password equal to the current one", "/ui/account/password",
			url.Values{"current_password": {goodPassword}, "new_password": {goodPassword}},
			http.StatusUnprocessableEntity, []string{`id="f-new_password-error">New password must differ from the current password.`}},
		{"new password with the username", "/ui/account/password",
			url.Values{"current_password": {goodPassword}, "new_password": {"ann has a long passphrase"}},
			http.StatusUnprocessableEntity, []string{`id="f-new_password-error">New password must not contain the username.`}},
	}
	for _, c := range cases {
		r := ts.page("POST", c.path, c.fields, token)
		wantPage(t, c.what, r, c.status, c.texts...)
		if n := strings.Count(r.body, `-error">`); n != 1 {
			t.Errorf("%s: %d field errors on the page, want 1 (beside the form that failed)", c.what, n)
		}
	}
	r = ts.page("GET", "/ui/account", nil, token)
	wantPage(t, "account page", r, http.StatusOK,
		`<input id="f-password" name="password" type="password" autocomplete="current-password"`)

	// Saving an unchanged profile changes nothing and mails nothing.
	wantRedirect(t, "unchanged profile", ts.page("POST", "/ui/account/profile",
		url.Values{"username": {"ann"}, "email": {"ann@example.com"}}, token), "/ui/account?notice=profile-saved")
	wantRedirect(t, "rename", ts.page("POST", "/ui/account/profile",
		url.Values{"username": {"Anne"}, "email": {"ann@example.com"}}, token), "/ui/account?notice=profile-saved")
	me := decodeAs[user](t, ts.json("GET", "/v1/me", nil, token))
	if me.Username != "Anne" || me.Email != "ann@example.com" {
		t.Errorf("after the profile form: %+v", me)
	}
	wantRedirect(t, "new email with the password", ts.page("POST", "/ui/account/profile",
		url.Values{"username": {"Anne"}, "email": {"anne@example.com"}, "password": {goodPassword}}, token), "/ui/account?notice=profile-saved")
	if me := decodeAs[user](t, ts.json("GET", "/v1/me", nil, token)); me.Email != "anne@example.com" {
		t.Errorf("after the profile form with the password: %+v", me)
	}

	// Password change keeps this session and ends the other.
	wantRedirect(t, "password change", ts.page("POST", "/ui/account/password",
		url.Values{"current_password": {goodPassword}, "new_password": {"another long passphrase"}}, token),
		"/ui/account?notice=password-changed")
	want(t, "other session after the change", ts.json("GET", "/v1/me", nil, other), http.StatusUnauthorized)
	wantPage(t, "account after the change", ts.page("GET", "/ui/account?notice=password-changed", nil, token),
		http.StatusOK, "Your password is changed.")

	// Revoking one's own current session signs this browser out.
	sessions := decodeAs[rosterhttp.SessionList](t, ts.json("GET", "/v1/me/sessions", nil, token)).Sessions
	r = ts.page("POST", "/ui/account/sessions/"+sessions[0].ID+"/revoke", url.Values{}, token)
	wantRedirect(t, "revoke the current session", r, "/ui/sign-in?notice=signed-out")
	want(t, "revoked session", ts.json("GET", "/v1/me", nil, token), http.StatusUnauthorized)
}

// uiLinks returns the pager's previous and next links and the usernames or
// actions a list page shows.
func uiLinks(t *testing.T, body, item string) (prev, next string, items []string) {
	t.Helper()
	if m := regexp.MustCompile(`<a href="([^"]+)" rel="prev">`).FindStringSubmatch(body); m != nil {
		prev = strings.ReplaceAll(m[1], "&amp;", "&")
	}
	if m := regexp.MustCompile(`<a href="([^"]+)" rel="next">`).FindStringSubmatch(body); m != nil {
		next = strings.ReplaceAll(m[1], "&amp;", "&")
	}
	for _, m := range regexp.MustCompile(item).FindAllStringSubmatch(body, -1) {
		items = append(items, m[1])
	}
	return prev, next, items
}

func TestUIAdminPaging(t *testing.T) {
	t.Parallel()
	ts := newUIServer(t, rosterhttp.Config{})
	ctx := context.Background()
	if _, err := ts.accounts.CreateUser(ctx, account.Actor{}, account.NewUser{Username: "root", Password: goodPassword, Role: account.RoleAdmin}); err != nil {
		t.Fatal(err)
	}
	for i := range 5 {
		ts.signup(fmt.Sprintf("user%d", i), "", goodPassword)
	}
	admin := ts.login("root", goodPassword)
	userRow := `<a href="/ui/admin/users/\d+">([^<]+)</a>`

	// Forward through users u* two at a time, then back again.
	var pages [][]string
	path := "/ui/admin/users?q=U&limit=2"
	for path != "" {
		r := ts.page("GET", path, nil, admin)
		wantPage(t, "GET "+path, r, http.StatusOK)
		prev, next, names := uiLinks(t, r.body, userRow)
		if (len(pages) == 0) != (prev == "") {
			t.Fatalf("page %d: previous link %q", len(pages)+1, prev)
		}
		if !strings.Contains(next+prev, "q=U") && next+prev != "" {
			t.Errorf("pager links %q, %q drop the search", prev, next)
		}
		pages = append(pages, names)
		path = next
	}
	if got := fmt.Sprint(pages); got != "[[user0 user1] [user2 user3] [user4]]" {
		t.Fatalf("pages forward = %s", got)
	}
	r := ts.page("GET", "/ui/admin/users?q=U&limit=2", nil, admin)
	_, next, _ := uiLinks(t, r.body, userRow)
	_, next, _ = uiLinks(t, ts.page("GET", next, nil, admin).body, userRow)
	r = ts.page("GET", next, nil, admin) // the last page
	for want := 1; want >= 0; want-- {
		prev, _, _ := uiLinks(t, r.body, userRow)
		r = ts.page("GET", prev, nil, admin)
		p, n, names := uiLinks(t, r.body, userRow)
		if fmt.Sprint(names) != fmt.Sprint(pages[want]) || n == "" || (want == 0) != (p == "") {
			t.Fatalf("back to page %d: %v (prev %q, next %q), want %v", want+1, names, p, n, pages[want])
		}
	}

	// The audit log pages newest first, both ways.
	auditRow := `<code>([^<]+)</code>`
	r = ts.page("GET", "/ui/admin/audit?limit=3", nil, admin)
	_, next, first := uiLinks(t, r.body, auditRow)
	r = ts.page("GET", next, nil, admin)
	prev, _, second := uiLinks(t, r.body, auditRow)
	if len(first) != 3 || len(second) != 3 || first[0] != "login.success" {
		t.Fatalf("audit pages %v, %v", first, second)
	}
	_, _, again := uiLinks(t, ts.page("GET", prev, nil, admin).body, auditRow)
	if fmt.Sprint(again) != fmt.Sprint(first) {
		t.Errorf("audit previous page = %v, want %v", again, first)
	}

	for _, path := range []string{"/ui/admin/users?status=asleep", "/ui/admin/users?before=zzz", "/ui/admin/audit?action=nap"} {
		wantPage(t, "GET "+path, ts.page("GET", path, nil, admin), http.StatusBadRequest)
	}
	user := ts.login("user0", goodPassword)
	wantPage(t, "users page as a user", ts.page("GET", "/ui/admin/users", nil, user), http.StatusForbidden, "admins only")
}

func TestUIAdminUserPage(t *testing.T) {
	t.Parallel()
	ts := newUIServer(t, rosterhttp.Config{})
	root, err := ts.accounts.CreateUser(context.Background(), account.Actor{},
		account.NewUser{Username: "root", Password: goodPassword, Role: account.RoleAdmin})
	if err != nil {
		t.Fatal(err)
	}
	bob := ts.signup("bob", "", goodPassword)
	admin := ts.login("root", goodPassword)
	bobToken := ts.login("bob", goodPassword)
	rootPath := fmt.Sprintf("/ui/admin/users/%d", root.ID)
	bobPath := fmt.Sprintf("/ui/admin/users/%d", bob.ID)

	wantPage(t, "last admin demotes itself", ts.page("POST", rootPath, url.Values{"status": {"active"}, "role": {"user"}}, admin),
		http.StatusConflict, "This is the last active admin")
	wantPage(t, "bad role", ts.page("POST", bobPath, url.Values{"status": {"active"}, "role": {"owner"}}, admin),
		http.StatusUnprocessableEntity, "Role must be user or admin")
	wantRedirect(t, "revoke bob's sessions", ts.page("POST", bobPath+"/sessions/revoke", url.Values{}, admin),
		bobPath+"?notice=user-sessions-revoked")
	want(t, "bob's revoked session", ts.json("GET", "/v1/me", nil, bobToken), http.StatusUnauthorized)
	wantPage(t, "delete confirmation", ts.page("GET", bobPath+"/delete", nil, admin), http.StatusOK,
		"Delete <strong>bob</strong>", fmt.Sprintf(`action="%s/delete"`, bobPath))
	wantRedirect(t, "delete bob", ts.page("POST", bobPath+"/delete", url.Values{}, admin), "/ui/admin/users?notice=user-deleted")
	wantPage(t, "deleted user's page", ts.page("GET", bobPath, nil, admin), http.StatusNotFound)
	wantPage(t, "cross-site delete", ts.page("POST", rootPath+"/delete", url.Values{}, admin, "Sec-Fetch-Site", "cross-site"),
		http.StatusForbidden, "sent from another site")
}

// TestUICodesNotEchoed: a refused reset or verification code is never written
// back into the page: the user pastes it again.
func TestUICodesNotEchoed(t *testing.T) {
	t.Parallel()
	ts := newUIServer(t, rosterhttp.Config{})
	for _, c := range []struct{ path, code string }{
		{"/ui/reset-password/confirm", "rpr_" + strings.Repeat("Q", 43)},
		{"/ui/verify-email", "rev_" + strings.Repeat("Q", 43)},
	} {
		form := url.Values{"token": {c.code}}
		if c.path == "/ui/reset-password/confirm" {
			form.Set("new_password", "short")
		}
		r := ts.page("POST", c.path, form, "")
		if r.status < 400 || strings.Contains(r.body, c.code) {
			t.Errorf("POST %s with a bad code: status %d, page contains the code: %v", c.path, r.status, strings.Contains(r.body, c.code))
		}
	}
}
