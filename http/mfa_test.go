package http_test

import (
	"context"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/pquerna/otp"
	"github.com/pquerna/otp/totp"

	"roster/account"
	"roster/account/accounttest"
	rosterhttp "roster/http"
)

// mfaServer is a server whose accounts have an MFA key and a test clock.
type mfaServer struct {
	*testServer
	clock *accounttest.Clock
}

func newMFAServer(t *testing.T, eng accounttest.Engine, cfg rosterhttp.Config) *mfaServer {
	t.Helper()
	accounts := eng.New(t)
	keys, err := account.ParseMFAKeys(account.NewMFAKey())
	if err != nil {
		t.Fatal(err)
	}
	accounts.MFAKeys = keys
	clock := accounttest.NewClock(time.Now().UTC().Truncate(30 * time.Second).Add(15 * time.Second))
	accounts.Now = clock.Now
	return &mfaServer{testServer: newTestServerConfig(t, accounts, cfg), clock: clock}
}

func (ts *mfaServer) code(secret string) string {
	ts.t.Helper()
	c, err := totp.GenerateCodeCustom(secret, ts.clock.Now(), totp.ValidateOpts{Period: 30, Digits: otp.DigitsSix, Algorithm: otp.AlgorithmSHA1})
	if err != nil {
		ts.t.Fatal(err)
	}
	return c
}

// enable turns MFA on for the account of token and returns the secret and
// the recovery codes.
func (ts *mfaServer) enable(token string) (string, []string) {
	ts.t.Helper()
	r := ts.json("POST", "/v1/me/mfa/totp", map[string]string{"current_password": goodPassword}, token)
	want(ts.t, "POST /v1/me/mfa/totp", r, http.StatusCreated)
	en := decodeAs[rosterhttp.TOTPEnrollment](ts.t, r)
	r = ts.json("POST", "/v1/me/mfa/totp/confirm", map[string]string{"code": ts.code(en.Secret)}, token)
	want(ts.t, "POST /v1/me/mfa/totp/confirm", r, http.StatusOK)
	return en.Secret, decodeAs[rosterhttp.RecoveryCodes](ts.t, r).RecoveryCodes
}

// mfaLogin signs in with the password and a code, and returns the token.
func (ts *mfaServer) mfaLogin(username, secret string) string {
	ts.t.Helper()
	r := ts.json("POST", "/v1/sessions", map[string]string{"username": username, "password": goodPassword}, "")
	want(ts.t, "POST /v1/sessions (first step)", r, http.StatusOK)
	c := decodeAs[rosterhttp.MFARequired](ts.t, r)
	r = ts.json("POST", "/v1/sessions/mfa", map[string]string{"mfa_token": c.MFAToken, "code": ts.code(secret)}, "")
	want(ts.t, "POST /v1/sessions/mfa", r, http.StatusCreated)
	return decodeAs[session](ts.t, r).Token
}

func TestMFAOverHTTP(t *testing.T) {
	t.Parallel()
	accounttest.Run(t, testMFAOverHTTP)
}

func testMFAOverHTTP(t *testing.T, eng accounttest.Engine) {
	t.Parallel()
	ts := newMFAServer(t, eng, rosterhttp.Config{})
	ts.signup("alice", "alice@example.com", goodPassword)
	token := ts.login("alice", goodPassword)

	r := ts.json("GET", "/v1/me/mfa", nil, token)
	want(t, "GET /v1/me/mfa", r, http.StatusOK)
	if m := decodeAs[rosterhttp.MFAStatus](t, r); m.Enabled || m.TOTP {
		t.Fatalf("a new account's MFA = %+v", m)
	}
	r = ts.json("POST", "/v1/me/mfa/totp", map[string]string{"current_password": "not it at all, no"}, token)
	want(t, "enroll with a wrong password", r, http.StatusForbidden)
	r = ts.json("POST", "/v1/me/mfa/totp", map[string]string{"current_password": goodPassword}, token)
	want(t, "enroll", r, http.StatusCreated)
	en := decodeAs[rosterhttp.TOTPEnrollment](t, r)
	if !strings.HasPrefix(en.OTPAuthURI, "otpauth://totp/roster:alice?") || !strings.Contains(en.OTPAuthURI, "secret="+en.Secret) {
		t.Fatalf("enrollment = %+v", en)
	}
	bad := "000000"
	if bad == ts.code(en.Secret) {
		bad = "111111"
	}
	r = ts.json("POST", "/v1/me/mfa/totp/confirm", map[string]string{"code": bad}, token)
	want(t, "confirm with a wrong code", r, http.StatusUnprocessableEntity)
	if p := decodeAs[problem](t, r); p.Code != "invalid_code" {
		t.Errorf("wrong code at confirmation: code %q", p.Code)
	}
	r = ts.json("POST", "/v1/me/mfa/totp/confirm", map[string]string{"code": ts.code(en.Secret)}, token)
	want(t, "confirm", r, http.StatusOK)
	recovery := decodeAs[rosterhttp.RecoveryCodes](t, r).RecoveryCodes
	if len(recovery) != 10 {
		t.Fatalf("%d recovery codes, want 10", len(recovery))
	}
	r = ts.json("GET", "/v1/me/mfa", nil, token)
	if m := decodeAs[rosterhttp.MFAStatus](t, r); !m.Enabled || m.RecoveryCodesLeft != 10 || strings.Contains(r.body, en.Secret) {
		t.Fatalf("MFA after confirmation = %s", r.body)
	}
	r = ts.json("GET", "/v1/me/sessions", nil, token)
	list := decodeAs[rosterhttp.SessionList](t, r)
	if len(list.Sessions) != 1 || list.Sessions[0].AAL != "aal2" || strings.Join(list.Sessions[0].Methods, ",") != "pwd,totp" {
		t.Fatalf("sessions after confirmation = %s, want the current one aal2 by pwd,totp", r.body)
	}

	// Two-step login.
	ts.clock.Advance(30 * time.Second)
	r = ts.json("POST", "/v1/sessions", map[string]string{"username": "alice", "password": goodPassword}, "")
	want(t, "first step", r, http.StatusOK)
	if strings.Contains(r.body, `"token"`) {
		t.Fatalf("the first step answered a session token: %s", r.body)
	}
	c := decodeAs[rosterhttp.MFARequired](t, r)
	if !c.MFARequired || !strings.HasPrefix(c.MFAToken, "rmf_") || len(c.Methods) == 0 || c.ExpiresAt.IsZero() {
		t.Fatalf("first step = %s", r.body)
	}
	r = ts.json("POST", "/v1/sessions/mfa", map[string]string{"mfa_token": c.MFAToken, "code": bad}, "")
	want(t, "second step with a wrong code", r, http.StatusUnauthorized)
	if p := decodeAs[problem](t, r); p.Code != "invalid_code" {
		t.Errorf("wrong code at login: code %q", p.Code)
	}
	r = ts.json("POST", "/v1/sessions/mfa", map[string]string{"mfa_token": c.MFAToken, "code": ts.code(en.Secret)}, "")
	want(t, "second step", r, http.StatusCreated)
	fresh := decodeAs[session](t, r).Token
	r = ts.json("POST", "/v1/sessions/mfa", map[string]string{"mfa_token": c.MFAToken, "code": ts.code(en.Secret)}, "")
	want(t, "a used challenge", r, http.StatusBadRequest)
	r = ts.json("POST", "/v1/sessions/mfa", map[string]string{"mfa_token": c.MFAToken}, "")
	want(t, "second step without a code", r, http.StatusBadRequest)

	// The tutorial's form login never answers [[id]] on the password alone.
	r = ts.form("/login", url.Values{"user": {"alice"}, "pass": {goodPassword}})
	want(t, "POST /login", r, http.StatusForbidden)
	if strings.Contains(r.body, "[[") || strings.Count(strings.TrimSpace(r.body), "\n") != 0 {
		t.Errorf("POST /login for an MFA account = %q, want one line", r.body)
	}

	// Step-up: a sensitive change needs a recent second factor.
	ts.clock.Advance(account.DefaultStepUpWindow + time.Second)
	change := map[string]string{"current_password": goodPassword, "new_password": goodPassword + " but newer"}
	r = ts.json("PUT", "/v1/me/password", change, fresh)
	want(t, "password change with a stale second factor", r, http.StatusForbidden)
	if p := decodeAs[problem](t, r); p.Code != "step_up_required" {
		t.Fatalf("stale step-up: code %q", p.Code)
	}
	for _, route := range []struct{ method, path string }{
		{"DELETE", "/v1/me/mfa/totp"}, {"POST", "/v1/me/mfa/recovery-codes"}, {"DELETE", "/v1/me"},
	} {
		r = ts.json(route.method, route.path, map[string]string{"password": goodPassword}, fresh)
		want(t, route.method+" "+route.path+" with a stale second factor", r, http.StatusForbidden)
	}
	r = ts.json("POST", "/v1/me/mfa/verify", map[string]string{"recovery_code": recovery[0]}, fresh)
	want(t, "step-up with a recovery code", r, http.StatusNoContent)
	r = ts.json("POST", "/v1/me/mfa/recovery-codes", nil, fresh)
	want(t, "new recovery codes after the step-up", r, http.StatusOK)
	r = ts.json("PUT", "/v1/me/password", change, fresh)
	want(t, "password change after the step-up", r, http.StatusNoContent)
}

func TestMFAAdmin(t *testing.T) {
	t.Parallel()
	accounttest.Run(t, testMFAAdmin)
}

func testMFAAdmin(t *testing.T, eng accounttest.Engine) {
	t.Parallel()
	ctx := context.Background()
	ts := newMFAServer(t, eng, rosterhttp.Config{RequireMFAForAdmins: true})
	if _, err := ts.accounts.CreateUser(ctx, account.Actor{}, account.NewUser{Username: "root", Password: goodPassword, Role: account.RoleAdmin}); err != nil {
		t.Fatal(err)
	}
	alice := ts.signup("alice", "alice@example.com", goodPassword)
	aliceSecret, _ := ts.enable(ts.login("alice", goodPassword))
	ts.clock.Advance(30 * time.Second)
	aliceToken := ts.mfaLogin("alice", aliceSecret)

	root := ts.login("root", goodPassword)
	r := ts.json("GET", "/v1/admin/users", nil, root)
	want(t, "admin route for an admin without MFA, -require-mfa-for-admins", r, http.StatusForbidden)
	if p := decodeAs[problem](t, r); p.Code != "mfa_required" {
		t.Fatalf("admin without MFA: code %q", p.Code)
	}
	rootSecret, _ := ts.enable(root)
	r = ts.json("GET", fmt.Sprintf("/v1/admin/users/%d", alice.ID), nil, root)
	want(t, "admin view of alice", r, http.StatusOK)
	if !strings.Contains(r.body, `"mfa_enabled":true`) || strings.Contains(r.body, aliceSecret) {
		t.Fatalf("admin view of alice = %s, want mfa_enabled true and no secret", r.body)
	}
	// Admin routes need a recent second factor too.
	ts.clock.Advance(account.DefaultStepUpWindow + 30*time.Second)
	r = ts.json("GET", "/v1/admin/users", nil, root)
	want(t, "admin route with a stale second factor", r, http.StatusForbidden)
	r = ts.json("POST", "/v1/me/mfa/verify", map[string]string{"code": ts.code(rootSecret)}, root)
	want(t, "admin step-up", r, http.StatusNoContent)

	r = ts.json("DELETE", fmt.Sprintf("/v1/admin/users/%d/mfa", alice.ID), nil, root)
	want(t, "DELETE /v1/admin/users/{id}/mfa", r, http.StatusNoContent)
	r = ts.json("GET", "/v1/me", nil, aliceToken)
	want(t, "alice's session after the reset", r, http.StatusUnauthorized)
	r = ts.json("GET", fmt.Sprintf("/v1/admin/users/%d", alice.ID), nil, root)
	if !strings.Contains(r.body, `"mfa_enabled":false`) {
		t.Fatalf("admin view after the reset = %s", r.body)
	}
	r = ts.json("DELETE", fmt.Sprintf("/v1/admin/users/%d/mfa", alice.ID), nil, root)
	want(t, "resetting an account without MFA", r, http.StatusConflict)
	ts.login("alice", goodPassword) // one step again
}

func TestMFAUnavailableWithoutAKey(t *testing.T) {
	t.Parallel()
	ts := newTestServer(t)
	ts.signup("bob", "", goodPassword)
	token := ts.login("bob", goodPassword)
	r := ts.json("POST", "/v1/me/mfa/totp", map[string]string{"current_password": goodPassword}, token)
	want(t, "enroll without an MFA key", r, http.StatusNotImplemented)
	if p := decodeAs[problem](t, r); p.Code != "mfa_unavailable" {
		t.Errorf("code %q, want mfa_unavailable", p.Code)
	}
}
