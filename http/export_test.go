package http

import "github.com/go-chi/chi/v5"

// OpenAPIDocument is the embedded OpenAPI document, for tests.
var OpenAPIDocument = openAPI

// Router exposes the chi tree so tests can walk every route.
func (s *Server) Router() chi.Routes { return s.router }

// SessionCountQueries is how many times the live-session count was queried
// for /metrics.
func (s *Server) SessionCountQueries() uint64 { return s.metrics.sessions.queries.Load() }
