// Package http serves roster's API: the tutorial's form routes and the JSON
// API under /v1. It adapts account.Service and db.Store to HTTP; every route
// is listed in routes.go.
package http

import (
	"log/slog"
	"net/http"
	"sync/atomic"

	"github.com/go-chi/chi/v5"
	"github.com/go-chi/httprate"

	"roster/account"
	"roster/db"
)

// Server is roster's HTTP handler.
type Server struct {
	accounts *account.Service
	store    *db.Store
	log      *slog.Logger
	cfg      Config
	metrics  *metrics
	router   chi.Router
	draining atomic.Bool
	// csrf guards cookie-authenticated requests against cross-origin forgery.
	csrf *http.CrossOriginProtection
	// mailTarget bounds mail per target name or address (cfg.MailTargetRate).
	mailTarget *httprate.RateLimiter
}

// NewServer returns the handler for every route, serving accounts. It hooks
// its metrics into accounts.Hasher, so build one Server per Service.
func NewServer(accounts *account.Service, log *slog.Logger, cfg Config) *Server {
	s := &Server{accounts: accounts, store: accounts.Store, log: log, cfg: cfg, metrics: newMetrics(accounts),
		csrf: http.NewCrossOriginProtection()}
	if s.cfg.AccessLog == nil {
		s.cfg.AccessLog = log
	}
	s.mailTarget = s.targetLimiter(cfg.MailTargetRate)
	accounts.Hasher.Observe(s.metrics)
	s.router = s.routes()
	return s
}

// MetricsHandler serves the server's metrics in the Prometheus text format.
func (s *Server) MetricsHandler() http.Handler { return s.metrics.handler(s.log) }

// ServeHTTP implements http.Handler.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) { s.router.ServeHTTP(w, r) }

// Drain makes /readyz answer 503, so a load balancer stops sending traffic
// before shutdown.
func (s *Server) Drain() { s.draining.Store(true) }
