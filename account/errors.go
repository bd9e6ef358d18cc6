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

// invalid returns a ValidationError for one field.
func invalid(code, field, message string) *ValidationError {
	return &ValidationError{Code: code, Errors: []FieldError{{Field: field, Message: message}}}
}

// ConflictError reports that a unique value (username or email) is taken.
type ConflictError struct {
	Field string
}

func (e *ConflictError) Error() string { return e.Field + " is already taken" }

var (
	// ErrBadCredentials is the one answer for an unknown account, a wrong
	// password or a disabled account, so a caller cannot tell them apart.
	ErrBadCredentials = errors.New("invalid username or password")
	// ErrUnauthenticated means a session token is missing, unknown or expired.
	ErrUnauthenticated = errors.New("missing, unknown or expired session token")
	// ErrHashBusy means no hashing slot freed up within the wait bound.
	ErrHashBusy = errors.New("password hashing is at capacity")
)
