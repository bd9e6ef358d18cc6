// Package account holds the rules shared by the HTTP API and the CLI:
// username and email normalization, the password policy, password hashing,
// session tokens, and the multi-step operations built from them.
package account

import (
	"errors"
	"strings"
)

// FieldError says why one input field was refused.
type FieldError struct {
	Field   string
	Message string
}

// ValidationError lists every refused field of one request. Code names the
// rule when a single rule decided the outcome (for example "password_common").
type ValidationError struct {
	Code   string
	Errors []FieldError
}

func (e *ValidationError) Error() string {
	parts := make([]string, len(e.Errors))
	for i, fe := range e.Errors {
		parts[i] = fe.Field + ": " + fe.Message
	}
	return strings.Join(parts, "; ")
}

// fieldErrors gathers the field errors of several checks into one
// ValidationError, so a client learns every refused field at once.
type fieldErrors struct {
	code   string
	fields []FieldError
}

// add records err if it is a *ValidationError; other errors are ignored.
func (f *fieldErrors) add(err error) {
	var ve *ValidationError
	if errors.As(err, &ve) {
		f.fields = append(f.fields, ve.Errors...)
		f.code = ve.Code
	}
}

// err is nil when nothing was refused. With several fields refused the code
// is the generic "validation".
func (f *fieldErrors) err() error {
	switch len(f.fields) {
	case 0:
		return nil
	case 1:
		return &ValidationError{Code: f.code, Errors: f.fields}
	}
	return &ValidationError{Code: "validation", Errors: f.fields}
}

// invalid returns a ValidationError for one field.
func invalid(code, field, message string) *ValidationError {
	return &ValidationError{Code: code, Errors: []FieldError{{Field: field, Message: message}}}
}

// ConflictError reports that a unique value (username or email) is taken,
// or, with Lookalike, that the username looks like an existing account's
// (the same UTS #39 skeleton, as "аdmin" with a Cyrillic "а" for "admin").
type ConflictError struct {
	Field     string
	Lookalike bool
}

func (e *ConflictError) Error() string {
	if e.Lookalike {
		return e.Field + " looks like an existing account's name"
	}
	return e.Field + " is already taken"
}

var (
	// ErrBadCredentials is the one answer for an unknown account, a wrong
	// password or a disabled account, so a caller cannot tell them apart.
	ErrBadCredentials = errors.New("invalid username or password")
	// ErrUnauthenticated means a session token is missing, unknown or expired.
	ErrUnauthenticated = errors.New("missing, unknown or expired session token")
	// ErrHashBusy means no hashing slot freed up within the wait bound.
	ErrHashBusy = errors.New("password hashing is at capacity")
	// ErrNotFound means the account or session named does not exist (or, for
	// a session, does not belong to the account asking).
	ErrNotFound = errors.New("not found")
	// ErrWrongPassword means a signed-in user's confirmation password was wrong.
	ErrWrongPassword = errors.New("the current password is wrong")
	// ErrLastAdmin refuses a change that would leave no active admin.
	ErrLastAdmin = errors.New("the last active admin cannot be demoted, disabled or deleted")
	// ErrInvalidToken is the one answer for an email-verification or
	// password-reset token that is malformed, unknown, expired, used, or
	// mailed to an address the account no longer has.
	ErrInvalidToken = errors.New("the token is invalid, expired or already used")
	// ErrEmailUnverified refuses a login with the right password when
	// verified email is required and the account has none.
	ErrEmailUnverified = errors.New("the account's email address is not verified yet")
	// ErrNoEmail means the account has no email address to send mail to.
	ErrNoEmail = errors.New("the account has no email address")
	// ErrAlreadyVerified means the account's email address is verified already.
	ErrAlreadyVerified = errors.New("the email address is already verified")
	// ErrDisabled means the account is disabled.
	ErrDisabled = errors.New("the account is disabled")
)
