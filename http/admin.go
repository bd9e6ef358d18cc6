package http

import (
	"math"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/go-chi/chi/v5"

	"roster/account"
	"roster/db"
)

// The /v1/admin routes run behind requireSession and requireAdmin. Admins
// never see or set password hashes: the wire types below have no such field
// and decode refuses unknown ones.

// UserList is one page of GET /v1/admin/users.
type UserList struct {
	Users      []User `json:"users"`
	NextCursor string `json:"next_cursor,omitempty"`
}

// handleAdminUserList pages through accounts in id order:
// ?limit=&after=&q=&status=&role=.
func (s *Server) handleAdminUserList(w http.ResponseWriter, r *http.Request) {
	page, err := readPage(r)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	f, err := userFilter(r)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	users, err := s.accounts.ListUsers(r.Context(), f, page.after, page.limit+1)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	users, next := nextCursor(users, page.limit, func(u db.User) int64 { return u.ID })
	resp := UserList{Users: make([]User, len(users)), NextCursor: next}
	for i, u := range users {
		resp.Users[i] = newUser(u)
	}
	encode(w, http.StatusOK, resp)
}

// userFilter reads the account filter ?q=&status=&role= from the query.
func userFilter(r *http.Request) (account.UserFilter, error) {
	q := r.URL.Query()
	f := account.UserFilter{Query: q.Get("q"), Status: q.Get("status"), Role: q.Get("role")}
	if f.Status != "" && !account.ValidStatus(f.Status) {
		return f, invalidQuery("status must be active or disabled")
	}
	if f.Role != "" && !account.ValidRole(f.Role) {
		return f, invalidQuery("role must be user or admin")
	}
	return f, nil
}

// AdminUserCreate is the body of POST /v1/admin/users.
type AdminUserCreate struct {
	Username string `json:"username"`
	Email    string `json:"email"`
	Password string `json:"password"`
	Role     string `json:"role"`
}

// handleAdminUserCreate creates an account under the sign-up rules, with an
// optional role: 201 with the account.
func (s *Server) handleAdminUserCreate(w http.ResponseWriter, r *http.Request) {
	req, err := decode[AdminUserCreate](w, r, authBodyLimit)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	user, err := s.accounts.CreateUser(r.Context(), actor(r), account.NewUser(req))
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	encode(w, http.StatusCreated, newUser(user))
}

// userID reads the {id} path parameter; one that names no account is a 404.
func userID(r *http.Request) (int64, error) {
	id, err := strconv.ParseInt(chi.URLParam(r, "id"), 10, 64)
	if err != nil || id < 1 {
		return 0, account.ErrNotFound
	}
	return id, nil
}

// handleAdminUserGet returns one account.
func (s *Server) handleAdminUserGet(w http.ResponseWriter, r *http.Request) {
	id, err := userID(r)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	user, err := s.store.Read.GetUser(r.Context(), id)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	m, err := s.accounts.MFA(r.Context(), id)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	u := newUser(user)
	enabled := m.Enabled()
	u.MFAEnabled = &enabled
	encode(w, http.StatusOK, u)
}

// AdminUserUpdate is the body of PATCH /v1/admin/users/{id}; absent fields stay.
type AdminUserUpdate struct {
	Username *string `json:"username"`
	Email    *string `json:"email"`
	Status   *string `json:"status"`
	Role     *string `json:"role"`
}

// handleAdminUserUpdate changes an account's status, role, username or
// email: 200 with the account, 409 when it would leave no active admin.
// Disabling revokes every session of the account.
func (s *Server) handleAdminUserUpdate(w http.ResponseWriter, r *http.Request) {
	id, err := userID(r)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	req, err := decode[AdminUserUpdate](w, r, defaultBodyLimit)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	user, err := s.accounts.UpdateUser(r.Context(), actor(r), id, account.UserChange(req))
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	encode(w, http.StatusOK, newUser(user))
}

// handleAdminUserDelete deletes an account and its sessions: 204, or 409 for
// the last active admin.
func (s *Server) handleAdminUserDelete(w http.ResponseWriter, r *http.Request) {
	id, err := userID(r)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	s.writeNoContent(w, r, s.accounts.DeleteUser(r.Context(), actor(r), id))
}

// handleAdminUserSessionsDelete revokes every session of an account: 204.
func (s *Server) handleAdminUserSessionsDelete(w http.ResponseWriter, r *http.Request) {
	id, err := userID(r)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	s.writeNoContent(w, r, s.accounts.RevokeSessions(r.Context(), actor(r), id, nil))
}

// AuditEvent is one audit record on the wire. actor_id is absent for
// the CLI and for anonymous requests; target_id when no account was involved.
type AuditEvent struct {
	ID       int64     `json:"id"`
	Time     time.Time `json:"time"`
	ActorID  *int64    `json:"actor_id,omitempty"`
	TargetID *int64    `json:"target_id,omitempty"`
	Action   string    `json:"action"`
	Detail   string    `json:"detail,omitempty"`
	IP       string    `json:"ip,omitempty"`
}

// AuditList is one page of GET /v1/admin/audit.
type AuditList struct {
	Events     []AuditEvent `json:"events"`
	NextCursor string       `json:"next_cursor,omitempty"`
}

// handleAdminAuditList pages through the audit log, newest first:
// ?limit=&after=&user_id=&action=. user_id matches the actor or the target.
func (s *Server) handleAdminAuditList(w http.ResponseWriter, r *http.Request) {
	page, err := readPage(r)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	p := db.ListAuditEventsParams{Before: math.MaxInt64, Lim: int64(page.limit) + 1}
	if page.after != 0 {
		p.Before = page.after
	}
	if p.UserID, p.Action, err = auditFilter(r); err != nil {
		s.writeError(w, r, err)
		return
	}
	events, err := s.store.Read.ListAuditEvents(r.Context(), p)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	events, next := nextCursor(events, page.limit, func(e db.AuditEvent) int64 { return e.ID })
	resp := AuditList{Events: make([]AuditEvent, len(events)), NextCursor: next}
	for i, e := range events {
		resp.Events[i] = AuditEvent{ID: e.ID, Time: e.CreatedAt, ActorID: e.ActorID, TargetID: e.TargetID,
			Action: e.Action, Detail: e.Detail, IP: e.Ip}
	}
	encode(w, http.StatusOK, resp)
}

// auditFilter reads the audit filter ?user_id=&action= from the query; nil
// means no filter.
func auditFilter(r *http.Request) (userID *int64, action *string, err error) {
	q := r.URL.Query()
	if v := q.Get("user_id"); v != "" {
		id, err := strconv.ParseInt(v, 10, 64)
		if err != nil || id < 1 {
			return nil, nil, invalidQuery("user_id must be a positive integer")
		}
		userID = &id
	}
	if v := q.Get("action"); v != "" {
		if !account.ValidAction(v) {
			return nil, nil, invalidQuery("action must be one of " + strings.Join(account.Actions, ", "))
		}
		action = &v
	}
	return userID, action, nil
}
