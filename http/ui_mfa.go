package http

import (
	"encoding/base64"
	"errors"
	"html/template"
	"net/http"
	"strings"

	"github.com/go-chi/chi/v5"
	qrcode "github.com/skip2/go-qrcode"

	"roster/account"
)

// The console's second factors: the security page (/ui/account/security)
// and the sign-in page's second step. Everything works without JavaScript.

// uiSecurity is the security page's data.
type uiSecurity struct {
	MFA      account.MFAStatus
	Passkeys []account.Passkey
	// Enrollment, right after the password was given: the QR code, the
	// secret in text and the URI, until a code confirms it.
	Enrollment *uiEnrollment
	// RecoveryCodes, right after MFA was turned on or the codes replaced;
	// shown this once.
	RecoveryCodes []string
	// StepUp asks for a second factor before the change the user tried
	// (Next), which needs a recent one.
	StepUp bool
	Next   string
}

type uiEnrollment struct {
	QR     template.URL // a data: URI of the PNG, rendered on the server
	Secret string
	URI    string
}

// securityPage starts the security page with the account's factors.
func (s *Server) securityPage(r *http.Request) (*uiPage, *uiSecurity, error) {
	m, err := s.accounts.MFA(r.Context(), auth(r).user.ID)
	if err != nil {
		return nil, nil, err
	}
	passkeys, err := s.accounts.Passkeys(r.Context(), auth(r).user.ID)
	if err != nil {
		return nil, nil, err
	}
	page := s.page(r, "Sign-in security")
	page.Path = "/ui/account/security"
	data := &uiSecurity{MFA: m, Passkeys: passkeys}
	if r.URL.Query().Get("notice") == "step-up" {
		data.StepUp, data.Next = true, localNext(r.URL.Query().Get("next"))
	}
	page.Data = data
	return page, data, nil
}

func (s *Server) handleUISecurity(w http.ResponseWriter, r *http.Request) {
	page, _, err := s.securityPage(r)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	s.render(w, r, http.StatusOK, "security.html", page)
}

// securityFail shows the security page again with err.
func (s *Server) securityFail(w http.ResponseWriter, r *http.Request, form map[string]string, err error) {
	page, _, perr := s.securityPage(r)
	if perr != nil {
		s.writeError(w, r, perr)
		return
	}
	for k, v := range form {
		page.Form.Set(k, v)
	}
	s.uiFail(w, r, "security.html", page, err)
}

// handleUITOTPStart checks the password and shows the new secret as a QR
// code and in text, with the form that confirms it.
func (s *Server) handleUITOTPStart(w http.ResponseWriter, r *http.Request) {
	form, err := readForm(w, r, "username", "current_password")
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	en, err := s.accounts.EnrollTOTP(r.Context(), actor(r), auth(r).user, form.Get("current_password"))
	if err != nil {
		s.securityFail(w, r, nil, err)
		return
	}
	png, err := qrcode.Encode(en.URI, qrcode.Medium, 256)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	page, data, err := s.securityPage(r)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	data.Enrollment = &uiEnrollment{QR: template.URL("data:image/png;base64," + base64.StdEncoding.EncodeToString(png)),
		Secret: spaced(en.Secret), URI: en.URI}
	s.render(w, r, http.StatusOK, "security.html", page)
}

// spaced groups a secret in fours, for typing.
func spaced(secret string) string {
	var b strings.Builder
	for i, r := range secret {
		if i > 0 && i%4 == 0 {
			b.WriteByte(' ')
		}
		b.WriteRune(r)
	}
	return b.String()
}

// handleUITOTPConfirm turns MFA on with a first code and shows the recovery
// codes once.
func (s *Server) handleUITOTPConfirm(w http.ResponseWriter, r *http.Request) {
	form, err := readForm(w, r, "code")
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	a := auth(r)
	codes, err := s.accounts.ConfirmTOTP(r.Context(), actor(r), a.session, a.user, form.Get("code"))
	if err != nil {
		s.securityFail(w, r, nil, err)
		return
	}
	s.showRecoveryCodes(w, r, codes, "Two-factor authentication is on.")
}

func (s *Server) showRecoveryCodes(w http.ResponseWriter, r *http.Request, codes []string, notice string) {
	page, data, err := s.securityPage(r)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	page.Notice = notice
	data.RecoveryCodes = codes
	s.render(w, r, http.StatusOK, "security.html", page)
}

// handleUIRecoveryCodes replaces the recovery codes (behind requireStepUp).
func (s *Server) handleUIRecoveryCodes(w http.ResponseWriter, r *http.Request) {
	codes, err := s.accounts.RegenerateRecoveryCodes(r.Context(), actor(r), auth(r).user)
	if err != nil {
		s.securityFail(w, r, nil, err)
		return
	}
	s.showRecoveryCodes(w, r, codes, "New recovery codes: the old ones no longer work.")
}

// handleUITOTPDelete removes the authenticator (behind requireStepUp).
func (s *Server) handleUITOTPDelete(w http.ResponseWriter, r *http.Request) {
	if err := s.accounts.DisableTOTP(r.Context(), actor(r), auth(r).user); err != nil {
		s.securityFail(w, r, nil, err)
		return
	}
	redirect(w, r, "/ui/account/security", "mfa-off")
}

// handleUIStepUp proves a second factor again, then goes on to next.
func (s *Server) handleUIStepUp(w http.ResponseWriter, r *http.Request) {
	form, err := readForm(w, r, "code", "recovery_code", "next")
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	a := auth(r)
	if err := s.accounts.StepUp(r.Context(), actor(r), a.session, a.user, form.Get("code"), form.Get("recovery_code")); err != nil {
		page, data, perr := s.securityPage(r)
		if perr != nil {
			s.writeError(w, r, perr)
			return
		}
		data.StepUp, data.Next = true, localNext(form.Get("next"))
		s.uiFail(w, r, "security.html", page, err)
		return
	}
	http.Redirect(w, r, localNext(form.Get("next")), http.StatusSeeOther)
}

// signInSecondStep shows the sign-in page's second step for a challenge.
func (s *Server) signInSecondStep(w http.ResponseWriter, r *http.Request, status int, token, next string, err error) {
	page := s.page(r, "Sign in: second step")
	page.Form.Set("mfa_token", token)
	page.Form.Set("next", next)
	if err != nil {
		s.uiFail(w, r, "sign-in-mfa.html", page, err)
		return
	}
	s.render(w, r, status, "sign-in-mfa.html", page)
}

// handleUISignInMFA finishes a sign-in with an authenticator or recovery
// code, like POST /v1/sessions/mfa with "cookie": true.
func (s *Server) handleUISignInMFA(w http.ResponseWriter, r *http.Request) {
	form, err := readForm(w, r, "mfa_token", "code", "recovery_code", "next")
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	login, err := s.accounts.CompleteMFALogin(r.Context(), form.Get("mfa_token"), form.Get("code"), form.Get("recovery_code"),
		account.ClientInfo{UserAgent: r.UserAgent(), IP: clientIP(r), DeviceToken: deviceToken(r)})
	s.metrics.logins.WithLabelValues(outcome(err)).Inc()
	switch {
	case err == nil:
	case errors.Is(err, account.ErrInvalidToken), errors.Is(err, account.ErrBadCredentials):
		// The challenge is over: start again from the password.
		page := s.page(r, "Sign in")
		page.Form.Set("next", form.Get("next"))
		page.Error = "That sign-in expired or was used up. Sign in again."
		s.render(w, r, http.StatusUnauthorized, "sign-in.html", page)
		return
	default:
		s.signInSecondStep(w, r, 0, form.Get("mfa_token"), form.Get("next"), err)
		return
	}
	s.endReplacedSession(r)
	setSessionCookie(w, login.Token, login.Session.ExpiresAt)
	setDeviceCookie(w, login.DeviceToken)
	http.Redirect(w, r, localNext(form.Get("next")), http.StatusSeeOther)
}

// handleUIPasskeyRename renames a passkey.
func (s *Server) handleUIPasskeyRename(w http.ResponseWriter, r *http.Request) {
	form, err := readForm(w, r, "name")
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	if err := s.accounts.RenamePasskey(r.Context(), auth(r).user.ID, chi.URLParam(r, "id"), form.Get("name")); err != nil {
		s.securityFail(w, r, nil, err)
		return
	}
	redirect(w, r, "/ui/account/security", "passkey-renamed")
}

// handleUIPasskeyDelete removes a passkey (behind requireStepUp).
func (s *Server) handleUIPasskeyDelete(w http.ResponseWriter, r *http.Request) {
	if err := s.accounts.DeletePasskey(r.Context(), actor(r), auth(r).user, chi.URLParam(r, "id")); err != nil {
		s.securityFail(w, r, nil, err)
		return
	}
	redirect(w, r, "/ui/account/security", "passkey-removed")
}
