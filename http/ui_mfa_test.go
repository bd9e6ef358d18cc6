package http_test

import (
	"context"
	"net/http"
	"net/url"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"roster/account"
	"roster/account/accounttest"
	rosterhttp "roster/http"
)

// The console's security page and two-step sign-in, through the forms a
// browser without JavaScript sends.
func TestUIMFA(t *testing.T) {
	t.Parallel()
	accounttest.Run(t, testUIMFA)
}

func testUIMFA(t *testing.T, eng accounttest.Engine) {
	t.Parallel()
	ts := newMFAServer(t, eng, rosterhttp.Config{UI: true})
	ts.signup("ann", "ann@example.com", goodPassword)
	cookie := ts.login("ann", goodPassword)

	r := ts.page("GET", "/ui/account/security", nil, cookie)
	wantPage(t, "security page", r, http.StatusOK, "Off", "Set up an authenticator app")
	r = ts.page("POST", "/ui/account/security/totp", url.Values{"username": {"ann"}, "current_password": {goodPassword}}, cookie)
	wantPage(t, "start", r, http.StatusOK, `src="data:image/png;base64,`, "Turn on two-factor authentication")
	m := regexp.MustCompile(`<code class="secret">([A-Z2-7 ]+)</code>`).FindStringSubmatch(r.body)
	if m == nil {
		t.Fatalf("no secret in text on the page:\n%s", r.body)
	}
	secret := strings.ReplaceAll(m[1], " ", "")
	r = ts.page("POST", "/ui/account/security/totp/confirm", url.Values{"code": {"000000"}}, cookie)
	if ts.code(secret) != "000000" {
		wantPage(t, "confirm with a wrong code", r, http.StatusUnprocessableEntity, "is wrong, expired or already used")
	}
	r = ts.page("POST", "/ui/account/security/totp/confirm", url.Values{"code": {ts.code(secret)}}, cookie)
	wantPage(t, "confirm", r, http.StatusOK, "Two-factor authentication is on.", "shown only this once")
	codes := regexp.MustCompile(`<li><code>([a-z2-7-]{19})</code></li>`).FindAllStringSubmatch(r.body, -1)
	if len(codes) != 10 {
		t.Fatalf("%d recovery codes on the page, want 10", len(codes))
	}
	r = ts.page("GET", "/ui/account/security", nil, cookie)
	wantPage(t, "security page, on", r, http.StatusOK, "On", "10 recovery codes left")
	if strings.Contains(r.body, codes[0][1]) {
		t.Error("the recovery codes are shown again")
	}

	// Sign-in takes two steps.
	ts.clock.Advance(30 * time.Second)
	r = ts.page("POST", "/ui/sign-in", url.Values{"username": {"ann"}, "password": {goodPassword}, "next": {"/ui/account/security"}}, "")
	wantPage(t, "sign-in, first step", r, http.StatusOK, "Authenticator code", "Use a recovery code")
	if c := r.header.Get("Set-Cookie"); strings.Contains(c, "roster_session") {
		t.Fatalf("the first step set a session cookie: %q", c)
	}
	token := regexp.MustCompile(`name="mfa_token" value="(rmf_[A-Za-z0-9_-]+)"`).FindStringSubmatch(r.body)
	if token == nil {
		t.Fatalf("no mfa_token on the second step:\n%s", r.body)
	}
	step := func(fields url.Values) response {
		fields.Set("mfa_token", token[1])
		fields.Set("next", "/ui/account/security")
		return ts.page("POST", "/ui/sign-in/mfa", fields, "")
	}
	r = step(url.Values{"code": {"12345"}})
	wantPage(t, "second step, malformed code", r, http.StatusUnprocessableEntity, "is wrong, expired or already used")
	r = step(url.Values{"recovery_code": {codes[0][1]}})
	wantRedirect(t, "second step with a recovery code", r, "/ui/account/security")
	fresh := strings.TrimPrefix(strings.Split(r.header.Get("Set-Cookie"), ";")[0], "__Host-roster_session=")

	// Step-up: past the window, removing the factor asks for a code first.
	ts.clock.Advance(account.DefaultStepUpWindow + time.Second)
	r = ts.page("POST", "/ui/account/security/totp/delete", url.Values{}, fresh)
	wantRedirect(t, "remove with a stale second factor", r, "/ui/account/security?notice=step-up&next=%2Fui%2Faccount")
	r = ts.page("GET", "/ui/account/security?notice=step-up&next=%2Fui%2Faccount%2Fsecurity", nil, fresh)
	wantPage(t, "step-up form", r, http.StatusOK, "Confirm it is you")
	r = ts.page("POST", "/ui/account/security/verify", url.Values{"code": {ts.code(secret)}, "next": {"/ui/account/security"}}, fresh)
	wantRedirect(t, "step-up", r, "/ui/account/security")
	r = ts.page("POST", "/ui/account/security/totp/delete", url.Values{}, fresh)
	wantRedirect(t, "remove after the step-up", r, "/ui/account/security?notice=mfa-off")
	r = ts.page("POST", "/ui/sign-in", url.Values{"username": {"ann"}, "password": {goodPassword}}, "")
	wantRedirect(t, "sign-in after removal: one step", r, "/ui/account")
}

// An admin sees in the console whether a user has a second factor, and can
// remove every factor of a user who lost them.
func TestUIAdminMFAReset(t *testing.T) {
	t.Parallel()
	ts := newMFAServer(t, accounttest.Engines()[0], rosterhttp.Config{UI: true})
	if _, err := ts.accounts.CreateUser(context.Background(), account.Actor{}, account.NewUser{Username: "root", Password: goodPassword, Role: account.RoleAdmin}); err != nil {
		t.Fatal(err)
	}
	ann := ts.signup("ann", "ann@example.com", goodPassword)
	annToken := ts.login("ann", goodPassword)
	ts.enable(annToken)
	root := ts.login("root", goodPassword)
	path := "/ui/admin/users/" + strconv.FormatInt(ann.ID, 10)
	wantPage(t, "admin view of ann", ts.page("GET", path, nil, root), http.StatusOK, "Two-factor", "authenticator app",
		"Remove every second factor")
	r := ts.page("POST", path+"/mfa/reset", url.Values{}, root)
	wantRedirect(t, "reset", r, path+"?notice=user-mfa-reset")
	want(t, "ann's session after the reset", ts.json("GET", "/v1/me", nil, annToken), http.StatusUnauthorized)
	r = ts.page("GET", path, nil, root)
	if !strings.Contains(r.body, "<dd>off</dd>") {
		t.Errorf("admin view after the reset lacks two-factor off:\n%s", r.body)
	}
}
