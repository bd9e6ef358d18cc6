package http

import (
	"net/http"
	"time"

	"roster/account"
)

// LoginRequest is the body of POST /v1/sessions.
type LoginRequest struct {
	// Username is the account's username or its email address.
	Username string `json:"username"`
	Password string `json:"password"`
	// Cookie asks for the token in the session cookie instead of the body.
	Cookie bool `json:"cookie"`
}

// sessionCookie carries the token for browsers. The __Host- prefix makes the
// browser refuse it unless it is Secure, host-only and for Path=/.
const sessionCookie = "__Host-roster_session"

// Session is a new login: the token is shown this once. It is empty when the
// client asked for the cookie, so script on the page never sees it.
type Session struct {
	Token     string    `json:"token,omitempty"`
	ExpiresAt time.Time `json:"expires_at"`
	User      User      `json:"user"`
}

// handleSessionCreate logs in: 201 with a new token, or one generic 401.
// With "cookie": true the token goes into the session cookie instead, and
// the request must pass CrossOriginProtection (no login CSRF).
func (s *Server) handleSessionCreate(w http.ResponseWriter, r *http.Request) {
	req, err := decode[LoginRequest](w, r, authBodyLimit)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	if req.Cookie {
		if err := s.csrf.Check(r); err != nil {
			s.writeError(w, r, errCrossOrigin)
			return
		}
	}
	token, session, user, err := s.accounts.Login(r.Context(), req.Username, req.Password,
		account.ClientInfo{UserAgent: r.UserAgent(), IP: clientIP(r)})
	s.metrics.logins.WithLabelValues(outcome(err)).Inc()
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	res := Session{Token: token, ExpiresAt: session.ExpiresAt, User: newUser(user)}
	if req.Cookie {
		setSessionCookie(w, token, session.ExpiresAt)
		res.Token = ""
	}
	encode(w, http.StatusCreated, res)
}

// handleSessionDeleteCurrent logs out the session making the request and
// clears the session cookie.
func (s *Server) handleSessionDeleteCurrent(w http.ResponseWriter, r *http.Request) {
	if err := s.accounts.Logout(r.Context(), actor(r), auth(r).session); err != nil {
		s.writeError(w, r, err)
		return
	}
	clearSessionCookie(w)
	w.WriteHeader(http.StatusNoContent)
}

// setSessionCookie hands a browser its session token, out of reach of script.
func setSessionCookie(w http.ResponseWriter, token string, expires time.Time) {
	http.SetCookie(w, &http.Cookie{Name: sessionCookie, Value: token, Path: "/", Expires: expires,
		Secure: true, HttpOnly: true, SameSite: http.SameSiteLaxMode})
}

// clearSessionCookie makes the browser forget its session token.
func clearSessionCookie(w http.ResponseWriter) {
	http.SetCookie(w, &http.Cookie{Name: sessionCookie, Path: "/", MaxAge: -1,
		Secure: true, HttpOnly: true, SameSite: http.SameSiteLaxMode})
}
