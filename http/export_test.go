package http

import "github.com/go-chi/chi/v5"

// OpenAPIDocument is the embedded OpenAPI document, for tests.
var OpenAPIDocument = openAPI

// Router exposes the chi tree so tests can walk every route.
func (s *Server) Router() chi.Routes { return s.router }
