package http_test

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"roster/account"
	"roster/account/accounttest"
	"roster/db"
	rosterhttp "roster/http"
)

// addSessions stores n live sessions of a fresh account in one transaction.
func addSessions(t *testing.T, accounts *account.Service, n int) {
	t.Helper()
	ctx := context.Background()
	u, err := accounts.CreateUser(ctx, account.Actor{}, account.NewUser{Username: "many", Password: goodPassword})
	if err != nil {
		t.Fatal(err)
	}
	now := db.Now(time.Now())
	err = accounts.Store.Tx(ctx, func(q db.Querier) error {
		for i := range n {
			_, hash := account.NewToken()
			if err := q.CreateSession(ctx, db.CreateSessionParams{TokenHash: hash, ID: fmt.Sprint("s", i), UserID: u.ID,
				CreatedAt: now, ExpiresAt: now.Add(time.Hour), UserAgent: "test", Ip: "192.0.2.1"}); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}

// scrapeEvery paces each flooding scraper: 16 of them make 160 scrapes a
// second, thousands of times what a Prometheus server asks.
const scrapeEvery = 100 * time.Millisecond

// TestMetricsScrapeFlood: however many scrapers, the live-session count is
// queried at most once per 5 s, and a flood of scrapes against a database
// with many sessions leaves login latency where it was.
func TestMetricsScrapeFlood(t *testing.T) {
	if testing.Short() {
		t.Skip("a load test")
	}
	ts, srv := newRealisticServer(t, rosterhttp.Config{MetricsToken: metricsToken})
	const sessions = 20_000
	addSessions(t, ts.accounts, sessions)
	users := []string{"ann", "bob", "cid", "dee"}
	for _, u := range users {
		ts.signup(u, "", goodPassword)
	}

	start := time.Now()
	var scrapes, bad atomic.Int64
	flood := func(stop <-chan struct{}) {
		c := plainClient()
		var wg sync.WaitGroup
		for range 16 {
			wg.Go(func() {
				tick := time.NewTicker(scrapeEvery)
				defer tick.Stop()
				for {
					select {
					case <-stop:
						return
					case <-tick.C:
					}
					if r := send(t, c, "GET", ts.URL+"/metrics", "", "Authorization", "Bearer "+metricsToken); r.status != http.StatusOK {
						bad.Add(1)
					}
					scrapes.Add(1)
				}
			})
		}
		wg.Wait()
	}
	lat := compareLogins(t, ts, users, 3, time.Second, flood)
	elapsed := time.Since(start)
	queries := srv.SessionCountQueries()
	t.Logf("%d sessions, %d scrapes by 16 scrapers, %d session counts in %v; %s",
		sessions, scrapes.Load(), queries, elapsed.Round(time.Millisecond), lat)
	if bad.Load() > 0 {
		t.Errorf("%d of %d scrapes did not answer 200", bad.Load(), scrapes.Load())
	}
	if scrapes.Load() < 100 {
		t.Errorf("only %d scrapes: no flood", scrapes.Load())
	}
	// One count per 5 s window the test spanned, and one more for a window
	// boundary.
	if limit := uint64(elapsed/(5*time.Second)) + 2; queries > limit {
		t.Errorf("%d scrapes ran %d session counts in %v, want at most %d", scrapes.Load(), queries, elapsed, limit)
	}
	if bound := loadBound(); float64(lat.loaded) > bound*float64(lat.quiet) {
		t.Errorf("%s; want at most %.1f×", lat, bound)
	}
	r := ts.do("GET", "/metrics", "", "", "Authorization", "Bearer "+metricsToken)
	m := regexp.MustCompile(`\nroster_live_sessions (\d+)\n`).FindStringSubmatch(r.body)
	if m == nil {
		t.Fatalf("GET /metrics: no roster_live_sessions")
	}
	if n, _ := strconv.Atoi(m[1]); n < sessions {
		t.Errorf("GET /metrics: roster_live_sessions %d, want at least %d", n, sessions)
	}
}

// TestSessionCountNeedsNoReader: the live-session count has a connection of
// its own, so a scrape answers while every reader connection is taken.
func TestSessionCountNeedsNoReader(t *testing.T) {
	ts, srv, _ := loggedServer(t, rosterhttp.Config{})
	ts.signup("ann", "", goodPassword)
	ts.login("ann", goodPassword)
	_, reader := ts.accounts.Store.Engine.(*db.SQLite).Pools()
	for range reader.Stats().MaxOpenConnections {
		conn, err := reader.Conn(t.Context())
		if err != nil {
			t.Fatal(err)
		}
		defer conn.Close()
	}
	ctx, cancel := context.WithTimeout(t.Context(), 2*time.Second)
	defer cancel()
	rec := httptest.NewRecorder()
	srv.MetricsHandler().ServeHTTP(rec, httptest.NewRequestWithContext(ctx, "GET", "/metrics", nil))
	if !strings.Contains(rec.Body.String(), "\nroster_live_sessions 1\n") {
		t.Errorf("GET /metrics with every reader taken: status %d, no roster_live_sessions 1:\n%s", rec.Code, rec.Body)
	}
}

// BenchmarkScrape is the CPU of one GET /metrics with the runtime and
// process readings cached, as under a scrape flood.
func BenchmarkScrape(b *testing.B) {
	ts := newTestServerConfig(b, accounttest.New(b), rosterhttp.Config{MetricsToken: "t"})
	c := plainClient()
	b.ResetTimer()
	for range b.N {
		send(b, c, "GET", ts.URL+"/metrics", "", "Authorization", "Bearer t")
	}
}
