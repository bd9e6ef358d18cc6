package http_test

import (
	"fmt"
	"maps"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"testing"
	"time"

	"roster/account"
	"roster/account/accounttest"
	rosterhttp "roster/http"
)

// failedLogins are the ways a login fails that must look alike; see
// setupFailedLogins for the accounts.
var failedLogins = []struct {
	name, username, password string
}{
	{"unknown user", "nobody", goodPassword},
	{"wrong password", "alice", "not the right password"},
	{"disabled account, right password", "dora", goodPassword},
	{"disabled account, wrong password", "dora", "not the right password"},
}

// setupFailedLogins creates the active account alice and the disabled
// account dora.
func setupFailedLogins(ts *testServer) {
	ts.t.Helper()
	ts.signup("alice", "alice@example.com", goodPassword)
	dora := ts.signup("dora", "", goodPassword)
	disabled := account.StatusDisabled
	if _, err := ts.accounts.UpdateUser(ts.t.Context(), account.Actor{}, dora.ID, account.UserChange{Status: &disabled}); err != nil {
		ts.t.Fatal(err)
	}
}

// TestLoginFailuresIdentical: an unknown account, a wrong password and a
// disabled account (with the right password or not) give the same status,
// headers and body bytes, and each costs exactly one verify.
func TestLoginFailuresIdentical(t *testing.T) {
	ts := newTestServer(t)
	setupFailedLogins(ts)
	var first response
	for i, tt := range failedLogins {
		for _, path := range []string{"/v1/sessions", "/login"} {
			runs := ts.accounts.Hasher.Runs()
			var r response
			if path == "/login" {
				r = ts.form(path, url.Values{"user": {tt.username}, "pass": {tt.password}})
			} else {
				r = ts.json("POST", path, map[string]string{"username": tt.username, "password": tt.password}, "")
			}
			if got := ts.accounts.Hasher.Runs() - runs; got != 1 {
				t.Fatalf("%s, POST %s: %d hasher runs, want 1", tt.name, path, got)
			}
			if path == "/login" {
				if r.status != http.StatusOK || r.body != "[]\n" {
					t.Fatalf("%s, POST /login: status = %d, body = %q; want 200 and []", tt.name, r.status, r.body)
				}
				continue
			}
			want(t, tt.name+", POST "+path, r, http.StatusUnauthorized)
			r.header.Del("Date")
			r.header.Del("X-Request-Id") // differs on every request by design
			if i == 0 {
				first = r
				continue
			}
			if r.body != first.body {
				t.Fatalf("%s: body = %q, want %q as for %s", tt.name, r.body, first.body, failedLogins[0].name)
			}
			if !maps.EqualFunc(r.header, first.header, slices.Equal) {
				t.Fatalf("%s: headers = %v, want %v as for %s", tt.name, r.header, first.header, failedLogins[0].name)
			}
		}
	}
}

// BenchmarkLoginFailure times each kind of failed login with real argon2id
// parameters; TestLoginFailuresIdentical shows they do the same work. Compare
// the kinds' medians with benchstat over -count runs, for example
//
//	go test -run '^$' -bench LoginFailure -count 10 ./http/ | benchstat -col /kind -
//
// (a timed assertion would be noise on a shared machine). Each attempt comes
// from its own address behind a trusted proxy and the clock moves on, so the
// throttle stays out of the way.
func BenchmarkLoginFailure(b *testing.B) {
	svc := accounttest.New(b)
	clock := accounttest.NewClock(time.Now())
	svc.Now = clock.Now
	hasher, err := account.NewHasher(account.DefaultParams, 1, time.Minute)
	if err != nil {
		b.Fatal(err)
	}
	svc.Hasher = hasher
	ts := newTestServerConfig(b, svc, rosterhttp.Config{TrustedProxies: prefixes(b, "127.0.0.0/8")})
	setupFailedLogins(ts)
	client := 0
	for _, tt := range failedLogins {
		b.Run("kind="+strings.ReplaceAll(tt.name, " ", "_"), func(b *testing.B) {
			body := fmt.Sprintf(`{"username":%q,"password":%q}`, tt.username, tt.password)
			for b.Loop() {
				clock.Advance(5 * time.Minute)
				client++
				r := ts.do("POST", "/v1/sessions", "application/json", body,
					"X-Forwarded-For", fmt.Sprintf("10.%d.%d.%d", client>>16&255, client>>8&255, client&255))
				if r.status != http.StatusUnauthorized {
					b.Fatalf("%s: status %d, want 401; body=%s", tt.name, r.status, r.body)
				}
			}
		})
	}
}
