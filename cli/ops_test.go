package cli

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"
)

// lineWatcher collects a command's log output and lets a test wait for a
// line holding some text.
type lineWatcher struct {
	mu      sync.Mutex
	buf     bytes.Buffer
	changed chan struct{}
}

func newLineWatcher() *lineWatcher { return &lineWatcher{changed: make(chan struct{}, 1)} }

func (w *lineWatcher) Write(p []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.buf.Write(p)
	select {
	case w.changed <- struct{}{}:
	default:
	}
	return len(p), nil
}

func (w *lineWatcher) String() string {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.buf.String()
}

// waitFor returns the first complete line containing text, failing the test
// if done closes first.
func (w *lineWatcher) waitFor(t *testing.T, text string, done <-chan struct{}) string {
	t.Helper()
	for {
		for _, l := range strings.SplitAfter(w.String(), "\n") {
			if strings.HasSuffix(l, "\n") && strings.Contains(l, text) {
				return l
			}
		}
		select {
		case <-w.changed:
		case <-done:
			t.Fatalf("the command ended before logging %q; output:\n%s", text, w)
		}
	}
}

// addrAttr matches the API address in a "listening" line, JSON or text.
var addrAttr = regexp.MustCompile(`\baddr"?[=:]"?([0-9.:]+)`)

// addrFromLog extracts the API address from a "listening" line.
func addrFromLog(t *testing.T, line string) string {
	t.Helper()
	m := addrAttr.FindStringSubmatch(line)
	if m == nil {
		t.Fatalf("no address in the listening line %q", line)
	}
	return m[1]
}

func TestServeHelpListsEveryFlagWithDefault(t *testing.T) {
	var stderr bytes.Buffer
	err := run(t.Context(), []string{"serve", "-h"}, env(nil), nil, io.Discard, &stderr)
	if !errors.Is(err, flag.ErrHelp) {
		t.Fatalf("serve -h: err = %v, want flag.ErrHelp", err)
	}
	for _, want := range []string{
		`-addr (env ROSTER_ADDR, default ":8080")`,
		`-metrics-addr (env ROSTER_METRICS_ADDR, default "")`,
		`-metrics-token (env ROSTER_METRICS_TOKEN, default "")`,
		`-reauth-rate (env ROSTER_REAUTH_RATE, default "10/1m0s")`,
		`-reauth-client-rate (env ROSTER_REAUTH_CLIENT_RATE, default "30/1m0s")`,
		`-log-format (env ROSTER_LOG_FORMAT, default "json")`,
		`-log-level (env ROSTER_LOG_LEVEL, default "INFO")`,
		`-shutdown-timeout (env ROSTER_SHUTDOWN_TIMEOUT, default "20s")`,
		`-housekeeping-interval (env ROSTER_HOUSEKEEPING_INTERVAL, default "1m0s")`,
		`-db (env ROSTER_DB, default "roster.db")`,
	} {
		if !strings.Contains(stderr.String(), want) {
			t.Errorf("serve -h: no %s in\n%s", want, stderr.String())
		}
	}
}

// TestBadConfigurationIsOneLine checks that a bad flag or variable is a
// usage error (exit status 2) described in one line, before anything starts.
func TestBadConfigurationIsOneLine(t *testing.T) {
	tests := []struct {
		args []string
		env  map[string]string
		want string
	}{
		{[]string{"-shutdown-timeout", "soon"}, nil, `invalid value "soon" for flag -shutdown-timeout`},
		{nil, map[string]string{"ROSTER_SHUTDOWN_TIMEOUT": "soon"}, `invalid value "soon" for ROSTER_SHUTDOWN_TIMEOUT`},
		{[]string{"-log-format", "xml"}, nil, `-log-format must be json or text, got "xml"`},
		{nil, map[string]string{"ROSTER_LOG_LEVEL": "loud"}, `invalid value "loud" for ROSTER_LOG_LEVEL`},
		{[]string{"-shutdown-timeout", "0s"}, nil, "-shutdown-timeout and -housekeeping-interval must be positive"},
		{[]string{"-no-such-flag"}, nil, "flag provided but not defined: -no-such-flag"},
		{[]string{"-hash-concurrency", "0"}, nil, "-hash-concurrency must be at least 1"},
		{[]string{"-db-max-conns", "8"}, nil, "-db-max-conns and -db-min-conns size a PostgreSQL pool; -db names a SQLite file"},
		{[]string{"-db-min-conns", "-1"}, nil, "-db-max-conns and -db-min-conns must not be negative"},
	}
	for _, tt := range tests {
		var stderr bytes.Buffer
		args := append([]string{"serve", "-db", filepath.Join(t.TempDir(), "r.db")}, tt.args...)
		err := run(t.Context(), args, env(tt.env), nil, io.Discard, &stderr)
		var ue usageError
		if !errors.As(err, &ue) || !strings.Contains(err.Error(), tt.want) || strings.Contains(err.Error(), "\n") {
			t.Errorf("serve %v %v: err = %q, want one-line usage error containing %q", tt.args, tt.env, err, tt.want)
		}
		if stderr.Len() != 0 {
			t.Errorf("serve %v %v: printed %q; main prints the one line", tt.args, tt.env, stderr.String())
		}
	}
}

func TestLogConfigRedactsSecrets(t *testing.T) {
	fs := flag.NewFlagSet("serve", flag.ContinueOnError)
	cfg := serveFlags(fs)
	fs.String("smtp-password", "", "")
	fs.String("api-token", "", "")
	if _, err := parseFlags(fs, []string{"-smtp-password", "hunter2hunter2", "-addr", "127.0.0.1:9",
		"-smtp-url", "smtp://roster:s3cr3t-pw@mail.example.com:587"}, func(k string) string {
		return map[string]string{"ROSTER_API_TOKEN": "rst_secret"}[k]
	}, io.Discard); err != nil {
		t.Fatal(err)
	}
	var logs bytes.Buffer
	cfg.log.logger(&logs)
	logConfig(cfg.log.logger(&logs), fs)
	var line struct {
		Msg   string
		Flags map[string]string
	}
	if err := json.Unmarshal(logs.Bytes(), &line); err != nil {
		t.Fatal(err)
	}
	if strings.Contains(logs.String(), "hunter2") || strings.Contains(logs.String(), "rst_secret") ||
		strings.Contains(logs.String(), "s3cr3t") {
		t.Errorf("configuration line shows a secret: %s", logs.String())
	}
	for name, want := range map[string]string{"smtp-password": "REDACTED", "api-token": "REDACTED",
		"addr": "127.0.0.1:9", "min-password-length": "15", "shutdown-timeout": "20s",
		"smtp-url": "smtp://roster:xxxxx@mail.example.com:587"} {
		if line.Flags[name] != want {
			t.Errorf("configuration line: %s = %q, want %q", name, line.Flags[name], want)
		}
	}
}

// startServeLogged runs the serve command in-process on a loopback port and
// returns its address as soon as it listens, its log, and a function that
// stops it and returns run's error.
func startServeLogged(t *testing.T, args []string, vars map[string]string) (addr string, logs *lineWatcher, stop func() error) {
	t.Helper()
	ctx, cancel := context.WithCancel(t.Context())
	logs = newLineWatcher()
	done := make(chan struct{})
	var err error
	go func() {
		defer close(done)
		err = run(ctx, append([]string{"serve", "-addr", "127.0.0.1:0"}, args...), env(vars), strings.NewReader(""), io.Discard, logs)
	}()
	addr = addrFromLog(t, logs.waitFor(t, "listening", done))
	var once sync.Once
	stop = func() error {
		once.Do(func() {
			cancel()
			<-done
		})
		return err
	}
	t.Cleanup(func() { stop() })
	return addr, logs, stop
}

// startSignup sends the headers of a sign-up with Expect: 100-continue and
// returns once the server's handler is reading the body: the request is then
// in flight. send finishes the request and returns the response status.
func startSignup(t *testing.T, addr, username string) (send func() (int, error)) {
	t.Helper()
	body := fmt.Sprintf(`{"username":%q,"password":"correct horse battery staple"}`, username)
	conn, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.Close() })
	fmt.Fprintf(conn, "POST /v1/users HTTP/1.1\r\nHost: roster\r\nContent-Type: application/json\r\n"+
		"Content-Length: %d\r\nExpect: 100-continue\r\n\r\n", len(body))
	br := bufio.NewReader(conn)
	line, err := br.ReadString('\n')
	if err != nil || !strings.Contains(line, "100 Continue") {
		t.Fatalf("sign-up: read %q, %v; want 100 Continue", line, err)
	}
	if _, err := br.ReadString('\n'); err != nil { // the blank line after the interim response
		t.Fatal(err)
	}
	return func() (int, error) {
		if _, err := io.WriteString(conn, body); err != nil {
			return 0, err
		}
		res, err := http.ReadResponse(br, nil)
		if err != nil {
			return 0, err
		}
		res.Body.Close()
		return res.StatusCode, nil
	}
}

// TestShutdownTimeoutCutsOffStuckRequests checks that a request still in
// flight when -shutdown-timeout runs out is cut off and reported, and that
// the database is closed all the same.
func TestShutdownTimeoutCutsOffStuckRequests(t *testing.T) {
	addr, logs, stop := startServeLogged(t, []string{"-db", filepath.Join(t.TempDir(), "r.db"), "-shutdown-timeout", "50ms"}, nil)
	send := startSignup(t, addr, "stuck") // its body never comes
	err := stop()
	if err == nil || !strings.Contains(err.Error(), "still in flight after 50ms") {
		t.Fatalf("serve: err = %v, want the in-flight requests reported", err)
	}
	if _, err := send(); err == nil {
		t.Error("the stuck request got an answer; want its connection closed")
	}
	for _, want := range []string{`"msg":"shutting down"`, `"msg":"database closed"`} {
		if !strings.Contains(logs.String(), want) {
			t.Errorf("serve log has no %s:\n%s", want, logs)
		}
	}
}

func TestMetricsAddrMovesMetrics(t *testing.T) {
	addr, logs, _ := startServeLogged(t, []string{"-db", filepath.Join(t.TempDir(), "r.db"), "-metrics-addr", "127.0.0.1:0"}, nil)
	var l struct {
		MetricsAddr string `json:"metrics_addr"`
	}
	json.Unmarshal([]byte(logs.waitFor(t, `"msg":"listening"`, nil)), &l)
	wantGET(t, "http://"+addr+"/metrics", http.StatusNotFound)
	wantGET(t, "http://"+l.MetricsAddr+"/metrics", http.StatusOK)
	wantGET(t, "http://"+addr+"/readyz", http.StatusOK)
}

// TestMetricsToken: by default -addr has no /metrics; ROSTER_METRICS_TOKEN
// serves it there to requests with the token, and the log never shows it.
func TestMetricsToken(t *testing.T) {
	addr, _, _ := startServeLogged(t, []string{"-db", filepath.Join(t.TempDir(), "r.db")}, nil)
	wantGET(t, "http://"+addr+"/metrics", http.StatusNotFound)

	const token = "a-metrics-token-for-this-test"
	addr, logs, _ := startServeLogged(t, []string{"-db", filepath.Join(t.TempDir(), "r.db")},
		map[string]string{"ROSTER_METRICS_TOKEN": token})
	wantGET(t, "http://"+addr+"/metrics", http.StatusUnauthorized)
	req, _ := http.NewRequest("GET", "http://"+addr+"/metrics", nil)
	req.Header.Set("Authorization", "Bearer "+token)
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	if res.StatusCode != http.StatusOK {
		t.Errorf("GET /metrics with the token: status = %d, want 200", res.StatusCode)
	}
	if strings.Contains(logs.String(), token) {
		t.Errorf("the log shows the metrics token:\n%s", logs)
	}
}

// wantGET fails the test unless GET url answers status.
func wantGET(t *testing.T, url string, status int) {
	t.Helper()
	res, err := http.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	if res.StatusCode != status {
		t.Errorf("GET %s: status = %d, want %d", url, res.StatusCode, status)
	}
}

func TestPprofAddr(t *testing.T) {
	addr, logs, _ := startServeLogged(t, []string{"-db", filepath.Join(t.TempDir(), "r.db"), "-pprof-addr", "127.0.0.1:0"}, nil)
	var l struct {
		PprofAddr string `json:"pprof_addr"`
	}
	json.Unmarshal([]byte(logs.waitFor(t, `"msg":"listening"`, nil)), &l)
	wantGET(t, "http://"+l.PprofAddr+"/debug/pprof/heap", http.StatusOK)
	wantGET(t, "http://"+addr+"/debug/pprof/heap", http.StatusNotFound)
	for _, bad := range []string{":6060", "0.0.0.0:6060", "192.0.2.1:6060", "example.com:6060"} {
		err := run(t.Context(), []string{"serve", "-pprof-addr", bad}, env(nil), nil, io.Discard, io.Discard)
		if !errors.As(err, new(usageError)) {
			t.Errorf("-pprof-addr %s: %v, want a usage error", bad, err)
		}
	}
}

func TestTextLogFormat(t *testing.T) {
	_, logs, _ := startServeLogged(t, []string{"-db", filepath.Join(t.TempDir(), "r.db"), "-log-format", "text"}, nil)
	logs.waitFor(t, "msg=listening", nil)
	if strings.Contains(logs.String(), `{"time"`) {
		t.Errorf("-log-format text wrote JSON:\n%s", logs)
	}
}

// readFile fails the test if path cannot be read.
func readFile(t *testing.T, path string) string {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// TestUIFlag: the console is on by default, and -ui=false (here through
// ROSTER_UI) serves the API alone.
func TestUIFlag(t *testing.T) {
	noRedirect := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	for _, tt := range []struct {
		env                map[string]string
		status, pageStatus int
		location           string
	}{
		{nil, http.StatusSeeOther, http.StatusOK, "/ui/"},
		{map[string]string{"ROSTER_UI": "false"}, http.StatusNotFound, http.StatusNotFound, ""},
	} {
		addr, _, _ := startServeLogged(t, []string{"-db", filepath.Join(t.TempDir(), "r.db")}, tt.env)
		res, err := noRedirect.Get("http://" + addr + "/")
		if err != nil {
			t.Fatal(err)
		}
		res.Body.Close()
		if res.StatusCode != tt.status || res.Header.Get("Location") != tt.location {
			t.Errorf("env %v: GET /: status = %d, Location = %q; want %d, %q",
				tt.env, res.StatusCode, res.Header.Get("Location"), tt.status, tt.location)
		}
		res, err = noRedirect.Get("http://" + addr + "/ui/sign-in")
		if err != nil {
			t.Fatal(err)
		}
		res.Body.Close()
		if res.StatusCode != tt.pageStatus {
			t.Errorf("env %v: GET /ui/sign-in: status = %d, want %d", tt.env, res.StatusCode, tt.pageStatus)
		}
	}
}

// The pool flags become the URL's pool parameters, over any the URL sets,
// keeping the rest of it (password included) as it was.
func TestPoolFlagsSetTheURL(t *testing.T) {
	c := dbConfig{path: "postgres://roster:s3cret@db.internal:5432/roster?sslmode=require&pool_max_conns=2", maxConns: 12, minConns: 3}
	if err := c.validate(); err != nil {
		t.Fatal(err)
	}
	u, err := url.Parse(c.dsn())
	if err != nil {
		t.Fatal(err)
	}
	q := u.Query()
	if q.Get("pool_max_conns") != "12" || q.Get("pool_min_conns") != "3" || q.Get("sslmode") != "require" {
		t.Errorf("dsn() query = %v, want pool_max_conns=12, pool_min_conns=3, sslmode kept", q)
	}
	if pw, _ := u.User.Password(); pw != "s3cret" || u.Host != "db.internal:5432" || u.Path != "/roster" {
		t.Errorf("dsn() = %s, want the same server, user and database", u.Redacted())
	}
	if c := (dbConfig{path: "roster.db"}); c.dsn() != "roster.db" || c.validate() != nil {
		t.Errorf("without pool flags a SQLite path stays as it is")
	}
	if err := (dbConfig{path: c.path, maxConns: 2, minConns: 3}).validate(); err == nil {
		t.Error("-db-min-conns above -db-max-conns accepted")
	}
}
