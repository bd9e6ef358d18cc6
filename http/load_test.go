package http_test

import (
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"runtime"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"roster/account"
	"roster/account/accounttest"
	rosterhttp "roster/http"
)

// Tests here compare login latency with and without a flood of other
// requests. The machine is small and shared, so each compares medians
// measured in the same run, in interleaved phases, against a loose bound;
// strictTiming asks for the 1.5×.
func loadBound() float64 {
	if strictTiming() {
		return 1.5
	}
	return 3
}

// strictTiming reports whether timing tests hold the targets' own bounds
// and run longer: ROSTER_STRICT_TIMING is set, as .ci/run sets it for one
// step that runs them alone, without the race detector, one package at a
// time. Elsewhere (the race run, packages running side by side) they keep
// bounds loose enough for a shared machine that still fail without the fix.
func strictTiming() bool { return os.Getenv("ROSTER_STRICT_TIMING") != "" }

// newRealisticServer is a test server whose hasher has production
// parameters and one slot per CPU, for tests about the cost of hashing.
func newRealisticServer(t *testing.T, cfg rosterhttp.Config) (*testServer, *rosterhttp.Server) {
	t.Helper()
	accounts := accounttest.New(t)
	h, err := account.NewHasher(account.DefaultParams, runtime.GOMAXPROCS(0), 5*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	accounts.Hasher = h
	srv := rosterhttp.NewServer(accounts, discardLog(), cfg)
	hs := httptest.NewServer(srv)
	t.Cleanup(hs.Close)
	validateResponses(t, hs.Client())
	return &testServer{Server: hs, accounts: accounts, t: t}, srv
}

// plainClient sends load without checking answers against openapi.json,
// which would cost the test more CPU than the server.
func plainClient() *http.Client {
	return &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: 64}}
}

// send makes one request with a plain client, or fails the test.
func send(t testing.TB, c *http.Client, method, url, body string, header ...string) response {
	req, err := http.NewRequest(method, url, strings.NewReader(body))
	if err != nil {
		t.Error(err)
		return response{}
	}
	if body != "" {
		req.Header.Set("Content-Type", "application/json")
	}
	for i := 0; i+1 < len(header); i += 2 {
		req.Header.Set(header[i], header[i+1])
	}
	res, err := c.Do(req)
	if err != nil {
		t.Errorf("%s %s: %v", method, url, err)
		return response{}
	}
	defer res.Body.Close()
	b, err := io.ReadAll(res.Body)
	if err != nil {
		t.Errorf("%s %s: read body: %v", method, url, err)
	}
	return response{status: res.StatusCode, header: res.Header, body: string(b)}
}

// loginLatency is the result of compareLogins: the median login time in the
// quiet and the loaded phases, and how many logins each took.
type loginLatency struct {
	quiet, loaded   time.Duration
	nQuiet, nLoaded int
}

func (l loginLatency) String() string {
	return fmt.Sprintf("login p50 %v quiet (%d logins), %v loaded (%d logins): %.2f×",
		l.quiet, l.nQuiet, l.loaded, l.nLoaded, float64(l.loaded)/float64(l.quiet))
}

// compareLogins times logins by users (each signed up with goodPassword),
// two at a time, over rounds of a quiet phase then a loaded phase of the
// given length; load runs during each loaded phase until stop is closed.
func compareLogins(t *testing.T, ts *testServer, users []string, rounds int, phase time.Duration,
	load func(stop <-chan struct{})) loginLatency {
	t.Helper()
	c := plainClient()
	var quiet, loaded []time.Duration
	measure := func(into *[]time.Duration) {
		var mu sync.Mutex
		var wg sync.WaitGroup
		end := time.Now().Add(phase)
		for w := range 2 {
			wg.Go(func() {
				for i := w; time.Now().Before(end); i += 2 {
					body := fmt.Sprintf(`{"username":%q,"password":%q}`, users[i%len(users)], goodPassword)
					start := time.Now()
					r := send(t, c, "POST", ts.URL+"/v1/sessions", body)
					d := time.Since(start)
					if r.status != http.StatusCreated {
						t.Errorf("POST /v1/sessions: status %d, want 201; body=%s", r.status, r.body)
						return
					}
					mu.Lock()
					*into = append(*into, d)
					mu.Unlock()
				}
			})
		}
		wg.Wait()
	}
	for range rounds {
		measure(&quiet)
		stop, done := make(chan struct{}), make(chan struct{})
		go func() { load(stop); close(done) }()
		measure(&loaded)
		close(stop)
		<-done
	}
	return loginLatency{quiet: median(quiet), loaded: median(loaded), nQuiet: len(quiet), nLoaded: len(loaded)}
}

func median(ds []time.Duration) time.Duration {
	if len(ds) == 0 {
		return 0
	}
	ds = slices.Clone(ds)
	slices.Sort(ds)
	return ds[len(ds)/2]
}
