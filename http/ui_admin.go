package http

import (
	"math"
	"net/http"
	"net/url"
	"slices"
	"strings"

	"github.com/go-chi/chi/v5"

	"roster/account"
	"roster/db"
)

// The console's admin pages, behind requireSession and requireAdmin like
// /v1/admin. Lists page by keyset in both directions: ?after= (the next page)
// and ?before= (the previous one) hold cursors of the same form as next_cursor.

// uiPager links a list page to its neighbours; an empty link means none.
type uiPager struct {
	Prev, Next string
}

// pagerLinks builds the pager of a list page at path, keeping query's
// filters: prevKey is the key of the page's first item and nextKey of its
// last, 0 where there is no such page.
func pagerLinks(path string, query url.Values, prevKey, nextKey int64) uiPager {
	link := func(param string, key int64) string {
		if key == 0 {
			return ""
		}
		q := url.Values{}
		for k, v := range query {
			if k != "after" && k != "before" && k != "notice" && len(v) > 0 && v[0] != "" {
				q.Set(k, v[0])
			}
		}
		q.Set(param, encodeCursor(key))
		return path + "?" + q.Encode()
	}
	return uiPager{Prev: link("before", prevKey), Next: link("after", nextKey)}
}

// keysetPage trims a list page fetched with one item beyond the limit, in
// the order it is shown, and returns the keys for its pager links (0 for no
// link). Fetched backwards (for ?before=) the extra item is the first;
// forwards it is the last, and a page reached with ?after= has a previous one.
func keysetPage[T any](items []T, page pageRequest, backward bool, key func(T) int64) (_ []T, prev, next int64) {
	more := len(items) > page.limit
	switch {
	case more && backward:
		items = items[1:]
	case more:
		items = items[:page.limit]
	}
	if len(items) == 0 {
		return items, 0, 0
	}
	if more && backward || !backward && page.after != 0 {
		prev = key(items[0])
	}
	if more || backward {
		next = key(items[len(items)-1])
	}
	return items, prev, next
}

// readListPage reads a list page's position: readPage's limit and after,
// and before, a cursor like after (0 when absent).
func readListPage(r *http.Request) (page pageRequest, before int64, err error) {
	if page, err = readPage(r); err != nil {
		return page, 0, err
	}
	if v := r.URL.Query().Get("before"); v != "" {
		if before, err = decodeCursor(v); err != nil {
			return page, 0, invalidQuery("before must be a cursor from a page link")
		}
	}
	return page, before, nil
}

// handleUIAdminUsers lists accounts like GET /v1/admin/users, with the same
// filters, a page at a time in id order.
func (s *Server) handleUIAdminUsers(w http.ResponseWriter, r *http.Request) {
	page, before, err := readListPage(r)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	f, err := userFilter(r)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	var users []db.User
	if before != 0 {
		users, err = s.accounts.ListUsersBefore(r.Context(), f, before, page.limit+1)
	} else {
		users, err = s.accounts.ListUsers(r.Context(), f, page.after, page.limit+1)
	}
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	users, prev, next := keysetPage(users, page, before != 0, func(u db.User) int64 { return u.ID })
	p := s.page(r, "Users")
	p.Form = r.URL.Query()
	p.Data = struct {
		Users []db.User
		Pager uiPager
	}{users, pagerLinks(r.URL.Path, r.URL.Query(), prev, next)}
	s.render(w, r, http.StatusOK, "admin-users.html", p)
}

// adminUserPage gathers the page of account id: the account and its sessions.
func (s *Server) adminUserPage(r *http.Request, title string) (*uiPage, db.User, error) {
	id, err := userID(r)
	if err != nil {
		return nil, db.User{}, err
	}
	user, err := s.store.Read.GetUser(r.Context(), id)
	if err != nil {
		return nil, db.User{}, err
	}
	sessions, err := s.accounts.ListSessions(r.Context(), id)
	if err != nil {
		return nil, db.User{}, err
	}
	mfa, err := s.accounts.MFA(r.Context(), id)
	if err != nil {
		return nil, db.User{}, err
	}
	p := s.page(r, title+user.Username)
	p.Form.Set("status", user.Status)
	p.Form.Set("role", user.Role)
	p.Data = struct {
		Account  db.User
		Sessions []db.Session
		MFA      account.MFAStatus
	}{user, sessions, mfa}
	return p, user, nil
}

// handleUIAdminUser shows one account with the forms that change it.
func (s *Server) handleUIAdminUser(w http.ResponseWriter, r *http.Request) {
	p, _, err := s.adminUserPage(r, "User ")
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	s.render(w, r, http.StatusOK, "admin-user.html", p)
}

// handleUIAdminUserPost changes an account's status and role like PATCH
// /v1/admin/users/{id}; disabling signs out every session of the account.
func (s *Server) handleUIAdminUserPost(w http.ResponseWriter, r *http.Request) {
	form, err := readForm(w, r, "status", "role")
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	p, user, err := s.adminUserPage(r, "User ")
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	status, role := form.Get("status"), form.Get("role")
	if _, err := s.accounts.UpdateUser(r.Context(), actor(r), user.ID, account.UserChange{Status: &status, Role: &role}); err != nil {
		p.Form = form
		s.uiFail(w, r, "admin-user.html", p, err)
		return
	}
	redirect(w, r, r.URL.Path, "user-saved")
}

// handleUIAdminUserSessionsRevoke signs out every session of an account like
// DELETE /v1/admin/users/{id}/sessions.
func (s *Server) handleUIAdminUserSessionsRevoke(w http.ResponseWriter, r *http.Request) {
	id, err := userID(r)
	if err == nil {
		err = s.accounts.RevokeSessions(r.Context(), actor(r), id, nil)
	}
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	redirect(w, r, "/ui/admin/users/"+chi.URLParam(r, "id"), "user-sessions-revoked")
}

// handleUIAdminUserDelete asks to confirm the deletion of an account.
func (s *Server) handleUIAdminUserDelete(w http.ResponseWriter, r *http.Request) {
	p, _, err := s.adminUserPage(r, "Delete user ")
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	s.render(w, r, http.StatusOK, "admin-delete.html", p)
}

// handleUIAdminUserDeletePost deletes an account like DELETE /v1/admin/users/{id}.
func (s *Server) handleUIAdminUserDeletePost(w http.ResponseWriter, r *http.Request) {
	p, user, err := s.adminUserPage(r, "Delete user ")
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	if err := s.accounts.DeleteUser(r.Context(), actor(r), user.ID); err != nil {
		s.uiFail(w, r, "admin-delete.html", p, err)
		return
	}
	redirect(w, r, "/ui/admin/users", "user-deleted")
}

// handleUIAdminAudit pages through the audit log like GET /v1/admin/audit,
// newest first, with the same filters.
func (s *Server) handleUIAdminAudit(w http.ResponseWriter, r *http.Request) {
	page, before, err := readListPage(r)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	userID, action, err := auditFilter(r)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	var events []db.AuditEvent
	lim := int64(page.limit) + 1
	if before != 0 {
		events, err = s.store.Read.ListAuditEventsAfter(r.Context(), db.ListAuditEventsAfterParams{
			After: before, UserID: userID, Action: action, Lim: lim})
		slices.Reverse(events) // newest first, like every page of the log
	} else {
		p := db.ListAuditEventsParams{Before: page.after, UserID: userID, Action: action, Lim: lim}
		if p.Before == 0 {
			p.Before = math.MaxInt64
		}
		events, err = s.store.Read.ListAuditEvents(r.Context(), p)
	}
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	events, prev, next := keysetPage(events, page, before != 0, func(e db.AuditEvent) int64 { return e.ID })
	p := s.page(r, "Audit log")
	p.Form = r.URL.Query()
	p.Data = struct {
		Events  []db.AuditEvent
		Actions []string
		Pager   uiPager
	}{events, account.Actions, pagerLinks(r.URL.Path, r.URL.Query(), prev, next)}
	s.render(w, r, http.StatusOK, "admin-audit.html", p)
}

// handleUIAdminUserMFAReset removes every second factor of the account, as
// DELETE /v1/admin/users/{id}/mfa does.
func (s *Server) handleUIAdminUserMFAReset(w http.ResponseWriter, r *http.Request) {
	id, err := userID(r)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	if err := s.accounts.ResetMFA(r.Context(), actor(r), id); err != nil {
		s.writeError(w, r, err)
		return
	}
	redirect(w, r, strings.TrimSuffix(r.URL.Path, "/mfa/reset"), "user-mfa-reset")
}
