package http

import (
	"context"
	"fmt"
	"net"
	"net/http"
	"runtime/debug"
	"strings"

	"roster/account"
	"roster/db"
)

// securityHeaders sets the headers every response carries. Every roster
// response concerns an account, so none may be cached.
func securityHeaders(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		h := w.Header()
		h.Set("X-Content-Type-Options", "nosniff")
		h.Set("Referrer-Policy", "no-referrer")
		h.Set("Content-Security-Policy", "frame-ancestors 'none'")
		h.Set("Cache-Control", "no-store")
		next.ServeHTTP(w, r)
	})
}

// recoverPanics turns a panic into a logged 500 problem that reveals nothing.
func (s *Server) recoverPanics(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		defer func() {
			v := recover()
			if v == nil {
				return
			}
			if v == http.ErrAbortHandler {
				panic(v)
			}
			s.writeError(w, r, fmt.Errorf("panic: %v\n%s", v, debug.Stack()))
		}()
		next.ServeHTTP(w, r)
	})
}

type ctxKey int

const authKey ctxKey = 0

// authenticated is what requireSession puts in the request context.
type authenticated struct {
	session db.Session
	user    db.User
}

// requireSession admits requests with a live bearer token and loads its
// session and account into the context once.
func (s *Server) requireSession(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		token, ok := bearerToken(r)
		if !ok {
			s.writeError(w, r, account.ErrUnauthenticated)
			return
		}
		session, user, err := s.accounts.Authenticate(r.Context(), token)
		if err != nil {
			s.writeError(w, r, err)
			return
		}
		ctx := context.WithValue(r.Context(), authKey, authenticated{session: session, user: user})
		next.ServeHTTP(w, r.WithContext(ctx))
	})
}

// requireAdmin admits, behind requireSession, only active admins. The
// account is loaded afresh on every request, so a demotion takes effect at once.
func (s *Server) requireAdmin(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if auth(r).user.Role != account.RoleAdmin {
			s.writeError(w, r, errForbidden)
			return
		}
		next.ServeHTTP(w, r)
	})
}

// actor is the signed-in user making the request, as the audit log records it.
func actor(r *http.Request) account.Actor {
	return account.Actor{ID: auth(r).user.ID, IP: clientIP(r)}
}

// auth returns what requireSession loaded; only call it behind requireSession.
func auth(r *http.Request) authenticated {
	return r.Context().Value(authKey).(authenticated)
}

func bearerToken(r *http.Request) (string, bool) {
	scheme, token, ok := strings.Cut(r.Header.Get("Authorization"), " ")
	if !ok || !strings.EqualFold(scheme, "Bearer") || token == "" {
		return "", false
	}
	return token, true
}

// clientIP is the address of the connection's peer.
func clientIP(r *http.Request) string {
	host, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		return r.RemoteAddr
	}
	return host
}
