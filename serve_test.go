package main

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
)

// listenAddr reads roster's JSON log until the "listening" line and returns
// its address; the rest of the log is drained in the background.
func listenAddr(t *testing.T, log io.Reader) string {
	t.Helper()
	lines := bufio.NewScanner(log)
	for lines.Scan() {
		var entry struct{ Msg, Addr string }
		if json.Unmarshal(lines.Bytes(), &entry) == nil && entry.Msg == "listening" {
			go io.Copy(io.Discard, log)
			return entry.Addr
		}
	}
	t.Fatalf("server exited before listening: %v", lines.Err())
	return ""
}

// serveInProcess runs roster serve in this process on a loopback port until
// the test ends, and returns its address.
func serveInProcess(t *testing.T, args ...string) string {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	logR, logW := io.Pipe()
	done := make(chan error, 1)
	args = append([]string{"serve", "-addr", "127.0.0.1:0", "-db", filepath.Join(t.TempDir(), "roster.db")}, args...)
	go func() {
		err := run(ctx, args, func(string) string { return "" }, strings.NewReader(""), io.Discard, logW)
		logW.CloseWithError(fmt.Errorf("run returned %v", err))
		done <- err
	}()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("run: %v", err)
		}
	})
	return listenAddr(t, logR)
}

// TestSlowClientCutOff: a client that sends one header byte at a time never
// finishes its request: the server hangs up after ReadHeaderTimeout, long
// before the client would have finished (10 s of dribbling).
func TestSlowClientCutOff(t *testing.T) {
	addr := serveInProcess(t, "-read-header-timeout", "300ms")
	conn, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	closed := make(chan string, 1)
	go func() {
		b, _ := io.ReadAll(conn) // returns when the server closes the connection
		closed <- string(b)
	}()
	if _, err := io.WriteString(conn, "GET /healthz HTTP/1.1\r\nHost: roster\r\n"); err != nil {
		t.Fatal(err)
	}
	header := strings.Repeat("X-Slow: drip\r\n", 10)
	tick := time.NewTicker(50 * time.Millisecond)
	defer tick.Stop()
	for i := 0; i < len(header); i++ {
		select {
		case answer := <-closed:
			if strings.Contains(answer, "200 OK") {
				t.Fatalf("the server answered an unfinished request: %q", answer)
			}
			t.Logf("cut off after %d header bytes; server sent %q", i, answer)
			return
		case <-tick.C:
			conn.Write([]byte{header[i]}) // fails once the server has hung up
		}
	}
	t.Fatal("the server kept reading a dribbled header for 10 s, past -read-header-timeout 300ms")
}

// TestConcurrentLoginsBoundedMemory builds the real binary, runs it with
// real argon2id parameters and default limiter settings, and fires 500
// logins at once: the process survives, its peak RSS (VmHWM) stays under
// 100 MiB plus 19 MiB per hashing slot, and every answer is a success, a 401,
// a 429 or a 503.
func TestConcurrentLoginsBoundedMemory(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the binary and hashes with real parameters")
	}
	if _, err := os.Stat("/proc/self/status"); err != nil {
		t.Skip("needs /proc")
	}
	dir := t.TempDir()
	bin := filepath.Join(dir, "roster")
	if out, err := exec.Command("go", "build", "-o", bin, ".").CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	cmd := exec.Command(bin, "serve", "-addr", "127.0.0.1:0", "-db", filepath.Join(dir, "roster.db"),
		"-login-rate", "1000000/1m", "-signup-rate", "1000/1m")
	for _, kv := range os.Environ() { // the default soft memory limit is part of what is tested
		if !strings.HasPrefix(kv, "GOMEMLIMIT=") {
			cmd.Env = append(cmd.Env, kv)
		}
	}
	log, err := cmd.StderrPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		cmd.Process.Signal(os.Interrupt)
		cmd.Wait()
	})
	base := "http://" + listenAddr(t, log)
	client := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: 500}, Timeout: time.Minute}
	post := func(path, body string) (int, error) {
		res, err := client.Post(base+path, "application/json", strings.NewReader(body))
		if err != nil {
			return 0, err
		}
		defer res.Body.Close()
		io.Copy(io.Discard, res.Body)
		if (res.StatusCode == http.StatusTooManyRequests || res.StatusCode == http.StatusServiceUnavailable) &&
			res.Header.Get("Retry-After") == "" {
			return res.StatusCode, fmt.Errorf("status %d without Retry-After", res.StatusCode)
		}
		return res.StatusCode, nil
	}
	const password = "correct horse battery staple"
	if status, err := post("/v1/users", `{"username":"alice","password":"`+password+`"}`); err != nil || status != http.StatusCreated {
		t.Fatalf("POST /v1/users: status = %d, err = %v; want 201", status, err)
	}

	const n = 500
	statuses := make(map[int]int)
	var mu sync.Mutex
	var wg sync.WaitGroup
	start := make(chan struct{})
	for i := range n {
		body := fmt.Sprintf(`{"username":"user%d","password":"guess number %d"}`, i, i)
		if i%5 == 0 {
			body = `{"username":"alice","password":"` + password + `"}`
		}
		wg.Go(func() {
			<-start
			status, err := post("/v1/sessions", body)
			if err != nil {
				t.Errorf("POST /v1/sessions: %v", err)
			}
			mu.Lock()
			statuses[status]++
			mu.Unlock()
		})
	}
	close(start)
	wg.Wait()
	for status, count := range statuses {
		switch status {
		case http.StatusCreated, http.StatusUnauthorized, http.StatusTooManyRequests, http.StatusServiceUnavailable:
		default:
			t.Errorf("%d answers with status %d, want only 201, 401, 429 or 503", count, status)
		}
	}
	if status, err := post("/v1/sessions", `{"username":"alice","password":"`+password+`"}`); err != nil || status != http.StatusCreated {
		t.Fatalf("POST /v1/sessions after the burst: status = %d, err = %v; want 201 (is the server alive?)", status, err)
	}
	peak := vmHWM(t, cmd.Process.Pid)
	slots := runtime.GOMAXPROCS(0)
	limit := 100<<20 + int64(slots)*19<<20
	t.Logf("statuses %v; peak RSS %.1f MiB, limit %.1f MiB (%d hashing slots)", statuses, float64(peak)/(1<<20), float64(limit)/(1<<20), slots)
	if peak >= limit {
		t.Fatalf("peak RSS %d bytes, want under %d", peak, limit)
	}
}

// vmHWM returns a process's peak resident set size from /proc.
func vmHWM(t *testing.T, pid int) int64 {
	t.Helper()
	status, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		t.Fatal(err)
	}
	for line := range strings.Lines(string(status)) {
		if rest, ok := strings.CutPrefix(line, "VmHWM:"); ok {
			kb, err := strconv.ParseInt(strings.TrimSuffix(strings.TrimSpace(rest), " kB"), 10, 64)
			if err != nil {
				t.Fatal(err)
			}
			return kb << 10
		}
	}
	t.Fatal("no VmHWM in /proc status")
	return 0
}
