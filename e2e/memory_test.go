package e2e

import (
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"

	"roster/internal/procstat"
)

// TestConcurrentLoginsBoundedMemory runs the real binary with real argon2id
// parameters and default limiter settings, and fires 500
// logins at once: the process survives, its peak RSS (VmHWM) stays under
// 100 MiB plus 19 MiB per hashing slot, and every answer is a success, a 401,
// a 429 or a 503.
func TestConcurrentLoginsBoundedMemory(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the binary and hashes with real parameters")
	}
	// Without GOMEMLIMIT, because roster's default soft memory limit is part
	// of what is tested.
	var env []string
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, "GOMEMLIMIT=") {
			env = append(env, kv)
		}
	}
	srv := startEnv(t, env, filepath.Join(t.TempDir(), "roster.db"))
	base := srv.URL
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
	// The burst's charged and refunded attempts may leave alice's pair with a
	// second or two to wait: a 429 with Retry-After, not a lockout.
	login := func() (int, error) { return post("/v1/sessions", `{"username":"alice","password":"`+password+`"}`) }
	status, err := login()
	for deadline := time.Now().Add(30 * time.Second); err == nil && status == http.StatusTooManyRequests && time.Now().Before(deadline); {
		time.Sleep(time.Second)
		status, err = login()
	}
	if err != nil || status != http.StatusCreated {
		t.Fatalf("POST /v1/sessions after the burst: status = %d, err = %v; want 201 (is the server alive?)", status, err)
	}
	peak, err := procstat.PeakRSS(srv.cmd.Process.Pid)
	if err != nil {
		t.Fatal(err)
	}
	slots := runtime.GOMAXPROCS(0)
	limit := 100<<20 + int64(slots)*19<<20
	t.Logf("statuses %v; peak RSS %.1f MiB, limit %.1f MiB (%d hashing slots)", statuses, float64(peak)/(1<<20), float64(limit)/(1<<20), slots)
	if peak >= limit {
		t.Fatalf("peak RSS %d bytes, want under %d", peak, limit)
	}
}
