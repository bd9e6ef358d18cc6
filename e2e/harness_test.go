// Package e2e drives the real roster binary: built once, started on a free
// loopback port with a temporary database, and reached through the typed
// Client, the tutorial's form routes and the CLI.
package e2e

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

// binary is the roster binary built by TestMain.
var binary string

func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "roster-e2e")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	binary = filepath.Join(dir, "roster")
	build := exec.Command("go", "build", "-o", binary, "roster")
	build.Stdout, build.Stderr = os.Stdout, os.Stderr
	if err := build.Run(); err != nil {
		fmt.Fprintln(os.Stderr, "build roster:", err)
		os.Exit(1)
	}
	code := m.Run()
	os.RemoveAll(dir)
	os.Exit(code)
}

// server is one running roster process.
type server struct {
	URL    string
	cmd    *exec.Cmd
	done   chan struct{}
	mu     sync.Mutex
	stderr strings.Builder
}

// start runs `roster serve` on 127.0.0.1:0 with the database at dbPath, no
// per-IP rate limits and args, and waits until /readyz answers 200. The
// process is killed when the test ends.
func start(t testing.TB, dbPath string, args ...string) *server {
	t.Helper()
	return startEnv(t, os.Environ(), dbPath, args...)
}

// startEnv is start with the process environment env.
func startEnv(t testing.TB, env []string, dbPath string, args ...string) *server {
	t.Helper()
	s := launch(t, env, dbPath, args...)
	s.waitReady(t)
	return s
}

// launch is startEnv up to the moment the server listens: /readyz may still
// answer 503.
func launch(t testing.TB, env []string, dbPath string, args ...string) *server {
	t.Helper()
	s, addr := spawn(t, env, dbPath, args...)
	s.await(t, addr)
	return s
}

// spawn starts the process and returns at once, with a channel that gets
// the address it listens on; await waits for it. Several servers spawned
// one after the other start at the same moment.
func spawn(t testing.TB, env []string, dbPath string, args ...string) (*server, <-chan string) {
	t.Helper()
	// Every request comes from one loopback address: lift the per-IP rate
	// limits, which these tests are not about (http/abuse_test.go is).
	base := []string{"serve", "-addr", "127.0.0.1:0", "-db", dbPath,
		"-login-rate", "1000000000/1s", "-signup-rate", "1000000000/1s",
		"-reauth-rate", "1000000000/1s", "-reauth-client-rate", "1000000000/1s"}
	cmd := exec.Command(binary, append(base, args...)...)
	cmd.Env = env
	pipe, err := cmd.StderrPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	s := &server{cmd: cmd, done: make(chan struct{})}
	addr := make(chan string, 1)
	go func() {
		sc := bufio.NewScanner(pipe)
		sc.Buffer(make([]byte, 64<<10), 1<<20)
		for sc.Scan() {
			line := sc.Text()
			s.mu.Lock()
			s.stderr.WriteString(line + "\n")
			s.mu.Unlock()
			var entry struct{ Msg, Addr string }
			if json.Unmarshal([]byte(line), &entry) == nil && entry.Msg == "listening" {
				addr <- entry.Addr
			}
		}
		io.Copy(io.Discard, pipe)
	}()
	go func() {
		cmd.Wait()
		close(s.done)
	}()
	t.Cleanup(func() { s.kill() })
	return s, addr
}

func (s *server) await(t testing.TB, addr <-chan string) {
	t.Helper()
	select {
	case a := <-addr:
		s.URL = "http://" + a
	case <-s.done:
		t.Fatalf("roster exited before listening:\n%s", s.log())
	case <-time.After(60 * time.Second):
		t.Fatalf("roster did not listen within 60 s:\n%s", s.log())
	}
}

// waitReady waits up to 30 s for /readyz to answer 200.
func (s *server) waitReady(t testing.TB) {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for {
		res, err := http.Get(s.URL + "/readyz")
		if err == nil {
			res.Body.Close()
			if res.StatusCode == http.StatusOK {
				return
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("/readyz never answered 200 (%v):\n%s", err, s.log())
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// log is what the server has written to stderr so far.
func (s *server) log() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.stderr.String()
}

// kill sends SIGKILL and waits for the process to go.
func (s *server) kill() {
	s.cmd.Process.Kill()
	<-s.done
}

// stop sends SIGTERM and waits for a clean exit.
func (s *server) stop(t testing.TB) {
	t.Helper()
	s.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-s.done:
	case <-time.After(30 * time.Second):
		t.Fatalf("roster did not stop within 30 s of SIGTERM")
	}
	if code := s.cmd.ProcessState.ExitCode(); code != 0 {
		t.Errorf("roster exited with %d after SIGTERM:\n%s", code, s.log())
	}
}

// cli runs the roster binary as a client command with the given environment
// additions and stdin, and returns its output and exit code.
func cli(t testing.TB, env []string, stdin string, args ...string) (stdout, stderr string, code int) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, binary, args...)
	cmd.Env = append(os.Environ(), env...)
	cmd.Stdin = strings.NewReader(stdin)
	var out, errb strings.Builder
	cmd.Stdout, cmd.Stderr = &out, &errb
	err := cmd.Run()
	if _, ok := err.(*exec.ExitError); err != nil && !ok {
		t.Fatalf("roster %v: %v", args, err)
	}
	return out.String(), errb.String(), cmd.ProcessState.ExitCode()
}
