package http

import (
	"context"
	"log/slog"
	"net/http"
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
	writer, reader := accounts.Store.Pools()
	m.registry.MustRegister(m.requests, m.duration, m.logins, m.signups, m.throttled, m.hashTime, m.hashWait,
		collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}),
		collectors.NewDBStatsCollector(writer, "writer"), collectors.NewDBStatsCollector(reader, "reader"),
		liveSessions{accounts: accounts, desc: prometheus.NewDesc("roster_live_sessions",
			"Sessions neither expired nor idle, counted at scrape time.", nil, nil)})
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
func (m *metrics) handler(log *slog.Logger) http.Handler {
	return promhttp.HandlerFor(m.registry, promhttp.HandlerOpts{
		ErrorLog:      slog.NewLogLogger(log.Handler(), slog.LevelError),
		ErrorHandling: promhttp.ContinueOnError,
	})
}

// outcome is the label for an operation's result: "success" or its problem code.
func outcome(err error) string {
	if err == nil {
		return "success"
	}
	p, _ := problemFor(err)
	return p.Code
}

// liveSessions counts live sessions with one COUNT query per scrape.
type liveSessions struct {
	accounts *account.Service
	desc     *prometheus.Desc
}

func (c liveSessions) Describe(ch chan<- *prometheus.Desc) { ch <- c.desc }

func (c liveSessions) Collect(ch chan<- prometheus.Metric) {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	n, err := c.accounts.CountLiveSessions(ctx)
	if err != nil {
		ch <- prometheus.NewInvalidMetric(c.desc, err)
		return
	}
	ch <- prometheus.MustNewConstMetric(c.desc, prometheus.GaugeValue, float64(n))
}
