package http

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"mime"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"time"
)

// Errors a Client call can be tested against with errors.Is. The error itself
// is a *Problem: use errors.As for its code, field errors and Retry-After.
var (
	ErrBadRequest   = errors.New("bad request")
	ErrUnauthorized = errors.New("unauthorized")
	ErrForbidden    = errors.New("forbidden")
	ErrNotFound     = errors.New("not found")
	ErrConflict     = errors.New("conflict")
	ErrValidation   = errors.New("validation failed")
	ErrThrottled    = errors.New("throttled")
	ErrUnavailable  = errors.New("service unavailable")
	// ErrSignupPending is Signup's answer from a server that requires
	// verified addresses: the address gets a message to follow before the
	// account can sign in (or, if it has an account already, a notice).
	ErrSignupPending = errors.New("sign-up accepted: follow the message mailed to the address, then sign in")
)

// Is reports whether the problem is of the kind target names, so callers can
// write errors.Is(err, http.ErrConflict).
func (p *Problem) Is(target error) bool {
	switch p.Status {
	case http.StatusBadRequest, http.StatusRequestEntityTooLarge, http.StatusUnsupportedMediaType:
		return target == ErrBadRequest
	case http.StatusUnauthorized:
		return target == ErrUnauthorized
	case http.StatusForbidden:
		return target == ErrForbidden
	case http.StatusNotFound:
		return target == ErrNotFound
	case http.StatusConflict:
		return target == ErrConflict
	case http.StatusUnprocessableEntity:
		return target == ErrValidation
	case http.StatusTooManyRequests:
		return target == ErrThrottled
	case http.StatusServiceUnavailable:
		return target == ErrUnavailable || target == ErrThrottled
	}
	return false
}

// Client calls a roster server. Login keeps the session token, and every
// later call sends it. A Client is safe for concurrent use.
type Client struct {
	baseURL string
	hc      *http.Client

	mu    sync.Mutex
	token string
}

// NewClient returns a client for the server at baseURL, such as
// "http://localhost:8080". A nil hc means http.DefaultClient.
func NewClient(baseURL string, hc *http.Client) *Client {
	if hc == nil {
		hc = http.DefaultClient
	}
	return &Client{baseURL: strings.TrimRight(baseURL, "/"), hc: hc}
}

// Token returns the session token the client sends, or "".
func (c *Client) Token() string {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.token
}

// SetToken makes the client send token, for example one kept from an earlier run.
func (c *Client) SetToken(token string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.token = token
}

// Signup creates an account.
//
// A server that requires verified addresses answers 202 without the
// account: Signup then returns ErrSignupPending.
func (c *Client) Signup(ctx context.Context, req SignupRequest) (User, error) {
	var raw json.RawMessage
	status, err := c.callStatus(ctx, http.MethodPost, "/v1/users", req, &raw)
	if err != nil {
		return User{}, err
	}
	if status == http.StatusAccepted {
		return User{}, ErrSignupPending
	}
	var u User
	if err := json.Unmarshal(raw, &u); err != nil {
		return User{}, fmt.Errorf("POST /v1/users: decode answer: %w", err)
	}
	return u, nil
}

// ErrMFARequired is Login's answer for an account with a second factor:
// the error is an *MFAChallengeError; finish with CompleteLogin.
var ErrMFARequired = errors.New("the account has two-factor authentication: a code is needed")

// MFAChallengeError carries the first step's challenge.
type MFAChallengeError struct{ Challenge MFARequired }

func (e *MFAChallengeError) Error() string { return ErrMFARequired.Error() }

// Is makes errors.Is(err, ErrMFARequired) true.
func (e *MFAChallengeError) Is(target error) bool { return target == ErrMFARequired }

// Login opens a session and keeps its token for later calls. For an account
// with a second factor it returns an *MFAChallengeError (errors.Is(err,
// ErrMFARequired)) and no session: pass its challenge to CompleteLogin.
func (c *Client) Login(ctx context.Context, username, password string) (Session, error) {
	var raw json.RawMessage
	status, err := c.callStatus(ctx, http.MethodPost, "/v1/sessions", LoginRequest{Username: username, Password: password}, &raw)
	if err != nil {
		return Session{}, err
	}
	if status == http.StatusOK {
		var ch MFARequired
		if err := json.Unmarshal(raw, &ch); err != nil || !ch.MFARequired {
			return Session{}, fmt.Errorf("POST /v1/sessions: decode answer: %v", err)
		}
		return Session{}, &MFAChallengeError{Challenge: ch}
	}
	var s Session
	if err := json.Unmarshal(raw, &s); err != nil {
		return Session{}, fmt.Errorf("POST /v1/sessions: decode answer: %w", err)
	}
	c.SetToken(s.Token)
	return s, nil
}

// CompleteLogin is a login's second step: the challenge's token and an
// authenticator code or a recovery code (give one, leave the other empty).
// It keeps the new session's token, as Login does.
func (c *Client) CompleteLogin(ctx context.Context, mfaToken, code, recoveryCode string) (Session, error) {
	var s Session
	if err := c.call(ctx, http.MethodPost, "/v1/sessions/mfa",
		MFALoginRequest{MFAToken: mfaToken, Code: code, RecoveryCode: recoveryCode}, &s); err != nil {
		return Session{}, err
	}
	c.SetToken(s.Token)
	return s, nil
}

// MFA returns which second factors the current account has.
func (c *Client) MFA(ctx context.Context) (MFAStatus, error) {
	var m MFAStatus
	err := c.call(ctx, http.MethodGet, "/v1/me/mfa", nil, &m)
	return m, err
}

// EnrollTOTP starts setting up an authenticator; ConfirmTOTP with one of
// its codes turns MFA on and returns the recovery codes.
func (c *Client) EnrollTOTP(ctx context.Context, currentPassword string) (TOTPEnrollment, error) {
	var e TOTPEnrollment
	err := c.call(ctx, http.MethodPost, "/v1/me/mfa/totp", TOTPEnrollRequest{CurrentPassword: currentPassword}, &e)
	return e, err
}

// ConfirmTOTP turns MFA on with a code of the enrolled authenticator.
func (c *Client) ConfirmTOTP(ctx context.Context, code string) ([]string, error) {
	var r RecoveryCodes
	err := c.call(ctx, http.MethodPost, "/v1/me/mfa/totp/confirm", MFACode{Code: code}, &r)
	return r.RecoveryCodes, err
}

// StepUp proves a second factor again on the current session.
func (c *Client) StepUp(ctx context.Context, code, recoveryCode string) error {
	return c.call(ctx, http.MethodPost, "/v1/me/mfa/verify", MFACode{Code: code, RecoveryCode: recoveryCode}, nil)
}

// DisableTOTP removes the authenticator and the recovery codes.
func (c *Client) DisableTOTP(ctx context.Context) error {
	return c.call(ctx, http.MethodDelete, "/v1/me/mfa/totp", nil, nil)
}

// RegenerateRecoveryCodes replaces the recovery codes.
func (c *Client) RegenerateRecoveryCodes(ctx context.Context) ([]string, error) {
	var r RecoveryCodes
	err := c.call(ctx, http.MethodPost, "/v1/me/mfa/recovery-codes", nil, &r)
	return r.RecoveryCodes, err
}

// ResetUserMFA removes every second factor of account id (admins).
func (c *Client) ResetUserMFA(ctx context.Context, id int64) error {
	return c.call(ctx, http.MethodDelete, fmt.Sprintf("/v1/admin/users/%d/mfa", id), nil, nil)
}

// Logout ends the current session and forgets its token.
func (c *Client) Logout(ctx context.Context) error {
	if err := c.call(ctx, http.MethodDelete, "/v1/sessions/current", nil, nil); err != nil {
		return err
	}
	c.SetToken("")
	return nil
}

// Me returns the account of the current session.
func (c *Client) Me(ctx context.Context) (User, error) {
	var u User
	err := c.call(ctx, http.MethodGet, "/v1/me", nil, &u)
	return u, err
}

// UpdateProfile changes the current account's username and/or email. A
// change of email needs change.CurrentPassword: without it the error is
// ErrValidation, with a wrong one ErrForbidden.
func (c *Client) UpdateProfile(ctx context.Context, change ProfileUpdate) (User, error) {
	var u User
	err := c.call(ctx, http.MethodPatch, "/v1/me", change, &u)
	return u, err
}

// ChangePassword replaces the current account's password; every other
// session of the account is revoked. A wrong current password is ErrForbidden.
func (c *Client) ChangePassword(ctx context.Context, current, new string) error {
	return c.call(ctx, http.MethodPut, "/v1/me/password", PasswordChange{CurrentPassword: current, NewPassword: new}, nil)
}

// DeleteAccount deletes the current account after checking its password.
func (c *Client) DeleteAccount(ctx context.Context, password string) error {
	if err := c.call(ctx, http.MethodDelete, "/v1/me", AccountDelete{Password: password}, nil); err != nil {
		return err
	}
	c.SetToken("")
	return nil
}

// Sessions lists the current account's sessions; Current marks this one.
func (c *Client) Sessions(ctx context.Context) ([]SessionInfo, error) {
	var list SessionList
	err := c.call(ctx, http.MethodGet, "/v1/me/sessions", nil, &list)
	return list.Sessions, err
}

// RevokeSession ends one of the current account's sessions by its id.
func (c *Client) RevokeSession(ctx context.Context, id string) error {
	return c.call(ctx, http.MethodDelete, "/v1/me/sessions/"+url.PathEscape(id), nil, nil)
}

// RevokeOtherSessions ends every session of the account but this one.
func (c *Client) RevokeOtherSessions(ctx context.Context) error {
	return c.call(ctx, http.MethodDelete, "/v1/me/sessions", nil, nil)
}

// RequestPasswordReset asks for a reset mail for the account with this email
// or username. The answer is the same whether or not the account exists.
func (c *Client) RequestPasswordReset(ctx context.Context, req PasswordResetRequest) error {
	return c.call(ctx, http.MethodPost, "/v1/password-resets", req, nil)
}

// ConfirmPasswordReset sets a new password with the token from a reset mail;
// every session of the account is revoked.
func (c *Client) ConfirmPasswordReset(ctx context.Context, token, newPassword string) error {
	return c.call(ctx, http.MethodPost, "/v1/password-resets/confirm", PasswordResetConfirm{Token: token, NewPassword: newPassword}, nil)
}

// VerifyEmail confirms an address with the token from a verification mail.
func (c *Client) VerifyEmail(ctx context.Context, token string) error {
	return c.call(ctx, http.MethodPost, "/v1/email-verifications", EmailVerification{Token: token}, nil)
}

// ResendVerification mails the current account a new verification token.
func (c *Client) ResendVerification(ctx context.Context) error {
	return c.call(ctx, http.MethodPost, "/v1/me/email-verification", nil, nil)
}

// Outbox returns one page of queued and delivered mail (admin only).
func (c *Client) Outbox(ctx context.Context, limit int, after string) (OutboxList, error) {
	q := url.Values{}
	setQuery(q, "limit", limit)
	setQuery(q, "after", after)
	var list OutboxList
	err := c.call(ctx, http.MethodGet, "/v1/admin/outbox?"+q.Encode(), nil, &list)
	return list, err
}

// ListUsersOptions filters and pages GET /v1/admin/users; zero values are omitted.
type ListUsersOptions struct {
	Limit  int
	After  string // a NextCursor from the previous page
	Query  string // prefix of username or email
	Status string
	Role   string
}

// ListUsers returns one page of accounts (admin only). Pass the page's
// NextCursor as After for the next; it is empty on the last page.
func (c *Client) ListUsers(ctx context.Context, opt ListUsersOptions) (UserList, error) {
	q := url.Values{}
	setQuery(q, "limit", opt.Limit)
	setQuery(q, "after", opt.After)
	setQuery(q, "q", opt.Query)
	setQuery(q, "status", opt.Status)
	setQuery(q, "role", opt.Role)
	var list UserList
	err := c.call(ctx, http.MethodGet, "/v1/admin/users?"+q.Encode(), nil, &list)
	return list, err
}

// CreateUser creates an account with an optional role (admin only).
func (c *Client) CreateUser(ctx context.Context, req AdminUserCreate) (User, error) {
	var u User
	err := c.call(ctx, http.MethodPost, "/v1/admin/users", req, &u)
	return u, err
}

// GetUser returns one account (admin only).
func (c *Client) GetUser(ctx context.Context, id int64) (User, error) {
	var u User
	err := c.call(ctx, http.MethodGet, userPath(id), nil, &u)
	return u, err
}

// UpdateUser changes an account's status, role, username or email (admin only).
func (c *Client) UpdateUser(ctx context.Context, id int64, change AdminUserUpdate) (User, error) {
	var u User
	err := c.call(ctx, http.MethodPatch, userPath(id), change, &u)
	return u, err
}

// DeleteUser deletes an account and its sessions (admin only).
func (c *Client) DeleteUser(ctx context.Context, id int64) error {
	return c.call(ctx, http.MethodDelete, userPath(id), nil, nil)
}

// RevokeUserSessions ends every session of an account (admin only).
func (c *Client) RevokeUserSessions(ctx context.Context, id int64) error {
	return c.call(ctx, http.MethodDelete, userPath(id)+"/sessions", nil, nil)
}

// AuditOptions filters and pages GET /v1/admin/audit; zero values are omitted.
type AuditOptions struct {
	Limit  int
	After  string
	UserID int64
	Action string
}

// Audit returns one page of the audit log, newest first (admin only).
func (c *Client) Audit(ctx context.Context, opt AuditOptions) (AuditList, error) {
	q := url.Values{}
	setQuery(q, "limit", opt.Limit)
	setQuery(q, "after", opt.After)
	setQuery(q, "user_id", opt.UserID)
	setQuery(q, "action", opt.Action)
	var list AuditList
	err := c.call(ctx, http.MethodGet, "/v1/admin/audit?"+q.Encode(), nil, &list)
	return list, err
}

func userPath(id int64) string { return "/v1/admin/users/" + strconv.FormatInt(id, 10) }

// setQuery adds a parameter unless v is its type's zero value.
func setQuery[T comparable](q url.Values, name string, v T) {
	var zero T
	if v != zero {
		q.Set(name, fmt.Sprint(v))
	}
}

// call sends in as JSON (when not nil) and decodes a 2xx answer into out
// (when not nil). Any other answer becomes a *Problem.
func (c *Client) call(ctx context.Context, method, path string, in, out any) error {
	_, err := c.callStatus(ctx, method, path, in, out)
	return err
}

// callStatus is call that also returns the status of a 2xx answer.
func (c *Client) callStatus(ctx context.Context, method, path string, in, out any) (int, error) {
	var body io.Reader
	if in != nil {
		b, err := json.Marshal(in)
		if err != nil {
			return 0, err
		}
		body = bytes.NewReader(b)
	}
	req, err := http.NewRequestWithContext(ctx, method, c.baseURL+path, body)
	if err != nil {
		return 0, err
	}
	if in != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	req.Header.Set("Accept", "application/json, application/problem+json")
	if token := c.Token(); token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	res, err := c.hc.Do(req)
	if err != nil {
		return 0, err
	}
	defer res.Body.Close()
	const maxAnswer = 4 << 20
	b, err := io.ReadAll(io.LimitReader(res.Body, maxAnswer))
	if err != nil {
		return 0, fmt.Errorf("%s %s: read answer: %w", method, path, err)
	}
	if res.StatusCode >= 200 && res.StatusCode < 300 {
		if out == nil || res.StatusCode == http.StatusNoContent {
			return res.StatusCode, nil
		}
		if err := json.Unmarshal(b, out); err != nil {
			return 0, fmt.Errorf("%s %s: decode answer: %w", method, path, err)
		}
		return res.StatusCode, nil
	}
	return 0, problemFromResponse(res, b)
}

// problemFromResponse turns a failed answer into a *Problem, also when the
// body is not problem+json (a proxy's error page, say).
func problemFromResponse(res *http.Response, body []byte) *Problem {
	p := &Problem{}
	mt, _, _ := mime.ParseMediaType(res.Header.Get("Content-Type"))
	if mt != "application/problem+json" || json.Unmarshal(body, p) != nil {
		p = &Problem{Title: http.StatusText(res.StatusCode), Detail: strings.TrimSpace(string(body))}
	}
	p.Status = res.StatusCode
	if secs, err := strconv.Atoi(res.Header.Get("Retry-After")); err == nil && secs >= 0 {
		p.RetryAfter = time.Duration(secs) * time.Second
	}
	return p
}
