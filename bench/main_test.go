package main

import (
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"roster/account/accounttest"
	rosterhttp "roster/http"
)

// The harness reads the real server's hash histogram: sign-ups and logins
// are one hash each, and the load between two scrapes is what they took.
func TestScrapeHashWork(t *testing.T) {
	accounts := accounttest.New(t)
	srv := httptest.NewServer(rosterhttp.NewServer(accounts, slog.New(slog.DiscardHandler),
		rosterhttp.Config{MetricsToken: benchMetricsToken}))
	defer srv.Close()
	p := &process{url: srv.URL}
	scrape := func() hashWork {
		t.Helper()
		w, err := scrapeHashWork(p)
		if err != nil {
			t.Fatal(err)
		}
		return w
	}
	post := func(path, user string) {
		t.Helper()
		body := `{"username":"` + user + `","password":"` + benchPassword + `"}`
		res, err := http.Post(srv.URL+path, "application/json", strings.NewReader(body))
		if err != nil {
			t.Fatal(err)
		}
		res.Body.Close()
		if res.StatusCode != http.StatusCreated {
			t.Fatalf("POST %s: status %d", path, res.StatusCode)
		}
	}

	fresh := scrape()
	if fresh.count != 0 || fresh.sum != 0 {
		t.Fatalf("before any hash: %+v", fresh)
	}
	if _, err := fresh.until(scrape()); err == nil {
		t.Error("a run without hashes gave a load, want an error")
	}
	post("/v1/users", "bench0")
	first := scrape()
	if first.count != 1 || first.sum <= 0 {
		t.Fatalf("after a sign-up: %+v, want one hash", first)
	}
	post("/v1/users", "bench1")
	post("/v1/sessions", "bench0")
	second := scrape()
	if second.count != 3 || second.sum <= first.sum {
		t.Fatalf("after a sign-up and a login more: %+v, want three hashes", second)
	}

	load, err := first.until(second)
	if err != nil {
		t.Fatal(err)
	}
	perHash := (second.sum - first.sum) / 2
	if d := load.hash.Seconds() - perHash; d < -1e-9 || d > 1e-9 {
		t.Errorf("hash = %v, want the mean of the two, %.9f s", load.hash, perHash)
	}
	if load.busy <= 0 || load.busy > 1 {
		t.Errorf("busy = %v, want a share of the slots' time", load.busy)
	}
}

// The split is the share of the ceiling as busy ÷ slowdown: 95% busy with a
// hash at 1.25 times its time alone is 76% of the ceiling.
func TestHashLoadSplit(t *testing.T) {
	slots := float64(runtime.GOMAXPROCS(0))
	refs := hashRefs{ceiling: slots / 0.016, parallel: slots / 0.016 / 1.1} // 16 ms alone
	got := hashLoad{busy: 0.95, hash: 20 * time.Millisecond}.split(refs)
	want := "slots busy 95%, a hash 20.0 ms: 1.25× alone (parallel hashing 1.10×)"
	if got != want {
		t.Errorf("split = %q, want %q", got, want)
	}
}

// A scrape that finds no histogram finds no hashes, and a run without hashes
// is an error, not a zero load; so is a failed scrape.
func TestScrapeHashWorkRefusesMissingHistogram(t *testing.T) {
	var status atomic.Int32
	status.Store(http.StatusOK)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.WriteHeader(int(status.Load()))
		io.WriteString(w, "# no hash metrics here\nroster_other_seconds_sum{op=\"x\"} 3\n")
	}))
	defer srv.Close()
	p := &process{url: srv.URL}
	before, err := scrapeHashWork(p)
	if err != nil {
		t.Fatal(err)
	}
	after, err := scrapeHashWork(p)
	if err != nil {
		t.Fatal(err)
	}
	if load, err := before.until(after); err == nil {
		t.Errorf("load = %+v, want an error", load)
	}
	status.Store(http.StatusServiceUnavailable)
	if w, err := scrapeHashWork(p); err == nil {
		t.Errorf("scrape of a 503 = %+v, want an error", w)
	}
}

// -readme writes into docs/performance.md: the file has the markers, and
// updateTable replaces what lies between them and nothing else.
func TestUpdateTableInPerformanceDoc(t *testing.T) {
	b, err := os.ReadFile(filepath.Join("..", performanceDoc))
	if err != nil {
		t.Fatal(err)
	}
	doc := string(b)
	i, j := strings.Index(doc, beginMarker), strings.Index(doc, endMarker)
	if i < 0 || j < i {
		t.Fatalf("%s has no %s … %s section", performanceDoc, beginMarker, endMarker)
	}
	path := filepath.Join(t.TempDir(), "performance.md")
	if err := os.WriteFile(path, b, 0o644); err != nil {
		t.Fatal(err)
	}
	if err := updateTable(path, beginMarker, endMarker, "| new table |\n"); err != nil {
		t.Fatal(err)
	}
	got, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	want := doc[:i+len(beginMarker)] + "\n| new table |\n" + doc[j:]
	if string(got) != want {
		t.Errorf("after updateTable:\n%s\nwant:\n%s", got, want)
	}
}
