package http

import (
	"encoding/json"
	"net/http"
	"time"

	"github.com/go-chi/chi/v5"

	"roster/account"
)

// Passkeys over the API (account/passkey.go has the rules). Each ceremony
// takes two calls: one that answers the options for the browser's
// navigator.credentials.create or .get (PublicKeyCredential.
// parseCreationOptionsFromJSON / parseRequestOptionsFromJSON read them) with
// a ceremony_id, and one that takes the browser's credential (its toJSON())
// with that id.

// PasskeyCeremony is the first call's answer.
type PasskeyCeremony struct {
	CeremonyID string `json:"ceremony_id"`
	// Options is the library's {"publicKey": {...}}.
	Options any `json:"options"`
}

// PasskeyRegistrationRequest is the body of POST /v1/me/passkeys/registrations.
type PasskeyRegistrationRequest struct {
	CurrentPassword string `json:"current_password"`
}

// PasskeyCreate is the body of POST /v1/me/passkeys.
type PasskeyCreate struct {
	CeremonyID string          `json:"ceremony_id"`
	Name       string          `json:"name,omitempty"`
	Credential json.RawMessage `json:"credential"`
}

// PasskeyAssertion is the body of the calls that finish a passkey sign-in
// or step-up; MFAToken only for a login's second step, Cookie and
// DeviceToken only for a sign-in.
type PasskeyAssertion struct {
	CeremonyID  string          `json:"ceremony_id"`
	Credential  json.RawMessage `json:"credential"`
	MFAToken    string          `json:"mfa_token,omitempty"`
	Cookie      bool            `json:"cookie,omitempty"`
	DeviceToken string          `json:"device_token,omitempty"`
}

// MFATokenRequest is the body of POST /v1/sessions/mfa/passkey/challenges.
type MFATokenRequest struct {
	MFAToken string `json:"mfa_token"`
}

// PasskeyInfo is one passkey as its owner sees it.
type PasskeyInfo struct {
	ID         string     `json:"id"`
	Name       string     `json:"name"`
	CreatedAt  time.Time  `json:"created_at"`
	LastUsedAt *time.Time `json:"last_used_at"`
}

// PasskeyList is the answer of GET /v1/me/passkeys.
type PasskeyList struct {
	Passkeys []PasskeyInfo `json:"passkeys"`
}

// PasskeyRename is the body of PATCH /v1/me/passkeys/{id}.
type PasskeyRename struct {
	Name string `json:"name"`
}

// passkeyBodyLimit bounds a credential: attestation objects can carry
// certificate chains.
const passkeyBodyLimit = 64 << 10

func newPasskeyInfo(p account.Passkey) PasskeyInfo {
	return PasskeyInfo{ID: p.ID, Name: p.Name, CreatedAt: p.CreatedAt, LastUsedAt: p.LastUsedAt}
}

func (s *Server) writeCeremony(w http.ResponseWriter, r *http.Request, c account.PasskeyCeremony, err error) {
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	encode(w, http.StatusOK, PasskeyCeremony{CeremonyID: c.ID, Options: c.Options})
}

func (s *Server) handlePasskeyRegistrationBegin(w http.ResponseWriter, r *http.Request) {
	req, err := decode[PasskeyRegistrationRequest](w, r, authBodyLimit)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	c, err := s.accounts.BeginPasskeyRegistration(r.Context(), actor(r), auth(r).user, req.CurrentPassword)
	s.writeCeremony(w, r, c, err)
}

func (s *Server) handlePasskeyCreate(w http.ResponseWriter, r *http.Request) {
	req, err := decode[PasskeyCreate](w, r, passkeyBodyLimit)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	a := auth(r)
	p, err := s.accounts.FinishPasskeyRegistration(r.Context(), actor(r), a.session, a.user, req.CeremonyID, req.Name, req.Credential)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	encode(w, http.StatusCreated, newPasskeyInfo(p))
}

func (s *Server) handlePasskeyList(w http.ResponseWriter, r *http.Request) {
	list, err := s.accounts.Passkeys(r.Context(), auth(r).user.ID)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	out := PasskeyList{Passkeys: make([]PasskeyInfo, len(list))}
	for i, p := range list {
		out.Passkeys[i] = newPasskeyInfo(p)
	}
	encode(w, http.StatusOK, out)
}

func (s *Server) handlePasskeyRename(w http.ResponseWriter, r *http.Request) {
	req, err := decode[PasskeyRename](w, r, authBodyLimit)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	s.writeNoContent(w, r, s.accounts.RenamePasskey(r.Context(), auth(r).user.ID, chi.URLParam(r, "id"), req.Name))
}

func (s *Server) handlePasskeyDelete(w http.ResponseWriter, r *http.Request) {
	s.writeNoContent(w, r, s.accounts.DeletePasskey(r.Context(), actor(r), auth(r).user, chi.URLParam(r, "id")))
}

func (s *Server) handlePasskeyLoginBegin(w http.ResponseWriter, r *http.Request) {
	c, err := s.accounts.BeginPasskeyLogin(r.Context())
	s.writeCeremony(w, r, c, err)
}

func (s *Server) handleMFAPasskeyBegin(w http.ResponseWriter, r *http.Request) {
	req, err := decode[MFATokenRequest](w, r, authBodyLimit)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	c, err := s.accounts.BeginMFAPasskey(r.Context(), req.MFAToken)
	s.writeCeremony(w, r, c, err)
}

func (s *Server) handleStepUpPasskeyBegin(w http.ResponseWriter, r *http.Request) {
	c, err := s.accounts.BeginStepUpPasskey(r.Context(), auth(r).user)
	s.writeCeremony(w, r, c, err)
}

// handlePasskeyLogin finishes a sign-in with a passkey alone, or with
// mfa_token the second step of a password login: 201 with the session.
func (s *Server) handlePasskeyLogin(w http.ResponseWriter, r *http.Request) {
	req, err := decode[PasskeyAssertion](w, r, passkeyBodyLimit)
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
	client := account.ClientInfo{UserAgent: r.UserAgent(), IP: clientIP(r), DeviceToken: device}
	var login account.LoginResult
	if req.MFAToken != "" {
		login, err = s.accounts.FinishMFAPasskey(r.Context(), req.MFAToken, req.CeremonyID, req.Credential, client)
	} else {
		login, err = s.accounts.FinishPasskeyLogin(r.Context(), req.CeremonyID, req.Credential, client)
	}
	s.metrics.logins.WithLabelValues(outcome(err)).Inc()
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	s.writeLogin(w, login, req.Cookie)
}

func (s *Server) handleStepUpPasskey(w http.ResponseWriter, r *http.Request) {
	req, err := decode[PasskeyAssertion](w, r, passkeyBodyLimit)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	a := auth(r)
	s.writeNoContent(w, r, s.accounts.FinishStepUpPasskey(r.Context(), actor(r), a.session, a.user, req.CeremonyID, req.Credential))
}
