package http

import (
	"net/http"
	"strings"
	"time"

	"github.com/go-chi/chi/v5"

	"roster/account"
	"roster/db"
)

// The /v1/me routes act only on the account behind the session: no route
// here takes another account's id, so one user cannot reach another's data.

// SessionInfo is one session on the wire: its public id, never its token.
type SessionInfo struct {
	ID         string    `json:"id"`
	CreatedAt  time.Time `json:"created_at"`
	LastSeenAt time.Time `json:"last_seen_at"`
	ExpiresAt  time.Time `json:"expires_at"`
	UserAgent  string    `json:"user_agent"`
	IP         string    `json:"ip"`
	Current    bool      `json:"current"`
	// AAL is the session's assurance level: aal1 (a password) or aal2 (and
	// a second factor); Methods how it signed in (pwd, totp,
	// recovery_code).
	AAL     string   `json:"aal"`
	Methods []string `json:"methods"`
}

// SessionList is the answer of GET /v1/me/sessions.
type SessionList struct {
	Sessions []SessionInfo `json:"sessions"`
}

// handleMeSessionList lists the user's live sessions, marking the current one.
func (s *Server) handleMeSessionList(w http.ResponseWriter, r *http.Request) {
	a := auth(r)
	sessions, err := s.accounts.ListSessions(r.Context(), a.user.ID)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	resp := SessionList{Sessions: make([]SessionInfo, len(sessions))}
	for i, sess := range sessions {
		resp.Sessions[i] = SessionInfo{ID: sess.ID, CreatedAt: sess.CreatedAt, LastSeenAt: sess.LastSeenAt,
			ExpiresAt: sess.ExpiresAt, UserAgent: sess.UserAgent, IP: sess.Ip, Current: sess.ID == a.session.ID,
			AAL: sess.Aal, Methods: strings.Split(sess.Methods, ",")}
	}
	encode(w, http.StatusOK, resp)
}

// handleMeSessionDelete revokes one of the user's sessions: 204, or 404 when
// the id names no session of this user.
func (s *Server) handleMeSessionDelete(w http.ResponseWriter, r *http.Request) {
	err := s.accounts.RevokeSession(r.Context(), actor(r), auth(r).user.ID, chi.URLParam(r, "id"))
	s.writeNoContent(w, r, err)
}

// handleMeSessionsDelete revokes every session of the user but the current one.
func (s *Server) handleMeSessionsDelete(w http.ResponseWriter, r *http.Request) {
	a := auth(r)
	err := s.accounts.RevokeSessions(r.Context(), actor(r), a.user.ID, a.session.TokenHash)
	s.writeNoContent(w, r, err)
}

// ProfileUpdate is the body of PATCH /v1/me; absent fields stay as they are.
// CurrentPassword is required when Email changes the address, and unused
// otherwise.
type ProfileUpdate struct {
	Username        *string `json:"username"`
	Email           *string `json:"email"`
	CurrentPassword string  `json:"current_password,omitempty"`
}

// handleMeUpdate changes the user's username and/or email (an empty email
// removes it) under the sign-up rules: 200 with the account. A new address
// is unverified until the user follows the link mailed to it. Changing the
// address needs current_password: 403 wrong_password when it is wrong, 422
// when it is missing.
func (s *Server) handleMeUpdate(w http.ResponseWriter, r *http.Request) {
	req, err := decode[ProfileUpdate](w, r, authBodyLimit)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	user, handled, err := s.changeProfile(w, r, req)
	if handled {
		return
	}
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	encode(w, http.StatusOK, newUser(user))
}

// changeProfile applies the signed-in user's own profile change. A change
// of address first needs the current password, checked like PUT
// /v1/me/password (throttled): the address is where reset codes go, so a
// stolen session alone must not redirect them (OWASP ASVS 5.0 V7.5.1). A
// new address then passes the per-target mail limit. handled is true when
// the limit has answered already (429).
func (s *Server) changeProfile(w http.ResponseWriter, r *http.Request, ch ProfileUpdate) (user db.User, handled bool, err error) {
	user = auth(r).user
	if ch.Email != nil && account.EmailChanges(user, *ch.Email) {
		if err := s.accounts.CheckOwnPassword(r.Context(), user, clientIP(r), "current_password", ch.CurrentPassword); err != nil {
			return db.User{}, false, err
		}
		if *ch.Email != "" && s.limitTarget(w, r, "verify", *ch.Email) {
			return db.User{}, true, nil
		}
	}
	user, err = s.accounts.UpdateUser(r.Context(), actor(r), user.ID,
		account.UserChange{Username: ch.Username, Email: ch.Email})
	return user, false, err
}

// PasswordChange is the body of PUT /v1/me/password.
type PasswordChange struct {
	CurrentPassword string `json:"current_password"`
	NewPassword     string `json:"new_password"`
}

// handleMePasswordChange replaces the user's password: 204, 403 when the
// current password is wrong, 422 when the new one fails the policy. Every
// other session of the user is revoked.
func (s *Server) handleMePasswordChange(w http.ResponseWriter, r *http.Request) {
	req, err := decode[PasswordChange](w, r, authBodyLimit)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	a := auth(r)
	err = s.accounts.ChangePassword(r.Context(), actor(r), a.session, a.user, req.CurrentPassword, req.NewPassword)
	s.writeNoContent(w, r, err)
}

// AccountDelete is the body of DELETE /v1/me.
type AccountDelete struct {
	Password string `json:"password"`
}

// handleMeDelete deletes the user's account and its sessions after checking
// the password: 204, 403 on a wrong password, 409 for the last active admin.
func (s *Server) handleMeDelete(w http.ResponseWriter, r *http.Request) {
	req, err := decode[AccountDelete](w, r, authBodyLimit)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	user := auth(r).user
	if err := s.accounts.CheckOwnPassword(r.Context(), user, clientIP(r), "password", req.Password); err != nil {
		s.writeError(w, r, err)
		return
	}
	s.writeNoContent(w, r, s.accounts.DeleteUser(r.Context(), actor(r), user.ID))
}

// writeNoContent answers 204 when err is nil and the problem for err otherwise.
func (s *Server) writeNoContent(w http.ResponseWriter, r *http.Request, err error) {
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	w.WriteHeader(http.StatusNoContent)
}
