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
	// MFAEnabled, in the admin's view of one account only, says whether it
	// has a second factor.
	MFAEnabled *bool `json:"mfa_enabled,omitempty"`
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

// signupAccepted is the one answer to a sign-up with -require-verified-email,
// the same bytes whether the address was free or belongs to an account.
var signupAccepted = Accepted{Status: "accepted", Detail: "A message is on its way to the address you gave. " +
	"Follow it to confirm the address, then sign in."}

// handleUserCreate signs up a new account: 201 with the user, or with
// -require-verified-email 202 with signupAccepted, whether or not the
// address belongs to an account already (account.SignUp).
func (s *Server) handleUserCreate(w http.ResponseWriter, r *http.Request) {
	req, err := decode[SignupRequest](w, r, authBodyLimit)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	user, _, err := s.accounts.SignUp(r.Context(), account.Actor{IP: clientIP(r)},
		account.NewUser{Username: req.Username, Email: req.Email, Password: req.Password})
	s.metrics.signups.WithLabelValues(outcome(err)).Inc()
	switch {
	case err != nil:
		s.writeError(w, r, err)
	case s.accounts.RequireVerifiedEmail:
		encode(w, http.StatusAccepted, signupAccepted)
	default:
		encode(w, http.StatusCreated, newUser(user))
	}
}

// handleMe returns the account behind the session.
func (s *Server) handleMe(w http.ResponseWriter, r *http.Request) {
	encode(w, http.StatusOK, newUser(auth(r).user))
}
