package http

import (
	"context"
	"crypto/sha256"
	"crypto/subtle"
	"log/slog"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"roster/account"
)

// metrics are one Server's Prometheus collectors, on a registry of their own
// so that tests and embedders never share global state. Every label value
// comes from a fixed set: route patterns, methods, statuses, problem codes.
type metrics struct {
	registry  *prometheus.Registry
	requests  *prometheus.CounterVec   // method, route, status
	duration  *prometheus.HistogramVec // method, route
	logins    *prometheus.CounterVec   // outcome
	signups   *prometheus.CounterVec   // outcome
	throttled *prometheus.CounterVec   // code
	hashTime  *prometheus.HistogramVec // op
	hashWait  *prometheus.HistogramVec // outcome
	sessions  *liveSessions
}

// hashBuckets cover a cheap test hash (well under 1 ms) up to a slow
// argon2id or bcrypt verify on a loaded machine.
var hashBuckets = prometheus.ExponentialBuckets(0.0005, 2, 14)

func newMetrics(accounts *account.Service) *metrics {
	m := &metrics{
		registry: prometheus.NewRegistry(),
		requests: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "roster_http_requests_total", Help: "HTTP requests by method, route pattern and status.",
		}, []string{"method", "route", "status"}),
		duration: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name: "roster_http_request_duration_seconds", Help: "HTTP request latency by method and route pattern.",
			Buckets: prometheus.DefBuckets,
		}, []string{"method", "route"}),
		logins: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "roster_logins_total", Help: `Login attempts by outcome: "success" or the problem code.`,
		}, []string{"outcome"}),
		signups: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "roster_signups_total", Help: `Sign-up attempts by outcome: "success" or the problem code.`,
		}, []string{"outcome"}),
		throttled: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "roster_throttled_requests_total", Help: "Requests refused as throttled (429, or 503 when hashing is at capacity), by problem code.",
		}, []string{"code"}),
		hashTime: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name: "roster_password_hash_duration_seconds", Help: `Time spent computing one password hash ("hash") or verification ("verify").`,
			Buckets: hashBuckets,
		}, []string{"op"}),
		hashWait: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name: "roster_password_hash_wait_seconds", Help: `Time spent waiting for a hashing slot, by outcome ("acquired" or "refused").`,
			Buckets: hashBuckets,
		}, []string{"outcome"}),
	}
	m.sessions = &liveSessions{accounts: accounts, desc: prometheus.NewDesc("roster_live_sessions",
		"Sessions neither expired nor idle, counted at most every 5 seconds.", nil, nil)}
	m.registry.MustRegister(m.requests, m.duration, m.logins, m.signups, m.throttled, m.hashTime, m.hashWait,
		// The runtime and /proc readings were most of a scrape's CPU; a
		// scrape flood gets them at most once a second. roster's own
		// counters stay live, which the load harness relies on.
		&cachedCollector{inner: collectors.NewGoCollector(), ttl: time.Second},
		&cachedCollector{inner: collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}), ttl: time.Second},
		m.sessions)
	m.registry.MustRegister(accounts.Store.Collectors()...) // the connection pools' statistics
	return m
}

// ObserveWait implements account.HashObserver.
func (m *metrics) ObserveWait(d time.Duration, ok bool) {
	outcome := "acquired"
	if !ok {
		outcome = "refused"
	}
	m.hashWait.WithLabelValues(outcome).Observe(d.Seconds())
}

// ObserveHash implements account.HashObserver.
func (m *metrics) ObserveHash(op string, d time.Duration) {
	m.hashTime.WithLabelValues(op).Observe(d.Seconds())
}

// handler serves the registry in the Prometheus text format. A failed
// collector (the live-session count) is logged and left out; the rest is served.
// Uncompressed: gzip was half of a scrape's CPU, a cost every scraper could
// impose on the logins sharing the cores, for a few kilobytes a scrape
// that stay on a private network.
func (m *metrics) handler(log *slog.Logger) http.Handler {
	return promhttp.HandlerFor(m.registry, promhttp.HandlerOpts{
		ErrorLog:           slog.NewLogLogger(log.Handler(), slog.LevelError),
		ErrorHandling:      promhttp.ContinueOnError,
		DisableCompression: true,
	})
}

// cachedCollector replays inner's metrics for ttl after collecting them, so
// that however many scrapes arrive, inner collects at most once per ttl. The
// metrics it replays are the immutable ones inner made.
type cachedCollector struct {
	inner prometheus.Collector
	ttl   time.Duration

	mu      sync.Mutex
	at      time.Time
	metrics []prometheus.Metric
}

func (c *cachedCollector) Describe(ch chan<- *prometheus.Desc) { c.inner.Describe(ch) }

func (c *cachedCollector) Collect(ch chan<- prometheus.Metric) {
	c.mu.Lock()
	if time.Since(c.at) >= c.ttl {
		// A new slice each time: scrapes still sending the last one keep it.
		var collected []prometheus.Metric
		fresh := make(chan prometheus.Metric)
		done := make(chan struct{})
		go func() {
			for m := range fresh {
				collected = append(collected, m)
			}
			close(done)
		}()
		c.inner.Collect(fresh)
		close(fresh)
		<-done
		c.metrics, c.at = collected, time.Now()
	}
	metrics := c.metrics
	c.mu.Unlock()
	for _, m := range metrics {
		ch <- m
	}
}

// outcome is the label for an operation's result: "success" or its problem code.
func outcome(err error) string {
	if err == nil {
		return "success"
	}
	p, _ := problemFor(err)
	return p.Code
}

// sessionCountTTL is how long a live-session count is served before the
// next scrape counts again.
const sessionCountTTL = 5 * time.Second

// liveSessions reports the live-session count. Counting is O(sessions) (half
// a second at 500,000), so a count is kept for sessionCountTTL and counted by
// one scrape at a time while the others wait for its answer: however many
// scrapers, at most one count runs, once per TTL. It runs on the store's
// connection for such counts (account.Service.CountLiveSessions), never on
// a reader a login needs.
type liveSessions struct {
	accounts *account.Service
	desc     *prometheus.Desc
	queries  atomic.Uint64 // counts run, for tests

	mu  sync.Mutex
	at  time.Time // when n and err were counted; zero before the first count
	n   int64
	err error
}

func (c *liveSessions) Describe(ch chan<- *prometheus.Desc) { ch <- c.desc }

func (c *liveSessions) Collect(ch chan<- prometheus.Metric) {
	n, err := c.count()
	if err != nil {
		ch <- prometheus.NewInvalidMetric(c.desc, err)
		return
	}
	ch <- prometheus.MustNewConstMetric(c.desc, prometheus.GaugeValue, float64(n))
}

// count returns the kept count, counting afresh when it is older than
// sessionCountTTL. The lock is held across the query, so concurrent scrapes
// share one query. A failure is kept like a count, so a failing database is
// not asked again by every scrape.
func (c *liveSessions) count() (int64, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if !c.at.IsZero() && time.Since(c.at) < sessionCountTTL {
		return c.n, c.err
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	c.queries.Add(1)
	c.n, c.err = c.accounts.CountLiveSessions(ctx)
	c.at = time.Now()
	return c.n, c.err
}

// requireMetricsToken admits requests that carry cfg.MetricsToken as their
// bearer token and answers others 401. Both sides are hashed first, so the
// comparison takes the same time whatever the token's length.
func (s *Server) requireMetricsToken(next http.Handler) http.Handler {
	want := sha256.Sum256([]byte(s.cfg.MetricsToken))
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		scheme, token, _ := strings.Cut(r.Header.Get("Authorization"), " ")
		got := sha256.Sum256([]byte(token))
		if !strings.EqualFold(scheme, "Bearer") {
			got = [sha256.Size]byte{}
		}
		if subtle.ConstantTimeCompare(got[:], want[:]) != 1 {
			w.Header().Set("WWW-Authenticate", `Bearer realm="roster metrics"`)
			s.writeError(w, r, errMetricsToken)
			return
		}
		next.ServeHTTP(w, r)
	})
}

var errMetricsToken = &problemError{status: http.StatusUnauthorized, code: "unauthenticated",
	detail: "GET /metrics needs the metrics token as a bearer token"}
