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
}

// Session is a new login: the token is shown this once.
type Session struct {
	Token     string    `json:"token"`
	ExpiresAt time.Time `json:"expires_at"`
	User      User      `json:"user"`
}

// handleSessionCreate logs in: 201 with a new token, or one generic 401.
func (s *Server) handleSessionCreate(w http.ResponseWriter, r *http.Request) {
	req, err := decode[LoginRequest](w, r, authBodyLimit)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	token, session, user, err := s.accounts.Login(r.Context(), req.Username, req.Password,
		account.ClientInfo{UserAgent: r.UserAgent(), IP: clientIP(r)})
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	encode(w, http.StatusCreated, Session{Token: token, ExpiresAt: session.ExpiresAt, User: newUser(user)})
}

// handleSessionDeleteCurrent logs out the session making the request.
func (s *Server) handleSessionDeleteCurrent(w http.ResponseWriter, r *http.Request) {
	s.writeNoContent(w, r, s.accounts.Logout(r.Context(), actor(r), auth(r).session))
}
