package http_test

import (
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"testing"
	"time"

	"roster/account"
	"roster/account/accounttest"
	"roster/db"
	rosterhttp "roster/http"
)

// deviceCookie returns the value of the __Host-roster_device cookie r sets,
// failing the test unless it has the attributes a device cookie needs.
func deviceCookie(t *testing.T, what string, r response) string {
	t.Helper()
	for _, c := range r.header.Values("Set-Cookie") {
		if !strings.HasPrefix(c, "__Host-roster_device=") {
			continue
		}
		for _, attr := range []string{"__Host-roster_device=rdv_", "Path=/", "Max-Age=31536000", "HttpOnly", "Secure", "SameSite=Strict"} {
			if !strings.Contains(c, attr) {
				t.Fatalf("%s: device cookie %q lacks %s", what, c, attr)
			}
		}
		return strings.TrimPrefix(strings.SplitN(c, ";", 2)[0], "__Host-roster_device=")
	}
	t.Fatalf("%s: no device cookie in %q", what, r.header.Values("Set-Cookie"))
	return ""
}

// TestDeviceTokenHTTP: a login returns a device token (in the body, or in a
// cookie with cookie transport, which logout leaves alone); while strangers
// hold the account at its cap, so that the right password from a new address
// gets 429, the owner gets in from that address with the token in the body,
// in the cookie, or through the console, and from the address she signed up
// from with nothing. The tutorial's /login has no device token: it gets in
// from known addresses only. No 429 says the logins failed.
func TestDeviceTokenHTTP(t *testing.T) {
	accounts := accounttest.New(t)
	clock := accounttest.NewClock(time.Date(2026, 1, 1, 12, 0, 0, 0, time.UTC))
	accounts.Now = clock.Now
	ts := newTestServerConfig(t, accounts, rosterhttp.Config{UI: true, TrustedProxies: prefixes(t, "127.0.0.0/8")})
	from := func(ip string) []string { return []string{"X-Forwarded-For", ip} }
	login := func(ip string, body map[string]any, header ...string) response {
		b, err := json.Marshal(body)
		if err != nil {
			t.Fatal(err)
		}
		return ts.do("POST", "/v1/sessions", "application/json", string(b), append(from(ip), header...)...)
	}
	r := ts.do("POST", "/v1/users", "application/json",
		fmt.Sprintf(`{"username":"alice","password":%q}`, goodPassword), from("192.0.2.50")...)
	want(t, "sign-up", r, http.StatusCreated)

	r = login("198.51.100.1", map[string]any{"username": "alice", "password": goodPassword})
	want(t, "login", r, http.StatusCreated)
	res := decodeAs[struct {
		DeviceToken string `json:"device_token"`
	}](t, r)
	if !strings.HasPrefix(res.DeviceToken, account.DeviceTokenPrefix) {
		t.Fatalf("login: device_token = %q, want a device token", res.DeviceToken)
	}
	bodyToken := res.DeviceToken

	r = login("198.51.100.2", map[string]any{"username": "alice", "password": goodPassword, "cookie": true})
	want(t, "cookie login", r, http.StatusCreated)
	if strings.Contains(r.body, "device_token") {
		t.Fatalf("cookie login: body %s shows the device token to script", r.body)
	}
	cookieToken := deviceCookie(t, "cookie login", r)
	session := ts.login("alice", goodPassword)
	r = ts.json("DELETE", "/v1/sessions/current", nil, session)
	want(t, "logout", r, http.StatusNoContent)
	if c := strings.Join(r.header.Values("Set-Cookie"), "; "); strings.Contains(c, "roster_device") {
		t.Fatalf("logout touched the device cookie: %q", c)
	}

	// Strangers spend the account's budget.
	guesses := 0
	for i := range 100 {
		r := login(fmt.Sprintf("10.0.0.%d", i), map[string]any{"username": "alice", "password": "wrong password guess"})
		if r.status == http.StatusTooManyRequests {
			break
		}
		want(t, "guess", r, http.StatusUnauthorized)
		guesses++
	}
	if guesses != 30 {
		t.Fatalf("strangers' guesses verified at once = %d, want 30", guesses)
	}
	p := wantProblem(t, "right password from a new address", login("203.0.113.1", map[string]any{"username": "alice", "password": goodPassword}),
		http.StatusTooManyRequests, "login_throttled")
	if strings.Contains(p.Detail, "fail") {
		t.Errorf("429 detail %q says the logins failed", p.Detail)
	}
	want(t, "POST /login from a new address", ts.do("POST", "/login", "application/x-www-form-urlencoded",
		url.Values{"user": {"alice"}, "pass": {goodPassword}}.Encode(), from("203.0.113.1")...), http.StatusTooManyRequests)

	r = login("203.0.113.1", map[string]any{"username": "alice", "password": goodPassword, "device_token": bodyToken})
	want(t, "device_token in the body from a new address", r, http.StatusCreated)
	if got := decodeAs[struct {
		DeviceToken string `json:"device_token"`
	}](t, r).DeviceToken; got != bodyToken {
		t.Fatalf("device_token in the body: answer's device_token = %q, want the one sent", got)
	}
	r = login("203.0.113.2", map[string]any{"username": "alice", "password": goodPassword, "cookie": true},
		"Cookie", "__Host-roster_device="+cookieToken)
	want(t, "device cookie from a new address", r, http.StatusCreated)
	if got := deviceCookie(t, "device cookie login", r); got != cookieToken {
		t.Fatalf("device cookie login: cookie = %q, want the one sent", got)
	}
	r = ts.page("POST", "/ui/sign-in", url.Values{"username": {"alice"}, "password": {goodPassword}}, "",
		append(from("203.0.113.3"), "Cookie", "__Host-roster_device="+cookieToken)...)
	wantRedirect(t, "console sign-in with the device cookie from a new address", r, "/ui/account")
	deviceCookie(t, "console sign-in", r)
	want(t, "login from the sign-up address", login("192.0.2.50", map[string]any{"username": "alice", "password": goodPassword}), http.StatusCreated)
	want(t, "POST /login from the sign-up address", ts.do("POST", "/login", "application/x-www-form-urlencoded",
		url.Values{"user": {"alice"}, "pass": {goodPassword}}.Encode(), from("192.0.2.50")...), http.StatusOK)
}

// TestSignInCodeHTTP: POST /v1/sessions/codes answers the same 202 whether or
// not the account exists, and well-formed only; the code it mails (through
// the reset queue and the outbox) lets the owner's login from a new address
// past the cap as device_token, once.
func TestSignInCodeHTTP(t *testing.T) {
	accounts := accounttest.New(t)
	clock := accounttest.NewClock(time.Date(2026, 1, 1, 12, 0, 0, 0, time.UTC))
	accounts.Now = clock.Now
	ts := newTestServerConfig(t, accounts, rosterhttp.Config{TrustedProxies: prefixes(t, "127.0.0.0/8")})
	from := func(ip string) []string { return []string{"X-Forwarded-For", ip} }
	login := func(ip, device string) response {
		b, _ := json.Marshal(map[string]string{"username": "alice", "password": goodPassword, "device_token": device})
		return ts.do("POST", "/v1/sessions", "application/json", string(b), from(ip)...)
	}
	ts.signup("alice", "alice@example.com", goodPassword)

	known := ts.json("POST", "/v1/sessions/codes", map[string]string{"username": "alice"}, "")
	unknown := ts.json("POST", "/v1/sessions/codes", map[string]string{"email": "nobody@example.com"}, "")
	want(t, "code for alice", known, http.StatusAccepted)
	if known.body != unknown.body {
		t.Fatalf("code request answers differ: %s vs %s", known.body, unknown.body)
	}
	wantProblem(t, "code request with both fields", ts.json("POST", "/v1/sessions/codes",
		map[string]string{"username": "alice", "email": "alice@example.com"}, ""), http.StatusUnprocessableEntity, "validation")

	code := mailedSignInCode(t, accounts, "alice@example.com")

	for i := range 100 {
		b := `{"username":"alice","password":"wrong password guess"}`
		if r := ts.do("POST", "/v1/sessions", "application/json", b, from(fmt.Sprintf("10.0.0.%d", i))...); r.status == http.StatusTooManyRequests {
			break
		}
	}
	wantProblem(t, "right password from a new address", login("203.0.113.1", ""), http.StatusTooManyRequests, "login_throttled")
	r := login("203.0.113.1", code)
	want(t, "right password with the mailed code from a new address", r, http.StatusCreated)
	if got := decodeAs[struct {
		DeviceToken string `json:"device_token"`
	}](t, r).DeviceToken; !strings.HasPrefix(got, account.DeviceTokenPrefix) {
		t.Fatalf("login with the code: device_token = %q, want a device token", got)
	}
	wantProblem(t, "the code a second time", login("203.0.113.2", code), http.StatusTooManyRequests, "login_throttled")
}

// mailedSignInCode waits for the sign-in code mail to address in the outbox
// and returns its code.
func mailedSignInCode(t *testing.T, accounts *account.Service, address string) string {
	t.Helper()
	for deadline := time.Now().Add(10 * time.Second); ; time.Sleep(10 * time.Millisecond) {
		rows, err := accounts.Store.Read.ListOutboxMessages(t.Context(), db.ListOutboxMessagesParams{Lim: 100})
		if err != nil {
			t.Fatal(err)
		}
		for _, m := range rows {
			if m.Kind == "sign_in_code" && m.Recipient == address {
				return regexp.MustCompile(`rsc_[A-Za-z0-9_-]{43}`).FindString(m.Body)
			}
		}
		if time.Now().After(deadline) {
			t.Fatal("no sign-in code mail in the outbox")
		}
	}
}

// TestUISignInCode: the console asks for a sign-in code, then shows the
// sign-in form with a field for it; with the code and the password the owner
// signs in from a new address past the cap and gets the device cookie.
func TestUISignInCode(t *testing.T) {
	accounts := accounttest.New(t)
	ts := newTestServerConfig(t, accounts, rosterhttp.Config{UI: true, TrustedProxies: prefixes(t, "127.0.0.0/8")})
	from := func(ip string) []string { return []string{"X-Forwarded-For", ip} }
	ts.signup("alice", "alice@example.com", goodPassword)

	wantPage(t, "GET /ui/sign-in-code", ts.page("GET", "/ui/sign-in-code", nil, ""), http.StatusOK, `name="login"`)
	wantPage(t, "empty login", ts.page("POST", "/ui/sign-in-code", url.Values{"login": {""}}, ""), http.StatusUnprocessableEntity)
	r := ts.page("POST", "/ui/sign-in-code", url.Values{"login": {"alice"}}, "")
	wantRedirect(t, "POST /ui/sign-in-code", r, "/ui/sign-in?notice=code-sent")
	wantPage(t, "sign-in form after a code was sent", ts.page("GET", "/ui/sign-in?notice=code-sent", nil, ""), http.StatusOK,
		`name="code"`, "sign-in code is on its way")
	code := mailedSignInCode(t, accounts, "alice@example.com")

	for i := range 100 {
		b := `{"username":"alice","password":"wrong password guess"}`
		if r := ts.do("POST", "/v1/sessions", "application/json", b, from(fmt.Sprintf("10.0.0.%d", i))...); r.status == http.StatusTooManyRequests {
			break
		}
	}
	signIn := func(code string) response {
		return ts.page("POST", "/ui/sign-in", url.Values{"username": {"alice"}, "password": {goodPassword}, "code": {code}}, "",
			from("203.0.113.1")...)
	}
	wantPage(t, "console sign-in from a new address without the code", signIn(""), http.StatusTooManyRequests)
	r = signIn(code)
	wantRedirect(t, "console sign-in with the code", r, "/ui/account")
	deviceCookie(t, "console sign-in with the code", r)
}
