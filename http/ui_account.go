package http

import (
	"net/http"
	"net/url"
	"path"
	"strings"

	"github.com/go-chi/chi/v5"

	"roster/account"
	"roster/db"
)

// The console's pages for anyone (sign in, sign up, password reset, email
// verification) and for the signed-in user's own account.

// handleUISignIn shows the sign-in form; ?next= is where to go afterwards.
// After a sign-in code was asked for (?notice=code-sent) it has a field for
// the code too (page.Data).
func (s *Server) handleUISignIn(w http.ResponseWriter, r *http.Request) {
	page := s.page(r, "Sign in")
	page.Data = r.URL.Query().Get("notice") == "code-sent"
	page.Form.Set("next", r.URL.Query().Get("next"))
	s.render(w, r, http.StatusOK, "sign-in.html", page)
}

// handleUISignInPost logs in like POST /v1/sessions with "cookie": true,
// device cookie included, and goes on to the page the user came for. A
// mailed sign-in code, when given, stands in for the device cookie.
func (s *Server) handleUISignInPost(w http.ResponseWriter, r *http.Request) {
	form, err := readForm(w, r, "username", "password", "code", "next")
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	device := strings.TrimSpace(form.Get("code"))
	if device == "" {
		device = deviceToken(r)
	}
	login, err := s.accounts.LoginDevice(r.Context(), form.Get("username"), form.Get("password"),
		account.ClientInfo{UserAgent: r.UserAgent(), IP: clientIP(r), DeviceToken: device})
	if err != nil {
		page := s.page(r, "Sign in")
		page.Form = form
		page.Data = form.Get("code") != ""
		s.uiFail(w, r, "sign-in.html", page, err)
		return
	}
	if login.MFA != nil {
		s.signInSecondStep(w, r, http.StatusOK, login.MFA.Token, form.Get("next"), nil)
		return
	}
	s.endReplacedSession(r)
	setSessionCookie(w, login.Token, login.Session.ExpiresAt)
	setDeviceCookie(w, login.DeviceToken)
	http.Redirect(w, r, localNext(form.Get("next")), http.StatusSeeOther)
}

// endReplacedSession logs out the session whose cookie a sign-in is about to
// overwrite: on a shared browser, the previous user's session must not stay
// valid on the server once the browser no longer holds its token.
func (s *Server) endReplacedSession(r *http.Request) {
	token, fromCookie := sessionToken(r)
	if !fromCookie {
		return
	}
	old, user, err := s.accounts.Authenticate(r.Context(), token)
	if err != nil {
		return // already dead
	}
	if err := s.accounts.Logout(r.Context(), account.Actor{ID: user.ID, IP: clientIP(r)}, old); err != nil {
		s.log.WarnContext(r.Context(), "ending the session a sign-in replaced", "error", err)
	}
}

// localNext is next if it is a console page of this server, else the
// account page: the sign-in form must not redirect off-site or out of /ui/.
// The path is judged after cleaning, and any dot segment, plain or
// percent-encoded, is refused, since browsers resolve those too.
func localNext(next string) string {
	const fallback = "/ui/account"
	u, err := url.Parse(next)
	if err != nil || u.Scheme != "" || u.Host != "" || u.User != nil || u.Opaque != "" ||
		strings.Contains(next, "\\") || strings.Contains(strings.ToLower(u.EscapedPath()), "%2e") {
		return fallback
	}
	if clean := path.Clean(u.Path); clean != u.Path || !strings.HasPrefix(clean, "/ui/") {
		return fallback
	}
	return u.RequestURI()
}

// handleUISignUp shows the sign-up form.
func (s *Server) handleUISignUp(w http.ResponseWriter, r *http.Request) {
	s.render(w, r, http.StatusOK, "sign-up.html", s.signUpPage(r))
}

func (s *Server) signUpPage(r *http.Request) *uiPage {
	page := s.page(r, "Create an account")
	page.Data = struct{ EmailRequired bool }{s.accounts.RequireVerifiedEmail}
	return page
}

// handleUISignUpPost creates an account like POST /v1/users, then sends the
// user to sign in (the same way for a taken address with
// -require-verified-email, see account.SignUp).
func (s *Server) handleUISignUpPost(w http.ResponseWriter, r *http.Request) {
	form, err := readForm(w, r, "username", "email", "password")
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	_, _, err = s.accounts.SignUp(r.Context(), account.Actor{IP: clientIP(r)},
		account.NewUser{Username: form.Get("username"), Email: form.Get("email"), Password: form.Get("password")})
	if err != nil {
		page := s.signUpPage(r)
		page.Form = form
		s.uiFail(w, r, "sign-up.html", page, err)
		return
	}
	redirect(w, r, "/ui/sign-in", "signed-up")
}

// handleUISignOut ends the current session and clears the cookie.
func (s *Server) handleUISignOut(w http.ResponseWriter, r *http.Request) {
	if err := s.accounts.Logout(r.Context(), actor(r), auth(r).session); err != nil {
		s.writeError(w, r, err)
		return
	}
	clearSessionCookie(w)
	redirect(w, r, "/ui/sign-in", "signed-out")
}

// handleUISignInCode shows the form that asks for a sign-in code.
func (s *Server) handleUISignInCode(w http.ResponseWriter, r *http.Request) {
	s.render(w, r, http.StatusOK, "sign-in-code.html", s.page(r, "Sign-in code"))
}

// handleUISignInCodePost queues a sign-in code mail like POST
// /v1/sessions/codes: the answer is the same whether or not the account
// exists, and leads to the sign-in form with a field for the code.
func (s *Server) handleUISignInCodePost(w http.ResponseWriter, r *http.Request) {
	form, err := readForm(w, r, "login")
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	login := strings.TrimSpace(form.Get("login"))
	switch {
	case login == "" || len(login) > account.MaxEmailLen*4:
		page := s.page(r, "Sign-in code")
		page.Form = form
		s.uiFail(w, r, "sign-in-code.html", page, resetLoginInvalid("login", "must be a username or an email address"))
	case s.limitTarget(w, r, "signin", login):
	default:
		if err := s.cfg.Resets.SubmitSignInCode(r.Context(), login, account.Actor{IP: clientIP(r)}); err != nil {
			page := s.page(r, "Sign-in code")
			page.Form = form
			s.uiFail(w, r, "sign-in-code.html", page, err)
			return
		}
		redirect(w, r, "/ui/sign-in", "code-sent")
	}
}

// handleUIResetRequest shows the form that asks for a reset code.
func (s *Server) handleUIResetRequest(w http.ResponseWriter, r *http.Request) {
	s.render(w, r, http.StatusOK, "reset-request.html", s.page(r, "Forgotten password"))
}

// handleUIResetRequestPost queues a reset mail like POST
// /v1/password-resets: the answer is the same whether or not the account
// exists, and leads to the page where the mailed code is entered.
func (s *Server) handleUIResetRequestPost(w http.ResponseWriter, r *http.Request) {
	form, err := readForm(w, r, "login")
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	switch handled, err := s.queueReset(w, r, "login", strings.TrimSpace(form.Get("login"))); {
	case err != nil:
		page := s.page(r, "Forgotten password")
		page.Form = form
		s.uiFail(w, r, "reset-request.html", page, err)
	case !handled:
		redirect(w, r, "/ui/reset-password/confirm", "reset-sent")
	}
}

// handleUIResetConfirm shows the form for the mailed code and a new
// password. The mail links here without the code: a token never travels in a
// URL, where browser history, proxies and access logs would keep it.
func (s *Server) handleUIResetConfirm(w http.ResponseWriter, r *http.Request) {
	s.render(w, r, http.StatusOK, "reset-confirm.html", s.page(r, "Choose a new password"))
}

// handleUIResetConfirmPost sets the new password like POST
// /v1/password-resets/confirm.
func (s *Server) handleUIResetConfirmPost(w http.ResponseWriter, r *http.Request) {
	form, err := readForm(w, r, "token", "new_password")
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	err = s.accounts.ConfirmPasswordReset(r.Context(), account.Actor{IP: clientIP(r)},
		strings.TrimSpace(form.Get("token")), form.Get("new_password"))
	if err != nil {
		page := s.page(r, "Choose a new password")
		page.Form = form
		page.Form.Del("token") // a live reset code is never written back into a page
		s.uiFail(w, r, "reset-confirm.html", page, err)
		return
	}
	redirect(w, r, "/ui/sign-in", "password-reset")
}

// handleUIVerifyEmail shows the form for a mailed confirmation code.
func (s *Server) handleUIVerifyEmail(w http.ResponseWriter, r *http.Request) {
	page := s.page(r, "Verify your email address")
	page.Data = struct{ Verified bool }{r.URL.Query().Get("notice") == "email-verified"}
	s.render(w, r, http.StatusOK, "verify-email.html", page)
}

// handleUIVerifyEmailPost verifies an address like POST /v1/email-verifications.
func (s *Server) handleUIVerifyEmailPost(w http.ResponseWriter, r *http.Request) {
	form, err := readForm(w, r, "token")
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	if err := s.accounts.VerifyEmail(r.Context(), account.Actor{IP: clientIP(r)}, strings.TrimSpace(form.Get("token"))); err != nil {
		page := s.page(r, "Verify your email address")
		page.Form = form
		page.Form.Del("token")
		page.Data = struct{ Verified bool }{}
		s.uiFail(w, r, "verify-email.html", page, err)
		return
	}
	redirect(w, r, "/ui/verify-email", "email-verified")
}

// uiSession is a session as the account page lists it.
type uiSession struct {
	db.Session
	Current bool
}

// accountPage gathers the account page: the user, and their live sessions.
func (s *Server) accountPage(r *http.Request) (*uiPage, error) {
	a := auth(r)
	sessions, err := s.accounts.ListSessions(r.Context(), a.user.ID)
	if err != nil {
		return nil, err
	}
	list := make([]uiSession, len(sessions))
	for i, sess := range sessions {
		list[i] = uiSession{Session: sess, Current: sess.ID == a.session.ID}
	}
	page := s.page(r, "Your account")
	page.Form.Set("username", a.user.Username)
	if a.user.Email != nil {
		page.Form.Set("email", *a.user.Email)
	}
	page.Data = struct{ Sessions []uiSession }{list}
	return page, nil
}

// handleUIAccount shows the signed-in user's profile, password form and sessions.
func (s *Server) handleUIAccount(w http.ResponseWriter, r *http.Request) {
	page, err := s.accountPage(r)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	s.render(w, r, http.StatusOK, "account.html", page)
}

// accountFail shows the account page again with err beside the form that
// caused it; profile is what the profile form sent when that form failed,
// nil for the others.
func (s *Server) accountFail(w http.ResponseWriter, r *http.Request, profile url.Values, err error) {
	page, perr := s.accountPage(r)
	if perr != nil {
		s.writeError(w, r, perr)
		return
	}
	if profile != nil {
		page.Form.Set("username", profile.Get("username"))
		page.Form.Set("email", profile.Get("email"))
		// The password form has the current_password input; the profile
		// form's is "password", and shows the problems of the current password.
		page.Aliases = map[string]string{"current_password": "password"}
	}
	s.uiFail(w, r, "account.html", page, err)
}

// handleUIProfilePost changes the username and email like PATCH /v1/me.
// Only changed fields are sent on, so saving an unchanged address neither
// mails it nor counts against its mail limit, nor needs the password, which
// a change of address does.
func (s *Server) handleUIProfilePost(w http.ResponseWriter, r *http.Request) {
	form, err := readForm(w, r, "username", "email", "password")
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	user := auth(r).user
	ch := ProfileUpdate{CurrentPassword: form.Get("password")}
	if v := form.Get("username"); v != user.Username {
		ch.Username = &v
	}
	if v := strings.TrimSpace(form.Get("email")); user.Email == nil && v != "" || user.Email != nil && v != *user.Email {
		ch.Email = &v
	}
	_, handled, err := s.changeProfile(w, r, ch)
	switch {
	case handled:
	case err != nil:
		s.accountFail(w, r, form, err)
	default:
		redirect(w, r, "/ui/account", "profile-saved")
	}
}

// handleUIVerificationPost mails a fresh confirmation code like POST
// /v1/me/email-verification.
func (s *Server) handleUIVerificationPost(w http.ResponseWriter, r *http.Request) {
	switch _, handled, err := s.resendVerification(w, r); {
	case err != nil:
		s.accountFail(w, r, nil, err)
	case !handled:
		redirect(w, r, "/ui/account", "verification-sent")
	}
}

// handleUIPasswordPost changes the password like PUT /v1/me/password; every
// other session is signed out.
func (s *Server) handleUIPasswordPost(w http.ResponseWriter, r *http.Request) {
	// username is the hidden field that tells password managers whose
	// password this is; it is not used.
	form, err := readForm(w, r, "username", "current_password", "new_password")
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	a := auth(r)
	err = s.accounts.ChangePassword(r.Context(), actor(r), a.session, a.user, form.Get("current_password"), form.Get("new_password"))
	if err != nil {
		s.accountFail(w, r, nil, err)
		return
	}
	redirect(w, r, "/ui/account", "password-changed")
}

// handleUISessionRevoke signs out one of the user's sessions like DELETE
// /v1/me/sessions/{id}; revoking the current one signs this browser out.
func (s *Server) handleUISessionRevoke(w http.ResponseWriter, r *http.Request) {
	a, id := auth(r), chi.URLParam(r, "id")
	if err := s.accounts.RevokeSession(r.Context(), actor(r), a.user.ID, id); err != nil {
		s.writeError(w, r, err)
		return
	}
	if id == a.session.ID {
		clearSessionCookie(w)
		redirect(w, r, "/ui/sign-in", "signed-out")
		return
	}
	redirect(w, r, "/ui/account", "session-revoked")
}

// handleUISessionsRevoke signs out every other session like DELETE /v1/me/sessions.
func (s *Server) handleUISessionsRevoke(w http.ResponseWriter, r *http.Request) {
	a := auth(r)
	if err := s.accounts.RevokeSessions(r.Context(), actor(r), a.user.ID, a.session.TokenHash); err != nil {
		s.writeError(w, r, err)
		return
	}
	redirect(w, r, "/ui/account", "sessions-revoked")
}
