package http

import (
	"net/http"
	"time"

	"roster/account"
	"roster/db"
)

// userResponse is a user on the wire. The password hash never leaves db/.
type userResponse struct {
	ID        int64     `json:"id"`
	Username  string    `json:"username"`
	Email     *string   `json:"email,omitempty"`
	CreatedAt time.Time `json:"created_at"`
	UpdatedAt time.Time `json:"updated_at"`
}

func newUserResponse(u db.User) userResponse {
	return userResponse{ID: u.ID, Username: u.Username, Email: u.Email, CreatedAt: u.CreatedAt, UpdatedAt: u.UpdatedAt}
}

type userCreateRequest struct {
	Username string `json:"username"`
	Email    string `json:"email"`
	Password string `json:"password"`
}

// handleUserCreate signs up a new account: 201 with the user.
func (s *Server) handleUserCreate(w http.ResponseWriter, r *http.Request) {
	req, err := decode[userCreateRequest](w, r, authBodyLimit)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	user, err := s.accounts.CreateUser(r.Context(), account.NewUser(req))
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	encode(w, http.StatusCreated, newUserResponse(user))
}

// handleMe returns the account behind the session.
func (s *Server) handleMe(w http.ResponseWriter, r *http.Request) {
	encode(w, http.StatusOK, newUserResponse(auth(r).user))
}
