package main

import (
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"runtime"
	"strings"
	"testing"
	"time"

	"roster/account/accounttest"
	rosterhttp "roster/http"
)

// The harness reads the real server's hash histogram: a sign-up and a login
// are two hashes, and the load between two scrapes is what they took.
func TestScrapeHashWork(t *testing.T) {
	accounts := accounttest.New(t)
	srv := httptest.NewServer(rosterhttp.NewServer(accounts, slog.New(slog.NewTextHandler(io.Discard, nil)), rosterhttp.Config{}))
	defer srv.Close()
	p := &process{url: srv.URL}

	body := `{"username":"bench0","password":"` + benchPassword + `"}`
	post := func(path string) {
		t.Helper()
		res, err := http.Post(srv.URL+path, "application/json", strings.NewReader(body))
		if err != nil {
			t.Fatal(err)
		}
		res.Body.Close()
		if res.StatusCode != http.StatusCreated {
			t.Fatalf("POST %s: status %d", path, res.StatusCode)
		}
	}
	post("/v1/users")
	first, err := scrapeHashWork(p)
	if err != nil {
		t.Fatal(err)
	}
	if first.count != 1 || first.sum <= 0 {
		t.Fatalf("after a sign-up: %+v, want one hash", first)
	}
	post("/v1/sessions")
	second, err := scrapeHashWork(p)
	if err != nil {
		t.Fatal(err)
	}
	if second.count != 2 || second.sum <= first.sum {
		t.Fatalf("after a login: %+v, want a second hash after %+v", second, first)
	}

	load := first.until(second)
	want := time.Duration((second.sum - first.sum) * float64(time.Second))
	if load.hash != want {
		t.Errorf("hash = %v, want the one verify's %v", load.hash, want)
	}
	window := second.at.Sub(first.at).Seconds() * float64(runtime.GOMAXPROCS(0))
	if got := load.busy * window; got < 0.999*want.Seconds() || got > 1.001*want.Seconds() {
		t.Errorf("busy %.4f of %d slots over %v: %.6f s hashing, want %.6f", load.busy, runtime.GOMAXPROCS(0),
			second.at.Sub(first.at), got, want.Seconds())
	}
}

// A server that answers without the histogram is an error, not a zero load.
func TestScrapeHashWorkRefusesMissingHistogram(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		io.WriteString(w, "# no metrics here\n")
	}))
	defer srv.Close()
	if w, err := scrapeHashWork(&process{url: srv.URL}); err == nil {
		t.Fatalf("scrape = %+v, want an error", w)
	}
}
