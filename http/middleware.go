package http

import (
	"fmt"
	"net/http"
	"net/netip"
	"runtime/debug"
	"strconv"
	"strings"

	"github.com/go-chi/cors"
	"github.com/go-chi/httprate"

	"roster/account"
	"roster/db"
)

// securityHeaders sets the headers every response carries. Every roster
// response concerns an account, so none may be cached.
func securityHeaders(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		h := w.Header()
		// Shared value slices save an allocation per header per request;
		// Header.Set and Add replace or copy them, never write into them.
		h["X-Content-Type-Options"] = nosniff
		h["Referrer-Policy"] = noReferrer
		h["Content-Security-Policy"] = noFraming
		h["Cache-Control"] = noStore
		next.ServeHTTP(w, r)
	})
}

var (
	nosniff    = []string{"nosniff"}
	noReferrer = []string{"no-referrer"}
	noFraming  = []string{"frame-ancestors 'none'"}
	noStore    = []string{"no-store"}
)

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

const infoKey ctxKey = 0

// authenticated is what requireSession records in the requestInfo.
type authenticated struct {
	session db.Session
	user    db.User
}

// requireSession admits requests with a live session token, from the
// Authorization header or else the session cookie, and loads its session and
// account into the context once. A cookie-authenticated request must also
// pass CrossOriginProtection: a browser sends cookies along with requests
// that other sites forge.
func (s *Server) requireSession(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		token, fromCookie := sessionToken(r)
		if token == "" {
			s.writeError(w, r, account.ErrUnauthenticated)
			return
		}
		if fromCookie {
			if err := s.csrf.Check(r); err != nil {
				s.writeError(w, r, errCrossOrigin)
				return
			}
		}
		session, user, err := s.accounts.Authenticate(r.Context(), token)
		if err != nil {
			s.writeError(w, r, err)
			return
		}
		info(r).auth = &authenticated{session: session, user: user}
		next.ServeHTTP(w, r)
	})
}

// requireAdmin admits, behind requireSession, only active admins. The
// account is loaded afresh on every request, so a demotion takes effect at once.
func (s *Server) requireAdmin(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		a := auth(r)
		if a.user.Role != account.RoleAdmin {
			s.writeError(w, r, errForbidden)
			return
		}
		if s.cfg.RequireMFAForAdmins {
			m, err := s.accounts.MFA(r.Context(), a.user.ID)
			if err != nil {
				s.writeError(w, r, err)
				return
			}
			if !m.Enabled() {
				s.writeError(w, r, errAdminNeedsMFA)
				return
			}
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
	return *info(r).auth
}

// sessionToken returns the bearer token, or else the session cookie's value.
func sessionToken(r *http.Request) (token string, fromCookie bool) {
	scheme, token, ok := strings.Cut(r.Header.Get("Authorization"), " ")
	if ok && strings.EqualFold(scheme, "Bearer") && token != "" {
		return token, false
	}
	if c, err := r.Cookie(sessionCookie); err == nil && c.Value != "" {
		return c.Value, true
	}
	return "", false
}

// clientIP is the client's address as observe resolved it: the one place
// rate limits, throttling, sessions and the audit log take it from.
func clientIP(r *http.Request) string { return info(r).clientIP }

// resolveClientIP is the connection's peer, unless the peer is a trusted
// proxy; then X-Forwarded-For is read right to left, skipping trusted
// proxies, and the first other address is the client. A client can prepend
// anything to that header, so nothing left of it is believed.
func (s *Server) resolveClientIP(r *http.Request) string {
	peer, err := netip.ParseAddrPort(r.RemoteAddr)
	if err != nil {
		return r.RemoteAddr
	}
	ip := peer.Addr().Unmap()
	var hops []string
	for _, v := range r.Header.Values("X-Forwarded-For") {
		hops = append(hops, strings.Split(v, ",")...)
	}
	for i := len(hops) - 1; i >= 0 && s.cfg.TrustedProxies.contains(ip); i-- {
		hop, err := netip.ParseAddr(strings.TrimSpace(hops[i]))
		if err != nil {
			break
		}
		ip = hop.Unmap()
	}
	return ip.String()
}

// rateLimit bounds requests per client IP (IPv6: per /64) to rate. Routes
// given the same middleware share one budget.
func (s *Server) rateLimit(rate Rate) func(http.Handler) http.Handler {
	if rate.Requests == 0 {
		return func(next http.Handler) http.Handler { return next }
	}
	return httprate.LimitBy(rate.Requests, rate.Per,
		func(r *http.Request) (string, error) { return httprate.CanonicalizeIP(clientIP(r)), nil },
		httprate.WithLimitHandler(func(w http.ResponseWriter, r *http.Request) { s.writeError(w, r, errRateLimited) }))
}

// reauthLimit bounds the requests of the routes that check the signed-in
// account's password: per account (cfg.ReauthRate), then per client IP
// (cfg.ReauthClientRate; IPv6: per /64). Every route given it shares both
// budgets. Use it behind requireSession.
func (s *Server) reauthLimit() func(http.Handler) http.Handler {
	perClient := s.rateLimit(s.cfg.ReauthClientRate)
	if s.cfg.ReauthRate.Requests == 0 {
		return perClient
	}
	perAccount := httprate.LimitBy(s.cfg.ReauthRate.Requests, s.cfg.ReauthRate.Per,
		func(r *http.Request) (string, error) { return strconv.FormatInt(auth(r).user.ID, 10), nil },
		httprate.WithLimitHandler(func(w http.ResponseWriter, r *http.Request) { s.writeError(w, r, errAccountRateLimited) }))
	return func(next http.Handler) http.Handler { return perAccount(perClient(next)) }
}

// limitBodies caps every request body at defaultBodyLimit (413 beyond it);
// routes that read bodies may cap lower.
func (s *Server) limitBodies(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.ContentLength > defaultBodyLimit {
			s.writeError(w, r, &http.MaxBytesError{Limit: defaultBodyLimit})
			return
		}
		r.Body = http.MaxBytesReader(w, r.Body, defaultBodyLimit)
		next.ServeHTTP(w, r)
	})
}

// cors lets the configured origins call the API from a browser with bearer
// tokens. Credentials (cookies) are never allowed cross-origin; with no
// origins configured there is no CORS at all.
func (s *Server) cors() func(http.Handler) http.Handler {
	if len(s.cfg.CORSOrigins) == 0 {
		return func(next http.Handler) http.Handler { return next }
	}
	return cors.Handler(cors.Options{
		AllowedOrigins: s.cfg.CORSOrigins,
		AllowedMethods: []string{http.MethodGet, http.MethodPost, http.MethodPut, http.MethodPatch, http.MethodDelete},
		AllowedHeaders: []string{"Authorization", "Content-Type"},
		ExposedHeaders: []string{"Retry-After"},
		MaxAge:         600,
	})
}
