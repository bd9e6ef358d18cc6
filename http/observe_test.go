package http_test

import (
	"bytes"
	"encoding/json"
	"fmt"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"testing"

	"roster/account/accounttest"
	"roster/db"
	rosterhttp "roster/http"
)

// syncBuffer is a log destination safe for the server's goroutines.
type syncBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

// loggedServer is a test server whose JSON logs are kept for inspection.
func loggedServer(t *testing.T, cfg rosterhttp.Config) (*testServer, *rosterhttp.Server, *syncBuffer) {
	t.Helper()
	logs := &syncBuffer{}
	accounts := accounttest.New(t)
	srv := rosterhttp.NewServer(accounts, slog.New(slog.NewJSONHandler(logs, nil)), cfg)
	hs := httptest.NewServer(srv)
	t.Cleanup(hs.Close)
	validateResponses(t, hs.Client())
	return &testServer{Server: hs, accounts: accounts, t: t}, srv, logs
}

// logLines decodes every JSON log line.
func logLines(t *testing.T, logs *syncBuffer) []map[string]any {
	t.Helper()
	var lines []map[string]any
	for _, l := range strings.Split(strings.TrimSpace(logs.String()), "\n") {
		var m map[string]any
		if err := json.Unmarshal([]byte(l), &m); err != nil {
			t.Fatalf("log line %q is not JSON: %v", l, err)
		}
		lines = append(lines, m)
	}
	return lines
}

// TestAccessLogAndSecrets drives a full flow, then checks that each request
// left exactly one access line carrying its X-Request-Id, and that no log line
// holds the password, the session token or the stored hash.
func TestAccessLogAndSecrets(t *testing.T) {
	ts, _, logs := loggedServer(t, rosterhttp.Config{})
	const password = "a very secret passphrase indeed"
	u := ts.signup("ann", "ann@example.com", password)
	token := ts.login("ann", password)
	type request struct {
		r      response
		route  string
		userID bool
	}
	reqs := []request{
		{ts.json("GET", "/v1/me", nil, token), "/v1/me", true},
		{ts.json("POST", "/v1/sessions", map[string]string{"username": "ann", "password": password + "x"}, ""), "/v1/sessions", false},
		{ts.form("/login", url.Values{"user": {"ann"}, "pass": {password}}), "/login", false},
		{ts.json("GET", "/v1/nope", nil, token), "/v1/*", false},
		{ts.json("DELETE", "/v1/sessions/current", nil, token), "/v1/sessions/current", true},
		{ts.json("GET", "/v1/me", nil, token), "/v1/me", false},
	}
	stored, err := ts.accounts.Store.Read.GetUser(t.Context(), u.ID)
	if err != nil {
		t.Fatal(err)
	}

	text := logs.String()
	for name, secret := range map[string]string{"password": password, "token": token, "password hash": stored.PasswordHash} {
		if strings.Contains(text, secret) {
			t.Errorf("the logs contain the %s:\n%s", name, text)
		}
	}

	byID := map[string][]map[string]any{}
	for _, l := range logLines(t, logs) {
		if l["msg"] == "request" {
			id, _ := l["request_id"].(string)
			byID[id] = append(byID[id], l)
		}
	}
	for _, req := range reqs {
		id := req.r.header.Get("X-Request-Id")
		lines := byID[id]
		if id == "" || len(lines) != 1 {
			t.Errorf("request %q (%s): %d access lines, want 1", id, req.route, len(lines))
			continue
		}
		l := lines[0]
		if l["route"] != req.route || l["status"] != float64(req.r.status) || l["client_ip"] != "127.0.0.1" {
			t.Errorf("access line %v: want route %s, status %d, client_ip 127.0.0.1", l, req.route, req.r.status)
		}
		if _, ok := l["duration_ms"].(float64); !ok {
			t.Errorf("access line %v: no duration_ms", l)
		}
		if l["bytes"] != float64(len(req.r.body)) {
			t.Errorf("access line %v: bytes, want %d", l, len(req.r.body))
		}
		if got, has := l["user_id"]; has != req.userID || (has && got != float64(u.ID)) {
			t.Errorf("access line %v: user_id present = %v, want %v (id %d)", l, has, req.userID, u.ID)
		}
	}
}

// TestErrorLoggedOnceWithRequestID breaks the database under a request and
// checks that its 500 is logged once, tied to the access line by request id,
// while the client learns nothing.
func TestErrorLoggedOnceWithRequestID(t *testing.T) {
	ts, _, logs := loggedServer(t, rosterhttp.Config{})
	ts.signup("ann", "", goodPassword)
	token := ts.login("ann", goodPassword)
	writer, _ := ts.accounts.Store.Engine.(*db.SQLite).Pools()
	if _, err := writer.Exec("DROP TABLE sessions"); err != nil {
		t.Fatal(err)
	}
	r := ts.json("POST", "/v1/sessions", map[string]string{"username": "ann", "password": goodPassword}, token)
	want(t, "POST /v1/sessions without a sessions table", r, http.StatusInternalServerError)
	if p := decodeAs[problem](t, r); p.Code != "internal" || p.Detail != "internal error" {
		t.Errorf("500 problem = %+v, want code internal and a generic detail", p)
	}
	id := r.header.Get("X-Request-Id")
	var failures, access int
	for _, l := range logLines(t, logs) {
		if l["request_id"] != id {
			continue
		}
		switch l["msg"] {
		case "request failed":
			failures++
			if l["level"] != "ERROR" || !strings.Contains(l["error"].(string), "sessions") {
				t.Errorf("failure line %v: want level ERROR and the cause", l)
			}
		case "request":
			access++
		}
	}
	if failures != 1 || access != 1 {
		t.Errorf("request %s: %d failure lines and %d access lines, want 1 and 1:\n%s", id, failures, access, logs)
	}
}

func TestMetrics(t *testing.T) {
	ts, _, _ := loggedServer(t, rosterhttp.Config{MetricsToken: metricsToken})
	ts.signup("ann", "", goodPassword)
	ts.login("ann", goodPassword)
	ts.json("POST", "/v1/sessions", map[string]string{"username": "ann", "password": "wrong password, long enough"}, "")
	ts.json("POST", "/v1/users", map[string]string{"username": "ann", "password": goodPassword}, "")
	ts.do("GET", "/v1/users/12345", "", "")
	ts.do("BREW", "/v1/me", "", "")

	r := ts.do("GET", "/metrics", "", "", "Authorization", "Bearer "+metricsToken)
	want(t, "GET /metrics", r, http.StatusOK)
	for _, line := range []string{
		`roster_http_requests_total{method="POST",route="/v1/users",status="201"} 1`,
		`roster_http_requests_total{method="POST",route="/v1/users",status="409"} 1`,
		`roster_http_requests_total{method="GET",route="/v1/*",status="404"} 1`,
		`roster_http_requests_total{method="OTHER",route="unmatched",status="405"} 1`,
		`roster_http_request_duration_seconds_count{method="POST",route="/v1/sessions"} 2`,
		`roster_logins_total{outcome="success"} 1`,
		`roster_logins_total{outcome="invalid_credentials"} 1`,
		`roster_signups_total{outcome="success"} 1`,
		`roster_signups_total{outcome="username_taken"} 1`,
		`roster_password_hash_duration_seconds_count{op="hash"} 2`,
		`roster_password_hash_duration_seconds_count{op="verify"} 2`,
		`roster_password_hash_wait_seconds_count{outcome="acquired"} 4`,
		`roster_live_sessions 1`,
		`go_sql_max_open_connections{db_name="writer"} 1`,
		`go_sql_open_connections{db_name="reader"}`,
	} {
		if !strings.Contains(r.body, line+"\n") && !strings.Contains(r.body, line+" ") {
			t.Errorf("GET /metrics: no line %s", line)
		}
	}
	if strings.Contains(r.body, "12345") || strings.Contains(r.body, "BREW") {
		t.Errorf("GET /metrics: a raw path leaked into a label")
	}
}

// TestMetricsNotPublicByDefault: with no token configured the API router has
// no /metrics; the handler a caller mounts on a listener of its own serves it.
func TestMetricsNotPublicByDefault(t *testing.T) {
	ts, srv, _ := loggedServer(t, rosterhttp.Config{})
	r := ts.do("GET", "/metrics", "", "")
	wantProblem(t, "GET /metrics on the API listener", r, http.StatusNotFound, "not_found")
	r = ts.do("GET", "/metrics", "", "", "Authorization", "Bearer anything")
	wantProblem(t, "GET /metrics on the API listener with a bearer token", r, http.StatusNotFound, "not_found")
	rec := httptest.NewRecorder()
	srv.MetricsHandler().ServeHTTP(rec, httptest.NewRequest("GET", "/metrics", nil))
	if rec.Code != http.StatusOK || !strings.Contains(rec.Body.String(), "roster_live_sessions 0") {
		t.Errorf("MetricsHandler: status %d, body without roster_live_sessions:\n%s", rec.Code, rec.Body)
	}
}

// TestMetricsToken: with a token configured, GET /metrics on the API router
// answers 401 without it or with another (same length or not, or in another
// scheme), and 200 with it.
func TestMetricsToken(t *testing.T) {
	ts, _, _ := loggedServer(t, rosterhttp.Config{MetricsToken: metricsToken})
	for _, h := range [][]string{
		nil,
		{"Authorization", "Bearer"},
		{"Authorization", "Bearer "},
		{"Authorization", "Bearer " + strings.ToUpper(metricsToken)},
		{"Authorization", "Bearer " + metricsToken[:len(metricsToken)-1]},
		{"Authorization", "Bearer " + metricsToken + "x"},
		{"Authorization", "Basic " + metricsToken},
		{"Authorization", metricsToken},
		{"Cookie", "__Host-roster_session=" + metricsToken},
	} {
		r := ts.do("GET", "/metrics", "", "", h...)
		wantProblem(t, fmt.Sprintf("GET /metrics with %q", h), r, http.StatusUnauthorized, "unauthenticated")
		if r.header.Get("WWW-Authenticate") == "" {
			t.Errorf("GET /metrics with %q: no WWW-Authenticate", h)
		}
		if strings.Contains(r.body, "roster_") {
			t.Errorf("GET /metrics with %q: the metrics leaked: %s", h, r.body)
		}
	}
	for _, scheme := range []string{"Bearer ", "bearer "} {
		r := ts.do("GET", "/metrics", "", "", "Authorization", scheme+metricsToken)
		want(t, "GET /metrics with the token", r, http.StatusOK)
		if !strings.Contains(r.body, "roster_live_sessions 0") {
			t.Errorf("GET /metrics with the token: no roster_live_sessions:\n%s", r.body)
		}
	}
}

const metricsToken = "metrics-token-for-tests-0123456789"

func TestHealth(t *testing.T) {
	ts, srv, _ := loggedServer(t, rosterhttp.Config{})
	want(t, "GET /healthz", ts.do("GET", "/healthz", "", ""), http.StatusOK)
	want(t, "GET /readyz", ts.do("GET", "/readyz", "", ""), http.StatusOK)

	// A schema older than the binary's is not ready.
	writer, _ := ts.accounts.Store.Engine.(*db.SQLite).Pools()
	if _, err := writer.Exec("DELETE FROM goose_db_version WHERE version_id = (SELECT MAX(version_id) FROM goose_db_version)"); err != nil {
		t.Fatal(err)
	}
	r := ts.do("GET", "/readyz", "", "")
	want(t, "GET /readyz with a migration pending", r, http.StatusServiceUnavailable)
	if p := decodeAs[problem](t, r); p.Code != "not_ready" {
		t.Errorf("GET /readyz with a migration pending: code %q, want not_ready", p.Code)
	}

	srv.Drain()
	r = ts.do("GET", "/readyz", "", "")
	want(t, "GET /readyz while draining", r, http.StatusServiceUnavailable)
	if p := decodeAs[problem](t, r); p.Code != "shutting_down" {
		t.Errorf("GET /readyz while draining: code %q, want shutting_down", p.Code)
	}
	want(t, "GET /healthz while draining", ts.do("GET", "/healthz", "", ""), http.StatusOK)
}
