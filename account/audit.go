package account

import (
	"context"
	"slices"

	"roster/db"
)

// Account statuses: only an active account can log in and use its sessions.
const (
	StatusActive   = "active"
	StatusDisabled = "disabled"
)

// Roles: an admin may use the admin API.
const (
	RoleUser  = "user"
	RoleAdmin = "admin"
)

// ValidStatus reports whether s is an account status.
func ValidStatus(s string) bool { return s == StatusActive || s == StatusDisabled }

// ValidRole reports whether r is a role.
func ValidRole(r string) bool { return r == RoleUser || r == RoleAdmin }

// isActiveAdmin reports whether u can use the admin API.
func isActiveAdmin(u db.User) bool { return u.Role == RoleAdmin && u.Status == StatusActive }

// Audit actions, one per kind of change. The detail column says more where a
// kind needs it (why a login failed, which role was set, how many sessions
// were revoked).
const (
	ActionLoginSuccess   = "login.success"
	ActionLoginFailure   = "login.failure"
	ActionLogout         = "logout"
	ActionSessionRevoke  = "session.revoke"
	ActionSessionsRevoke = "sessions.revoke"
	ActionPasswordChange = "password.change"
	ActionPasswordSet    = "password.set"
	ActionUserCreate     = "user.create"
	ActionUserUpdate     = "user.update"
	ActionUserRole       = "user.role"
	ActionUserDisable    = "user.disable"
	ActionUserEnable     = "user.enable"
	ActionUserDelete     = "user.delete"
	ActionEmailVerify    = "email.verify"
	// ActionEmailVerifyRequest records a verification mail queued again on
	// the account's request (sign-up and email changes have their own rows).
	ActionEmailVerifyRequest = "email.verify_request"
	// ActionPasswordResetRequest records a reset mail queued for the account.
	ActionPasswordResetRequest = "password.reset_request"
	ActionPasswordReset        = "password.reset"
	// ActionSignUpAttempt records a sign-up refused, without telling, for
	// an address the target account has (see SignUp).
	ActionSignUpAttempt = "email.signup_attempt"
	// ActionSignInCodeRequest records a sign-in code mail queued for the
	// account (see SendSignInCode).
	ActionSignInCodeRequest = "login.code_request"
	// Second factors (mfa.go); the detail names the factor.
	ActionMFAEnable        = "mfa.enable"
	ActionMFADisable       = "mfa.disable"
	ActionMFARecoveryCodes = "mfa.recovery_codes"
	ActionMFAVerify        = "mfa.verify"
	ActionMFAReset         = "mfa.reset"
)

// Actions lists every audit action: filters are validated against it, and
// the OpenAPI AuditAction enum and docs/api.md's "Audit actions" table are
// checked against it.
var Actions = []string{
	ActionLoginSuccess, ActionLoginFailure, ActionLogout, ActionSessionRevoke, ActionSessionsRevoke,
	ActionPasswordChange, ActionPasswordSet, ActionUserCreate, ActionUserUpdate, ActionUserRole,
	ActionUserDisable, ActionUserEnable, ActionUserDelete, ActionEmailVerify, ActionEmailVerifyRequest,
	ActionPasswordResetRequest, ActionPasswordReset, ActionSignUpAttempt, ActionSignInCodeRequest,
	ActionMFAEnable, ActionMFADisable, ActionMFARecoveryCodes, ActionMFAVerify, ActionMFAReset,
}

// ValidAction reports whether a is an audit action.
func ValidAction(a string) bool { return slices.Contains(Actions, a) }

// Actor is who makes a change and from where, as the audit log records it.
// ID 0 means no account: the CLI (which also has no IP) or an anonymous
// request such as a sign-up or a failed login.
type Actor struct {
	ID int64
	IP string
}

// audit records one change through q, which must be the change's own
// transaction so that the record exists if and only if the change commits.
// A zero target means the change concerns no account.
func (s *Service) audit(ctx context.Context, q db.Querier, actor Actor, target int64, action, detail string) error {
	return q.CreateAuditEvent(ctx, db.CreateAuditEventParams{
		CreatedAt: s.now(), ActorID: optionalID(actor.ID), TargetID: optionalID(target),
		Action: action, Detail: detail, Ip: actor.IP,
	})
}

func optionalID(id int64) *int64 {
	if id == 0 {
		return nil
	}
	return &id
}
