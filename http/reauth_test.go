package http_test

import (
	"encoding/json"
	"fmt"
	"net/http"
	"sync"
	"testing"
	"time"

	"roster/account/accounttest"
	rosterhttp "roster/http"
)

// TestReauthRateLimits: the routes that check the signed-in account's
// password share one budget per account and one per client address; a
// request past either gets 429 with Retry-After and costs no hash.
func TestReauthRateLimits(t *testing.T) {
	cfg := rosterhttp.Config{
		ReauthRate:       rosterhttp.Rate{Requests: 2, Per: time.Hour},
		ReauthClientRate: rosterhttp.Rate{Requests: 3, Per: time.Hour},
		TrustedProxies:   prefixes(t, "127.0.0.1"),
	}
	ts := newTestServerConfig(t, accounttest.New(t), cfg)
	tokens := map[string]string{}
	for _, u := range []string{"ann", "bob", "cid"} {
		ts.signup(u, u+"@example.com", goodPassword)
		tokens[u] = ts.login(u, goodPassword)
	}
	same := fmt.Sprintf(`{"current_password":%q,"new_password":%q}`, goodPassword, goodPassword)
	const wrong = "not the password, but long enough"
	steps := []struct {
		user, client string
		method, path string
		body         string
		status       int
		code         string
	}{
		{"ann", "203.0.113.1", "PUT", "/v1/me/password", same, 422, "password_unchanged"},
		{"ann", "203.0.113.1", "PATCH", "/v1/me", `{"email":"ann2@example.com","current_password":"` + wrong + `"}`, 403, "wrong_password"},
		{"ann", "203.0.113.1", "DELETE", "/v1/me", `{"password":"` + wrong + `"}`, 429, "rate_limited"}, // ann's 3rd
		{"bob", "203.0.113.1", "PUT", "/v1/me/password", same, 422, "password_unchanged"},               // the address's 3rd
		{"bob", "203.0.113.1", "PUT", "/v1/me/password", same, 429, "rate_limited"},                     // the address's 4th
		{"cid", "203.0.113.2", "PUT", "/v1/me/password", same, 422, "password_unchanged"},               // another address
		{"ann", "203.0.113.2", "PUT", "/v1/me/password", same, 429, "rate_limited"},                     // ann's, anywhere
	}
	for _, s := range steps {
		what := fmt.Sprintf("%s %s by %s from %s", s.method, s.path, s.user, s.client)
		runs := ts.accounts.Hasher.Runs()
		r := ts.do(s.method, s.path, "application/json", s.body,
			"Authorization", "Bearer "+tokens[s.user], "X-Forwarded-For", s.client)
		wantProblem(t, what, r, s.status, s.code)
		hashes := ts.accounts.Hasher.Runs() - runs
		if s.status == http.StatusTooManyRequests {
			if r.header.Get("Retry-After") == "" {
				t.Errorf("%s: 429 without Retry-After", what)
			}
			if hashes != 0 {
				t.Errorf("%s: refused, yet cost %d hashes", what, hashes)
			}
		} else if hashes != 1 {
			t.Errorf("%s: %d hashes, want 1 (the verify)", what, hashes)
		}
	}
	// Routes that check no password are not counted.
	want(t, "GET /v1/me past the limit", ts.json("GET", "/v1/me", nil, tokens["ann"]), http.StatusOK)
}

// TestPasswordChangeFlood is issue 20's flood: 16 clients of one account,
// each sending 10 password changes a second (to the current password),
// against other users' logins, with the default limits and production
// hashing. The flood gets 429s past its budget, costs at most one hash per
// admitted request, and leaves the others' login latency where it was.
func TestPasswordChangeFlood(t *testing.T) {
	if testing.Short() {
		t.Skip("a load test")
	}
	defaults := rosterhttp.DefaultConfig()
	ts, _ := newRealisticServer(t, rosterhttp.Config{
		ReauthRate: defaults.ReauthRate, ReauthClientRate: defaults.ReauthClientRate})
	users := []string{"ann", "bob", "cid", "dee"}
	for _, u := range users {
		ts.signup(u, "", goodPassword)
	}
	ts.signup("mallory", "", goodPassword)
	token := ts.login("mallory", goodPassword)
	body := fmt.Sprintf(`{"current_password":%q,"new_password":%q}`, goodPassword, goodPassword)

	var mu sync.Mutex
	statuses := map[string]int{}
	flood := func(stop <-chan struct{}) {
		c := plainClient()
		var wg sync.WaitGroup
		for range 16 {
			wg.Go(func() {
				tick := time.NewTicker(100 * time.Millisecond)
				defer tick.Stop()
				for {
					select {
					case <-stop:
						return
					case <-tick.C:
					}
					r := send(t, c, "PUT", ts.URL+"/v1/me/password", body, "Authorization", "Bearer "+token)
					key := fmt.Sprint(r.status)
					if r.status == http.StatusTooManyRequests {
						var p problem
						json.Unmarshal([]byte(r.body), &p)
						key += " " + p.Code
						if r.header.Get("Retry-After") == "" {
							key += " without Retry-After"
						}
					}
					mu.Lock()
					statuses[key]++
					mu.Unlock()
				}
			})
		}
		wg.Wait()
	}
	runs := ts.accounts.Hasher.Runs()
	lat := compareLogins(t, ts, users, 3, time.Second, flood)
	floodHashes := ts.accounts.Hasher.Runs() - runs - uint64(lat.nQuiet+lat.nLoaded) // a login is one verify
	t.Logf("flood answers %v, %d hashes; %s", statuses, floodHashes, lat)

	// Each request past the account's budget is a 429 rate_limited; within
	// it, one at a time is checked and the others are 429 account_busy.
	admitted := statuses["422"] + statuses["204"] + statuses["429 account_busy"]
	if limit := defaults.ReauthRate.Requests; admitted > limit || statuses["204"] > 0 {
		t.Errorf("flood: %d requests admitted (%d changes made), want at most %d and none made", admitted, statuses["204"], limit)
	}
	for key, n := range statuses {
		if key != "422" && key != "429 rate_limited" && key != "429 account_busy" {
			t.Errorf("flood: %d answers %s, want only 422, and 429 rate_limited or account_busy with Retry-After", n, key)
		}
	}
	if statuses["429 rate_limited"] == 0 {
		t.Errorf("flood: no 429 rate_limited")
	}
	if checked := uint64(statuses["422"] + statuses["204"]*2); floodHashes > checked {
		t.Errorf("flood: %d hashes for %d password checks, want one each", floodHashes, checked)
	}
	if bound := loadBound(); float64(lat.loaded) > bound*float64(lat.quiet) {
		t.Errorf("%s; want at most %.1f×", lat, bound)
	}
}
