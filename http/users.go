package http

import (
	"net/http"
	"time"

	"roster/account"
	"roster/db"
)

// User is a user on the wire. The password hash never leaves db/.
type User struct {
	ID       int64  `json:"id"`
	Username string `json:"username"`
	Email    string `json:"email,omitempty"`
	Status   string `json:"status"` // active or disabled
	Role     string `json:"role"`   // user or admin
	// EmailVerifiedAt is when the account proved it receives mail at Email;
	// null until then, and again after the address changes.
	EmailVerifiedAt *time.Time `json:"email_verified_at"`
	CreatedAt       time.Time  `json:"created_at"`
	UpdatedAt       time.Time  `json:"updated_at"`
}

func newUser(u db.User) User {
	user := User{ID: u.ID, Username: u.Username, Status: u.Status, Role: u.Role, EmailVerifiedAt: u.EmailVerifiedAt,
		CreatedAt: u.CreatedAt, UpdatedAt: u.UpdatedAt}
	if u.Email != nil {
		user.Email = *u.Email
	}
	return user
}

// SignupRequest is the body of POST /v1/users. Email is optional.
type SignupRequest struct {
	Username string `json:"username"`
	Email    string `json:"email"`
	Password string `json:"password"`
}

// handleUserCreate signs up a new account: 201 with the user.
func (s *Server) handleUserCreate(w http.ResponseWriter, r *http.Request) {
	req, err := decode[SignupRequest](w, r, authBodyLimit)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	user, err := s.accounts.CreateUser(r.Context(), account.Actor{IP: clientIP(r)},
		account.NewUser{Username: req.Username, Email: req.Email, Password: req.Password})
	s.metrics.signups.WithLabelValues(outcome(err)).Inc()
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	encode(w, http.StatusCreated, newUser(user))
}

// handleMe returns the account behind the session.
func (s *Server) handleMe(w http.ResponseWriter, r *http.Request) {
	encode(w, http.StatusOK, newUser(auth(r).user))
}
