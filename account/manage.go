package account

import (
	"context"
	"crypto/subtle"
	"database/sql"
	"errors"
	"fmt"
	"slices"
	"strings"

	"golang.org/x/text/secure/precis"
	"golang.org/x/text/unicode/norm"

	"roster/db"
)

// UserChange lists the fields of an account to change; a nil field stays as
// it is. An empty Email removes the address.
type UserChange struct {
	Username *string
	Email    *string
	Status   *string
	Role     *string
}

// UpdateUser applies ch to account id with the same rules as sign-up, in one
// write transaction that also checks the last-admin rule, revokes every
// session when the account is disabled, and audits each kind of change. A
// new email address is unverified: it gets a verification mail, and the old
// address a notice. A new username key must meet the script rule (see
// Username); a name that predates the rule may still change its case. It
// returns ErrNotFound, ErrLastAdmin, a *ValidationError or a *ConflictError.
func (s *Service) UpdateUser(ctx context.Context, actor Actor, id int64, ch UserChange) (db.User, error) {
	var errs fieldErrors
	var newName string // the username key asked for
	var mixed error    // the script rule's verdict on newName
	var email, emailKey *string
	var err error
	if ch.Username != nil {
		newName, err = usernameKey(*ch.Username)
		errs.add(err)
		if err == nil {
			mixed = mixedScript(newName)
		}
	}
	if ch.Email != nil {
		email, emailKey, err = Email(*ch.Email)
		errs.add(err)
	}
	if ch.Status != nil && !ValidStatus(*ch.Status) {
		errs.add(invalid("validation", "status", "must be active or disabled"))
	}
	if ch.Role != nil && !ValidRole(*ch.Role) {
		errs.add(invalid("validation", "role", "must be user or admin"))
	}
	if err := errs.err(); err != nil {
		return db.User{}, err
	}

	var user db.User
	var newKey string // a username key this change claims, for naming a conflict
	err = s.mailTx(ctx, func(q db.Querier) error {
		old, err := getUser(ctx, q, id)
		if err != nil {
			return err
		}
		p := db.UpdateUserParams{ID: id, Username: old.Username, UsernameKey: old.UsernameKey,
			UsernameSkeleton: old.UsernameSkeleton, Email: old.Email, EmailKey: old.EmailKey, Status: old.Status,
			Role: old.Role, UpdatedAt: s.now()}
		var profile []string
		if ch.Username != nil && *ch.Username != old.Username {
			p.Username, p.UsernameKey = *ch.Username, newName
			profile = append(profile, "username")
			if newName != old.UsernameKey {
				if mixed != nil {
					return mixed
				}
				newKey = newName
				p.UsernameSkeleton = new(UsernameSkeleton(newName))
			}
		}
		if ch.Email != nil && !equalPtr(email, old.Email) {
			p.Email, p.EmailKey = email, emailKey
			profile = append(profile, "email")
		}
		if ch.Status != nil {
			p.Status = *ch.Status
		}
		if ch.Role != nil {
			p.Role = *ch.Role
		}
		if len(profile) == 0 && p.Status == old.Status && p.Role == old.Role {
			user = old
			return nil
		}
		if isActiveAdmin(old) && !(p.Role == RoleAdmin && p.Status == StatusActive) {
			if err := requireOtherAdmin(ctx, q); err != nil {
				return err
			}
		}
		if user, err = q.UpdateUser(ctx, p); err != nil {
			return err
		}
		if !equalPtr(p.EmailKey, old.EmailKey) {
			if err := s.emailChanged(ctx, q, user, old.Email); err != nil {
				return err
			}
		}
		var events [][2]string
		if len(profile) > 0 {
			events = append(events, [2]string{ActionUserUpdate, strings.Join(profile, ",")})
		}
		if p.Role != old.Role {
			events = append(events, [2]string{ActionUserRole, "role=" + p.Role})
		}
		switch {
		case p.Status == StatusDisabled && old.Status != StatusDisabled:
			n, err := q.DeleteUserSessions(ctx, id)
			if err != nil {
				return err
			}
			events = append(events, [2]string{ActionUserDisable, revokedDetail(n)})
		case p.Status == StatusActive && old.Status != StatusActive:
			events = append(events, [2]string{ActionUserEnable, ""})
		}
		for _, e := range events {
			if err := s.audit(ctx, q, actor, id, e[0], e[1]); err != nil {
				return err
			}
		}
		return nil
	})
	if db.IsUniqueViolation(err) {
		return db.User{}, Conflict(ctx, s.Store.Write, newKey)
	}
	return user, err
}

func equalPtr(a, b *string) bool {
	return a == nil && b == nil || a != nil && b != nil && *a == *b
}

// DeleteUser removes account id, its sessions with it, and audits the
// deletion under the account's former username. It returns ErrNotFound or
// ErrLastAdmin.
func (s *Service) DeleteUser(ctx context.Context, actor Actor, id int64) error {
	return s.Store.Tx(ctx, func(q db.Querier) error {
		user, err := getUser(ctx, q, id)
		if err != nil {
			return err
		}
		if isActiveAdmin(user) {
			if err := requireOtherAdmin(ctx, q); err != nil {
				return err
			}
		}
		if _, err := q.DeleteUser(ctx, id); err != nil {
			return err
		}
		return s.audit(ctx, q, actor, id, ActionUserDelete, "username="+user.Username)
	})
}

// getUser loads an account, mapping a missing one to ErrNotFound.
func getUser(ctx context.Context, q db.Querier, id int64) (db.User, error) {
	user, err := q.GetUser(ctx, id)
	if errors.Is(err, sql.ErrNoRows) {
		return db.User{}, ErrNotFound
	}
	return user, err
}

// requireOtherAdmin is called, inside the write transaction, before an active
// admin stops being one: it refuses with ErrLastAdmin unless another remains.
// Tx serializes transactions (db.Engine.Tx), so two admins cannot demote
// each other at once.
func requireOtherAdmin(ctx context.Context, q db.Querier) error {
	n, err := q.CountActiveAdmins(ctx)
	if err != nil {
		return err
	}
	if n <= 1 {
		return ErrLastAdmin
	}
	return nil
}

func revokedDetail(n int64) string { return fmt.Sprintf("revoked %d sessions", n) }

// CheckOwnPassword confirms a signed-in user's password, sent in the named
// field, before a sensitive change; a mismatch is ErrWrongPassword. It is
// throttled like a login by username from ip (see throttledVerify): a stolen
// session must not become an unlimited password oracle. While one check for
// the account is in flight, another is refused with ErrAccountBusy (see
// hold). An account deleted before the match was settled gets
// ErrWrongPassword.
func (s *Service) CheckOwnPassword(ctx context.Context, user db.User, ip, field, password string) error {
	pw, err := NormalizePassword(field, password)
	if err != nil {
		return err
	}
	release, err := s.Hasher.hold(user.ID)
	if err != nil {
		return err
	}
	defer release()
	return s.checkOwnPassword(ctx, user, ip, pw)
}

// checkOwnPassword is CheckOwnPassword for the normalized password pw, with
// the account's hold taken.
func (s *Service) checkOwnPassword(ctx context.Context, user db.User, ip, pw string) error {
	a := newAttempt(userKey(user), ip, user, true)
	ok, _, _, err := s.throttledVerify(ctx, &a, user, true, pw)
	if err == nil && ok {
		err = s.settle(ctx, a, true, nil)
	}
	switch {
	case errors.Is(err, ErrBadCredentials):
		return ErrWrongPassword
	case err != nil:
		return err
	case !ok:
		return ErrWrongPassword
	}
	return nil
}

// ChangePassword replaces the password of the user signed in with session
// after checking the current one (ErrWrongPassword), and revokes every other
// session of the user. A new password equal to the current one is refused
// once the current one is confirmed, before it is hashed. The account's hold
// (see CheckOwnPassword) covers both hashes.
func (s *Service) ChangePassword(ctx context.Context, actor Actor, session db.Session, user db.User, current, next string) error {
	pw, err := s.Policy.ValidateNewPassword("new_password", next, user.Username, user.Email)
	if err != nil {
		return err
	}
	cur, err := NormalizePassword("current_password", current)
	if err != nil {
		return err
	}
	release, err := s.Hasher.hold(user.ID)
	if err != nil {
		return err
	}
	defer release()
	if err := s.checkOwnPassword(ctx, user, actor.IP, cur); err != nil {
		return err
	}
	if subtle.ConstantTimeCompare([]byte(cur), []byte(pw)) == 1 {
		return invalid("password_unchanged", "new_password", "must differ from the current password")
	}
	return s.replacePassword(ctx, actor, user.ID, pw, session.TokenHash, ActionPasswordChange)
}

// SetPassword replaces the password of account id without knowing the old
// one (the CLI's set-password) and revokes every session of the account.
func (s *Service) SetPassword(ctx context.Context, actor Actor, id int64, password string) error {
	user, err := getUser(ctx, s.Store.Read, id)
	if err != nil {
		return err
	}
	pw, err := s.Policy.ValidateNewPassword("password", password, user.Username, user.Email)
	if err != nil {
		return err
	}
	return s.replacePassword(ctx, actor, id, pw, nil, ActionPasswordSet)
}

// replacePassword hashes the normalized password pw, then stores it in one
// transaction with storePassword.
func (s *Service) replacePassword(ctx context.Context, actor Actor, id int64, pw string, keep []byte, action string) error {
	hash, err := s.Hasher.Hash(ctx, pw)
	if err != nil {
		return err
	}
	return s.mailTx(ctx, func(q db.Querier) error {
		return s.storePassword(ctx, q, actor, id, hash, keep, action)
	})
}

// revokeSessions ends the account's sessions but the one whose token hashes
// to keep, or all of them when keep is nil.
func revokeSessions(ctx context.Context, q db.Querier, userID int64, keep []byte) (int64, error) {
	if keep == nil {
		return q.DeleteUserSessions(ctx, userID)
	}
	return q.DeleteUserSessionsExcept(ctx, db.DeleteUserSessionsExceptParams{UserID: userID, Keep: keep})
}

// ListSessions returns the live sessions of an account, oldest first.
func (s *Service) ListSessions(ctx context.Context, userID int64) ([]db.Session, error) {
	now := s.now()
	return s.Store.Read.ListUserSessions(ctx, db.ListUserSessionsParams{UserID: userID, Now: now, IdleSince: now.Add(-s.IdleTTL)})
}

// RevokeSession ends the session with public id sessionID if it belongs to
// account userID, and ErrNotFound otherwise: one user can never end, or learn
// of, another's session.
func (s *Service) RevokeSession(ctx context.Context, actor Actor, userID int64, sessionID string) error {
	return s.Store.Tx(ctx, func(q db.Querier) error {
		n, err := q.DeleteUserSession(ctx, db.DeleteUserSessionParams{ID: sessionID, UserID: userID})
		if err != nil {
			return err
		}
		if n == 0 {
			return ErrNotFound
		}
		return s.audit(ctx, q, actor, userID, ActionSessionRevoke, "session "+sessionID)
	})
}

// RevokeSessions ends every session of account userID but the one whose
// token hashes to keep (all of them when keep is nil). It returns ErrNotFound
// for an unknown account.
func (s *Service) RevokeSessions(ctx context.Context, actor Actor, userID int64, keep []byte) error {
	return s.Store.Tx(ctx, func(q db.Querier) error {
		if _, err := getUser(ctx, q, userID); err != nil {
			return err
		}
		n, err := revokeSessions(ctx, q, userID, keep)
		if err != nil {
			return err
		}
		return s.audit(ctx, q, actor, userID, ActionSessionsRevoke, revokedDetail(n))
	})
}

// UserFilter selects accounts for ListUsers; empty fields select all. Status
// and Role must be valid when set (ValidStatus, ValidRole).
type UserFilter struct {
	// Query matches a prefix of the username or the email, ignoring case.
	Query  string
	Status string
	Role   string
}

// ListUsers returns up to limit accounts with ids above after, in id order.
// Paging by the last id returned never repeats or skips an account that
// exists throughout, whatever is inserted or deleted meanwhile.
func (s *Service) ListUsers(ctx context.Context, f UserFilter, after int64, limit int) ([]db.User, error) {
	userPrefix, emailPrefix := f.prefixes()
	return s.Store.Read.ListUsers(ctx, db.ListUsersParams{After: after, Lim: int64(limit), Status: optional(f.Status),
		Role: optional(f.Role), UsernamePrefix: userPrefix, EmailPrefix: emailPrefix})
}

// ListUsersBefore returns the up to limit accounts with the highest ids below
// before, in id order: the page before the one that starts at before.
func (s *Service) ListUsersBefore(ctx context.Context, f UserFilter, before int64, limit int) ([]db.User, error) {
	userPrefix, emailPrefix := f.prefixes()
	users, err := s.Store.Read.ListUsersBefore(ctx, db.ListUsersBeforeParams{Before: before, Lim: int64(limit),
		Status: optional(f.Status), Role: optional(f.Role), UsernamePrefix: userPrefix, EmailPrefix: emailPrefix})
	slices.Reverse(users)
	return users, err
}

// prefixes are f.Query as a username-key prefix and an email-key prefix, or
// nil for no query. Each key has its own normalization; a query that is no
// valid username (it holds "@", say) is matched as typed, lower-cased.
func (f UserFilter) prefixes() (username, email *string) {
	if f.Query == "" {
		return nil, nil
	}
	emailPrefix := strings.ToLower(norm.NFC.String(f.Query))
	userPrefix, err := precis.UsernameCaseMapped.String(f.Query)
	if err != nil || userPrefix == "" {
		userPrefix = emailPrefix
	}
	return &userPrefix, &emailPrefix
}

func optional(s string) *string {
	if s == "" {
		return nil
	}
	return &s
}

// UserByName returns the account with the given username, or ErrNotFound.
func (s *Service) UserByName(ctx context.Context, name string) (db.User, error) {
	key, err := usernameKey(name)
	if err != nil {
		return db.User{}, ErrNotFound
	}
	user, err := s.Store.Read.GetUserByUsernameKey(ctx, key)
	if errors.Is(err, sql.ErrNoRows) {
		return db.User{}, ErrNotFound
	}
	return user, err
}
