package http

import (
	"net/http"
	"strings"
	"time"

	"github.com/go-chi/httprate"

	"roster/account"
	"roster/db"
	"roster/outbox"
)

// targetLimiter returns the per-target mail limiter for rate, nil for no
// limit. It sets only Retry-After, leaving the per-IP X-RateLimit-* headers.
func (s *Server) targetLimiter(rate Rate) *httprate.RateLimiter {
	if rate.Requests == 0 {
		return nil
	}
	return httprate.NewRateLimiter(rate.Requests, rate.Per,
		httprate.WithLimitHandler(func(w http.ResponseWriter, r *http.Request) { s.writeError(w, r, errRateLimited) }),
		httprate.WithResponseHeaders(httprate.ResponseHeaders{RetryAfter: "Retry-After"}))
}

// limitTarget answers 429 and returns true when target has had its share of
// mail. Keys are normalized, so "Ann@Example.com" and "ann@example.com" share one.
//
// A reset request's key is the login as typed (normalized), not the account
// it names: finding the account would put a lookup on the request path,
// and a reset request must answer the same bytes, as fast, whether or not
// the account exists. So "alice" and "alice@example.com" are two budgets
// here; the reset queue caps the mails per account after its background
// lookup (account.NewResetQueue), which bounds what one mailbox receives.
func (s *Server) limitTarget(w http.ResponseWriter, r *http.Request, kind, target string) bool {
	if s.mailTarget == nil {
		return false
	}
	key, _, ok := account.LoginKey(target)
	if !ok {
		key = strings.ToLower(target)
	}
	return s.mailTarget.RespondOnLimit(w, r, kind+":"+key)
}

// Accepted answers a request whose effect happens later, by mail.
type Accepted struct {
	Status string `json:"status"` // always "accepted"
	Detail string `json:"detail"`
}

// resetAccepted is the one answer to every well-formed reset request, the
// same bytes whether or not the account exists.
var resetAccepted = Accepted{Status: "accepted", Detail: "If an account with that name or address exists and has " +
	"an email address, a message with a reset code is on its way. The code works once, for 30 minutes."}

// PasswordResetRequest is the body of POST /v1/password-resets: exactly one
// of email and username.
type PasswordResetRequest struct {
	Email    string `json:"email,omitempty"`
	Username string `json:"username,omitempty"`
}

// handlePasswordResetCreate queues a reset mail: 202 with resetAccepted,
// whether or not the account exists. The lookup and the mail happen in the
// background, so the answer also takes the same time either way.
func (s *Server) handlePasswordResetCreate(w http.ResponseWriter, r *http.Request) {
	req, err := decode[PasswordResetRequest](w, r, authBodyLimit)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	if (req.Email == "") == (req.Username == "") {
		s.writeError(w, r, resetLoginInvalid("email", "give exactly one of email and username"))
		return
	}
	switch handled, err := s.queueReset(w, r, "email", req.Email+req.Username); {
	case err != nil:
		s.writeError(w, r, err)
	case !handled:
		encode(w, http.StatusAccepted, resetAccepted)
	}
}

// queueReset submits a reset request for login, a username or an address
// given in the named field, to the reset queue, after the per-target mail
// limit. handled is true when the limit has answered already (429).
func (s *Server) queueReset(w http.ResponseWriter, r *http.Request, field, login string) (handled bool, err error) {
	if login == "" || len(login) > account.MaxEmailLen*4 {
		return false, resetLoginInvalid(field, "must be a username or an email address")
	}
	if s.limitTarget(w, r, "reset", login) {
		return true, nil
	}
	return false, s.cfg.Resets.Submit(r.Context(), login, account.Actor{IP: clientIP(r)})
}

func resetLoginInvalid(field, message string) error {
	return &account.ValidationError{Code: "validation", Errors: []account.FieldError{{Field: field, Message: message}}}
}

// PasswordResetConfirm is the body of POST /v1/password-resets/confirm.
type PasswordResetConfirm struct {
	Token       string `json:"token"`
	NewPassword string `json:"new_password"`
}

// handlePasswordResetConfirm sets a new password with a reset token: 204,
// 400 invalid_token, or 422 when the password fails the policy. Every
// session of the account is revoked.
func (s *Server) handlePasswordResetConfirm(w http.ResponseWriter, r *http.Request) {
	req, err := decode[PasswordResetConfirm](w, r, authBodyLimit)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	err = s.accounts.ConfirmPasswordReset(r.Context(), account.Actor{IP: clientIP(r)}, req.Token, req.NewPassword)
	s.writeNoContent(w, r, err)
}

// EmailVerification is the body of POST /v1/email-verifications.
type EmailVerification struct {
	Token string `json:"token"`
}

// handleEmailVerificationCreate verifies an address with the token mailed to
// it: 204 or 400 invalid_token.
func (s *Server) handleEmailVerificationCreate(w http.ResponseWriter, r *http.Request) {
	req, err := decode[EmailVerification](w, r, authBodyLimit)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	s.writeNoContent(w, r, s.accounts.VerifyEmail(r.Context(), account.Actor{IP: clientIP(r)}, req.Token))
}

// handleMeEmailVerificationResend mails a fresh verification token to the
// user's address: 202, or 409 no_email / email_already_verified.
func (s *Server) handleMeEmailVerificationResend(w http.ResponseWriter, r *http.Request) {
	switch to, handled, err := s.resendVerification(w, r); {
	case err != nil:
		s.writeError(w, r, err)
	case !handled:
		encode(w, http.StatusAccepted, Accepted{Status: "accepted",
			Detail: "a verification message is on its way to " + to + "; its code works for 24 hours"})
	}
}

// resendVerification mails the signed-in user a fresh verification token,
// after the per-target mail limit, and returns the address it went to: the
// account's address now, which may differ from the one it had when the
// session was authenticated. handled is true when the limit has answered
// already (429).
func (s *Server) resendVerification(w http.ResponseWriter, r *http.Request) (to string, handled bool, err error) {
	user := auth(r).user
	if user.Email != nil && s.limitTarget(w, r, "verify", *user.Email) {
		return "", true, nil
	}
	to, err = s.accounts.ResendVerification(r.Context(), actor(r), user.ID)
	return to, false, err
}

// OutboxMessage is one outbox row on the wire. The body, which may hold a
// live token, is never shown.
type OutboxMessage struct {
	ID            int64      `json:"id"`
	UserID        *int64     `json:"user_id"`
	Kind          string     `json:"kind"`
	To            string     `json:"to"`
	Subject       string     `json:"subject"`
	Status        string     `json:"status"` // pending, sent or failed
	Attempts      int64      `json:"attempts"`
	LastError     string     `json:"last_error,omitempty"`
	CreatedAt     time.Time  `json:"created_at"`
	NextAttemptAt *time.Time `json:"next_attempt_at,omitempty"` // pending only
	FinishedAt    *time.Time `json:"finished_at,omitempty"`
}

// OutboxList is one page of GET /v1/admin/outbox.
type OutboxList struct {
	Messages   []OutboxMessage `json:"messages"`
	NextCursor string          `json:"next_cursor,omitempty"`
}

// handleAdminOutboxList pages through the outbox in id order:
// ?status=pending|sent|failed&limit=&after=.
func (s *Server) handleAdminOutboxList(w http.ResponseWriter, r *http.Request) {
	page, err := readPage(r)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	var status *string
	switch v := r.URL.Query().Get("status"); v {
	case "":
	case outbox.StatusPending, outbox.StatusSent, outbox.StatusFailed:
		status = &v
	default:
		s.writeError(w, r, invalidQuery("status must be pending, sent or failed"))
		return
	}
	rows, err := s.store.Read.ListOutboxMessages(r.Context(), db.ListOutboxMessagesParams{
		After: page.after, Status: status, Lim: int64(page.limit + 1)})
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	rows, next := nextCursor(rows, page.limit, func(m db.Outbox) int64 { return m.ID })
	resp := OutboxList{Messages: make([]OutboxMessage, len(rows)), NextCursor: next}
	for i, m := range rows {
		resp.Messages[i] = OutboxMessage{ID: m.ID, UserID: m.UserID, Kind: m.Kind, To: m.Recipient,
			Subject: m.Subject, Status: m.Status, Attempts: m.Attempts, LastError: m.LastError,
			CreatedAt: m.CreatedAt, FinishedAt: m.FinishedAt}
		if m.Status == outbox.StatusPending {
			resp.Messages[i].NextAttemptAt = &m.NextAttemptAt
		}
	}
	encode(w, http.StatusOK, resp)
}
