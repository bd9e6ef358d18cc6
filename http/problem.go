package http

import (
	"context"
	"database/sql"
	"errors"
	"log/slog"
	"net/http"
	"strconv"
	"time"

	"roster/account"
	"roster/db"
)

// problemTypeBase prefixes every problem code to form its RFC 9457 type URI.
const problemTypeBase = "urn:roster:problem:"

// Problem is an RFC 9457 problem detail. Code is roster's stable,
// machine-readable name for it; Errors lists field errors on validation failures.
type Problem struct {
	Type   string       `json:"type"`
	Title  string       `json:"title"`
	Status int          `json:"status"`
	Detail string       `json:"detail,omitempty"`
	Code   string       `json:"code"`
	Errors []FieldError `json:"errors,omitempty"`
	// RetryAfter is the Retry-After header of a 429 or 503, as the Client read it.
	RetryAfter time.Duration `json:"-"`
}

// Error makes a Problem an error, as the Client returns it.
func (p *Problem) Error() string {
	if p.Detail != "" {
		return p.Detail
	}
	return p.Title
}

// FieldError names one refused input field.
type FieldError struct {
	Field   string `json:"field"`
	Message string `json:"message"`
}

// problemError is an error a handler raises with a known status and code.
type problemError struct {
	status int
	code   string
	detail string
}

func (e *problemError) Error() string { return e.detail }

var (
	// errForbidden refuses a signed-in user a route that needs the admin role.
	errForbidden   = &problemError{status: http.StatusForbidden, code: "forbidden", detail: "this route needs the admin role"}
	errRateLimited = &problemError{status: http.StatusTooManyRequests, code: "rate_limited",
		detail: "too many requests from this address; retry later"}
	errAccountRateLimited = &problemError{status: http.StatusTooManyRequests, code: "rate_limited",
		detail: "too many password checks for this account; retry later"}
	errCrossOrigin = &problemError{status: http.StatusForbidden, code: "cross_origin",
		detail: "cross-origin requests may not use the session cookie"}
	// errAdminNeedsMFA refuses the admin routes, with -require-mfa-for-admins,
	// to an admin without a second factor.
	errAdminNeedsMFA = &problemError{status: http.StatusForbidden, code: "mfa_required",
		detail: "admins must turn on two-factor authentication (POST /v1/me/mfa/totp) before using the admin routes"}
)

// codeStorageUnavailable answers any request whose write the database
// refused for its storage: a full volume or a failing disk. The client may
// retry; the server recovers by itself once space returns, and /readyz
// answers 503 until it has, so a load balancer stops sending traffic.
const codeStorageUnavailable = "storage_unavailable"

// storageRetryAfter is the Retry-After of a storage_unavailable answer, in
// seconds: a few of the store's recovery attempts (one a second).
const storageRetryAfter = "5"

func badRequest(detail string) error {
	return &problemError{status: http.StatusBadRequest, code: "malformed", detail: detail}
}

// problemFor is the one table from errors to HTTP answers. Anything it does
// not know is a 500 whose detail reveals nothing.
func problemFor(err error) (p Problem, header http.Header) {
	var (
		ve  *account.ValidationError
		ce  *account.ConflictError
		te  *account.ThrottledError
		pe  *problemError
		mbe *http.MaxBytesError
	)
	switch {
	case errors.As(err, &pe):
		p = Problem{Status: pe.status, Code: pe.code, Detail: pe.detail}
	case db.IsStorageUnavailable(err):
		// Before the rest: whatever else went wrong, the outcome is that
		// nothing could be stored.
		p = Problem{Status: http.StatusServiceUnavailable, Code: codeStorageUnavailable,
			Detail: "the server cannot store data right now; retry shortly"}
		header = http.Header{"Retry-After": {storageRetryAfter}}
	case db.IsSerializationFailure(err):
		// The store already ran the transaction again a few times: the
		// rows it needs are that contended, and a retry shortly will do.
		p = Problem{Status: http.StatusServiceUnavailable, Code: "contended",
			Detail: "other requests are changing the same data; retry shortly"}
		header = http.Header{"Retry-After": {"1"}}
	case errors.As(err, &ve):
		p = Problem{Status: http.StatusUnprocessableEntity, Code: ve.Code, Detail: ve.Error()}
		for _, fe := range ve.Errors {
			p.Errors = append(p.Errors, FieldError{Field: fe.Field, Message: fe.Message})
		}
	case errors.As(err, &ce) && ce.Lookalike:
		p = Problem{Status: http.StatusConflict, Code: ce.Field + "_confusable", Detail: ce.Error(),
			Errors: []FieldError{{Field: ce.Field, Message: "looks like an existing account's name"}}}
	case errors.As(err, &ce):
		p = Problem{Status: http.StatusConflict, Code: ce.Field + "_taken", Detail: ce.Error(),
			Errors: []FieldError{{Field: ce.Field, Message: "is already taken"}}}
	case errors.As(err, &mbe):
		p = Problem{Status: http.StatusRequestEntityTooLarge, Code: "too_large",
			Detail: "request body exceeds " + strconv.FormatInt(mbe.Limit, 10) + " bytes"}
	case errors.As(err, &te):
		p = Problem{Status: http.StatusTooManyRequests, Code: "login_throttled",
			Detail: "too many login attempts for this account; retry later"}
		header = http.Header{"Retry-After": {strconv.Itoa(int(max(1, (te.RetryAfter+time.Second-1)/time.Second)))}}
	case errors.Is(err, account.ErrBadCredentials):
		p = Problem{Status: http.StatusUnauthorized, Code: "invalid_credentials", Detail: err.Error()}
	case errors.Is(err, account.ErrUnauthenticated):
		p = Problem{Status: http.StatusUnauthorized, Code: "unauthenticated", Detail: err.Error()}
		header = http.Header{"Www-Authenticate": {`Bearer realm="roster"`}}
	case errors.Is(err, account.ErrNotFound), errors.Is(err, sql.ErrNoRows):
		p = Problem{Status: http.StatusNotFound, Code: "not_found", Detail: "no such resource"}
	case errors.Is(err, account.ErrWrongPassword):
		p = Problem{Status: http.StatusForbidden, Code: "wrong_password", Detail: err.Error()}
	case errors.Is(err, account.ErrInvalidToken):
		p = Problem{Status: http.StatusBadRequest, Code: "invalid_token", Detail: err.Error()}
	case errors.Is(err, account.ErrEmailUnverified):
		p = Problem{Status: http.StatusForbidden, Code: "email_unverified",
			Detail: err.Error() + "; follow the link mailed to it (completing a password reset verifies it too)"}
	case errors.Is(err, account.ErrNoEmail):
		p = Problem{Status: http.StatusConflict, Code: "no_email", Detail: err.Error()}
	case errors.Is(err, account.ErrAlreadyVerified):
		p = Problem{Status: http.StatusConflict, Code: "email_already_verified", Detail: err.Error()}
	case errors.Is(err, account.ErrLastAdmin):
		p = Problem{Status: http.StatusConflict, Code: "last_admin", Detail: err.Error()}
	case errors.Is(err, account.ErrInvalidCode):
		p = Problem{Status: http.StatusUnprocessableEntity, Code: "invalid_code", Detail: err.Error()}
	case errors.Is(err, account.ErrStepUpRequired):
		p = Problem{Status: http.StatusForbidden, Code: "step_up_required", Detail: err.Error()}
	case errors.Is(err, account.ErrMFARequired):
		p = Problem{Status: http.StatusForbidden, Code: "mfa_required", Detail: err.Error()}
	case errors.Is(err, account.ErrMFAAlreadyOn):
		p = Problem{Status: http.StatusConflict, Code: "mfa_already_on", Detail: err.Error()}
	case errors.Is(err, account.ErrMFAOff):
		p = Problem{Status: http.StatusConflict, Code: "mfa_off", Detail: err.Error()}
	case errors.Is(err, account.ErrNoEnrollment):
		p = Problem{Status: http.StatusConflict, Code: "no_enrollment", Detail: err.Error()}
	case errors.Is(err, account.ErrPasskeyRefused):
		p = Problem{Status: http.StatusUnauthorized, Code: "passkey_refused", Detail: err.Error()}
	case errors.Is(err, account.ErrPasskeysUnavailable):
		p = Problem{Status: http.StatusNotImplemented, Code: "mfa_unavailable", Detail: err.Error()}
	case errors.Is(err, account.ErrMFAUnavailable):
		p = Problem{Status: http.StatusNotImplemented, Code: "mfa_unavailable", Detail: err.Error()}
	case errors.Is(err, account.ErrAccountBusy):
		p = Problem{Status: http.StatusTooManyRequests, Code: "account_busy", Detail: err.Error() + "; retry shortly"}
		header = http.Header{"Retry-After": {"1"}}
	case errors.Is(err, account.ErrHashBusy):
		p = Problem{Status: http.StatusServiceUnavailable, Code: "overloaded", Detail: "the server is busy; retry shortly"}
		header = http.Header{"Retry-After": {"1"}}
	default:
		p = Problem{Status: http.StatusInternalServerError, Code: "internal", Detail: "internal error"}
	}
	p.Type = problemTypeBase + p.Code
	p.Title = http.StatusText(p.Status)
	return p, header
}

// writeError answers with the problem for err: problem+json on the JSON API,
// on the tutorial's form routes the status with the detail on one line, and
// in the web console a page (see uiError), whichever layer (rate limiter,
// body cap, session check, handler) refused the request.
func (s *Server) writeError(w http.ResponseWriter, r *http.Request, err error) {
	p, ok := s.prepareError(w, r, err)
	switch {
	case !ok:
	case isFormRoute(r):
		writeText(w, p.Status, p.Detail)
	case s.isUIRoute(r):
		s.uiError(w, r, p)
	default:
		writeJSON(w, p.Status, "application/problem+json", p)
	}
}

// prepareError maps err, logs a 500 or a storage failure with its cause (the
// client sees only a generic detail), counts throttled requests (429s, and
// an overloaded hasher's 503s) and sets the problem's headers. ok is false
// when the client has gone away and no answer is worth writing.
func (s *Server) prepareError(w http.ResponseWriter, r *http.Request, err error) (p Problem, ok bool) {
	if errors.Is(err, context.Canceled) && r.Context().Err() != nil {
		return p, false
	}
	p, header := problemFor(err)
	storage := p.Code == codeStorageUnavailable
	if p.Status == http.StatusInternalServerError || storage {
		s.logFailure(r, err)
	}
	if p.Status == http.StatusTooManyRequests || (header.Get("Retry-After") != "" && !storage) {
		s.metrics.throttled.WithLabelValues(p.Code).Inc()
	}
	for k, v := range header {
		w.Header()[k] = v
	}
	return p, true
}

// logFailure is the one place a request's error is logged, with the request
// id that ties it to the access log line. err must not carry secrets.
func (s *Server) logFailure(r *http.Request, err error) {
	s.log.ErrorContext(r.Context(), "request failed", slog.String("request_id", info(r).id),
		slog.String("method", r.Method), slog.String("route", routePattern(r)), slog.Any("error", err))
}
