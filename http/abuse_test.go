package http_test

import (
	"fmt"
	"io"
	"net/http"
	"net/netip"
	"net/url"
	"strings"
	"testing"
	"time"

	"roster/account"
	"roster/account/accounttest"
	rosterhttp "roster/http"
)

func prefixes(t testing.TB, s string) rosterhttp.Prefixes {
	t.Helper()
	var p rosterhttp.Prefixes
	if err := p.Set(s); err != nil {
		t.Fatal(err)
	}
	return p
}

// wantProblem fails the test unless r is a problem+json with status and code.
func wantProblem(t testing.TB, what string, r response, status int, code string) problem {
	t.Helper()
	want(t, what, r, status)
	if ct := r.header.Get("Content-Type"); ct != "application/problem+json" {
		t.Fatalf("%s: Content-Type = %q, want application/problem+json; body=%s", what, ct, r.body)
	}
	p := decodeAs[problem](t, r)
	if p.Code != code {
		t.Fatalf("%s: code = %q, want %q; body=%s", what, p.Code, code, r.body)
	}
	return p
}

// TestClientIP: X-Forwarded-For is read right to left, only from a trusted
// proxy; the client IP the server settled on is stored with the session.
func TestClientIP(t *testing.T) {
	tests := []struct {
		name    string
		trusted string
		xff     []string
		want    string
	}{
		{"untrusted peer, spoofed header", "", []string{"203.0.113.7"}, "127.0.0.1"},
		{"trusted peer", "127.0.0.0/8", []string{"203.0.113.7"}, "203.0.113.7"},
		{"client-supplied entries on the left are ignored", "127.0.0.0/8", []string{"198.51.100.1, 203.0.113.7"}, "203.0.113.7"},
		{"trusted hops are skipped", "127.0.0.0/8,10.0.0.0/8", []string{"203.0.113.7, 10.1.2.3"}, "203.0.113.7"},
		{"garbage left of the client", "127.0.0.1", []string{"not-an-ip, 203.0.113.7"}, "203.0.113.7"},
		{"garbage in a trusted position stops the walk", "127.0.0.1", []string{"203.0.113.7, not-an-ip"}, "127.0.0.1"},
		{"several headers", "127.0.0.1", []string{"198.51.100.1", "203.0.113.7"}, "203.0.113.7"},
		{"IPv6", "127.0.0.1", []string{"2001:db8::1"}, "2001:db8::1"},
		{"no header from a trusted peer", "127.0.0.1", nil, "127.0.0.1"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			ts := newTestServerConfig(t, accounttest.New(t), rosterhttp.Config{TrustedProxies: prefixes(t, tt.trusted)})
			ts.signup("alice", "", goodPassword)
			req, _ := http.NewRequest("POST", ts.URL+"/v1/sessions",
				strings.NewReader(`{"username":"alice","password":"`+goodPassword+`"}`))
			req.Header.Set("Content-Type", "application/json")
			for _, v := range tt.xff {
				req.Header.Add("X-Forwarded-For", v)
			}
			res, err := ts.Client().Do(req)
			if err != nil {
				t.Fatal(err)
			}
			b, err := io.ReadAll(res.Body)
			res.Body.Close()
			if err != nil {
				t.Fatal(err)
			}
			r := response{status: res.StatusCode, header: res.Header, body: string(b)}
			want(t, "POST /v1/sessions", r, http.StatusCreated)
			s := decodeAs[session](t, r)
			row, err := ts.accounts.Store.Read.GetSessionWithUser(t.Context(), account.HashToken(s.Token))
			if err != nil {
				t.Fatal(err)
			}
			if row.Session.Ip != tt.want {
				t.Fatalf("client IP = %q, want %q", row.Session.Ip, tt.want)
			}
		})
	}
}

// TestRateLimits: sign-up and login routes are limited per client IP, the
// JSON and tutorial routes of each share one budget, a spoofed
// X-Forwarded-For from an untrusted peer buys nothing, and behind a trusted
// proxy each client has its own budget.
func TestRateLimits(t *testing.T) {
	rate := rosterhttp.Rate{Requests: 2, Per: time.Hour}
	cfg := rosterhttp.Config{SignupRate: rate, LoginRate: rate}
	signupJSON := func(ts *testServer, n int, h ...string) response {
		body := fmt.Sprintf(`{"username":"user%d","password":%q}`, n, goodPassword)
		return ts.do("POST", "/v1/users", "application/json", body, h...)
	}
	signupForm := func(ts *testServer, n int, h ...string) response {
		body := url.Values{"user": {fmt.Sprint("form", n)}, "pass": {goodPassword}}.Encode()
		return ts.do("POST", "/add", "application/x-www-form-urlencoded", body, h...)
	}
	loginJSON := func(ts *testServer, n int, h ...string) response {
		return ts.do("POST", "/v1/sessions", "application/json", `{"username":"nobody","password":"wrong password here"}`, h...)
	}
	loginForm := func(ts *testServer, n int, h ...string) response {
		return ts.do("POST", "/login", "application/x-www-form-urlencoded", "user=nobody&pass=wrong", h...)
	}
	tests := []struct {
		name        string
		first, then func(ts *testServer, n int, h ...string) response
	}{
		{"sign-up", signupJSON, signupForm},
		{"login", loginJSON, loginForm},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			ts := newTestServerConfig(t, accounttest.New(t), cfg)
			if r := tt.first(ts, 1); r.status == http.StatusTooManyRequests {
				t.Fatalf("first request: status 429; body=%s", r.body)
			}
			if r := tt.then(ts, 2); r.status == http.StatusTooManyRequests {
				t.Fatalf("second request: status 429; body=%s", r.body)
			}
			for i, r := range []response{tt.first(ts, 3), tt.then(ts, 4), tt.first(ts, 5, "X-Forwarded-For", "203.0.113.9")} {
				what := fmt.Sprintf("request %d over the limit", i+3)
				if r.header.Get("Retry-After") == "" {
					t.Fatalf("%s: no Retry-After; body=%s", what, r.body)
				}
				if i == 1 { // the tutorial's form route answers in one line of text
					want(t, what, r, http.StatusTooManyRequests)
					if !strings.HasPrefix(r.header.Get("Content-Type"), "text/plain") || strings.Count(r.body, "\n") != 1 {
						t.Fatalf("%s: %q %q, want a one-line text reason", what, r.header.Get("Content-Type"), r.body)
					}
					continue
				}
				wantProblem(t, what, r, http.StatusTooManyRequests, "rate_limited")
			}

			cfg := cfg
			cfg.TrustedProxies = prefixes(t, "127.0.0.0/8")
			ts = newTestServerConfig(t, accounttest.New(t), cfg)
			for n := range 4 {
				client := fmt.Sprintf("203.0.113.%d", n)
				for i := range 2 {
					if r := tt.first(ts, 10*n+i, "X-Forwarded-For", client); r.status == http.StatusTooManyRequests {
						t.Fatalf("client %s, request %d behind a trusted proxy: status 429; body=%s", client, i+1, r.body)
					}
				}
				wantProblem(t, "client "+client+" over the limit", tt.first(ts, 10*n+2, "X-Forwarded-For", client),
					http.StatusTooManyRequests, "rate_limited")
			}
		})
	}
}

// TestLoginThrottleHTTP: after five failures for one account from one
// address, both login routes answer 429 with Retry-After and hash nothing,
// the same for an existing and an unknown account.
func TestLoginThrottleHTTP(t *testing.T) {
	// A clock that stands still: on the real one, the 1 s wait may end
	// between the attempts that must find it.
	accounts := accounttest.New(t)
	clock := accounttest.NewClock(time.Date(2026, 1, 1, 12, 0, 0, 0, time.UTC))
	accounts.Now = clock.Now
	ts := newTestServerWith(t, accounts)
	ts.signup("alice", "", goodPassword)
	var bodies []string
	for _, login := range []string{"alice", "nobody"} {
		for i := range 5 {
			r := ts.json("POST", "/v1/sessions", map[string]string{"username": login, "password": "wrong password " + login}, "")
			wantProblem(t, fmt.Sprintf("%s: failure %d", login, i+1), r, http.StatusUnauthorized, "invalid_credentials")
		}
		runs := ts.accounts.Hasher.Runs()
		r := ts.json("POST", "/v1/sessions", map[string]string{"username": login, "password": goodPassword}, "")
		wantProblem(t, login+": sixth attempt", r, http.StatusTooManyRequests, "login_throttled")
		if got := r.header.Get("Retry-After"); got != "1" {
			t.Fatalf("%s: Retry-After = %q, want 1", login, got)
		}
		bodies = append(bodies, r.body)
		f := ts.form("/login", url.Values{"user": {login}, "pass": {goodPassword}})
		want(t, "POST /login while throttled", f, http.StatusTooManyRequests)
		if f.header.Get("Retry-After") == "" {
			t.Fatalf("POST /login while throttled: no Retry-After; body=%s", f.body)
		}
		if got := ts.accounts.Hasher.Runs(); got != runs {
			t.Fatalf("%s: throttled attempts ran the hasher %d times", login, got-runs)
		}
	}
	if bodies[0] != bodies[1] {
		t.Fatalf("throttled answers differ between an account and no account:\n%s\n%s", bodies[0], bodies[1])
	}
}

// TestInputLimits: oversized bodies get 413, over-long passwords 422 without
// hashing, and malformed JSON or forms a 4xx, never a 500.
func TestInputLimits(t *testing.T) {
	ts := newTestServer(t)
	token := func() string {
		ts.signup("alice", "", goodPassword)
		return ts.login("alice", goodPassword)
	}()
	pad := func(n int) string { return strings.Repeat("a", n) }
	long := strings.Repeat("é", account.MaxPasswordLen+1)
	tests := []struct {
		name, method, path, ctype, body string
		status                          int
		code                            string
	}{
		{"JSON sign-up over 16 KiB", "POST", "/v1/users", "application/json", `{"username":"` + pad(17<<10) + `"}`, 413, "too_large"},
		{"JSON login over 16 KiB", "POST", "/v1/sessions", "application/json", `{"username":"` + pad(17<<10) + `"}`, 413, "too_large"},
		{"form sign-up over 16 KiB", "POST", "/add", "application/x-www-form-urlencoded", "user=" + pad(17<<10), 413, ""},
		{"form login over 16 KiB", "POST", "/login", "application/x-www-form-urlencoded", "user=" + pad(17<<10), 413, ""},
		{"other route over 64 KiB", "DELETE", "/v1/sessions/current", "application/json", pad(65 << 10), 413, "too_large"},
		{"unknown route over 64 KiB", "POST", "/v1/nothing", "application/json", pad(65 << 10), 413, "too_large"},
		{"password over 256 characters at sign-up", "POST", "/v1/users", "application/json", `{"username":"bob","password":"` + long + `"}`, 422, "password_too_long"},
		{"password over 256 characters at login", "POST", "/v1/sessions", "application/json", `{"username":"alice","password":"` + long + `"}`, 422, "password_too_long"},
		{"password over 256 characters, tutorial", "POST", "/login", "application/x-www-form-urlencoded", "user=alice&pass=" + url.QueryEscape(long), 422, ""},
		{"unknown field", "POST", "/v1/users", "application/json", `{"username":"bob","password":"x","role":"admin"}`, 400, "malformed"},
		{"duplicate field", "POST", "/v1/sessions", "application/json", `{"username":"bob","username":"alice","password":"x"}`, 400, "malformed"},
		{"trailing data", "POST", "/v1/sessions", "application/json", `{"username":"alice","password":"x"} {}`, 400, "malformed"},
		{"not an object", "POST", "/v1/sessions", "application/json", `["alice"]`, 400, "malformed"},
		{"truncated", "POST", "/v1/sessions", "application/json", `{"username":"ali`, 400, "malformed"},
		{"wrong type", "POST", "/v1/sessions", "application/json", `{"username":5,"password":"x"}`, 422, "wrong_type"},
		{"wrong type, nested", "POST", "/v1/users", "application/json", `{"username":{"a":1}}`, 422, "wrong_type"},
		{"wrong content type", "POST", "/v1/sessions", "text/plain", `{"username":"alice"}`, 415, "unsupported_media_type"},
		{"form: unknown field", "POST", "/add", "application/x-www-form-urlencoded", "user=bob&pass=x&role=admin", 400, ""},
		{"form: duplicate field", "POST", "/login", "application/x-www-form-urlencoded", "user=bob&user=alice&pass=x", 400, ""},
		{"form: malformed", "POST", "/login", "application/x-www-form-urlencoded", "user=%zz&pass=x", 400, ""},
		{"form: wrong content type", "POST", "/login", "application/json", `{}`, 415, ""},
		{"form: multipart without boundary", "POST", "/add", "multipart/form-data", "--x--", 400, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			runs := ts.accounts.Hasher.Runs()
			r := ts.do(tt.method, tt.path, tt.ctype, tt.body, "Authorization", "Bearer "+token)
			what := tt.method + " " + tt.path
			if tt.code != "" {
				wantProblem(t, what, r, tt.status, tt.code)
			} else {
				want(t, what, r, tt.status)
			}
			if got := ts.accounts.Hasher.Runs(); got != runs {
				t.Fatalf("%s: refused input ran the hasher %d times", what, got-runs)
			}
		})
	}
}

// TestPasswordQuality: common passwords and passwords containing the
// username or the email's local part are refused with a 422 naming the rule.
func TestPasswordQuality(t *testing.T) {
	svc := accounttest.New(t)
	svc.Policy, _ = account.NewPolicy(account.FloorMinPasswordLen)
	ts := newTestServerWith(t, svc)
	tests := []struct {
		username, email, password, code string
	}{
		{"alice", "", "password123", "password_common"},
		{"alice", "", "PassWord123", "password_common"},
		{"alice", "", "1qaz2wsx3edc4rfv", "password_common"},
		{"alice", "", "trustno1", "password_common"},
		{"margaret", "", "my name is Margaret!", "password_contains_username"},
		{"bob", "thatcher@example.com", "hello THATCHER how are you", "password_contains_email"},
	}
	for _, tt := range tests {
		r := ts.json("POST", "/v1/users", map[string]string{"username": tt.username, "email": tt.email, "password": tt.password}, "")
		p := wantProblem(t, "POST /v1/users with "+tt.password, r, http.StatusUnprocessableEntity, tt.code)
		if len(p.Errors) != 1 || p.Errors[0].Field != "password" {
			t.Fatalf("POST /v1/users with %s: errors = %+v, want one for field password", tt.password, p.Errors)
		}
		f := ts.form("/add", url.Values{"user": {tt.username}, "email": {tt.email}, "pass": {tt.password}})
		want(t, "POST /add with "+tt.password, f, http.StatusUnprocessableEntity)
	}
	ts.signup("alice", "", "an uncommon passphrase")
}

// TestSecurityHeaders: every answer, success or failure, carries them.
func TestSecurityHeaders(t *testing.T) {
	ts := newTestServer(t)
	ts.signup("alice", "", goodPassword)
	responses := map[string]response{
		"201":         ts.json("POST", "/v1/sessions", map[string]string{"username": "alice", "password": goodPassword}, ""),
		"401":         ts.json("GET", "/v1/me", nil, ""),
		"404":         ts.json("GET", "/nothing", nil, ""),
		"405":         ts.json("PUT", "/v1/sessions", nil, ""),
		"415":         ts.do("POST", "/v1/users", "text/plain", "x"),
		"413":         ts.do("POST", "/v1/users", "application/json", strings.Repeat(" ", 70<<10)),
		"form 200":    ts.form("/login", url.Values{"user": {"alice"}, "pass": {goodPassword}}),
		"healthz 200": ts.json("GET", "/healthz", nil, ""),
	}
	wantHeaders := map[string]string{
		"X-Content-Type-Options":  "nosniff",
		"Cache-Control":           "no-store",
		"Referrer-Policy":         "no-referrer",
		"Content-Security-Policy": "frame-ancestors 'none'",
	}
	for name, r := range responses {
		for h, v := range wantHeaders {
			if got := r.header.Get(h); got != v {
				t.Errorf("%s answer: %s = %q, want %q", name, h, got, v)
			}
		}
	}
}

// TestCookieSession: "cookie": true sets a __Host- cookie with the right
// flags and no token in the body, beside the device cookie (see
// TestDeviceTokenHTTP); the cookie authenticates, cross-origin
// state-changing cookie requests are refused, and logout clears it.
func TestCookieSession(t *testing.T) {
	ts := newTestServer(t)
	ts.signup("alice", "", goodPassword)
	body := `{"username":"alice","password":"` + goodPassword + `","cookie":true}`

	r := ts.do("POST", "/v1/sessions", "application/json", body, "Sec-Fetch-Site", "cross-site")
	wantProblem(t, "cross-site POST /v1/sessions with cookie", r, http.StatusForbidden, "cross_origin")

	r = ts.do("POST", "/v1/sessions", "application/json", body, "Sec-Fetch-Site", "same-origin")
	want(t, "POST /v1/sessions with cookie", r, http.StatusCreated)
	if s := decodeAs[session](t, r); s.Token != "" {
		t.Fatalf("POST /v1/sessions with cookie: token in the body: %s", r.body)
	}
	cookies := (&http.Response{Header: r.header}).Cookies()
	if len(cookies) != 2 || cookies[1].Name != "__Host-roster_device" {
		t.Fatalf("POST /v1/sessions with cookie: Set-Cookie = %q, want the session and the device cookie", r.header.Values("Set-Cookie"))
	}
	c := cookies[0]
	if c.Name != "__Host-roster_session" || !c.Secure || !c.HttpOnly || c.SameSite != http.SameSiteLaxMode ||
		c.Path != "/" || c.Domain != "" || !account.ValidToken(c.Value) {
		t.Fatalf("session cookie = %q, want __Host-roster_session=<token>; Path=/; Secure; HttpOnly; SameSite=Lax", r.header.Get("Set-Cookie"))
	}
	cookie := "__Host-roster_session=" + c.Value

	want(t, "GET /v1/me with the cookie", ts.do("GET", "/v1/me", "", "", "Cookie", cookie), http.StatusOK)
	want(t, "cross-site GET /v1/me with the cookie", ts.do("GET", "/v1/me", "", "", "Cookie", cookie, "Sec-Fetch-Site", "cross-site"), http.StatusOK)
	for _, h := range [][]string{
		{"Sec-Fetch-Site", "cross-site"},
		{"Sec-Fetch-Site", "same-site"},
		{"Origin", "https://evil.example"},
	} {
		r := ts.do("DELETE", "/v1/sessions/current", "", "", "Cookie", cookie, h[0], h[1])
		wantProblem(t, "DELETE /v1/sessions/current with the cookie and "+strings.Join(h, ": "), r, http.StatusForbidden, "cross_origin")
	}
	r = ts.do("DELETE", "/v1/sessions/current", "", "", "Cookie", cookie, "Sec-Fetch-Site", "same-origin")
	want(t, "same-origin DELETE /v1/sessions/current", r, http.StatusNoContent)
	cleared := (&http.Response{Header: r.header}).Cookies()
	if len(cleared) != 1 || cleared[0].Name != "__Host-roster_session" || cleared[0].MaxAge >= 0 || cleared[0].Value != "" {
		t.Fatalf("logout: Set-Cookie = %q, want the session cookie cleared", r.header.Values("Set-Cookie"))
	}
	want(t, "GET /v1/me after logout", ts.do("GET", "/v1/me", "", "", "Cookie", cookie), http.StatusUnauthorized)
}

// TestCORS: only configured origins get CORS headers, never with credentials.
func TestCORS(t *testing.T) {
	var origins rosterhttp.Origins
	if err := origins.Set("https://app.example"); err != nil {
		t.Fatal(err)
	}
	for _, bad := range []string{"*", "https://*.example", "app.example", "https://app.example/path"} {
		if err := new(rosterhttp.Origins).Set(bad); err == nil {
			t.Errorf("Origins.Set(%q) = nil, want an error", bad)
		}
	}
	configured := newTestServerConfig(t, accounttest.New(t), rosterhttp.Config{CORSOrigins: origins})
	unconfigured := newTestServer(t)
	preflight := []string{"Origin", "", "Access-Control-Request-Method", "POST", "Access-Control-Request-Headers", "content-type"}
	tests := []struct {
		ts     *testServer
		origin string
		allow  bool
	}{
		{configured, "https://app.example", true},
		{configured, "https://evil.example", false},
		{unconfigured, "https://app.example", false},
	}
	for _, tt := range tests {
		preflight[1] = tt.origin
		for _, r := range []response{
			tt.ts.do("OPTIONS", "/v1/sessions", "", "", preflight...),
			tt.ts.do("GET", "/healthz", "", "", "Origin", tt.origin),
		} {
			got := r.header.Get("Access-Control-Allow-Origin")
			if tt.allow && got != tt.origin || !tt.allow && got != "" {
				t.Errorf("origin %s: Access-Control-Allow-Origin = %q (allowed: %v)", tt.origin, got, tt.allow)
			}
			if c := r.header.Get("Access-Control-Allow-Credentials"); c != "" {
				t.Errorf("origin %s: Access-Control-Allow-Credentials = %q, want none", tt.origin, c)
			}
		}
	}
}

func TestPrefixesSet(t *testing.T) {
	p := prefixes(t, "10.0.0.0/8, 192.0.2.7 ,2001:db8::/32")
	want := []netip.Prefix{netip.MustParsePrefix("10.0.0.0/8"), netip.MustParsePrefix("192.0.2.7/32"), netip.MustParsePrefix("2001:db8::/32")}
	if fmt.Sprint([]netip.Prefix(p)) != fmt.Sprint(want) {
		t.Fatalf("Prefixes = %v, want %v", p, want)
	}
	if err := new(rosterhttp.Prefixes).Set("10.0.0.0/33"); err == nil {
		t.Fatal("Prefixes.Set(10.0.0.0/33) = nil, want an error")
	}
}
