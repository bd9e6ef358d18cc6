package http_test

import (
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"

	"roster/account"
	"roster/account/accounttest"
	rosterhttp "roster/http"
)

// testServer is the real handler on a loopback httptest server over a real
// SQLite file.
type testServer struct {
	*httptest.Server
	accounts *account.Service
	t        testing.TB
}

func newTestServer(t testing.TB) *testServer {
	t.Helper()
	return newTestServerWith(t, accounttest.New(t))
}

// newTestServerOn is newTestServer on a fresh database of engine eng.
func newTestServerOn(t testing.TB, eng accounttest.Engine) *testServer {
	t.Helper()
	return newTestServerWith(t, eng.New(t))
}

func newTestServerWith(t testing.TB, accounts *account.Service) *testServer {
	t.Helper()
	return newTestServerConfig(t, accounts, rosterhttp.Config{})
}

// newTestServerConfig is newTestServerWith with HTTP settings (rate limits,
// trusted proxies, CORS, mail); a reset queue is made and run when cfg has none.
func newTestServerConfig(t testing.TB, accounts *account.Service, cfg rosterhttp.Config) *testServer {
	t.Helper()
	log := discardLog()
	if cfg.Resets == nil {
		cfg.Resets = account.NewResetQueue(accounts, log,
			account.Limit{N: cfg.MailTargetRate.Requests, Per: cfg.MailTargetRate.Per})
		ctx, cancel := context.WithCancel(context.Background())
		done := make(chan struct{})
		go func() {
			cfg.Resets.Run(ctx)
			close(done)
		}()
		t.Cleanup(func() {
			cancel()
			<-done
		})
	}
	ts := httptest.NewServer(rosterhttp.NewServer(accounts, log, cfg))
	t.Cleanup(ts.Close)
	validateResponses(t, ts.Client())
	return &testServer{Server: ts, accounts: accounts, t: t}
}

func discardLog() *slog.Logger { return slog.New(slog.DiscardHandler) }

// response is a finished request: status, headers and the whole body.
type response struct {
	status int
	header http.Header
	body   string
}

// decode unmarshals the body into a value of type T, failing the test on error.
func decodeAs[T any](t testing.TB, r response) T {
	t.Helper()
	var v T
	if err := json.Unmarshal([]byte(r.body), &v); err != nil {
		t.Fatalf("decode %T from %q: %v", v, r.body, err)
	}
	return v
}

// do sends one request; header alternates names and values.
func (ts *testServer) do(method, path, contentType, body string, header ...string) response {
	ts.t.Helper()
	req, err := http.NewRequest(method, ts.URL+path, strings.NewReader(body))
	if err != nil {
		ts.t.Fatal(err)
	}
	if contentType != "" {
		req.Header.Set("Content-Type", contentType)
	}
	for i := 0; i+1 < len(header); i += 2 {
		req.Header.Set(header[i], header[i+1])
	}
	res, err := ts.Client().Do(req)
	if err != nil {
		ts.t.Fatalf("%s %s: %v", method, path, err)
	}
	defer res.Body.Close()
	b, err := io.ReadAll(res.Body)
	if err != nil {
		ts.t.Fatalf("%s %s: read body: %v", method, path, err)
	}
	return response{status: res.StatusCode, header: res.Header, body: string(b)}
}

// json sends v as a JSON body, with a bearer token when token is not empty.
func (ts *testServer) json(method, path string, v any, token string) response {
	ts.t.Helper()
	var body string
	switch v := v.(type) {
	case nil:
	case string:
		body = v
	default:
		b, err := json.Marshal(v)
		if err != nil {
			ts.t.Fatal(err)
		}
		body = string(b)
	}
	var header []string
	if token != "" {
		header = []string{"Authorization", "Bearer " + token}
	}
	ct := "application/json"
	if v == nil {
		ct = ""
	}
	return ts.do(method, path, ct, body, header...)
}

// form posts url-encoded fields to one of the tutorial's routes.
func (ts *testServer) form(path string, fields url.Values) response {
	ts.t.Helper()
	return ts.do(http.MethodPost, path, "application/x-www-form-urlencoded", fields.Encode())
}

// want fails the test unless r has the wanted status.
func want(t testing.TB, what string, r response, status int) {
	t.Helper()
	if r.status != status {
		t.Fatalf("%s: status = %d, want %d; body=%s", what, r.status, status, r.body)
	}
}

type user struct {
	ID       int64  `json:"id"`
	Username string `json:"username"`
	Email    string `json:"email"`
}

type session struct {
	Token     string `json:"token"`
	ExpiresAt string `json:"expires_at"`
	User      user   `json:"user"`
}

type problem struct {
	Type   string `json:"type"`
	Title  string `json:"title"`
	Status int    `json:"status"`
	Detail string `json:"detail"`
	Code   string `json:"code"`
	Errors []struct {
		Field   string `json:"field"`
		Message string `json:"message"`
	} `json:"errors"`
}

const goodPassword = "correct horse battery staple"

// signup creates an account through the API and returns it. With
// RequireVerifiedEmail the API answers 202 without the account, which is
// then read from the store.
func (ts *testServer) signup(username, email, password string) user {
	ts.t.Helper()
	r := ts.json("POST", "/v1/users", map[string]string{"username": username, "email": email, "password": password}, "")
	if !ts.accounts.RequireVerifiedEmail {
		want(ts.t, "POST /v1/users", r, http.StatusCreated)
		return decodeAs[user](ts.t, r)
	}
	want(ts.t, "POST /v1/users", r, http.StatusAccepted)
	u, err := ts.accounts.UserByName(context.Background(), username)
	if err != nil {
		ts.t.Fatalf("POST /v1/users answered 202 but made no account %q: %v", username, err)
	}
	var addr string
	if u.Email != nil {
		addr = *u.Email
	}
	return user{ID: u.ID, Username: u.Username, Email: addr}
}

// login opens a session through the API and returns its token.
func (ts *testServer) login(username, password string) string {
	ts.t.Helper()
	r := ts.json("POST", "/v1/sessions", map[string]string{"username": username, "password": password}, "")
	want(ts.t, "POST /v1/sessions", r, http.StatusCreated)
	return decodeAs[session](ts.t, r).Token
}
