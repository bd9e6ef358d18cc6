package http

import (
	"errors"
	"net/http"
	"time"

	"roster/account"
)

// Second factors over the API (account/mfa.go has the rules).

// TOTPEnrollRequest is the body of POST /v1/me/mfa/totp.
type TOTPEnrollRequest struct {
	CurrentPassword string `json:"current_password"`
}

// TOTPEnrollment is its answer: the secret to type into an authenticator,
// and the otpauth:// URI its QR code encodes.
type TOTPEnrollment struct {
	Secret     string `json:"secret"`
	OTPAuthURI string `json:"otpauth_uri"`
}

// MFACode is the body of the routes that take a second factor: an
// authenticator code or a recovery code, exactly one.
type MFACode struct {
	Code         string `json:"code,omitempty"`
	RecoveryCode string `json:"recovery_code,omitempty"`
}

// RecoveryCodes are shown once, when MFA is turned on and when they are
// regenerated.
type RecoveryCodes struct {
	RecoveryCodes []string `json:"recovery_codes"`
}

// MFAStatus is the answer of GET /v1/me/mfa: which factors are on; never a
// secret.
type MFAStatus struct {
	Enabled           bool          `json:"enabled"`
	TOTP              bool          `json:"totp"`
	TOTPPending       bool          `json:"totp_pending"`
	RecoveryCodesLeft int64         `json:"recovery_codes_left"`
	Passkeys          []PasskeyInfo `json:"passkeys"`
}

// MFARequired is the answer of POST /v1/sessions for an account with a
// second factor: no session yet; POST /v1/sessions/mfa with the token
// finishes the login.
type MFARequired struct {
	MFARequired bool      `json:"mfa_required"`
	MFAToken    string    `json:"mfa_token"`
	Methods     []string  `json:"methods"`
	ExpiresAt   time.Time `json:"expires_at"`
}

// MFALoginRequest is the body of POST /v1/sessions/mfa.
type MFALoginRequest struct {
	MFAToken     string `json:"mfa_token"`
	Code         string `json:"code,omitempty"`
	RecoveryCode string `json:"recovery_code,omitempty"`
	// Cookie and DeviceToken as in LoginRequest.
	Cookie      bool   `json:"cookie"`
	DeviceToken string `json:"device_token,omitempty"`
}

// errInvalidCode is a wrong second factor at login: 401, as a wrong
// password is. A signed-in user's wrong code is 422 (problemFor), so that a
// client does not take it for a dead session.
var errInvalidCode = &problemError{status: http.StatusUnauthorized, code: "invalid_code",
	detail: account.ErrInvalidCode.Error()}

func newMFAStatus(m account.MFAStatus) MFAStatus {
	return MFAStatus{Enabled: m.Enabled(), TOTP: m.TOTP, TOTPPending: m.TOTPPending, RecoveryCodesLeft: m.RecoveryCodesLeft}
}

// handleMFAGet answers which second factors the user has, passkeys by name.
func (s *Server) handleMFAGet(w http.ResponseWriter, r *http.Request) {
	id := auth(r).user.ID
	m, err := s.accounts.MFA(r.Context(), id)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	passkeys, err := s.accounts.Passkeys(r.Context(), id)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	out := newMFAStatus(m)
	out.Passkeys = make([]PasskeyInfo, len(passkeys))
	for i, p := range passkeys {
		out.Passkeys[i] = newPasskeyInfo(p)
	}
	encode(w, http.StatusOK, out)
}

// handleTOTPEnroll starts an authenticator enrollment: 201 with the secret.
// MFA is not on until POST /v1/me/mfa/totp/confirm.
func (s *Server) handleTOTPEnroll(w http.ResponseWriter, r *http.Request) {
	req, err := decode[TOTPEnrollRequest](w, r, authBodyLimit)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	en, err := s.accounts.EnrollTOTP(r.Context(), actor(r), auth(r).user, req.CurrentPassword)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	encode(w, http.StatusCreated, TOTPEnrollment{Secret: en.Secret, OTPAuthURI: en.URI})
}

// handleTOTPConfirm turns MFA on with a first code: 200 with the recovery
// codes, shown this once.
func (s *Server) handleTOTPConfirm(w http.ResponseWriter, r *http.Request) {
	req, err := decode[MFACode](w, r, authBodyLimit)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	if req.RecoveryCode != "" {
		s.writeError(w, r, badRequest("confirm an authenticator with one of its codes, not a recovery code"))
		return
	}
	a := auth(r)
	codes, err := s.accounts.ConfirmTOTP(r.Context(), actor(r), a.session, a.user, req.Code)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	encode(w, http.StatusOK, RecoveryCodes{RecoveryCodes: codes})
}

// handleTOTPDelete removes the authenticator (behind requireStepUp).
func (s *Server) handleTOTPDelete(w http.ResponseWriter, r *http.Request) {
	s.writeNoContent(w, r, s.accounts.DisableTOTP(r.Context(), actor(r), auth(r).user))
}

// handleRecoveryCodesCreate replaces the recovery codes (behind
// requireStepUp): 200 with the new ones.
func (s *Server) handleRecoveryCodesCreate(w http.ResponseWriter, r *http.Request) {
	codes, err := s.accounts.RegenerateRecoveryCodes(r.Context(), actor(r), auth(r).user)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	encode(w, http.StatusOK, RecoveryCodes{RecoveryCodes: codes})
}

// handleMFAVerify is the step-up: the session proves a second factor
// again, and its sensitive changes are allowed for the step-up window.
func (s *Server) handleMFAVerify(w http.ResponseWriter, r *http.Request) {
	req, err := decode[MFACode](w, r, authBodyLimit)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	a := auth(r)
	s.writeNoContent(w, r, s.accounts.StepUp(r.Context(), actor(r), a.session, a.user, req.Code, req.RecoveryCode))
}

// handleSessionMFA is a login's second step: 201 with the session, as POST
// /v1/sessions answers an account without a second factor.
func (s *Server) handleSessionMFA(w http.ResponseWriter, r *http.Request) {
	req, err := decode[MFALoginRequest](w, r, authBodyLimit)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	if req.Cookie {
		if err := s.csrf.Check(r); err != nil {
			s.writeError(w, r, errCrossOrigin)
			return
		}
	}
	device := req.DeviceToken
	if device == "" {
		device = deviceToken(r)
	}
	login, err := s.accounts.CompleteMFALogin(r.Context(), req.MFAToken, req.Code, req.RecoveryCode,
		account.ClientInfo{UserAgent: r.UserAgent(), IP: clientIP(r), DeviceToken: device})
	s.metrics.logins.WithLabelValues(outcome(err)).Inc()
	switch {
	case errors.Is(err, account.ErrInvalidCode):
		s.writeError(w, r, errInvalidCode)
	case err != nil:
		s.writeError(w, r, err)
	default:
		s.writeLogin(w, login, req.Cookie)
	}
}

// handleAdminUserMFADelete removes every second factor of a user who lost
// them, ends their sessions and mails them.
func (s *Server) handleAdminUserMFADelete(w http.ResponseWriter, r *http.Request) {
	id, err := userID(r)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	s.writeNoContent(w, r, s.accounts.ResetMFA(r.Context(), actor(r), id))
}

// requireStepUp lets a sensitive change through only from a session whose
// last second-factor check is recent, when the account has a second factor
// (account.CheckStepUp): else 403 step_up_required.
func (s *Server) requireStepUp(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		a := auth(r)
		if err := s.accounts.CheckStepUp(r.Context(), a.session, a.user); err != nil {
			s.writeError(w, r, err)
			return
		}
		next.ServeHTTP(w, r)
	})
}
