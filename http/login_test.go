package http_test

import (
	"fmt"
	"maps"
	"math/rand/v2"
	"net/http"
	"net/url"
	"slices"
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

// TestLoginTimingMedians: with real argon2id parameters the failed logins
// take the same time: their medians over many interleaved runs differ by
// under 10%. Skipping the dummy verify would make one of them about 100
// times faster. A shared machine can slow one measurement, so the test
// fails only if three measurements in a row miss the bound. Each attempt
// comes from its own address, behind a trusted proxy, and the clock moves
// on, so the throttle stays out of the way.
func TestLoginTimingMedians(t *testing.T) {
	if testing.Short() {
		t.Skip("hashes with real parameters")
	}
	svc := accounttest.New(t)
	clock := accounttest.NewClock(time.Now())
	svc.Now = clock.Now
	hasher, err := account.NewHasher(account.DefaultParams, 1, time.Minute)
	if err != nil {
		t.Fatal(err)
	}
	svc.Hasher = hasher
	ts := newTestServerConfig(t, svc, rosterhttp.Config{TrustedProxies: prefixes(t, "127.0.0.0/8")})
	setupFailedLogins(ts)

	client := 0
	measure := func() (medians []time.Duration) {
		const runs = 31
		durations := make([][]time.Duration, len(failedLogins))
		for range runs {
			// A random order each round keeps garbage collection, which runs
			// every few hashes, from landing on one kind of failure more often.
			for _, j := range rand.Perm(len(failedLogins)) {
				tt := failedLogins[j]
				clock.Advance(5 * time.Minute)
				client++
				body := fmt.Sprintf(`{"username":%q,"password":%q}`, tt.username, tt.password)
				start := time.Now()
				r := ts.do("POST", "/v1/sessions", "application/json", body,
					"X-Forwarded-For", fmt.Sprintf("10.0.%d.%d", client/256, client%256))
				durations[j] = append(durations[j], time.Since(start))
				want(t, tt.name, r, http.StatusUnauthorized)
			}
		}
		for j, d := range durations {
			slices.Sort(d)
			medians = append(medians, d[len(d)/2])
			t.Logf("%s: median %s over %d runs", failedLogins[j].name, d[len(d)/2], runs)
		}
		return medians
	}
	var diff float64
	for range 3 {
		medians := measure()
		lo, hi := slices.Min(medians), slices.Max(medians)
		if diff = float64(hi-lo) / float64(lo); diff < 0.10 {
			return
		}
	}
	t.Fatalf("failed-login medians differ by %.0f%% three times in a row, want under 10%%", 100*diff)
}
